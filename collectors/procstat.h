/* collectors/procstat.h - CPU time from /proc/stat and /proc/PID/stat, and
 * interface counters from /proc/net/dev (read inside a network namespace).
 *
 * Parsers take the text (pure) or a root directory, so tests run on fixture
 * files: root "tests/data" reads tests/data/proc/stat; NULL or "" means "/".
 * Errors name the file and what is wrong. Nothing here prints.
 *
 * Interfaces inside a namespace: /sys/class/net shows the network namespace
 * that was current when sysfs was *mounted*, so a setns() alone does not make
 * /sys/class/net/DEV/statistics show another namespace. /proc/net/dev,
 * opened through /proc/thread-self while the thread is in the namespace, is
 * bound to that namespace for the life of the file descriptor (the kernel
 * takes the netns at open). lk_netdev_open therefore runs a short-lived
 * thread that does setns(CLONE_NEWNET) on the namespace (lk_netns_open of
 * lib/proc.h), opens /proc/thread-self/net/dev and exits; the returned fd is
 * then re-read (lseek 0 + read) every sample from any thread, with no fork and no
 * namespace switch on the sampling path, and the caller's own namespace is
 * never touched.
 */
#ifndef LK_COLL_PROCSTAT_H
#define LK_COLL_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/proc.h" /* lk_netns_open, also for collectors/capture.c */

/* Clock ticks per second of /proc/stat and /proc/PID/stat (USER_HZ). */
long lk_procstat_clk_tck(void);

/* One "cpuN" line of /proc/stat, in clock ticks. */
struct lk_cpustat {
	int cpu;    /* N of "cpuN"; -1 for the "cpu" total line */
	int ncols;  /* columns present (old kernels lack steal, guest...) */
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice;
};

/* Busy ticks: user + nice + system + irq + softirq (guest time is already in
 * user; steal and iowait are not this CPU's work). */
uint64_t lk_cpustat_busy(const struct lk_cpustat *c);

/* Parse /proc/stat text: fills out[] with the total line then every cpuN
 * line, *n = lines stored. `what` names the source in errors. -1 when no
 * cpu line, a malformed cpu line, or more than max lines. */
int lk_procstat_parse_cpus(const char *text, const char *what, struct lk_cpustat *out, int max,
			   int *n, struct lk_err *e);
int lk_procstat_read_cpus(const char *root, struct lk_cpustat *out, int max, int *n,
			  struct lk_err *e);

/* The fields of /proc/PID/stat we use (times in clock ticks). */
struct lk_pidstat {
	int pid;
	char comm[64];
	char state;
	uint64_t utime, stime, cutime, cstime; /* cutime/cstime: waited-for children */
	uint64_t starttime;                    /* ticks after boot */
	int processor;                         /* CPU last run on */
};

/* Parse one /proc/PID/stat line (comm may hold spaces and parentheses). */
int lk_procstat_parse_pid(const char *text, const char *what, struct lk_pidstat *out,
			  struct lk_err *e);
/* Read ROOT/proc/PID/stat (PID 0 = self). -1 with code LK_EXIT_RUNTIME and
 * "no such process" when it is gone. */
int lk_procstat_read_pid(const char *root, int pid, struct lk_pidstat *out, struct lk_err *e);

/* Interface counters of one /proc/net/dev line. */
struct lk_ifstat {
	char name[32];
	uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
	uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
};

/* Parse /proc/net/dev text (two header lines, then "name: 16 numbers"). */
int lk_netdev_parse(const char *text, const char *what, struct lk_ifstat *out, int max, int *n,
		    struct lk_err *e);
/* Find an interface in a parsed table; NULL if absent. */
const struct lk_ifstat *lk_netdev_find(const struct lk_ifstat *t, int n, const char *name);
/* Read a /proc/net/dev-format file (fixtures, or ROOT/proc/net/dev). */
int lk_netdev_read_file(const char *path, struct lk_ifstat *out, int max, int *n, struct lk_err *e);

/* Open /proc/net/dev of namespace `netns` (a name under LK_NETNS_DIR, an
 * absolute path to a netns file, or NULL for the caller's namespace); see
 * the header comment. Returns an fd (close it with close()) or -1. */
int lk_netdev_open(const char *netns, struct lk_err *e);
/* Re-read an fd from lk_netdev_open; `what` names it in errors. */
int lk_netdev_read_fd(int fd, const char *what, struct lk_ifstat *out, int max, int *n,
		      struct lk_err *e);

/* A cumulative counter followed across samples. A value lower than the
 * previous one is a reset (interface re-created, driver reset, 32-bit wrap):
 * the counter restarted from zero, so the increase since the reset is the new
 * value itself; it is added and the reset counted. */
struct lk_ctr {
	uint64_t first, last, delta;
	unsigned resets;
	unsigned nsamples;
};
void lk_ctr_add(struct lk_ctr *c, uint64_t v);

#endif
