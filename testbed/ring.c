/* testbed/ring.c - the emulated netif ring (see ring.h). */
#include "testbed/ring.h"
#include "lib/clock.h"

#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define ENTRY_HDR 64
#define SLOT_STRIDE (LK_RING_SLOT_DATA + ENTRY_HDR)

size_t lk_ring_bytes(uint32_t nslots)
{
	return sizeof(struct lk_ring_hdr) + (size_t)nslots * SLOT_STRIDE;
}

void lk_ring_init(void *mem, uint32_t nslots)
{
	struct lk_ring_hdr *h = mem;
	memset(h, 0, sizeof *h);
	h->nslots = nslots;
	atomic_store(&h->event, 1);
	atomic_store(&h->req_event, 1);
}

void lk_ring_attach(struct lk_ring *r, void *mem, int kick_fd, int space_fd)
{
	r->h = mem;
	r->nslots = r->h->nslots;
	r->slots = (uint8_t *)mem + sizeof(struct lk_ring_hdr);
	r->kick_fd = kick_fd;
	r->space_fd = space_fd;
}

uint32_t lk_ring_pkt_cost(uint32_t len, bool gso)
{
	uint32_t pages = (len + LK_RING_PAGE - 1) / LK_RING_PAGE;
	return (pages ? pages : 1) + (gso ? 1 : 0);
}

static uint8_t *entry(const struct lk_ring *r, uint32_t idx)
{
	return r->slots + (size_t)(idx % r->nslots) * SLOT_STRIDE;
}

uint8_t *lk_ring_prod_slot(struct lk_ring *r, uint32_t **len)
{
	uint32_t p = atomic_load_explicit(&r->h->prod, memory_order_relaxed);
	uint32_t c = atomic_load_explicit(&r->h->cons, memory_order_acquire);
	if (p - c >= r->nslots) {
		atomic_store(&r->h->prod_waiting, 1);
		/* re-check after announcing, so a release in between is not missed */
		c = atomic_load(&r->h->cons);
		if (p - c >= r->nslots)
			return NULL;
		atomic_store(&r->h->prod_waiting, 0);
	}
	uint8_t *s = entry(r, p);
	*len = (uint32_t *)s;
	return s + ENTRY_HDR;
}

uint32_t lk_ring_prod_free(struct lk_ring *r)
{
	uint32_t p = atomic_load_explicit(&r->h->prod, memory_order_relaxed);
	uint32_t c = atomic_load_explicit(&r->h->cons, memory_order_acquire);
	return r->nslots - (p - c);
}

uint8_t *lk_ring_prod_peek(struct lk_ring *r, uint32_t i, uint32_t **len)
{
	if (i >= lk_ring_prod_free(r))
		return NULL;
	uint8_t *s = entry(r, atomic_load_explicit(&r->h->prod, memory_order_relaxed) + i);
	*len = (uint32_t *)s;
	return s + ENTRY_HDR;
}

void lk_ring_prod_commit(struct lk_ring *r, uint32_t cost)
{
	uint32_t p = atomic_load_explicit(&r->h->prod, memory_order_relaxed);
	((uint32_t *)entry(r, p))[1] = cost;
	atomic_fetch_add_explicit(&r->h->rsp_prod, cost, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->h->prod, 1, memory_order_release);
}

uint32_t lk_ring_prod_idx(const struct lk_ring *r)
{
	return atomic_load_explicit(&r->h->prod, memory_order_relaxed);
}

