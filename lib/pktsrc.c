/* lib/pktsrc.c - decoded TCP segments of a capture, decoded by a second
 * thread. See pktsrc.h. */
#include "lib/pktsrc.h"

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
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t filled, consumed;
	bool stop;
	/* the caller's */
	bool have;              /* batch `consumed` is being read */
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
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->filled - s->consumed >= NB && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop)
			break;
		struct batch *b = &s->b[s->filled % NB];
		pthread_mutex_unlock(&s->mu);
		fill(s, b);
		pthread_mutex_lock(&s->mu);
		s->filled++;
		pthread_cond_broadcast(&s->cv);
		if (b->end <= 0)
			break;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int lk_pktsrc_start(struct lk_pcap *r, struct lk_pktsrc **out, struct lk_err *e)
{
	*out = NULL;
	struct lk_pktsrc *s = calloc(1, sizeof *s);
	bool thread = lk_pcap_regular(r);
	if (s)
		s->b = malloc((thread ? NB : 1) * sizeof *s->b);
	if (!s || !s->b) {
		free(s);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", lk_pcap_path(r));
	}
	s->pcap = r;
	if (thread && pthread_mutex_init(&s->mu, NULL) == 0) {
		if (pthread_cond_init(&s->cv, NULL) == 0) {
			s->threaded = pthread_create(&s->th, NULL, reader, s) == 0;
			if (!s->threaded)
				pthread_cond_destroy(&s->cv);
		}
		if (!s->threaded)
			pthread_mutex_destroy(&s->mu);
	}
	*out = s;
	return 0; /* threaded, or read in the caller's thread */
}

/* The next batch to read from: 1, or 0/-1 when there is none. */
static int next_batch(struct lk_pktsrc *s, struct lk_err *e)
{
	if (!s->threaded) {
		struct batch *b = &s->b[0];
		if (s->have && b->end <= 0)
			goto over;
		fill(s, b);
		s->have = true;
		s->pos = 0;
		return 1;
	}
	pthread_mutex_lock(&s->mu);
	if (s->have) {
		if (s->b[s->consumed % NB].end <= 0) {
			pthread_mutex_unlock(&s->mu);
			goto over;
		}
		s->have = false;
		s->consumed++;
		pthread_cond_broadcast(&s->cv);
	}
	while (s->filled == s->consumed)
		pthread_cond_wait(&s->cv, &s->mu);
	s->have = true;
	s->pos = 0;
	pthread_mutex_unlock(&s->mu);
	return 1;
over: {
	int end = s->b[s->threaded ? s->consumed % NB : 0].end;
	if (end < 0)
		*e = s->err;
	return end;
}
}

int lk_pktsrc_next(struct lk_pktsrc *s, const struct lk_pkt **p, uint64_t *ts, struct lk_err *e)
{
	for (;;) {
		if (s->have) {
			struct batch *b = &s->b[s->threaded ? s->consumed % NB : 0];
			if (s->pos < b->n) {
				const struct rec *x = &b->r[s->pos++];
				*p = &x->p;
				*ts = x->ts;
				return 1;
			}
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
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
	}
	free(s->b);
	free(s);
}
