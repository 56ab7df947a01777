/* t-acks-classes: ACK classification on hand-made traces (analyzers/acks.h).
 * Every expected number is derived in the comments next to the packets. */
#include "analyzers/acks.h"
#include "analyzers/bwe.h"
#include "tests/helpers/tpkt.h"
#include "tests/tap.h"

#define MS 1000000ull
#define US 1000ull

/* with the timestamps option (tcp_hlen 32) and the whole payload captured */
static struct lk_pkt P(uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len, uint16_t win)
{
	struct lk_pkt p = tpkt(flags, seq, ack, len);
	p.cap_payload = len;
	p.win = win;
	p.tcp_hlen = 32;
	p.opt.has_ts = true;
	return p;
}

static struct lk_pkt SYN(uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct lk_pkt p = P(flags, seq, ack, 0, 64240);
	p.opt.has_mss = true;
	p.opt.mss = 1460;
	p.opt.sack_ok = true;
	return p;
}

static struct lk_pkt SACK(uint32_t ack, uint16_t win, uint32_t l, uint32_t r)
{
	struct lk_pkt p = P(LK_TH_ACK, 5001, ack, 0, win);
	p.opt.n_sack = 1;
	p.opt.sack[0][0] = l;
	p.opt.sack[0][1] = r;
	p.tcp_hlen = 44;
	return p;
}

#define A 0 /* a -> b: the data sender (client) */
#define B 1 /* b -> a: the receiver, where this capture was taken */

/* Receiver-side capture at b. Both SYNs carry MSS 1460 and timestamps, so
 * the MSS of a's data is 1460 - 12 = 1448. */
