/* testbed/stage.c - what the stages share: TAPs, frame delivery, LRO, the
 * counters and their file, and lk_stage_run (setup, then the stage's loop
 * in stage_nic.c or stage_xen.c). */
#include "testbed/stage.h"
#include "testbed/ring.h"
#include "testbed/stage_int.h"
#include "lib/clock.h"
#include "lib/record.h"
#include "lro_ref/lro.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#if defined(IOV_MAX) && IOV_MAX < MAX_IOV
#error "IOV_MAX too small for an aggregate's fragments"
#endif

volatile sig_atomic_t lk_stage_stop, lk_stage_dump;
static void on_stop(int sig) { (void)sig; lk_stage_stop = 1; }
static void on_dump(int sig) { (void)sig; lk_stage_dump = 1; }

const char *lk_stage_name(enum lk_stage_kind k)
{
	switch (k) {
	case LK_STAGE_NIC: return "nic";
	case LK_STAGE_NETBACK: return "netback";
	case LK_STAGE_NETFRONT: return "netfront";
	}
	return "?";
}

int lk_stage_parse(const char *str, enum lk_stage_kind *k)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(str, lk_stage_name((enum lk_stage_kind)i))) {
			*k = (enum lk_stage_kind)i;
			return 0;
		}
	return -1;
}

int lk_stage_shm_create(unsigned nslots, struct lk_err *e)
{
	if (nslots < 1 || nslots > LK_RING_MAX_SLOTS)
		return lk_errf(e, LK_EXIT_USAGE, "ring of %u slots (1..%d)", nslots, LK_RING_MAX_SLOTS);
	int fd = memfd_create("lrokit-ring", MFD_CLOEXEC);
	if (fd < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "memfd_create: %s", strerror(errno));
	size_t one = lk_ring_bytes(nslots), sz = 2 * one;
	if (ftruncate(fd, (off_t)sz) < 0) {
		close(fd);
		return lk_errf(e, LK_EXIT_RUNTIME, "ring memory (%zu bytes): %s", sz, strerror(errno));
	}
	uint8_t *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return lk_errf(e, LK_EXIT_RUNTIME, "mmap ring memory: %s", strerror(errno));
	}
	lk_ring_init(m, nslots);
	lk_ring_init(m + one, nslots);
	munmap(m, sz);
	return fd;
}

/* The stage's TAP. gso: accept GSO frames (TSO4/6); without it the kernel
 * segments GSO packets before handing them to us (a vif without GSO). */
static int tap_open(const char *name, bool gso, struct lk_err *e)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return lk_errf(e, LK_EXIT_MISSING, "/dev/net/tun: %s", strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	int hs = VNET_LEN;
	unsigned off = TUN_F_CSUM | (gso ? TUN_F_TSO4 | TUN_F_TSO6 : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hs) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, off) < 0) {
		int er = errno;
		close(fd);
		return lk_errf(e, LK_EXIT_RUNTIME, "TAP %s: %s", name, strerror(er));
	}
	return fd;
}

uint32_t lk_stage_frame_segs(const struct virtio_net_hdr *vh, uint32_t len)
{
	if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE || !vh->gso_size || len <= vh->hdr_len)
		return 1;
	return (len - vh->hdr_len + vh->gso_size - 1) / vh->gso_size;
}

static void hist_add(uint64_t *h, int n, uint64_t v)
{
	if (v < 1)
		return;
	h[(v > (uint64_t)n ? (uint64_t)n : v) - 1]++;
}

int lk_stage_hist_median(const uint64_t *h, int n)
{
	uint64_t total = 0, acc = 0;
	for (int i = 0; i < n; i++)
		total += h[i];
	if (!total)
		return 0;
	for (int i = 0; i < n; i++) {
		acc += h[i];
		if (2 * acc >= total)
			return i + 1;
	}
	return n;
}

