/* lro_ref/lro.c - reference LRO/GRO engine (see lro.h for the contract).
 *
 * Hot path per segment: parse headers, hash the flow, one chain lookup, the
 * rule functions (a few compares against the held first header), one copy of
 * the payload into the slot's preallocated 64 KiB buffer (with the checksum
 * computed over the copy when verifying). Header fix-ups happen once per
 * aggregate at flush time.
 */
#include "lro_ref/lro.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LRO_X86 1
#endif

#define ETH_HLEN 14
#define MAX_L2 30      /* Ethernet + up to 4 VLAN tags */
#define BUF_SIZE (MAX_L2 + 65536 + 64)
#define NONE (-1)

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10,
       TH_URG = 0x20, TH_ECE = 0x40, TH_CWR = 0x80 };

/* ---------------------------------------------------------------- checksums */

static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void st32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Sums are kept big-endian-word based (RFC 1071), as 64-bit accumulators. */
static inline uint64_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return s;
}

uint16_t lro_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint64_t csum_generic(const uint8_t *p, uint32_t len)
{
	uint64_t a = 0;
	while (len >= 8) {
		a += ld32(p);
		a += ld32(p + 4);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		a += ld16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		a += (uint32_t)p[0] << 8;
	return a;
}

#ifdef LRO_X86
/* Sum of 16-bit big-endian words via pmaddwd: words are byte-swapped with a
 * shuffle, biased by 0x8000 so the signed multiply-add is exact, and the bias
 * is added back at the end. */
__attribute__((target("avx2"))) static uint64_t csum_avx2(const uint8_t *p, uint32_t len)
{
	const __m256i swap = _mm256_setr_epi8(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14,
					      1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
	const __m256i bias = _mm256_set1_epi16((short)0x8000);
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i acc = _mm256_setzero_si256();
	uint64_t total = 0, words = 0;
	uint32_t n = len / 32;
	while (n) {
		uint32_t chunk = n > 16384 ? 16384 : n; /* int32 lanes cannot overflow */
		n -= chunk;
		words += (uint64_t)chunk * 16;
		__m256i a32 = _mm256_setzero_si256();
		for (uint32_t i = 0; i < chunk; i++, p += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
			v = _mm256_xor_si256(_mm256_shuffle_epi8(v, swap), bias);
			a32 = _mm256_add_epi32(a32, _mm256_madd_epi16(v, ones));
		}
		/* widen signed 32-bit lanes to 64 and accumulate */
		acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(a32)));
		acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a32, 1)));
	}
	int64_t l[4];
	_mm256_storeu_si256((__m256i *)(void *)l, acc);
	int64_t s = l[0] + l[1] + l[2] + l[3] + (int64_t)(words * 0x8000);
	total = (uint64_t)s;
	return total + csum_generic(p, len % 32);
}

static int have_avx2 = -1;
#endif

static inline uint64_t csum_bytes(const uint8_t *p, uint32_t len)
{
#ifdef LRO_X86
	if (len >= 64) {
		if (have_avx2 < 0)
			have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
		if (have_avx2)
			return csum_avx2(p, len);
	}
#endif
	return csum_generic(p, len);
}

uint32_t lro_csum_add(uint32_t sum, const void *buf, uint32_t len)
{
	return (uint32_t)fold64(sum + csum_bytes(buf, len));
}

static inline uint16_t fold16(uint64_t s)
{
	s = fold64(s);
	return lro_csum_fold((uint32_t)s);
}

static inline uint16_t swap16(uint16_t v) { return (uint16_t)(v << 8 | v >> 8); }

/* ------------------------------------------------------------------- types */

struct key {
	uint8_t l2[MAX_L2 + 2]; /* Ethernet header incl. tags (identity: MACs, VLANs) */
	uint8_t addr[32];       /* saddr, daddr */
	uint32_t ports;
	uint32_t v6word;        /* IPv6 version + flow label (TC excluded) */
	uint32_t exthash;       /* IPv6 extension headers: hash (bytes compared too) */
	uint16_t l2len, extlen;
	uint8_t af, pad[3];
};

