/* analyzers/bwe.c - Westwood+, delivery-rate and goodput replay; see bwe.h. */
#include "analyzers/bwe.h"
#include "analyzers/fifo.h"
#include "analyzers/handshake.h"
#include "analyzers/seglen.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/mem.h"

const char *const lk_bwe_est_names[LK_BWE__COUNT] = {"westwood", "delivery_rate", "goodput"};

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define MAX_SMALL_SEG 8960u
#define POLL_NS 10000000ull /* TCP_INFO polling period for tcpi_median_bps */

void lk_bwe_params_default(struct lk_bwe_params *p)
{
	p->hz = 1000;
	p->goodput_min_window_ns = 10000000ull;
}

struct txseg {
	uint32_t seq, end, pcount;
	uint64_t tx_ts, first_tx, dts, delivered;
	bool app_limited, retrans, sacked;
};

struct ratesample {
	uint64_t prior_delivered, prior_ts, interval;
	uint32_t last_end;
	bool app_limited, retrans;
};

struct pollrun {
	double v;
	uint64_t n;
};

struct sstate {
	bool err;
	/* handshake (this direction as sender) */
	struct lk_syn syn;
	bool syn_rexmit;
	uint64_t syn_tx;
	struct lk_seglen mg;             /* frequent segment lengths (seglen.h) */
	uint32_t mg_best; /* eff_mss without a handshake MSS (cache) */
	/* sequence state */
	bool nxt_valid, una_valid;
	uint32_t snd_nxt, snd_una;
	struct txseg *q;
	size_t qh, qn, qcap;
	bool q_mono; /* entries contiguous, q[qn-1].end - q[qh].seq < 2^30 */
	/* tcp_rate.c */
	uint64_t delivered, delivered_ts, first_tx_ts;
	bool app_limited, any_ack;
	uint64_t rate_delivered, rate_interval;
	bool rate_app_limited;
	uint64_t min_rtt, srtt;
	uint64_t next_poll;
	struct pollrun *polls; /* runs of equal TCP_INFO readings */
	size_t n_polls, cap_polls;
	/* Westwood+ */
	bool ww_init, ww_first_ack, ww_reset_rtt_min;
	uint32_t ww_snd_una, ww_bk, ww_bw_ns_est, ww_bw_est, ww_rtt, ww_rtt_min, ww_accounted,
		ww_cumul_ack, ww_win_sx;
	uint16_t exp_hlen, prev_win;
	bool prev_win_valid;
	/* goodput */
	bool gp_started;
	uint64_t gp_start, gp_bytes;
	struct lk_bwe_dir out;
};

struct lk_bwe {
	struct lk_bwe_params prm;
	struct sstate st[2];
	uint32_t hs_mss;       /* eff_mss from the handshake, 0 if none (cache) */
	uint32_t hz20;         /* prm.hz / 20 */
	uint32_t jv;           /* jiffies() of every ts in [jlo, jhi) (cache) */
	uint64_t jlo, jhi;
};

struct lk_bwe *lk_bwe_new(const struct lk_bwe_params *p)
{
	struct lk_bwe *b = lk_zalloc_lines(sizeof *b);
	if (!b)
		return NULL;
	if (p)
		b->prm = *p;
	else
		lk_bwe_params_default(&b->prm);
	if (!b->prm.hz)
		b->prm.hz = 1000;
	b->hz20 = b->prm.hz / 20;
	for (int d = 0; d < 2; d++) {
		b->st[d].delivered = 1; /* the SYN (Linux counts its delivery) */
		b->st[d].app_limited = true;
		b->st[d].rate_app_limited = true;
	}
	return b;
}

void lk_bwe_free(struct lk_bwe *b)
{
	if (!b)
		return;
	for (int d = 0; d < 2; d++) {
		struct sstate *s = &b->st[d];
		free(s->q);
		free(s->polls);
		free(s->out.sack_ts);
		for (int i = 0; i < LK_BWE__COUNT; i++)
			free(s->out.s[i].v);
	}
	free(b);
}

static uint32_t hs_mss(const struct lk_bwe *b)
{
	const struct sstate *x = &b->st[0], *y = &b->st[1];
	return lk_handshake_mss(&x->syn, &y->syn);
}

/* MSS of the data sent by direction d (same rule as analyzers/acks.c). */
static uint32_t eff_mss(const struct lk_bwe *b, int d)
{
	uint32_t m = hs_mss(b);
	return m ? m : lk_seglen_best(&b->st[d].mg);
}

/* eff_mss from the caches: hs_mss is refreshed whenever a SYN changes the
 * handshake fields (it is eff_mss's first branch), mg_best when mg_add ran. */
static inline uint32_t mss_of(const struct lk_bwe *b, struct sstate *s)
{
	if (b->hs_mss)
		return b->hs_mss;
	if (s->mg.dirty) {
		s->mg_best = eff_mss(b, (int)(s - b->st));
		s->mg.dirty = false;
	}
	return s->mg_best;
}


