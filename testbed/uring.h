/* testbed/uring.h - batched frame I/O for the stages: many TAP reads, TAP
 * writes or packet-socket sends in one system call (io_uring, through
 * liburing).
 *
 * Why: a stage moves every frame through a TAP or socket, and a system call
 * costs more than the work it does on some hosts (1.7 us on the PVM guest
 * this was measured on, where one frame's kernel work is about as much).
 * A stage queues a poll's worth of operations and runs them with one
 * io_uring_enter. Every operation carries RWF_NOWAIT, so it completes (or
 * fails with -EAGAIN) inside that call: without it io_uring would wait for
 * a TAP to become readable, O_NONBLOCK or not.
 *
 *   struct lk_uring *u = lk_uring_new(256, &e);
 *   lk_uring_writev(u, fd, iov, n, tag);    // queue; -1 when the batch is full
 *   lk_uring_read(u, fd, buf, len, tag);
 *   lk_uring_run(u, cb, ctx);               // submit all, wait, cb per op
 *
 * The buffers and iovecs handed in must stay valid until lk_uring_run
 * returns. Where io_uring is missing or forbidden (io_uring_setup fails:
 * an old kernel, kernel.io_uring_disabled, a container's seccomp filter)
 * lk_uring_run does the same operations with read/writev, one system call
 * each, on the fds as they are (the stages' are non-blocking). */
#ifndef LK_TESTBED_URING_H
#define LK_TESTBED_URING_H

#include "lib/err.h"

#include <stdint.h>
#include <sys/uio.h>

struct lk_uring;

/* A ring for up to `entries` operations per batch (a power of two is used).
 * LK_URING_PLAIN=1 in the environment uses the fallback (for tests). */
struct lk_uring *lk_uring_new(unsigned entries, struct lk_err *e);
void lk_uring_free(struct lk_uring *u);

/* Queue one operation; tag comes back with its result. -1 when the batch
 * is full (run it first). */
int lk_uring_writev(struct lk_uring *u, int fd, const struct iovec *iov, unsigned n, uint64_t tag);
int lk_uring_read(struct lk_uring *u, int fd, void *buf, unsigned len, uint64_t tag);
/* Operations queued and not yet run. */
unsigned lk_uring_queued(const struct lk_uring *u);
/* Run every queued operation; cb(ctx, tag, res) for each (res: bytes, or
 * -errno), in submission order. Returns the number run, or -1 when
 * io_uring itself failed (errno set; the operations it did not complete
 * report -ECANCELED). */
int lk_uring_run(struct lk_uring *u, void (*cb)(void *ctx, uint64_t tag, int res), void *ctx);

#endif
