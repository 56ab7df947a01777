/* testbed/progress.c - the progress pipe protocol (see progress.h). */
#include "testbed/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t lk_progress_format(char *buf, size_t n, const struct lk_progress *p)
{
	int k = p->bytes >= 0 ? snprintf(buf, n, "phase=%s bytes=%lld elapsed_ns=%llu\n", p->phase,
					 p->bytes, (unsigned long long)p->elapsed_ns)
			      : snprintf(buf, n, "phase=%s\n", p->phase);
	return k < 0 ? 0 : (size_t)k < n ? (size_t)k : n - 1;
}

int lk_progress_parse(const char *line, struct lk_progress *p)
{
	if (strncmp(line, "phase=", 6))
		return -1;
	const char *ph = line + 6;
	size_t len = strcspn(ph, " \n");
	if (len == 0 || len >= sizeof p->phase)
		return -1;
	memcpy(p->phase, ph, len);
	p->phase[len] = 0;
	p->bytes = -1;
	p->elapsed_ns = 0;
	const char *rest = ph + len;
	long long b;
	unsigned long long t;
	if (*rest == ' ' && sscanf(rest, " bytes=%lld elapsed_ns=%llu", &b, &t) == 2) {
		p->bytes = b;
		p->elapsed_ns = t;
	}
	return 0;
}

int lk_progress_open_env(void)
{
	const char *s = getenv(LK_PROGRESS_ENV);
	char *end = NULL;
	long v = s && *s ? strtol(s, &end, 10) : -1;
	if (v <= 2 || v >= 65536 || !end || *end || fcntl((int)v, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	int fl = fcntl((int)v, F_GETFL);
	if (fl < 0 || fcntl((int)v, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return (int)v;
}

void lk_progress_send(int *fd, const struct lk_progress *p)
{
	if (*fd < 0)
		return;
	char line[160];
	size_t n = lk_progress_format(line, sizeof line, p);
	if (write(*fd, line, n) < 0 && errno == EPIPE)
		*fd = -1; /* the reader is gone */
}

void lk_progress_feed(struct lk_progress_reader *r, const char *data, size_t n,
		      void (*fn)(void *ctx, const struct lk_progress *p), void *ctx)
{
	while (n) {
		size_t take = sizeof r->buf - 1 - r->have;
		if (take > n)
			take = n;
		memcpy(r->buf + r->have, data, take);
		r->have += take;
		r->buf[r->have] = 0;
		data += take;
		n -= take;
		char *ln = r->buf, *nl;
		while ((nl = strchr(ln, '\n'))) {
			*nl = 0;
			struct lk_progress p;
			if (lk_progress_parse(ln, &p) == 0)
				fn(ctx, &p);
			ln = nl + 1;
		}
		r->have -= (size_t)(ln - r->buf);
		memmove(r->buf, ln, r->have);
		if (r->have == sizeof r->buf - 1)
			r->have = 0; /* an overlong line: drop it */
	}
}
