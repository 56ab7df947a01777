/* testbed/remote.h - commands on remote hosts over OpenSSH, their log, and
 * receive offloads changed there and always put back.
 *
 * Every remote command is one `ssh DEST -- CMD` child process (argv from
 * testbed/hosts.h: the user's ssh config applies, BatchMode, keep-alives
 * every 2 s). Each is logged (role, destination, command, exit status,
 * start time) in lk_remote.log as a JSON array, which the run record keeps.
 *
 * Long-running commands (captures, collectors, recv, send) are started
 * wrapped: the remote shell runs CMD in the background and a watcher that
 * reads the ssh session's stdin; when we close our end of that pipe, or
 * the connection drops, the watcher kills CMD. CMD's fd 4 is its stdout
 * (for `lrokit recv --ready-fd 4`: the readiness byte 'L' comes first). So a stopped run, a Ctrl-C
 * or a lost connection leaves nothing running on the remote host.
 *
 * ssh's own failures (exit 255: cannot connect, connection lost) set
 * lk_remote.lost and are told apart from the remote command's exit status.
 *
 * Offloads: lk_offloads_parse reads `ethtool -k` output. Before changing a
 * feature, lk_remote_set_feature writes the original value to the journal
 * of pending restores (a local file, one line per feature: iface, feature,
 * original value, ssh destination and options); lk_remote_restore puts
 * back what it changed and removes the lines that were restored; what
 * could not be restored (host unreachable) stays in the journal, and
 * lk_remote_restore_pending applies it on the next contact.
 *
 * In dry-run mode (lk_remote.dry) nothing runs: every command is logged
 * as it would be run, with exit status null, and succeeds with no output.
 * Nothing here prints.
 */
#ifndef LK_TESTBED_REMOTE_H
#define LK_TESTBED_REMOTE_H

#include "lib/err.h"
#include "testbed/hosts.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define LK_REMOTE_MAXCHANGES 16

/* One feature changed on a host, to be put back. */
struct lk_change {
	enum lk_role role;
	char iface[64], feature[32], value[8]; /* value: the original, "on"/"off" */
};

struct lk_remote {
	const struct lk_hosts *hosts;
	const char *dir;        /* local folder for remote commands' stdout/stderr files */
	const char *journal;    /* the file of pending restores */
	bool dry;
	volatile sig_atomic_t *stop; /* set by the caller's signal handler; may be NULL */
	bool lost;              /* an ssh connection failed or dropped */
	char lost_msg[400];
	int seq;                /* numbers the output files */
	FILE *logf;             /* the JSON array being written */
	char *log;              /* its text (after lk_remote_log_end) */
	size_t log_len;
	FILE *textf;            /* the same as lines "ROLE (DEST): CMD" */
	char *text;
	size_t text_len;
	int nlog;
	struct lk_change changes[LK_REMOTE_MAXCHANGES];
	int nchanges;
};

/* A started (wrapped) remote command. */
struct lk_rcmd {
	pid_t pid;              /* the local ssh process, -1 none */
	int in_fd;              /* our end of its stdin: closing it stops the command */
	enum lk_role role;
	int status;             /* exit status once done: ssh's (255) or the command's */
	bool done;
	char out[4200], err[4200]; /* local files of its stdout and stderr */
};

/* Start a new log (resets nlog; a previous one is freed). */
int lk_remote_log_begin(struct lk_remote *r, struct lk_err *e);
/* Close the JSON array; r->log holds it, r->text the same commands one a
 * line (free with lk_remote_free). */
void lk_remote_log_end(struct lk_remote *r);
void lk_remote_free(struct lk_remote *r);

/* Run argv on the host of role and wait (at most timeout_s). Its stdout
 * goes to out (n bytes, NUL-terminated, may be NULL). Returns the remote
 * exit status (0..254), or -1 with e filled when ssh failed (r->lost set)
 * or the run was stopped. */
int lk_remote_run(struct lk_remote *r, enum lk_role role, const char *const argv[], char *out,
		  size_t n, int timeout_s, struct lk_err *e);

/* Start argv wrapped (see above) on the host of role; `name` names its
 * local output files (DIR/NNN-ROLE-NAME.out/.err); stdout_path: the
 * command's stdout goes there instead (e.g. a capture file). */
int lk_remote_start(struct lk_remote *r, enum lk_role role, const char *name,
		    const char *const argv[], const char *stdout_path, struct lk_rcmd *c,
		    struct lk_err *e);
/* Reap c if it has exited (non-blocking); true when done. Updates the log
 * and r->lost when ssh failed. */
bool lk_remote_poll(struct lk_remote *r, struct lk_rcmd *c);
/* Wait until c is done, at most timeout_ms, or until r->stop / r->lost.
 * 0 when done. */
int lk_remote_wait(struct lk_remote *r, struct lk_rcmd *c, int timeout_ms);
/* Wait until c is ready: its stdout file starts with `needle` (in_stdout)
 * or its stderr file holds it (e.g. tcpdump's "listening on"), at most
 * timeout_ms; -1 (e filled) when c ended first, on timeout, on stop or
 * when a connection was lost. */
int lk_remote_wait_ready(struct lk_remote *r, struct lk_rcmd *c, bool in_stdout,
			 const char *needle, int timeout_ms, struct lk_err *e);
/* Stop c: close its stdin (the remote command is killed), wait up to
 * grace_ms for ssh to end, then kill ssh. */
void lk_remote_stop(struct lk_remote *r, struct lk_rcmd *c, int grace_ms);
/* The last non-empty line of c's stderr file, "" none. */
void lk_remote_err_line(const struct lk_rcmd *c, char *out, size_t n);

/* `ethtool -k` features we change. */
struct lk_offloads {
	bool have_gro, gro, gro_fixed;
	bool have_lro, lro, lro_fixed;
};
int lk_offloads_parse(const char *text, struct lk_offloads *o, struct lk_err *e);

/* Set feature ("gro" or "lro") of iface on the host of role to value
 * ("on"/"off"), the original being `orig`: journal first, then
 * `ethtool -K`. Nothing happens when orig == value. */
int lk_remote_set_feature(struct lk_remote *r, enum lk_role role, const char *iface,
			  const char *feature, const char *value, const char *orig,
			  struct lk_err *e);
/* Put back everything changed (newest first); each restored one leaves the
 * journal. Returns how many could not be restored (they stay journaled). */
int lk_remote_restore(struct lk_remote *r, struct lk_err *e);
/* Apply the journal's pending restores (a previous run that lost its
 * connection or was killed); lines restored are removed. Returns how many
 * remain, -1 when the journal cannot be read or written. *done counts the
 * restored ones. */
int lk_remote_restore_pending(struct lk_remote *r, int *done, struct lk_err *e);

#endif
