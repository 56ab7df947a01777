/* lib/instream.c - capture bytes: file or stdin, SHA-256, gzip/zstd/xz by
 * content, read-ahead thread. See instream.h. */
#include "lib/instream.h"
#include "lib/handoff.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <gcrypt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* Blocks of the read-ahead ring, and of the raw (compressed) input. */
#define BLK (256u << 10)
#define NB 8
/* Bytes a pump reads per call: the pumping thread is back to its own work
 * within ~10-20 us */
#define PUMP_PIECE (64u << 10)
/* Looks at a busy pump before the reader sleeps on it (~100 us) */
#define PUMP_SPIN 8192

struct lk_instream {
	char *path;
	int fd;
	bool close_fd;
	bool regular;
	bool large;              /* a regular file of 1 MiB or more */
	gcry_md_hd_t md;         /* SHA-256 of the raw bytes, or NULL */
	enum lk_zkind z;
	/* raw input: the decompressors' input, and the bytes read to sniff */
	unsigned char *raw;
	size_t raw_len, raw_off;
	bool raw_eof;
	/* decompressors */
	z_stream zs;
	bool zs_on, gz_member_end;
	ZSTD_DStream *zd;
	size_t zstd_left;        /* last ZSTD_decompressStream result: 0 = frame complete */
	lzma_stream xs;
	bool xs_on;
	/* the plain stream: ended (0) or failed (-1) */
	bool ended;
	int end_rc;
	char why[256];
	/* read-ahead thread: fills blk[] with plain bytes by src_read */
	bool threaded;
	pthread_t th;
	struct lk_handoff ho;
	unsigned char *blk[NB];
	size_t len[NB];
	int cur;                 /* the block being served, -1 none */
	size_t off;              /* bytes of it served */
	bool rd_failed;          /* lk_instream_read returned -1 (why is set) */
	/* pumped (lk_instream_pump_start): the same ring of blocks, filled by
	 * whichever thread gets there first, one at a time (pmu): another
	 * thread's lk_instream_pump, or the reader itself when it finds the
	 * next block unfilled */
	bool pumped;
	pthread_mutex_t pmu;     /* one filler at a time: the decoders' state, the fd */
	_Atomic uint64_t p_filled; /* blocks filled (block k in blk[k % NB]) */
	_Atomic uint64_t p_freed;  /* blocks the reader is done with */
	_Atomic bool p_end;      /* the input ended (end_rc, why set) after block p_filled */
	uint64_t p_next;         /* the reader: the next block to serve */
	size_t p_len;            /* bytes in the block being filled (under pmu) */
	uint64_t p_by_pump;      /* pieces read by lk_instream_pump (under pmu) */
	unsigned char *cbuf;     /* lk_instream_chunk's bytes without the thread */
	size_t max_piece;        /* tests: bytes per read or chunk at most (0: any) */
};

const char *lk_zkind_name(enum lk_zkind z)
{
	switch (z) {
	case LK_Z_GZIP: return "gzip";
	case LK_Z_ZSTD: return "zstd";
	case LK_Z_XZ: return "xz";
	default: return NULL;
	}
}

enum lk_zkind lk_zkind_sniff(const unsigned char *p, size_t n)
{
	static const unsigned char gz[] = {0x1f, 0x8b}, zs[] = {0x28, 0xb5, 0x2f, 0xfd},
				   xz[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
	if (n >= sizeof gz && !memcmp(p, gz, sizeof gz))
		return LK_Z_GZIP;
	if (n >= sizeof zs && !memcmp(p, zs, sizeof zs))
		return LK_Z_ZSTD;
	if (n >= sizeof xz && !memcmp(p, xz, sizeof xz))
		return LK_Z_XZ;
	return LK_Z_NONE;
}

/* The stream failed: remember why (the first reason wins). */
__attribute__((format(printf, 2, 3)))
static ssize_t fail(struct lk_instream *s, const char *fmt, ...)
{
	if (!s->ended) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->why, sizeof s->why, fmt, ap);
		va_end(ap);
		s->ended = true;
		s->end_rc = -1;
	}
	errno = EIO;
	return -1;
}

