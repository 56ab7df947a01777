/* lro_ref/lro.c - reference LRO/GRO engine (see lro.h for the contract).
 *
 * Hot path per segment (rx_fast): hash the flow from the fixed offsets of an
 * untagged IPv4/IPv6 frame, take the last flow used or walk one hash chain,
 * and compare the whole header with the held aggregate's first header in one
 * masked SIMD compare (the mask leaves out exactly the fields the rules let
 * differ); then only the per-segment rules (sequence, size, IP ID, ...: the
 * same functions the full path calls) and ONE pass over the payload that
 * copies it into the slot's preallocated 64 KiB buffer and, when a checksum
 * is needed, sums it at the same time (verification: always; complete
 * checksums with trusted input: from the 2nd segment on, so single segments
 * are never summed). Everything else (VLANs, options, new flows, any rule
 * that fails) takes the full path (rx_full: parse, lookup comparing header
 * bytes - no key is built - and the rule functions in order), which makes
 * every decision; the fast path only ever accepts what the full path would
 * merge, and a merged segment's effects (merged()) are the same code on both
 * paths. Header fix-ups happen once per aggregate at flush time.
 *
 * Zero-copy mode (lro_config.zero_copy) changes only where payload bytes
 * live: a held segment's headers are copied into its slot's buffer (they are
 * its flow identity and get the flush-time fix-ups), its payload and every
 * appended one are referenced in the caller's frames (struct lro_frag), and
 * the checksum pass is sum-only (csum_sum instead of csum_copy, the same
 * arithmetic). Past LRO_MAX_FRAGS - 1 fragments the payloads are copied to
 * the slot's buffer at their own offset, behind one last growing fragment, so
 * the rules, counters and output bytes are those of copy mode.
 *
 * Checksums: every sum goes through lro_ref/csum.h (native-order sums,
 * converted once; SIMD level chosen once by lro_simd_level()).
 */
#include "lro_ref/lro.h"

#include "lro_ref/csum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef LRO_X86
#include <immintrin.h>
#endif

#define ETH_HLEN 14
#define MAX_L2 30      /* Ethernet + up to 4 VLAN tags */
#define FP_MAX 128     /* fast path: header bytes compared at once (untagged) */
#define NV_UNSET 0xff  /* agg.nvec: fast path not set up yet */
#define BUF_SIZE (MAX_L2 + 65536 + 64)
#define NONE (-1)

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
/* for the small functions both paths call: inlined into each, as if written there */
#define SHARED __attribute__((always_inline)) static inline

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10,
       TH_URG = 0x20, TH_ECE = 0x40, TH_CWR = 0x80 };

/* ------------------------------------------------------------------- types */

struct pkt {
	const uint8_t *f;
	uint32_t caplen;     /* frame bytes given */
	uint32_t l3len;      /* L3 length claimed by IP */
	uint32_t plen;       /* TCP payload length */
	uint16_t l3off, l4off, hdr_len, thlen;
	uint8_t af, flags, ttl, tos;
	bool df;
	uint16_t ip_id;
	uint32_t seq, ack;
	uint32_t hash;       /* flow hash (addresses, ports) */
};

/* A held aggregate. Its flow identity is the first segment's header bytes in
 * buf (L2 header with tags, addresses, ports; IPv6 version/flow label and
 * extension headers), which are not changed until the flush. */
struct agg {
	uint32_t hash;
	uint16_t l3off, l4off, hdr_len, thlen;
	uint8_t af;
	bool fixedid, sum_ok;
	uint8_t *buf;
	uint32_t len;             /* aggregate frame length (L2 .. end of payload) */
	uint16_t count, mss, ip_id0;
	uint32_t next_seq;
	int32_t hnext;            /* hash chain */
	int32_t aprev, anext;     /* age list, oldest first */
	uint32_t orig_len;        /* first frame's length as received (count == 1) */
	uint64_t first_ts, last_ts;
	uint64_t data_sum;        /* payload native sum, aligned to the aggregate (if sum_ok) */
	/* inet_lro: latest values written at flush */
	uint32_t ack, tsval, tsecr;
	uint16_t win;
	bool has_ts;
	uint8_t nvec;             /* fast path: 16-byte blocks compared (0 = none) */
	const uint8_t *fpm;       /* fast path: mask of the header bytes compared */
	uint64_t csum_c;          /* fast path: native sum of the pseudo-header addresses,
				     ports and the option bytes the mask compares */
	uint64_t ip_c;            /* fast path: native sum of the addresses */
	/* fast path: the first header again, compared on every segment. Kept here,
	   beside the fields read per segment, because buf's first lines leave L1 while
	   the payload behind them is written (the compare then waited on L2). */
	uint8_t fph[FP_MAX] __attribute__((aligned(16)));
	uint32_t ports;           /* fast path: the ports word (native), a quick first test */
	/* zero-copy mode: buf holds the first segment's headers only; the payload
	   is frags[0 .. nfrags - 1] (the last one, once the array is full, in buf
	   at the payload's own offset, growing); orig = the caller's first frame */
	struct lro_frag *frags;
	uint32_t nfrags;
	const uint8_t *orig;
};

struct lro {
	struct lro_config c;
	lro_emit_fn emit;
	void *ctx;
	enum lro_simd simd;        /* lro_simd_level() */
	bool keep_sum;            /* aggregates' payload sums kept (complete checksums) */
	bool need_sum;            /* payload sums needed: verify or complete checksums (with
				     trusted checksums from the 2nd segment on) */
	int32_t last;             /* slot of the flow looked up last (or NONE) */
	uint64_t m_acktcp;        /* native mask of TCP bytes 8..15 compared by linux (all
				     but PSH/FIN) */
	struct lro_stats st;
	struct agg *a;
	int32_t *heads;
	uint32_t hmask;
	int32_t *freel;
	unsigned nfree;
	int32_t oldest, newest;
	uint8_t *bufs;
	struct lro_frag *fragmem; /* zero-copy: LRO_MAX_FRAGS per slot */
	/* fast-path masks for untagged frames: [IPv6][thlen / 4 - 5] */
	uint8_t fpm[2][11][FP_MAX] __attribute__((aligned(16)));
};

/* --------------------------------------------------------------- utilities */

