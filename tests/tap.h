/* tests/tap.h - minimal TAP producer for C unit tests (run under prove).
 *
 *   plan(n) / done_testing(); ok(cond, fmt...); is_int(got, want, fmt...);
 *   is_str(got, want, fmt...); skip_all(reason); skip(fmt...); diag(fmt...)
 * Header-only; each test program includes it once.
 *
 * Every skip (skip_all, skip, or an ok() whose description starts with
 * "# SKIP") goes through tests/skip-check, the one rule shared with the shell
 * tests: under CI (CI=true, as root) a skip that tests/allowed-skips does not
 * list is a failure, and make check lists every skip at the end. The script
 * is found through $LK_TOP, ./tests/ (prove runs from the top of the tree) or
 * two levels above the test binary (BUILD/tests/NAME).
 */
#ifndef LK_TAP_H
#define LK_TAP_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int tap_n, tap_fail;

static inline void plan(int n) { printf("1..%d\n", n); fflush(stdout); }

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

/* Runs tests/skip-check for this program and REASON: 1 = the skip is
 * accepted, 0 = refused (or the checker cannot be found or run under CI). */
static inline int tap_skip_ok(const char *reason)
{
	char path[4096] = "", exe[4000];
	const char *top = getenv("LK_TOP");
	if (top)
		snprintf(path, sizeof path, "%.3900s/tests/skip-check", top);
	else if (access("tests/skip-check", X_OK) == 0)
		snprintf(path, sizeof path, "tests/skip-check");
	else {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = 0;
			for (int up = 0; up < 3; up++) { /* NAME, tests, BUILD */
				char *sl = strrchr(exe, '/');
				if (sl)
					*sl = 0;
			}
			snprintf(path, sizeof path, "%.3900s/tests/skip-check", exe);
		}
	}
	fflush(stdout);
	const char *ci = getenv("CI");
	int strict = ci && !strcmp(ci, "true") && geteuid() == 0;
	pid_t p = path[0] && access(path, X_OK) == 0 ? fork() : -1;
	if (p == 0) {
		execl(path, path, program_invocation_short_name, reason, (char *)NULL);
		_exit(127);
	}
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		printf("# cannot run tests/skip-check (%s)\n", path[0] ? path : "not found");
		return !strict;
	}
	return WEXITSTATUS(st) == 0;
}

static inline void tap_skip(const char *reason)
{
	tap_n++;
	if (tap_skip_ok(reason)) {
		printf("ok %d # skip %s\n", tap_n, reason);
	} else {
		tap_fail++;
		printf("not ok %d - skipped, and the skip is not allowed here: %s\n", tap_n, reason);
	}
	fflush(stdout);
}

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
	char d[4096];
	vsnprintf(d, sizeof d, fmt, ap);
	if (!strncmp(d, "# SKIP ", 7) || !strncmp(d, "# skip ", 7)) {
		tap_skip(d + 7);
		return 1;
	}
	tap_n++;
	if (!cond)
		tap_fail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, d);
	fflush(stdout);
	if (!cond) /* on stderr too: prove shows it, in a CI log as well */
		fprintf(stderr, "#   Failed test %d - %s\n", tap_n, d);
	return cond;
}

/* One check not made, with the reason (counts as a test). */
static inline void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void skip(const char *fmt, ...)
{
	char d[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, sizeof d, fmt, ap);
	va_end(ap);
	tap_skip(d);
}

static inline int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

/* A failed comparison's values, with the TAP and on stderr (prove shows it). */
static inline void tap_got_want(const char *got, const char *want)
{
	printf("#   got: %s\n#  want: %s\n", got, want);
	fprintf(stderr, "#   got: %s\n#  want: %s\n", got, want);
}

static inline int is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(got == want, fmt, ap);
	va_end(ap);
	if (!r) {
		char g[32], w[32];
		snprintf(g, sizeof g, "%lld", got);
		snprintf(w, sizeof w, "%lld", want);
		tap_got_want(g, w);
	}
	return r;
}

static inline int is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(got && want && !strcmp(got, want), fmt, ap);
	va_end(ap);
	if (!r) {
		char g[4096], w[4096];
		snprintf(g, sizeof g, "'%s'", got ? got : "(null)");
		snprintf(w, sizeof w, "'%s'", want ? want : "(null)");
		tap_got_want(g, w);
	}
	return r;
}

/* The whole test skipped (call before any check); under CI an unlisted
 * reason makes it one failing check instead. */
static inline void skip_all(const char *reason)
{
	if (tap_n == 0 && tap_skip_ok(reason)) {
		printf("1..0 # SKIP %s\n", reason);
		exit(0);
	}
	if (tap_n == 0) {
		tap_n = 1;
		tap_fail++;
		printf("not ok 1 - skipped, and the skip is not allowed here: %s\n", reason);
	} else {
		tap_skip(reason);
	}
	printf("1..%d\n", tap_n);
	exit(tap_fail ? 1 : 0);
}

/* Print the plan at the end; returns the process exit status. */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

#endif
