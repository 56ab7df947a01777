/* lib/pcapin.c - capture reading over libpcap. See pcapin.h. */
#include "lib/pcapin.h"
#include "lib/decode.h"
#include "lib/pcapng.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

/* stdio's buffer: the size of one read-ahead block */
#define STDIO_BUF (256u << 10)
/* Our reader: the largest pcap record or pcapng block it reads itself, and
 * the captured length libpcap allows a pcapng packet once lib/pcapng has
 * set every interface's snapshot length to "no limit" (the maximum for the
 * supported link types; the file's own header says so at open). */
#define OWN_MAX_BLOCK (1u << 20)
/* libpcap's MAXIMUM_SNAPLEN: the largest captured length its file readers
 * take for the link types we read (only DBUS, EBHSCR and USBPCAP allow more;
 * we read none of them). pcap_snapshot() reports a pcap file header's
 * snapshot length as written, even when it is larger; a record over this is
 * libpcap's error ("invalid packet capture length"), so ours to hand over. */
#define LIBPCAP_MAX_CAPLEN 262144

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 1u
#define BT_EPB 6u

struct own_if {
	uint16_t lt;
	bool nsec;                /* time stamps in ns, else in us */
};

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
	uint64_t bytes;           /* handed to libpcap or read by our reader so far */
	bool truncated;
	uint64_t records;
	/* our own reader (until libpcap takes over: p != NULL) */
	bool own, is_ng, swap, nsec;
	uint32_t limit;           /* the largest captured length libpcap takes as it is
				   * (at most LIBPCAP_MAX_CAPLEN) */
	int64_t own_snaplen;      /* lk_pcap_snaplen's answer */
	const uint8_t *cp;        /* the current chunk's bytes not used yet */
	size_t cn;
	uint8_t *as;              /* a record that straddles chunks, assembled */
	size_t alen, acap;
	uint8_t *sect;            /* pcap: the file header; pcapng: the section's SHB and IDBs */
	size_t slen, scap;
	uint8_t *fhead;           /* pcapng: the file's first SHB and IDB */
	size_t nfhead;
	bool later;               /* pcapng: in a section after the first */
	struct own_if *ifs;       /* pcapng: the section's interfaces */
	uint32_t nif, capif;
	bool own_mixed;
	uint64_t own_records;
	uint64_t ts_unit, ts_base, ts_sec; /* pcapng: the last second seen (t units) */
	struct pcap_pkthdr hdr;
	/* what libpcap reads before the rest of the input (when it takes over) */
	uint8_t *pre;
	size_t npre, pre_off;
};

static size_t pre_take(struct lk_pcap *r, char *buf, size_t n)
{
	size_t k = r->npre - r->pre_off;
	if (k > n)
		k = n;
	memcpy(buf, r->pre + r->pre_off, k);
	r->pre_off += k;
	return k;
}

/* libpcap reads the capture through this: the input's plain bytes (after
 * the ones our reader hands over), walked (and its interface blocks
 * edited) by lib/pcapng on the way; a block header cut at the end of a read
 * is held back for the next one. */