static inline uint32_t hash4(uint64_t addrs, uint32_t ports)
{
	uint64_t h = (addrs ^ ((uint64_t)ports * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
	return (uint32_t)(h >> 32);
}

static inline uint32_t hash6(const uint8_t *addrs, uint32_t ports)
{
	uint64_t x = (ld64n(addrs) + ld64n(addrs + 16)) ^ ((ld64n(addrs + 8) + ld64n(addrs + 24)) * 0xc2b2ae3d27d4eb4full);
	return hash4(x, ports);
}

static void emit_frame(struct lro *l, const uint8_t *f, uint32_t len, uint64_t ts, bool data)
{
	struct lro_out o = {.frame = f, .len = len, .ts_ns = ts, .segs = 1,
			    .gso_type = LRO_GSO_NONE, .flush_reason = 0xff};
	l->st.frames_out++;
	if (data)
		l->st.data_frames_out++;
	l->emit(l->ctx, &o);
}

/* ---------------------------------------------------------------- parsing */

/* A frame of len bytes, avail of them from the IP header on, l3len the IP
 * length (<= avail), is never merged for its length: absurd padding is never
 * copied into a slot; rule: L2 padding - Linux (the 2026 selftest
 * data_lrg_1byte, tools/testing/selftests/drivers/net/gro.c) takes the
 * payload from the IP length, inet_lro refuses padded frames. Both paths. */
SHARED bool len_bypass(enum lro_policy pol, uint32_t len, uint32_t avail, uint32_t l3len)
{
	return UNLIKELY(len > BUF_SIZE) || (pol == LRO_POLICY_INET_LRO && avail > l3len);
}

/* Aggregate a started at least age before now (a time before its start
 * never ages it). */
SHARED bool older(const struct agg *a, uint64_t now, uint64_t age)
{
	return now >= a->first_ts && now - a->first_ts >= age;
}

/* max_age_ns is set and aggregate a is that old at ts. Both paths. */
SHARED bool aged(const struct lro *l, const struct agg *a, uint64_t ts)
{
	return l->c.max_age_ns && older(a, ts, l->c.max_age_ns);
}

enum prs { P_PASS, P_BYPASS, P_TCP };

/* Parse an Ethernet/IP/TCP frame. P_PASS: not a TCP segment of any flow we
 * hold (non-IP, other protocol, non-first fragment, too short): emitted as is.
 * P_BYPASS: a TCP segment we must not merge (IP options, fragment, bad IP
 * checksum, length mismatch...) but whose flow is known (hash and offsets valid).
 * P_TCP: mergeable candidate. */
static inline enum prs parse(const struct lro *l, const uint8_t *f, uint32_t len, struct pkt *p)
{
	enum prs verdict = P_TCP;
	uint32_t off = 12;
	uint16_t et;

	if (UNLIKELY(len < ETH_HLEN))
		return P_PASS;
	et = ld16(f + 12);
	while (UNLIKELY(et == 0x8100 || et == 0x88a8 || et == 0x9100)) {
		off += 4;
		if (off + 2 > MAX_L2 || off + 2 > len)
			return P_PASS;
		et = ld16(f + off);
	}
	off += 2;
	p->f = f;
	p->caplen = len;
	p->l3off = (uint16_t)off;

	const uint8_t *ip = f + off;
	uint32_t avail = len - off;
	uint32_t l4;
	uint8_t proto;
	if (LIKELY(et == 0x0800)) {
		if (avail < 20 || (ip[0] >> 4) != 4)
			return P_PASS;
		uint32_t ihl = (ip[0] & 15u) * 4;
		if (ihl < 20 || avail < ihl)
			return P_PASS;
		proto = ip[9];
		if (proto != 6)
			return P_PASS;
		uint16_t frag = ld16(ip + 6);
		if (frag & 0x1fff)  /* non-first fragment: no TCP header */
			return P_PASS;
		p->af = 4;
		p->l3len = ld16(ip + 2);
		p->tos = ip[1];
		p->ttl = ip[8];
		p->df = frag & 0x4000;
		p->ip_id = ld16(ip + 4);
		l4 = ihl;
		if (ihl != 20)                       /* rule: IP options never merge */
			verdict = P_BYPASS;
		else if (frag & 0xa000)              /* rule: MF or reserved bit */
			verdict = P_BYPASS;
		else if (l->c.verify_csum && !ip4_csum_ok(ip)) /* rule: IP csum */
			verdict = P_BYPASS;
	} else if (et == 0x86dd) {
		if (avail < 40 || (ip[0] >> 4) != 6)
			return P_PASS;
		p->af = 6;
		p->l3len = 40u + ld16(ip + 4);
		if (p->l3len == 40)  /* jumbogram or empty */
			return P_PASS;
		p->tos = (uint8_t)(ld16(ip) >> 4);
		p->ttl = ip[7];
		p->df = false;
		p->ip_id = 0;
		proto = ip[6];
		l4 = 40;
		/* rule: HBH, routing and destination options are parsed and are part
		 * of the flow identity; a fragment header is never merged */
		while (proto == 0 || proto == 43 || proto == 60 || proto == 44) {
			if (l4 + 8 > avail)
				return P_PASS;
			if (proto == 44) {
				if (ld16(ip + l4 + 2) & 0xfff8) /* non-first fragment */
					return P_PASS;
				verdict = P_BYPASS;
				proto = ip[l4];
				l4 += 8;
				continue;
			}
			uint32_t el = (ip[l4 + 1] + 1u) * 8;
			proto = ip[l4];
			l4 += el;
			if (l4 > avail)
				return P_PASS;
		}
		if (proto != 6)
			return P_PASS;
		if (l->c.policy == LRO_POLICY_INET_LRO) /* inet_lro: IPv4 only */
			verdict = P_BYPASS;
	} else {
		return P_PASS;
	}

	/* TCP header must be captured to know the flow */
	if (UNLIKELY(l4 + 20 > avail))
		return P_PASS;
	const uint8_t *th = ip + l4;
	p->l4off = (uint16_t)(off + l4);
	p->thlen = (uint16_t)((th[12] >> 4) * 4);
	p->hash = p->af == 4 ? hash4(ld64n(ip + 12), ld32n(th)) : hash6(ip + 8, ld32n(th));
	p->seq = ld32(th + 4);
	p->ack = ld32(th + 8);
	p->flags = th[13];
	p->hdr_len = (uint16_t)(p->l4off + p->thlen);

	if (UNLIKELY(p->thlen < 20 || l4 + p->thlen > p->l3len || p->l3len > avail)) {
		/* truncated/short: cannot be merged; still the flow's packet */
		p->plen = 0;
		return P_BYPASS;
	}
	p->plen = p->l3len - l4 - p->thlen;
	if (len_bypass(l->c.policy, len, avail, p->l3len))
		verdict = P_BYPASS;
	return verdict;
}

/* TCP checksum of p as received verifies, given its payload's native sum. */
static inline bool tcp_csum_ok(const struct pkt *p, uint64_t dsum)
{
	return seg_csum_ok(p->f + p->l3off, p->af, p->f + p->l4off, p->thlen, p->plen, dsum);
}

/* ------------------------------------------------------------------ table */

/* Equal L2 headers of n bytes (14..MAX_L2): MACs, VLAN tags, EtherType. */
static inline bool same_l2(const uint8_t *x, const uint8_t *y, unsigned n)
{
	uint64_t d = (ld64n(x) ^ ld64n(y)) | (ld64n(x + n - 8) ^ ld64n(y + n - 8));
	if (n > 16)
		d |= ld64n(x + 8) ^ ld64n(y + 8);
	if (n > 24)
		d |= ld64n(x + 16) ^ ld64n(y + 16);
	return !d;
}

/* rule: the flow is L2 header (MACs, VLANs), addresses and ports; IPv6 also
 * version + flow label (not the traffic class) and equal extension headers */
static inline bool same_flow(const struct agg *a, const struct pkt *p)
{
	if (a->hash != p->hash || a->l3off != p->l3off || a->af != p->af)
		return false;
	const uint8_t *f = p->f, *g = a->buf;
	unsigned n = p->l3off;
	if (!same_l2(f, g, n) || ld32n(f + p->l4off) != ld32n(g + a->l4off))
		return false;
	const uint8_t *ip = f + n, *ip2 = g + n;
	if (p->af == 4)
		return ld64n(ip + 12) == ld64n(ip2 + 12);
	static const uint8_t vfl[4] = {0xf0, 0x0f, 0xff, 0xff}; /* version, flow label */
	if (p->l4off != a->l4off || ((ld32n(ip) ^ ld32n(ip2)) & ld32n(vfl)))
		return false;
	if ((ld64n(ip + 8) ^ ld64n(ip2 + 8)) | (ld64n(ip + 16) ^ ld64n(ip2 + 16)) |
	    (ld64n(ip + 24) ^ ld64n(ip2 + 24)) | (ld64n(ip + 32) ^ ld64n(ip2 + 32)))
		return false;
	return !memcmp(ip + 40, ip2 + 40, p->l4off - n - 40u);
}

static inline int32_t lookup(struct lro *l, const struct pkt *p)
{
	int32_t i = l->last;
	if (i != NONE && same_flow(&l->a[i], p))
		return i;
	for (i = l->heads[p->hash & l->hmask]; i != NONE; i = l->a[i].hnext)
		if (same_flow(&l->a[i], p)) {
			l->last = i;
			return i;
		}
	return NONE;
}

static void unlink_slot(struct lro *l, int32_t i)
{
	struct agg *a = &l->a[i];
	int32_t *pp = &l->heads[a->hash & l->hmask];
	while (*pp != i)
		pp = &l->a[*pp].hnext;
	*pp = a->hnext;
	if (a->aprev != NONE)
		l->a[a->aprev].anext = a->anext;
	else
		l->oldest = a->anext;
	if (a->anext != NONE)
		l->a[a->anext].aprev = a->aprev;
	else
		l->newest = a->aprev;
	if (l->last == i)
		l->last = NONE;
	l->freel[l->nfree++] = i;
}

/* Zero-copy: native-order sum of the aggregate's payload (its fragments), each
 * fragment's sum swapped when it starts at an odd offset, as append() does. */
static uint64_t frags_sum(const struct lro *l, const struct agg *a)
{
	uint64_t s = 0;
	uint32_t off = 0;
	for (uint32_t k = 0; k < a->nfrags; k++) {
		uint64_t d = csum_sum(l->simd, a->frags[k].p, a->frags[k].len);
		s += sum_at(d, off);
		off += a->frags[k].len;
	}
	return s;
}

/* Write the aggregate's final headers and hand it out. */
static void flush_slot(struct lro *l, int32_t i, int reason, uint64_t now)
{
	struct agg *a = &l->a[i];
	uint64_t ts = now > a->last_ts ? now : a->last_ts;
	struct lro_out o = {.ts_ns = ts, .segs = a->count, .flush_reason = (uint8_t)reason};

	l->st.flushes[reason]++;
	l->st.frames_out++;
	l->st.data_frames_out++;
	if (a->count == 1) {
		o.frame = l->c.zero_copy ? a->orig : a->buf;
		o.len = a->orig_len;
		o.gso_type = LRO_GSO_NONE;
	} else {
		uint8_t *ip = a->buf + a->l3off, *th = a->buf + a->l4off;
		uint32_t l3len = a->len - a->l3off, tcplen = a->len - a->l4off;
		l->st.aggregates_out++;
		if (a->af == 4) {
			st16(ip + 2, (uint16_t)l3len);
			st16(ip + 10, 0);
			st16(ip + 10, (uint16_t)~fold16(be_of_native(sum_ip4(ip))));
		} else {
			st16(ip + 4, (uint16_t)(l3len - 40));
		}
		if (l->c.policy == LRO_POLICY_INET_LRO) {
			/* inet_lro: header carries the latest ACK, window and TSecr */
			st32(th + 8, a->ack);
			st16(th + 14, a->win);
			if (a->has_ts)
				st32(th + 28, a->tsecr);
		}
		if (l->c.csum_complete || l->c.policy == LRO_POLICY_INET_LRO) {
			st16(th + 16, 0);
			uint64_t s = tcp_hdr_sum(ip, a->af, th, a->thlen, tcplen);
			if (a->sum_ok)
				s += be_of_native(a->data_sum);
			else if (l->c.zero_copy)
				s += be_of_native(frags_sum(l, a));
			else
				s += be_of_native(csum_sum(l->simd, th + a->thlen, tcplen - a->thlen));
			st16(th + 16, (uint16_t)~fold16(s));
			o.csum_partial = false;
		} else {
			/* CHECKSUM_PARTIAL: pseudo-header sum */
			st16(th + 16, fold16(pseudo_sum(ip, a->af, tcplen)));
			o.csum_partial = true;
		}
		o.frame = a->buf;
		o.len = a->len;
		if (l->c.zero_copy) {
			o.frags = a->frags;
			o.nfrags = a->nfrags;
		}
		o.gso_type = a->af == 4 ? LRO_GSO_TCPV4 : LRO_GSO_TCPV6;
		o.gso_size = a->mss;
		o.hdr_len = a->hdr_len;
	}
	o.csum_start = a->l4off;
	o.csum_offset = 16;
	unlink_slot(l, i);
	l->emit(l->ctx, &o);
}

/* Take a free slot, evicting the oldest aggregate if none (linux). */
static int32_t get_slot(struct lro *l, uint64_t now)
{
	if (!l->nfree) {
		if (l->c.policy == LRO_POLICY_INET_LRO)
			return NONE; /* inet_lro: no descriptor => packet passed up */
		flush_slot(l, l->oldest, LRO_FLUSH_EVICT, now);
	}
	return l->freel[--l->nfree];
}

/* Copy the whole frame to buf (headers, payload, L2 padding), summing the
 * payload in the same pass; returns the payload sum. */
static uint64_t copy_frame_sum(const struct lro *l, uint8_t *buf, const struct pkt *p)
{
	uint32_t end = (uint32_t)p->hdr_len + p->plen; /* = l3off + l3len */
	memcpy(buf, p->f, p->hdr_len);
	uint64_t d = csum_copy(l->simd, buf + p->hdr_len, p->f + p->hdr_len, p->plen);
	if (p->caplen > end)
		memcpy(buf + end, p->f + end, p->caplen - end);
	return d;
}

/* Start an aggregate with packet p in slot i (frame already in a->buf;
 * payload sum dsum when sum_ok). */
static inline void hold(struct lro *l, int32_t i, const struct pkt *p, uint64_t ts, bool sum_ok, uint64_t dsum)
{
	struct agg *a = &l->a[i];
	a->hash = p->hash;
	a->orig_len = p->caplen;
	a->len = p->l3off + p->l3len;
	a->l3off = p->l3off;
	a->l4off = p->l4off;
	a->hdr_len = p->hdr_len;
	a->thlen = p->thlen;
	a->af = p->af;
	a->fixedid = false;
	a->count = 1;
	a->mss = (uint16_t)p->plen;
	a->ip_id0 = p->ip_id;
	a->next_seq = p->seq + p->plen;
	a->first_ts = a->last_ts = ts;
	a->sum_ok = sum_ok;
	a->data_sum = dsum;
	const uint8_t *th = p->f + p->l4off;
	a->ack = p->ack;
	a->win = ld16(th + 14);
	a->has_ts = p->thlen == 32;
	if (a->has_ts) {
		a->tsval = ld32(th + 24);
		a->tsecr = ld32(th + 28);
	}
	int32_t *hp = &l->heads[p->hash & l->hmask];
	a->hnext = *hp;
	*hp = i;
	a->anext = NONE;
	a->aprev = l->newest;
	if (l->newest != NONE)
		l->a[l->newest].anext = i;
	else
		l->oldest = i;
	l->newest = i;
	l->last = i;
	a->nvec = NV_UNSET; /* fast path set up when the next segment comes */
}

/* Hold p as a new aggregate: verify its TCP checksum (when asked) in the same
 * pass as the copy into a free slot. Returns the slot, or NONE if the
 * checksum is bad (then nothing is held and nothing evicted). The caller
 * checked that inet_lro has a free slot. */
static int32_t start(struct lro *l, const struct pkt *p, uint64_t ts)
{
	int32_t s;
	if (l->c.zero_copy) {
		/* headers copied; the payload stays in the caller's frame */
		uint64_t d = 0;
		if (l->c.verify_csum && !tcp_csum_ok(p, d = csum_sum(l->simd, p->f + p->hdr_len, p->plen)))
			return NONE;
		s = get_slot(l, ts);
		struct agg *a = &l->a[s];
		memcpy(a->buf, p->f, p->hdr_len);
		hold(l, s, p, ts, l->c.verify_csum, d);
		a->orig = p->f;
		a->frags[0] = (struct lro_frag){p->f + p->hdr_len, p->plen};
		a->nfrags = 1;
		return s;
	}
	if (!l->c.verify_csum) { /* complete checksums: summed once a 2nd segment joins */
		s = get_slot(l, ts);
		memcpy(l->a[s].buf, p->f, p->caplen);
		hold(l, s, p, ts, false, 0);
		return s;
	}
	uint64_t d;
	if (LIKELY(l->nfree)) {
		s = l->freel[l->nfree - 1];
		d = copy_frame_sum(l, l->a[s].buf, p);
		if (l->c.verify_csum && !tcp_csum_ok(p, d))
			return NONE;
		l->nfree--;
	} else {
		/* table full: check before evicting the oldest */
		d = csum_sum(l->simd, p->f + p->hdr_len, p->plen);
		if (l->c.verify_csum && !tcp_csum_ok(p, d))
			return NONE;
		s = get_slot(l, ts);
		memcpy(l->a[s].buf, p->f, p->caplen);
	}
	hold(l, s, p, ts, true, d);
	return s;
}

/* ------------------------------------------------------- linux GRO rules */

/* The rules of Linux GRO: tcp_gro_receive (net/ipv4/tcp_offload.c),
 * inet_gro_receive / inet_gro_flush (net/ipv4/af_inet.c, net/core/gro.c) and
 * ipv6_gro_receive / ipv6_gro_flush (net/ipv6/ip6_offload.c). Each returns a
 * flush reason, or -1 when the segment passes. Those that take the segment's
 * own numbers (seq, plen, ip_id) rather than its header bytes are called by
 * both paths (linux_seg_rules, rule_ts, ...); the others only by the full
 * path, the fast path's masked header compare covers them. */

/* flags, reserved bits and data offset must match, PSH/FIN excepted (CWR too, AccECN) */
static int rule_flags(const uint8_t *th, const uint8_t *th2)
{
	if (th[12] != th2[12])
		return LRO_FLUSH_OPTS; /* data offset (option length) or reserved bits */
	return ((th[13] ^ th2[13]) & ~(TH_FIN | TH_PSH)) ? LRO_FLUSH_FLAGS : -1;
}
/* receive window is in the compared flag word */
static int rule_window(const uint8_t *th, const uint8_t *th2)
{
	return memcmp(th + 14, th2 + 14, 2) ? LRO_FLUSH_WIN : -1;
}
/* ACK number identical */
static int rule_ack(const uint8_t *th, const uint8_t *th2)
{
	return memcmp(th + 8, th2 + 8, 4) ? LRO_FLUSH_ACK : -1;
}
/* every option byte identical (timestamps included) */
static int rule_options(const uint8_t *th, const uint8_t *th2, unsigned thlen)
{
	uint32_t d = 0;
	for (unsigned o = 20; o < thlen; o += 4) /* thlen: a multiple of 4 */
		d |= ld32n(th + o) ^ ld32n(th2 + o);
	return d ? LRO_FLUSH_OPTS : -1;
}
/* IPv4: TTL, TOS and DF equal; IPv6: hop limit and traffic class equal */
static int rule_ip_fields(const struct pkt *p, const uint8_t *ip2)
{
	if (p->af == 4)
		return (p->ttl != ip2[8] || p->tos != ip2[1] || p->df != !!(ip2[6] & 0x40)) ? LRO_FLUSH_IP : -1;
	return (p->ttl != ip2[7] || p->tos != (uint8_t)(ld16(ip2) >> 4)) ? LRO_FLUSH_IP : -1;
}
/* IPv4 ID: at the 2nd segment decide fixed (== first) or incrementing (first
 * + count); the decision is idempotent (a failed fast path may take it, the
 * full path then takes the same one) */
SHARED int rule_ip_id(struct agg *a, uint16_t ip_id)
{
	if (a->af != 4)
		return -1;
	uint16_t off = (uint16_t)(ip_id - a->ip_id0);
	if (a->count == 1 && off == 0)
		a->fixedid = true;
	return off != (a->fixedid ? 0 : (uint16_t)a->count) ? LRO_FLUSH_IP : -1;
}
/* next segment must start where the aggregate ends (mod 2^32); both policies */
SHARED int rule_seq(const struct agg *a, uint32_t seq)
{
	return seq != a->next_seq ? LRO_FLUSH_SEQ : -1;
}
/* a segment longer than the first one (the MSS) never joins */
SHARED int rule_larger(const struct agg *a, uint32_t plen)
{
	return plen > a->mss ? LRO_FLUSH_LARGER : -1;
}
/* aggregate L3 length stays <= max_l3 (65535: gro_max_size 65536) */
SHARED int rule_size(const struct lro *l, const struct agg *a, uint32_t plen)
{
	return (a->len - a->l3off) + plen > l->c.max_l3 ? LRO_FLUSH_SIZE : -1;
}

/* The per-segment rules (segment starting at seq, plen payload bytes, IPv4
 * ID ip_id) of a segment whose header bytes passed, in the full path's order. */
SHARED int linux_seg_rules(const struct lro *l, struct agg *a, uint32_t seq, uint32_t plen, uint16_t ip_id)
{
	int r;
	if ((r = rule_seq(a, seq)) >= 0 || (r = rule_larger(a, plen)) >= 0 || (r = rule_size(l, a, plen)) >= 0 ||
	    (r = rule_ip_id(a, ip_id)) >= 0)
		return r;
	return -1;
}

/* Every linux rule, in order, for segment p and the aggregate a of its flow. */
static inline int linux_mismatch(const struct lro *l, const struct pkt *p, struct agg *a)
{
	const uint8_t *th = p->f + p->l4off, *th2 = a->buf + a->l4off;
	int r;
	/* TCP bytes 8..15 (ACK, data offset, flags, window) all equal but PSH/FIN:
	 * rule_flags, rule_ack and rule_window pass; else find which, in order */
	if (UNLIKELY((ld64n(th + 8) ^ ld64n(th2 + 8)) & l->m_acktcp) &&
	    ((r = rule_flags(th, th2)) >= 0 || (r = rule_ack(th, th2)) >= 0 ||
	     (r = rule_window(th, th2)) >= 0))
		return r;
	if ((r = rule_options(th, th2, p->thlen)) >= 0 || (r = rule_ip_fields(p, a->buf + a->l3off)) >= 0)
		return r;
	return linux_seg_rules(l, a, p->seq, p->plen, p->ip_id);
}

/* SYN/RST/URG/PSH/FIN segments and zero-payload segments are never held */
static bool linux_never_held(const struct pkt *p)
{
	return p->plen == 0 || (p->flags & (TH_URG | TH_PSH | TH_RST | TH_SYN | TH_FIN));
}

/* ------------------------------------------------------ inet_lro rules */

/* The 2008 Linux inet_lro (net/ipv4/inet_lro.c, since removed):
 * lro_tcp_ip_check and the checks of __lro_proc_skb. */

/* CE-marked segments are not aggregated (tos: the IPv4 TOS byte) */
SHARED int rule_ce(uint8_t tos)
{
	return (tos & 3) == 3 ? LRO_FLUSH_IP : -1;
}
/* timestamps (thlen 32: NOP,NOP,TS already checked): TSecr must be non-zero;
 * continuing aggregate a (NULL when starting), the option must be there as in
 * the first segment and TSval must not go back (PAWS) */
SHARED int rule_ts(const struct agg *a, const uint8_t *th, unsigned thlen)
{
	if (thlen != 32)
		return a && a->has_ts ? LRO_FLUSH_OPTS : -1;
	if (ld32(th + 28) == 0 || (a && (!a->has_ts || (int32_t)(ld32(th + 24) - a->tsval) < 0)))
		return LRO_FLUSH_OPTS;
	return -1;
}
/* an aggregate never grows past 64 KiB of L3 length */
SHARED int rule_64k(const struct agg *a, uint32_t plen)
{
	return (a->len - a->l3off) + plen > 65535u ? LRO_FLUSH_SIZE : -1;
}

/* Shape of a segment that may start (a == NULL) or join aggregate a. */
static int inet_check(const struct pkt *p, const struct agg *a)
{
	const uint8_t *th = p->f + p->l4off;
	int r;
	if (p->plen == 0)
		return LRO_FLUSH_NO_PAYLOAD;
	/* only ACK (and PSH) may be set: no CWR/ECE/URG/RST/SYN/FIN, ACK required */
	if ((p->flags & (TH_CWR | TH_ECE | TH_URG | TH_RST | TH_SYN | TH_FIN)) || !(p->flags & TH_ACK))
		return LRO_FLUSH_FLAGS;
	if ((r = rule_ce(p->tos)) >= 0)
		return r;
	/* options: none, or exactly NOP,NOP,TS */
	if (p->thlen == 32 ? ld32(th + 20) != 0x0101080au : p->thlen != 20)
		return LRO_FLUSH_OPTS;
	return rule_ts(a, th, p->thlen);
}

/* ------------------------------------------------------------------- rx */

/* Copy the payload of frame f (plen bytes; its headers are laid out as the
 * aggregate's: same flow, same data offset) to the aggregate's tail, summing
 * it in the same pass when sums are kept, and verify the checksum when asked
 * (fast: the fast path's header compare passed, so the header words it
 * compares are summed in a->csum_c). Returns false (nothing committed) if the
 * checksum is bad. */
__attribute__((always_inline)) static inline bool append(struct lro *l, struct agg *a, const uint8_t *f,
							 uint32_t plen, bool fast)
{
	uint8_t *dst = a->buf + a->len;
	const uint8_t *src = f + a->hdr_len;
	/* zero-copy: referenced in place while the fragment array has room */
	bool ref = l->c.zero_copy && LIKELY(a->nfrags < LRO_MAX_FRAGS - 1);
	if (UNLIKELY(!a->sum_ok) && l->need_sum) {
		/* trusted, complete checksums: the first segment's payload (in cache) */
		if (l->c.zero_copy)
			a->data_sum = frags_sum(l, a);
		else
			a->data_sum = csum_sum(l->simd, a->buf + a->hdr_len, a->len - a->hdr_len);
		a->sum_ok = true;
	}
	if (a->sum_ok) {
		uint64_t d = ref ? csum_sum(l->simd, src, plen) : csum_copy(l->simd, dst, src, plen);
		if (fast && l->c.verify_csum) {
			const uint8_t *th = f + a->l4off;
			uint64_t hs = a->csum_c + halves(ld64n(th + 4)) + halves(ld64n(th + 12));
			if (l->c.policy == LRO_POLICY_INET_LRO && a->has_ts)
				hs += halves(ld64n(th + 24)); /* TSval, TSecr */
			if (!sum_ok0(hs + d + native_of_be(6u + a->thlen + plen)))
				return false;
		} else if (l->c.verify_csum &&
			   !seg_csum_ok(f + a->l3off, a->af, f + a->l4off, a->thlen, plen, d)) {
			return false;
		}
		/* at an odd offset of the aggregate the bytes swap halves: x 256
		   (only complete checksums use the aggregate's sum) */
		if (l->keep_sum)
			a->data_sum += sum_at(d, a->len - a->l4off);
	} else if (!ref) {
		memcpy(dst, src, plen);
	}
	if (l->c.zero_copy) {
		if (ref)
			a->frags[a->nfrags++] = (struct lro_frag){src, plen};
		else if (a->nfrags == LRO_MAX_FRAGS - 1) /* array full: one growing copy */
			a->frags[a->nfrags++] = (struct lro_frag){dst, plen};
		else
			a->frags[a->nfrags - 1].len += plen;
	}
	a->len += plen;
	a->count++;
	a->next_seq += plen;
	l->st.segs_merged++;
	return true;
}

/* Segment (TCP header th, plen payload bytes) has just been appended to
 * aggregate i at time ts: its effects on the aggregate's header and the
 * flushes it triggers. Both paths call this. */
SHARED void merged(struct lro *l, enum lro_policy pol, int32_t i, const uint8_t *th, uint32_t plen, uint64_t ts)
{
	struct agg *a = &l->a[i];
	a->last_ts = ts;
	if (pol == LRO_POLICY_LINUX) {
		uint8_t flags = th[13];
		a->buf[a->l4off + 13] |= flags & (TH_PSH | TH_FIN); /* rule: PSH/FIN OR-ed into head */
		if (flags & (TH_PSH | TH_FIN))                      /* ... and end the aggregate */
			flush_slot(l, i, LRO_FLUSH_PSH_FIN, ts);
		else if (plen < a->mss)                             /* rule: short segment ends it */
			flush_slot(l, i, LRO_FLUSH_SHORT, ts);
		return;
	}
	/* inet_lro: the latest ACK, window and TSecr (written at flush); TSval of
	   the first segment is kept (PAWS) */
	a->ack = ld32(th + 8);
	a->win = ld16(th + 14);
	if (a->has_ts)
		a->tsecr = ld32(th + 28);
	if (plen > a->mss)
		a->mss = (uint16_t)plen; /* gso_size = largest segment */
	if (a->count >= l->c.max_aggr)
		flush_slot(l, i, LRO_FLUSH_MAX_AGGR, ts);
	else if (a->len - a->l3off > 65535u - l->c.mtu)
		flush_slot(l, i, LRO_FLUSH_SIZE, ts);
}

/* i: the flow's held aggregate or NONE */
static inline void rx_linux(struct lro *l, const struct pkt *p, int32_t i, uint64_t ts)
{
	if (i != NONE) {
		struct agg *a = &l->a[i];
		if (p->plen == 0) { /* rule: zero payload never merges, flushes held */
			flush_slot(l, i, LRO_FLUSH_NO_PAYLOAD, ts);
			emit_frame(l, p->f, p->caplen, ts, false);
			return;
		}
		int r = linux_mismatch(l, p, a);
		if (LIKELY(r < 0)) {
			if (UNLIKELY(!append(l, a, p->f, p->plen, false))) {
				l->st.csum_bad++;
				l->st.bypassed++;
				flush_slot(l, i, LRO_FLUSH_BYPASS, ts);
				emit_frame(l, p->f, p->caplen, ts, true);
				return;
			}
			merged(l, LRO_POLICY_LINUX, i, p->f + p->l4off, p->plen, ts);
			return;
		}
		flush_slot(l, i, r, ts);
	}
	if (linux_never_held(p)) {
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, p->plen > 0);
		return;
	}
	if (start(l, p, ts) == NONE) { /* rule: bad checksum => passed through */
		l->st.csum_bad++;
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, true);
	}
}

