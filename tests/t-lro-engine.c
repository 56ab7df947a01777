/* t-lro-engine: where the inet_lro policy differs from linux (ACK advance,
 * window update, timestamps, PSH, gaps, limits), the engine's mechanics (age
 * flush, eviction, VLAN identity, config checks, counters), and lossless /
 * in-order / checksum checks on generated multi-flow streams for both
 * policies (re-segmenting every aggregate at gso_size gives the input back).
 *
 * Every run goes through both buffer modes (copy and zero-copy, frames kept
 * valid until the poll end as the zero-copy contract asks): the gathered
 * output frames, their metadata and the counters must be identical, a
 * zero-copy aggregate must be header + frags adding up to its length, and a
 * frame that leaves unchanged must be the caller's own pointer. The
 * fragment-array overflow (more segments than LRO_MAX_FRAGS, odd sizes) is
 * covered on its own. */
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
	/* both modes */
	uint64_t *h;            /* per output frame: hash of its metadata and bytes */
	size_t nh, caph;
	uint32_t max_nfrags;
	/* zero-copy: the frames the caller keeps valid (unchanged frames must be
	   one of them) and violations of the output contract */
	bool zc;
	uint8_t *const *live;
	size_t nlive;
	uint64_t zc_bad;
	char zc_why[160];
};

static uint8_t gath[70000];

static void zc_fail(struct rec *r, const char *why)
{
	if (!r->zc_bad++)
		snprintf(r->zc_why, sizeof r->zc_why, "%s", why);
}

/* Zero-copy output contract; returns the frame gathered (or as given). */
static const struct lro_out *gather(struct rec *r, const struct lro_out *o, struct lro_out *tmp)
{
	if (!r->zc && (o->nfrags || o->frags))
		zc_fail(r, "copy mode emitted frags");
	if (r->zc && o->segs <= 1) {
		bool found = false;
		for (size_t i = 0; i < r->nlive && !found; i++)
			found = r->live[i] == o->frame;
		if (!found || o->nfrags)
			zc_fail(r, "unchanged frame is not the caller's frame");
	}
	if (r->zc && o->segs > 1) {
		uint64_t sum = o->hdr_len;
		for (uint32_t k = 0; k < o->nfrags; k++)
			sum += o->frags[k].len;
		if (!o->nfrags || !o->frags || o->nfrags > LRO_MAX_FRAGS || sum != o->len)
			zc_fail(r, "aggregate is not hdr_len + frags adding up to len");
	}
	if (o->nfrags > r->max_nfrags)
		r->max_nfrags = o->nfrags;
	if (!o->nfrags)
		return o;
	lro_out_gather(o, gath);
	*tmp = *o;
	tmp->frame = gath;
	tmp->frags = NULL;
	tmp->nfrags = 0;
	return tmp;
}

