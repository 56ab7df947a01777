/* testbed/stage_xen.c - the netback and netfront stages: Xen 3.1's split
 * network driver around the netif rings (see stage.h, ring.h). Sources:
 * Xen 3.1.0 linux-2.6-xen-sparse/drivers/xen/netback/netback.c and
 * drivers/xen/netfront/netfront.c.
 *
 * netback rx (netif_be_start_xmit, net_rx_action): a packet is placed on
 * the rx ring only while the guest has posted at least netback.reserve free
 * requests; a packet costs one request per 4 KB page plus one extra-info
 * slot for GSO (lk_ring_pkt_cost). When fewer remain, netback arms
 * req_event and stops the vif queue (queue_full_events): packets then wait
 * in the vif queue (vif.qlen packets; tail-dropped past it, drops_vif_queue)
 * until the guest's next post of requests notifies it. After 500 ms stopped
 * (tx_queue_timeout, HZ/2) the queue is woken anyway and packets that find
 * the ring full are dropped by netback itself (drops_netback). With
 * vif.qlen 0 the queue is not modelled: packets wait in the TAP, and a
 * stop never drops. A batch of packets is pushed at once, with one
 * notification when the guest's event index is in it (ring.notify) or
 * always.
 *
 * netfront rx (netif_poll, network_alloc_rx_buffers): polls of up to
 * netfront.budget packets, LRO virt flushed at the end of each; then
 * rx_target is adapted and rx buffers reposted in chunks of at least
 * rx_target/2 (netfront.rx_min > 0; else every free slot is reposted at
 * once); after a poll below budget it re-arms its event and looks again.
 * The guest's vCPU: a notify starts the next poll guest.wake_us later, and
 * with guest.load > 0 the vCPU runs guest.slice_us, then is descheduled for
 * slice * load / (1 - load): no polls, no reposts, no transmits meanwhile.
 *
 * The tx rings (ACKs) use the same push/notify rules; a full tx ring stops
 * netfront's reads of the guest TAP until netback releases entries. */
#include "testbed/stage_int.h"
#include "lib/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUEUE_TIMEOUT_NS 500000000ull /* netback tx_queue_timeout: HZ/2 */

/* ---- netback ---- */

struct vifq {
	uint8_t **buf;       /* frames with their vnet header */
	uint32_t *len;
	uint32_t head, n, cap;
};

struct netback {
	struct stage *s;
	struct lk_ring *rx, *tx;
	bool suppress, stopped, pending;
	uint64_t stopped_at;
	uint32_t reserve, batch, pend_cost;
	struct vifq q;
};

static bool nb_can_go(struct netback *b)
{
	uint32_t free = lk_ring_req_free(b->rx);
	return free >= b->reserve && (!b->pending || free >= b->pend_cost);
}

static void nb_stop(struct netback *b, uint64_t now)
{
	b->stopped = true;
	b->stopped_at = now;
	b->s->ms.queue_full_events++;
	uint32_t need = b->reserve;
	if (b->pending && b->pend_cost > need)
		need = b->pend_cost;
	lk_ring_req_arm(b->rx, need);
}

/* The next packet into the ring's next entry (not committed): from the vif
 * queue first, else the TAP. false: nothing to take. */
static bool nb_take(struct netback *b)
{
	struct stage *s = b->s;
	uint32_t *lp;
	uint8_t *slot = lk_ring_prod_slot(b->rx, &lp);
	if (!slot)
		return false;
	uint32_t len;
	if (b->q.n) {
		uint32_t i = b->q.head % b->q.cap;
		len = b->q.len[i];
		memcpy(slot, b->q.buf[i], len);
		free(b->q.buf[i]);
		b->q.head++;
		b->q.n--;
	} else {
		ssize_t r;
		do
			r = read(s->tap_fd, slot, LK_RING_SLOT_DATA);
		while (r < 0 && errno == EINTR);
		if (r <= VNET_LEN)
			return false;
		len = (uint32_t)r;
		s->rx.st.frames_in++;
		s->rx.st.bytes_in += len - VNET_LEN;
	}
	*lp = len;
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)slot;
	b->pend_cost = lk_ring_pkt_cost(len - VNET_LEN, vh->gso_type != VIRTIO_NET_HDR_GSO_NONE);
	b->pending = true;
	return true;
}

