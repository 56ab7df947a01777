/* testbed/remote.c - remote commands over ssh, their log, offloads put
 * back (see remote.h). */
#include "testbed/remote.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CMD_MAX 8192

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static bool stopped(const struct lk_remote *r)
{
	return r->stop && *r->stop;
}

int lk_remote_log_begin(struct lk_remote *r, struct lk_err *e)
{
	lk_remote_free(r);
	r->nlog = 0;
	r->logf = open_memstream(&r->log, &r->log_len);
	r->textf = open_memstream(&r->text, &r->text_len);
	if (!r->logf || !r->textf)
		return lk_errf(e, LK_EXIT_RUNTIME, "remote command log: %s", strerror(errno));
	fputc('[', r->logf);
	return 0;
}

void lk_remote_log_end(struct lk_remote *r)
{
	if (r->logf) {
		fputc(']', r->logf);
		fclose(r->logf);
	}
	if (r->textf)
		fclose(r->textf);
	r->logf = r->textf = NULL;
}

void lk_remote_free(struct lk_remote *r)
{
	if (r->logf)
		fclose(r->logf);
	if (r->textf)
		fclose(r->textf);
	r->logf = r->textf = NULL;
	free(r->log);
	free(r->text);
	r->log = r->text = NULL;
}

/* One entry of the log: the status is filled in later for started
 * commands, so entries are written when a command ends (or starts, in a
 * dry run). status < 0: null. */
static void log_cmd(struct lk_remote *r, const struct lk_host *h, enum lk_role role,
		    const char *cmd, uint64_t t_ns, int status)
{
	if (r->textf) {
		fprintf(r->textf, "%s (%s): %s\n", lk_role_name(role), h->dest, cmd);
		fflush(r->textf);
	}
	if (!r->logf)
		return;
	fprintf(r->logf, "%s{\"host\":", r->nlog++ ? "," : "");
	lk_json_str(r->logf, lk_role_name(role));
	fputs(",\"dest\":", r->logf);
	lk_json_str(r->logf, h->dest);
	fputs(",\"cmd\":", r->logf);
	lk_json_str(r->logf, cmd);
	fprintf(r->logf, ",\"t_ns\":%" PRIu64 ",\"exit\":", t_ns);
	if (status >= 0)
		fprintf(r->logf, "%d}", status);
	else
		fputs("null}", r->logf);
	fflush(r->logf);
}

static const struct lk_host *host_of(const struct lk_remote *r, enum lk_role role)
{
	return &r->hosts->role[role];
}

