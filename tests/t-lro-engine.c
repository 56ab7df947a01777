/* t-lro-engine: where the inet_lro policy differs from linux (ACK advance,
 * window update, timestamps, PSH, gaps, limits), the engine's mechanics (age
 * flush, eviction, VLAN identity, config checks, counters), and lossless /
 * in-order / checksum checks on generated multi-flow streams for both
 * policies (re-segmenting every aggregate at gso_size gives the input back). */
#include "lro_ref/lro.h"
#include "tests/helpers/lro-check.h"
#include "tests/helpers/lro-cases.h"
#include "tests/tap.h"

#include <math.h>

struct rec {
	int got[512];
	int n;
	uint8_t last_hdr[128];  /* first 128 bytes of the last data frame out */
	uint16_t last_gso, last_segs;
	struct lchk *k;
	uint64_t outs, data_segs_out;
};

static void on_out(void *ctx, const struct lro_out *o)
{
	struct rec *r = ctx;
	r->outs++;
	if (r->k)
		lchk_out(r->k, o);
	int v = lc_rx_payload(o->frame, o->len);
	if (v > 0 || (v == -1 && o->len > 80)) {
		r->data_segs_out += o->segs;
		memcpy(r->last_hdr, o->frame, o->len < 128 ? o->len : 128);
		r->last_gso = o->gso_size;
		r->last_segs = o->segs;
	}
	if (v >= 0 && r->n < 512)
		r->got[r->n++] = v;
}

/* Run specs (one frame each) through a fresh engine; poll end at the end. */
static void run(const struct lro_config *cfg, struct lc_spec *s, int n, struct rec *r)
{
	memset(r, 0, sizeof *r);
	r->k = lchk_new(cfg->policy == LRO_POLICY_LINUX);
	struct lro *l = lro_new(cfg, on_out, r);
	for (int i = 0; i < n; i++) {
		uint32_t len;
		uint8_t *f = lc_build(&s[i], &len);
		lchk_in(r->k, f, len);
		lro_rx(l, f, len, 1000u * (uint64_t)(i + 1));
		free(f);
	}
	lro_poll_end(l, 1000u * (uint64_t)(n + 1));
	const char *why = lchk_finish(r->k);
	if (why)
		diag("checker: %s", why);
	ok(why == NULL, "  ... lossless, in order, checksums valid");
	lchk_free(r->k);
	r->k = NULL;
	lro_free(l);
}

static void seq_specs(struct lc_spec *s, int n, int fam)
{
	for (int i = 0; i < n; i++) {
		lc_spec_init(&s[i], fam);
		s[i].seq_off = (uint32_t)i * 100;
	}
}

static void expect(struct rec *r, const char *want, const char *what)
{
	char got[2048];
	lc_fmt(got, sizeof got, r->got, r->n);
	is_str(got, want, "%s", what);
}

