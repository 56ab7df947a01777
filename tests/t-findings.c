/* reports/findings: every verdict of every claim, on hand-built databases.
 *
 * Each scenario is a fresh database made through schema/db.h (the real
 * schema and its migrations), filled with run rows, their receiver and
 * sender captures (flows with tcptrace counters, ack_classes, bwe series),
 * lro_stats and CPU counters as `lrokit run` and `lrokit analyze` write them.
 * The numbers are made up for the tests; the rules they exercise are those of
 * reports/findings.h. */
#include "reports/findings.h"
#include "reports/rmodel.h" /* the report's labels (t_mixed) */
#include "schema/db.h"
#include "tests/tap.h"

#include <math.h>
#include <stdbool.h>
#include <unistd.h>

static char dir[] = "/tmp/lkfindXXXXXX";
static int ndb;

/* One run and what its captures and counters say; 0 / NULL: not stored. */
struct trun {
	const char *cfg;
	double goodput;         /* bit/s */
	double lro_nic, lro_nf; /* lro_stats lro_rate of the nic / netfront stage */
	double lro_run;         /* runs.lro_rate */
	double segs;            /* data segments of 1448 bytes (0: no captures) */
	double acks, sacks;     /* ACKs / SACK packets sent by the receiver */
	double quick, aggr;     /* ack_classes timing_quick / timing_aggregate */
	double rexmt;           /* retransmitted data segments (sender capture) */
	double dom0, domU;      /* CPU seconds (task-clock) over the run */
	const char *capture_drops; /* runs.capture_drops */
	double rate_limit;      /* runs.rate_limit_bps, 0 none */
	const char *params;     /* runs.params (NULL: none) */
	double recv_cpu, send_cpu; /* CPU seconds of lrokit recv / send ("receiver", "sender") */
};

#define RUN(...) ((struct trun){__VA_ARGS__})

static sqlite3 *db;
static int64_t snd_flow; /* data flow of the sender capture of the last run added */

static void exec(const char *sql)
{
	struct lk_err e = {0};
	if (lk_db_exec(db, sql, "test", &e) < 0) {
		printf("# %s\n# SQL: %s\n", e.msg, sql);
		exit(1);
	}
}

static void execf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	exec(sql);
	sqlite3_free(sql);
}

static void fresh(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%d.db", dir, ++ndb);
	struct lk_err e = {0};
	if (db)
		lk_db_close(db);
	if (lk_db_open(path, &db, &e) < 0) {
		printf("# %s\n", e.msg);
		exit(1);
	}
}

/* A capture with one data flow a->b of t->segs segments; returns its flow id. */
/* a component's task-clock row (seconds of CPU; none when not positive) */
static void task_clock(int64_t run, const char *comp, double secs)
{
	if (secs > 0)
		execf("INSERT INTO counters VALUES (%lld, '%s', 'task-clock', %.17g, 'ns', 'sw', NULL)",
		      (long long)run, comp, secs * 1e9);
}

static int64_t add_capture(int64_t run, const char *point, const struct trun *t)
{
	execf("INSERT INTO captures (run_id, point, path, sha256, linktype, snaplen, packets, "
	      "tcp_packets, ingested_ns, first_ns, last_ns) VALUES (%lld, %Q, 'x.pcap', "
	      "'%lld-%s', 1, 128, 10, 10, 1, 1000000000, 9000000000)",
	      (long long)run, point, (long long)run, point);
	int64_t cap = sqlite3_last_insert_rowid(db);
	bool rcv = !strcmp(point, "receiver");
	execf("INSERT INTO flows (capture_id, idx, af, a_addr, a_port, b_addr, b_port, first_ns, "
	      "last_ns, a2b_unique_bytes, a2b_data_pkts, a2b_data_bytes, a2b_max_seg, a2b_mss, "
	      "a2b_rexmt_data_pkts, b2a_unique_bytes, b2a_ack_pkts, b2a_sack_pkts, b2a_mss, "
	      "b2a_pure_acks) VALUES (%lld, 0, 4, '10.0.0.1', 40000, '10.0.0.2', 5001, 1000000000, "
	      "9000000000, %.0f, %.0f, %.0f, 1448, 1460, %.0f, 0, %.0f, %.0f, 1460, %.0f)",
	      (long long)cap, t->segs * 1448, t->segs, t->segs * 1448, rcv ? 0 : t->rexmt, t->acks,
	      t->sacks, t->acks);
	int64_t flow = sqlite3_last_insert_rowid(db);
	if (rcv && t->quick > 0)
		execf("INSERT INTO ack_classes VALUES (%lld, 1, 'timing_quick', %.0f)",
		      (long long)flow, t->quick);
	if (rcv && t->aggr > 0)
		execf("INSERT INTO ack_classes VALUES (%lld, 1, 'timing_aggregate', %.0f)",
		      (long long)flow, t->aggr);
	return flow;
}

