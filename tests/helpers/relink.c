/* tests/helpers/relink.c - the same IP packets behind other link layers, for
 * differential tests of the link-type decoders (`lrokit analyze` of the
 * result must equal its analysis of the Ethernet original, and tcptrace's
 * where tcptrace reads that link type).
 *
 *   relink TYPE IN.pcap > OUT.pcap
 *       every Ethernet (IPv4/IPv6) record of IN re-framed as TYPE; captured
 *       and original lengths change by the header's size difference
 *   relink --pcapng IN1.pcap:TYPE1 [IN2.pcap:TYPE2 ...] > OUT.pcapng
 *       one pcapng section, one interface per input (its own link type and
 *       snapshot length: that of the input), the records of all inputs
 *       merged in time order (what `mergecap` writes)
 *   relink --list
 *
 * TYPE: eth, eth-vlan-mpls (802.1Q, two MPLS labels), eth-pppoe (PPPoE
 * session), eth-llc (802.3 length, LLC/SNAP), sll, sll2, null, raw, fddi, tr
 * (Token Ring with source routing), atm (RFC 1483 LLC/SNAP), ppp (HDLC-like
 * framing), ppp-serial, chdlc, pppoe (DLT_PPP_ETHER), slip, wifi (802.11 data
 * frame to the AP), wifi-qos (QoS data, four addresses), radiotap (a 64-byte
 * radiotap header, then wifi), prism (a 144-byte Prism header, then wifi).
 */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXF (262144 + 256)

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a}, mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

/* LLC/SNAP with an Ethernet type */
static size_t snap(uint8_t *h, unsigned et)
{
	h[0] = 0xaa; h[1] = 0xaa; h[2] = 0x03; h[3] = h[4] = h[5] = 0;
	put16(h + 6, et);
	return 8;
}

static size_t wifi(uint8_t *h, unsigned et, bool qos)
{
	memset(h, 0, 32);
	h[0] = qos ? 0x88 : 0x08;          /* data / QoS data */
	h[1] = qos ? 0x03 : 0x01;          /* to DS (+ from DS: four addresses) */
	memcpy(h + 4, mac_b, 6);
	memcpy(h + 10, mac_a, 6);
	memcpy(h + 16, mac_b, 6);
	size_t n = 24;
	if (qos) {
		memcpy(h + 24, mac_a, 6);  /* address 4 */
		n = 32;                    /* + QoS control */
	}
	return n + snap(h + n, et);
}

