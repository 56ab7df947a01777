/* t-flow-rules.c - analyzers/flow on crafted packet sequences: each case
 * pins one of tcptrace's rules (checked against tcptrace 6.6.7 itself by
 * t-analyze-tcptrace.sh's synthetic captures): retransmitted/unique bytes,
 * out-of-order, zero-window probes, RST early return, SACK/D-SACK, pure
 * ACKs, truncation, window scaling, port reuse, 32-bit sequence wrap, and
 * flat memory over a long stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/flow.h"
#include "tests/tap.h"

enum { S = LK_TH_SYN, F = LK_TH_FIN, R = LK_TH_RST, P = LK_TH_PSH, A = LK_TH_ACK };

static void bail(const char *m)
{
	printf("Bail out! %s\n", m);
	exit(1);
}

static uint64_t now_ns = 1000000000ull;
static uint16_t cport = 40000;

/* dir 0: 10.0.0.1:cport -> 10.0.0.2:80 */
static struct lk_pkt mk(int dir, uint32_t seq, uint32_t ack, uint8_t fl, uint16_t win, uint32_t len)
{
	struct lk_pkt p;
	memset(&p, 0, sizeof p);
	p.af = 4;
	uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
	memcpy(p.saddr, dir ? b : a, 4);
	memcpy(p.daddr, dir ? a : b, 4);
	p.sport = dir ? 80 : cport;
	p.dport = dir ? cport : 80;
	p.seq = seq;
	p.ack = ack;
	p.flags = fl;
	p.win = win;
	p.payload_len = len;
	p.cap_payload = len;
	p.tcp_hlen = 20;
	return p;
}

static struct lk_flow *feed(struct lk_flowtab *t, struct lk_pkt p, int *dir, bool *isnew)
{
	int d;
	bool n;
	now_ns += 1000;
	struct lk_flow *f = lk_flowtab_add(t, &p, now_ns, dir ? dir : &d, isnew ? isnew : &n);
	if (!f)
		bail("lk_flowtab_add returned NULL");
	return f;
}
#define FEED(t, ...) feed((t), mk(__VA_ARGS__), NULL, NULL)

/* handshake: a ISN 1000, b ISN 5000; windows 65535, no options */
static struct lk_flow *handshake(struct lk_flowtab *t)
{
	FEED(t, 0, 1000, 0, S, 65535, 0);
	FEED(t, 1, 5000, 1001, S | A, 65535, 0);
	return FEED(t, 0, 1001, 5001, A, 65535, 0);
}

static void t_basic(void)
{
	struct lk_flowtab *t = lk_flowtab_new();
	struct lk_flow *f = handshake(t);
	FEED(t, 0, 1001, 5001, A | P, 65535, 100);
	FEED(t, 0, 1101, 5001, A, 65535, 100);
	FEED(t, 1, 5001, 1201, A, 65535, 0);
	FEED(t, 0, 1201, 5001, F | A, 65535, 0);
	FEED(t, 1, 5001, 1202, F | A, 65535, 0);
	FEED(t, 0, 1202, 5002, A, 65535, 0);
	const struct lk_dirstat *a = &f->d[0], *b = &f->d[1];
	is_int(lk_flowtab_count(t), 1, "basic: one flow");
	is_int(a->total_packets, 6, "basic: a->b packets");
	is_int(a->ack_pkts, 5, "basic: a->b ACKs (SYN has none)");
	is_int(a->pure_acks, 2, "basic: pure ACKs exclude data, SYN, FIN");
	is_int(a->data_pkts, 2, "basic: data packets");
	is_int(a->data_bytes, 200, "basic: data bytes");
	is_int(a->unique_bytes, 200, "basic: unique bytes exclude SYN/FIN");
	is_int(a->pushed_data_pkts, 1, "basic: PSH data");
	is_int(a->syn_pkts + a->fin_pkts, 2, "basic: SYN+FIN");
	is_int(b->pure_acks, 1, "basic: b pure ACKs");
	is_int(a->rexmt_data_pkts + b->rexmt_data_pkts, 0, "basic: no retransmissions");
	is_int(a->max_seg, 100, "basic: max segment");
	lk_flowtab_free(t);
}

