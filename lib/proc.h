/* lib/proc.h - processes and network namespaces for the testbed.
 *
 * The testbed drives iproute2 (`ip`, `tc`) and `ethtool` as child processes
 * instead of speaking rtnetlink/ethtool-netlink itself: those tools are
 * required dependencies anyway, their behaviour on this kernel is what the
 * field notes record, each step is one readable command line that can be
 * replayed by hand (`lrokit testbed up` prints nothing magic), and a failing
 * step reports the tool's own error message. Setup costs a few tens of
 * milliseconds, nothing against a transfer.
 */
#ifndef LK_PROC_H
#define LK_PROC_H

#include "lib/err.h"

#include <stdbool.h>
#include <sys/types.h>

/* Run a command (argv[0] searched in PATH) and wait for it. Returns 0 when it
 * exits 0; otherwise fills e with the command and its last stderr line. */
int lk_cmd(struct lk_err *e, const char *const argv[]);
/* Run a command and capture its stdout (NUL-terminated, truncated to n-1). */
int lk_cmd_out(struct lk_err *e, const char *const argv[], char *out, size_t n);
/* Same with a NULL-terminated argument list. */
int lk_cmdl(struct lk_err *e, const char *arg0, ...) __attribute__((sentinel));

struct lk_spawn_opts {
	const char *netns;      /* enter this named namespace (/var/run/netns/NAME) */
	int cpu;                /* pin to this CPU, -1 = no pinning */
	bool die_with_parent;   /* PR_SET_PDEATHSIG(SIGKILL) */
	bool new_session;       /* setsid(): survives the launcher's terminal */
	const char *stdout_path;/* NULL = inherit, "" = /dev/null */
	const char *stderr_path;
	const int *keep_fds;    /* fds to pass across exec (CLOEXEC cleared) */
	int n_keep;
};

/* fork + exec; returns the child's pid or -1. */
pid_t lk_spawn(char *const argv[], const struct lk_spawn_opts *o, struct lk_err *e);

/* Path of the running executable (for launching our own subcommands). */
int lk_self_exe(char *buf, size_t n, struct lk_err *e);

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

/* Monotonic clock in nanoseconds. */
unsigned long long lk_now_ns(void);

#endif
