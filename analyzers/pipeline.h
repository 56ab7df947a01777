/* analyzers/pipeline.h - the per-packet observers in a second thread.
 *
 * lk_analyze_file's reading thread reads, decodes and tracks connections
 * (analyzers/flow.h); the observers (the ACK classes, the bandwidth
 * estimators, the capture-side evidence: about 45% of the work per packet)
 * can run beside it, on another CPU, fed in capture order. (The two halves
 * are about even: moving tcptrace's counters to the observers' side too
 * made that side the slower one.) Each segment is copied into a batch without
 * its frame; what the checksum analysis needs of the frame is taken first
 * (lk_side_csum_fields, summing only while an observer may still want it).
 * The results are those of calling the observers directly: same calls, same
 * order, same data.
 *
 * The two threads meet through a ring of batches; a thread that finds the
 * ring empty (full) spins a few tens of microseconds before it sleeps on a
 * futex, so that neither pays a wake-up per batch while both run, and
 * neither burns a CPU that another program needs for long.
 *
 *   pl = lk_pipeline_start(obs, n, LK_PIPE_AUTO);  // NULL: call the observers directly
 *   if (!lk_pipeline_packet(pl, f, dir, &p, ts))   // for every segment
 *           lk_pipeline_finish(pl), pl = NULL;    // then call them directly
 *   lk_pipeline_finish(pl);             // every segment observed; frees pl
 *
 * Segments cross between CPUs once each, as one cache line written with
 * non-temporal stores: on this project's 2-vCPU test machine a line takes
 * ~220 ns from one vCPU to the other, and the first version (lk_pkt copies,
 * ordinary stores) ran at half the speed of one thread.
 *
 * When either thread's CPU is busy with other work (another program, or
 * the hypervisor taking the vCPU) the pipeline costs more than it gains:
 * the observers' thread starts on the other CPUs than the reading thread's,
 * the reading thread is kept on its CPU until lk_pipeline_finish gives it
 * its own CPU mask back, and lk_pipeline_packet says stop once the time per
 * segment is, for long, more than the caller measured calling the
 * observers itself.
 */
#ifndef LK_PIPELINE_H
#define LK_PIPELINE_H

#include "analyzers/analyze.h"

struct lk_pipeline;

/* Whether a pipeline is worth starting here: at least two CPUs to run on,
 * observers that all allow it (lk_observer.csum_wanted), and not turned off
 * by LK_ANALYZE_THREADS=1 in the environment. */
bool lk_pipeline_wanted(const struct lk_observer *obs, unsigned n);

/* Start the observers' thread. direct_ns: the time per segment the caller
 * measured calling the observers itself, just before (0: unknown, never
 * stop); the pipeline must beat it. NULL when it cannot be started (no
 * memory, no thread): the caller then calls the observers itself. idle:
 * work for the thread while it waits (struct lk_pipe_idle below; NULL: none).
 * For tests, mode
 * LK_PIPE_KEEP never says stop, LK_PIPE_STOP says it after 64 batches. */
enum lk_pipe_mode { LK_PIPE_AUTO = 0, LK_PIPE_KEEP, LK_PIPE_STOP };
/* Work for the observers' thread while it waits for a batch (idle may be
 * NULL): fn(ctx) does one short piece of it (tens of microseconds) and
 * returns non-zero, or returns 0 at once when there is none. The reading
 * thread uses it to have its input read on the other CPU
 * (lk_instream_pump): that CPU waits most of the time, and copying the
 * capture out of the page cache is a quarter of the reading thread's work
 * on short records. */
struct lk_pipe_idle {
	int (*fn)(void *ctx);
	void *ctx;
};
struct lk_pipeline *lk_pipeline_start(const struct lk_observer *obs, unsigned n,
				      enum lk_pipe_mode mode, double direct_ns,
				      const struct lk_pipe_idle *idle);

/* Hand one segment to the observers (p is copied; its frame is not kept).
 * false: the pipeline no longer pays (the other CPU is busy with other work,
 * or this thread shares its CPU): the caller should lk_pipeline_finish it
 * and call the observers itself from the next segment on. */
bool lk_pipeline_packet(struct lk_pipeline *pl, const struct lk_flow *f, int dir,
			const struct lk_pkt *p, uint64_t ts_ns);

/* Wait until the observers have seen every segment handed over, stop the
 * thread and free pl (NULL: nothing). */
void lk_pipeline_finish(struct lk_pipeline *pl);

#endif
