/* Unit tests of lib/replay: where polls end (budget, idle gap, the final
 * poll), the Ethernet view of every link type (loopback families in both byte
 * orders), skipped and snaplen-cut records. Captures are written with
 * libpcap and read back through lk_replay_capture. */
#include "lib/replay.h"
#include "tests/tap.h"

#include <pcap/pcap.h>
#include <unistd.h>

static char path[] = "/tmp/t-replay.XXXXXX";

struct rec {
	uint64_t ts_us;
	uint32_t caplen, len;
	uint8_t d[64];
};

/* Write recs as a capture of link type dlt (microsecond pcap) at path. */
static void write_cap(int dlt, const struct rec *r, size_t n)
{
	pcap_t *p = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *w = p ? pcap_dump_open(p, path) : NULL;
	if (!w) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		struct pcap_pkthdr h = {.caplen = r[i].caplen, .len = r[i].len};
		h.ts.tv_sec = (time_t)(r[i].ts_us / 1000000u);
		h.ts.tv_usec = (suseconds_t)(r[i].ts_us % 1000000u);
		pcap_dump((u_char *)w, &h, r[i].d);
	}
	pcap_dump_close(w);
	pcap_close(p);
}

/* What the callbacks saw, as text: "F<slot>@<ts_us>" per frame, "P<n>@<ts_us>"
 * per poll end; the last frame's bytes. */
struct log {
	char s[1024];
	uint8_t last[80];
	uint32_t last_caplen, last_wirelen;
};

static void on_frame(void *ctx, const struct lk_replay_frame *f)
{
	struct log *l = ctx;
	size_t n = strlen(l->s);
	snprintf(l->s + n, sizeof l->s - n, "F%lu@%llu ", f->slot, (unsigned long long)(f->ts_ns / 1000u));
	memcpy(l->last, f->data, f->caplen < sizeof l->last ? f->caplen : sizeof l->last);
	l->last_caplen = f->caplen;
	l->last_wirelen = f->wirelen;
}

static void on_poll_end(void *ctx, uint64_t ts_ns, unsigned long nframes)
{
	struct log *l = ctx;
	size_t n = strlen(l->s);
	snprintf(l->s + n, sizeof l->s - n, "P%lu@%llu ", nframes, (unsigned long long)(ts_ns / 1000u));
}

/* Replay the capture at path; the log and the counters. */
static int replay(unsigned long budget, uint64_t gap_us, struct log *l, struct lk_replay_stats *st)
{
	memset(l, 0, sizeof *l);
	struct lk_err e;
	struct lk_pcap *r;
	if (lk_pcap_open(path, &r, &e) < 0) {
		diag("%s", e.msg);
		return -1;
	}
	const struct lk_replay_cfg cfg = {.budget = budget, .gap_ns = gap_us * 1000u};
	const struct lk_replay_ops ops = {.frame = on_frame, .poll_end = on_poll_end};
	int rc = lk_replay_capture(r, &cfg, &ops, l, st, &e);
	if (rc < 0)
		diag("%s", e.msg);
	lk_pcap_close(r);
	return rc;
}

/* One record of link type dlt whose link header is hdr[hlen], followed by an
 * IPv4-looking payload of 20 bytes; its Ethernet view, if any, must be
 * 12 zero bytes, type `et` and the same payload. */
static void one_link(int dlt, const uint8_t *hdr, unsigned hlen, uint16_t et, const char *what)
{
	struct rec r = {.ts_us = 1, .caplen = hlen + 20, .len = hlen + 20 + 100};
	memcpy(r.d, hdr, hlen);
	for (unsigned i = 0; i < 20; i++)
		r.d[hlen + i] = (uint8_t)(0x45 + i);
	write_cap(dlt, &r, 1);
	struct log l;
	struct lk_replay_stats st;
	if (replay(64, 100, &l, &st) < 0 || (et && st.fed != 1) || (!et && st.skipped != 1)) {
		ok(0, "%s: %s", what, et ? "fed" : "skipped");
		return;
	}
	if (!et) {
		ok(st.fed == 0 && !strcmp(l.s, "P0@0 "), "%s: skipped, one empty poll", what);
		return;
	}
	uint8_t want[34] = {0};
	want[12] = (uint8_t)(et >> 8);
	want[13] = (uint8_t)et;
	memcpy(want + 14, r.d + hlen, 20);
	ok(l.last_caplen == 34 && !memcmp(l.last, want, 34) && l.last_wirelen == 134,
	   "%s: Ethernet type %#06x + the same payload, wire length %u -> 134", what, et, r.len);
}

