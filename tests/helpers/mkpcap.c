/* mkpcap - the malformed-capture corpus, and fuzz seeds.
 *
 *   mkpcap DIR                 write one file per case, DIR/CASE.pcap (pcap or
 *                              pcapng inside, whatever the case needs), and
 *                              print one line per case on stdout:
 *
 *       CASE EXPECT RECORDS TCP MESSAGE...
 *
 *     EXPECT   "error" (exit 1, nothing stored), "warn" (exit 0, exactly one
 *              warning line) or "ok" (exit 0, no output on stderr);
 *     RECORDS  capture records `lrokit analyze` reads ("-" for errors);
 *     TCP      of which analyzed TCP segments ("-" for errors);
 *     MESSAGE  the exact text of the one stderr line after "lrokit: error: FILE: "
 *              or "lrokit: warning: FILE: " (empty for "ok").
 *
 *   mkpcap --frames OUT IN.pcap  convert a classic pcap file (any byte order)
 *                              to the frame stream of fuzz/frames.h (seed for
 *                              fuzz-decode and fuzz-acks).
 *
 * Every good frame is a valid Ethernet/IPv4/TCP segment (correct IPv4 header
 * checksum) of one small connection 10.0.0.1:40000 <-> 10.0.0.2:80; every
 * bad case breaks exactly one thing: each pcap and pcapng header field
 * (magic, version, snaplen, link type, record lengths; block types and
 * lengths, SHB byte order and version, IDB link type, EPB interface and
 * lengths) and each Ethernet, VLAN, Linux cooked, loopback, IPv4, IPv6 and
 * TCP header field in the ways that matter. The bad record of a record-level
 * case is appended after the 3 good records (SYN, SYN/ACK, data), so the
 * good rest must still be analyzed and stored.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- output: little-endian by default, big-endian when `be` ---- */
static FILE *out;
static bool be;

static void w8(uint8_t v) { fputc(v, out); }
static void w16(uint16_t v)
{
	if (be) v = htons(v);
	fwrite(&v, 2, 1, out);
}
static void w32(uint32_t v)
{
	if (be) v = htonl(v);
	fwrite(&v, 4, 1, out);
}
static void wbytes(const void *p, size_t n) { fwrite(p, 1, n, out); }
static void wpad(size_t n) { while (n & 3) { w8(0); n++; } }

/* ---- classic pcap ---- */
static void pcap_hdr_full(uint32_t magic, uint16_t vmaj, uint16_t vmin, uint32_t snap,
			  uint32_t linktype)
{
	w32(magic); w16(vmaj); w16(vmin); w32(0); w32(0); w32(snap); w32(linktype);
}
static void file_hdr(uint32_t linktype, uint32_t snap)
{
	pcap_hdr_full(0xa1b2c3d4, 2, 4, snap, linktype);
}
static void rec_full(uint32_t sec, uint32_t frac, const uint8_t *d, uint32_t caplen,
		     uint32_t len, uint32_t write_n)
{
	w32(sec); w32(frac); w32(caplen); w32(len);
	wbytes(d, write_n);
}
static void rec(uint32_t sec, const uint8_t *d, uint32_t n) { rec_full(sec, 0, d, n, n, n); }

/* ---- frames ---- */
static uint16_t csum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1) s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static void ip4_fix_csum(uint8_t *ip)
{
	unsigned ihl = (ip[0] & 15u) * 4u;
	ip[10] = ip[11] = 0;
	put16(ip + 10, csum(ip, ihl, 0));
}

/* Ethernet + IPv4 + TCP. opts/olen: TCP options (olen a multiple of 4 unless testing). */
static size_t frame(uint8_t *b, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
		    const uint8_t *opts, unsigned olen, unsigned plen)
{
	memset(b, 0, 14 + 20 + 60 + plen);
	b[0] = 0x02; b[5] = dir ? 1 : 2; b[6] = 0x02; b[11] = dir ? 2 : 1;
	b[12] = 0x08; b[13] = 0x00;
	uint8_t *ip = b + 14;
	unsigned thl = 20 + olen;
	ip[0] = 0x45; ip[6] = 0x40; ip[8] = 64; ip[9] = 6;
	put16(ip + 2, 20 + thl + plen);
	uint8_t a[4] = {10, 0, 0, 1}, c[4] = {10, 0, 0, 2};
	memcpy(ip + 12, dir ? c : a, 4); memcpy(ip + 16, dir ? a : c, 4);
	ip4_fix_csum(ip);
	uint8_t *t = ip + 20;
	put16(t, dir ? 80 : 40000); put16(t + 2, dir ? 40000 : 80);
	put32(t + 4, seq); put32(t + 8, ack);
	t[12] = (uint8_t)((thl / 4) << 4); t[13] = flags; t[14] = 0xff; t[15] = 0xff;
	if (olen) memcpy(t + 20, opts, olen);
	memset(t + thl, 'x', plen);
	return 14 + 20 + thl + plen;
}

/* The 4th segment of the good exchange (an ACK from the server), the one
 * the record-level cases break. */
static size_t ack4(uint8_t *b) { return frame(b, 1, 5001, 1101, 0x10, NULL, 0, 0); }