void lk_stage_out(struct dir *d, const struct virtio_net_hdr *vh, uint32_t len)
{
	uint32_t segs = lk_stage_frame_segs(vh, len);
	d->st.frames_out++;
	d->st.bytes_out += len;
	d->st.segs_out += segs;
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		d->st.gso_out++;
	hist_add(d->st.spa, LK_HIST_SPA, segs);
}

/* Complete a partial checksum in software, as a NIC's TX checksum offload. */
static void csum_complete(struct virtio_net_hdr *vh, uint8_t *f, uint32_t len)
{
	uint32_t start = vh->csum_start, at = start + vh->csum_offset;
	if (start >= len || at + 2 > len)
		return;
	uint16_t c = (uint16_t)~lro_csum_fold(lro_csum_add(0, f + start, len - start));
	if (c == 0 && vh->csum_offset == 6)
		c = 0xffff; /* UDP: 0 means "no checksum" */
	f[at] = (uint8_t)(c >> 8);
	f[at + 1] = (uint8_t)c;
	vh->flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

/* A write's result: the frame went out, or why not. */
static void put_done(struct dir *d, const struct virtio_net_hdr *vh, int res)
{
	if (res >= VNET_LEN) {
		lk_stage_out(d, vh, (uint32_t)res - (uint32_t)VNET_LEN);
	} else if (res == -EIO) {
		d->st.link_down++; /* TAP not up yet / being torn down */
	} else {
		d->st.drops++;
		snprintf(d->st.last_error, sizeof d->st.last_error, "write: %s",
			 res < 0 ? strerror(-res) : "short write");
	}
}

static void op_done(void *ctx, uint64_t tag, int res)
{
	struct stage *s = ctx;
	struct out_op *op = &s->ops[tag];
	put_done(op->d, &op->vh, res);
}

void lk_stage_flush(struct stage *s)
{
	lk_uring_run(s->u, op_done, s); /* a failure: each frame counts as a drop */
}

#define RD_TAG (1ull << 32)

/* Results of a batch of writes and reads: reads are tagged RD_TAG | i. */
static void io_done(void *ctx, uint64_t tag, int res)
{
	struct stage *s = ctx;
	if (tag & RD_TAG)
		s->rd_res[tag & 0xffffffffu] = res;
	else
		op_done(ctx, tag, res);
}

unsigned lk_stage_read(struct stage *s, int fd, uint8_t *const *bufs, unsigned bufsz, unsigned n,
		       uint32_t *lens)
{
	if (n > LK_IO_BATCH)
		n = LK_IO_BATCH;
	/* the reads run after the writes queued so far, in the same system call */
	if (lk_uring_queued(s->u) + n > LK_IO_BATCH)
		lk_stage_flush(s);
	for (unsigned i = 0; i < n; i++)
		lk_uring_read(s->u, fd, bufs[i], bufsz, RD_TAG | i);
	lk_uring_run(s->u, io_done, s);
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (s->rd_res[i] <= VNET_LEN)
			continue;
		if (k != i)
			memcpy(bufs[k], bufs[i], (size_t)s->rd_res[i]);
		lens[k++] = (uint32_t)s->rd_res[i];
	}
	return k;
}

/* Queue one frame write (vnet header + iov) for the next flush; hdr_len > 0:
 * iov[0] is that many header bytes to keep a copy of. */
static void put_fd(struct stage *s, struct dir *d, const struct virtio_net_hdr *vh,
		   const struct iovec *iov, unsigned niov, uint32_t hdr_len)
{
	if (lk_uring_queued(s->u) >= LK_IO_BATCH)
		lk_stage_flush(s);
	unsigned i = lk_uring_queued(s->u);
	struct out_op *op = &s->ops[i];
	op->vh = *vh;
	op->d = d;
	op->iov[0] = (struct iovec){&op->vh, VNET_LEN};
	memcpy(op->iov + 1, iov, niov * sizeof *iov);
	op->niov = niov + 1;
	if (hdr_len) {
		memcpy(op->hdr, iov[0].iov_base, hdr_len);
		op->iov[1].iov_base = op->hdr;
	}
	lk_uring_writev(s->u, d->dst_fd, op->iov, op->niov, i);
}