static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	struct lk_pcap *r = c;
	if (n <= sizeof r->carry) { /* stdio's buffer is larger: not reached */
		if (r->pre_off < r->npre)
			return (ssize_t)pre_take(r, buf, n);
		return lk_instream_read(r->in, buf, n);
	}
	size_t have = r->ncarry;
	memcpy(buf, r->carry, have);
	r->ncarry = 0;
	for (;;) {
		ssize_t got = r->pre_off < r->npre ? (ssize_t)pre_take(r, buf + have, n - have)
						   : lk_instream_read(r->in, buf + have, n - have);
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

static int unsupported(struct lk_err *e, const char *path, int dlt)
{
	const char *n = pcap_datalink_val_to_name(dlt);
	return lk_errf(e, LK_EXIT_RUNTIME, "%s: unsupported link type %d (%s); supported: %s", path,
		       dlt, n ? n : "unknown", lk_dlt_list());
}

/* libpcap reads from here on: the bytes r->pre (our reader's file or
 * section header and the record it stopped at), then the rest of the
 * input. from_start: nothing was returned yet (libpcap's open errors are
 * the capture's). */
static int start_libpcap(struct lk_pcap *r, bool from_start, struct lk_err *e)
{
	r->own = false;
	r->ng = lk_ngwalk_new();
	if (!r->buf)
		r->buf = malloc(STDIO_BUF);
	if (!r->ng || !r->buf)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", r->path);
	cookie_io_functions_t io = {.read = cookie_read, .close = cookie_close};
	r->fp = fopencookie(r, "r", io);
	if (!r->fp) {
		int err = errno;
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", r->path, strerror(err));
	}
	/* only this thread uses the FILE: skip stdio's per-call locking */
	setvbuf(r->fp, r->buf, _IOFBF, STDIO_BUF);
	__fsetlocking(r->fp, FSETLOCKING_BYCALLER);
	char eb[PCAP_ERRBUF_SIZE] = "";
	r->p = pcap_fopen_offline_with_tstamp_precision(r->fp, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!r->p) {
		if (from_start)
			return open_error(e, r, eb);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot read capture after record %llu: %s",
			       r->path, (unsigned long long)r->records, eb);
	}
	r->fp = NULL; /* owned by pcap now */
	r->ng_on = lk_ngwalk_active(r->ng);
	if (from_start) {
		r->rec_dlt = r->dlt = pcap_datalink(r->p);
		r->first_lt = lk_ngwalk_first_linktype(r->ng);
		if (!lk_dlt_supported(r->dlt))
			return unsupported(e, r->path, r->dlt);
	} else {
		r->rec_dlt = r->dlt; /* first_lt stays the file's */
	}
	return 0;
}

/* ---- our own reader ---- */

static inline uint32_t rd32(const struct lk_pcap *r, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return r->swap ? __builtin_bswap32(v) : v;
}

static inline uint16_t rd16(const struct lk_pcap *r, const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return r->swap ? __builtin_bswap16(v) : v;
}

static bool grow(uint8_t **b, size_t *cap, size_t n)
{
	if (*cap >= n)
		return true;
	size_t c = *cap ? *cap : 4096;
	while (c < n)
		c *= 2;
	uint8_t *nb = realloc(*b, c);
	if (!nb)
		return false;
	*b = nb;
	*cap = c;
	return true;
}

/* n bytes from the current position in one piece at *p: 1; 0 = the input
 * ends first, -1 = it failed (the bytes there are then all in r->as), -2 =
 * out of memory. */
static int need_slow(struct lk_pcap *r, size_t n, const uint8_t **p)
{
	if (!r->alen) {
		if (!r->cn) {
			ssize_t got = lk_instream_chunk(r->in, &r->cp);
			if (got <= 0)
				return (int)got;
			r->cn = (size_t)got;
		}
		if (r->cn >= n) {
			*p = r->cp;
			return 1;
		}
	}
	if (!grow(&r->as, &r->acap, n))
		return -2;
	for (;;) {
		size_t k = n - r->alen < r->cn ? n - r->alen : r->cn;
		memcpy(r->as + r->alen, r->cp, k);
		r->alen += k;
		r->cp += k;
		r->cn -= k;
		if (r->alen == n)
			break;
		ssize_t got = lk_instream_chunk(r->in, &r->cp);
		if (got <= 0)
			return (int)got;
		r->cn = (size_t)got;
	}
	*p = r->as;
	return 1;
}

static inline int need(struct lk_pcap *r, size_t n, const uint8_t **p)
{
	if (!r->alen && r->cn >= n) {
		*p = r->cp;
		return 1;
	}
	return need_slow(r, n, p);
}

/* The n bytes at the position (those need gave) are used. */
static inline void consume(struct lk_pcap *r, size_t n)
{
	if (r->alen) {
		r->alen = 0;
	} else {
		r->cp += n;
		r->cn -= n;
	}
	r->bytes += n;
}