static int64_t add_run(const struct trun *t)
{
	char gp[32] = "NULL", lr[32] = "NULL", rl[32] = "NULL";
	const char *cd = t->capture_drops ? t->capture_drops : "NULL";
	if (t->goodput > 0)
		snprintf(gp, sizeof gp, "%.17g", t->goodput);
	if (t->lro_run > 0)
		snprintf(lr, sizeof lr, "%.17g", t->lro_run);
	if (t->rate_limit > 0)
		snprintf(rl, sizeof rl, "%.0f", t->rate_limit);
	execf("INSERT INTO runs (config, status, started_ns, finished_ns, bytes, goodput_bps, "
	      "lro_rate, capture_drops, rate_limit_bps, params) VALUES (%Q, 'ok', 1, 2, 1000000000, "
	      "%s, %s, %s, %s, %Q)", t->cfg, gp, lr, cd, rl, t->params);
	int64_t run = sqlite3_last_insert_rowid(db);
	if (t->lro_nic > 0)
		execf("INSERT INTO lro_stats (run_id, stage, policy, key, value) VALUES (%lld, 'nic', "
		      "'linux', 'lro_rate', %.17g)", (long long)run, t->lro_nic);
	if (t->lro_nf > 0)
		execf("INSERT INTO lro_stats (run_id, stage, policy, key, value) VALUES (%lld, "
		      "'netfront', 'linux', 'lro_rate', %.17g)", (long long)run, t->lro_nf);
	if (t->segs > 0) {
		add_capture(run, "receiver", t);
		snd_flow = add_capture(run, "sender", t);
	}
	task_clock(run, "dom0", t->dom0);
	task_clock(run, "domU", t->domU);
	task_clock(run, "receiver", t->recv_cpu);
	task_clock(run, "sender", t->send_cpu);
	if (t->params && strstr(t->params, "remote_commands")) {
		/* what lrokit collect adds on each host (testbed/hostrun.c): per-CPU
		   cpu-clock (wall time, idle included), interfaces, SNMP */
		execf("INSERT INTO counters VALUES (%lld, 'sender:cpu0', 'cpu-clock', 9e9, 'ns', "
		      "'perf', NULL)", (long long)run);
		execf("INSERT INTO counters VALUES (%lld, 'receiver:cpu0', 'cpu-clock', 9e9, 'ns', "
		      "'perf', NULL)", (long long)run);
		execf("INSERT INTO counters VALUES (%lld, 'receiver:vr', 'rx_bytes', 1e9, 'bytes', "
		      "'iface', NULL)", (long long)run);
		execf("INSERT INTO counters VALUES (%lld, 'sender', 'Tcp.OutSegs', 7e5, 'packets', "
		      "'snmp', NULL)", (long long)run);
	}
	return run;
}

/* An estimator's series on the sender's flow: n points from t0 every 10 ms,
 * value a + b*i. */
static void add_est(const char *est, int n, double a, double b, int64_t t0)
{
	for (int i = 0; i < n; i++)
		execf("INSERT INTO bwe VALUES (%lld, 0, %Q, %lld, %.17g, 0)", (long long)snd_flow, est,
		      (long long)(t0 + i * 10000000LL), a + b * i);
}

static void add_bwe(int n, double a, double b, int64_t t0)
{
	add_est("westwood", n, a, b, t0);
}

static void add_sack(int64_t t)
{
	execf("INSERT INTO bwe VALUES (%lld, 0, 'sack_ack', %lld, NULL, 1)", (long long)snd_flow,
	      (long long)t);
}

static struct lk_finding F[LK_NCLAIMS];

static void eval(void)
{
	struct lk_err e = {0};
	if (lk_findings_eval(db, NULL, 0, F, NULL, &e) < 0) {
		printf("# lk_findings_eval: %s\n", e.msg);
		exit(1);
	}
}

/* verdict of claim c, with its texts in the TAP output when it is wrong */
static void verdict(enum lk_claim c, enum lk_verdict want, const char *what)
{
	const struct lk_finding *f = &F[c];
	if (!is_str(lk_verdict_id(f->verdict), lk_verdict_id(want), "%s: %s: %s", f->id,
		    lk_verdict_name(want), what))
		printf("#   numbers: %s\n#   missing: %s\n", f->numbers, f->missing);
}

static void has(enum lk_claim c, const char *field, const char *needle)
{
	const struct lk_finding *f = &F[c];
	const char *s = !strcmp(field, "numbers") ? f->numbers
			: !strcmp(field, "missing") ? f->missing : f->mechanism;
	if (!ok(strstr(s, needle) != NULL, "%s: %s says '%s'", f->id, field, needle))
		printf("#   %s: %s\n", field, s);
}

/* three runs of cfg, values x-d, x, x+d in field */
#define THREE(cfg_, field, x, d, ...)                                                             \
	do {                                                                                      \
		struct trun t_ = RUN(.cfg = cfg_, __VA_ARGS__);                                   \
		for (int k_ = -1; k_ <= 1; k_++) {                                                \
			t_.field = (x) + k_ * (d);                                                \
			add_run(&t_);                                                             \
		}                                                                                 \
	} while (0)

static void t_lro_rate(void)
{
	fresh();
	THREE("lro-phys", lro_nic, 1.98, 0.05);
	THREE("lro-virt", lro_nf, 4.91, 0.1);
	eval();
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_REPRODUCED, "1.98 < 4.91");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "numbers", "lro-phys 1.98 ± 0.05 (3 runs), nic stage");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "numbers", "The paper: 1.98 vs 4.91");
	ok(F[0].mechanism[0] && !F[0].missing[0], "mechanism given, nothing missing");

	fresh();
	THREE("lro-phys", lro_nic, 26.9, 0.4);
	THREE("lro-virt", lro_nf, 15.8, 0.2);
	eval();
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_NOT_REPRODUCED, "26.9 > 15.8");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "numbers", "lro-phys is higher than lro-virt");

	fresh();
	THREE("lro-phys", lro_nic, 4.0, 1.0);
	THREE("lro-virt", lro_nf, 4.6, 0.2);
	eval();
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_NOT_REPRODUCED,
		"4.0 ± 1.0 vs 4.6 ± 0.2: a difference within the spread");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "numbers", "the same as lro-virt within the spread");

	fresh();
	add_run(&RUN(.cfg = "lro-phys", .lro_nic = 2));
	add_run(&RUN(.cfg = "lro-phys", .lro_nic = 2.1));
	eval();
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_NOT_TESTABLE, "no lro-virt run");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "missing", "an ok run of lro-virt");

	fresh();
	add_run(&RUN(.cfg = "lro-phys"));
	add_run(&RUN(.cfg = "lro-virt", .lro_nf = 5));
	eval();
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_NOT_TESTABLE, "lro-phys without a rate");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "missing", "an LRO rate of the lro-phys runs");

	/* a run without stage counters: runs.lro_rate stands in */
	fresh();
	add_run(&RUN(.cfg = "lro-phys", .lro_run = 2));
	add_run(&RUN(.cfg = "lro-virt", .lro_nf = 5));
	eval();
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_REPRODUCED, "runs.lro_rate of lro-phys");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "numbers", "lro-phys 2.00 (1 run), runs.lro_rate");
}

