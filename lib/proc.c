/* lib/proc.c - child processes and named network namespaces. */
#include "lib/proc.h"
#include "lib/clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int lk_which(const char *prog, char *out, size_t n)
{
	if (!prog || !*prog)
		return -1;
	struct stat st;
	if (strchr(prog, '/')) {
		snprintf(out, n, "%s", prog);
		return access(prog, X_OK) == 0 && stat(prog, &st) == 0 && S_ISREG(st.st_mode) ? 0 : -1;
	}
	const char *path = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof dirs, "%s:/usr/local/sbin:/usr/sbin:/sbin",
		 path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(out, n, "%s/%s", d, prog) >= n)
			continue;
		if (access(out, X_OK) == 0 && stat(out, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
	}
	out[0] = 0;
	return -1;
}

static void join_argv(char *buf, size_t n, const char *const argv[])
{
	size_t off = 0;
	buf[0] = 0;
	for (int i = 0; argv[i] && off + 2 < n; i++)
		off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? " " : "", argv[i]);
}

/* Start argv with stdin and the other output on /dev/null and output fd
 * `fd` (1 or 2) on a pipe; returns the pipe's read end, or -1 (e filled). */
static int spawn_piped(const char *const argv[], int fd, const char *cmd, pid_t *pid,
		       struct lk_err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: pipe: %s", cmd, strerror(errno));
	struct lk_spawn_opts o = {.cpu = -1, .stdin_null = true,
				  .stdout_path = "", .stderr_path = "",
				  .stdout_fd = fd == 1 ? p[1] : -1, .stderr_fd = fd == 2 ? p[1] : -1};
	*pid = lk_spawn((char *const *)argv, &o, e);
	close(p[1]);
	if (*pid < 0) {
		close(p[0]);
		return lk_err_prefix(e, "'%s' failed", cmd);
	}
	return p[0];
}

static int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

int lk_cmd(struct lk_err *e, const char *const argv[])
{
	char cmd[300];
	join_argv(cmd, sizeof cmd, argv);
	pid_t pid;
	int fd = spawn_piped(argv, 2, cmd, &pid, e);
	if (fd < 0)
		return -1;
	char out[2048];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, out + n, sizeof out - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof out - 1)
			n = 0; /* keep the tail */
	}
	out[n] = 0;
	close(fd);
	int st = reap(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = 0;
	char *last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	int code = WIFEXITED(st) && WEXITSTATUS(st) == 127 ? LK_EXIT_MISSING : LK_EXIT_RUNTIME;
	return lk_errf(e, code, "'%s' failed: %s", cmd, *last ? last : "no message");
}

int lk_cmd_out(struct lk_err *e, const char *const argv[], char *out, size_t n)
{
	char cmd[300];
	join_argv(cmd, sizeof cmd, argv);
	out[0] = 0;
	pid_t pid;
	int fd = spawn_piped(argv, 1, cmd, &pid, e);
	if (fd < 0)
		return -1;
	size_t k = 0;
	char sink[512];
	for (;;) {
		ssize_t r = k + 1 < n ? read(fd, out + k, n - 1 - k) : read(fd, sink, sizeof sink);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (k + 1 < n)
			k += (size_t)r;
	}
	out[k] = 0;
	close(fd);
	int st = reap(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return lk_errf(e, LK_EXIT_RUNTIME, "'%s' failed (status %d)", cmd,
		       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int lk_cmdl(struct lk_err *e, const char *arg0, ...)
{
	const char *argv[64];
	int n = 0;
	va_list ap;
	va_start(ap, arg0);
	argv[n++] = arg0;
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 63)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return lk_cmd(e, argv);
}

static void redirect(int fd, const char *path, int from, bool append)
{
	if (from > 2) {
		dup2(from, fd);
		return;
	}
	if (!path)
		return;
	int flags = !fd ? O_RDONLY : O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
	int f = open(*path ? path : "/dev/null", flags, 0644);
	if (f >= 0) {
		dup2(f, fd);
		close(f);
	}
}

/* environ plus name=value (replacing an existing name=...), for execve. */
static char **env_with(const char *name, const char *value, char **buf)
{
	size_t n = 0, nl = strlen(name);
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	*buf = malloc(nl + strlen(value) + 2);
	if (!env || !*buf) {
		free(env);
		free(*buf);
		*buf = NULL;
		return NULL;
	}
	sprintf(*buf, "%s=%s", name, value);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], name, nl) || environ[i][nl] != '=')
			env[k++] = environ[i];
	env[k++] = *buf;
	env[k] = NULL;
	return env;
}

