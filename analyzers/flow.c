/* analyzers/flow.c - connection tracking and tcptrace's per-direction
 * counters. See flow.h for the model; the comments below name the tcptrace
 * 6.6.x routine (trace.c: FindTTP, dotrace; rexmit.c: rexmit, addseg,
 * whichquad, collapse_quad, ack_in, freequad) each piece reproduces.
 */
#include "analyzers/flow.h"
#include "lib/mem.h"

#include <stdlib.h>
#include <string.h>

/* ---- segment database (tcptrace rexmit.c) ---------------------------- */

/* A node of a quadrant's list: `cnt` contiguous ranges of `len` bytes each,
 * all with the same acked state. tcptrace keeps one record per transmitted
 * range; consecutive equal-sized unacked ranges (a bulk stream whose ACKs
 * are not in the capture) are stored as one run and split again on demand
 * wherever tcptrace would look at an individual range, so the results are
 * identical while memory stays small. A plain record has cnt == 1. */
struct seg {
	uint32_t first, last; /* first and last sequence number covered */
	uint32_t len, cnt;    /* per-range length and number of ranges */
	uint32_t acked;       /* tcptrace only tests it for non-zero */
	struct seg *next, *prev;
};

struct quad {
	struct seg *head, *tail;
	int8_t prev, next;    /* neighbour quadrant index, -1 = none */
	bool exists;
};

/* Per-direction tracking state (tcptrace's tcb, the parts the counters need). */
struct tcb {
	struct quad q[4];
	uint64_t win_last;    /* eff_win of the last non-RST packet */
	uint32_t syn;         /* seq of the last SYN */
	uint32_t windowend;   /* ack + eff_win of the last ACK */
	uint8_t syn_cnt, fin_cnt, rst_cnt; /* tcptrace keeps these in u_char */
	bool f_ws;            /* sent a window-scale option */
	uint8_t ws;           /* window_scale */
};

struct flow {
	struct lk_flow pub;   /* first: lk_flow * <-> struct flow * */
	struct tcb t[2];
	uint64_t last_us;     /* pair's last packet time, microseconds */
	uint64_t hash;
};

struct slot {
	uint64_t h;
	struct flow *f;
};

#define SLAB_SEGS 1024

struct slab {
	struct slab *next;
	struct seg s[SLAB_SEGS];
};

struct lk_flowtab {
	struct flow **flows;
	size_t n, cap;
	struct slot *slots;
	size_t nslots;        /* power of two */
	size_t used;          /* occupied slots */
	struct flow *last;    /* last flow hit */
	struct seg *free_segs;
	struct slab *slabs;
	size_t segs_live, segs_pool;
	bool oom;
};

static struct seg *seg_new(struct lk_flowtab *t, uint32_t first, uint32_t last)
{
	struct seg *s = t->free_segs;
	if (!s) {
		struct slab *sl = lk_zalloc_lines(sizeof *sl);
		if (!sl) {
			t->oom = true;
			return NULL;
		}
		sl->next = t->slabs;
		t->slabs = sl;
		for (size_t i = SLAB_SEGS; i-- > 0;) {
			sl->s[i].next = t->free_segs;
			t->free_segs = &sl->s[i];
		}
		t->segs_pool += SLAB_SEGS;
		s = t->free_segs;
	}
	t->free_segs = s->next;
	t->segs_live++;
	s->first = first;
	s->last = last;
	s->len = last - first + 1;
	s->cnt = 1;
	s->acked = 0;
	s->next = s->prev = NULL;
	return s;
}

static void seg_free(struct lk_flowtab *t, struct seg *s)
{
	s->next = t->free_segs;
	t->free_segs = s;
	t->segs_live--;
}

static void freequad(struct lk_flowtab *t, struct quad *q)
{
	struct seg *s = q->head;
	while (s) {
		struct seg *n = s->next;
		seg_free(t, s);
		s = n;
	}
	q->head = q->tail = NULL;
	q->prev = q->next = -1;
	q->exists = false;
}