static void t_rexmit(void)
{
	struct lk_flowtab *t = lk_flowtab_new();
	struct lk_flow *f = handshake(t);
	const struct lk_dirstat *a = &f->d[0];
	FEED(t, 0, 1001, 5001, A, 65535, 1000);  /* [1001,2000] */
	FEED(t, 0, 1001, 5001, A, 65535, 1000);  /* full retransmission */
	is_int(a->rexmt_data_pkts, 1, "rexmit: full resend counted");
	is_int(a->rexmt_data_bytes, 1000, "rexmit: its bytes");
	is_int(a->unique_bytes, 1000, "rexmit: unique unchanged");
	FEED(t, 0, 1501, 5001, A, 65535, 1000);  /* [1501,2500]: 500 old, 500 new */
	is_int(a->rexmt_data_bytes, 1500, "rexmit: partial overlap adds 500");
	is_int(a->unique_bytes, 1500, "rexmit: and 500 unique");
	/* out of order: a hole filler that ends before the next recorded range */
	FEED(t, 0, 3501, 5001, A, 65535, 500);   /* [3501,4000], hole [2501,3500] */
	FEED(t, 0, 2501, 5001, A, 65535, 500);   /* [2501,3000] */
	is_int(a->outoforder_pkts, 1, "ooo: hole filler is out of order");
	is_int(a->rexmt_data_pkts, 2, "ooo: and not a retransmission");
	/* a filler reaching past the recorded range is not out of order */
	FEED(t, 0, 3001, 5001, A, 65535, 1500);  /* [3001,4500] */
	is_int(a->outoforder_pkts, 1, "ooo: overlapping filler is not out of order");
	is_int(a->rexmt_data_bytes, 2000, "ooo: its overlap [3501,4000] is retransmitted");
	is_int(a->unique_bytes, 3500, "ooo: unique = distinct bytes");
	/* SYN retransmitted: 1 byte, not unique */
	FEED(t, 0, 1000, 0, S, 65535, 0);
	is_int(a->rexmt_data_pkts, 4, "rexmit: repeated SYN is a retransmitted packet");
	is_int(a->rexmt_data_bytes, 2001, "rexmit: of one byte");
	is_int(a->unique_bytes, 3500, "rexmit: SYN adds no unique bytes");
	lk_flowtab_free(t);
}

static void t_probe_rst(void)
{
	struct lk_flowtab *t = lk_flowtab_new();
	struct lk_flow *f = handshake(t);
	const struct lk_dirstat *a = &f->d[0], *b = &f->d[1];
	FEED(t, 0, 1001, 5001, A, 65535, 100);
	FEED(t, 1, 5001, 1101, A, 0, 0);          /* zero window */
	FEED(t, 0, 1101, 5001, A, 65535, 1);      /* probe */
	FEED(t, 0, 1101, 5001, A, 65535, 1);      /* probe again: not a rexmit */
	is_int(a->zwnd_probe_pkts, 2, "probe: data after a zero window");
	is_int(a->zwnd_probe_bytes, 2, "probe: bytes");
	is_int(a->rexmt_data_pkts, 0, "probe: not retransmissions");
	is_int(a->unique_bytes, 100, "probe: not unique");
	is_int(b->zero_win_adv, 1, "probe: zero window advertised once");
	FEED(t, 0, 1101, 5001, F | A, 65535, 0);  /* FIN is a probe too */
	is_int(a->zwnd_probe_pkts, 3, "probe: FIN while window is 0");
	/* RST from b (window 65535, SACK block): window state NOT updated */
	struct lk_pkt r = mk(1, 5001, 1101, R | A, 65535, 0);
	r.opt.n_sack = 1;
	r.opt.sack[0][0] = 900;
	r.opt.sack[0][1] = 1000;
	feed(t, r, NULL, NULL);
	is_int(b->rst_pkts, 1, "rst: counted");
	is_int(b->ack_pkts, 3, "rst: RST+ACK counts as ACK");
	is_int(b->sack_pkts + b->dsack_pkts, 0, "rst: no SACK/D-SACK counting");
	is_int(b->pure_acks, 1, "rst: not a pure ACK");
	is_int(b->sacks_sent, 1, "rst: but 'sacks sent' counts it");
	FEED(t, 0, 1102, 5001, A, 65535, 10);
	is_int(a->zwnd_probe_pkts, 4, "rst: the window seen before the RST still applies");
	/* a packet without ACK sets the last window to 0 */
	FEED(t, 1, 5001, 1101, 0, 65535, 0);
	FEED(t, 1, 5001, 1101, A, 65535, 0);
	FEED(t, 0, 1112, 5001, A, 65535, 10);
	is_int(a->zwnd_probe_pkts, 4, "probe: window open again");
	is_int(a->unique_bytes, 110, "probe: data counted again");
	lk_flowtab_free(t);
}

