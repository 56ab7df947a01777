/* lib/replay.c - a capture fed in NAPI polls (see replay.h). */
#include "lib/replay.h"

#include "lib/decode.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EBUF_SIZE (262144u + 64u) /* the largest record libpcap returns, plus a header */

/* The Ethernet view of a record: the record itself, or a copy in buf behind a
 * synthetic header. False for a record with no Ethernet equivalent. */
static bool to_ether(int dlt, const uint8_t *d, const struct pcap_pkthdr *h, uint8_t *buf,
		     struct lk_replay_frame *f)
{
	if (dlt == DLT_EN10MB) {
		f->data = d;
		f->caplen = h->caplen;
		f->wirelen = h->len;
		return true;
	}
	struct lk_link l;
	if (lk_decode_link(dlt, d, h->caplen, &l) || h->caplen - l.hdr_len + 14 > EBUF_SIZE)
		return false;
	memset(buf, 0, 12);
	buf[12] = (uint8_t)(l.ethertype >> 8);
	buf[13] = (uint8_t)l.ethertype;
	memcpy(buf + 14, d + l.hdr_len, h->caplen - l.hdr_len);
	f->data = buf;
	f->caplen = h->caplen - l.hdr_len + 14;
	f->wirelen = (uint32_t)((int64_t)h->len + 14 - (int64_t)l.hdr_len);
	return true;
}

int lk_replay_capture(struct lk_pcap *r, const struct lk_replay_cfg *cfg, const struct lk_replay_ops *ops,
		      void *ctx, struct lk_replay_stats *st, struct lk_err *e)
{
	memset(st, 0, sizeof *st);
	uint8_t *buf = malloc(EBUF_SIZE);
	if (!buf)
		return lk_errf(e, LK_EXIT_RUNTIME, "replay: out of memory");
	const struct pcap_pkthdr *h;
	const uint8_t *d;
	uint64_t last_ts = 0;
	unsigned long in_poll = 0;
	int got;
	while ((got = lk_pcap_next(r, &h, &d, e)) == 1) {
		struct lk_replay_frame f;
		if (!to_ether(lk_pcap_rec_dlt(r), d, h, buf, &f)) {
			st->skipped++;
			continue;
		}
		f.ts_ns = lk_pcap_ts_ns(r, h);
		/* an idle gap before this frame ends the poll */
		if (in_poll && cfg->gap_ns && f.ts_ns > last_ts && f.ts_ns - last_ts > cfg->gap_ns) {
			ops->poll_end(ctx, last_ts, in_poll);
			in_poll = 0;
		}
		if (h->caplen < h->len)
			st->cut++;
		f.slot = in_poll;
		ops->frame(ctx, &f);
		st->fed++;
		last_ts = f.ts_ns;
		if (++in_poll >= cfg->budget) { /* the budget is used up */
			ops->poll_end(ctx, f.ts_ns, in_poll);
			in_poll = 0;
		}
	}
	free(buf);
	if (got < 0)
		return -1;
	ops->poll_end(ctx, last_ts, in_poll);
	return 0;
}
