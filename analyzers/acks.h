/* analyzers/acks.h - ACK classification per direction (what every ACK-carrying
 * segment is, and, on a capture taken at the receiver, why it was sent).
 *
 * Feed every TCP segment of one connection in capture order with
 * lk_acks_feed(a, dir, pkt, ts_ns) (dir 0 = a->b, as analyzers/flow.h), then
 * lk_acks_finish(). The counts of direction d describe the ACKs SENT BY the
 * source of d (they acknowledge the data of the other direction). For many
 * flows use struct lk_ackset below (one object per capture, usable directly
 * as an analyzers/analyze.h observer; it also drives analyzers/bwe.h).
 *
 * ===================== README: ACK classes and how they are decided ==========
 *
 * Every segment with the ACK flag is counted in `ack_pkts`. RST segments stop
 * there (as in tcptrace). SYN-ACKs set the starting point and are not
 * classified further. Every other ACK-carrying segment ("classified") gets:
 *
 *   pure / with_data / fin   no payload and no FIN / payload / FIN, no payload
 *   cumulative advance       adv = ack - previous highest ack of this direction,
 *                            in MSS units rounded up: 1 (<= 1 MSS), 2 (<= 2 MSS),
 *                            stretch (> 2 MSS, RFC 2525 "stretch ACK"); histogram
 *                            `adv_hist` (key = units, "64" = 64 or more).
 *                            adv 0: `dup` if the segment carries no data, no FIN
 *                            and the same window (a duplicate ACK); a window
 *                            update if the window changed (Wireshark's rule:
 *                            no data, window != 0, != previous window, same
 *                            ack); `adv0_other` for data/FIN segments that
 *                            acknowledge nothing new (e.g. the sender's own
 *                            data segments of a one-way transfer).
 *   sack, dsack              >= 1 complete SACK block / D-SACK by tcptrace's 3
 *                            rules (first block right edge <= ack; first block
 *                            inside the second; first and second overlap).
 *                            Counted on every non-RST ACK, SYN-ACKs included,
 *                            so they equal tcptrace's "sack pkts sent" and
 *                            "dsack pkts sent".
 *   zero_window              raw window 0 on a non-RST ACK (tcptrace's rule).
 *   MSS                      from the handshake: min(MSS option of both SYNs)
 *                            minus 12 when both SYNs carried timestamps (Linux's
 *                            mss_cache); without a handshake, the most frequent
 *                            data segment length <= 8960 bytes (the data
 *                            sender's full-size segment); `mss_source` says
 *                            which.
 *
 * Receiver timing classes (`timing`), only on a capture taken AT THE HOST THAT
 * SENT THE ACKS (the data receiver): the capture then shows each data segment
 * when it reached the receiver's stack (after GRO/LRO, so an aggregate is one
 * large segment) and each ACK when it left. For each ACK we look at the data
 * that arrived since the previous ACK and that this ACK newly acknowledges:
 *
 *   ooo        out-of-order / duplicate: the ACK carries SACK blocks, or data
 *              beyond a hole or below the cumulative point (a retransmission,
 *              answered with a D-SACK) arrived since the previous ACK, or the
 *              ACK covers data that did not arrive in order (a hole was
 *              filled). Linux ACKs these at once (ICSK_ACK_NOW / dupacks:
 *              tcp_data_queue, tcp_send_dupack; RFC 5681 4.2).
 *   aggregate  a newly acknowledged segment is longer than the MSS: a GRO/LRO
 *              aggregate. Linux keeps gso_size as rcv_mss, so one aggregate
 *              of >= 2 MSS makes rcv_nxt - rcv_wup > rcv_mss true and the
 *              aggregate is acknowledged by ONE ACK at once (__tcp_ack_snd_check).
 *   full2      more than one MSS newly acknowledged, no aggregate: the
 *              "ACK every second full-sized segment" rule (RFC 1122 4.2.3.2,
 *              RFC 5681 4.2; Linux: rcv_nxt - rcv_wup > rcv_mss). Also ACKs that
 *              cover 3 or more segments because the socket was busy (backlog
 *              processed at once); those show up as stretch in the advance
 *              histogram.
 *   delack     at most one MSS newly acknowledged and the ACK left >= the
 *              delayed-ACK minimum (`delack_min_ns`, default 40 ms = Linux
 *              TCP_DELACK_MIN = TCP_ATO_MIN = HZ/25) minus one jiffy at HZ=250
 *              (4 ms, timer granularity) after the oldest unacknowledged
 *              segment arrived: sent by the delayed-ACK timer.
 *   quick      at most one MSS newly acknowledged, sooner than that: an
 *              immediate ACK for a single segment, the "unsuccessful delayed
 *              ACK" (Linux quickack mode: up to 16 ACKs at connection start,
 *              after idle > RTO, after old data/ECN; one ACK for every
 *              segment that raises rcv_ssthresh (tcp_grow_window sets
 *              icsk_ack.quick |= 1), i.e. while receive-buffer autotuning
 *              grows the window; TCP_QUICKACK set by the application;
 *              recvmsg's tcp_cleanup_rbuf when the application drained the
 *              queue; the FIN).
 *   nodata     acknowledges no new data and is not ooo: window updates after
 *              the application read (tcp_cleanup_rbuf), keep-alive answers,
 *              data-only segments of the receiver.
 *
 * Which host the capture was taken at (`capture_near`), per connection: the
 * capture-side decision of analyzers/side.h (`--side sender|receiver`,
 * lk_acks_params.side, forces it). The timing classes of direction d are
 * given only if the capture is near the source of d; the bandwidth
 * estimators of direction d only if it is near the source of d and d
 * carried data.
 *
 * Memory: the data segments received and not yet acknowledged (24 bytes
 * each) are kept for the timing classes, at most LK_ACKS_MAX_PENDING per
 * direction; beyond that - a capture without the ACKs, e.g. of one direction
 * only - the oldest is forgotten and counted in `forgotten_segs` (JSON
 * "forgotten_segs", only when non-zero). An ACK never covers that many.
 * ============================================================================
 *
 * Database (schema/ table ack_classes: flow_id, dir, class, count): one row
 * per class name below with its count; classes that are not measurable
 * (timing on the wrong side) are not stored. Class names: ack_pkts,
 * classified, pure, with_data, fin, dup, adv0_other, window_update, adv_1,
 * adv_2, adv_stretch, adv_unknown, sack, dsack, zero_window, adv_hist_<N>,
 * timing_ooo, timing_aggregate, timing_full2, timing_delack, timing_quick,
 * timing_nodata.
 */
