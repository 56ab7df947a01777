/* lro_ref/lro.c - reference LRO/GRO engine (see lro.h for the contract).
 *
 * Hot path per segment (rx_fast): hash the flow from the fixed offsets of an
 * untagged IPv4/IPv6 frame, take the last flow used or walk one hash chain,
 * and compare the whole header with the held aggregate's first header in one
 * masked SIMD compare (the mask leaves out exactly the fields the rules let
 * differ); then only the per-segment checks (sequence, size, IP ID, ...) and
 * ONE pass over the payload that copies it into the slot's preallocated
 * 64 KiB buffer and, when a checksum is needed, sums it at the same time
 * (verification: always; complete checksums with trusted input: from the
 * 2nd segment on, so single segments are never summed). Everything else
 * (VLANs, options, new flows, any rule that fails) takes the full path
 * (rx_full: parse, lookup comparing header bytes - no key is built - and the
 * rule functions in order), which makes every decision; the fast path only
 * ever accepts what the full path would merge, with the same effects.
 * Header fix-ups happen once per aggregate at flush time.
 *
 * Zero-copy mode (lro_config.zero_copy) changes only where payload bytes
 * live: a held segment's headers are copied into its slot's buffer (they are
 * its flow identity and get the flush-time fix-ups), its payload and every
 * appended one are referenced in the caller's frames (struct lro_frag), and
 * the checksum pass is sum-only (sum_avx512 / sum_avx2 / sum_native, the same
 * arithmetic as the copying twins). Past LRO_MAX_FRAGS - 1 fragments the
 * payloads are copied to the slot's buffer at their own offset, behind one
 * last growing fragment, so the rules, counters and output bytes are those of
 * copy mode.
 *
 * Checksum arithmetic: a one's-complement sum is the same modulo 0xffff
 * however the words are grouped (32-bit words, SIMD lanes), and the sum of
 * little-endian 16-bit words is the byte swap of the big-endian sum (RFC 1071
 * 2.(B)). The hot paths sum native-order words and convert once
 * (be_of_native). Every checksum written or compared is the fold of a sum that
 * is never 0 (it holds the pseudo header's protocol number), so the results
 * are bit-identical to a byte-by-byte big-endian sum.
 */
#include "lro_ref/lro.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LRO_X86 1
#endif

/* Highest SIMD level used for the payload copy+sum (compile-time cap, to test
 * the fallbacks): 0 scalar, 1 AVX2, 2 AVX-512BW. The level is the highest the
 * CPU supports, found once per engine in lro_new. */
#ifndef LRO_SIMD_MAX
#define LRO_SIMD_MAX 2
#endif

#define ETH_HLEN 14
#define MAX_L2 30      /* Ethernet + up to 4 VLAN tags */
#define FP_MAX 128     /* fast path: header bytes compared at once (untagged) */
#define NV_UNSET 0xff  /* agg.nvec: fast path not set up yet */
#define BUF_SIZE (MAX_L2 + 65536 + 64)
#define NONE (-1)

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10,
       TH_URG = 0x20, TH_ECE = 0x40, TH_CWR = 0x80 };

/* ---------------------------------------------------------------- checksums */

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

/* Sums are kept big-endian-word based (RFC 1071), as 64-bit accumulators. */
static inline uint64_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return s;
}

uint16_t lro_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint64_t csum_generic(const uint8_t *p, uint32_t len)
{
	uint64_t a = 0;
	while (len >= 8) {
		a += ld32(p);
		a += ld32(p + 4);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		a += ld16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		a += (uint32_t)p[0] << 8;
	return a;
}

#ifdef LRO_X86
/* Sum of 16-bit big-endian words via pmaddwd: words are byte-swapped with a
 * shuffle, biased by 0x8000 so the signed multiply-add is exact, and the bias
 * is added back at the end. */
__attribute__((target("avx2"))) static uint64_t csum_avx2(const uint8_t *p, uint32_t len)
{
	const __m256i swap = _mm256_setr_epi8(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14,
					      1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
	const __m256i bias = _mm256_set1_epi16((short)0x8000);
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i acc = _mm256_setzero_si256();
	uint64_t total = 0, words = 0;
	uint32_t n = len / 32;
	while (n) {
		uint32_t chunk = n > 16384 ? 16384 : n; /* int32 lanes cannot overflow */
		n -= chunk;
		words += (uint64_t)chunk * 16;
		__m256i a32 = _mm256_setzero_si256();
		for (uint32_t i = 0; i < chunk; i++, p += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
			v = _mm256_xor_si256(_mm256_shuffle_epi8(v, swap), bias);
			a32 = _mm256_add_epi32(a32, _mm256_madd_epi16(v, ones));
		}
		/* widen signed 32-bit lanes to 64 and accumulate */
		acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(a32)));
		acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a32, 1)));
	}
	int64_t l[4];
	_mm256_storeu_si256((__m256i *)(void *)l, acc);
	int64_t s = l[0] + l[1] + l[2] + l[3] + (int64_t)(words * 0x8000);
	total = (uint64_t)s;
	return total + csum_generic(p, len % 32);
}

static int have_avx2 = -1;
#endif

static inline uint64_t csum_bytes(const uint8_t *p, uint32_t len)
{
#ifdef LRO_X86
	if (len >= 64) {
		if (have_avx2 < 0)
			have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
		if (have_avx2)
			return csum_avx2(p, len);
	}
#endif
	return csum_generic(p, len);
}

uint32_t lro_csum_add(uint32_t sum, const void *buf, uint32_t len)
{
	return (uint32_t)fold64(sum + csum_bytes(buf, len));
}

static inline uint16_t fold16(uint64_t s)
{
	s = fold64(s);
	return lro_csum_fold((uint32_t)s);
}

static inline uint16_t swap16(uint16_t v) { return (uint16_t)(v << 8 | v >> 8); }

/* Native-order loads (any alignment). */
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

/* The two 32-bit halves of w added (a native-order word sum). */
static inline uint64_t halves(uint64_t w) { return (uint32_t)w + (w >> 32); }

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

/* A positive one's-complement sum (any domain) that folds to 0xffff, i.e. a
 * checksum that verifies, is one that is 0 modulo 0xffff. */
static inline bool sum_ok0(uint64_t s) { return s % 0xffff == 0; }

/* Native-order sum of len bytes at p, len a multiple of 4. */
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
 * IPv6: ip + 8, 32 bytes). */
static inline uint64_t sum_addrs(const uint8_t *ip, uint8_t af)
{
	if (af == 4)
		return halves(ld64n(ip + 12));
	return halves(ld64n(ip + 8)) + halves(ld64n(ip + 16)) + halves(ld64n(ip + 24)) + halves(ld64n(ip + 32));
}

/* Native-order sum of an IPv4 header without options. */
static inline uint64_t sum_ip4(const uint8_t *ip)
{
	return halves(ld64n(ip)) + halves(ld64n(ip + 8)) + ld32n(ip + 16);
}

enum simd { SIMD_NONE, SIMD_AVX2, SIMD_AVX512 };

/* Native-order 16-bit word sum of len bytes (a lone last byte is padded with
 * a zero byte, as in RFC 1071). */
static uint64_t sum_native(const uint8_t *p, uint32_t len)
{
	uint64_t s = 0;
	while (len >= 8) {
		s += halves(ld64n(p));
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		s += ld32n(p);
		p += 4;
		len -= 4;
	}
	uint8_t w[2] = {0, 0};
	uint16_t v;
	if (len >= 2) {
		memcpy(&v, p, 2);
		s += v;
		p += 2;
		len -= 2;
	}
	if (len) {
		w[0] = p[0];
		memcpy(&v, w, 2);
		s += v;
	}
	return s;
}

#ifdef LRO_X86
/* Copy len bytes src -> dst and return the little-endian 16-bit word sum of
 * them. Words are biased by 0x8000 (x ^ 0x8000 read as signed = x - 0x8000)
 * so that pmaddwd against ones adds word pairs exactly into signed 32-bit
 * lanes; the bias is added back at the end (every vector, also the zero-filled
 * tail, counts 16 (AVX2) / 32 (AVX-512) words). At most 8192 vectors per round
 * keep each lane within +-2^30 (AVX-512: 1024, so that the 32-bit horizontal
 * sum of all lanes cannot overflow either). avx2_sum is copy_sum_avx2 (copy:
 * dst gets the bytes) and sum_avx2 (sum only: the zero-copy mode reads the
 * payload where it is) in one body. */
