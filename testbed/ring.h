/* testbed/ring.h - the emulated Xen I/O ring: a single-producer single-consumer
 * ring of fixed-size slots in shared memory, with eventfd notifications (the
 * "event channel").
 *
 * The producer (netback for received frames, netfront for transmitted ones)
 * fills slots and kicks the consumer's eventfd once per batch. When the ring
 * is full the producer sets `prod_waiting` and sleeps on the space eventfd;
 * the consumer kicks it after releasing slots (as Xen's rsp_event does).
 * Each slot holds one frame preceded by its 10-byte virtio_net_hdr, so GSO
 * metadata crosses the ring like Xen's netif extra-info GSO segments.
 */
#ifndef LK_TESTBED_RING_H
#define LK_TESTBED_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define LK_RING_SLOTS 256                 /* like a Xen netif ring */
#define LK_RING_SLOT_DATA (65536 + 256)   /* vnet hdr + 64 KB GSO frame + L2 */

struct lk_ring_hdr {
	_Atomic uint32_t prod;      /* next slot the producer fills (free running) */
	_Atomic uint32_t cons;      /* next slot the consumer reads */
	_Atomic uint32_t prod_waiting;
	uint32_t nslots, slot_size;
	uint8_t pad[64 - 20];
};

struct lk_ring {
	struct lk_ring_hdr *h;
	uint8_t *slots;
	int kick_fd;   /* producer -> consumer: frames available */
	int space_fd;  /* consumer -> producer: slots released */
};

/* Bytes of shared memory one ring needs. */
size_t lk_ring_bytes(void);
/* Initialise the ring header at mem (called once, by whoever creates the memory). */
void lk_ring_init(void *mem);
/* Attach a handle to initialised memory. */
void lk_ring_attach(struct lk_ring *r, void *mem, int kick_fd, int space_fd);

/* Producer: pointer to the next free slot's length word and data, or NULL when full. */
uint8_t *lk_ring_prod_slot(struct lk_ring *r, uint32_t **len);
void lk_ring_prod_commit(struct lk_ring *r);    /* publish the slot */
void lk_ring_kick(struct lk_ring *r);           /* notify the consumer */
/* Consumer: the i-th unread slot (i < lk_ring_avail), its length in *len. */
uint32_t lk_ring_avail(struct lk_ring *r);
uint8_t *lk_ring_cons_slot(struct lk_ring *r, uint32_t i, uint32_t *len);
/* Release n slots; wakes a waiting producer. */
void lk_ring_cons_release(struct lk_ring *r, uint32_t n);
/* Drain an eventfd (non-blocking). */
void lk_evt_clear(int fd);
void lk_evt_kick(int fd);

#endif