/* i: the flow's held aggregate or NONE */
static inline void rx_inet(struct lro *l, const struct pkt *p, int32_t i, uint64_t ts)
{
	if (i != NONE) {
		struct agg *a = &l->a[i];
		int r = rule_seq(a, p->seq);
		if (r < 0)
			r = inet_check(p, a);
		if (r < 0)
			r = rule_64k(a, p->plen);
		if (r < 0) {
			if (!append(l, a, p->f, p->plen, false)) {
				l->st.csum_bad++;
				r = LRO_FLUSH_BYPASS;
			}
		}
		if (r >= 0) { /* inet_lro: flush the session, pass the packet up */
			flush_slot(l, i, r, ts);
			l->st.bypassed++;
			emit_frame(l, p->f, p->caplen, ts, p->plen > 0);
			return;
		}
		merged(l, LRO_POLICY_INET_LRO, i, p->f + p->l4off, p->plen, ts);
		return;
	}
	if (inet_check(p, NULL) >= 0 || !l->nfree) {
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, p->plen > 0);
		return;
	}
	int32_t s = start(l, p, ts);
	if (s == NONE) {
		l->st.csum_bad++;
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, true);
		return;
	}
	if (l->c.max_aggr <= 1)
		flush_slot(l, s, LRO_FLUSH_MAX_AGGR, ts);
}