static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? 2 * *cap : 256;
	void *nv = realloc(*v, nc * sz);
	if (!nv)
		return -1;
	*v = nv;
	*cap = nc;
	return 0;
}

static void point(struct sstate *s, enum lk_bwe_est k, uint64_t t, double bps, bool sack)
{
	struct lk_bwe_series *ser = &s->out.s[k];
	if (grow((void **)&ser->v, &ser->cap, ser->n, sizeof *ser->v) < 0) {
		s->err = true;
		return;
	}
	ser->v[ser->n++] = (struct lk_bwe_point){t, bps, sack};
}

static void sack_mark(struct sstate *s, uint64_t ts)
{
	struct lk_bwe_dir *o = &s->out;
	if (grow((void **)&o->sack_ts, &o->cap_sack_ts, o->n_sack_ts, sizeof *o->sack_ts) < 0)
		s->err = true;
	else
		o->sack_ts[o->n_sack_ts++] = ts;
}

static uint32_t jiffies_calc(const struct lk_bwe *b, uint64_t ts)
{
	return (uint32_t)((ts / 1000) * b->prm.hz / 1000000);
}

/* jiffies_calc with the range of ts of the last value cached (no division
 * per ACK). j = floor(us * hz / 1e6), us = floor(ts / 1000), is the same for
 * every us in [ceil(j * 1e6 / hz), ceil((j + 1) * 1e6 / hz)); the cache is
 * only used where none of these products overflows. */
static __attribute__((noinline)) uint32_t jiffies_slow(struct lk_bwe *b, uint64_t ts)
{
	uint64_t us = ts / 1000, hz = b->prm.hz;
	if (us > UINT64_MAX / hz)
		return jiffies_calc(b, ts);
	uint64_t j = us * hz / 1000000;
	if (j > (UINT64_MAX - hz) / 1000000 - 1)
		return jiffies_calc(b, ts);
	uint64_t lo = (j * 1000000 + hz - 1) / hz, hi = ((j + 1) * 1000000 + hz - 1) / hz;
	if (hi > UINT64_MAX / 1000)
		return jiffies_calc(b, ts);
	b->jlo = lo * 1000;
	b->jhi = hi * 1000;
	b->jv = (uint32_t)j;
	return b->jv;
}

static inline uint32_t jiffies(struct lk_bwe *b, uint64_t ts)
{
	if (LIKELY(ts >= b->jlo && ts < b->jhi))
		return b->jv;
	return jiffies_slow(b, ts);
}

static uint32_t us_to_jiffies(const struct lk_bwe *b, uint64_t us)
{
	return (uint32_t)((us * b->prm.hz + 999999) / 1000000);
}

/* ---- data segments ---- */

/* Called when the queue is full or holds LK_BWE_MAX_INFLIGHT entries: then
 * the oldest is forgotten (see bwe.h). -1 when out of memory. */
static __attribute__((noinline)) int q_room(struct sstate *s)
{
	if (lk_fifo_room((void **)&s->q, sizeof *s->q, &s->qh, &s->qn, &s->qcap, LK_BWE_MAX_INFLIGHT,
			 &s->out.forgotten_segs) < 0) {
		s->err = true;
		return -1;
	}
	return 0;
}

static inline void stamp(struct sstate *s, struct txseg *e, uint64_t ts)
{
	e->tx_ts = ts;
	e->first_tx = s->first_tx_ts;
	e->dts = s->delivered_ts;
	e->delivered = s->delivered;
	e->app_limited = s->app_limited;
}

/* Queue index of the first entry whose end is after x (see q_span_has). */
static size_t q_first_end_after(const struct sstate *s, uint32_t x)
{
	uint32_t base = s->q[s->qh].seq, ox = x - base;
	size_t lo = s->qh, hi = s->qn;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->q[mid].end - base <= ox)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* May a scan of the queue for the entries relative to [l, r) use the order
 * of the entries? When q_mono holds, the offsets (x - q[qh].seq) of every
 * entry's seq and end increase along the queue and are < 2^30; when those of
 * l and r are < 2^31 too, lk_seq_lt between any of them equals the plain
 * comparison of the offsets. So the entries ending after l form a suffix
 * (found by bisection) and those starting before r, or ending by r, a
 * prefix: the scan can start at q_first_end_after(l) and stop early. The
 * result is the same as that of the scan of the whole queue. */
static bool q_span_has(const struct sstate *s, uint32_t l, uint32_t r)
{
	if (!s->q_mono || s->qh == s->qn)
		return false;
	uint32_t base = s->q[s->qh].seq;
	return l - base < 0x80000000u && r - base < 0x80000000u;
}

/* A retransmission [seq, end) of data below snd_nxt: re-stamp what it covers
 * (tcp_rate_skb_sent). Entries overlap it iff e->seq < end && seq < e->end. */