static void t_throughput(void)
{
	fresh();
	THREE("xen", goodput, 0.80e9, 0.01e9);
	THREE("lro-phys", goodput, 0.86e9, 0.01e9);
	THREE("lro-virt", goodput, 0.92e9, 0.01e9);
	eval();
	verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_REPRODUCED, "virt ahead of both");
	has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "numbers", "lro-virt +15.0% over xen");

	fresh();
	THREE("xen", goodput, 0.80e9, 0.01e9);
	THREE("lro-phys", goodput, 0.92e9, 0.01e9);
	THREE("lro-virt", goodput, 0.86e9, 0.01e9);
	eval();
	verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_REPRODUCED, "phys ahead of virt");
	has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "numbers", "not ahead of every other");

	/* all three at the 1 Gbit/s payload ceiling (0.941): the wire decides */
	fresh();
	THREE("xen", goodput, 0.938e9, 0.002e9, .rate_limit = 1e9);
	THREE("lro-phys", goodput, 0.939e9, 0.002e9, .rate_limit = 1e9);
	THREE("lro-virt", goodput, 0.939e9, 0.002e9, .rate_limit = 1e9);
	eval();
	verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_TESTABLE, "wire-bound");
	has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "missing", "every configuration reaches the line rate");
	has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "numbers", "Line rate 1 Gbit/s (payload ceiling 0.941)");

	/* the same goodputs without a line rate: a tie, not reproduced */
	fresh();
	THREE("xen", goodput, 0.938e9, 0.002e9);
	THREE("lro-virt", goodput, 0.939e9, 0.002e9);
	eval();
	verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_REPRODUCED, "a tie without a wire limit");

	fresh();
	add_run(&RUN(.cfg = "xen", .goodput = 1e9));
	add_run(&RUN(.cfg = "lro-phys", .goodput = 1e9));
	eval();
	verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_TESTABLE, "no lro-virt");
	has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "missing", "an ok run of lro-virt");

	fresh();
	add_run(&RUN(.cfg = "lro-virt", .goodput = 1e9));
	add_run(&RUN(.cfg = "native", .goodput = 2e9));
	eval();
	verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_TESTABLE, "nothing to compare with");
	has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "missing", "xen or lro-phys");
}

static void t_acks(void)
{
	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 10000, .acks = 5000));
	add_run(&RUN(.cfg = "lro-phys", .segs = 10000, .acks = 900, .aggr = 800));
	add_run(&RUN(.cfg = "lro-virt", .segs = 10000, .acks = 400, .aggr = 350));
	eval();
	verdict(LK_CLAIM_LRO_FEWER_ACKS, LK_VERDICT_REPRODUCED, "50 vs 9 and 4 per 100 segments");
	has(LK_CLAIM_LRO_FEWER_ACKS, "numbers", "xen 50.0 (1 run), lro-phys 9.0 (1 run), lro-virt 4.0");
	has(LK_CLAIM_LRO_FEWER_ACKS, "mechanism", "lro-phys 8.0 (1 run), lro-virt 3.5 (1 run)");
	has(LK_CLAIM_LRO_FEWER_ACKS, "numbers", "lro-phys is lower than xen. lro-virt is lower than xen.");

	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 10000, .acks = 5000));
	add_run(&RUN(.cfg = "lro-phys", .segs = 10000, .acks = 4990));
	add_run(&RUN(.cfg = "lro-virt", .segs = 10000, .acks = 400));
	eval();
	verdict(LK_CLAIM_LRO_FEWER_ACKS, LK_VERDICT_NOT_REPRODUCED, "lro-phys as many as xen");
	has(LK_CLAIM_LRO_FEWER_ACKS, "numbers", "lro-phys is the same as xen within the spread");

	fresh();
	add_run(&RUN(.cfg = "xen", .goodput = 1e9));
	add_run(&RUN(.cfg = "lro-phys", .goodput = 1e9));
	eval();
	verdict(LK_CLAIM_LRO_FEWER_ACKS, LK_VERDICT_NOT_TESTABLE, "no captures");
	has(LK_CLAIM_LRO_FEWER_ACKS, "missing", "ACK counts (a receiver capture) of the xen runs");

	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 10000, .acks = 5000));
	add_run(&RUN(.cfg = "native", .segs = 10000, .acks = 5000));
	eval();
	verdict(LK_CLAIM_LRO_FEWER_ACKS, LK_VERDICT_NOT_TESTABLE, "no LRO configuration");
	has(LK_CLAIM_LRO_FEWER_ACKS, "missing", "ok runs of lro-phys or lro-virt");
}

