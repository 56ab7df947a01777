/* analyzers/side.c - the capture-side decision; see side.h for the rules. */
#include "analyzers/side.h"
#include "analyzers/fifo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/mem.h"
#include "lro_ref/lro.h"

#define RES 64            /* samples kept per delay distribution */
#define CSUM_BUDGET 1024  /* packets per direction and size class whose checksum is looked at */
#define VERIFY_BUDGET 256 /* of which fully verified (payload summed) */
#define TTL_BUDGET 4096   /* packets per direction whose TTL is counted */
#define MIN_RTT_NS 30000   /* round trips shorter than this cannot be told from processing */
#define TSQ_MAX 1024      /* TSvals per direction waiting for their echo (1 s at 1 ms ticks) */

const char *lk_side_verdict_name(enum lk_side_verdict v)
{
	return v == LK_SV_SENDER ? "sender" : v == LK_SV_RECEIVER ? "receiver" : "none";
}

/* A uniform sample of at most RES values (Algorithm R), in ns (capped at
 * 2^32-1 ns = 4.3 s). */
struct resv {
	uint32_t v[RES];
	uint64_t seen;
};

/* A TSval value and when it was first seen. */
struct tsent {
	uint32_t tsval;
	uint64_t ts;
};

struct csum_count {
	uint32_t partial, complete; /* field = pseudo-header sum / anything else */
	uint32_t valid, bad;        /* of the complete ones fully captured: verified */
};

/* What is known about the packets of one direction (sent by its source). */
struct sdir {
	uint8_t ttl_v[4];
	uint32_t ttl_c[4];
	uint32_t ttl_n;
	struct csum_count small, big; /* payload <= MSS (ACKs too), > MSS */
	uint32_t verified;
	/* handshake (this direction's SYN, SYN/ACK and the client's ACK) */
	bool syn_seen, synack_seen, hs_ack_seen;
	uint64_t syn_ns, synack_ns, hs_ack_ns;
	/* sequence space */
	bool hi_valid;
	uint32_t hi_end;
	uint64_t holes, hole_bytes, rexmit;
	/* IPv4 ID */
	bool id_valid;
	uint16_t id_next;
	uint64_t id_pairs, id_exact, id_gaps;
	/* timestamps: TSvals sent and not yet echoed, and the echoes sent */
	struct tsent *tq;
	size_t tqh, tqn, tqcap;
	uint64_t tq_forgotten;
	bool ts_valid, ecr_valid;
	uint32_t ts_last, ecr_last;
	struct resv *resp; /* this source's response times (its echoes); NULL until the first */
	/* ACKs sent by this source */
	struct resv *ackd; /* data -> ACK delays; NULL until the first */
	uint64_t n_adv, n_inflight;
};

struct lk_side_state {
	struct sdir d[2];
	uint32_t rng;
};

struct lk_side_state *lk_side_new(void)
{
	struct lk_side_state *s = lk_zalloc_lines(sizeof *s);
	if (s)
		s->rng = 0x9e3779b9u;
	return s;
}

void lk_side_free(struct lk_side_state *s)
{
	if (!s)
		return;
	for (int i = 0; i < 2; i++) {
		free(s->d[i].tq);
		free(s->d[i].resp);
		free(s->d[i].ackd);
	}
	free(s);
}

/* Add a sample to *rp, allocated on the first (most connections of a
 * capture never have one). -1 when out of memory. */
static int resv_add(struct lk_side_state *s, struct resv **rp, uint64_t ns)
{
	if (!*rp && !(*rp = lk_zalloc_lines(sizeof **rp)))
		return -1;
	struct resv *r = *rp;
	uint32_t v = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	if (r->seen < RES) {
		r->v[r->seen++] = v;
		return 0;
	}
	r->seen++;
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	uint64_t k = s->rng % r->seen;
	if (k < RES)
		r->v[k] = v;
	return 0;
}

static uint64_t resv_n(const struct resv *r) { return r ? r->seen : 0; }

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Quantile q of the sample (nearest rank), NAN when empty. */
static double resv_q(const struct resv *r, double q)
{
	size_t n = r->seen < RES ? (size_t)r->seen : RES;
	if (!n)
		return NAN;
	uint32_t t[RES];
	memcpy(t, r->v, n * sizeof t[0]);
	qsort(t, n, sizeof t[0], cmp_u32);
	size_t k = (size_t)(q * (double)(n - 1) + 0.5);
	return (double)t[k < n ? k : n - 1];
}