static void on_out(void *ctx, const struct lro_out *oo)
{
	struct rec *r = ctx;
	struct lro_out tmp;
	const struct lro_out *o = gather(r, oo, &tmp);
	uint64_t meta[10] = {o->len, o->ts_ns, o->segs, o->gso_size, o->gso_type, o->csum_partial,
			     o->csum_start, o->csum_offset, o->hdr_len, o->flush_reason};
	if (r->nh == r->caph) {
		r->caph = r->caph ? 2 * r->caph : 256;
		r->h = realloc(r->h, r->caph * sizeof *r->h);
		if (!r->h)
			abort();
	}
	r->h[r->nh++] = lchk_fnv(lchk_fnv(1469598103934665603ull, meta, sizeof meta), o->frame, o->len);
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

static void rec_init(struct rec *r, bool zc)
{
	memset(r, 0, sizeof *r);
	r->zc = zc;
}

/* Same output frames (metadata and bytes, in order) and counters. */
static bool same_run(const struct rec *a, const struct lro_stats *sa, const struct rec *b,
		     const struct lro_stats *sb, char *why, size_t wsz)
{
	snprintf(why, wsz, "identical");
	if (a->zc_bad || b->zc_bad) {
		snprintf(why, wsz, "%s", a->zc_bad ? a->zc_why : b->zc_why);
		return false;
	}
	if (a->nh != b->nh) {
		snprintf(why, wsz, "%zu vs %zu frames out", a->nh, b->nh);
		return false;
	}
	for (size_t i = 0; i < a->nh; i++)
		if (a->h[i] != b->h[i]) {
			snprintf(why, wsz, "output frame %zu differs", i);
			return false;
		}
	if (memcmp(sa, sb, sizeof *sa)) {
		snprintf(why, wsz, "counters differ (frames_out %llu vs %llu, rate %.3f vs %.3f)",
			 (unsigned long long)sa->frames_out, (unsigned long long)sb->frames_out, lro_rate(sa),
			 lro_rate(sb));
		return false;
	}
	return true;
}

/* One engine over frames fr (kept valid throughout); poll end at the end. */
static void run1(const struct lro_config *cfg, uint8_t *const *fr, const uint32_t *lens, int n, struct rec *r,
		 struct lro_stats *st)
{
	rec_init(r, cfg->zero_copy);
	r->live = fr;
	r->nlive = (size_t)n;
	r->k = lchk_new(cfg->policy == LRO_POLICY_LINUX, cfg->verify_csum);
	struct lro *l = lro_new(cfg, on_out, r);
	for (int i = 0; i < n; i++) {
		lchk_in(r->k, fr[i], lens[i]);
		lro_rx(l, fr[i], lens[i], 1000u * (uint64_t)(i + 1));
	}
	lro_poll_end(l, 1000u * (uint64_t)(n + 1));
	const char *why = lchk_finish(r->k);
	if (why)
		diag("checker (%s): %s", cfg->zero_copy ? "zero-copy" : "copy", why);
	ok(why == NULL, "  ... lossless, in order, checksums valid (%s)", cfg->zero_copy ? "zero-copy" : "copy");
	*st = *lro_stats(l);
	lchk_free(r->k);
	r->k = NULL;
	lro_free(l);
}

/* Run specs (one frame each) through a fresh engine in copy mode (r: its
 * output) and in zero-copy mode, which must give the same. */
static void run(const struct lro_config *cfg, struct lc_spec *s, int n, struct rec *r)
{
	uint8_t **fr = malloc((size_t)n * sizeof *fr);
	uint32_t *lens = malloc((size_t)n * sizeof *lens);
	for (int i = 0; i < n; i++)
		fr[i] = lc_build(&s[i], &lens[i]);
	struct lro_config cc = *cfg, cz = *cfg;
	cc.zero_copy = false;
	cz.zero_copy = true;
	struct rec *z = malloc(sizeof *z);
	struct lro_stats sc, sz;
	run1(&cc, fr, lens, n, r, &sc);
	run1(&cz, fr, lens, n, z, &sz);
	char why[200];
	ok(same_run(r, &sc, z, &sz, why, sizeof why), "  ... zero-copy: same frames and counters as copy (%s)", why);
	free(z->h);
	free(z);
	free(r->h);
	r->h = NULL;
	for (int i = 0; i < n; i++)
		free(fr[i]);
	free(fr);
	free(lens);
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
	free(r.h);

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
	r.k = lchk_new(true, true);
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
	free(r.h);
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
 * size; every other frame at an odd address (payloads starting at odd
 * addresses). Fed to a copy-mode and a zero-copy engine side by side (frames
 * freed at each poll end, the zero-copy contract); checks the checker's invariants,
 * the counters, and that both modes give the same frames and counters. */
static void random_streams(enum lro_policy pol, bool complete, bool verify, unsigned table, int rounds)
{
	struct lro_config c;
	lro_config_default(&c, pol);
	c.csum_complete = complete;
	c.verify_csum = verify;
	c.table_size = table;
	struct lro_config cz = c;
	cz.zero_copy = true;
	struct rec r, rz;
	rec_init(&r, false);
	rec_init(&rz, true);
	r.k = lchk_new(pol == LRO_POLICY_LINUX, verify);
	rz.k = lchk_new(pol == LRO_POLICY_LINUX, verify);
	struct lro *l = lro_new(&c, on_out, &r), *lz = lro_new(&cz, on_out, &rz);
	enum { NF = 12 };
	uint32_t seq[NF] = {0}, ack[NF] = {0}, tsv[NF];
	uint8_t payload[9000];
	uint64_t t = 0, frames = 0, inseg = 0;
	size_t nlive = 0, caplive = 256;
	uint8_t **live = malloc(caplive * sizeof *live), **base = malloc(caplive * sizeof *base);
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
		uint8_t *f = lc_build(&s, &len), *b = f;
		if (it & 1) { /* every other frame at an odd address (odd payload start) */
			b = malloc(len + 1);
			if (!b)
				abort();
			memcpy(b + 1, f, len);
			free(f);
			f = b + 1;
		}
		if (nlive == caplive) {
			caplive *= 2;
			live = realloc(live, caplive * sizeof *live);
			base = realloc(base, caplive * sizeof *base);
			if (!live || !base)
				abort();
		}
		base[nlive] = b;
		live[nlive++] = f;
		rz.live = live;
		rz.nlive = nlive;
		lchk_in(r.k, f, len);
		lchk_in(rz.k, f, len);
		lro_rx(l, f, len, t);
		lro_rx(lz, f, len, t);
		frames++;
		if (s.plen)
			inseg++;
		t += 1000 + rnd(3000);
		if (rnd(64) == 0) {
			lro_poll_end(l, t);
			lro_poll_end(lz, t);
			/* the poll's buffers are recycled: scribble, then free */
			for (size_t i = 0; i < nlive; i++) {
				memset(live[i], 0xa5, 14);
				free(base[i]);
			}
			nlive = 0;
		}
		if (rnd(500) == 0) {
			lro_flush_older(l, t, 20000);
			lro_flush_older(lz, t, 20000);
		}
	}
	lro_poll_end(l, t);
	lro_poll_end(lz, t);
	for (size_t i = 0; i < nlive; i++)
		free(base[i]);
	free(live);
	free(base);
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
	const char *whyz = lchk_finish(rz.k);
	char w[200];
	ok(whyz == NULL && same_run(&r, st, &rz, lro_stats(lz), w, sizeof w),
	   "  ... zero-copy: same frames and counters as copy (%s), up to %u frags", whyz ? whyz : w,
	   rz.max_nfrags);
	lchk_free(r.k);
	lchk_free(rz.k);
	lro_free(l);
	lro_free(lz);
	free(r.h);
	free(rz.h);
}

/* More segments than the fragment array holds: the rest is copied behind the
 * last fragment; sizes odd and even (odd offsets in the sums), complete and
 * partial checksums, verified and trusted; both policies. */
static void frag_overflow(void)
{
	static const struct {
		enum lro_policy pol;
		bool complete, verify;
		uint32_t plen;
		int n;
	} v[] = {
		{LRO_POLICY_LINUX, false, true, 10, 200},  {LRO_POLICY_LINUX, true, true, 7, 150},
		{LRO_POLICY_LINUX, true, false, 9, 130},   {LRO_POLICY_LINUX, false, false, 1, 300},
		{LRO_POLICY_INET_LRO, true, true, 13, 120}, {LRO_POLICY_INET_LRO, true, false, 5, 100},
		{LRO_POLICY_LINUX, true, true, 1448, 45},   {LRO_POLICY_LINUX, true, true, 1000, 70},
	};
	uint8_t pay[2000];
	for (unsigned i = 0; i < sizeof pay; i++)
		pay[i] = (uint8_t)(i * 37 + 11);
	for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
		struct lro_config c;
		lro_config_default(&c, v[k].pol);
		c.csum_complete = v[k].complete;
		c.verify_csum = v[k].verify;
		c.max_aggr = 1000;
		c.mtu = 68;
		int n = v[k].n;
		struct lc_spec *s = calloc((size_t)n, sizeof *s);
		for (int i = 0; i < n; i++) {
			lc_spec_init(&s[i], 4);
			s[i].plen = v[k].plen;
			s[i].seq_off = (uint32_t)i * v[k].plen;
			s[i].payload = pay + (i * 3) % 300;
		}
		struct rec r;
		rec_init(&r, false);
		/* run() compares the modes; count the zero-copy frags separately */
		uint8_t **fr = malloc((size_t)n * sizeof *fr);
		uint32_t *lens = malloc((size_t)n * sizeof *lens);
		for (int i = 0; i < n; i++)
			fr[i] = lc_build(&s[i], &lens[i]);
		struct lro_config cz = c;
		cz.zero_copy = true;
		struct lro_stats st;
		run1(&cz, fr, lens, n, &r, &st);
		uint32_t want = (uint32_t)(n < LRO_MAX_FRAGS ? n : LRO_MAX_FRAGS);
		bool one = st.aggregates_out >= 1 && r.max_nfrags == want && !r.zc_bad;
		if (v[k].plen * (uint32_t)n + 52 > 65535) /* the 64 KiB limit splits it */
			one = st.aggregates_out >= 2 && !r.zc_bad;
		ok(one, "%s %d x %u-byte segments, csum %s%s: %llu aggregate(s), up to %u frags (array %d)%s%s",
		   lro_policy_name(v[k].pol), n, v[k].plen, v[k].complete ? "complete" : "partial",
		   v[k].verify ? "" : " trusted", (unsigned long long)st.aggregates_out, r.max_nfrags, LRO_MAX_FRAGS,
		   r.zc_bad ? ": " : "", r.zc_bad ? r.zc_why : "");
		free(r.h);
		for (int i = 0; i < n; i++)
			free(fr[i]);
		free(fr);
		free(lens);
		run(&c, s, n, &r);
		free(s);
	}
}

