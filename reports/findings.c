/* reports/findings.c - the paper's claims judged on one set of runs (see
 * findings.h for the rules). The numbers come from the report's model of
 * the database (reports/rmodel.h), so the findings and the summary table
 * agree. */
#include "reports/findings.h"
#include "reports/rmodel.h"
#include "testbed/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *id, *text;
} claims[LK_NCLAIMS] = {
	{"lro_rate_phys_lt_virt", "The LRO rate of LRO in the physical NIC is lower than that of "
				  "LRO in the virtual NIC (the paper: 1.98 vs 4.91)."},
	{"virt_highest_throughput", "LRO in the virtual NIC gives the highest throughput."},
	{"lro_fewer_acks", "LRO reduces the number of ACKs."},
	{"failed_delack_adds_acks", "Unsuccessful delayed ACKs add ACKs."},
	{"sack_rate_lower", "The SACK rate drops with LRO, because SACKs are not aggregated by "
			    "delayed ACK."},
	{"bwe_rises_until_sack", "The sender's bandwidth estimate rises until SACKs arrive."},
	{"phys_lro_cpu", "LRO in the physical NIC improves CPU use across the system."},
};

const char *lk_verdict_name(enum lk_verdict v)
{
	return v == LK_VERDICT_REPRODUCED ? "reproduced"
	       : v == LK_VERDICT_NOT_REPRODUCED ? "not reproduced" : "not testable";
}

const char *lk_verdict_id(enum lk_verdict v)
{
	return v == LK_VERDICT_REPRODUCED ? "reproduced"
	       : v == LK_VERDICT_NOT_REPRODUCED ? "not_reproduced" : "not_testable";
}

/* ---- helpers ---- */

static void addf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void addf(char *buf, size_t n, const char *fmt, ...)
{
	size_t o = strlen(buf);
	if (o + 1 >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + o, n - o, fmt, ap);
	va_end(ap);
}

#define ADD(field, ...) addf(f->field, sizeof f->field, __VA_ARGS__)

static void not_testable(struct lk_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void not_testable(struct lk_finding *f, const char *fmt, ...)
{
	f->verdict = LK_VERDICT_NOT_TESTABLE;
	size_t o = strlen(f->missing);
	if (o)
		o += (size_t)snprintf(f->missing + o, sizeof f->missing - o, "; ");
	if (o + 1 >= sizeof f->missing)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->missing + o, sizeof f->missing - o, fmt, ap);
	va_end(ap);
}

enum cmp { CMP_UNKNOWN, CMP_LESS, CMP_SAME, CMP_MORE };

/* a vs b beyond the noise (findings.h). */
static enum cmp compare(struct rp_stat a, struct rp_stat b)
{
	if (!a.n || !b.n)
		return CMP_UNKNOWN;
	double noise = (isnan(a.sd) ? 0 : a.sd) + (isnan(b.sd) ? 0 : b.sd);
	double d = a.mean - b.mean, big = fmax(fabs(a.mean), fabs(b.mean));
	if (fabs(d) <= noise || fabs(d) <= LK_FINDINGS_MIN_REL * big)
		return CMP_SAME;
	return d < 0 ? CMP_LESS : CMP_MORE;
}

static const char *cmp_word(enum cmp c)
{
	return c == CMP_LESS ? "lower" : c == CMP_MORE ? "higher" : c == CMP_SAME ? "the same" : "?";
}

/* "12.3 ± 0.4 (3 runs)" with the value divided by scale. */
static void stat_txt(char *b, size_t n, struct rp_stat s, double scale, const char *fmt)
{
	char v[32], sd[48] = "";
	snprintf(v, sizeof v, fmt, s.mean / scale);
	if (!isnan(s.sd)) {
		char t[32];
		snprintf(t, sizeof t, fmt, s.sd / scale);
		snprintf(sd, sizeof sd, " ± %s", t);
	}
	snprintf(b, n, "%s%s (%d run%s)", v, sd, s.n, s.n == 1 ? "" : "s");
}

struct side {
	const char *name;
	const struct rp_config *c;
	struct rp_stat s;
	char txt[96];
};

static struct side side_of(const struct rp_model *m, int set, const char *name, enum rp_metric k,
			   double scale, const char *fmt)
{
	struct side d = {.name = name, .c = rp_find_cfg(m, set, name)};
	d.s = d.c ? rp_cfg_stat(m, d.c, k) : (struct rp_stat){NAN, NAN, 0};
	if (d.s.n)
		stat_txt(d.txt, sizeof d.txt, d.s, scale, fmt);
	else
		snprintf(d.txt, sizeof d.txt, "n/a");
	return d;
}

/* Names the configurations of the set that have no ok run / no value. */
static bool need(struct lk_finding *f, const struct side *d, const char *what)
{
	if (!d->c) {
		not_testable(f, "an ok run of %s", d->name);
		return false;
	}
	if (!d->s.n) {
		not_testable(f, "%s of the %s runs", what, d->name);
		return false;
	}
	return true;
}

