/* fuzz/fuzz-acks.c - libFuzzer target: the ACK classifier (analyzers/acks.c)
 * and the bandwidth estimators it drives (analyzers/bwe.c), fed the way
 * `lrokit analyze` feeds them (decode -> connection table -> ackset observer).
 *
 * Input: a frame stream (fuzz/frames.h); byte 0 also picks where the capture
 * is said to be taken ((byte0 / 10) % 3: auto, sender, receiver). Asserted
 * for both directions of every connection:
 *   - every connection that got packets has ACK results;
 *   - the classes partition the classified ACKs: pure + with_data + fin =
 *     classified; unknown + dup + window_update + adv0_other + adv_1 + adv_2
 *     + stretch = classified; the advance histogram sums to dup + adv_1 +
 *     adv_2 + stretch; with valid timing the timing classes sum to
 *     classified, without it a reason is given;
 *   - classified <= ack_pkts, dsack <= sack <= ack_pkts, zero_window <= ack_pkts;
 *   - ack_pkts, sack and dsack equal the connection tracker's tcptrace
 *     counters ack_pkts, sack_pkts and dsack_pkts (acks.h promises this);
 *   - the side decision is one of its documented values;
 *   - the JSON of the ACK breakdown and of the estimators is valid JSON
 *     (no NaN/Infinity), and the text/CSV writers do not crash.
 */
#include "analyzers/acks.h"
#include "analyzers/bwe.h"
#include "analyzers/flow.h"
#include "lib/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/frames.h"
#include "fuzz/json-check.h"

static void check_json(void (*fn)(const void *, int, FILE *), const void *obj, int dir,
		       const char *what)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	FZ_CHECK(m != NULL);
	fn(obj, dir, m);
	FZ_CHECK(fclose(m) == 0);
	if (!json_valid(buf, n)) {
		fprintf(stderr, "fuzz-acks: invalid JSON from %s (dir %d): %s\n", what, dir, buf);
		abort();
	}
	free(buf);
}
static void acks_json(const void *a, int d, FILE *f) { lk_acks_json(a, d, f); }
static void bwe_json(const void *b, int d, FILE *f) { lk_bwe_json(b, d, f); }

static FILE *devnull(void)
{
	static FILE *f;
	if (!f)
		f = fopen("/dev/null", "w");
	FZ_CHECK(f != NULL);
	return f;
}

static void check_dir(const struct lk_acks *ak, int d, const struct lk_flow *fl)
{
	const struct lk_acks_dir *o = lk_acks_dir(ak, d);
	FZ_CHECK(o != NULL);
	FZ_CHECK(o->classified <= o->ack_pkts);
	FZ_CHECK(o->pure + o->with_data + o->fin == o->classified);
	FZ_CHECK(o->adv_unknown + o->dup + o->window_update + o->adv0_other + o->adv_1 + o->adv_2 +
		 o->adv_stretch == o->classified);
	uint64_t h = 0;
	for (int i = 0; i < LK_ACKS_HIST; i++)
		h += o->adv_hist[i];
	FZ_CHECK(h == o->dup + o->adv_1 + o->adv_2 + o->adv_stretch);
	FZ_CHECK(o->dsack <= o->sack && o->sack <= o->ack_pkts);
	FZ_CHECK(o->zero_window <= o->ack_pkts);
	if (o->timing_valid) {
		uint64_t t = 0;
		for (int i = 0; i < LK_T__COUNT; i++)
			t += o->timing[i];
		FZ_CHECK(t == o->classified);
	} else {
		FZ_CHECK(o->timing_note != NULL && o->timing_note[0]);
	}
	FZ_CHECK(o->mss_source != NULL);
	/* the same counts as the tcptrace counters of the connection tracker */
	FZ_CHECK(o->ack_pkts == fl->d[d].ack_pkts);
	FZ_CHECK(o->sack == fl->d[d].sack_pkts);
	FZ_CHECK(o->dsack == fl->d[d].dsack_pkts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer entry point */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r;
	fz_init(&r, data, size);
	struct lk_acks_params ap;
	lk_acks_params_default(&ap);
	static const enum lk_side sides[3] = {LK_SIDE_AUTO, LK_SIDE_SENDER, LK_SIDE_RECEIVER};
	ap.side = sides[size ? (data[0] / FZ_NDLTS) % 3 : 0];
	struct lk_ackset *set = lk_ackset_new(&ap, NULL);
	struct lk_flowtab *t = lk_flowtab_new();
	FZ_CHECK(set && t);

	uint64_t ts;
	uint32_t len;
	uint8_t *f;
	while ((f = fz_next(&r, &len, &ts))) {
		struct lk_pkt p;
		if (lk_decode(r.dlt, f, len, len, &p) == LK_DEC_TCP) {
			int dir;
			bool is_new;
			struct lk_flow *fl = lk_flowtab_add(t, &p, ts, &dir, &is_new);
			FZ_CHECK(fl != NULL);
			lk_ackset_packet(set, fl->idx, dir, &p, ts);
		}
		free(f);
	}
	struct lk_err e = {0};
	FZ_CHECK(lk_ackset_finish(set, &e) == 0);
	FZ_CHECK(lk_ackset_finish(set, &e) == 0); /* idempotent */

	size_t n = lk_flowtab_count(t);
	for (size_t i = 0; i < n; i++) {
		const struct lk_flow *fl = lk_flowtab_get(t, i);
		struct lk_acks *ak = lk_ackset_acks(set, fl->idx);
		struct lk_bwe *bw = lk_ackset_bwe(set, fl->idx);
		FZ_CHECK(ak != NULL);
		int near = lk_acks_capture_near(ak), dd = lk_acks_data_dir(ak);
		FZ_CHECK(near >= -1 && near <= 1);
		FZ_CHECK(dd >= -1 && dd <= 1);
		const char *rule = lk_acks_side_rule(ak);
		FZ_CHECK(rule && (!strcmp(rule, "forced") || !strcmp(rule, "evidence") ||
				  !strcmp(rule, "unknown")));
		const struct lk_side_decision *sd = lk_acks_side(ak);
		FZ_CHECK(sd->near == near && sd->n_ev <= LK_SIDE_MAX_EV);
		FZ_CHECK(sd->confidence >= 0.5 && sd->confidence <= 1);
		FZ_CHECK((sd->side == LK_SV_NONE) == (near < 0));
		for (unsigned k = 0; k < sd->n_ev; k++)
			FZ_CHECK(sd->ev[k].strength >= 0 && sd->ev[k].strength <= 1 &&
				 (sd->ev[k].verdict == LK_SV_NONE || sd->ev[k].strength > 0));
		for (int d = 0; d < 2; d++) {
			check_dir(ak, d, fl);
			check_json(acks_json, ak, d, "lk_acks_json");
			lk_acks_text(ak, d, "  ", devnull());
			if (bw) {
				check_json(bwe_json, bw, d, "lk_bwe_json");
				lk_bwe_text(bw, d, "  ", devnull());
				lk_bwe_csv(bw, d, devnull());
			}
		}
	}
	lk_ackset_free(set);
	lk_flowtab_free(t);
	return 0;
}
