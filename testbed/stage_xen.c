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

#define QUEUE_TIMEOUT_NS 500000000ull /* netback tx_queue_timeout: HZ/2 (x time.dilation) */

/* ---- netback ---- */

/* The vif queue: packets (with their vnet header) waiting while netback has
 * the queue stopped. cap 0: unbounded (vif.qlen 0; it then only holds what
 * was read ahead of a stop). */
struct vifq {
	uint8_t **buf;
	uint32_t *len;
	uint32_t head, n, size, cap;
};

static bool vifq_push(struct vifq *q, const uint8_t *p, uint32_t len)
{
	if (q->n == q->size) {
		uint32_t ns = q->size ? 2 * q->size : 64;
		uint8_t **nb = malloc(ns * sizeof *nb);
		uint32_t *nl = malloc(ns * sizeof *nl);
		if (!nb || !nl) {
			free(nb);
			free(nl);
			return false;
		}
		for (uint32_t i = 0; i < q->n; i++) {
			nb[i] = q->buf[(q->head + i) % q->size];
			nl[i] = q->len[(q->head + i) % q->size];
		}
		free(q->buf);
		free(q->len);
		q->buf = nb, q->len = nl, q->head = 0, q->size = ns;
	}
	uint32_t i = (q->head + q->n) % q->size;
	if (!(q->buf[i] = malloc(len)))
		return false;
	memcpy(q->buf[i], p, len);
	q->len[i] = len;
	q->n++;
	return true;
}

static void vifq_pop(struct vifq *q)
{
	free(q->buf[q->head % q->size]);
	q->head = (q->head + 1) % q->size;
	q->n--;
}

struct netback {
	struct stage *s;
	struct lk_ring *rx, *tx;
	bool suppress, stopped;
	uint64_t stopped_at;
	uint32_t reserve, batch;
	uint32_t want;          /* TAP reads per batch: twice what the last one got */
	uint32_t cycle;         /* frames read since the last sleep */
	struct vifq q;
};

static uint32_t pkt_cost(const uint8_t *p, uint32_t len)
{
	const struct virtio_net_hdr *vh = (const struct virtio_net_hdr *)p;
	return lk_ring_pkt_cost(len - VNET_LEN, vh->gso_type != VIRTIO_NET_HDR_GSO_NONE);
}

/* What netback needs free before it takes the next packet. */
static uint32_t nb_need(const struct netback *b)
{
	uint32_t need = b->reserve;
	if (b->q.n) {
		uint32_t c = pkt_cost(b->q.buf[b->q.head % b->q.size], b->q.len[b->q.head % b->q.size]);
		if (c > need)
			need = c;
	}
	return need;
}

static bool nb_can_go(struct netback *b)
{
	return lk_ring_req_free(b->rx) >= nb_need(b);
}

static void nb_stop(struct netback *b, uint64_t now)
{
	b->stopped = true;
	b->stopped_at = now;
	b->s->ms.queue_full_events++;
	lk_ring_req_arm(b->rx, nb_need(b));
}

/* A packet held back (read ahead of a stop, or arriving while stopped):
 * into the vif queue, or tail-dropped when it is full. */
static void nb_hold(struct netback *b, const uint8_t *p, uint32_t len)
{
	struct stage *s = b->s;
	if (b->q.cap && b->q.n >= b->q.cap) {
		s->ms.drops_vif_queue++;
	} else if (!vifq_push(&b->q, p, len)) {
		s->rx.st.drops++;
		snprintf(s->rx.st.last_error, sizeof s->rx.st.last_error, "out of memory");
	}
}

/* Place the packet in the ring's next entry (already there: p == slot). */
static void nb_place(struct netback *b, const uint8_t *p, uint32_t len, uint32_t cost)
{
	struct stage *s = b->s;
	uint32_t *lp;
	uint8_t *slot = lk_ring_prod_slot(b->rx, &lp);
	if (slot != p)
		memcpy(slot, p, len);
	*lp = len;
	lk_stage_burn(s, 1);
	lk_ring_prod_commit(b->rx, cost);
	lk_stage_out(&s->rx, (const struct virtio_net_hdr *)slot, len - VNET_LEN);
}