/* Ethernet + IPv6 + TCP: ext/extlen extension headers, first_nh their type. */
static size_t frame6(uint8_t *b, const uint8_t *ext, unsigned extlen, uint8_t first_nh,
		     unsigned plen)
{
	memset(b, 0, 14 + 40 + extlen + 20 + plen);
	b[0] = 0x02; b[5] = 1; b[6] = 0x02; b[11] = 2;
	b[12] = 0x86; b[13] = 0xdd;
	uint8_t *ip = b + 14;
	ip[0] = 0x60; ip[6] = extlen ? first_nh : 6; ip[7] = 64;
	ip[8] = 0xfd; ip[23] = 1; ip[24] = 0xfd; ip[39] = 2;
	if (extlen) memcpy(ip + 40, ext, extlen);
	put16(ip + 4, extlen + 20 + plen);
	uint8_t *t = ip + 40 + extlen;
	put16(t, 40000); put16(t + 2, 80); put32(t + 4, 1001); put32(t + 8, 5001);
	t[12] = 5 << 4; t[13] = 0x18; t[14] = 0xff; t[15] = 0xff;
	memset(t + 20, 'x', plen);
	return 14 + 40 + extlen + 20 + plen;
}

/* Insert a VLAN tag (TPID, VID) after the MAC addresses. */
static size_t add_vlan(uint8_t *b, size_t n, uint16_t tpid, uint16_t vid)
{
	memmove(b + 16, b + 12, n - 12);
	put16(b + 12, tpid); put16(b + 14, vid);
	return n + 4;
}

/* Re-wrap an Ethernet frame for another link type. */
enum wrap { W_ETH, W_SLL, W_SLL2, W_NULL, W_RAW };
static size_t rewrap(uint8_t *b, size_t n, enum wrap w)
{
	uint8_t tmp[2100];
	size_t ipn = n - 14;
	uint16_t et = (uint16_t)(b[12] << 8 | b[13]);
	memcpy(tmp, b + 14, ipn);
	switch (w) {
	case W_ETH: return n;
	case W_SLL: /* packet type, ARPHRD_ETHER, addr len 6, addr[8], protocol */
		memset(b, 0, 16); b[3] = 1; b[5] = 6; b[6] = 0x02; b[11] = 1; put16(b + 14, et);
		memcpy(b + 16, tmp, ipn); return 16 + ipn;
	case W_SLL2: /* protocol, reserved, ifindex, ARPHRD_ETHER, pkttype, addr len, addr[8] */
		memset(b, 0, 20); put16(b, et); b[7] = 2; b[9] = 1; b[11] = 6; b[12] = 0x02;
		memcpy(b + 20, tmp, ipn); return 20 + ipn;
	case W_NULL: { /* AF_INET in the capturing host's byte order (little-endian here) */
		uint32_t fam = 2;
		memcpy(b, &fam, 4); memcpy(b + 4, tmp, ipn); return 4 + ipn;
	}
	case W_RAW: memcpy(b, tmp, ipn); return ipn;
	}
	return n;
}

/* a 3-packet good exchange: SYN, SYN/ACK, data (100 bytes) */
static void good_w(enum wrap w)
{
	uint8_t b[2100];
	size_t n = rewrap(b, frame(b, 0, 1000, 0, 0x02, NULL, 0, 0), w); rec(1, b, (uint32_t)n);
	n = rewrap(b, frame(b, 1, 5000, 1001, 0x12, NULL, 0, 0), w); rec(1, b, (uint32_t)n);
	n = rewrap(b, frame(b, 0, 1001, 5001, 0x18, NULL, 0, 100), w); rec(2, b, (uint32_t)n);
}
static void good(void) { good_w(W_ETH); }

/* ---- pcapng ---- */
static void shb_full(uint32_t bom, uint16_t vmaj, uint32_t len_lead, uint32_t len_trail)
{
	w32(0x0A0D0D0A); w32(len_lead); w32(bom); w16(vmaj); w16(0);
	w32(0xffffffff); w32(0xffffffff); /* section length unknown */
	w32(len_trail);
}
static void shb(void) { shb_full(0x1A2B3C4D, 1, 28, 28); }
/* IDB; tsresol: 0 = no option (microseconds), else the if_tsresol byte */
static void idb(uint16_t linktype, uint32_t snap, uint8_t tsresol)
{
	uint32_t len = 20 + (tsresol ? 12 : 0);
	w32(1); w32(len); w16(linktype); w16(0); w32(snap);
	if (tsresol) { w16(9); w16(1); w8(tsresol); w8(0); w8(0); w8(0); w16(0); w16(0); }
	w32(len);
}
static void epb_full(uint32_t ifid, uint64_t ts, const uint8_t *d, uint32_t caplen,
		     uint32_t origlen, uint32_t write_n, uint32_t len_lead, uint32_t len_trail)
{
	w32(6); w32(len_lead); w32(ifid); w32((uint32_t)(ts >> 32)); w32((uint32_t)ts);
	w32(caplen); w32(origlen); wbytes(d, write_n); wpad(write_n);
	w32(len_trail);
}
static uint32_t epb_len(uint32_t n) { return 32 + ((n + 3) & ~3u); }
static void epb(uint64_t ts, const uint8_t *d, uint32_t n)
{
	epb_full(0, ts, d, n, n, n, epb_len(n), epb_len(n));
}
static void ng_good(void)
{
	uint8_t b[2100];
	uint64_t t = 1700000000ull * 1000000ull;
	size_t n = frame(b, 0, 1000, 0, 0x02, NULL, 0, 0); epb(t, b, (uint32_t)n);
	n = frame(b, 1, 5000, 1001, 0x12, NULL, 0, 0); epb(t + 10, b, (uint32_t)n);
	n = frame(b, 0, 1001, 5001, 0x18, NULL, 0, 100); epb(t + 20, b, (uint32_t)n);
}

