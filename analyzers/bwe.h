/* analyzers/bwe.h - sender bandwidth estimation replayed from a capture taken
 * at the data sender: TCP Westwood+, Linux's delivery-rate sampling
 * (tcp_rate.c) and plain goodput per RTT window; each a time series, with the
 * arrival time of every SACK-bearing ACK marked. Each estimator follows the
 * Linux source named in its section below.
 *
 * Feed every segment of one connection in capture order (dir 0 = a->b); the
 * estimators of direction d run on d's data segments (send times = capture
 * times) and the other direction's ACKs. lk_bwe_finish(b, capture_near) then
 * marks which directions are valid (a capture near the data sender).
 *
 * ---- Westwood+ (net/ipv4/tcp_westwood.c, replayed exactly) ----
 * Time in jiffies = floor(ts_ns * HZ / 1e9), HZ a parameter (default 1000).
 * Init at the first ACK: rtt = rtt_min = 20*HZ, snd_una = that ACK's ack,
 * window start = now. Per ACK that is not older than snd_una (tcp_ack drops
 * old ACKs): update_window (delta = now - win_start; if rtt != 0 and delta >
 * max(rtt, HZ/20): sample = bk/delta (integer), first sample seeds both
 * filters, else bw_ns_est = (7*bw_ns_est + sample) >> 3, bw_est = (7*bw_est +
 * bw_ns_est) >> 3; bk = 0; win_start = now), then count the bytes: fast path
 * bk += ack - snd_una; slow path bk += westwood_acked_count() (dupack: +mss,
 * accounted += mss; cumul_ack > mss: offset against accounted). Slow path =
 * what Linux's header prediction rejects, as seen in a capture: no advance,
 * SACK blocks or any option besides timestamps (TCP header length differs
 * from the connection's usual ACK), a raw window different from the previous
 * ACK's, payload, any flag besides ACK/PSH. Then rtt = this ACK's RTT sample
 * in jiffies rounded up (usecs_to_jiffies) if > 0 - Linux updates w->rtt in
 * pkts_acked, AFTER the ack event, so the window test of an ACK uses the
 * previous ACK's sample. RTT sample ("ca_rtt"): now - send time of the most
 * recently sent segment newly SACKed, else newly cumulatively acked and never
 * retransmitted (no sample if a retransmitted segment was cum-acked).
 * Reported: bw_est in bit/s = bw_est * HZ * 8, one point per closed window.
 *
 * ---- Delivery rate (net/ipv4/tcp_rate.c) ----
 * Segments are counted in packets (ceil(len/mss) for a TSO/GSO capture).
 * delivered starts at 1 (the SYN). On send: if nothing is in flight,
 * first_tx = delivered_ts = send time; the segment records first_tx,
 * delivered_ts, delivered and app_limited (true only before the first ACK:
 * Linux starts with app_limited = ~0, cleared by the first ACK; later
 * app-limited periods cannot be seen in a capture). A retransmission re-stamps
 * the segments it covers. Per ACK: SACKed then cum-acked segments are
 * delivered; of those, the most recently sent (tie: higher end) gives
 * prior_delivered, prior_ts, and send phase = its send time - its first_tx;
 * first_tx = its send time; a SACKed segment is not used again when
 * cum-acked. Then delivered_ts = now (if anything was delivered); sample =
 * (delivered - prior_delivered) / max(send phase, now - prior_ts); discarded
 * if no prior or interval < min_rtt (minimum over all RTT samples so far,
 * this ACK's included; Linux's 300 s window is longer than any capture it is
 * compared with). Stored ("tcpi_delivery_rate") if not app-limited or not
 * lower than the stored one. Series: every valid sample, in bit/s =
 * delivered * mss * 8e9 / interval_ns.
 *
 * ---- Goodput per RTT window ----
 * Bytes cumulatively acknowledged (snd_una advance) over consecutive windows
 * of max(srtt, goodput_min_window_ns) starting at the first ACK; srtt is the
 * RFC 6298 average (1/8) of the RTT samples above. One point per window.
 *
 * Summary medians ("steady part") use the points between 25% and 90% of the
 * time from the first data segment to the last ACK. The delivery-rate summary
 * also has `tcpi_median_bps`: the stored rate read every 10 ms over the whole
 * transfer (non-zero readings), like a program polling TCP_INFO.
 *
 * Memory: the series are complete (24 bytes per point; the delivery-rate
 * series has one point per valid sample, i.e. up to one per ACK); the
 * TCP_INFO polling of tcpi_median_bps is kept as runs of equal readings, so
 * a long gap between ACKs costs nothing. The segments in flight are kept
 * until acknowledged, at most LK_BWE_MAX_INFLIGHT of them (56 bytes each,
 * <= 15 MB per direction): beyond that - a capture without the ACKs, e.g. of
 * one direction only - the oldest is forgotten and counted in
 * `forgotten_segs` (JSON "forgotten_segs", only when non-zero). A sender
 * reaches that many only with > 190 MB in flight at MSS 1448 (a bandwidth x
 * RTT product of 10 Gbit/s x 150 ms), so with the ACKs in the capture
 * nothing is forgotten.
 *
 * Database (schema/ table bwe: flow_id, dir, estimator, t_ns, value_bps,
 * sack): estimator "westwood", "delivery_rate" (every valid sample),
 * "goodput", and "sack_ack" rows (value NULL, sack = 1) marking the arrival
 * of every SACK-bearing ACK; sack = 1 on samples taken at a SACK-bearing ACK.
 */