/* Packets onto the rx ring while requests last; returns how many. */
static unsigned nb_fill(struct netback *b, uint64_t now)
{
	struct stage *s = b->s;
	unsigned n = 0;
	while (n < b->batch && !lk_stage_stop) {
		if (!b->pending && !nb_take(b))
			break;
		if (lk_ring_req_free(b->rx) < b->pend_cost) {
			nb_stop(b, now);
			break;
		}
		uint32_t *lp, len;
		uint8_t *slot = lk_ring_prod_slot(b->rx, &lp);
		len = *lp;
		lk_stage_burn(s, 1);
		lk_ring_prod_commit(b->rx, b->pend_cost);
		b->pending = false;
		lk_stage_out(&s->rx, (struct virtio_net_hdr *)slot, len - VNET_LEN);
		n++;
		if (lk_ring_req_free(b->rx) < b->reserve) {
			nb_stop(b, now);
			break;
		}
	}
	return n;
}

/* The queue is stopped: frames from the TAP wait in the vif queue, or are
 * dropped (tail-drop of the full queue; all of them after the timeout). */
static void nb_queue(struct netback *b, bool timed_out)
{
	struct stage *s = b->s;
	if (timed_out) {
		while (b->q.n) {
			free(b->q.buf[b->q.head % b->q.cap]);
			b->q.head++;
			b->q.n--;
			s->ms.drops_netback++;
		}
	}
	for (;;) {
		ssize_t r;
		do
			r = read(s->tap_fd, s->buf, FRAME_MAX + VNET_LEN);
		while (r < 0 && errno == EINTR);
		if (r <= VNET_LEN)
			return;
		s->rx.st.frames_in++;
		s->rx.st.bytes_in += (uint64_t)r - VNET_LEN;
		if (timed_out) {
			s->ms.drops_netback++;
			continue;
		}
		if (b->q.n >= b->q.cap) {
			s->ms.drops_vif_queue++;
			continue;
		}
		uint32_t i = (b->q.head + b->q.n) % b->q.cap;
		if (!(b->q.buf[i] = malloc((size_t)r))) {
			s->rx.st.drops++;
			snprintf(s->rx.st.last_error, sizeof s->rx.st.last_error, "out of memory");
			continue;
		}
		memcpy(b->q.buf[i], s->buf, (size_t)r);
		b->q.len[i] = (uint32_t)r;
		b->q.n++;
	}
}

/* The guest's transmits (ACKs) from the tx ring to the TAP. */
static unsigned ring_drain(struct stage *s, struct dir *d, unsigned budget, uint64_t now)
{
	uint32_t avail = lk_ring_avail(d->src_ring);
	if (avail > budget)
		avail = budget;
	for (uint32_t i = 0; i < avail; i++) {
		uint32_t len;
		uint8_t *sl = lk_ring_cons_slot(d->src_ring, i, &len, NULL);
		if (len <= (uint32_t)VNET_LEN || len > LK_RING_SLOT_DATA) {
			d->st.frames_in++;
			d->st.drops++;
			continue;
		}
		lk_stage_feed(s, d, (struct virtio_net_hdr *)sl, sl + VNET_LEN, len - VNET_LEN, now);
	}
	if (avail)
		lk_stage_poll_end(s, d, avail, budget, now); /* LRO flush before the slots go */
	return avail;
}

