/* analyzers/handshake.h - what each direction's SYN said (lk_syn) and the
 * MSS both ends settled on in the handshake, for the ACK classifier (acks.c)
 * and the bandwidth estimators (bwe.c). Header-only. */
#ifndef LK_HANDSHAKE_H
#define LK_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/decode.h"

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

#endif
