/* tests/helpers/lro-check.h - independent checker of an LRO engine run:
 * lossless, in order, checksums/lengths valid, and no segment with a bad
 * checksum merged. Header-only; used by the unit tests, the fuzz target and
 * the capture verifier.
 *
 *   struct lchk *k = lchk_new(policy_is_linux, cfg.verify_csum);
 *   lchk_in(k, frame, len);            // every frame given to lro_rx, in order
 *   lchk_out(k, &lro_out);             // every frame the engine emitted, in order
 *   const char *why = lchk_finish(k);  // NULL = ok, else the first problem
 *   lchk_free(k);
 *
 * Frames are grouped into flows by the checker's own parser (L2 header bytes,
 * IP version, addresses, ports, IPv6 flow label and extension header bytes);
 * frames without a parseable TCP header form one "other" stream. Per stream,
 * the output re-segmented at gso_size must give back the input: an unchanged
 * frame (segs == 1) must equal the next input frame byte for byte; an
 * aggregate of k segments must cover the next k input segments, start at the
 * first one's sequence number, and its payload must be their payloads
 * concatenated; with Linux rules every covered segment but the last is exactly
 * gso_size and the last is not longer (resegmentation gives the input
 * segments back). Emitted aggregates must have valid IPv4 header checksums,
 * IP lengths equal to the frame's, and a TCP checksum that verifies (partial:
 * the field holds the pseudo-header sum and completing it verifies).
 *
 * Bad checksums in the input (verify_csum: the engine was told to verify
 * them, lro_config.verify_csum): the checker recomputes every input TCP
 * segment's IPv4 header checksum and TCP checksum (pseudo header, header and
 * payload) itself, and refuses any aggregate that covers a segment whose
 * checksum is bad: Linux GRO (and inet_lro, whose driver hands up only
 * checksum-verified frames for aggregation) passes such a segment up alone,
 * after flushing the held aggregate of its flow. An engine that merged it
 * would write a fresh checksum over the aggregate that verifies, hiding the
 * corruption from everything after it - so checking only the output cannot
 * see it. With verify_csum false (CHECKSUM_UNNECESSARY: the NIC vouched for
 * every frame) merging such a segment is what the engine was told to do.
 */
#ifndef LRO_CHECK_H
#define LRO_CHECK_H

#include "lro_ref/lro.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lchk_item {
	uint8_t *d;
	uint32_t len;
	int flow;           /* -1 = other */
	int next;           /* next item of the same flow */
	/* parsed */
	uint32_t seq, plen, poff;
	uint8_t flags;
	uint16_t segs, gso;
	bool partial;
	bool csum_bad;      /* input: bad IPv4 header or TCP checksum */
};

struct lchk_flow {
	uint8_t key[128];
	unsigned klen;
	int head, tail;     /* input list */
	int cur;            /* next input item to match */
};

struct lchk {
	bool linux_rules;
	bool verify_csum;   /* the engine verifies checksums: never merge a bad one */
	struct lchk_item *in;
	size_t nin, capin;
	struct lchk_flow *fl;
	size_t nfl, capfl;
	int other_head, other_tail, other_cur;
	char err[256];
	bool failed;
	uint64_t nout;
};

/* FNV-1a over n bytes, continuing from h (start: 1469598103934665603): the
 * tests fingerprint emitted frames with it to compare two engine runs. */