/* Deliver one frame: lo NULL, or the LRO output the frame is; a zero-copy
 * aggregate (lo->nfrags > 0) is f's lo->hdr_len header bytes followed by
 * lo->frags, len bytes in all: written without gathering (writev), gathered
 * into the slot when the destination is the shared ring. */
static void sink_put(struct stage *s, struct dir *d, struct virtio_net_hdr *vh, uint8_t *f,
		     uint32_t len, const struct lro_out *lo)
{
	static uint8_t gbuf[FRAME_MAX];
	bool frags = lo && lo->nfrags;
	/* queued writes outlive the callback: an aggregate's header is copied
	   (put_fd); a full fragment array ends in the engine's buffer, and a
	   header too long to copy: gathered, written at once */
	if (frags && (lo->nfrags + 2 > MAX_IOV || lo->nfrags >= LRO_MAX_FRAGS ||
		      lo->hdr_len > sizeof s->ops[0].hdr ||
		      (d->dst == P_PKT && vh->gso_type == VIRTIO_NET_HDR_GSO_NONE))) {
		/* one buffer then */
		if (len > sizeof gbuf) {
			d->st.drops++;
			snprintf(d->st.last_error, sizeof d->st.last_error, "aggregate too long");
			return;
		}
		lro_out_gather(lo, gbuf);
		f = gbuf;
		frags = false;
	}
	if (d->dst == P_PKT && (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    vh->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		csum_complete(vh, f, len);
		d->st.csum_completed++;
	}
	if (d->dst == P_RING) {
		uint32_t *lp;
		uint8_t *slot = lk_ring_prod_slot(d->dst_ring, &lp);
		if (!slot || len + VNET_LEN > LK_RING_SLOT_DATA) {
			d->st.drops++;
			snprintf(d->st.last_error, sizeof d->st.last_error, "ring full");
			return;
		}
		memcpy(slot, vh, VNET_LEN);
		if (frags)
			lro_out_gather(lo, slot + VNET_LEN);
		else
			memcpy(slot + VNET_LEN, f, len);
		*lp = len + VNET_LEN;
		lk_ring_prod_commit(d->dst_ring, 1);
		lk_stage_out(d, vh, len);
		return;
	}
	struct iovec iov[MAX_IOV] = {{f, frags ? lo->hdr_len : len}};
	unsigned niov = 1;
	for (uint32_t k = 0; frags && k < lo->nfrags; k++)
		iov[niov++] = (struct iovec){(void *)(uintptr_t)lo->frags[k].p, lo->frags[k].len};
	put_fd(s, d, vh, iov, niov, frags ? lo->hdr_len : 0);
	if (f == gbuf)
		lk_stage_flush(s); /* gbuf is reused by the next fallback */
}

void lk_stage_sink(struct stage *s, struct dir *d, struct virtio_net_hdr *vh, uint8_t *f,
		   uint32_t len)
{
	sink_put(s, d, vh, f, len, NULL);
}

static void lro_emit(void *ctx, const struct lro_out *lo)
{
	struct stage *s = ctx;
	struct virtio_net_hdr vh;
	memset(&vh, 0, sizeof vh);
	if (lo->segs > 1) {
		vh.flags = lo->csum_partial ? VIRTIO_NET_HDR_F_NEEDS_CSUM : VIRTIO_NET_HDR_F_DATA_VALID;
		vh.gso_type = lo->gso_type;
		vh.gso_size = lo->gso_size;
		vh.hdr_len = lo->hdr_len;
		vh.csum_start = lo->csum_start;
		vh.csum_offset = lo->csum_offset;
	} else {
		vh.flags = VIRTIO_NET_HDR_F_DATA_VALID; /* lro_ref checked it */
	}
	/* sink_put does not modify LRO output (csum completion: non-GSO frames
	   to a packet socket, i.e. tx only) */
	sink_put(s, s->cur, &vh, (uint8_t *)(uintptr_t)lo->frame, lo->len, lo);
}

void lk_stage_feed(struct stage *s, struct dir *d, struct virtio_net_hdr *vh, uint8_t *f,
		   uint32_t len, uint64_t ts)
{
	d->st.frames_in++;
	d->st.bytes_in += len;
	lk_stage_burn(s, 1);
	if (d->lro) {
		if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE &&
		    !(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
			s->cur = d;
			lro_rx(d->lro, f, len, ts);
			return;
		}
		/* already aggregated / partial checksum: keep order, pass whole */
		d->st.lro_bypass++;
		s->cur = d;
		lro_flush_all(d->lro);
	}
	sink_put(s, d, vh, f, len, NULL);
}

void lk_stage_poll_end(struct stage *s, struct dir *d, unsigned n, unsigned budget, uint64_t ts)
{
	if (d->lro) {
		s->cur = d;
		lro_poll_end(d->lro, ts);
	}
	if (n) {
		d->st.polls++;
		hist_add(d->st.fpp, LK_HIST_FPP, n);
		if (n >= budget)
			d->st.full_polls++;
	} else {
		d->st.empty_polls++;
	}
}

void lk_stage_burn(const struct stage *s, unsigned n)
{
	if (!s->cost_ns || !n)
		return;
	uint64_t until = lk_mono_ns() + s->cost_ns * n;
	while (lk_mono_ns() < until)
		;
}

int lk_stage_wait(struct stage *s, struct pollfd *p, int n, uint64_t deadline_ns)
{
	uint64_t t0 = lk_mono_ns(), lim = t0 + 200000000ull;
	bool timed = deadline_ns && deadline_ns <= lim;
	if (!timed)
		deadline_ns = lim;
	/* a timer fires late by about the same time on a given host (tens of
	   microseconds on a paravirtualized one, whatever the slack): ask for
	   the deadline less the mean overshoot seen so far (the callers take
	   a time within it as come: lk_stage_due), so that modelled times are
	   kept on average rather than all late by the host's timer latency */
	uint64_t c = timed ? s->timer_early_ns : 0;
	uint64_t ask = deadline_ns > t0 + c ? deadline_ns - c : t0;
	uint64_t d = ask - t0;
	struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
	int r = ppoll(p, (nfds_t)n, &ts, NULL);
	uint64_t t1 = lk_mono_ns();
	if (timed && r == 0) {
		uint64_t over = t1 > ask ? t1 - ask : 0;
		if (over > 1000000) /* a preemption, not the timer: keep it out */
			over = 1000000;
		s->timer_early_ns = (s->timer_early_ns * 7 + over) / 8;
	}
	s->ms.idle_ns += t1 - t0;
	return r;
}

bool lk_stage_due(const struct stage *s, uint64_t t, uint64_t now)
{
	return t <= now + s->timer_early_ns;
}

/* ---- counters ---- */

#define DIRF(m, t) LK_REC(struct lk_stage_dir_stats, m, t)
const struct lk_rec_field lk_stage_dir_fields[] = {
	DIRF(frames_in, LK_REC_U64), DIRF(frames_out, LK_REC_U64), DIRF(bytes_in, LK_REC_U64),
	DIRF(bytes_out, LK_REC_U64), DIRF(segs_out, LK_REC_U64), DIRF(polls, LK_REC_U64),
	DIRF(empty_polls, LK_REC_U64), DIRF(full_polls, LK_REC_U64), DIRF(drops, LK_REC_U64),
	DIRF(link_down, LK_REC_U64), DIRF(kicks, LK_REC_U64), DIRF(ring_full, LK_REC_U64),
	DIRF(gso_out, LK_REC_U64), DIRF(csum_completed, LK_REC_U64), DIRF(lro_bypass, LK_REC_U64),
	LK_REC_ARRAY(struct lk_stage_dir_stats, fpp, LK_REC_U64),
	LK_REC_ARRAY(struct lk_stage_dir_stats, spa, LK_REC_U64),
	DIRF(last_error, LK_REC_STR), DIRF(lro, LK_REC_BOOL),
	LK_REC_END,
};

#define MF(m) LK_REC(struct lk_stage_model_stats, m, LK_REC_U64)
const struct lk_rec_field lk_stage_model_fields[] = {
	MF(irqs), MF(queue_full_events), MF(drops_nic_ring), MF(drops_vif_queue), MF(drops_netback),
	MF(idle_ns), MF(desched_ns), MF(wire_delay_ns), MF(late_ns), MF(posts),
	LK_REC_END,
};

#define LROF(m) LK_REC(struct lro_stats, m, LK_REC_U64)
const struct lk_rec_field lk_stage_lro_fields[] = {
	LROF(frames_in), LROF(frames_out), LROF(segs_in), LROF(segs_merged), LROF(aggregates_out),
	LROF(data_frames_out), LROF(bypassed), LROF(csum_bad),
	LK_REC_ARRAY(struct lro_stats, flushes, LK_REC_U64),
	LK_REC_END,
};

#define STF(m, t) LK_REC(struct lk_stage_stats, m, t)
static const struct lk_rec_field stage_fields[] = {
	STF(stage, LK_REC_STR), STF(tap, LK_REC_STR), STF(lro, LK_REC_BOOL),
	STF(lro_policy, LK_REC_STR), STF(budget, LK_REC_INT), STF(wire_drops, LK_REC_U64),
	STF(tap_queue_drops, LK_REC_I64), STF(cpu_user_ns, LK_REC_U64), STF(cpu_sys_ns, LK_REC_U64),
	STF(ctx_voluntary, LK_REC_U64), STF(ctx_involuntary, LK_REC_U64),
	LK_REC_END,
};

int lk_stage_stats_write(const char *path, const struct lk_stage_stats *st, struct lk_err *e)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return lk_errf(e, LK_EXIT_RUNTIME, "stats file %s: %s", tmp, strerror(errno));
	lk_rec_write(f, "", stage_fields, st);
	lk_rec_write(f, "model.", lk_stage_model_fields, &st->m);
	lk_rec_write(f, "rx.", lk_stage_dir_fields, &st->rx);
	lk_rec_write(f, "rx.lro_stats.", lk_stage_lro_fields, &st->rx.lro_stats);
	lk_rec_write(f, "tx.", lk_stage_dir_fields, &st->tx);
	lk_rec_write(f, "tx.lro_stats.", lk_stage_lro_fields, &st->tx.lro_stats);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "stats file %s: %s", path, strerror(errno));
	return 0;
}