__attribute__((target("avx2"), always_inline)) static inline uint64_t avx2_sum(uint8_t *dst, const uint8_t *src,
									     uint32_t len, bool copy)
{
	const __m256i bias = _mm256_set1_epi16((short)0x8000), ones = _mm256_set1_epi16(1);
	int64_t total = 0;
	uint64_t nvec = 0;
	while (len >= 32) {
		uint32_t n = len / 32, i = 0;
		if (n > 8192)
			n = 8192;
		len -= n * 32;
		nvec += n;
		__m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
		for (; i + 2 <= n; i += 2, src += 64) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)src);
			__m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(src + 32));
			if (copy) {
				_mm256_storeu_si256((__m256i *)(void *)dst, v);
				_mm256_storeu_si256((__m256i *)(void *)(dst + 32), w);
				dst += 64;
			}
			a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_xor_si256(v, bias), ones));
			b = _mm256_add_epi32(b, _mm256_madd_epi16(_mm256_xor_si256(w, bias), ones));
		}
		if (i < n) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)src);
			if (copy) {
				_mm256_storeu_si256((__m256i *)(void *)dst, v);
				dst += 32;
			}
			a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_xor_si256(v, bias), ones));
			src += 32;
		}
		a = _mm256_add_epi32(a, b);
		__m256i w = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(a)),
					     _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a, 1)));
		__m128i x = _mm_add_epi64(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
		total += _mm_cvtsi128_si64(x) + _mm_extract_epi64(x, 1);
	}
	if (copy)
		memcpy(dst, src, len);
	return (uint64_t)(total + (int64_t)(nvec * 16 * 0x8000)) + sum_native(src, len);
}

__attribute__((target("avx2"))) static uint64_t copy_sum_avx2(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	return avx2_sum(dst, src, len, true);
}

/* Two 64-byte vectors of words, biased and pair-added into 16 signed 32-bit
 * lanes (the step shared by copy_sum_avx512 and sum_avx512). */
__attribute__((target("avx512f,avx512bw"), always_inline)) static inline __m512i
madd_pair512(__m512i v, __m512i w, __m512i bias, __m512i ones)
{
	return _mm512_add_epi32(_mm512_madd_epi16(_mm512_xor_si512(v, bias), ones),
				_mm512_madd_epi16(_mm512_xor_si512(w, bias), ones));
}

/* The same with 64-byte vectors; the tail is one masked load/store. */
__attribute__((target("avx512f,avx512bw"))) static uint64_t copy_sum_avx512(uint8_t *dst, const uint8_t *src,
									  uint32_t len)
{
	const __m512i bias = _mm512_set1_epi16((short)0x8000), ones = _mm512_set1_epi16(1);
	int64_t total = 0;
	uint64_t nvec = 0;
	while (len) {
		uint32_t n = len / 64, i = 0;
		if (n > 1024)
			n = 1024;
		len -= n * 64;
		nvec += n;
		__m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
		for (; i + 4 <= n; i += 4, src += 256, dst += 256) {
			__m512i v = _mm512_loadu_si512((const void *)src);
			__m512i w = _mm512_loadu_si512((const void *)(src + 64));
			__m512i x = _mm512_loadu_si512((const void *)(src + 128));
			__m512i y = _mm512_loadu_si512((const void *)(src + 192));
			_mm512_storeu_si512((void *)dst, v);
			_mm512_storeu_si512((void *)(dst + 64), w);
			_mm512_storeu_si512((void *)(dst + 128), x);
			_mm512_storeu_si512((void *)(dst + 192), y);
			v = madd_pair512(v, w, bias, ones);
			x = madd_pair512(x, y, bias, ones);
			a = _mm512_add_epi32(a, v);
			b = _mm512_add_epi32(b, x);
		}
		for (; i + 2 <= n; i += 2, src += 128, dst += 128) {
			__m512i v = _mm512_loadu_si512((const void *)src);
			__m512i w = _mm512_loadu_si512((const void *)(src + 64));
			_mm512_storeu_si512((void *)dst, v);
			_mm512_storeu_si512((void *)(dst + 64), w);
			a = _mm512_add_epi32(a, _mm512_madd_epi16(_mm512_xor_si512(v, bias), ones));
			b = _mm512_add_epi32(b, _mm512_madd_epi16(_mm512_xor_si512(w, bias), ones));
		}
		if (i < n) {
			__m512i v = _mm512_loadu_si512((const void *)src);
			_mm512_storeu_si512((void *)dst, v);
			a = _mm512_add_epi32(a, _mm512_madd_epi16(_mm512_xor_si512(v, bias), ones));
			src += 64;
			dst += 64;
		}
		if (len < 64 && len) {
			__mmask64 m = ((__mmask64)1 << len) - 1;
			__m512i v = _mm512_maskz_loadu_epi8(m, (const void *)src);
			_mm512_mask_storeu_epi8((void *)dst, m, v);
			b = _mm512_add_epi32(b, _mm512_madd_epi16(_mm512_xor_si512(v, bias), ones));
			nvec++;
			len = 0;
		}
		/* <= 1025 vectors: |sum of all lanes| <= 1025 * 32 * 2^15 < 2^31 */
		total += _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
	}
	return (uint64_t)(total + (int64_t)(nvec * 32 * 0x8000));
}

/* Sum-only twin of copy_sum_avx2 (zero-copy mode: the payload is read where
 * it is), with the same bias arithmetic; sum_avx512 below for AVX-512. */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint8_t *src, uint32_t len)
{
	return avx2_sum(NULL, src, len, false);
}

/* AVX-512 sum-only pass with aligned loads: the lines covering src..src+len
 * are read from their 64-byte boundary, the bytes outside masked off (masked
 * lanes are never accessed, so no fault), which halves the L1 accesses of a
 * payload that starts mid-line (every 64-byte load of an unaligned payload
 * spans two lines: 20.7 -> 17.7 ns/packet, linux 1 flow verify zero-copy,
 * A/B medians of 8). Words are then paired from the aligned address; from an
 * odd src that is the byte swap of the sum from src (x 256 modulo 0xffff). */
__attribute__((target("avx512f,avx512bw"))) static uint64_t sum_avx512(const uint8_t *src, uint32_t len)
{
	const __m512i bias = _mm512_set1_epi16((short)0x8000), ones = _mm512_set1_epi16(1);
	if (!len)
		return 0;
	uint32_t mis = (uint32_t)((uintptr_t)src & 63);
	const uint8_t *p = (const uint8_t *)((uintptr_t)src & ~(uintptr_t)63);
	uint64_t end = (uint64_t)mis + len;       /* bytes from p */
	uint64_t nvec = (end + 63) / 64;
	int64_t total = 0;
	__mmask64 m = ~(__mmask64)0 << mis;
	if (end < 64)
		m &= ((__mmask64)1 << end) - 1;
	__m512i a = _mm512_madd_epi16(_mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p), bias), ones);
	__m512i b = _mm512_setzero_si512();
	p += 64;
	uint64_t left = end > 64 ? end - 64 : 0;
	while (left) {
		uint64_t n = left / 64, i = 0;
		if (n > 1000) /* with the first and a tail vector <= 1002 per sum: < 2^31 */
			n = 1000;
		left -= n * 64;
		for (; i + 4 <= n; i += 4, p += 256) {
			__m512i v = _mm512_load_si512((const void *)p);
			__m512i w = _mm512_load_si512((const void *)(p + 64));
			__m512i x = _mm512_load_si512((const void *)(p + 128));
			__m512i y = _mm512_load_si512((const void *)(p + 192));
			v = madd_pair512(v, w, bias, ones);
			x = madd_pair512(x, y, bias, ones);
			a = _mm512_add_epi32(a, v);
			b = _mm512_add_epi32(b, x);
		}
		for (; i < n; i++, p += 64)
			a = _mm512_add_epi32(a, _mm512_madd_epi16(_mm512_xor_si512(_mm512_load_si512((const void *)p), bias), ones));
		if (left < 64 && left) {
			__m512i v = _mm512_maskz_loadu_epi8(((__mmask64)1 << left) - 1, (const void *)p);
			b = _mm512_add_epi32(b, _mm512_madd_epi16(_mm512_xor_si512(v, bias), ones));
			left = 0;
		}
		if (left) { /* another round follows (> 64 KiB): empty the lanes */
			total += _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
			a = b = _mm512_setzero_si512();
		}
	}
	total += _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
	uint64_t s = (uint64_t)(total + (int64_t)(nvec * 32 * 0x8000));
	/* words paired from an odd address: the sum from src is 256 x this */
	return ((uintptr_t)src & 1) ? swap16(fold16(s)) : s;
}
#endif

