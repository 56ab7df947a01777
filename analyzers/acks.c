/* analyzers/acks.c - ACK classification; see acks.h for the rules. */
#include "analyzers/acks.h"
#include "analyzers/fifo.h"
#include "analyzers/handshake.h"
#include "analyzers/seglen.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/bwe.h"
#include "analyzers/flow.h"
#include "lib/json.h"
#include "lib/mem.h"

const char *const lk_timing_names[LK_T__COUNT] = {"ooo", "aggregate", "full2", "delack", "quick",
						  "nodata"};

#define JIFFY_SLACK_NS 4000000ull /* one jiffy at HZ=250 */
#define MAX_SMALL_SEG 8960u       /* jumbo MTU 9000 - 40 */

void lk_acks_params_default(struct lk_acks_params *p)
{
	p->side = LK_SIDE_AUTO;
	p->delack_min_ns = 40000000ull;
}

struct rxseg {
	uint32_t end;
	uint64_t ts;
	bool big;
};

struct dstate {
	/* handshake */
	struct lk_syn syn;
	/* as data sender */
	uint64_t data_bytes, data_pkts;
	bool hi_valid;
	uint32_t hi_end;
	struct lk_seglen mg;             /* frequent segment lengths (seglen.h) */
	uint32_t mg_best;              /* eff_mss's "observed" value (cache) */
	/* as ACK sender */
	bool ack_valid, win_valid;
	uint32_t last_ack;
	uint16_t last_win;
	/* receiver model (data of the other direction arriving here) */
	bool rcv_valid, ooo_pending, old_pending;
	uint32_t rcv_nxt;
	struct rxseg *q;
	size_t qh, qn, qcap; /* entries [qh, qn) */
	struct lk_acks_dir out;
};

struct lk_acks {
	struct lk_acks_params prm;
	struct dstate st[2];
	uint32_t hs_mss;   /* eff_mss's "handshake" value, 0 if none (cache) */
	uint64_t delack_thr; /* delack_min_ns minus one jiffy */
	int near, data_dir;
	const char *rule;
	bool finished;
	struct lk_side_state *side;          /* the capture-side evidence (side.h) */
	struct lk_side_decision dec;   /* its decision, after finish */
};

struct lk_acks *lk_acks_new(const struct lk_acks_params *p)
{
	struct lk_acks *a = lk_zalloc_lines(sizeof *a);
	if (!a)
		return NULL;
	if (!(a->side = lk_side_new())) {
		free(a);
		return NULL;
	}
	if (p)
		a->prm = *p;
	else
		lk_acks_params_default(&a->prm);
	if (!a->prm.delack_min_ns)
		a->prm.delack_min_ns = 40000000ull;
	a->delack_thr = a->prm.delack_min_ns > JIFFY_SLACK_NS ? a->prm.delack_min_ns - JIFFY_SLACK_NS
							      : 0;
	a->near = -1;
	a->data_dir = -1;
	a->rule = "unknown";
	return a;
}

void lk_acks_free(struct lk_acks *a)
{
	if (!a)
		return;
	free(a->st[0].q);
	free(a->st[1].q);
	lk_side_free(a->side);
	free(a);
}

/* Effective MSS of the data sent by direction d. */
/* The handshake part of eff_mss (depends only on the SYN fields). */
static uint32_t hs_mss(const struct lk_acks *a)
{
	const struct dstate *x = &a->st[0], *y = &a->st[1];
	return lk_handshake_mss(&x->syn, &y->syn);
}

static uint32_t eff_mss(const struct lk_acks *a, int d, const char **src)
{
	uint32_t m = hs_mss(a);
	if (m) {
		if (src)
			*src = "handshake";
		return m;
	}
	uint32_t best = lk_seglen_best(&a->st[d].mg);
	if (src)
		*src = best ? "observed" : "none";
	return best;
}

/* eff_mss(a, d, NULL) from the caches: hs_mss is refreshed whenever a SYN
 * changes the handshake fields, mg_best whenever mg_add ran since. */
