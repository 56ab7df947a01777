/* Unit tests of lib/decode: link types (each of tcptrace's, 802.11 variants,
 * 802.3/LLC, PPPoE and MPLS over Ethernet), VLAN/QinQ, IPv4 options and
 * fragments, IPv6 extension headers and jumbograms, zero IP lengths (TSO/BIG
 * TCP), TCP options (cut by the snaplen too), malformed headers. */
#include "lib/decode.h"
#include "tests/tap.h"

#include <pcap/dlt.h>

static size_t put_tcp(uint8_t *t, const uint8_t *opt, unsigned olen, unsigned plen)
{
	memset(t, 0, 20 + olen + plen);
	t[0] = 0x9c; t[1] = 0x40; /* 40000 */
	t[2] = 0x00; t[3] = 0x50; /* 80 */
	t[4] = 0x00; t[5] = 0x00; t[6] = 0x03; t[7] = 0xe8; /* seq 1000 */
	t[8] = 0x00; t[9] = 0x00; t[10] = 0x13; t[11] = 0x88; /* ack 5000 */
	t[12] = (uint8_t)(((20 + olen) / 4) << 4);
	t[13] = LK_TH_ACK | LK_TH_PSH;
	t[14] = 0x01; t[15] = 0x00; /* win 256 */
	if (olen) memcpy(t + 20, opt, olen);
	return 20 + olen + plen;
}

static size_t put_ip4(uint8_t *ip, unsigned optlen, const uint8_t *tcpopt, unsigned tolen,
		      unsigned plen)
{
	unsigned ihl = 20 + optlen;
	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[4] = 0x12; ip[5] = 0x34;
	ip[6] = 0x40; /* DF */
	ip[8] = 64; ip[9] = 6;
	ip[12] = 10; ip[15] = 1; ip[16] = 10; ip[19] = 2;
	for (unsigned i = 0; i < optlen; i++) ip[20 + i] = 1; /* NOP options */
	size_t tl = put_tcp(ip + ihl, tcpopt, tolen, plen);
	unsigned tot = (unsigned)(ihl + tl);
	ip[2] = (uint8_t)(tot >> 8); ip[3] = (uint8_t)tot;
	return tot;
}

static size_t put_ip6(uint8_t *ip, const uint8_t *ext, unsigned extlen, uint8_t first_nh,
		      unsigned plen)
{
	memset(ip, 0, 40);
	ip[0] = 0x60; ip[1] = 0x20; /* TC 2 */
	ip[6] = extlen ? first_nh : 6; ip[7] = 33;
	ip[8] = 0xfd; ip[23] = 1; ip[24] = 0xfd; ip[39] = 2;
	if (extlen) memcpy(ip + 40, ext, extlen);
	size_t tl = put_tcp(ip + 40 + extlen, NULL, 0, plen);
	unsigned pl = (unsigned)(extlen + tl);
	ip[4] = (uint8_t)(pl >> 8); ip[5] = (uint8_t)pl;
	return 40 + pl;
}

/* Link-layer header `h` (hn bytes) before an IPv4 (v6: IPv6) TCP packet with
 * 5 payload bytes: lk_decode's status; *l3 = where it found IP. */
static int linked(int dlt, const uint8_t *h, size_t hn, int v6, uint32_t *l3)
{
	static uint8_t f[4096];
	struct lk_pkt p;
	memcpy(f, h, hn);
	size_t n = hn + (v6 ? put_ip6(f + hn, NULL, 0, 0, 5) : put_ip4(f + hn, 0, NULL, 0, 5));
	int st = lk_decode(dlt, f, (uint32_t)n, (uint32_t)n, &p);
	*l3 = st == LK_DEC_TCP && p.payload_len == 5 && p.af == (v6 ? 6 : 4) ? p.l3_off : 0;
	return st;
}