static enum simd simd_level(void)
{
#ifdef LRO_X86
	__builtin_cpu_init();
	if (LRO_SIMD_MAX >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
		return SIMD_AVX512;
	if (LRO_SIMD_MAX >= 1 && __builtin_cpu_supports("avx2"))
		return SIMD_AVX2;
#endif
	return SIMD_NONE;
}

/* Copy len payload bytes src -> dst in one pass and return their native-order
 * word sum (unfolded, < 2^32 for len <= 64 KiB). */
static inline uint64_t copy_sum(enum simd s, uint8_t *dst, const uint8_t *src, uint32_t len)
{
#ifdef LRO_X86
	if (LIKELY(s == SIMD_AVX512))
		return copy_sum_avx512(dst, src, len);
	if (s == SIMD_AVX2)
		return copy_sum_avx2(dst, src, len);
#endif
	(void)s;
	memcpy(dst, src, len);
	return sum_native(dst, len);
}

/* The same sum without the copy (zero-copy mode). */
static inline uint64_t sum_only(enum simd s, const uint8_t *src, uint32_t len)
{
#ifdef LRO_X86
	if (LIKELY(s == SIMD_AVX512))
		return sum_avx512(src, len);
	if (s == SIMD_AVX2)
		return sum_avx2(src, len);
#endif
	(void)s;
	return sum_native(src, len);
}

/* IPv4 header (20 bytes) checksum verifies. */
static inline bool ip4_csum_ok(const uint8_t *ip)
{
	return sum_ok0(sum_ip4(ip)); /* > 0: version 4 */
}

/* Pseudo header (addresses, protocol, TCP length) plus the TCP header at th
 * (thlen: a multiple of 4), big-endian domain. */
static inline uint64_t tcp_hdr_sum(const uint8_t *ip, uint8_t af, const uint8_t *th, unsigned thlen,
				   uint32_t tcplen)
{
	uint64_t s = sum_addrs(ip, af) + sum_words(th, thlen);
	return be_of_native(s) + 6 + tcplen;
}

/* Pseudo header alone (the CHECKSUM_PARTIAL seed), big-endian domain. */
static uint64_t pseudo_sum(const uint8_t *ip, uint8_t af, uint32_t tcplen)
{
	return be_of_native(sum_addrs(ip, af)) + 6 + tcplen;
}

/* ------------------------------------------------------------------- types */

struct pkt {
	const uint8_t *f;
	uint32_t caplen;     /* frame bytes given */
	uint32_t l3len;      /* L3 length claimed by IP */
	uint32_t plen;       /* TCP payload length */
	uint16_t l3off, l4off, hdr_len, thlen;
	uint8_t af, flags, ttl, tos;
	bool df, padded;
	uint16_t ip_id;
	uint32_t seq, ack;
	uint32_t hash;       /* flow hash (addresses, ports) */
};

/* A held aggregate. Its flow identity is the first segment's header bytes in
 * buf (L2 header with tags, addresses, ports; IPv6 version/flow label and
 * extension headers), which are not changed until the flush. */
struct agg {
	uint32_t hash;
	uint16_t l3off, l4off, hdr_len, thlen;
	uint8_t af;
	bool fixedid, sum_ok;
	uint8_t *buf;
	uint32_t len;             /* aggregate frame length (L2 .. end of payload) */
	uint16_t count, mss, ip_id0;
	uint32_t next_seq;
	int32_t hnext;            /* hash chain */
	int32_t aprev, anext;     /* age list, oldest first */
	uint32_t orig_len;        /* first frame's length as received (count == 1) */
	uint64_t first_ts, last_ts;
	uint64_t data_sum;        /* payload native sum, aligned to the aggregate (if sum_ok) */
	/* inet_lro: latest values written at flush */
	uint32_t ack, tsval, tsecr;
	uint16_t win;
	bool has_ts;
	uint8_t nvec;             /* fast path: 16-byte blocks compared (0 = none) */
	const uint8_t *fpm;       /* fast path: mask of the header bytes compared */
	uint64_t csum_c;          /* fast path: native sum of the pseudo-header addresses,
				     ports and the option bytes the mask compares */
	uint64_t ip_c;            /* fast path: native sum of the IPv4 addresses */
	/* fast path: the first header again, compared on every segment. Kept here,
	   beside the fields read per segment, because buf's first lines leave L1 while
	   the payload behind them is written (the compare then waited on L2). */
	uint8_t fph[FP_MAX] __attribute__((aligned(16)));
	uint32_t ports;           /* fast path: the ports word (native), a quick first test */
	/* zero-copy mode: buf holds the first segment's headers only; the payload
	   is frags[0 .. nfrags - 1] (the last one, once the array is full, in buf
	   at the payload's own offset, growing); orig = the caller's first frame */
	struct lro_frag *frags;
	uint32_t nfrags;
	const uint8_t *orig;
};

struct lro {
	struct lro_config c;
	lro_emit_fn emit;
	void *ctx;
	enum simd simd;
	bool keep_sum;            /* aggregates' payload sums kept (complete checksums) */
	bool need_sum;            /* payload sums needed: verify or complete checksums (with
				     trusted checksums from the 2nd segment on) */
	int32_t last;             /* slot of the flow looked up last (or NONE) */
	uint64_t m_acktcp;        /* native mask of TCP bytes 8..15 compared by linux (all
				     but PSH/FIN) */
	struct lro_stats st;
	struct agg *a;
	int32_t *heads;
	uint32_t hmask;
	int32_t *freel;
	unsigned nfree;
	int32_t oldest, newest;
	uint8_t *bufs;
	struct lro_frag *fragmem; /* zero-copy: LRO_MAX_FRAGS per slot */
	/* fast-path masks for untagged frames: [IPv6][thlen / 4 - 5] */
	uint8_t fpm[2][11][FP_MAX] __attribute__((aligned(16)));
};

/* --------------------------------------------------------------- utilities */

static inline uint32_t hash4(uint64_t addrs, uint32_t ports)
{
	uint64_t h = (addrs ^ ((uint64_t)ports * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
	return (uint32_t)(h >> 32);
}

static inline uint32_t hash6(const uint8_t *addrs, uint32_t ports)
{
	uint64_t x = (ld64n(addrs) + ld64n(addrs + 16)) ^ ((ld64n(addrs + 8) + ld64n(addrs + 24)) * 0xc2b2ae3d27d4eb4full);
	return hash4(x, ports);
}

static void emit_frame(struct lro *l, const uint8_t *f, uint32_t len, uint64_t ts, bool data)
{
	struct lro_out o = {.frame = f, .len = len, .ts_ns = ts, .segs = 1,
			    .gso_type = LRO_GSO_NONE, .flush_reason = 0xff};
	l->st.frames_out++;
	if (data)
		l->st.data_frames_out++;
	l->emit(l->ctx, &o);
}

/* ---------------------------------------------------------------- parsing */

enum prs { P_PASS, P_BYPASS, P_TCP };

/* Parse an Ethernet/IP/TCP frame. P_PASS: not a TCP segment of any flow we
 * hold (non-IP, other protocol, non-first fragment, too short): emitted as is.
 * P_BYPASS: a TCP segment we must not merge (IP options, fragment, bad IP
 * checksum, length mismatch...) but whose flow is known (hash and offsets valid).
 * P_TCP: mergeable candidate. */
static inline enum prs parse(const struct lro *l, const uint8_t *f, uint32_t len, struct pkt *p)
{
	enum prs verdict = P_TCP;
	uint32_t off = 12;
	uint16_t et;

	if (UNLIKELY(len < ETH_HLEN))
		return P_PASS;
	et = ld16(f + 12);
	while (UNLIKELY(et == 0x8100 || et == 0x88a8 || et == 0x9100)) {
		off += 4;
		if (off + 2 > MAX_L2 || off + 2 > len)
			return P_PASS;
		et = ld16(f + off);
	}
	off += 2;
	p->f = f;
	p->caplen = len;
	p->l3off = (uint16_t)off;

	const uint8_t *ip = f + off;
	uint32_t avail = len - off;
	uint32_t l4;
	uint8_t proto;
	if (LIKELY(et == 0x0800)) {
		if (avail < 20 || (ip[0] >> 4) != 4)
			return P_PASS;
		uint32_t ihl = (ip[0] & 15u) * 4;
		if (ihl < 20 || avail < ihl)
			return P_PASS;
		proto = ip[9];
		if (proto != 6)
			return P_PASS;
		uint16_t frag = ld16(ip + 6);
		if (frag & 0x1fff)  /* non-first fragment: no TCP header */
			return P_PASS;
		p->af = 4;
		p->l3len = ld16(ip + 2);
		p->tos = ip[1];
		p->ttl = ip[8];
		p->df = frag & 0x4000;
		p->ip_id = ld16(ip + 4);
		l4 = ihl;
		if (ihl != 20)                       /* rule: IP options never merge */
			verdict = P_BYPASS;
		else if (frag & 0xa000)              /* rule: MF or reserved bit */
			verdict = P_BYPASS;
		else if (l->c.verify_csum && !ip4_csum_ok(ip)) /* rule: IP csum */
			verdict = P_BYPASS;
	} else if (et == 0x86dd) {
		if (avail < 40 || (ip[0] >> 4) != 6)
			return P_PASS;
		p->af = 6;
		p->l3len = 40u + ld16(ip + 4);
		if (p->l3len == 40)  /* jumbogram or empty */
			return P_PASS;
		p->tos = (uint8_t)(ld16(ip) >> 4);
		p->ttl = ip[7];
		p->df = false;
		p->ip_id = 0;
		proto = ip[6];
		l4 = 40;
		/* rule: HBH, routing and destination options are parsed and are part
		 * of the flow identity; a fragment header is never merged */
		while (proto == 0 || proto == 43 || proto == 60 || proto == 44) {
			if (l4 + 8 > avail)
				return P_PASS;
			if (proto == 44) {
				if (ld16(ip + l4 + 2) & 0xfff8) /* non-first fragment */
					return P_PASS;
				verdict = P_BYPASS;
				proto = ip[l4];
				l4 += 8;
				continue;
			}
			uint32_t el = (ip[l4 + 1] + 1u) * 8;
			proto = ip[l4];
			l4 += el;
			if (l4 > avail)
				return P_PASS;
		}
		if (proto != 6)
			return P_PASS;
		if (l->c.policy == LRO_POLICY_INET_LRO) /* inet_lro: IPv4 only */
			verdict = P_BYPASS;
	} else {
		return P_PASS;
	}

	/* TCP header must be captured to know the flow */
	if (UNLIKELY(l4 + 20 > avail))
		return P_PASS;
	const uint8_t *th = ip + l4;
	p->l4off = (uint16_t)(off + l4);
	p->thlen = (uint16_t)((th[12] >> 4) * 4);
	p->hash = p->af == 4 ? hash4(ld64n(ip + 12), ld32n(th)) : hash6(ip + 8, ld32n(th));
	p->seq = ld32(th + 4);
	p->ack = ld32(th + 8);
	p->flags = th[13];
	p->hdr_len = (uint16_t)(p->l4off + p->thlen);

	if (UNLIKELY(p->thlen < 20 || l4 + p->thlen > p->l3len || p->l3len > avail)) {
		/* truncated/short: cannot be merged; still the flow's packet */
		p->plen = 0;
		return P_BYPASS;
	}
	p->plen = p->l3len - l4 - p->thlen;
	p->padded = avail > p->l3len;
	if (UNLIKELY(len > BUF_SIZE)) /* absurd padding: never copied into a slot */
		verdict = P_BYPASS;
	/* rule: L2 padding - Linux (2026 selftest data_lrg_1byte) takes the payload
	 * from the IP length; inet_lro refuses padded frames */
	if (p->padded && l->c.policy == LRO_POLICY_INET_LRO)
		verdict = P_BYPASS;

	return verdict;
}

/* TCP checksum of a segment as received (IP header ip, TCP header th of
 * thlen bytes, plen payload bytes), given the payload's native sum. */
static inline bool seg_csum_ok(const uint8_t *ip, uint8_t af, const uint8_t *th, unsigned thlen, uint32_t plen,
			       uint64_t dsum)
{
	return sum_ok0(sum_addrs(ip, af) + sum_words(th, thlen) + dsum + native_of_be(6u + thlen + plen));
}

static inline bool tcp_csum_ok(const struct pkt *p, uint64_t dsum)
{
	return seg_csum_ok(p->f + p->l3off, p->af, p->f + p->l4off, p->thlen, p->plen, dsum);
}

/* ------------------------------------------------------------------ table */

/* Equal L2 headers of n bytes (14..MAX_L2): MACs, VLAN tags, EtherType. */
static inline bool same_l2(const uint8_t *x, const uint8_t *y, unsigned n)
{
	uint64_t d = (ld64n(x) ^ ld64n(y)) | (ld64n(x + n - 8) ^ ld64n(y + n - 8));
	if (n > 16)
		d |= ld64n(x + 8) ^ ld64n(y + 8);
	if (n > 24)
		d |= ld64n(x + 16) ^ ld64n(y + 16);
	return !d;
}

/* rule: the flow is L2 header (MACs, VLANs), addresses and ports; IPv6 also
 * version + flow label (not the traffic class) and equal extension headers */
static inline bool same_flow(const struct agg *a, const struct pkt *p)
{
	if (a->hash != p->hash || a->l3off != p->l3off || a->af != p->af)
		return false;
	const uint8_t *f = p->f, *g = a->buf;
	unsigned n = p->l3off;
	if (!same_l2(f, g, n) || ld32n(f + p->l4off) != ld32n(g + a->l4off))
		return false;
	const uint8_t *ip = f + n, *ip2 = g + n;
	if (p->af == 4)
		return ld64n(ip + 12) == ld64n(ip2 + 12);
	static const uint8_t vfl[4] = {0xf0, 0x0f, 0xff, 0xff}; /* version, flow label */
	if (p->l4off != a->l4off || ((ld32n(ip) ^ ld32n(ip2)) & ld32n(vfl)))
		return false;
	if ((ld64n(ip + 8) ^ ld64n(ip2 + 8)) | (ld64n(ip + 16) ^ ld64n(ip2 + 16)) |
	    (ld64n(ip + 24) ^ ld64n(ip2 + 24)) | (ld64n(ip + 32) ^ ld64n(ip2 + 32)))
		return false;
	return !memcmp(ip + 40, ip2 + 40, p->l4off - n - 40u);
}

static inline int32_t lookup(struct lro *l, const struct pkt *p)
{
	int32_t i = l->last;
	if (i != NONE && same_flow(&l->a[i], p))
		return i;
	for (i = l->heads[p->hash & l->hmask]; i != NONE; i = l->a[i].hnext)
		if (same_flow(&l->a[i], p)) {
			l->last = i;
			return i;
		}
	return NONE;
}

static void unlink_slot(struct lro *l, int32_t i)
{
	struct agg *a = &l->a[i];
	int32_t *pp = &l->heads[a->hash & l->hmask];
	while (*pp != i)
		pp = &l->a[*pp].hnext;
	*pp = a->hnext;
	if (a->aprev != NONE)
		l->a[a->aprev].anext = a->anext;
	else
		l->oldest = a->anext;
	if (a->anext != NONE)
		l->a[a->anext].aprev = a->aprev;
	else
		l->newest = a->aprev;
	if (l->last == i)
		l->last = NONE;
	l->freel[l->nfree++] = i;
}

/* Zero-copy: native-order sum of the aggregate's payload (its fragments), each
 * fragment's sum swapped when it starts at an odd offset, as append() does. */
static uint64_t frags_sum(const struct lro *l, const struct agg *a)
{
	uint64_t s = 0;
	uint32_t off = 0;
	for (uint32_t k = 0; k < a->nfrags; k++) {
		uint64_t d = sum_only(l->simd, a->frags[k].p, a->frags[k].len);
		s += (off & 1) ? swap16(fold16(d)) : d;
		off += a->frags[k].len;
	}
	return s;
}

/* Write the aggregate's final headers and hand it out. */
static void flush_slot(struct lro *l, int32_t i, int reason, uint64_t now)
{
	struct agg *a = &l->a[i];
	uint64_t ts = now > a->last_ts ? now : a->last_ts;
	struct lro_out o = {.ts_ns = ts, .segs = a->count, .flush_reason = (uint8_t)reason};

	l->st.flushes[reason]++;
	l->st.frames_out++;
	l->st.data_frames_out++;
	if (a->count == 1) {
		o.frame = l->c.zero_copy ? a->orig : a->buf;
		o.len = a->orig_len;
		o.gso_type = LRO_GSO_NONE;
	} else {
		uint8_t *ip = a->buf + a->l3off, *th = a->buf + a->l4off;
		uint32_t l3len = a->len - a->l3off, tcplen = a->len - a->l4off;
		l->st.aggregates_out++;
		if (a->af == 4) {
			st16(ip + 2, (uint16_t)l3len);
			st16(ip + 10, 0);
			st16(ip + 10, (uint16_t)~fold16(be_of_native(sum_ip4(ip))));
		} else {
			st16(ip + 4, (uint16_t)(l3len - 40));
		}
		if (l->c.policy == LRO_POLICY_INET_LRO) {
			/* inet_lro: header carries the latest ACK, window and TSecr */
			st32(th + 8, a->ack);
			st16(th + 14, a->win);
			if (a->has_ts)
				st32(th + 28, a->tsecr);
		}
		if (l->c.csum_complete || l->c.policy == LRO_POLICY_INET_LRO) {
			st16(th + 16, 0);
			uint64_t s = tcp_hdr_sum(ip, a->af, th, a->thlen, tcplen);
			if (a->sum_ok)
				s += be_of_native(a->data_sum);
			else if (l->c.zero_copy)
				s += be_of_native(frags_sum(l, a));
			else
				s += csum_bytes(th + a->thlen, tcplen - a->thlen);
			st16(th + 16, (uint16_t)~fold16(s));
			o.csum_partial = false;
		} else {
			/* CHECKSUM_PARTIAL: pseudo-header sum */
			st16(th + 16, fold16(pseudo_sum(ip, a->af, tcplen)));
			o.csum_partial = true;
		}
		o.frame = a->buf;
		o.len = a->len;
		if (l->c.zero_copy) {
			o.frags = a->frags;
			o.nfrags = a->nfrags;
		}
		o.gso_type = a->af == 4 ? LRO_GSO_TCPV4 : LRO_GSO_TCPV6;
		o.gso_size = a->mss;
		o.hdr_len = a->hdr_len;
	}
	o.csum_start = a->l4off;
	o.csum_offset = 16;
	unlink_slot(l, i);
	l->emit(l->ctx, &o);
}

/* Take a free slot, evicting the oldest aggregate if none (linux). */
static int32_t get_slot(struct lro *l, uint64_t now)
{
	if (!l->nfree) {
		if (l->c.policy == LRO_POLICY_INET_LRO)
			return NONE; /* inet_lro: no descriptor => packet passed up */
		flush_slot(l, l->oldest, LRO_FLUSH_EVICT, now);
	}
	return l->freel[--l->nfree];
}

/* Copy the whole frame to buf (headers, payload, L2 padding), summing the
 * payload in the same pass; returns the payload sum. */
static uint64_t copy_frame_sum(const struct lro *l, uint8_t *buf, const struct pkt *p)
{
	uint32_t end = (uint32_t)p->hdr_len + p->plen; /* = l3off + l3len */
	memcpy(buf, p->f, p->hdr_len);
	uint64_t d = copy_sum(l->simd, buf + p->hdr_len, p->f + p->hdr_len, p->plen);
	if (p->caplen > end)
		memcpy(buf + end, p->f + end, p->caplen - end);
	return d;
}

/* Start an aggregate with packet p in slot i (frame already in a->buf;
 * payload sum dsum when sum_ok). */
static inline void hold(struct lro *l, int32_t i, const struct pkt *p, uint64_t ts, bool sum_ok, uint64_t dsum)
{
	struct agg *a = &l->a[i];
	a->hash = p->hash;
	a->orig_len = p->caplen;
	a->len = p->l3off + p->l3len;
	a->l3off = p->l3off;
	a->l4off = p->l4off;
	a->hdr_len = p->hdr_len;
	a->thlen = p->thlen;
	a->af = p->af;
	a->fixedid = false;
	a->count = 1;
	a->mss = (uint16_t)p->plen;
	a->ip_id0 = p->ip_id;
	a->next_seq = p->seq + p->plen;
	a->first_ts = a->last_ts = ts;
	a->sum_ok = sum_ok;
	a->data_sum = dsum;
	const uint8_t *th = p->f + p->l4off;
	a->ack = p->ack;
	a->win = ld16(th + 14);
	a->has_ts = p->thlen == 32;
	if (a->has_ts) {
		a->tsval = ld32(th + 24);
		a->tsecr = ld32(th + 28);
	}
	int32_t *hp = &l->heads[p->hash & l->hmask];
	a->hnext = *hp;
	*hp = i;
	a->anext = NONE;
	a->aprev = l->newest;
	if (l->newest != NONE)
		l->a[l->newest].anext = i;
	else
		l->oldest = i;
	l->newest = i;
	l->last = i;
	a->nvec = NV_UNSET; /* fast path set up when the next segment comes */
}

/* Hold p as a new aggregate: verify its TCP checksum (when asked) in the same
 * pass as the copy into a free slot. Returns the slot, or NONE if the
 * checksum is bad (then nothing is held and nothing evicted). The caller
 * checked that inet_lro has a free slot. */
static int32_t start(struct lro *l, const struct pkt *p, uint64_t ts)
{
	int32_t s;
	if (l->c.zero_copy) {
		/* headers copied; the payload stays in the caller's frame */
		uint64_t d = 0;
		if (l->c.verify_csum && !tcp_csum_ok(p, d = sum_only(l->simd, p->f + p->hdr_len, p->plen)))
			return NONE;
		s = get_slot(l, ts);
		struct agg *a = &l->a[s];
		memcpy(a->buf, p->f, p->hdr_len);
		hold(l, s, p, ts, l->c.verify_csum, d);
		a->orig = p->f;
		a->frags[0] = (struct lro_frag){p->f + p->hdr_len, p->plen};
		a->nfrags = 1;
		return s;
	}
	if (!l->c.verify_csum) { /* complete checksums: summed once a 2nd segment joins */
		s = get_slot(l, ts);
		memcpy(l->a[s].buf, p->f, p->caplen);
		hold(l, s, p, ts, false, 0);
		return s;
	}
	uint64_t d;
	if (LIKELY(l->nfree)) {
		s = l->freel[l->nfree - 1];
		d = copy_frame_sum(l, l->a[s].buf, p);
		if (l->c.verify_csum && !tcp_csum_ok(p, d))
			return NONE;
		l->nfree--;
	} else {
		/* table full: check before evicting the oldest */
		d = sum_native(p->f + p->hdr_len, p->plen);
		if (l->c.verify_csum && !tcp_csum_ok(p, d))
			return NONE;
		s = get_slot(l, ts);
		memcpy(l->a[s].buf, p->f, p->caplen);
	}
	hold(l, s, p, ts, true, d);
	return s;
}

/* ------------------------------------------------------- linux GRO rules */

/* flags, reserved bits and data offset must match, PSH/FIN excepted (CWR too, AccECN) */
static int rule_flags(const uint8_t *th, const uint8_t *th2)
{
	if (th[12] != th2[12])
		return LRO_FLUSH_OPTS; /* data offset (option length) or reserved bits */
	return ((th[13] ^ th2[13]) & ~(TH_FIN | TH_PSH)) ? LRO_FLUSH_FLAGS : -1;
}
/* receive window is in the compared flag word */
static int rule_window(const uint8_t *th, const uint8_t *th2)
{
	return memcmp(th + 14, th2 + 14, 2) ? LRO_FLUSH_WIN : -1;
}
/* ACK number identical */
static int rule_ack(const uint8_t *th, const uint8_t *th2)
{
	return memcmp(th + 8, th2 + 8, 4) ? LRO_FLUSH_ACK : -1;
}
/* every option byte identical (timestamps included) */
static int rule_options(const uint8_t *th, const uint8_t *th2, unsigned thlen)
{
	uint32_t d = 0;
	for (unsigned o = 20; o < thlen; o += 4) /* thlen: a multiple of 4 */
		d |= ld32n(th + o) ^ ld32n(th2 + o);
	return d ? LRO_FLUSH_OPTS : -1;
}
/* IPv4: TTL, TOS and DF equal; IPv6: hop limit and traffic class equal */
static int rule_ip_fields(const struct pkt *p, const uint8_t *ip2)
{
	if (p->af == 4)
		return (p->ttl != ip2[8] || p->tos != ip2[1] || p->df != !!(ip2[6] & 0x40)) ? LRO_FLUSH_IP : -1;
	return (p->ttl != ip2[7] || p->tos != (uint8_t)(ld16(ip2) >> 4)) ? LRO_FLUSH_IP : -1;
}
/* IPv4 ID: at the 2nd segment decide fixed (== first) or incrementing (first + count) */
static int rule_ip_id(const struct pkt *p, struct agg *a)
{
	if (p->af != 4)
		return -1;
	uint16_t off = (uint16_t)(p->ip_id - a->ip_id0);
	if (a->count == 1 && off == 0)
		a->fixedid = true;
	return off != (a->fixedid ? 0 : (uint16_t)a->count) ? LRO_FLUSH_IP : -1;
}
/* next segment must start where the aggregate ends (mod 2^32) */
static int rule_seq(const struct pkt *p, const struct agg *a)
{
	return p->seq != a->next_seq ? LRO_FLUSH_SEQ : -1;
}
/* a segment longer than the first one (the MSS) never joins */
static int rule_larger(const struct pkt *p, const struct agg *a)
{
	return p->plen > a->mss ? LRO_FLUSH_LARGER : -1;
}
/* aggregate L3 length stays <= max_l3 (65535: gro_max_size 65536) */
static int rule_size(const struct lro *l, const struct pkt *p, const struct agg *a)
{
	return (a->len - a->l3off) + p->plen > l->c.max_l3 ? LRO_FLUSH_SIZE : -1;
}

static inline int linux_mismatch(const struct lro *l, const struct pkt *p, struct agg *a)
{
	const uint8_t *th = p->f + p->l4off, *th2 = a->buf + a->l4off;
	int r;
	/* TCP bytes 8..15 (ACK, data offset, flags, window) all equal but PSH/FIN:
	 * rule_flags, rule_ack and rule_window pass; else find which, in order */
	if (UNLIKELY((ld64n(th + 8) ^ ld64n(th2 + 8)) & l->m_acktcp) &&
	    ((r = rule_flags(th, th2)) >= 0 || (r = rule_ack(th, th2)) >= 0 ||
	     (r = rule_window(th, th2)) >= 0))
		return r;
	if ((r = rule_options(th, th2, p->thlen)) >= 0 ||
	    (r = rule_ip_fields(p, a->buf + a->l3off)) >= 0 || (r = rule_seq(p, a)) >= 0 ||
	    (r = rule_larger(p, a)) >= 0 || (r = rule_size(l, p, a)) >= 0 ||
	    (r = rule_ip_id(p, a)) >= 0)
		return r;
	return -1;
}

/* SYN/RST/URG/PSH/FIN segments and zero-payload segments are never held */
static bool linux_never_held(const struct pkt *p)
{
	return p->plen == 0 || (p->flags & (TH_URG | TH_PSH | TH_RST | TH_SYN | TH_FIN));
}

/* ------------------------------------------------------ inet_lro rules */

/* inet_lro lro_tcp_ip_check: shape of a segment that may start/join a session.
 * a == NULL when starting. Returns -1 if fine, else a flush reason. */
static int inet_check(const struct pkt *p, const struct agg *a)
{
	const uint8_t *th = p->f + p->l4off;
	if (p->plen == 0)
		return LRO_FLUSH_NO_PAYLOAD;
	/* only ACK (and PSH) may be set: no CWR/ECE/URG/RST/SYN/FIN, ACK required */
	if ((p->flags & (TH_CWR | TH_ECE | TH_URG | TH_RST | TH_SYN | TH_FIN)) || !(p->flags & TH_ACK))
		return LRO_FLUSH_FLAGS;
	/* CE-marked segments are not aggregated */
	if ((p->tos & 3) == 3)
		return LRO_FLUSH_IP;
	/* options: none, or exactly NOP,NOP,TS */
	if (p->thlen != 20 && p->thlen != 32)
		return LRO_FLUSH_OPTS;
	if (p->thlen == 32) {
		if (ld32(th + 20) != 0x0101080au)
			return LRO_FLUSH_OPTS;
		/* TSval must not go back (PAWS); TSecr must be non-zero */
		if (a && (!a->has_ts || (int32_t)(ld32(th + 24) - a->tsval) < 0))
			return LRO_FLUSH_OPTS;
		if (ld32(th + 28) == 0)
			return LRO_FLUSH_OPTS;
	} else if (a && a->has_ts) {
		return LRO_FLUSH_OPTS;
	}
	return -1;
}

/* ------------------------------------------------------------------- rx */

/* Copy the payload of frame f (plen bytes; its headers are laid out as the
 * aggregate's: same flow, same data offset) to the aggregate's tail, summing
 * it in the same pass when sums are kept, and verify the checksum when asked
 * (fast: the fast path's header compare passed, so the header words it
 * compares are summed in a->csum_c). Returns false (nothing committed) if the
 * checksum is bad. */
__attribute__((always_inline)) static inline bool append(struct lro *l, struct agg *a, const uint8_t *f,
							 uint32_t plen, bool fast)
{
	uint8_t *dst = a->buf + a->len;
	const uint8_t *src = f + a->hdr_len;
	/* zero-copy: referenced in place while the fragment array has room */
	bool ref = l->c.zero_copy && LIKELY(a->nfrags < LRO_MAX_FRAGS - 1);
	if (UNLIKELY(!a->sum_ok) && l->need_sum) {
		/* trusted, complete checksums: the first segment's payload (in cache) */
		if (l->c.zero_copy)
			a->data_sum = frags_sum(l, a);
		else
			a->data_sum = be_of_native(csum_bytes(a->buf + a->hdr_len, a->len - a->hdr_len)); /* = native */
		a->sum_ok = true;
	}
	if (a->sum_ok) {
		uint64_t d = ref ? sum_only(l->simd, src, plen) : copy_sum(l->simd, dst, src, plen);
		if (fast && l->c.verify_csum) {
			const uint8_t *th = f + a->l4off;
			uint64_t hs = a->csum_c + halves(ld64n(th + 4)) + halves(ld64n(th + 12));
			if (l->c.policy == LRO_POLICY_INET_LRO && a->has_ts)
				hs += halves(ld64n(th + 24)); /* TSval, TSecr */
			if (!sum_ok0(hs + d + native_of_be(6u + a->thlen + plen)))
				return false;
		} else if (l->c.verify_csum &&
			   !seg_csum_ok(f + a->l3off, a->af, f + a->l4off, a->thlen, plen, d)) {
			return false;
		}
		/* at an odd offset of the aggregate the bytes swap halves: x 256
		   (only complete checksums use the aggregate's sum) */
		if (l->keep_sum)
			a->data_sum += ((a->len - a->l4off) & 1) ? swap16(fold16(d)) : d;
	} else if (!ref) {
		memcpy(dst, src, plen);
	}
	if (l->c.zero_copy) {
		if (ref)
			a->frags[a->nfrags++] = (struct lro_frag){src, plen};
		else if (a->nfrags == LRO_MAX_FRAGS - 1) /* array full: one growing copy */
			a->frags[a->nfrags++] = (struct lro_frag){dst, plen};
		else
			a->frags[a->nfrags - 1].len += plen;
	}
	a->len += plen;
	a->count++;
	a->next_seq += plen;
	l->st.segs_merged++;
	return true;
}

/* i: the flow's held aggregate or NONE */
static inline void rx_linux(struct lro *l, const struct pkt *p, int32_t i, uint64_t ts)
{
	if (i != NONE) {
		struct agg *a = &l->a[i];
		if (p->plen == 0) { /* rule: zero payload never merges, flushes held */
			flush_slot(l, i, LRO_FLUSH_NO_PAYLOAD, ts);
			emit_frame(l, p->f, p->caplen, ts, false);
			return;
		}
		int r = linux_mismatch(l, p, a);
		if (LIKELY(r < 0)) {
			if (UNLIKELY(!append(l, a, p->f, p->plen, false))) {
				l->st.csum_bad++;
				l->st.bypassed++;
				flush_slot(l, i, LRO_FLUSH_BYPASS, ts);
				emit_frame(l, p->f, p->caplen, ts, true);
				return;
			}
			a->last_ts = ts;
			uint8_t *th2 = a->buf + a->l4off;
			th2[13] |= p->flags & (TH_PSH | TH_FIN); /* rule: PSH/FIN OR-ed into head */
			if (p->flags & (TH_PSH | TH_FIN))       /* ... and end the aggregate */
				flush_slot(l, i, LRO_FLUSH_PSH_FIN, ts);
			else if (p->plen < a->mss)              /* rule: short segment ends it */
				flush_slot(l, i, LRO_FLUSH_SHORT, ts);
			return;
		}
		flush_slot(l, i, r, ts);
	}
	if (linux_never_held(p)) {
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, p->plen > 0);
		return;
	}
	if (start(l, p, ts) == NONE) { /* rule: bad checksum => passed through */
		l->st.csum_bad++;
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, true);
	}
}

/* i: the flow's held aggregate or NONE */
static inline void rx_inet(struct lro *l, const struct pkt *p, int32_t i, uint64_t ts)
{
	if (i != NONE) {
		struct agg *a = &l->a[i];
		int r = rule_seq(p, a);
		if (r < 0)
			r = inet_check(p, a);
		if (r < 0 && (a->len - a->l3off) + p->plen > 65535u) /* never past 64 KiB */
			r = LRO_FLUSH_SIZE;
		if (r < 0) {
			if (!append(l, a, p->f, p->plen, false)) {
				l->st.csum_bad++;
				r = LRO_FLUSH_BYPASS;
			}
		}
		if (r >= 0) { /* inet_lro: flush the session, pass the packet up */
			flush_slot(l, i, r, ts);
			l->st.bypassed++;
			emit_frame(l, p->f, p->caplen, ts, p->plen > 0);
			return;
		}
		const uint8_t *th = p->f + p->l4off;
		a->last_ts = ts;
		a->ack = p->ack;
		a->win = ld16(th + 14);
		if (a->has_ts)
			a->tsecr = ld32(th + 28); /* TSval of the first segment is kept (PAWS) */
		if (p->plen > a->mss)
			a->mss = (uint16_t)p->plen; /* gso_size = largest segment */
		if (a->count >= l->c.max_aggr)
			flush_slot(l, i, LRO_FLUSH_MAX_AGGR, ts);
		else if (a->len - a->l3off > 65535u - l->c.mtu)
			flush_slot(l, i, LRO_FLUSH_SIZE, ts);
		return;
	}
	if (inet_check(p, NULL) >= 0 || !l->nfree) {
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, p->plen > 0);
		return;
	}
	int32_t s = start(l, p, ts);
	if (s == NONE) {
		l->st.csum_bad++;
		l->st.bypassed++;
		emit_frame(l, p->f, p->caplen, ts, true);
		return;
	}
	if (l->c.max_aggr <= 1)
		flush_slot(l, s, LRO_FLUSH_MAX_AGGR, ts);
}

