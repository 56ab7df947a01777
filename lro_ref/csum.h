/* lro_ref/csum.h - Internet checksum arithmetic of lro_ref (internal to
 * lro_ref/: the public checksum helpers are lro_csum_add / lro_csum_fold in
 * lro.h, which are built on this module too).
 *
 * Every checksum the engine verifies or writes goes through this header:
 *   - payload sums (any length, any alignment), with or without a copy of the
 *     bytes in the same pass: csum_copy() and csum_sum(), dispatched on the
 *     SIMD level chosen once by lro_simd_level() (scalar, AVX2, AVX-512BW);
 *   - fixed-size header sums (the pseudo header's addresses, an IPv4 header
 *     without options, TCP headers and options): plain 64-bit word adds,
 *     inlined where they are used.
 *
 * Arithmetic (RFC 1071): a one's-complement sum is the same modulo 0xffff
 * however the 16-bit words are grouped (32/64-bit words, SIMD lanes), and the
 * sum of the words read in native (little-endian) order is the byte swap of
 * the sum of the big-endian words (RFC 1071 section 2(B)). So the sums here
 * are "native" sums, unfolded, in 64-bit accumulators, converted to the
 * big-endian domain once (be_of_native) where a checksum field is written.
 * Every checksum written or compared is the fold of a sum that is never 0 (it
 * holds the pseudo header's protocol number, or a version nibble), so the
 * results are bit-identical to a byte-by-byte big-endian sum.
 *
 * SIMD level (lro_simd_level): the highest the CPU supports, capped at build
 * time by -DLRO_SIMD_MAX=N and at run time by the environment variable
 * LRO_SIMD_MAX=N (N: 0 scalar, 1 AVX2, 2 AVX-512BW; any other value is
 * ignored), read once per process. Tests run the suite under each level.
 */
#ifndef LRO_REF_CSUM_H
#define LRO_REF_CSUM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define LRO_X86 1
#endif

/* Build-time cap of the SIMD level (see the top of this file). */
#ifndef LRO_SIMD_MAX
#define LRO_SIMD_MAX 2
#endif

#define LRO_LIKELY(x) __builtin_expect(!!(x), 1)
/* the per-segment helpers: always inlined (the compiler would otherwise keep
   out-of-line copies of those used in many places, one more call per segment) */
#define LRO_HOT __attribute__((always_inline)) static inline

/* ------------------------------------------------------------ byte access */

/* Big-endian (network order) loads and stores, any alignment. */
static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void st32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Native-order loads, any alignment. */
static inline uint64_t ld64n(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static inline uint32_t ld32n(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* ------------------------------------------------------------- arithmetic */

/* 64-bit accumulator -> congruent value < 2^32 (0 only for 0). */
static inline uint64_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return s;
}

/* Fold to 16 bits, not complemented (0 only for 0). */
static inline uint16_t fold16(uint64_t s)
{
	uint32_t v = (uint32_t)fold64(s);
	v = (v & 0xffff) + (v >> 16);
	v = (v & 0xffff) + (v >> 16);
	return (uint16_t)v;
}

static inline uint16_t swap16(uint16_t v) { return (uint16_t)(v << 8 | v >> 8); }

/* The two 32-bit halves of w added (a native-order word sum). */
static inline uint64_t halves(uint64_t w) { return (uint32_t)w + (w >> 32); }

/* A sum of native-order 16-bit words (any grouping) -> a congruent sum of
 * big-endian words, folded (0 only for an all-zero input). */
static inline uint64_t be_of_native(uint64_t s)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return fold16(s);
#else
	return swap16(fold16(s));
#endif
}

/* A big-endian-domain value v (< 2^56) as a congruent native-domain value:
 * on little-endian machines a byte swap, which modulo 0xffff is x 256. */
static inline uint64_t native_of_be(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return v;
#else
	return v << 8;
#endif
}

/* The native sum d of bytes that start at an odd offset of the data they are
 * summed into: their words straddle the data's words, i.e. x 256. */
LRO_HOT uint64_t sum_at(uint64_t d, uint32_t off)
{
	return (off & 1) ? swap16(fold16(d)) : d;
}

/* A positive one's-complement sum (any domain) that folds to 0xffff, i.e. a
 * checksum that verifies, is one that is 0 modulo 0xffff. */
static inline bool sum_ok0(uint64_t s) { return s % 0xffff == 0; }

/* ----------------------------------------------------------- header sums */

/* Native-order sum of len bytes at p, len a multiple of 4 (TCP headers). */
static inline uint64_t sum_words(const uint8_t *p, unsigned len)
{
	uint64_t s = 0;
	if (len & 4) {
		s = ld32n(p);
		p += 4;
		len -= 4;
	}
	for (; len; p += 8, len -= 8)
		s += halves(ld64n(p));
	return s;
}

/* Native-order sum of the pseudo header's addresses (IPv4: ip + 12, 8 bytes;
 * IPv6: ip + 8, 32 bytes). af: 4 or 6. */