/* The link-layer header of TYPE before an IP packet of Ethernet type et. */
static size_t header(const char *t, uint8_t *h, unsigned et)
{
	bool v6 = et == 0x86dd;
	if (!strcmp(t, "eth") || !strcmp(t, "eth-vlan-mpls") || !strcmp(t, "eth-pppoe") ||
	    !strcmp(t, "eth-llc")) {
		memcpy(h, mac_b, 6);
		memcpy(h + 6, mac_a, 6);
		put16(h + 12, et);
		if (!strcmp(t, "eth-vlan-mpls")) {
			put16(h + 12, 0x8100); put16(h + 14, 42); put16(h + 16, 0x8847);
			put16(h + 18, 0x0012); h[20] = 0x30; h[21] = 64; /* label 0x123, not the bottom */
			put16(h + 22, 0x0045); h[24] = 0x61; h[25] = 64; /* label 0x456, bottom of stack */
			return 26;
		}
		if (!strcmp(t, "eth-pppoe")) {
			put16(h + 12, 0x8864);
			h[14] = 0x11; h[15] = 0; put16(h + 16, 0x1234); put16(h + 18, 0);
			put16(h + 20, v6 ? 0x0057 : 0x0021);
			return 22;
		}
		if (!strcmp(t, "eth-llc")) {
			put16(h + 12, 0); /* a length (fixed up by the caller: below 1536 in any case) */
			return 14 + snap(h + 14, et);
		}
		return 14;
	}
	if (!strcmp(t, "sll")) {
		memset(h, 0, 16); put16(h + 2, 1); put16(h + 4, 6); memcpy(h + 6, mac_a, 6);
		put16(h + 14, et);
		return 16;
	}
	if (!strcmp(t, "sll2")) {
		memset(h, 0, 20); put16(h, et); h[7] = 2; put16(h + 8, 1); h[11] = 6;
		memcpy(h + 12, mac_a, 6);
		return 20;
	}
	if (!strcmp(t, "null")) {
		put32le(h, v6 ? 30 : 2); /* AF_INET / (a BSD's) AF_INET6, little-endian host */
		return 4;
	}
	if (!strcmp(t, "raw") || !strcmp(t, "slip")) {
		if (t[0] == 's') {
			memset(h, 0, 16);
			return 16;
		}
		return 0;
	}
	if (!strcmp(t, "fddi")) {
		h[0] = 0x50; memcpy(h + 1, mac_b, 6); memcpy(h + 7, mac_a, 6);
		return 13 + snap(h + 13, et);
	}
	if (!strcmp(t, "tr")) {
		h[0] = 0x10; h[1] = 0x40; memcpy(h + 2, mac_b, 6); memcpy(h + 8, mac_a, 6);
		h[8] |= 0x80;                 /* routing information follows */
		h[14] = 0x04; h[15] = 0x30; h[16] = 0x01; h[17] = 0x10;
		return 18 + snap(h + 18, et);
	}
	if (!strcmp(t, "atm"))
		return snap(h, et);
	if (!strcmp(t, "ppp") || !strcmp(t, "ppp-serial")) {
		h[0] = 0xff; h[1] = 0x03; put16(h + 2, v6 ? 0x0057 : 0x0021);
		return 4;
	}
	if (!strcmp(t, "chdlc")) {
		h[0] = 0x0f; h[1] = 0; put16(h + 2, et);
		return 4;
	}
	if (!strcmp(t, "pppoe")) {
		h[0] = 0x11; h[1] = 0; put16(h + 2, 0x1234); put16(h + 4, 0);
		put16(h + 6, v6 ? 0x0057 : 0x0021);
		return 8;
	}
	if (!strcmp(t, "wifi") || !strcmp(t, "wifi-qos"))
		return wifi(h, et, t[4] == '-');
	if (!strcmp(t, "radiotap")) {
		memset(h, 0, 64); h[2] = 64; /* version 0, length 64, nothing present */
		return 64 + wifi(h + 64, et, false);
	}
	if (!strcmp(t, "prism")) {
		memset(h, 0, 144); put32le(h, 0x41); put32le(h + 4, 144);
		return 144 + wifi(h + 144, et, false);
	}
	return (size_t)-1;
}

