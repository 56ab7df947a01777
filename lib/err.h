/* lib/err.h - error reporting for library code.
 *
 * Library functions never print or exit. On failure they fill a struct lk_err
 * with one human-readable line (no trailing newline) and an exit-code class,
 * and return a negative value. Only the CLI prints e->msg and exits e->code.
 */
#ifndef LK_ERR_H
#define LK_ERR_H

#include <stddef.h>

/* Exit codes (docs/design.md, Exit codes). */
enum {
	LK_EXIT_OK = 0,
	LK_EXIT_RUNTIME = 1, /* runtime failure, bad input file, I/O */
	LK_EXIT_USAGE = 2,   /* bad command line */
	LK_EXIT_MISSING = 3, /* missing dependency, kernel feature or privilege */
};

struct lk_err {
	int code;       /* one of LK_EXIT_* */
	char msg[512];  /* one line, no newline */
};

/* Fill *e (if non-NULL) with code and a printf-style message; returns -1 so
 * callers can write `return lk_errf(e, LK_EXIT_RUNTIME, "...")`. */
int lk_errf(struct lk_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "prefix: old message". Returns -1. */
int lk_err_prefix(struct lk_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
