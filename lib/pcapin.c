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

/* A FILE whose reads feed a SHA-256 (fopencookie), hashed in a second thread.
 *
 * stdio fills its 1 MiB buffer through hf_read; the bytes just read are handed
 * to a hasher thread, which runs SHA-256 over them while libpcap parses the
 * same (unchanging) buffer. The next hf_read first waits for that hash to end,
 * since it overwrites the buffer: the digest covers exactly the bytes read, in
 * order (pipes included), and hashing (about 2 GB/s with SHA-NI, the largest
 * cost of an ingest) runs beside the parsing and SQLite work instead of before
 * it. A read into any other memory (stdio reads a request larger than its
 * buffer straight into the caller's memory) is hashed inline, as is everything
 * when the thread cannot be started. */
struct hashfile {
	int fd;
	EVP_MD_CTX *md;
	const char *stdio_buf; /* the buffer stdio reads into (hashed in the thread) */
	pthread_t th;
	bool threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *job;       /* bytes for the hasher; NULL = idle */
	size_t job_len;
	bool stop;
	bool md_failed;        /* written by the hasher, read after hf_wait */
};

static void *hf_hasher(void *c)
{
	struct hashfile *h = c;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->job && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->job)
			break;
		const char *p = h->job;
		size_t n = h->job_len;
		pthread_mutex_unlock(&h->mu);
		bool ok = EVP_DigestUpdate(h->md, p, n) == 1;
		pthread_mutex_lock(&h->mu);
		if (!ok)
			h->md_failed = true;
		h->job = NULL;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Wait until the hasher is idle (its buffer may then be overwritten). */
static void hf_wait(struct hashfile *h)
{
	if (!h->threaded)
		return;
	pthread_mutex_lock(&h->mu);
	while (h->job)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

static void hf_hash(struct hashfile *h, const char *p, size_t n)
{
	if (h->threaded && p == h->stdio_buf) {
		pthread_mutex_lock(&h->mu);
		h->job = p;
		h->job_len = n;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
	} else if (EVP_DigestUpdate(h->md, p, n) != 1) {
		h->md_failed = true;
	}
}

static ssize_t hf_read(void *c, char *buf, size_t n)
{
	struct hashfile *h = c;
	hf_wait(h);
	ssize_t got;
	do
		got = read(h->fd, buf, n);
	while (got < 0 && errno == EINTR);
	if (got > 0)
		hf_hash(h, buf, (size_t)got);
	return got;
}

static int hf_close(void *c)
{
	struct hashfile *h = c;
	hf_wait(h);
	close(h->fd);
	h->fd = -1;
	return 0;
}

static struct hashfile *hf_new(const char *path)
{
	struct hashfile *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->fd = open(path, O_RDONLY | O_CLOEXEC);
	h->md = EVP_MD_CTX_new();
	if (h->fd < 0 || !h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		int err = errno;
		if (h->fd >= 0)
			close(h->fd);
		EVP_MD_CTX_free(h->md);
		free(h);
		errno = err ? err : ENOMEM;
		return NULL;
	}
	if (pthread_mutex_init(&h->mu, NULL) == 0) {
		if (pthread_cond_init(&h->cv, NULL) == 0) {
			h->threaded = pthread_create(&h->th, NULL, hf_hasher, h) == 0;
			if (!h->threaded)
				pthread_cond_destroy(&h->cv);
		}
		if (!h->threaded)
			pthread_mutex_destroy(&h->mu);
	}
	return h;
}

/* Stop and join the hasher (after its last job). */
static void hf_join(struct hashfile *h)
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

static void hf_free(struct hashfile *h)
{
	if (!h)
		return;
	hf_join(h);
	if (h->fd >= 0) /* no FILE took it over */
		close(h->fd);
	EVP_MD_CTX_free(h->md);
	free(h);
}

struct lk_pcap {
	struct hashfile *hf;
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
	if (hash && r->path) {
		r->hf = hf_new(path);
		if (r->hf) {
			cookie_io_functions_t io = {.read = hf_read, .close = hf_close};
			r->fp = fopencookie(r->hf, "r", io);
		}
	} else if (r->path) {
		r->fp = fopen(path, "rb");
	}
	if (!r->fp || !r->path) {
		int err = errno;
		lk_pcap_close(r);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(err));
	}
	/* a large stdio buffer: libpcap reads record by record through it;
	 * only this thread uses the FILE, so skip stdio's per-call locking */
	r->buf = malloc(1 << 20);
	if (r->buf) {
		setvbuf(r->fp, r->buf, _IOFBF, 1 << 20);
		if (r->hf)
			r->hf->stdio_buf = r->buf;
	}
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
	struct hashfile *h = r->hf;
	if (!h || !h->md || h->fd < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: SHA-256 not available", r->path);
	/* the bytes libpcap has not consumed (hashed inline: not stdio's buffer) */
	char buf[65536];
	ssize_t n;
	while ((n = hf_read(h, buf, sizeof buf)) > 0)
		;
	if (n < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", r->path, strerror(errno));
	hf_wait(h);
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
		pcap_close(r->p); /* closes the FILE, and so the cookie's fd */
	else if (r->fp)
		fclose(r->fp);
	hf_free(r->hf);
	free(r->buf);
	free(r->path);
	free(r);
}