/* ------------------------------------------------------------ fast path */

/* Mask of the header bytes (untagged frame, IPv4 without options or IPv6
 * without extension headers, thlen) that must equal the aggregate's first
 * header for the rules to pass: every byte but the IP length, ID and header
 * checksum, the sequence number, PSH/FIN (linux) / PSH (inet_lro), the TCP
 * checksum and urgent pointer; inet_lro also lets TOS, TTL, DF, ACK, window and
 * the timestamp values differ (checked one by one where it has a rule). */
static void fp_mask(uint8_t *m, enum lro_policy pol, int af, unsigned thlen)
{
	bool inet = pol == LRO_POLICY_INET_LRO;
	unsigned l4off = ETH_HLEN + (af == 4 ? 20 : 40);
	uint8_t *ip = m + ETH_HLEN, *th = m + l4off;
	memset(m, 0, FP_MAX);
	memset(m, 0xff, l4off + thlen);
	if (af == 4) {
		ip[2] = ip[3] = ip[4] = ip[5] = ip[10] = ip[11] = 0; /* length, ID, checksum */
		if (inet) {
			ip[1] = ip[8] = 0;         /* TOS, TTL */
			ip[6] = (uint8_t)~0x40;    /* DF */
		}
	} else {
		ip[4] = ip[5] = 0;                 /* payload length */
	}
	memset(th + 4, 0, 4);                      /* seq */
	th[13] = (uint8_t)~(inet ? TH_PSH : TH_PSH | TH_FIN);
	memset(th + 16, 0, 4);                     /* checksum, urgent pointer */
	if (inet) {
		memset(th + 8, 0, 4);              /* ACK */
		th[14] = th[15] = 0;               /* window */
		if (thlen == 32)
			memset(th + 24, 0, 8);     /* TSval, TSecr */
	}
}