static int stats_set(void *ctx, const char *key, const char *val, struct lk_err *e)
{
	struct lk_stage_stats *st = ctx;
	int r;
	if ((r = lk_rec_set("", stage_fields, st, key, val, e)) ||
	    (r = lk_rec_set("model.", lk_stage_model_fields, &st->m, key, val, e)) ||
	    (r = lk_rec_set("rx.lro_stats.", lk_stage_lro_fields, &st->rx.lro_stats, key, val, e)) ||
	    (r = lk_rec_set("tx.lro_stats.", lk_stage_lro_fields, &st->tx.lro_stats, key, val, e)) ||
	    (r = lk_rec_set("rx.", lk_stage_dir_fields, &st->rx, key, val, e)))
		return r;
	return lk_rec_set("tx.", lk_stage_dir_fields, &st->tx, key, val, e);
}

int lk_stage_stats_read(const char *path, struct lk_stage_stats *st, struct lk_err *e)
{
	memset(st, 0, sizeof *st);
	return lk_rec_read(path, stats_set, st, e);
}

/* Kernel-side drops on the stage's TAP (queue overflow towards the stage). */
static long long tap_tx_dropped(const char *tap)
{
	FILE *f = fopen("/proc/thread-self/net/dev", "r");
	if (!f)
		return -1;
	char line[512];
	long long v = -1;
	size_t tl = strlen(tap);
	while (fgets(line, sizeof line, f)) {
		char *p = line;
		while (*p == ' ')
			p++;
		if (strncmp(p, tap, tl) || p[tl] != ':')
			continue;
		unsigned long long c[16] = {0};
		if (sscanf(p + tl + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9],
			   &c[10], &c[11]) == 12)
			v = (long long)c[11];
	}
	fclose(f);
	return v;
}