static void t_delack(void)
{
	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 10000, .acks = 5000, .quick = 100));
	add_run(&RUN(.cfg = "lro-virt", .segs = 10000, .acks = 500, .quick = 150));
	eval();
	verdict(LK_CLAIM_FAILED_DELACK_ADDS_ACKS, LK_VERDICT_REPRODUCED, "30% of lro-virt's ACKs");
	has(LK_CLAIM_FAILED_DELACK_ADDS_ACKS, "numbers", "lro-virt 1.5 (1 run), 30% of the ACKs");

	fresh();
	add_run(&RUN(.cfg = "lro-phys", .segs = 10000, .acks = 500, .quick = 5));
	add_run(&RUN(.cfg = "lro-virt", .segs = 10000, .acks = 500, .quick = 10));
	eval();
	verdict(LK_CLAIM_FAILED_DELACK_ADDS_ACKS, LK_VERDICT_NOT_REPRODUCED, "1% and 2%");

	fresh();
	add_run(&RUN(.cfg = "lro-virt", .segs = 10000, .acks = 500));
	add_run(&RUN(.cfg = "xen", .segs = 10000, .acks = 5000, .quick = 3000));
	eval();
	verdict(LK_CLAIM_FAILED_DELACK_ADDS_ACKS, LK_VERDICT_NOT_TESTABLE,
		"no timing classes for the LRO configurations");
	has(LK_CLAIM_FAILED_DELACK_ADDS_ACKS, "missing", "ACK timing classes");
}

static void t_sack(void)
{
	/* per 100 segments: xen 2, lro 0.5; per retransmission: xen 10, lro 2.5 */
	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 100000, .acks = 50000, .sacks = 2000, .rexmt = 200,
		     .capture_drops = "0"));
	add_run(&RUN(.cfg = "lro-phys", .segs = 100000, .acks = 9000, .sacks = 500, .rexmt = 200,
		     .capture_drops = "0"));
	add_run(&RUN(.cfg = "lro-virt", .segs = 100000, .acks = 4000, .sacks = 400, .rexmt = 160,
		     .capture_drops = "3"));
	eval();
	verdict(LK_CLAIM_SACK_RATE_LOWER, LK_VERDICT_REPRODUCED, "fewer SACKs per segment and per loss");
	has(LK_CLAIM_SACK_RATE_LOWER, "numbers", "lro-virt has fewer SACKs than xen per segment and per loss.");
	has(LK_CLAIM_SACK_RATE_LOWER, "numbers", "per retransmitted segment: xen 10.00 (1 run), "
						 "lro-phys 2.50 (1 run), lro-virt 2.50 (1 run)");
	has(LK_CLAIM_SACK_RATE_LOWER, "numbers", "capture (missed by libpcap, not losses) xen 0 "
						 "(1 run) lro-phys 0 (1 run) lro-virt 3 (1 run)");
	has(LK_CLAIM_SACK_RATE_LOWER, "numbers", "stage (inside the emulated path)");

	/* fewer SACKs only because fewer losses: per loss the same */
	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 100000, .acks = 50000, .sacks = 2000, .rexmt = 200));
	add_run(&RUN(.cfg = "lro-phys", .segs = 100000, .acks = 9000, .sacks = 500, .rexmt = 50));
	eval();
	verdict(LK_CLAIM_SACK_RATE_LOWER, LK_VERDICT_NOT_REPRODUCED, "fewer losses, same SACKs per loss");
	has(LK_CLAIM_SACK_RATE_LOWER, "numbers", "not fewer SACKs per loss");

	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 100000, .acks = 50000, .sacks = 2000, .rexmt = 200));
	add_run(&RUN(.cfg = "lro-virt", .segs = 100000, .acks = 9000, .sacks = 4000, .rexmt = 200));
	eval();
	verdict(LK_CLAIM_SACK_RATE_LOWER, LK_VERDICT_NOT_REPRODUCED, "more SACKs with LRO");
	has(LK_CLAIM_SACK_RATE_LOWER, "numbers", "lro-virt's SACK rate is higher than xen's");

	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 100000, .acks = 50000));
	add_run(&RUN(.cfg = "lro-virt", .segs = 100000, .acks = 9000, .sacks = 40, .rexmt = 10));
	eval();
	verdict(LK_CLAIM_SACK_RATE_LOWER, LK_VERDICT_NOT_TESTABLE, "no loss in xen");
	has(LK_CLAIM_SACK_RATE_LOWER, "missing", "losses in the xen runs");

	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 100000, .acks = 50000, .sacks = 2000, .rexmt = 200));
	add_run(&RUN(.cfg = "lro-virt", .segs = 100000, .acks = 9000));
	eval();
	verdict(LK_CLAIM_SACK_RATE_LOWER, LK_VERDICT_NOT_TESTABLE, "no loss with LRO");
	has(LK_CLAIM_SACK_RATE_LOWER, "numbers", "lro-virt lost nothing (no retransmission): not "
						 "compared");
	has(LK_CLAIM_SACK_RATE_LOWER, "missing", "ok runs of lro-phys or lro-virt with losses");
}