/* The child's side of lk_spawn: async-signal-safe calls only up to exec. */
static void spawn_child(const char *path, char *const argv[], char **env,
			const struct lk_spawn_opts *o, int nsfd, pid_t parent)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (o->die_with_parent) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
	}
	if (o->new_session)
		setsid();
	if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) {
		dprintf(2, "setns %s: %s\n", o->netns, strerror(errno));
		_exit(126);
	}
	if (o->cpu >= 0) {
		cpu_set_t cs;
		CPU_ZERO(&cs);
		CPU_SET(o->cpu, &cs);
		sched_setaffinity(0, sizeof cs, &cs);
	}
	for (int i = 0; i < o->n_keep; i++) {
		int fl = fcntl(o->keep_fds[i], F_GETFD);
		if (fl >= 0)
			fcntl(o->keep_fds[i], F_SETFD, fl & ~FD_CLOEXEC);
	}
	if (o->cwd && chdir(o->cwd) < 0) {
		dprintf(2, "cd %s: %s\n", o->cwd, strerror(errno));
		_exit(126);
	}
	if (o->stdin_fd > 2)
		redirect(0, NULL, o->stdin_fd, false);
	else if (o->stdin_null)
		redirect(0, "", -1, false);
	redirect(1, o->stdout_path, o->stdout_fd, o->append);
	redirect(2, o->stderr_path, o->stderr_fd, o->append);
	execve(path, argv, env ? env : environ);
	dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

pid_t lk_spawn(char *const argv[], const struct lk_spawn_opts *o, struct lk_err *e)
{
	char path[4096];
	if (o->exe)
		snprintf(path, sizeof path, "%s", o->exe);
	else if (lk_which(argv[0], path, sizeof path) < 0)
		return lk_errf(e, LK_EXIT_MISSING, "%s: %s", argv[0],
			       strchr(argv[0], '/') ? strerror(errno) : "not found in PATH");
	char **env = NULL, *envbuf = NULL;
	if (o->env_name && !(env = env_with(o->env_name, o->env_value ? o->env_value : "", &envbuf)))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", argv[0]);
	int nsfd = -1;
	if (o->netns && (nsfd = lk_netns_open(o->netns)) < 0) {
		int er = errno;
		free(env);
		free(envbuf);
		return lk_errf(e, LK_EXIT_RUNTIME, "network namespace '%s': %s", o->netns,
			       strerror(er));
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		spawn_child(path, argv, env, o, nsfd, parent);
	int er = errno;
	if (nsfd >= 0)
		close(nsfd);
	free(env);
	free(envbuf);
	if (pid < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "fork: %s", strerror(er));
	return pid;
}

int lk_self_exe(char *buf, size_t n, struct lk_err *e)
{
	ssize_t r = readlink("/proc/self/exe", buf, n - 1);
	if (r < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "/proc/self/exe: %s", strerror(errno));
	buf[r] = 0;
	return 0;
}

static void netns_path(char *p, size_t n, const char *name)
{
	if (name[0] == '/')
		snprintf(p, n, "%s", name);
	else
		snprintf(p, n, LK_NETNS_DIR "/%s", name);
}

int lk_netns_open(const char *name)
{
	char p[4096];
	netns_path(p, sizeof p, name);
	return open(p, O_RDONLY | O_CLOEXEC);
}

int lk_netns_enter(const char *name, int *saved, struct lk_err *e)
{
	if (saved) {
		*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (*saved < 0)
			return lk_errf(e, LK_EXIT_RUNTIME, "own namespace: %s", strerror(errno));
	}
	int fd = lk_netns_open(name);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		int er = errno;
		if (fd >= 0)
			close(fd);
		if (saved) {
			close(*saved);
			*saved = -1;
		}
		return lk_errf(e, LK_EXIT_RUNTIME, "enter network namespace '%s': %s", name,
			       strerror(er));
	}
	close(fd);
	return 0;
}

int lk_netns_return(int saved)
{
	if (saved < 0)
		return -1;
	int r = setns(saved, CLONE_NEWNET);
	close(saved);
	return r;
}

bool lk_netns_exists(const char *name)
{
	char p[4096];
	netns_path(p, sizeof p, name);
	return access(p, F_OK) == 0;
}

int lk_netns_kill(const char *name, int sig)
{
	char p[4096];
	struct stat ns;
	netns_path(p, sizeof p, name);
	if (stat(p, &ns) < 0)
		return 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	pid_t self = getpid();
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		char q[64];
		struct stat st;
		snprintf(q, sizeof q, "/proc/%ld/ns/net", pid);
		if (stat(q, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev) {
			if (kill((pid_t)pid, sig) == 0)
				n++;
		}
	}
	closedir(d);
	return n;
}

int lk_netns_destroy(const char *name, int grace_ms, struct lk_err *e)
{
	if (!lk_netns_exists(name))
		return 0;
	if (lk_netns_kill(name, SIGTERM) > 0) {
		uint64_t end = lk_mono_ns() + (uint64_t)grace_ms * 1000000ull;
		while (lk_mono_ns() < end && lk_netns_kill(name, 0) > 0)
			usleep(10000);
		for (int i = 0; i < 50 && lk_netns_kill(name, SIGKILL) > 0; i++)
			usleep(10000);
	}
	return lk_cmdl(e, "ip", "netns", "delete", name, (char *)NULL);
}