/* ------------------------------------------------------------ fast path */

/* Mask of the header bytes (untagged frame, IPv4 without options or IPv6
 * without extension headers, thlen) that must equal the aggregate's first
 * header for the rules to pass: every byte but the IP length, ID and header
 * checksum, the sequence number, PSH/FIN (linux) / PSH (inet_lro), the TCP
 * checksum and urgent pointer; inet_lro also lets TOS, TTL, DF, ACK, window and
 * the timestamp values differ (checked one by one where it has a rule). */
static void fp_mask(uint8_t *m, enum lro_policy pol, int af, unsigned thlen)
{
	bool inet = pol == LRO_POLICY_INET_LRO;
	unsigned l4off = ETH_HLEN + (af == 4 ? 20 : 40);
	uint8_t *ip = m + ETH_HLEN, *th = m + l4off;
	memset(m, 0, FP_MAX);
	memset(m, 0xff, l4off + thlen);
	if (af == 4) {
		ip[2] = ip[3] = ip[4] = ip[5] = ip[10] = ip[11] = 0; /* length, ID, checksum */
		if (inet) {
			ip[1] = ip[8] = 0;         /* TOS, TTL */
			ip[6] = (uint8_t)~0x40;    /* DF */
		}
	} else {
		ip[4] = ip[5] = 0;                 /* payload length */
	}
	memset(th + 4, 0, 4);                      /* seq */
	th[13] = (uint8_t)~(inet ? TH_PSH : TH_PSH | TH_FIN);
	memset(th + 16, 0, 4);                     /* checksum, urgent pointer */
	if (inet) {
		memset(th + 8, 0, 4);              /* ACK */
		th[14] = th[15] = 0;               /* window */
		if (thlen == 32)
			memset(th + 24, 0, 8);     /* TSval, TSecr */
	}
}