static void sackpkt(struct lk_flowtab *t, uint32_t ack, int n, const uint32_t (*blk)[2])
{
	struct lk_pkt p = mk(1, 5001, ack, A, 65535, 0);
	p.opt.n_sack = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		p.opt.sack[i][0] = blk[i][0];
		p.opt.sack[i][1] = blk[i][1];
	}
	feed(t, p, NULL, NULL);
}

static void t_sack(void)
{
	struct lk_flowtab *t = lk_flowtab_new();
	struct lk_flow *f = handshake(t);
	const struct lk_dirstat *b = &f->d[1];
	sackpkt(t, 2001, 1, (const uint32_t[][2]){{3001, 4001}});
	is_int(b->sack_pkts, 1, "sack: counted");
	is_int(b->dsack_pkts, 0, "sack: above the ACK is not a D-SACK");
	sackpkt(t, 2001, 1, (const uint32_t[][2]){{1501, 2001}});
	is_int(b->dsack_pkts, 1, "dsack: first block at or below the ACK");
	sackpkt(t, 2001, 2, (const uint32_t[][2]){{3001, 3501}, {3001, 4001}});
	is_int(b->dsack_pkts, 2, "dsack: first block inside the second");
	sackpkt(t, 2001, 2, (const uint32_t[][2]){{2501, 3501}, {3001, 4001}});
	is_int(b->dsack_pkts, 3, "dsack: first block overlaps the second");
	sackpkt(t, 2001, 3, (const uint32_t[][2]){{5001, 6001}, {3001, 4001}, {7001, 8001}});
	is_int(b->dsack_pkts, 3, "sack: disjoint blocks are not a D-SACK");
	is_int(b->sack_pkts, 5, "sack: five SACK packets");
	is_int(b->max_sack_blocks, 3, "sack: max blocks");
	/* plain unsigned compares, as tcptrace: a block "below" across the wrap */
	sackpkt(t, 10, 1, (const uint32_t[][2]){{0xfffffff0u, 0xfffffffau}});
	is_int(b->dsack_pkts, 3, "dsack: compares are not wrap-aware");
	lk_flowtab_free(t);
}