static void receiver_side(void)
{
	struct lk_acks_params prm;
	lk_acks_params_default(&prm);
	prm.side = LK_SIDE_RECEIVER;
	struct lk_acks *a = lk_acks_new(&prm);
	uint32_t s1 = 1001; /* a's first data byte: ISN 1000 + 1 */
	struct lk_pkt p;
	/* handshake seen at b: SYN arrives t=0, SYN/ACK leaves 10 us later (local),
	 * the third ACK arrives 1 ms later (a round trip) -> the handshake
	 * evidence says near b (analyzers/side.h; g2 = 990 us >= 3 * g1 = 30 us),
	 * but alone it is too weak to decide, so the side is forced (as the
	 * testbed does) to see the receiver timing classes. */
	p = SYN(LK_TH_SYN, 1000, 0);            lk_acks_feed(a, A, &p, 0);
	p = SYN(LK_TH_SYN | LK_TH_ACK, 5000, 1001); lk_acks_feed(a, B, &p, 10 * US);
	p = P(LK_TH_ACK, 1001, 5001, 0, 500);   lk_acks_feed(a, A, &p, 1000 * US);
	/* (1) seg1 [1001,2449) at 2 ms, ACK 10 us later: adv 1448 = 1 MSS -> adv_1;
	 *     one segment, 10 us < 36 ms -> quick */
	p = P(LK_TH_ACK, s1, 5001, 1448, 500);  lk_acks_feed(a, A, &p, 2 * MS);
	p = P(LK_TH_ACK, 5001, 2449, 0, 500);   lk_acks_feed(a, B, &p, 2 * MS + 10 * US);
	/* (2) seg2 [2449,3897) at 3 ms, seg3 [3897,5345) at 3.1 ms, ACK 5345:
	 *     adv 2896 = 2 MSS -> adv_2; > 1 MSS, no aggregate -> full2 */
	p = P(LK_TH_ACK, 2449, 5001, 1448, 500); lk_acks_feed(a, A, &p, 3 * MS);
	p = P(LK_TH_ACK, 3897, 5001, 1448, 500); lk_acks_feed(a, A, &p, 3 * MS + 100 * US);
	p = P(LK_TH_ACK, 5001, 5345, 0, 500);   lk_acks_feed(a, B, &p, 3 * MS + 110 * US);
	/* (3) seg4 [5345,6793) at 4 ms, ACK at 44.5 ms: 40.5 ms >= 40 - 4 ms and
	 *     1 MSS -> adv_1, delack */
	p = P(LK_TH_ACK, 5345, 5001, 1448, 500); lk_acks_feed(a, A, &p, 4 * MS);
	p = P(LK_TH_ACK, 5001, 6793, 0, 500);   lk_acks_feed(a, B, &p, 44 * MS + 500 * US);
	/* (4) a GRO aggregate of 10 segments, 14480 bytes [6793,21273) at 50 ms:
	 *     adv 14480 / 1448 = 10 MSS -> stretch, adv_hist[10]; aggregate */
	p = P(LK_TH_ACK, 6793, 5001, 14480, 500); lk_acks_feed(a, A, &p, 50 * MS);
	p = P(LK_TH_ACK, 5001, 21273, 0, 500);  lk_acks_feed(a, B, &p, 50 * MS + 10 * US);
	/* (5) seg6 [21273,22721) is lost before b; seg7 [22721,24169) arrives at
	 *     60.1 ms beyond the hole; ACK 21273 with SACK [22721,24169): adv 0,
	 *     no data, same window -> dup (adv_hist[0]); sack; ooo */
	p = P(LK_TH_ACK, 22721, 5001, 1448, 500); lk_acks_feed(a, A, &p, 60 * MS + 100 * US);
	p = SACK(21273, 500, 22721, 24169);     lk_acks_feed(a, B, &p, 60 * MS + 110 * US);
	/* (6) the retransmitted seg6 fills the hole at 61 ms; ACK 24169: adv 2896
	 *     -> adv_2; it acknowledges seg7, which did not arrive in order -> ooo */
	p = P(LK_TH_ACK, 21273, 5001, 1448, 500); lk_acks_feed(a, A, &p, 61 * MS);
	p = P(LK_TH_ACK, 5001, 24169, 0, 500);  lk_acks_feed(a, B, &p, 61 * MS + 10 * US);
	/* (7) seg6 arrives once more (spurious retransmission) at 62 ms; ACK 24169
	 *     with SACK [21273,22721): right edge 22721 <= ack 24169 -> D-SACK;
	 *     adv 0, same window -> dup; ooo (old data) */
	p = P(LK_TH_ACK, 21273, 5001, 1448, 500); lk_acks_feed(a, A, &p, 62 * MS);
	p = SACK(24169, 500, 21273, 22721);     lk_acks_feed(a, B, &p, 62 * MS + 10 * US);
	/* (8) window 500 -> 1000, same ack, no data -> window_update; nodata */
	p = P(LK_TH_ACK, 5001, 24169, 0, 1000); lk_acks_feed(a, B, &p, 70 * MS);
	/* (9) window 0 -> zero_window; window changed but to 0: not a window
	 *     update (Wireshark's rule), so adv0_other; nodata */
	p = P(LK_TH_ACK, 5001, 24169, 0, 0);    lk_acks_feed(a, B, &p, 71 * MS);
	/* (10) a's FIN [24169] at 80 ms, ACK 24170 10 us later: adv 1 byte ->
	 *      ceil(1/1448) = 1 -> adv_1; one "segment", quick */
	p = P(LK_TH_ACK | LK_TH_FIN, 24169, 5001, 0, 500); lk_acks_feed(a, A, &p, 80 * MS);
	p = P(LK_TH_ACK, 5001, 24170, 0, 500);  lk_acks_feed(a, B, &p, 80 * MS + 10 * US);
	lk_acks_finish(a);

	/* b's 6 advancing ACKs (1,2,3,4,6,10) are < 8: the data rule abstains */
	is_int(lk_acks_capture_near(a), B, "capture near b (the receiver)");
	const struct lk_side_decision *sd = lk_acks_side(a);
	const struct lk_side_ev *hs = NULL;
	for (unsigned k = 0; k < sd->n_ev; k++)
		if (!strcmp(sd->ev[k].name, "handshake"))
			hs = &sd->ev[k];
	ok(hs && hs->verdict == LK_SV_RECEIVER && !strcmp(sd->rule, "forced"),
	   "side forced; the handshake evidence says receiver (%s)", hs ? hs->detail : "none");
	is_int(lk_acks_data_dir(a), A, "a->b carries the data");
	const struct lk_acks_dir *o = lk_acks_dir(a, B);
	is_int(o->mss, 1448, "mss = 1460 - 12 (timestamps)");
	is_str(o->mss_source, "handshake", "mss from the handshake");
	/* SYN/ACK + 10 ACKs */
	is_int(o->ack_pkts, 11, "b: 11 ACK segments");
	is_int(o->classified, 10, "b: 10 classified (SYN/ACK excluded)");
	is_int(o->pure, 10, "b: all pure");
	is_int(o->dup, 2, "b: dup = (5) and (7)");
	is_int(o->window_update, 1, "b: window update (8)");
	is_int(o->adv0_other, 1, "b: zero-window ack (9) in adv0_other");
	is_int(o->adv_1, 3, "b: adv_1 = (1),(3),(10)");
	is_int(o->adv_2, 2, "b: adv_2 = (2),(6)");
	is_int(o->adv_stretch, 1, "b: stretch = (4)");
	is_int(o->adv_hist[0], 2, "hist[0] = 2 dups");
	is_int(o->adv_hist[1], 3, "hist[1] = 3");
	is_int(o->adv_hist[2], 2, "hist[2] = 2");
	is_int(o->adv_hist[10], 1, "hist[10] = the 10-segment aggregate");
	is_int(o->sack, 2, "b: 2 SACK-bearing");
	is_int(o->dsack, 1, "b: 1 D-SACK");
	is_int(o->zero_window, 1, "b: 1 zero window");
	ok(o->timing_valid, "timing valid for b (capture at b)");
	is_int(o->timing[LK_T_QUICK], 2, "quick: (1), (10)");
	is_int(o->timing[LK_T_FULL2], 1, "full2: (2)");
	is_int(o->timing[LK_T_DELACK], 1, "delack: (3)");
	is_int(o->timing[LK_T_AGGREGATE], 1, "aggregate: (4)");
	is_int(o->timing[LK_T_OOO], 3, "ooo: (5), (6), (7)");
	is_int(o->timing[LK_T_NODATA], 2, "nodata: (8), (9)");

	/* a: third handshake ACK (no earlier ack -> adv_unknown), 8 data segments
	 * (seg1..5, seg7, seg6 twice) and the FIN, all acking 5001 -> adv0_other 9 */
	o = lk_acks_dir(a, A);
	is_int(o->ack_pkts, 10, "a: 10 ACK segments");
	is_int(o->with_data, 8, "a: 8 with data");
	is_int(o->fin, 1, "a: 1 FIN");
	is_int(o->pure, 1, "a: 1 pure (the handshake ACK)");
	is_int(o->adv_unknown, 1, "a: handshake ACK has no earlier ack");
	is_int(o->adv0_other, 9, "a: data/FIN segments acknowledge nothing new");
	ok(!o->timing_valid && o->timing_note, "a: no timing (capture not at a): %s",
	   o->timing_note ? o->timing_note : "");
	char *buf = NULL;
	size_t bl = 0;
	FILE *f = open_memstream(&buf, &bl);
	lk_acks_json(a, B, f);
	fclose(f);
	ok(buf && strstr(buf, "\"timing\":{\"ooo\":3,\"aggregate\":1,\"full2\":1,\"delack\":1,"
				 "\"quick\":2,\"nodata\":2}") &&
		   strstr(buf, "\"adv_hist\":{\"0\":2,\"1\":3,\"2\":2,\"10\":1}"),
	   "JSON of b: %s", buf ? buf : "");
	free(buf);
	lk_acks_free(a);
}