/* Packets onto the rx ring while requests last (the vif queue first, then
 * the TAP, read in one batch); returns how many. *drained: the TAP had
 * fewer than were asked for (no use reading again before it signals). */
static unsigned nb_fill(struct netback *b, uint64_t now, bool *drained)
{
	*drained = false;
	struct stage *s = b->s;
	unsigned n = 0;
	while (!b->stopped && b->q.n) {
		uint32_t i = b->q.head % b->q.size;
		if (lk_ring_req_free(b->rx) < nb_need(b) || !lk_ring_prod_free(b->rx)) {
			nb_stop(b, now);
			break;
		}
		nb_place(b, b->q.buf[i], b->q.len[i], pkt_cost(b->q.buf[i], b->q.len[i]));
		vifq_pop(&b->q);
		n++;
		if (lk_ring_req_free(b->rx) < b->reserve)
			nb_stop(b, now);
	}
	if (b->stopped)
		return n;
	/* read as many as surely fit: one slot each, down to the reserve */
	uint32_t free = lk_ring_req_free(b->rx), k = free >= b->reserve ? free - b->reserve + 1 : 1;
	uint32_t ents = lk_ring_prod_free(b->rx);
	if (k > ents)
		k = ents;
	if (k > b->batch - n)
		k = b->batch - n;
	if (k > LK_IO_BATCH)
		k = LK_IO_BATCH;
	/* a read that finds the TAP empty still costs: ask for about as many
	   as came last time */
	if (k > b->want)
		k = b->want;
	uint8_t *bufs[LK_IO_BATCH];
	uint32_t lens[LK_IO_BATCH], *lp;
	for (uint32_t i = 0; i < k; i++)
		bufs[i] = lk_ring_prod_peek(b->rx, i, &lp);
	unsigned got = k ? lk_stage_read(s, s->tap_fd, bufs, LK_RING_SLOT_DATA, k, lens) : 0;
	if (k) {
		b->want = got < 2 ? 4 : 2 * got;
		*drained = got < k;
	}
	b->cycle += got;
	uint32_t held = 0;
	for (unsigned j = 0; j < got; j++) {
		s->rx.st.frames_in++;
		s->rx.st.bytes_in += lens[j] - VNET_LEN;
		/* packet j is in the next entry, or `held` entries further when
		   packets before it were held back */
		uint8_t *p = lk_ring_prod_peek(b->rx, held, &lp);
		uint32_t cost = pkt_cost(p, lens[j]);
		if (!b->stopped && lk_ring_req_free(b->rx) >= cost) {
			nb_place(b, p, lens[j], cost);
			n++;
			if (lk_ring_req_free(b->rx) < b->reserve)
				nb_stop(b, now);
		} else {
			if (!b->stopped)
				nb_stop(b, now);
			nb_hold(b, p, lens[j]);
			held++;
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
			vifq_pop(&b->q);
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
		if (timed_out)
			s->ms.drops_netback++;
		else
			nb_hold(b, s->buf, (uint32_t)r);
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
	if (avail) {
		lk_stage_poll_end(s, d, avail, budget, now);
		lk_stage_flush(s); /* written before the slots go */
	}
	return avail;
}

int lk_stage_netback_loop(struct stage *s, struct lk_err *e)
{
	const struct lk_model *m = s->m;
	struct netback b = {.s = s, .rx = &s->rings[0], .tx = &s->rings[1],
			    .suppress = lk_model_on(m, LK_M_RING_NOTIFY),
			    .reserve = (uint32_t)lk_model_int(m, LK_M_NETBACK_RESERVE),
			    .batch = s->rings[0].nslots, .want = 4};
	b.q.cap = (uint32_t)lk_model_int(m, LK_M_VIF_QLEN);
	uint64_t qto = (uint64_t)((double)QUEUE_TIMEOUT_NS * lk_model_dilation(m));
	int rc = 0;
	while (!lk_stage_stop) {
		lk_stage_check_dump(s);
		uint64_t now = lk_mono_ns();
		if (b.stopped && nb_can_go(&b))
			b.stopped = false; /* netif_wake_queue */
		bool timed_out = b.stopped && b.q.cap && now - b.stopped_at >= qto;
		unsigned n = 0;
		bool drained = true;
		if (!b.stopped) {
			uint32_t old = lk_ring_prod_idx(b.rx);
			n = nb_fill(&b, now, &drained);
			if (n)
				lk_stage_poll_end(s, &s->rx, n, b.batch, now);
			if (lk_ring_push(b.rx, old, b.suppress))
				s->rx.st.kicks++;
		}
		if (b.stopped && b.q.cap)
			nb_queue(&b, timed_out);
		unsigned t = ring_drain(s, &s->tx, b.batch, now);
		lk_ring_cons_release(b.tx, t);
		if ((n && !b.stopped && !drained) || t)
			continue;
		/* nothing to do: sleep, first making sure no wake-up is missed
		   (the event indexes re-armed, then a last look) */
		if (b.stopped) {
			lk_ring_req_arm(b.rx, nb_need(&b));
			if (nb_can_go(&b))
				continue;
		}
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
		uint64_t deadline = b.stopped && b.q.cap && !timed_out ? b.stopped_at + qto : 0;
		/* after the sleep, ask for as many as the last wake-up brought */
		if (b.cycle)
			b.want = b.cycle < 4 ? 4 : b.cycle;
		b.cycle = 0;
		int r = lk_stage_wait(s, p, np, deadline);
		if (r < 0 && errno != EINTR) {
			rc = lk_errf(e, LK_EXIT_RUNTIME, "stage netback: poll: %s", strerror(errno));
			break;
		}
		/* eventfds are cleared once they have fired (a stale count costs
		   one extra turn, never a missed wake-up) */
		for (int i = 0; r > 0 && i < np; i++)
			if ((p[i].revents & POLLIN) && p[i].fd != s->tap_fd)
				lk_evt_clear(p[i].fd);
	}
	while (b.q.n)
		vifq_pop(&b.q);
	free(b.q.buf);
	free(b.q.len);
	return rc;
}

/* ---- netfront ---- */

struct netfront {
	struct stage *s;
	struct lk_ring *rx, *tx;
	bool suppress, tx_blocked;
	uint32_t budget, rx_min, rx_max, rx_target, tx_want;
	uint32_t polled, polled_cost; /* entries of the last rx poll, not yet released */
	bool tx_drained;     /* the last read found the guest's TAP empty */
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

/* netif_poll: one poll of up to budget packets, queued for the guest's TAP
 * (nf_rx_finish releases them once written). */
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
	f->polled = n;
	f->polled_cost = used;
	return n;
}

/* The rest of netif_poll: the polled entries are released (their frames
 * written), rx_target adapted, rx buffers reposted. */
static void nf_rx_finish(struct netfront *f)
{
	if (!f->polled)
		return;
	lk_stage_flush(f->s);
	lk_ring_cons_release(f->rx, f->polled);
	f->rsp_cons += f->polled_cost;
	f->polled = f->polled_cost = 0;
	if (f->rx_min && lk_ring_req_prod(f->rx) - lk_ring_rsp_prod(f->rx) > 3 * f->rx_target / 4 &&
	    f->rx_target > f->rx_min)
		f->rx_target--; /* few responses: lower the fill target */
	nf_refill(f);
}

/* The guest's transmits: guest TAP -> tx ring, read in one batch. */
static unsigned nf_tx_poll(struct netfront *f)
{
	struct stage *s = f->s;
	struct dir *d = &s->tx;
	if (f->tx_blocked) {
		if (!lk_ring_prod_free(f->tx))
			return 0;
		f->tx_blocked = false;
		lk_evt_clear(f->tx->space_fd);
	}
	uint32_t k = lk_ring_prod_free(f->tx), *lp;
	if (k > f->tx_want)
		k = f->tx_want;
	uint8_t *bufs[LK_IO_BATCH];
	uint32_t lens[LK_IO_BATCH];
	for (uint32_t i = 0; i < k; i++)
		bufs[i] = lk_ring_prod_peek(f->tx, i, &lp);
	uint32_t old = lk_ring_prod_idx(f->tx);
	unsigned n = lk_stage_read(s, s->tap_fd, bufs, LK_RING_SLOT_DATA, k, lens);
	f->tx_drained = n < k;
	for (unsigned i = 0; i < n; i++) {
		lk_stage_burn(s, 1);
		d->st.frames_in++;
		d->st.bytes_in += lens[i] - VNET_LEN;
		uint8_t *slot = lk_ring_prod_slot(f->tx, &lp);
		*lp = lens[i];
		lk_ring_prod_commit(f->tx, 1);
		lk_stage_out(d, (struct virtio_net_hdr *)slot, lens[i] - VNET_LEN);
	}
	f->tx_want = n * 2 < 4 ? 4 : n * 2 > f->budget ? f->budget : n * 2;
	if (!lk_ring_prod_free(f->tx) && !lk_ring_prod_slot(f->tx, &lp)) {
		f->tx_blocked = true; /* waits for netback to release entries */
		d->st.ring_full++;
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
			     .rx_max = s->rings[0].nslots, .t0 = lk_mono_ns(), .tx_want = 4};
	f.rx_target = f.rx_min ? f.rx_min : f.rx_max;
	double load = m->v[LK_M_GUEST_LOAD];
	double k = lk_model_dilation(m);
	f.slice_ns = (uint64_t)(m->v[LK_M_GUEST_SLICE_US] * 1000 * k);
	if (load > 0 && f.slice_ns)
		f.off_ns = (uint64_t)((double)f.slice_ns * load / (1 - load));
	uint64_t wake_ns = (uint64_t)(m->v[LK_M_GUEST_WAKE_US] * 1000 * k), poll_at = 0;
	uint64_t kick_over = 0, kick_early = 0; /* delayed kick: mean overshoot, margin used */
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
			if (poll_at && poll_at < until)
				poll_at = until; /* the modelled poll: when the vCPU runs again */
			continue;
		}
		if (poll_at && !lk_stage_due(s, poll_at, now)) { /* the notify has not reached the vCPU yet */
			lk_stage_wait(s, NULL, 0, poll_at);
			continue;
		}
		if (poll_at) { /* the modelled poll time has come: how late is it */
			s->ms.late_ns += now > poll_at ? (uint64_t)((double)(now - poll_at) / k) : 0;
			poll_at = 0;
		}
		unsigned n = 0;
		if (busy)
			n = nf_rx_poll(&f, now);
		/* the guest's transmits (the ACKs these frames caused among them),
		   read in the call that writes the frames */
		unsigned t = nf_tx_poll(&f);
		nf_rx_finish(&f);
		if (busy && n < f.budget)
			busy = f.suppress ? lk_ring_final_check(f.rx) : lk_ring_avail(f.rx) > 0;
		if (busy || (t && !f.tx_drained))
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
			if (f.rx->kick_delay_ns) {
				/* the delayed kick: this wake-up is the modelled one. Its
				   timer was set kick_early ahead of poll_at; how late it
				   came sets the next one's margin */
				uint64_t tw = lk_mono_ns(), set = poll_at - kick_early;
				uint64_t over = tw > set ? tw - set : 0;
				if (over > 1000000)
					over = 1000000; /* a preemption, not the timer */
				kick_over = (kick_over * 7 + over) / 8;
				kick_early = kick_over < wake_ns / 2 ? kick_over : wake_ns / 2;
				lk_ring_kick_taken(f.rx, kick_early);
				if (tw < poll_at)
					poll_at = tw; /* within the margin: due */
			}
		}
	}
	return 0;
}
