/* fuzz-lro: libFuzzer target for lro_ref. The input drives a generator of
 * TCP traffic (flows of both families, VLANs, options, flags, gaps,
 * retransmissions, TOS/TTL/ID changes, padding, bad checksums), raw frames,
 * mutated headers and poll/age flushes; every run is checked with the
 * independent checker (tests/helpers/lro-check.h): lossless and in order per
 * flow after re-segmenting aggregates at gso_size, unchanged frames byte-exact,
 * valid IPv4 header and TCP checksums and lengths. The same frames also go
 * through a zero-copy engine (frames kept until the poll end, then scribbled
 * over and freed): its output, gathered, must equal the copy engine's frame by
 * frame (bytes and metadata), with the same counters. A violation aborts. */
#include "lro_ref/lro.h"
#include "tests/helpers/lro-check.h"
#include "tests/helpers/lro-cases.h"

#include <stddef.h>
#include <stdint.h>

struct src {
	const uint8_t *d;
	size_t n, i;
};

static unsigned take(struct src *s)
{
	return s->i < s->n ? s->d[s->i++] : 0;
}

#ifdef LRO_FUZZ_DEBUG
static void dbg(const char *what, const uint8_t *f, uint32_t len, unsigned segs)
{
	fprintf(stderr, "%s len %u segs %u:", what, len, segs);
	for (uint32_t i = 0; i < len && i < 64; i++)
		fprintf(stderr, "%s%02x", i % 4 ? "" : " ", f[i]);
	fprintf(stderr, "\n");
}
#define DBG(w, f, l, s) dbg(w, f, l, s)
#else
#define DBG(w, f, l, s) ((void)0)
#endif

struct fz {
	struct lchk *k;
	struct lro_out q[1024];   /* copy-mode frames awaiting the zero-copy one */
	uint8_t *qd[1024];
	unsigned qn, qh;
	uint8_t **live;           /* frames given to the zero-copy engine this poll */
	uint8_t **base;           /* their allocations (every other one at an odd address) */
	unsigned nlive, caplive, nfed;
};

static void emit(void *ctx, const struct lro_out *o)
{
	struct fz *z = ctx;
	DBG("out", o->frame, o->len, o->segs);
	if (o->nfrags || o->frags)
		abort(); /* copy mode never emits frags */
	lchk_out(z->k, o);
	if (z->qn == sizeof z->q / sizeof z->q[0])
		abort();
	z->q[z->qn] = *o;
	z->qd[z->qn] = malloc(o->len ? o->len : 1);
	if (!z->qd[z->qn])
		abort();
	memcpy(z->qd[z->qn], o->frame, o->len);
	z->qn++;
}

static void zc_fail(const char *why)
{
	fprintf(stderr, "fuzz-lro: zero-copy: %s\n", why);
	abort();
}

static void emit_zc(void *ctx, const struct lro_out *o)
{
	struct fz *z = ctx;
	static uint8_t g[70000];
	if (z->qh == z->qn)
		zc_fail("a frame the copy engine did not emit");
	const struct lro_out *c = &z->q[z->qh];
	uint64_t sum = o->hdr_len;
	for (uint32_t k = 0; k < o->nfrags; k++)
		sum += o->frags[k].len;
	if (o->nfrags && (o->segs < 2 || sum != o->len || o->nfrags > LRO_MAX_FRAGS || o->len > sizeof g))
		zc_fail("aggregate is not hdr_len + frags adding up to len");
	if (o->segs < 2) { /* unchanged: the caller's own frame */
		bool found = false;
		for (unsigned i = 0; i < z->nlive && !found; i++)
			found = z->live[i] == o->frame;
		if (!found || o->nfrags)
			zc_fail("unchanged frame is not the caller's frame");
	}
	if (o->len != c->len || o->segs != c->segs || o->gso_size != c->gso_size || o->gso_type != c->gso_type ||
	    o->csum_partial != c->csum_partial || o->csum_start != c->csum_start ||
	    o->csum_offset != c->csum_offset || o->hdr_len != c->hdr_len || o->flush_reason != c->flush_reason ||
	    o->ts_ns != c->ts_ns)
		zc_fail("metadata differs from the copy engine's");
	lro_out_gather(o, g);
	if (memcmp(g, z->qd[z->qh], o->len))
		zc_fail("bytes differ from the copy engine's");
	free(z->qd[z->qh]);
	if (++z->qh == z->qn)
		z->qh = z->qn = 0;
}

