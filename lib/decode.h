/* lib/decode.h - decode one captured frame down to its TCP header.
 *
 * Supports the link types Ethernet (DLT_EN10MB; 802.2 LLC/SNAP under an
 * 802.3 length too), Linux cooked v1/v2 (DLT_LINUX_SLL/SLL2), raw IP
 * (DLT_RAW, LINKTYPE_IPV4/IPV6), BSD loopback (DLT_NULL, DLT_LOOP) and the
 * other link types tcptrace 6.6 reads: FDDI, Token Ring (DLT_IEEE802), ATM
 * RFC 1483 LLC/SNAP, PPP (DLT_PPP, DLT_PPP_SERIAL: with or without HDLC-like
 * framing), Cisco HDLC, PPPoE (DLT_PPP_ETHER), SLIP, 802.11 (plain, radiotap,
 * Prism headers; unencrypted data frames); over Ethernet-typed links 802.1Q/
 * 802.1ad VLAN tags (any depth), PPPoE sessions and MPLS label stacks; IPv4
 * with options; IPv6 with extension headers; TCP with all options.
 *
 * Lengths come from the IP header (what the sender put on the wire), not from
 * the captured length: payload_len is what IP claims; cap_payload is how
 * much of it was captured (snaplen truncation is recorded, not fatal). Two
 * exceptions, both packets captured before segmentation offload cut them: an
 * IPv4 total length of 0 and an IPv6 payload length of 0 without a Jumbo
 * Payload option (Linux BIG TCP) take the frame's length; an IPv6 jumbogram
 * (RFC 2675) takes its Jumbo Payload option's.
 * A TCP header needs its 20 fixed bytes captured (tcptrace's rule); options
 * cut by the snaplen are parsed as far as they were captured (hdr_missing).
 * No allocation, no I/O; the decoded packet points into the caller's frame.
 */
#ifndef LK_DECODE_H
#define LK_DECODE_H

#include <stdbool.h>
#include <stdint.h>

/* TCP flag bits as in the header byte 13. */
enum {
	LK_TH_FIN = 0x01, LK_TH_SYN = 0x02, LK_TH_RST = 0x04, LK_TH_PSH = 0x08,
	LK_TH_ACK = 0x10, LK_TH_URG = 0x20, LK_TH_ECE = 0x40, LK_TH_CWR = 0x80,
};

#define LK_MAX_SACK 4 /* 40 option bytes hold at most 4 blocks */

struct lk_tcpopt {
	bool has_mss, has_ws, sack_ok, has_ts;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t n_sack;               /* complete SACK blocks parsed */
	uint32_t sack[LK_MAX_SACK][2]; /* left edge, right edge */
	bool bad;                      /* an option was malformed (len 0/1, past header) */
};

/* Outcome of decoding one frame. Everything except LK_DEC_TCP means the frame
 * carries no analyzable TCP segment; the caller counts it by status. */
enum lk_dec_status {
	LK_DEC_TCP = 0,       /* decoded; struct lk_pkt valid */
	LK_DEC_NOT_IP,        /* ARP, LLDP, ... */
	LK_DEC_NOT_TCP,       /* IP but UDP/ICMP/... */
	LK_DEC_FRAGMENT,      /* IPv4/IPv6 fragment (counted and skipped) */
	LK_DEC_SHORT,         /* captured too little to see the TCP header */
	LK_DEC_BAD_L2,        /* malformed link-layer header */
	LK_DEC_BAD_IPVER,     /* IP version neither 4 nor 6 */
	LK_DEC_BAD_IHL,       /* IPv4 header length < 5 words */
	LK_DEC_BAD_IPLEN,     /* IP total/payload length shorter than its headers */
	LK_DEC_BAD_DOFF,      /* TCP data offset < 5 words */
	LK_DEC_BAD_TCPLEN,    /* TCP header runs past the IP payload */
	LK_DEC_LINKTYPE,      /* a link type lk_decode does not know (pcapng interface) */
	LK_DEC__COUNT
};

/* Short human-readable name for a status ("not TCP", "IP header length < 5"...). */
const char *lk_dec_status_name(enum lk_dec_status s);