/* ---- per packet ---- */

static void note_ttl(struct sdir *D, uint8_t ttl)
{
	if (D->ttl_n >= TTL_BUDGET)
		return;
	D->ttl_n++;
	int free_slot = -1;
	for (int i = 0; i < 4; i++) {
		if (D->ttl_c[i] && D->ttl_v[i] == ttl) {
			D->ttl_c[i]++;
			return;
		}
		if (!D->ttl_c[i] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		D->ttl_v[free_slot] = ttl;
		D->ttl_c[free_slot] = 1;
	}
}

/* The pseudo-header sum of p's segment (tlen: TCP header + payload), as
 * lro_csum_add would start it (16-bit words in network order). */
static uint32_t pseudo_sum(const struct lk_pkt *p, uint32_t tlen)
{
	unsigned alen = p->af == 4 ? 4 : 16;
	uint32_t ps = 6 + (tlen & 0xffff) + (tlen >> 16);
	for (unsigned i = 0; i < alen; i += 2)
		ps += (uint32_t)(p->saddr[i] << 8 | p->saddr[i + 1]) +
		      (uint32_t)(p->daddr[i] << 8 | p->daddr[i + 1]);
	return ps;
}

/* p's checksum field: LK_CSUM_*; *ps: the pseudo-header sum, *tlen: TCP
 * header + payload bytes. */
static int csum_class(const struct lk_pkt *p, uint32_t *ps, uint32_t *tlen)
{
	uint32_t l4 = p->l4_off;
	*tlen = (uint32_t)p->tcp_hlen + p->payload_len;
	if (p->caplen < l4 + 18)
		return LK_CSUM_NONE;
	*ps = pseudo_sum(p, *tlen);
	uint16_t field = (uint16_t)(p->frame[l4 + 16] << 8 | p->frame[l4 + 17]);
	return field == lro_csum_fold(*ps) ? LK_CSUM_PARTIAL : LK_CSUM_COMPLETE;
}

/* -1 when the segment was not captured whole, else whether its sum is valid. */
static int csum_sum(const struct lk_pkt *p, uint32_t ps, uint32_t tlen)
{
	if ((uint64_t)p->l4_off + tlen > p->caplen)
		return -1;
	return lro_csum_fold(lro_csum_add(ps, p->frame + p->l4_off, tlen)) == 0xffff;
}

void lk_side_csum_fields(const struct lk_pkt *p, unsigned want, uint8_t *cls, int8_t *sum)
{
	uint32_t ps = 0, tlen = 0;
	*cls = LK_CSUM_NONE;
	*sum = -1;
	if (!p->frame || !(want & (p->payload_len ? LK_SIDE_WANT_DATA : LK_SIDE_WANT_EMPTY)))
		return;
	*cls = (uint8_t)csum_class(p, &ps, &tlen);
	if ((want & LK_SIDE_WANT_SUM) && *cls == LK_CSUM_COMPLETE)
		*sum = (int8_t)csum_sum(p, ps, tlen);
}

unsigned lk_side_csum_wanted(const struct lk_side_state *s, int dir)
{
	if (dir != 0 && dir != 1)
		return 0;
	const struct sdir *D = &s->d[dir];
	bool small = D->small.partial + D->small.complete < CSUM_BUDGET,
	     big = D->big.partial + D->big.complete < CSUM_BUDGET;
	/* a segment without payload is small, whatever the MSS */
	return (small ? LK_SIDE_WANT_EMPTY : 0) | (small || big ? LK_SIDE_WANT_DATA : 0) |
	       (D->verified < VERIFY_BUDGET ? LK_SIDE_WANT_SUM : 0);
}

/* The TCP checksum field of p: partial (the pseudo-header sum a NIC would
 * complete), else complete; verified when the whole segment was captured. */
static void note_csum(struct sdir *D, const struct lk_pkt *p, uint32_t mss)
{
	bool big = mss && p->payload_len > mss;
	struct csum_count *c = big ? &D->big : &D->small;
	if (c->partial + c->complete >= CSUM_BUDGET || (!p->frame && !p->csum_known))
		return;
	uint32_t ps = 0, tlen = 0;
	int cl = p->frame ? csum_class(p, &ps, &tlen) : p->csum_class;
	if (cl == LK_CSUM_NONE)
		return;
	if (cl == LK_CSUM_PARTIAL) {
		c->partial++;
		return;
	}
	c->complete++;
	if (D->verified < VERIFY_BUDGET) {
		/* without the frame: summed by lk_side_csum_fields, which was told
		 * to while lk_side_csum_wanted said so, as it does here */
		int ok = p->frame ? csum_sum(p, ps, tlen) : p->csum_sum;
		if (ok < 0)
			return;
		D->verified++;
		if (ok)
			c->valid++;
		else
			c->bad++;
	}
}

static void note_seq(struct sdir *D, const struct lk_pkt *p)
{
	uint32_t syn = (p->flags & LK_TH_SYN) ? 1 : 0, fin = (p->flags & LK_TH_FIN) ? 1 : 0;
	uint32_t len = p->payload_len + syn + fin;
	if (!len || (p->flags & LK_TH_RST))
		return;
	uint32_t end = p->seq + len;
	if (!D->hi_valid || syn) {
		D->hi_end = end;
		D->hi_valid = true;
		return;
	}
	if (lk_seq_lt(D->hi_end, p->seq)) {
		D->holes++;
		D->hole_bytes += p->seq - D->hi_end;
	} else if (p->payload_len && lk_seq_le(end, D->hi_end)) {
		D->rexmit++;
	}
	if (lk_seq_lt(D->hi_end, end))
		D->hi_end = end;
}

/* Linux numbers a socket's IPv4 packets consecutively, a packet of n
 * segments (TSO, GRO) taking n IDs. SYNs and RSTs are numbered otherwise. */
static void note_ipid(struct sdir *D, const struct lk_pkt *p, uint32_t mss)
{
	if (p->af != 4 || (p->flags & (LK_TH_SYN | LK_TH_RST)))
		return;
	if (D->id_valid) {
		uint16_t d = (uint16_t)(p->ip_id - D->id_next);
		D->id_pairs++;
		if (d == 0)
			D->id_exact++;
		else if (d < 64)
			D->id_gaps++;
	}
	uint32_t segs = mss && p->payload_len > mss ? (p->payload_len + mss - 1) / mss : 1;
	D->id_next = (uint16_t)(p->ip_id + segs);
	D->id_valid = true;
}

static int tq_room(struct sdir *D)
{
	return lk_fifo_room((void **)&D->tq, sizeof *D->tq, &D->tqh, &D->tqn, &D->tqcap, TSQ_MAX,
			    &D->tq_forgotten);
}

/* TSvals first seen from D, and echoes by D of O's TSvals. */
static int note_ts(struct lk_side_state *s, struct sdir *D, struct sdir *O, const struct lk_pkt *p,
		   uint64_t ts)
{
	if (!p->opt.has_ts)
		return 0;
	int rc = 0;
	uint32_t v = p->opt.tsval;
	if (!D->ts_valid || lk_seq_lt(D->ts_last, v)) {
		D->ts_last = v;
		D->ts_valid = true;
		if ((D->tqn == D->tqcap || D->tqn - D->tqh >= TSQ_MAX) && tq_room(D) < 0)
			rc = -1;
		else
			D->tq[D->tqn++] = (struct tsent){v, ts};
	}
	uint32_t e = p->opt.tsecr;
	if (!(p->flags & LK_TH_ACK) || !e || (D->ecr_valid && !lk_seq_lt(D->ecr_last, e)))
		return rc;
	D->ecr_last = e;
	D->ecr_valid = true;
	/* O's TSvals up to e have now been answered; the first answer to e
	 * itself is a response-time sample */
	while (O->tqh < O->tqn && lk_seq_lt(O->tq[O->tqh].tsval, e))
		O->tqh++;
	if (O->tqh < O->tqn && O->tq[O->tqh].tsval == e) {
		if (ts >= O->tq[O->tqh].ts && resv_add(s, &D->resp, ts - O->tq[O->tqh].ts) < 0)
			rc = -1;
		O->tqh++;
	}
	if (O->tqh == O->tqn)
		O->tqh = O->tqn = 0;
	return rc;
}

static void note_handshake(struct sdir *D, const struct sdir *O, const struct lk_pkt *p, uint64_t ts)
{
	if (p->flags & LK_TH_SYN) {
		if (!(p->flags & LK_TH_ACK) && !D->syn_seen) {
			D->syn_seen = true;
			D->syn_ns = ts;
		} else if ((p->flags & LK_TH_ACK) && !D->synack_seen) {
			D->synack_seen = true;
			D->synack_ns = ts;
		}
	} else if ((p->flags & LK_TH_ACK) && D->syn_seen && !D->synack_seen && O->synack_seen &&
		   !D->hs_ack_seen) {
		D->hs_ack_seen = true;
		D->hs_ack_ns = ts;
	}
}

int lk_side_packet(struct lk_side_state *s, int dir, const struct lk_pkt *p, uint64_t ts, uint32_t mss)
{
	if (dir != 0 && dir != 1)
		return 0;
	struct sdir *D = &s->d[dir], *O = &s->d[1 - dir];
	note_ttl(D, p->ttl);
	note_csum(D, p, mss);
	note_seq(D, p);
	note_ipid(D, p, mss);
	if (p->flags & (LK_TH_SYN | LK_TH_ACK))
		note_handshake(D, O, p, ts);
	return note_ts(s, D, O, p, ts);
}

int lk_side_ack(struct lk_side_state *s, int dir, uint64_t delay_ns, uint32_t beyond, uint32_t mss)
{
	if (dir != 0 && dir != 1)
		return 0;
	struct sdir *D = &s->d[dir];
	D->n_adv++;
	if (beyond > 2 * (mss ? mss : 1))
		D->n_inflight++;
	return delay_ns != UINT64_MAX ? resv_add(s, &D->ackd, delay_ns) : 0;
}

/* ---- evidence ---- */

static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

/* Strength of a ratio r against the threshold r0 it must reach: 0.5 at r0,
 * 1 at r0 * span (log scale). */
static double ratio_strength(double r, double r0, double span)
{
	return 0.5 + 0.5 * clamp01(log(r / r0) / log(span));
}

/* A new piece of evidence: near host (0/1, -1 none) mapped to a verdict. */
static struct lk_side_ev *ev_add(struct lk_side_decision *d, const char *name, double weight)
{
	struct lk_side_ev *e = &d->ev[d->n_ev++];
	memset(e, 0, sizeof *e);
	e->name = name;
	e->weight = weight;
	return e;
}

static void ev_near(const struct lk_side_decision *d, struct lk_side_ev *e, int near, double strength)
{
	if (near < 0 || d->data_dir < 0 || strength <= 0) {
		e->verdict = LK_SV_NONE;
		e->strength = 0;
		return;
	}
	e->verdict = near == d->data_dir ? LK_SV_SENDER : LK_SV_RECEIVER;
	e->strength = clamp01(strength);
}

static const char *dn(int d) { return d ? "b->a" : "a->b"; }

static bool ttl_initial(unsigned t) { return t == 32 || t == 64 || t == 128 || t == 255; }

/* Most frequent TTL of a direction and its share of the counted packets. */
static unsigned ttl_mode(const struct sdir *D, double *share)
{
	unsigned best = 0;
	uint32_t bc = 0, tot = 0;
	for (int i = 0; i < 4; i++) {
		tot += D->ttl_c[i];
		if (D->ttl_c[i] > bc) {
			bc = D->ttl_c[i];
			best = D->ttl_v[i];
		}
	}
	*share = tot ? (double)bc / tot : 0;
	return best;
}

static void ev_ttl(const struct lk_side_state *s, struct lk_side_decision *d)
{
	const struct sdir *A = &s->d[0], *B = &s->d[1];
	if (!A->ttl_n || !B->ttl_n)
		return;
	struct lk_side_ev *e = ev_add(d, "ttl", 0.95);
	double sa, sb;
	unsigned ta = ttl_mode(A, &sa), tb = ttl_mode(B, &sb);
	snprintf(e->detail, sizeof e->detail, "a->b %u (%.0f%% of %u), b->a %u (%.0f%% of %u)", ta,
		 100 * sa, A->ttl_n, tb, 100 * sb, B->ttl_n);
	bool ia = ttl_initial(ta), ib = ttl_initial(tb);
	if (ia == ib)
		return;
	double n = A->ttl_n < B->ttl_n ? A->ttl_n : B->ttl_n;
	ev_near(d, e, ia ? 0 : 1, clamp01(n / 8) * clamp01(((sa < sb ? sa : sb) - 0.5) * 2));
}

static double frac_partial(const struct csum_count *c)
{
	uint32_t n = c->partial + c->complete;
	return n ? (double)c->partial / n : NAN;
}

/* "[DIR ]P/N partial (verified V valid, B bad)" */
static int csum_detail(char *b, size_t n, const char *dirn, const struct csum_count *c)
{
	return snprintf(b, n, "%s%s%u/%u partial (verified %u valid, %u bad)", dirn, *dirn ? " " : "",
			c->partial, c->partial + c->complete, c->valid, c->bad);
}

static void ev_tx_csum(const struct lk_side_state *s, struct lk_side_decision *d)
{
	const struct csum_count *a = &s->d[0].small, *b = &s->d[1].small;
	uint32_t na = a->partial + a->complete, nb = b->partial + b->complete;
	if (!na || !nb)
		return;
	struct lk_side_ev *e = ev_add(d, "tx_csum", 0.75);
	int k = snprintf(e->detail, sizeof e->detail, "up to the MSS: ");
	k += csum_detail(e->detail + k, sizeof e->detail - (size_t)k, "a->b", a);
	k += snprintf(e->detail + k, sizeof e->detail - (size_t)k, "; ");
	csum_detail(e->detail + k, sizeof e->detail - (size_t)k, "b->a", b);
	double fa = frac_partial(a), fb = frac_partial(b);
	int near = fa >= 0.9 && fb <= 0.1 ? 0 : fb >= 0.9 && fa <= 0.1 ? 1 : -1;
	double n = na < nb ? na : nb;
	ev_near(d, e, near, clamp01(n / 16));
}

static void ev_gro(const struct lk_side_state *s, struct lk_side_decision *d)
{
	if (d->data_dir < 0)
		return;
	const struct sdir *D = &s->d[d->data_dir];
	uint32_t nb = D->big.partial + D->big.complete, ns = D->small.partial + D->small.complete;
	if (!nb || !ns)
		return;
	struct lk_side_ev *e = ev_add(d, "gro", 0.9);
	int k = snprintf(e->detail, sizeof e->detail, "data %s: longer than the MSS ", dn(d->data_dir));
	k += csum_detail(e->detail + k, sizeof e->detail - (size_t)k, "", &D->big);
	k += snprintf(e->detail + k, sizeof e->detail - (size_t)k, "; up to the MSS ");
	csum_detail(e->detail + k, sizeof e->detail - (size_t)k, "", &D->small);
	if (D->big.partial >= 3 && frac_partial(&D->big) >= 0.9 && ns >= 4 &&
	    frac_partial(&D->small) <= 0.1)
		ev_near(d, e, 1 - d->data_dir, clamp01(0.5 + D->big.partial / 32.0));
}

/* The handshake gaps, client c: g1 = SYN -> SYN/ACK, g2 = SYN/ACK -> ACK. */
static bool hs_gaps(const struct lk_side_state *s, int *client, uint64_t *g1, uint64_t *g2)
{
	for (int c = 0; c < 2; c++) {
		const struct sdir *C = &s->d[c], *S = &s->d[1 - c];
		if (!C->syn_seen || !S->synack_seen || !C->hs_ack_seen)
			continue;
		if (S->synack_ns < C->syn_ns || C->hs_ack_ns < S->synack_ns)
			continue;
		*client = c;
		*g1 = S->synack_ns - C->syn_ns;
		*g2 = C->hs_ack_ns - S->synack_ns;
		return true;
	}
	return false;
}

/* A handshake whose round trip (the larger gap) is under MIN_RTT_NS: the
 * two ends are so close (namespaces or VMs on one machine) that each sees
 * the other's packets as soon as they were sent, and timing cannot tell the
 * ends apart. Appends the reason to e's detail. */
static bool rtt_too_short(const struct lk_side_state *s, struct lk_side_ev *e)
{
	int c;
	uint64_t g1, g2;
	if (!hs_gaps(s, &c, &g1, &g2))
		return false;
	uint64_t hi = g1 > g2 ? g1 : g2;
	if (hi >= MIN_RTT_NS)
		return false;
	size_t k = strlen(e->detail);
	snprintf(e->detail + k, sizeof e->detail - k,
		 "; handshake round trip %.1f us < %d us: timing cannot tell the ends apart",
		 (double)hi / 1e3, MIN_RTT_NS / 1000);
	return true;
}

static void ev_handshake(const struct lk_side_state *s, struct lk_side_decision *d)
{
	int c;
	uint64_t g1, g2;
	if (!hs_gaps(s, &c, &g1, &g2))
		return;
	struct lk_side_ev *e = ev_add(d, "handshake", 0.8);
	snprintf(e->detail, sizeof e->detail,
		 "client %s; SYN -> SYN/ACK %.1f us, SYN/ACK -> ACK %.1f us", c ? "b" : "a",
		 (double)g1 / 1e3, (double)g2 / 1e3);
	if (rtt_too_short(s, e))
		return;
	double x = g1 > 1000 ? (double)g1 : 1000, y = g2 > 1000 ? (double)g2 : 1000;
	if (x >= 3 * y)
		ev_near(d, e, c, ratio_strength(x / y, 3, 10));
	else if (y >= 3 * x)
		ev_near(d, e, 1 - c, ratio_strength(y / x, 3, 10));
}

static void ev_ack_delay(const struct lk_side_state *s, struct lk_side_decision *d)
{
	if (d->data_dir < 0)
		return;
	int ad = 1 - d->data_dir;
	const struct resv *r = s->d[ad].ackd;
	if (resv_n(r) < 8)
		return;
	struct lk_side_ev *e = ev_add(d, "ack_delay", 0.85);
	double q10 = resv_q(r, 0.1), q25 = resv_q(r, 0.25), q50 = resv_q(r, 0.5);
	int c;
	uint64_t g1, g2;
	int k = snprintf(e->detail, sizeof e->detail,
			 "data -> covering ACK, %llu ACKs: q10 %.1f us, q25 %.1f us, median %.1f us",
			 (unsigned long long)r->seen, q10 / 1e3, q25 / 1e3, q50 / 1e3);
	if (!hs_gaps(s, &c, &g1, &g2)) {
		snprintf(e->detail + k, sizeof e->detail - (size_t)k, "; no handshake to compare");
		return;
	}
	/* the yardstick: the handshake's local processing gap (the smaller;
	 * the larger, a round trip, is often stretched by address resolution) */
	double lo = (double)(g1 < g2 ? g1 : g2);
	lo = lo > 1000 ? lo : 1000;
	double rho = (q25 > 1000 ? q25 : 1000) / lo;
	snprintf(e->detail + k, sizeof e->detail - (size_t)k,
		 "; handshake processing gap %.1f us (q25 / gap %.2f)", lo / 1e3, rho);
	if (rtt_too_short(s, e))
		return;
	if (rho < 1) /* strictly: equal (e.g. both 0 at a coarse clock) says nothing */
		ev_near(d, e, ad, ratio_strength(1 / rho, 1, 10));
	else if (rho >= 6)
		ev_near(d, e, d->data_dir, ratio_strength(rho, 6, 10));
}

static void ev_ts_echo(const struct lk_side_state *s, struct lk_side_decision *d)
{
	const struct resv *ra = s->d[0].resp, *rb = s->d[1].resp;
	if (resv_n(ra) < 8 || resv_n(rb) < 8)
		return;
	struct lk_side_ev *e = ev_add(d, "ts_echo", 0.9);
	double qa = resv_q(ra, 0.25), qb = resv_q(rb, 0.25);
	snprintf(e->detail, sizeof e->detail,
		 "response times (q25): a %.1f us (%llu echoes), b %.1f us (%llu echoes)", qa / 1e3,
		 (unsigned long long)ra->seen, qb / 1e3, (unsigned long long)rb->seen);
	if (rtt_too_short(s, e))
		return;
	double x = qa > 1000 ? qa : 1000, y = qb > 1000 ? qb : 1000;
	if (y >= 4 * x)
		ev_near(d, e, 0, ratio_strength(y / x, 4, 10));
	else if (x >= 4 * y)
		ev_near(d, e, 1, ratio_strength(x / y, 4, 10));
}

static void ev_seq_holes(const struct lk_side_state *s, struct lk_side_decision *d)
{
	if (d->data_dir < 0)
		return;
	const struct sdir *D = &s->d[d->data_dir];
	struct lk_side_ev *e = ev_add(d, "seq_holes", 0.9);
	snprintf(e->detail, sizeof e->detail,
		 "data %s: %llu holes (%llu bytes never seen), %llu segments below the highest seen",
		 dn(d->data_dir), (unsigned long long)D->holes, (unsigned long long)D->hole_bytes,
		 (unsigned long long)D->rexmit);
	if (D->holes >= 2)
		ev_near(d, e, 1 - d->data_dir, 0.5 + (double)D->holes / 16);
}

static void ev_ip_id(const struct lk_side_state *s, struct lk_side_decision *d)
{
	const struct sdir *A = &s->d[0], *B = &s->d[1];
	if (!A->id_pairs || !B->id_pairs)
		return;
	struct lk_side_ev *e = ev_add(d, "ip_id", 0.85);
	snprintf(e->detail, sizeof e->detail,
		 "a->b %llu/%llu consecutive, %llu gaps; b->a %llu/%llu consecutive, %llu gaps",
		 (unsigned long long)A->id_exact, (unsigned long long)A->id_pairs,
		 (unsigned long long)A->id_gaps, (unsigned long long)B->id_exact,
		 (unsigned long long)B->id_pairs, (unsigned long long)B->id_gaps);
	if (A->id_pairs < 50 || B->id_pairs < 50)
		return;
	bool seq_a = (double)(A->id_exact + A->id_gaps) >= 0.9 * (double)A->id_pairs;
	bool seq_b = (double)(B->id_exact + B->id_gaps) >= 0.9 * (double)B->id_pairs;
	if (!seq_a || !seq_b)
		return;
	if (A->id_gaps >= 2 && !B->id_gaps)
		ev_near(d, e, 1, 0.5 + (double)A->id_gaps / 16);
	else if (B->id_gaps >= 2 && !A->id_gaps)
		ev_near(d, e, 0, 0.5 + (double)B->id_gaps / 16);
}

static void ev_inflight(const struct lk_side_state *s, struct lk_side_decision *d)
{
	if (d->data_dir < 0)
		return;
	const struct sdir *K = &s->d[1 - d->data_dir];
	if (K->n_adv < 8)
		return;
	struct lk_side_ev *e = ev_add(d, "inflight", 0.6);
	double f = (double)K->n_inflight / (double)K->n_adv;
	snprintf(e->detail, sizeof e->detail,
		 "%llu of %llu advancing ACKs saw > 2 MSS of data beyond them (%.0f%%)",
		 (unsigned long long)K->n_inflight, (unsigned long long)K->n_adv, 100 * f);
	if (rtt_too_short(s, e))
		return;
	if (f >= 0.9)
		ev_near(d, e, d->data_dir, 0.5 + 0.5 * clamp01((f - 0.9) / 0.09));
}

/* ---- combination ---- */

void lk_side_combine(struct lk_side_decision *d)
{
	d->logodds[0] = d->logodds[1] = 0;
	for (unsigned i = 0; i < d->n_ev; i++) {
		const struct lk_side_ev *e = &d->ev[i];
		if (e->verdict == LK_SV_NONE)
			continue;
		double p = 0.5 + 0.5 * clamp01(e->weight) * clamp01(e->strength);
		if (p >= 0.999)
			p = 0.999;
		d->logodds[e->verdict == LK_SV_SENDER ? 0 : 1] += log(p / (1 - p));
	}
	double l = d->logodds[0] - d->logodds[1];
	d->confidence = 1 / (1 + exp(-fabs(l)));
	d->side = LK_SV_NONE;
	d->rule = "unknown";
	d->why = NULL;
	if (d->data_dir < 0)
		d->why = "no data in either direction";
	else if (d->logodds[0] == 0 && d->logodds[1] == 0)
		d->why = "no evidence";
	else if (d->logodds[0] >= LK_SIDE_AGAINST && d->logodds[1] >= LK_SIDE_AGAINST)
		d->why = "evidence disagrees";
	else if (fabs(l) < log(LK_SIDE_DECIDE / (1 - LK_SIDE_DECIDE)) - 1e-9)
		d->why = "evidence too weak";
	else {
		d->side = l > 0 ? LK_SV_SENDER : LK_SV_RECEIVER;
		d->rule = "evidence";
	}
	if (d->side == LK_SV_NONE || d->data_dir < 0)
		d->near = -1;
	else
		d->near = d->side == LK_SV_SENDER ? d->data_dir : 1 - d->data_dir;
}

void lk_side_decide(const struct lk_side_state *s, int data_dir, enum lk_side force,
		    struct lk_side_decision *d)
{
	memset(d, 0, sizeof *d);
	d->data_dir = data_dir;
	ev_ttl(s, d);
	ev_tx_csum(s, d);
	ev_gro(s, d);
	ev_handshake(s, d);
	ev_ack_delay(s, d);
	ev_ts_echo(s, d);
	ev_seq_holes(s, d);
	ev_ip_id(s, d);
	ev_inflight(s, d);
	lk_side_combine(d);
	if (force != LK_SIDE_AUTO && data_dir >= 0) {
		d->side = force == LK_SIDE_SENDER ? LK_SV_SENDER : LK_SV_RECEIVER;
		d->near = d->side == LK_SV_SENDER ? data_dir : 1 - data_dir;
		d->confidence = 1;
		d->rule = "forced";
		d->why = NULL;
	}
}

/* ---- output ---- */

void lk_side_json(const struct lk_side_decision *d, FILE *f)
{
	fputs("{\"capture\":", f);
	lk_json_str(f, d->side == LK_SV_NONE ? "unknown" : lk_side_verdict_name(d->side));
	fputs(",\"near\":", f);
	lk_json_str_or_null(f, d->near < 0 ? NULL : d->near ? "b" : "a");
	fputs(",\"data\":", f);
	lk_json_str_or_null(f, d->data_dir < 0 ? NULL : d->data_dir ? "b2a" : "a2b");
	fputs(",\"confidence\":", f);
	lk_json_num(f, d->confidence);
	fputs(",\"rule\":", f);
	lk_json_str(f, d->rule ? d->rule : "unknown");
	if (d->why) {
		fputs(",\"why\":", f);
		lk_json_str(f, d->why);
	}
	fputs(",\"logodds\":{\"sender\":", f);
	lk_json_num(f, d->logodds[0]);
	fputs(",\"receiver\":", f);
	lk_json_num(f, d->logodds[1]);
	fputs("},\"evidence\":[", f);
	for (unsigned i = 0; i < d->n_ev; i++) {
		const struct lk_side_ev *e = &d->ev[i];
		fputs(i ? ",{\"name\":" : "{\"name\":", f);
		lk_json_str(f, e->name);
		fputs(",\"verdict\":", f);
		lk_json_str(f, lk_side_verdict_name(e->verdict));
		fputs(",\"strength\":", f);
		lk_json_num(f, e->strength);
		fputs(",\"weight\":", f);
		lk_json_num(f, e->weight);
		fputs(",\"detail\":", f);
		lk_json_str(f, e->detail);
		fputc('}', f);
	}
	fputs("]}", f);
}

void lk_side_text(const struct lk_side_decision *d, const char *ind, FILE *f)
{
	fprintf(f, "%scapture side: %s", ind,
		d->side == LK_SV_NONE ? "unknown" : lk_side_verdict_name(d->side));
	if (d->near >= 0)
		fprintf(f, " (near host %s)", d->near ? "b" : "a");
	fprintf(f, ", %s, confidence %.3f", d->rule ? d->rule : "unknown", d->confidence);
	if (d->why)
		fprintf(f, ": %s", d->why);
	fputc('\n', f);
	for (unsigned i = 0; i < d->n_ev; i++) {
		const struct lk_side_ev *e = &d->ev[i];
		fprintf(f, "%s  %-10s %-8s", ind, e->name, lk_side_verdict_name(e->verdict));
		if (e->verdict != LK_SV_NONE)
			fprintf(f, " strength %.2f weight %.2f", e->strength, e->weight);
		fprintf(f, ": %s\n", e->detail);
	}
}