static inline uint32_t mss_of(const struct lk_acks *a, struct dstate *s)
{
	if (a->hs_mss)
		return a->hs_mss;
	if (s->mg.dirty) {
		s->mg_best = eff_mss(a, (int)(s - a->st), NULL);
		s->mg.dirty = false;
	}
	return s->mg_best;
}

static bool is_dsack(const struct lk_pkt *p)
{
	const struct lk_tcpopt *o = &p->opt;
	if (o->n_sack < 1)
		return false;
	/* tcptrace's rules, plain unsigned compares */
	uint32_t l0 = o->sack[0][0], r0 = o->sack[0][1];
	if (r0 <= p->ack)
		return true;
	if (o->n_sack >= 2) {
		uint32_t l1 = o->sack[1][0], r1 = o->sack[1][1];
		if (r0 <= r1 && l0 >= l1)
			return true;
		if ((l0 <= l1 && l1 < r0) || (r0 >= r1 && r1 > l0))
			return true;
	}
	return false;
}

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Called when the queue is full or holds LK_ACKS_MAX_PENDING entries: then
 * the oldest is forgotten (see acks.h). -1 when out of memory. */
static __attribute__((noinline)) int q_room(struct dstate *s)
{
	return lk_fifo_room((void **)&s->q, sizeof *s->q, &s->qh, &s->qn, &s->qcap, LK_ACKS_MAX_PENDING,
			    &s->out.forgotten_segs);
}

static inline int q_push(struct dstate *s, uint32_t end, uint64_t ts, bool big)
{
	if (UNLIKELY(s->qn == s->qcap || s->qn - s->qh >= LK_ACKS_MAX_PENDING) && q_room(s) < 0)
		return -1;
	s->q[s->qn++] = (struct rxseg){end, ts, big};
	return 0;
}

/* Data [pseq + syn, pseq + syn + plen + fin) of direction `snd` (state S)
 * arriving at the other host (state R). */
static inline int rx_data(const struct lk_acks *a, struct dstate *S, struct dstate *R, uint32_t pseq,
			  uint32_t plen, uint32_t syn, uint32_t fin, uint64_t ts)
{
	uint32_t seq = pseq + syn;
	uint32_t end = pseq + syn + plen + fin;
	if (UNLIKELY(!R->rcv_valid)) {
		R->rcv_nxt = S->syn.seen ? S->syn.isn + 1 : seq;
		R->rcv_valid = true;
	}
	if (lk_seq_le(end, R->rcv_nxt)) {
		R->old_pending = true;
		return 0;
	}
	if (lk_seq_lt(R->rcv_nxt, seq)) {
		R->ooo_pending = true;
		return 0;
	}
	uint32_t mss = mss_of(a, S);
	R->rcv_nxt = end;
	return q_push(R, end, ts, mss && plen > mss);
}

/* *newest: capture time of the newest segment this ACK newly covers (kept
 * when none). */
static inline enum lk_timing classify_timing(const struct lk_acks *a, struct dstate *S, uint32_t ack,
					     bool sack, uint32_t adv, uint32_t mss, uint64_t ts,
					     uint64_t *newest)
{
	bool ooo = sack || S->ooo_pending || S->old_pending;
	if (S->rcv_valid && lk_seq_lt(S->rcv_nxt, ack)) {
		/* acknowledges data that did not arrive in order here (hole filled) */
		ooo = true;
		S->rcv_nxt = ack;
	}
	size_t qh = S->qh, qn = S->qn, n = 0;
	bool big = false;
	uint64_t oldest = 0;
	if (qh < qn && lk_seq_le(S->q[qh].end, ack)) {
		oldest = S->q[qh].ts;
		do {
			big = big || S->q[qh].big;
			n++;
			qh++;
		} while (qh < qn && lk_seq_le(S->q[qh].end, ack));
		*newest = S->q[qh - 1].ts;
	}
	if (qh == qn)
		qh = qn = 0;
	S->qh = qh;
	S->qn = qn;
	S->ooo_pending = S->old_pending = false;
	if (ooo)
		return LK_T_OOO;
	if (!n || !adv)
		return LK_T_NODATA;
	if (big)
		return LK_T_AGGREGATE;
	if (mss && adv > mss)
		return LK_T_FULL2;
	return ts >= oldest && ts - oldest >= a->delack_thr ? LK_T_DELACK : LK_T_QUICK;
}

