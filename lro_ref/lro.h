/* lro_ref/lro.h - the reference LRO/GRO engine.
 *
 * Takes Ethernet frames (optionally 802.1Q/802.1ad tagged) carrying IPv4 or
 * IPv6 TCP, holds per-flow aggregates in a fixed table and hands every frame
 * that leaves the engine to a caller callback:
 *   - an aggregate of N > 1 segments as ONE frame: the first segment's headers
 *     (PSH/FIN of the merged segments OR-ed in; for inet_lro the latest
 *     ACK/window/TSecr), IPv4 total length and header checksum / IPv6 payload
 *     length fixed, payload = the concatenated segment payloads, plus the GSO
 *     metadata a virtio_net_hdr needs (gso_type, gso_size, segment count,
 *     hdr_len, and either a pseudo-header "partial" TCP checksum with
 *     csum_start/csum_offset, or a complete TCP checksum);
 *   - every other frame unchanged (byte for byte, including L2 padding).
 *
 * Self-contained: no I/O, no printing, no dependency on the rest of lrokit,
 * and no allocation after lro_new() (one preallocated 64 KiB buffer and, in
 * zero-copy mode, one LRO_MAX_FRAGS-entry fragment array per table slot).
 *
 * Two buffer modes (lro_config.zero_copy), with the same merge decisions,
 * the same statistics and the same emitted bytes:
 *   copy (default)  every frame given to lro_rx need only be valid during the
 *                   call: a held segment is copied (headers, payload, L2
 *                   padding) into its slot's buffer, and each later payload is
 *                   appended there; an aggregate leaves as ONE contiguous
 *                   frame (lro_out.nfrags == 0). `lrokit replay` uses this
 *                   mode (its frames come from libpcap, valid for one packet).
 *   zero-copy       the NAPI model, as Linux GRO (page frags / frag_list) and
 *                   inet_lro: the caller promises every frame given to lro_rx
 *                   stays valid and unchanged until the next lro_poll_end()
 *                   or lro_flush_all() call returns (or lro_free()), e.g. RX
 *                   buffers recycled after the poll (more precisely: until no
 *                   aggregate holding it is left; lro_held() == 0 means the
 *                   engine references no caller frame). Only the header of an
 *                   aggregate's first segment is copied (and fixed up at
 *                   flush); payloads are referenced in place and
 *                   leave as fragments (lro_out.frags): header + frags = the
 *                   copy mode's frame, byte for byte. When a slot's fragment
 *                   array is full (more than LRO_MAX_FRAGS - 1 segments, e.g.
 *                   tiny segments), the later payloads are copied into the
 *                   slot's buffer, covered by one last growing fragment. A
 *                   single held segment leaves as the caller's own frame.
 *                   Checksums are verified by a sum-only pass over the payload.
 *                   testbed/stage.c (the testbed's NIC/netfront stages) uses it.
 *
 * Policies (chosen at lro_new):
 *   LRO_POLICY_LINUX     current Linux GRO (net/ipv4/tcp_offload.c, net/core/gro.c,
 *                        inet_gro_flush/ipv6_gro_flush): identical ACK, window
 *                        and option bytes; TTL/TOS/DF (hop limit/TC) equal; IPv4
 *                        ID fixed-or-incrementing decided at the 2nd segment
 *                        (DF not required for fixed IDs, as since 2025); a
 *                        segment larger than the first never joins, a smaller
 *                        one joins and ends the aggregate; PSH/FIN join and
 *                        end it; SYN/RST/URG never join and are never held;
 *                        zero-payload segments are never held; CWR compared
 *                        like the other flags (AccECN rule, 2025-26 kernels);
 *                        L3 length <= 65535; bad IP/TCP checksums, IP options,
 *                        fragments are passed through unmerged.
 *   LRO_POLICY_INET_LRO  the 2008 Linux inet_lro (net/ipv4/inet_lro.c), IPv4
 *                        only: ACK may advance and window may change (the
 *                        aggregate carries the latest ACK, window and TSecr,
 *                        the first TSval); TSval must not decrease, TSecr != 0;
 *                        only "no options" or NOP,NOP,TS; no ECE/CWR/URG/RST/
 *                        SYN/FIN, not CE-marked, no L2 padding; PSH merges and
 *                        does not end the aggregate; gso_size = the largest
 *                        segment; flush at max_aggr segments or L3 length >
 *                        65535 - mtu; a segment that does not continue a held
 *                        aggregate flushes it and is passed up (it does not
 *                        start a new one); no free slot => passed up unmerged.
 *
 * Difference from the kernel kept on purpose (both policies): a packet the
 * engine passes through unmerged for an IP-level reason (bad checksum, IP
 * options, fragment, padding/length mismatch) first flushes the held aggregate
 * of its flow, so the engine never reorders data within a flow (Linux lets
 * such a packet overtake the held aggregate; payload sizes are the same).
 * The table is fully associative (Linux: 8 hash buckets x 8, per-bucket
 * eviction); when all table_size slots are in use the oldest aggregate is
 * flushed ("evict").
 *
 * Checksums are summed with scalar code, AVX2 or AVX-512BW: the highest the
 * CPU has, at most N when built with -DLRO_SIMD_MAX=N or run with the
 * environment variable LRO_SIMD_MAX=N (0 scalar, 1 AVX2, 2 AVX-512; read once
 * per process). The level changes speed only, never a result.
 *
 * LRO rate: lro_rate() = segs_in / data_frames_out, i.e. TCP data segments
 * (payload > 0) that entered the engine divided by frames carrying TCP payload
 * that left it (aggregates count once) - the paper's "segments per delivered
 * packet". 1.0 means no aggregation; NaN when no TCP data was seen.
 */
