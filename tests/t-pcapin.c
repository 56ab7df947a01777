/* Unit tests of lib/pcapin's own record reader: every capture is read twice,
 * by our reader and by libpcap alone (lk_pcap_opts.libpcap_only), and the
 * two transcripts (each record's time stamp, lengths, link type and bytes,
 * then how the capture ended and with which message) must be the same;
 * besides, our reader must have read the records it should (the counts are
 * written down here, not taken from either reader). Captures: pcap in both
 * byte orders with micro- and nanosecond time stamps, pcapng with several
 * sections and interfaces of different link types, records cut at every
 * byte (truncated files), the input handed over in pieces of 1, 2, 3...
 * bytes (records straddle chunks), captured lengths over the snapshot
 * length, and the records where libpcap must take over. */
#include "lib/pcapin.h"
#include "tests/tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WB_CAP (1 << 19) /* a record of 300000 bytes */
#include "tests/helpers/wbytes.h"

/* a TCP/IP frame of n >= 54 bytes for Ethernet (lt 1), SLL (113) or raw IP
 * (101), with some varying bytes */
static size_t frame(uint16_t lt, size_t n, uint8_t *p, unsigned seed)
{
	static const uint8_t ip[40] = {
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0};
	size_t h = lt == 1 ? 14 : lt == 113 ? 16 : 0;
	memset(p, 0, n);
	if (lt == 1)
		p[12] = 0x08;
	else if (lt == 113)
		p[14] = 0x08;
	memcpy(p + h, ip, sizeof ip);
	p[h + 27] = (uint8_t)seed; /* sequence number */
	for (size_t i = h + sizeof ip; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed);
	return n;
}

static void pcap_hdr(uint32_t magic, uint16_t vmin, uint32_t snap, uint32_t lt)
{
	w32(magic); w16(2); w16(vmin); w32(0); w32(0); w32(snap); w32(lt);
}
static void pcap_rec(uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t olen, unsigned seed)
{
	uint8_t f[2048];
	w32(sec); w32(frac); w32(caplen); w32(olen);
	frame(1, caplen < 54 ? 54 : caplen, f, seed);
	for (uint32_t i = 0; i < caplen; i++)
		w8(f[i]);
}

static void shb(void)
{
	w32(0x0A0D0D0A); w32(28); w32(0x1A2B3C4D); w16(1); w16(0); w32(0xffffffff); w32(0xffffffff);
	w32(28);
}
/* tsres: 0 none, else the if_tsresol byte; tsoff: add an if_tsoffset */
static void idb(uint16_t lt, uint32_t snap, uint8_t tsres, bool tsoff)
{
	uint32_t bl = 20 + (tsres ? 8 : 0) + (tsoff ? 12 : 0) + (tsres || tsoff ? 4 : 0);
	w32(1); w32(bl); w16(lt); w16(0); w32(snap);
	if (tsres) { w16(9); w16(1); w8(tsres); w8(0); w8(0); w8(0); }
	if (tsoff) { w16(14); w16(8); w32(5); w32(0); }
	if (tsres || tsoff) { w16(0); w16(0); }
	w32(bl);
}
static void epb(uint32_t ifid, uint16_t lt, uint64_t t, size_t caplen, uint32_t olen, unsigned seed)
{
	uint8_t f[2048];
	frame(lt, caplen < 54 ? 54 : caplen, f, seed);
	uint32_t bl = 32 + (uint32_t)((caplen + 3) & ~(size_t)3);
	w32(6); w32(bl); w32(ifid); w32((uint32_t)(t >> 32)); w32((uint32_t)t);
	w32((uint32_t)caplen); w32(olen);
	for (size_t i = 0; i < caplen; i++) w8(f[i]);
	for (size_t i = caplen; i & 3; i++) w8(0);
	w32(bl);
}
static void other_block(void) { w32(0x0BAD); w32(16); w32(0x12345678); w32(16); }

