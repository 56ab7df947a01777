/* testbed/stage.h - the stage processes of the emulated Xen receive path.
 * Each stage is its own process (`lrokit stage ...`) and moves frames in
 * both directions, polling like a NAPI driver: wake up on a readable fd or
 * eventfd, take at most `budget` frames, flush LRO at the end
 * of the poll, repoll at once while polls come back full.
 *
 *   nic:      rx  AF_PACKET socket on the wire veth (recvmmsg batches)
 *                 -> [lro_ref "LRO phys"] -> TAP pnic0 (on the bridge)
 *             tx  TAP pnic0 -> AF_PACKET send on the wire veth (checksums of
 *                 partial-checksum frames completed, as a NIC's TX offload)
 *   netback:  rx  TAP vif1.0 -> copy into the shared ring, eventfd kick
 *             tx  shared ring -> TAP vif1.0
 *   netfront: rx  shared ring -> [lro_ref "LRO virt"] -> guest TAP with
 *                 virtio_net_hdr (an aggregate enters the guest as one GSO packet)
 *             tx  guest TAP -> shared ring
 *
 * All TAPs use IFF_VNET_HDR and TUNSETOFFLOAD(CSUM|TSO4|TSO6), so GSO frames
 * cross the bridge and the ring whole. Frames that already carry GSO or
 * partial-checksum metadata bypass lro_ref (after a flush: no reordering).
 *
 * On SIGTERM/SIGINT a stage stops and writes its counters (struct
 * lk_stage_stats, as key=value lines: lk_stage_stats_write) to the stats
 * file; SIGUSR1 writes them without stopping. `lrokit run` reads them back
 * with lk_stage_stats_read: one struct, one writer, one reader.
 */
#ifndef LK_TESTBED_STAGE_H
#define LK_TESTBED_STAGE_H

#include "lib/err.h"
#include "lib/record.h"
#include "lro_ref/lro.h"

#include <stdbool.h>
#include <stdint.h>

enum lk_stage_kind { LK_STAGE_NIC, LK_STAGE_NETBACK, LK_STAGE_NETFRONT };

#define LK_FPP_BUCKETS 8 /* frames per poll: 1, 2-3, 4-7, 8-15, 16-31, 32-63, 64-127, 128+ */

/* The counters of one direction (rx: towards the guest, tx: back). */
struct lk_stage_dir_stats {
	uint64_t frames_in, frames_out, bytes_in, bytes_out;
	uint64_t segs_out;        /* TCP segments represented by frames out (GSO counted whole) */
	uint64_t polls, empty_polls, full_polls;
	uint64_t drops, link_down, kicks, ring_full, gso_out, csum_completed, lro_bypass;
	uint64_t fpp_hist[LK_FPP_BUCKETS]; /* polls by frames taken (lk_stage_fpp_bucket) */
	char last_error[128];
	bool lro;                 /* lro_ref ran here: lro_stats holds its counters */
	struct lro_stats lro_stats;
};

/* What a stage reports at exit. */
struct lk_stage_stats {
	char stage[16], tap[32];
	bool lro;
	char lro_policy[16];      /* "" without LRO */
	int budget;
	uint64_t wire_drops;      /* AF_PACKET receive drops (nic stage) */
	int64_t tap_queue_drops;  /* kernel drops on the stage's TAP queue, -1 unknown */
	struct lk_stage_dir_stats rx, tx;
};

/* The field tables of the stats file: every counter of a direction in the
 * order `lrokit run` stores them, and the lro_ref counters. */
extern const struct lk_rec_field lk_stage_dir_fields[];
extern const struct lk_rec_field lk_stage_lro_fields[];
/* Name of frames-per-poll bucket b: "1", "2-3", ..., "128+". */
const char *lk_stage_fpp_bucket(int b);

/* Write (atomically: PATH.tmp renamed) / read a stats file. */
int lk_stage_stats_write(const char *path, const struct lk_stage_stats *st, struct lk_err *e);
int lk_stage_stats_read(const char *path, struct lk_stage_stats *st, struct lk_err *e);

#define LK_STAGE_BUDGET 64      /* frames per poll: the NAPI weight */
#define LK_STAGE_MAX_BUDGET 256

struct lk_stage_opts {
	enum lk_stage_kind kind;
	const char *wire;       /* nic: wire interface (AF_PACKET) */
	const char *tap;        /* TAP device this stage creates */
	bool lro;               /* run lro_ref on the rx path (nic, netfront) */
	const char *lro_policy; /* "linux" (default) or "inet_lro" */
	int budget;             /* frames per poll, 1..LK_STAGE_MAX_BUDGET (0: LK_STAGE_BUDGET) */
	int shm_fd;             /* netback/netfront: the two rings (rx, tx) */
	int evt[4];             /* rx kick, rx space, tx kick, tx space */
	int ready_fd;           /* written once the TAP exists (-1 none) */
	const char *stats_path; /* counters at exit (NULL none): lk_stage_stats_write */
};

const char *lk_stage_name(enum lk_stage_kind k);
int lk_stage_parse(const char *s, enum lk_stage_kind *k);

/* Runs until SIGTERM/SIGINT. Returns 0, or -1 with e filled. */
int lk_stage_run(const struct lk_stage_opts *o, struct lk_err *e);

/* Shared memory for the two rings of netback/netfront: creates a memfd of
 * the right size and initialises both rings. Returns the fd (CLOEXEC). */
int lk_stage_shm_create(struct lk_err *e);

#endif