static __attribute__((noinline)) void restamp(struct sstate *s, uint32_t seq, uint32_t end,
					      uint64_t ts)
{
	size_t i = s->qh;
	bool fast = q_span_has(s, seq, end);
	if (fast)
		i = q_first_end_after(s, seq);
	for (; i < s->qn; i++) {
		struct txseg *e = &s->q[i];
		if (lk_seq_lt(e->seq, end) && lk_seq_lt(seq, e->end)) {
			stamp(s, e, ts);
			e->retrans = true;
		} else if (fast && !lk_seq_lt(e->seq, end)) {
			break; /* sorted: every later entry starts at or after end */
		}
	}
}

static inline void sent(const struct lk_bwe *b, struct sstate *s, const struct lk_pkt *p, uint8_t fl,
			uint32_t plen, uint64_t ts)
{
	uint32_t len = plen + ((fl & LK_TH_FIN) ? 1 : 0);
	if (!len || (fl & LK_TH_RST))
		return;
	uint32_t seq = p->seq + ((fl & LK_TH_SYN) ? 1 : 0), end = seq + len;
	if (UNLIKELY(!s->out.first_data_ns) && plen)
		s->out.first_data_ns = ts;
	if (UNLIKELY(!s->nxt_valid || !s->una_valid)) {
		if (!s->nxt_valid) {
			s->snd_nxt = seq;
			s->nxt_valid = true;
		}
		if (!s->una_valid) {
			s->snd_una = seq;
			s->una_valid = true;
		}
	}
	if (lk_seq_le(end, s->snd_una))
		return; /* already acknowledged (spurious retransmission) */
	uint32_t mss = mss_of(b, s);
	if (UNLIKELY(lk_seq_lt(seq, s->snd_nxt))) {
		restamp(s, seq, end, ts);
		if (lk_seq_le(end, s->snd_nxt))
			return;
		seq = s->snd_nxt;
	}
	if (s->qh == s->qn) { /* nothing in flight */
		s->first_tx_ts = ts;
		s->delivered_ts = ts;
		s->q_mono = true;
	} else if (s->q_mono) {
		s->q_mono = seq == s->q[s->qn - 1].end && end - s->q[s->qh].seq < 0x40000000u;
	}
	if (UNLIKELY(s->qn == s->qcap || s->qn - s->qh >= LK_BWE_MAX_INFLIGHT) && q_room(s) < 0)
		return;
	struct txseg *e = &s->q[s->qn++];
	*e = (struct txseg){
		.seq = seq,
		.end = end,
		.pcount = mss && end - seq > mss ? (end - seq + mss - 1) / mss : 1,
		.tx_ts = ts,
		.first_tx = s->first_tx_ts,
		.dts = s->delivered_ts,
		.delivered = s->delivered,
		.app_limited = s->app_limited,
	};
	s->snd_nxt = end;
}

/* ---- ACKs ---- */

static inline void rate_delivered(struct sstate *s, struct txseg *e, struct ratesample *rs)
{
	if (!e->dts)
		return;
	if (!rs->prior_delivered || e->tx_ts > s->first_tx_ts ||
	    (e->tx_ts == s->first_tx_ts && lk_seq_lt(rs->last_end, e->end))) {
		rs->prior_delivered = e->delivered;
		rs->prior_ts = e->dts;
		rs->app_limited = e->app_limited;
		rs->retrans = e->retrans;
		rs->last_end = e->end;
		s->first_tx_ts = e->tx_ts;
		rs->interval = e->tx_ts - e->first_tx;
	}
	if (e->sacked)
		e->dts = 0;
}

static inline bool ww_slow_path(const struct sstate *s, const struct lk_pkt *p, uint8_t fl,
				bool advanced, bool sack)
{
	if (!advanced)
		return true;
	if (fl & ~(LK_TH_ACK | LK_TH_PSH))
		return true;
	if (sack || (s->exp_hlen && p->tcp_hlen != s->exp_hlen))
		return true;
	if (s->prev_win_valid && p->win != s->prev_win)
		return true;
	return false;
}

static __attribute__((noinline)) void ww_sample(struct lk_bwe *b, struct sstate *s, uint32_t now,
						uint32_t delta, uint64_t ts, bool sack)
{
	uint32_t sample = s->ww_bk / delta;
	if (s->ww_bw_ns_est == 0 && s->ww_bw_est == 0) {
		s->ww_bw_ns_est = sample;
		s->ww_bw_est = sample;
	} else {
		s->ww_bw_ns_est = (7 * s->ww_bw_ns_est + sample) >> 3;
		s->ww_bw_est = (7 * s->ww_bw_est + s->ww_bw_ns_est) >> 3;
	}
	s->ww_bk = 0;
	s->ww_win_sx = now;
	point(s, LK_BWE_WESTWOOD, ts, (double)s->ww_bw_est * b->prm.hz * 8.0, sack);
}