/* Hand over to libpcap: it reads the file or section header, then the
 * bytes from the position on. */
static int hand_over(struct lk_pcap *r, bool from_start, struct lk_err *e)
{
	/* a later pcapng section: the file's first SHB and IDB first, so that
	 * libpcap and lib/pcapng take the first interface's link type as the
	 * file's, as they did when they read it from the start */
	size_t f = r->later ? r->nfhead : 0, n = f + r->slen + r->alen + r->cn;
	r->pre = malloc(n ? n : 1);
	if (!r->pre)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", r->path);
	if (f)
		memcpy(r->pre, r->fhead, f);
	if (r->slen)
		memcpy(r->pre + f, r->sect, r->slen);
	if (r->alen)
		memcpy(r->pre + f + r->slen, r->as, r->alen);
	if (r->cn)
		memcpy(r->pre + f + r->slen + r->alen, r->cp, r->cn);
	r->npre = n;
	r->pre_off = 0;
	r->alen = r->cn = 0;
	return start_libpcap(r, from_start, e);
}

/* Keep the n bytes at p as (part of) the section header libpcap would need. */
static bool keep(struct lk_pcap *r, const uint8_t *p, size_t n, bool first)
{
	if (first)
		r->slen = 0;
	if (!grow(&r->sect, &r->scap, r->slen + n))
		return false;
	memcpy(r->sect + r->slen, p, n);
	r->slen += n;
	return true;
}

/* libpcap's link type and snapshot length of a file that starts with the
 * n bytes at h (a file header, or an SHB and IDB): false when libpcap does
 * not open it. */
static bool header_says(const uint8_t *h, size_t n, int *dlt, int *snap)
{
	FILE *f = fmemopen((void *)h, n, "r");
	if (!f)
		return false;
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!p) {
		fclose(f);
		return false;
	}
	*dlt = pcap_datalink(p);
	*snap = pcap_snapshot(p);
	pcap_close(p);
	return true;
}

/* Link types whose records libpcap rewrites when the file is in the other
 * byte order than this machine (pcap_post_process): left to libpcap then. */
static bool byte_order_matters(int dlt)
{
	return dlt == 113 || dlt == 276 || dlt == 189 || dlt == 220 || dlt == 239;
}

/* An IDB of len bytes at p that our reader understands: add it. */
static bool own_idb(struct lk_pcap *r, const uint8_t *p, uint32_t len)
{
	if (len < 20)
		return false;
	uint16_t lt = rd16(r, p + 8);
	bool nsec = false, saw_res = false;
	size_t off = 16, end = len - 4;
	while (off != end) {
		if (end - off < 4)
			return false;
		uint16_t code = rd16(r, p + off), olen = rd16(r, p + off + 2);
		off += 4;
		size_t pad = ((size_t)olen + 3) & ~(size_t)3;
		if (end - off < pad)
			return false;
		if (code == 0) {
			if (olen)
				return false;
			break;
		}
		if (code == 9) { /* if_tsresol: 10^-6 or 10^-9 */
			if (olen != 1 || saw_res || (p[off] != 6 && p[off] != 9))
				return false;
			saw_res = true;
			nsec = p[off] == 9;
		} else if (code == 14) { /* if_tsoffset */
			return false;
		}
		off += pad;
	}
	if (r->nif == r->capif) {
		uint32_t c = r->capif ? 2 * r->capif : 8;
		struct own_if *ni = realloc(r->ifs, c * sizeof *ni);
		if (!ni)
			return false;
		r->ifs = ni;
		r->capif = c;
	}
	r->ifs[r->nif++] = (struct own_if){lt, nsec};
	if (r->first_lt < 0)
		r->first_lt = lt;
	else if (lt != r->first_lt)
		r->own_mixed = true;
	return true;
}

