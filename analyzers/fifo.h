/* analyzers/fifo.h - growth of a bounded FIFO kept in one array, for the
 * per-segment entries of the ACK classifier (acks.c) and the bandwidth
 * estimators (bwe.c). Header-only. */
#ifndef LK_FIFO_H
#define LK_FIFO_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