/* f's first n * 16 bytes (4 <= n <= 8) equal h's where m is set. */
static inline bool hdr_match(const uint8_t *f, const uint8_t *h, const uint8_t *m, unsigned n)
{
#if defined(LRO_X86) && defined(__SSE2__)
#define HM_BLOCK(k) _mm_and_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(f + 16 * (k))), \
						 _mm_loadu_si128((const __m128i *)(const void *)(h + 16 * (k)))), \
				  _mm_load_si128((const __m128i *)(const void *)(m + 16 * (k))))
	__m128i acc = _mm_or_si128(_mm_or_si128(HM_BLOCK(0), HM_BLOCK(1)), _mm_or_si128(HM_BLOCK(2), HM_BLOCK(3)));
	if (n > 4) {
		acc = _mm_or_si128(acc, HM_BLOCK(4));
		if (n > 5) {
			acc = _mm_or_si128(acc, HM_BLOCK(5));
			for (unsigned k = 6; k < n; k++)
				acc = _mm_or_si128(acc, HM_BLOCK(k));
		}
	}
#undef HM_BLOCK
	return _mm_movemask_epi8(_mm_cmpeq_epi8(acc, _mm_setzero_si128())) == 0xffff;
#else
	uint64_t d = 0;
	for (unsigned k = 0; k < 2 * n; k++)
		d |= (ld64n(f + 8 * k) ^ ld64n(h + 8 * k)) & ld64n(m + 8 * k);
	return !d;
