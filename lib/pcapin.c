/* lib/pcapin.c - capture reading over libpcap. See pcapin.h. */
#include "lib/pcapin.h"
#include "lib/decode.h"
#include "lib/pcapng.h"

#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

/* stdio's buffer: the size of one read-ahead block */
#define STDIO_BUF (256u << 10)

struct lk_pcap {
	struct lk_instream *in;
	struct lk_ngwalk *ng;
	pcap_t *p;
	FILE *fp;
	char *buf;
	char *path;
	int dlt;                  /* libpcap's (first interface) */
	int first_lt;             /* the first interface's link type as stored, pcapng */
	int rec_dlt;              /* of the last record */
	bool ng_on;
	uint8_t carry[16];        /* a block header held back for the next read */
	size_t ncarry;
	uint64_t bytes;           /* handed to libpcap so far */
	bool truncated;
	uint64_t records;
};

/* libpcap reads the capture through this: the input's plain bytes, walked
 * (and its interface blocks edited) by lib/pcapng on the way; a block
 * header cut at the end of a read is held back for the next one. */
static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	struct lk_pcap *r = c;
	if (n <= sizeof r->carry) /* stdio's buffer is larger: not reached */
		return lk_instream_read(r->in, buf, n);
	size_t have = r->ncarry;
	memcpy(buf, r->carry, have);
	r->ncarry = 0;
	for (;;) {
		ssize_t got = lk_instream_read(r->in, buf + have, n - have);
		if (got < 0)
			return -1;
		have += (size_t)got;
		size_t done = lk_ngwalk_feed(r->ng, (uint8_t *)buf, have, got == 0);
		if (done || got == 0) {
			r->ncarry = have - done;
			memcpy(r->carry, buf + done, r->ncarry);
			r->bytes += done;
			return (ssize_t)done;
		}
	}
}

static int cookie_close(void *c)
{
	(void)c; /* the input is the lk_pcap's (lk_pcap_close) */
	return 0;
}

/* Translate libpcap's open error into our one-line wording. */
static int open_error(struct lk_err *e, const struct lk_pcap *r, const char *pe)
{
	const char *why = lk_instream_why(r->in);
	if (why)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", r->path, why);
	const char *z = lk_zkind_name(lk_instream_compression(r->in));
	char in[64] = "";
	if (z)
		snprintf(in, sizeof in, " (inside the %s compression)", z);
	if (strstr(pe, "unknown file format"))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: not a pcap or pcapng capture%s (unknown file format)",
			       r->path, in);
	if (strstr(pe, "truncated") || strstr(pe, "file header"))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: truncated file header%s (%s)", r->path, in, pe);
	return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot read capture%s: %s", r->path, in, pe);
}