/* libgcrypt's one-time set-up (it is loaded anyway: libpcap -> libsystemd
 * -> libgcrypt on Debian 12): version check, no secure memory (a hash of
 * public bytes needs none), done. When another part of the process has
 * initialized it already, only the version check. */
static pthread_once_t gcry_once = PTHREAD_ONCE_INIT;
static bool gcry_ready;

static void gcry_setup(void)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_ready = gcry_check_version(NULL) != NULL;
		return;
	}
	if (!gcry_check_version(NULL))
		return;
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	gcry_ready = true;
}

static ssize_t read_retry(int fd, void *buf, size_t n)
{
	ssize_t got;
	do
		got = read(fd, buf, n);
	while (got < 0 && errno == EINTR);
	return got;
}

static void hash(struct lk_instream *s, const void *p, size_t n)
{
	if (s->md && n)
		gcry_md_write(s->md, p, n);
}

/* Read (and hash) more raw bytes after the unconsumed ones. 0 ok (raw_eof
 * set at the end of the input), -1 failed. */
static int raw_more(struct lk_instream *s)
{
	if (s->raw_off == s->raw_len)
		s->raw_off = s->raw_len = 0;
	else if (s->raw_len == BLK) {
		memmove(s->raw, s->raw + s->raw_off, s->raw_len - s->raw_off);
		s->raw_len -= s->raw_off;
		s->raw_off = 0;
	}
	if (s->raw_len == BLK)
		return 0; /* full: the caller consumes first */
	ssize_t got = read_retry(s->fd, s->raw + s->raw_len, BLK - s->raw_len);
	if (got < 0)
		return (int)fail(s, "%s", strerror(errno));
	if (got == 0)
		s->raw_eof = true;
	hash(s, s->raw + s->raw_len, (size_t)got);
	s->raw_len += (size_t)got;
	return 0;
}

static void start_thread(struct lk_instream *s);

static ssize_t truncated(struct lk_instream *s)
{
	return fail(s, "%s data truncated (the compressed stream ends before its end marker: "
		    "the file is cut short)", lk_zkind_name(s->z));
}

/* Uncompressed input: the sniffed bytes, then straight from the file. */
static ssize_t plain_read(struct lk_instream *s, unsigned char *out, size_t n)
{
	if (s->raw_off < s->raw_len) {
		size_t k = s->raw_len - s->raw_off;
		if (k > n)
			k = n;
		memcpy(out, s->raw + s->raw_off, k);
		s->raw_off += k;
		return (ssize_t)k;
	}
	if (s->raw_eof)
		return 0;
	ssize_t got = read_retry(s->fd, out, n);
	if (got < 0)
		return fail(s, "%s", strerror(errno));
	hash(s, out, (size_t)got);
	return got;
}

/* gzip: members one after the other (gzip -c a b, pigz) are one stream. */
static ssize_t gz_read(struct lk_instream *s, unsigned char *out, size_t n)
{
	for (;;) {
		if (s->raw_off == s->raw_len && !s->raw_eof && raw_more(s) < 0)
			return -1;
		size_t in_left = s->raw_len - s->raw_off;
		if (s->gz_member_end) {
			if (!in_left && s->raw_eof)
				return 0;
			if (!in_left)
				continue;
			inflateReset(&s->zs); /* the next member */
			s->gz_member_end = false;
		}
		s->zs.next_in = s->raw + s->raw_off;
		s->zs.avail_in = (uInt)in_left;
		s->zs.next_out = out;
		s->zs.avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
		uInt room = s->zs.avail_out;
		int rc = inflate(&s->zs, Z_NO_FLUSH);
		s->raw_off = s->raw_len - s->zs.avail_in;
		size_t got = room - s->zs.avail_out;
		if (rc == Z_STREAM_END)
			s->gz_member_end = true;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return fail(s, "corrupt gzip data (zlib: %s)",
				    s->zs.msg ? s->zs.msg : "inflate failed");
		if (got)
			return (ssize_t)got;
		if (!s->gz_member_end && s->raw_off == s->raw_len && s->raw_eof)
			return truncated(s);
	}
}

