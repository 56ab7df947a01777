/* lib/pcapin.c - capture file reading over libpcap. See pcapin.h. */
#include "lib/pcapin.h"
#include "lib/decode.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Capture bytes reach libpcap through a FILE (fopencookie) served from a ring
 * of RA_NB blocks of RA_BLK bytes, with a second thread:
 *  - without hashing, a reader thread read()s a regular file ahead into the
 *    ring while the parser works (the page-cache copy of read() is about half
 *    the time of a no-database pass over a large file);
 *  - with hashing (--db), the parser read()s each block and a hasher thread
 *    runs SHA-256 over it (about 2 GB/s with SHA-NI, the largest cost of an
 *    ingest) while the parser and SQLite work on it; the two then take about
 *    the same time on a large file.
 * The FILE's read function (ra_read, the parsing thread) hands stdio the
 * blocks in order, and the digest covers exactly the bytes read, in order.
 * Anything but a regular file (a pipe, a device: a read there may block for
 * good, and a reader thread blocked in read() cannot be stopped cleanly) and
 * a failed thread start are read and hashed inline by ra_read. */
#define RA_BLK (256u << 10)
#define RA_NB 8

struct rahead {
	int fd;
	EVP_MD_CTX *md;           /* SHA-256 of the bytes read, or NULL */
	bool md_failed;           /* read by the parser only after the join */
	bool threaded;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *blk[RA_NB];
	size_t len[RA_NB];
	uint64_t filled;          /* blocks read so far */
	uint64_t hashed;          /* blocks hashed so far (hasher thread) */
	uint64_t consumed;        /* blocks handed over and done with (parser) */
	bool eof;                 /* the reader has stopped: end of file or err */
	int err;                  /* errno of a failed read, else 0 */
	bool stop;                /* the parser wants the reader to stop */
	bool have;                /* parser: block `consumed` is being served */
	size_t off;               /* parser: bytes of it served */
};

static void ra_hash(struct rahead *h, const void *p, size_t n)
{
	if (h->md && EVP_DigestUpdate(h->md, p, n) != 1)
		h->md_failed = true;
}

static ssize_t read_retry(int fd, void *buf, size_t n)
{
	ssize_t got;
	do
		got = read(fd, buf, n);
	while (got < 0 && errno == EINTR);
	return got;
}

/* Hasher thread (with md): hash blocks [hashed, filled) in order; on stop,
 * finish those first. */
static void *ra_hasher(void *c)
{
	struct rahead *h = c;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->hashed == h->filled && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->hashed == h->filled)
			break;
		unsigned slot = (unsigned)(h->hashed % RA_NB);
		pthread_mutex_unlock(&h->mu);
		ra_hash(h, h->blk[slot], h->len[slot]);
		pthread_mutex_lock(&h->mu);
		h->hashed++;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Reader thread (without md): read ahead into free blocks. */