/* An ACK that advanced by adv > 0 (previous ack known). */
static inline void ack_advanced(struct dstate *S, uint32_t adv, uint32_t mss)
{
	struct lk_acks_dir *o = &S->out;
	if (!mss) {
		o->adv_unknown++;
	} else {
		/* adv < 2^31 and mss < 2^16: no 32-bit overflow */
		uint32_t u = (adv + mss - 1) / mss;
		o->adv_hist[u < LK_ACKS_HIST - 1 ? u : LK_ACKS_HIST - 1]++;
		if (u <= 1)
			o->adv_1++;
		else if (u == 2)
			o->adv_2++;
		else
			o->adv_stretch++;
	}
}

/* -1 when out of memory (in the capture-side evidence), else 0. */
static inline int ack_seg(const struct lk_acks *a, struct dstate *S, struct dstate *O,
			  const struct lk_pkt *p, uint8_t fl, uint32_t plen, uint64_t ts, int d)
{
	struct lk_acks_dir *o = &S->out;
	o->ack_pkts++;
	if (fl & LK_TH_RST)
		return 0;
	const uint32_t ack = p->ack;
	const uint16_t win = p->win;
	const bool sack = p->opt.n_sack >= 1;
	if (UNLIKELY(sack)) {
		o->sack++;
		if (is_dsack(p))
			o->dsack++;
	}
	if (UNLIKELY(win == 0))
		o->zero_window++;
	if (UNLIKELY(fl & LK_TH_SYN)) {
		S->last_ack = ack;
		S->ack_valid = true;
		S->last_win = win;
		S->win_valid = true;
		return 0;
	}
	o->classified++;
	if (plen > 0)
		o->with_data++;
	else if (fl & LK_TH_FIN)
		o->fin++;
	else
		o->pure++;
	uint32_t mss = mss_of(a, O);
	uint32_t adv = 0;
	bool ack_valid = S->ack_valid;
	if (UNLIKELY(!ack_valid)) {
		o->adv_unknown++;
	} else {
		adv = lk_seq_lt(S->last_ack, ack) ? ack - S->last_ack : 0;
		if (!adv) {
			if (plen == 0 && !(fl & LK_TH_FIN)) {
				if (S->win_valid && win != S->last_win) {
					if (win != 0)
						o->window_update++;
					else
						o->adv0_other++;
				} else {
					o->dup++;
					o->adv_hist[0]++;
				}
			} else {
				o->adv0_other++;
			}
		} else {
			ack_advanced(S, adv, mss);
		}
	}
	uint64_t newest = UINT64_MAX;
	o->timing[classify_timing(a, S, ack, sack, adv, mss, ts, &newest)]++;
	int rc = 0;
	if (adv && O->hi_valid)
		/* evidence of the capture side: the ACK's delay after the data it
		 * covers, and the data seen beyond it */
		rc = lk_side_ack(a->side, d,
				 newest != UINT64_MAX && ts >= newest ? ts - newest : UINT64_MAX,
				 lk_seq_lt(ack, O->hi_end) ? O->hi_end - ack : 0, mss);
	if (!ack_valid || adv) {
		S->last_ack = ack;
		S->ack_valid = true;
	}
	S->last_win = win;
	S->win_valid = true;
	return rc;
}

static __attribute__((noinline)) void syn_fields(struct lk_acks *a, struct dstate *S,
						 const struct lk_pkt *p)
{
	if (lk_syn_note(&S->syn, p))
		a->hs_mss = hs_mss(a);
}

