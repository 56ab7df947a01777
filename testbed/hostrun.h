/* testbed/hostrun.h - the benchmark on real machines over ssh: the
 * configurations of `lrokit bench --hosts`, the hosts' check, and one run.
 *
 * Configurations (what each sets with `ethtool -K` on which host; every
 * change is put back afterwards, testbed/remote.h):
 *   plain hosts  native      receiver: gro off, lro off
 *                native-gro  receiver: gro on, lro off
 *                native-lro  receiver: lro on, gro off (only where `ethtool -k`
 *                            shows large-receive-offload not [fixed])
 *   Xen host     xen         dom0's NIC and the guest's netfront: gro off, lro off
 *                lro-phys    dom0's NIC: gro on, lro on where it can; guest: off
 *                lro-virt    dom0's NIC: off; the guest's netfront: gro on
 *
 * The check (lk_hosts_check) runs on every host: `LROKIT --version`, the
 * effective capabilities (root, or CAP_NET_ADMIN and CAP_NET_RAW: ethtool
 * -K and tcpdump), `ip -o link show dev IFACE`; and records the facts the
 * run keeps: uname -r and -n, the CPU model, ethtool -i, -k, -c and -g.
 * lk_hosts_check_xen: a Xen host's dom0 must show "control_d" in
 * /proc/xen/capabilities (asked first, so that a machine without Xen is
 * refused with one line).
 *
 * One run (lk_hostrun): a `runs` row ('running'), the offloads set, a
 * tcpdump on the sender's and the receiver's interface (and dom0's on
 * Xen) streamed back over ssh into the local capture folder, `lrokit
 * collect` on every host, `lrokit recv` on the receiver (guest) and `lrokit
 * send` on the sender to the receiver's address; then everything stopped,
 * the offloads put back, and the record written: status ok|failed|aborted
 * (aborted: a lost ssh connection or the stop flag), goodput and bytes from
 * the receiver, the LRO rate (the sender's Tcp OutSegs / the receiver's
 * Ip InReceives, both from `lrokit collect`, deltas over the run: on real
 * hosts other traffic, ssh's own included, counts too), every collector
 * line as a sample (key "ROLE:KEY"), the interfaces' and TCP/IP counters'
 * deltas as counters, the per-process CPU that `lrokit recv --json` and
 * `lrokit send --json` report of themselves (lk_selfcpu below: counters
 * "receiver" -- "domU/receiver" in a Xen guest -- and "sender", events
 * task-clock, cycles, instructions, rusage_cpu_ns; NULL with the reason
 * where the PMU or permissions refuse), runs.params with the hosts' facts, the offload
 * changes and every remote command (testbed/remote.h's log); then the
 * captures ingested with the same analyzers as a local run.
 * Nothing here prints: problems go to res->error and res->notes.
 */
#ifndef LK_TESTBED_HOSTRUN_H
#define LK_TESTBED_HOSTRUN_H

#include "lib/err.h"
#include "testbed/hosts.h"
#include "testbed/remote.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct lk_hostset {
	enum lk_role role;
	const char *feature;    /* "gro" | "lro" */
	const char *value;      /* "on" | "off" */
	bool required;          /* the configuration is impossible when it cannot be set */
};

struct lk_hostcfg {
	const char *name;
	bool xen;
	const char *desc;
	struct lk_hostset set[4];
	int nset;
};

extern const struct lk_hostcfg lk_hostcfgs[];
#define LK_NHOSTCFGS 6
const struct lk_hostcfg *lk_hostcfg_find(const char *name);

/* What the check found on one host. */
struct lk_host_facts {
	bool checked;
	char version[128], kernel[128], hostname[128], cpu[256];
	char ethtool_i[2048], ethtool_k[8192], ethtool_c[4096], ethtool_g[2048];
	struct lk_offloads off;
	bool have_off;
};

/* Check every host and fill facts[role]. Each problem is one line in
 * problems (n bytes); returns how many. With r->dry the commands are only
 * logged and nothing is judged (returns 0). */
int lk_hosts_check(struct lk_remote *r, struct lk_host_facts facts[LK_NROLES], char *problems,
		   size_t n);

/* 0 when dom0 is a Xen dom0 (or r->dry), else -1 with why (one line). */
int lk_hosts_check_xen(struct lk_remote *r, char *why, size_t n);

/* Whether cfg can run on these hosts: false with why (one line) when a
 * required feature is [fixed] at another value or missing. */
bool lk_hostcfg_possible(const struct lk_hostcfg *cfg, const struct lk_host_facts *facts,
			 bool dry, char *why, size_t n);

struct lk_hostrun_opts {
	const struct lk_hostcfg *cfg;
	const struct lk_host_facts *facts; /* [LK_NROLES], from lk_hosts_check */
	struct lk_remote *remote;          /* hosts, output folder, journal, stop flag */
	uint64_t bytes;
	const char *db;
	const char *capture_dir;           /* local: the captures come here */
	const char *cmdline, *bench_id, *hosts_file;
	int repeat;
	const char *port;                  /* NULL: lrokit's default */
	int timeout_s;                     /* for the transfer; 0: 600 */
};

struct lk_hostrun_result {
	int64_t run_id;
	const char *status;                /* ok | failed | aborted */
	char error[600];
	char notes[1024];                  /* warnings, "; "-separated */
	uint64_t bytes;
	double goodput_bps, lro_rate;      /* NaN unknown */
	int captures;                      /* ingested */
	int restore_left;                  /* offload changes still journaled */
};

/* 0 when a run record was written (res->status says how the run went), -1
 * when none could be (e filled). With the remote's dry flag nothing runs
 * and no record is written: the remote's log holds the commands. */
int lk_hostrun(const struct lk_hostrun_opts *o, struct lk_hostrun_result *res, struct lk_err *e);

/* The CPU of the calling process, for `lrokit recv --json` and `lrokit
 * send --json` (what lk_hostrun stores per process, like an emulated run's
 * collectors do): task-clock, cycles and instructions of this process's
 * threads through collectors/perf.h, and getrusage's user + system time,
 * from lk_selfcpu_start to lk_selfcpu_stop. An event that cannot be
 * counted (no PMU, perf_event_paranoid) is null in the JSON with its
 * reason; that is not an error. */
struct lk_perf_evlist;
struct lk_selfcpu {
	struct lk_perf_evlist *el;
	char open_err[560];       /* why nothing could be opened ("" opened) */
	double ru0_ns, ru_ns;     /* getrusage user + system at start / the difference at stop */
	bool stopped;
};
/* Never fails: what cannot be counted says why in the JSON. */
void lk_selfcpu_start(struct lk_selfcpu *s);
void lk_selfcpu_stop(struct lk_selfcpu *s);
/* ,"cpu":{"task-clock":NS,"cycles":N|null,"instructions":N|null,
 * "rusage_cpu_ns":NS,"why":{"cycles":"REASON",...}} (after lk_selfcpu_stop). */
void lk_selfcpu_json(FILE *f, const struct lk_selfcpu *s);
void lk_selfcpu_free(struct lk_selfcpu *s);

#endif