static inline void ww_update_window(struct lk_bwe *b, struct sstate *s, uint32_t now, uint64_t ts,
				    bool sack)
{
	if (UNLIKELY(s->ww_first_ack)) {
		s->ww_snd_una = s->snd_una;
		s->ww_first_ack = false;
	}
	int32_t delta = (int32_t)(now - s->ww_win_sx);
	uint32_t lim = s->ww_rtt > b->hz20 ? s->ww_rtt : b->hz20;
	if (s->ww_rtt && delta > 0 && (uint32_t)delta > lim)
		ww_sample(b, s, now, (uint32_t)delta, ts, sack);
}

static inline __attribute__((always_inline)) void ww_ack(struct lk_bwe *b, struct sstate *s, const struct lk_pkt *p, uint8_t fl,
			  uint64_t ts, bool advanced, bool sack, uint32_t mss)
{
	uint32_t now = jiffies(b, ts);
	if (ww_slow_path(s, p, fl, advanced, sack)) {
		s->out.slow_path_acks++;
		ww_update_window(b, s, now, ts, sack);
		uint32_t cumul = s->snd_una - s->ww_snd_una;
		if (!cumul) {
			s->ww_accounted += mss;
			cumul = mss;
		}
		if (cumul > mss) {
			if (s->ww_accounted >= cumul) {
				s->ww_accounted -= cumul;
				cumul = mss;
			} else {
				cumul -= s->ww_accounted;
				s->ww_accounted = 0;
			}
		}
		s->ww_cumul_ack = cumul;
		s->ww_snd_una = s->snd_una;
		s->ww_bk += cumul;
	} else {
		s->out.fast_path_acks++;
		ww_update_window(b, s, now, ts, sack);
		s->ww_bk += s->snd_una - s->ww_snd_una;
		s->ww_snd_una = s->snd_una;
	}
	if (UNLIKELY(s->ww_reset_rtt_min)) {
		s->ww_rtt_min = s->ww_rtt;
		s->ww_reset_rtt_min = false;
	} else if (s->ww_rtt < s->ww_rtt_min) {
		s->ww_rtt_min = s->ww_rtt;
	}
}

static void rtt_sample(struct sstate *s, uint64_t rtt)
{
	s->out.rtt_samples++;
	if (!s->min_rtt || rtt < s->min_rtt)
		s->min_rtt = rtt;
	s->srtt = s->srtt ? s->srtt - s->srtt / 8 + rtt / 8 : rtt;
}

static double stored_bps(const struct sstate *s, uint32_t mss)
{
	return s->rate_interval ? (double)s->rate_delivered * mss * 8e9 / (double)s->rate_interval
				: 0.0;
}

/* The TCP_INFO readings (every POLL_NS) before ts: the stored rate, counted
 * as runs of equal values (the rate only changes at ACKs). */
static __attribute__((noinline)) void polls_until(struct sstate *s, uint64_t ts, uint32_t mss)
{
	if (s->next_poll >= ts)
		return;
	uint64_t dt = ts - s->next_poll;
	uint64_t k = dt / POLL_NS + (dt % POLL_NS != 0); /* readings before ts */
	uint64_t room = (UINT64_MAX - s->next_poll) / POLL_NS;
	bool end_of_time = k > room; /* next_poll would wrap: no readings after it */
	if (end_of_time)
		k = room + 1;
	double v = stored_bps(s, mss);
	if (v > 0 && k) {
		if (s->n_polls && s->polls[s->n_polls - 1].v == v) {
			s->polls[s->n_polls - 1].n += k;
		} else {
			if (grow((void **)&s->polls, &s->cap_polls, s->n_polls, sizeof *s->polls) < 0) {
				s->err = true;
				return;
			}
			s->polls[s->n_polls++] = (struct pollrun){v, k};
		}
	}
	s->next_poll = end_of_time ? UINT64_MAX : s->next_poll + k * POLL_NS;
}

/* The first ACK completes the handshake: congestion control init. */
static __attribute__((noinline)) void first_ack(struct lk_bwe *b, struct sstate *s,
						const struct sstate *o, const struct lk_pkt *p,
						uint64_t ts)
{
	uint32_t ack = p->ack;
	s->any_ack = true;
	if (s->syn.seen && ack == s->syn.isn + 1 && !s->syn_rexmit && ts >= s->syn_tx)
		rtt_sample(s, ts - s->syn_tx);
	if (!s->una_valid || lk_seq_lt(s->snd_una, ack)) {
		s->snd_una = ack;
		s->una_valid = true;
	}
	if (!s->nxt_valid || lk_seq_lt(s->snd_nxt, ack)) {
		s->snd_nxt = ack;
		s->nxt_valid = true;
	}
	s->ww_init = true;
	s->ww_first_ack = true;
	s->ww_reset_rtt_min = true;
	s->ww_rtt = s->ww_rtt_min = 20 * b->prm.hz;
	s->ww_win_sx = jiffies(b, ts);
	s->ww_snd_una = ack;
	s->exp_hlen = (uint16_t)(20 + (s->syn.ts_opt && o->syn.ts_opt ? 12 : 0));
	if (!s->syn.seen || !o->syn.seen)
		s->exp_hlen = p->opt.n_sack ? 0 : p->tcp_hlen;
	s->prev_win = p->win;
	s->prev_win_valid = true;
}