static int write_stats(struct stage *s, struct lk_err *e)
{
	const struct lk_stage_opts *o = s->o;
	if (!o->stats_path)
		return 0;
	struct lk_stage_stats st;
	memset(&st, 0, sizeof st);
	snprintf(st.stage, sizeof st.stage, "%s", lk_stage_name(o->kind));
	snprintf(st.tap, sizeof st.tap, "%s", o->tap);
	st.lro = o->lro;
	snprintf(st.lro_policy, sizeof st.lro_policy, "%s",
		 o->lro ? (o->lro_policy ? o->lro_policy : "linux") : "");
	st.budget = lk_model_int(s->m, o->kind == LK_STAGE_NETFRONT ? LK_M_NETFRONT_BUDGET
								    : LK_M_NIC_BUDGET);
	st.wire_drops = s->pkt_drops;
	st.tap_queue_drops = tap_tx_dropped(o->tap);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		st.cpu_user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000;
		st.cpu_sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000;
		st.ctx_voluntary = (uint64_t)ru.ru_nvcsw;
		st.ctx_involuntary = (uint64_t)ru.ru_nivcsw;
	}
	st.m = s->ms;
	st.rx = s->rx.st;
	st.tx = s->tx.st;
	if (s->rx.lro) {
		st.rx.lro = true;
		st.rx.lro_stats = *lro_stats(s->rx.lro);
	}
	return lk_stage_stats_write(o->stats_path, &st, e);
}