/* An SHB of len bytes at p in the byte order r->swap says. */
static bool own_shb(struct lk_pcap *r, const uint8_t *p, uint32_t len)
{
	return len >= 28 && rd32(r, p + 8) == 0x1A2B3C4Du && rd16(r, p + 12) == 1 &&
	       (rd16(r, p + 14) == 0 || rd16(r, p + 14) == 2);
}

/* A pcapng block's first 8 bytes said type and len: read it whole, with a
 * trailer that agrees. 1, or 0 = not for our reader, -2 out of memory. */
static int own_block(struct lk_pcap *r, uint32_t len, const uint8_t **p)
{
	if (len < 12 || len % 4 || len > OWN_MAX_BLOCK)
		return 0;
	int rc = need(r, len, p);
	if (rc < -1)
		return rc;
	return rc == 1 && rd32(r, *p + len - 4) == len;
}

/* Start our reader on the file's header. 1 = ours, 0 = libpcap's from the
 * start, -1 = failed (out of memory). */
static int own_open(struct lk_pcap *r, struct lk_err *e)
{
	static const uint32_t host_one = 1;
	bool host_be = *(const uint8_t *)&host_one == 0;
	const uint8_t *p;
	int rc = need(r, 24, &p), dlt, snap;
	if (rc == -2)
		goto oom;
	if (rc != 1)
		return 0;
	uint32_t m;
	memcpy(&m, p, 4);
	if (m == 0xa1b2c3d4u || m == 0xa1b23c4du || __builtin_bswap32(m) == 0xa1b2c3d4u ||
	    __builtin_bswap32(m) == 0xa1b23c4du) {
		r->swap = !(m == 0xa1b2c3d4u || m == 0xa1b23c4du);
		r->nsec = (r->swap ? __builtin_bswap32(m) : m) == 0xa1b23c4du;
		if (rd16(r, p + 4) != 2 || rd16(r, p + 6) != 4)
			return 0;
		if (!header_says(p, 24, &dlt, &snap) || !lk_dlt_supported(dlt) ||
		    (r->swap && byte_order_matters(dlt)) || snap <= 0)
			return 0;
		if (!keep(r, p, 24, true))
			goto oom;
		consume(r, 24);
		r->dlt = r->rec_dlt = dlt;
		r->limit = snap < LIBPCAP_MAX_CAPLEN ? (uint32_t)snap : LIBPCAP_MAX_CAPLEN;
		r->own_snaplen = snap;
		return 1;
	}
	if (m != BT_SHB)
		return 0;
	static const uint8_t bom_be[4] = {0x1A, 0x2B, 0x3C, 0x4D};
	bool be = !memcmp(p + 8, bom_be, 4);
	r->swap = be != host_be;
	r->is_ng = true;
	uint32_t len = rd32(r, p + 4);
	if ((rc = own_block(r, len, &p)) < 0)
		goto oom;
	if (!rc || !own_shb(r, p, len))
		return 0;
	if (!keep(r, p, len, true))
		goto oom;
	consume(r, len);
	if ((rc = need(r, 8, &p)) == -2)
		goto oom;
	if (rc != 1 || rd32(r, p) != BT_IDB)
		return 0;
	len = rd32(r, p + 4);
	if ((rc = own_block(r, len, &p)) < 0)
		goto oom;
	if (!rc || !own_idb(r, p, len))
		return 0;
	if (!keep(r, p, len, false))
		goto oom;
	consume(r, len);
	/* what libpcap says with lib/pcapng's edit: no snapshot limit */
	uint32_t stored = rd32(r, r->sect + r->slen - len + 12);
	if (!(r->fhead = malloc(r->slen)))
		goto oom;
	r->nfhead = r->slen;
	memcpy(r->fhead, r->sect, r->slen);
	memset(r->fhead + r->slen - len + 12, 0, 4);
	bool ok = header_says(r->fhead, r->slen, &dlt, &snap);
	memcpy(r->fhead, r->sect, r->slen); /* as stored (lib/pcapng edits it) */
	if (!ok || !lk_dlt_supported(dlt) || (r->swap && byte_order_matters(dlt)) ||
	    snap <= 0)
		return 0;
	r->dlt = r->rec_dlt = dlt;
	r->limit = snap < LIBPCAP_MAX_CAPLEN ? (uint32_t)snap : LIBPCAP_MAX_CAPLEN;
	r->own_snaplen = stored ? stored : (int64_t)snap;
	return 1;
oom:
	return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", r->path);
}

