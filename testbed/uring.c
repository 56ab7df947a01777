/* testbed/uring.c - batched I/O with io_uring through liburing (see uring.h). */
#include "testbed/uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lk_uring {
	struct io_uring ring;
	bool have_ring;
	unsigned entries, queued;
	/* results and tags by submission index: completions may come out of order */
	int *res;
	uint64_t *tags;
	/* without io_uring (not in this kernel, or forbidden, e.g. by a
	   container's seccomp filter) the same operations, one system call each */
	struct plain_op { bool read; int fd; const void *addr; unsigned len; } *plain;
};

struct lk_uring *lk_uring_new(unsigned entries, struct lk_err *e)
{
	unsigned n = 1;
	while (n < entries)
		n <<= 1;
	struct lk_uring *u = calloc(1, sizeof *u);
	if (!u || !(u->res = calloc(n, sizeof *u->res)) || !(u->tags = calloc(n, sizeof *u->tags)) ||
	    !(u->plain = calloc(n, sizeof *u->plain))) {
		lk_uring_free(u);
		lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
		return NULL;
	}
	u->entries = n;
	const char *force = getenv("LK_URING_PLAIN");
	if (force && *force == '1')
		return u;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 2 * n;
	/* a refusal (ENOSYS, EPERM from io_uring_disabled or seccomp) leaves the
	   plain fallback in place; liburing returns -errno */
	if (io_uring_queue_init_params(n, &u->ring, &p) == 0) {
		u->have_ring = true;
		free(u->plain);
		u->plain = NULL;
	}
	return u;
}

void lk_uring_free(struct lk_uring *u)
{
	if (!u)
		return;
	if (u->have_ring)
		io_uring_queue_exit(&u->ring);
	free(u->res);
	free(u->tags);
	free(u->plain);
	free(u);
}

/* One read or writev of a stream (no file position), never waiting. */
static int queue(struct lk_uring *u, bool rd, int fd, const void *addr, unsigned len, uint64_t tag)
{
	if (u->queued >= u->entries)
		return -1;
	if (u->plain) {
		u->plain[u->queued] = (struct plain_op){rd, fd, addr, len};
	} else {
		struct io_uring_sqe *s = io_uring_get_sqe(&u->ring);
		if (!s)
			return -1;
		if (rd)
			io_uring_prep_read(s, fd, (void *)(uintptr_t)addr, len, (uint64_t)-1);
		else
			io_uring_prep_writev(s, fd, addr, len, (uint64_t)-1);
		s->rw_flags = RWF_NOWAIT;
		io_uring_sqe_set_data64(s, u->queued);
	}
	u->tags[u->queued++] = tag;
	return 0;
}

int lk_uring_writev(struct lk_uring *u, int fd, const struct iovec *iov, unsigned n, uint64_t tag)
{
	return queue(u, false, fd, iov, n, tag);
}

int lk_uring_read(struct lk_uring *u, int fd, void *buf, unsigned len, uint64_t tag)
{
	return queue(u, true, fd, buf, len, tag);
}

unsigned lk_uring_queued(const struct lk_uring *u)
{
	return u->queued;
}

static void run_plain(struct lk_uring *u, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct plain_op *o = &u->plain[i];
		ssize_t r;
		do
			r = o->read ? read(o->fd, (void *)(uintptr_t)o->addr, o->len)
				    : writev(o->fd, o->addr, (int)o->len);
		while (r < 0 && errno == EINTR);
		u->res[i] = r < 0 ? -errno : (int)r;
	}
}

/* Submit everything and collect every completion; -1 (errno set) when
 * io_uring itself failed, the operations not completed report -ECANCELED. */
static int run_ring(struct lk_uring *u, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		u->res[i] = -ECANCELED;
	unsigned got = 0;
	while (got < n) {
		/* submits what is still queued and waits for the rest */
		int r = io_uring_submit_and_wait(&u->ring, n - got);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			errno = -r;
			return -1;
		}
		struct io_uring_cqe *c;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&u->ring, head, c)
		{
			uint64_t i = io_uring_cqe_get_data64(c);
			if (i < n)
				u->res[i] = c->res;
			seen++;
		}
		io_uring_cq_advance(&u->ring, seen);
		got += seen;
	}
	return 0;
}

int lk_uring_run(struct lk_uring *u, void (*cb)(void *ctx, uint64_t tag, int res), void *ctx)
{
	unsigned n = u->queued;
	if (!n)
		return 0;
	int rc = (int)n;
	if (u->plain)
		run_plain(u, n);
	else if (run_ring(u, n) < 0)
		rc = -1;
	u->queued = 0;
	int er = errno;
	for (unsigned i = 0; i < n; i++)
		cb(ctx, u->tags[i], u->res[i]);
	errno = er;
	return rc;
}