static void quad_create(struct quad *q)
{
	if (!q->exists) {
		q->head = q->tail = NULL;
		q->prev = q->next = -1;
		q->exists = true;
	}
}

/* whichquad(): the quadrant of seq, making sure it and both neighbours
 * exist, and freeing the opposite one. */
static struct quad *whichquad(struct lk_flowtab *t, struct tcb *c, uint32_t seq)
{
	int qix = (int)(seq >> 30);
	struct quad *q = &c->q[qix];
	if (q->exists && q->next >= 0 && q->prev >= 0)
		return q;
	int nx = (qix + 1) & 3, op = (qix + 2) & 3, pv = (qix + 3) & 3;
	quad_create(q);
	quad_create(&c->q[nx]);
	quad_create(&c->q[pv]);
	if (c->q[op].exists)
		freequad(t, &c->q[op]);
	q->prev = (int8_t)pv;
	q->next = (int8_t)nx;
	c->q[nx].prev = (int8_t)qix;
	c->q[pv].next = (int8_t)qix;
	c->q[nx].next = -1;
	c->q[pv].prev = -1;
	return q;
}

static void insert_between(struct quad *q, struct seg *n, struct seg *before, struct seg *after)
{
	n->next = after;
	if (after)
		after->prev = n;
	else
		q->tail = n;
	n->prev = before;
	if (before)
		before->next = n;
	else
		q->head = n;
}

/* Split run s after its first k ranges (0 < k < cnt); returns the node
 * holding the rest (inserted after s), or NULL when out of memory. */
static struct seg *split_run(struct lk_flowtab *t, struct quad *q, struct seg *s, uint32_t k)
{
	uint32_t at = s->first + k * s->len;
	struct seg *n = seg_new(t, at, s->last);
	if (!n)
		return NULL;
	n->len = s->len;
	n->cnt = s->cnt - k;
	n->acked = s->acked;
	s->cnt = k;
	s->last = at - 1;
	insert_between(q, n, s, s->next);
	return n;
}

/* addseg(): record [first, first+len-1] in quadrant q; returns the number of
 * bytes that overlap recorded ranges, sets *ooo by tcptrace's rule. */
static int64_t addseg(struct lk_flowtab *t, struct quad *q, uint32_t first, uint64_t len, bool *ooo)
{
	uint32_t last = (uint32_t)(first + len - 1);
	int64_t rexlen = 0;
	struct seg *s = q->head, *n;

	if (q->tail && first > q->tail->last)
		s = NULL; /* the expected case: goes at the end */
	for (; s; s = s->next) {
		if (first > s->last)
			continue;
		if (s->cnt > 1) {
			/* isolate the first range of the run that ends at or after
			 * `first`: the one tcptrace would be looking at */
			uint32_t j = first > s->first ? (first - s->first) / s->len : 0;
			if (j > 0 && !(s = split_run(t, q, s, j)))
				return rexlen;
			if (s->cnt > 1 && !split_run(t, q, s, 1))
				return rexlen;
		}
		if (first < s->first) {
			/* starts before this recorded range */
			if (last < s->last)
				*ooo = true;
			n = seg_new(t, first, last);
			if (!n)
				return rexlen;
			insert_between(q, n, s->prev, s);
			if (last < s->first)
				return rexlen;
			n->last = s->first - 1;
			n->len = n->last - n->first + 1;
			first = s->first;
			len = (uint32_t)(last - first) + 1u;
		}
		if (first >= s->first) {
			/* starts within this recorded range */
			if (last <= s->last)
				return rexlen + (int64_t)len;
			rexlen += (int64_t)(uint32_t)(s->last - first) + 1;
			first = s->last + 1;
			len = (uint32_t)(last - first) + 1u;
		}
	}
	n = q->tail;
	if (n && !n->acked && n->len == len && n->last + 1 == first) {
		/* one more equal-sized range right after an unacked run */
		n->cnt++;
		n->last = last;
		return rexlen;
	}
	n = seg_new(t, first, last);
	if (n)
		insert_between(q, n, q->tail, NULL);
	return rexlen;
}

