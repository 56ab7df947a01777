/* testbed/stage_int.h - internals shared by the stage loops (stage.c: ports,
 * frame delivery, LRO, counters; stage_nic.c: the NIC; stage_xen.c: netback
 * and netfront). Not an API: only testbed/stage*.c include it. */
#ifndef LK_TESTBED_STAGE_INT_H
#define LK_TESTBED_STAGE_INT_H

#include "testbed/model.h"
#include "testbed/ring.h"
#include "testbed/stage.h"
#include "testbed/uring.h"

#include <linux/virtio_net.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>

#define VNET_LEN ((int)sizeof(struct virtio_net_hdr)) /* 10 */
#define FRAME_MAX (65536 + 128)
#define LK_IO_BATCH 256  /* frame writes/reads per io_uring batch (testbed/uring.h) */
/* an LRO aggregate goes to a TAP as vnet header + frame header + frags */
#define MAX_IOV (2 + LRO_MAX_FRAGS)

extern volatile sig_atomic_t lk_stage_stop, lk_stage_dump;

enum port_kind { P_PKT, P_TAP, P_RING };

struct dir {
	const char *name;      /* "rx" / "tx" */
	enum port_kind src, dst;
	int src_fd, dst_fd;    /* packet socket / TAP fds */
	struct lk_ring *src_ring, *dst_ring;
	struct lro *lro;
	struct lk_stage_dir_stats st;
};

struct nic_wire;           /* stage_nic.c */

/* A frame write queued for the next batch: its vnet header and iovecs stay
 * here until the batch has run. */
struct out_op {
	struct virtio_net_hdr vh;
	struct dir *d;
	unsigned niov;
	struct iovec iov[MAX_IOV];
	uint8_t hdr[256];      /* an LRO aggregate's header (the engine's copy is
				  valid only during its callback) */
};

struct stage {
	const struct lk_stage_opts *o;
	const struct lk_model *m;
	struct dir rx, tx;
	struct dir *cur;       /* the direction the LRO callback writes to */
	int tap_fd;
	uint64_t cost_ns;      /* stage.cost_ns */
	uint64_t timer_early_ns; /* lk_stage_wait: mean timer overshoot, asked early */
	struct lk_stage_model_stats ms;
	/* nic */
	int pkt_fd;            /* AF_PACKET: the wire (rx ring, and tx sends) */
	uint64_t pkt_drops;    /* AF_PACKET tp_drops */
	struct nic_wire *wire;
	/* netback / netfront */
	uint8_t *shm;
	size_t shm_len;
	struct lk_ring rings[2]; /* rx, tx */
	uint8_t *buf;          /* FRAME_MAX + VNET_LEN scratch */
	/* batched I/O: frame writes queue here and run at the end of a poll */
	struct lk_uring *u;
	struct out_op *ops;
	/* batched reads (lk_stage_read): results by operation */
	int rd_res[LK_IO_BATCH];
};

/* One frame entering direction d: through LRO when enabled, else straight
 * to the destination (sink_put). f/len exclude the vnet header. */
void lk_stage_feed(struct stage *s, struct dir *d, struct virtio_net_hdr *vh, uint8_t *f,
		   uint32_t len, uint64_t ts);
/* Deliver one frame to d's destination (packet socket or TAP). */
void lk_stage_sink(struct stage *s, struct dir *d, struct virtio_net_hdr *vh, uint8_t *f,
		   uint32_t len);
/* A frame went out of d: counters and the segments-per-frame histogram. */
void lk_stage_out(struct dir *d, const struct virtio_net_hdr *vh, uint32_t len);
/* Run the queued frame writes (one system call); the frames' buffers may
 * be reused after it. */
void lk_stage_flush(struct stage *s);
/* Read up to n frames (n <= LK_IO_BATCH) from fd, frame i into bufs[i]
 * (bufsz bytes each); lens[i] = bytes read (vnet header included). The
 * frames read are moved to the front: returns how many. The writes queued
 * so far run first, in the same system call (lk_stage_flush). */
unsigned lk_stage_read(struct stage *s, int fd, uint8_t *const *bufs, unsigned bufsz, unsigned n,
		       uint32_t *lens);
/* End of a poll that took n frames from d's source: LRO flush (its frames
 * are queued: lk_stage_flush or lk_stage_read before the source buffers are
 * released), histogram. */
void lk_stage_poll_end(struct stage *s, struct dir *d, unsigned n, unsigned budget, uint64_t ts);
/* stage.cost_ns of busy work for n frames. */
void lk_stage_burn(const struct stage *s, unsigned n);
/* Wait for fds or until deadline_ns (CLOCK_MONOTONIC; 0 = none, at most
 * 200 ms so signals and dumps are seen); the time counts as idle. Returns
 * ppoll's result. A deadline is kept on average: the timer is set early by
 * the mean overshoot seen so far, so a caller takes a time as come when it
 * is within that margin (lk_stage_due). */
int lk_stage_wait(struct stage *s, struct pollfd *p, int n, uint64_t deadline_ns);
/* Has modelled time t come at now (within the timer margin)? */
bool lk_stage_due(const struct stage *s, uint64_t t, uint64_t now);
/* Handle a pending SIGUSR1 (write the counters). */
void lk_stage_check_dump(struct stage *s);
/* TCP segments a frame stands for: GSO frames count by payload / gso_size. */
uint32_t lk_stage_frame_segs(const struct virtio_net_hdr *vh, uint32_t len);

/* The stage loops: run until lk_stage_stop; 0, or -1 with e filled. */
int lk_stage_nic_open(struct stage *s, struct lk_err *e);
void lk_stage_nic_close(struct stage *s);
int lk_stage_nic_loop(struct stage *s, struct lk_err *e);
int lk_stage_netback_loop(struct stage *s, struct lk_err *e);
int lk_stage_netfront_loop(struct stage *s, struct lk_err *e);

#endif
