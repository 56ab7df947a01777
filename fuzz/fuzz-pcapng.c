/* fuzz/fuzz-pcapng.c - libFuzzer target: the pcapng block walker
 * (lib/pcapng.c) on any bytes. The input is walked twice: in one piece, and
 * in pieces whose sizes come from the input's first bytes (what a piece ends
 * with of a block header is held back and comes again with the next).
 * Asserted: the two walks edit the bytes identically, agree on every
 * packet's link type and length fix (and on running out of them), on the
 * first interface, on mixed link types, on a section in the other byte order
 * and on whether the walker still follows the stream; it never holds back
 * 16 bytes or more; a stream that does not start like pcapng is never
 * changed at all.
 */
#include "lib/pcapng.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/frames.h" /* FZ_CHECK */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAKES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *a = malloc(size ? size : 1), *b = malloc(size ? size : 1);
	FZ_CHECK(a && b);
	memcpy(a, data, size);
	memcpy(b, data, size);
	struct lk_ngwalk *wa = lk_ngwalk_new(), *wb = lk_ngwalk_new();
	FZ_CHECK(wa && wb);
	FZ_CHECK(lk_ngwalk_feed(wa, a, size, true) == size);
	/* in pieces; the bytes held back come again with the next piece */
	uint32_t seed = size ? data[0] : 1;
	size_t pos = 0, end = 0;
	while (pos < size) {
		seed = seed * 1103515245u + 12345u;
		size_t n = 1 + (seed >> 16) % 97;
		end = end + n > size ? size : end + n;
		size_t done = lk_ngwalk_feed(wb, b + pos, end - pos, end == size);
		FZ_CHECK(done <= end - pos && end - pos - done < 16);
		pos += done;
	}
	FZ_CHECK(!memcmp(a, b, size));
	FZ_CHECK(lk_ngwalk_active(wa) == lk_ngwalk_active(wb));
	FZ_CHECK(lk_ngwalk_mixed(wa) == lk_ngwalk_mixed(wb));
	FZ_CHECK(lk_ngwalk_order_changed(wa) == lk_ngwalk_order_changed(wb));
	FZ_CHECK(lk_ngwalk_first_linktype(wa) == lk_ngwalk_first_linktype(wb));
	FZ_CHECK(lk_ngwalk_first_snaplen(wa) == lk_ngwalk_first_snaplen(wb));
	for (int k = 0; k < TAKES; k++) {
		uint32_t la, lb;
		int x = lk_ngwalk_take(wa, &la);
		FZ_CHECK(x == lk_ngwalk_take(wb, &lb) && la == lb);
		FZ_CHECK(x >= -1 && x <= 65535);
	}
	static const uint8_t shb[4] = {0x0A, 0x0D, 0x0D, 0x0A};
	if (size < 4 || memcmp(data, shb, 4))
		FZ_CHECK(!memcmp(a, data, size) && !lk_ngwalk_active(wa));
	/* an edit is always 8 or more bytes into a block: never in the first 8
	 * bytes of the stream */
	for (size_t i = 0; i < size && i < 8; i++)
		FZ_CHECK(a[i] == data[i]);
	lk_ngwalk_free(wa);
	lk_ngwalk_free(wb);
	free(a);
	free(b);
	return 0;
}