#ifndef LK_ACKS_H
#define LK_ACKS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analyzers/side.h"
#include "lib/decode.h"
#include "lib/err.h"

struct lk_flow;
struct lk_flowtab;
struct lk_bwe;
struct lk_bwe_params;

struct lk_acks_params {
	enum lk_side side;       /* where the capture was taken (AUTO: decide) */
	uint64_t delack_min_ns;  /* delayed-ACK minimum, default 40 ms */
};
void lk_acks_params_default(struct lk_acks_params *p);

#define LK_ACKS_MAX_PENDING 131072 /* unacknowledged received segments kept */
#define LK_ACKS_HIST 65 /* advance histogram: [0..63] units, [64] = 64 or more */

enum lk_timing {
	LK_T_OOO, LK_T_AGGREGATE, LK_T_FULL2, LK_T_DELACK, LK_T_QUICK, LK_T_NODATA, LK_T__COUNT
};
extern const char *const lk_timing_names[LK_T__COUNT];

/* The breakdown of the ACKs sent by one direction's source. */
struct lk_acks_dir {
	uint64_t ack_pkts;      /* every segment with ACK (RST included) */
	uint64_t classified;    /* non-SYN, non-RST ACK segments */
	uint64_t pure, with_data, fin;
	uint64_t dup, adv0_other, window_update;
	uint64_t adv_1, adv_2, adv_stretch, adv_unknown; /* unknown: no earlier ack */
	uint64_t adv_hist[LK_ACKS_HIST];
	uint64_t sack, dsack, zero_window;
	uint64_t timing[LK_T__COUNT];
	bool timing_valid;      /* capture taken at this direction's source */
	const char *timing_note; /* reason when !timing_valid */
	uint32_t mss;           /* MSS of the data these ACKs acknowledge, 0 unknown */
	const char *mss_source; /* "handshake", "observed", "none" */
	uint64_t forgotten_segs; /* data segments of the other direction forgotten
				  * unacknowledged beyond LK_ACKS_MAX_PENDING */
};