static void *ra_reader(void *c)
{
	struct rahead *h = c;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->filled - h->consumed >= RA_NB && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		unsigned slot = (unsigned)(h->filled % RA_NB);
		pthread_mutex_unlock(&h->mu);
		ssize_t got = read_retry(h->fd, h->blk[slot], RA_BLK);
		int err = got < 0 ? errno : 0;
		pthread_mutex_lock(&h->mu);
		if (got <= 0) {
			h->err = err;
			h->eof = true;
			pthread_cond_broadcast(&h->cv);
			break;
		}
		h->len[slot] = (size_t)got;
		h->filled++;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Parser side: make block `consumed` available, releasing the one served so
 * far. 1 = a block, 0 = end of file, -1 = read error (errno set). */
static int ra_next(struct rahead *h)
{
	pthread_mutex_lock(&h->mu);
	if (h->have) {
		h->have = false;
		h->consumed++;
		pthread_cond_broadcast(&h->cv);
	}
	if (h->md) { /* read the block here; the hasher takes it from there */
		while (h->consumed - h->hashed >= RA_NB) /* its slot is still being hashed */
			pthread_cond_wait(&h->cv, &h->mu);
		pthread_mutex_unlock(&h->mu);
		unsigned slot = (unsigned)(h->consumed % RA_NB);
		ssize_t got = read_retry(h->fd, h->blk[slot], RA_BLK);
		if (got <= 0)
			return got < 0 ? -1 : 0;
		h->len[slot] = (size_t)got;
		pthread_mutex_lock(&h->mu);
		h->filled++;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		h->have = true;
		h->off = 0;
		return 1;
	}
	while (h->filled == h->consumed && !h->eof)
		pthread_cond_wait(&h->cv, &h->mu);
	int rc = 1;
	if (h->filled == h->consumed) {
		rc = h->err ? -1 : 0;
		errno = h->err;
	} else {
		h->have = true;
		h->off = 0;
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

static ssize_t ra_read(void *c, char *buf, size_t n)
{
	struct rahead *h = c;
	if (!h->threaded) {
		ssize_t got = read_retry(h->fd, buf, n);
		if (got > 0)
			ra_hash(h, buf, (size_t)got);
		return got;
	}
	unsigned slot = (unsigned)(h->consumed % RA_NB);
	if (!h->have || h->off == h->len[slot]) {
		int rc = ra_next(h);
		if (rc <= 0)
			return rc;
		slot = (unsigned)(h->consumed % RA_NB);
	}
	size_t avail = h->len[slot] - h->off;
	if (n > avail)
		n = avail;
	memcpy(buf, h->blk[slot] + h->off, n);
	h->off += n;
	return (ssize_t)n;
}

static int ra_close(void *c)
{
	(void)c; /* the fd and the thread are the lk_pcap's (ra_free) */
	return 0;
}

/* Stop and join the reader thread. */
static void ra_join(struct rahead *h)
{
	if (!h->threaded)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	h->threaded = false;
}

static void ra_free(struct rahead *h)
{
	if (!h)
		return;
	ra_join(h);
	if (h->fd >= 0)
		close(h->fd);
	EVP_MD_CTX_free(h->md);
	for (int i = 0; i < RA_NB; i++)
		free(h->blk[i]);
	free(h);
}

static struct rahead *ra_new(const char *path, bool hash)
{
	struct rahead *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = h->fd >= 0;
	if (ok && hash) {
		h->md = EVP_MD_CTX_new();
		ok = h->md && EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) == 1;
		if (!ok)
			errno = ENOMEM;
	}
	if (!ok) {
		int err = errno;
		ra_free(h);
		errno = err;
		return NULL;
	}
	struct stat st;
	if (fstat(h->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return h; /* inline reading */
	bool blocks = true;
	for (int i = 0; blocks && i < RA_NB; i++)
		blocks = (h->blk[i] = malloc(RA_BLK)) != NULL;
	if (blocks && pthread_mutex_init(&h->mu, NULL) == 0) {
		if (pthread_cond_init(&h->cv, NULL) == 0) {
			h->threaded = pthread_create(&h->th, NULL, h->md ? ra_hasher : ra_reader, h) == 0;
			if (!h->threaded)
				pthread_cond_destroy(&h->cv);
		}
		if (!h->threaded)
			pthread_mutex_destroy(&h->mu);
	}
	return h; /* threaded, or inline when a block or the thread failed */
}

struct lk_pcap {
	struct rahead *ra;
	pcap_t *p;
	FILE *fp;
	char *buf;
	char *path;
	int dlt;
	bool truncated;
	uint64_t records;
};

/* Translate libpcap's open error into our one-line wording. */
static int open_error(struct lk_err *e, const char *path, const char *pe)
{
	if (strstr(pe, "unknown file format"))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: not a pcap or pcapng capture (unknown file format)", path);
	if (strstr(pe, "truncated") || strstr(pe, "file header"))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: truncated file header (%s)", path, pe);
	return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot read capture: %s", path, pe);
}

static int open_any(const char *path, struct lk_pcap **out, bool hash, struct lk_err *e)
{
	*out = NULL;
	struct stat st;
	if (stat(path, &st) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: is a directory, not a capture file", path);
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: empty file (no capture header)", path);
	struct lk_pcap *r = calloc(1, sizeof *r);
	if (!r)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	r->path = strdup(path);
	if (r->path) {
		r->ra = ra_new(path, hash);
		if (r->ra) {
			cookie_io_functions_t io = {.read = ra_read, .close = ra_close};
			r->fp = fopencookie(r->ra, "r", io);
		}
	}
	if (!r->fp || !r->path) {
		int err = errno;
		lk_pcap_close(r);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(err));
	}
	/* stdio's buffer: one read-ahead block (a read returns at most one);
	 * only this thread uses the FILE, so skip stdio's per-call locking */
	r->buf = malloc(RA_BLK);
	if (r->buf)
		setvbuf(r->fp, r->buf, _IOFBF, RA_BLK);
	__fsetlocking(r->fp, FSETLOCKING_BYCALLER);
	char eb[PCAP_ERRBUF_SIZE] = "";
	r->p = pcap_fopen_offline_with_tstamp_precision(r->fp, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!r->p) {
		lk_pcap_close(r);
		return open_error(e, path, eb);
	}
	r->fp = NULL; /* owned by pcap now */
	r->dlt = pcap_datalink(r->p);
	if (!lk_dlt_supported(r->dlt)) {
		const char *n = pcap_datalink_val_to_name(r->dlt);
		lk_errf(e, LK_EXIT_RUNTIME, "%s: unsupported link type %d (%s); supported: Ethernet, "
			"Linux cooked v1/v2, raw IPv4/IPv6, BSD loopback", path, r->dlt, n ? n : "unknown");
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
		r->records++;
		return 1;
	}
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	const char *pe = pcap_geterr(r->p);
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
	struct rahead *h = r->ra;
	if (!h || !h->md)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: SHA-256 not available", r->path);
	/* the bytes libpcap has not consumed: read (and hashed) to the end */
	int rc;
	if (h->threaded) {
		while ((rc = ra_next(h)) > 0)
			;
	} else {
		char buf[65536];
		ssize_t n;
		while ((n = ra_read(h, buf, sizeof buf)) > 0)
			;
		rc = n < 0 ? -1 : 0;
	}
	if (rc < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", r->path, strerror(errno));
	ra_join(h); /* the hasher has hashed the last block */
	unsigned char md[32];
	unsigned len = 0;
	if (h->md_failed || EVP_DigestFinal_ex(h->md, md, &len) != 1 || len != 32)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: SHA-256 failed", r->path);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

uint64_t lk_pcap_ts_ns(const struct lk_pcap *r, const struct pcap_pkthdr *h)
{
	(void)r; /* opened with nanosecond precision: tv_usec holds ns */
	return (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
}

int lk_pcap_dlt(const struct lk_pcap *r) { return r->dlt; }
uint32_t lk_pcap_snaplen(const struct lk_pcap *r) { return (uint32_t)pcap_snapshot(r->p); }
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
	ra_free(r->ra); /* after the FILE: stdio may read until fclose */
	free(r->buf);
	free(r->path);
	free(r);
}
