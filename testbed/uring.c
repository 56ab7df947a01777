/* testbed/uring.c - batched I/O with io_uring (see uring.h). */
#include "testbed/uring.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct lk_uring {
	int fd;
	unsigned entries;
	/* submission queue */
	void *sq_map, *cq_map;
	size_t sq_len, cq_len;
	struct io_uring_sqe *sqes;
	size_t sqes_len;
	_Atomic unsigned *sq_head, *sq_tail;
	unsigned *sq_mask, *sq_array;
	/* completion queue */
	_Atomic unsigned *cq_head, *cq_tail;
	unsigned *cq_mask;
	struct io_uring_cqe *cqes;
	unsigned queued;
	/* results by submission index: completions may be posted out of order */
	int *res;
	uint64_t *tags;
	/* without io_uring (fd < 0: not in this kernel, or forbidden, e.g. by a
	   container's seccomp filter) the same operations, one system call each */
	struct plain_op { uint8_t op; int fd; const void *addr; unsigned len; } *plain;
};

/* The fallback ring: operations kept and run with read/writev. */
static struct lk_uring *plain_new(unsigned n)
{
	struct lk_uring *u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	u->fd = -1;
	u->entries = n;
	u->res = calloc(n, sizeof *u->res);
	u->tags = calloc(n, sizeof *u->tags);
	u->plain = calloc(n, sizeof *u->plain);
	if (!u->res || !u->tags || !u->plain) {
		lk_uring_free(u);
		return NULL;
	}
	return u;
}

struct lk_uring *lk_uring_new(unsigned entries, struct lk_err *e)
{
	unsigned n = 1;
	while (n < entries)
		n <<= 1;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 2 * n;
	const char *force = getenv("LK_URING_PLAIN");
	int fd = force && *force == '1' ? -1 : (int)syscall(__NR_io_uring_setup, n, &p);
	if (fd < 0) {
		struct lk_uring *u = plain_new(n);
		if (!u)
			lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
		return u;
	}
	struct lk_uring *u = calloc(1, sizeof *u);
	if (!u) {
		close(fd);
		lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
		return NULL;
	}
	u->fd = fd;
	u->entries = n;
	u->res = calloc(n, sizeof *u->res);
	u->tags = calloc(n, sizeof *u->tags);
	u->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	u->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_len > u->sq_len)
			u->sq_len = u->cq_len;
		u->cq_len = u->sq_len;
	}
	u->sq_map = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			 IORING_OFF_SQ_RING);
	u->cq_map = p.features & IORING_FEAT_SINGLE_MMAP
			    ? u->sq_map
			    : mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				   fd, IORING_OFF_CQ_RING);
	u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		       IORING_OFF_SQES);
	if (!u->res || !u->tags || u->sq_map == MAP_FAILED || u->cq_map == MAP_FAILED ||
	    u->sqes == MAP_FAILED) {
		lk_errf(e, LK_EXIT_RUNTIME, "io_uring rings: %s", strerror(errno));
		if (u->sq_map == MAP_FAILED)
			u->sq_map = NULL;
		if (u->cq_map == MAP_FAILED)
			u->cq_map = NULL;
		if (u->sqes == MAP_FAILED)
			u->sqes = NULL;
		lk_uring_free(u);
		return NULL;
	}
	uint8_t *sq = u->sq_map, *cq = u->cq_map;
	u->sq_head = (_Atomic unsigned *)(sq + p.sq_off.head);
	u->sq_tail = (_Atomic unsigned *)(sq + p.sq_off.tail);
	u->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	u->sq_array = (unsigned *)(sq + p.sq_off.array);
	u->cq_head = (_Atomic unsigned *)(cq + p.cq_off.head);
	u->cq_tail = (_Atomic unsigned *)(cq + p.cq_off.tail);
	u->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return u;
}

void lk_uring_free(struct lk_uring *u)
{
	if (!u)
		return;
	if (u->sqes)
		munmap(u->sqes, u->sqes_len);
	if (u->cq_map && u->cq_map != u->sq_map)
		munmap(u->cq_map, u->cq_len);
	if (u->sq_map)
		munmap(u->sq_map, u->sq_len);
	if (u->fd >= 0)
		close(u->fd);
	free(u->res);
	free(u->tags);
	free(u->plain);
	free(u);
}

