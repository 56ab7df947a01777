/* tests/helpers/ackbwe-dump.c - run a capture through the analyze path
 * (analyzers/analyze.h) with the ACK classifier and the bandwidth estimators
 * attached as an observer, and print the results for the real-transfer tests.
 *
 *   ackbwe-dump [--side auto|sender|receiver] [--hz N] [--kv|--json|--text]
 *               [--csv FLOW:DIR] FILE
 *
 * --kv (default): one "FLOW DIR KEY VALUE" line per number (shell-friendly):
 *   flow counters (tcptrace names), acks.*, acks.timing.*, bwe.*.
 * --json: per flow {"a2b":{"acks":...,"bwe":...},"b2a":{...}} lines.
 * --csv F:D: the bwe time series of flow F direction D (0/1) as CSV.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/acks.h"
#include "analyzers/analyze.h"
#include "analyzers/bwe.h"
#include "analyzers/flow.h"

static const char *dn[2] = {"a2b", "b2a"};

static void kvn(uint64_t fl, int d, const char *k, double v)
{
	if (isnan(v))
		printf("%" PRIu64 " %s %s null\n", fl, dn[d], k);
	else
		printf("%" PRIu64 " %s %s %.6g\n", fl, dn[d], k, v);
}

static void kv(const struct lk_flow *f, int d, const struct lk_acks *a, const struct lk_bwe *b)
{
	const struct lk_dirstat *s = &f->d[d];
	uint64_t fl = f->idx;
	kvn(fl, d, "data_pkts", (double)s->data_pkts);
	kvn(fl, d, "ack_pkts", (double)s->ack_pkts);
	kvn(fl, d, "sack_pkts", (double)s->sack_pkts);
	kvn(fl, d, "dsack_pkts", (double)s->dsack_pkts);
	kvn(fl, d, "rexmt_data_pkts", (double)s->rexmt_data_pkts);
	const struct lk_acks_dir *o = lk_acks_dir(a, d);
	struct {
		const char *k;
		uint64_t v;
	} c[] = {{"acks.ack_pkts", o->ack_pkts}, {"acks.classified", o->classified},
		 {"acks.pure", o->pure},         {"acks.with_data", o->with_data},
		 {"acks.dup", o->dup},           {"acks.adv_1", o->adv_1},
		 {"acks.adv_2", o->adv_2},       {"acks.adv_stretch", o->adv_stretch},
		 {"acks.adv0_other", o->adv0_other}, {"acks.window_update", o->window_update},
		 {"acks.sack", o->sack},         {"acks.dsack", o->dsack},
		 {"acks.zero_window", o->zero_window}, {"acks.mss", o->mss}};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++)
		kvn(fl, d, c[i].k, (double)c[i].v);
	printf("%" PRIu64 " %s acks.capture_near %d\n", fl, dn[d], lk_acks_capture_near(a));
	printf("%" PRIu64 " %s acks.side_rule %s\n", fl, dn[d], lk_acks_side_rule(a));
	const struct lk_side_decision *sd = lk_acks_side(a);
	printf("%" PRIu64 " %s acks.side %s\n", fl, dn[d],
	       sd->side == LK_SV_NONE ? "unknown" : lk_side_verdict_name(sd->side));
	kvn(fl, d, "acks.side_confidence", sd->confidence);
	for (int i = 0; i < LK_T__COUNT; i++) {
		char k[64];
		snprintf(k, sizeof k, "acks.timing.%s", lk_timing_names[i]);
		kvn(fl, d, k, o->timing_valid ? (double)o->timing[i] : NAN);
	}
	const struct lk_bwe_dir *w = lk_bwe_dir(b, d);
	kvn(fl, d, "bwe.valid", w->valid);
	for (int k = 0; k < LK_BWE__COUNT; k++) {
		char key[64];
		snprintf(key, sizeof key, "bwe.%s.median_bps", lk_bwe_est_names[k]);
		kvn(fl, d, key, w->valid ? w->sum[k].median_bps : NAN);
		snprintf(key, sizeof key, "bwe.%s.points", lk_bwe_est_names[k]);
		kvn(fl, d, key, (double)w->sum[k].n);
	}
	kvn(fl, d, "bwe.tcpi_median_bps", w->valid ? w->tcpi_median_bps : NAN);
	kvn(fl, d, "bwe.min_rtt_us", (double)w->min_rtt_ns / 1e3);
	kvn(fl, d, "bwe.sack_acks", (double)w->sack_acks);
	kvn(fl, d, "bwe.bytes_acked", (double)w->data_bytes_acked);
	uint64_t D = w->last_ack_ns > w->first_data_ns ? w->last_ack_ns - w->first_data_ns : 0;
	kvn(fl, d, "bwe.avg_goodput_bps", D ? (double)w->data_bytes_acked * 8e9 / (double)D : NAN);
	kvn(fl, d, "bwe.steady_from_ns", (double)w->steady_from_ns);
	kvn(fl, d, "bwe.steady_to_ns", (double)w->steady_to_ns);
	kvn(fl, d, "bwe.first_data_ns", (double)w->first_data_ns);
}

int main(int argc, char **argv)
{
	struct lk_acks_params ap;
	struct lk_bwe_params bp;
	lk_acks_params_default(&ap);
	lk_bwe_params_default(&bp);
	int mode = 0; /* 0 kv, 1 json, 2 text, 3 csv */
	long csv_flow = -1;
	int csv_dir = 0;
	static const struct option lo[] = {{"side", required_argument, 0, 's'},
					   {"hz", required_argument, 0, 'z'},
					   {"kv", no_argument, 0, 'k'},
					   {"json", no_argument, 0, 'j'},
					   {"text", no_argument, 0, 't'},
					   {"csv", required_argument, 0, 'c'},
					   {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!strcmp(optarg, "sender"))
				ap.side = LK_SIDE_SENDER;
			else if (!strcmp(optarg, "receiver"))
				ap.side = LK_SIDE_RECEIVER;
			else if (strcmp(optarg, "auto")) {
				fprintf(stderr, "ackbwe-dump: bad --side '%s'\n", optarg);
				return 2;
			}
			break;
		case 'z': bp.hz = (unsigned)atoi(optarg); break;
		case 'k': mode = 0; break;
		case 'j': mode = 1; break;
		case 't': mode = 2; break;
		case 'c':
			mode = 3;
			if (sscanf(optarg, "%ld:%d", &csv_flow, &csv_dir) != 2) {
				fprintf(stderr, "ackbwe-dump: bad --csv '%s' (want FLOW:DIR)\n", optarg);
				return 2;
			}
			break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: ackbwe-dump [--side S] [--hz N] [--kv|--json|--text|--csv F:D] "
				"FILE\n");
		return 2;
	}
	struct lk_ackset *set = lk_ackset_new(&ap, &bp);
	if (!set) {
		fprintf(stderr, "ackbwe-dump: out of memory\n");
		return 1;
	}
	struct lk_observer ob = {.ctx = set, .packet = lk_ackset_packet};
	struct lk_analyze_opts o = {.point = "file", .drops = -1, .observers = &ob,
				    .n_observers = 1};
	struct lk_analysis an;
	struct lk_err e = {0};
	if (lk_analyze_file(argv[optind], &o, &an, &e) < 0) {
		fprintf(stderr, "ackbwe-dump: %s\n", e.msg);
		lk_ackset_free(set);
		return 1;
	}
	int rc = 0;
	if (lk_ackset_finish(set, &e) < 0) {
		fprintf(stderr, "ackbwe-dump: %s\n", e.msg);
		rc = 1;
	}
	size_t n = lk_flowtab_count(an.flows);
	for (size_t i = 0; i < n; i++) {
		const struct lk_flow *f = lk_flowtab_get(an.flows, i);
		struct lk_acks *a = lk_ackset_acks(set, f->idx);
		struct lk_bwe *b = lk_ackset_bwe(set, f->idx);
		if (!a || !b)
			continue;
		if (mode == 3) {
			if ((long)f->idx == csv_flow)
				lk_bwe_csv(b, csv_dir, stdout);
			continue;
		}
		if (mode == 1) {
			printf("{\"flow\":%" PRIu64, f->idx);
			for (int d = 0; d < 2; d++) {
				printf(",\"%s\":{\"acks\":", dn[d]);
				lk_acks_json(a, d, stdout);
				printf(",\"bwe\":");
				lk_bwe_json(b, d, stdout);
				printf("}");
			}
			printf("}\n");
		} else if (mode == 2) {
			for (int d = 0; d < 2; d++) {
				printf("flow %" PRIu64 " %s\n", f->idx, dn[d]);
				lk_acks_text(a, d, "  ", stdout);
				lk_bwe_text(b, d, "  ", stdout);
			}
		} else {
			for (int d = 0; d < 2; d++)
				kv(f, d, a, b);
		}
	}
	lk_analysis_free(&an);
	lk_ackset_free(set);
	return rc;
}