static ssize_t zstd_read(struct lk_instream *s, unsigned char *out, size_t n)
{
	for (;;) {
		if (s->raw_off == s->raw_len && !s->raw_eof && raw_more(s) < 0)
			return -1;
		ZSTD_inBuffer in = {s->raw, s->raw_len, s->raw_off};
		ZSTD_outBuffer ob = {out, n, 0};
		size_t r = ZSTD_decompressStream(s->zd, &ob, &in);
		if (ZSTD_isError(r))
			return fail(s, "corrupt zstd data (%s)", ZSTD_getErrorName(r));
		/* 0 once a frame is complete; a call without progress (no input
		 * left) asks for the next frame's header instead */
		if (in.pos != s->raw_off || ob.pos)
			s->zstd_left = r;
		s->raw_off = in.pos;
		if (ob.pos)
			return (ssize_t)ob.pos;
		if (s->raw_off == s->raw_len && s->raw_eof)
			return s->zstd_left == 0 ? 0 : truncated(s);
	}
}

static ssize_t xz_read(struct lk_instream *s, unsigned char *out, size_t n)
{
	for (;;) {
		if (s->raw_off == s->raw_len && !s->raw_eof && raw_more(s) < 0)
			return -1;
		s->xs.next_in = s->raw + s->raw_off;
		s->xs.avail_in = s->raw_len - s->raw_off;
		s->xs.next_out = out;
		s->xs.avail_out = n;
		lzma_ret rc = lzma_code(&s->xs, s->raw_eof ? LZMA_FINISH : LZMA_RUN);
		s->raw_off = s->raw_len - s->xs.avail_in;
		size_t got = n - s->xs.avail_out;
		switch (rc) {
		case LZMA_STREAM_END:
			return (ssize_t)got;
		case LZMA_OK:
			if (got)
				return (ssize_t)got;
			break;
		case LZMA_BUF_ERROR:
			if (got)
				return (ssize_t)got;
			if (s->raw_eof)
				return truncated(s);
			break;
		case LZMA_DATA_ERROR:
			return fail(s, "corrupt xz data (liblzma: compressed data is corrupt)");
		case LZMA_FORMAT_ERROR:
			return fail(s, "corrupt xz data (liblzma: not in the .xz format)");
		case LZMA_OPTIONS_ERROR:
			return fail(s, "unsupported xz data (liblzma: unsupported options)");
		case LZMA_MEM_ERROR:
			return fail(s, "xz: out of memory");
		default:
			return fail(s, "corrupt xz data (liblzma error %d)", (int)rc);
		}
	}
}

/* Up to n plain bytes, in the calling thread. */
static ssize_t src_read(struct lk_instream *s, unsigned char *out, size_t n)
{
	if (s->ended) {
		errno = s->end_rc < 0 ? EIO : 0;
		return s->end_rc;
	}
	if (!n)
		return 0;
	ssize_t got;
	switch (s->z) {
	case LK_Z_GZIP: got = gz_read(s, out, n); break;
	case LK_Z_ZSTD: got = zstd_read(s, out, n); break;
	case LK_Z_XZ: got = xz_read(s, out, n); break;
	default: got = plain_read(s, out, n); break;
	}
	if (got == 0) {
		s->ended = true;
		s->end_rc = 0;
	}
	return got;
}

/* The read-ahead thread: fill free blocks, each as full as the input allows. */
static void *reader(void *c)
{
	struct lk_instream *s = c;
	int slot;
	while ((slot = lk_handoff_claim(&s->ho)) >= 0) {
		size_t len = 0;
		ssize_t got = 1;
		while (len < BLK && (got = src_read(s, s->blk[slot] + len, BLK - len)) > 0)
			len += (size_t)got;
		s->len[slot] = len;
		if (len)
			lk_handoff_fill(&s->ho, got <= 0);
		else
			lk_handoff_close(&s->ho);
		if (got <= 0)
			break;
	}
	return NULL;
}