struct acktimes {
	uint64_t newly, last_sackt, first_sackt, first_ackt, last_ackt;
	bool retrans_acked;
};

/* tcp_sacktag_write_queue: the SACK blocks of p (above ack). */
static __attribute__((noinline)) void sacktag(struct sstate *s, const struct lk_pkt *p,
					      uint32_t ack, struct acktimes *t,
					      struct ratesample *rs)
{
	for (unsigned k = 0; k < p->opt.n_sack && k < LK_MAX_SACK; k++) {
		uint32_t l = p->opt.sack[k][0], r = p->opt.sack[k][1];
		if (!lk_seq_lt(l, r) || lk_seq_le(r, ack))
			continue;
		/* entries inside [l, r): e->seq >= l && e->end <= r */
		size_t i = s->qh;
		bool fast = q_span_has(s, l, r);
		if (fast)
			i = q_first_end_after(s, l);
		for (; i < s->qn; i++) {
			struct txseg *e = &s->q[i];
			if (e->sacked || lk_seq_lt(e->seq, l) || lk_seq_lt(r, e->end)) {
				if (fast && lk_seq_lt(r, e->end))
					break; /* sorted: later entries end later still */
				continue;
			}
			e->sacked = true;
			t->newly += e->pcount;
			s->delivered += e->pcount;
			if (!e->retrans) {
				if (!t->first_sackt)
					t->first_sackt = e->tx_ts;
				t->last_sackt = e->tx_ts;
			}
			rate_delivered(s, e, rs);
		}
	}
}

