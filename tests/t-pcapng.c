/* Unit tests of lib/pcapng (the block walker) and of reading a pcapng whose
 * interfaces have different link types and snapshot lengths through
 * lib/pcapin: the bytes fed in pieces of every size give the same edits and
 * the same link type per packet; libpcap then reads every packet, each with
 * its interface's link type; streams the walker must leave alone. */
#include "lib/decode.h"
#include "lib/pcapin.h"
#include "lib/pcapng.h"
#include "tests/tap.h"

#include <pcap/dlt.h>
#include <stdint.h>
#include <unistd.h>

#define WB_CAP (8192)
#include "tests/helpers/wbytes.h"
static void shb(void)
{
	w32(0x0A0D0D0A); w32(28); w32(0x1A2B3C4D); w16(1); w16(0); w32(0xffffffff); w32(0xffffffff);
	w32(28);
}
static void idb(uint16_t lt, uint32_t snap)
{
	w32(1); w32(20); w16(lt); w16(0); w32(snap); w32(20);
}
/* an unknown block type (skipped by its length) */
static void other(void)
{
	w32(0x0BAD); w32(16); w32(0x12345678); w32(16);
}

/* A TCP/IP packet framed for link type lt (1 Ethernet, 113 SLL, 0 loopback,
 * 101 raw) into p; its length. */
static size_t frame(uint16_t lt, uint8_t *p)
{
	static const uint8_t ip[40] = {
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
	size_t h = 0;
	memset(p, 0, 16);
	switch (lt) {
	case 1: p[12] = 0x08; h = 14; break;
	case 113: p[14] = 0x08; h = 16; break;
	case 0: p[0] = 2; h = 4; break;
	default: h = 0; break;
	}
	memcpy(p + h, ip, sizeof ip);
	return h + sizeof ip;
}
static void epb(uint32_t ifid, uint16_t lt)
{
	uint8_t f[64];
	size_t n = frame(lt, f);
	uint32_t bl = 32 + (uint32_t)((n + 3) & ~3u);
	w32(6); w32(bl); w32(ifid); w32(0); w32(1000); w32((uint32_t)n); w32((uint32_t)n);
	for (size_t i = 0; i < n; i++) w8(f[i]);
	while (n & 3) { w8(0); n++; }
	w32(bl);
}
static void spb_cut(uint16_t lt, size_t cut)
{
	uint8_t f[64];
	size_t orig = frame(lt, f), n = cut < orig ? cut : orig;
	uint32_t bl = 16 + (uint32_t)((n + 3) & ~3u);
	w32(3); w32(bl); w32((uint32_t)orig);
	for (size_t i = 0; i < n; i++) w8(f[i]);
	while (n & 3) { w8(0); n++; }
	w32(bl);
}
static void spb(uint16_t lt)
{
	uint8_t f[64];
	size_t n = frame(lt, f);
	uint32_t bl = 16 + (uint32_t)((n + 3) & ~3u);
	w32(3); w32(bl); w32((uint32_t)n);
	for (size_t i = 0; i < n; i++) w8(f[i]);
	while (n & 3) { w8(0); n++; }
	w32(bl);
}

/* Walk a copy (out) of buf[0..len) arriving in pieces of `step` bytes (0:
 * pieces of sizes 1, 2, 3...), bytes the walker holds back coming again with
 * the next piece; the link types (and length fixes) of `npk` packets. */
static struct lk_ngwalk *walk(size_t step, uint8_t *out, int *lts, uint32_t *lens, int npk)
{
	struct lk_ngwalk *w = lk_ngwalk_new();
	memcpy(out, buf, len);
	size_t k = 1, pos = 0, end = 0;
	while (pos < len) {
		size_t n = step ? step : k++;
		end = end + n > len ? len : end + n;
		pos += lk_ngwalk_feed(w, out + pos, end - pos, end == len);
	}
	for (int i = 0; i < npk; i++) {
		uint32_t l;
		lts[i] = lk_ngwalk_take(w, &l);
		if (lens)
			lens[i] = l;
	}
	return w;
}

static uint16_t rd16(const uint8_t *p) { return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]); }
static uint32_t rd32(const uint8_t *p)
{
	return be ? (uint32_t)rd16(p) << 16 | rd16(p + 2) : (uint32_t)rd16(p + 2) << 16 | rd16(p);
}

