/* analyzers/seglen.h - the most frequent data segment length of one
 * direction (Misra-Gries with 4 counters): the "observed" MSS used by the
 * ACK classifier and the bandwidth estimators when no handshake was seen;
 * and what each direction's SYN said (lk_syn) with the MSS the handshake
 * settled on; and the bounded FIFO both keep their per-segment entries
 * in. Shared by both. Header-only; the updates are on the per-packet path. */
#ifndef LK_SEGLEN_H
#define LK_SEGLEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/decode.h"

struct lk_seglen {
	uint32_t len[4], cnt[4];
	uint8_t last;   /* slot of the last length counted */
	bool dirty;     /* counts changed since the caller cached the result */
};

/* Count one segment length. Slots with a non-zero count hold distinct
 * lengths (a length is only inserted when no counted slot holds it), so the
 * slot of the previous length, if it still matches, is the only match. */
static inline void lk_seglen_add(struct lk_seglen *m, uint32_t len)
{
	m->dirty = true;
	unsigned l = m->last;
	if (m->cnt[l] && m->len[l] == len) {
		m->cnt[l]++;
		return;
	}
	for (unsigned i = 0; i < 4; i++)
		if (m->cnt[i] && m->len[i] == len) {
			m->cnt[i]++;
			m->last = (uint8_t)i;
			return;
		}
	for (unsigned i = 0; i < 4; i++)
		if (!m->cnt[i]) {
			m->len[i] = len;
			m->cnt[i] = 1;
			m->last = (uint8_t)i;
			return;
		}
	for (unsigned i = 0; i < 4; i++)
		m->cnt[i]--;
}

/* The most counted length (ties: the larger), 0 if none. */
static inline uint32_t lk_seglen_best(const struct lk_seglen *m)
{
	uint32_t best = 0, bc = 0;
	for (int i = 0; i < 4; i++)
		if (m->cnt[i] > bc || (m->cnt[i] == bc && bc && m->len[i] > best)) {
			bc = m->cnt[i];
			best = m->len[i];
		}
	return best;
}

/* What one direction's SYN said (the SYN with the latest ISN seen). */
struct lk_syn {
	bool seen, ts_opt;
	uint16_t mss;   /* MSS option, 0 if none */
	uint32_t isn;
};

/* Record SYN p of a direction. True if it is a new SYN (the first, or one
 * with another ISN: a new connection attempt), false for a retransmission. */
static inline bool lk_syn_note(struct lk_syn *s, const struct lk_pkt *p)
{
	if (s->seen && s->isn == p->seq)
		return false;
	s->seen = true;
	s->isn = p->seq;
	s->ts_opt = p->opt.has_ts;
	s->mss = p->opt.has_mss ? p->opt.mss : 0;
	return true;
}

/* The MSS both ends settled on in the handshake, as Linux's mss_cache: the
 * smaller MSS option of the SYNs seen, minus 12 when both SYNs were seen and
 * carried timestamps; 0 when no SYN carried an MSS option. */
static inline uint32_t lk_handshake_mss(const struct lk_syn *x, const struct lk_syn *y)
{
	uint32_t m = 0;
	bool ts = true;
	if (x->seen) {
		ts = ts && x->ts_opt;
		if (x->mss)
			m = x->mss;
	}
	if (y->seen) {
		ts = ts && y->ts_opt;
		if (y->mss && (!m || y->mss < m))
			m = y->mss;
	}
	if (!m)
		return 0;
	return x->seen && y->seen && ts && m > 12 ? m - 12 : m;
}

/* Make room for one more entry in a FIFO kept in one array *q of *qcap
 * entries of esz bytes, entries [*qh, *qn) in use. When max entries are in
 * use the oldest is forgotten (counted in *forgotten); the array is compacted
 * once at least half of it is consumed, else grown (amortized O(1), at most
 * twice the entries in use). -1 when out of memory (nothing changed but the
 * forgetting). Callers call it only when *qn == *qcap or max are in use. */
static inline int lk_fifo_room(void **q, size_t esz, size_t *qh, size_t *qn, size_t *qcap, size_t max,
			       uint64_t *forgotten)
{
	if (*qn - *qh >= max) {
		(*qh)++;
		(*forgotten)++;
	}
	if (*qn < *qcap)
		return 0;
	if (*qh > 0 && *qh >= *qn - *qh) {
		memmove(*q, (char *)*q + *qh * esz, (*qn - *qh) * esz);
		*qn -= *qh;
		*qh = 0;
	}
	if (*qn == *qcap) {
		size_t nc = *qcap ? 2 * *qcap : 64;
		void *nq = realloc(*q, nc * esz);
		if (!nq)
			return -1;
		*q = nq;
		*qcap = nc;
	}
	return 0;
}

#endif