static char path[] = "/tmp/t-pcapin.XXXXXX";

__attribute__((noreturn)) static void bail(const char *why)
{
	printf("Bail out! %s\n", why);
	unlink(path);
	exit(1);
}

static void save(size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0)
		bail("cannot write the capture");
}

/* The transcript of reading the capture in path. */
struct run {
	char *t;
	size_t n, cap;
	uint64_t own;        /* records our reader returned */
	uint64_t records;
	bool via_libpcap;
};

__attribute__((format(printf, 2, 3)))
static void out(struct run *u, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (u->n + (size_t)k + 1 > u->cap) {
		u->cap = (u->n + (size_t)k + 1) * 2;
		u->t = realloc(u->t, u->cap);
		if (!u->t)
			bail("out of memory");
	}
	va_start(ap, fmt);
	vsnprintf(u->t + u->n, (size_t)k + 1, fmt, ap);
	va_end(ap);
	u->n += (size_t)k;
}

static struct run reading(bool libpcap_only, size_t piece)
{
	struct run u = {0};
	struct lk_pcap_opts o = {.libpcap_only = libpcap_only, .max_piece = piece};
	struct lk_pcap *r;
	struct lk_err e = {0};
	out(&u, "%s", "");
	if (lk_pcap_open_opts(path, &o, &r, &e) < 0) {
		out(&u, "open failed: %s\n", e.msg);
		return u;
	}
	out(&u, "dlt %d snaplen %u\n", lk_pcap_dlt(r), lk_pcap_snaplen(r));
	const struct pcap_pkthdr *h;
	const uint8_t *d;
	int rc;
	while ((rc = lk_pcap_next(r, &h, &d, &e)) == 1) {
		uint32_t sum = 0;
		for (uint32_t i = 0; i < h->caplen; i++)
			sum = sum * 31 + d[i];
		out(&u, "%llu %u %u %d %08x\n", (unsigned long long)lk_pcap_ts_ns(r, h), h->caplen,
		    h->len, lk_pcap_rec_dlt(r), sum);
	}
	out(&u, "end %d %s truncated %d mixed %d\n", rc, rc < 0 ? e.msg : "",
	    lk_pcap_truncated(r), lk_pcap_mixed_links(r));
	u.own = lk_pcap_own_records(r);
	u.records = lk_pcap_records(r);
	u.via_libpcap = lk_pcap_via_libpcap(r);
	lk_pcap_close(r);
	return u;
}

/* Our reader (in pieces of `piece` bytes, 0 any) reads what libpcap reads,
 * `own` records of them itself (-1: any number) and hands over to libpcap
 * or not (`handed`). */
static void same(const char *what, size_t piece, long long own, int handed)
{
	struct run a = reading(false, piece), b = reading(true, 0);
	if (!is_str(a.t, b.t, "%s (pieces of %zu): what libpcap reads", what, piece))
		diag("ours:\n%s\nlibpcap's:\n%s", a.t, b.t);
	if (own >= 0)
		is_int((long long)a.own, own, "%s (pieces of %zu): records of our reader", what, piece);
	if (handed >= 0)
		is_int(a.via_libpcap, handed, "%s (pieces of %zu): libpcap took over", what, piece);
	free(a.t);
	free(b.t);
}

/* Same as libpcap for every prefix of the file (len bytes in buf): cut
 * anywhere. Returns how many prefixes differed. */
static int every_cut(const char *what, size_t full)
{
	int bad = 0;
	for (size_t n = 0; n <= full; n++) {
		save(n);
		struct run a = reading(false, 0), b = reading(true, 0);
		if (strcmp(a.t, b.t)) {
			if (!bad++)
				diag("%s cut at %zu:\nours:\n%s\nlibpcap's:\n%s", what, n, a.t, b.t);
		}
		free(a.t);
		free(b.t);
	}
	save(full);
	return bad;
}