struct pkt {
	const uint8_t *f;
	uint32_t caplen;     /* frame bytes given */
	uint32_t l3len;      /* L3 length claimed by IP */
	uint32_t plen;       /* TCP payload length */
	uint16_t l3off, l4off, hdr_len, thlen;
	uint8_t af, flags, ttl, tos;
	bool df, padded;
	uint16_t ip_id;
	uint32_t seq, ack;
	uint64_t hash;
	struct key k;
};

struct agg {
	struct key k;
	uint64_t hash;
	int32_t hnext;            /* hash chain */
	int32_t aprev, anext;     /* age list, oldest first */
	uint8_t *buf;
	uint32_t len;             /* aggregate frame length (L2 .. end of payload) */
	uint32_t orig_len;        /* first frame's length as received (count == 1) */
	uint16_t l3off, l4off, hdr_len, thlen;
	uint8_t af;
	bool fixedid, sum_ok;
	uint16_t count, mss, ip_id0;
	uint32_t next_seq;
	uint64_t first_ts, last_ts;
	uint64_t data_sum;        /* payload sum, aligned to the aggregate (if sum_ok) */
	/* inet_lro: latest values written at flush */
	uint32_t ack, tsval, tsecr;
	uint16_t win;
	bool has_ts;
};

struct lro {
	struct lro_config c;
	lro_emit_fn emit;
	void *ctx;
	struct lro_stats st;
	struct agg *a;
	int32_t *heads;
	uint32_t hmask;
	int32_t *freel;
	unsigned nfree;
	int32_t oldest, newest;
	uint8_t *bufs;
};

/* --------------------------------------------------------------- utilities */

static inline uint64_t mix64(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}

