/* lib/decode.c - frame decoding down to TCP. See decode.h. */
#include "lib/decode.h"

#include <arpa/inet.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#define LINKTYPE_IPV4 228
#define LINKTYPE_IPV6 229
#define LINKTYPE_RAW 101 /* DLT_RAW on some platforms is 12/14 */
#define LINKTYPE_ATM_RFC1483 100 /* DLT_ATM_RFC1483 (11) as stored in files */

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *lk_dec_status_name(enum lk_dec_status s)
{
	switch (s) {
	case LK_DEC_TCP: return "TCP";
	case LK_DEC_NOT_IP: return "not IP";
	case LK_DEC_NOT_TCP: return "not TCP";
	case LK_DEC_FRAGMENT: return "IP fragment";
	case LK_DEC_SHORT: return "TCP header not captured";
	case LK_DEC_BAD_L2: return "malformed link-layer header";
	case LK_DEC_BAD_IPVER: return "IP version not 4 or 6";
	case LK_DEC_BAD_IHL: return "IPv4 header length < 5";
	case LK_DEC_BAD_IPLEN: return "IP total length shorter than its headers";
	case LK_DEC_BAD_DOFF: return "TCP data offset < 5";
	case LK_DEC_BAD_TCPLEN: return "TCP header longer than the IP payload";
	case LK_DEC_LINKTYPE: return "unsupported link type";
	default: return "?";
	}
}

bool lk_dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_RAW:
	case LINKTYPE_RAW: case LINKTYPE_IPV4: case LINKTYPE_IPV6: case DLT_NULL:
	case DLT_LOOP: case DLT_FDDI: case DLT_IEEE802: case DLT_ATM_RFC1483:
	case LINKTYPE_ATM_RFC1483: case DLT_PPP: case DLT_PPP_SERIAL: case DLT_C_HDLC:
	case DLT_PPP_ETHER: case DLT_SLIP: case DLT_IEEE802_11: case DLT_IEEE802_11_RADIO:
	case DLT_PRISM_HEADER:
#if DLT_RAW != 12
	case 12:
#endif
#if DLT_RAW != 14
	case 14:
#endif
		return true;
	default:
		return false;
	}
}

const char *lk_dlt_list(void)
{
	return "Ethernet (with 802.1Q/QinQ, MPLS, PPPoE, 802.2 LLC), Linux cooked v1/v2, "
	       "raw IPv4/IPv6, BSD loopback, FDDI, Token Ring, ATM (LLC/SNAP), PPP, PPP in HDLC "
	       "framing, Cisco HDLC, PPPoE, SLIP, 802.11 (plain, radiotap, Prism)";
}

/* Options in o[0..len); `cut`: the snaplen ended the header there, so an
 * option running past len was cut off by the capture, not malformed. */
static void parse_opts(const uint8_t *o, unsigned len, bool cut, struct lk_tcpopt *t)
{
	memset(t, 0, sizeof *t);
	/* NOP NOP timestamp: nearly every segment of a connection that
	 * negotiated timestamps; what the loop below would find, without it */
	if (len == 12 && o[0] == 1 && o[1] == 1 && o[2] == 8 && o[3] == 10) {
		t->has_ts = true;
		t->tsval = rd32(o + 4);
		t->tsecr = rd32(o + 8);
		return;
	}
	unsigned i = 0;
	while (i < len) {
		uint8_t kind = o[i];
		if (kind == 0) /* end of option list */
			break;
		if (kind == 1) { /* NOP */
			i++;
			continue;
		}
		if (i + 1 >= len) { t->bad = !cut; break; }
		uint8_t ol = o[i + 1];
		if (ol < 2) { t->bad = true; break; }
		if (i + ol > len) { t->bad = !cut; break; }
		const uint8_t *v = o + i + 2;
		switch (kind) {
		case 2: if (ol == 4) { t->has_mss = true; t->mss = rd16(v); } break;
		case 3: if (ol == 3) { t->has_ws = true; t->ws = v[0]; } break;
		case 4: if (ol == 2) t->sack_ok = true; break;
		case 5: {
			unsigned n = (ol - 2u) / 8u;
			if (n > LK_MAX_SACK) n = LK_MAX_SACK;
			for (unsigned k = 0; k < n; k++) {
				t->sack[k][0] = rd32(v + 8 * k);
				t->sack[k][1] = rd32(v + 8 * k + 4);
			}
			t->n_sack = (uint8_t)n;
			break;
		}
		case 8: if (ol == 10) { t->has_ts = true; t->tsval = rd32(v); t->tsecr = rd32(v + 4); } break;
		default: break; /* unknown: skipped by length */
		}
		i += ol;
	}
}