void lk_stage_check_dump(struct stage *s)
{
	if (lk_stage_dump) {
		lk_stage_dump = 0;
		write_stats(s, NULL);
	}
}

/* netback/netfront: map the two rings and attach them to the eventfds. */
static int rings_open(struct stage *s, struct lk_err *e)
{
	const struct lk_stage_opts *o = s->o;
	const char *name = lk_stage_name(o->kind);
	if (o->shm_fd < 0)
		return lk_errf(e, LK_EXIT_USAGE, "stage %s: no --shm-fd given", name);
	unsigned nslots = (unsigned)lk_model_int(s->m, LK_M_RING_SLOTS);
	s->shm_len = 2 * lk_ring_bytes(nslots);
	s->shm = mmap(NULL, s->shm_len, PROT_READ | PROT_WRITE, MAP_SHARED, o->shm_fd, 0);
	if (s->shm == MAP_FAILED) {
		s->shm = NULL;
		return lk_errf(e, LK_EXIT_RUNTIME, "mapping the shared ring (fd %d): %s", o->shm_fd,
			       strerror(errno));
	}
	if (((struct lk_ring_hdr *)s->shm)->nslots != nslots)
		return lk_errf(e, LK_EXIT_USAGE, "stage %s: the shared ring has %u slots, the model "
			       "says ring.slots=%u", name, ((struct lk_ring_hdr *)s->shm)->nslots,
			       nslots);
	for (int i = 0; i < 4; i++) {
		if (o->evt[i] < 0 || fcntl(o->evt[i], F_GETFD) < 0)
			return lk_errf(e, LK_EXIT_USAGE, "stage %s: event fd %d not open", name,
				       o->evt[i]);
		fcntl(o->evt[i], F_SETFL, O_NONBLOCK);
	}
	lk_ring_attach(&s->rings[0], s->shm, o->evt[0], o->evt[1]);
	lk_ring_attach(&s->rings[1], s->shm + s->shm_len / 2, o->evt[2], o->evt[3]);
	/* with a guest wake-up latency the rx kick is a timerfd (the testbed
	   makes it): netback's notify sets it, and netfront wakes once, when
	   the modelled wake-up comes */
	uint64_t wake = (uint64_t)(s->m->v[LK_M_GUEST_WAKE_US] * 1000 * lk_model_dilation(s->m));
	if (wake) {
		struct itimerspec it;
		if (timerfd_gettime(o->evt[0], &it) < 0)
			return lk_errf(e, LK_EXIT_USAGE, "stage %s: guest.wake_us > 0 needs the rx "
				       "kick (event fd %d) to be a timerfd", name, o->evt[0]);
		s->rings[0].kick_delay_ns = wake;
	}
	if (!(s->buf = malloc(FRAME_MAX + VNET_LEN)))
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	return 0;
}