int lk_acks_feed(struct lk_acks *a, int d, const struct lk_pkt *p, uint64_t ts)
{
	if (d != 0 && d != 1)
		return 0;
	struct dstate *S = &a->st[d], *O = &a->st[1 - d];
	/* keep the two pointers in registers (the compiler would otherwise
	 * recompute a->st + d * size at every use) */
	__asm__("" : "+r"(S), "+r"(O));
	const uint8_t fl = p->flags;
	const uint32_t plen = p->payload_len;
	a->finished = false;
	if (UNLIKELY(fl & LK_TH_SYN))
		syn_fields(a, S, p);
	int rc = lk_side_packet(a->side, d, p, ts, mss_of(a, S));
	if (!(fl & LK_TH_RST)) {
		uint32_t fin = (fl & LK_TH_FIN) ? 1 : 0, syn = (fl & LK_TH_SYN) ? 1 : 0;
		if (plen > 0) {
			S->data_bytes += plen;
			S->data_pkts++;
			if (plen <= MAX_SMALL_SEG)
				lk_seglen_add(&S->mg, plen);
		}
		uint32_t seqlen = plen + fin + syn;
		if (seqlen) {
			uint32_t pseq = p->seq, end = pseq + seqlen;
			if (!S->hi_valid || lk_seq_lt(S->hi_end, end)) {
				S->hi_end = end;
				S->hi_valid = true;
			}
			if ((plen > 0 || fin) && rx_data(a, S, O, pseq, plen, syn, fin, ts) < 0)
				rc = -1;
		}
	}
	if ((fl & LK_TH_ACK) && ack_seg(a, S, O, p, fl, plen, ts, d) < 0)
		rc = -1;
	return rc;
}

static void decide_side(struct lk_acks *a)
{
	struct dstate *x = &a->st[0], *y = &a->st[1];
	a->data_dir = -1;
	if (x->data_bytes || y->data_bytes)
		a->data_dir = x->data_bytes >= y->data_bytes ? 0 : 1;
	lk_side_decide(a->side, a->data_dir, a->prm.side, &a->dec);
	a->near = a->dec.near;
	a->rule = a->dec.rule;
}

void lk_acks_finish(struct lk_acks *a)
{
	decide_side(a);
	for (int d = 0; d < 2; d++) {
		struct lk_acks_dir *o = &a->st[d].out;
		o->mss = eff_mss(a, 1 - d, &o->mss_source);
		o->timing_valid = a->near == d;
		if (a->near == d)
			o->timing_note = NULL;
		else if (a->near < 0)
			o->timing_note = "capture side unknown (give --side sender|receiver)";
		else
			o->timing_note = "capture taken at the other host: these ACKs are seen when "
					 "they arrive, not when they were sent";
	}
	a->finished = true;
}

const struct lk_acks_dir *lk_acks_dir(const struct lk_acks *a, int dir)
{
	return &a->st[dir ? 1 : 0].out;
}

int lk_acks_capture_near(const struct lk_acks *a) { return a->near; }
const char *lk_acks_side_rule(const struct lk_acks *a) { return a->rule; }
int lk_acks_data_dir(const struct lk_acks *a) { return a->data_dir; }

const struct lk_side_decision *lk_acks_side(const struct lk_acks *a) { return &a->dec; }

/* Data segments of the other direction per ACK that advanced. */
static double segs_per_ack(const struct lk_acks *a, int dir)
{
	const struct lk_acks_dir *o = &a->st[dir].out;
	uint64_t adv = o->adv_1 + o->adv_2 + o->adv_stretch;
	return adv ? (double)a->st[1 - dir].data_pkts / (double)adv : NAN;
}

static void ju(FILE *f, const char *k, uint64_t v, bool comma)
{
	fprintf(f, "%s\"%s\":%" PRIu64, comma ? "," : "", k, v);
}

