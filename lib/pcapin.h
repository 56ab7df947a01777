/* lib/pcapin.h - read pcap and pcapng captures through libpcap, with errors
 * that name the file and the problem.
 *
 *   struct lk_pcap *r; struct lk_err e;
 *   if (lk_pcap_open(path, &r, &e) < 0) ...;       // e.msg: "FILE: not a capture ..."
 *   while ((rc = lk_pcap_next(r, &hdr, &data, &e)) == 1)
 *           ... lk_decode(lk_pcap_rec_dlt(r), data, ...) ...;
 *   if (rc < 0) ...;                                  // fatal error mid-file
 *   if (lk_pcap_truncated(r)) ...;                    // last record cut short (warning)
 *   lk_pcap_close(r);
 *
 * The bytes come from lib/instream.h: a file or standard input ("-"), gzip,
 * zstd or xz compressed or not (recognised by content), read ahead by a
 * second thread when that helps. Records are read by our own pcap and
 * pcapng reader straight from the input's chunks (a record is copied only
 * when it straddles two chunks) for as long as everything is plainly valid
 * and means the same to libpcap: a pcap 2.4 file, or pcapng of Section
 * Header, Interface Description and Enhanced Packet Blocks with time
 * stamps in micro- or nanoseconds. At the first byte it is unsure of (any
 * other block, an odd length, a record cut short, an input error...) it
 * hands libpcap the file header (pcapng: the section's header and interface
 * blocks) and the rest of the input from that record on, so that libpcap
 * reads (or refuses) the rest as it always did, with its own messages. A pcapng file whose interfaces have
 * different link types or snapshot lengths, which libpcap 1.10 refuses, is
 * read through lib/pcapng.h: each record then has its own interface's link
 * type (lk_pcap_rec_dlt).
 */
#ifndef LK_PCAPIN_H
#define LK_PCAPIN_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/instream.h"

struct lk_pcap;

/* Open a capture ("-" = standard input). Fails (returns -1, e filled, code
 * LK_EXIT_RUNTIME) on an empty input, one that is not a capture, a truncated
 * file header, corrupt or truncated compressed data before the first record,
 * or an unsupported link type of the (first) interface (lk_dlt_supported()). */
int lk_pcap_open(const char *path, struct lk_pcap **out, struct lk_err *e);

/* Like lk_pcap_open, but also computes the SHA-256 of the input's bytes as
 * stored (compressed bytes for a compressed file); lk_pcap_sha256 gives it
 * once the capture is read. */
int lk_pcap_open_hashed(const char *path, struct lk_pcap **out, struct lk_err *e);

/* How to open: hash (as lk_pcap_open_hashed); libpcap_only (libpcap reads
 * every record, as before our own reader existed: tests compare the two);
 * max_piece (tests: the input comes in pieces of at most this many bytes,
 * 0 = any). */
struct lk_pcap_opts {
	bool hash;
	bool libpcap_only;
	size_t max_piece;
};
int lk_pcap_open_opts(const char *path, const struct lk_pcap_opts *o, struct lk_pcap **out,
		      struct lk_err *e);

/* Records returned by our own reader (the rest came from libpcap). */
uint64_t lk_pcap_own_records(const struct lk_pcap *r);
/* libpcap reads the capture (from the start, or since our reader handed
 * over). */
bool lk_pcap_via_libpcap(const struct lk_pcap *r);

/* Hex SHA-256 (65 bytes incl. NUL) of the whole input: reads any bytes libpcap
 * has not consumed. Only for captures opened with lk_pcap_open_hashed. */
int lk_pcap_sha256(struct lk_pcap *r, char hex[65], struct lk_err *e);

/* Next record: 1 = got one (*h, *data valid until the next call), 0 = end of
 * file (including a truncated last record, see lk_pcap_truncated), -1 = a
 * fatal error in the middle of the file (an absurd caplen, corrupt or
 * truncated compressed data...), e filled. */
int lk_pcap_next(struct lk_pcap *r, const struct pcap_pkthdr **h, const uint8_t **data,
		 struct lk_err *e);

/* Timestamp of the current record in ns (handles nanosecond-resolution files). */
uint64_t lk_pcap_ts_ns(const struct lk_pcap *r, const struct pcap_pkthdr *h);

/* Link type of the capture (of its first interface), and of the record last
 * returned by lk_pcap_next (differs only in a pcapng whose interfaces do). */
int lk_pcap_dlt(const struct lk_pcap *r);
int lk_pcap_rec_dlt(const struct lk_pcap *r);
uint32_t lk_pcap_snaplen(const struct lk_pcap *r);
enum lk_zkind lk_pcap_compression(const struct lk_pcap *r);
bool lk_pcap_mixed_links(const struct lk_pcap *r); /* interfaces of several link types */
const char *lk_pcap_path(const struct lk_pcap *r);
bool lk_pcap_truncated(const struct lk_pcap *r); /* last record cut short */
uint64_t lk_pcap_records(const struct lk_pcap *r); /* records returned so far */
/* The input the records come from (lib/instream.h), e.g. to pump it from
 * another thread (lk_instream_pump_start). Owned by r. */
struct lk_instream *lk_pcap_input(struct lk_pcap *r);
void lk_pcap_close(struct lk_pcap *r);

#endif
