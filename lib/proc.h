/* lib/proc.h - child processes, PATH lookup and named network namespaces.
 *
 * The one fork/exec helper (lk_spawn) and the one PATH lookup (lk_which) of
 * lrokit. The testbed drives iproute2 (`ip`, `tc`) and `ethtool` as child
 * processes (lk_cmd) instead of speaking rtnetlink/ethtool-netlink itself:
 * those tools are required dependencies anyway, each step is one readable
 * command line that can be replayed by hand (`lrokit testbed up` prints
 * nothing magic), and a failing step reports the tool's own error message.
 * Setup costs a few tens of milliseconds, nothing against a transfer.
 *
 * Named network namespaces are the files iproute2 keeps in LK_NETNS_DIR
 * (`ip netns add NAME`); every C file that opens one goes through
 * lk_netns_open.
 */
#ifndef LK_PROC_H
#define LK_PROC_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* iproute2's directory of named network namespaces (/var/run/netns is a
 * link to it on every current distribution). */
#define LK_NETNS_DIR "/run/netns"

/* Find an executable: each directory of $PATH (unset: /usr/local/bin,
 * /usr/bin, /bin), then /usr/local/sbin, /usr/sbin and /sbin (where ip, tc
 * and ethtool live, absent from many users' PATH). A name with a '/' is
 * taken as it is. Only executable regular files count. 0 with the full path
 * in out, -1 when not found. */
int lk_which(const char *prog, char *out, size_t n);

/* Run a command (argv[0] found by lk_which) with stdin and stdout on
 * /dev/null and wait for it. Returns 0 when it exits 0; otherwise fills e
 * with the command and its last stderr line (LK_EXIT_MISSING when the
 * program is not there). */
int lk_cmd(struct lk_err *e, const char *const argv[]);
/* Run a command and capture its stdout (NUL-terminated, truncated to n-1). */
int lk_cmd_out(struct lk_err *e, const char *const argv[], char *out, size_t n);
/* lk_cmd with a NULL-terminated argument list. */
int lk_cmdl(struct lk_err *e, const char *arg0, ...) __attribute__((sentinel));

struct lk_spawn_opts {
	const char *exe;         /* the program file; NULL: argv[0] found by lk_which */
	const char *netns;       /* enter this named namespace (lk_netns_open) */
	int cpu;                 /* pin to this CPU; -1 = no pinning (0 is CPU 0) */
	bool die_with_parent;    /* PR_SET_PDEATHSIG(SIGKILL) */
	bool new_session;        /* setsid(): survives the launcher's terminal */
	bool stdin_null;         /* stdin from /dev/null (else inherited) */
	int stdin_fd;            /* > 2: this fd becomes stdin (over stdin_null) */
	const char *cwd;         /* change to this directory (NULL: stay) */
	const char *stdout_path; /* NULL = inherit, "" = /dev/null */
	const char *stderr_path;
	bool append;             /* open the paths for appending (else truncate) */
	int stdout_fd, stderr_fd; /* > 2: this fd becomes stdout/stderr (over the path) */
	const int *keep_fds;     /* fds to pass across exec (CLOEXEC cleared) */
	int n_keep;
	const char *env_name;    /* set env_name=env_value in the child's environment */
	const char *env_value;
};

/* fork + exec (o->exe, or argv[0] found by lk_which) with signals at their
 * defaults and an empty signal mask; returns the child's pid or -1. */
pid_t lk_spawn(char *const argv[], const struct lk_spawn_opts *o, struct lk_err *e);

/* Path of the running executable (for launching our own subcommands). */
int lk_self_exe(char *buf, size_t n, struct lk_err *e);

/* Open the namespace file of `name` (a name under LK_NETNS_DIR or an
 * absolute path), for setns(CLONE_NEWNET): an O_CLOEXEC fd, or -1 with
 * errno set. */
int lk_netns_open(const char *name);
/* Move the calling thread into the named namespace. If saved is non-NULL it
 * gets an fd of the previous namespace for lk_netns_return(). */
int lk_netns_enter(const char *name, int *saved, struct lk_err *e);
int lk_netns_return(int saved);
bool lk_netns_exists(const char *name);
/* Send sig to every process whose network namespace is the named one.
 * Returns how many were signalled. */
int lk_netns_kill(const char *name, int sig);
/* Kill every process of the namespace (TERM, then KILL after grace_ms) and
 * delete it. Returns 0 if it is gone afterwards. */
int lk_netns_destroy(const char *name, int grace_ms, struct lk_err *e);

#endif
