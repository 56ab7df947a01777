/* lib/pktsrc.c - decoded TCP segments of a capture, decoded by a second
 * thread. See pktsrc.h. */
#include "lib/pktsrc.h"
#include "lib/handoff.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BN 512 /* segments per batch */
#define NB 8   /* batches in the ring */

struct rec {
	uint64_t ts;
	struct lk_pkt p;
};

struct batch {
	unsigned n;
	int end;            /* after these: 1 more to come, 0 end of capture, -1 failed */
	struct rec r[BN];
};

struct lk_pktsrc {
	struct lk_pcap *pcap;
	struct lk_pktcounts c;  /* the reader's */
	struct lk_err err;      /* the reader's failure */
	struct batch *b;
	bool threaded;
	pthread_t th;
	struct lk_handoff ho;
	/* the caller's */
	struct batch *cur;      /* being read, NULL before the first */
	unsigned pos;
};

/* Read and decode up to BN segments into b; b->end says what came after. */
static void fill(struct lk_pktsrc *s, struct batch *b)
{
	b->n = 0;
	b->end = 1;
	while (b->n < BN) {
		const struct pcap_pkthdr *h;
		const uint8_t *d;
		int rc = lk_pcap_next(s->pcap, &h, &d, &s->err);
		if (rc <= 0) {
			b->end = rc;
			return;
		}
		uint64_t ts = lk_pcap_ts_ns(s->pcap, h);
		if (!s->c.records)
			s->c.first_ns = ts;
		s->c.last_ns = ts;
		s->c.records++;
		struct rec *x = &b->r[b->n];
		enum lk_dec_status ds = lk_decode(lk_pcap_rec_dlt(s->pcap), d, h->caplen, h->len, &x->p);
		if (ds != LK_DEC_TCP) {
			s->c.skipped[ds]++;
			continue;
		}
		s->c.tcp_packets++;
		if (x->p.opt.bad)
			s->c.bad_tcpopt++;
		x->p.frame = NULL;
		x->ts = ts;
		b->n++;
	}
}

static void *reader(void *c)
{
	struct lk_pktsrc *s = c;
	int i;
	while ((i = lk_handoff_claim(&s->ho)) >= 0) {
		fill(s, &s->b[i]);
		lk_handoff_fill(&s->ho, s->b[i].end <= 0);
		if (s->b[i].end <= 0)
			break;
	}
	return NULL;
}

int lk_pktsrc_start(struct lk_pcap *r, struct lk_pktsrc **out, struct lk_err *e)
{
	*out = NULL;
	struct lk_pktsrc *s = calloc(1, sizeof *s);
	bool thread = lk_pcap_large(r);
	if (s)
		s->b = malloc((thread ? NB : 1) * sizeof *s->b);
	if (!s || !s->b) {
		free(s);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", lk_pcap_path(r));
	}
	s->pcap = r;
	if (thread && lk_handoff_init(&s->ho, NB) == 0) {
		s->threaded = pthread_create(&s->th, NULL, reader, s) == 0;
		if (!s->threaded)
			lk_handoff_destroy(&s->ho);
	}
	*out = s;
	return 0; /* threaded, or read in the caller's thread */
}

/* The next batch to read from: 1, or the end of the capture (0) or its
 * failure (-1, e filled) when the last one is done. */
static int next_batch(struct lk_pktsrc *s, struct lk_err *e)
{
	if (s->cur && s->cur->end <= 0) {
		if (s->cur->end < 0)
			*e = s->err;
		return s->cur->end;
	}
	if (!s->threaded) {
		s->cur = &s->b[0];
		fill(s, s->cur);
	} else {
		/* the last batch says the end: take does not run dry first */
		int i = lk_handoff_take(&s->ho);
		if (i < 0)
			return 0;
		s->cur = &s->b[i];
	}
	s->pos = 0;
	return 1;
}

int lk_pktsrc_next(struct lk_pktsrc *s, const struct lk_pkt **p, uint64_t *ts, struct lk_err *e)
{
	for (;;) {
		if (s->cur && s->pos < s->cur->n) {
			const struct rec *x = &s->cur->r[s->pos++];
			*p = &x->p;
			*ts = x->ts;
			return 1;
		}
		int rc = next_batch(s, e);
		if (rc <= 0)
			return rc;
	}
}

void lk_pktsrc_counts(const struct lk_pktsrc *s, struct lk_pktcounts *c) { *c = s->c; }

void lk_pktsrc_stop(struct lk_pktsrc *s)
{
	if (!s)
		return;
	if (s->threaded) {
		lk_handoff_stop(&s->ho);
		pthread_join(s->th, NULL);
		lk_handoff_destroy(&s->ho);
	}
	free(s->b);
	free(s);
}
