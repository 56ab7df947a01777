/* analyzers/side.h - where a capture was taken: at the data sender or at the
 * data receiver of a connection, decided from independent pieces of evidence.
 *
 * The ACK timing classes (acks.h) and the sender bandwidth estimators
 * (bwe.h) are only meaningful on one side, so every connection gets a
 * decision: "sender", "receiver" or "unknown". A wrong side is worse than
 * none, so the decision is "unknown" when the evidence is weak or disagrees.
 *
 * ===================== README: the capture-side decision =====================
 *
 * Each piece of evidence looks at one property of the capture, names the host
 * it was taken next to ("near"), and is turned into a verdict - sender or
 * receiver of the connection's data (the direction with more payload bytes) -
 * with a strength in [0, 1] (how clear its own numbers are) and a weight
 * (how far that kind of evidence is trusted). A capture is taken next to the
 * host whose packets are seen when they leave it: before any router, queue,
 * loss or segmentation on the path. Weights in brackets; a strength is 0.5
 * where a ratio just passes its threshold and 1 from 10x beyond it, or
 * grows with the counts behind it.
 *
 *   ttl [0.95]  IPv4 TTL / IPv6 hop limit of each direction (most frequent
 *               value). The near host's packets carry an initial value (32,
 *               64, 128 or 255) exactly; the far host's are lower by the
 *               routers between. Both initial (no router) or neither: none.
 *   tx_csum [0.75] TCP checksums left to the NIC (checksum offload): the
 *               field holds only the pseudo-header sum ("partial"). Seen on
 *               the packets a host sends, captured before its NIC: >= 90% of
 *               one direction's packets up to the MSS partial, <= 10% of the
 *               other's -> near = the source of the partial ones. Only 0.75:
 *               a virtual path (veth, virtio, Xen netfront) delivers the far
 *               host's partial checksums as they are, so there a host
 *               without offload sees the other's partial packets; when both
 *               hosts offload, both directions are partial: none.
 *   gro [0.9]   receive aggregation at the capture host: data segments
 *               longer than the MSS with partial checksums (Linux GRO sets
 *               the aggregate's field to the pseudo-header sum) while that
 *               direction's segments up to the MSS carry complete checksums
 *               (as sent on a wire) -> near = the data's destination. (TSO
 *               at a sender shows long segments too, but then its short
 *               ones are partial as well.)
 *   handshake [0.8] SYN -> SYN/ACK -> ACK gaps. Next to the client the SYN/ACK
 *               comes one round trip after the SYN and the ACK follows at
 *               once; next to the server the SYN/ACK follows the SYN at
 *               once and the ACK comes a round trip later. The larger gap
 *               must be >= 3x the smaller one.
 *   ack_delay [0.85] for every ACK that newly covers data: the time since the
 *               newest data segment it covers was captured. At the receiver
 *               that is its processing time (microseconds; delayed ACKs
 *               aside), at the sender at least one round trip. Its 25th
 *               percentile is compared with the handshake's processing gap
 *               (the smaller of the two gaps; the larger, a round trip, is
 *               often stretched by address resolution): < 1x -> receiver,
 *               >= 6x -> sender.
 *   ts_echo [0.9] response times from the timestamps option: for each TSval
 *               value a host sends, the time from the first packet carrying
 *               it to the first packet of the other host echoing it
 *               (TSecr). The near host answers within its processing time,
 *               the far host's answers arrive a round trip later; the 25th
 *               percentiles of the two hosts' response times must differ
 *               >= 4x -> near = the faster one.
 *   seq_holes [0.9] data that starts beyond the highest sequence number seen: a
 *               host never skips sequence space in what it sends, so >= 2
 *               holes mean the data was lost (or reordered) between its
 *               sender and the capture -> receiver. (No holes says nothing:
 *               retransmissions of data seen before are what a sender
 *               capture of a lossy transfer shows, but a receiver sees them
 *               too after a spurious timeout or a tail-loss probe.)
 *   ip_id [0.85] IPv4 IDs: Linux numbers each socket's packets consecutively
 *               (a TSO/GRO packet of n segments advances the ID by n). The
 *               near host's sequence has no gaps; the far host's has gaps
 *               where its packets were lost on the way. One direction with
 *               >= 2 gaps and the other with none (>= 50 packets each, both
 *               >= 90% consecutive) -> near = the gap-free one.
 *   inflight [0.6] data in flight when an ACK is seen: at the sender an ACK
 *               arrives while later data is already out, so for nearly all
 *               ACKs (>= 90%, of >= 8) more than 2 MSS were seen beyond the
 *               ACK -> sender. Weak (a receiver whose application holds the
 *               socket sees up to 3/4 of its ACKs leave behind queued data),
 *               and the converse says nothing (a CPU-bound sender at a small
 *               round trip has nothing in flight either).
 *
 * The timing pieces (handshake, ack_delay, ts_echo, inflight) say nothing
 * when the handshake's round trip (its larger gap) is under 30 us: the ends
 * are then so close (namespaces or VMs on one machine, a veth between them)
 * that each sees the other's packets as soon as they were sent, both
 * captures show the same timing, and any timing rule would name the same
 * host at both ends.
 *
 * Combination: each piece with a verdict has a probability of being right,
 * p = 0.5 + 0.5 * weight * strength; the log-odds ln(p / (1 - p)) of the
 * pieces for each side are summed (independent evidence). If both sides
 * have >= 1.1 (a piece at p >= 0.75 against each other): "unknown" (evidence
 * disagrees). Otherwise confidence = 1 / (1 + exp(-|sender - receiver|)),
 * and the side is decided when it is >= 0.95 ("unknown", evidence too weak,
 * below). `--side sender|receiver` forces the side (rule "forced"; the
 * evidence is still listed).
 * ============================================================================
 */