static int open_any(const char *path, struct lk_pcap **out, bool hash, struct lk_err *e)
{
	*out = NULL;
	struct lk_pcap *r = calloc(1, sizeof *r);
	if (!r)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	r->path = strdup(path);
	r->ng = lk_ngwalk_new();
	r->buf = malloc(STDIO_BUF);
	if (!r->path || !r->ng || !r->buf) {
		lk_pcap_close(r);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	}
	if (lk_instream_open(path, hash, &r->in, e) < 0) {
		lk_pcap_close(r);
		return -1;
	}
	cookie_io_functions_t io = {.read = cookie_read, .close = cookie_close};
	r->fp = fopencookie(r, "r", io);
	if (!r->fp) {
		int err = errno;
		lk_pcap_close(r);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(err));
	}
	/* only this thread uses the FILE: skip stdio's per-call locking */
	setvbuf(r->fp, r->buf, _IOFBF, STDIO_BUF);
	__fsetlocking(r->fp, FSETLOCKING_BYCALLER);
	char eb[PCAP_ERRBUF_SIZE] = "";
	r->p = pcap_fopen_offline_with_tstamp_precision(r->fp, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!r->p) {
		open_error(e, r, eb);
		lk_pcap_close(r);
		return -1;
	}
	r->fp = NULL; /* owned by pcap now */
	r->rec_dlt = r->dlt = pcap_datalink(r->p);
	r->ng_on = lk_ngwalk_active(r->ng);
	r->first_lt = lk_ngwalk_first_linktype(r->ng);
	if (!lk_dlt_supported(r->dlt)) {
		const char *n = pcap_datalink_val_to_name(r->dlt);
		lk_errf(e, LK_EXIT_RUNTIME, "%s: unsupported link type %d (%s); supported: %s", path,
			r->dlt, n ? n : "unknown", lk_dlt_list());
		lk_pcap_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

int lk_pcap_next(struct lk_pcap *r, const struct pcap_pkthdr **h, const uint8_t **data,
		 struct lk_err *e)
{
	struct pcap_pkthdr *hh;
	const u_char *d;
	int rc = pcap_next_ex(r->p, &hh, &d);
	if (rc == 1) {
		*h = hh;
		*data = d;
		/* records of 512 bytes or more on average (full frames): the
		 * page-cache copy is worth another thread; with short records,
		 * measured, it is not (and hurts when the other core is busy) */
		if (++r->records == 4096 && r->bytes / 4096 >= 512)
			lk_instream_readahead(r->in);
		if (r->ng_on) {
			uint32_t len;
			int lt = lk_ngwalk_take(r->ng, &len);
			r->rec_dlt = lt < 0 || lt == r->first_lt ? r->dlt : lt;
			if (len)
				hh->len = len;
		}
		return 1;
	}
	if (rc != PCAP_ERROR_BREAK && lk_instream_compression(r->in) != LK_Z_NONE) {
		/* a bad record from a decompressor is most likely corrupt
		 * compressed data whose checksum comes at the end of the member
		 * or block: look there (up to 256 MiB on) */
		char sink[65536];
		for (int i = 0; i < 4096 && lk_instream_read(r->in, sink, sizeof sink) > 0; i++)
			;
	}
	const char *why = lk_instream_why(r->in);
	if (why)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s (after record %llu)", r->path, why,
			       (unsigned long long)r->records);
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	const char *pe = pcap_geterr(r->p);
	if (lk_ngwalk_order_changed(r->ng))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: a pcapng section after record %llu is in the "
			       "other byte order than the first; libpcap cannot read that (rewrite the "
			       "file in one byte order: editcap -F pcapng %s OUT.pcapng)", r->path,
			       (unsigned long long)r->records, r->path);
	if (strstr(pe, "truncated")) {
		r->truncated = true;
		return 0;
	}
	return lk_errf(e, LK_EXIT_RUNTIME, "%s: corrupt record after record %llu: %s", r->path,
		       (unsigned long long)r->records, pe);
}

int lk_pcap_open(const char *path, struct lk_pcap **out, struct lk_err *e)
{
	return open_any(path, out, false, e);
}

int lk_pcap_open_hashed(const char *path, struct lk_pcap **out, struct lk_err *e)
{
	return open_any(path, out, true, e);
}

int lk_pcap_sha256(struct lk_pcap *r, char hex[65], struct lk_err *e)
{
	return lk_instream_sha256(r->in, hex, e);
}

uint64_t lk_pcap_ts_ns(const struct lk_pcap *r, const struct pcap_pkthdr *h)
{
	(void)r; /* opened with nanosecond precision: tv_usec holds ns */
	return (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
}

uint32_t lk_pcap_snaplen(const struct lk_pcap *r)
{
	/* pcapng: the walker gave libpcap "no limit"; the file says */
	int64_t s = r->ng_on ? lk_ngwalk_first_snaplen(r->ng) : -1;
	return s > 0 ? (uint32_t)s : (uint32_t)pcap_snapshot(r->p);
}

int lk_pcap_dlt(const struct lk_pcap *r) { return r->dlt; }
int lk_pcap_rec_dlt(const struct lk_pcap *r) { return r->rec_dlt; }
enum lk_zkind lk_pcap_compression(const struct lk_pcap *r) { return lk_instream_compression(r->in); }
bool lk_pcap_mixed_links(const struct lk_pcap *r) { return lk_ngwalk_mixed(r->ng); }
const char *lk_pcap_path(const struct lk_pcap *r) { return r->path; }
bool lk_pcap_truncated(const struct lk_pcap *r) { return r->truncated; }
uint64_t lk_pcap_records(const struct lk_pcap *r) { return r->records; }

void lk_pcap_close(struct lk_pcap *r)
{
	if (!r)
		return;
	if (r->p)
		pcap_close(r->p); /* closes the FILE */
	else if (r->fp)
		fclose(r->fp);
	lk_instream_close(r->in); /* after the FILE: stdio may read until fclose */
	lk_ngwalk_free(r->ng);
	free(r->buf);
	free(r->path);
	free(r);
}