struct lk_acks;

struct lk_acks *lk_acks_new(const struct lk_acks_params *p); /* NULL: out of memory */
void lk_acks_free(struct lk_acks *a);
/* Returns 0, or -1 when out of memory (the packet's timing is then not tracked). */
int lk_acks_feed(struct lk_acks *a, int dir, const struct lk_pkt *p, uint64_t ts_ns);
/* Decide the capture side and fill the per-direction results. Idempotent. */
void lk_acks_finish(struct lk_acks *a);
const struct lk_acks_dir *lk_acks_dir(const struct lk_acks *a, int dir);
/* After finish: 0 = capture near host a, 1 = near host b, -1 unknown. */
int lk_acks_capture_near(const struct lk_acks *a);
/* How the side was decided: "forced", "evidence", "unknown". */
const char *lk_acks_side_rule(const struct lk_acks *a);
/* Data direction (more payload bytes), -1 if no data at all. */
int lk_acks_data_dir(const struct lk_acks *a);
/* After finish: the capture-side decision with its evidence (side.h). */
const struct lk_side_decision *lk_acks_side(const struct lk_acks *a);

/* JSON object of direction dir (the value of "acks"), no trailing newline. */
void lk_acks_json(const struct lk_acks *a, int dir, FILE *f);
/* Human-readable block (several lines, each prefixed by `indent`). */
void lk_acks_text(const struct lk_acks *a, int dir, const char *indent, FILE *f);
/* Insert the rows of both directions into ack_classes and the capture-side
 * decision into the flows row (capture_side, side_confidence, side_rule,
 * side_evidence), inside the caller's transaction. */
int lk_acks_store(const struct lk_acks *a, sqlite3 *db, int64_t flow_id, struct lk_err *e);

/* ---- many connections: one object per capture, indexed by lk_flow.idx ---- */
struct lk_ackset;
/* bp may be NULL (analyzers/bwe.h defaults). NULL: out of memory. */
struct lk_ackset *lk_ackset_new(const struct lk_acks_params *ap, const struct lk_bwe_params *bp);
void lk_ackset_free(struct lk_ackset *s);
/* Same signature as struct lk_observer.packet (analyzers/analyze.h): pass
 * {.ctx = set, .packet = lk_ackset_packet}. Out-of-memory is remembered and
 * reported by lk_ackset_finish. */
void lk_ackset_packet(void *set, uint64_t flow_idx, int dir, const struct lk_pkt *p,
		      uint64_t ts_ns);
/* Same signature as struct lk_observer.csum_wanted: lk_side_csum_wanted of
 * the flow (LK_SIDE_WANT_ALL for a flow not seen yet). */
unsigned lk_ackset_csum_wanted(void *set, uint64_t flow_idx, int dir);
/* Finish every flow (side decision, estimator summaries). -1 if a packet
 * could not be tracked for lack of memory. */
int lk_ackset_finish(struct lk_ackset *s, struct lk_err *e);
/* Per flow (by lk_flow.idx); NULL if the flow had no packets fed. */
struct lk_acks *lk_ackset_acks(const struct lk_ackset *s, uint64_t flow_idx);
struct lk_bwe *lk_ackset_bwe(const struct lk_ackset *s, uint64_t flow_idx);
/* Store ack_classes and bwe rows of every flow of the table, flow_id taken
 * from lk_flow.user_id (flows with user_id <= 0 are skipped). */
int lk_ackset_store(const struct lk_ackset *s, const struct lk_flowtab *t, sqlite3 *db,
		    struct lk_err *e);

#endif