/* A model parameter of the set (its first run), NaN when not recorded. */
static double set_param(const struct rp_model *m, int set, const char *key)
{
	if (set < 0 || set >= m->nsets)
		return NAN;
	const struct rp_kv *kv = rp_kvs_find(&m->runs[m->sets[set].first_run].model, key);
	return kv ? kv->v : NAN;
}

/* ---- the testbed of the set ---- */
/* Which configurations play which part: on the Xen path (emulated or a
 * real Xen host) xen is the baseline and lro-phys, lro-virt the LRO
 * configurations; between plain hosts native, and native-gro, native-lro. */
struct tbn {
	bool plain;              /* plain real hosts: no Xen path */
	const char *base;        /* no receive offload */
	const char *lro[2];      /* receive offload: [0] software/phys, [1] the other */
	const char *nic_lro;     /* LRO in the physical NIC (claim phys_lro_cpu) */
	const char *testbed;     /* the set's testbed in words */
};

static struct tbn tbn_of(const struct rp_model *m, int set)
{
	bool plain = set >= 0 && set < m->nsets && m->sets[set].tb == RP_TB_HOSTS;
	struct tbn t = {plain, plain ? "native" : "xen",
			{plain ? "native-gro" : "lro-phys", plain ? "native-lro" : "lro-virt"},
			plain ? "native-lro" : "lro-phys",
			set >= 0 && set < m->nsets ? m->sets[set].testbed : "emulated"};
	return t;
}

/* A claim about the Xen path on plain hosts: not testable, and why. */
static bool xen_only(const struct tbn *t, struct lk_finding *f, const char *what)
{
	if (!t->plain)
		return false;
	ADD(numbers, "These runs are between plain hosts (%s): no Xen path.", t->testbed);
	not_testable(f, "the Xen path (%s): plain real hosts have none; judge it on the emulated "
		     "testbed or with a Xen host file (bench --hosts, [dom0] and [guest])", what);
	return true;
}

/* ---- 1. LRO rate phys < virt ---- */
static void pooled_hist_txt(char *b, size_t n, const struct rp_config *c, int stage)
{
	if (!c || !c->hist.have[stage]) {
		snprintf(b, n, "n/a");
		return;
	}
	snprintf(b, n, "%.0f frames per poll (median), %.2f segments per frame out (mean)",
		 rp_hist_median(c->hist.fpp[stage], RP_FPP_MAX),
		 rp_hist_mean(c->hist.spa[stage], RP_SPA_MAX));
}

static void claim_lro_rate(const struct rp_model *m, int set, struct lk_finding *f)
{
	struct tbn tb = tbn_of(m, set);
	if (xen_only(&tb, f, "LRO in the driver domain's NIC against LRO in the guest's netfront"))
		return;
	struct side p = side_of(m, set, "lro-phys", RP_M_LRO_NIC, 1, "%.2f");
	struct side v = side_of(m, set, "lro-virt", RP_M_LRO_NETFRONT, 1, "%.2f");
	const char *ps = "nic stage", *vs = "netfront stage";
	if (p.c && !p.s.n) {
		p = side_of(m, set, "lro-phys", RP_M_LRO_RUN, 1, "%.2f");
		ps = "runs.lro_rate";
	}
	if (v.c && !v.s.n) {
		v = side_of(m, set, "lro-virt", RP_M_LRO_RUN, 1, "%.2f");
		vs = "runs.lro_rate";
	}
	const struct lk_config *kp = lk_config_find("lro-phys"), *kv = lk_config_find("lro-virt");
	ADD(numbers, "LRO rate (TCP segments per frame leaving the LRO stage): lro-phys %s, %s; "
		     "lro-virt %s, %s. The paper: %.2f vs %.2f.", p.txt, ps, v.txt, vs,
	    kp->paper_lro_rate, kv->paper_lro_rate);
	ADD(mechanism, "LRO merges only the segments of one flow that one poll takes, so a "
		       "stage's LRO rate follows how many frames each poll finds: the NIC stage's "
		       "by interrupt moderation and the NAPI budget, netfront's by how long the "
		       "guest takes to run (wake-up latency, scheduling) while the ring fills.");
	char hp[128], hv[128];
	pooled_hist_txt(hp, sizeof hp, p.c, 0);
	pooled_hist_txt(hv, sizeof hv, v.c, 2);
	if (strcmp(hp, "n/a") || strcmp(hv, "n/a"))
		ADD(mechanism, " Here: nic stage of lro-phys %s; netfront stage of lro-virt %s.", hp,
		    hv);
	bool ok = need(f, &p, "an LRO rate");
	if (!need(f, &v, "an LRO rate") || !ok)
		return;
	enum cmp c = compare(p.s, v.s);
	f->verdict = c == CMP_LESS ? LK_VERDICT_REPRODUCED : LK_VERDICT_NOT_REPRODUCED;
	ADD(numbers, " lro-phys is %s%s.", cmp_word(c), c == CMP_SAME ? " as lro-virt within the "
							   "spread" : " than lro-virt");
}