static void t_trunc_ws(void)
{
	struct lk_flowtab *t = lk_flowtab_new();
	struct lk_pkt s = mk(0, 1000, 0, S, 65535, 0);
	s.opt.has_ws = true;
	s.opt.ws = 59;
	struct lk_flow *f = feed(t, s, NULL, NULL);
	struct lk_pkt sa = mk(1, 5000, 1001, S | A, 65535, 0);
	sa.opt.has_ws = true;
	sa.opt.ws = 7;
	feed(t, sa, NULL, NULL);
	/* 51552 << 59 is 0 in tcptrace's 64-bit window: a zero window */
	FEED(t, 0, 1001, 5001, A, 51552, 0);
	FEED(t, 1, 5001, 1001, A, 100, 1448);
	is_int(f->d[1].zwnd_probe_pkts, 1, "ws: scaled window that overflows to 0 makes a probe");
	is_int(f->d[0].ws, 59, "ws: scale kept when both sides offered it");
	struct lk_pkt d = mk(0, 1001, 6449, A, 1, 1448);
	d.cap_payload = 42;
	feed(t, d, NULL, NULL);
	is_int(f->d[0].trunc_pkts, 1, "trunc: packet");
	is_int(f->d[0].trunc_bytes, 1406, "trunc: bytes not captured");
	is_int(f->d[0].data_bytes, 1448, "trunc: data bytes from the IP header");
	lk_flowtab_free(t);

	/* a window-scale option of 255 counts as absent (tcptrace's char -1) */
	t = lk_flowtab_new();
	s.opt.ws = 255;
	f = feed(t, s, NULL, NULL);
	sa.opt.ws = 7;
	feed(t, sa, NULL, NULL);
	FEED(t, 0, 1001, 5001, A, 51552, 0);
	FEED(t, 1, 5001, 1001, A, 100, 1448);
	is_int(f->d[1].zwnd_probe_pkts, 0, "ws: option value 255 ignored");
	ok(!f->d[0].req_ws, "ws: 255 is not a WS request");
	lk_flowtab_free(t);
}

static void t_reuse(void)
{
	struct lk_flowtab *t = lk_flowtab_new();
	int dir;
	bool isnew;
	struct lk_flow *f0 = feed(t, mk(0, 1000, 0, S, 65535, 0), &dir, &isnew);
	ok(isnew && dir == 0 && f0->idx == 0, "reuse: first SYN opens flow 0");
	FEED(t, 1, 5000, 1001, S | A, 65535, 0);
	FEED(t, 0, 1001, 5001, A, 65535, 0);
	/* a second SYN on an open connection: same flow */
	struct lk_flow *g = feed(t, mk(0, 1000, 0, S, 65535, 0), &dir, &isnew);
	ok(g == f0 && !isnew, "reuse: repeated SYN, same seq: same connection");
	FEED(t, 0, 1001, 5001, F | A, 65535, 0);
	FEED(t, 1, 5001, 1002, F | A, 65535, 0);
	FEED(t, 0, 1002, 5002, A, 65535, 0);
	/* rule 2: SYN after FIN with seq beyond b's ack+window (1002+65535) */
	struct lk_flow *f1 = feed(t, mk(0, 900000, 0, S, 65535, 0), &dir, &isnew);
	ok(isnew && f1 != f0 && f1->idx == 1 && dir == 0, "reuse: SYN beyond the old window after FIN opens flow 1");
	ok(f0->closed_by_reuse, "reuse: old flow marked");
	struct lk_flow *back = FEED(t, 1, 7000, 900001, S | A, 65535, 0);
	ok(back == f1, "reuse: reply joins the new flow");
	is_int(f0->d[0].total_packets, 5, "reuse: old flow keeps its packets");
	/* rule 2 not met: SYN inside the window after FIN stays */
	FEED(t, 0, 900001, 7001, F | A, 65535, 0);
	g = feed(t, mk(0, 900001, 0, S, 65535, 0), &dir, &isnew);
	ok(g == f1 && !isnew, "reuse: SYN inside the old window stays");
	/* rule 3: this side had > 1 SYN, new seq differs */
	g = feed(t, mk(0, 123, 0, S, 65535, 0), &dir, &isnew);
	ok(isnew && g->idx == 2, "reuse: SYN with another seq after two SYNs opens flow 2");
	/* rule 1: idle > 240 s, any packet; the opener becomes host a */
	now_ns += 240ull * 1000000000ull - 1000; /* feed() adds 1 us */
	g = feed(t, mk(1, 5, 5, A, 65535, 0), &dir, &isnew);
	ok(!isnew, "reuse: 240 s idle is not yet > 240 s");
	now_ns += 240ull * 1000000000ull;
	g = feed(t, mk(1, 5, 5, A, 65535, 0), &dir, &isnew);
	ok(isnew && dir == 0 && g->idx == 3 && g->port[0] == 80, "reuse: > 240 s idle opens flow 3, b is now host a");
	is_int(lk_flowtab_count(t), 4, "reuse: four connections");
	ok(lk_flowtab_get(t, 2) != NULL && lk_flowtab_get(t, 4) == NULL, "reuse: get by creation order");
	lk_flowtab_free(t);
}

