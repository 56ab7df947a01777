/* fuzz/frames.h - the input format shared by fuzz-decode and fuzz-acks: a
 * stream of link-layer frames with time deltas, so one fuzz input is a whole
 * little capture without pcap framing (libpcap is fuzzed by fuzz-ingest).
 *
 *   byte 0          link type selector (index into fz_dlts, modulo)
 *   then records:   u16 LE caplen, u16 LE dt, caplen bytes
 *                   dt: bit 15 set -> (dt & 0x7fff) seconds, else dt microseconds
 *
 * A record running past the end of the input is cut to what is left. Every
 * frame is copied into its own malloc'd buffer of exactly caplen bytes so
 * AddressSanitizer catches any read past the captured bytes.
 * Seeds are made from pcap files by `mkpcap --frames OUT IN.pcap`
 * (tests/helpers/mkpcap.c), which writes this format.
 */
#ifndef LK_FUZZ_FRAMES_H
#define LK_FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The link types lk_decode supports (lk_dlt_supported), in selector order;
 * selector 0 is Ethernet (mkpcap --frames writes the pcap's own type). */
static const int fz_dlts[] = {1, 113, 276, 12, 14, 101, 228, 229, 0, 108,
			      10, 6, 11, 100, 9, 50, 104, 51, 8, 105, 127, 119};
#define FZ_NDLTS (sizeof fz_dlts / sizeof fz_dlts[0])

struct fz_reader {
	const uint8_t *d;
	size_t n, off;
	uint64_t ts_ns;
	int dlt;
};

static inline void fz_init(struct fz_reader *r, const uint8_t *d, size_t n)
{
	r->d = d;
	r->n = n;
	r->off = n ? 1 : 0;
	r->ts_ns = 1700000000ull * 1000000000ull;
	r->dlt = fz_dlts[n ? d[0] % FZ_NDLTS : 0];
}

/* Next frame: returns a malloc'd copy (free it) of *len bytes, NULL at the
 * end. A zero-length frame is returned as a 1-byte allocation with *len 0. */
static inline uint8_t *fz_next(struct fz_reader *r, uint32_t *len, uint64_t *ts_ns)
{
	if (r->off + 4 > r->n)
		return NULL;
	const uint8_t *h = r->d + r->off;
	uint32_t cl = (uint32_t)h[0] | (uint32_t)h[1] << 8;
	uint32_t dt = (uint32_t)h[2] | (uint32_t)h[3] << 8;
	r->off += 4;
	if (cl > r->n - r->off)
		cl = (uint32_t)(r->n - r->off);
	uint8_t *f = malloc(cl ? cl : 1);
	if (!f)
		abort();
	memcpy(f, r->d + r->off, cl);
	r->off += cl;
	r->ts_ns += (dt & 0x8000) ? (uint64_t)(dt & 0x7fff) * 1000000000ull : (uint64_t)dt * 1000ull;
	*len = cl;
	*ts_ns = r->ts_ns;
	return f;
}

/* Invariant check that survives -DNDEBUG and names what broke. */
#define FZ_CHECK(c)                                                                      \
	do {                                                                             \
		if (!(c)) {                                                              \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__,     \
				__LINE__, #c);                                           \
			abort();                                                         \
		}                                                                        \
	} while (0)

#endif