/* LINKTYPE_ values as stored in files */
static int linktype(const char *t)
{
	static const struct { const char *t; int lt; } m[] = {
		{"eth", 1}, {"eth-vlan-mpls", 1}, {"eth-pppoe", 1}, {"eth-llc", 1}, {"sll", 113},
		{"sll2", 276}, {"null", 0}, {"raw", 101}, {"fddi", 10}, {"tr", 6}, {"atm", 100},
		{"ppp", 9}, {"ppp-serial", 50}, {"chdlc", 104}, {"pppoe", 51}, {"slip", 8},
		{"wifi", 105}, {"wifi-qos", 105}, {"radiotap", 127}, {"prism", 119},
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (!strcmp(m[i].t, t))
			return m[i].lt;
	return -1;
}

/* Re-frame one Ethernet record: out (returned length), *caplen, *len. */
static size_t reframe(const char *t, const uint8_t *d, uint32_t *caplen, uint32_t *len,
		      uint8_t *out)
{
	if (*caplen < 14)
		return 0;
	unsigned et = (unsigned)(d[12] << 8 | d[13]);
	if (et != 0x0800 && et != 0x86dd)
		return 0;
	size_t h = header(t, out, et);
	uint32_t ip = *caplen - 14;
	memcpy(out + h, d + 14, ip);
	if (!strcmp(t, "eth-llc"))
		put16(out + 12, (*len - 14 + 8) > 1500 ? 1500 : *len - 14 + 8);
	*caplen = (uint32_t)h + ip;
	*len = *len - 14 + (uint32_t)h;
	return *caplen;
}

static void w32(uint32_t v) { fwrite(&v, 4, 1, stdout); }
static void w16(uint16_t v) { fwrite(&v, 2, 1, stdout); }

static int one_pcap(const char *t, const char *in)
{
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(in, eb);
	if (!p) {
		fprintf(stderr, "relink: %s\n", eb);
		return 1;
	}
	static uint8_t f[MAXF];
	w32(0xa1b2c3d4); w16(2); w16(4); w32(0); w32(0); w32(262144); w32((uint32_t)linktype(t));
	struct pcap_pkthdr *h;
	const u_char *d;
	while (pcap_next_ex(p, &h, &d) == 1) {
		uint32_t cl = h->caplen, len = h->len;
		if (!reframe(t, d, &cl, &len, f))
			continue;
		w32((uint32_t)h->ts.tv_sec); w32((uint32_t)h->ts.tv_usec); w32(cl); w32(len);
		fwrite(f, 1, cl, stdout);
	}
	pcap_close(p);
	return 0;
}

/* ---- pcapng: one interface per input, records merged in time order ---- */
struct input {
	pcap_t *p;
	const char *type;
	struct pcap_pkthdr *h;
	const u_char *d;
	bool more;
};

static void block(uint32_t type, const void *body, uint32_t n)
{
	uint32_t len = 12 + ((n + 3) & ~3u);
	static const uint8_t pad[4];
	w32(type); w32(len); fwrite(body, 1, n, stdout); fwrite(pad, 1, (len - 12) - n, stdout);
	w32(len);
}

static int merged(int n, char **args)
{
	struct input in[16];
	if (n > 16)
		n = 16;
	uint8_t shb[16] = {0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	block(0x0A0D0D0A, shb, sizeof shb);
	for (int i = 0; i < n; i++) {
		char *colon = strrchr(args[i], ':');
		if (!colon || linktype(colon + 1) < 0) {
			fprintf(stderr, "relink: want FILE:TYPE, not %s\n", args[i]);
			return 2;
		}
		*colon = 0;
		in[i].type = colon + 1;
		char eb[PCAP_ERRBUF_SIZE];
		if (!(in[i].p = pcap_open_offline(args[i], eb))) {
			fprintf(stderr, "relink: %s\n", eb);
			return 1;
		}
		uint8_t idb[8] = {0};
		uint32_t lt = (uint32_t)linktype(in[i].type), snapl = (uint32_t)pcap_snapshot(in[i].p);
		memcpy(idb, &lt, 2);
		memcpy(idb + 4, &snapl, 4);
		block(1, idb, sizeof idb);
		in[i].more = pcap_next_ex(in[i].p, &in[i].h, &in[i].d) == 1;
	}
	static uint8_t f[MAXF], epb[MAXF + 32];
	for (;;) {
		int k = -1;
		for (int i = 0; i < n; i++)
			if (in[i].more && (k < 0 || timercmp(&in[i].h->ts, &in[k].h->ts, <)))
				k = i;
		if (k < 0)
			break;
		uint32_t cl = in[k].h->caplen, len = in[k].h->len;
		if (reframe(in[k].type, in[k].d, &cl, &len, f)) {
			uint64_t us = (uint64_t)in[k].h->ts.tv_sec * 1000000u + (uint64_t)in[k].h->ts.tv_usec;
			uint32_t v[5] = {(uint32_t)k, (uint32_t)(us >> 32), (uint32_t)us, cl, len};
			memcpy(epb, v, sizeof v);
			memcpy(epb + sizeof v, f, cl);
			block(6, epb, (uint32_t)sizeof v + cl);
		}
		in[k].more = pcap_next_ex(in[k].p, &in[k].h, &in[k].d) == 1;
	}
	for (int i = 0; i < n; i++)
		pcap_close(in[i].p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		puts("eth eth-vlan-mpls eth-pppoe eth-llc sll sll2 null raw fddi tr atm ppp "
		     "ppp-serial chdlc pppoe slip wifi wifi-qos radiotap prism");
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "--pcapng"))
		return merged(argc - 2, argv + 2);
	if (argc != 3 || linktype(argv[1]) < 0) {
		fprintf(stderr, "usage: relink TYPE IN.pcap > OUT.pcap | relink --pcapng IN:TYPE... > "
			"OUT.pcapng | relink --list\n");
		return 2;
	}
	return one_pcap(argv[1], argv[2]);
}