static int exit_of(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void last_line(const char *path, char *out, size_t n)
{
	out[0] = 0;
	size_t len;
	char *t = lk_file_read(path, 1 << 20, &len, NULL);
	if (!t)
		return;
	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
		t[--len] = 0;
	char *l = strrchr(t, '\n');
	snprintf(out, n, "%s", l ? l + 1 : t);
	free(t);
}

void lk_remote_err_line(const struct lk_rcmd *c, char *out, size_t n)
{
	last_line(c->err, out, n);
}

static void mark_lost(struct lk_remote *r, enum lk_role role, const char *errfile)
{
	char line[300];
	last_line(errfile, line, sizeof line);
	if (!r->lost)
		snprintf(r->lost_msg, sizeof r->lost_msg, "ssh to %s (%s) failed: %s",
			 lk_role_name(role), host_of(r, role)->dest, line[0] ? line : "exit 255");
	r->lost = true;
}

/* Spawn ssh for shell command cmd on role's host; stdin from in_fd (-1:
 * /dev/null), stdout/stderr to files. */
static pid_t spawn_ssh(struct lk_remote *r, enum lk_role role, const char *cmd, int in_fd,
		       const char *out, const char *err, struct lk_err *e)
{
	const char *argv[LK_HOST_SSH_ARGV];
	lk_host_ssh_argv(host_of(r, role), cmd, argv);
	/* its own session: a Ctrl-C at the terminal reaches us, not ssh (we stop
	   the remote commands ourselves and put the offloads back); and it dies
	   with us, so a killed lrokit leaves no remote command running */
	struct lk_spawn_opts so = {.cpu = -1, .stdin_null = in_fd < 0, .stdin_fd = in_fd,
				   .stdout_path = out, .stderr_path = err, .new_session = true,
				   .die_with_parent = true};
	return lk_spawn((char *const *)argv, &so, e);
}

static void out_paths(struct lk_remote *r, enum lk_role role, const char *name, char *out,
		      char *err, size_t n)
{
	r->seq++;
	snprintf(out, n, "%s/%03d-%s-%s.out", r->dir, r->seq, lk_role_name(role), name);
	snprintf(err, n, "%s/%03d-%s-%s.err", r->dir, r->seq, lk_role_name(role), name);
}

int lk_remote_run(struct lk_remote *r, enum lk_role role, const char *const argv[], char *out,
		  size_t n, int timeout_s, struct lk_err *e)
{
	char cmd[CMD_MAX], po[4200], pe[4200];
	if (out && n)
		out[0] = 0;
	if (lk_sh_join(argv, cmd, sizeof cmd) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: command too long", argv[0]);
	uint64_t t0 = lk_real_ns();
	if (r->dry) {
		log_cmd(r, host_of(r, role), role, cmd, t0, -1);
		return 0;
	}
	if (stopped(r))
		return lk_errf(e, LK_EXIT_RUNTIME, "stopped");
	out_paths(r, role, argv[0][0] == '/' ? "cmd" : argv[0], po, pe, sizeof po);
	pid_t pid = spawn_ssh(r, role, cmd, -1, po, pe, e);
	if (pid < 0)
		return -1;
	int st = 0;
	uint64_t deadline = lk_mono_ns() + (uint64_t)timeout_s * 1000000000ull;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (stopped(r) || lk_mono_ns() > deadline) {
			kill(pid, SIGTERM);
			waitpid(pid, &st, 0);
			log_cmd(r, host_of(r, role), role, cmd, t0, exit_of(st));
			return lk_errf(e, LK_EXIT_RUNTIME, "%s on %s: %s", argv[0], lk_role_name(role),
				       stopped(r) ? "stopped" : "timed out");
		}
		sleep_ms(20);
	}
	int rc = exit_of(st);
	log_cmd(r, host_of(r, role), role, cmd, t0, rc);
	if (out && n) {
		size_t len;
		char *t = lk_file_read(po, 16 << 20, &len, NULL);
		if (t) {
			snprintf(out, n, "%s", t);
			free(t);
		}
	}
	if (rc == 255) {
		mark_lost(r, role, pe);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s", r->lost_msg);
	}
	return rc;
}

int lk_remote_start(struct lk_remote *r, enum lk_role role, const char *name,
		    const char *const argv[], const char *stdout_path, struct lk_rcmd *c,
		    struct lk_err *e)
{
	char cmd[CMD_MAX], wrapped[CMD_MAX + 512];
	memset(c, 0, sizeof *c);
	c->pid = -1;
	c->in_fd = -1;
	c->role = role;
	if (lk_sh_join(argv, cmd, sizeof cmd) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: command too long", argv[0]);
	if (r->dry) {
		log_cmd(r, host_of(r, role), role, cmd, lk_real_ns(), -1);
		c->done = true;
		return 0;
	}
	/* The command in the background (stdin /dev/null, without the session's
	   stdin on fd 3); a watcher reads the session's stdin and kills it at
	   EOF: when we close our end, or the connection drops. */
	snprintf(wrapped, sizeof wrapped,
		 "exec 3<&0 </dev/null; %s 3<&- 4>&1 & p=$!; { read x <&3; kill $p 2>/dev/null; } & "
		 "w=$!; wait $p; rc=$?; kill $w 2>/dev/null; exit $rc", cmd);
	out_paths(r, role, name, c->out, c->err, sizeof c->out);
	if (stdout_path)
		snprintf(c->out, sizeof c->out, "%s", stdout_path);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "pipe: %s", strerror(errno));
	c->pid = spawn_ssh(r, role, wrapped, p[0], c->out, c->err, e);
	close(p[0]);
	if (c->pid < 0) {
		close(p[1]);
		return -1;
	}
	c->in_fd = p[1];
	/* the log shows the command itself; the wrapper is always the same */
	log_cmd(r, host_of(r, role), role, cmd, lk_real_ns(), -1);
	return 0;
}

bool lk_remote_poll(struct lk_remote *r, struct lk_rcmd *c)
{
	if (c->done || c->pid < 0)
		return true;
	int st;
	pid_t w = waitpid(c->pid, &st, WNOHANG);
	if (w != c->pid)
		return false;
	c->done = true;
	c->status = exit_of(st);
	if (c->in_fd >= 0)
		close(c->in_fd);
	c->in_fd = -1;
	if (c->status == 255)
		mark_lost(r, c->role, c->err);
	return true;
}

int lk_remote_wait(struct lk_remote *r, struct lk_rcmd *c, int timeout_ms)
{
	uint64_t deadline = lk_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	while (!lk_remote_poll(r, c)) {
		if (stopped(r) || r->lost || lk_mono_ns() > deadline)
			return -1;
		sleep_ms(20);
	}
	return 0;
}

int lk_remote_wait_ready(struct lk_remote *r, struct lk_rcmd *c, bool in_stdout,
			 const char *needle, int timeout_ms, struct lk_err *e)
{
	if (r->dry)
		return 0;
	uint64_t deadline = lk_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		size_t len;
		char *t = lk_file_read(in_stdout ? c->out : c->err, 1 << 20, &len, NULL);
		bool found = t && (in_stdout ? !strncmp(t, needle, strlen(needle)) : !!strstr(t, needle));
		free(t);
		if (found)
			return 0;
		if (lk_remote_poll(r, c)) {
			char line[300];
			lk_remote_err_line(c, line, sizeof line);
			if (r->lost)
				return lk_errf(e, LK_EXIT_RUNTIME, "%s", r->lost_msg);
			return lk_errf(e, LK_EXIT_RUNTIME, "on %s: ended (exit %d) before it was ready: %s",
				       lk_role_name(c->role), c->status, line[0] ? line : "no message");
		}
		if (r->lost)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s", r->lost_msg);
		if (stopped(r))
			return lk_errf(e, LK_EXIT_RUNTIME, "stopped");
		if (lk_mono_ns() > deadline)
			return lk_errf(e, LK_EXIT_RUNTIME, "on %s: not ready after %d s",
				       lk_role_name(c->role), timeout_ms / 1000);
		sleep_ms(20);
	}
}