/* ---- 2. LRO virt highest throughput ---- */
static void claim_throughput(const struct rp_model *m, int set, struct lk_finding *f)
{
	struct tbn tb = tbn_of(m, set);
	if (xen_only(&tb, f, "LRO in the guest's netfront against none and against LRO in the "
		     "driver domain"))
		return;
	static const char *const names[3] = {"xen", "lro-phys", "lro-virt"};
	struct side d[3];
	for (int i = 0; i < 3; i++)
		d[i] = side_of(m, set, names[i], RP_M_GOODPUT, 1e9, "%.3f");
	ADD(numbers, "Goodput (Gbit/s): xen %s, lro-phys %s, lro-virt %s.", d[0].txt, d[1].txt,
	    d[2].txt);
	if (d[0].s.n && d[0].s.mean > 0)
		for (int i = 1; i < 3; i++)
			if (d[i].s.n)
				ADD(numbers, " %s %+.1f%% over xen.", names[i],
				    100 * (d[i].s.mean / d[0].s.mean - 1));
	ADD(numbers, " The paper, with SPECjbb beside the receiver: up to +8%% (LRO phys) and "
		     "+14%% (LRO virt) over Non-LRO.");
	struct side cpu[3];
	for (int i = 0; i < 3; i++)
		cpu[i] = side_of(m, set, names[i], RP_M_CPU_GB, 1, "%.2f");
	ADD(mechanism, "Goodput rises where the receiving side spends less CPU per byte and the "
		       "receiver, not the wire, is the bottleneck; LRO in netfront spares the guest's "
		       "TCP/IP work per segment, LRO in the NIC also the bridge's and netback's, but "
		       "only if aggregates cross the bridge whole.");
	if (cpu[0].s.n || cpu[1].s.n || cpu[2].s.n)
		ADD(mechanism, " Receiving-side CPU seconds per GB: xen %s, lro-phys %s, lro-virt %s.",
		    cpu[0].txt, cpu[1].txt, cpu[2].txt);
	if (!need(f, &d[2], "a goodput"))
		return;
	if (!d[0].s.n && !d[1].s.n) {
		not_testable(f, "an ok run of xen or lro-phys with a goodput to compare with");
		return;
	}
	bool highest = true, same = false;
	for (int i = 0; i < 2; i++) {
		enum cmp c = compare(d[2].s, d[i].s);
		highest &= c == CMP_MORE || c == CMP_UNKNOWN;
		same |= c == CMP_SAME;
	}
	/* the wire's payload ceiling: MSS 1448 in 1538 bytes of wire time */
	double rate = set_param(m, set, "wire.rate_bps");
	if (!(rate > 0) && d[2].c)
		rate = (double)m->runs[d[2].c->runs[0]].rate_limit_bps;
	bool wire_bound = rate > 0;
	for (int i = 0; i < 3 && wire_bound; i++)
		wire_bound = !d[i].s.n || d[i].s.mean >= LK_FINDINGS_LINE_SHARE * rate * 1448 / 1538;
	if (rate > 0)
		ADD(numbers, " Line rate %.3g Gbit/s (payload ceiling %.3f).", rate / 1e9,
		    rate * 1448 / 1538 / 1e9);
	if (!highest && wire_bound && same) {
		not_testable(f, "a receiver that limits the goodput: every configuration reaches the "
				"line rate (>= %.0f%% of its payload ceiling), so the wire decides; "
				"load the receiver (guest.load, stage.cost_ns) or lift the line rate",
			     100 * LK_FINDINGS_LINE_SHARE);
		return;
	}
	f->verdict = highest ? LK_VERDICT_REPRODUCED : LK_VERDICT_NOT_REPRODUCED;
	if (!highest)
		ADD(numbers, " lro-virt is not ahead of every other configuration beyond the spread.");
}

/* ---- 3. LRO reduces ACKs ---- */
static void claim_fewer_acks(const struct rp_model *m, int set, struct lk_finding *f)
{
	struct tbn tb = tbn_of(m, set);
	struct side x = side_of(m, set, tb.base, RP_M_ACKS100, 1, "%.1f");
	struct side l[2] = {side_of(m, set, tb.lro[0], RP_M_ACKS100, 1, "%.1f"),
			    side_of(m, set, tb.lro[1], RP_M_ACKS100, 1, "%.1f")};
	ADD(numbers, "ACKs per 100 data segments (receiver capture): %s %s, %s %s, %s %s.",
	    tb.base, x.txt, tb.lro[0], l[0].txt, tb.lro[1], l[1].txt);
	struct side ag[2] = {side_of(m, set, tb.lro[0], RP_M_AGGR100, 1, "%.1f"),
			     side_of(m, set, tb.lro[1], RP_M_AGGR100, 1, "%.1f")};
	ADD(mechanism, "The receiver acknowledges packets, not segments: with delayed ACK it ACKs "
		       "when more than one MSS is unacknowledged, which one aggregate of two or more "
		       "segments already is, so an aggregate gets one ACK where its segments would "
		       "have had one per two.");
	if (ag[0].s.n || ag[1].s.n)
		ADD(mechanism, " ACKs for an aggregate (ack_classes timing_aggregate) per 100 "
			       "segments: %s %s, %s %s.", tb.lro[0], ag[0].txt, tb.lro[1], ag[1].txt);
	if (!need(f, &x, "ACK counts (a receiver capture)"))
		return;
	int have = 0, fewer = 0;
	for (int i = 0; i < 2; i++) {
		if (!l[i].s.n)
			continue;
		have++;
		enum cmp c = compare(l[i].s, x.s);
		fewer += c == CMP_LESS;
		ADD(numbers, " %s is %s%s %s%s.", l[i].name, cmp_word(c),
		    c == CMP_SAME ? " as" : " than", tb.base, c == CMP_SAME ? " within the spread" : "");
	}
	if (set_param(m, set, "bridge.gso") == 0)
		ADD(mechanism, " Here bridge.gso = 0: the NIC stage's aggregates are split into MSS "
			       "frames again before netback, so lro-phys's guest sees no aggregates.");
	if (!have) {
		not_testable(f, "ok runs of %s or %s with ACK counts (a receiver capture)", tb.lro[0],
			     tb.lro[1]);
		return;
	}
	f->verdict = fewer == have ? LK_VERDICT_REPRODUCED : LK_VERDICT_NOT_REPRODUCED;
}