static void t_bwe(void)
{
	/* rising 100 -> 200 Mbit/s over 40 estimates, SACK, then flat at 150 */
	fresh();
	for (int r = 0; r < 2; r++) {
		add_run(&RUN(.cfg = r ? "lro-virt" : "xen", .segs = 1000, .acks = 500, .sacks = 5,
			     .rexmt = 1));
		add_bwe(40, 100e6, 2.5e6, 1000000000LL);
		add_sack(1000000000LL + 40 * 10000000LL);
		add_bwe(10, 150e6, 0, 1000000000LL + 41 * 10000000LL);
	}
	eval();
	verdict(LK_CLAIM_BWE_RISES_UNTIL_SACK, LK_VERDICT_REPRODUCED, "rises, then stops at the SACK");
	has(LK_CLAIM_BWE_RISES_UNTIL_SACK, "numbers", "Estimator westwood: 2 of 2 SACK episodes fit");

	/* westwood too sparse between SACKs: the denser delivery-rate series decides */
	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 1000, .acks = 500, .sacks = 5, .rexmt = 1));
	add_bwe(3, 100e6, 2.5e6, 1000000000LL);
	add_est("delivery_rate", 40, 100e6, 2.5e6, 1000000000LL);
	add_sack(1000000000LL + 40 * 10000000LL);
	add_sack(1000000000LL + 40 * 10000000LL + 2000000LL);
	add_est("delivery_rate", 10, 150e6, 0, 1000000000LL + 41 * 10000000LL);
	eval();
	verdict(LK_CLAIM_BWE_RISES_UNTIL_SACK, LK_VERDICT_REPRODUCED, "delivery rate when westwood is sparse");
	has(LK_CLAIM_BWE_RISES_UNTIL_SACK, "numbers", "2 SACK-bearing ACKs, one every 2.00 ms on average");
	has(LK_CLAIM_BWE_RISES_UNTIL_SACK, "numbers", "Estimator delivery_rate: 1 of 1 SACK episodes fit");

	/* falling before the SACK */
	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 1000, .acks = 500, .sacks = 5, .rexmt = 1));
	add_bwe(40, 200e6, -2.5e6, 1000000000LL);
	add_sack(1000000000LL + 40 * 10000000LL);
	add_bwe(10, 100e6, 0, 1000000000LL + 41 * 10000000LL);
	eval();
	verdict(LK_CLAIM_BWE_RISES_UNTIL_SACK, LK_VERDICT_NOT_REPRODUCED, "falls before the SACK");
	has(LK_CLAIM_BWE_RISES_UNTIL_SACK, "numbers", "0 of 1 SACK episodes fit");

	/* rising on through the SACK */
	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 1000, .acks = 500, .sacks = 5, .rexmt = 1));
	add_bwe(60, 100e6, 2.5e6, 1000000000LL);
	add_sack(1000000000LL + 40 * 10000000LL + 5000000LL);
	eval();
	verdict(LK_CLAIM_BWE_RISES_UNTIL_SACK, LK_VERDICT_NOT_REPRODUCED, "goes on rising after it");

	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 1000, .acks = 500));
	eval();
	verdict(LK_CLAIM_BWE_RISES_UNTIL_SACK, LK_VERDICT_NOT_TESTABLE, "no bwe rows");
	has(LK_CLAIM_BWE_RISES_UNTIL_SACK, "missing", "bandwidth estimates");

	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 1000, .acks = 500));
	add_bwe(40, 100e6, 2.5e6, 1000000000LL);
	eval();
	verdict(LK_CLAIM_BWE_RISES_UNTIL_SACK, LK_VERDICT_NOT_TESTABLE, "no SACK");
	has(LK_CLAIM_BWE_RISES_UNTIL_SACK, "missing", "SACK arrivals");

	fresh();
	add_run(&RUN(.cfg = "xen", .segs = 1000, .acks = 500, .sacks = 5, .rexmt = 1));
	add_bwe(5, 100e6, 2.5e6, 1000000000LL);
	add_sack(1000000000LL + 5 * 10000000LL);
	add_bwe(5, 100e6, 0, 1000000000LL + 6 * 10000000LL);
	eval();
	verdict(LK_CLAIM_BWE_RISES_UNTIL_SACK, LK_VERDICT_NOT_TESTABLE, "too few estimates");
	has(LK_CLAIM_BWE_RISES_UNTIL_SACK, "missing", "at least 8 estimates");
}

static void t_cpu(void)
{
	fresh();
	THREE("xen", dom0, 4.0, 0.1, .domU = 6.0);
	THREE("lro-phys", dom0, 3.0, 0.1, .domU = 5.0);
	THREE("lro-virt", dom0, 4.0, 0.1, .domU = 4.0);
	eval();
	verdict(LK_CLAIM_PHYS_LRO_CPU, LK_VERDICT_REPRODUCED, "lower in total and in each domain");
	has(LK_CLAIM_PHYS_LRO_CPU, "numbers", "xen 10.00 ± 0.10 (3 runs) (dom0 4.00, domU 6.00)");

	fresh();
	THREE("xen", dom0, 4.0, 0.1, .domU = 6.0);
	THREE("lro-phys", dom0, 2.0, 0.1, .domU = 7.0);
	eval();
	verdict(LK_CLAIM_PHYS_LRO_CPU, LK_VERDICT_NOT_REPRODUCED, "domU worse");
	has(LK_CLAIM_PHYS_LRO_CPU, "numbers", "lro-phys uses more CPU in domU than xen");

	fresh();
	THREE("xen", dom0, 4.0, 0.5, .domU = 6.0);
	THREE("lro-phys", dom0, 3.9, 0.5, .domU = 6.0);
	eval();
	verdict(LK_CLAIM_PHYS_LRO_CPU, LK_VERDICT_NOT_REPRODUCED, "within the spread");
	has(LK_CLAIM_PHYS_LRO_CPU, "numbers", "the same as xen's within the spread");

	fresh();
	add_run(&RUN(.cfg = "xen", .goodput = 1e9));
	add_run(&RUN(.cfg = "lro-phys", .goodput = 1e9));
	eval();
	verdict(LK_CLAIM_PHYS_LRO_CPU, LK_VERDICT_NOT_TESTABLE, "no counters");
	has(LK_CLAIM_PHYS_LRO_CPU, "missing", "CPU time per GB (counters) of the xen runs");
}

