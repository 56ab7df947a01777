/* testbed/stage_nic.c - the NIC stage: the wire, the rx descriptor ring,
 * interrupt moderation and NAPI polling of an e1000-class NIC (see stage.h).
 *
 * Frames come from an AF_PACKET TPACKET_V2 ring on the wire veth. The kernel
 * stamps each frame as it reaches the socket; the frame's modelled arrival
 * at the NIC is that time, but no earlier than the previous frame's arrival
 * plus its time on a wire of wire.rate_bps ((len + 24) * 8 / rate: preamble,
 * inter-frame gap and FCS take 24 bytes of wire time). TPACKET_V2, not V3:
 * V3 hands frames over in blocks retired after a timeout of at least 1 ms,
 * longer than the interrupt gaps being modelled; V2 shows each frame as soon
 * as the kernel wrote it, and needs no system call per frame.
 *
 * A frame that arrives while nic.ring frames are already waiting for a poll
 * is dropped (drops_nic_ring). The interrupt fires at the first pending
 * arrival, but no sooner than nic.rx_usecs after the previous interrupt, or
 * as soon as nic.rx_frames frames are pending (Linux 2.6.18 e1000: ITR is
 * a minimum interval between interrupts). Until then the stage sleeps: it
 * does not wake per frame. Then NAPI: polls of up to nic.napi_budget
 * frames, LRO flushed at the end of each; with nic.repoll the polls go on
 * until one finds nothing (2.6.18 e1000_clean), else until one is below the
 * budget. Frames whose modelled arrival is still ahead are not there yet.
 * When the model times the NIC (a wire rate or moderation) the polls run in
 * modelled time: a poll sees what had arrived by the interrupt's time plus
 * what the polls before it took, however late the host woke the stage.
 *
 * tx (ACKs to the wire): read from the TAP (only when poll said it was
 * readable and it has not been drained since) and sent at once (a NIC transmits
 * as the driver queues), checksums completed in software. */
#include "testbed/stage_int.h"
#include "lib/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define WIRE_OVERHEAD 24        /* preamble 8 + inter-frame gap 12 + FCS 4 */
#define MAP_FRAME 2048          /* one MTU frame with the TPACKET_V2 header */
#define MAP_BLOCK (1u << 22)
#define MAP_BLOCKS 4            /* 8192 frames: ~100 ms at 1 Gbit/s */

struct nic_wire {
	uint8_t *map;
	size_t map_len;
	uint32_t nframes;
	/* free-running frame indices: [head, eval) evaluated (accepted or
	 * dropped), [eval, seen) have an arrival time, not yet evaluated */
	uint32_t head, eval, seen;
	uint32_t done;             /* frames before it are back with the kernel */
	uint64_t *arr;             /* modelled arrival per map frame */
	uint8_t *dropped;          /* per map frame */
	uint32_t in_ring;          /* accepted, not yet polled */
	uint64_t last_arr;         /* arrival of the previous frame */
	uint64_t last_irq;
	int64_t real_off;          /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	double ns_per_byte;        /* 0: unlimited wire */
	uint64_t gap_ns;           /* nic.rx_usecs */
	uint32_t rx_frames, budget, ring;
	bool repoll;
	bool timed;                    /* the model times the NIC: polls in modelled time */
	uint8_t *txbufs[LK_IO_BATCH];  /* frames read from the TAP (ACKs) */
	unsigned tx_want;              /* reads per tx poll, adapted */
	bool tap_ready;                /* the TAP may have frames: not drained since
					  poll last said it was readable */
};

static struct tpacket2_hdr *fh(const struct nic_wire *w, uint32_t idx)
{
	return (struct tpacket2_hdr *)(w->map + (size_t)(idx % w->nframes) * MAP_FRAME);
}

