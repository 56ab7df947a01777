/* lib/handoff.h - a ring of n slots handed from one producer thread to one
 * consumer thread, in order. The slots themselves are the caller's (an
 * array of n, indexed by the numbers handed out here); this only says whose
 * turn each one is.
 *
 *   producer:  while ((i = lk_handoff_claim(h)) >= 0) {   // waits for a free slot
 *                      ... fill slot i ...
 *                      lk_handoff_fill(h, last); if (last) break; }
 *              (or lk_handoff_close(h): no more slots, none filled)
 *   consumer:  while ((i = lk_handoff_take(h)) >= 0)      // the next filled slot;
 *                      ... use slot i ...                  // the one before is free again
 *              lk_handoff_stop(h) to tell the producer to stop
 *
 * take returns -1 once the producer has closed (or filled its last slot)
 * and everything was taken; claim returns -1 once the consumer stopped.
 */
#ifndef LK_HANDOFF_H
#define LK_HANDOFF_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct lk_handoff {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n;
	uint64_t filled, taken;
	bool have;      /* the consumer holds slot taken - 1 */
	bool closed;    /* the producer fills no more */
	bool stopped;   /* the consumer wants no more */
};

int lk_handoff_init(struct lk_handoff *h, unsigned n); /* 0, or -1 (no mutex) */

/* One turn of a spin-wait on another thread (x86 pause, arm yield), for
 * the lock-free meeting points beside these slots (analyzers/pipeline.c,
 * the pumped input of lib/instream.c). */
static inline void lk_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}
void lk_handoff_destroy(struct lk_handoff *h);

int lk_handoff_claim(struct lk_handoff *h);
void lk_handoff_fill(struct lk_handoff *h, bool last);
void lk_handoff_close(struct lk_handoff *h);

int lk_handoff_take(struct lk_handoff *h);
void lk_handoff_stop(struct lk_handoff *h);

#endif