bool lk_ring_push(struct lk_ring *r, uint32_t old_prod, bool suppress)
{
	atomic_thread_fence(memory_order_seq_cst);
	uint32_t np = atomic_load_explicit(&r->h->prod, memory_order_relaxed);
	if (np == old_prod)
		return false;
	if (suppress) {
		uint32_t ev = atomic_load(&r->h->event);
		if ((uint32_t)(np - ev) >= (uint32_t)(np - old_prod))
			return false;
	}
	if (!r->kick_delay_ns) {
		atomic_store_explicit(&r->h->notify_ns, lk_mono_ns(), memory_order_relaxed);
		lk_evt_kick(r->kick_fd);
		return true;
	}
	/* a delayed kick: the first notify sets the timer, the ones after it
	   join that pending event (as a Xen event channel already pending) */
	if (atomic_exchange(&r->h->kick_armed, 1))
		return true;
	uint64_t now = lk_mono_ns(), early = atomic_load(&r->h->kick_early_ns);
	atomic_store_explicit(&r->h->notify_ns, now, memory_order_relaxed);
	uint64_t d = r->kick_delay_ns > early + 1000 ? r->kick_delay_ns - early : 1000;
	struct itimerspec it = {.it_value = {(time_t)(d / 1000000000ull),
					     (long)(d % 1000000000ull)}};
	timerfd_settime(r->kick_fd, 0, &it, NULL);
	return true;
}

void lk_ring_kick_taken(struct lk_ring *r, uint64_t mean_over_ns)
{
	if (mean_over_ns > r->kick_delay_ns / 2)
		mean_over_ns = r->kick_delay_ns / 2;
	atomic_store(&r->h->kick_early_ns, (uint32_t)mean_over_ns);
	atomic_store(&r->h->kick_armed, 0);
}

void lk_evt_kick(int fd)
{
	uint64_t one = 1;
	ssize_t w = write(fd, &one, sizeof one);
	(void)w;
}

void lk_evt_clear(int fd)
{
	uint64_t v;
	ssize_t rd = read(fd, &v, sizeof v);
	(void)rd;
}

uint32_t lk_ring_avail(struct lk_ring *r)
{
	uint32_t p = atomic_load_explicit(&r->h->prod, memory_order_acquire);
	uint32_t c = atomic_load_explicit(&r->h->cons, memory_order_relaxed);
	return p - c;
}

uint8_t *lk_ring_cons_slot(struct lk_ring *r, uint32_t i, uint32_t *len, uint32_t *cost)
{
	uint32_t c = atomic_load_explicit(&r->h->cons, memory_order_relaxed);
	uint8_t *s = entry(r, c + i);
	*len = ((uint32_t *)s)[0];
	if (cost)
		*cost = ((uint32_t *)s)[1];
	return s + ENTRY_HDR;
}

void lk_ring_cons_release(struct lk_ring *r, uint32_t n)
{
	if (!n)
		return;
	atomic_fetch_add_explicit(&r->h->cons, n, memory_order_seq_cst);
	if (atomic_exchange(&r->h->prod_waiting, 0))
		lk_evt_kick(r->space_fd);
}

bool lk_ring_final_check(struct lk_ring *r)
{
	uint32_t c = atomic_load_explicit(&r->h->cons, memory_order_relaxed);
	atomic_store(&r->h->event, c + 1);
	atomic_thread_fence(memory_order_seq_cst);
	return lk_ring_avail(r) > 0;
}

uint32_t lk_ring_req_free(struct lk_ring *r)
{
	return atomic_load_explicit(&r->h->req_prod, memory_order_acquire) -
	       atomic_load_explicit(&r->h->rsp_prod, memory_order_relaxed);
}

void lk_ring_req_arm(struct lk_ring *r, uint32_t needed)
{
	atomic_store(&r->h->req_event, atomic_load(&r->h->rsp_prod) + needed);
	atomic_thread_fence(memory_order_seq_cst);
}

bool lk_ring_post(struct lk_ring *r, uint32_t n, bool suppress)
{
	if (!n)
		return false;
	uint32_t old = atomic_fetch_add_explicit(&r->h->req_prod, n, memory_order_seq_cst);
	uint32_t np = old + n;
	if (suppress) {
		uint32_t ev = atomic_load(&r->h->req_event);
		if ((uint32_t)(np - ev) >= n)
			return false;
	}
	lk_evt_kick(r->space_fd);
	return true;
}

uint32_t lk_ring_req_prod(struct lk_ring *r)
{
	return atomic_load_explicit(&r->h->req_prod, memory_order_acquire);
}

uint32_t lk_ring_rsp_prod(struct lk_ring *r)
{
	return atomic_load_explicit(&r->h->rsp_prod, memory_order_acquire);
}