void lk_parse_tcpopt(const uint8_t *o, unsigned len, struct lk_tcpopt *t)
{
	parse_opts(o, len, false, t);
}

/* IPv6 extension headers that may precede TCP. */
static bool v6_is_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 135 || nh == 139 || nh == 140;
}

static enum lk_dec_status dec_tcp(const uint8_t *f, uint32_t caplen, uint32_t off,
				  uint32_t l4len, struct lk_pkt *p)
{
	p->l4_off = off;
	if (l4len < 20)
		return LK_DEC_BAD_IPLEN;
	/* tcptrace's rule: the 20 bytes of the fixed header must be captured;
	 * options cut by the snaplen are parsed as far as they were captured */
	if (caplen < off + 20)
		return LK_DEC_SHORT;
	const uint8_t *t = f + off;
	unsigned doff = (unsigned)(t[12] >> 4) * 4u;
	if (doff < 20)
		return LK_DEC_BAD_DOFF;
	if (doff > l4len)
		return LK_DEC_BAD_TCPLEN;
	p->sport = rd16(t);
	p->dport = rd16(t + 2);
	p->seq = rd32(t + 4);
	p->ack = rd32(t + 8);
	p->flags = t[13];
	p->win = rd16(t + 14);
	p->urp = rd16(t + 18);
	p->tcp_hlen = (uint16_t)doff;
	p->payload_len = l4len - doff;
	uint32_t capl4 = caplen - off;
	p->hdr_missing = (uint16_t)(capl4 < doff ? doff - capl4 : 0);
	if (p->hdr_missing) {
		parse_opts(t + 20, capl4 - 20, true, &p->opt);
		p->cap_payload = 0;
		return LK_DEC_TCP;
	}
	parse_opts(t + 20, doff - 20, false, &p->opt);
	uint32_t capd = capl4 - doff;
	p->cap_payload = capd < p->payload_len ? capd : p->payload_len;
	return LK_DEC_TCP;
}

/* The Jumbo Payload option (RFC 2675) in a hop-by-hop header at h (hl bytes,
 * all captured): its length, or 0 when there is none. */
static uint32_t v6_jumbo(const uint8_t *h, uint32_t hl)
{
	for (uint32_t i = 2; i < hl;) {
		if (h[i] == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > hl || i + 2u + h[i + 1] > hl)
			return 0;
		if (h[i] == 0xc2 && h[i + 1] == 4)
			return rd32(h + i + 2);
		i += 2u + h[i + 1];
	}
	return 0;
}

