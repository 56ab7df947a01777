/* tests/t-instream-pump.c - the pumped read-ahead of lib/instream.h: a
 * second thread calling lk_instream_pump while the reader takes the bytes
 * (lk_instream_chunk and lk_instream_read, in pieces of every size) gives
 * the file's bytes exactly once and in order, whoever filled each block;
 * the reader never waits for a pump that is not called; the end and a
 * stream that cannot be pumped behave as documented.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/instream.h"
#include "tap.h"

static char path[] = "/tmp/t-instream-pump.XXXXXX";
static unsigned char *want;
static size_t want_n;

static void make_file(size_t n)
{
	int fd = mkstemp(path);
	if (fd < 0) {
		printf("Bail out! mkstemp: %s\n", strerror(errno));
		exit(1);
	}
	want = malloc(n);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		want[i] = (unsigned char)x;
	}
	want_n = n;
	if (write(fd, want, n) != (ssize_t)n) {
		printf("Bail out! write failed\n");
		exit(1);
	}
	close(fd);
}

struct pumper {
	struct lk_instream *s;
	_Atomic bool stop;
	uint64_t did;
};

static void *pump_loop(void *c)
{
	struct pumper *p = c;
	while (!atomic_load(&p->stop)) {
		if (lk_instream_pump(p->s))
			p->did++;
		else
			sched_yield();
	}
	return NULL;
}

static void nap(long us)
{
	struct timespec t = {0, us * 1000};
	nanosleep(&t, NULL);
}

/* Read the whole stream with pieces of `piece` bytes (0: as they come),
 * alternating chunk and read when `mixed`, napping every `nap_every`
 * bytes (0: never); true if every byte is the file's, in order. */
static bool read_all(struct lk_instream *s, size_t piece, bool mixed, size_t nap_every,
		     size_t *got_n, int *end_rc)
{
	static unsigned char buf[1 << 18];
	size_t off = 0, next_nap = nap_every;
	bool same = true;
	lk_instream_max_piece(s, piece);
	for (unsigned k = 0;; k++) {
		ssize_t n;
		const unsigned char *p;
		if (mixed && k % 3 == 1) {
			n = lk_instream_read(s, buf, piece ? piece : sizeof buf);
			p = buf;
		} else {
			n = lk_instream_chunk(s, &p);
		}
		if (n <= 0) {
			*end_rc = (int)n;
			break;
		}
		if (off + (size_t)n > want_n || memcmp(p, want + off, (size_t)n))
			same = false;
		off += (size_t)n;
		if (nap_every && off >= next_nap) {
			nap(100);
			next_nap += nap_every;
		}
	}
	*got_n = off;
	return same;
}

static void one_case(const char *what, size_t piece, bool mixed, size_t nap_every, bool pumping)
{
	struct lk_instream *s;
	struct lk_err e = {0};
	if (lk_instream_open(path, false, &s, &e) < 0) {
		ok(0, "%s: open: %s", what, e.msg);
		return;
	}
	ok(lk_instream_pump_start(s), "%s: pumped", what);
	struct pumper pu = {.s = s};
	pthread_t th;
	bool threaded = pumping && pthread_create(&th, NULL, pump_loop, &pu) == 0;
	size_t got;
	int rc;
	bool same = read_all(s, piece, mixed, nap_every, &got, &rc);
	if (threaded) {
		atomic_store(&pu.stop, true);
		pthread_join(th, NULL);
	}
	ok(same && got == want_n && rc == 0, "%s: %zu of %zu bytes, in order, then the end (%d)", what,
	   got, want_n, rc);
	const unsigned char *p;
	unsigned char one;
	ok(lk_instream_chunk(s, &p) == 0 && lk_instream_read(s, &one, 1) == 0,
	   "%s: the end stays the end", what);
	if (pumping)
		ok(pu.did > 0 && pu.did == lk_instream_pumped_pieces(s),
		   "%s: the pump read %llu pieces (counted %llu)", what, (unsigned long long)pu.did,
		   (unsigned long long)lk_instream_pumped_pieces(s));
	else
		ok(lk_instream_pumped_pieces(s) == 0 && lk_instream_pump(s) == 0,
		   "%s: without a pump the reader filled every block", what);
	lk_instream_close(s);
}

/* A stream lk_instream_pump_start refuses: nothing changes, it reads as
 * before. */
static void not_pumped(const char *what, bool hash)
{
	struct lk_instream *s;
	struct lk_err e = {0};
	size_t got;
	int rc;
	if (lk_instream_open(path, hash, &s, &e) < 0) {
		ok(0, "%s: open: %s", what, e.msg);
		return;
	}
	ok(!lk_instream_pump_start(s) && lk_instream_pump(s) == 0, "%s: not pumped", what);
	ok(read_all(s, 0, false, 0, &got, &rc) && got == want_n && rc == 0, "%s: reads as before",
	   what);
	lk_instream_close(s);
}

int main(void)
{
	/* 5 MiB and a bit: 20 blocks of 256 KiB and a short last one */
	make_file((5u << 20) + 12345);
	one_case("chunks, pump busy", 0, false, 0, true);
	one_case("chunks, reader naps", 0, false, 64u << 10, true);
	one_case("pieces of 1000, mixed read/chunk, reader naps", 1000, true, 256u << 10, true);
	one_case("pieces of 7, mixed", 7, true, 0, true);
	one_case("no pump called", 0, true, 0, false);

	/* a pump started and stopped at once: the reader goes on alone */
	struct lk_instream *s;
	struct lk_err e = {0};
	size_t got;
	int rc;
	if (lk_instream_open(path, false, &s, &e) == 0) {
		ok(lk_instream_pump_start(s) && !lk_instream_pump_start(s),
		   "pump_start: once (a second call says no)");
		unsigned did = 0;
		for (int i = 0; i < 100; i++)
			did += (unsigned)lk_instream_pump(s);
		/* 8 blocks of room: 8 * 256 KiB / 64 KiB pieces */
		ok(did == 32, "pump alone: fills the ring's 8 blocks (%u pieces) and stops", did);
		ok(read_all(s, 0, false, 0, &got, &rc) && got == want_n && rc == 0,
		   "then the reader alone: every byte in order");
		lk_instream_close(s);
	} else {
		ok(0, "open: %s", e.msg);
	}

	/* not pumped: a file read ahead by a thread (hashed), a small file */
	not_pumped("a hashed file (read ahead by its own thread)", true);
	unlink(path);
	free(want);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	make_file(100000);
	not_pumped("a file under 1 MiB", false);
	unlink(path);
	free(want);
	done_testing();
}