static struct io_uring_sqe *next_sqe(struct lk_uring *u, uint64_t tag)
{
	if (u->queued >= u->entries)
		return NULL;
	unsigned tail = atomic_load_explicit(u->sq_tail, memory_order_relaxed);
	unsigned idx = tail & *u->sq_mask;
	struct io_uring_sqe *s = &u->sqes[idx];
	memset(s, 0, sizeof *s);
	s->user_data = u->queued;
	u->tags[u->queued] = tag;
	u->sq_array[idx] = idx;
	atomic_store_explicit(u->sq_tail, tail + 1, memory_order_release);
	u->queued++;
	return s;
}

/* One read or writev of a stream (no file position), never waiting. */
static int queue(struct lk_uring *u, uint8_t op, int fd, const void *addr, unsigned len, uint64_t tag)
{
	if (u->plain) {
		if (u->queued >= u->entries)
			return -1;
		u->plain[u->queued] = (struct plain_op){op, fd, addr, len};
		u->tags[u->queued++] = tag;
		return 0;
	}
	struct io_uring_sqe *s = next_sqe(u, tag);
	if (!s)
		return -1;
	s->opcode = op;
	s->fd = fd;
	s->addr = (uint64_t)(uintptr_t)addr;
	s->len = len;
	s->off = (uint64_t)-1;
	s->rw_flags = RWF_NOWAIT;
	return 0;
}

int lk_uring_writev(struct lk_uring *u, int fd, const struct iovec *iov, unsigned n, uint64_t tag)
{
	return queue(u, IORING_OP_WRITEV, fd, iov, n, tag);
}

int lk_uring_read(struct lk_uring *u, int fd, void *buf, unsigned len, uint64_t tag)
{
	return queue(u, IORING_OP_READ, fd, buf, len, tag);
}

unsigned lk_uring_queued(const struct lk_uring *u)
{
	return u->queued;
}

int lk_uring_run(struct lk_uring *u, void (*cb)(void *ctx, uint64_t tag, int res), void *ctx)
{
	unsigned n = u->queued, got = 0;
	if (!n)
		return 0;
	if (u->plain) {
		for (unsigned i = 0; i < n; i++) {
			const struct plain_op *o = &u->plain[i];
			ssize_t r;
			do
				r = o->op == IORING_OP_READ ? read(o->fd, (void *)(uintptr_t)o->addr, o->len)
							    : writev(o->fd, o->addr, (int)o->len);
			while (r < 0 && errno == EINTR);
			u->res[i] = r < 0 ? -errno : (int)r;
		}
		u->queued = 0;
		for (unsigned i = 0; i < n; i++)
			cb(ctx, u->tags[i], u->res[i]);
		return (int)n;
	}
	unsigned submit = n;
	int rc = (int)n;
	for (unsigned i = 0; i < n; i++)
		u->res[i] = -ECANCELED;
	while (got < n) {
		long r = syscall(__NR_io_uring_enter, u->fd, submit, n - got, IORING_ENTER_GETEVENTS,
				 NULL, 0);
		if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
			rc = -1; /* the operations not completed report -ECANCELED */
			break;
		}
		if (r > 0)
			submit -= (unsigned)r > submit ? submit : (unsigned)r;
		unsigned head = atomic_load_explicit(u->cq_head, memory_order_relaxed);
		unsigned tail = atomic_load_explicit(u->cq_tail, memory_order_acquire);
		for (; head != tail; head++) {
			struct io_uring_cqe *c = &u->cqes[head & *u->cq_mask];
			if (c->user_data < n)
				u->res[c->user_data] = c->res;
			got++;
		}
		atomic_store_explicit(u->cq_head, head, memory_order_release);
	}
	u->queued = 0;
	int er = errno;
	for (unsigned i = 0; i < n; i++)
		cb(ctx, u->tags[i], u->res[i]);
	errno = er;
	return rc;
}