static uint32_t hdr32(const struct rec *r, unsigned off) /* TCP header field of IPv4 frame */
{
	const uint8_t *p = r->last_hdr + 34 + off;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void inet_lro_differences(void)
{
	struct lro_config li, in;
	lro_config_default(&li, LRO_POLICY_LINUX);
	lro_config_default(&in, LRO_POLICY_INET_LRO);
	struct lc_spec s[80];
	struct rec r;

	/* ACK advance */
	seq_specs(s, 3, 4);
	s[1].ack_off = 50; s[2].ack_off = 90;
	run(&li, s, 3, &r);
	expect(&r, "100 100 100", "ack advance: linux never merges different ACKs");
	run(&in, s, 3, &r);
	expect(&r, "300", "ack advance: inet_lro merges");
	is_int(hdr32(&r, 8), 190, "  ... and the aggregate carries the latest ACK");

	/* window update */
	seq_specs(s, 2, 4);
	s[1].win = 30000;
	run(&li, s, 2, &r);
	expect(&r, "100 100", "window update: linux does not merge");
	run(&in, s, 2, &r);
	expect(&r, "200", "window update: inet_lro merges");
	is_int(hdr32(&r, 12) & 0xffff, 30000, "  ... with the latest window");

	/* timestamps: rising TSval and TSecr */
	seq_specs(s, 3, 4);
	for (int i = 0; i < 3; i++) {
		lc_ts_opt(&s[i], 1000 + (uint32_t)i, 0);
		lc_put32(s[i].tcpopt + 8, 500 + (uint32_t)i); /* TSecr */
	}
	run(&li, s, 3, &r);
	expect(&r, "100 100 100", "timestamps advancing: linux does not merge");
	run(&in, s, 3, &r);
	expect(&r, "300", "timestamps advancing: inet_lro merges");
	is_int(hdr32(&r, 24), 1000, "  ... keeps the first TSval (PAWS)");
	is_int(hdr32(&r, 28), 502, "  ... and takes the latest TSecr");

	/* TSval going back: session flushed, that segment passed up alone */
	lc_put32(s[2].tcpopt + 4, 999);
	run(&in, s, 3, &r);
	expect(&r, "200 100", "inet_lro: TSval going back ends the session");
	/* TSecr 0: never aggregated */
	seq_specs(s, 2, 4);
	lc_ts_opt(&s[0], 1, 0); lc_ts_opt(&s[1], 2, 0);
	run(&in, s, 2, &r);
	expect(&r, "100 100", "inet_lro: TSecr 0 is not aggregated");
	run(&li, s, 2, &r);
	expect(&r, "100 100", "linux: different TSval does not merge");

	/* PSH: inet_lro merges and goes on (PSH not carried, as in 2008) */
	seq_specs(s, 5, 4);
	s[2].flags = 0x08;
	run(&li, s, 5, &r);
	expect(&r, "300 200", "PSH: linux merges and ends the aggregate");
	run(&in, s, 5, &r);
	expect(&r, "500", "PSH: inet_lro merges and continues");

	/* sequence gap: inet_lro passes the next segment up, does not start anew */
	seq_specs(s, 5, 4);
	s[2].seq_off = 300; s[3].seq_off = 400; s[4].seq_off = 500;
	run(&li, s, 5, &r);
	expect(&r, "200 300", "seq gap: linux holds the new segment");
	run(&in, s, 5, &r);
	expect(&r, "200 100 200", "seq gap: inet_lro flushes and passes the segment up");

	/* larger segment: inet_lro merges, gso_size = largest */
	seq_specs(s, 2, 4);
	s[1].plen = 150;
	run(&li, s, 2, &r);
	expect(&r, "100 150", "larger 2nd segment: linux does not merge");
	run(&in, s, 2, &r);
	expect(&r, "250", "larger 2nd segment: inet_lro merges");
	is_int(r.last_gso, 150, "  ... gso_size = largest segment");

	/* max_aggr */
	struct lro_config in4 = in;
	in4.max_aggr = 4;
	seq_specs(s, 10, 4);
	run(&in4, s, 10, &r);
	expect(&r, "400 400 200", "inet_lro max_aggr 4");
	/* 65535 - mtu limit: 1000-byte segments, mtu 9000 => flush above 56535 */
	struct lro_config inm = in;
	inm.mtu = 9000;
	inm.max_aggr = 1000;
	for (int i = 0; i < 70; i++) {
		lc_spec_init(&s[i], 4);
		s[i].plen = 1000;
		s[i].seq_off = (uint32_t)i * 1000;
	}
	run(&inm, s, 70, &r);
	expect(&r, "57000 13000", "inet_lro: flush when L3 length > 65535 - mtu");
	run(&li, s, 70, &r);
	expect(&r, "65000 5000", "linux: 64 KiB L3 limit");

	/* ECE/CWR, CE, padding, IPv6: inet_lro does not aggregate */
	seq_specs(s, 2, 4);
	s[0].flags = s[1].flags = 0x40;
	run(&in, s, 2, &r);
	expect(&r, "100 100", "inet_lro: ECE segments not aggregated");
	run(&li, s, 2, &r);
	expect(&r, "200", "linux: equal ECE flags merge");
	seq_specs(s, 2, 4);
	s[0].tos = s[1].tos = 3;
	run(&in, s, 2, &r);
	expect(&r, "100 100", "inet_lro: CE-marked segments not aggregated");
	seq_specs(s, 2, 4);
	s[0].plen = s[1].plen = 2;
	s[1].seq_off = 2;
	s[0].pad_to = s[1].pad_to = 60;
	run(&in, s, 2, &r);
	expect(&r, "2 2", "inet_lro: padded frames not aggregated");
	run(&li, s, 2, &r);
	expect(&r, "4", "linux: padded frames merge (payload from IP length)");
	seq_specs(s, 2, 6);
	run(&in, s, 2, &r);
	expect(&r, "100 100", "inet_lro: IPv6 passed through");
	/* no descriptor free: inet_lro passes up, linux evicts */
	struct lro_config in1 = in, li1 = li;
	in1.table_size = li1.table_size = 1;
	for (int i = 0; i < 4; i++) {
		lc_spec_init(&s[i], 4);
		s[i].sport = (uint16_t)(1500 + (i & 1));
		s[i].seq_off = (uint32_t)(i / 2) * 100;
	}
	run(&in1, s, 4, &r);
	expect(&r, "100 100 200", "inet_lro, 1 descriptor, 2 interleaved flows: second flow passed up");
	run(&li1, s, 4, &r);
	expect(&r, "100 100 100 100", "linux, 1 slot, 2 interleaved flows: eviction every time");
}

static void mechanics(void)
{
	struct lro_config c;
	struct lc_spec s[8];
	struct rec r;
	lro_config_default(&c, LRO_POLICY_LINUX);

	/* VLAN is part of the flow identity */
	seq_specs(s, 2, 4);
	s[0].vlan = 10; s[1].vlan = 20;
	run(&c, s, 2, &r);
	expect(&r, "100 100", "different VLANs never merge");
	s[1].vlan = 10;
	run(&c, s, 2, &r);
	expect(&r, "200", "same VLAN merges");

	/* age flush inside lro_rx */
	struct lro_config ca = c;
	ca.max_age_ns = 1500; /* frames arrive 1000 ns apart */
	seq_specs(s, 4, 4);
	run(&ca, s, 4, &r);
	expect(&r, "200 200", "max_age_ns flushes an old aggregate before the next segment");

	/* lro_flush_older / lro_held */
	memset(&r, 0, sizeof r);
	struct lro *l = lro_new(&c, on_out, &r);
	uint32_t len;
	for (int i = 0; i < 2; i++) {
		lc_spec_init(&s[i], 4);
		s[i].sport = (uint16_t)(1500 + i);
		uint8_t *f = lc_build(&s[i], &len);
		lro_rx(l, f, len, 1000u + 5000u * (uint64_t)i);
		free(f);
	}
	is_int(lro_held(l), 2, "two aggregates held");
	lro_flush_older(l, 7000, 4000);
	is_int(lro_held(l), 1, "flush_older flushed only the old one");
	is_int((long long)lro_stats(l)->flushes[LRO_FLUSH_AGE], 1, "  ... counted as age");
	lro_flush_all(l);
	is_int(lro_held(l), 0, "flush_all empties the table");
	lro_free(l);

	/* bad configurations */
	struct lro_config b = c;
	b.table_size = 0;
	ok(lro_new(&b, on_out, &r) == NULL, "table_size 0 refused");
	b = c; b.max_l3 = 70000;
	ok(lro_new(&b, on_out, &r) == NULL, "max_l3 > 65535 refused");
	ok(lro_new(&c, NULL, &r) == NULL, "no callback refused");

	enum lro_policy p;
	ok(lro_policy_parse("inet_lro", &p) == 0 && p == LRO_POLICY_INET_LRO, "policy parse inet_lro");
	ok(lro_policy_parse("bsd", &p) < 0, "unknown policy refused");
	is_str(lro_flush_reason_name(LRO_FLUSH_POLL_END), "poll_end", "reason name");
	is_str(lro_flush_reason_name(99), "?", "unknown reason name");

	/* non-IP and garbage pass through unchanged */
	memset(&r, 0, sizeof r);
	r.k = lchk_new(true);
	l = lro_new(&c, on_out, &r);
	uint8_t junk[3][64] = {{0}};
	junk[0][12] = 0x08; junk[0][13] = 0x06; /* ARP */
	junk[1][12] = 0x08; junk[1][13] = 0x00; junk[1][14] = 0x45; /* IPv4, zeros */
	for (int i = 0; i < 3; i++) {
		lchk_in(r.k, junk[i], i == 2 ? 5 : 64);
		lro_rx(l, junk[i], i == 2 ? 5 : 64, 1);
	}
	lro_poll_end(l, 2);
	ok(lchk_finish(r.k) == NULL && r.outs == 3, "non-TCP and short frames pass unchanged");
	lchk_free(r.k);
	lro_free(l);
}

/* xorshift */
static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
	return (uint32_t)(rs % n);
}