int lk_stage_netback_loop(struct stage *s, struct lk_err *e)
{
	const struct lk_model *m = s->m;
	struct netback b = {.s = s, .rx = &s->rings[0], .tx = &s->rings[1],
			    .suppress = lk_model_on(m, LK_M_RING_NOTIFY),
			    .reserve = (uint32_t)lk_model_int(m, LK_M_NETBACK_RESERVE),
			    .batch = s->rings[0].nslots};
	b.q.cap = (uint32_t)lk_model_int(m, LK_M_VIF_QLEN);
	if (b.q.cap) {
		b.q.buf = calloc(b.q.cap, sizeof *b.q.buf);
		b.q.len = calloc(b.q.cap, sizeof *b.q.len);
		if (!b.q.buf || !b.q.len) {
			free(b.q.buf);
			free(b.q.len);
			return lk_errf(e, LK_EXIT_RUNTIME, "out of memory (vif queue of %u)", b.q.cap);
		}
	}
	int rc = 0;
	while (!lk_stage_stop) {
		lk_stage_check_dump(s);
		uint64_t now = lk_mono_ns();
		if (b.stopped && nb_can_go(&b))
			b.stopped = false; /* netif_wake_queue */
		bool timed_out = b.stopped && b.q.cap && now - b.stopped_at >= QUEUE_TIMEOUT_NS;
		unsigned n = 0;
		if (!b.stopped) {
			uint32_t old = lk_ring_prod_idx(b.rx);
			n = nb_fill(&b, now);
			if (n)
				lk_stage_poll_end(s, &s->rx, n, b.batch, now);
			if (lk_ring_push(b.rx, old, b.suppress))
				s->rx.st.kicks++;
		}
		if (b.stopped && b.q.cap)
			nb_queue(&b, timed_out);
		unsigned t = ring_drain(s, &s->tx, b.batch, now);
		lk_ring_cons_release(b.tx, t);
		if ((n && !b.stopped) || t)
			continue;
		/* nothing to do: sleep, first making sure no wake-up is missed */
		if (b.stopped) {
			lk_evt_clear(b.rx->space_fd);
			lk_ring_req_arm(b.rx, b.pending && b.pend_cost > b.reserve ? b.pend_cost : b.reserve);
			if (nb_can_go(&b))
				continue;
		}
		lk_evt_clear(b.tx->kick_fd);
		if (b.suppress ? lk_ring_final_check(b.tx) : lk_ring_avail(b.tx) > 0)
			continue;
		struct pollfd p[3] = {{.fd = b.tx->kick_fd, .events = POLLIN},
				      {.fd = s->tap_fd, .events = POLLIN},
				      {.fd = b.rx->space_fd, .events = POLLIN}};
		int np = 1;
		if (!b.stopped || b.q.cap)
			np = 2;
		if (b.stopped) {
			if (np == 1)
				p[1] = p[2];
			np++;
		}
		uint64_t deadline = b.stopped && b.q.cap && !timed_out ? b.stopped_at + QUEUE_TIMEOUT_NS : 0;
		if (lk_stage_wait(s, p, np, deadline) < 0 && errno != EINTR) {
			rc = lk_errf(e, LK_EXIT_RUNTIME, "stage netback: poll: %s", strerror(errno));
			break;
		}
	}
	while (b.q.n) {
		free(b.q.buf[b.q.head % b.q.cap]);
		b.q.head++;
		b.q.n--;
	}
	free(b.q.buf);
	free(b.q.len);
	return rc;
}

/* ---- netfront ---- */

struct netfront {
	struct stage *s;
	struct lk_ring *rx, *tx;
	bool suppress, tx_blocked;
	uint32_t budget, rx_min, rx_max, rx_target;
	uint32_t rsp_cons;   /* request slots the guest has taken back */
	uint64_t slice_ns, off_ns, t0;
};

/* network_alloc_rx_buffers: repost rx buffers up to rx_target. */
static void nf_refill(struct netfront *f)
{
	uint32_t req_prod = lk_ring_req_prod(f->rx);
	uint32_t outstanding = req_prod - f->rsp_cons;
	if (outstanding >= f->rx_target)
		return;
	uint32_t batch = f->rx_target - outstanding;
	if (f->rx_min) {
		if (batch < f->rx_target / 2)
			return; /* not worth a post yet */
		if (req_prod - lk_ring_rsp_prod(f->rx) < f->rx_target / 4) {
			f->rx_target *= 2; /* we risked running out */
			if (f->rx_target > f->rx_max)
				f->rx_target = f->rx_max;
		}
	}
	f->s->ms.posts++;
	if (lk_ring_post(f->rx, batch, f->suppress))
		f->s->rx.st.kicks++;
}

/* netif_poll: one poll of up to budget packets. */
static unsigned nf_rx_poll(struct netfront *f, uint64_t now)
{
	struct stage *s = f->s;
	struct dir *d = &s->rx;
	uint32_t n = lk_ring_avail(f->rx), used = 0;
	if (n > f->budget)
		n = f->budget;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len, cost;
		uint8_t *sl = lk_ring_cons_slot(f->rx, i, &len, &cost);
		used += cost;
		if (len <= (uint32_t)VNET_LEN || len > LK_RING_SLOT_DATA) {
			d->st.frames_in++;
			d->st.drops++;
			continue;
		}
		lk_stage_feed(s, d, (struct virtio_net_hdr *)sl, sl + VNET_LEN, len - VNET_LEN, now);
	}
	lk_stage_poll_end(s, d, n, f->budget, now); /* LRO flush before the slots go */
	lk_ring_cons_release(f->rx, n);
	f->rsp_cons += used;
	if (f->rx_min && lk_ring_req_prod(f->rx) - lk_ring_rsp_prod(f->rx) > 3 * f->rx_target / 4 &&
	    f->rx_target > f->rx_min)
		f->rx_target--; /* few responses: lower the fill target */
	nf_refill(f);
	return n;
}

