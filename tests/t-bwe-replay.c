/* t-bwe-replay: Westwood+, delivery-rate and goodput replay (analyzers/bwe.h)
 * on a hand-made sender-side trace; all expected values worked out below. */
#include <math.h>

#include "analyzers/bwe.h"
#include "tests/helpers/tpkt.h"
#include "tests/tap.h"

#define MS 1000000ull

#define P tpkt

#define A 0 /* data sender; the capture is taken here */
#define B 1

static int near_eq(double got, double want, const char *what)
{
	return ok(fabs(got - want) < 0.5, "%s: got %.3f want %.3f", what, got, want);
}

/* The trace (HZ = 1000, so 1 jiffy = 1 ms; MSS 1000 from the SYNs, no
 * timestamps, so no -12):
 *   t=0     SYN a (ISN 0, MSS 1000)       t=1 ms SYN/ACK b (ack 1), a's ACK
 *   k = 1..12: A_k [1+2000(k-1), +1000) at 10k ms, B_k (next 1000) at 10k+1 ms,
 *              b's ACK 1+2000k at 10k+5 ms (one ACK for both)
 *   k = 13: A_13 at 130 ms is lost, B_13 at 131 ms; 135 ms: dup ACK 24001 with
 *           SACK [25001,26001); A_13 retransmitted at 136 ms; 140 ms: ACK 26001.
 */
static void run(struct lk_bwe *b)
{
	struct lk_pkt p = P(LK_TH_SYN, 0, 0, 0);
	p.opt.has_mss = true;
	p.opt.mss = 1000;
	lk_bwe_feed(b, A, &p, 0);
	p = P(LK_TH_SYN | LK_TH_ACK, 7000, 1, 0);
	p.opt.has_mss = true;
	p.opt.mss = 1000;
	lk_bwe_feed(b, B, &p, 1 * MS);
	p = P(LK_TH_ACK, 1, 7001, 0);
	lk_bwe_feed(b, A, &p, 1 * MS);
	for (uint32_t k = 1; k <= 13; k++) {
		uint32_t s = 1 + 2000 * (k - 1);
		p = P(LK_TH_ACK, s, 7001, 1000);
		if (k < 13) /* A_13 is lost before... it still left a: capture it */
			lk_bwe_feed(b, A, &p, 10 * k * MS);
		else
			lk_bwe_feed(b, A, &p, 130 * MS);
		p = P(LK_TH_ACK, s + 1000, 7001, 1000);
		lk_bwe_feed(b, A, &p, (10 * k + 1) * MS);
		if (k < 13) {
			p = P(LK_TH_ACK, 7001, s + 2000, 0);
			lk_bwe_feed(b, B, &p, (10 * k + 5) * MS);
		}
	}
	p = P(LK_TH_ACK, 7001, 24001, 0);
	p.opt.n_sack = 1;
	p.opt.sack[0][0] = 25001;
	p.opt.sack[0][1] = 26001;
	p.tcp_hlen = 32;
	lk_bwe_feed(b, B, &p, 135 * MS);
	p = P(LK_TH_ACK, 24001, 7001, 1000);
	lk_bwe_feed(b, A, &p, 136 * MS);
	p = P(LK_TH_ACK, 7001, 26001, 0);
	lk_bwe_feed(b, B, &p, 140 * MS);
}

