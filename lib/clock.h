/* lib/clock.h - the one clock helper: clock_gettime as nanoseconds.
 *
 * lk_mono_ns() for intervals and deadlines (CLOCK_MONOTONIC), lk_real_ns()
 * for wall-clock timestamps stored in the database (CLOCK_REALTIME),
 * lk_clock_ns(CLOCK) for any other clock (e.g. CLOCK_THREAD_CPUTIME_ID). */
#ifndef LK_CLOCK_H
#define LK_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t lk_clock_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t lk_mono_ns(void) { return lk_clock_ns(CLOCK_MONOTONIC); }
static inline uint64_t lk_real_ns(void) { return lk_clock_ns(CLOCK_REALTIME); }

#endif