int main(void)
{
	int fd = mkstemp(path);
	if (fd < 0)
		skip_all("cannot create a temporary file");
	close(fd);
	struct log l;
	struct lk_replay_stats st;

	/* budget: polls of 3 frames; the final poll holds the rest */
	struct rec r[8];
	memset(r, 0, sizeof r);
	for (int i = 0; i < 7; i++) {
		r[i].ts_us = 1 + (uint64_t)i;
		r[i].caplen = r[i].len = 60;
		r[i].d[12] = 0x08;
		r[i].d[20] = (uint8_t)i;
	}
	write_cap(DLT_EN10MB, r, 7);
	ok(replay(3, 0, &l, &st) == 0, "Ethernet capture replayed");
	is_str(l.s, "F0@1 F1@2 F2@3 P3@3 F0@4 F1@5 F2@6 P3@6 F0@7 P1@7 ", "budget 3: polls end at the third frame");
	ok(st.fed == 7 && st.skipped == 0 && st.cut == 0, "7 frames fed, none skipped or cut");
	ok(l.last_caplen == 60 && l.last_wirelen == 60 && l.last[20] == 6 && l.last[12] == 0x08,
	   "Ethernet frames fed as they are");
	ok(replay(7, 0, &l, &st) == 0, "budget 7");
	is_str(l.s, "F0@1 F1@2 F2@3 F3@4 F4@5 F5@6 F6@7 P7@7 P0@7 ",
	       "a budget used up by the last frame: then one empty final poll");

	/* idle gap: more than gap_us between frames ends the poll before the
	 * later frame, at the earlier one's time; equal or earlier times do not */
	static const uint64_t ts[] = {0, 50, 300, 400, 400, 350, 1000};
	for (int i = 0; i < 7; i++)
		r[i].ts_us = 1000000 + ts[i];
	r[2].caplen = 40; /* cut by the snaplen */
	write_cap(DLT_EN10MB, r, 7);
	ok(replay(64, 100, &l, &st) == 0, "capture with gaps replayed");
	is_str(l.s, "F0@1000000 F1@1000050 P2@1000050 F0@1000300 F1@1000400 F2@1000400 F3@1000350 "
		    "P4@1000350 F0@1001000 P1@1001000 ",
	       "gap 100 us: polls end before the frames 250 us and 650 us later only");
	is_int(st.cut, 1, "one frame cut by the snaplen counted");
	ok(replay(64, 0, &l, &st) == 0, "gap 0");
	is_str(l.s, "F0@1000000 F1@1000050 F2@1000300 F3@1000400 F4@1000400 F5@1000350 F6@1001000 P7@1001000 ",
	       "gap 0: only the budget ends a poll");
	ok(replay(64, 250, &l, &st) == 0, "gap 250");
	is_str(l.s, "F0@1000000 F1@1000050 F2@1000300 F3@1000400 F4@1000400 F5@1000350 P6@1000350 "
		    "F0@1001000 P1@1001000 ",
	       "gap 250 us: a gap of exactly 250 us does not end the poll");

	/* skipped records take no slot and do not count as the last frame */
	static const uint8_t null_v4[4] = {2, 0, 0, 0}, null_x[4] = {7, 0, 0, 0};
	for (int i = 0; i < 4; i++) {
		memset(r[i].d, 0, sizeof r[i].d);
		memcpy(r[i].d, i == 1 || i == 2 ? null_x : null_v4, 4);
		r[i].d[4] = 0x45;
		r[i].ts_us = 1000 * (uint64_t)(i + 1);
		r[i].caplen = r[i].len = 40;
	}
	write_cap(DLT_NULL, r, 4);
	ok(replay(64, 1500, &l, &st) == 0, "loopback capture with non-IP records");
	is_str(l.s, "F0@1000 P1@1000 F0@4000 P1@4000 ", "non-IP records skipped: the gap runs from the last fed frame");
	ok(st.fed == 2 && st.skipped == 2, "2 fed, 2 skipped");

	/* every link type's Ethernet view */
	static const uint8_t sll[16] = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
	static const uint8_t sll2[20] = {0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
	static const uint8_t sll_arp[16] = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x06};
	one_link(DLT_LINUX_SLL, sll, 16, 0x0800, "Linux cooked v1");
	one_link(DLT_LINUX_SLL, sll_arp, 16, 0x0806, "Linux cooked v1 ARP (kept: Ethernet has it)");
	one_link(276, sll2, 20, 0x86dd, "Linux cooked v2");
	one_link(DLT_RAW, sll, 0, 0x0800, "raw IPv4");
	static const uint8_t lo[][4] = {{2, 0, 0, 0}, {0, 0, 0, 2}, {30, 0, 0, 0}, {0, 0, 0, 24}, {7, 0, 0, 0}};
	one_link(DLT_NULL, lo[0], 4, 0x0800, "DLT_NULL AF 2 little-endian");
	one_link(DLT_NULL, lo[1], 4, 0x0800, "DLT_NULL AF 2 big-endian");
	one_link(DLT_NULL, lo[2], 4, 0x86dd, "DLT_NULL AF 30 little-endian");
	one_link(DLT_LOOP, lo[1], 4, 0x0800, "DLT_LOOP AF 2 network order");
	one_link(DLT_LOOP, lo[0], 4, 0x0800, "DLT_LOOP AF 2 little-endian");
	one_link(DLT_LOOP, lo[3], 4, 0x86dd, "DLT_LOOP AF 24 network order");
	one_link(DLT_LOOP, lo[4], 4, 0, "DLT_LOOP AF 7 (OSI)");
	r[0].caplen = 3;
	write_cap(DLT_NULL, r, 1);
	ok(replay(64, 100, &l, &st) == 0 && st.skipped == 1 && st.fed == 0, "DLT_NULL header cut short: skipped");

	/* an empty capture: one empty poll at time 0 */
	write_cap(DLT_EN10MB, r, 0);
	ok(replay(64, 100, &l, &st) == 0 && !strcmp(l.s, "P0@0 ") && st.fed == 0, "empty capture: one empty poll");
	unlink(path);
	return done_testing();
}