static const size_t pieces[] = {1, 2, 3, 5, 7, 16, 17, 61, 4096};

static void pcap_cases(void)
{
	static const struct { uint32_t magic; bool be; const char *name; } v[] = {
		{0xa1b2c3d4, false, "pcap us little-endian"}, {0xa1b2c3d4, true, "pcap us big-endian"},
		{0xa1b23c4d, false, "pcap ns little-endian"}, {0xa1b23c4d, true, "pcap ns big-endian"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		be = v[i].be;
		len = 0;
		pcap_hdr(v[i].magic, 4, 1514, 1);
		pcap_rec(1700000000, 123456, 54, 54, 1);
		pcap_rec(1700000001, 999999, 200, 1514, 2);
		pcap_rec(0x80000001u, 0xfffffff0u, 60, 60, 3); /* past 2038, odd fraction */
		pcap_rec(5, 7, 1514, 1514, 4);
		save(len);
		same(v[i].name, 0, 4, 0);
		/* the first record's time as written, and that record's lengths */
		struct run a = reading(false, 0);
		char want[128];
		snprintf(want, sizeof want, "\n%llu 54 54 1 ",
			 1700000000ull * 1000000000ull +
				 (v[i].magic == 0xa1b23c4d ? 123456ull : 123456000ull));
		ok(strstr(a.t, want) != NULL, "%s: first record as written", v[i].name);
		free(a.t);
		for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++)
			same(v[i].name, pieces[k], 4, 0);
		is_int(every_cut(v[i].name, len), 0, "%s: cut at every byte, as libpcap", v[i].name);
	}

	/* a captured length over the snapshot length: libpcap's (it cuts it) */
	be = false;
	len = 0;
	pcap_hdr(0xa1b2c3d4, 4, 100, 1);
	pcap_rec(1, 0, 60, 60, 1);
	pcap_rec(2, 0, 150, 150, 2);
	pcap_rec(3, 0, 60, 60, 3);
	save(len);
	same("pcap caplen > snaplen", 0, 1, 1);
	same("pcap caplen > snaplen", 3, 1, 1);
	/* over the largest libpcap takes at all: its error */
	len = 0;
	pcap_hdr(0xa1b2c3d4, 4, 100, 1);
	pcap_rec(1, 0, 60, 60, 1);
	w32(2); w32(0); w32(300000); w32(300000);
	save(len);
	same("pcap absurd caplen", 0, 1, 1);
	/* ... also when the header's snapshot length is larger still (libpcap
	 * reports it as written, but takes no record over 262144 bytes): a
	 * record claiming 1 GiB is libpcap's error, not a 2 GiB buffer of ours
	 * (found by fuzz-ingest) */
	len = 0;
	pcap_hdr(0xa1b2c3d4, 4, 0x4000ffffu, 1);
	pcap_rec(1, 0, 60, 60, 1);
	w32(2); w32(0); w32(0x40000028u); w32(0x40000028u);
	for (int i = 0; i < 400; i++) w8('x');
	save(len);
	same("pcap snaplen 1 GiB, caplen 1 GiB", 0, 1, 1);
	/* ... and one of 300000 bytes that the file holds whole */
	len = 0;
	pcap_hdr(0xa1b2c3d4, 4, 0x4000ffffu, 1);
	pcap_rec(1, 0, 60, 60, 1);
	w32(2); w32(0); w32(300000); w32(300000);
	for (int i = 0; i < 300000; i++) w8((uint8_t)i);
	pcap_rec(3, 0, 60, 60, 3);
	save(len);
	same("pcap snaplen 1 GiB, caplen 300000 in the file", 0, 1, 1);
	/* version 2.3: libpcap's from the start */
	len = 0;
	pcap_hdr(0xa1b2c3d4, 3, 1514, 1);
	pcap_rec(1, 0, 60, 60, 1);
	save(len);
	same("pcap 2.3", 0, 0, 1);
	/* not a capture */
	len = 0;
	for (int i = 0; i < 40; i++) w8((uint8_t)i);
	save(len);
	same("not a capture", 0, 0, -1);
}

