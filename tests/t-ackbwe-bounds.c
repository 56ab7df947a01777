/* t-ackbwe-bounds: memory bounds of the ACK classifier and the bandwidth
 * estimators (analyzers/acks.h LK_ACKS_MAX_PENDING, analyzers/bwe.h
 * LK_BWE_MAX_INFLIGHT): on a capture without the ACKs the per-segment state
 * stops growing, the oldest segments are counted as forgotten, and with the
 * ACKs nothing is forgotten. Also a long idle gap before an ACK (TCP_INFO
 * polling kept as runs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/acks.h"
#include "analyzers/bwe.h"
#include "tests/helpers/tpkt.h"
#include "tests/tap.h"

#define A 0
#define B 1
#define US 1000ull
#define MSS 1448u

#define P tpkt

static void feed(struct lk_acks *a, struct lk_bwe *b, int d, const struct lk_pkt *p, uint64_t ts)
{
	lk_acks_feed(a, d, p, ts);
	lk_bwe_feed(b, d, p, ts);
}

/* Handshake, then n full segments a->b (1 us apart), then (if ack) one ACK
 * from b for all of them. Returns the time after the last packet. */
static uint64_t stream(struct lk_acks *a, struct lk_bwe *b, uint32_t n, bool ack)
{
	struct lk_pkt p = P(LK_TH_SYN, 0, 0, 0);
	p.opt.has_mss = true;
	p.opt.mss = MSS;
	feed(a, b, A, &p, 0);
	p = P(LK_TH_SYN | LK_TH_ACK, 5000, 1, 0);
	p.opt.has_mss = true;
	p.opt.mss = MSS;
	feed(a, b, B, &p, 100 * US);
	p = P(LK_TH_ACK, 1, 5001, 0);
	feed(a, b, A, &p, 200 * US);
	uint64_t t = 300 * US;
	for (uint32_t i = 0; i < n; i++, t += US) {
		p = P(LK_TH_ACK, 1 + i * MSS, 5001, MSS);
		feed(a, b, A, &p, t);
	}
	if (ack) {
		p = P(LK_TH_ACK, 5001, 1 + n * MSS, 0);
		feed(a, b, B, &p, t);
		t += US;
	}
	return t;
}

static bool json_has(const char *s, const char *needle) { return s && strstr(s, needle); }

static char *json(void (*fn)(const void *, int, FILE *), const void *x, int d)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return NULL;
	fn(x, d, f);
	fclose(f);
	return buf;
}
static void acks_json(const void *x, int d, FILE *f) { lk_acks_json(x, d, f); }
static void bwe_json(const void *x, int d, FILE *f) { lk_bwe_json(x, d, f); }

int main(void)
{
	struct lk_acks_params ap;
	lk_acks_params_default(&ap);
	ap.side = LK_SIDE_SENDER;

	/* 1. no ACKs: 1000 segments more than the bounds */
	uint32_t extra = 1000, n = LK_BWE_MAX_INFLIGHT + extra;
	struct lk_acks *a = lk_acks_new(&ap);
	struct lk_bwe *b = lk_bwe_new(NULL);
	if (!a || !b) {
		diag("out of memory");
		return 1;
	}
	stream(a, b, n, false);
	lk_acks_finish(a);
	lk_bwe_finish(b, lk_acks_capture_near(a));
	is_int(lk_bwe_dir(b, A)->forgotten_segs, extra,
	       "no ACKs: bwe keeps %d segments in flight, forgets the oldest", LK_BWE_MAX_INFLIGHT);
	is_int(lk_acks_dir(a, B)->forgotten_segs, (int64_t)n - LK_ACKS_MAX_PENDING,
	       "no ACKs: the classifier keeps %d unacknowledged segments", LK_ACKS_MAX_PENDING);
	char *j = json(bwe_json, b, A);
	ok(json_has(j, "\"forgotten_segs\":1000"), "bwe JSON reports forgotten_segs");
	free(j);
	j = json(acks_json, a, B);
	ok(json_has(j, "\"forgotten_segs\":"), "acks JSON reports forgotten_segs");
	free(j);
	lk_acks_free(a);
	lk_bwe_free(b);

	/* 2. the same with the final ACK: snd_una still advances over all */
	a = lk_acks_new(&ap);
	b = lk_bwe_new(NULL);
	if (!a || !b) {
		diag("out of memory");
		return 1;
	}
	stream(a, b, n, true);
	lk_acks_finish(a);
	lk_bwe_finish(b, lk_acks_capture_near(a));
	is_int(lk_bwe_dir(b, A)->data_bytes_acked, (int64_t)n * MSS,
	       "the ACK covers every byte (bytes acked independent of the bound)");
	is_int(lk_acks_dir(a, B)->adv_stretch, 1, "one stretch ACK");
	lk_acks_free(a);
	lk_bwe_free(b);

	/* 3. below the bounds nothing is forgotten and the JSON is unchanged */
	a = lk_acks_new(&ap);
	b = lk_bwe_new(NULL);
	if (!a || !b) {
		diag("out of memory");
		return 1;
	}
	uint64_t t = stream(a, b, 20000, true);
	/* 4. an ACK after an hour of silence: 360000 TCP_INFO readings */
	struct lk_pkt p = P(LK_TH_ACK, 1 + 20000 * MSS, 5001, MSS);
	feed(a, b, A, &p, t);
	p = P(LK_TH_ACK, 5001, 1 + 20001 * MSS, 0);
	feed(a, b, B, &p, t + 3600ull * 1000000000ull);
	lk_acks_finish(a);
	lk_bwe_finish(b, lk_acks_capture_near(a));
	const struct lk_bwe_dir *o = lk_bwe_dir(b, A);
	is_int(o->forgotten_segs, 0, "20000 segments in flight: none forgotten");
	is_int(lk_acks_dir(a, B)->forgotten_segs, 0, "classifier: none forgotten");
	j = json(bwe_json, b, A);
	ok(j && !strstr(j, "forgotten_segs"), "no forgotten_segs key when none");
	free(j);
	j = json(acks_json, a, B);
	ok(j && !strstr(j, "forgotten_segs"), "no forgotten_segs key in the ACK classes when none");
	free(j);
	ok(o->valid, "estimators valid (%s)", o->note ? o->note : "");
	/* the stored rate after the first ACK is read for the whole hour */
	ok(!isnan(o->tcpi_median_bps) && o->tcpi_median_bps > 0,
	   "polled delivery rate over the idle hour: %.0f bit/s", o->tcpi_median_bps);
	lk_acks_free(a);
	lk_bwe_free(b);
	return done_testing();
}