/* Pumped: read up to `piece` more bytes into the next block if there is
 * room and input (pmu held), handing the block over once it is full or the
 * input ended; true if it read any. */
static bool fill_some(struct lk_instream *s, size_t piece)
{
	uint64_t k = atomic_load_explicit(&s->p_filled, memory_order_relaxed);
	if (atomic_load_explicit(&s->p_end, memory_order_relaxed) ||
	    k - atomic_load_explicit(&s->p_freed, memory_order_acquire) >= NB)
		return false;
	unsigned char *b = s->blk[k % NB];
	size_t len = s->p_len, stop = BLK - len > piece ? len + piece : BLK;
	ssize_t got = 1;
	while (len < stop && (got = src_read(s, b + len, stop - len)) > 0)
		len += (size_t)got;
	bool did = len > s->p_len;
	s->p_len = len;
	if (len == BLK || got <= 0) {
		s->len[k % NB] = len;
		s->p_len = 0;
		if (len)
			atomic_store_explicit(&s->p_filled, k + 1, memory_order_release);
	}
	if (got <= 0) /* end_rc and why are set before */
		atomic_store_explicit(&s->p_end, true, memory_order_release);
	return did;
}

int lk_instream_pump(struct lk_instream *s)
{
	if (!s->pumped || atomic_load_explicit(&s->p_end, memory_order_relaxed) ||
	    atomic_load_explicit(&s->p_filled, memory_order_relaxed) -
	    atomic_load_explicit(&s->p_freed, memory_order_relaxed) >= NB ||
	    pthread_mutex_trylock(&s->pmu) != 0)
		return 0;
	bool did = fill_some(s, PUMP_PIECE);
	s->p_by_pump += did;
	pthread_mutex_unlock(&s->pmu);
	return did;
}

/* Pumped, the reader: free the block served, then the next one, filling it
 * here when no pump did. A pump busy with the next block is waited for by
 * spinning (a piece takes ~10-20 us; sleeping on the mutex and being woken
 * costs as much on a virtual machine), then by sleeping. */
static int pumped_next(struct lk_instream *s)
{
	if (s->cur >= 0) {
		atomic_store_explicit(&s->p_freed, s->p_next, memory_order_release);
		s->cur = -1;
	}
	for (unsigned spins = 0;;) {
		if (s->p_next < atomic_load_explicit(&s->p_filled, memory_order_acquire)) {
			s->cur = (int)(s->p_next++ % NB);
			s->off = 0;
			return 1;
		}
		if (atomic_load_explicit(&s->p_end, memory_order_acquire) &&
		    s->p_next == atomic_load_explicit(&s->p_filled, memory_order_acquire)) {
			errno = s->end_rc < 0 ? EIO : 0;
			return s->end_rc;
		}
		if (pthread_mutex_trylock(&s->pmu) != 0) {
			if (++spins < PUMP_SPIN) {
				lk_cpu_relax();
				continue;
			}
			pthread_mutex_lock(&s->pmu);
		}
		spins = 0;
		fill_some(s, BLK);
		pthread_mutex_unlock(&s->pmu);
	}
}

/* The bytes come through the ring of blocks (read ahead or pumped). */
static inline bool ringed(const struct lk_instream *s) { return s->threaded || s->pumped; }

/* Reader side: the next block (s->cur); 1, or 0 at the end, -1 failed. */
static int ring_next(struct lk_instream *s)
{
	if (s->pumped)
		return pumped_next(s);
	s->cur = lk_handoff_take(&s->ho);
	s->off = 0;
	if (s->cur >= 0)
		return 1;
	/* end_rc and why were written before the thread closed the handoff */
	errno = s->end_rc < 0 ? EIO : 0;
	return s->end_rc;
}