/* Our reader's next record: 1, 0 at the end of the input, 2 = libpcap's
 * turn (from the position), -2 out of memory. */
static int own_next_pcap(struct lk_pcap *r, const uint8_t **data)
{
	const uint8_t *p;
	int rc = need(r, 16, &p);
	if (rc != 1)
		return rc == 0 && !r->alen ? 0 : rc == -2 ? -2 : 2;
	uint32_t caplen = rd32(r, p + 8);
	if (caplen > r->limit)
		return 2;
	if ((rc = need(r, 16 + (size_t)caplen, &p)) != 1)
		return rc == -2 ? -2 : 2;
	/* as libpcap 1.10: seconds and fraction are signed 32-bit values in
	 * this machine's byte order, unsigned ones byte-swapped */
	uint32_t sec = rd32(r, p), frac = rd32(r, p + 4);
	r->hdr.ts.tv_sec = r->swap ? (time_t)sec : (time_t)(int32_t)sec;
	suseconds_t f = r->swap ? (suseconds_t)frac : (suseconds_t)(int32_t)frac;
	r->hdr.ts.tv_usec = r->nsec ? f : f * 1000;
	r->hdr.caplen = caplen;
	r->hdr.len = rd32(r, p + 12);
	*data = p + 16;
	consume(r, 16 + (size_t)caplen);
	return 1;
}

static int own_next_ng(struct lk_pcap *r, const uint8_t **data)
{
	for (;;) {
		const uint8_t *p;
		int rc = need(r, 8, &p);
		if (rc != 1)
			return rc == 0 && !r->alen ? 0 : rc == -2 ? -2 : 2;
		uint32_t type = rd32(r, p), len = rd32(r, p + 4);
		if ((rc = own_block(r, len, &p)) != 1)
			return rc == -2 ? -2 : 2;
		if (type == BT_EPB) {
			if (len < 32)
				return 2;
			uint32_t id = rd32(r, p + 8), caplen = rd32(r, p + 20);
			if (id >= r->nif || caplen > len - 32 || caplen > r->limit)
				return 2;
			uint64_t t = (uint64_t)rd32(r, p + 12) << 32 | rd32(r, p + 16), sec, frac;
			uint64_t unit = r->ifs[id].nsec ? 1000000000u : 1000000u;
			if (unit == r->ts_unit && t - r->ts_base < unit) {
				/* the second of the record before: no division */
				sec = r->ts_sec;
				frac = t - r->ts_base;
			} else {
				sec = t / unit;
				frac = t % unit;
				r->ts_unit = unit;
				r->ts_sec = sec;
				r->ts_base = t - frac;
			}
			if (unit == 1000000u)
				frac *= 1000u;
			r->hdr.ts.tv_sec = (time_t)sec;
			r->hdr.ts.tv_usec = (int)frac;
			r->hdr.caplen = caplen;
			r->hdr.len = rd32(r, p + 24);
			int lt = r->ifs[id].lt;
			r->rec_dlt = lt == r->first_lt ? r->dlt : lt;
			*data = p + 28;
			consume(r, len);
			return 1;
		}
		if (type == BT_IDB) {
			/* libpcap compares a later interface's link type (as
			 * lib/pcapng edits it: the first's) with its own, the
			 * first's as a DLT_ value: equal only when they agree */
			if (r->dlt != r->first_lt || !own_idb(r, p, len))
				return 2;
		} else if (type == BT_SHB) {
			if (!own_shb(r, p, len))
				return 2; /* the other byte order too */
			r->nif = 0;
			r->later = true;
		} else {
			return 2;
		}
		if (!keep(r, p, len, type == BT_SHB))
			return -2;
		consume(r, len);
	}
}

