/* testbed/ring.c - SPSC shared-memory ring with eventfd notification. */
#include "testbed/ring.h"

#include <string.h>
#include <unistd.h>

#define SLOT_STRIDE (LK_RING_SLOT_DATA + 64)

size_t lk_ring_bytes(void)
{
	return sizeof(struct lk_ring_hdr) + (size_t)LK_RING_SLOTS * SLOT_STRIDE;
}

void lk_ring_init(void *mem)
{
	struct lk_ring_hdr *h = mem;
	memset(h, 0, sizeof *h);
	h->nslots = LK_RING_SLOTS;
	h->slot_size = LK_RING_SLOT_DATA;
}

void lk_ring_attach(struct lk_ring *r, void *mem, int kick_fd, int space_fd)
{
	r->h = mem;
	r->slots = (uint8_t *)mem + sizeof(struct lk_ring_hdr);
	r->kick_fd = kick_fd;
	r->space_fd = space_fd;
}

static uint8_t *slot(struct lk_ring *r, uint32_t idx)
{
	return r->slots + (size_t)(idx % LK_RING_SLOTS) * SLOT_STRIDE;
}

uint8_t *lk_ring_prod_slot(struct lk_ring *r, uint32_t **len)
{
	uint32_t p = atomic_load_explicit(&r->h->prod, memory_order_relaxed);
	uint32_t c = atomic_load_explicit(&r->h->cons, memory_order_acquire);
	if (p - c >= LK_RING_SLOTS) {
		atomic_store(&r->h->prod_waiting, 1);
		/* re-check after announcing, so a release in between is not missed */
		c = atomic_load(&r->h->cons);
		if (p - c >= LK_RING_SLOTS)
			return NULL;
		atomic_store(&r->h->prod_waiting, 0);
	}
	uint8_t *s = slot(r, p);
	*len = (uint32_t *)s;
	return s + 64;
}

void lk_ring_prod_commit(struct lk_ring *r)
{
	atomic_fetch_add_explicit(&r->h->prod, 1, memory_order_release);
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

void lk_ring_kick(struct lk_ring *r) { lk_evt_kick(r->kick_fd); }

uint32_t lk_ring_avail(struct lk_ring *r)
{
	uint32_t p = atomic_load_explicit(&r->h->prod, memory_order_acquire);
	uint32_t c = atomic_load_explicit(&r->h->cons, memory_order_relaxed);
	return p - c;
}

uint8_t *lk_ring_cons_slot(struct lk_ring *r, uint32_t i, uint32_t *len)
{
	uint32_t c = atomic_load_explicit(&r->h->cons, memory_order_relaxed);
	uint8_t *s = slot(r, c + i);
	*len = *(uint32_t *)s;
	return s + 64;
}

void lk_ring_cons_release(struct lk_ring *r, uint32_t n)
{
	if (!n)
		return;
	atomic_fetch_add_explicit(&r->h->cons, n, memory_order_seq_cst);
	if (atomic_exchange(&r->h->prod_waiting, 0))
		lk_evt_kick(r->space_fd);
}