/* A database with emulated runs and runs of bench --hosts: the report's
 * labels, a set per testbed, the Xen claims not testable between plain
 * hosts, the others judged there with native as the baseline, and the
 * receiving CPU of a host run without the sender machine. */
#define HOSTS_PARAMS                                                                              \
	"{\"config\":\"x\",\"hosts\":{\"sender\":{\"dest\":\"root@10.9.1.2\",\"iface\":\"vs\"},"  \
	"\"receiver\":{\"dest\":\"root@10.9.2.2\",\"iface\":\"vr\"}},\"offloads_set\":{},"         \
	"\"remote_commands\":[]}"

static const char *cfg_label(const struct rp_model *m, const char *name, int tb)
{
	for (int i = 0; i < m->ncfgs; i++)
		if (!strcmp(m->cfgs[i].name, name) && m->sets[m->cfgs[i].set].tb == (enum rp_testbed)tb)
			return m->cfgs[i].label;
	return "(none)";
}

static void t_mixed(void)
{
	fresh();
	/* emulated: LRO phys below LRO virt, fewer ACKs with LRO */
	THREE("xen", goodput, 3e9, 1e7, .segs = 100000, .acks = 50000, .dom0 = 4, .domU = 6);
	THREE("lro-phys", lro_nic, 2.0, 0.05, .goodput = 3.1e9, .segs = 100000, .acks = 30000,
	      .dom0 = 3, .domU = 5);
	THREE("lro-virt", lro_nf, 5.0, 0.05, .goodput = 3.2e9, .segs = 100000, .acks = 20000,
	      .dom0 = 4, .domU = 4);
	/* plain hosts: GRO and LRO halve the ACKs; LRO lowers the receiver's CPU,
	   while the sender machine works hard (never the receiving side's) */
	THREE("native", goodput, 9e9, 1e7, .segs = 100000, .acks = 50000, .recv_cpu = 2.0,
	      .send_cpu = 8.0, .params = HOSTS_PARAMS);
	THREE("native-gro", goodput, 9e9, 1e7, .segs = 100000, .acks = 25000, .recv_cpu = 1.5,
	      .send_cpu = 8.0, .params = HOSTS_PARAMS);
	THREE("native-lro", recv_cpu, 1.0, 0.02, .goodput = 9e9, .segs = 100000, .acks = 24000,
	      .send_cpu = 8.0, .params = HOSTS_PARAMS);

	struct lk_err e = {0};
	struct lk_report_opts o = {0};
	struct rp_model m;
	if (!ok(rp_model_load(db, &o, &m, &e) == 0, "mixed: the report's model loads: %s", e.msg))
		return;
	is_int(m.nsets, 2, "mixed: two sets (emulated, the hosts)");
	ok(m.mixed, "mixed: the model knows the database mixes testbeds");
	is_str(cfg_label(&m, "native-gro", RP_TB_HOSTS), "native-gro (hosts root@10.9.1.2 -> root@10.9.2.2)",
	       "mixed: a host run's label names the ssh destinations");
	is_str(cfg_label(&m, "xen", RP_TB_EMULATED), "xen [emulated]",
	       "mixed: an emulated configuration says so beside host runs");
	const struct rp_config *hn = rp_find_cfg(&m, 1, "native");
	ok(hn && fabs(hn->cpu_per_gb - 2.0) < 1e-9,
	   "mixed: a host run's receiving CPU is lrokit recv's only (2.00 s/GB, not the sender's "
	   "or the per-CPU cpu-clock): %g", hn ? hn->cpu_per_gb : NAN);
	rp_model_free(&m);

	char label[128];
	int nsets = 0;
	ok(lk_findings_eval_set(db, NULL, 0, 0, F, label, sizeof label, &nsets, &e) == 0 &&
	   nsets == 2, "mixed: eval of set 0 (%d sets)", nsets);
	is_str(label, "emulated", "mixed: set 0 is the emulated testbed");
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_REPRODUCED, "emulated: phys < virt");
	verdict(LK_CLAIM_LRO_FEWER_ACKS, LK_VERDICT_REPRODUCED, "emulated: fewer ACKs than xen");
	has(LK_CLAIM_LRO_FEWER_ACKS, "numbers", "xen 50.0");

	ok(lk_findings_eval_set(db, NULL, 0, 1, F, label, sizeof label, NULL, &e) == 0,
	   "mixed: eval of set 1");
	is_str(label, "hosts root@10.9.1.2 -> root@10.9.2.2", "mixed: set 1 is the pair of hosts");
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_NOT_TESTABLE, "hosts: no Xen path");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "missing", "plain real hosts have none");
	verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_TESTABLE, "hosts: no netfront");
	has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "missing", "the Xen path");
	verdict(LK_CLAIM_LRO_FEWER_ACKS, LK_VERDICT_REPRODUCED, "hosts: native-gro/-lro fewer ACKs");
	has(LK_CLAIM_LRO_FEWER_ACKS, "numbers", "native 50.0 ± 0.0 (3 runs), native-gro 25.0");
	has(LK_CLAIM_LRO_FEWER_ACKS, "numbers", "native-lro is lower than native");
	verdict(LK_CLAIM_PHYS_LRO_CPU, LK_VERDICT_REPRODUCED, "hosts: native-lro below native");
	has(LK_CLAIM_PHYS_LRO_CPU, "numbers", "native 2.00 ± 0.00 (3 runs); native-lro 1.00 ± 0.02");
	ok(lk_findings_eval_set(db, NULL, 0, 2, F, NULL, 0, NULL, &e) < 0, "mixed: no set 2: %s",
	   e.msg);

	/* the same host runs alone: labelled by their hosts, nothing [emulated] */
	fresh();
	THREE("native", goodput, 9e9, 1e7, .segs = 100000, .acks = 50000, .recv_cpu = 2.0,
	      .params = HOSTS_PARAMS);
	THREE("native-gro", goodput, 9e9, 1e7, .segs = 100000, .acks = 50000, .recv_cpu = 2.0,
	      .params = HOSTS_PARAMS);
	if (ok(rp_model_load(db, &o, &m, &e) == 0, "hosts only: model loads")) {
		ok(!m.mixed && m.nsets == 1, "hosts only: one set, not mixed");
		is_str(cfg_label(&m, "native", RP_TB_HOSTS), "native (hosts root@10.9.1.2 -> root@10.9.2.2)",
		       "hosts only: still labelled by the hosts");
		rp_model_free(&m);
	}
	eval();
	verdict(LK_CLAIM_LRO_FEWER_ACKS, LK_VERDICT_NOT_REPRODUCED, "hosts only: GRO did not "
		"lower the ACKs here");
	verdict(LK_CLAIM_PHYS_LRO_CPU, LK_VERDICT_NOT_TESTABLE, "hosts only: no native-lro");
	has(LK_CLAIM_PHYS_LRO_CPU, "missing", "an ok run of native-lro");

	/* emulated only: no testbed in the labels */
	fresh();
	THREE("xen", goodput, 3e9, 1e7);
	if (ok(rp_model_load(db, &o, &m, &e) == 0, "emulated only: model loads")) {
		is_str(cfg_label(&m, "xen", RP_TB_EMULATED), "xen", "emulated only: plain labels");
		rp_model_free(&m);
	}
}