/* An ACK for direction d's data (sent by the other host) at time ts. */
static inline void acked(struct lk_bwe *b, struct sstate *s, const struct sstate *o,
			 const struct lk_pkt *p, uint8_t fl, uint64_t ts)
{
	if (fl & LK_TH_RST)
		return;
	if (UNLIKELY(!s->any_ack)) {
		first_ack(b, s, o, p, ts);
		return;
	}
	uint32_t ack = p->ack;
	if (!s->nxt_valid)
		return;
	if (lk_seq_lt(s->snd_nxt, ack))
		return; /* acknowledges unsent data: Linux ignores it */
	uint32_t mss = mss_of(b, s);
	bool sack = p->opt.n_sack > 0;
	if (UNLIKELY(sack)) {
		s->out.sack_acks++;
		sack_mark(s, ts);
	}
	if (s->next_poll)
		polls_until(s, ts, mss);
	if (LIKELY(!sack) && ack == s->snd_una && s->qh == s->qn) {
		/* Nothing new acknowledged and nothing in flight (e.g. the data
		 * segments of the other direction): the general path below with
		 * old = advanced = false, no SACK and an empty queue reduces to
		 * this. */
		ww_ack(b, s, p, fl, ts, false, false, mss);
		s->prev_win = p->win;
		s->prev_win_valid = true;
		s->qh = s->qn = 0;
		s->app_limited = false;
		return;
	}
	bool old = lk_seq_lt(ack, s->snd_una);
	bool advanced = lk_seq_lt(s->snd_una, ack);
	uint32_t adv = advanced ? ack - s->snd_una : 0;
	if (!old) {
		if (advanced)
			s->snd_una = ack;
		ww_ack(b, s, p, fl, ts, advanced, sack, mss);
	}
	s->prev_win = p->win;
	s->prev_win_valid = true;

	/* tcp_sacktag_write_queue then tcp_clean_rtx_queue */
	struct ratesample rs = {0};
	struct acktimes t = {0};
	if (UNLIKELY(sack))
		sacktag(s, p, ack, &t, &rs);
	if (!old) {
		while (s->qh < s->qn) {
			struct txseg *e = &s->q[s->qh];
			bool full = lk_seq_le(e->end, ack);
			uint32_t acked_p;
			if (!full) {
				if (e->pcount <= 1 || !lk_seq_lt(e->seq, ack) || !mss)
					break;
				uint32_t left = (e->end - ack + mss - 1) / mss;
				acked_p = e->pcount > left ? e->pcount - left : 0;
				if (!acked_p)
					break;
				e->pcount = left;
				e->seq = ack;
			} else {
				acked_p = e->pcount;
			}
			if (e->retrans) {
				t.retrans_acked = true;
			} else if (!e->sacked) {
				if (!t.first_ackt)
					t.first_ackt = e->tx_ts;
				t.last_ackt = e->tx_ts;
			}
			if (!e->sacked) {
				t.newly += acked_p;
				s->delivered += acked_p;
			}
			rate_delivered(s, e, &rs);
			if (!full)
				break;
			s->qh++;
		}
		if (s->qh == s->qn)
			s->qh = s->qn = 0;
	}
	/* RTT (tcp_ack_update_rtt): ca_rtt = last (s)acked, used by Westwood */
	if (t.first_ackt | t.first_sackt) {
		int64_t ca_rtt = -1, seq_rtt = -1;
		if (t.first_ackt && !t.retrans_acked) {
			seq_rtt = (int64_t)(ts - t.first_ackt);
			ca_rtt = (int64_t)(ts - t.last_ackt);
		}
		if (t.first_sackt) {
			if (seq_rtt < 0)
				seq_rtt = (int64_t)(ts - t.first_sackt);
			ca_rtt = (int64_t)(ts - t.last_sackt);
		}
		if (seq_rtt >= 0 && ca_rtt >= 0)
			rtt_sample(s, (uint64_t)ca_rtt);
		if (!old && ca_rtt > 0) {
			uint64_t us = (uint64_t)ca_rtt / 1000;
			if (us > 0)
				s->ww_rtt = us_to_jiffies(b, us);
		}
	}
	if (!old) {
		/* tcp_rate_gen */
		s->app_limited = false;
		if (t.newly)
			s->delivered_ts = ts;
		if (rs.prior_ts) {
			uint64_t del = s->delivered - rs.prior_delivered;
			uint64_t ackp = ts >= rs.prior_ts ? ts - rs.prior_ts : 0;
			uint64_t iv = rs.interval > ackp ? rs.interval : ackp;
			if (iv && iv >= s->min_rtt) {
				point(s, LK_BWE_DELIVERY, ts, (double)del * mss * 8e9 / (double)iv, sack);
				if (!rs.app_limited ||
				    del * s->rate_interval >= s->rate_delivered * iv) {
					s->rate_delivered = del;
					s->rate_interval = iv;
					s->rate_app_limited = rs.app_limited;
				}
			}
		}
	}
	/* goodput per RTT window */
	if (advanced) {
		s->out.data_bytes_acked += adv;
		s->out.last_ack_ns = ts;
		if (UNLIKELY(!s->gp_started)) {
			s->gp_started = true;
			s->gp_start = ts;
			s->gp_bytes = 0;
			if (!s->next_poll)
				s->next_poll = (s->out.first_data_ns ? s->out.first_data_ns : ts) + POLL_NS;
		} else {
			s->gp_bytes += adv;
			uint64_t w = s->srtt > b->prm.goodput_min_window_ns ? s->srtt
									   : b->prm.goodput_min_window_ns;
			if (ts - s->gp_start >= w) {
				point(s, LK_BWE_GOODPUT, ts,
				      (double)s->gp_bytes * 8e9 / (double)(ts - s->gp_start), sack);
				s->gp_start = ts;
				s->gp_bytes = 0;
			}
		}
	}
}

static __attribute__((noinline)) void syn_fields(struct lk_bwe *b, struct sstate *s,
						 const struct lk_pkt *p, uint64_t ts)
{
	if (lk_syn_note(&s->syn, p)) {
		s->syn_tx = ts;
		b->hs_mss = hs_mss(b);
	} else {
		s->syn_rexmit = true;
	}
}

int lk_bwe_feed(struct lk_bwe *b, int d, const struct lk_pkt *p, uint64_t ts)
{
	if (d != 0 && d != 1)
		return 0;
	struct sstate *s = &b->st[d], *o = &b->st[1 - d];
	/* keep the two pointers in registers (the compiler would otherwise
	 * recompute b->st + d * size at every use) */
	__asm__("" : "+r"(s), "+r"(o));
	const uint8_t fl = p->flags;
	const uint32_t plen = p->payload_len;
	if (UNLIKELY(fl & LK_TH_SYN))
		syn_fields(b, s, p, ts);
	if (plen - 1 < MAX_SMALL_SEG) /* 0 < plen <= MAX_SMALL_SEG */
		lk_seglen_add(&s->mg, plen);
	if (LIKELY(!s->err))
		sent(b, s, p, fl, plen, ts);
	if ((fl & LK_TH_ACK) && LIKELY(!o->err))
		acked(b, o, s, p, fl, ts);
	return (s->err || o->err) ? -1 : 0;
}

static int cmpd(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;
	return a < c ? -1 : a > c;
}

static double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof *v, cmpd);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmprun(const void *x, const void *y)
{
	return cmpd(&((const struct pollrun *)x)->v, &((const struct pollrun *)y)->v);
}

/* The median of the multiset given as runs (value, count): the same as
 * median() of the expanded values. Sorts v. */