/* The guest's transmits: guest TAP -> tx ring. */
static unsigned nf_tx_poll(struct netfront *f)
{
	struct stage *s = f->s;
	struct dir *d = &s->tx;
	if (f->tx_blocked) {
		if (lk_ring_avail(f->tx) >= f->tx->nslots)
			return 0;
		f->tx_blocked = false;
		lk_evt_clear(f->tx->space_fd);
	}
	uint32_t old = lk_ring_prod_idx(f->tx);
	unsigned n = 0;
	while (n < f->budget) {
		uint32_t *lp;
		uint8_t *slot = lk_ring_prod_slot(f->tx, &lp);
		if (!slot) {
			f->tx_blocked = true;
			d->st.ring_full++;
			break;
		}
		ssize_t r = read(s->tap_fd, slot, LK_RING_SLOT_DATA);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= VNET_LEN)
			break;
		lk_stage_burn(s, 1);
		d->st.frames_in++;
		d->st.bytes_in += (uint64_t)r - VNET_LEN;
		*lp = (uint32_t)r;
		lk_ring_prod_commit(f->tx, 1);
		lk_stage_out(d, (struct virtio_net_hdr *)slot, (uint32_t)r - VNET_LEN);
		n++;
	}
	if (n) {
		lk_stage_poll_end(s, d, n, f->budget, 0);
		if (lk_ring_push(f->tx, old, f->suppress))
			d->st.kicks++;
	}
	return n;
}

/* The guest's vCPU schedule: 0 when it runs at t, else when it runs again. */
static uint64_t nf_desched_until(const struct netfront *f, uint64_t t)
{
	if (!f->off_ns)
		return 0;
	uint64_t period = f->slice_ns + f->off_ns, phase = (t - f->t0) % period;
	return phase < f->slice_ns ? 0 : t + (period - phase);
}

int lk_stage_netfront_loop(struct stage *s, struct lk_err *e)
{
	const struct lk_model *m = s->m;
	struct netfront f = {.s = s, .rx = &s->rings[0], .tx = &s->rings[1],
			     .suppress = lk_model_on(m, LK_M_RING_NOTIFY),
			     .budget = (uint32_t)lk_model_int(m, LK_M_NETFRONT_BUDGET),
			     .rx_min = (uint32_t)lk_model_int(m, LK_M_NETFRONT_RX_MIN),
			     .rx_max = s->rings[0].nslots, .t0 = lk_mono_ns()};
	f.rx_target = f.rx_min ? f.rx_min : f.rx_max;
	double load = m->v[LK_M_GUEST_LOAD];
	f.slice_ns = (uint64_t)(m->v[LK_M_GUEST_SLICE_US] * 1000);
	if (load > 0 && f.slice_ns)
		f.off_ns = (uint64_t)((double)f.slice_ns * load / (1 - load));
	uint64_t wake_ns = (uint64_t)(m->v[LK_M_GUEST_WAKE_US] * 1000), poll_at = 0;
	nf_refill(&f); /* network_connect: the first rx buffers */
	bool busy = true;
	while (!lk_stage_stop) {
		lk_stage_check_dump(s);
		uint64_t now = lk_mono_ns();
		uint64_t until = nf_desched_until(&f, now);
		if (until) { /* another vCPU has the CPU */
			lk_stage_wait(s, NULL, 0, until);
			uint64_t t = lk_mono_ns();
			s->ms.desched_ns += t - now;
			s->ms.idle_ns -= t - now;
			continue;
		}
		if (poll_at > now) { /* the notify has not reached the vCPU yet */
			lk_stage_wait(s, NULL, 0, poll_at);
			continue;
		}
		unsigned n = 0;
		if (busy) {
			n = nf_rx_poll(&f, now);
			if (n < f.budget)
				busy = f.suppress ? lk_ring_final_check(f.rx) : lk_ring_avail(f.rx) > 0;
		}
		unsigned t = nf_tx_poll(&f);
		if (busy || t)
			continue;
		struct pollfd p[2] = {{.fd = f.rx->kick_fd, .events = POLLIN},
				      {.fd = f.tx_blocked ? f.tx->space_fd : s->tap_fd, .events = POLLIN}};
		int r = lk_stage_wait(s, p, 2, 0);
		if (r < 0 && errno != EINTR)
			return lk_errf(e, LK_EXIT_RUNTIME, "stage netfront: poll: %s", strerror(errno));
		if (r > 0 && (p[0].revents & POLLIN)) {
			lk_evt_clear(f.rx->kick_fd);
			s->ms.irqs++;
			busy = true;
			uint64_t at = atomic_load_explicit(&f.rx->h->notify_ns, memory_order_relaxed);
			poll_at = wake_ns ? at + wake_ns : 0;
		}
	}
	return 0;
}
