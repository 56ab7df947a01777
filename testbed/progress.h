/* testbed/progress.h - a run's live progress, and the pipe protocol that
 * carries it from `lrokit run` to its parent `lrokit bench`.
 *
 * The parent makes a pipe, passes the write end to the child and names it in
 * the environment variable LK_PROGRESS_ENV; the child writes one line per
 * report:
 *
 *   phase=setup | phase=transfer bytes=N elapsed_ns=M | phase=teardown |
 *   phase=ingest
 *
 * bytes = payload received so far by the receiver's namespace (an estimate
 * from its IP and TCP counters: lk_run), elapsed_ns = time since the
 * transfer began. Both ends use this header: lk_progress_format writes a
 * line, lk_progress_parse reads it back. The child's end is made
 * close-on-exec (no testbed process keeps it) and non-blocking (a parent
 * that stops reading never stalls the run).
 */
#ifndef LK_TESTBED_PROGRESS_H
#define LK_TESTBED_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#define LK_PROGRESS_ENV "LK_PROGRESS_FD"

struct lk_progress {
	char phase[16];       /* setup, transfer, teardown, ingest */
	long long bytes;      /* transfer: payload received so far; -1 none */
	uint64_t elapsed_ns;  /* transfer: time since it began */
};

/* One line (with its newline) into buf; returns its length. */
size_t lk_progress_format(char *buf, size_t n, const struct lk_progress *p);
/* 0 and *p filled, or -1 when line is not a progress line. */
int lk_progress_parse(const char *line, struct lk_progress *p);

/* The child's side: the descriptor named by LK_PROGRESS_ENV, made
 * close-on-exec and non-blocking, or -1 (none, or not a usable fd). */
int lk_progress_open_env(void);
/* Write one report to *fd; a reader that has gone away sets *fd to -1. */
void lk_progress_send(int *fd, const struct lk_progress *p);

/* The parent's side: bytes read from the pipe in, complete lines out. */
struct lk_progress_reader {
	char buf[4096];
	size_t have;
};
/* Append n bytes; call fn for every complete progress line. */
void lk_progress_feed(struct lk_progress_reader *r, const char *data, size_t n,
		      void (*fn)(void *ctx, const struct lk_progress *p), void *ctx);

#endif