static enum lk_dec_status dec_ip(const uint8_t *f, uint32_t caplen, uint32_t off,
				 struct lk_pkt *p)
{
	p->l3_off = off;
	if (caplen < off + 1)
		return LK_DEC_SHORT;
	const uint8_t *ip = f + off;
	unsigned ver = ip[0] >> 4;
	if (ver == 4) {
		if (caplen < off + 20)
			return LK_DEC_SHORT;
		unsigned ihl = (ip[0] & 15u) * 4u;
		uint32_t tot = rd16(ip + 2);
		if (ihl < 20)
			return LK_DEC_BAD_IHL;
		/* total length 0: a TSO/BIG TCP packet captured before it was
		 * cut into segments; its length is the frame's */
		if (tot == 0 && p->wirelen > off)
			tot = p->wirelen - off;
		if (tot < ihl)
			return LK_DEC_BAD_IPLEN;
		p->af = 4;
		p->tos = ip[1];
		p->ip_id = rd16(ip + 4);
		uint16_t fo = rd16(ip + 6);
		p->df = (fo & 0x4000) != 0;
		p->ttl = ip[8];
		p->ip_len = tot;
		memset(p->saddr, 0, 16);
		memset(p->daddr, 0, 16);
		memcpy(p->saddr, ip + 12, 4);
		memcpy(p->daddr, ip + 16, 4);
		if (ip[9] != 6)
			return LK_DEC_NOT_TCP;
		if (fo & 0x3fff)
			return LK_DEC_FRAGMENT;
		if (caplen < off + ihl)
			return LK_DEC_SHORT;
		return dec_tcp(f, caplen, off + ihl, tot - ihl, p);
	}
	if (ver == 6) {
		if (caplen < off + 40)
			return LK_DEC_SHORT;
		p->af = 6;
		p->tos = (uint8_t)((rd16(ip) >> 4) & 0xff);
		p->ttl = ip[7];
		p->ip_id = 0;
		p->df = true;
		uint32_t plen = rd16(ip + 4);
		uint8_t nh = ip[6];
		uint32_t o = off + 40;
		if (plen == 0) {
			/* a jumbogram (RFC 2675: the length is in the hop-by-hop
			 * Jumbo Payload option), or a BIG TCP packet without one:
			 * its length is the frame's */
			uint32_t hl = nh == 0 && caplen >= o + 2 ? (f[o + 1] + 1u) * 8u : 0;
			if (hl && caplen >= o + hl)
				plen = v6_jumbo(f + o, hl);
			if (plen == 0 && p->wirelen > o)
				plen = p->wirelen - o;
		}
		p->ip_len = 40 + plen;
		memcpy(p->saddr, ip + 8, 16);
		memcpy(p->daddr, ip + 24, 16);
		uint32_t left = plen;
		while (v6_is_ext(nh)) {
			if (caplen < o + 8)
				return LK_DEC_SHORT;
			uint32_t hl;
			if (nh == 44) /* not reached: fragment handled below */
				hl = 8;
			else if (nh == 51)
				hl = (f[o + 1] + 2u) * 4u;
			else
				hl = (f[o + 1] + 1u) * 8u;
			if (hl > left)
				return LK_DEC_BAD_IPLEN;
			nh = f[o];
			o += hl;
			left -= hl;
		}
		if (nh == 44)
			return LK_DEC_FRAGMENT;
		if (nh != 6)
			return LK_DEC_NOT_TCP;
		return dec_tcp(f, caplen, o, left, p);
	}
	return LK_DEC_BAD_IPVER;
}

/* Link types whose fixed-length header holds an Ethernet type. */
static const struct {
	int dlt;
	uint8_t hdr_len, type_off;
} typed_l2[] = {
	{DLT_EN10MB, 14, 12},     /* destination, source, type */
	{DLT_LINUX_SLL, 16, 14},  /* packet type, ARPHRD, address length, address, protocol */
	{DLT_LINUX_SLL2, 20, 0},  /* protocol first */
	{DLT_C_HDLC, 4, 2},       /* Cisco HDLC: address, control, type */
};

/* A PPP protocol number as an Ethernet type (0: not IP). */
static uint16_t ppp_ethertype(uint16_t proto)
{
	return proto == 0x0021 ? 0x0800 : proto == 0x0057 ? 0x86dd : 0;
}

/* An IEEE 802.2 LLC header at p (n bytes captured): SNAP (AA AA 03, an OUI of
 * 0 (RFC 1042) or 00-00-F8 (802.1H), then an Ethernet type) or the IP SAP
 * (06 06 03, RFC 948). */
static int llc(const uint8_t *p, uint32_t n, uint32_t off, struct lk_link *l)
{
	if (n < off + 3)
		return LK_DEC_BAD_L2;
	const uint8_t *q = p + off;
	if (q[0] == 0xaa && q[1] == 0xaa && q[2] == 0x03) {
		if (n < off + 8)
			return LK_DEC_BAD_L2;
		if (q[3] || q[4] || (q[5] && q[5] != 0xf8))
			return LK_DEC_NOT_IP;
		l->ethertype = rd16(q + 6);
		l->hdr_len = off + 8;
		return 0;
	}
	if (q[0] == 0x06 && q[1] == 0x06 && q[2] == 0x03) {
		l->ethertype = 0x0800;
		l->hdr_len = off + 3;
		return 0;
	}
	return LK_DEC_NOT_IP;
}

/* PPP (RFC 1661) with or without HDLC-like framing (RFC 1662: FF 03), with a
 * compressed (odd, one-byte) protocol field, or Cisco HDLC (0F/8F 00 type). */