void lk_acks_json(const struct lk_acks *a, int dir, FILE *f)
{
	const struct lk_acks_dir *o = lk_acks_dir(a, dir);
	fputc('{', f);
	ju(f, "ack_pkts", o->ack_pkts, false);
	ju(f, "classified", o->classified, true);
	ju(f, "pure", o->pure, true);
	ju(f, "with_data", o->with_data, true);
	ju(f, "fin", o->fin, true);
	ju(f, "dup", o->dup, true);
	ju(f, "adv_1", o->adv_1, true);
	ju(f, "adv_2", o->adv_2, true);
	ju(f, "adv_stretch", o->adv_stretch, true);
	ju(f, "adv0_other", o->adv0_other, true);
	ju(f, "adv_unknown", o->adv_unknown, true);
	fputs(",\"adv_hist\":{", f);
	bool first = true;
	for (int i = 0; i < LK_ACKS_HIST; i++)
		if (o->adv_hist[i]) {
			fprintf(f, "%s\"%d\":%" PRIu64, first ? "" : ",", i, o->adv_hist[i]);
			first = false;
		}
	fputc('}', f);
	ju(f, "window_update", o->window_update, true);
	ju(f, "sack", o->sack, true);
	ju(f, "dsack", o->dsack, true);
	ju(f, "zero_window", o->zero_window, true);
	if (o->forgotten_segs)
		ju(f, "forgotten_segs", o->forgotten_segs, true);
	fputs(",\"data_segs_acked\":", f);
	fprintf(f, "%" PRIu64, a->st[1 - (dir ? 1 : 0)].data_pkts);
	fputs(",\"segs_per_ack\":", f);
	lk_json_num(f, segs_per_ack(a, dir ? 1 : 0));
	fputs(",\"mss\":", f);
	if (o->mss)
		fprintf(f, "%" PRIu32, o->mss);
	else
		fputs("null", f);
	fputs(",\"mss_source\":", f);
	lk_json_str(f, o->mss_source ? o->mss_source : "none");
	fputs(",\"capture_near\":", f);
	lk_json_str_or_null(f, a->near < 0 ? NULL : a->near ? "b" : "a");
	fputs(",\"side_rule\":", f);
	lk_json_str(f, a->rule);
	fputs(",\"timing\":", f);
	if (o->timing_valid) {
		fputc('{', f);
		for (int i = 0; i < LK_T__COUNT; i++)
			ju(f, lk_timing_names[i], o->timing[i], i > 0);
		fputc('}', f);
	} else {
		fputs("null,\"timing_note\":", f);
		lk_json_str(f, o->timing_note ? o->timing_note : "not finished");
	}
	fputc('}', f);
}

void lk_acks_text(const struct lk_acks *a, int dir, const char *ind, FILE *f)
{
	const struct lk_acks_dir *o = lk_acks_dir(a, dir);
	double spa = segs_per_ack(a, dir ? 1 : 0);
	fprintf(f, "%sacks: %" PRIu64 " (pure %" PRIu64 ", with data %" PRIu64 ", fin %" PRIu64
		   "); mss %" PRIu32 " (%s); data segs per advancing ack %.2f\n",
		ind, o->ack_pkts, o->pure, o->with_data, o->fin, o->mss,
		o->mss_source ? o->mss_source : "none", isnan(spa) ? 0.0 : spa);
	fprintf(f, "%s  advance: dup %" PRIu64 ", 1 mss %" PRIu64 ", 2 mss %" PRIu64
		   ", stretch %" PRIu64 ", none(data/fin) %" PRIu64 ", unknown %" PRIu64 "\n",
		ind, o->dup, o->adv_1, o->adv_2, o->adv_stretch, o->adv0_other, o->adv_unknown);
	fprintf(f, "%s  sack %" PRIu64 ", dsack %" PRIu64 ", window update %" PRIu64
		   ", zero window %" PRIu64 "\n",
		ind, o->sack, o->dsack, o->window_update, o->zero_window);
	if (o->timing_valid) {
		fprintf(f, "%s  receiver timing:", ind);
		for (int i = 0; i < LK_T__COUNT; i++)
			fprintf(f, " %s %" PRIu64, lk_timing_names[i], o->timing[i]);
		fputc('\n', f);
	} else {
		fprintf(f, "%s  receiver timing: n/a (%s)\n", ind,
			o->timing_note ? o->timing_note : "not finished");
	}
}