/* Both engines take frame f; the zero-copy one gets a copy kept until the poll end. */
static void feed(struct fz *z, struct lro *l, struct lro *lz, const uint8_t *f, uint32_t len, uint64_t t)
{
	lchk_in(z->k, f, len);
	lro_rx(l, f, len, t);
	if (z->nlive == z->caplive) {
		z->caplive = z->caplive ? 2 * z->caplive : 64;
		z->live = realloc(z->live, z->caplive * sizeof *z->live);
		z->base = realloc(z->base, z->caplive * sizeof *z->base);
		if (!z->live || !z->base)
			abort();
	}
	unsigned odd = z->nfed++ & 1; /* odd payload addresses too */
	uint8_t *b = malloc(len + odd + 1), *c = b + odd;
	if (!b)
		abort();
	memcpy(c, f, len);
	z->base[z->nlive] = b;
	z->live[z->nlive++] = c;
	lro_rx(lz, c, len, t);
	if (z->qh != z->qn)
		zc_fail("the zero-copy engine emitted fewer frames");
}

static void poll_end(struct fz *z, struct lro *l, struct lro *lz, uint64_t t)
{
	lro_poll_end(l, t);
	lro_poll_end(lz, t);
	if (z->qh != z->qn)
		zc_fail("the zero-copy engine emitted fewer frames");
	for (unsigned i = 0; i < z->nlive; i++) {
		memset(z->base[i], 0xa5, 1); /* recycled */
		free(z->base[i]);
	}
	z->nlive = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = {data, size, 0};
	unsigned cfgb = take(&s);
	struct lro_config c;
	lro_config_default(&c, (cfgb & 1) ? LRO_POLICY_INET_LRO : LRO_POLICY_LINUX);
	c.csum_complete = cfgb & 2;
	c.verify_csum = !(cfgb & 4);
	c.table_size = 1 + ((cfgb >> 3) & 7);
	c.max_aggr = 2 + (take(&s) & 31);
	if (cfgb & 0x40)
		c.max_age_ns = 5000;
	static struct fz z;
	memset(&z, 0, sizeof z);
	z.k = lchk_new(c.policy == LRO_POLICY_LINUX, c.verify_csum);
	struct lro_config cz = c;
	cz.zero_copy = true;
	struct lro *l = lro_new(&c, emit, &z), *lz = lro_new(&cz, emit_zc, &z);
	if (!l || !lz)
		abort();
	uint32_t seq[4] = {0, 0, 0, 0}, ack[4] = {0, 0, 0, 0};
	uint64_t t = 0;
	uint8_t payload[3000], raw[256];
	for (unsigned i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	int ops = 0;
	while (s.i < s.n && ops++ < 400) {
		unsigned op = take(&s);
		t += 1000 + (op & 0x7) * 997;
		if (op % 23 == 0) {
			poll_end(&z, l, lz, t);
			continue;
		}
		if (op % 23 == 1) {
			lro_flush_older(l, t, 3000);
			lro_flush_older(lz, t, 3000);
			if (z.qh != z.qn)
				zc_fail("the zero-copy engine emitted fewer frames");
			continue;
		}
		if (op % 23 == 2) { /* raw bytes as a frame */
			unsigned len = take(&s) % sizeof raw;
			for (unsigned j = 0; j < len; j++)
				raw[j] = (uint8_t)take(&s);
			DBG("in ", raw, len, 0);
			feed(&z, l, lz, raw, len, t);
			continue;
		}
		unsigned a = take(&s), b = take(&s), m = take(&s);
		int fl = a & 3;
		struct lc_spec sp;
		lc_spec_init(&sp, (a & 4) ? 6 : 4);
		sp.sport = (uint16_t)(1500 + fl);
		if (a & 8)
			sp.vlan = (uint16_t)(10 + (fl & 1));
		unsigned mss = (a & 0x10) ? 100 : 1448;
		unsigned pl = b & 7;
		sp.plen = pl == 0 ? 0 : pl == 1 ? 1 + (m % mss) : mss;
		sp.seq_off = seq[fl];
		if ((b & 0x18) == 0x18)
			sp.seq_off = seq[fl] - mss;       /* retransmission / overlap */
		else if ((b & 0x18) == 0x10)
			sp.seq_off = seq[fl] + 1 + (m & 63); /* gap */
		if (b & 0x20)
			ack[fl] += 100;
		sp.ack_off = ack[fl];
		unsigned f2 = take(&s);
		sp.flags = (uint8_t)((f2 & 0x80) ? (f2 & 0xef) : (f2 & 0x01 ? 0x08 : 0)); /* ACK always set by lc_build */
		if (f2 & 0x40 && !(f2 & 0x80))
			sp.win = 1000;
		unsigned v = take(&s);
		if (v & 1)
			lc_ts_opt(&sp, 100 + (v >> 4), (int)((v >> 1) & 3) % 3);
		if (v & 8)
			sp.tos = (v & 0x40) ? 3 : 2;
		if ((v & 0x30) == 0x30)
			sp.ttl = 7;
		if (sp.fam == 4) {
			sp.ip_id = (int)(take(&s) & 3);
			if (v & 0x80)
				sp.df = 0;
			if ((v & 0x06) == 0x06 && (f2 & 0x20))
				sp.mf = true;
			if ((v & 0x30) == 0x20) {
				sp.ipoptlen = 4;
				sp.ipopt[0] = 1; sp.ipopt[1] = 1; sp.ipopt[2] = 1; sp.ipopt[3] = 0;
			}
		} else if ((v & 0x30) == 0x20) {
			sp.extlen = 8;
			sp.ext_type = (v & 0x80) ? 44 : 60;
			sp.ext[0] = 6;
			sp.ext[2] = (uint8_t)(take(&s) & 1);
		}
		if (m & 0x80)
			sp.tcp_csum_delta = 1;
		if ((m & 0x60) == 0x60)
			sp.pad_to = 64;
		sp.payload = payload + (seq[fl] & 511);
		if (sp.seq_off == seq[fl] || (int32_t)(sp.seq_off - seq[fl]) > 0)
			seq[fl] = sp.seq_off + sp.plen;
		uint32_t len;
		uint8_t *f = lc_build(&sp, &len);
		unsigned nmut = take(&s) & 3;   /* mutate header bytes */
		if (nmut == 3) {
			unsigned pos = take(&s), val = take(&s);
			if (pos < len && pos < 80)
				f[pos] ^= (uint8_t)val;
			if (take(&s) & 1)
				len = len > 20 ? len - (take(&s) % 20) : len;
		}
		DBG("in ", f, len, 0);
		feed(&z, l, lz, f, len, t);
		free(f);
	}
	poll_end(&z, l, lz, t + 1);
	free(z.live);
	free(z.base);
	const char *why = lchk_finish(z.k);
	if (why) {
		fprintf(stderr, "fuzz-lro: %s (policy %s)\n", why, lro_policy_name(c.policy));
		abort();
	}
	const struct lro_stats *st = lro_stats(l);
	if (st->frames_out < st->aggregates_out || st->segs_merged + st->data_frames_out != st->segs_in)
		abort();
	if (memcmp(st, lro_stats(lz), sizeof *st))
		zc_fail("counters differ");
	lchk_free(z.k);
	lro_free(l);
	lro_free(lz);
	return 0;
}