static int ppp(const uint8_t *p, uint32_t n, struct lk_link *l)
{
	if (n < 2)
		return LK_DEC_BAD_L2;
	uint32_t off = 0;
	if ((p[0] == 0x0f || p[0] == 0x8f) && p[1] == 0x00) { /* Cisco HDLC */
		if (n < 4)
			return LK_DEC_BAD_L2;
		l->ethertype = rd16(p + 2);
		l->hdr_len = 4;
		return 0;
	}
	if (p[0] == 0xff && p[1] == 0x03)
		off = 2;
	if (n < off + 1)
		return LK_DEC_BAD_L2;
	uint16_t proto;
	if (p[off] & 1) { /* protocol field compression */
		proto = p[off];
		off += 1;
	} else {
		if (n < off + 2)
			return LK_DEC_BAD_L2;
		proto = rd16(p + off);
		off += 2;
	}
	if (!(l->ethertype = ppp_ethertype(proto)))
		return LK_DEC_NOT_IP;
	l->hdr_len = off;
	return 0;
}

/* IEEE 802.11 data frames at p + off: the MAC header (24 bytes, + 6 with four
 * addresses, + 2 QoS control, + 4 HT control), then LLC. Management, control,
 * null-data and protected (encrypted) frames are not IP to us. */
static int wifi(const uint8_t *p, uint32_t n, uint32_t off, struct lk_link *l)
{
	if (n < off + 24)
		return LK_DEC_BAD_L2;
	uint8_t fc0 = p[off], fc1 = p[off + 1];
	unsigned type = (fc0 >> 2) & 3, subtype = fc0 >> 4;
	if (type != 2 || (subtype & 4) || (fc1 & 0x40))
		return LK_DEC_NOT_IP;
	uint32_t h = 24;
	if ((fc1 & 3) == 3)
		h += 6;
	if (subtype & 8) {
		h += 2;
		if (fc1 & 0x80)
			h += 4;
	}
	return llc(p, n, off + h, l);
}

/* IEEE 802.5 Token Ring: AC, FC, destination, source (+ routing information
 * when the source's top bit is set, its length in the first byte's low 5
 * bits), then LLC. */
static int token_ring(const uint8_t *p, uint32_t n, struct lk_link *l)
{
	if (n < 14)
		return LK_DEC_BAD_L2;
	uint32_t off = 14;
	if (p[8] & 0x80) {
		if (n < 15 || (p[14] & 0x1f) < 2)
			return LK_DEC_BAD_L2;
		off += p[14] & 0x1f;
	}
	return llc(p, n, off, l);
}

int lk_decode_link(int dlt, const uint8_t *f, uint32_t caplen, struct lk_link *l)
{
	for (size_t i = 0; i < sizeof typed_l2 / sizeof typed_l2[0]; i++)
		if (typed_l2[i].dlt == dlt) {
			if (caplen < typed_l2[i].hdr_len)
				return LK_DEC_BAD_L2;
			l->ethertype = rd16(f + typed_l2[i].type_off);
			l->hdr_len = typed_l2[i].hdr_len;
			/* 802.3: a length, then LLC */
			if (dlt == DLT_EN10MB && l->ethertype <= 1500)
				return llc(f, caplen, 14, l);
			return 0;
		}
	switch (dlt) {
	case DLT_NULL: case DLT_LOOP: {
		if (caplen < 4)
			return LK_DEC_BAD_L2;
		/* DLT_LOOP: network order; DLT_NULL: the capturing host's order.
		 * An address family fits in 16 bits, so a value above 0xffff was
		 * written in the other order (tcpdump's print-null.c rule). */
		uint32_t fam = rd32(f);
		if (fam > 0xffff)
			fam = __builtin_bswap32(fam);
		if (fam == 2)
			l->ethertype = 0x0800;
		else if (fam == 24 || fam == 28 || fam == 30 || fam == 10)
			l->ethertype = 0x86dd;
		else
			return LK_DEC_NOT_IP;
		l->hdr_len = 4;
		return 0;
	}
	case DLT_FDDI:
		/* frame control (LLC frames: 0x10 in bits 4-5), destination, source */
		if (caplen < 13)
			return LK_DEC_BAD_L2;
		if ((f[0] & 0x30) != 0x10)
			return LK_DEC_NOT_IP;
		return llc(f, caplen, 13, l);
	case DLT_IEEE802:
		return token_ring(f, caplen, l);
	case DLT_ATM_RFC1483: case LINKTYPE_ATM_RFC1483:
		return llc(f, caplen, 0, l);
	case DLT_PPP: case DLT_PPP_SERIAL:
		return ppp(f, caplen, l);
	case DLT_PPP_ETHER: /* PPPoE session header, then the PPP protocol */
		if (caplen < 8)
			return LK_DEC_BAD_L2;
		if (f[1] != 0x00) /* discovery stage, not session data */
			return LK_DEC_NOT_IP;
		if (!(l->ethertype = ppp_ethertype(rd16(f + 6))))
			return LK_DEC_NOT_IP;
		l->hdr_len = 8;
		return 0;
	case DLT_SLIP:
		/* a 16-byte pseudo-header (direction, packet type, compressed
		 * header), then the IP packet */
		if (caplen < 17)
			return LK_DEC_BAD_L2;
		l->ethertype = (f[16] >> 4) == 6 ? 0x86dd : 0x0800;
		l->hdr_len = 16;
		return 0;
	case DLT_IEEE802_11:
		return wifi(f, caplen, 0, l);
	case DLT_IEEE802_11_RADIO: { /* radiotap: version, pad, little-endian length */
		if (caplen < 4)
			return LK_DEC_BAD_L2;
		uint32_t rl = (uint32_t)f[2] | (uint32_t)f[3] << 8;
		if (f[0] != 0 || rl < 8)
			return LK_DEC_BAD_L2;
		return wifi(f, caplen, rl, l);
	}
	case DLT_PRISM_HEADER: { /* msgcode, msglen (host order: little-endian) */
		if (caplen < 8)
			return LK_DEC_BAD_L2;
		uint32_t ml = (uint32_t)f[4] | (uint32_t)f[5] << 8 | (uint32_t)f[6] << 16 |
			      (uint32_t)f[7] << 24;
		if (ml < 8 || ml > 1024)
			return LK_DEC_BAD_L2;
		return wifi(f, caplen, ml, l);
	}
	default:
		if (!lk_dlt_supported(dlt))
			return LK_DEC_LINKTYPE;
		/* raw IP: the version nibble says which (dec_ip checks it) */
		if (caplen < 1)
			return LK_DEC_SHORT;
		l->ethertype = (f[0] >> 4) == 6 ? 0x86dd : 0x0800;
		l->hdr_len = 0;
		return 0;
	}
}

