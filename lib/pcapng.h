/* lib/pcapng.h - follow a pcapng byte stream block by block on its way to
 * libpcap, so that captures whose interfaces differ in link type or snapshot
 * length can be read.
 *
 * pcapng allows every interface its own link type and snapshot length (a
 * `mergecap` of an Ethernet and a Linux cooked capture has both), but libpcap
 * 1.10 refuses such files ("an interface has a type 113 different from the
 * type of the first interface", the same for the snapshot length), and checks
 * every packet's captured length against the FIRST interface's snapshot
 * length. The walker sees the bytes before libpcap does and edits each
 * Interface Description Block in place: link type := the first interface's,
 * snapshot length := 0 ("not limited"). It remembers each interface's real
 * link type and snapshot length; libpcap returns packets in block order, so
 * lk_ngwalk_take gives the real link type of each packet in turn. A Simple
 * Packet Block's captured length is the smaller of its original length and
 * interface 0's snapshot length, which libpcap then no longer knows: where it
 * matters, the block's original length is set to the captured one and the
 * real one comes with lk_ngwalk_take. Nothing else is changed, and libpcap
 * still parses and checks every block itself. (lib/pcapin reads plain
 * SHB/IDB/EPB streams itself; the walker works once libpcap reads, from
 * the start or from where lib/pcapin handed over.)
 *
 * The bytes may arrive in pieces of any size; a block header cut between
 * two pieces is held back (feed says how much it has done) and must come
 * again with the next piece. A stream that does not start with a Section
 * Header Block, or a block the walker cannot follow (a length libpcap
 * rejects too), turns the walker off; libpcap then reads (or refuses) the
 * rest as it would without it.
 *
 *   struct lk_ngwalk *w = lk_ngwalk_new();
 *   ... done = lk_ngwalk_feed(w, buf, n, eof): hand buf[0..done) to libpcap,
 *       feed buf[done..n) again before the next bytes ...
 *   ... per packet libpcap returns: lt = lk_ngwalk_take(w, &len) ...
 *   lk_ngwalk_free(w);
 */
#ifndef LK_PCAPNG_H
#define LK_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lk_ngwalk;

struct lk_ngwalk *lk_ngwalk_new(void); /* NULL: out of memory */
void lk_ngwalk_free(struct lk_ngwalk *w);

/* Walk (and edit) the next n bytes of the stream. Returns how many of them
 * are done (n, or fewer when they end in the middle of a block header: at
 * most 15 are left). eof: no more bytes will come (all are then done). */
size_t lk_ngwalk_feed(struct lk_ngwalk *w, uint8_t *buf, size_t n, bool eof);

/* The stream is pcapng and the walker follows it. */
bool lk_ngwalk_active(const struct lk_ngwalk *w);

/* The link type (LINKTYPE_ value as stored in the file) of the next packet
 * block, in file order; -1 when unknown (the walker is off or behind).
 * *len: the packet's original length when libpcap reports a wrong one (an
 * SPB cut by the snapshot length), else 0. */
int lk_ngwalk_take(struct lk_ngwalk *w, uint32_t *len);

/* The first interface's link type and snapshot length as stored (-1 before
 * it was seen). */
int lk_ngwalk_first_linktype(const struct lk_ngwalk *w);
int64_t lk_ngwalk_first_snaplen(const struct lk_ngwalk *w);

/* Some interface's link type differs from the first's. */
bool lk_ngwalk_mixed(const struct lk_ngwalk *w);

/* A later section is in the other byte order than the first (valid pcapng
 * that libpcap 1.10 cannot read: it keeps the first section's order). */
bool lk_ngwalk_order_changed(const struct lk_ngwalk *w);

#endif
