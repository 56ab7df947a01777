/* tests/helpers/tpkt.h - a decoded TCP segment (struct lk_pkt) built by hand
 * for the analyzer unit tests: IPv4, no TCP options (tcp_hlen 20, the
 * "header predicted" ACK length), window 1000; callers change what they need. */
#ifndef TESTS_TPKT_H
#define TESTS_TPKT_H

#include "lib/decode.h"

#include <string.h>

static inline struct lk_pkt tpkt(uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
	struct lk_pkt p;
	memset(&p, 0, sizeof p);
	p.af = 4;
	p.flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.payload_len = len;
	p.win = 1000;
	p.tcp_hlen = 20;
	return p;
}

#endif