#ifndef LRO_REF_LRO_H
#define LRO_REF_LRO_H

#include <stdbool.h>
#include <stdint.h>

enum lro_policy { LRO_POLICY_LINUX, LRO_POLICY_INET_LRO };

enum { LRO_GSO_NONE = 0, LRO_GSO_TCPV4 = 1, LRO_GSO_TCPV6 = 4 }; /* virtio_net_hdr values */

/* Why a held aggregate (one or more segments) left the table. */
enum lro_flush_reason {
	LRO_FLUSH_POLL_END,   /* lro_poll_end / lro_flush_all */
	LRO_FLUSH_AGE,        /* older than max_age_ns / lro_flush_older */
	LRO_FLUSH_EVICT,      /* table full: oldest aggregate made room */
	LRO_FLUSH_PSH_FIN,    /* merged a PSH or FIN segment (linux) */
	LRO_FLUSH_SHORT,      /* merged a segment shorter than the first (linux) */
	LRO_FLUSH_LARGER,     /* next segment longer than the first (linux) */
	LRO_FLUSH_SIZE,       /* 64 KiB L3 limit (linux) / 65535 - mtu (inet_lro) */
	LRO_FLUSH_MAX_AGGR,   /* max_aggr segments reached (inet_lro) */
	LRO_FLUSH_SEQ,        /* next segment not contiguous */
	LRO_FLUSH_ACK,        /* ACK number differs (linux) */
	LRO_FLUSH_WIN,        /* window / data offset word differs (linux) */
	LRO_FLUSH_OPTS,       /* TCP option bytes differ / TSval went back (inet_lro) */
	LRO_FLUSH_FLAGS,      /* TCP flags differ or forbid merging (SYN/RST/URG/ECE/CWR) */
	LRO_FLUSH_IP,         /* TTL/TOS/DF/IP-ID rule (hop limit/TC for IPv6) */
	LRO_FLUSH_NO_PAYLOAD, /* a segment without payload of the same flow */
	LRO_FLUSH_BYPASS,     /* an unmergeable packet of the flow (checksum, IP options,
				 fragment, length mismatch) */
	LRO_FLUSH__COUNT
};

struct lro_config {
	enum lro_policy policy;
	unsigned table_size;  /* max aggregates held at once (1..4096) */
	uint64_t max_age_ns;  /* 0 = off; else lro_rx flushes the packet's own flow first
				 when its aggregate started more than this before ts */
	unsigned max_aggr;    /* inet_lro: flush at this many segments (1..65535) */
	unsigned mtu;         /* inet_lro: flush when L3 length > 65535 - mtu */
	unsigned max_l3;      /* linux: largest aggregate L3 length (gro_max_size - 1),
				 576..65535, default 65535 */
	bool verify_csum;     /* verify IPv4 header and TCP checksums before merging
				 (bad => passed through); false = trust (CHECKSUM_UNNECESSARY) */
	bool csum_complete;   /* aggregates carry a complete TCP checksum instead of the
				 pseudo-header partial sum (inet_lro always complete) */
	bool zero_copy;       /* payloads referenced in place, aggregates emitted as
				 header + frags (see the top of this file); the caller
				 keeps every frame valid and unchanged until the next
				 lro_poll_end / lro_flush_all returns */
};

/* Fragments per held aggregate in zero-copy mode: LRO_MAX_FRAGS - 1 payloads
 * referenced in place (>= 46 covers MTU-sized segments up to 64 KiB), the rest
 * copied into the slot's buffer behind the last fragment. */
#define LRO_MAX_FRAGS 64