int lk_stage_nic_open(struct stage *s, struct lk_err *e)
{
	const char *ifname = s->o->wire;
	if (!ifname)
		return lk_errf(e, LK_EXIT_USAGE, "stage nic: no --wire interface given");
	unsigned idx = if_nametoindex(ifname);
	if (!idx)
		return lk_errf(e, LK_EXIT_RUNTIME, "wire interface %s: %s", ifname, strerror(errno));
	struct nic_wire *w = calloc(1, sizeof *w);
	if (!w)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	s->wire = w;
	w->nframes = MAP_BLOCK / MAP_FRAME * MAP_BLOCKS;
	w->arr = calloc(w->nframes, sizeof *w->arr);
	w->dropped = calloc(w->nframes, 1);
	const struct lk_model *m = s->m;
	w->budget = (uint32_t)lk_model_int(m, LK_M_NIC_BUDGET);
	w->tx_want = 4;
	w->tap_ready = true;
	bool oom = !w->arr || !w->dropped;
	for (uint32_t i = 0; i < w->budget && !oom; i++)
		oom = !(w->txbufs[i] = malloc(FRAME_MAX + VNET_LEN));
	if (oom)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	double rate = m->v[LK_M_WIRE_RATE], k = lk_model_dilation(m);
	w->ns_per_byte = rate > 0 ? 8e9 / rate * k : 0;
	w->gap_ns = (uint64_t)(m->v[LK_M_NIC_RX_USECS] * 1000 * k);
	w->rx_frames = (uint32_t)lk_model_int(m, LK_M_NIC_RX_FRAMES);
	w->ring = (uint32_t)lk_model_int(m, LK_M_NIC_RING);
	w->repoll = lk_model_on(m, LK_M_NIC_REPOLL);
	w->timed = w->ns_per_byte > 0 || w->gap_ns > 0;

	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd < 0)
		return lk_errf(e, LK_EXIT_MISSING, "AF_PACKET socket: %s", strerror(errno));
	s->pkt_fd = fd;
	int one = 1, v2 = TPACKET_V2, big = 4 << 20;
	struct tpacket_req req = {.tp_block_size = MAP_BLOCK, .tp_block_nr = MAP_BLOCKS,
				  .tp_frame_size = MAP_FRAME, .tp_frame_nr = w->nframes};
	/* PACKET_VNET_HDR: our sends carry a virtio_net_hdr (partial checksums
	   of the guest's frames); SO_TIMESTAMPNS: every skb is stamped when it
	   is received (precise arrival times in the ring) */
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof v2) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "AF_PACKET ring on %s: %s", ifname, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	w->map_len = (size_t)MAP_BLOCK * MAP_BLOCKS;
	w->map = mmap(NULL, w->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w->map == MAP_FAILED) {
		w->map = NULL;
		return lk_errf(e, LK_EXIT_RUNTIME, "mmap of the AF_PACKET ring: %s", strerror(errno));
	}
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)idx};
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "AF_PACKET on %s: %s", ifname, strerror(errno));
	return 0;
}

void lk_stage_nic_close(struct stage *s)
{
	struct nic_wire *w = s->wire;
	if (w) {
		if (w->map)
			munmap(w->map, w->map_len);
		free(w->arr);
		free(w->dropped);
		for (int i = 0; i < LK_IO_BATCH; i++)
			free(w->txbufs[i]);
		free(w);
		s->wire = NULL;
	}
	if (s->pkt_fd >= 0)
		close(s->pkt_fd);
	s->pkt_fd = -1;
}

/* Give every frame the kernel has written since the last look its arrival. */
static void observe(struct stage *s, struct nic_wire *w)
{
	w->real_off = (int64_t)(lk_real_ns() - lk_mono_ns());
	while (w->seen - w->head < w->nframes) {
		struct tpacket2_hdr *h = fh(w, w->seen);
		if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		uint64_t ts = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
		ts = (uint64_t)((int64_t)ts - w->real_off);
		uint64_t a = ts;
		if (w->ns_per_byte > 0) {
			uint64_t ser = (uint64_t)((double)(h->tp_len + WIRE_OVERHEAD) * w->ns_per_byte);
			if (w->last_arr + ser > a)
				a = w->last_arr + ser;
			s->ms.wire_delay_ns += a - ts;
		}
		w->last_arr = a;
		w->arr[w->seen % w->nframes] = a;
		w->dropped[w->seen % w->nframes] = 0;
		w->seen++;
	}
}

/* Frames that have arrived by t go into the descriptor ring, or are dropped
 * when it is full. */
static void evaluate(struct stage *s, struct nic_wire *w, uint64_t t)
{
	while (w->eval != w->seen && w->arr[w->eval % w->nframes] <= t) {
		if (w->ring && w->in_ring >= w->ring) {
			w->dropped[w->eval % w->nframes] = 1;
			s->ms.drops_nic_ring++;
		} else {
			w->in_ring++;
		}
		w->eval++;
	}
}

/* When the next interrupt fires (0: nothing pending or known). */
static uint64_t next_irq(const struct nic_wire *w)
{
	uint32_t i = w->head;
	while (i != w->seen && w->dropped[i % w->nframes] && i != w->eval)
		i++;
	if (i == w->seen)
		return 0;
	uint64_t first = w->arr[i % w->nframes];
	uint64_t t = w->last_irq + w->gap_ns;
	if (t < first)
		t = first;
	if (w->rx_frames) {
		/* the rx_frames-th pending frame, if the kernel has shown it */
		uint32_t pend = w->in_ring + (w->seen - w->eval);
		if (pend >= w->rx_frames) {
			uint32_t k = w->eval + (w->rx_frames > w->in_ring ? w->rx_frames - w->in_ring : 0);
			uint64_t ak = k == w->eval ? first : w->arr[(k - 1) % w->nframes];
			if (ak < first)
				ak = first;
			if (ak < t)
				t = ak;
		}
	}
	return t;
}

/* One NAPI poll of the rx ring at time now: up to budget accepted frames,
 * queued for the TAP (rx_release gives the frames back once written). */
