/* reports/gnuplot.c - find and run gnuplot. See gnuplot.h. */
#include "reports/gnuplot.h"

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

static int is_exec(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int lk_gp_find(char *path, size_t n, struct lk_err *e)
{
	const char *env = getenv("LROKIT_GNUPLOT");
	if (env && *env) {
		if (!is_exec(env))
			return lk_errf(e, LK_EXIT_MISSING,
				       "gnuplot not found: LROKIT_GNUPLOT=%s is not an executable file", env);
		snprintf(path, n, "%s", env);
		return 0;
	}
	const char *p = getenv("PATH");
	if (!p || !*p)
		p = "/usr/local/bin:/usr/bin:/bin";
	char *dup = strdup(p);
	if (!dup)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	int found = 0;
	for (char *save = NULL, *d = strtok_r(dup, ":", &save); d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char cand[4096];
		if ((size_t)snprintf(cand, sizeof cand, "%s/gnuplot", *d ? d : ".") >= sizeof cand)
			continue;
		if (is_exec(cand)) {
			snprintf(path, n, "%s", cand);
			found = 1;
		}
	}
	free(dup);
	if (!found)
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
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (dir && chdir(dir) < 0)
			_exit(126);
		int in = open("/dev/null", O_RDONLY);
		int out = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
		if (out < 0)
			out = open("/dev/null", O_WRONLY);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_s && now.tv_sec - t0.tv_sec >= (time_t)timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			*timed_out = 1;
			return st;
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
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
	snprintf(out, n, "unknown (gnuplot --version failed)");
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDWR);
		if (in >= 0) {
			dup2(in, 0);
			dup2(in, 2);
		}
		dup2(pfd[1], 1);
		execl(gnuplot, gnuplot, "--version", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char buf[256];
	size_t have = 0;
	ssize_t r;
	while (have < sizeof buf - 1 &&
	       ((r = read(pfd[0], buf + have, sizeof buf - 1 - have)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			have += (size_t)r;
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	buf[have] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !buf[0])
		return -1;
	snprintf(out, n, "%s", buf);
	return 0;
}