static void link_types(void)
{
	static const uint8_t snap4[] = {0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00};
	uint8_t h[300];
	uint32_t l3;
	/* FDDI: frame control (async LLC), addresses, LLC/SNAP */
	memset(h, 0, sizeof h); h[0] = 0x50; memcpy(h + 13, snap4, 8);
	ok(linked(DLT_FDDI, h, 21, 0, &l3) == LK_DEC_TCP && l3 == 21, "FDDI LLC/SNAP: IP at 21");
	h[19] = 0x86; h[20] = 0xdd;
	ok(linked(DLT_FDDI, h, 21, 1, &l3) == LK_DEC_TCP && l3 == 21, "FDDI LLC/SNAP IPv6");
	h[0] = 0x41;
	is_int(linked(DLT_FDDI, h, 21, 0, &l3), LK_DEC_NOT_IP, "FDDI SMT frame is not IP");
	/* Token Ring, without and with source routing */
	memset(h, 0, sizeof h); h[0] = 0x10; h[1] = 0x40; memcpy(h + 14, snap4, 8);
	ok(linked(DLT_IEEE802, h, 22, 0, &l3) == LK_DEC_TCP && l3 == 22, "Token Ring: IP at 22");
	h[8] = 0x80; h[14] = 0x06; h[15] = 0x30; memcpy(h + 20, snap4, 8);
	ok(linked(DLT_IEEE802, h, 28, 0, &l3) == LK_DEC_TCP && l3 == 28,
	   "Token Ring with 6 bytes of routing information: IP at 28");
	h[14] = 0x01;
	is_int(linked(DLT_IEEE802, h, 28, 0, &l3), LK_DEC_BAD_L2, "Token Ring routing length < 2");
	/* ATM RFC 1483 (DLT 11, LINKTYPE 100) */
	ok(linked(DLT_ATM_RFC1483, snap4, 8, 0, &l3) == LK_DEC_TCP && l3 == 8, "ATM LLC/SNAP: IP at 8");
	ok(linked(100, snap4, 8, 0, &l3) == LK_DEC_TCP && l3 == 8, "ATM as LINKTYPE 100");
	static const uint8_t llc_stp[] = {0x42, 0x42, 0x03, 0, 0, 0, 0, 0};
	is_int(linked(DLT_ATM_RFC1483, llc_stp, 8, 0, &l3), LK_DEC_NOT_IP, "LLC spanning tree is not IP");
	static const uint8_t snap_oui[] = {0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00};
	is_int(linked(DLT_ATM_RFC1483, snap_oui, 8, 0, &l3), LK_DEC_NOT_IP, "SNAP with a vendor OUI is not IP");
	/* PPP: HDLC-like framing, none, a compressed protocol, IPv6, LCP, Cisco HDLC */
	static const struct { const uint8_t h[4]; size_t n; int v6, st; uint16_t l3; const char *what; } ppp[] = {
		{{0xff, 0x03, 0x00, 0x21}, 4, 0, LK_DEC_TCP, 4, "PPP in HDLC-like framing"},
		{{0x00, 0x21}, 2, 0, LK_DEC_TCP, 2, "PPP without framing"},
		{{0x21}, 1, 0, LK_DEC_TCP, 1, "PPP with a compressed protocol field"},
		{{0xff, 0x03, 0x00, 0x57}, 4, 1, LK_DEC_TCP, 4, "PPP IPv6"},
		{{0xff, 0x03, 0xc0, 0x21}, 4, 0, LK_DEC_NOT_IP, 0, "PPP LCP is not IP"},
		{{0x0f, 0x00, 0x08, 0x00}, 4, 0, LK_DEC_TCP, 4, "Cisco HDLC inside DLT_PPP"},
	};
	for (size_t i = 0; i < sizeof ppp / sizeof ppp[0]; i++) {
		ok(linked(DLT_PPP, ppp[i].h, ppp[i].n, ppp[i].v6, &l3) == ppp[i].st && l3 == ppp[i].l3,
		   "%s", ppp[i].what);
		ok(linked(DLT_PPP_SERIAL, ppp[i].h, ppp[i].n, ppp[i].v6, &l3) == ppp[i].st && l3 == ppp[i].l3,
		   "  ... as DLT_PPP_SERIAL");
	}
	static const uint8_t chdlc[] = {0x8f, 0x00, 0x86, 0xdd};
	ok(linked(DLT_C_HDLC, chdlc, 4, 1, &l3) == LK_DEC_TCP && l3 == 4, "Cisco HDLC IPv6");
	/* PPPoE: session data and discovery */
	uint8_t pe[8] = {0x11, 0x00, 0x12, 0x34, 0, 0, 0x00, 0x21};
	ok(linked(DLT_PPP_ETHER, pe, 8, 0, &l3) == LK_DEC_TCP && l3 == 8, "PPPoE session: IP at 8");
	pe[1] = 0x09;
	is_int(linked(DLT_PPP_ETHER, pe, 8, 0, &l3), LK_DEC_NOT_IP, "PPPoE discovery is not IP");
	/* SLIP: 16-byte pseudo-header */
	memset(h, 0, 16);
	ok(linked(DLT_SLIP, h, 16, 0, &l3) == LK_DEC_TCP && l3 == 16, "SLIP: IP at 16");
	ok(linked(DLT_SLIP, h, 16, 1, &l3) == LK_DEC_TCP && l3 == 16, "SLIP IPv6");
	/* 802.11: data, QoS data, four addresses, HT control; not IP: protected,
	 * null data, management */
	static const struct { uint8_t fc0, fc1; size_t mac; int st; const char *what; } w[] = {
		{0x08, 0x01, 24, LK_DEC_TCP, "802.11 data"},
		{0x88, 0x01, 26, LK_DEC_TCP, "802.11 QoS data"},
		{0x88, 0x03, 32, LK_DEC_TCP, "802.11 QoS data, four addresses"},
		{0x88, 0x81, 30, LK_DEC_TCP, "802.11 QoS data with HT control"},
		{0x08, 0x41, 24, LK_DEC_NOT_IP, "802.11 protected data is not IP to us"},
		{0x48, 0x01, 24, LK_DEC_NOT_IP, "802.11 null data is not IP"},
		{0x80, 0x00, 24, LK_DEC_NOT_IP, "802.11 beacon is not IP"},
	};
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		memset(h, 0, sizeof h);
		h[0] = w[i].fc0; h[1] = w[i].fc1;
		memcpy(h + w[i].mac, snap4, 8);
		ok(linked(DLT_IEEE802_11, h, w[i].mac + 8, 0, &l3) == w[i].st &&
		   l3 == (w[i].st ? 0 : w[i].mac + 8), "%s", w[i].what);
	}
	/* radiotap and Prism headers before 802.11 */
	memset(h, 0, sizeof h); h[2] = 20; h[20] = 0x08; h[21] = 0x01; memcpy(h + 44, snap4, 8);
	ok(linked(DLT_IEEE802_11_RADIO, h, 52, 0, &l3) == LK_DEC_TCP && l3 == 52,
	   "radiotap (20 bytes) + 802.11: IP at 52");
	h[0] = 1;
	is_int(linked(DLT_IEEE802_11_RADIO, h, 52, 0, &l3), LK_DEC_BAD_L2, "radiotap version 1");
	memset(h, 0, sizeof h); h[4] = 144; h[144] = 0x08; h[145] = 0x01; memcpy(h + 168, snap4, 8);
	ok(linked(DLT_PRISM_HEADER, h, 176, 0, &l3) == LK_DEC_TCP && l3 == 176,
	   "Prism (144 bytes) + 802.11: IP at 176");
	/* over Ethernet: 802.3 length + LLC, PPPoE, MPLS, VLAN + MPLS */
	memset(h, 0, sizeof h); h[12] = 0x00; h[13] = 0x40; memcpy(h + 14, snap4, 8);
	ok(linked(DLT_EN10MB, h, 22, 0, &l3) == LK_DEC_TCP && l3 == 22, "802.3 + LLC/SNAP: IP at 22");
	h[14] = 0x06; h[15] = 0x06; h[16] = 0x03;
	ok(linked(DLT_EN10MB, h, 17, 0, &l3) == LK_DEC_TCP && l3 == 17, "802.3 + LLC IP SAP: IP at 17");
	memset(h, 0, sizeof h); h[12] = 0x88; h[13] = 0x64; h[14] = 0x11; h[20] = 0x00; h[21] = 0x21;
	ok(linked(DLT_EN10MB, h, 22, 0, &l3) == LK_DEC_TCP && l3 == 22, "Ethernet PPPoE session: IP at 22");
	h[21] = 0x23;
	is_int(linked(DLT_EN10MB, h, 22, 0, &l3), LK_DEC_NOT_IP, "Ethernet PPPoE, not IP inside");
	memset(h, 0, sizeof h); h[12] = 0x88; h[13] = 0x47; h[16] = 0x00; h[20] = 0x01;
	ok(linked(DLT_EN10MB, h, 22, 0, &l3) == LK_DEC_TCP && l3 == 22, "MPLS, two labels: IP at 22");
	ok(linked(DLT_EN10MB, h, 22, 1, &l3) == LK_DEC_TCP && l3 == 22, "MPLS, two labels: IPv6");
	memset(h, 0, sizeof h); h[12] = 0x81; h[13] = 0x00; h[14] = 0x00; h[15] = 0x07; h[16] = 0x88;
	h[17] = 0x47; h[20] = 0x01;
	ok(linked(DLT_EN10MB, h, 22, 0, &l3) == LK_DEC_TCP && l3 == 22, "VLAN + MPLS: IP at 22");
	struct lk_pkt p;
	memset(h, 0, sizeof h); h[12] = 0x88; h[13] = 0x47;
	is_int(lk_decode(DLT_EN10MB, h, 20, 20, &p), LK_DEC_BAD_L2, "MPLS stack without a bottom");
	is_int(lk_decode(147, h, 60, 60, &p), LK_DEC_LINKTYPE, "link type 147: unsupported");
	ok(!strcmp(lk_dec_status_name(LK_DEC_LINKTYPE), "unsupported link type"), "  ... named");
}