static inline uint64_t sum_addrs(const uint8_t *ip, uint8_t af)
{
	if (af == 4)
		return halves(ld64n(ip + 12));
	return halves(ld64n(ip + 8)) + halves(ld64n(ip + 16)) + halves(ld64n(ip + 24)) + halves(ld64n(ip + 32));
}

/* Native-order sum of an IPv4 header without options (20 bytes). */
static inline uint64_t sum_ip4(const uint8_t *ip)
{
	return halves(ld64n(ip)) + halves(ld64n(ip + 8)) + ld32n(ip + 16);
}

/* IPv4 header (20 bytes) checksum verifies (RFC 791), given the native sum
 * of its addresses (sum_addrs(ip, 4), e.g. kept from an earlier header). */
static inline bool ip4_csum_ok_addrs(const uint8_t *ip, uint64_t addr_sum)
{
	return sum_ok0(halves(ld64n(ip)) + ld32n(ip + 8) + addr_sum); /* > 0: version 4 */
}
static inline bool ip4_csum_ok(const uint8_t *ip)
{
	return ip4_csum_ok_addrs(ip, sum_addrs(ip, 4));
}

/* TCP checksum (RFC 9293 3.1: pseudo header of RFC 791 / RFC 8200 8.1) of a
 * segment: IP header ip (family af), TCP header th of thlen bytes (a multiple
 * of 4), plen payload bytes whose native sum is dsum: verifies. */
static inline bool seg_csum_ok(const uint8_t *ip, uint8_t af, const uint8_t *th, unsigned thlen, uint32_t plen,
			       uint64_t dsum)
{
	return sum_ok0(sum_addrs(ip, af) + sum_words(th, thlen) + dsum + native_of_be(6u + thlen + plen));
}

/* Pseudo header (addresses, protocol, TCP length tcplen) plus the TCP header
 * at th (thlen: a multiple of 4), big-endian domain. */
static inline uint64_t tcp_hdr_sum(const uint8_t *ip, uint8_t af, const uint8_t *th, unsigned thlen,
				   uint32_t tcplen)
{
	return be_of_native(sum_addrs(ip, af) + sum_words(th, thlen)) + 6 + tcplen;
}

/* Pseudo header alone (the CHECKSUM_PARTIAL seed, as Linux's
 * tcp_v4_check/tcp_v6_check with a zero sum), big-endian domain. */
static inline uint64_t pseudo_sum(const uint8_t *ip, uint8_t af, uint32_t tcplen)
{
	return be_of_native(sum_addrs(ip, af)) + 6 + tcplen;
}

/* ----------------------------------------------------------- payload sums */

enum lro_simd { LRO_SIMD_SCALAR, LRO_SIMD_AVX2, LRO_SIMD_AVX512 };

/* THE dispatcher: the SIMD level payload sums use (see the top of this file);
 * chosen on the first call, the same for the whole process. */
enum lro_simd lro_simd_level(void);

/* Native-order 16-bit word sum of len bytes at src (a lone last byte is
 * padded with a zero byte, RFC 1071), unfolded (< 2^32 for len <= 64 KiB);
 * one implementation per level. */
uint64_t lro_sum_scalar(const uint8_t *src, uint32_t len);
#ifdef LRO_X86
uint64_t lro_sum_avx2(const uint8_t *src, uint32_t len);
uint64_t lro_sum_avx512(const uint8_t *src, uint32_t len);
/* The same sum while copying the len bytes src -> dst in the same pass. */
uint64_t lro_copy_sum_avx2(uint8_t *dst, const uint8_t *src, uint32_t len);
uint64_t lro_copy_sum_avx512(uint8_t *dst, const uint8_t *src, uint32_t len);
#endif

/* Copy len bytes src -> dst and return their native sum, at level s (a
 * value of lro_simd_level()). */
LRO_HOT uint64_t csum_copy(enum lro_simd s, uint8_t *dst, const uint8_t *src, uint32_t len)
{
#ifdef LRO_X86
	if (LRO_LIKELY(s == LRO_SIMD_AVX512))
		return lro_copy_sum_avx512(dst, src, len);
	if (s == LRO_SIMD_AVX2)
		return lro_copy_sum_avx2(dst, src, len);
#endif
	(void)s;
	memcpy(dst, src, len);
	return lro_sum_scalar(dst, len);
}

/* The native sum of len bytes at src, read in place, at level s. */
LRO_HOT uint64_t csum_sum(enum lro_simd s, const uint8_t *src, uint32_t len)
{
#ifdef LRO_X86
	if (LRO_LIKELY(s == LRO_SIMD_AVX512))
		return lro_sum_avx512(src, len);
	if (s == LRO_SIMD_AVX2)
		return lro_sum_avx2(src, len);
#endif
	(void)s;
	return lro_sum_scalar(src, len);
}

#endif