/* ---- cases ---- */
static const char *dir;

static void begin(const char *name, const char *expect, const char *records, const char *tcp,
		  const char *msg)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s.pcap", dir, name);
	out = fopen(p, "wb");
	if (!out) { perror(p); exit(1); }
	be = false;
	printf("%s %s %s %s %s\n", name, expect, records, tcp, msg);
}
static void end(void)
{
	if (fclose(out) != 0) { perror("mkpcap"); exit(1); }
}

/* error case: nothing analyzed */
#define ERR(name, msg) begin(name, "error", "-", "-", msg)
/* a record-level case: the 3 good records + the broken 4th */
static void bad4(const char *name, const char *expect, const char *tcp, const char *msg,
		 const uint8_t *b, size_t n)
{
	begin(name, expect, "4", tcp, msg);
	file_hdr(1, 65535); good(); rec(3, b, (uint32_t)n); end();
}
static void skip4(const char *name, const char *reason, const uint8_t *b, size_t n)
{
	char msg[256];
	snprintf(msg, sizeof msg, "skipped 1 of 4 records (1 %s)", reason);
	bad4(name, "warn", "3", msg, b, n);
}

/* the link types of `lrokit analyze` (lk_dlt_list) */
#define SUPPORTED "Ethernet (with 802.1Q/QinQ, MPLS, PPPoE, 802.2 LLC), Linux cooked v1/v2, " \
	"raw IPv4/IPv6, BSD loopback, FDDI, Token Ring, ATM (LLC/SNAP), PPP, PPP in HDLC " \
	"framing, Cisco HDLC, PPPoE, SLIP, 802.11 (plain, radiotap, Prism)"

