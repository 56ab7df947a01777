/* collectors/procstat.c - /proc/stat, /proc/PID/stat, /proc/net/dev (see procstat.h). */
#include "collectors/procstat.h"
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long lk_procstat_clk_tck(void)
{
	long t = sysconf(_SC_CLK_TCK);
	return t > 0 ? t : 100;
}

uint64_t lk_cpustat_busy(const struct lk_cpustat *c)
{
	return c->user + c->nice + c->system + c->irq + c->softirq;
}

static void join_path(char *buf, size_t n, const char *root, const char *rel)
{
	if (!root || !*root)
		root = "";
	snprintf(buf, n, "%s%s", root, rel);
}

int lk_procstat_parse_cpus(const char *text, const char *what, struct lk_cpustat *out, int max,
			   int *n, struct lk_err *e)
{
	*n = 0;
	int lineno = 0;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		lineno++;
		if (len >= 3 && !strncmp(p, "cpu", 3)) {
			char line[512];
			if (len >= sizeof line)
				return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: cpu line too long", what, lineno);
			memcpy(line, p, len);
			line[len] = 0;
			if (*n >= max)
				return lk_errf(e, LK_EXIT_RUNTIME, "%s: more than %d cpu lines", what, max);
			struct lk_cpustat *c = &out[*n];
			memset(c, 0, sizeof *c);
			char *q = line + 3, *end;
			if (*q == ' ') {
				c->cpu = -1;
			} else {
				errno = 0;
				long id = strtol(q, &end, 10);
				if (end == q || errno || id < 0 || id > 65535 || *end != ' ')
					return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: bad cpu line '%.40s'",
						       what, lineno, line);
				c->cpu = (int)id;
				q = end;
			}
			uint64_t *f[] = {&c->user, &c->nice, &c->system, &c->idle, &c->iowait, &c->irq,
					 &c->softirq, &c->steal, &c->guest, &c->guest_nice};
			int k = 0;
			while (k < 10) {
				while (*q == ' ')
					q++;
				if (!*q)
					break;
				if (*q < '0' || *q > '9')
					return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: non-numeric field %d in '%.40s'",
						       what, lineno, k + 1, line);
				errno = 0;
				unsigned long long v = strtoull(q, &end, 10);
				if (errno)
					return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: field %d out of range",
						       what, lineno, k + 1);
				*f[k++] = v;
				q = end;
			}
			if (k < 4)
				return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: cpu line has %d fields, need at least 4",
					       what, lineno, k);
			c->ncols = k;
			(*n)++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	if (*n == 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: no cpu lines (not a /proc/stat file?)", what);
	return 0;
}

int lk_procstat_read_cpus(const char *root, struct lk_cpustat *out, int max, int *n,
			  struct lk_err *e)
{
	char path[4096];
	join_path(path, sizeof path, root, "/proc/stat");
	char *t = lk_file_read(path, 0, NULL, e);
	if (!t)
		return -1;
	int rc = lk_procstat_parse_cpus(t, path, out, max, n, e);
	free(t);
	return rc;
}

int lk_procstat_parse_pid(const char *text, const char *what, struct lk_pidstat *out,
			  struct lk_err *e)
{
	memset(out, 0, sizeof *out);
	const char *lp = strchr(text, '(');
	const char *rp = strrchr(text, ')');
	if (!lp || !rp || rp < lp)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: no '(comm)' field", what);
	char *end;
	errno = 0;
	long pid = strtol(text, &end, 10);
	if (end == text || errno || pid < 0 || pid > INT32_MAX)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: bad pid field", what);
	out->pid = (int)pid;
	size_t cl = (size_t)(rp - lp - 1);
	if (cl >= sizeof out->comm)
		cl = sizeof out->comm - 1;
	memcpy(out->comm, lp + 1, cl);
	out->comm[cl] = 0;
	/* fields after comm: 3 state, 4 ppid ... 14 utime 15 stime 16 cutime
	 * 17 cstime ... 22 starttime ... 39 processor */
	const char *q = rp + 1;
	int field = 2;
	while (*q) {
		while (*q == ' ')
			q++;
		if (!*q || *q == '\n')
			break;
		field++;
		const char *tok = q;
		while (*q && *q != ' ' && *q != '\n')
			q++;
		if (field == 3) {
			out->state = *tok;
			continue;
		}
		if (field == 14 || field == 15 || field == 16 || field == 17 || field == 22 || field == 39) {
			errno = 0;
			long long v = strtoll(tok, &end, 10);
			if (end != q || errno)
				return lk_errf(e, LK_EXIT_RUNTIME, "%s: field %d is not a number", what, field);
			if (v < 0 && field != 16 && field != 17)
				return lk_errf(e, LK_EXIT_RUNTIME, "%s: field %d is negative", what, field);
			if (v < 0)
				v = 0;
			switch (field) {
			case 14: out->utime = (uint64_t)v; break;
			case 15: out->stime = (uint64_t)v; break;
			case 16: out->cutime = (uint64_t)v; break;
			case 17: out->cstime = (uint64_t)v; break;
			case 22: out->starttime = (uint64_t)v; break;
			case 39: out->processor = (int)v; break;
			}
		}
	}
	if (field < 22)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: only %d fields (need at least 22)", what, field);
	if (field < 39)
		out->processor = -1;
	return 0;
}