struct lk_pkt {
	/* link + capture */
	uint32_t caplen;      /* captured bytes of the frame */
	uint32_t wirelen;     /* original frame length */
	uint16_t vlan_depth;
	uint16_t vlan_id;     /* outermost VLAN ID, 0 if none */
	/* network */
	uint8_t af;           /* 4 or 6 */
	uint8_t ttl, tos;     /* hop limit / traffic class for IPv6 */
	bool df;
	uint16_t ip_id;       /* IPv4 only */
	uint8_t saddr[16], daddr[16]; /* IPv4 in the first 4 bytes */
	uint32_t l3_off;      /* offset of the IP header in the frame */
	uint32_t l4_off;      /* offset of the TCP header in the frame */
	uint32_t ip_len;      /* L3 length claimed by IP (header + payload) */
	/* transport */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;        /* LK_TH_* */
	uint16_t win;         /* raw 16-bit window */
	uint16_t urp;
	uint16_t tcp_hlen;    /* 4 * data offset */
	uint16_t hdr_missing; /* TCP header bytes (options) cut by the snaplen; the
			       * options are parsed as far as they were captured */
	uint32_t payload_len; /* TCP payload bytes claimed by the IP header */
	uint32_t cap_payload; /* of which captured */
	struct lk_tcpopt opt;
	const uint8_t *frame; /* the captured bytes; NULL where they were not kept */
	/* Where frame is NULL but csum_known: what the checksum analysis needs
	 * of the frame, taken by whoever had it (lk_side_csum_fields, for the
	 * analysis pipeline that hands segments to another thread). */
	bool csum_known;
	uint8_t csum_class;   /* LK_CSUM_* */
	int8_t csum_sum;      /* the whole segment summed: 1 valid, 0 bad, -1 not summed */
};
/* The TCP checksum field: not captured (caplen < l4_off + 18), the
 * pseudo-header sum a NIC completes (checksum offload), or anything else. */
enum { LK_CSUM_NONE = 0, LK_CSUM_PARTIAL, LK_CSUM_COMPLETE };

/* The link-layer header of a frame: its length and what follows it. */
struct lk_link {
	uint32_t hdr_len;     /* bytes of link-layer header (0 for raw IP) */
	uint16_t ethertype;   /* what follows, as an Ethernet type: 0x0800 IPv4,
			       * 0x86dd IPv6, 0x8100 a VLAN tag, 0x0806 ARP... */
};

/* Decode the link-layer header of `caplen` captured bytes of a frame of link
 * type `dlt` (the one place that knows the link types; lk_decode starts here).
 * Returns 0 and fills *l, or why there is no network layer to decode:
 * LK_DEC_BAD_L2 (header not captured), LK_DEC_LINKTYPE (`dlt` unsupported),
 * LK_DEC_NOT_IP (a loopback address family, PPP protocol, LLC SAP/SNAP type
 * or 802.11 frame that is not IP), LK_DEC_SHORT (raw IP, nothing captured).
 * ethertype is an Ethernet type even where the link says it otherwise (a PPP
 * protocol 0x21/0x57 becomes 0x0800/0x86dd). Per link type:
 *   Ethernet: the type field (VLAN tags, PPPoE and MPLS are left to the
 *     caller: lk_decode walks them), or for an 802.3 length the LLC header's;
 *   Linux cooked v1/v2: the protocol field;
 *   FDDI (LLC frames), Token Ring (with source routing), ATM RFC 1483,
 *     802.11 data frames (after a radiotap or Prism header): LLC/SNAP or the
 *     IP SAP; PPP: with HDLC-like framing (FF 03) or without, a compressed
 *     protocol field, or Cisco HDLC; PPPoE: the session header; SLIP: IP
 *     after the 16-byte pseudo-header;
 *   raw IP (DLT_RAW, LINKTYPE_RAW/IPV4/IPV6): 0x86dd if the version nibble
 *     is 6, else 0x0800 (lk_decode then checks the version);
 *   BSD loopback (DLT_NULL) and OpenBSD loopback (DLT_LOOP): a 4-byte address
 *     family, 2 = IPv4 and 24/28/30 (the BSDs' AF_INET6) or 10 (Linux's) =
 *     IPv6. DLT_LOOP writes it in network byte order, DLT_NULL in the byte
 *     order of the host that captured it (libpcap's link-type list). As in
 *     tcpdump (print-null.c), the value is read in network order and
 *     byte-swapped when it does not fit in 16 bits, so both link types are
 *     read correctly whichever host wrote them, and a DLT_LOOP file written
 *     in little-endian order is read too. */
int lk_decode_link(int dlt, const uint8_t *frame, uint32_t caplen, struct lk_link *l);

/* Decode `caplen` captured bytes of a frame of link type `dlt` (a DLT_ or
 * LINKTYPE_ value as libpcap reports it). Returns LK_DEC_TCP and fills *p, or
 * another status (and *p is partially filled, never read by callers). */
enum lk_dec_status lk_decode(int dlt, const uint8_t *frame, uint32_t caplen,
			     uint32_t wirelen, struct lk_pkt *p);

/* True if libpcap link type `dlt` is one lk_decode understands. */
bool lk_dlt_supported(int dlt);

/* Their names, for messages ("Ethernet (...), Linux cooked v1/v2, ..."). */
const char *lk_dlt_list(void);

/* Parse TCP options bytes [opt, opt+len) into *o (exposed for tests and
 * fuzzing). Unknown options are skipped by their length; a length of 0 or 1,
 * or one running past the end, stops parsing and sets o->bad. */
void lk_parse_tcpopt(const uint8_t *opt, unsigned len, struct lk_tcpopt *o);

/* Format "addr:port" ("[v6]:port" for IPv6) into buf (>= 64 bytes). */
void lk_fmt_endpoint(char *buf, unsigned len, int af, const uint8_t *addr, uint16_t port);

/* Sequence-space comparisons (mod 2^32). */
static inline bool lk_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool lk_seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

#endif
