/* analyzers/seglen.h - the most frequent data segment length of one
 * direction (Misra-Gries with 4 counters): the "observed" MSS the ACK
 * classifier (acks.c) and the bandwidth estimators (bwe.c) use when no
 * handshake was seen (analyzers/handshake.h). Header-only; the update is on
 * the per-packet path. */
#ifndef LK_SEGLEN_H
#define LK_SEGLEN_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