/* rexmit(): insert a transmitted range (split at a quadrant boundary). */
static int64_t rexmit(struct lk_flowtab *t, struct tcb *c, uint32_t seq, uint64_t len, bool *ooo)
{
	uint32_t seq_last = (uint32_t)(seq + len - 1);
	struct quad *q = whichquad(t, c, seq);
	*ooo = false;
	if ((seq >> 30) != (seq_last >> 30)) {
		uint32_t last1 = ((seq >> 30) << 30) | 0x3fffffffu;
		uint64_t len1 = (uint64_t)(last1 - seq) + 1;
		int64_t r = addseg(t, q, seq, len1, ooo);
		return r + addseg(t, &c->q[q->next], (seq_last >> 30) << 30, len - len1, ooo);
	}
	return addseg(t, q, seq, len, ooo);
}

/* collapse_quad(): merge adjacent acked ranges that fit together, up to the
 * first unacked one. (The ranges of an acked run fit together.) */
static void collapse(struct lk_flowtab *t, struct quad *q)
{
	struct seg *s = q->head;
	while (s) {
		if (s->acked && s->cnt > 1) {
			s->cnt = 1;
			s->len = s->last - s->first + 1;
		}
		if (!s->next || !s->acked)
			break;
		struct seg *n = s->next;
		if (n->acked && s->last + 1 == n->first) {
			s->last = n->last;
			s->len = s->last - s->first + 1;
			s->acked = n->acked;
			s->next = n->next;
			if (n->next)
				n->next->prev = s;
			if (n == q->tail)
				q->tail = s;
			seg_free(t, n);
		} else {
			s = n;
		}
	}
}

/* ack_in(), database part: everything in the quadrant before the ACK's one
 * is acked; in the ACK's quadrant, ranges starting below the ACK. */
static void ack_in(struct lk_flowtab *t, struct tcb *c, uint32_t ack)
{
	struct quad *q = whichquad(t, c, ack);
	struct quad *qp = &c->q[q->prev];
	bool changed = false;
	for (struct seg *s = qp->head; s; s = s->next)
		if (!s->acked) {
			s->acked = 1;
			changed = true;
		}
	if (changed)
		collapse(t, qp);
	changed = false;
	for (struct seg *s = q->head; s; s = s->next) {
		if (ack <= s->first)
			break;
		if (s->acked)
			continue;
		if (s->cnt > 1) {
			/* only the ranges starting below the ACK */
			uint32_t k = (ack - s->first - 1) / s->len + 1;
			if (k < s->cnt && !split_run(t, q, s, k))
				return;
		}
		s->acked = 1;
		changed = true;
	}
	if (changed)
		collapse(t, q);
}

/* ---- flow table -------------------------------------------------------- */

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	x ^= x >> 33;
	return x;
}

/* Direction-independent hash of the 4-tuple. */
static uint64_t tuple_hash(const struct lk_pkt *p)
{
	uint64_t a, b;
	if (p->af == 4) {
		a = (uint64_t)ld32(p->saddr) << 16 | p->sport;
		b = (uint64_t)ld32(p->daddr) << 16 | p->dport;
	} else {
		a = mix64(ld64(p->saddr) ^ mix64(ld64(p->saddr + 8))) ^ p->sport;
		b = mix64(ld64(p->daddr) ^ mix64(ld64(p->daddr + 8))) ^ p->dport;
	}
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
	return mix64(lo * 0x9e3779b97f4a7c15ull ^ mix64(hi + p->af));
}

/* Does packet p belong to flow f's 4-tuple? Sets *dir. tcptrace checks the
 * a->b orientation first (matters only when both endpoints are equal). */
static inline bool addr_eq(const uint8_t *a, const uint8_t *b, uint8_t af)
{
	/* fixed-size loads instead of a memcmp call: this runs for every packet */
	if (af == 4)
		return ld32(a) == ld32(b);
	return ld64(a) == ld64(b) && ld64(a + 8) == ld64(b + 8);
}