/* metric k[0] / metric k[1] of one run (NaN unless the divisor is > 0) */
static double ratio(const struct rp_model *m, const struct rp_run *r, const void *arg)
{
	const enum rp_metric *k = arg;
	double a = rp_run_metric(m, r, k[0]), b = rp_run_metric(m, r, k[1]);
	return b > 0 ? a / b : NAN;
}

/* ---- 4. unsuccessful delayed ACKs add ACKs ---- */
static const enum rp_metric quick_share[2] = {RP_M_QUICK100, RP_M_ACKS100};

static void claim_failed_delack(const struct rp_model *m, int set, struct lk_finding *f)
{
	struct tbn tb = tbn_of(m, set);
	const char *const names[3] = {tb.lro[0], tb.lro[1], tb.base};
	bool any = false, adds = false;
	ADD(numbers, "Unsuccessful delayed ACKs (ack_classes timing_quick) per 100 data segments, "
		     "and their share of the ACKs:");
	for (int i = 0; i < 3; i++) {
		struct side q = side_of(m, set, names[i], RP_M_QUICK100, 1, "%.1f");
		struct rp_stat sh = q.c ? rp_cfg_stat_fn(m, q.c, ratio, quick_share)
					: (struct rp_stat){NAN, NAN, 0};
		ADD(numbers, "%s %s %s", i ? ";" : "", names[i], q.txt);
		if (sh.n)
			ADD(numbers, ", %.0f%% of the ACKs", 100 * sh.mean);
		if (i < 2 && sh.n) {
			any = true;
			adds |= sh.mean >= LK_FINDINGS_QUICK_SHARE;
		}
	}
	ADD(numbers, ". Threshold: %.0f%% of an LRO configuration's ACKs.",
	    100 * LK_FINDINGS_QUICK_SHARE);
	ADD(mechanism, "An ACK for at most one MSS that leaves before the 40 ms delayed-ACK timer "
		       "is a delayed ACK that did not happen: quick-ACK mode (connection start, "
		       "receive-window growth), the application draining the socket, or a lone "
		       "segment that LRO could not merge; each one is an ACK delayed ACK would have "
		       "saved.");
	if (!any) {
		not_testable(f, "the receiver's ACK timing classes for %s or %s (a capture "
				"analyzed at the receiver: ack_classes timing_*)", tb.lro[0], tb.lro[1]);
		return;
	}
	f->verdict = adds ? LK_VERDICT_REPRODUCED : LK_VERDICT_NOT_REPRODUCED;
}

/* ---- 5. SACK rate lower with LRO ---- */
static const enum rp_metric sack_per_rexmt[2] = {RP_M_SACK, RP_M_REXMT};

static void drops_txt(const struct rp_model *m, int set, struct lk_finding *f,
		      const char *const names[3], bool plain)
{
	ADD(numbers, " Drops per run:");
	if (!plain) { /* real hosts have no emulated stages */
		ADD(numbers, " stage (inside the emulated path)");
		for (int i = 0; i < 3; i++)
			ADD(numbers, " %s %s", names[i],
			    side_of(m, set, names[i], RP_M_STAGE_DROPS, 1, "%.0f").txt);
		ADD(numbers, ";");
	}
	ADD(numbers, " capture (missed by libpcap, not losses)");
	for (int i = 0; i < 3; i++)
		ADD(numbers, " %s %s", names[i],
		    side_of(m, set, names[i], RP_M_CAPTURE_DROPS, 1, "%.0f").txt);
	ADD(numbers, ".");
}