static int lro_open(struct stage *s, struct lk_err *e)
{
	const struct lk_stage_opts *o = s->o;
	if (o->kind == LK_STAGE_NETBACK)
		return lk_errf(e, LK_EXIT_USAGE, "stage netback: LRO runs in nic or netfront, not netback");
	struct lro_config c;
	enum lro_policy pol = LRO_POLICY_LINUX;
	if (o->lro_policy && lro_policy_parse(o->lro_policy, &pol) < 0)
		return lk_errf(e, LK_EXIT_USAGE, "unknown LRO policy '%s' (linux or inet_lro)",
			       o->lro_policy);
	lro_config_default(&c, pol);
	/* zero-copy: the rx frames (the wire's mmap ring frames / ring slots)
	   stay valid until lk_stage_poll_end's lro_poll_end: both are released
	   after it (feed's lro_flush_all also runs within the poll) */
	c.zero_copy = true;
	s->rx.lro = lro_new(&c, lro_emit, s);
	if (!s->rx.lro)
		return lk_errf(e, LK_EXIT_RUNTIME, "lro_new failed");
	return 0;
}

static int setup(struct stage *s, struct lk_err *e)
{
	const struct lk_stage_opts *o = s->o;
	if (!(s->u = lk_uring_new(LK_IO_BATCH, e)))
		return -1;
	if (!(s->ops = calloc(LK_IO_BATCH, sizeof *s->ops)))
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	if (!o->tap)
		return lk_errf(e, LK_EXIT_USAGE, "stage %s: no --tap given", lk_stage_name(o->kind));
	if (lk_model_check(s->m, e) < 0)
		return -1;
	/* the vif without GSO (bridge.gso=0): the kernel resegments aggregates
	   before they reach netback */
	bool gso = o->kind != LK_STAGE_NETBACK || lk_model_on(s->m, LK_M_BRIDGE_GSO);
	if ((s->tap_fd = tap_open(o->tap, gso, e)) < 0)
		return -1;
	if (o->kind == LK_STAGE_NIC) {
		if (lk_stage_nic_open(s, e) < 0)
			return -1;
		s->rx = (struct dir){.name = "rx", .src = P_PKT, .dst = P_TAP, .src_fd = s->pkt_fd,
				     .dst_fd = s->tap_fd};
		s->tx = (struct dir){.name = "tx", .src = P_TAP, .dst = P_PKT, .src_fd = s->tap_fd,
				     .dst_fd = s->pkt_fd};
	} else {
		if (rings_open(s, e) < 0)
			return -1;
		if (o->kind == LK_STAGE_NETBACK) {
			s->rx = (struct dir){.name = "rx", .src = P_TAP, .dst = P_RING,
					     .src_fd = s->tap_fd, .dst_ring = &s->rings[0]};
			s->tx = (struct dir){.name = "tx", .src = P_RING, .dst = P_TAP,
					     .src_ring = &s->rings[1], .dst_fd = s->tap_fd};
		} else {
			s->rx = (struct dir){.name = "rx", .src = P_RING, .dst = P_TAP,
					     .src_ring = &s->rings[0], .dst_fd = s->tap_fd};
			s->tx = (struct dir){.name = "tx", .src = P_TAP, .dst = P_RING,
					     .src_fd = s->tap_fd, .dst_ring = &s->rings[1]};
		}
	}
	if (o->lro && lro_open(s, e) < 0)
		return -1;
	return 0;
}