static inline bool tuple_match(const struct flow *f, const struct lk_pkt *p, int *dir)
{
	const struct lk_flow *l = &f->pub;
	if (l->af != p->af)
		return false;
	if (p->sport == l->port[0] && p->dport == l->port[1] &&
	    addr_eq(p->saddr, l->addr[0], p->af) && addr_eq(p->daddr, l->addr[1], p->af)) {
		*dir = 0;
		return true;
	}
	if (p->sport == l->port[1] && p->dport == l->port[0] &&
	    addr_eq(p->saddr, l->addr[1], p->af) && addr_eq(p->daddr, l->addr[0], p->af)) {
		*dir = 1;
		return true;
	}
	return false;
}

static struct slot *slot_find(struct lk_flowtab *t, uint64_t h, const struct lk_pkt *p, int *dir)
{
	size_t mask = t->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct slot *s = &t->slots[i];
		if (!s->f)
			return s; /* empty: where it would go */
		if (s->h == h && tuple_match(s->f, p, dir))
			return s;
	}
}

static int grow_slots(struct lk_flowtab *t)
{
	size_t nn = t->nslots ? t->nslots * 2 : 1024;
	struct slot *ns = calloc(nn, sizeof *ns);
	if (!ns)
		return -1;
	for (size_t i = 0; i < t->nslots; i++) {
		struct slot *o = &t->slots[i];
		if (!o->f)
			continue;
		size_t j = o->h & (nn - 1);
		while (ns[j].f)
			j = (j + 1) & (nn - 1);
		ns[j] = *o;
	}
	free(t->slots);
	t->slots = ns;
	t->nslots = nn;
	return 0;
}

struct lk_flowtab *lk_flowtab_new(void)
{
	struct lk_flowtab *t = lk_zalloc_lines(sizeof *t);
	if (!t)
		return NULL;
	if (grow_slots(t) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

void lk_flowtab_free(struct lk_flowtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->flows[i]);
	free(t->flows);
	free(t->slots);
	struct slab *s = t->slabs;
	while (s) {
		struct slab *n = s->next;
		free(s);
		s = n;
	}
	free(t);
}

size_t lk_flowtab_count(const struct lk_flowtab *t) { return t->n; }

struct lk_flow *lk_flowtab_get(const struct lk_flowtab *t, size_t i)
{
	return i < t->n ? &t->flows[i]->pub : NULL;
}

void lk_flowtab_mem(const struct lk_flowtab *t, struct lk_flowtab_mem *m)
{
	size_t slabs = 0;
	for (const struct slab *s = t->slabs; s; s = s->next)
		slabs++;
	m->bytes = sizeof *t + t->cap * sizeof *t->flows + t->n * sizeof(struct flow) +
		   t->nslots * sizeof *t->slots + slabs * sizeof(struct slab);
	m->segs_live = t->segs_live;
	m->segs_pool = t->segs_pool;
}

static void flow_release_segs(struct lk_flowtab *t, struct flow *f)
{
	for (int d = 0; d < 2; d++)
		for (int q = 0; q < 4; q++)
			if (f->t[d].q[q].exists)
				freequad(t, &f->t[d].q[q]);
}

static struct flow *flow_new(struct lk_flowtab *t, const struct lk_pkt *p, uint64_t h)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		struct flow **nf = realloc(t->flows, nc * sizeof *nf);
		if (!nf)
			return NULL;
		t->flows = nf;
		t->cap = nc;
	}
	struct flow *f = lk_zalloc_lines(sizeof *f);
	if (!f)
		return NULL;
	f->pub.idx = t->n;
	f->pub.af = p->af;
	memcpy(f->pub.addr[0], p->saddr, 16);
	memcpy(f->pub.addr[1], p->daddr, 16);
	if (p->af == 4) {
		memset(f->pub.addr[0] + 4, 0, 12);
		memset(f->pub.addr[1] + 4, 0, 12);
	}
	f->pub.port[0] = p->sport;
	f->pub.port[1] = p->dport;
	for (int d = 0; d < 2; d++)
		for (int q = 0; q < 4; q++)
			f->t[d].q[q].prev = f->t[d].q[q].next = -1;
	f->hash = h;
	t->flows[t->n++] = f;
	return f;
}