static void claim_sack(const struct rp_model *m, int set, struct lk_finding *f)
{
	struct tbn tb = tbn_of(m, set);
	const char *const names[3] = {tb.base, tb.lro[0], tb.lro[1]};
	struct side r[3], pr[3];
	for (int i = 0; i < 3; i++) {
		r[i] = side_of(m, set, names[i], RP_M_SACK100, 1, "%.2f");
		pr[i].c = r[i].c;
		pr[i].name = names[i];
		pr[i].s = r[i].c ? rp_cfg_stat_fn(m, r[i].c, ratio, sack_per_rexmt)
				 : (struct rp_stat){NAN, NAN, 0};
		if (pr[i].s.n)
			stat_txt(pr[i].txt, sizeof pr[i].txt, pr[i].s, 1, "%.2f");
		else
			snprintf(pr[i].txt, sizeof pr[i].txt, "n/a");
	}
	ADD(numbers, "SACK packets per 100 data segments: %s %s, %s %s, %s %s; per "
		     "retransmitted segment: %s %s, %s %s, %s %s.", names[0], r[0].txt, names[1],
	    r[1].txt, names[2], r[2].txt, names[0], pr[0].txt, names[1], pr[1].txt, names[2],
	    pr[2].txt);
	drops_txt(m, set, f, names, tb.plain);
	ADD(mechanism, "A receiver ACKs every packet that arrives out of order at once, with SACK "
		       "blocks, and delayed ACK never merges those ACKs, so after a loss the SACKs "
		       "follow the number of packets; LRO delivers fewer, larger packets. (A modern "
		       "guest kernel also compresses SACKs, tcp_comp_sack, which the paper's 2.6.18 "
		       "did not.)");
	if (!need(f, &r[0], "SACK counts (a receiver capture)"))
		return;
	if (!(r[0].s.mean > 0) || !pr[0].s.n) {
		if (tb.plain)
			not_testable(f, "losses in the native runs (no SACK or no retransmission there): "
					"a slower receiver or a loaded link between the hosts");
		else
			not_testable(f, "losses in the xen runs (no SACK or no retransmission there): a "
					"slow guest with a small ring or vif queue (guest.load, "
					"guest.wake_us, ring.slots, vif.qlen) makes netback drop");
		return;
	}
	int have = 0, lower = 0;
	for (int i = 1; i < 3; i++) {
		if (!r[i].s.n)
			continue;
		if (!pr[i].s.n) {
			ADD(numbers, " %s lost nothing (no retransmission): not compared.", names[i]);
			continue;
		}
		have++;
		enum cmp a = compare(r[i].s, r[0].s), b = compare(pr[i].s, pr[0].s);
		lower += a == CMP_LESS && b == CMP_LESS;
		if (a == CMP_LESS && b == CMP_LESS)
			ADD(numbers, " %s has fewer SACKs than %s per segment and per loss.", names[i],
			    names[0]);
		else if (a == CMP_LESS)
			ADD(numbers, " %s has fewer SACKs per segment but not per loss: fewer losses, "
				     "not fewer SACKs per loss.", names[i]);
		else if (a != CMP_LESS)
			ADD(numbers, " %s's SACK rate is %s%s %s's%s.", names[i], cmp_word(a),
			    a == CMP_SAME ? " as" : " than", names[0],
			    a == CMP_SAME ? " within the spread" : "");
	}
	if (!have) {
		not_testable(f, "ok runs of %s or %s with losses (SACK counts from a "
				"receiver capture and retransmissions from a sender capture)", names[1],
			     names[2]);
		return;
	}
	f->verdict = lower == have ? LK_VERDICT_REPRODUCED : LK_VERDICT_NOT_REPRODUCED;
}

/* ---- 6. bandwidth estimate rises until SACKs arrive ---- */
struct bwe_tally {
	int runs_bwe, runs_sack, episodes, fit;
	double sacks, sack_span_ns;   /* SACK arrivals, and the time from each run's first to last */
	double rise[256], after[256]; /* relative changes of the first 256 episodes */
	const char *est;
};

struct pt {
	int64_t t;
	double v;
};

static double mean_pts(const struct pt *p, int from, int to)
{
	double s = 0;
	for (int i = from; i < to; i++)
		s += p[i].v;
	return to > from ? s / (to - from) : NAN;
}

/* The episodes of one series: pts (time order) and SACK arrival times. */
static void episodes(struct bwe_tally *t, const struct pt *p, int np, const int64_t *sk, int ns)
{
	int i = 0; /* first estimate after the previous SACK */
	for (int k = 0; k < ns; k++) {
		int j = i;
		while (j < np && p[j].t < sk[k])
			j++;
		int n = j - i;
		if (n >= 8) {
			int q = n / 4, after_end = j;
			while (after_end < np && after_end - j < q)
				after_end++;
			if (after_end - j >= 2) {
				double first = mean_pts(p, i, i + q), last = mean_pts(p, j - q, j);
				double after = mean_pts(p, j, after_end);
				bool rises = last > first * (1 + LK_FINDINGS_MIN_REL);
				bool stops = after <= last * (1 + LK_FINDINGS_MIN_REL);
				if (t->episodes < 256) {
					t->rise[t->episodes] = first > 0 ? last / first - 1 : NAN;
					t->after[t->episodes] = last > 0 ? after / last - 1 : NAN;
				}
				t->episodes++;
				t->fit += rises && stops;
			}
		}
		while (j < np && p[j].t <= sk[k])
			j++;
		i = j;
	}
}