enum lk_dec_status lk_decode(int dlt, const uint8_t *f, uint32_t caplen, uint32_t wirelen,
			     struct lk_pkt *p)
{
	p->frame = f;
	p->csum_known = false;
	p->caplen = caplen;
	p->wirelen = wirelen;
	p->vlan_depth = 0;
	p->vlan_id = 0;
	struct lk_link l;
	int ls = lk_decode_link(dlt, f, caplen, &l);
	if (ls)
		return (enum lk_dec_status)ls;
	uint32_t off = l.hdr_len;
	uint16_t et = l.ethertype;
	for (;;) {
		if (et == 0x8100 || et == 0x88a8 || et == 0x9100) { /* 802.1Q / 802.1ad / QinQ */
			if (caplen < off + 4)
				return LK_DEC_BAD_L2;
			if (p->vlan_depth == 0)
				p->vlan_id = rd16(f + off) & 0x0fff;
			p->vlan_depth++;
			et = rd16(f + off + 2);
			off += 4;
		} else if (et == 0x8864) { /* PPPoE session: header, PPP protocol */
			if (caplen < off + 8)
				return LK_DEC_BAD_L2;
			if (!(et = ppp_ethertype(rd16(f + off + 6))))
				return LK_DEC_NOT_IP;
			off += 8;
		} else if (et == 0x8847 || et == 0x8848) { /* MPLS labels to the bottom of the stack */
			do {
				if (caplen < off + 5)
					return LK_DEC_BAD_L2;
				off += 4;
			} while (!(f[off - 2] & 1));
			et = (f[off] >> 4) == 6 ? 0x86dd : (f[off] >> 4) == 4 ? 0x0800 : 0;
		} else {
			break;
		}
	}
	if (et != 0x0800 && et != 0x86dd)
		return LK_DEC_NOT_IP;
	return dec_ip(f, caplen, off, p);
}

void lk_fmt_endpoint(char *buf, unsigned len, int af, const uint8_t *addr, uint16_t port)
{
	char a[INET6_ADDRSTRLEN];
	if (af == 4) {
		inet_ntop(AF_INET, addr, a, sizeof a);
		snprintf(buf, len, "%s:%u", a, port);
	} else {
		inet_ntop(AF_INET6, addr, a, sizeof a);
		snprintf(buf, len, "[%s]:%u", a, port);
	}
}