int main(void)
{
	struct lk_bwe_params prm;
	lk_bwe_params_default(&prm);
	is_int(prm.hz, 1000, "default HZ 1000");
	struct lk_bwe *b = lk_bwe_new(&prm);
	run(b);
	lk_bwe_finish(b, A);
	const struct lk_bwe_dir *o = lk_bwe_dir(b, A);
	ok(o->valid, "sender-side direction valid");
	ok(!lk_bwe_dir(b, B)->valid, "b sent no data: not valid (%s)",
	   lk_bwe_dir(b, B)->note ? lk_bwe_dir(b, B)->note : "");
	is_int(o->mss, 1000, "mss 1000");
	/* min RTT: the SYN -> SYN/ACK sample, 1 ms (data samples are 4 ms) */
	is_int((long long)o->min_rtt_ns, 1 * MS, "min_rtt = handshake RTT 1 ms");
	is_int((long long)o->data_bytes_acked, 26000, "26000 bytes acknowledged");

	/* ---- Westwood+ ----
	 * Init at the SYN/ACK (1 ms): win_sx = 1, rtt = 20000, first_ack.
	 * ACK1 (15 ms, fast path): first_ack -> w.snd_una = 2001 = snd_una, so the
	 *   first ACK counts 0 bytes; delta 14, rtt 20000 -> no sample. Then
	 *   pkts_acked: rtt = 15 - 11 ms (B_1, the most recent) = 4 jiffies.
	 * ACK2..4 (25,35,45): deltas 24,34,44 <= max(4,50) = 50; bk = 6000.
	 * ACK5 (55): delta 54 > 50: sample = 6000/54 = 111 (integer); filters
	 *   empty -> bw_ns_est = bw_est = 111; bk = 0, win_sx = 55; bk = 2000.
	 *   Point 111 B/jiffy * 1000 * 8 = 888000 bit/s at 55 ms.
	 * ACK6..10 (65..105): delta 10..50, not > 50; bk = 12000.
	 * ACK11 (115): delta 60: sample = 12000/60 = 200;
	 *   bw_ns_est = (7*111 + 200) >> 3 = 977 >> 3 = 122;
	 *   bw_est = (7*111 + 122) >> 3 = 899 >> 3 = 112 -> 896000 bit/s at 115 ms.
	 *   bk = 2000. ACK12 (125): bk = 4000.
	 * Dup ACK with SACK (135): slow path; delta 20; cumul_ack = 0 -> counts one
	 *   mss (1000), accounted = 1000; bk = 5000.
	 * ACK 26001 (140): header-predicted, fast path: bk += 2000 = 7000 (the fast
	 *   path does not offset `accounted`, as in Linux). No window closes. */
	const struct lk_bwe_series *ww = &o->s[LK_BWE_WESTWOOD];
	is_int((long long)ww->n, 2, "westwood: 2 closed windows");
	if (ww->n == 2) {
		is_int((long long)ww->v[0].t_ns, 55 * MS, "window 1 closes at 55 ms");
		near_eq(ww->v[0].bps, 888000, "window 1 = 111 B/jiffy");
		is_int((long long)ww->v[1].t_ns, 115 * MS, "window 2 closes at 115 ms");
		near_eq(ww->v[1].bps, 896000, "window 2 = 112 B/jiffy");
	} else {
		for (int i = 0; i < 4; i++)
			ok(0, "westwood points missing");
	}
	is_int(o->ww_bw_est, 112, "bw_est 112");
	is_int(o->ww_bw_ns_est, 122, "bw_ns_est 122");
	is_int(o->ww_rtt_min, 4, "rtt_min 4 jiffies");
	is_int((long long)o->slow_path_acks, 1, "one slow-path ACK (the SACK)");
	is_int((long long)o->fast_path_acks, 13, "13 fast-path ACKs");

	/* ---- delivery rate ----
	 * delivered starts at 1. k=1: A_1 sent with nothing in flight -> first_tx =
	 * delivered_ts = 10 ms; A_1, B_1 record delivered 1, delivered_ts 10 ms.
	 * ACK1 (15): A_1 then B_1 delivered (delivered = 3); B_1 is the most recent
	 * send: prior_delivered 1, prior_ts 10 ms, send phase 11 - 10 = 1 ms; ack
	 * phase 15 - 10 = 5 ms -> interval 5 ms >= min_rtt 1 ms;
	 * rate = 2 pkts * 1000 B * 8 / 5 ms = 3.2 Mbit/s. Every k <= 12 is the same
	 * (the flight always drains, so each pair restarts the phases): 12 x 3.2M.
	 * SACK ACK (135): B_13 SACKed, delivered 25 -> 26; B_13 had prior 25,
	 * delivered_ts 130 (A_13 restarted it); send phase 131 - 130 = 1 ms, ack
	 * phase 5 ms -> 1 * 8000 / 5 ms = 1.6 Mbit/s (marked SACK).
	 * Retransmitted A_13 at 136 is re-stamped: first_tx 131 (set by the SACK),
	 * delivered_ts 135, delivered 26. ACK 26001 (140): A_13 delivered (27);
	 * B_13 was SACKed (not reused). Send phase 136 - 131 = 5 ms, ack phase
	 * 140 - 135 = 5 ms -> 1.6 Mbit/s. */
	const struct lk_bwe_series *dr = &o->s[LK_BWE_DELIVERY];
	is_int((long long)dr->n, 14, "delivery: 14 samples");
	int good = 0;
	for (size_t i = 0; i < dr->n && i < 12; i++)
		good += fabs(dr->v[i].bps - 3.2e6) < 0.5 && dr->v[i].t_ns == (10 * (i + 1) + 5) * MS;
	is_int(good, 12, "12 samples of 3.2 Mbit/s at 15, 25, ... 125 ms");
	if (dr->n == 14) {
		near_eq(dr->v[12].bps, 1.6e6, "SACK sample 1.6 Mbit/s");
		ok(dr->v[12].sack && dr->v[12].t_ns == 135 * MS, "taken at the SACK ACK, 135 ms");
		near_eq(dr->v[13].bps, 1.6e6, "after the retransmission 1.6 Mbit/s");
		ok(!dr->v[13].sack, "not a SACK ACK");
	} else {
		for (int i = 0; i < 4; i++)
			ok(0, "delivery samples missing");
	}

	/* ---- goodput per RTT window ----
	 * srtt stays < 10 ms, so windows are 10 ms. The first window starts at
	 * ACK1 (15 ms); ACK2 at 25: 2000 B / 10 ms = 1.6 Mbit/s; ... ACK12 at 125
	 * (11 windows). 135: no advance. 140: 2000 B / 15 ms = 1066666.67 bit/s. */
	const struct lk_bwe_series *gp = &o->s[LK_BWE_GOODPUT];
	is_int((long long)gp->n, 12, "goodput: 12 windows");
	if (gp->n == 12) {
		near_eq(gp->v[0].bps, 1.6e6, "window 25 ms: 1.6 Mbit/s");
		near_eq(gp->v[11].bps, 2000 * 8e9 / 15e6, "last window 1.0667 Mbit/s");
	} else {
		ok(0, "goodput");
		ok(0, "goodput");
	}

	/* ---- summary ----
	 * first data 10 ms, last ACK 140 ms, D = 130 ms: steady part
	 * [10 + 32.5, 140 - 13] = [42.5, 127] ms. Westwood points 55, 115 ->
	 * median (888000 + 896000) / 2 = 892000. Delivery: 45..125 -> 3.2M.
	 * Goodput: 45..125 -> 1.6M. Polls every 10 ms from 20 ms up to 130 ms
	 * read the stored rate (3.2M) -> 3.2M. */
	near_eq(o->sum[LK_BWE_WESTWOOD].median_bps, 892000, "westwood median");
	near_eq(o->sum[LK_BWE_DELIVERY].median_bps, 3.2e6, "delivery median");
	near_eq(o->sum[LK_BWE_GOODPUT].median_bps, 1.6e6, "goodput median");
	near_eq(o->tcpi_median_bps, 3.2e6, "polled delivery rate median");
	is_int((long long)o->sack_acks, 1, "one SACK-bearing ACK");
	ok(o->n_sack_ts == 1 && o->sack_ts[0] == 135 * MS, "SACK arrival marked at 135 ms");

	char *buf = NULL;
	size_t bl = 0;
	FILE *f = open_memstream(&buf, &bl);
	lk_bwe_json(b, A, f);
	fclose(f);
	ok(buf && strstr(buf, "\"valid\":true") && strstr(buf, "\"westwood\":{\"points\":2,"
								"\"median_bps\":892000"),
	   "JSON: %s", buf ? buf : "");
	free(buf);
	lk_bwe_free(b);

	/* HZ = 250 (4 ms jiffies): the window limit is HZ/20 = 12 jiffies = 48 ms;
	 * jiffies: 1 ms -> 0, 15 -> 3, 25 -> 6, 35 -> 8, 45 -> 11, 55 -> 13
	 * (delta 13 > max(rtt = ceil(4000 us * 250 / 1e6) = 1, 12) -> closes:
	 * bk = 6000 (ACK2..4), 6000/13 = 461 B/jiffy = 461*250*8 = 922000 bit/s. */
	prm.hz = 250;
	b = lk_bwe_new(&prm);
	run(b);
	lk_bwe_finish(b, A);
	o = lk_bwe_dir(b, A);
	ok(o->s[LK_BWE_WESTWOOD].n >= 1 && o->s[LK_BWE_WESTWOOD].v[0].t_ns == 55 * MS,
	   "HZ=250: first window closes at 55 ms");
	if (o->s[LK_BWE_WESTWOOD].n >= 1)
		near_eq(o->s[LK_BWE_WESTWOOD].v[0].bps, 922000, "HZ=250: 461 B/jiffy");
	else
		ok(0, "HZ=250 point");
	lk_bwe_free(b);

	/* not at the sender: null + reason */
	b = lk_bwe_new(NULL);
	run(b);
	lk_bwe_finish(b, B);
	ok(!lk_bwe_dir(b, A)->valid && lk_bwe_dir(b, A)->note, "receiver-side: invalid (%s)",
	   lk_bwe_dir(b, A)->note ? lk_bwe_dir(b, A)->note : "");
	lk_bwe_free(b);
	return done_testing();
}
