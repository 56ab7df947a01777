/* lib/pktsrc.h - the TCP segments of a capture, decoded, in capture order,
 * with the counts of what was read and skipped.
 *
 *   struct lk_pktsrc *s;
 *   if (lk_pktsrc_start(pcap, &s, &e) < 0) ...;
 *   while ((rc = lk_pktsrc_next(s, &p, &ts, &e)) == 1) ... use *p ...;
 *   if (rc < 0) ...;                          // the capture failed mid-file
 *   lk_pktsrc_counts(s, &c);                 // records, skipped by reason ...
 *   lk_pktsrc_stop(s);                       // the lk_pcap stays the caller's
 *
 * Records are read (lk_pcap_next) and decoded (lk_decode) in the calling
 * thread: handing decoded segments to another thread was measured to cost
 * more (the segments crossing between cores, and the handoffs) than the
 * decoding it would take off the caller (make perf-analyze).
 */
#ifndef LK_PKTSRC_H
#define LK_PKTSRC_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/decode.h"
#include "lib/err.h"
#include "lib/pcapin.h"

struct lk_pktsrc;

/* What was read: every record, the TCP segments among them, the others by
 * reason; first and last timestamps of all records (ns). */
struct lk_pktcounts {
	uint64_t records, tcp_packets, bad_tcpopt;
	uint64_t skipped[LK_DEC__COUNT];
	uint64_t first_ns, last_ns;
};

int lk_pktsrc_start(struct lk_pcap *r, struct lk_pktsrc **out, struct lk_err *e);

/* The next TCP segment: 1 (*p and *ts valid until the next call; p->frame
 * is the record), 0 at the end of the capture, -1 when the capture failed
 * (e filled). */
int lk_pktsrc_next(struct lk_pktsrc *s, const struct lk_pkt **p, uint64_t *ts,
		   struct lk_err *e);

/* The counts so far (complete after lk_pktsrc_next returned 0). */
void lk_pktsrc_counts(const struct lk_pktsrc *s, struct lk_pktcounts *c);

void lk_pktsrc_stop(struct lk_pktsrc *s);

#endif