/* f's first n * 16 bytes (4 <= n <= 8) equal h's where m is set. */
static inline bool hdr_match(const uint8_t *f, const uint8_t *h, const uint8_t *m, unsigned n)
{
#if defined(LRO_X86) && defined(__SSE2__)
#define HM_BLOCK(k) _mm_and_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(f + 16 * (k))), \
						 _mm_loadu_si128((const __m128i *)(const void *)(h + 16 * (k)))), \
				  _mm_load_si128((const __m128i *)(const void *)(m + 16 * (k))))
	__m128i acc = _mm_or_si128(_mm_or_si128(HM_BLOCK(0), HM_BLOCK(1)), _mm_or_si128(HM_BLOCK(2), HM_BLOCK(3)));
	if (n > 4) {
		acc = _mm_or_si128(acc, HM_BLOCK(4));
		if (n > 5) {
			acc = _mm_or_si128(acc, HM_BLOCK(5));
			for (unsigned k = 6; k < n; k++)
				acc = _mm_or_si128(acc, HM_BLOCK(k));
		}
	}
#undef HM_BLOCK
	return _mm_movemask_epi8(_mm_cmpeq_epi8(acc, _mm_setzero_si128())) == 0xffff;
#else
	uint64_t d = 0;
	for (unsigned k = 0; k < 2 * n; k++)
		d |= (ld64n(f + 8 * k) ^ ld64n(h + 8 * k)) & ld64n(m + 8 * k);
	return !d;