/* TCP headers cut by the snaplen; lengths 0 from segmentation offload. */
static void lengths(void)
{
	uint8_t f[4096];
	struct lk_pkt p;
	/* MSS, then 32 more option bytes (NOPs and a timestamp) */
	uint8_t o36[36] = {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};
	for (int i = 16; i < 36; i++) o36[i] = 1;
	memset(f, 0, 14); f[12] = 0x08;
	size_t n = 14 + put_ip4(f + 14, 0, o36, 36, 100);
	is_int(lk_decode(DLT_EN10MB, f, 14 + 20 + 20 + 6, (uint32_t)n, &p), LK_DEC_TCP,
	       "TCP cut after its 20 fixed bytes and 6 option bytes: analyzed (tcptrace's rule)");
	ok(p.hdr_missing == 30 && p.cap_payload == 0 && p.payload_len == 100, "  ... 30 header bytes missing");
	ok(p.opt.has_mss && p.opt.mss == 1460 && !p.opt.has_ts && !p.opt.bad,
	   "  ... the MSS parsed, the cut timestamp not, nothing malformed");
	is_int(lk_decode(DLT_EN10MB, f, 14 + 20 + 19, (uint32_t)n, &p), LK_DEC_SHORT, "TCP cut at 19 bytes: short");
	is_int(lk_decode(DLT_EN10MB, f, 14 + 20 + 14, (uint32_t)n, &p), LK_DEC_SHORT,
	       "TCP cut right after the flags: short (as tcptrace)");
	/* IPv4 total length 0: the frame's length (70000 bytes of payload) */
	n = 14 + put_ip4(f + 14, 0, NULL, 0, 100);
	f[16] = f[17] = 0;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, 14 + 20 + 20 + 70000, &p), LK_DEC_TCP, "IPv4 total length 0");
	ok(p.payload_len == 70000 && p.cap_payload == 100 && p.ip_len == 70040, "  ... length from the frame");
	/* IPv6: jumbogram (padding before the option), payload length 0 */
	uint8_t hbh[16] = {6, 1, 1, 0, 0xc2, 4, 0, 0x01, 0x11, 0x94, 0, 0, 0, 0, 0, 0};
	memset(f, 0, 14); f[12] = 0x86; f[13] = 0xdd;
	n = 14 + put_ip6(f + 14, hbh, 16, 0, 100);
	f[18] = f[19] = 0;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "IPv6 jumbogram");
	ok(p.payload_len == 70000 && p.ip_len == 40 + 16 + 20 + 70000, "  ... length from the Jumbo Payload option");
	n = 14 + put_ip6(f + 14, NULL, 0, 0, 100);
	f[18] = f[19] = 0;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, 14 + 40 + 20 + 70000, &p), LK_DEC_TCP,
	       "IPv6 payload length 0 without a jumbo option");
	ok(p.payload_len == 70000, "  ... length from the frame");
}