void lk_remote_stop(struct lk_remote *r, struct lk_rcmd *c, int grace_ms)
{
	if (c->done || c->pid < 0)
		return;
	if (c->in_fd >= 0)
		close(c->in_fd);
	c->in_fd = -1;
	uint64_t deadline = lk_mono_ns() + (uint64_t)grace_ms * 1000000ull;
	while (!lk_remote_poll(r, c)) {
		if (lk_mono_ns() > deadline) {
			kill(c->pid, SIGTERM);
			int st;
			waitpid(c->pid, &st, 0);
			c->done = true;
			c->status = exit_of(st);
			return;
		}
		sleep_ms(20);
	}
}

/* ---- offloads ---- */

/* "NAME: on|off [fixed]" */
static void feature(const char *text, const char *name, bool *have, bool *on, bool *fixed)
{
	char key[64];
	snprintf(key, sizeof key, "\n%s:", name);
	const char *p = strstr(text, key);
	if (!p && !strncmp(text, key + 1, strlen(key + 1)))
		p = text - 1;
	if (!p)
		return;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	*have = true;
	*on = !strncmp(p, "on", 2);
	const char *nl = strchr(p, '\n');
	size_t n = nl ? (size_t)(nl - p) : strlen(p);
	*fixed = memmem(p, n, "[fixed]", 7) != NULL;
}

int lk_offloads_parse(const char *text, struct lk_offloads *o, struct lk_err *e)
{
	memset(o, 0, sizeof *o);
	feature(text, "generic-receive-offload", &o->have_gro, &o->gro, &o->gro_fixed);
	feature(text, "large-receive-offload", &o->have_lro, &o->lro, &o->lro_fixed);
	if (!o->have_gro && !o->have_lro)
		return lk_errf(e, LK_EXIT_RUNTIME, "ethtool -k output without generic- or "
			       "large-receive-offload");
	return 0;
}

/* ---- the journal of pending restores ---- */

/* "ROLE\tIFACE\tFEATURE\tVALUE\tDEST\tOPT..." */
static void journal_line(const struct lk_host *h, const struct lk_change *c, char *out, size_t n)
{
	size_t o = (size_t)snprintf(out, n, "%s\t%s\t%s\t%s\t%s", lk_role_name(c->role), c->iface,
				    c->feature, c->value, h->dest);
	for (int i = 0; i < h->nopts && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "\t%s", h->opts[i]);
}

static int journal_append(const char *path, const char *line, struct lk_err *e)
{
	FILE *f = fopen(path, "a");
	if (!f)
		return lk_errf(e, LK_EXIT_RUNTIME, "journal of pending restores %s: %s", path,
			       strerror(errno));
	fprintf(f, "%s\n", line);
	int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
	if (fclose(f) != 0 || rc < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "writing %s: %s", path, strerror(errno));
	return 0;
}

/* Remove one line equal to `line` (the first). */
static int journal_remove(const char *path, const char *line, struct lk_err *e)
{
	size_t len;
	char *t = lk_file_read(path, 16 << 20, &len, e);
	if (!t)
		return -1;
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		free(t);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", tmp, strerror(errno));
	}
	bool removed = false;
	for (char *s = NULL, *l = strtok_r(t, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
		if (!removed && !strcmp(l, line)) {
			removed = true;
			continue;
		}
		fprintf(f, "%s\n", l);
	}
	free(t);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "rewriting %s: %s", path, strerror(errno));
	return 0;
}

