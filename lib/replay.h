/* lib/replay.h - feed the frames of a capture to a receive path the way a
 * NAPI driver polls its receive queue: as Ethernet frames, in polls of up to
 * `budget` frames; a poll also ends early when the next frame arrives more
 * than `gap_ns` after the previous one (the queue ran empty). `lrokit replay`
 * and the LRO verifier (tests/helpers/lro-verify.c) drive the reference LRO
 * engine with it, so both see the same polls.
 *
 * Link types other than Ethernet get a synthetic Ethernet header (zero MACs,
 * the type from lk_decode_link); records with no Ethernet equivalent (a
 * loopback family that is not IP, a link header cut short) are skipped and
 * counted. No output, no knowledge of LRO: the caller's callbacks do the work.
 *
 *   struct lk_replay_cfg cfg = { .budget = 64, .gap_ns = 100000 };
 *   struct lk_replay_ops ops = { .frame = rx, .poll_end = flush };
 *   struct lk_replay_stats st;
 *   if (lk_replay_capture(r, &cfg, &ops, ctx, &st, &e) < 0) ...;
 */
#ifndef LK_REPLAY_H
#define LK_REPLAY_H

#include <stdint.h>

#include "lib/err.h"
#include "lib/pcapin.h"

struct lk_replay_cfg {
	unsigned long budget;   /* frames per poll, >= 1 (NAPI weight: 64) */
	uint64_t gap_ns;        /* an idle gap longer than this ends a poll; 0 = only the budget */
};

/* One frame handed to the receive path. */
struct lk_replay_frame {
	const uint8_t *data;    /* Ethernet frame: the record itself, or a converted
				 * copy that stays valid until the next frame */
	uint32_t caplen;        /* bytes at data */
	uint32_t wirelen;       /* its length on the wire, as an Ethernet frame */
	uint64_t ts_ns;
	unsigned long slot;     /* its place in the current poll, 0 .. budget - 1 */
};

struct lk_replay_ops {
	void (*frame)(void *ctx, const struct lk_replay_frame *f);
	/* The poll that held `nframes` frames (slots 0 .. nframes - 1) ended at
	 * ts_ns. Called once more after the last frame, also when that poll is
	 * empty (nframes 0; ts_ns 0 when no frame was fed at all). */
	void (*poll_end)(void *ctx, uint64_t ts_ns, unsigned long nframes);
};

struct lk_replay_stats {
	uint64_t fed;           /* frames given to ops->frame */
	uint64_t skipped;       /* records with no Ethernet equivalent, not fed */
	uint64_t cut;           /* fed frames cut by the snaplen (caplen < wirelen) */
};

/* Feed every record of r to ops (ctx is passed through), filling *st. Returns
 * 0, or -1 with e filled when a record could not be read or memory ran out
 * (the frames before it were fed; the final poll end is not called). */
int lk_replay_capture(struct lk_pcap *r, const struct lk_replay_cfg *cfg, const struct lk_replay_ops *ops,
		      void *ctx, struct lk_replay_stats *st, struct lk_err *e);

#endif