static void t_wrap(void)
{
	struct lk_flowtab *t = lk_flowtab_new();
	uint32_t isn = 0xffffff00u;
	FEED(t, 0, isn, 0, S, 65535, 0);
	struct lk_flow *f = FEED(t, 1, 5000, isn + 1, S | A, 65535, 0);
	uint32_t seq = isn + 1;
	for (int i = 0; i < 4; i++) {
		FEED(t, 0, seq, 5001, A, 65535, 100); /* crosses 2^32 */
		seq += 100;
	}
	FEED(t, 0, isn + 201, 5001, A, 65535, 200); /* resend the range over the wrap */
	FEED(t, 1, 5001, seq, A, 65535, 0);
	const struct lk_dirstat *a = &f->d[0];
	is_int(a->unique_bytes, 400, "wrap: unique bytes across 2^32");
	is_int(a->rexmt_data_pkts, 1, "wrap: one retransmission");
	is_int(a->rexmt_data_bytes, 200, "wrap: of 200 bytes across the wrap");
	is_int(a->outoforder_pkts, 0, "wrap: nothing out of order");
	/* quadrant boundary 2^30 */
	seq = 0x3fffff80u;
	FEED(t, 0, seq, 5001, A, 65535, 256);
	FEED(t, 0, seq + 128, 5001, A, 65535, 256);
	is_int(a->rexmt_data_bytes, 328, "wrap: overlap across a quadrant boundary");
	lk_flowtab_free(t);
}

static void t_memory(void)
{
	struct lk_flowtab *t = lk_flowtab_new();
	handshake(t);
	struct lk_flowtab_mem m0, m1;
	uint32_t seq = 1001, ackd = 1001;
	long n = 1500000; /* 2.2 GB of sequence space: every quadrant, twice */
	for (long i = 0; i < n; i++) {
		FEED(t, 0, seq, 5001, A, 65535, 1448);
		seq += 1448;
		if (i % 2) {
			ackd = seq;
			FEED(t, 1, 5001, ackd, A, 65535, 0);
		}
		if (i == 100000)
			lk_flowtab_mem(t, &m0);
	}
	lk_flowtab_mem(t, &m1);
	struct lk_flow *f = lk_flowtab_get(t, 0);
	is_int(f->d[0].unique_bytes, (long long)n * 1448, "memory: unique bytes of a 2 GB stream");
	ok(m1.segs_live <= 4, "memory: acked ranges merged (%zu records live)", m1.segs_live);
	ok(m1.bytes == m0.bytes, "memory: flat (%zu bytes after 100k packets, %zu at the end)", m0.bytes,
	   m1.bytes);
	lk_flowtab_free(t);

	/* many flows: table grows with flows only */
	t = lk_flowtab_new();
	for (int i = 0; i < 5000; i++) {
		cport = (uint16_t)(1000 + i);
		FEED(t, 0, 1, 0, S, 100, 0);
	}
	is_int(lk_flowtab_count(t), 5000, "memory: 5000 flows");
	cport = 1000 + 4321;
	struct lk_flow *g = FEED(t, 1, 9, 2, S | A, 100, 0);
	is_int(g->idx, 4321, "memory: lookup after growth finds the flow");
	cport = 40000;
	lk_flowtab_free(t);
}

int main(void)
{
	t_basic();
	t_rexmit();
	t_probe_rst();
	t_sack();
	t_trunc_ws();
	t_reuse();
	t_wrap();
	t_memory();
	return done_testing();
}