static int open_any(const char *path, const struct lk_pcap_opts *o, struct lk_pcap **out,
		    struct lk_err *e)
{
	*out = NULL;
	struct lk_pcap *r = lk_zalloc_lines(sizeof *r);
	if (!r)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	r->path = strdup(path);
	r->first_lt = -1;
	if (!r->path) {
		lk_pcap_close(r);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	}
	if (lk_instream_open(path, o->hash, &r->in, e) < 0) {
		lk_pcap_close(r);
		return -1;
	}
	if (o->max_piece)
		lk_instream_max_piece(r->in, o->max_piece);
	int rc = o->libpcap_only ? 0 : own_open(r, e);
	if (rc == 1)
		r->own = true;
	else if (rc < 0 || (r->first_lt = -1, hand_over(r, true, e) < 0)) {
		lk_pcap_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

static int libpcap_next(struct lk_pcap *r, const struct pcap_pkthdr **h, const uint8_t **data,
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

int lk_pcap_next(struct lk_pcap *r, const struct pcap_pkthdr **h, const uint8_t **data,
		 struct lk_err *e)
{
	if (r->own) {
		int rc = r->is_ng ? own_next_ng(r, data) : own_next_pcap(r, data);
		if (rc == 1) {
			*h = &r->hdr;
			r->own_records++;
			if (++r->records == 4096 && r->bytes / 4096 >= 512)
				lk_instream_readahead(r->in);
			return 1;
		}
		if (rc == 0)
			return 0;
		if (rc == -2)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", r->path);
		if (hand_over(r, false, e) < 0)
			return -1;
	}
	return libpcap_next(r, h, data, e);
}

int lk_pcap_open(const char *path, struct lk_pcap **out, struct lk_err *e)
{
	const struct lk_pcap_opts o = {.hash = false};
	return open_any(path, &o, out, e);
}

int lk_pcap_open_hashed(const char *path, struct lk_pcap **out, struct lk_err *e)
{
	const struct lk_pcap_opts o = {.hash = true};
	return open_any(path, &o, out, e);
}

int lk_pcap_open_opts(const char *path, const struct lk_pcap_opts *o, struct lk_pcap **out,
		      struct lk_err *e)
{
	return open_any(path, o, out, e);
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
	if (r->own_snaplen)
		return (uint32_t)r->own_snaplen; /* our reader opened the file */
	/* pcapng: the walker gave libpcap "no limit"; the file says */
	int64_t s = r->ng_on ? lk_ngwalk_first_snaplen(r->ng) : -1;
	return s > 0 ? (uint32_t)s : (uint32_t)pcap_snapshot(r->p);
}

int lk_pcap_dlt(const struct lk_pcap *r) { return r->dlt; }
int lk_pcap_rec_dlt(const struct lk_pcap *r) { return r->rec_dlt; }
struct lk_instream *lk_pcap_input(struct lk_pcap *r) { return r->in; }
enum lk_zkind lk_pcap_compression(const struct lk_pcap *r) { return lk_instream_compression(r->in); }
bool lk_pcap_mixed_links(const struct lk_pcap *r)
{
	return r->own_mixed || (r->ng && lk_ngwalk_mixed(r->ng));
}
const char *lk_pcap_path(const struct lk_pcap *r) { return r->path; }
bool lk_pcap_truncated(const struct lk_pcap *r) { return r->truncated; }
uint64_t lk_pcap_records(const struct lk_pcap *r) { return r->records; }
uint64_t lk_pcap_own_records(const struct lk_pcap *r) { return r->own_records; }
bool lk_pcap_via_libpcap(const struct lk_pcap *r) { return r->p != NULL; }

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
	free(r->as);
	free(r->sect);
	free(r->fhead);
	free(r->ifs);
	free(r->pre);
	free(r->path);
	free(r);
}
