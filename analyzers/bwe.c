/* analyzers/bwe.c - Westwood+, delivery-rate and goodput replay; see bwe.h. */
#include "analyzers/bwe.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

const char *const lk_bwe_est_names[LK_BWE__COUNT] = {"westwood", "delivery_rate", "goodput"};

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

struct sstate {
	bool err;
	/* handshake (this direction as sender) */
	bool syn_seen, syn_ts_opt, syn_rexmit;
	uint16_t syn_mss;
	uint32_t isn;
	uint64_t syn_tx;
	uint32_t mg_len[4], mg_cnt[4];
	/* sequence state */
	bool nxt_valid, una_valid;
	uint32_t snd_nxt, snd_una;
	struct txseg *q;
	size_t qh, qn, qcap;
	/* tcp_rate.c */
	uint64_t delivered, delivered_ts, first_tx_ts;
	bool app_limited, any_ack;
	uint64_t rate_delivered, rate_interval;
	bool rate_app_limited;
	uint64_t min_rtt, srtt;
	uint64_t next_poll;
	double *polls;
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
};

struct lk_bwe *lk_bwe_new(const struct lk_bwe_params *p)
{
	struct lk_bwe *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	if (p)
		b->prm = *p;
	else
		lk_bwe_params_default(&b->prm);
	if (!b->prm.hz)
		b->prm.hz = 1000;
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

static void mg_add(struct sstate *s, uint32_t len)
{
	for (int i = 0; i < 4; i++)
		if (s->mg_cnt[i] && s->mg_len[i] == len) {
			s->mg_cnt[i]++;
			return;
		}
	for (int i = 0; i < 4; i++)
		if (!s->mg_cnt[i]) {
			s->mg_len[i] = len;
			s->mg_cnt[i] = 1;
			return;
		}
	for (int i = 0; i < 4; i++)
		s->mg_cnt[i]--;
}

/* MSS of the data sent by direction d (same rule as analyzers/acks.c). */
static uint32_t eff_mss(const struct lk_bwe *b, int d)
{
	const struct sstate *x = &b->st[0], *y = &b->st[1];
	uint32_t m = 0;
	bool ts = true;
	for (int i = 0; i < 2; i++) {
		const struct sstate *s = i ? y : x;
		if (!s->syn_seen)
			continue;
		ts = ts && s->syn_ts_opt;
		if (s->syn_mss && (!m || s->syn_mss < m))
			m = s->syn_mss;
	}
	if (m)
		return x->syn_seen && y->syn_seen && ts && m > 12 ? m - 12 : m;
	const struct sstate *s = &b->st[d];
	uint32_t best = 0, bc = 0;
	for (int i = 0; i < 4; i++)
		if (s->mg_cnt[i] > bc || (s->mg_cnt[i] == bc && bc && s->mg_len[i] > best)) {
			bc = s->mg_cnt[i];
			best = s->mg_len[i];
		}
	return best;
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

static uint32_t jiffies(const struct lk_bwe *b, uint64_t ts)
{
	return (uint32_t)((ts / 1000) * b->prm.hz / 1000000);
}

static uint32_t us_to_jiffies(const struct lk_bwe *b, uint64_t us)
{
	return (uint32_t)((us * b->prm.hz + 999999) / 1000000);
}

/* ---- data segments ---- */

static struct txseg *q_add(struct sstate *s)
{
	if (s->qn == s->qcap && s->qh > 0) {
		memmove(s->q, s->q + s->qh, (s->qn - s->qh) * sizeof *s->q);
		s->qn -= s->qh;
		s->qh = 0;
	}
	if (grow((void **)&s->q, &s->qcap, s->qn, sizeof *s->q) < 0) {
		s->err = true;
		return NULL;
	}
	return &s->q[s->qn++];
}

static void stamp(struct sstate *s, struct txseg *e, uint64_t ts)
{
	e->tx_ts = ts;
	e->first_tx = s->first_tx_ts;
	e->dts = s->delivered_ts;
	e->delivered = s->delivered;
	e->app_limited = s->app_limited;
}

static void sent(struct lk_bwe *b, int d, const struct lk_pkt *p, uint64_t ts)
{
	struct sstate *s = &b->st[d];
	uint32_t fin = (p->flags & LK_TH_FIN) ? 1 : 0;
	uint32_t len = p->payload_len + fin;
	if (!len || (p->flags & LK_TH_RST))
		return;
	uint32_t seq = p->seq + ((p->flags & LK_TH_SYN) ? 1 : 0), end = seq + len;
	if (!s->out.first_data_ns && p->payload_len)
		s->out.first_data_ns = ts;
	if (!s->nxt_valid) {
		s->snd_nxt = seq;
		s->nxt_valid = true;
	}
	if (!s->una_valid) {
		s->snd_una = seq;
		s->una_valid = true;
	}
	if (lk_seq_le(end, s->snd_una))
		return; /* already acknowledged (spurious retransmission) */
	uint32_t mss = eff_mss(b, d);
	if (lk_seq_lt(seq, s->snd_nxt)) {
		/* retransmission: re-stamp what it covers (tcp_rate_skb_sent) */
		for (size_t i = s->qh; i < s->qn; i++) {
			struct txseg *e = &s->q[i];
			if (lk_seq_lt(e->seq, end) && lk_seq_lt(seq, e->end)) {
				stamp(s, e, ts);
				e->retrans = true;
			}
		}
		if (lk_seq_le(end, s->snd_nxt))
			return;
		seq = s->snd_nxt;
	}
	if (s->qh == s->qn) { /* nothing in flight */
		s->first_tx_ts = ts;
		s->delivered_ts = ts;
	}
	struct txseg *e = q_add(s);
	if (!e)
		return;
	memset(e, 0, sizeof *e);
	e->seq = seq;
	e->end = end;
	e->pcount = mss && end - seq > mss ? (end - seq + mss - 1) / mss : 1;
	stamp(s, e, ts);
	s->snd_nxt = end;
}

/* ---- ACKs ---- */

static void rate_delivered(struct sstate *s, struct txseg *e, struct ratesample *rs)
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

static bool ww_slow_path(const struct sstate *s, const struct lk_pkt *p, bool advanced)
{
	if (!advanced)
		return true;
	if (p->flags & ~(LK_TH_ACK | LK_TH_PSH))
		return true;
	if (p->opt.n_sack || (s->exp_hlen && p->tcp_hlen != s->exp_hlen))
		return true;
	if (s->prev_win_valid && p->win != s->prev_win)
		return true;
	return false;
}

static void ww_update_window(struct lk_bwe *b, struct sstate *s, uint32_t now, uint64_t ts,
			     bool sack)
{
	if (s->ww_first_ack) {
		s->ww_snd_una = s->snd_una;
		s->ww_first_ack = false;
	}
	int32_t delta = (int32_t)(now - s->ww_win_sx);
	uint32_t lim = s->ww_rtt > b->prm.hz / 20 ? s->ww_rtt : b->prm.hz / 20;
	if (s->ww_rtt && delta > 0 && (uint32_t)delta > lim) {
		uint32_t sample = s->ww_bk / (uint32_t)delta;
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
}

static void ww_ack(struct lk_bwe *b, struct sstate *s, const struct lk_pkt *p, uint64_t ts,
		   bool advanced, uint32_t mss)
{
	uint32_t now = jiffies(b, ts);
	bool sack = p->opt.n_sack > 0;
	if (ww_slow_path(s, p, advanced)) {
		s->out.slow_path_acks++;
		ww_update_window(b, s, now, ts, sack);
		s->ww_cumul_ack = s->snd_una - s->ww_snd_una;
		if (!s->ww_cumul_ack) {
			s->ww_accounted += mss;
			s->ww_cumul_ack = mss;
		}
		if (s->ww_cumul_ack > mss) {
			if (s->ww_accounted >= s->ww_cumul_ack) {
				s->ww_accounted -= s->ww_cumul_ack;
				s->ww_cumul_ack = mss;
			} else {
				s->ww_cumul_ack -= s->ww_accounted;
				s->ww_accounted = 0;
			}
		}
		s->ww_snd_una = s->snd_una;
		s->ww_bk += s->ww_cumul_ack;
	} else {
		s->out.fast_path_acks++;
		ww_update_window(b, s, now, ts, sack);
		s->ww_bk += s->snd_una - s->ww_snd_una;
		s->ww_snd_una = s->snd_una;
	}
	if (s->ww_reset_rtt_min) {
		s->ww_rtt_min = s->ww_rtt;
		s->ww_reset_rtt_min = false;
	} else if (s->ww_rtt < s->ww_rtt_min) {
		s->ww_rtt_min = s->ww_rtt;
	}
}

static void rtt_sample(struct lk_bwe *b, struct sstate *s, uint64_t rtt)
{
	(void)b;
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

static void polls_until(struct sstate *s, uint64_t ts, uint32_t mss)
{
	if (!s->next_poll)
		return;
	double v = stored_bps(s, mss);
	while (s->next_poll < ts) {
		if (v > 0) {
			if (grow((void **)&s->polls, &s->cap_polls, s->n_polls, sizeof *s->polls) < 0) {
				s->err = true;
				return;
			}
			s->polls[s->n_polls++] = v;
		}
		s->next_poll += POLL_NS;
	}
}

/* An ACK for direction d's data (sent by the other host) at time ts. */
static void acked(struct lk_bwe *b, int d, const struct lk_pkt *p, uint64_t ts)
{
	struct sstate *s = &b->st[d];
	if (p->flags & LK_TH_RST)
		return;
	uint32_t ack = p->ack;
	uint32_t mss = eff_mss(b, d);
	if (!s->any_ack) {
		/* the first ACK completes the handshake: congestion control init */
		s->any_ack = true;
		if (s->syn_seen && ack == s->isn + 1 && !s->syn_rexmit && ts >= s->syn_tx)
			rtt_sample(b, s, ts - s->syn_tx);
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
		s->exp_hlen = (uint16_t)(20 + (s->syn_ts_opt && b->st[1 - d].syn_ts_opt ? 12 : 0));
		if (!s->syn_seen || !b->st[1 - d].syn_seen)
			s->exp_hlen = p->opt.n_sack ? 0 : p->tcp_hlen;
		s->prev_win = p->win;
		s->prev_win_valid = true;
		return;
	}
	if (!s->nxt_valid)
		return;
	if (lk_seq_lt(s->snd_nxt, ack))
		return; /* acknowledges unsent data: Linux ignores it */
	bool sack = p->opt.n_sack > 0;
	if (sack) {
		s->out.sack_acks++;
		if (grow((void **)&s->out.sack_ts, &s->out.cap_sack_ts, s->out.n_sack_ts,
			 sizeof *s->out.sack_ts) < 0)
			s->err = true;
		else
			s->out.sack_ts[s->out.n_sack_ts++] = ts;
	}
	polls_until(s, ts, mss);
	bool old = lk_seq_lt(ack, s->snd_una);
	bool advanced = lk_seq_lt(s->snd_una, ack);
	uint32_t adv = advanced ? ack - s->snd_una : 0;
	if (!old) {
		if (advanced)
			s->snd_una = ack;
		ww_ack(b, s, p, ts, advanced, mss);
	}
	s->prev_win = p->win;
	s->prev_win_valid = true;

	/* tcp_sacktag_write_queue then tcp_clean_rtx_queue */
	struct ratesample rs = {0};
	uint64_t newly = 0, last_sackt = 0, first_sackt = 0, first_ackt = 0, last_ackt = 0;
	bool retrans_acked = false;
	for (unsigned k = 0; k < p->opt.n_sack && k < LK_MAX_SACK; k++) {
		uint32_t l = p->opt.sack[k][0], r = p->opt.sack[k][1];
		if (!lk_seq_lt(l, r) || lk_seq_le(r, ack))
			continue;
		for (size_t i = s->qh; i < s->qn; i++) {
			struct txseg *e = &s->q[i];
			if (e->sacked || lk_seq_lt(e->seq, l) || lk_seq_lt(r, e->end))
				continue;
			e->sacked = true;
			newly += e->pcount;
			s->delivered += e->pcount;
			if (!e->retrans) {
				if (!first_sackt)
					first_sackt = e->tx_ts;
				last_sackt = e->tx_ts;
			}
			rate_delivered(s, e, &rs);
		}
	}
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
				retrans_acked = true;
			} else if (!e->sacked) {
				if (!first_ackt)
					first_ackt = e->tx_ts;
				last_ackt = e->tx_ts;
			}
			if (!e->sacked) {
				newly += acked_p;
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
	int64_t ca_rtt = -1, seq_rtt = -1;
	if (first_ackt && !retrans_acked) {
		seq_rtt = (int64_t)(ts - first_ackt);
		ca_rtt = (int64_t)(ts - last_ackt);
	}
	if (first_sackt) {
		if (seq_rtt < 0)
			seq_rtt = (int64_t)(ts - first_sackt);
		ca_rtt = (int64_t)(ts - last_sackt);
	}
	if (seq_rtt >= 0 && ca_rtt >= 0)
		rtt_sample(b, s, (uint64_t)ca_rtt);
	if (!old && ca_rtt > 0) {
		uint64_t us = (uint64_t)ca_rtt / 1000;
		if (us > 0)
			s->ww_rtt = us_to_jiffies(b, us);
	}
	if (!old) {
		/* tcp_rate_gen */
		s->app_limited = false;
		if (newly)
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
		if (!s->gp_started) {
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

int lk_bwe_feed(struct lk_bwe *b, int d, const struct lk_pkt *p, uint64_t ts)
{
	if (d != 0 && d != 1)
		return 0;
	struct sstate *s = &b->st[d];
	if (p->flags & LK_TH_SYN) {
		if (s->syn_seen && s->isn == p->seq)
			s->syn_rexmit = true;
		if (!s->syn_seen || s->isn != p->seq) {
			s->syn_seen = true;
			s->isn = p->seq;
			s->syn_tx = ts;
			s->syn_ts_opt = p->opt.has_ts;
			s->syn_mss = p->opt.has_mss ? p->opt.mss : 0;
		}
	}
	if (p->payload_len > 0 && p->payload_len <= MAX_SMALL_SEG)
		mg_add(s, p->payload_len);
	if (!s->err)
		sent(b, d, p, ts);
	if ((p->flags & LK_TH_ACK) && !b->st[1 - d].err)
		acked(b, 1 - d, p, ts);
	return (s->err || b->st[1 - d].err) ? -1 : 0;
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
		double *pc = s->n_polls ? malloc(s->n_polls * sizeof *pc) : NULL;
		if (pc)
			memcpy(pc, s->polls, s->n_polls * sizeof *pc);
		o->tcpi_median_bps = pc ? median(pc, s->n_polls) : NAN;
		free(pc);
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