static ssize_t ring_read(struct lk_instream *s, unsigned char *out, size_t n)
{
	if (s->cur < 0 || s->off == s->len[s->cur]) {
		int rc = ring_next(s);
		if (rc <= 0)
			return rc;
	}
	size_t avail = s->len[s->cur] - s->off;
	if (n > avail)
		n = avail;
	memcpy(out, s->blk[s->cur] + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

ssize_t lk_instream_read(struct lk_instream *s, void *buf, size_t n)
{
	if (s->max_piece && n > s->max_piece)
		n = s->max_piece;
	ssize_t got = ringed(s) ? ring_read(s, buf, n) : src_read(s, buf, n);
	if (got < 0)
		s->rd_failed = true;
	return got;
}

ssize_t lk_instream_chunk(struct lk_instream *s, const unsigned char **p)
{
	ssize_t got;
	if (ringed(s)) {
		if (s->cur < 0 || s->off == s->len[s->cur]) {
			int rc = ring_next(s);
			if (rc <= 0) {
				if (rc < 0)
					s->rd_failed = true;
				return rc;
			}
		}
		size_t n = s->len[s->cur] - s->off;
		if (s->max_piece && n > s->max_piece)
			n = s->max_piece;
		*p = s->blk[s->cur] + s->off;
		s->off += n;
		return (ssize_t)n;
	}
	if (!s->cbuf && !(s->cbuf = malloc(BLK))) {
		s->rd_failed = true;
		return fail(s, "out of memory");
	}
	got = src_read(s, s->cbuf, s->max_piece && s->max_piece < BLK ? s->max_piece : BLK);
	if (got < 0)
		s->rd_failed = true;
	*p = s->cbuf;
	return got;
}

void lk_instream_max_piece(struct lk_instream *s, size_t n) { s->max_piece = n; }

void lk_instream_readahead(struct lk_instream *s)
{
	if (s->large && !s->threaded && !s->pumped && !s->ended)
		start_thread(s);
}

static bool alloc_blocks(struct lk_instream *s)
{
	for (int i = 0; i < NB; i++)
		if (!s->blk[i] && !(s->blk[i] = malloc(BLK)))
			return false;
	return true;
}

bool lk_instream_pump_start(struct lk_instream *s)
{
	if (!s->large || ringed(s) || s->ended || !alloc_blocks(s) ||
	    pthread_mutex_init(&s->pmu, NULL) != 0)
		return false;
	s->cur = -1;
	s->p_next = 0;
	atomic_init(&s->p_filled, 0);
	atomic_init(&s->p_freed, 0);
	atomic_init(&s->p_end, false);
	s->pumped = true;
	return true;
}

uint64_t lk_instream_pumped_pieces(const struct lk_instream *s) { return s->p_by_pump; }

const char *lk_instream_why(const struct lk_instream *s)
{
	/* why is the thread's until a read has returned -1 */
	return s->rd_failed ? s->why : NULL;
}

enum lk_zkind lk_instream_compression(const struct lk_instream *s) { return s->z; }
const char *lk_instream_path(const struct lk_instream *s) { return s->path; }

static void stop_thread(struct lk_instream *s)
{
	if (!s->threaded)
		return;
	lk_handoff_stop(&s->ho);
	pthread_join(s->th, NULL);
	lk_handoff_destroy(&s->ho);
	s->threaded = false;
}

int lk_instream_sha256(struct lk_instream *s, char hex[65], struct lk_err *e)
{
	if (!s->md)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: SHA-256 not available", s->path);
	/* the rest of the input, through the decompressor (its errors count) */
	if (ringed(s)) {
		int rc;
		while ((rc = ring_next(s)) > 0)
			;
		stop_thread(s);
	}
	unsigned char *sink = malloc(1u << 16);
	if (!sink)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", s->path);
	while (src_read(s, sink, 1u << 16) > 0)
		;
	free(sink);
	if (s->end_rc < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", s->path, s->why);
	while (!s->raw_eof) { /* trailing bytes the decoder did not need */
		s->raw_off = s->raw_len;
		if (raw_more(s) < 0)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", s->path, s->why);
	}
	const unsigned char *md = gcry_md_read(s->md, GCRY_MD_SHA256);
	if (!md)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: SHA-256 failed", s->path);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

void lk_instream_close(struct lk_instream *s)
{
	if (!s)
		return;
	stop_thread(s);
	if (s->zs_on)
		inflateEnd(&s->zs);
	ZSTD_freeDStream(s->zd);
	if (s->xs_on)
		lzma_end(&s->xs);
	if (s->close_fd && s->fd >= 0)
		close(s->fd);
	if (s->pumped)
		pthread_mutex_destroy(&s->pmu);
	gcry_md_close(s->md); /* NULL: nothing */
	for (int i = 0; i < NB; i++)
		free(s->blk[i]);
	free(s->raw);
	free(s->cbuf);
	free(s->path);
	free(s);
}

static int decoder_init(struct lk_instream *s)
{
	switch (s->z) {
	case LK_Z_GZIP:
		/* 15 + 32: a window of up to 32 KiB, gzip or zlib header */
		s->zs_on = inflateInit2(&s->zs, 15 + 32) == Z_OK;
		return s->zs_on ? 0 : -1;
	case LK_Z_ZSTD:
		s->zd = ZSTD_createDStream();
		return s->zd && !ZSTD_isError(ZSTD_initDStream(s->zd)) ? 0 : -1;
	case LK_Z_XZ:
		s->xs = (lzma_stream)LZMA_STREAM_INIT;
		s->xs_on = lzma_stream_decoder(&s->xs, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
		return s->xs_on ? 0 : -1;
	default:
		return 0;
	}
}

/* Start the read-ahead thread; without it (no memory, no thread) the input
 * is read in the caller's thread. */
static void start_thread(struct lk_instream *s)
{
	if (!alloc_blocks(s))
		return;
	if (lk_handoff_init(&s->ho, NB) != 0)
		return;
	s->cur = -1;
	s->threaded = pthread_create(&s->th, NULL, reader, s) == 0;
	if (!s->threaded)
		lk_handoff_destroy(&s->ho);
}

static int open_fd(struct lk_instream *s, const char *path, struct lk_err *e)
{
	if (!strcmp(path, "-")) {
		s->fd = STDIN_FILENO;
	} else {
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(errno));
		s->close_fd = true;
	}
	struct stat st;
	if (fstat(s->fd, &st) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: is a directory, not a capture file", path);
	s->regular = S_ISREG(st.st_mode);
	s->large = s->regular && st.st_size >= (1 << 20);
	return 0;
}

int lk_instream_open(const char *path, bool want_hash, struct lk_instream **out,
		     struct lk_err *e)
{
	*out = NULL;
	struct lk_instream *s = lk_zalloc_lines(sizeof *s);
	if (!s)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	s->fd = -1;
	s->path = strdup(path);
	s->raw = malloc(BLK);
	if (!s->path || !s->raw) {
		lk_instream_close(s);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	}
	if (open_fd(s, path, e) < 0)
		goto fail;
	if (want_hash) {
		pthread_once(&gcry_once, gcry_setup);
		if (!gcry_ready || gcry_md_open(&s->md, GCRY_MD_SHA256, 0) != 0) {
			s->md = NULL;
			lk_errf(e, LK_EXIT_RUNTIME, "%s: SHA-256 not available", path);
			goto fail;
		}
	}
	/* the first bytes say what the input is (a pipe may give them piecemeal) */
	while (s->raw_len < 6 && !s->raw_eof)
		if (raw_more(s) < 0) {
			lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, s->why);
			goto fail;
		}
	if (s->raw_len == 0) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: empty file (no capture header)", path);
		goto fail;
	}
	s->z = lk_zkind_sniff(s->raw, s->raw_len);
	if (decoder_init(s) < 0) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot start the %s decoder (out of memory)", path,
			lk_zkind_name(s->z));
		goto fail;
	}
	if (s->large && (s->md || s->z != LK_Z_NONE))
		start_thread(s);
	*out = s;
	return 0;
fail:
	lk_instream_close(s);
	return -1;
}