/* A pcapng with two sections: Ethernet and SLL (ns) interfaces, then raw IP
 * and Ethernet; `extra` appends a block after record 3 (1: an unknown
 * block, 2: an IDB with if_tsoffset). */
static size_t at_idb2_end, at_epb1, at_sect2;

static size_t ng_file(bool big, int extra)
{
	be = big;
	len = 0;
	shb();
	idb(1, 96, 0, false);
	idb(113, 0, 9, false);
	at_idb2_end = len;
	at_epb1 = len;
	epb(0, 1, 1700000000123456ull, 96, 1514, 1);
	epb(1, 113, 1700000000123456789ull, 70, 70, 2);
	epb(0, 1, 1700000001000000ull, 54, 54, 3);
	at_sect2 = len;
	if (extra == 1)
		other_block();
	if (extra == 2)
		idb(1, 96, 6, true);
	shb();
	idb(101, 0, 6, false);
	idb(1, 65535, 0, false);
	epb(1, 1, 1700000002000001ull, 80, 80, 4);
	epb(0, 101, 1700000002000002ull, 60, 60, 5);
	epb(1, 1, 1700000001999999ull, 62, 62, 6); /* back in time */
	epb(1, 1, 1700000001000000ull, 64, 64, 7);
	return len;
}

static void pcapng_cases(void)
{
	for (int b = 0; b < 2; b++) {
		const char *name = b ? "pcapng big-endian" : "pcapng little-endian";
		size_t n = ng_file(b, 0);
		save(n);
		same(name, 0, 7, 0);
		struct run a = reading(false, 0);
		ok(strstr(a.t, "\n1700000000123456000 96 1514 1 ") &&
			   strstr(a.t, "\n1700000000123456789 70 70 113 ") &&
			   strstr(a.t, " 60 60 101 ") && strstr(a.t, "mixed 1") &&
			   strstr(a.t, "\n1700000001999999000 62 62 1 ") &&
			   strstr(a.t, "\n1700000001000000000 64 64 1 "),
		   "%s: time stamps, lengths and link types as written", name);
		free(a.t);
		for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++)
			same(name, pieces[k], 7, 0);
		is_int(every_cut(name, n), 0, "%s: cut at every byte, as libpcap", name);
		save(ng_file(b, 1));
		same("pcapng with an unknown block", 0, 3, 1);
		same("pcapng with an unknown block", 5, 3, 1);
		save(ng_file(b, 2));
		same("pcapng with if_tsoffset", 0, 3, 1);
	}

	/* a block whose trailer disagrees: libpcap's error */
	size_t n = ng_file(false, 0);
	buf[at_idb2_end - 2] ^= 0x40; /* the SLL IDB's trailer */
	save(n);
	same("pcapng trailer mismatch", 0, 0, 1);
	/* a packet on an interface the section does not have */
	ng_file(false, 0);
	buf[at_epb1 + 8] = 7;
	save(n);
	same("pcapng unknown interface", 0, 0, 1);
	/* the second section in the other byte order: lrokit's message */
	ng_file(false, 0);
	be = true;
	len = at_sect2;
	shb();
	idb(1, 0, 0, false);
	epb(0, 1, 5, 60, 60, 9);
	save(len);
	struct run a = reading(false, 0);
	ok(strstr(a.t, "other byte order") != NULL, "pcapng byte order change: lrokit's message");
	free(a.t);
	same("pcapng byte order change", 0, 3, 1);
}

int main(void)
{
	int fd = mkstemp(path);
	if (fd < 0)
		bail("mkstemp");
	close(fd);
	pcap_cases();
	pcapng_cases();
	unlink(path);
	return done_testing();
}