/* A run of payload bytes of an aggregate (zero-copy mode). */
struct lro_frag {
	const uint8_t *p;
	uint32_t len;
};

struct lro_out {
	const uint8_t *frame; /* valid only during the callback; nfrags == 0: all len
				 bytes, else the hdr_len header bytes (fixed up) */
	uint32_t len;         /* frame bytes: hdr_len + the frags' lengths if nfrags > 0 */
	uint64_t ts_ns;       /* last segment's time, or the flush time if later */
	uint16_t segs;        /* segments in this frame (1 = unchanged frame) */
	uint16_t gso_size;    /* 0 unless segs > 1 */
	uint8_t gso_type;     /* LRO_GSO_* */
	bool csum_partial;    /* TCP csum field = pseudo-header sum; finish at csum_start */
	uint16_t csum_start;  /* offset of the TCP header in frame */
	uint16_t csum_offset; /* 16: TCP checksum field within the TCP header */
	uint16_t hdr_len;     /* L2+L3+L4 header bytes (0 for unchanged frames) */
	uint8_t flush_reason; /* enum lro_flush_reason when it left the table, else 0xff */
	/* zero-copy aggregates only (else NULL / 0): the payload after the frame's
	   hdr_len header bytes, in order; valid only during the callback (the
	   bytes themselves are the caller's, or the engine's for the last one) */
	const struct lro_frag *frags;
	uint32_t nfrags;
};

/* Write the o->len bytes of an emitted frame (header + frags) contiguously to
 * dst, for consumers that need one buffer. */
void lro_out_gather(const struct lro_out *o, uint8_t *dst);

typedef void (*lro_emit_fn)(void *ctx, const struct lro_out *o);

struct lro_stats {
	uint64_t frames_in, frames_out;
	uint64_t segs_in;         /* TCP segments with payload > 0 */
	uint64_t segs_merged;     /* of which joined an existing aggregate */
	uint64_t aggregates_out;  /* frames out with segs > 1 */
	uint64_t data_frames_out; /* frames out carrying TCP payload */
	uint64_t bypassed;        /* frames never considered for holding (not TCP,
				     bad checksum, options, fragments, no payload, ...) */
	uint64_t csum_bad;        /* of which bad IPv4 header / TCP checksum */
	uint64_t flushes[LRO_FLUSH__COUNT];
};

/* Defaults: linux: table 64, age 0 (off), max_l3 65535, verify on, partial;
 * inet_lro: table 8, max_aggr 64, mtu 1500, verify on, complete; both: copy
 * mode (zero_copy false). */
void lro_config_default(struct lro_config *c, enum lro_policy p);

/* NULL on a bad configuration or allocation failure. */
struct lro *lro_new(const struct lro_config *c, lro_emit_fn emit, void *ctx);
void lro_free(struct lro *l);

/* One received Ethernet frame; emits zero or more frames through the callback.
 * Zero-copy mode: frame must stay valid and unchanged until the next
 * lro_poll_end / lro_flush_all returns. */
void lro_rx(struct lro *l, const uint8_t *frame, uint32_t len, uint64_t ts_ns);
/* End of a NAPI poll: flush every held aggregate (reason poll_end). */
void lro_poll_end(struct lro *l, uint64_t now_ns);
/* Flush aggregates whose first segment is at least age_ns older than now (reason age). */
void lro_flush_older(struct lro *l, uint64_t now_ns, uint64_t age_ns);
/* Flush everything (reason poll_end), timestamps = last segment's. */
void lro_flush_all(struct lro *l);
/* Number of aggregates currently held. */
unsigned lro_held(const struct lro *l);

const struct lro_stats *lro_stats(const struct lro *l);
/* segs_in / data_frames_out (see top of file); NaN when data_frames_out == 0. */
double lro_rate(const struct lro_stats *s);
/* "poll_end", "age", ... (JSON keys); "?" for an unknown value. */
const char *lro_flush_reason_name(int reason);
const char *lro_policy_name(enum lro_policy p);
/* "linux" or "inet_lro" -> 0; else -1. */
int lro_policy_parse(const char *s, enum lro_policy *p);

/* Internet checksum helpers (RFC 1071; exposed for tests/tools), with the
 * engine's checksum code and SIMD level: sum plus the one's-complement sum of
 * buf's big-endian 16-bit words (an odd last byte padded with zero), as a
 * 32-bit partial sum (congruent modulo 0xffff, 0 only if sum is 0 and buf all
 * zero bytes); several calls chain (at even offsets). */
uint32_t lro_csum_add(uint32_t sum, const void *buf, uint32_t len);
/* Fold to 16 bits (not complemented): the checksum field is ~fold. */
uint16_t lro_csum_fold(uint32_t sum);

#endif