static inline uint64_t ld64n(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
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

enum prs { P_PASS, P_BYPASS, P_TCP };

/* Parse an Ethernet/IP/TCP frame. P_PASS: not a TCP segment of any flow we
 * hold (non-IP, other protocol, non-first fragment, too short): emitted as is.
 * P_BYPASS: a TCP segment we must not merge (IP options, fragment, bad IP
 * checksum, length mismatch...) but whose flow is known (key valid).
 * P_TCP: mergeable candidate. */
static enum prs parse(const struct lro *l, const uint8_t *f, uint32_t len, struct pkt *p)
{
	enum prs verdict = P_TCP;
	uint32_t off = 12;
	uint16_t et;

	if (len < ETH_HLEN)
		return P_PASS;
	et = ld16(f + 12);
	while (et == 0x8100 || et == 0x88a8 || et == 0x9100) {
		off += 4;
		if (off + 2 > MAX_L2 || off + 2 > len)
			return P_PASS;
		et = ld16(f + off);
	}
	off += 2;
	p->f = f;
	p->caplen = len;
	p->l3off = (uint16_t)off;
	memset(&p->k, 0, sizeof p->k);
	memcpy(p->k.l2, f, off);
	p->k.l2len = (uint16_t)off;

	const uint8_t *ip = f + off;
	uint32_t avail = len - off;
	uint32_t l4;
	uint8_t proto;
	if (et == 0x0800) {
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
		memcpy(p->k.addr, ip + 12, 8);
		l4 = ihl;
		if (ihl != 20)                       /* rule: IP options never merge */
			verdict = P_BYPASS;
		if (frag & 0xa000)                   /* rule: MF or reserved bit */
			verdict = P_BYPASS;
		if (l->c.verify_csum && fold16(csum_bytes(ip, ihl)) != 0xffff) /* rule: IP csum */
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
		memcpy(p->k.addr, ip + 8, 32);
		p->k.v6word = ld32(ip) & 0xF00FFFFFu;
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
		p->k.extlen = (uint16_t)(l4 - 40);
		if (p->k.extlen) {
			uint32_t h = 2166136261u;
			for (uint32_t i = 40; i < l4; i++)
				h = (h ^ ip[i]) * 16777619u;
			p->k.exthash = h;
		}
		if (l->c.policy == LRO_POLICY_INET_LRO) /* inet_lro: IPv4 only */
			verdict = P_BYPASS;
	} else {
		return P_PASS;
	}
	p->k.af = p->af;

	/* TCP header must be captured to know the flow */
	if (l4 + 20 > avail)
		return P_PASS;
	const uint8_t *th = ip + l4;
	p->l4off = (uint16_t)(off + l4);
	p->thlen = (uint16_t)((th[12] >> 4) * 4);
	memcpy(&p->k.ports, th, 4);
	uint64_t h = mix64(0x51ed27u, ld64n(p->k.addr));
	if (p->af == 6) {
		h = mix64(h, ld64n(p->k.addr + 8));
		h = mix64(h, ld64n(p->k.addr + 16));
		h = mix64(h, ld64n(p->k.addr + 24));
	}
	p->hash = mix64(h, p->k.ports);
	p->seq = ld32(th + 4);
	p->ack = ld32(th + 8);
	p->flags = th[13];
	p->hdr_len = (uint16_t)(p->l4off + p->thlen);

	if (p->thlen < 20 || l4 + p->thlen > p->l3len || p->l3len > avail) {
		/* truncated/short: cannot be merged; still the flow's packet */
		p->plen = 0;
		return P_BYPASS;
	}
	p->plen = p->l3len - l4 - p->thlen;
	p->padded = avail > p->l3len;
	if (len > BUF_SIZE) /* absurd padding: never copied into a slot */
		verdict = P_BYPASS;
	/* rule: L2 padding - Linux (2026 selftest data_lrg_1byte) takes the payload
	 * from the IP length; inet_lro refuses padded frames */
	if (p->padded && l->c.policy == LRO_POLICY_INET_LRO)
		verdict = P_BYPASS;

	return verdict;
}

/* TCP checksum of the packet's segment as received: returns true if valid,
 * and the payload's sum in *dsum (when dsum != NULL). */
static uint64_t pseudo_sum(const uint8_t *ip, uint8_t af, uint32_t tcplen)
{
	uint64_t s = 6 + (uint64_t)tcplen;
	if (af == 4)
		s += csum_generic(ip + 12, 8);
	else
		s += csum_generic(ip + 8, 32);
	return s;
}

static bool tcp_csum_ok(const struct pkt *p, const uint8_t *payload, uint64_t *dsum)
{
	uint32_t tcplen = p->thlen + p->plen;
	uint64_t s = pseudo_sum(p->f + p->l3off, p->af, tcplen);
	s += csum_generic(p->f + p->l4off, p->thlen);
	uint64_t d = csum_bytes(payload, p->plen);
	if (dsum)
		*dsum = d;
	return fold16(s + d) == 0xffff;
}

/* ------------------------------------------------------------------ table */

static int32_t lookup(const struct lro *l, const struct pkt *p)
{
	for (int32_t i = l->heads[p->hash & l->hmask]; i != NONE; i = l->a[i].hnext) {
		const struct agg *a = &l->a[i];
		if (a->hash != p->hash || memcmp(&a->k, &p->k, sizeof p->k))
			continue;
		/* IPv6 extension headers: equal length and bytes (rule: different = other flow) */
		if (p->k.extlen && memcmp(a->buf + a->l3off + 40, p->f + p->l3off + 40, p->k.extlen))
			continue;
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
	l->freel[l->nfree++] = i;
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
		o.frame = a->buf;
		o.len = a->orig_len;
		o.gso_type = LRO_GSO_NONE;
	} else {
		uint8_t *ip = a->buf + a->l3off, *th = a->buf + a->l4off;
		uint32_t l3len = a->len - a->l3off, tcplen = a->len - a->l4off;
		l->st.aggregates_out++;
		if (a->af == 4) {
			st16(ip + 2, (uint16_t)l3len);
			st16(ip + 10, 0);
			st16(ip + 10, (uint16_t)~fold16(csum_generic(ip, 20)));
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
		uint64_t ps = pseudo_sum(ip, a->af, tcplen);
		if (l->c.csum_complete || l->c.policy == LRO_POLICY_INET_LRO) {
			st16(th + 16, 0);
			uint64_t s = ps + csum_generic(th, a->thlen);
			if (a->sum_ok)
				s += a->data_sum;
			else
				s += csum_bytes(th + a->thlen, tcplen - a->thlen);
			st16(th + 16, (uint16_t)~fold16(s));
			o.csum_partial = false;
		} else {
			st16(th + 16, fold16(ps)); /* CHECKSUM_PARTIAL: pseudo-header sum */
			o.csum_partial = true;
		}
		o.frame = a->buf;
		o.len = a->len;
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

/* Start an aggregate with packet p (payload sum dsum when known). */
static void hold(struct lro *l, int32_t i, const struct pkt *p, uint64_t ts, bool sum_ok, uint64_t dsum)
{
	struct agg *a = &l->a[i];
	memcpy(a->buf, p->f, p->caplen);
	a->k = p->k;
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
}

/* ------------------------------------------------------- linux GRO rules */

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
	return memcmp(th + 20, th2 + 20, thlen - 20) ? LRO_FLUSH_OPTS : -1;
}
/* IPv4: TTL, TOS and DF equal; IPv6: hop limit and traffic class equal */
static int rule_ip_fields(const struct pkt *p, const uint8_t *ip2)
{
	if (p->af == 4)
		return (p->ttl != ip2[8] || p->tos != ip2[1] || p->df != !!(ip2[6] & 0x40)) ? LRO_FLUSH_IP : -1;
	return (p->ttl != ip2[7] || p->tos != (uint8_t)(ld16(ip2) >> 4)) ? LRO_FLUSH_IP : -1;
}
/* IPv4 ID: at the 2nd segment decide fixed (== first) or incrementing (first + count) */
static int rule_ip_id(const struct pkt *p, struct agg *a)
{
	if (p->af != 4)
		return -1;
	uint16_t off = (uint16_t)(p->ip_id - a->ip_id0);
	if (a->count == 1 && off == 0)
		a->fixedid = true;
	return off != (a->fixedid ? 0 : (uint16_t)a->count) ? LRO_FLUSH_IP : -1;
}
/* next segment must start where the aggregate ends (mod 2^32) */
static int rule_seq(const struct pkt *p, const struct agg *a)
{
	return p->seq != a->next_seq ? LRO_FLUSH_SEQ : -1;
}
/* a segment longer than the first one (the MSS) never joins */
static int rule_larger(const struct pkt *p, const struct agg *a)
{
	return p->plen > a->mss ? LRO_FLUSH_LARGER : -1;
}
/* aggregate L3 length stays <= max_l3 (65535: gro_max_size 65536) */
static int rule_size(const struct lro *l, const struct pkt *p, const struct agg *a)
{
	return (a->len - a->l3off) + p->plen > l->c.max_l3 ? LRO_FLUSH_SIZE : -1;
}

static int linux_mismatch(const struct lro *l, const struct pkt *p, struct agg *a)
{
	const uint8_t *th = p->f + p->l4off, *th2 = a->buf + a->l4off;
	int r;
	if ((r = rule_flags(th, th2)) >= 0 || (r = rule_ack(th, th2)) >= 0 ||
	    (r = rule_window(th, th2)) >= 0 || (r = rule_options(th, th2, p->thlen)) >= 0 ||
	    (r = rule_ip_fields(p, a->buf + a->l3off)) >= 0 || (r = rule_seq(p, a)) >= 0 ||
	    (r = rule_larger(p, a)) >= 0 || (r = rule_size(l, p, a)) >= 0 ||
	    (r = rule_ip_id(p, a)) >= 0)
		return r;
	return -1;
}

/* SYN/RST/URG/PSH/FIN segments and zero-payload segments are never held */
static bool linux_never_held(const struct pkt *p)
{
	return p->plen == 0 || (p->flags & (TH_URG | TH_PSH | TH_RST | TH_SYN | TH_FIN));
}

/* ------------------------------------------------------ inet_lro rules */

/* inet_lro lro_tcp_ip_check: shape of a segment that may start/join a session.
 * a == NULL when starting. Returns -1 if fine, else a flush reason. */
static int inet_check(const struct pkt *p, const struct agg *a)
{
	const uint8_t *th = p->f + p->l4off;
	if (p->plen == 0)
		return LRO_FLUSH_NO_PAYLOAD;
	/* only ACK (and PSH) may be set: no CWR/ECE/URG/RST/SYN/FIN, ACK required */
	if ((p->flags & (TH_CWR | TH_ECE | TH_URG | TH_RST | TH_SYN | TH_FIN)) || !(p->flags & TH_ACK))
		return LRO_FLUSH_FLAGS;
	/* CE-marked segments are not aggregated */
	if ((p->tos & 3) == 3)
		return LRO_FLUSH_IP;
	/* options: none, or exactly NOP,NOP,TS */
	if (p->thlen != 20 && p->thlen != 32)
		return LRO_FLUSH_OPTS;
	if (p->thlen == 32) {
		if (ld32(th + 20) != 0x0101080au)
			return LRO_FLUSH_OPTS;
		/* TSval must not go back (PAWS); TSecr must be non-zero */
		if (a && (!a->has_ts || (int32_t)(ld32(th + 24) - a->tsval) < 0))
			return LRO_FLUSH_OPTS;
		if (ld32(th + 28) == 0)
			return LRO_FLUSH_OPTS;
	} else if (a && a->has_ts) {
		return LRO_FLUSH_OPTS;
	}
	return -1;
}

/* ------------------------------------------------------------------- rx */

/* Copy the payload to the aggregate's tail; verify the checksum over the copy
 * when asked. Returns false (nothing committed) if the checksum is bad. */
static bool append(struct lro *l, struct agg *a, const struct pkt *p)
{
	uint8_t *dst = a->buf + a->len;
	const uint8_t *src = p->f + p->l4off + p->thlen;
	memcpy(dst, src, p->plen);
	if (l->c.verify_csum) {
		uint64_t d;
		if (!tcp_csum_ok(p, dst, &d))
			return false;
		if (a->sum_ok) {
			uint16_t f = fold16(d);
			a->data_sum += ((a->len - a->l4off) & 1) ? swap16(f) : f;
		}
	}
	a->len += p->plen;
	a->count++;
	a->next_seq += p->plen;
	l->st.segs_merged++;
	return true;
}

static void flush_flow(struct lro *l, const struct pkt *p, int reason, uint64_t ts)
{
	int32_t i = lookup(l, p);
	if (i != NONE)
		flush_slot(l, i, reason, ts);
}

static void rx_linux(struct lro *l, const struct pkt *p, uint64_t ts)
{
	int32_t i = lookup(l, p);
	if (i != NONE) {
		struct agg *a = &l->a[i];
		if (p->plen == 0) { /* rule: zero payload never merges, flushes held */
			flush_slot(l, i, LRO_FLUSH_NO_PAYLOAD, ts);
			emit_frame(l, p->f, p->caplen, ts, false);
			return;
		}
		int r = linux_mismatch(l, p, a);
		if (r < 0) {
			if (!append(l, a, p)) {
				l->st.csum_bad++;
				l->st.bypassed++;
				flush_slot(l, i, LRO_FLUSH_BYPASS, ts);
				emit_frame(l, p->f, p->caplen, ts, true);
				return;
			}
			a->last_ts = ts;
			uint8_t *th2 = a->buf + a->l4off;
			th2[13] |= p->flags & (TH_PSH | TH_FIN); /* rule: PSH/FIN OR-ed into head */
			if (p->flags & (TH_PSH | TH_FIN))       /* ... and end the aggregate */
				flush_slot(l, i, LRO_FLUSH_PSH_FIN, ts);
			else if (p->plen < a->mss)              /* rule: short segment ends it */
				flush_slot(l, i, LRO_FLUSH_SHORT, ts);
			return;
		}
		flush_slot(l, i, r, ts);
	}
	if (linux_never_held(p)) {
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, p->plen > 0);
		return;
	}
	bool sum_ok = false;
	uint64_t d = 0;
	if (l->c.verify_csum) {
		if (!tcp_csum_ok(p, p->f + p->l4off + p->thlen, &d)) {
			l->st.csum_bad++;
			l->st.bypassed++;
			emit_frame(l, p->f, p->caplen, ts, true);
			return;
		}
		sum_ok = true;
	}
	hold(l, get_slot(l, ts), p, ts, sum_ok, d);
}

static void rx_inet(struct lro *l, const struct pkt *p, uint64_t ts)
{
	int32_t i = lookup(l, p);
	if (i != NONE) {
		struct agg *a = &l->a[i];
		int r = rule_seq(p, a);
		if (r < 0)
			r = inet_check(p, a);
		if (r < 0 && (a->len - a->l3off) + p->plen > 65535u) /* never past 64 KiB */
			r = LRO_FLUSH_SIZE;
		if (r < 0) {
			if (!append(l, a, p)) {
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
		const uint8_t *th = p->f + p->l4off;
		a->last_ts = ts;
		a->ack = p->ack;
		a->win = ld16(th + 14);
		if (a->has_ts)
			a->tsecr = ld32(th + 28); /* TSval of the first segment is kept (PAWS) */
		if (p->plen > a->mss)
			a->mss = (uint16_t)p->plen; /* gso_size = largest segment */
		if (a->count >= l->c.max_aggr)
			flush_slot(l, i, LRO_FLUSH_MAX_AGGR, ts);
		else if (a->len - a->l3off > 65535u - l->c.mtu)
			flush_slot(l, i, LRO_FLUSH_SIZE, ts);
		return;
	}
	bool sum_ok = false;
	uint64_t d = 0;
	if (inet_check(p, NULL) >= 0 || !l->nfree) {
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, p->plen > 0);
		return;
	}
	if (l->c.verify_csum) {
		if (!tcp_csum_ok(p, p->f + p->l4off + p->thlen, &d)) {
			l->st.csum_bad++;
			l->st.bypassed++;
			emit_frame(l, p->f, p->caplen, ts, true);
			return;
		}
		sum_ok = true;
	}
	int32_t s = get_slot(l, ts);
	hold(l, s, p, ts, sum_ok, d);
	if (l->c.max_aggr <= 1)
		flush_slot(l, s, LRO_FLUSH_MAX_AGGR, ts);
}

void lro_rx(struct lro *l, const uint8_t *frame, uint32_t len, uint64_t ts)
{
	struct pkt p;
	l->st.frames_in++;
	enum prs v = parse(l, frame, len, &p);
	if (v == P_PASS) {
		l->st.bypassed++;
		emit_frame(l, frame, len, ts, false);
		return;
	}
	if (p.plen)
		l->st.segs_in++;
	if (v == P_BYPASS) {
		/* unmergeable packet of a flow: flush that flow first (keeps order) */
		l->st.bypassed++;
		flush_flow(l, &p, LRO_FLUSH_BYPASS, ts);
		emit_frame(l, frame, len, ts, p.plen > 0);
		return;
	}
	if (l->c.max_age_ns) {
		int32_t i = lookup(l, &p);
		if (i != NONE && ts - l->a[i].first_ts >= l->c.max_age_ns && ts >= l->a[i].first_ts)
			flush_slot(l, i, LRO_FLUSH_AGE, ts);
	}
	if (l->c.policy == LRO_POLICY_LINUX)
		rx_linux(l, &p, ts);
	else
		rx_inet(l, &p, ts);
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
		if (now >= l->a[i].first_ts && now - l->a[i].first_ts >= age)
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
	if (!l->a || !l->heads || !l->freel || !l->bufs) {
		lro_free(l);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		l->heads[i] = NONE;
	for (unsigned i = 0; i < c->table_size; i++) {
		l->a[i].buf = l->bufs + (size_t)i * BUF_SIZE;
		l->freel[i] = (int32_t)(c->table_size - 1 - i);
	}
	l->nfree = c->table_size;
	l->oldest = l->newest = NONE;
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
	free(l);
}

const struct lro_stats *lro_stats(const struct lro *l) { return &l->st; }

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