#endif
}

/* Set up the fast path of aggregate a (from its first header, unchanged
 * while held): untagged IPv4 / IPv6 without extension headers only. */
static void fp_setup(const struct lro *l, struct agg *a)
{
	a->nvec = 0;
	if (a->l3off != ETH_HLEN || a->l4off != ETH_HLEN + (a->af == 4 ? 20 : 40))
		return;
	const uint8_t *ip = a->buf + ETH_HLEN, *th = a->buf + a->l4off;
	unsigned optend = l->c.policy == LRO_POLICY_INET_LRO && a->has_ts ? 24 : a->thlen;
	a->fpm = l->fpm[a->af == 6][a->thlen / 4 - 5];
	a->nvec = (uint8_t)((a->hdr_len + 15) / 16);
	memcpy(a->fph, a->buf, a->hdr_len);
	a->ports = ld32n(th);
	memset(a->fph + a->hdr_len, 0, a->nvec * 16u - a->hdr_len);
	a->ip_c = sum_addrs(ip, a->af);
	a->csum_c = a->ip_c + ld32n(th) + sum_words(th + 20, optend - 20);
}

enum fast { FAST_DONE, FAST_MISS, FAST_NOFLOW };

/* The common case in one step: frame f continues a held aggregate and every
 * header byte the rules compare equals the aggregate's first header (one
 * masked compare, which also proves the flow identity and that parse() would
 * say P_TCP); the remaining per-segment checks are those of the full path.
 * Returns FAST_MISS with nothing changed (rule_ip_id's fixed-ID decision is
 * idempotent) when a check fails or the case is not covered: the full path
 * then decides, with the same result as if this had not run; FAST_NOFLOW
 * when no aggregate has the flow hash of an untagged frame read as IPv4
 * without options / IPv6 without extension headers. */