static double median_runs(struct pollrun *v, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].n;
	if (!total)
		return NAN;
	qsort(v, n, sizeof *v, cmprun);
	/* value of rank k (0-based) in the sorted expansion */
	uint64_t k1 = total % 2 ? total / 2 : total / 2 - 1, k2 = total / 2;
	double x1 = NAN, x2 = NAN;
	uint64_t before = 0;
	for (size_t i = 0; i < n; i++) {
		if (k1 >= before && k1 < before + v[i].n)
			x1 = v[i].v;
		if (k2 >= before && k2 < before + v[i].n) {
			x2 = v[i].v;
			break;
		}
		before += v[i].n;
	}
	return total % 2 ? x2 : (x1 + x2) / 2;
}

void lk_bwe_finish(struct lk_bwe *b, int near)
{
	for (int d = 0; d < 2; d++) {
		struct sstate *s = &b->st[d];
		struct lk_bwe_dir *o = &s->out;
		o->mss = eff_mss(b, d);
		o->min_rtt_ns = s->min_rtt;
		o->ww_bw_est = s->ww_bw_est;
		o->ww_bw_ns_est = s->ww_bw_ns_est;
		o->ww_rtt_min = s->ww_rtt_min;
		o->valid = false;
		if (!o->first_data_ns || !o->data_bytes_acked)
			o->note = "no acknowledged data in this direction";
		else if (near < 0)
			o->note = "capture side unknown (give --side sender|receiver)";
		else if (near != d)
			o->note = "capture not taken at this direction's sender";
		else if (s->err)
			o->note = "out of memory during the replay";
		else {
			o->valid = true;
			o->note = NULL;
		}
		uint64_t t0 = o->first_data_ns, t1 = o->last_ack_ns;
		uint64_t D = t1 > t0 ? t1 - t0 : 0;
		o->steady_from_ns = t0 + D / 4;
		o->steady_to_ns = t0 + D - D / 10;
		for (int k = 0; k < LK_BWE__COUNT; k++) {
			struct lk_bwe_series *ser = &o->s[k];
			struct lk_bwe_summary *sm = &o->sum[k];
			sm->n = ser->n;
			sm->last_bps = ser->n ? ser->v[ser->n - 1].bps : NAN;
			sm->max_bps = 0;
			size_t m = 0;
			double *tmp = ser->n ? malloc(ser->n * sizeof *tmp) : NULL;
			for (size_t i = 0; i < ser->n; i++) {
				if (ser->v[i].bps > sm->max_bps)
					sm->max_bps = ser->v[i].bps;
				if (tmp && ser->v[i].t_ns >= o->steady_from_ns &&
				    ser->v[i].t_ns <= o->steady_to_ns)
					tmp[m++] = ser->v[i].bps;
			}
			sm->median_bps = tmp ? median(tmp, m) : NAN;
			if (ser->n && !tmp)
				o->note = o->note ? o->note : "out of memory computing medians";
			free(tmp);
		}
		o->tcpi_median_bps = median_runs(s->polls, s->n_polls);
	}
}

const struct lk_bwe_dir *lk_bwe_dir(const struct lk_bwe *b, int dir)
{
	return &b->st[dir ? 1 : 0].out;
}

static void jnum(FILE *f, const char *k, double v, bool comma)
{
	fprintf(f, "%s\"%s\":", comma ? "," : "", k);
	lk_json_num(f, v);
}

void lk_bwe_json(const struct lk_bwe *b, int dir, FILE *f)
{
	const struct lk_bwe_dir *o = lk_bwe_dir(b, dir);
	fprintf(f, "{\"valid\":%s", o->valid ? "true" : "false");
	if (!o->valid) {
		fputs(",\"note\":", f);
		lk_json_str(f, o->note ? o->note : "not finished");
	}
	fprintf(f, ",\"hz\":%u,\"mss\":%" PRIu32, b->prm.hz, o->mss);
	jnum(f, "min_rtt_us", o->min_rtt_ns ? (double)o->min_rtt_ns / 1e3 : NAN, true);
	fprintf(f, ",\"rtt_samples\":%" PRIu64 ",\"bytes_acked\":%" PRIu64 ",\"sack_acks\":%" PRIu64
		   ",\"fast_path_acks\":%" PRIu64 ",\"slow_path_acks\":%" PRIu64,
		o->rtt_samples, o->data_bytes_acked, o->sack_acks, o->fast_path_acks,
		o->slow_path_acks);
	if (o->forgotten_segs)
		fprintf(f, ",\"forgotten_segs\":%" PRIu64, o->forgotten_segs);
	uint64_t D = o->last_ack_ns > o->first_data_ns ? o->last_ack_ns - o->first_data_ns : 0;
	jnum(f, "duration_s", (double)D / 1e9, true);
	jnum(f, "avg_goodput_bps", D ? (double)o->data_bytes_acked * 8e9 / (double)D : NAN, true);
	for (int k = 0; k < LK_BWE__COUNT; k++) {
		const struct lk_bwe_summary *sm = &o->sum[k];
		fprintf(f, ",\"%s\":{\"points\":%" PRIu64, lk_bwe_est_names[k], sm->n);
		bool v = o->valid;
		jnum(f, "median_bps", v ? sm->median_bps : NAN, true);
		jnum(f, "last_bps", v ? sm->last_bps : NAN, true);
		jnum(f, "max_bps", v && sm->n ? sm->max_bps : NAN, true);
		if (k == LK_BWE_WESTWOOD) {
			jnum(f, "bw_est_bytes_per_jiffy", v ? o->ww_bw_est : NAN, true);
			jnum(f, "bw_ns_est_bytes_per_jiffy", v ? o->ww_bw_ns_est : NAN, true);
			jnum(f, "rtt_min_jiffies", v ? o->ww_rtt_min : NAN, true);
		}
		if (k == LK_BWE_DELIVERY)
			jnum(f, "tcpi_median_bps", v ? o->tcpi_median_bps : NAN, true);
		fputc('}', f);
	}
	fprintf(f, ",\"steady_from_ns\":%" PRIu64 ",\"steady_to_ns\":%" PRIu64 "}",
		o->steady_from_ns, o->steady_to_ns);
}