/* Generated traffic: nflows flows of both families, MSS segments with random
 * payload bytes, losses (gaps), retransmissions, reordering, PSH, pure ACKs,
 * window/ACK changes, timestamps, bad checksums, VLAN tags; polls of random
 * size. Checks the checker's invariants and the counters. */
static void random_streams(enum lro_policy pol, bool complete, bool verify, unsigned table, int rounds)
{
	struct lro_config c;
	lro_config_default(&c, pol);
	c.csum_complete = complete;
	c.verify_csum = verify;
	c.table_size = table;
	struct rec r;
	memset(&r, 0, sizeof r);
	r.k = lchk_new(pol == LRO_POLICY_LINUX);
	struct lro *l = lro_new(&c, on_out, &r);
	enum { NF = 12 };
	uint32_t seq[NF] = {0}, ack[NF] = {0}, tsv[NF];
	uint8_t payload[9000];
	uint64_t t = 0, frames = 0, inseg = 0;
	for (int i = 0; i < NF; i++)
		tsv[i] = 1000;
	for (int it = 0; it < rounds; it++) {
		int fl = (int)rnd(NF);
		struct lc_spec s;
		lc_spec_init(&s, fl % 3 == 2 ? 6 : 4);
		s.sport = (uint16_t)(2000 + fl);
		s.vlan = fl % 4 == 1 ? (uint16_t)(100 + fl) : 0;
		uint32_t mss = fl % 5 == 0 ? 1448 : fl % 5 == 1 ? 1000 : 536 + (uint32_t)fl;
		uint32_t k = rnd(100);
		s.plen = k < 5 ? 0 : k < 15 ? 1 + rnd(mss) : mss;
		s.seq_off = seq[fl];
		if (k >= 95 && seq[fl] > mss)
			s.seq_off = seq[fl] - mss; /* retransmission */
		else if (k >= 90)
			s.seq_off = seq[fl] + mss;  /* loss before it */
		if (rnd(50) == 0)
			ack[fl] += 1000;
		s.ack_off = ack[fl];
		if (rnd(40) == 0)
			s.win = 20000;
		if (rnd(30) == 0)
			s.flags |= 0x08;
		if (fl % 2) {
			if (rnd(8) == 0)
				tsv[fl]++;
			lc_ts_opt(&s, tsv[fl], 0);
			lc_put32(s.tcpopt + 8, 77);
		}
		if (rnd(60) == 0)
			s.tcp_csum_delta = 1;
		if (rnd(200) == 0)
			s.tos = 3;
		for (uint32_t i = 0; i < s.plen; i++)
			payload[i] = (uint8_t)rnd(256);
		s.payload = payload;
		if (s.seq_off == seq[fl])
			seq[fl] += s.plen;
		else if (s.seq_off > seq[fl])
			seq[fl] = s.seq_off + s.plen;
		uint32_t len;
		uint8_t *f = lc_build(&s, &len);
		lchk_in(r.k, f, len);
		lro_rx(l, f, len, t);
		frames++;
		if (s.plen)
			inseg++;
		free(f);
		t += 1000 + rnd(3000);
		if (rnd(64) == 0)
			lro_poll_end(l, t);
		if (rnd(500) == 0)
			lro_flush_older(l, t, 20000);
	}
	lro_poll_end(l, t);
	const char *why = lchk_finish(r.k);
	if (why)
		diag("checker: %s", why);
	const struct lro_stats *st = lro_stats(l);
	ok(why == NULL, "generated %d frames, %s, csum %s%s, table %u: lossless, in order, checksums valid",
	   rounds, lro_policy_name(pol), complete ? "complete" : "partial", verify ? "" : " (trusted)", table);
	ok(st->frames_in == frames && st->frames_out == r.outs && st->segs_in == inseg &&
	   r.data_segs_out == inseg && st->data_frames_out <= st->frames_out,
	   "  ... counters consistent (in %llu out %llu segs %llu merged %llu, rate %.2f)",
	   (unsigned long long)st->frames_in, (unsigned long long)st->frames_out,
	   (unsigned long long)st->segs_in, (unsigned long long)st->segs_merged, lro_rate(st));
	ok(st->aggregates_out > 0 && lro_rate(st) > 1.0, "  ... and it did aggregate");
	lchk_free(r.k);
	lro_free(l);
}

int main(void)
{
	inet_lro_differences();
	mechanics();
	random_streams(LRO_POLICY_LINUX, false, true, 64, 20000);
	random_streams(LRO_POLICY_LINUX, true, true, 64, 20000);
	random_streams(LRO_POLICY_LINUX, true, false, 64, 5000);
	random_streams(LRO_POLICY_LINUX, false, true, 4, 20000);
	random_streams(LRO_POLICY_INET_LRO, true, true, 8, 20000);
	random_streams(LRO_POLICY_INET_LRO, true, false, 3, 5000);
	return done_testing();
}