static inline enum fast rx_fast(struct lro *l, const uint8_t *f, uint32_t len, uint64_t ts)
{
	if (len < 64)
		return FAST_MISS;
	/* the flow of the previous segment: the header compare alone proves it */
	int32_t i = l->last;
	struct agg *a = i != NONE ? &l->a[i] : NULL;
	if (!a || a->nvec == NV_UNSET || !a->nvec || len < a->nvec * 16u || ld32n(f + a->l4off) != a->ports ||
	    !hdr_match(f, a->fph, a->fpm, a->nvec)) {
		uint16_t et = ld16(f + 12);
		uint32_t h;
		if (LIKELY(et == 0x0800))
			h = hash4(ld64n(f + 26), ld32n(f + 34));
		else if (et == 0x86dd)
			h = hash6(f + 22, ld32n(f + 54));
		else
			return FAST_MISS;
		for (i = l->heads[h & l->hmask]; i != NONE && l->a[i].hash != h; i = l->a[i].hnext)
			;
		if (i == NONE)
			return FAST_NOFLOW;
		a = &l->a[i];
		if (a->nvec == NV_UNSET)
			fp_setup(l, a);
		if (!a->nvec || len < a->nvec * 16u || !hdr_match(f, a->fph, a->fpm, a->nvec))
			return FAST_MISS;
	}

	const uint8_t *ip = f + ETH_HLEN, *th = f + a->l4off;
	uint32_t avail = len - ETH_HLEN, hl = a->hdr_len - ETH_HLEN; /* IP + TCP header */
	uint32_t l3len = a->af == 4 ? ld16(ip + 2) : 40u + ld16(ip + 4);
	if (l3len <= hl || l3len > avail || len > BUF_SIZE) /* no payload, truncated, ... */
		return FAST_MISS;
	if (a->af == 4 && l->c.verify_csum && !sum_ok0(halves(ld64n(ip)) + ld32n(ip + 8) + a->ip_c))
		return FAST_MISS; /* IPv4 header checksum (addresses: compared, in ip_c) */
	if (l->c.max_age_ns && ts - a->first_ts >= l->c.max_age_ns && ts >= a->first_ts)
		return FAST_MISS;
	uint32_t plen = l3len - hl, seq = ld32(th + 4);
	if (seq != a->next_seq)
		return FAST_MISS;
	if (l->c.policy == LRO_POLICY_LINUX) {
		if (plen > a->mss || (a->len - ETH_HLEN) + plen > l->c.max_l3)
			return FAST_MISS;
		if (a->af == 4) { /* rule_ip_id */
			uint16_t off = (uint16_t)(ld16(ip + 4) - a->ip_id0);
			if (a->count == 1 && off == 0)
				a->fixedid = true;
			if (off != (a->fixedid ? 0 : (uint16_t)a->count))
				return FAST_MISS;
		}
	} else {
		if (avail != l3len || (ip[1] & 3) == 3 || (a->len - ETH_HLEN) + plen > 65535u)
			return FAST_MISS; /* padding, CE, 64 KiB */
		if (a->has_ts && ((int32_t)(ld32(th + 24) - a->tsval) < 0 || ld32(th + 28) == 0))
			return FAST_MISS; /* TSval went back, TSecr 0 */
	}
	if (!append(l, a, f, plen, true))
		return FAST_MISS;

	l->st.segs_in++;
	l->last = i;
	a->last_ts = ts;
	uint8_t flags = th[13];
	if (l->c.policy == LRO_POLICY_LINUX) {
		uint8_t *th2 = a->buf + a->l4off;
		th2[13] |= flags & (TH_PSH | TH_FIN);
		if (flags & (TH_PSH | TH_FIN))
			flush_slot(l, i, LRO_FLUSH_PSH_FIN, ts);
		else if (plen < a->mss)
			flush_slot(l, i, LRO_FLUSH_SHORT, ts);
		return FAST_DONE;
	}
	a->ack = ld32(th + 8);
	a->win = ld16(th + 14);
	if (a->has_ts)
		a->tsecr = ld32(th + 28);
	if (plen > a->mss)
		a->mss = (uint16_t)plen;
	if (a->count >= l->c.max_aggr)
		flush_slot(l, i, LRO_FLUSH_MAX_AGGR, ts);
	else if (a->len - ETH_HLEN > 65535u - l->c.mtu)
		flush_slot(l, i, LRO_FLUSH_SIZE, ts);
	return FAST_DONE;
}