/* Sender-side capture at a, no handshake: 30 segments of 1000 bytes leave
 * back to back, then 15 ACKs arrive, each for 2 segments. At each ACK the
 * highest data end seen is 30001, so 13 of the 15 ACKs that advance had more
 * than 2 MSS of data beyond them (ack <= 26001). 87% is below the 90% the
 * inflight evidence needs (analyzers/side.h), and nothing else tells: the
 * side is unknown. MSS: most frequent length 1000 ("observed"). */
static void sender_side(void)
{
	const struct lk_side_decision *sd;
	struct lk_acks *a = lk_acks_new(NULL);
	struct lk_pkt p;
	for (int i = 0; i < 30; i++) {
		p = P(LK_TH_ACK, 1 + 1000 * (uint32_t)i, 7, 1000, 500);
		p.tcp_hlen = 20;
		lk_acks_feed(a, A, &p, (uint64_t)i * 10 * US);
	}
	for (int i = 0; i <= 15; i++) {
		/* i = 0: ack 1 is the first ack seen (adv unknown); then +2000 each */
		p = P(LK_TH_ACK, 7, 1 + 2000 * (uint32_t)i, 0, 500);
		lk_acks_feed(a, B, &p, 1 * MS + (uint64_t)i * 20 * US);
	}
	lk_acks_finish(a);
	is_int(lk_acks_capture_near(a), -1, "side unknown");
	is_str(lk_acks_side_rule(a), "unknown", "rule unknown");
	sd = lk_acks_side(a);
	unsigned voting = 0;
	const struct lk_side_ev *inf = NULL;
	for (unsigned k = 0; k < sd->n_ev; k++) {
		voting += sd->ev[k].verdict != LK_SV_NONE;
		if (!strcmp(sd->ev[k].name, "inflight"))
			inf = &sd->ev[k];
	}
	ok(voting == 0 && inf && strstr(inf->detail, "13 of 15"),
	   "no evidence has a verdict; inflight: %s", inf ? inf->detail : "none");
	const struct lk_acks_dir *o = lk_acks_dir(a, B);
	is_int(o->mss, 1000, "observed mss 1000");
	is_str(o->mss_source, "observed", "mss source observed");
	is_int(o->adv_2, 15, "15 ACKs of 2 MSS");
	is_int(o->adv_unknown, 1, "first ACK: advance unknown");
	ok(!o->timing_valid, "no receiver timing when the side is unknown");
	lk_acks_free(a);

	/* the same trace with --side receiver forces the other verdict */
	struct lk_acks_params prm;
	lk_acks_params_default(&prm);
	prm.side = LK_SIDE_RECEIVER;
	a = lk_acks_new(&prm);
	for (int i = 0; i < 3; i++) {
		p = P(LK_TH_ACK, 1 + 1000 * (uint32_t)i, 7, 1000, 500);
		lk_acks_feed(a, A, &p, (uint64_t)i * 10 * US);
	}
	lk_acks_finish(a);
	is_int(lk_acks_capture_near(a), B, "--side receiver: near b (the data receiver)");
	is_str(lk_acks_side_rule(a), "forced", "rule forced");
	lk_acks_free(a);
}

