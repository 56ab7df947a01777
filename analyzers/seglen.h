/* analyzers/seglen.h - the most frequent data segment length of one
 * direction (Misra-Gries with 4 counters): the "observed" MSS used by the
 * ACK classifier and the bandwidth estimators when no handshake was seen.
 * Header-only; the update is on the per-packet path. */
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

/* The MSS both ends settled on in the handshake, as Linux's mss_cache: the
 * smaller MSS option of the SYNs seen, minus 12 when both SYNs were seen and
 * carried timestamps; 0 when no SYN carried an MSS option. */
static inline uint32_t lk_handshake_mss(bool seen0, bool ts0, uint16_t mss0, bool seen1, bool ts1,
					uint16_t mss1)
{
	uint32_t m = 0;
	bool ts = true;
	if (seen0) {
		ts = ts && ts0;
		if (mss0)
			m = mss0;
	}
	if (seen1) {
		ts = ts && ts1;
		if (mss1 && (!m || mss1 < m))
			m = mss1;
	}
	if (!m)
		return 0;
	return seen0 && seen1 && ts && m > 12 ? m - 12 : m;
}

#endif
