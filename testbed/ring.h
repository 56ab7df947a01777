/* testbed/ring.h - the emulated Xen netif I/O ring: a single-producer
 * single-consumer ring of packet entries in shared memory, eventfds as the
 * event channel, and Xen's accounting and notification rules (Xen 3.1.0
 * xen/include/public/io/ring.h and netif.h).
 *
 * Packets: the producer fills entries (lk_ring_prod_slot, lk_ring_prod_commit)
 * and publishes them with lk_ring_push, which says whether to notify the
 * consumer: always (no suppression), or, with suppression, only when the
 * consumer's event index falls in the range just pushed
 * (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY). The consumer re-arms its event
 * index with lk_ring_final_check (RING_FINAL_CHECK_FOR_RESPONSES: event =
 * cons + 1, then look again). Each entry holds one frame preceded by its
 * 10-byte virtio_net_hdr (GSO metadata crosses the ring like netif's GSO
 * extra-info), and the number of slots it costs.
 *
 * Requests (the rx ring): the guest posts rx buffers (lk_ring_post: req_prod
 * grows); every packet the producer places uses `cost` of them (rsp_prod
 * grows by the cost). The producer sees req_prod - rsp_prod free requests
 * (lk_ring_req_free) and, when short, arms req_event (lk_ring_req_arm) so
 * that the guest's next post notifies it (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY).
 * The tx ring (guest -> backend) does not use requests: a full ring (all
 * entries in flight) makes its producer wait on the space eventfd.
 *
 * Indices are free-running uint32 (wrap-safe differences), as Xen's RING_IDX.
 */
#ifndef LK_TESTBED_RING_H
#define LK_TESTBED_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LK_RING_MAX_SLOTS 1024
#define LK_RING_SLOT_DATA (65536 + 256)   /* vnet hdr + 64 KB GSO frame + L2 */
#define LK_RING_PAGE 4096                 /* a netif rx request is one guest page */

struct lk_ring_hdr {
	_Atomic uint32_t prod;         /* packets: next entry the producer fills */
	_Atomic uint32_t cons;         /* packets: next entry the consumer reads */
	_Atomic uint32_t event;        /* consumer's event index (packets): rsp_event */
	_Atomic uint32_t prod_waiting; /* tx: producer sleeps on the space eventfd */
	_Atomic uint32_t req_prod;     /* rx: requests (slots) posted by the guest */
	_Atomic uint32_t rsp_prod;     /* rx: slots used by the packets produced */
	_Atomic uint32_t req_event;    /* rx: the producer's event index (requests) */
	uint32_t nslots;
	_Atomic uint64_t notify_ns;    /* CLOCK_MONOTONIC time of the last notify */
	_Atomic uint32_t kick_armed;   /* delayed kick: the timer is set, not yet taken */
	_Atomic uint32_t kick_early_ns; /* delayed kick: the consumer's mean timer overshoot */
	uint8_t pad[64 - 48];
};

struct lk_ring {
	struct lk_ring_hdr *h;
	uint8_t *slots;
	uint32_t nslots;
	int kick_fd;   /* producer -> consumer: packets available (an eventfd, or a
			  timerfd with kick_delay_ns) */
	uint64_t kick_delay_ns; /* 0: a notify kicks at once; else the kick reaches
				   the consumer this long after the notify: kick_fd
				   is a timerfd shared by both sides, set by the
				   first notify and taken (lk_ring_kick_taken) by the
				   consumer; later notifies until then add nothing */
	int space_fd;  /* consumer -> producer: requests posted (rx) / entries released (tx) */
};

/* Bytes of shared memory one ring of nslots (1..LK_RING_MAX_SLOTS) needs. */
size_t lk_ring_bytes(uint32_t nslots);
/* Initialise the ring at mem (once, by whoever creates the memory):
 * indices 0, both event indices 1 (SHARED_RING_INIT). */
void lk_ring_init(void *mem, uint32_t nslots);
/* Attach a handle to initialised memory. */
void lk_ring_attach(struct lk_ring *r, void *mem, int kick_fd, int space_fd);

/* Slots a packet of len bytes (after the vnet header) costs: one rx request
 * per 4 KB page of data (netback copies into page-sized fragments,
 * netbk_copy_skb), plus one extra-info slot for a GSO packet. */
uint32_t lk_ring_pkt_cost(uint32_t len, bool gso);

/* Producer: the next free entry's data (its length word in *len), or NULL
 * when every entry is in flight (tx: sets prod_waiting first). */
uint8_t *lk_ring_prod_slot(struct lk_ring *r, uint32_t **len);
/* The i-th free entry after the next one (i = 0: lk_ring_prod_slot's),
 * NULL when fewer than i + 1 entries are free; for filling several entries
 * before committing them in order. Does not set prod_waiting. */
uint8_t *lk_ring_prod_peek(struct lk_ring *r, uint32_t i, uint32_t **len);
/* Entries free for the producer. */
uint32_t lk_ring_prod_free(struct lk_ring *r);
/* Commit the entry (cost slots of requests used; 1 on the tx ring). */
void lk_ring_prod_commit(struct lk_ring *r, uint32_t cost);
/* Publish everything committed since prod was old_prod. suppress: Xen's
 * rule (notify only when the consumer's event index is in (old, new]);
 * else notify whenever something was pushed. Returns true when it notified
 * (kicked the consumer, notify_ns set). */
bool lk_ring_push(struct lk_ring *r, uint32_t old_prod, bool suppress);
uint32_t lk_ring_prod_idx(const struct lk_ring *r);

/* Consumer: packets available; the i-th unread entry (i < avail), its length
 * and cost. */
uint32_t lk_ring_avail(struct lk_ring *r);
uint8_t *lk_ring_cons_slot(struct lk_ring *r, uint32_t i, uint32_t *len, uint32_t *cost);
/* Release n entries; on the tx ring wakes a waiting producer. */
void lk_ring_cons_release(struct lk_ring *r, uint32_t n);
/* Re-arm the consumer's event (cons + 1) and look again: true when packets
 * arrived meanwhile (poll again). */
bool lk_ring_final_check(struct lk_ring *r);

/* rx requests. Free requests the producer may use. */
uint32_t lk_ring_req_free(struct lk_ring *r);
/* Producer: ask to be notified when `needed` requests are free. */
void lk_ring_req_arm(struct lk_ring *r, uint32_t needed);
/* Guest: post n more requests; notifies the producer (space_fd) always when
 * !suppress, else only when its req_event is in the posted range. Returns
 * true when it notified. */
bool lk_ring_post(struct lk_ring *r, uint32_t n, bool suppress);
/* Requests posted so far / slots used so far (free running). */
uint32_t lk_ring_req_prod(struct lk_ring *r);
uint32_t lk_ring_rsp_prod(struct lk_ring *r);

/* Drain an eventfd (non-blocking). */
void lk_evt_clear(int fd);
/* Consumer of a delayed kick, woken by it: the next notify sets the timer
 * again. mean_over_ns: how late such wake-ups come on average (the
 * producer sets the timer that much earlier). */
void lk_ring_kick_taken(struct lk_ring *r, uint64_t mean_over_ns);
void lk_evt_kick(int fd);

#endif