int lk_stage_run(const struct lk_stage_opts *o, struct lk_err *e)
{
	struct stage s;
	memset(&s, 0, sizeof s);
	s.o = o;
	s.m = &o->model;
	s.tap_fd = s.pkt_fd = -1;
	s.cost_ns = (uint64_t)o->model.v[LK_M_STAGE_COST_NS];
	int rc = -1;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_dump;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* timers as precise as the kernel allows: the model's waits are
	   tens of microseconds (the default slack is 50 us) */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	/* SCHED_BATCH: a stage woken by another (a TAP became readable, an
	   event was kicked) does not preempt it, but runs once it sleeps: a
	   poll runs to its end as a NAPI poll in softirq context does, and one
	   context switch serves a batch of frames (on a paravirtualized host a
	   switch costs more than a frame). That is the untimed path (the quick
	   profile). When the model times the path, the stages stand for the
	   paper system's interrupt and softirq work, which preempts processes:
	   SCHED_FIFO, the NIC's interrupt (a wire rate or interrupt moderation)
	   above netback (dom0's softirq: it runs as soon as the bridge hands it
	   a frame) above netfront's poll (the guest's event-channel upcall,
	   timed by a wake-up latency or a competing load), all above the
	   guest's processes. The host's scheduler then cannot delay a modelled
	   interrupt behind a busy stage or the receiver; the lateness counters
	   show what is left. Without CAP_SYS_NICE they stay normal (and the
	   lateness shows it). */
	const struct lk_model *m = &o->model;
	bool nic_timed = m->v[LK_M_WIRE_RATE] > 0 || m->v[LK_M_NIC_RX_USECS] > 0;
	bool nf_timed = m->v[LK_M_GUEST_WAKE_US] > 0 || m->v[LK_M_GUEST_LOAD] > 0;
	int prio = 0;
	switch (o->kind) {
	case LK_STAGE_NIC: prio = nic_timed ? 3 : 0; break;
	case LK_STAGE_NETBACK: prio = nic_timed || nf_timed ? 2 : 0; break;
	case LK_STAGE_NETFRONT: prio = nf_timed ? 1 : 0; break;
	}
	struct sched_param sp = {.sched_priority = prio};
	if (!prio || sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		sp.sched_priority = 0;
		if (!prio)
			sched_setscheduler(0, SCHED_BATCH, &sp);
	}
	if (setup(&s, e) < 0)
		goto out;
	if (o->ready_fd >= 0) {
		ssize_t w = write(o->ready_fd, "R", 1);
		(void)w;
		close(o->ready_fd);
	}
	switch (o->kind) {
	case LK_STAGE_NIC: rc = lk_stage_nic_loop(&s, e); break;
	case LK_STAGE_NETBACK: rc = lk_stage_netback_loop(&s, e); break;
	case LK_STAGE_NETFRONT: rc = lk_stage_netfront_loop(&s, e); break;
	}
	if (rc == 0 && write_stats(&s, e) < 0)
		rc = -1;
out:
	if (s.rx.lro)
		lro_free(s.rx.lro);
	lk_uring_free(s.u);
	free(s.ops);
	if (s.shm)
		munmap(s.shm, s.shm_len);
	free(s.buf);
	lk_stage_nic_close(&s);
	if (s.tap_fd >= 0)
		close(s.tap_fd);
	return rc;
}
