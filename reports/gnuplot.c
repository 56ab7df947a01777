/* reports/gnuplot.c - find and run gnuplot. See gnuplot.h. */
#include "reports/gnuplot.h"
#include "lib/clock.h"
#include "lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int lk_gp_find(char *path, size_t n, struct lk_err *e)
{
	const char *env = getenv("LROKIT_GNUPLOT");
	if (env && *env) {
		if (lk_which(env, path, n) < 0)
			return lk_errf(e, LK_EXIT_MISSING,
				       "gnuplot not found: LROKIT_GNUPLOT=%s is not an executable file", env);
		return 0;
	}
	if (lk_which("gnuplot", path, n) < 0)
		return lk_errf(e, LK_EXIT_MISSING,
			       "gnuplot not found in PATH: the report needs it (Debian package "
			       "gnuplot-nox; `make deps` installs it)");
	return 0;
}

/* Run argv with cwd dir, stdin /dev/null, stdout+stderr appended to log (or
 * /dev/null). Returns the wait status, or -1 (errno) when it could not run;
 * *timed_out set when killed after timeout_s. */
static int run(const char *dir, char *const argv[], const char *log, unsigned timeout_s,
	       int *timed_out)
{
	*timed_out = 0;
	struct lk_spawn_opts so = {.exe = argv[0], .cpu = -1, .cwd = dir, .stdin_null = true,
				   .stdout_path = log ? log : "", .stderr_path = log ? log : "",
				   .append = true};
	pid_t pid = lk_spawn(argv, &so, NULL);
	if (pid < 0)
		return -1;
	int st = 0;
	uint64_t end = lk_mono_ns() + (uint64_t)timeout_s * 1000000000ull;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (timeout_s && lk_mono_ns() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			*timed_out = 1;
			return st;
		}
		usleep(5000);
	}
}

int lk_gp_check(const char *gnuplot, struct lk_err *e)
{
	char *argv[] = {(char *)gnuplot, (char *)"-e",
			(char *)"set terminal pngcairo; set terminal svg; set terminal pdfcairo", NULL};
	int to;
	int st = run(NULL, argv, NULL, 30, &to);
	if (st < 0)
		return lk_errf(e, LK_EXIT_MISSING, "%s: cannot run: %s", gnuplot, strerror(errno));
	if (to || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return lk_errf(e, LK_EXIT_MISSING,
			       "%s lacks the pngcairo, svg or pdfcairo terminal (install gnuplot-nox "
			       "5.x with cairo)", gnuplot);
	return 0;
}

int lk_gp_render(const char *gnuplot, const char *dir, const char *term, const char *size,
		 const char *out, const char *const *scripts, size_t nscripts, const char *log,
		 unsigned timeout_s, struct lk_err *e)
{
	char setup[1024];
	if ((size_t)snprintf(setup, sizeof setup, "set terminal %s%s%s; set output '%s'", term,
			     size ? " size " : "", size ? size : "", out) >= sizeof setup)
		return lk_errf(e, LK_EXIT_RUNTIME, "gnuplot command too long for %s", out);
	char **argv = calloc(nscripts + 4, sizeof *argv);
	if (!argv)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	size_t k = 0;
	argv[k++] = (char *)gnuplot;
	argv[k++] = (char *)"-e";
	argv[k++] = setup;
	for (size_t i = 0; i < nscripts; i++)
		argv[k++] = (char *)scripts[i];
	argv[k] = NULL;
	char logpath[4200], outpath[4200];
	snprintf(logpath, sizeof logpath, "%s/%s", dir, log);
	snprintf(outpath, sizeof outpath, "%s/%s", dir, out);
	unlink(outpath);
	int to;
	int st = run(dir, argv, logpath, timeout_s, &to);
	free(argv);
	const char *first = nscripts ? scripts[0] : "?";
	if (st < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot run gnuplot: %s", first, strerror(errno));
	if (to)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: gnuplot still running after %u s for %s; killed",
			       first, timeout_s, out);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: gnuplot failed rendering %s (see %s/%s)", first,
			       out, dir, log);
	struct stat sb;
	if (stat(outpath, &sb) < 0 || sb.st_size == 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: gnuplot wrote no %s (see %s/%s)", first, out, dir,
			       log);
	return 0;
}

int lk_gp_version(const char *gnuplot, char *out, size_t n)
{
	char buf[256];
	const char *argv[] = {gnuplot, "--version", NULL};
	int rc = lk_cmd_out(NULL, argv, buf, sizeof buf);
	buf[strcspn(buf, "\r\n")] = 0;
	if (rc < 0 || !buf[0]) {
		snprintf(out, n, "unknown (gnuplot --version failed)");
		return -1;
	}
	snprintf(out, n, "%s", buf);
	return 0;
}