/* run ids select the runs; the verdict names and ids */
static void t_api(void)
{
	fresh();
	int64_t a = add_run(&RUN(.cfg = "lro-phys", .lro_nic = 2));
	int64_t b = add_run(&RUN(.cfg = "lro-virt", .lro_nf = 5));
	add_run(&RUN(.cfg = "lro-virt", .lro_nf = 1));
	struct lk_err e = {0};
	int64_t ids[2] = {a, b};
	int nsets = 0;
	ok(lk_findings_eval(db, ids, 2, F, &nsets, &e) == 0 && nsets == 1, "eval of two runs, one set");
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_REPRODUCED, "only the runs given count");
	int64_t bad = 999;
	ok(lk_findings_eval(db, &bad, 1, F, NULL, &e) < 0 && strstr(e.msg, "999"),
	   "an unknown run id is an error: %s", e.msg);
	static const char *const ids_want[LK_NCLAIMS] = {
		"lro_rate_phys_lt_virt", "virt_highest_throughput", "lro_fewer_acks",
		"failed_delack_adds_acks", "sack_rate_lower", "bwe_rises_until_sack", "phys_lro_cpu"};
	for (int i = 0; i < LK_NCLAIMS; i++)
		is_str(F[i].id, ids_want[i], "claim %d is %s", i, ids_want[i]);
	is_str(lk_verdict_name(LK_VERDICT_NOT_TESTABLE), "not testable", "verdict name");
	is_str(lk_verdict_id(LK_VERDICT_NOT_REPRODUCED), "not_reproduced", "verdict id");
	/* an empty database: every claim not testable */
	fresh();
	eval();
	int nt = 0;
	for (int i = 0; i < LK_NCLAIMS; i++)
		nt += F[i].verdict == LK_VERDICT_NOT_TESTABLE && F[i].missing[0];
	is_int(nt, LK_NCLAIMS, "no runs: every claim not testable, each saying what is missing");
}

/* Schema v3: stage drops, per-poll histograms, model parameters, sets. */
static void t_v3(void)
{
	fresh();
	int64_t x = add_run(&RUN(.cfg = "xen", .segs = 100000, .acks = 50000, .sacks = 2000,
				 .rexmt = 200, .capture_drops = "0", .goodput = 0.94e9));
	int64_t p = add_run(&RUN(.cfg = "lro-phys", .lro_nic = 1.98, .segs = 100000, .acks = 9000,
				 .sacks = 500, .rexmt = 200, .capture_drops = "0", .goodput = 0.94e9));
	int64_t v = add_run(&RUN(.cfg = "lro-virt", .lro_nf = 4.91, .goodput = 0.94e9));
	execf("UPDATE runs SET stage_drops = 40 WHERE run_id = %lld", (long long)x);
	execf("UPDATE runs SET stage_drops = 7 WHERE run_id = %lld", (long long)p);
	execf("INSERT INTO stage_hist VALUES (%lld, 'nic', 'rx', 'frames_per_poll', 10, 90), "
	      "(%lld, 'nic', 'rx', 'frames_per_poll', 1, 10), (%lld, 'nic', 'rx', 'segs_per_aggr', 2, 98), "
	      "(%lld, 'nic', 'rx', 'segs_per_aggr', 1, 2), (%lld, 'netfront', 'rx', 'frames_per_poll', "
	      "64, 5)", (long long)p, (long long)p, (long long)p, (long long)p, (long long)v);
	for (int64_t r = x; r <= v; r++)
		execf("INSERT INTO model_params VALUES (%lld, 'wire.rate_bps', 1e9, 'bit/s', 'profile'), "
		      "(%lld, 'bridge.gso', 0, 'bool', 'profile')", (long long)r, (long long)r);
	execf("UPDATE runs SET profile = 'paper'");
	/* one more lro-virt run, a sweep point: its own set, not judged with the others */
	int64_t w = add_run(&RUN(.cfg = "lro-virt", .lro_nf = 1.0));
	execf("UPDATE runs SET profile = 'paper', sweep_key = 'guest.wake_us', sweep_value = 500 "
	      "WHERE run_id = %lld", (long long)w);
	struct lk_err e = {0};
	int nsets = 0;
	ok(lk_findings_eval(db, NULL, 0, F, &nsets, &e) == 0, "eval of a v3 database");
	is_int(nsets, 2, "two sets: the base runs and the sweep point");
	verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_REPRODUCED,
		"the base set judged, the sweep point's run left out");
	has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "mechanism", "nic stage of lro-phys 10 frames per poll "
		"(median), 1.98 segments per frame out (mean); netfront stage of lro-virt 64 frames "
		"per poll (median)");
	has(LK_CLAIM_SACK_RATE_LOWER, "numbers", "stage (inside the emulated path) xen 40 (1 run) "
		"lro-phys 7 (1 run) lro-virt n/a");
	has(LK_CLAIM_PHYS_LRO_CPU, "mechanism", "Here bridge.gso = 0.");
	has(LK_CLAIM_LRO_FEWER_ACKS, "mechanism", "Here bridge.gso = 0: the NIC stage's aggregates are split");
	verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_TESTABLE,
		"the line rate from the model (wire.rate_bps)");
	has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "numbers", "Line rate 1 Gbit/s");
}