int main(void)
{
	uint8_t f[4096];
	struct lk_pkt p;

	/* Ethernet + IPv4 + TCP with MSS, SACK-permitted, TS, WS, SACK blocks, unknown opt */
	uint8_t opts[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9,
			  3, 3, 7, 1, 5, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 99, 4, 0xaa, 0xbb};
	/* 34 bytes; pad to 36 */
	uint8_t o36[36] = {0};
	memcpy(o36, opts, sizeof opts);
	memset(f, 0, 14); f[12] = 0x08;
	size_t n = 14 + put_ip4(f + 14, 0, o36, 36, 100);
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "eth/ipv4/tcp decodes");
	is_int(p.af, 4, "af 4");
	is_int(p.sport, 40000, "sport"); is_int(p.dport, 80, "dport");
	is_int(p.seq, 1000, "seq"); is_int(p.ack, 5000, "ack");
	is_int(p.win, 256, "raw window");
	is_int(p.payload_len, 100, "payload from IP length");
	is_int(p.tcp_hlen, 56, "tcp header length");
	ok(p.opt.has_mss && p.opt.mss == 1460, "MSS option");
	ok(p.opt.sack_ok, "SACK-permitted");
	ok(p.opt.has_ts && p.opt.tsval == 7 && p.opt.tsecr == 9, "timestamps");
	ok(p.opt.has_ws && p.opt.ws == 7, "window scale");
	ok(p.opt.n_sack == 1 && p.opt.sack[0][0] == 0x1000 && p.opt.sack[0][1] == 0x2000, "SACK block");
	ok(!p.opt.bad, "unknown option 99 skipped by length, no error");
	ok(p.df && p.ip_id == 0x1234 && p.ttl == 64, "IPv4 fields");

	/* snaplen truncation: payload claimed but not captured */
	is_int(lk_decode(DLT_EN10MB, f, 14 + 20 + 56 + 10, (uint32_t)n, &p), LK_DEC_TCP, "truncated capture still decodes");
	ok(p.payload_len == 100 && p.cap_payload == 10, "claimed 100, captured 10");
	is_int(lk_decode(DLT_EN10MB, f, 14 + 20 + 10, (uint32_t)n, &p), LK_DEC_SHORT, "TCP header cut by snaplen is short");

	/* IPv4 with options */
	n = 14 + put_ip4(f + 14, 8, NULL, 0, 5);
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "IPv4 with options");
	ok(p.l4_off == 14 + 28 && p.payload_len == 5, "options skipped");

	/* fragment */
	n = 14 + put_ip4(f + 14, 0, NULL, 0, 5);
	f[14 + 6] = 0x20; /* MF */
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_FRAGMENT, "MF fragment skipped");
	f[14 + 6] = 0x00; f[14 + 7] = 0x10;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_FRAGMENT, "offset fragment skipped");

	/* VLAN and QinQ */
	memset(f, 0, 22); f[12] = 0x88; f[13] = 0xa8; f[14] = 0x00; f[15] = 0x64; f[16] = 0x81; f[17] = 0x00;
	f[18] = 0x00; f[19] = 0x05; f[20] = 0x08; f[21] = 0x00;
	n = 22 + put_ip4(f + 22, 0, NULL, 0, 3);
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "QinQ decodes");
	ok(p.vlan_depth == 2 && p.vlan_id == 100, "two tags, outer VLAN 100");

	/* Linux cooked v1 and v2, raw, loopback */
	memset(f, 0, 16); f[14] = 0x08;
	n = 16 + put_ip4(f + 16, 0, NULL, 0, 1);
	is_int(lk_decode(DLT_LINUX_SLL, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "SLL");
	memset(f, 0, 20); f[0] = 0x08;
	n = 20 + put_ip4(f + 20, 0, NULL, 0, 1);
	is_int(lk_decode(276, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "SLL2");
	n = put_ip4(f, 0, NULL, 0, 1);
	is_int(lk_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "raw IPv4");
	is_int(lk_decode(228, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "LINKTYPE_IPV4");
	uint32_t fam = 2;
	memcpy(f, &fam, 4);
	n = 4 + put_ip4(f + 4, 0, NULL, 0, 1);
	is_int(lk_decode(DLT_NULL, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "BSD loopback IPv4");
	fam = 30;
	memcpy(f, &fam, 4);
	n = 4 + put_ip6(f + 4, NULL, 0, 0, 1);
	is_int(lk_decode(DLT_NULL, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "BSD loopback IPv6 (AF 30)");
	f[0] = 0; f[1] = 0; f[2] = 0; f[3] = 24;
	is_int(lk_decode(DLT_LOOP, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "OpenBSD loop IPv6");

	/* loopback address family in both byte orders, for both link types:
	 * DLT_NULL as written by a big- and a little-endian host; DLT_LOOP in its
	 * network order and as written in little-endian order by mistake */
	static const struct {
		int dlt;
		uint8_t hdr[4];
		int v6;
		uint16_t et;
		const char *what;
	} lo[] = {
		{DLT_NULL, {2, 0, 0, 0}, 0, 0x0800, "DLT_NULL AF 2 little-endian"},
		{DLT_NULL, {0, 0, 0, 2}, 0, 0x0800, "DLT_NULL AF 2 big-endian"},
		{DLT_NULL, {28, 0, 0, 0}, 1, 0x86dd, "DLT_NULL AF 28 little-endian"},
		{DLT_NULL, {0, 0, 0, 30}, 1, 0x86dd, "DLT_NULL AF 30 big-endian"},
		{DLT_NULL, {10, 0, 0, 0}, 1, 0x86dd, "DLT_NULL AF 10 (Linux AF_INET6) little-endian"},
		{DLT_LOOP, {0, 0, 0, 2}, 0, 0x0800, "DLT_LOOP AF 2 network order"},
		{DLT_LOOP, {2, 0, 0, 0}, 0, 0x0800, "DLT_LOOP AF 2 little-endian"},
		{DLT_LOOP, {0, 0, 0, 24}, 1, 0x86dd, "DLT_LOOP AF 24 network order"},
		{DLT_LOOP, {24, 0, 0, 0}, 1, 0x86dd, "DLT_LOOP AF 24 little-endian"},
	};
	for (size_t i = 0; i < sizeof lo / sizeof lo[0]; i++) {
		memcpy(f, lo[i].hdr, 4);
		n = 4 + (lo[i].v6 ? put_ip6(f + 4, NULL, 0, 0, 3) : put_ip4(f + 4, 0, NULL, 0, 3));
		struct lk_link l = {0};
		ok(lk_decode_link(lo[i].dlt, f, (uint32_t)n, &l) == 0 && l.hdr_len == 4 && l.ethertype == lo[i].et,
		   "link: %s -> ethertype %#x after 4 bytes", lo[i].what, lo[i].et);
		is_int(lk_decode(lo[i].dlt, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "decode: %s", lo[i].what);
		ok(p.af == (lo[i].v6 ? 6 : 4) && p.l3_off == 4 && p.payload_len == 3, "  ... IPv%d at offset 4",
		   lo[i].v6 ? 6 : 4);
	}
	static const uint8_t not_ip[][4] = {{7, 0, 0, 0}, {0, 0, 0, 7}, {0, 0, 0, 0}, {0, 0, 2, 0}, {0, 2, 0, 0}};
	for (size_t i = 0; i < sizeof not_ip / sizeof not_ip[0]; i++) {
		memcpy(f, not_ip[i], 4);
		struct lk_link l;
		ok(lk_decode_link(DLT_NULL, f, 60, &l) == LK_DEC_NOT_IP &&
		   lk_decode_link(DLT_LOOP, f, 60, &l) == LK_DEC_NOT_IP,
		   "loopback family %02x%02x%02x%02x is not IP in either order", f[0], f[1], f[2], f[3]);
	}
	struct lk_link lk;
	is_int(lk_decode_link(DLT_NULL, f, 3, &lk), LK_DEC_BAD_L2, "loopback header cut short");
	is_int(lk_decode_link(DLT_LOOP, f, 3, &lk), LK_DEC_BAD_L2, "  ... DLT_LOOP too");

	/* the other link types through lk_decode_link */
	memset(f, 0, 20); f[12] = 0x81; f[13] = 0x00;
	ok(lk_decode_link(DLT_EN10MB, f, 14, &lk) == 0 && lk.hdr_len == 14 && lk.ethertype == 0x8100,
	   "Ethernet: type field as is (VLAN tags left to the caller)");
	memset(f, 0, 20); f[14] = 0x08; f[15] = 0x06;
	ok(lk_decode_link(DLT_LINUX_SLL, f, 16, &lk) == 0 && lk.hdr_len == 16 && lk.ethertype == 0x0806,
	   "SLL: protocol field, 16 bytes");
	is_int(lk_decode_link(DLT_LINUX_SLL, f, 15, &lk), LK_DEC_BAD_L2, "SLL header cut short");
	memset(f, 0, 20); f[0] = 0x86; f[1] = 0xdd;
	ok(lk_decode_link(276, f, 20, &lk) == 0 && lk.hdr_len == 20 && lk.ethertype == 0x86dd,
	   "SLL2: protocol field, 20 bytes");
	is_int(lk_decode_link(276, f, 19, &lk), LK_DEC_BAD_L2, "SLL2 header cut short");
	f[0] = 0x60;
	ok(lk_decode_link(DLT_RAW, f, 1, &lk) == 0 && lk.hdr_len == 0 && lk.ethertype == 0x86dd,
	   "raw: version 6 is IPv6");
	f[0] = 0x45;
	ok(lk_decode_link(229, f, 1, &lk) == 0 && lk.ethertype == 0x0800, "raw: version 4 is IPv4");
	is_int(lk_decode_link(DLT_RAW, f, 0, &lk), LK_DEC_SHORT, "raw: nothing captured is short");
	is_int(lk_decode_link(147, f, 20, &lk), LK_DEC_LINKTYPE, "unsupported link type");

	/* IPv6 with hop-by-hop + destination options */
	uint8_t ext[16] = {60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0};
	memset(f, 0, 14); f[12] = 0x86; f[13] = 0xdd;
	n = 14 + put_ip6(f + 14, ext, 16, 0, 7);
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_TCP, "IPv6 with 2 extension headers");
	ok(p.af == 6 && p.payload_len == 7 && p.tos == 2 && p.ttl == 33, "IPv6 fields");
	uint8_t frag[8] = {6, 0, 0, 0, 0, 0, 0, 1};
	n = 14 + put_ip6(f + 14, frag, 8, 44, 7);
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_FRAGMENT, "IPv6 fragment header skipped");

	/* malformed */
	memset(f, 0, 14); f[12] = 0x08;
	n = 14 + put_ip4(f + 14, 0, NULL, 0, 10);
	f[14] = 0x44;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_BAD_IHL, "IHL < 5");
	f[14] = 0x45; f[16] = 0; f[17] = 30;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_BAD_IPLEN, "total length < headers");
	f[17] = 10;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_BAD_IPLEN, "total length < IHL");
	n = 14 + put_ip4(f + 14, 0, NULL, 0, 10);
	f[14 + 20 + 12] = 0x40;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_BAD_DOFF, "data offset < 5");
	f[14 + 20 + 12] = 0xf0;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_BAD_TCPLEN, "data offset past IP payload");
	f[14] = 0x35;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_BAD_IPVER, "IP version 3");
	f[14] = 0x45; f[14 + 9] = 17;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_NOT_TCP, "UDP is not TCP");
	f[12] = 0x08; f[13] = 0x06;
	is_int(lk_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), LK_DEC_NOT_IP, "ARP is not IP");
	is_int(lk_decode(DLT_EN10MB, f, 10, 10, &p), LK_DEC_BAD_L2, "short Ethernet header");

	/* TCP option parser edge cases */
	struct lk_tcpopt o;
	uint8_t b0[] = {2, 0, 5, 0xb4};
	lk_parse_tcpopt(b0, 4, &o); ok(o.bad && !o.has_mss, "option length 0 is malformed");
	uint8_t b1[] = {8, 1, 0, 0};
	lk_parse_tcpopt(b1, 4, &o); ok(o.bad && !o.has_ts, "option length 1 is malformed");
	uint8_t b2[] = {1, 1, 8, 10};
	lk_parse_tcpopt(b2, 4, &o); ok(o.bad && !o.has_ts, "option running past the header is malformed");
	uint8_t b3[] = {1, 0, 8, 10};
	lk_parse_tcpopt(b3, 4, &o); ok(!o.bad && !o.has_ts, "EOL stops parsing cleanly");
	uint8_t b4[] = {5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6,
			0, 0, 0, 7, 0, 0, 0, 8, 1, 1};
	lk_parse_tcpopt(b4, 36, &o); ok(o.n_sack == 4 && o.sack[3][1] == 8, "4 SACK blocks");
	uint8_t b5[] = {1};
	lk_parse_tcpopt(b5, 1, &o); ok(!o.bad, "single NOP");
	uint8_t b6[] = {99};
	lk_parse_tcpopt(b6, 1, &o); ok(o.bad, "kind without length byte is malformed");
	ok(lk_seq_lt(0xfffffff0u, 0x10), "seq compare across wrap");
	link_types();
	lengths();
	return done_testing();
}