/* Maximum-size segments (IPv4 L3 65535, IPv6 payload length 65535): one
 * checksum pass over > 64000 bytes (the SIMD sums empty their 32-bit lanes
 * between rounds); the third segment has a bad TCP checksum. */
static void huge_segments(void)
{
	static uint8_t pay[65535];
	for (unsigned i = 0; i < sizeof pay; i++)
		pay[i] = (uint8_t)rnd(256);
	struct lro_config c;
	lro_config_default(&c, LRO_POLICY_LINUX);
	c.csum_complete = true;
	struct lc_spec s[3];
	struct rec r;
	for (int fam = 4; fam <= 6; fam += 2) {
		uint32_t plen = fam == 4 ? 65495 : 65515;
		seq_specs(s, 3, fam);
		for (int i = 0; i < 3; i++) {
			s[i].plen = plen;
			s[i].seq_off = (uint32_t)i * plen;
			s[i].payload = pay;
		}
		s[2].tcp_csum_delta = 1;
		run(&c, s, 3, &r);
		char want[64];
		snprintf(want, sizeof want, "%u %u %u", plen, plen, plen);
		expect(&r, want, fam == 4 ? "IPv4 65495-byte segments pass (and are verified) alone"
					  : "IPv6 65515-byte segments pass (and are verified) alone");
	}
}

