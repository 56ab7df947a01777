/* analyzers/flow.h - TCP connection tracking with tcptrace's counters.
 *
 * Feed decoded TCP segments in capture order; each is assigned to a
 * connection (4-tuple, both directions, a NEW connection when the endpoints
 * are reused the way tcptrace decides) and counted with tcptrace's exact
 * definitions (tcptrace 6.6.x long output, `tcptrace -l`; the rules below are
 * those of tcptrace's trace.c):
 *
 *   - host a = source of the first packet of the connection; d[0] = a->b.
 *   - new connection on an existing 4-tuple if (1) idle > 240 s, or (2) a SYN
 *     after a FIN/RST in either direction whose seq is beyond the other side's
 *     last ack+window or below this side's SYN, or (3) a SYN, this side had
 *     more than one SYN already, and the seq differs from the recorded SYN.
 *     (tcptrace compares these with plain unsigned arithmetic on LP64.)
 *   - retransmitted / unique bytes and out-of-order come from tcptrace's
 *     per-direction segment database: the 32-bit sequence space in four
 *     quadrants of 2^30, ranges inserted as sent (SYN and FIN occupy one
 *     byte), marked acked by the other side's ACKs, acked neighbours merged,
 *     and the quadrant opposite the one in use freed. Memory therefore grows
 *     with outstanding (unacknowledged) segments and the number of flows,
 *     not with the length of the capture; runs of equal-sized unacked
 *     segments (a capture without the ACK direction) are stored as one
 *     record and split on demand, with identical results.
 *   - zero-window probes (the other side's last window was 0; SYNs are never
 *     probes), RST segments
 *     (only ack_pkts counted after the database step), SACK/DSACK rules,
 *     pure ACKs: as tcptrace.
 *
 * Cost: one hash probe (the last flow is cached) and an O(1) append in the
 * common in-order case; segment records come from a pool, so there is no
 * malloc per packet in steady state.
 */
#ifndef LK_FLOW_H
#define LK_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/decode.h"

/* Counters of one direction, named after tcptrace's long output. */
struct lk_dirstat {
	uint64_t total_packets;    /* every packet of this direction */
	uint64_t ack_pkts;         /* ACK flag set (RST+ACK included) */
	uint64_t pure_acks;        /* ACK, no data, no SYN/FIN/RST */
	uint64_t sack_pkts;        /* non-RST ACK with >= 1 SACK block */
	uint64_t dsack_pkts;       /* of those, D-SACK by tcptrace's 3 rules */
	uint64_t max_sack_blocks;  /* most SACK blocks in one counted ACK */
	uint64_t unique_bytes;     /* data bytes at never-seen sequence offsets */
	uint64_t data_pkts;        /* payload > 0 */
	uint64_t data_bytes;       /* sum of payload (IP-claimed) */
	uint64_t rexmt_data_pkts;  /* segments overlapping recorded ranges */
	uint64_t rexmt_data_bytes; /* overlapping bytes (SYN/FIN count 1) */
	uint64_t zwnd_probe_pkts;  /* sent while the other side's window was 0 */
	uint64_t zwnd_probe_bytes;
	uint64_t outoforder_pkts;  /* tcptrace's out-of-order rule */
	uint64_t pushed_data_pkts; /* data packets with PSH */
	uint64_t syn_pkts, fin_pkts, rst_pkts;
	uint64_t trunc_bytes;      /* payload claimed by IP but not captured */
	uint64_t trunc_pkts;
	uint32_t mss;              /* last MSS option value, 0 if none */
	uint32_t max_seg, min_seg; /* largest / smallest payload of data packets */
	uint64_t first_ns, last_ns; /* first / last packet of this direction, 0 if none */
	/* extras (not in the JSON of docs/design.md, JSON contracts; handy for callers) */
	uint64_t sacks_sent;       /* any packet (RST too) with >= 1 SACK block */
	uint64_t zero_win_adv;     /* non-RST ACKs advertising a zero (scaled) window */
	bool req_ws, req_ts, req_sack; /* any packet carried WS / TS / SACK-permitted */
	uint8_t ws;                /* tcptrace's window_scale (0 unless both sides sent WS) */
};

struct lk_flow {
	uint64_t idx;            /* creation order, 0-based */
	uint8_t af;              /* 4 or 6 */
	uint8_t addr[2][16];     /* [0] = host a = source of the first packet */
	uint16_t port[2];
	uint64_t first_ns, last_ns;
	struct lk_dirstat d[2];  /* d[0] = a->b, d[1] = b->a */
	int64_t user_id;         /* free for the caller (e.g. DB flow_id), starts 0 */
	bool closed_by_reuse;    /* a later connection took over this 4-tuple */
};

struct lk_flowtab;

/* NULL on allocation failure. */
struct lk_flowtab *lk_flowtab_new(void);
void lk_flowtab_free(struct lk_flowtab *t);

/* Feed one decoded TCP packet (timestamps in capture order; tcptrace's
 * microsecond view of them is used for the idle rule). Returns its flow, sets
 * *dir (0 a->b, 1 b->a) and *is_new (this packet opened a new connection,
 * including port reuse). NULL only on allocation failure (the packet is then
 * not counted). */
struct lk_flow *lk_flowtab_add(struct lk_flowtab *t, const struct lk_pkt *p, uint64_t ts_ns,
			       int *dir, bool *is_new);

size_t lk_flowtab_count(const struct lk_flowtab *t);
struct lk_flow *lk_flowtab_get(const struct lk_flowtab *t, size_t i); /* creation order */

/* Memory in use by the table (flows, hash, segment records), in bytes, and
 * the number of live segment records; for tests and benchmarks. */
struct lk_flowtab_mem {
	size_t bytes;
	size_t segs_live, segs_pool;
};
void lk_flowtab_mem(const struct lk_flowtab *t, struct lk_flowtab_mem *m);

#endif