#ifndef LK_SIDE_H
#define LK_SIDE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/decode.h"

/* What the user says about where the capture was taken. */
enum lk_side { LK_SIDE_AUTO = 0, LK_SIDE_SENDER, LK_SIDE_RECEIVER };

/* A verdict: the capture was taken at the data sender, at the data
 * receiver, or (NONE) no verdict / unknown. */
enum lk_side_verdict { LK_SV_NONE = 0, LK_SV_SENDER, LK_SV_RECEIVER };
/* "none", "sender", "receiver" */
const char *lk_side_verdict_name(enum lk_side_verdict v);

/* One piece of evidence. */
struct lk_side_ev {
	const char *name;             /* "ttl", "tx_csum", ... (see above) */
	enum lk_side_verdict verdict; /* LK_SV_NONE: measured, says nothing */
	double strength;              /* 0..1 */
	double weight;                /* 0..1, per kind */
	char detail[200];             /* the numbers behind it */
};

#define LK_SIDE_MAX_EV 10
#define LK_SIDE_DECIDE 0.95   /* confidence needed for a decision */
#define LK_SIDE_AGAINST 1.1   /* log-odds on both sides that make "unknown" */

struct lk_side_decision {
	enum lk_side_verdict side; /* LK_SV_NONE: unknown */
	int near;                  /* host the capture was taken at: 0 = a, 1 = b, -1 */
	int data_dir;              /* 0 = a->b, 1 = b->a, -1 no data */
	double confidence;         /* 0.5..1: belief in the leading side (1 when forced) */
	const char *rule;          /* "forced", "evidence", "unknown" */
	const char *why;           /* why unknown (NULL when decided) */
	double logodds[2];         /* summed log-odds for sender, receiver */
	unsigned n_ev;
	struct lk_side_ev ev[LK_SIDE_MAX_EV];
};

/* Combine d->ev[0 .. n_ev) into d->side, confidence, rule, why and logodds
 * (the rules above). d->near is set from d->data_dir. Pure: unit-tested. */
void lk_side_combine(struct lk_side_decision *d);

/* ---- the evidence of one connection ---- */
struct lk_side_state;
struct lk_side_state *lk_side_new(void); /* NULL: out of memory */
void lk_side_free(struct lk_side_state *s);
/* Every TCP segment of the connection in capture order; dir 0 = a->b (as
 * analyzers/flow.h). mss: the MSS of dir's data as known so far (0 unknown).
 * Reads p->frame for the checksum (NULL: what lk_side_csum_fields took, if
 * anything; nothing at all is counted without either). Returns -1 when
 * out of memory (a timestamp echo is then not measured), else 0. */
int lk_side_packet(struct lk_side_state *s, int dir, const struct lk_pkt *p, uint64_t ts_ns,
		   uint32_t mss);
/* What lk_side_packet may still take from the frames of later segments of
 * a direction: the checksum field of segments without payload, of segments
 * with payload, and the sum of whole segments (of those whose field it
 * takes). A bit once clear stays clear. */
enum { LK_SIDE_WANT_EMPTY = 1, LK_SIDE_WANT_DATA = 2, LK_SIDE_WANT_SUM = 4, LK_SIDE_WANT_ALL = 7 };
unsigned lk_side_csum_wanted(const struct lk_side_state *s, int dir);
/* For a segment handed on without its frame (the analysis pipeline): what
 * lk_side_packet wants of p->frame (want: LK_SIDE_WANT_* as
 * lk_side_csum_wanted said for its direction, or LK_SIDE_WANT_ALL), as the
 * values of p's csum_class and csum_sum; with csum_known set, p->frame may
 * then be NULL. */
void lk_side_csum_fields(const struct lk_pkt *p, unsigned want, uint8_t *cls, int8_t *sum);
/* An ACK of direction dir that advanced. delay_ns: time since the capture of
 * the newest data segment it newly covers (UINT64_MAX: none known); beyond:
 * bytes of the other direction's data seen beyond its ack; mss of that data
 * (0 unknown). -1 when out of memory (the delay is then not kept), else 0. */
int lk_side_ack(struct lk_side_state *s, int dir, uint64_t delay_ns, uint32_t beyond, uint32_t mss);
/* Gather the evidence and decide. data_dir: the direction of the data (-1:
 * none: unknown). force: LK_SIDE_AUTO to decide, else the forced side. */
void lk_side_decide(const struct lk_side_state *s, int data_dir, enum lk_side force,
		    struct lk_side_decision *d);

/* JSON object {"capture":..., "near":..., "confidence":..., "rule":...,
 * ["why":...,] "evidence":[{"name","verdict","strength","weight","detail"}]} */
void lk_side_json(const struct lk_side_decision *d, FILE *f);
/* Text: one line with the decision, one per piece of evidence. */
void lk_side_text(const struct lk_side_decision *d, const char *indent, FILE *f);

#endif