void lk_bwe_text(const struct lk_bwe *b, int dir, const char *ind, FILE *f)
{
	const struct lk_bwe_dir *o = lk_bwe_dir(b, dir);
	if (!o->valid) {
		fprintf(f, "%sbandwidth estimates: n/a (%s)\n", ind, o->note ? o->note : "");
		return;
	}
	fprintf(f, "%sbandwidth estimates (steady-part medians, Mbit/s): westwood+ %.1f, "
		   "delivery rate %.1f (polled %.1f), goodput/RTT %.1f; min rtt %.1f us, "
		   "%" PRIu64 " SACK acks\n",
		ind, o->sum[LK_BWE_WESTWOOD].median_bps / 1e6,
		o->sum[LK_BWE_DELIVERY].median_bps / 1e6, o->tcpi_median_bps / 1e6,
		o->sum[LK_BWE_GOODPUT].median_bps / 1e6, (double)o->min_rtt_ns / 1e3, o->sack_acks);
}

void lk_bwe_csv(const struct lk_bwe *b, int dir, FILE *f)
{
	const struct lk_bwe_dir *o = lk_bwe_dir(b, dir);
	for (int k = 0; k < LK_BWE__COUNT; k++)
		for (size_t i = 0; i < o->s[k].n; i++)
			fprintf(f, "%s,%" PRIu64 ",%.0f,%d\n", lk_bwe_est_names[k], o->s[k].v[i].t_ns,
				o->s[k].v[i].bps, o->s[k].v[i].sack);
	for (size_t i = 0; i < o->n_sack_ts; i++)
		fprintf(f, "sack_ack,%" PRIu64 ",,1\n", o->sack_ts[i]);
}

int lk_bwe_store(const struct lk_bwe *b, sqlite3 *db, int64_t flow_id, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO bwe(flow_id,dir,estimator,t_ns,value_bps,sack) "
			       "VALUES(?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "storing bwe: %s", sqlite3_errmsg(db));
	int rc = 0;
	for (int d = 0; d < 2 && !rc; d++) {
		const struct lk_bwe_dir *o = lk_bwe_dir(b, d);
		if (!o->valid)
			continue;
		for (int k = 0; k <= LK_BWE__COUNT && !rc; k++) {
			size_t n = k < LK_BWE__COUNT ? o->s[k].n : o->n_sack_ts;
			for (size_t i = 0; i < n && !rc; i++) {
				sqlite3_reset(st);
				sqlite3_bind_int64(st, 1, flow_id);
				sqlite3_bind_int(st, 2, d);
				sqlite3_bind_text(st, 3, k < LK_BWE__COUNT ? lk_bwe_est_names[k] : "sack_ack",
						  -1, SQLITE_STATIC);
				if (k < LK_BWE__COUNT) {
					sqlite3_bind_int64(st, 4, (sqlite3_int64)o->s[k].v[i].t_ns);
					sqlite3_bind_double(st, 5, o->s[k].v[i].bps);
					sqlite3_bind_int(st, 6, o->s[k].v[i].sack);
				} else {
					sqlite3_bind_int64(st, 4, (sqlite3_int64)o->sack_ts[i]);
					sqlite3_bind_null(st, 5);
					sqlite3_bind_int(st, 6, 1);
				}
				if (sqlite3_step(st) != SQLITE_DONE)
					rc = lk_errf(e, LK_EXIT_RUNTIME, "storing bwe: %s",
						     sqlite3_errmsg(db));
			}
		}
	}
	sqlite3_finalize(st);
	return rc;
}