static int load_i64(sqlite3 *db, const char *sql, int64_t flow, int dir, const char *est,
		    struct pt **out, int *n)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, flow);
	sqlite3_bind_int(st, 2, dir);
	if (est)
		sqlite3_bind_text(st, 3, est, -1, SQLITE_STATIC);
	int cap = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			struct pt *np = realloc(*out, (size_t)cap * sizeof *np);
			if (!np) {
				rc = SQLITE_NOMEM;
				break;
			}
			*out = np;
		}
		(*out)[*n].t = sqlite3_column_int64(st, 0);
		(*out)[(*n)++].v = sqlite3_column_double(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One run's sender capture: the SACK arrivals, then the first estimator
 * (westwood, delivery_rate, goodput) whose series has episodes. */
static int bwe_run(sqlite3 *db, const struct rp_capture_summary *c, struct bwe_tally *t)
{
	static const char *const ests[] = {"westwood", "delivery_rate", "goodput"};
	struct pt *p = NULL, *s = NULL;
	int np = 0, ns = 0, rc;
	rc = load_i64(db, "SELECT DISTINCT t_ns, 0 FROM bwe WHERE flow_id = ? AND dir = ? AND "
		      "(sack = 1 OR estimator = 'sack_ack') ORDER BY t_ns",
		      c->bwe_flow, c->bwe_dir, NULL, &s, &ns);
	int64_t *sk = rc ? NULL : malloc(((size_t)ns + 1) * sizeof *sk);
	if (!rc && !sk)
		rc = -1;
	for (int i = 0; sk && i < ns; i++)
		sk[i] = s[i].t;
	bool any = false;
	for (size_t k = 0; k < 3 && !rc; k++) {
		free(p);
		p = NULL;
		rc = load_i64(db, "SELECT t_ns, value_bps FROM bwe WHERE flow_id = ? AND dir = ? AND "
			      "estimator = ? AND value_bps IS NOT NULL ORDER BY t_ns",
			      c->bwe_flow, c->bwe_dir, ests[k], &p, &np);
		if (rc || !np)
			continue;
		any = true;
		struct bwe_tally one = {0};
		episodes(&one, p, np, sk, ns);
		if (!one.episodes && k < 2)
			continue; /* too few estimates between SACKs: try a denser estimator */
		for (int i = 0; i < one.episodes && i < 256 && t->episodes + i < 256; i++) {
			t->rise[t->episodes + i] = one.rise[i];
			t->after[t->episodes + i] = one.after[i];
		}
		t->episodes += one.episodes;
		t->fit += one.fit;
		if (one.episodes && (!t->est || strcmp(t->est, ests[k])))
			t->est = t->est ? "the first estimator with episodes in each run" : ests[k];
		break;
	}
	if (!rc && any) {
		t->runs_bwe++;
		t->runs_sack += ns > 0;
		t->sacks += ns;
		if (ns > 1)
			t->sack_span_ns += (double)(sk[ns - 1] - sk[0]);
	}
	free(sk);
	free(p);
	free(s);
	return rc;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[k++] = v[i];
	if (!k)
		return NAN;
	qsort(v, (size_t)k, sizeof *v, cmp_d);
	return v[k / 2];
}

static int claim_bwe(sqlite3 *db, const struct rp_model *m, int set, struct lk_finding *f,
		     struct lk_err *e)
{
	struct bwe_tally t = {0};
	int runs = 0;
	for (int i = 0; i < m->nruns; i++) {
		const struct rp_run *r = &m->runs[i];
		if (!r->ok || r->set != set)
			continue;
		runs++;
		if (r->snd_cap < 0 || !m->captures[r->snd_cap].bwe_flow)
			continue;
		if (bwe_run(db, &m->captures[r->snd_cap], &t) < 0)
			return lk_errf(e, LK_EXIT_RUNTIME, "findings: reading bwe: %s",
				       sqlite3_errmsg(db));
	}
	ADD(mechanism, "Without loss every ACK lets the sender grow its window and the estimate "
		       "follows the delivery rate up; the first SACK marks a loss: the sender enters "
		       "recovery, stops growing, and the estimate levels off or falls.");
	ADD(numbers, "%d ok run(s); %d with bandwidth estimates, %d of them with SACK arrivals.",
	    runs, t.runs_bwe, t.runs_sack);
	if (!t.runs_bwe) {
		not_testable(f, "bandwidth estimates (table bwe: the sender's capture analyzed)");
		return 0;
	}
	if (!t.runs_sack) {
		not_testable(f, "SACK arrivals: nothing was lost (a slow guest with a small ring or "
				"vif queue makes netback drop)");
		return 0;
	}
	if (t.sacks > 1 && t.sack_span_ns > 0)
		ADD(numbers, " %.0f SACK-bearing ACKs, one every %.2f ms on average.", t.sacks,
		    t.sack_span_ns / 1e6 / (t.sacks - t.runs_sack));
	if (!t.episodes) {
		not_testable(f, "a SACK arrival with at least 8 estimates since the previous one (with "
				"losses this frequent there is no loss-free stretch for the estimate to "
				"rise in: fewer drops, e.g. a larger vif.qlen or ring)");
		return 0;
	}
	int n = t.episodes < 256 ? t.episodes : 256;
	double rise = median(t.rise, n), after = median(t.after, n);
	ADD(numbers, " Estimator %s: %d of %d SACK episodes fit (the estimate rose before the SACK "
		     "and did not rise after it); median change over the pre-SACK interval %+.0f%%, "
		     "right after the SACK %+.0f%%.", t.est, t.fit, t.episodes, 100 * rise,
	    100 * after);
	f->verdict = 3 * t.fit >= 2 * t.episodes ? LK_VERDICT_REPRODUCED : LK_VERDICT_NOT_REPRODUCED;
	return 0;
}

/* ---- 7. LRO phys improves CPU use across the system ---- */
static double dom_cpu(const struct rp_model *m, const struct rp_run *r, const void *dom)
{
	return rp_run_domain_cpu(m, r, dom);
}

/* Plain hosts: LRO in the NIC (native-lro) against none (native), the
 * receiving host's CPU only (the lrokit recv process); native-gro beside. */
static void claim_cpu_plain(const struct rp_model *m, int set, const struct tbn *tb,
			    struct lk_finding *f)
{
	struct side b = side_of(m, set, tb->base, RP_M_CPU_GB, 1, "%.2f");
	struct side l = side_of(m, set, tb->nic_lro, RP_M_CPU_GB, 1, "%.2f");
	struct side g = side_of(m, set, tb->lro[0], RP_M_CPU_GB, 1, "%.2f");
	ADD(numbers, "Between plain hosts (%s), there are no domains: the receiving host's CPU "
		     "seconds per GB (its lrokit recv process; never the sender machine's): %s %s; %s "
		     "%s; %s %s.", tb->testbed, b.name, b.txt, l.name, l.txt, g.name, g.txt);
	ADD(mechanism, "LRO in the NIC hands the receiver's kernel fewer, larger packets, so its "
		       "per-packet work (interrupts, the IP/TCP input path, ACKs) shrinks.");
	bool ok = need(f, &b, "the receiver's CPU time per GB (lrokit recv's counters)");
	if (!l.c) {
		not_testable(f, "an ok run of %s (a receiving NIC whose LRO can be switched: ethtool "
			     "-k shows large-receive-offload not [fixed])", tb->nic_lro);
		return;
	}
	if (!need(f, &l, "the receiver's CPU time per GB (lrokit recv's counters)") || !ok)
		return;
	enum cmp c = compare(l.s, b.s);
	ADD(numbers, " %s is %s%s %s%s.", l.name, cmp_word(c), c == CMP_SAME ? " as" : " than",
	    b.name, c == CMP_SAME ? " within the spread" : "");
	f->verdict = c == CMP_LESS ? LK_VERDICT_REPRODUCED : LK_VERDICT_NOT_REPRODUCED;
}

static void claim_cpu(const struct rp_model *m, int set, struct lk_finding *f)
{
	struct tbn tb = tbn_of(m, set);
	if (tb.plain) {
		claim_cpu_plain(m, set, &tb, f);
		return;
	}
	static const char *const names[3] = {"xen", "lro-phys", "lro-virt"};
	static const char *const doms[2] = {"dom0", "domU"};
	struct side t[3];
	struct rp_stat d[3][2];
	ADD(numbers, "Receiving-side CPU seconds per GB:");
	for (int i = 0; i < 3; i++) {
		t[i] = side_of(m, set, names[i], RP_M_CPU_GB, 1, "%.2f");
		ADD(numbers, "%s %s %s", i ? ";" : "", names[i], t[i].txt);
		for (int k = 0; k < 2; k++) {
			d[i][k] = t[i].c ? rp_cfg_stat_fn(m, t[i].c, dom_cpu, doms[k])
					 : (struct rp_stat){NAN, NAN, 0};
			if (d[i][k].n)
				ADD(numbers, "%s%s %.2f", k ? ", " : " (", doms[k], d[i][k].mean);
		}
		if (d[i][0].n || d[i][1].n)
			ADD(numbers, ")");
	}
	ADD(numbers, ".");
	ADD(mechanism, "LRO in the NIC stage turns many frames into one before the bridge, "
		       "netback, the ring, netfront and the guest's TCP, so every later stage handles "
		       "fewer packets, but only while aggregates cross the bridge whole (bridge.gso "
		       "= 1); with bridge.gso = 0 they are split again before netback and only the "
		       "NIC stage and the guest's TCP save.");
	double gso = set_param(m, set, "bridge.gso");
	if (!isnan(gso))
		ADD(mechanism, " Here bridge.gso = %g.", gso);
	bool ok = need(f, &t[0], "CPU time per GB (counters)");
	if (!need(f, &t[1], "CPU time per GB (counters)") || !ok)
		return;
	enum cmp c = compare(t[1].s, t[0].s);
	bool worse = false;
	for (int k = 0; k < 2; k++)
		if (compare(d[1][k], d[0][k]) == CMP_MORE) {
			worse = true;
			ADD(numbers, " lro-phys uses more CPU in %s than xen.", doms[k]);
		}
	if (c != CMP_LESS)
		ADD(numbers, " lro-phys's total is %s%s.", cmp_word(c),
		    c == CMP_SAME ? " as xen's within the spread" : " than xen's");
	f->verdict = c == CMP_LESS && !worse ? LK_VERDICT_REPRODUCED : LK_VERDICT_NOT_REPRODUCED;
}

/* ---- the host kept the model's time ---- */
/* A run whose timed stages ran late on average (the host too busy: the NIC
 * stage behind its modelled interrupts, netfront behind the guest's
 * modelled wake-ups) measured the emulator, not the model: polls found more
 * frames than the model says, and rings overflowed that the model would
 * not overflow. Every claim of a set with such a run is not testable; its
 * numbers stay, with the lateness beside them. A run's lateness is the
 * larger of its two stages' means (late_ns / irqs). */
static void host_kept_time(const struct rp_model *m, int set, struct lk_finding out[LK_NCLAIMS])
{
	static const char *const stages[] = {"nic", "netfront"};
	int late = 0, timed = 0;
	double worst = 0;
	const char *worst_stage = "";
	for (int i = 0; i < m->nruns; i++) {
		const struct rp_run *r = &m->runs[i];
		if (!r->ok || r->set != set)
			continue;
		double mean = -1;
		const char *st = "";
		for (int k = 0; k < 2; k++) {
			char ki[32], kl[32];
			snprintf(ki, sizeof ki, "%s irqs", stages[k]);
			snprintf(kl, sizeof kl, "%s late_ns", stages[k]);
			const struct rp_kv *irqs = rp_kvs_find(&r->stagec, ki);
			const struct rp_kv *ns = rp_kvs_find(&r->stagec, kl);
			if (irqs && ns && irqs->v > 0 && ns->v / irqs->v > mean)
				mean = ns->v / irqs->v, st = stages[k];
		}
		if (mean < 0)
			continue;
		timed++;
		if (mean > (double)LK_MODEL_LATE_WARN_NS) {
			late++;
			if (mean > worst)
				worst = mean, worst_stage = st;
		}
	}
	if (!late)
		return;
	for (int c = 0; c < LK_NCLAIMS; c++) {
		struct lk_finding *f = &out[c];
		addf(f->numbers, sizeof f->numbers, " The timed stages (the NIC's interrupts, netfront's "
		     "wake-ups) were late by more than %.0f us on average in %d of %d timed runs "
		     "(worst %.0f us, %s).", (double)LK_MODEL_LATE_WARN_NS / 1e3, late, timed,
		     worst / 1e3, worst_stage);
		f->missing[0] = 0;
		not_testable(f, "runs on a host that kept the model's time: in %d of %d runs a timed "
			     "stage (the NIC's interrupts, netfront's wake-ups) came on average more "
			     "than %.0f us late (worst %.0f us, %s), so the frames per poll and the "
			     "drops are the emulator's falling behind, not the model (rerun on a quiet "
			     "host)", late, timed, (double)LK_MODEL_LATE_WARN_NS / 1e3, worst / 1e3,
			     worst_stage);
	}
}

/* ---- all claims ---- */
int rp_findings(sqlite3 *db, const struct rp_model *m, int set, struct lk_finding out[LK_NCLAIMS],
		struct lk_err *e)
{
	for (int i = 0; i < LK_NCLAIMS; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].claim = (enum lk_claim)i;
		out[i].id = claims[i].id;
		out[i].text = claims[i].text;
		out[i].verdict = LK_VERDICT_NOT_TESTABLE;
	}
	claim_lro_rate(m, set, &out[LK_CLAIM_LRO_RATE_PHYS_LT_VIRT]);
	claim_throughput(m, set, &out[LK_CLAIM_VIRT_HIGHEST_THROUGHPUT]);
	claim_fewer_acks(m, set, &out[LK_CLAIM_LRO_FEWER_ACKS]);
	claim_failed_delack(m, set, &out[LK_CLAIM_FAILED_DELACK_ADDS_ACKS]);
	claim_sack(m, set, &out[LK_CLAIM_SACK_RATE_LOWER]);
	claim_cpu(m, set, &out[LK_CLAIM_PHYS_LRO_CPU]);
	int rc = claim_bwe(db, m, set, &out[LK_CLAIM_BWE_RISES_UNTIL_SACK], e);
	if (rc == 0)
		host_kept_time(m, set, out);
	return rc;
}

int lk_findings_eval(sqlite3 *db, const int64_t *run_ids, size_t n_ids,
		     struct lk_finding out[LK_NCLAIMS], int *nsets, struct lk_err *e)
{
	return lk_findings_eval_set(db, run_ids, n_ids, 0, out, NULL, 0, nsets, e);
}

int lk_findings_eval_set(sqlite3 *db, const int64_t *run_ids, size_t n_ids, int set,
			 struct lk_finding out[LK_NCLAIMS], char *label, size_t nlabel, int *nsets,
			 struct lk_err *e)
{
	struct lk_report_opts o = {.run_ids = run_ids, .n_run_ids = n_ids};
	struct rp_model m;
	int rc = rp_model_load(db, &o, &m, e);
	if (rc == 0) {
		if (nsets)
			*nsets = m.nsets;
		if (set > 0 && set >= m.nsets)
			rc = lk_errf(e, LK_EXIT_USAGE, "findings: no set %d (%d sets)", set, m.nsets);
		else
			rc = rp_findings(db, &m, set, out, e);
		if (label && nlabel)
			snprintf(label, nlabel, "%s", set < m.nsets ? m.sets[set].label : "");
	}
	rp_model_free(&m);
	return rc;
}