static void corpus(void)
{
	uint8_t b[2100];
	static uint8_t big[80000];
	size_t n;

	/* ---------- classic pcap: file header ---------- */
	ERR("empty", "empty file (no capture header)"); end();
	ERR("not-a-capture", "not a pcap or pcapng capture (unknown file format)");
	fputs("this is not a capture file\n", out); end();
	ERR("trunc-file-header", "truncated file header (truncated dump file; tried to read 24 file "
	    "header bytes, only got 2)");
	w32(0xa1b2c3d4); w16(2); end();
	ERR("pcap-bad-magic", "not a pcap or pcapng capture (unknown file format)");
	pcap_hdr_full(0xa1b2c3d5, 2, 4, 65535, 1); good(); end();
	ERR("pcap-version-major", "cannot read capture: unsupported pcap savefile version 3.4");
	pcap_hdr_full(0xa1b2c3d4, 3, 4, 65535, 1); good(); end();
	ERR("pcap-version-old", "cannot read capture: archaic pcap savefile format");
	pcap_hdr_full(0xa1b2c3d4, 1, 0, 65535, 1); good(); end();
	ERR("unknown-linktype", "unsupported link type 147 (unknown); supported: " SUPPORTED);
	file_hdr(147, 65535); good(); end();
	ERR("pcap-linktype-huge", "unsupported link type 65000 (unknown); supported: " SUPPORTED);
	file_hdr(65000, 65535); good(); end();
	/* good variants of the header fields: must be read as they are */
	begin("good", "ok", "3", "3", ""); file_hdr(1, 65535); good(); end();
	begin("pcap-big-endian", "ok", "3", "3", ""); be = true; file_hdr(1, 65535); good(); end();
	begin("pcap-nsec", "ok", "3", "3", ""); pcap_hdr_full(0xa1b23c4d, 2, 4, 65535, 1); good(); end();
	begin("pcap-thiszone-sigfigs", "ok", "3", "3", "");
	w32(0xa1b2c3d4); w16(2); w16(4); w32(0xfffff1f0); w32(7); w32(65535); w32(1); good(); end();
	begin("pcap-snaplen-zero", "ok", "3", "3", ""); file_hdr(1, 0); good(); end();
	begin("pcap-snaplen-huge", "ok", "3", "3", ""); file_hdr(1, 0xffffffffu); good(); end();
	begin("pcap-linktype-fcs-bits", "ok", "3", "3", ""); file_hdr(0x00000001u | 0x04000000u, 65535);
	good(); end();
	/* snaplen smaller than the records: libpcap cuts each record to it */
	begin("pcap-snaplen-small", "warn", "3", "0",
	      "no TCP segments; skipped 3 of 3 records (3 TCP header not captured)");
	file_hdr(1, 40); good(); end();
	begin("linktype-sll", "ok", "3", "3", ""); file_hdr(113, 65535); good_w(W_SLL); end();
	begin("linktype-sll2", "ok", "3", "3", ""); file_hdr(276, 65535); good_w(W_SLL2); end();
	begin("linktype-null", "ok", "3", "3", ""); file_hdr(0, 65535); good_w(W_NULL); end();
	begin("linktype-raw", "ok", "3", "3", ""); file_hdr(101, 65535); good_w(W_RAW); end();
	begin("linktype-ipv4", "ok", "3", "3", ""); file_hdr(228, 65535); good_w(W_RAW); end();
	/* Ethernet frames under a raw-IP link type: no TCP, said so */
	begin("linktype-wrong", "warn", "3", "0",
	      "no TCP segments; skipped 3 of 3 records (3 IP version not 4 or 6)");
	file_hdr(101, 65535); good(); end();
	begin("no-records", "warn", "0", "0", "the capture holds no records");
	file_hdr(1, 65535); end();

	/* ---------- classic pcap: record header ---------- */
	begin("trunc-last-record", "warn", "3", "3",
	      "last record truncated (file cut short); analyzed the 3 complete records");
	file_hdr(1, 65535); good();
	n = ack4(b); rec_full(3, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n / 2); end();
	begin("trunc-last-record-header", "warn", "3", "3",
	      "last record truncated (file cut short); analyzed the 3 complete records");
	file_hdr(1, 65535); good(); w32(3); w32(0); end();
	ERR("absurd-caplen", "corrupt record after record 3: invalid packet capture length "
	    "2147483632, bigger than snaplen of 65535");
	file_hdr(1, 65535); good();
	rec_full(3, 0, b, 0x7ffffff0u, 0x7ffffff0u, 64); end();
	ERR("record-caplen-over-max", "corrupt record after record 3: invalid packet capture "
	    "length 262145, bigger than snaplen of 65535");
	file_hdr(1, 65535); good();
	rec_full(3, 0, b, 262145, 262145, 64); end();
	n = ack4(b);
	begin("record-caplen-zero", "warn", "4", "3",
	      "skipped 1 of 4 records (1 malformed link-layer header)");
	file_hdr(1, 65535); good(); rec_full(3, 0, b, 0, (uint32_t)n, 0); end();
	/* original length smaller than captured / zero: the captured bytes are
	 * what is analyzed (lengths come from the IP header) */
	begin("record-len-lt-caplen", "ok", "4", "4", "");
	file_hdr(1, 65535); good(); rec_full(3, 0, b, (uint32_t)n, 20, (uint32_t)n); end();
	begin("record-len-zero", "ok", "4", "4", "");
	file_hdr(1, 65535); good(); rec_full(3, 0, b, (uint32_t)n, 0, (uint32_t)n); end();
	/* microseconds field out of range, time going backwards: kept as is */
	begin("record-usec-overflow", "ok", "4", "4", "");
	file_hdr(1, 65535); good(); rec_full(3, 2000000, b, (uint32_t)n, (uint32_t)n, (uint32_t)n); end();
	begin("record-time-backwards", "ok", "4", "4", "");
	file_hdr(1, 65535); good(); rec_full(0, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n); end();

	/* ---------- pcapng ---------- */
	begin("pcapng-good", "ok", "3", "3", ""); shb(); idb(1, 65535, 0); ng_good(); end();
	begin("pcapng-big-endian", "ok", "3", "3", ""); be = true; shb(); idb(1, 65535, 0); ng_good(); end();
	begin("pcapng-tsresol-ns", "ok", "3", "3", ""); shb(); idb(1, 65535, 9); ng_good(); end();
	begin("pcapng-idb-snaplen-zero", "ok", "3", "3", ""); shb(); idb(1, 0, 0); ng_good(); end();
	begin("pcapng-unknown-block", "ok", "3", "3", ""); shb(); idb(1, 65535, 0);
	w32(0x00000BAD); w32(16); w32(0x12345678); w32(16); ng_good(); end();
	begin("pcapng-spb", "ok", "3", "3", ""); shb(); idb(1, 65535, 0);
	{
		uint8_t g[3][200];
		size_t gn[3] = {frame(g[0], 0, 1000, 0, 0x02, NULL, 0, 0),
				frame(g[1], 1, 5000, 1001, 0x12, NULL, 0, 0),
				frame(g[2], 0, 1001, 5001, 0x18, NULL, 0, 100)};
		for (int i = 0; i < 3; i++) {
			uint32_t bl = 16 + (((uint32_t)gn[i] + 3) & ~3u);
			w32(3); w32(bl); w32((uint32_t)gn[i]); wbytes(g[i], gn[i]); wpad(gn[i]); w32(bl);
		}
	}
	end();
	/* SPBs of a capture with snaplen 80: the data frame (154 bytes) cut */
	begin("pcapng-spb-snaplen", "ok", "3", "3", ""); shb(); idb(1, 80, 0);
	{
		uint8_t g[3][200];
		size_t gn[3] = {frame(g[0], 0, 1000, 0, 0x02, NULL, 0, 0),
				frame(g[1], 1, 5000, 1001, 0x12, NULL, 0, 0),
				frame(g[2], 0, 1001, 5001, 0x18, NULL, 0, 100)};
		for (int i = 0; i < 3; i++) {
			uint32_t cl = gn[i] < 80 ? (uint32_t)gn[i] : 80;
			uint32_t bl = 16 + ((cl + 3) & ~3u);
			w32(3); w32(bl); w32((uint32_t)gn[i]); wbytes(g[i], cl); wpad(cl); w32(bl);
		}
	}
	end();
	/* a second section, and an interface described after packets */
	begin("pcapng-two-sections", "ok", "6", "6", ""); shb(); idb(1, 65535, 0); ng_good();
	shb(); idb(1, 65535, 0); ng_good(); end();
	/* a second section of the other byte order: valid pcapng, but libpcap
	 * reads its header in the first section's order */
	{
		char m[4096];
		snprintf(m, sizeof m, "a pcapng section after record 3 is in the other byte order than "
			 "the first; libpcap cannot read that (rewrite the file in one byte order: "
			 "editcap -F pcapng %s/pcapng-section-byte-order.pcap OUT.pcapng)", dir);
		ERR("pcapng-section-byte-order", m);
	}
	shb(); idb(1, 65535, 0); ng_good(); be = true; shb(); idb(1, 65535, 0); ng_good(); end();
	begin("pcapng-late-idb", "ok", "4", "4", ""); shb(); idb(1, 65535, 0); ng_good();
	idb(1, 65535, 0); n = ack4(b);
	epb_full(1, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n, epb_len((uint32_t)n), epb_len((uint32_t)n));
	end();
	ERR("pcapng-epb-trailer-mismatch", "corrupt record after record 3: block total length in "
	    "header and trailer don't match");
	shb(); idb(1, 65535, 0); ng_good();
	n = ack4(b); epb_full(0, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n, epb_len((uint32_t)n), 4);
	end();
	ERR("pcapng-bad-byte-order", "not a pcap or pcapng capture (unknown file format)");
	shb_full(0x1A2B3C4E, 1, 28, 28); idb(1, 65535, 0); ng_good(); end();
	ERR("pcapng-shb-version", "cannot read capture: unsupported pcapng savefile version 2.0");
	shb_full(0x1A2B3C4D, 2, 28, 28); idb(1, 65535, 0); ng_good(); end();
	ERR("pcapng-shb-len-short", "cannot read capture: Section Header Block in pcapng dump "
	    "file has invalid length 28 < _12_ < 1048576 (BT_SHB_INSANE_MAX)");
	shb_full(0x1A2B3C4D, 1, 12, 12); idb(1, 65535, 0); ng_good(); end();
	ERR("pcapng-shb-len-unaligned", "truncated file header (truncated pcapng dump file; "
	    "tried to read 16777208 bytes, only got 375)");
	shb_full(0x1A2B3C4D, 1, 29, 29); idb(1, 65535, 0); ng_good(); end();
	ERR("pcapng-shb-len-huge", "cannot read capture: Section Header Block in pcapng dump "
	    "file has invalid length 28 < _4294967292_ < 1048576 (BT_SHB_INSANE_MAX)");
	shb_full(0x1A2B3C4D, 1, 0xfffffffc, 28); idb(1, 65535, 0); ng_good(); end();
	ERR("pcapng-no-idb", "cannot read capture: the capture file has a packet block "
	    "before any Interface Description Blocks");
	shb(); ng_good(); end();
	ERR("pcapng-idb-linktype", "unsupported link type 147 (unknown); supported: " SUPPORTED);
	shb(); idb(147, 65535, 0); ng_good(); end();
	/* interfaces of different link types and snapshot lengths (mergecap):
	 * libpcap 1.10 refuses them, lrokit reads each packet by its interface */
	begin("pcapng-mixed-linktypes", "ok", "4", "4", ""); shb(); idb(1, 65535, 0);
	idb(0, 96, 0); ng_good(); n = rewrap(b, ack4(b), W_NULL);
	epb_full(1, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n, epb_len((uint32_t)n),
		 epb_len((uint32_t)n)); end();
	begin("pcapng-mixed-snaplen", "ok", "4", "4", ""); shb(); idb(1, 96, 0);
	idb(1, 65535, 0); ng_good(); n = frame(b, 1, 5001, 1101, 0x18, NULL, 0, 300);
	epb_full(1, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n, epb_len((uint32_t)n),
		 epb_len((uint32_t)n)); end();
	begin("pcapng-mixed-unsupported", "warn", "4", "3",
	      "skipped 1 of 4 records (1 unsupported link type)"); shb(); idb(1, 65535, 0);
	idb(147, 65535, 0); ng_good(); n = ack4(b);
	epb_full(1, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n, epb_len((uint32_t)n),
		 epb_len((uint32_t)n)); end();
	ERR("pcapng-epb-ifid", "corrupt record after record 0: a packet arrived on interface 5, "
	    "but there's no Interface Description Block for that interface");
	shb(); idb(1, 65535, 0);
	n = ack4(b); epb_full(5, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n, epb_len((uint32_t)n),
			      epb_len((uint32_t)n)); end();
	ERR("pcapng-epb-caplen-over-block", "corrupt record after record 3: block of type 6 in pcapng "
	    "dump file is too short");
	shb(); idb(1, 65535, 0); ng_good();
	n = ack4(b); epb_full(0, 0, b, (uint32_t)n + 400, (uint32_t)n + 400, (uint32_t)n,
			      epb_len((uint32_t)n), epb_len((uint32_t)n)); end();
	ERR("pcapng-epb-len-unaligned", "corrupt record after record 3: block in pcapng dump file "
	    "has a length of 91 that is not a multiple of 4");
	shb(); idb(1, 65535, 0); ng_good();
	n = ack4(b); epb_full(0, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n, epb_len((uint32_t)n) + 3,
			      epb_len((uint32_t)n)); end();
	ERR("pcapng-epb-len-short", "corrupt record after record 3: block in pcapng dump file has "
	    "a length of 8 < 12");
	shb(); idb(1, 65535, 0); ng_good();
	n = ack4(b); epb_full(0, 0, b, (uint32_t)n, (uint32_t)n, (uint32_t)n, 8, 8); end();
	ERR("pcapng-epb-caplen-over-max", "corrupt record after record 3: invalid packet capture "
	    "length 300000, bigger than snaplen of 262144");
	shb(); idb(1, 65535, 0); ng_good();
	{
		static uint8_t z[300000];
		epb_full(0, 0, z, 300000, 300000, 300000, epb_len(300000), epb_len(300000));
	}
	end();
	begin("pcapng-trunc-last-block", "warn", "3", "3",
	      "last record truncated (file cut short); analyzed the 3 complete records");
	shb(); idb(1, 65535, 0); ng_good();
	n = ack4(b); w32(6); w32(epb_len((uint32_t)n)); w32(0); w32(0); end();

	/* ---------- Ethernet, VLAN, link layers ---------- */
	n = ack4(b); skip4("eth-short", "malformed link-layer header", b, 10);
	n = ack4(b); b[12] = 0x08; b[13] = 0x06; skip4("eth-arp", "not IP", b, n);
	n = ack4(b); b[12] = 0x88; b[13] = 0xcc; skip4("eth-lldp", "not IP", b, n);
	/* EtherType IPv6 on an IPv4 packet: the decoder goes by the IP version
	 * nibble, so this is analyzed as IPv4 */
	n = ack4(b); b[12] = 0x86; b[13] = 0xdd;
	bad4("eth-type-mismatch", "ok", "4", "", b, n);
	n = add_vlan(b, ack4(b), 0x8100, 42); bad4("vlan-8021q", "ok", "4", "", b, n);
	n = add_vlan(b, add_vlan(b, ack4(b), 0x8100, 42), 0x88a8, 7);
	bad4("vlan-qinq", "ok", "4", "", b, n);
	n = add_vlan(b, ack4(b), 0x8100, 42);
	skip4("vlan-trunc", "malformed link-layer header", b, 16);
	n = add_vlan(b, ack4(b), 0x8100, 42); b[16] = 0x08; b[17] = 0x06;
	skip4("vlan-inner-not-ip", "not IP", b, n);
	/* 17000 stacked tags (68 KB of them): decoded, offsets beyond 64 KB */
	n = ack4(big);
	for (int i = 0; i < 17000; i++) n = add_vlan(big, n, 0x8100, (uint16_t)i);
	begin("vlan-deep-stack", "ok", "4", "4", "");
	file_hdr(1, 262144); good(); rec(3, big, (uint32_t)n); end();
	begin("sll-short", "warn", "4", "3", "skipped 1 of 4 records (1 malformed link-layer header)");
	file_hdr(113, 65535); good_w(W_SLL); n = rewrap(b, ack4(b), W_SLL); rec(3, b, 12); end();
	begin("sll2-short", "warn", "4", "3", "skipped 1 of 4 records (1 malformed link-layer header)");
	file_hdr(276, 65535); good_w(W_SLL2); n = rewrap(b, ack4(b), W_SLL2); rec(3, b, 16); end();
	begin("null-family-unknown", "warn", "4", "3", "skipped 1 of 4 records (1 not IP)");
	file_hdr(0, 65535); good_w(W_NULL); n = rewrap(b, ack4(b), W_NULL); b[0] = 7; rec(3, b, (uint32_t)n);
	end();
	begin("null-family-swapped", "ok", "4", "4", "");
	file_hdr(0, 65535); good_w(W_NULL); n = rewrap(b, ack4(b), W_NULL); put32(b, 2);
	rec(3, b, (uint32_t)n); end();
	begin("null-short", "warn", "4", "3", "skipped 1 of 4 records (1 malformed link-layer header)");
	file_hdr(0, 65535); good_w(W_NULL); n = rewrap(b, ack4(b), W_NULL); rec(3, b, 3); end();

	/* ---------- IPv4 ---------- */
	begin("non-tcp", "warn", "2", "0", "no TCP segments; skipped 2 of 2 records (2 not TCP)");
	file_hdr(1, 65535);
	n = frame(b, 0, 1, 1, 0x10, NULL, 0, 10); b[14 + 9] = 17; ip4_fix_csum(b + 14); /* UDP */
	rec(1, b, (uint32_t)n); rec(2, b, (uint32_t)n); end();
	n = ack4(b); b[14] = 0x55; skip4("ip-version-5", "IP version not 4 or 6", b, n);
	n = ack4(b); b[14] = 0x05; skip4("ip-version-0", "IP version not 4 or 6", b, n);
	n = ack4(b); b[14] = 0x44; skip4("ip-ihl-lt5", "IPv4 header length < 5", b, n);
	n = ack4(b); b[14] = 0x4f; ip4_fix_csum(b + 14);
	skip4("ip-ihl-gt-totlen", "IP total length shorter than its headers", b, n);
	n = ack4(b); b[14 + 2] = 0; b[14 + 3] = 30;
	skip4("ip-totlen-short", "IP total length shorter than its headers", b, n);
	n = ack4(b); b[14 + 2] = 0; b[14 + 3] = 10;
	skip4("ip-totlen-lt-ihl", "IP total length shorter than its headers", b, n);
	/* IP claims more than the frame holds: analyzed, the missing payload is
	 * counted as not captured (tcptrace's view: lengths from the IP header) */
	n = ack4(b); put16(b + 14 + 2, 1500); ip4_fix_csum(b + 14);
	bad4("ip-totlen-long", "ok", "4", "", b, n);
	n = ack4(b); b[14 + 6] = 0x20; ip4_fix_csum(b + 14); skip4("ip-frag-mf", "IP fragment", b, n);
	n = ack4(b); b[14 + 6] = 0x00; b[14 + 7] = 0x10; ip4_fix_csum(b + 14);
	skip4("ip-frag-offset", "IP fragment", b, n);
	n = ack4(b); b[14 + 9] = 1; ip4_fix_csum(b + 14); skip4("ip-proto-icmp", "not TCP", b, n);
	/* header checksum not verified (like tcptrace): analyzed */
	n = ack4(b); b[14 + 10] ^= 0xff; bad4("ip-bad-checksum", "ok", "4", "", b, n);
	/* IPv4 options (ihl 6) */
	n = ack4(b); memmove(b + 38, b + 34, n - 34); b[34] = b[35] = b[36] = b[37] = 1;
	b[14] = 0x46; put16(b + 16, 44); ip4_fix_csum(b + 14); n += 4;
	bad4("ip-options", "ok", "4", "", b, n);
	n = ack4(b); skip4("ip-hdr-cut", "TCP header not captured", b, 14 + 12);
	n = ack4(b); b[14] = 0x46; put16(b + 16, 44); ip4_fix_csum(b + 14);
	skip4("ip-options-cut", "TCP header not captured", b, 14 + 22);

	/* ---------- IPv6 ---------- */
	n = frame6(b, NULL, 0, 0, 100); bad4("ip6-good", "ok", "4", "", b, n);
	n = frame6(b, NULL, 0, 0, 100); put16(b + 18, 10);
	skip4("ip6-plen-short", "IP total length shorter than its headers", b, n);
	{
		uint8_t hbh[8] = {6, 0, 1, 4, 0, 0, 0, 0}; /* hop-by-hop, PadN */
		n = frame6(b, hbh, 8, 0, 100); bad4("ip6-ext-hbh", "ok", "4", "", b, n);
		uint8_t dst[16] = {6, 1, 1, 12}; /* dest opts of 16 bytes, IP payload says 8 */
		n = frame6(b, dst, 16, 60, 0); put16(b + 18, 8);
		skip4("ip6-ext-len-past", "IP total length shorter than its headers", b, n);
		uint8_t frag[8] = {6, 0, 0, 1, 0, 0, 0, 1}; /* fragment header, M=1 */
		n = frame6(b, frag, 8, 44, 100); skip4("ip6-fragment", "IP fragment", b, n);
		n = frame6(b, hbh, 8, 0, 100); b[14 + 40] = 17;
		skip4("ip6-ext-then-udp", "not TCP", b, n);
		n = frame6(b, hbh, 8, 0, 100);
		skip4("ip6-ext-cut", "TCP header not captured", b, 14 + 40 + 4);
	}
	/* packets captured before segmentation offload cut them (TSO, BIG TCP):
	 * IPv4 total length 0 and IPv6 payload length 0 take the frame's length,
	 * an IPv6 jumbogram (RFC 2675) its Jumbo Payload option's; 70000 bytes
	 * of payload, 100 of them captured */
	n = frame(b, 0, 1101, 5001, 0x18, NULL, 0, 100); put16(b + 14 + 2, 0); ip4_fix_csum(b + 14);
	begin("ip4-totlen-zero", "ok", "4", "4", ""); file_hdr(1, 65535); good();
	rec_full(3, 0, b, (uint32_t)n, 14 + 20 + 20 + 70000, (uint32_t)n); end();
	{
		uint8_t jumbo[8] = {6, 0, 0xc2, 4, 0, 0x01, 0x11, 0x8c}; /* 8 + 20 + 70000 */
		n = frame6(b, jumbo, 8, 0, 100); put16(b + 14 + 4, 0);
		begin("ip6-jumbo", "ok", "4", "4", ""); file_hdr(1, 65535); good();
		rec_full(3, 0, b, (uint32_t)n, 14 + 40 + 8 + 20 + 70000, (uint32_t)n); end();
	}
	n = frame6(b, NULL, 0, 0, 100); put16(b + 14 + 4, 0);
	begin("ip6-plen-zero", "ok", "4", "4", ""); file_hdr(1, 65535); good();
	rec_full(3, 0, b, (uint32_t)n, 14 + 40 + 20 + 70000, (uint32_t)n); end();
	n = frame6(b, NULL, 0, 0, 100); b[14 + 6] = 17; skip4("ip6-nh-udp", "not TCP", b, n);
	n = frame6(b, NULL, 0, 0, 100); b[14 + 6] = 59; skip4("ip6-no-next-header", "not TCP", b, n);
	n = frame6(b, NULL, 0, 0, 100); skip4("ip6-hdr-cut", "TCP header not captured", b, 14 + 30);

	/* ---------- TCP ---------- */
	n = ack4(b); b[14 + 20 + 12] = 4 << 4; skip4("tcp-doff-lt5", "TCP data offset < 5", b, n);
	n = ack4(b); b[14 + 20 + 12] = 0; skip4("tcp-doff-zero", "TCP data offset < 5", b, n);
	n = ack4(b); b[14 + 20 + 12] = 15 << 4;
	skip4("tcp-doff-past-ip", "TCP header longer than the IP payload", b, n);
	n = ack4(b); skip4("tcp-hdr-cut", "TCP header not captured", b, 14 + 20 + 10);
	/* tcptrace's rule: the 20 fixed bytes must be captured, options need not */
	n = ack4(b); skip4("tcp-hdr-cut-after-flags", "TCP header not captured", b, 14 + 20 + 14);
	n = ack4(b); skip4("tcp-hdr-cut-19", "TCP header not captured", b, 14 + 20 + 19);
	{
		uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
		n = frame(b, 1, 5001, 1101, 0x10, ts, 12, 0);
		bad4("tcp-opts-cut", "ok", "4", "", b, 14 + 20 + 24);
	}
	/* payload cut by the snaplen: analyzed (the loss is counted, not an error) */
	n = frame(b, 1, 5001, 1101, 0x18, NULL, 0, 500);
	begin("tcp-payload-cut", "ok", "4", "4", "");
	file_hdr(1, 100); good(); rec_full(3, 0, b, 100, (uint32_t)n, 100); end();
	n = ack4(b); b[14 + 20 + 13] = 0xff; bad4("tcp-flags-all", "ok", "4", "", b, n);
	n = ack4(b); b[14 + 20 + 13] = 0x00; bad4("tcp-flags-none", "ok", "4", "", b, n);
	n = ack4(b); put16(b + 14 + 20, 0); put16(b + 14 + 22, 0); bad4("tcp-port-zero", "ok", "4", "", b, n);
	static const struct { const char *name; uint8_t o[12]; unsigned len; } bad_opts[] = {
		{"tcpopt-len0", {2, 0, 0, 0}, 4},          /* MSS with length 0 */
		{"tcpopt-len1", {8, 1, 1, 1}, 4},          /* TS with length 1 */
		{"tcpopt-past-header", {1, 1, 8, 10}, 4},  /* TS claims 10 bytes, 2 left */
		{"tcpopt-kind-at-end", {1, 1, 1, 5}, 4},   /* SACK kind, no length byte */
		{"tcpopt-sack-past-header", {1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2}, 12},
	};
	for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
		n = frame(b, 1, 5001, 1101, 0x10, bad_opts[i].o, bad_opts[i].len, 0);
		bad4(bad_opts[i].name, "warn", "4",
		     "1 TCP segments with malformed options (options parsed up to the bad one; "
		     "segments analyzed)", b, n);
	}
	/* well-formed but unusual options: analyzed silently */
	{
		uint8_t o[12] = {2, 3, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* MSS with length 3: skipped */
		n = frame(b, 1, 5001, 1101, 0x10, o, 4, 0); bad4("tcpopt-mss-badlen", "ok", "4", "", b, n);
		uint8_t u[12] = {99, 6, 1, 2, 3, 4, 0, 0}; /* unknown kind, skipped by length */
		n = frame(b, 1, 5001, 1101, 0x10, u, 8, 0); bad4("tcpopt-unknown", "ok", "4", "", b, n);
	}
}