int lk_remote_set_feature(struct lk_remote *r, enum lk_role role, const char *iface,
			  const char *feature_name, const char *value, const char *orig,
			  struct lk_err *e)
{
	if (!strcmp(orig, value))
		return 0;
	if (r->nchanges == LK_REMOTE_MAXCHANGES)
		return lk_errf(e, LK_EXIT_RUNTIME, "too many offload changes");
	struct lk_change *c = &r->changes[r->nchanges];
	*c = (struct lk_change){.role = role};
	snprintf(c->iface, sizeof c->iface, "%s", iface);
	snprintf(c->feature, sizeof c->feature, "%s", feature_name);
	snprintf(c->value, sizeof c->value, "%s", orig);
	if (!r->dry) {
		char line[4600];
		journal_line(host_of(r, role), c, line, sizeof line);
		if (journal_append(r->journal, line, e) < 0)
			return -1;
	}
	r->nchanges++; /* journaled: from here on it is put back, set or not */
	const char *av[] = {"ethtool", "-K", iface, feature_name, value, NULL};
	int rc = lk_remote_run(r, role, av, NULL, 0, 30, e);
	if (rc > 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "ethtool -K %s %s %s on %s failed (exit %d)", iface,
			       feature_name, value, lk_role_name(role), rc);
	return rc;
}

/* Put one change back on host h (its own ssh context). */
static int restore_one(struct lk_remote *r, enum lk_role role, const struct lk_change *c,
		       struct lk_err *e)
{
	const char *av[] = {"ethtool", "-K", c->iface, c->feature, c->value, NULL};
	int rc = lk_remote_run(r, role, av, NULL, 0, 30, e);
	if (rc > 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "ethtool -K %s %s %s on %s failed (exit %d)",
			       c->iface, c->feature, c->value, lk_role_name(role), rc);
	return rc;
}

int lk_remote_restore(struct lk_remote *r, struct lk_err *e)
{
	int left = 0;
	/* a restore must run even after Ctrl-C: ignore the stop flag here */
	volatile sig_atomic_t *stop = r->stop;
	r->stop = NULL;
	for (int i = r->nchanges - 1; i >= 0; i--) {
		struct lk_change *c = &r->changes[i];
		struct lk_err ie = {0};
		if (restore_one(r, c->role, c, &ie) < 0) {
			if (!left && e)
				*e = ie;
			left++;
			continue;
		}
		if (!r->dry) {
			char line[4600];
			journal_line(host_of(r, c->role), c, line, sizeof line);
			if (journal_remove(r->journal, line, &ie) < 0 && !left && e)
				*e = ie;
		}
		memmove(c, c + 1, (size_t)(r->nchanges - i - 1) * sizeof *c);
		r->nchanges--;
	}
	r->stop = stop;
	return left;
}

int lk_remote_restore_pending(struct lk_remote *r, int *done, struct lk_err *e)
{
	*done = 0;
	size_t len;
	errno = 0;
	char *t = lk_file_read(r->journal, 16 << 20, &len, e);
	if (!t)
		return errno == ENOENT ? 0 : -1;
	int left = 0;
	const struct lk_hosts *saved = r->hosts;
	for (char *s = NULL, *l = strtok_r(t, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
		char copy[4600], *f[5 + LK_HOST_MAXOPTS];
		int nf = 0;
		snprintf(copy, sizeof copy, "%s", l);
		for (char *s2 = NULL, *w = strtok_r(copy, "\t", &s2); w && nf < 5 + LK_HOST_MAXOPTS;
		     w = strtok_r(NULL, "\t", &s2))
			f[nf++] = w;
		int role = -1;
		for (int i = 0; nf >= 5 && i < LK_NROLES; i++)
			if (!strcmp(f[0], lk_role_name(i)))
				role = i;
		if (role < 0) {
			if (!left && e)
				lk_errf(e, LK_EXIT_RUNTIME, "%s: unreadable line '%s'", r->journal, l);
			left++;
			continue;
		}
		/* the host as the journal names it, in a context of its own */
		struct lk_hosts one;
		memset(&one, 0, sizeof one);
		struct lk_host *h = &one.role[role];
		h->present = true;
		snprintf(h->dest, sizeof h->dest, "%s", f[4]);
		for (int i = 5; i < nf; i++)
			snprintf(h->opts[h->nopts++], sizeof h->opts[0], "%s", f[i]);
		struct lk_change c = {.role = role};
		snprintf(c.iface, sizeof c.iface, "%s", f[1]);
		snprintf(c.feature, sizeof c.feature, "%s", f[2]);
		snprintf(c.value, sizeof c.value, "%s", f[3]);
		r->hosts = &one;
		struct lk_err ie = {0};
		bool lost = r->lost;
		int rc = restore_one(r, c.role, &c, &ie);
		r->lost = lost;
		r->hosts = saved;
		if (rc < 0) {
			if (!left && e)
				*e = ie;
			left++;
			continue;
		}
		if (journal_remove(r->journal, l, e) < 0) {
			free(t);
			return -1;
		}
		(*done)++;
	}
	free(t);
	return left;
}