int lk_procstat_read_pid(const char *root, int pid, struct lk_pidstat *out, struct lk_err *e)
{
	char rel[64], path[4096];
	if (pid)
		snprintf(rel, sizeof rel, "/proc/%d/stat", pid);
	else
		snprintf(rel, sizeof rel, "/proc/self/stat");
	join_path(path, sizeof path, root, rel);
	char *t = lk_file_read(path, 0, NULL, e);
	if (!t) {
		if (errno == ENOENT || errno == ESRCH)
			lk_errf(e, LK_EXIT_RUNTIME, "process %d: no such process (%s)", pid, path);
		return -1;
	}
	int rc = lk_procstat_parse_pid(t, path, out, e);
	free(t);
	return rc;
}

int lk_netdev_parse(const char *text, const char *what, struct lk_ifstat *out, int max, int *n,
		    struct lk_err *e)
{
	*n = 0;
	int lineno = 0;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		lineno++;
		char line[512];
		if (len >= sizeof line)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: line too long", what, lineno);
		memcpy(line, p, len);
		line[len] = 0;
		p += len;
		if (*p == '\n')
			p++;
		if (lineno <= 2) {
			if (!strchr(line, '|'))
				return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: not a /proc/net/dev header", what,
					       lineno);
			continue;
		}
		if (!len)
			continue;
		char *colon = strchr(line, ':');
		if (!colon)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: no 'name:' in '%.40s'", what, lineno, line);
		*colon = 0;
		char *name = line;
		while (*name == ' ')
			name++;
		if (!*name || strlen(name) >= sizeof out->name)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: bad interface name", what, lineno);
		uint64_t v[16];
		char *q = colon + 1, *end;
		int k = 0;
		for (; k < 16; k++) {
			while (*q == ' ')
				q++;
			if (*q < '0' || *q > '9')
				break;
			errno = 0;
			v[k] = strtoull(q, &end, 10);
			if (errno)
				break;
			q = end;
		}
		if (k != 16)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: interface %s: %d numbers, expected 16",
				       what, lineno, name, k);
		if (*n >= max)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s: more than %d interfaces", what, max);
		struct lk_ifstat *s = &out[(*n)++];
		memset(s, 0, sizeof *s);
		memcpy(s->name, name, strlen(name) + 1);
		s->rx_bytes = v[0];
		s->rx_packets = v[1];
		s->rx_errs = v[2];
		s->rx_drop = v[3];
		s->tx_bytes = v[8];
		s->tx_packets = v[9];
		s->tx_errs = v[10];
		s->tx_drop = v[11];
	}
	if (lineno < 2)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: missing header lines (not /proc/net/dev?)", what);
	return 0;
}

const struct lk_ifstat *lk_netdev_find(const struct lk_ifstat *t, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

int lk_netdev_read_file(const char *path, struct lk_ifstat *out, int max, int *n, struct lk_err *e)
{
	char *t = lk_file_read(path, 0, NULL, e);
	if (!t)
		return -1;
	int rc = lk_netdev_parse(t, path, out, max, n, e);
	free(t);
	return rc;
}

struct nsopen {
	const char *netns;
	int fd, err;
	char what[64];
};

static void *nsopen_thread(void *arg)
{
	struct nsopen *o = arg;
	int nfd = lk_netns_open(o->netns);
	if (nfd < 0) {
		o->err = errno;
		snprintf(o->what, sizeof o->what, "open");
		return NULL;
	}
	/* This thread only: setns(CLONE_NEWNET) changes the calling thread. It
	 * exits right after, so no other code ever runs in the namespace. */
	if (setns(nfd, CLONE_NEWNET) < 0) {
		o->err = errno;
		snprintf(o->what, sizeof o->what, "setns");
		close(nfd);
		return NULL;
	}
	close(nfd);
	o->fd = open("/proc/thread-self/net/dev", O_RDONLY | O_CLOEXEC);
	if (o->fd < 0) {
		o->err = errno;
		snprintf(o->what, sizeof o->what, "open /proc/thread-self/net/dev");
	}
	return NULL;
}

int lk_netdev_open(const char *netns, struct lk_err *e)
{
	if (!netns || !*netns) {
		int fd = open("/proc/thread-self/net/dev", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return lk_errf(e, LK_EXIT_RUNTIME, "/proc/thread-self/net/dev: %s", strerror(errno));
		return fd;
	}
	struct nsopen o = {.netns = netns, .fd = -1};
	pthread_t th;
	int rc = pthread_create(&th, NULL, nsopen_thread, &o);
	if (rc)
		return lk_errf(e, LK_EXIT_RUNTIME, "netns %s: cannot start thread: %s", netns, strerror(rc));
	pthread_join(th, NULL);
	if (o.fd < 0)
		return lk_errf(e, (o.err == EPERM || o.err == EACCES) ? LK_EXIT_MISSING : LK_EXIT_RUNTIME,
			       "netns %s: %s: %s", netns, o.what, strerror(o.err));
	return o.fd;
}

int lk_netdev_read_fd(int fd, const char *what, struct lk_ifstat *out, int max, int *n,
		      struct lk_err *e)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: lseek: %s", what, strerror(errno));
	char *t = lk_fd_read(fd, what, 0, NULL, e);
	if (!t)
		return -1;
	int rc = lk_netdev_parse(t, what, out, max, n, e);
	free(t);
	return rc;
}

void lk_ctr_add(struct lk_ctr *c, uint64_t v)
{
	if (c->nsamples++ == 0) {
		c->first = c->last = v;
		return;
	}
	if (v < c->last) {
		c->resets++;
		c->delta += v;
	} else {
		c->delta += v - c->last;
	}
	c->last = v;
}
