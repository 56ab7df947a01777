/* lib/pktsrc.c - decoded TCP segments of a capture. See pktsrc.h. */
#include "lib/pktsrc.h"

#include <stdlib.h>

struct lk_pktsrc {
	struct lk_pcap *pcap;
	struct lk_pktcounts c;
	struct lk_pkt p;
};

int lk_pktsrc_start(struct lk_pcap *r, struct lk_pktsrc **out, struct lk_err *e)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", lk_pcap_path(r));
	(*out)->pcap = r;
	return 0;
}

int lk_pktsrc_next(struct lk_pktsrc *s, const struct lk_pkt **p, uint64_t *ts, struct lk_err *e)
{
	for (;;) {
		const struct pcap_pkthdr *h;
		const uint8_t *d;
		int rc = lk_pcap_next(s->pcap, &h, &d, e);
		if (rc <= 0)
			return rc;
		uint64_t t = lk_pcap_ts_ns(s->pcap, h);
		if (!s->c.records)
			s->c.first_ns = t;
		s->c.last_ns = t;
		s->c.records++;
		enum lk_dec_status ds = lk_decode(lk_pcap_rec_dlt(s->pcap), d, h->caplen, h->len, &s->p);
		if (ds != LK_DEC_TCP) {
			s->c.skipped[ds]++;
			continue;
		}
		s->c.tcp_packets++;
		if (s->p.opt.bad)
			s->c.bad_tcpopt++;
		*p = &s->p;
		*ts = t;
		return 1;
	}
}

void lk_pktsrc_counts(const struct lk_pktsrc *s, struct lk_pktcounts *c) { *c = s->c; }

void lk_pktsrc_stop(struct lk_pktsrc *s) { free(s); }
