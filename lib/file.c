/* lib/file.c - whole-file reads (see file.h). */
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *lk_fd_read(int fd, const char *what, size_t max, size_t *len, struct lk_err *e)
{
	if (!max)
		max = 64u << 20;
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", what);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max) {
				free(buf);
				lk_errf(e, LK_EXIT_RUNTIME, "%s: larger than %zu bytes", what, max);
				errno = EFBIG;
				return NULL;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", what);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int er = errno;
			lk_errf(e, LK_EXIT_RUNTIME, "%s: read: %s", what, strerror(er));
			free(buf);
			errno = er;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(buf);
		lk_errf(e, LK_EXIT_RUNTIME, "%s: larger than %zu bytes", what, max);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

char *lk_file_read(const char *path, size_t max, size_t *len, struct lk_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int er = errno;
		lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(er));
		errno = er;
		return NULL;
	}
	char *b = lk_fd_read(fd, path, max, len, e);
	int er = errno;
	close(fd);
	errno = er;
	return b;
}

int lk_mkdirs(const char *path, struct lk_err *e)
{
	char p[4096];
	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
		errno = ENAMETOOLONG;
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: path too long", path);
	}
	for (char *s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			int er = errno;
			lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot create directory: %s", p, strerror(er));
			errno = er;
			return -1;
		}
		if (!c)
			return 0;
		*s = c;
	}
}