#endif
}

/* Set up the fast path of aggregate a (from its first header, unchanged
 * while held): untagged IPv4 / IPv6 without extension headers only. */
static void fp_setup(const struct lro *l, struct agg *a)
{
	a->nvec = 0;
	if (a->l3off != ETH_HLEN || a->l4off != ETH_HLEN + (a->af == 4 ? 20 : 40))
		return;
	const uint8_t *ip = a->buf + ETH_HLEN, *th = a->buf + a->l4off;
	unsigned optend = l->c.policy == LRO_POLICY_INET_LRO && a->has_ts ? 24 : a->thlen;
	a->fpm = l->fpm[a->af == 6][a->thlen / 4 - 5];
	a->nvec = (uint8_t)((a->hdr_len + 15) / 16);
	memcpy(a->fph, a->buf, a->hdr_len);
	a->ports = ld32n(th);
	memset(a->fph + a->hdr_len, 0, a->nvec * 16u - a->hdr_len);
	a->ip_c = sum_addrs(ip, a->af);
	a->csum_c = a->ip_c + ld32n(th) + sum_words(th + 20, optend - 20);
}

enum fast { FAST_DONE, FAST_MISS, FAST_NOFLOW };

/* The common case in one step: frame f continues a held aggregate and every
 * header byte the rules compare equals the aggregate's first header (one
 * masked compare, which also proves the flow identity and that parse() would
 * say P_TCP); the remaining per-segment rules are the full path's own
 * functions (linux_seg_rules; rule_seq, rule_ce, rule_64k, rule_ts), and so
 * are a merge's effects (merged()). pol: l->c.policy, a constant in each of
 * the two copies lro_rx inlines. Returns FAST_MISS with nothing changed (rule_ip_id's fixed-ID decision is
 * idempotent) when a check fails or the case is not covered: the full path
 * then decides, with the same result as if this had not run; FAST_NOFLOW
 * when no aggregate has the flow hash of an untagged frame read as IPv4
 * without options / IPv6 without extension headers. */
