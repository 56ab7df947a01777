/* lib/pcapin.h - read pcap and pcapng files through libpcap, with errors that
 * name the file and the problem.
 *
 *   struct lk_pcap *r; struct lk_err e;
 *   if (lk_pcap_open(path, &r, &e) < 0) ...;       // e.msg: "FILE: not a capture ..."
 *   while ((rc = lk_pcap_next(r, &hdr, &data, &e)) == 1) ...;
 *   if (rc < 0) ...;                                  // fatal error mid-file
 *   if (lk_pcap_truncated(r)) ...;                    // last record cut short (warning)
 *   lk_pcap_close(r);
 */
#ifndef LK_PCAPIN_H
#define LK_PCAPIN_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

struct lk_pcap;

/* Open a capture file. Fails (returns -1, e filled, code LK_EXIT_RUNTIME) on an
 * empty file, a file that is not a capture, a truncated file header, or an
 * unknown/unsupported link type (checked against lk_dlt_supported()). */
int lk_pcap_open(const char *path, struct lk_pcap **out, struct lk_err *e);

/* Like lk_pcap_open, but also computes the SHA-256 of the file's bytes as
 * they are read (one pass); lk_pcap_sha256 gives it once the file is read. */
int lk_pcap_open_hashed(const char *path, struct lk_pcap **out, struct lk_err *e);

/* Hex SHA-256 (65 bytes incl. NUL) of the whole file: reads any bytes libpcap
 * has not consumed. Only for files opened with lk_pcap_open_hashed. */
int lk_pcap_sha256(struct lk_pcap *r, char hex[65], struct lk_err *e);

/* Next record: 1 = got one (*h, *data valid until the next call), 0 = end of
 * file (including a truncated last record, see lk_pcap_truncated), -1 = a
 * fatal error in the middle of the file (e.g. absurd caplen), e filled. */
int lk_pcap_next(struct lk_pcap *r, const struct pcap_pkthdr **h, const uint8_t **data,
		 struct lk_err *e);

/* Timestamp of the current record in ns (handles nanosecond-resolution files). */
uint64_t lk_pcap_ts_ns(const struct lk_pcap *r, const struct pcap_pkthdr *h);

int lk_pcap_dlt(const struct lk_pcap *r);
uint32_t lk_pcap_snaplen(const struct lk_pcap *r);
const char *lk_pcap_path(const struct lk_pcap *r);
bool lk_pcap_truncated(const struct lk_pcap *r); /* last record cut short */
uint64_t lk_pcap_records(const struct lk_pcap *r); /* records returned so far */
void lk_pcap_close(struct lk_pcap *r);

#endif