/* ---- --frames: classic pcap -> fuzz/frames.h stream ---- */
static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static int to_frames(const char *outp, const char *inp)
{
	FILE *in = fopen(inp, "rb");
	if (!in) { perror(inp); return 1; }
	FILE *o = fopen(outp, "wb");
	if (!o) { perror(outp); fclose(in); return 1; }
	uint8_t h[24];
	if (fread(h, 1, 24, in) != 24) { fprintf(stderr, "%s: short header\n", inp); return 1; }
	uint32_t m;
	memcpy(&m, h, 4);
	bool swap = m == 0xd4c3b2a1 || m == 0x4d3cb2a1;
	bool nsec = m == 0xa1b23c4d || m == 0x4d3cb2a1;
	if (!swap && m != 0xa1b2c3d4 && m != 0xa1b23c4d) {
		fprintf(stderr, "%s: not a classic pcap file\n", inp);
		return 1;
	}
	uint32_t lt = rd32(h + 20, swap) & 0xffff;
	static const int dlts[] = {1, 113, 276, 12, 14, 101, 228, 229, 0, 108};
	uint8_t sel = 0;
	for (uint8_t i = 0; i < sizeof dlts / sizeof dlts[0]; i++)
		if ((uint32_t)dlts[i] == lt) sel = i;
	fputc(sel, o);
	uint64_t prev = 0;
	uint8_t r[16];
	static uint8_t d[262144];
	while (fread(r, 1, 16, in) == 16) {
		uint32_t cl = rd32(r + 8, swap);
		if (cl > sizeof d || fread(d, 1, cl, in) != cl)
			break;
		if (cl > 0xffff)
			cl = 0xffff;
		uint64_t t = (uint64_t)rd32(r, swap) * 1000000ull +
			     (nsec ? rd32(r + 4, swap) / 1000u : rd32(r + 4, swap));
		uint64_t dt = prev && t > prev ? t - prev : 0;
		prev = t;
		uint16_t dtf = dt < 0x8000 ? (uint16_t)dt
					   : (uint16_t)(0x8000 | (dt / 1000000 > 0x7fff ? 0x7fff : dt / 1000000));
		uint8_t rh[4] = {(uint8_t)cl, (uint8_t)(cl >> 8), (uint8_t)dtf, (uint8_t)(dtf >> 8)};
		fwrite(rh, 1, 4, o);
		fwrite(d, 1, cl, o);
	}
	fclose(in);
	return fclose(o) != 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--frames"))
		return to_frames(argv[2], argv[3]);
	if (argc != 2) {
		fprintf(stderr, "usage: mkpcap DIR | mkpcap --frames OUT IN.pcap\n");
		return 2;
	}
	dir = argv[1];
	corpus();
	return fflush(stdout) != 0;
}