static int row(sqlite3_stmt *st, int64_t flow_id, int dir, const char *cls, uint64_t v,
	       sqlite3 *db, struct lk_err *e)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, flow_id);
	sqlite3_bind_int(st, 2, dir);
	sqlite3_bind_text(st, 3, cls, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)v);
	if (sqlite3_step(st) != SQLITE_DONE)
		return lk_errf(e, LK_EXIT_RUNTIME, "storing ack_classes: %s", sqlite3_errmsg(db));
	return 0;
}

/* The flow's capture-side decision into its flows row (schema v3). */
static int store_side(const struct lk_acks *a, sqlite3 *db, int64_t flow_id, struct lk_err *e)
{
	char *js = NULL;
	size_t jn = 0;
	FILE *m = open_memstream(&js, &jn);
	if (!m)
		return lk_errf(e, LK_EXIT_RUNTIME, "storing the capture side: out of memory");
	lk_side_json(&a->dec, m);
	if (fclose(m) != 0) {
		free(js);
		return lk_errf(e, LK_EXIT_RUNTIME, "storing the capture side: out of memory");
	}
	sqlite3_stmt *st;
	int rc = -1;
	if (sqlite3_prepare_v2(db,
			       "UPDATE flows SET capture_side=?, side_confidence=?, side_rule=?, "
			       "side_evidence=? WHERE flow_id=?",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1,
				  a->dec.side == LK_SV_NONE ? "unknown" : lk_side_verdict_name(a->dec.side),
				  -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 2, a->dec.confidence);
		sqlite3_bind_text(st, 3, a->dec.rule ? a->dec.rule : "unknown", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, js, (int)jn, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, flow_id);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = 0;
		sqlite3_finalize(st);
	}
	free(js);
	if (rc < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "storing the capture side: %s", sqlite3_errmsg(db));
	return 0;
}

int lk_acks_store(const struct lk_acks *a, sqlite3 *db, int64_t flow_id, struct lk_err *e)
{
	if (store_side(a, db, flow_id, e) < 0)
		return -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO ack_classes(flow_id,dir,class,count) "
			       "VALUES(?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "storing ack_classes: %s", sqlite3_errmsg(db));
	int rc = 0;
	for (int d = 0; d < 2 && !rc; d++) {
		const struct lk_acks_dir *o = lk_acks_dir(a, d);
		struct {
			const char *n;
			uint64_t v;
		} c[] = {{"ack_pkts", o->ack_pkts},     {"classified", o->classified},
			 {"pure", o->pure},             {"with_data", o->with_data},
			 {"fin", o->fin},               {"dup", o->dup},
			 {"adv0_other", o->adv0_other}, {"window_update", o->window_update},
			 {"adv_1", o->adv_1},           {"adv_2", o->adv_2},
			 {"adv_stretch", o->adv_stretch}, {"adv_unknown", o->adv_unknown},
			 {"sack", o->sack},             {"dsack", o->dsack},
			 {"zero_window", o->zero_window}};
		for (size_t i = 0; i < sizeof c / sizeof c[0] && !rc; i++)
			rc = row(st, flow_id, d, c[i].n, c[i].v, db, e);
		for (int i = 0; i < LK_ACKS_HIST && !rc; i++)
			if (o->adv_hist[i]) {
				char n[32];
				snprintf(n, sizeof n, "adv_hist_%d", i);
				rc = row(st, flow_id, d, n, o->adv_hist[i], db, e);
			}
		if (o->timing_valid)
			for (int i = 0; i < LK_T__COUNT && !rc; i++) {
				char n[32];
				snprintf(n, sizeof n, "timing_%s", lk_timing_names[i]);
				rc = row(st, flow_id, d, n, o->timing[i], db, e);
			}
	}
	sqlite3_finalize(st);
	return rc;
}

/* ------------------------------------------------------------------------- */

struct lk_ackset {
	struct lk_acks_params ap;
	struct lk_bwe_params bp;
	struct lk_acks **acks;
	struct lk_bwe **bwe;
	size_t n, cap;
	bool oom;
};

