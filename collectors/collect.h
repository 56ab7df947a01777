/* collectors/collect.h - one collection session around a transfer: CPU
 * counters, /proc and interface statistics, xenstat, packet captures and the
 * sender's TCP_INFO, written to the run's rows in the database.
 *
 * One session, as a measured run uses it (tests/t-coll-collect.c does the
 * same by hand):
 *   struct lk_coll_cfg cfg = { .dir = dir_of_db, .run_id = id };
 *   struct lk_coll *c = lk_coll_start(&cfg, &e);          // starts the 100 ms sampler
 *   lk_coll_add_component(c, "sender", pid, 0, &e);       // perf (with inherit) + /proc/PID/stat
 *   lk_coll_add_component(c, "domU/receiver", pid2, 1, &e);
 *   lk_coll_add_iface(c, "sender:eth0", "lkns-a", "eth0", &e);
 *   lk_coll_add_capture(c, "sender", "lkns-a", "eth0", "tcp port 5301", &e);
 *   ... transfer ...
 *   lk_coll_tcpinfo(c, t_ns, "cwnd", 10);                 // a sample of the sender's TCP_INFO
 *   lk_coll_finish(c);                                    // final readings, captures stopped
 *   ... testbed torn down ...
 *   lk_coll_stop(c, db, run_id, &sum, &e);                // writes rows, ingests the pcaps, frees c
 * or lk_coll_abort(c) to discard everything (failed run).
 *
 * Rows written (docs/design.md, Database; every column in schema/migrations.c):
 *  counters (component, event, value, unit, source, note):
 *   - each component: perf cycles, instructions (source pmu; NULL + reason
 *     when the PMU refuses them, the note naming the software fallback),
 *     task-clock, context-switches, cpu-migrations, page-faults (source sw);
 *     utime_ns, stime_ns, cpu_ns from /proc/PID/stat, pinned_cpu, pid
 *     (procstat);
 *   - "cpuN" for every CPU: user_ns nice_ns system_ns idle_ns iowait_ns irq_ns
 *     softirq_ns steal_ns guest_ns busy_ns (procstat, /proc/stat deltas;
 *     NULL when the kernel lacks the column), cycles and instructions counted
 *     per CPU system-wide (pmu; NULL + reason here);
 *   - "run": wall_ns (collection window), ncpus, clk_tck, interval_ms
 *     (procstat);
 *   - each interface LABEL: rx/tx bytes, packets, errs, drops deltas (iface);
 *     counter resets are handled (see lk_ctr) and noted;
 *   - xenstat rows (see xenstat.h) or ONE row component "xen", event
 *     "xenstat", value NULL, note "not on Xen (...)";
 *   - each capture POINT: capture_packets, capture_kernel_drops,
 *     capture_if_drops (pcap); the note says "DROPS" when drops > 0.
 *  samples (t_ns = CLOCK_REALTIME ns, source, key, value) every interval:
 *   procstat "cpuN.<field>_ns", "COMP.utime_ns"/"COMP.stime_ns"; iface
 *   "LABEL.rx_bytes" ...; xenstat keys; tcpinfo keys as given.
 *  captures: one row per pcap through the analyze path (lk_analyze_file of
 *   analyzers/analyze.h: captures, flows, packets rows), with
 *   drops from pcap_stats. The pcaps stay in cfg.dir.
 * Nothing here prints.
 */
#ifndef LK_COLL_COLLECT_H
#define LK_COLL_COLLECT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

struct lk_coll_cfg {
	const char *dir;        /* where pcap files go (beside the DB); NULL = "." */
	int64_t run_id;         /* used in pcap file names ("run<ID>-<point>.pcap"); 0 = time-based */
	int interval_ms;        /* sampling period; 0 = 100 */
	bool no_perf, no_procstat, no_xenstat, no_capture; /* switch parts off */
	bool pin_capture;       /* pin capture threads to capture_cpu */
	int capture_cpu;
	int snaplen;            /* 0 = 128 */
	int capture_buffer;     /* bytes, 0 = 64 MB */
};

struct lk_coll;

/* Summary returned by lk_coll_stop (for the run record / progress line). */
struct lk_coll_summary {
	int counters, samples, captures;   /* rows written */
	uint64_t capture_drops;            /* sum of kernel drops of all captures */
	bool drops_flagged;                /* capture_drops > 0 */
	bool pmu_missing;                  /* cycles/instructions were NULL */
	bool xen;                          /* xenstat rows were recorded */
	char notes[512];                   /* e.g. "cycles: ENOENT ...; not on Xen" */
};

struct lk_coll *lk_coll_start(const struct lk_coll_cfg *cfg, struct lk_err *e);

/* Count a process (and its threads; children created later with inherit).
 * cpu = the CPU it is pinned to, -1 if not pinned. */
int lk_coll_add_component(struct lk_coll *c, const char *name, pid_t pid, int cpu,
			  struct lk_err *e);
/* Sample the counters of interface ifname in netns (NULL = ours) under label
 * (NULL = "NETNS:IFNAME"). Fails if the interface does not exist. */
int lk_coll_add_iface(struct lk_coll *c, const char *label, const char *netns, const char *ifname,
		      struct lk_err *e);
/* Start a capture at point (sender|dom0|receiver) on ifname in netns with the
 * BPF filter bpf; returns once capturing. */
int lk_coll_add_capture(struct lk_coll *c, const char *point, const char *netns,
			const char *ifname, const char *bpf, struct lk_err *e);
/* A TCP_INFO sample of the sender (t_ns: CLOCK_REALTIME ns). */
int lk_coll_tcpinfo(struct lk_coll *c, uint64_t t_ns, const char *key, double value);

/* Stop sampling, take the final readings and stop the captures, without
 * writing (call it when the transfer ends, before tearing the testbed down;
 * lk_coll_stop does it if not done). -1 if a capture loop failed (the
 * capture's counters say why). */
int lk_coll_finish(struct lk_coll *c);

/* Stop everything, write all rows for run_id in one transaction (captures are
 * ingested afterwards, each in its own transaction), fill *sum (may be NULL)
 * and free c. On error nothing of the counters/samples is left behind. */
int lk_coll_stop(struct lk_coll *c, sqlite3 *db, int64_t run_id, struct lk_coll_summary *sum,
		 struct lk_err *e);
/* Stop and discard (pcap files are removed). */
void lk_coll_abort(struct lk_coll *c);

#endif
