/* fuzz-lro: libFuzzer target for lro_ref. The input drives a generator of
 * TCP traffic (flows of both families, VLANs, options, flags, gaps,
 * retransmissions, TOS/TTL/ID changes, padding, bad checksums), raw frames,
 * mutated headers and poll/age flushes; every run is checked with the
 * independent checker (tests/helpers/lro-check.h): lossless and in order per
 * flow after re-segmenting aggregates at gso_size, unchanged frames byte-exact,
 * valid IPv4 header and TCP checksums and lengths. A violation aborts. */
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

static void emit(void *ctx, const struct lro_out *o)
{
	DBG("out", o->frame, o->len, o->segs);
	lchk_out(ctx, o);
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
	struct lchk *k = lchk_new(c.policy == LRO_POLICY_LINUX);
	struct lro *l = lro_new(&c, emit, k);
	if (!l)
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
			lro_poll_end(l, t);
			continue;
		}
		if (op % 23 == 1) {
			lro_flush_older(l, t, 3000);
			continue;
		}
		if (op % 23 == 2) { /* raw bytes as a frame */
			unsigned len = take(&s) % sizeof raw;
			for (unsigned j = 0; j < len; j++)
				raw[j] = (uint8_t)take(&s);
			DBG("in ", raw, len, 0);
			lchk_in(k, raw, len);
			lro_rx(l, raw, len, t);
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
		lchk_in(k, f, len);
		lro_rx(l, f, len, t);
		free(f);
	}
	lro_poll_end(l, t + 1);
	const char *why = lchk_finish(k);
	if (why) {
		fprintf(stderr, "fuzz-lro: %s (policy %s)\n", why, lro_policy_name(c.policy));
		abort();
	}
	const struct lro_stats *st = lro_stats(l);
	if (st->frames_out < st->aggregates_out || st->segs_merged + st->data_frames_out != st->segs_in)
		abort();
	lchk_free(k);
	lro_free(l);
	return 0;
}