/* The same LRO rates, with timed stages that kept the model's time, then
 * with a NIC stage whose interrupts came late (a busy host), then with a
 * netfront whose polls came late behind the guest's modelled wake-ups:
 * then every claim is not testable, with the lateness in its numbers. */
static void t_late(void)
{
	for (int late = 0; late < 3; late++) {
		fresh();
		int64_t p = add_run(&RUN(.cfg = "lro-phys", .lro_nic = 1.98));
		int64_t v = add_run(&RUN(.cfg = "lro-virt", .lro_nf = 4.91));
		/* 1000 modelled interrupts / wake-ups each, 10 us (kept) or 300 us
		   (late: the NIC's when late == 1, netfront's when late == 2) */
		for (int64_t r = p; r <= v; r++)
			execf("INSERT INTO counters VALUES (%lld, 'nic', 'irqs', 1000, NULL, 'stage', NULL), "
			      "(%lld, 'nic', 'late_ns', %d, 'ns', 'stage', NULL), "
			      "(%lld, 'netfront', 'irqs', 1000, NULL, 'stage', NULL), "
			      "(%lld, 'netfront', 'late_ns', %d, 'ns', 'stage', NULL)", (long long)r,
			      (long long)r, late == 1 && r == v ? 300000000 : 10000000, (long long)r,
			      (long long)r, late == 2 && r == v ? 300000000 : 10000000);
		eval();
		if (!late) {
			verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_REPRODUCED,
				"timed stages 10 us late on average: the model's time was kept");
			continue;
		}
		const char *st = late == 1 ? "nic" : "netfront";
		char want[200];
		verdict(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, LK_VERDICT_NOT_TESTABLE,
			late == 1 ? "one run's NIC interrupts 300 us late on average: not testable"
				  : "one run's netfront polls 300 us late on average: not testable");
		verdict(LK_CLAIM_SACK_RATE_LOWER, LK_VERDICT_NOT_TESTABLE, "every claim not testable");
		snprintf(want, sizeof want, "in 1 of 2 runs a timed stage (the NIC's interrupts, "
			 "netfront's wake-ups) came on average more than 40 us late (worst 300 us, %s)", st);
		has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "missing", want);
		has(LK_CLAIM_LRO_RATE_PHYS_LT_VIRT, "numbers", "lro-phys 1.98");
		snprintf(want, sizeof want, "late by more than 40 us on average in 1 of 2 timed runs "
			 "(worst 300 us, %s)", st);
		has(LK_CLAIM_PHYS_LRO_CPU, "numbers", want);
	}
}

/* Runs made under time dilation 2 (the model run twice slower): their real
 * goodput is half the modelled one. The report judges them in modelled
 * time: three configurations at 0.469 Gbit/s real are at the 1 Gbit/s
 * line rate (0.938 modelled), so the throughput claim is wire-bound. */
static void t_dilation(void)
{
	for (int dil = 1; dil <= 2; dil++) {
		fresh();
		THREE("xen", goodput, 0.469e9, 0.001e9);
		THREE("lro-phys", goodput, 0.4695e9, 0.001e9);
		THREE("lro-virt", goodput, 0.4695e9, 0.001e9);
		execf("INSERT INTO model_params SELECT run_id, 'wire.rate_bps', 1e9, 'bit/s', "
		      "'profile' FROM runs");
		execf("INSERT INTO model_params SELECT run_id, 'time.dilation', %d, 'x', 'cli' FROM runs",
		      dil);
		execf("UPDATE runs SET profile = 'paper'");
		eval();
		if (dil == 1) {
			verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_REPRODUCED,
				"real time: 0.47 Gbit/s is far below the line rate, and a tie");
			continue;
		}
		verdict(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, LK_VERDICT_NOT_TESTABLE,
			"time.dilation 2: 0.938 Gbit/s in modelled time, wire-bound");
		has(LK_CLAIM_VIRT_HIGHEST_THROUGHPUT, "numbers", "Line rate 1 Gbit/s");
	}
}

int main(void)
{
	if (!mkdtemp(dir))
		skip_all("cannot make a temp dir");
	t_lro_rate();
	t_throughput();
	t_acks();
	t_delack();
	t_sack();
	t_bwe();
	t_cpu();
	t_mixed();
	t_api();
	if (lk_db_schema_version() >= 3) {
		t_v3();
		t_late();
		t_dilation();
	}
	else
		skip("schema v%d has no model tables (v3)", lk_db_schema_version());
	lk_db_close(db);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