/* a file of buf, read by lk_pcap: records and their link types */
static int read_file(const char *path, int *dlts, int max, uint32_t *snap, bool *mixed)
{
	FILE *f = fopen(path, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
	struct lk_pcap *r;
	struct lk_err e;
	if (lk_pcap_open(path, &r, &e) < 0) {
		diag("%s", e.msg);
		return -1;
	}
	const struct pcap_pkthdr *h;
	const uint8_t *d;
	int n = 0, rc;
	while ((rc = lk_pcap_next(r, &h, &d, &e)) == 1) {
		struct lk_pkt p;
		int dlt = lk_pcap_rec_dlt(r);
		if (n < max)
			dlts[n] = lk_decode(dlt, d, h->caplen, h->len, &p) == LK_DEC_TCP ? dlt : -dlt - 1;
		n++;
	}
	if (rc < 0)
		diag("%s", e.msg);
	*snap = lk_pcap_snaplen(r);
	*mixed = lk_pcap_mixed_links(r);
	lk_pcap_close(r);
	return rc < 0 ? -1 : n;
}

int main(void)
{
	char path[] = "/tmp/t-pcapng.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		skip_all("no temporary file");
	close(fd);
	for (int order = 0; order < 2; order++) {
		be = order;
		len = 0;
		/* section 1: Ethernet (snaplen 96), Linux cooked (65535), packets on
		 * both, an SPB (interface 0), an unknown block; section 2:
		 * loopback, raw IP */
		shb(); idb(1, 96); idb(113, 65535);
		epb(0, 1); epb(1, 113); other(); spb(1); epb(1, 113);
		shb(); idb(0, 128); idb(101, 262144); epb(1, 101); epb(0, 0);
		static const int want[] = {1, 113, 1, 113, 101, 0};
		const char *ord = be ? "big-endian" : "little-endian";
		static uint8_t ref[8192], out[8192];
		int lts[6];
		struct lk_ngwalk *w = walk(len, ref, lts, NULL, 6);
		ok(lk_ngwalk_active(w) && lk_ngwalk_mixed(w) && !lk_ngwalk_order_changed(w),
		   "%s: pcapng, mixed link types", ord);
		ok(!memcmp(lts, want, sizeof want), "%s: link types of the 6 packets in order", ord);
		uint32_t l7;
		is_int(lk_ngwalk_take(w, &l7), -1, "%s: no 7th packet", ord);
		ok(lk_ngwalk_first_linktype(w) == 1 && lk_ngwalk_first_snaplen(w) == 96,
		   "%s: the first interface: Ethernet, snaplen 96", ord);
		lk_ngwalk_free(w);
		/* the edits: IDBs at 28, 48 (section 1) and after section 2's SHB */
		ok(rd16(ref + 28 + 8) == 1 && rd32(ref + 28 + 12) == 0 && rd16(ref + 48 + 8) == 1 &&
		   rd32(ref + 48 + 12) == 0, "%s: interfaces: the first one's link type, snaplen 0", ord);
		size_t diff = 0;
		for (size_t i = 0; i < len; i++)
			diff += ref[i] != buf[i];
		/* bytes that change: snaplen 96 (1 byte); 113 -> 1 (1), 65535 (2);
		 * 0 -> 1 (1), 128 (1); 101 -> 1 (1), 262144 (1) */
		ok(diff == 8, "%s: nothing else changed (%zu bytes differ)", ord, diff);
		/* pieces of every size: the same */
		bool same = true;
		for (size_t step = 0; step <= 40 && same; step++) {
			w = walk(step, out, lts, NULL, 6);
			same = !memcmp(out, ref, len) && !memcmp(lts, want, sizeof want);
			lk_ngwalk_free(w);
		}
		ok(same, "%s: fed in pieces of 1..40 bytes (and growing pieces): the same", ord);
		/* through libpcap (sections of one byte order) */
		int dlts[8];
		uint32_t snap;
		bool mixed;
		int n = read_file(path, dlts, 8, &snap, &mixed);
		ok(n == 6 && dlts[0] == DLT_EN10MB && dlts[1] == DLT_LINUX_SLL && dlts[2] == DLT_EN10MB &&
		   dlts[3] == DLT_LINUX_SLL && dlts[4] == 101 && dlts[5] == DLT_NULL,
		   "%s: lk_pcap reads all 6 packets, each decoded by its interface's link type", ord);
		ok(snap == 96 && mixed, "%s: snaplen of the first interface (96), mixed", ord);
	}
	/* a section in the other byte order: valid pcapng libpcap cannot read */
	be = false;
	len = 0;
	shb(); idb(1, 65535); epb(0, 1);
	be = true;
	shb(); idb(1, 65535); epb(0, 1);
	static uint8_t out[8192];
	int lts[2];
	struct lk_ngwalk *w = walk(7, out, lts, NULL, 2);
	ok(lk_ngwalk_order_changed(w) && lts[0] == 1 && lts[1] == 1, "a section in the other byte order is noticed");
	lk_ngwalk_free(w);
	int dlts[4];
	uint32_t snap;
	bool mixed;
	is_int(read_file(path, dlts, 4, &snap, &mixed), -1, "  ... and refused by lk_pcap_next");
	/* SPBs cut by interface 0's snapshot length (40 of 54 bytes) */
	len = 0;
	shb(); idb(1, 40); idb(113, 65535); spb_cut(1, 40); epb(1, 113); spb_cut(1, 40);
	uint32_t lens[3];
	int lt3[3];
	w = walk(9, out, lt3, lens, 3);
	ok(lt3[0] == 1 && lt3[1] == 113 && lt3[2] == 1 && lens[0] == 54 && lens[1] == 0 && lens[2] == 54,
	   "SPB cut by the snapshot length: its original length comes with the packet");
	lk_ngwalk_free(w);
	{
		FILE *f = fopen(path, "wb");
		fwrite(buf, 1, len, f);
		fclose(f);
		struct lk_pcap *r;
		struct lk_err e;
		int n = 0, good = 0;
		if (lk_pcap_open(path, &r, &e) == 0) {
			const struct pcap_pkthdr *h;
			const uint8_t *d;
			/* the EPB: a Linux cooked frame of 56 bytes */
			static const uint32_t cl[3] = {40, 56, 40}, wl[3] = {54, 56, 54};
			while (lk_pcap_next(r, &h, &d, &e) == 1) {
				good += n < 3 && h->caplen == cl[n] && h->len == wl[n];
				n++;
			}
			lk_pcap_close(r);
		}
		ok(n == 3 && good == 3, "  ... through libpcap: 40 of 54 bytes, 56 of 56, 40 of 54");
	}
	/* left alone: classic pcap, a block length libpcap rejects */
	len = 0;
	w32(0xa1b2c3d4); w16(2); w16(4); w32(0); w32(0); w32(65535); w32(1);
	w = walk(3, out, lts, NULL, 1);
	ok(!lk_ngwalk_active(w) && !memcmp(out, buf, len) && lts[0] == -1, "classic pcap: left alone");
	lk_ngwalk_free(w);
	len = 0;
	shb(); idb(1, 65535); w32(6); w32(13); w32(0); idb(113, 65535);
	w = walk(5, out, lts, NULL, 1);
	ok(!lk_ngwalk_active(w) && rd16(out + 28 + 8) == 1 && rd16(out + 60 + 8) == 113,
	   "a block length not a multiple of 4: the walker stops, later interfaces unedited");
	lk_ngwalk_free(w);
	unlink(path);
	return done_testing();
}
