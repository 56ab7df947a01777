/* testbed/stage.h - the stage processes of the emulated Xen receive path.
 * Each stage is its own process (`lrokit stage ...`) and moves frames in
 * both directions; how it batches, queues, notifies, schedules and drops is
 * set by the fidelity model (testbed/model.h), the data path is:
 *
 *   nic:      rx  AF_PACKET TPACKET_V2 ring on the wire veth (the kernel's
 *                 receive timestamps give each frame's arrival) -> wire
 *                 pacing (wire.rate_bps) -> rx descriptor ring (nic.ring,
 *                 drops when full) -> interrupt moderation (nic.rx_usecs,
 *                 nic.rx_frames) -> NAPI polls of nic.napi_budget frames,
 *                 re-polled until empty (nic.repoll) -> [lro_ref "LRO phys",
 *                 flushed at each poll end] -> TAP pnic0 (on the bridge)
 *             tx  TAP pnic0 -> AF_PACKET send on the wire veth (checksums of
 *                 partial-checksum frames completed, as a NIC's TX offload)
 *   netback:  rx  TAP vif1.0 (without TSO when bridge.gso=0: the kernel
 *                 resegments aggregates) -> the netif rx ring while the guest
 *                 has netback.reserve free rx requests posted; else the vif
 *                 queue is stopped and frames wait in a vif.qlen queue,
 *                 tail-dropped past it
 *             tx  netif tx ring -> TAP vif1.0
 *   netfront: rx  netif rx ring -> [lro_ref "LRO virt"] -> guest TAP with
 *                 virtio_net_hdr (an aggregate enters the guest as one GSO
 *                 packet); polls of netfront.budget packets, rx buffers
 *                 reposted (rx_target) at each poll, event re-armed after a
 *                 poll below budget (ring.notify); runs only while the guest's
 *                 vCPU is scheduled (guest.slice_us, guest.load) and starts a
 *                 poll guest.wake_us after a notify
 *             tx  guest TAP -> netif tx ring
 * Every stage adds stage.cost_ns of busy work per frame.
 *
 * All TAPs use IFF_VNET_HDR and TUNSETOFFLOAD, so GSO frames cross the
 * bridge and the ring whole. Frames that already carry GSO or
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
#include "testbed/model.h"

#include <stdbool.h>
#include <stdint.h>

enum lk_stage_kind { LK_STAGE_NIC, LK_STAGE_NETBACK, LK_STAGE_NETFRONT };

#define LK_HIST_FPP 256 /* frames per poll: bucket n = n frames, more in 256 */
#define LK_HIST_SPA 64  /* segments per frame out: bucket n = n segments, more in 64 */

/* The counters of one direction (rx: towards the guest, tx: back). */
struct lk_stage_dir_stats {
	uint64_t frames_in, frames_out, bytes_in, bytes_out;
	uint64_t segs_out;        /* TCP segments represented by frames out (GSO counted whole) */
	uint64_t polls, empty_polls, full_polls;
	uint64_t drops, link_down, kicks, ring_full, gso_out, csum_completed, lro_bypass;
	uint64_t fpp[LK_HIST_FPP]; /* polls by frames taken: fpp[n-1] */
	uint64_t spa[LK_HIST_SPA]; /* frames out by TCP segments: spa[n-1] */
	char last_error[128];
	bool lro;                 /* lro_ref ran here: lro_stats holds its counters */
	struct lro_stats lro_stats;
};

/* The model's evidence of one stage (counters source 'stage', see run.h). */
struct lk_stage_model_stats {
	uint64_t irqs;              /* nic: interrupts; netfront: notifies that woke it */
	uint64_t queue_full_events; /* netback: times the vif queue was stopped */
	uint64_t drops_nic_ring;    /* nic: frames that found the rx descriptor ring full */
	uint64_t drops_vif_queue;   /* netback: tail drops of the stopped vif queue */
	uint64_t drops_netback;     /* netback: dropped after the queue-stop timeout */
	uint64_t idle_ns;           /* waiting for work */
	uint64_t desched_ns;        /* netfront: guest descheduled (slice/load model) */
	uint64_t wire_delay_ns;     /* nic: total time frames waited for the wire (pacing) */
	uint64_t late_ns;           /* nic: total lateness of polls behind the modelled
				       interrupt time; netfront: of polls behind the
				       modelled wake (notify + guest.wake_us, after any
				       deschedule); per irqs: how far the emulator lagged */
	uint64_t notifies;          /* notifications sent to the peer (after suppression) */
	uint64_t posts;             /* netfront: rx request posts (refills) */
};

/* What a stage reports at exit. */
struct lk_stage_stats {
	char stage[16], tap[32];
	bool lro;
	char lro_policy[16];      /* "" without LRO */
	int budget;               /* frames per poll of the rx direction */
	uint64_t wire_drops;      /* AF_PACKET receive drops (nic stage: emulator overload) */
	int64_t tap_queue_drops;  /* kernel drops on the stage's TAP queue, -1 unknown */
	/* what the stage process itself cost (getrusage): the emulator's overhead */
	uint64_t cpu_user_ns, cpu_sys_ns, ctx_voluntary, ctx_involuntary;
	struct lk_stage_model_stats m;
	struct lk_stage_dir_stats rx, tx;
};

/* The field tables of the stats file: every counter of a direction in the
 * order `lrokit run` stores them, the model counters, the lro_ref counters. */
extern const struct lk_rec_field lk_stage_dir_fields[];
extern const struct lk_rec_field lk_stage_model_fields[];
extern const struct lk_rec_field lk_stage_lro_fields[];

/* Write (atomically: PATH.tmp renamed) / read a stats file. */
int lk_stage_stats_write(const char *path, const struct lk_stage_stats *st, struct lk_err *e);
int lk_stage_stats_read(const char *path, struct lk_stage_stats *st, struct lk_err *e);

/* Median of a histogram h[0..n-1] where h[i] counts the value i+1; 0 when empty. */
int lk_stage_hist_median(const uint64_t *h, int n);

struct lk_stage_opts {
	enum lk_stage_kind kind;
	const char *wire;       /* nic: wire interface (AF_PACKET) */
	const char *tap;        /* TAP device this stage creates */
	bool lro;               /* run lro_ref on the rx path (nic, netfront) */
	const char *lro_policy; /* "linux" (default) or "inet_lro" */
	struct lk_model model;  /* the fidelity model */
	int shm_fd;             /* netback/netfront: the two rings (rx, tx) */
	int evt[4];             /* rx kick, rx requests posted, tx kick, tx space */
	int ready_fd;           /* written once the TAP exists (-1 none) */
	const char *stats_path; /* counters at exit (NULL none): lk_stage_stats_write */
};

const char *lk_stage_name(enum lk_stage_kind k);
int lk_stage_parse(const char *s, enum lk_stage_kind *k);

/* Runs until SIGTERM/SIGINT. Returns 0, or -1 with e filled. */
int lk_stage_run(const struct lk_stage_opts *o, struct lk_err *e);

/* Shared memory for the two rings of netback/netfront (ring.slots of the
 * model each): creates a memfd of the right size and initialises both
 * rings. Returns the fd (CLOEXEC). */
int lk_stage_shm_create(unsigned nslots, struct lk_err *e);

#endif