/* tcptrace FindTTP(): is this packet the start of a new connection on the
 * same endpoints? (tcptrace's SEQ_GREATERTHAN/SEQ_LESSTHAN cast to long,
 * which on LP64 makes them plain unsigned compares.) */
static bool reuse_rule(const struct flow *f, int dir, const struct lk_pkt *p, uint64_t us)
{
	const struct tcb *th = &f->t[dir], *ot = &f->t[!dir];
	if (us > f->last_us && us - f->last_us > 240ull * 1000000ull)
		return true;
	if (!(p->flags & LK_TH_SYN))
		return false;
	if ((th->fin_cnt >= 1 || ot->fin_cnt >= 1 || th->rst_cnt >= 1 || ot->rst_cnt >= 1) &&
	    (p->seq > ot->windowend || p->seq < th->syn))
		return true;
	return th->syn_cnt > 1 && th->syn != p->seq;
}

struct lk_flow *lk_flowtab_add(struct lk_flowtab *t, const struct lk_pkt *p, uint64_t ts_ns,
			       int *dirp, bool *is_new)
{
	const uint64_t us = ts_ns / 1000;
	struct flow *f = NULL;
	struct slot *sl = NULL;
	int dir = 0;
	uint64_t h = 0;
	bool fresh = false;

	if (t->oom)
		return NULL;
	if (t->last && tuple_match(t->last, p, &dir)) {
		f = t->last;
	} else {
		h = tuple_hash(p);
		sl = slot_find(t, h, p, &dir);
		f = sl->f;
	}
	if (f && reuse_rule(f, dir, p, us)) {
		if (!sl) {
			h = f->hash;
			int d2;
			sl = slot_find(t, h, p, &d2);
		}
		f->pub.closed_by_reuse = true;
		flow_release_segs(t, f);
		f = NULL;
	}
	if (!f) {
		if (!sl->f && (t->used + 1) * 2 > t->nslots) {
			if (grow_slots(t) < 0)
				return NULL;
			int d2;
			sl = slot_find(t, h, p, &d2);
		}
		f = flow_new(t, p, h);
		if (!f)
			return NULL;
		if (!sl->f)
			t->used++;
		sl->h = h;
		sl->f = f;
		dir = 0;
		fresh = true;
		f->pub.first_ns = ts_ns;
	}
	t->last = f;
	f->pub.last_ns = ts_ns;
	f->last_us = us;

	struct tcb *th = &f->t[dir], *ot = &f->t[!dir];
	struct lk_dirstat *ds = &f->pub.d[dir];
	const uint8_t fl = p->flags;
	const bool syn = fl & LK_TH_SYN, fin = fl & LK_TH_FIN, rst = fl & LK_TH_RST,
		   ackf = fl & LK_TH_ACK;
	const uint32_t len = p->payload_len;

	if (!ds->first_ns)
		ds->first_ns = ts_ns;
	ds->last_ns = ts_ns;

	/* meta connection stats */
	if (syn) {
		th->syn_cnt++;
		ds->syn_pkts++;
	}
	if (rst) {
		th->rst_cnt++;
		ds->rst_pkts++;
	}
	if (fin) {
		th->fin_cnt++;
		ds->fin_pkts++;
	}

	/* effective window (tcptrace keeps it in a 64-bit u_long) */
	uint64_t eff_win = 0;
	if (ackf || syn) {
		eff_win = p->win;
		if (th->f_ws && ot->f_ws && !syn)
			eff_win <<= (th->ws & 63);
	}

	if (syn)
		th->syn = p->seq;
	if (ackf)
		th->windowend = (uint32_t)(p->ack + eff_win);

	/* options */
	if (p->opt.has_mss)
		ds->mss = p->opt.mss;
	/* tcptrace keeps the option byte in a (signed) char initialised to -1
	 * for "absent": a window-scale option of 255 counts as no option */
	if (p->opt.has_ws && p->opt.ws != 255) {
		th->ws = p->opt.ws;
		th->f_ws = true;
		ds->req_ws = true;
	}
	if (p->opt.has_ts)
		ds->req_ts = true;
	if (!syn && (!th->f_ws || !ot->f_ws))
		th->ws = ot->ws = 0;
	if (p->opt.sack_ok)
		ds->req_sack = true;
	if (p->opt.n_sack > 0)
		ds->sacks_sent++;

	/* data stats */
	if (len > 0) {
		ds->data_pkts++;
		if (fl & LK_TH_PSH)
			ds->pushed_data_pkts++;
		ds->data_bytes += len;
		if (len > ds->max_seg)
			ds->max_seg = len;
		if (ds->min_seg == 0 || len < ds->min_seg)
			ds->min_seg = len;
		uint32_t saved = p->cap_payload < len ? p->cap_payload : len;
		if (len > saved) {
			/* tcptrace counts the cut TCP options too */
			ds->trunc_bytes += len - saved + p->hdr_missing;
			ds->trunc_pkts++;
		}
	}
	ds->total_packets++;

	/* retransmissions, out of order, probes, unique bytes */
	int64_t retrans_bytes = 0;
	if (syn || fin || len > 0) {
		int64_t l = (int64_t)len + syn + fin;
		int64_t rcnt = 0;
		bool probe = false, ooo = false;
		if (ot->win_last == 0 && f->pub.d[!dir].total_packets > 0 && !syn) {
			probe = true;
			ds->zwnd_probe_pkts++;
			ds->zwnd_probe_bytes += len;
		} else {
			rcnt = retrans_bytes = rexmit(t, th, p->seq, (uint64_t)l, &ooo);
		}
		if (ooo)
			ds->outoforder_pkts++;
		if (syn) {
			l--;
			if (th->syn_cnt > 1)
				rcnt--;
		}
		if (fin) {
			l--;
			if (th->fin_cnt > 1)
				rcnt--;
		}
		if (!probe && rcnt < l)
			ds->unique_bytes += (uint64_t)(l - rcnt);
	}

	if (ackf)
		ack_in(t, ot, p->ack);

	if (retrans_bytes > 0) {
		ds->rexmt_data_pkts++;
		ds->rexmt_data_bytes += (uint64_t)retrans_bytes;
	}

	if (t->oom)
		return NULL;

	ds->ws = th->ws;
	f->pub.d[!dir].ws = ot->ws;

	if (rst) {
		if (ackf)
			ds->ack_pkts++;
		goto out;
	}

	th->win_last = eff_win;

	if (ackf) {
		if (eff_win == 0)
			ds->zero_win_adv++;
		ds->ack_pkts++;
		if (len == 0 && !syn && !fin)
			ds->pure_acks++;
		unsigned ns = p->opt.n_sack;
		if (ns > 0) {
			const uint32_t(*sk)[2] = p->opt.sack;
			ds->sack_pkts++;
			if (ns > ds->max_sack_blocks)
				ds->max_sack_blocks = ns;
			if (sk[0][1] <= p->ack) {
				ds->dsack_pkts++;
			} else if (ns > 1) {
				if (sk[0][1] <= sk[1][1] && sk[0][0] >= sk[1][0])
					ds->dsack_pkts++;
				else if ((sk[0][0] <= sk[1][0] && sk[0][1] > sk[1][0]) ||
					 (sk[0][1] >= sk[1][1] && sk[0][0] < sk[1][1]))
					ds->dsack_pkts++;
			}
		}
	}
out:
	*dirp = dir;
	*is_new = fresh;
	return &f->pub;
}
