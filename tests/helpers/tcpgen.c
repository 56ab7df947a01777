/* tests/helpers/tcpgen.c - write a synthetic pcap (Ethernet, snaplen 128) of
 * TCP traffic that exercises tcptrace's rare rules, for differential tests
 * against `tcptrace -l -n`:
 *
 *   tcpgen FAMILY SEED [PACKETS] > out.pcap      FAMILY 4 or 6
 *
 * A dozen 4-tuples (a few client ports reused) carry random traffic from
 * both sides: in-order data, retransmissions and partial overlaps, holes and
 * late fillers, jumps across sequence quadrants, ISNs next to 2^32 and to
 * quadrant boundaries, SYN/FIN/RST (with and without ACK, retransmitted,
 * with changed sequence numbers: new connections by tcptrace's rules), ACKs
 * that lag, lead or are random, zero windows (probes), window scaling,
 * SACK blocks below the ACK, nested and overlapping (D-SACK rules), payloads
 * truncated by the snaplen, idle gaps longer than 240 s, and runs of
 * MSS-sized segments acknowledged late. Deterministic
 * for a given SEED. Checksums: IPv4 header only (tcptrace does not verify).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs;
static uint32_t rnd32(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11);
}
static uint32_t rnd(uint32_t n) { return n ? rnd32() % n : 0; }

static void w32(uint32_t v) { fwrite(&v, 4, 1, stdout); }
static void w16(uint16_t v) { fwrite(&v, 2, 1, stdout); }
static void be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#define SNAP 128

struct side { uint32_t isn, nxt; };
struct tuple { uint16_t cport, sport; struct side s[2]; bool live; };

static int fam;
static uint64_t ts_us = 1700000000ull * 1000000ull;

static void emit(const struct tuple *t, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
		 uint16_t win, const uint8_t *opt, unsigned olen, unsigned plen)
{
	uint8_t f[SNAP + 64];
	unsigned l3 = fam == 4 ? 20 : 40, th = 20 + olen, hl = 14 + l3 + th;
	memset(f, 0, sizeof f);
	f[12] = fam == 4 ? 0x08 : 0x86;
	f[13] = fam == 4 ? 0x00 : 0xdd;
	uint8_t *ip = f + 14, *tcp = ip + l3;
	uint8_t a[16] = {0}, b[16] = {0};
	if (fam == 4) {
		a[0] = 10; a[1] = 5; a[3] = 1;
		b[0] = 10; b[1] = 5; b[3] = 2;
		ip[0] = 0x45;
		be16(ip + 2, l3 + th + plen);
		be16(ip + 4, (uint16_t)rnd32());
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, dir ? b : a, 4);
		memcpy(ip + 16, dir ? a : b, 4);
		uint32_t s = 0;
		for (int i = 0; i < 20; i += 2)
			s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		be16(ip + 10, ~s & 0xffff);
	} else {
		a[0] = 0xfd; a[1] = 0x05; a[15] = 1;
		b[0] = 0xfd; b[1] = 0x05; b[15] = 2;
		ip[0] = 0x60;
		be16(ip + 4, th + plen);
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, dir ? b : a, 16);
		memcpy(ip + 24, dir ? a : b, 16);
	}
	be16(tcp, dir ? t->sport : t->cport);
	be16(tcp + 2, dir ? t->cport : t->sport);
	be32(tcp + 4, seq);
	be32(tcp + 8, ack);
	tcp[12] = (uint8_t)((th / 4) << 4);
	tcp[13] = flags;
	be16(tcp + 14, win);
	memcpy(tcp + 20, opt, olen);
	unsigned wire = hl + plen, cap = wire < SNAP ? wire : SNAP;
	w32((uint32_t)(ts_us / 1000000));
	w32((uint32_t)(ts_us % 1000000));
	w32(cap);
	w32(wire);
	fwrite(f, 1, cap, stdout);
}

static uint32_t pick_isn(void)
{
	switch (rnd(6)) {
	case 0: return 0xffffffffu - rnd(20000);
	case 1: return 0x3fffffffu - rnd(20000);
	case 2: return 0x7fffffffu - rnd(20000);
	case 3: return 0xbfffffffu - rnd(20000);
	case 4: return rnd(3);
	default: return rnd32();
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || (atoi(argv[1]) != 4 && atoi(argv[1]) != 6)) {
		fprintf(stderr, "usage: tcpgen 4|6 SEED [PACKETS] > out.pcap\n");
		return 2;
	}
	fam = atoi(argv[1]);
	rs = 0x9e3779b97f4a7c15ull ^ (uint64_t)strtoull(argv[2], NULL, 10) * 0x2545f4914f6cdd1dull;
	if (!rs)
		rs = 1;
	long npk = argc > 3 ? atol(argv[3]) : 30000;

	w32(0xa1b2c3d4); w16(2); w16(4); w32(0); w32(0); w32(SNAP); w32(1);

	enum { NT = 12 };
	struct tuple tu[NT];
	for (int i = 0; i < NT; i++) {
		tu[i].cport = (uint16_t)(40000 + i % 6);
		tu[i].sport = i < 6 ? 80 : 443;
		tu[i].live = false;
	}
	for (long n = 0; n < npk; n++) {
		struct tuple *t = &tu[rnd(NT)];
		int dir = (int)rnd(2);
		struct side *me = &t->s[dir], *peer = &t->s[!dir];
		uint8_t opt[40];
		unsigned olen = 0, plen = 0;
		uint8_t flags = 0x10;
		uint32_t seq, k = rnd(1000);

		ts_us += rnd(2000);
		if (rnd(1000) == 0)
			ts_us += 300ull * 1000000ull; /* beyond tcptrace's 240 s idle rule */

		if (!t->live || k < 25) {
			/* (re)start: fresh ISNs, a SYN from this side */
			if (!t->live || rnd(3)) {
				t->s[0].isn = pick_isn();
				t->s[1].isn = pick_isn();
				t->s[0].nxt = t->s[0].isn + 1;
				t->s[1].nxt = t->s[1].isn + 1;
			}
			t->live = true;
			seq = me->isn;
			flags = rnd(2) ? 0x02 : 0x12;
			opt[olen++] = 2; opt[olen++] = 4; opt[olen++] = 0x05; opt[olen++] = 0xb4;
			if (rnd(4)) {
				opt[olen++] = 1; opt[olen++] = 3; opt[olen++] = 3;
				opt[olen++] = (uint8_t)(rnd(5) ? rnd(15) : rnd(256));
			}
			if (rnd(4)) {
				opt[olen++] = 1; opt[olen++] = 1; opt[olen++] = 4; opt[olen++] = 2;
			}
		} else if (k < 40) {
			seq = rnd(4) ? me->isn : me->isn + rnd(100000) - 50000; /* SYN again */
			flags = rnd(2) ? 0x02 : 0x12;
		} else if (k < 70) {
			plen = rnd(3) ? 0 : rnd(1448) + 1;
			seq = me->nxt;
			me->nxt += plen + 1;
			flags = rnd(6) ? 0x11 : 0x01;
		} else if (k < 90) {
			seq = rnd(3) ? me->nxt : rnd32();
			flags = rnd(2) ? 0x14 : 0x04;
			plen = rnd(5) ? 0 : rnd(100);
		} else if (k < 480) {
			/* even tuples: bulk MSS-sized runs (with lagging ACKs below) */
			if ((t - tu) % 2 == 0)
				plen = rnd(8) ? 1448 : rnd(1448) + 1;
			else
				plen = rnd(10) ? rnd(1448) + 1 : 0;
			seq = me->nxt;
			me->nxt += plen;
		} else if (k < 580) {
			uint32_t back = rnd(40000) + 1;
			plen = rnd(2) ? rnd(1448) + 1 : rnd(back) + 1;
			seq = me->nxt - back;
			if (rnd(2))
				plen = plen < 1448 ? plen : 1448;
		} else if (k < 620) {
			seq = me->nxt + rnd(6000) + 1;
			plen = rnd(1448) + 1;
			if (rnd(2))
				me->nxt = seq + plen;
		} else if (k < 630) {
			me->nxt += rnd(0x40000000u) + 1;
			seq = me->nxt;
			plen = rnd(1448) + 1;
			me->nxt += plen;
		} else {
			seq = me->nxt - (rnd(20) ? 0 : rnd(3));
			plen = rnd(30) ? 0 : 1;
		}
		if (flags & 0x10) {
			if (rnd(25) == 0)
				flags &= (uint8_t)~0x10;
		} else if (!(flags & 0x04) && !(flags & 0x02) && rnd(2)) {
			flags |= 0x10;
		}
		if (plen && rnd(3) == 0)
			flags |= 0x08;
		uint32_t ack;
		unsigned r = rnd(100);
		if (r < 80)
			ack = peer->nxt;
		else if (r < 93)
			ack = peer->nxt - ((t - tu) % 2 ? rnd(8000) : rnd(80000));
		else if (r < 97)
			ack = peer->nxt + rnd(3000);
		else
			ack = rnd32();
		uint16_t win = rnd(12) == 0 ? 0 : (uint16_t)(rnd(65535) + 1);
		if (!(flags & 0x02)) {
			bool ts = rnd(2);
			if (ts) {
				opt[olen++] = 1; opt[olen++] = 1; opt[olen++] = 8; opt[olen++] = 10;
				be32(opt + olen, (uint32_t)n); be32(opt + olen + 4, 0); olen += 8;
			}
			if ((flags & 0x10) && rnd(3) == 0) {
				unsigned nb = rnd(ts ? 3 : 4) + 1;
				opt[olen++] = 1; opt[olen++] = 1; opt[olen++] = 5;
				opt[olen++] = (uint8_t)(2 + 8 * nb);
				for (unsigned i = 0; i < nb; i++) {
					uint32_t l, rr;
					switch (rnd(5)) {
					case 0: l = ack - rnd(5000) - 1; rr = l + rnd(3000) + 1; break;
					case 1: l = ack + rnd(20000); rr = l + rnd(3000) + 1; break;
					case 2: l = ack + rnd(20000); rr = ack + rnd(20000); break;
					default:
						if (i > 0 && rnd(2)) {
							uint32_t pl, pr;
							memcpy(&pl, opt + olen - 8, 4);
							memcpy(&pr, opt + olen - 4, 4);
							pl = __builtin_bswap32(pl);
							pr = __builtin_bswap32(pr);
							l = pl - rnd(2000);
							rr = pr + rnd(2000) - 1000;
						} else {
							l = rnd32();
							rr = rnd32();
						}
					}
					be32(opt + olen, l);
					be32(opt + olen + 4, rr);
					olen += 8;
				}
			}
		}
		while (olen % 4)
			opt[olen++] = 0;
		emit(t, dir, seq, ack, flags, win, opt, olen, plen);
	}
	return 0;
}