/* tcptrace's D-SACK rules 2 and 3 (two blocks), and a plain SACK. */
static void dsack_rules(void)
{
	struct lk_acks *a = lk_acks_new(NULL);
	struct lk_pkt p = SACK(1000, 500, 3000, 4000); /* plain: above ack, 1 block */
	lk_acks_feed(a, B, &p, 1);
	p.opt.n_sack = 2; /* rule 2: [3000,3500) inside [2000,5000) */
	p.opt.sack[0][0] = 3000; p.opt.sack[0][1] = 3500;
	p.opt.sack[1][0] = 2000; p.opt.sack[1][1] = 5000;
	lk_acks_feed(a, B, &p, 2);
	/* rule 3: [3000,4000) and [3500,6000) overlap (l0 <= l1 < r0) */
	p.opt.sack[0][0] = 3000; p.opt.sack[0][1] = 4000;
	p.opt.sack[1][0] = 3500; p.opt.sack[1][1] = 6000;
	lk_acks_feed(a, B, &p, 3);
	/* not D-SACK: disjoint blocks [3000,4000) [5000,6000) */
	p.opt.sack[1][0] = 5000;
	lk_acks_feed(a, B, &p, 4);
	lk_acks_finish(a);
	is_int(lk_acks_dir(a, B)->sack, 4, "4 SACK-bearing");
	is_int(lk_acks_dir(a, B)->dsack, 2, "D-SACK rules 2 and 3 -> 2");
	lk_acks_free(a);
}

int main(void)
{
	receiver_side();
	sender_side();
	dsack_rules();
	return done_testing();
}