/* Zero-copy: a held segment that leaves alone is the caller's frame (same
 * pointer); two merged segments leave as header + 2 frags. */
static void zc_pointers(void)
{
	struct lro_config c;
	lro_config_default(&c, LRO_POLICY_LINUX);
	c.zero_copy = true;
	struct lc_spec s[2];
	seq_specs(s, 2, 4);
	uint32_t len[2];
	uint8_t *f[2] = {lc_build(&s[0], &len[0]), lc_build(&s[1], &len[1])};
	struct rec r;
	rec_init(&r, true);
	r.live = f;
	r.nlive = 1;
	struct lro *l = lro_new(&c, on_out, &r);
	lro_rx(l, f[0], len[0], 1);
	is_int(lro_held(l), 1, "zero-copy: one segment held");
	lro_poll_end(l, 2);
	ok(r.outs == 1 && !r.zc_bad, "zero-copy: a single held segment leaves as the caller's frame pointer%s%s",
	   r.zc_bad ? ": " : "", r.zc_why);
	lro_free(l);
	free(r.h);
	rec_init(&r, true);
	l = lro_new(&c, on_out, &r);
	lro_rx(l, f[0], len[0], 1);
	lro_rx(l, f[1], len[1], 2);
	lro_poll_end(l, 3);
	ok(r.outs == 1 && r.max_nfrags == 2 && !r.zc_bad, "zero-copy: two segments leave as header + 2 frags");
	lro_free(l);
	free(r.h);
	free(f[0]);
	free(f[1]);
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
	random_streams(LRO_POLICY_INET_LRO, false, false, 8, 5000);
	frag_overflow();
	huge_segments();
	zc_pointers();
	return done_testing();
}