#ifndef LK_BWE_H
#define LK_BWE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/decode.h"
#include "lib/err.h"

struct lk_bwe_params {
	unsigned hz;                   /* Westwood jiffies per second, default 1000 */
	uint64_t goodput_min_window_ns; /* default 10 ms */
};
void lk_bwe_params_default(struct lk_bwe_params *p);

enum lk_bwe_est { LK_BWE_WESTWOOD, LK_BWE_DELIVERY, LK_BWE_GOODPUT, LK_BWE__COUNT };
extern const char *const lk_bwe_est_names[LK_BWE__COUNT];

struct lk_bwe_point {
	uint64_t t_ns;
	double bps;
	bool sack; /* taken at a SACK-bearing ACK */
};

#define LK_BWE_MAX_INFLIGHT 131072 /* segments kept in flight per direction */

struct lk_bwe_series {
	struct lk_bwe_point *v;
	size_t n, cap;
};

struct lk_bwe_summary {
	uint64_t n;            /* points */
	double median_bps;     /* steady part, NAN if no point there */
	double last_bps;       /* NAN if no point */
	double max_bps;
};

struct lk_bwe_dir {
	bool valid;              /* capture near this direction's sender and data seen */
	const char *note;        /* reason when !valid */
	uint32_t mss;
	uint64_t data_bytes_acked; /* snd_una advance over the connection */
	uint64_t first_data_ns, last_ack_ns;
	uint64_t min_rtt_ns;     /* 0 if no sample */
	uint64_t rtt_samples;
	uint64_t sack_acks;      /* SACK-bearing ACKs received */
	uint64_t slow_path_acks, fast_path_acks;
	uint64_t forgotten_segs; /* in flight beyond LK_BWE_MAX_INFLIGHT, dropped */
	uint64_t steady_from_ns, steady_to_ns;
	struct lk_bwe_series s[LK_BWE__COUNT];
	struct lk_bwe_summary sum[LK_BWE__COUNT];
	double tcpi_median_bps;  /* delivery rate polled every 10 ms; NAN if none */
	uint64_t *sack_ts;       /* arrival times of SACK-bearing ACKs */
	size_t n_sack_ts, cap_sack_ts;
	/* Westwood final state */
	uint32_t ww_bw_est, ww_bw_ns_est; /* bytes per jiffy */
	uint32_t ww_rtt_min;              /* jiffies */
};

struct lk_bwe;

struct lk_bwe *lk_bwe_new(const struct lk_bwe_params *p); /* NULL: out of memory */
void lk_bwe_free(struct lk_bwe *b);
/* 0, or -1 when out of memory (the estimators of that direction stop). */
int lk_bwe_feed(struct lk_bwe *b, int dir, const struct lk_pkt *p, uint64_t ts_ns);
/* capture_near: 0 = host a, 1 = host b, -1 unknown (see analyzers/acks.h). */
void lk_bwe_finish(struct lk_bwe *b, int capture_near);
const struct lk_bwe_dir *lk_bwe_dir(const struct lk_bwe *b, int dir);

/* JSON value of "bwe" for direction dir (summary; null fields + "note" when
 * not valid). */
void lk_bwe_json(const struct lk_bwe *b, int dir, FILE *f);
void lk_bwe_text(const struct lk_bwe *b, int dir, const char *indent, FILE *f);
/* The time series of dir as CSV lines "estimator,t_ns,bps,sack" (+ sack_ack). */
void lk_bwe_csv(const struct lk_bwe *b, int dir, FILE *f);
/* Insert the series of both valid directions into table bwe. */
int lk_bwe_store(const struct lk_bwe *b, sqlite3 *db, int64_t flow_id, struct lk_err *e);

#endif