/* The full path: parse, look up, apply every rule. */
/* noflow: rx_fast found no aggregate with the hash of frame read as untagged
 * IPv4 without options / IPv6 without extension headers. */
__attribute__((noinline)) static void rx_full(struct lro *l, const uint8_t *frame, uint32_t len, uint64_t ts,
					      bool noflow)
{
	struct pkt p;
	enum prs v = parse(l, frame, len, &p);
	if (UNLIKELY(v == P_PASS)) {
		l->st.bypassed++;
		emit_frame(l, frame, len, ts, false);
		return;
	}
	if (p.plen)
		l->st.segs_in++;
	int32_t i = noflow && p.l3off == ETH_HLEN && p.l4off == ETH_HLEN + (p.af == 4 ? 20 : 40)
			    ? NONE /* p.hash is that hash */
			    : lookup(l, &p);
	if (UNLIKELY(v == P_BYPASS)) {
		/* unmergeable packet of a flow: flush that flow first (keeps order) */
		l->st.bypassed++;
		if (i != NONE)
			flush_slot(l, i, LRO_FLUSH_BYPASS, ts);
		emit_frame(l, frame, len, ts, p.plen > 0);
		return;
	}
	if (l->c.max_age_ns && i != NONE && ts - l->a[i].first_ts >= l->c.max_age_ns &&
	    ts >= l->a[i].first_ts) {
		flush_slot(l, i, LRO_FLUSH_AGE, ts);
		i = NONE;
	}
	if (l->c.policy == LRO_POLICY_LINUX)
		rx_linux(l, &p, i, ts);
	else
		rx_inet(l, &p, i, ts);
}

void lro_rx(struct lro *l, const uint8_t *frame, uint32_t len, uint64_t ts)
{
	l->st.frames_in++;
	enum fast r = rx_fast(l, frame, len, ts);
	if (LIKELY(r == FAST_DONE))
		return;
	rx_full(l, frame, len, ts, r == FAST_NOFLOW);
}

/* ------------------------------------------------------------ flushing */

void lro_poll_end(struct lro *l, uint64_t now)
{
	while (l->oldest != NONE)
		flush_slot(l, l->oldest, LRO_FLUSH_POLL_END, now);
}

void lro_flush_all(struct lro *l)
{
	lro_poll_end(l, 0);
}

void lro_flush_older(struct lro *l, uint64_t now, uint64_t age)
{
	int32_t i = l->oldest;
	while (i != NONE) {
		int32_t n = l->a[i].anext;
		if (now >= l->a[i].first_ts && now - l->a[i].first_ts >= age)
			flush_slot(l, i, LRO_FLUSH_AGE, now);
		i = n;
	}
}

unsigned lro_held(const struct lro *l)
{
	return l->c.table_size - l->nfree;
}

/* ---------------------------------------------------------- life cycle */

void lro_config_default(struct lro_config *c, enum lro_policy p)
{
	memset(c, 0, sizeof *c);
	c->policy = p;
	c->table_size = p == LRO_POLICY_LINUX ? 64 : 8;
	c->max_age_ns = 0;
	c->max_aggr = 64;
	c->mtu = 1500;
	c->max_l3 = 65535;
	c->verify_csum = true;
	c->csum_complete = p == LRO_POLICY_INET_LRO;
}

struct lro *lro_new(const struct lro_config *c, lro_emit_fn emit, void *ctx)
{
	if (!c || !emit || c->table_size < 1 || c->table_size > 4096 ||
	    (c->policy != LRO_POLICY_LINUX && c->policy != LRO_POLICY_INET_LRO) ||
	    c->max_aggr < 1 || c->max_aggr > 65535 || c->mtu < 68 || c->mtu > 65535 ||
	    c->max_l3 < 576 || c->max_l3 > 65535)
		return NULL;
	struct lro *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->c = *c;
	l->emit = emit;
	l->ctx = ctx;
	uint32_t nb = 1;
	while (nb < 2 * c->table_size)
		nb <<= 1;
	l->hmask = nb - 1;
	l->a = calloc(c->table_size, sizeof *l->a);
	l->heads = malloc(nb * sizeof *l->heads);
	l->freel = malloc(c->table_size * sizeof *l->freel);
	l->bufs = malloc((size_t)c->table_size * BUF_SIZE);
	if (c->zero_copy)
		l->fragmem = malloc((size_t)c->table_size * LRO_MAX_FRAGS * sizeof *l->fragmem);
	if (!l->a || !l->heads || !l->freel || !l->bufs || (c->zero_copy && !l->fragmem)) {
		lro_free(l);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		l->heads[i] = NONE;
	for (unsigned i = 0; i < c->table_size; i++) {
		l->a[i].buf = l->bufs + (size_t)i * BUF_SIZE;
		if (c->zero_copy)
			l->a[i].frags = l->fragmem + (size_t)i * LRO_MAX_FRAGS;
		l->freel[i] = (int32_t)(c->table_size - 1 - i);
	}
	l->nfree = c->table_size;
	l->oldest = l->newest = l->last = NONE;
	l->simd = simd_level();
	l->keep_sum = c->csum_complete || c->policy == LRO_POLICY_INET_LRO;
	l->need_sum = c->verify_csum || l->keep_sum;
	static const uint8_t m[8] = {0xff, 0xff, 0xff, 0xff, 0xff, (uint8_t)~(TH_PSH | TH_FIN), 0xff, 0xff};
	l->m_acktcp = ld64n(m);
	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned t = 0; t < 11; t++)
			fp_mask(l->fpm[v6][t], c->policy, v6 ? 6 : 4, 20 + 4 * t);
	return l;
}

void lro_free(struct lro *l)
{
	if (!l)
		return;
	free(l->a);
	free(l->heads);
	free(l->freel);
	free(l->bufs);
	free(l->fragmem);
	free(l);
}

const struct lro_stats *lro_stats(const struct lro *l) { return &l->st; }

void lro_out_gather(const struct lro_out *o, uint8_t *dst)
{
	if (!o->nfrags) {
		memcpy(dst, o->frame, o->len);
		return;
	}
	memcpy(dst, o->frame, o->hdr_len);
	dst += o->hdr_len;
	for (uint32_t k = 0; k < o->nfrags; k++) {
		memcpy(dst, o->frags[k].p, o->frags[k].len);
		dst += o->frags[k].len;
	}
}

double lro_rate(const struct lro_stats *s)
{
	return s->data_frames_out ? (double)s->segs_in / (double)s->data_frames_out : NAN;
}

static const char *const reason_names[LRO_FLUSH__COUNT] = {
	[LRO_FLUSH_POLL_END] = "poll_end", [LRO_FLUSH_AGE] = "age", [LRO_FLUSH_EVICT] = "evict",
	[LRO_FLUSH_PSH_FIN] = "psh_fin", [LRO_FLUSH_SHORT] = "short_segment",
	[LRO_FLUSH_LARGER] = "larger_segment", [LRO_FLUSH_SIZE] = "size_limit",
	[LRO_FLUSH_MAX_AGGR] = "max_aggr", [LRO_FLUSH_SEQ] = "seq_gap", [LRO_FLUSH_ACK] = "ack",
	[LRO_FLUSH_WIN] = "window", [LRO_FLUSH_OPTS] = "tcp_options", [LRO_FLUSH_FLAGS] = "tcp_flags",
	[LRO_FLUSH_IP] = "ip_header", [LRO_FLUSH_NO_PAYLOAD] = "no_payload",
	[LRO_FLUSH_BYPASS] = "unmergeable",
};

const char *lro_flush_reason_name(int r)
{
	return r >= 0 && r < LRO_FLUSH__COUNT ? reason_names[r] : "?";
}

const char *lro_policy_name(enum lro_policy p)
{
	return p == LRO_POLICY_LINUX ? "linux" : p == LRO_POLICY_INET_LRO ? "inet_lro" : "?";
}

int lro_policy_parse(const char *s, enum lro_policy *p)
{
	if (!s)
		return -1;
	if (!strcmp(s, "linux")) {
		*p = LRO_POLICY_LINUX;
		return 0;
	}
	if (!strcmp(s, "inet_lro")) {
		*p = LRO_POLICY_INET_LRO;
		return 0;
	}
	return -1;
}