__attribute__((always_inline)) static inline enum fast rx_fast(struct lro *l, enum lro_policy pol,
								const uint8_t *f, uint32_t len, uint64_t ts)
{
	if (len < 64)
		return FAST_MISS;
	/* the flow of the previous segment: the header compare alone proves it */
	int32_t i = l->last;
	struct agg *a = i != NONE ? &l->a[i] : NULL;
	if (!a || a->nvec == NV_UNSET || !a->nvec || len < a->nvec * 16u || ld32n(f + a->l4off) != a->ports ||
	    !hdr_match(f, a->fph, a->fpm, a->nvec)) {
		uint16_t et = ld16(f + 12);
		uint32_t h;
		if (LIKELY(et == 0x0800))
			h = hash4(ld64n(f + 26), ld32n(f + 34));
		else if (et == 0x86dd)
			h = hash6(f + 22, ld32n(f + 54));
		else
			return FAST_MISS;
		for (i = l->heads[h & l->hmask]; i != NONE && l->a[i].hash != h; i = l->a[i].hnext)
			;
		if (i == NONE)
			return FAST_NOFLOW;
		a = &l->a[i];
		if (a->nvec == NV_UNSET)
			fp_setup(l, a);
		if (!a->nvec || len < a->nvec * 16u || !hdr_match(f, a->fph, a->fpm, a->nvec))
			return FAST_MISS;
	}

	const uint8_t *ip = f + ETH_HLEN, *th = f + a->l4off;
	uint32_t avail = len - ETH_HLEN, hl = a->hdr_len - ETH_HLEN; /* IP + TCP header */
	uint32_t l3len = a->af == 4 ? ld16(ip + 2) : 40u + ld16(ip + 4);
	/* parse() would say P_TCP with a payload (else the full path decides) */
	if (l3len <= hl || l3len > avail || len_bypass(pol, len, avail, l3len))
		return FAST_MISS;
	if (a->af == 4 && l->c.verify_csum && !ip4_csum_ok_addrs(ip, a->ip_c)) /* addresses: compared */
		return FAST_MISS;
	if (aged(l, a, ts))
		return FAST_MISS;
	uint32_t plen = l3len - hl, seq = ld32(th + 4);
	if (pol == LRO_POLICY_LINUX) {
		/* ip + 4: the IPv4 ID (IPv6: the payload length, which rule_ip_id ignores) */
		if (linux_seg_rules(l, a, seq, plen, ld16(ip + 4)) >= 0)
			return FAST_MISS;
	} else if (rule_seq(a, seq) >= 0 || rule_ce(ip[1]) >= 0 || rule_64k(a, plen) >= 0 ||
		   rule_ts(a, th, a->thlen) >= 0) {
		return FAST_MISS;
	}
	if (!append(l, a, f, plen, true))
		return FAST_MISS;
	l->st.segs_in++;
	l->last = i;
	merged(l, pol, i, th, plen, ts);
	return FAST_DONE;
}

/* The full path: parse, look up, apply every rule. */
/* noflow: rx_fast found no aggregate with the hash of frame read as untagged
 * IPv4 without options / IPv6 without extension headers. */
__attribute__((noinline)) static void rx_full(struct lro *l, const uint8_t *frame, uint32_t len, uint64_t ts,
					      bool noflow)
{
	struct pkt p;
	enum prs v = parse(l, frame, len, &p);
	if (UNLIKELY(v == P_PASS)) {
		l->st.bypassed++;
		emit_frame(l, frame, len, ts, false);
		return;
	}
	if (p.plen)
		l->st.segs_in++;
	int32_t i = noflow && p.l3off == ETH_HLEN && p.l4off == ETH_HLEN + (p.af == 4 ? 20 : 40)
			    ? NONE /* p.hash is that hash */
			    : lookup(l, &p);
	if (UNLIKELY(v == P_BYPASS)) {
		/* unmergeable packet of a flow: flush that flow first (keeps order) */
		l->st.bypassed++;
		if (i != NONE)
			flush_slot(l, i, LRO_FLUSH_BYPASS, ts);
		emit_frame(l, frame, len, ts, p.plen > 0);
		return;
	}
	if (i != NONE && aged(l, &l->a[i], ts)) {
		flush_slot(l, i, LRO_FLUSH_AGE, ts);
		i = NONE;
	}
	if (l->c.policy == LRO_POLICY_LINUX)
		rx_linux(l, &p, i, ts);
	else
		rx_inet(l, &p, i, ts);
}