struct lk_ackset *lk_ackset_new(const struct lk_acks_params *ap, const struct lk_bwe_params *bp)
{
	struct lk_ackset *s = lk_zalloc_lines(sizeof *s);
	if (!s)
		return NULL;
	if (ap)
		s->ap = *ap;
	else
		lk_acks_params_default(&s->ap);
	if (bp)
		s->bp = *bp;
	else
		lk_bwe_params_default(&s->bp);
	return s;
}

void lk_ackset_free(struct lk_ackset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		lk_acks_free(s->acks[i]);
		lk_bwe_free(s->bwe[i]);
	}
	free(s->acks);
	free(s->bwe);
	free(s);
}

/* The analyzers of flow i, allocated on its first packet; NULL (and oom set)
 * when out of memory. */
static __attribute__((noinline)) bool ackset_slot(struct lk_ackset *s, uint64_t i)
{
	if (i >= s->cap) {
		size_t nc = s->cap ? s->cap : 16;
		while (nc <= i)
			nc *= 2;
		struct lk_acks **na = realloc(s->acks, nc * sizeof *na);
		if (!na) {
			s->oom = true;
			return false;
		}
		s->acks = na;
		struct lk_bwe **nb = realloc(s->bwe, nc * sizeof *nb);
		if (!nb) {
			s->oom = true;
			return false;
		}
		s->bwe = nb;
		for (size_t k = s->cap; k < nc; k++) {
			s->acks[k] = NULL;
			s->bwe[k] = NULL;
		}
		s->cap = nc;
	}
	if (i >= s->n)
		s->n = i + 1;
	if (!s->acks[i] && !(s->acks[i] = lk_acks_new(&s->ap))) {
		s->oom = true;
		return false;
	}
	if (!s->bwe[i] && !(s->bwe[i] = lk_bwe_new(&s->bp))) {
		s->oom = true;
		return false;
	}
	return true;
}

void lk_ackset_packet(void *ctx, uint64_t i, int dir, const struct lk_pkt *p, uint64_t ts_ns)
{
	struct lk_ackset *s = ctx;
	if (UNLIKELY(i >= s->n || !s->acks[i] || !s->bwe[i]) && !ackset_slot(s, i))
		return;
	int r1 = lk_acks_feed(s->acks[i], dir, p, ts_ns);
	int r2 = lk_bwe_feed(s->bwe[i], dir, p, ts_ns);
	if (UNLIKELY((r1 | r2) < 0))
		s->oom = true;
}

unsigned lk_ackset_csum_wanted(void *ctx, uint64_t i, int dir)
{
	const struct lk_ackset *s = ctx;
	return i >= s->n || !s->acks[i] ? LK_SIDE_WANT_ALL : lk_side_csum_wanted(s->acks[i]->side, dir);
}

int lk_ackset_finish(struct lk_ackset *s, struct lk_err *e)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!s->acks[i])
			continue;
		lk_acks_finish(s->acks[i]);
		if (s->bwe[i])
			lk_bwe_finish(s->bwe[i], lk_acks_capture_near(s->acks[i]));
	}
	if (s->oom)
		return lk_errf(e, LK_EXIT_RUNTIME,
			       "out of memory in the ACK/bandwidth analyzers (results incomplete)");
	return 0;
}

struct lk_acks *lk_ackset_acks(const struct lk_ackset *s, uint64_t i)
{
	return i < s->n ? s->acks[i] : NULL;
}

struct lk_bwe *lk_ackset_bwe(const struct lk_ackset *s, uint64_t i)
{
	return i < s->n ? s->bwe[i] : NULL;
}

int lk_ackset_store(const struct lk_ackset *s, const struct lk_flowtab *t, sqlite3 *db,
		    struct lk_err *e)
{
	size_t n = lk_flowtab_count(t);
	for (size_t k = 0; k < n; k++) {
		const struct lk_flow *f = lk_flowtab_get(t, k);
		if (!f || f->user_id <= 0 || f->idx >= s->n)
			continue;
		if (s->acks[f->idx] && lk_acks_store(s->acks[f->idx], db, f->user_id, e) < 0)
			return -1;
		if (s->bwe[f->idx] && lk_bwe_store(s->bwe[f->idx], db, f->user_id, e) < 0)
			return -1;
	}
	return 0;
}