static inline uint64_t lchk_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static inline uint32_t lchk_sum(const uint8_t *p, uint32_t len, uint64_t s0)
{
	uint64_t s = s0;
	for (uint32_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/* Parse for the checker: returns key length (0 = no TCP flow) and fills seq etc. */
static inline unsigned lchk_parse(const uint8_t *f, uint32_t len, uint8_t *key, struct lchk_item *it,
				  uint32_t *l3off, uint32_t *l4off, uint32_t *l3len, int *af)
{
	uint32_t off = 12;
	if (len < 14)
		return 0;
	unsigned et = (unsigned)(f[12] << 8 | f[13]);
	while (et == 0x8100 || et == 0x88a8 || et == 0x9100) {
		off += 4;
		if (off + 2 > 30 || off + 2 > len)
			return 0;
		et = (unsigned)(f[off] << 8 | f[off + 1]);
	}
	off += 2;
	unsigned k = 0;
	memcpy(key, f, off);
	k = off;
	const uint8_t *ip = f + off;
	uint32_t avail = len - off, l4;
	if (et == 0x0800) {
		if (avail < 20 || ip[0] >> 4 != 4)
			return 0;
		uint32_t ihl = (ip[0] & 15u) * 4;
		if (ihl < 20 || avail < ihl || ip[9] != 6 || ((ip[6] << 8 | ip[7]) & 0x1fff))
			return 0;
		key[k++] = 4;
		memcpy(key + k, ip + 12, 8);
		k += 8;
		l4 = ihl;
		*l3len = (uint32_t)(ip[2] << 8 | ip[3]);
		*af = 4;
	} else if (et == 0x86dd) {
		if (avail < 40 || ip[0] >> 4 != 6 || (ip[4] << 8 | ip[5]) == 0)
			return 0;
		key[k++] = 6;
		memcpy(key + k, ip + 8, 32);
		k += 32;
		key[k++] = ip[1] & 15;
		key[k++] = ip[2];
		key[k++] = ip[3];
		unsigned nh = ip[6];
		l4 = 40;
		uint64_t eh = 1469598103934665603ull; /* FNV-1a of the extension headers */
		while (nh == 0 || nh == 43 || nh == 60 || nh == 44) {
			if (l4 + 8 > avail)
				return 0;
			uint32_t el = nh == 44 ? 8 : (ip[l4 + 1] + 1u) * 8;
			if (nh == 44 && ((ip[l4 + 2] << 8 | ip[l4 + 3]) & 0xfff8))
				return 0;
			if (l4 + el > avail)
				return 0;
			for (uint32_t z = 0; z < el; z++)
				eh = (eh ^ ip[l4 + z]) * 1099511628211ull;
			nh = ip[l4];
			l4 += el;
		}
		memcpy(key + k, &eh, 8);
		k += 8;
		key[k++] = (uint8_t)(l4 >> 8);
		key[k++] = (uint8_t)l4;
		if (nh != 6)
			return 0;
		*l3len = 40u + (uint32_t)(ip[4] << 8 | ip[5]);
		*af = 6;
	} else {
		return 0;
	}
	if (l4 + 20 > avail)
		return 0;
	const uint8_t *th = ip + l4;
	memcpy(key + k, th, 4);
	k += 4;
	uint32_t thl = (th[12] >> 4) * 4u;
	it->seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
	it->flags = th[13];
	it->plen = 0;
	it->poff = 0;
	if (thl >= 20 && l4 + thl <= *l3len && *l3len <= avail) {
		it->plen = *l3len - l4 - thl;
		it->poff = off + l4 + thl;
	}
	*l3off = off;
	*l4off = off + l4;
	return k;
}

static inline struct lchk *lchk_new(bool linux_rules, bool verify_csum)
{
	struct lchk *k = calloc(1, sizeof *k);
	if (!k)
		abort();
	k->linux_rules = linux_rules;
	k->verify_csum = verify_csum;
	k->other_head = k->other_tail = k->other_cur = -1;
	return k;
}

static inline void lchk_free(struct lchk *k)
{
	for (size_t i = 0; i < k->nin; i++)
		free(k->in[i].d);
	free(k->in);
	free(k->fl);
	free(k);
}

static inline int lchk_flow_id(struct lchk *k, const uint8_t *key, unsigned klen)
{
	for (size_t i = 0; i < k->nfl; i++)
		if (k->fl[i].klen == klen && !memcmp(k->fl[i].key, key, klen))
			return (int)i;
	if (k->nfl == k->capfl) {
		k->capfl = k->capfl ? 2 * k->capfl : 16;
		k->fl = realloc(k->fl, k->capfl * sizeof *k->fl);
		if (!k->fl)
			abort();
	}
	struct lchk_flow *f = &k->fl[k->nfl];
	memcpy(f->key, key, klen);
	f->klen = klen;
	f->head = f->tail = f->cur = -1;
	return (int)k->nfl++;
}

/* A parsed TCP segment (lchk_parse's offsets) whose IPv4 header checksum or
 * TCP checksum (pseudo header + TCP header + payload, RFC 9293 3.1) does not
 * verify. false when the segment is cut short (nothing to verify: the
 * engine cannot merge it, and the "no payload" rule catches a merge). */
static inline bool lchk_seg_csum_bad(const uint8_t *f, uint32_t len, uint32_t l3off, uint32_t l4off,
				     uint32_t l3len, int af)
{
	const uint8_t *ip = f + l3off;
	if (l3off + l3len > len || l4off + 20 > l3off + l3len)
		return false;
	if (af == 4 && lchk_sum(ip, (ip[0] & 15u) * 4, 0) != 0xffff)
		return true;
	uint32_t tcplen = l3off + l3len - l4off;
	uint64_t ps = 6 + tcplen + (af == 4 ? lchk_sum(ip + 12, 8, 0) : lchk_sum(ip + 8, 32, 0));
	return lchk_sum(f + l4off, tcplen, ps) != 0xffff;
}

static inline void lchk_in(struct lchk *k, const uint8_t *frame, uint32_t len)
{
	if (k->nin == k->capin) {
		k->capin = k->capin ? 2 * k->capin : 256;
		k->in = realloc(k->in, k->capin * sizeof *k->in);
		if (!k->in)
			abort();
	}
	struct lchk_item *it = &k->in[k->nin];
	memset(it, 0, sizeof *it);
	it->d = malloc(len ? len : 1);
	if (!it->d)
		abort();
	memcpy(it->d, frame, len);
	it->len = len;
	it->next = -1;
	uint8_t key[128];
	uint32_t l3off, l4off, l3len = 0;
	int af = 0;
	unsigned kl = lchk_parse(frame, len, key, it, &l3off, &l4off, &l3len, &af);
	int idx = (int)k->nin++;
	if (!kl) {
		it->flow = -1;
		if (k->other_tail >= 0)
			k->in[k->other_tail].next = idx;
		else
			k->other_head = idx;
		if (k->other_cur < 0)
			k->other_cur = idx;
		k->other_tail = idx;
		return;
	}
	it->csum_bad = lchk_seg_csum_bad(frame, len, l3off, l4off, l3len, af);
	it->flow = lchk_flow_id(k, key, kl);
	struct lchk_flow *f = &k->fl[it->flow];
	if (f->tail >= 0)
		k->in[f->tail].next = idx;
	else
		f->head = idx;
	if (f->cur < 0)
		f->cur = idx;
	f->tail = idx;
}

static inline void lchk_fail(struct lchk *k, const char *msg, uint64_t n)
{
	if (k->failed)
		return;
	k->failed = true;
	snprintf(k->err, sizeof k->err, "output frame %llu: %s", (unsigned long long)n, msg);
}

/* Validate an aggregate's headers and checksums. */
static inline const char *lchk_valid_agg(const struct lro_out *o, uint32_t l3off, uint32_t l4off,
					 uint32_t l3len, int af)
{
	const uint8_t *f = o->frame, *ip = f + l3off, *th = f + l4off;
	if (l3off + l3len != o->len)
		return "IP length does not match the frame length";
	if (af == 4 && lchk_sum(ip, (ip[0] & 15u) * 4, 0) != 0xffff)
		return "bad IPv4 header checksum";
	uint32_t tcplen = o->len - l4off;
	uint64_t ps = 6 + tcplen + (af == 4 ? lchk_sum(ip + 12, 8, 0) : lchk_sum(ip + 8, 32, 0));
	if (o->csum_partial) {
		if (o->csum_start != l4off || o->csum_offset != 16)
			return "csum_start/csum_offset wrong";
		uint32_t field = (uint32_t)(th[16] << 8 | th[17]);
		if (field != lchk_sum(NULL, 0, ps))
			return "partial checksum field is not the pseudo-header sum";
		/* complete it as a NIC/virtio would: ~sum over the segment with the field as is */
		uint16_t csum = (uint16_t)~lchk_sum(th, tcplen, 0);
		uint8_t tmp[2] = {(uint8_t)(csum >> 8), (uint8_t)csum};
		uint32_t v = lchk_sum(th, 16, ps);
		v = lchk_sum(tmp, 2, v);
		v = lchk_sum(th + 18, tcplen - 18, v);
		if (v != 0xffff)
			return "completed partial checksum does not verify";
	} else if (lchk_sum(th, tcplen, ps) != 0xffff) {
		return "bad TCP checksum";
	}
	uint32_t thl = (th[12] >> 4) * 4u;
	if (o->hdr_len != l4off + thl)
		return "hdr_len wrong";
	if (o->gso_type != (af == 4 ? LRO_GSO_TCPV4 : LRO_GSO_TCPV6))
		return "gso_type wrong";
	return NULL;
}

static inline void lchk_out(struct lchk *k, const struct lro_out *o)
{
	uint64_t n = k->nout++;
	if (k->failed)
		return;
	uint8_t key[128];
	struct lchk_item it;
	memset(&it, 0, sizeof it);
	uint32_t l3off = 0, l4off = 0, l3len = 0;
	int af = 0;
	unsigned kl = lchk_parse(o->frame, o->len, key, &it, &l3off, &l4off, &l3len, &af);
	int fid = -1;
	if (kl) {
		for (size_t i = 0; i < k->nfl; i++)
			if (k->fl[i].klen == kl && !memcmp(k->fl[i].key, key, kl))
				fid = (int)i;
		if (fid < 0)
			return lchk_fail(k, "a flow that never entered the engine", n);
	}
	int *cur = fid < 0 ? &k->other_cur : &k->fl[fid].cur;
	if (o->segs <= 1) {
		if (*cur < 0)
			return lchk_fail(k, "extra frame (nothing left of its stream)", n);
		struct lchk_item *in = &k->in[*cur];
		if (in->len != o->len || memcmp(in->d, o->frame, o->len)) {
			char m[160];
			uint32_t at = 0;
			while (at < in->len && at < o->len && in->d[at] == o->frame[at])
				at++;
			snprintf(m, sizeof m, "unchanged frame (%u bytes) differs from input frame %d of its stream "
				 "(%u bytes) at byte %u", o->len, *cur, in->len, at);
			return lchk_fail(k, m, n);
		}
		*cur = in->next;
		return;
	}
	if (!kl)
		return lchk_fail(k, "aggregate without a TCP flow", n);
	const char *why = lchk_valid_agg(o, l3off, l4off, l3len, af);
	if (why)
		return lchk_fail(k, why, n);
	if (!o->gso_size)
		return lchk_fail(k, "aggregate with gso_size 0", n);
	uint32_t plen = it.plen, pos = 0;
	/* every segment <= gso_size; with Linux rules also exactly segs segments */
	if ((uint64_t)o->segs * o->gso_size < plen ||
	    (k->linux_rules && (uint64_t)(o->segs - 1) * o->gso_size >= plen))
		return lchk_fail(k, "resegmenting at gso_size does not give segs segments", n);
	uint8_t orflags = 0;
	for (unsigned s = 0; s < o->segs; s++) {
		if (*cur < 0)
			return lchk_fail(k, "aggregate covers more segments than were input", n);
		struct lchk_item *in = &k->in[*cur];
		if (!in->plen)
			return lchk_fail(k, "aggregate covers a segment without payload", n);
		if (k->verify_csum && in->csum_bad) {
			char m[160];
			snprintf(m, sizeof m, "aggregate merges input frame %d, whose checksum is bad (a verifying "
				 "engine passes it up alone)", *cur);
			return lchk_fail(k, m, n);
		}
		if (in->seq != it.seq + pos)
			return lchk_fail(k, "sequence numbers of covered segments do not match", n);
		if (pos + in->plen > plen || memcmp(o->frame + it.poff + pos, in->d + in->poff, in->plen))
			return lchk_fail(k, "payload bytes differ from the input segments", n);
		if (in->plen > o->gso_size)
			return lchk_fail(k, "a covered segment is longer than gso_size", n);
		if (k->linux_rules) {
			bool last = s + 1 == o->segs;
			if ((!last && in->plen != o->gso_size) || (last && in->plen > o->gso_size))
				return lchk_fail(k, "resegmenting at gso_size does not give the input segments", n);
			/* headers equal to the first input's except lengths, checksums, PSH/FIN */
			if (s == 0) {
				if (in->poff != it.poff)
					return lchk_fail(k, "header length differs from the first segment's", n);
				uint8_t a[128], b[128];
				uint32_t hl = it.poff < 128 ? it.poff : 128;
				memcpy(a, o->frame, hl);
				memcpy(b, in->d, hl);
				for (uint32_t z = l3off; z < l3off + (af == 4 ? 12u : 6u); z++)
					if (af == 6 ? (z >= l3off + 4) : (z == l3off + 2 || z == l3off + 3 || z == l3off + 10 || z == l3off + 11))
						a[z] = b[z] = 0;
				a[l4off + 13] &= (uint8_t)~0x09;
				b[l4off + 13] &= (uint8_t)~0x09;
				a[l4off + 16] = a[l4off + 17] = b[l4off + 16] = b[l4off + 17] = 0;
				if (memcmp(a, b, hl))
					return lchk_fail(k, "aggregate header differs from the first segment's", n);
			}
		}
		orflags |= in->flags & 0x09;
		pos += in->plen;
		*cur = in->next;
	}
	if (pos != plen)
		return lchk_fail(k, "aggregate payload longer than its segments", n);
	if (k->linux_rules && (it.flags & 0x09) != orflags)
		return lchk_fail(k, "PSH/FIN of the merged segments not carried", n);
}

/* NULL if everything matched and every input frame came out. */
static inline const char *lchk_finish(struct lchk *k)
{
	if (k->failed)
		return k->err;
	if (k->other_cur >= 0) {
		snprintf(k->err, sizeof k->err, "input frame %d (not TCP) never came out", k->other_cur);
		return k->err;
	}
	for (size_t i = 0; i < k->nfl; i++)
		if (k->fl[i].cur >= 0) {
			snprintf(k->err, sizeof k->err, "input frame %d of flow %zu never came out", k->fl[i].cur, i);
			return k->err;
		}
	return NULL;
}

#endif