void lro_rx(struct lro *l, const uint8_t *frame, uint32_t len, uint64_t ts)
{
	l->st.frames_in++;
	/* one copy of the fast path per policy (pol a constant in each) */
	enum fast r = l->c.policy == LRO_POLICY_LINUX ? rx_fast(l, LRO_POLICY_LINUX, frame, len, ts)
						      : rx_fast(l, LRO_POLICY_INET_LRO, frame, len, ts);
	if (LIKELY(r == FAST_DONE))
		return;
	rx_full(l, frame, len, ts, r == FAST_NOFLOW);
}

/* ------------------------------------------------------------ flushing */

void lro_poll_end(struct lro *l, uint64_t now)
{
	while (l->oldest != NONE)
		flush_slot(l, l->oldest, LRO_FLUSH_POLL_END, now);
}

void lro_flush_all(struct lro *l)
{
	lro_poll_end(l, 0);
}

void lro_flush_older(struct lro *l, uint64_t now, uint64_t age)
{
	int32_t i = l->oldest;
	while (i != NONE) {
		int32_t n = l->a[i].anext;
		if (older(&l->a[i], now, age))
			flush_slot(l, i, LRO_FLUSH_AGE, now);
		i = n;
	}
}

unsigned lro_held(const struct lro *l)
{
	return l->c.table_size - l->nfree;
}

/* ---------------------------------------------------------- life cycle */

void lro_config_default(struct lro_config *c, enum lro_policy p)
{
	memset(c, 0, sizeof *c);
	c->policy = p;
	c->table_size = p == LRO_POLICY_LINUX ? 64 : 8;
	c->max_age_ns = 0;
	c->max_aggr = 64;
	c->mtu = 1500;
	c->max_l3 = 65535;
	c->verify_csum = true;
	c->csum_complete = p == LRO_POLICY_INET_LRO;
}

struct lro *lro_new(const struct lro_config *c, lro_emit_fn emit, void *ctx)
{
	if (!c || !emit || c->table_size < 1 || c->table_size > 4096 ||
	    (c->policy != LRO_POLICY_LINUX && c->policy != LRO_POLICY_INET_LRO) ||
	    c->max_aggr < 1 || c->max_aggr > 65535 || c->mtu < 68 || c->mtu > 65535 ||
	    c->max_l3 < 576 || c->max_l3 > 65535)
		return NULL;
	struct lro *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->c = *c;
#ifdef LRO_TEST_BREAK_CSUM
	/* A test build only (tests/t-lro-checker.sh; never in the library): the
	 * engine broken on purpose - it merges without verifying IPv4 header and
	 * TCP checksums while its caller believes it verifies them. The checker
	 * (tests/helpers/lro-check.h) must catch the bad segments it merges. */
	l->c.verify_csum = false;
#endif
	l->emit = emit;
	l->ctx = ctx;
	uint32_t nb = 1;
	while (nb < 2 * c->table_size)
		nb <<= 1;
	l->hmask = nb - 1;
	l->a = calloc(c->table_size, sizeof *l->a);
	l->heads = malloc(nb * sizeof *l->heads);
	l->freel = malloc(c->table_size * sizeof *l->freel);
	l->bufs = malloc((size_t)c->table_size * BUF_SIZE);
	if (c->zero_copy)
		l->fragmem = malloc((size_t)c->table_size * LRO_MAX_FRAGS * sizeof *l->fragmem);
	if (!l->a || !l->heads || !l->freel || !l->bufs || (c->zero_copy && !l->fragmem)) {
		lro_free(l);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		l->heads[i] = NONE;
	for (unsigned i = 0; i < c->table_size; i++) {
		l->a[i].buf = l->bufs + (size_t)i * BUF_SIZE;
		if (c->zero_copy)
			l->a[i].frags = l->fragmem + (size_t)i * LRO_MAX_FRAGS;
		l->freel[i] = (int32_t)(c->table_size - 1 - i);
	}
	l->nfree = c->table_size;
	l->oldest = l->newest = l->last = NONE;
	l->simd = lro_simd_level();
	l->keep_sum = c->csum_complete || c->policy == LRO_POLICY_INET_LRO;
	l->need_sum = c->verify_csum || l->keep_sum;
	static const uint8_t m[8] = {0xff, 0xff, 0xff, 0xff, 0xff, (uint8_t)~(TH_PSH | TH_FIN), 0xff, 0xff};
	l->m_acktcp = ld64n(m);
	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned t = 0; t < 11; t++)
			fp_mask(l->fpm[v6][t], c->policy, v6 ? 6 : 4, 20 + 4 * t);
	return l;
}

void lro_free(struct lro *l)
{
	if (!l)
		return;
	free(l->a);
	free(l->heads);
	free(l->freel);
	free(l->bufs);
	free(l->fragmem);
	free(l);
}

const struct lro_stats *lro_stats(const struct lro *l) { return &l->st; }

void lro_out_gather(const struct lro_out *o, uint8_t *dst)
{
	if (!o->nfrags) {
		memcpy(dst, o->frame, o->len);
		return;
	}
	memcpy(dst, o->frame, o->hdr_len);
	dst += o->hdr_len;
	for (uint32_t k = 0; k < o->nfrags; k++) {
		memcpy(dst, o->frags[k].p, o->frags[k].len);
		dst += o->frags[k].len;
	}
}

double lro_rate(const struct lro_stats *s)
{
	return s->data_frames_out ? (double)s->segs_in / (double)s->data_frames_out : NAN;
}

static const char *const reason_names[LRO_FLUSH__COUNT] = {
	[LRO_FLUSH_POLL_END] = "poll_end", [LRO_FLUSH_AGE] = "age", [LRO_FLUSH_EVICT] = "evict",
	[LRO_FLUSH_PSH_FIN] = "psh_fin", [LRO_FLUSH_SHORT] = "short_segment",
	[LRO_FLUSH_LARGER] = "larger_segment", [LRO_FLUSH_SIZE] = "size_limit",
	[LRO_FLUSH_MAX_AGGR] = "max_aggr", [LRO_FLUSH_SEQ] = "seq_gap", [LRO_FLUSH_ACK] = "ack",
	[LRO_FLUSH_WIN] = "window", [LRO_FLUSH_OPTS] = "tcp_options", [LRO_FLUSH_FLAGS] = "tcp_flags",
	[LRO_FLUSH_IP] = "ip_header", [LRO_FLUSH_NO_PAYLOAD] = "no_payload",
	[LRO_FLUSH_BYPASS] = "unmergeable",
};

const char *lro_flush_reason_name(int r)
{
	return r >= 0 && r < LRO_FLUSH__COUNT ? reason_names[r] : "?";
}

const char *lro_policy_name(enum lro_policy p)
{
	return p == LRO_POLICY_LINUX ? "linux" : p == LRO_POLICY_INET_LRO ? "inet_lro" : "?";
}

int lro_policy_parse(const char *s, enum lro_policy *p)
{
	if (!s)
		return -1;
	if (!strcmp(s, "linux")) {
		*p = LRO_POLICY_LINUX;
		return 0;
	}
	if (!strcmp(s, "inet_lro")) {
		*p = LRO_POLICY_INET_LRO;
		return 0;
	}
	return -1;
}