static unsigned rx_poll(struct stage *s, struct nic_wire *w, uint64_t now)
{
	struct dir *d = &s->rx;
	evaluate(s, w, now);
	unsigned n = 0;
	while (n < w->budget && w->head != w->eval) {
		uint32_t i = w->head++;
		if (w->dropped[i % w->nframes])
			continue;
		w->in_ring--;
		struct tpacket2_hdr *h = fh(w, i);
		uint8_t *f = (uint8_t *)h + h->tp_mac;
		struct virtio_net_hdr vh;
		memset(&vh, 0, sizeof vh);
		n++;
		if (h->tp_snaplen < h->tp_len || h->tp_snaplen < 14 || h->tp_mac < TPACKET2_HDRLEN) {
			d->st.frames_in++;
			d->st.drops++;
			snprintf(d->st.last_error, sizeof d->st.last_error,
				 "wire frame of %u bytes does not fit the ring's %d", h->tp_len, MAP_FRAME);
			continue;
		}
		/* the sender's checksums are complete (TX checksum offload off):
		   as a NIC that verified them */
		if (h->tp_status & TP_STATUS_CSUM_VALID)
			vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
		lk_stage_feed(s, d, &vh, f, h->tp_snaplen, now);
	}
	lk_stage_poll_end(s, d, n, w->budget, now);
	return n;
}

/* The polled frames (and dropped ones behind them) go back to the kernel,
 * once their writes have run. */
static void rx_release(struct stage *s, struct nic_wire *w)
{
	lk_stage_flush(s);
	for (; w->done != w->head; w->done++)
		__atomic_store_n(&fh(w, w->done)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	while (w->head != w->eval && w->dropped[w->head % w->nframes]) {
		__atomic_store_n(&fh(w, w->head)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		w->head++;
	}
	w->done = w->head;
}

/* Send what the bridge handed the TAP (ACKs); up to budget frames, read
 * and sent in one system call each. */
static unsigned tx_poll(struct stage *s, struct nic_wire *w)
{
	struct dir *d = &s->tx;
	uint32_t lens[LK_IO_BATCH];
	if (!w->tap_ready) { /* drained, and poll has not said otherwise: no read */
		rx_release(s, w);
		return 0;
	}
	unsigned want = w->tx_want < w->budget ? w->tx_want : w->budget;
	/* the rx frames queued for the TAP are written in the same call */
	unsigned n = lk_stage_read(s, s->tap_fd, w->txbufs, FRAME_MAX + VNET_LEN, want, lens);
	rx_release(s, w);
	for (unsigned i = 0; i < n; i++)
		lk_stage_feed(s, d, (struct virtio_net_hdr *)w->txbufs[i], w->txbufs[i] + VNET_LEN,
			      lens[i] - VNET_LEN, 0);
	if (n) {
		lk_stage_poll_end(s, d, n, w->budget, 0);
		lk_stage_flush(s);
	}
	if (n < want)
		w->tap_ready = false;
	/* next time: twice what came, at least 4 */
	w->tx_want = n * 2 < 4 ? 4 : n * 2;
	return n;
}

static void pkt_stats(struct stage *s)
{
	struct tpacket_stats st;
	socklen_t l = sizeof st;
	if (getsockopt(s->pkt_fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0)
		s->pkt_drops += st.tp_drops;
}

int lk_stage_nic_loop(struct stage *s, struct lk_err *e)
{
	struct nic_wire *w = s->wire;
	while (!lk_stage_stop) {
		lk_stage_check_dump(s);
		uint64_t now = lk_mono_ns();
		observe(s, w);
		uint64_t t_irq = next_irq(w);
		if (t_irq && lk_stage_due(s, t_irq, now)) {
			/* the interrupt: NAPI polls until done */
			s->ms.irqs++;
			if (w->timed && now > t_irq) /* untimed, the "interrupt" is the arrival */
				s->ms.late_ns += (uint64_t)((double)(now - t_irq) / lk_model_dilation(s->m));
			w->last_irq = t_irq;
			/* when the model times the NIC, each poll sees the frames that
			   had arrived by its modelled time: the interrupt's, then
			   advanced by what each poll took. A host too busy to wake
			   the stage on time then delays the polls, not what they find
			   (nor the NIC ring's drops), as long as it catches up. */
			uint64_t tm = t_irq;
			for (;;) {
				uint64_t t0 = lk_mono_ns();
				observe(s, w);
				unsigned n = rx_poll(s, w, w->timed ? tm : t0);
				unsigned t = tx_poll(s, w);
				tm += lk_mono_ns() - t0;
				if (lk_stage_stop || !(w->repoll ? n > 0 || t > 0 : n >= w->budget))
					break;
			}
			continue;
		}
		/* transmit without waiting for an interrupt */
		if (tx_poll(s, w))
			continue;
		/* sleep until the interrupt is due; watch the wire only when no
		   frame is pending (or to count up to rx_frames) */
		struct pollfd p[2] = {{.fd = s->tap_fd, .events = POLLIN},
				      {.fd = s->pkt_fd, .events = POLLIN}};
		int np = 1;
		if (!t_irq || (w->rx_frames && w->in_ring + (w->seen - w->eval) < w->rx_frames))
			np = 2;
		int r = lk_stage_wait(s, p, np, t_irq);
		if (r < 0 && errno != EINTR)
			return lk_errf(e, LK_EXIT_RUNTIME, "stage nic: poll: %s", strerror(errno));
		if (r > 0 && (p[0].revents & POLLIN))
			w->tap_ready = true;
	}
	pkt_stats(s);
	return 0;
}
