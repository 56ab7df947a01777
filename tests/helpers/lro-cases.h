/* tests/helpers/lro-cases.h - the Linux GRO selftest cases (tools/testing/
 * selftests/drivers/net/gro.c in the Linux tree, 2026 version) as frame
 * sequences, shared by the unit test
 * (tests/t-lro-selftest.c, engine) and the kernel comparison helper
 * (tests/helpers/lro-kcmp.c, veth + kernel GRO). Header-only.
 *
 * Template: Ethernet aa:00:00:00:00:02 -> aa:00:00:00:00:01, IPv4
 * 192.168.1.200 -> 192.168.1.100 (TTL 8, DF, ID 0, TOS 0) or IPv6 fdaa::2 ->
 * fdaa::1 (hop limit 8); TCP 1500 -> 8000, seq 100 + off, ack 100, ACK,
 * window 65535; payload 'a'. Every case ends with the terminator FIN (seq
 * offset 200, no payload); the expected list is the payload sizes received
 * before it.
 */
#ifndef LRO_CASES_H
#define LRO_CASES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define LC_PAYLOAD 100
#define LC_MAXF 80

struct lc_spec {
	int fam;                /* 4 or 6 */
	uint32_t seq_off, ack_off, plen;
	uint8_t flags;          /* extra TCP flags besides ACK */
	uint8_t tcpopt[40];
	unsigned tcpoptlen;
	uint8_t ipopt[40];      /* IPv4 options */
	unsigned ipoptlen;
	uint8_t ext[16];        /* one IPv6 extension header (8 bytes) */
	unsigned extlen;
	uint8_t ext_type;
	int ttl, tos;           /* -1 = template */
	int ip_id;
	int df;                 /* -1 template (1) */
	bool mf;
	int tcp_csum_delta, ip_csum_delta;
	uint16_t sport;
	uint32_t csum_plen;     /* TCP checksum as if payload were this long (frag4) */
	unsigned pad_to;        /* pad the frame to this length (Ethernet minimum 60) */
	int win;                /* -1 = 65535 */
	uint16_t vlan;          /* 802.1Q VLAN ID, 0 = untagged */
	uint8_t payload_byte;   /* 0 = 'a' */
	const uint8_t *payload; /* plen bytes to use instead (NULL = payload_byte) */
};

struct lc_frame {
	uint8_t *d;
	uint32_t len;
	uint32_t sleep_us;      /* sender sleeps this long before sending it */
};

struct lc_case {
	char name[32];
	int fam;
	struct lc_frame f[LC_MAXF];
	int n;
	int exp[LC_MAXF];
	int nexp;
	bool timing;            /* needs sleeps (time-based flush) */
};

static inline void lc_spec_init(struct lc_spec *s, int fam)
{
	memset(s, 0, sizeof *s);
	s->fam = fam;
	s->plen = LC_PAYLOAD;
	s->ttl = s->tos = s->df = -1;
	s->sport = 1500;
	s->win = -1;
}

static inline uint32_t lc_sum(const uint8_t *p, uint32_t len, uint32_t s)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}
static inline uint16_t lc_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}
static inline void lc_put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void lc_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Build one frame (malloc'd) from a spec. */
static inline uint8_t *lc_build(const struct lc_spec *s, uint32_t *len_out)
{
	unsigned iphl = s->fam == 4 ? 20 + s->ipoptlen : 40 + s->extlen;
	unsigned thl = 20 + s->tcpoptlen;
	unsigned l2 = s->vlan ? 18 : 14;
	uint32_t len = l2 + iphl + thl + s->plen;
	uint32_t alloc = len < s->pad_to ? s->pad_to : len;
	uint8_t *f = calloc(1, alloc + 1);
	if (!f)
		abort();
	static const uint8_t dmac[6] = {0xaa, 0, 0, 0, 0, 1}, smac[6] = {0xaa, 0, 0, 0, 0, 2};
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	if (s->vlan) {
		lc_put16(f + 12, 0x8100);
		lc_put16(f + 14, s->vlan);
	}
	lc_put16(f + l2 - 2, s->fam == 4 ? 0x0800 : 0x86dd);
	uint8_t *ip = f + l2, *th = ip + iphl;
	uint32_t ps = 0;
	if (s->fam == 4) {
		static const uint8_t sa[4] = {192, 168, 1, 200}, da[4] = {192, 168, 1, 100};
		ip[0] = (uint8_t)(0x40 | (iphl / 4));
		ip[1] = (uint8_t)(s->tos < 0 ? 0 : s->tos);
		lc_put16(ip + 2, iphl + thl + s->plen);
		lc_put16(ip + 4, (uint32_t)(s->ip_id));
		lc_put16(ip + 6, (uint32_t)((s->df != 0 ? 0x4000 : 0) | (s->mf ? 0x2000 : 0)));
		ip[8] = (uint8_t)(s->ttl < 0 ? 8 : s->ttl);
		ip[9] = 6;
		memcpy(ip + 12, sa, 4);
		memcpy(ip + 16, da, 4);
		memcpy(ip + 20, s->ipopt, s->ipoptlen);
		lc_put16(ip + 10, (uint16_t)(~lc_fold(lc_sum(ip, iphl, 0)) + s->ip_csum_delta));
		ps = lc_sum(ip + 12, 8, 0);
	} else {
		static const uint8_t sa[16] = {0xfd, 0xaa, [15] = 2}, da[16] = {0xfd, 0xaa, [15] = 1};
		uint32_t tc = (uint32_t)(s->tos < 0 ? 0 : s->tos);
		lc_put32(ip, 0x60000000u | tc << 20);
		lc_put16(ip + 4, iphl - 40 + thl + s->plen);
		ip[6] = s->extlen ? s->ext_type : 6;
		ip[7] = (uint8_t)(s->ttl < 0 ? 8 : s->ttl);
		memcpy(ip + 8, sa, 16);
		memcpy(ip + 24, da, 16);
		memcpy(ip + 40, s->ext, s->extlen);
		ps = lc_sum(ip + 8, 32, 0);
	}
	lc_put16(th, s->sport);
	lc_put16(th + 2, 8000);
	lc_put32(th + 4, 100 + s->seq_off);
	lc_put32(th + 8, 100 + s->ack_off);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = (uint8_t)(0x10 | s->flags);
	lc_put16(th + 14, (uint32_t)(s->win < 0 ? 65535 : s->win));
	memcpy(th + 20, s->tcpopt, s->tcpoptlen);
	uint8_t pb = s->payload_byte ? s->payload_byte : 'a';
	if (s->payload)
		memcpy(th + thl, s->payload, s->plen);
	else
		memset(th + thl, pb, s->plen);
	uint32_t sum;
	if (!s->csum_plen) {
		sum = lc_sum(th, thl + s->plen, ps + 6 + thl + s->plen);
	} else { /* as if the payload (all pb) were csum_plen long */
		uint32_t cplen = s->csum_plen;
		sum = lc_sum(th, thl, ps + 6 + thl + cplen);
		for (uint32_t i = 0; i < cplen; i += 2)
			sum += i + 1 < cplen ? (uint32_t)(pb << 8 | pb) : (uint32_t)(pb << 8);
	}
	lc_put16(th + 16, (uint16_t)(~lc_fold(sum) + s->tcp_csum_delta));
	*len_out = alloc;
	return f;
}

static inline void lc_add(struct lc_case *c, const struct lc_spec *s, uint32_t sleep_us)
{
	if (c->n >= LC_MAXF)
		abort();
	c->f[c->n].d = lc_build(s, &c->f[c->n].len);
	c->f[c->n].sleep_us = sleep_us;
	if (sleep_us)
		c->timing = true;
	c->n++;
}

/* Pn: segment n (seq offset n*100, 100 bytes) */
static inline void lc_P(struct lc_case *c, int n, uint32_t sleep_us)
{
	struct lc_spec s;
	lc_spec_init(&s, c->fam);
	s.seq_off = (uint32_t)n * LC_PAYLOAD;
	lc_add(c, &s, sleep_us);
}

static inline void lc_ts_opt(struct lc_spec *s, uint32_t tsval, int order)
{
	uint8_t ts[10] = {8, 10};
	lc_put32(ts + 2, tsval);
	s->tcpoptlen = 12;
	if (order == 0) { s->tcpopt[0] = 1; s->tcpopt[1] = 1; memcpy(s->tcpopt + 2, ts, 10); }
	if (order == 1) { s->tcpopt[0] = 1; memcpy(s->tcpopt + 1, ts, 10); s->tcpopt[11] = 1; }
	if (order == 2) { memcpy(s->tcpopt, ts, 10); s->tcpopt[10] = 1; s->tcpopt[11] = 1; }
}

static inline void lc_exp(struct lc_case *c, int n, const int *v)
{
	c->nexp = n;
	for (int i = 0; i < n; i++)
		c->exp[i] = v[i];
}
#define LC_EXP(c, ...) do { static const int v_[] = {__VA_ARGS__}; \
	lc_exp(c, (int)(sizeof v_ / sizeof v_[0]), v_); } while (0)

/* Case names (IPv4+IPv6 unless marked in lc_make). */
static const char *const lc_names[] = {
	"data_same", "data_lrg_sml", "data_lrg_1byte", "data_sml_lrg", "data_burst", "ack",
	"flags_psh", "flags_syn", "flags_rst", "flags_urg", "flags_cwr",
	"tcp_csum", "tcp_seq", "tcp_ts", "tcp_opt", "ip_ecn", "ip_tos",
	"ip_csum", "ip_ttl", "ip_opt", "ip_frag4",
	"ip_id_df1_inc", "ip_id_df1_fixed", "ip_id_df0_inc", "ip_id_df0_fixed",
	"ip_id_df1_inc_fixed", "ip_id_df1_fixed_inc",
	"ip_frag6", "ip_v6ext_same", "ip_v6ext_diff",
	"large_max", "large_rem", "single",
	NULL,
};

static inline void lc_free(struct lc_case *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->f[i].d);
	c->n = 0;
}

/* Build case `name` for family fam; returns -1 if it does not apply to fam
 * (IPv4-only / IPv6-only tests) or is unknown. */
static inline int lc_make(const char *name, int fam, struct lc_case *c)
{
	struct lc_spec s;
	memset(c, 0, sizeof *c);
	strncpy(c->name, name, sizeof c->name - 1);
	c->fam = fam;
	const uint32_t gap = 100000; /* the selftest's usleep(fin_delay_us) */
	uint32_t fin_sleep = 0;
	bool v4only = !strncmp(name, "ip_csum", 7) || !strcmp(name, "ip_ttl") || !strcmp(name, "ip_opt") ||
		      !strcmp(name, "ip_frag4") || !strncmp(name, "ip_id_", 6);
	bool v6only = !strcmp(name, "ip_frag6") || !strncmp(name, "ip_v6ext", 8);
	if ((v4only && fam != 4) || (v6only && fam != 6))
		return -1;

	if (!strcmp(name, "data_same")) {
		lc_P(c, 0, 0); lc_P(c, 1, 0);
		LC_EXP(c, 200);
	} else if (!strcmp(name, "data_lrg_sml") || !strcmp(name, "data_sml_lrg") ||
		   !strcmp(name, "data_lrg_1byte")) {
		uint32_t a = 100, b = 50;
		if (!strcmp(name, "data_sml_lrg")) { a = 50; b = 100; }
		if (!strcmp(name, "data_lrg_1byte")) b = 1;
		lc_spec_init(&s, fam); s.plen = a; lc_add(c, &s, 0);
		lc_spec_init(&s, fam); s.seq_off = a; s.plen = b;
		if (b == 1)
			s.pad_to = 60; /* as on a real Ethernet link (IPv4: 55 -> 60 bytes) */
		lc_add(c, &s, 0);
		if (a == 100 && b == 50) LC_EXP(c, 150);
		else if (b == 1) LC_EXP(c, 101);
		else LC_EXP(c, 50, 100);
	} else if (!strcmp(name, "data_burst")) {
		lc_P(c, 0, 0); lc_P(c, 1, 0); lc_P(c, 2, gap); lc_P(c, 3, 0);
		LC_EXP(c, 200, 200);
	} else if (!strcmp(name, "ack")) {
		lc_spec_init(&s, fam); s.plen = 0; lc_add(c, &s, 0); lc_add(c, &s, 0);
		s.ack_off = 1; lc_add(c, &s, 0);
		LC_EXP(c, 0, 0, 0);
	} else if (!strncmp(name, "flags_", 6)) {
		uint8_t fl = !strcmp(name, "flags_psh") ? 0x08 : !strcmp(name, "flags_syn") ? 0x02 :
			     !strcmp(name, "flags_rst") ? 0x04 : !strcmp(name, "flags_urg") ? 0x20 :
			     !strcmp(name, "flags_cwr") ? 0x80 : 0;
		if (!fl)
			return -1;
		bool withdata = fl == 0x08 || fl == 0x80;
		for (int i = 0; i < 5; i++) {
			bool flagged = i == 2 || (i == 1 && fl == 0x80);
			lc_spec_init(&s, fam);
			if (flagged) {
				s.plen = withdata ? LC_PAYLOAD : 0;
				s.seq_off = (uint32_t)i * s.plen;
				s.flags = fl;
			} else {
				s.seq_off = (uint32_t)i * LC_PAYLOAD;
			}
			lc_add(c, &s, 0);
		}
		if (fl == 0x08) LC_EXP(c, 300, 200);
		else if (fl == 0x80) LC_EXP(c, 100, 200, 200); /* AccECN rule (current kernels) */
		else LC_EXP(c, 200, 0, 200);
	} else if (!strcmp(name, "tcp_csum") || !strcmp(name, "tcp_seq")) {
		lc_P(c, 0, 0);
		lc_spec_init(&s, fam); s.seq_off = LC_PAYLOAD;
		if (name[4] == 'c') s.tcp_csum_delta = -1; else s.seq_off += 1;
		lc_add(c, &s, 0);
		LC_EXP(c, 100, 100);
		fin_sleep = gap;
	} else if (!strcmp(name, "tcp_ts")) {
		static const struct { uint32_t ts; int order; } t[5] = {{0, 0}, {0, 0}, {100, 0}, {100, 1}, {100, 2}};
		for (int i = 0; i < 5; i++) {
			lc_spec_init(&s, fam); s.seq_off = (uint32_t)i * LC_PAYLOAD;
			lc_ts_opt(&s, t[i].ts, t[i].order);
			lc_add(c, &s, 0);
		}
		LC_EXP(c, 200, 100, 100, 100);
		fin_sleep = gap;
	} else if (!strcmp(name, "tcp_opt")) {
		for (int i = 0; i < 2; i++) {
			lc_spec_init(&s, fam); s.seq_off = (uint32_t)i * LC_PAYLOAD;
			lc_ts_opt(&s, 0, 0);
			lc_add(c, &s, 0);
		}
		lc_spec_init(&s, fam); s.seq_off = 2 * LC_PAYLOAD;
		s.tcpoptlen = 4; s.tcpopt[0] = 1; s.tcpopt[1] = 3; s.tcpopt[2] = 3; s.tcpopt[3] = 0;
		lc_add(c, &s, 0);
		LC_EXP(c, 200, 100);
		fin_sleep = gap;
	} else if (!strcmp(name, "ip_ecn") || !strcmp(name, "ip_tos") || !strcmp(name, "ip_ttl")) {
		lc_P(c, 0, 0);
		lc_spec_init(&s, fam); s.seq_off = LC_PAYLOAD;
		if (name[3] == 'e') s.tos = 2;                 /* ECT(0) */
		else if (name[3] == 't' && name[4] == 'o') s.tos = fam == 4 ? 1 : 0xf0; /* v6: priority 0xf */
		else s.ttl = 7;
		lc_add(c, &s, 0);
		LC_EXP(c, 100, 100);
	} else if (!strcmp(name, "ip_csum") || !strcmp(name, "ip_opt")) {
		lc_P(c, 0, 0);
		lc_spec_init(&s, fam); s.seq_off = LC_PAYLOAD;
		if (name[3] == 'c') {
			s.ip_csum_delta = -1;
		} else { /* IPv4 timestamp option, 40 bytes (struct ip_timestamp) */
			s.ipoptlen = 40; s.ipopt[0] = 68; s.ipopt[1] = 40; s.ipopt[2] = 5; s.ipopt[3] = 0;
			fin_sleep = gap;
		}
		lc_add(c, &s, 0);
		lc_P(c, 2, 0);
		LC_EXP(c, 100, 100, 100);
	} else if (!strcmp(name, "ip_frag4")) {
		lc_P(c, 0, 0);
		lc_spec_init(&s, fam); s.seq_off = LC_PAYLOAD; s.mf = true; s.csum_plen = 2 * LC_PAYLOAD;
		lc_add(c, &s, 0);
		LC_EXP(c, 100, 100);
		fin_sleep = gap;
	} else if (!strncmp(name, "ip_id_", 6)) {
		int ids[3] = {8, 9, -1}, df = 1;
		if (!strcmp(name, "ip_id_df1_inc")) { ids[1] = 9; }
		else if (!strcmp(name, "ip_id_df1_fixed")) { ids[1] = 8; }
		else if (!strcmp(name, "ip_id_df0_inc")) { ids[1] = 9; df = 0; }
		else if (!strcmp(name, "ip_id_df0_fixed")) { ids[1] = 8; df = 0; }
		else if (!strcmp(name, "ip_id_df1_inc_fixed")) { ids[1] = 9; ids[2] = 9; }
		else if (!strcmp(name, "ip_id_df1_fixed_inc")) { ids[1] = 8; ids[2] = 9; }
		else return -1;
		for (int i = 0; i < 3 && ids[i] >= 0; i++) {
			lc_spec_init(&s, fam); s.seq_off = (uint32_t)i * LC_PAYLOAD; s.ip_id = ids[i]; s.df = df;
			lc_add(c, &s, 0);
		}
		if (ids[2] >= 0) LC_EXP(c, 200, 100);
		else LC_EXP(c, 200); /* df0_fixed: coalesces on current kernels (DF no longer required) */
		fin_sleep = gap;
	} else if (!strcmp(name, "ip_frag6")) {
		lc_P(c, 0, 0); lc_P(c, 1, 0);
		lc_spec_init(&s, fam); s.seq_off = 2 * LC_PAYLOAD;
		s.extlen = 8; s.ext_type = 44; s.ext[0] = 6; /* fragment header, offset 0, M=0 */
		lc_add(c, &s, 1000000);
		lc_P(c, 3, 0);
		LC_EXP(c, 200, 100, 100);
		fin_sleep = gap;
	} else if (!strncmp(name, "ip_v6ext", 8)) {
		bool diff = !strcmp(name, "ip_v6ext_diff");
		for (int i = 0; i < 2; i++) {
			lc_spec_init(&s, fam); s.seq_off = (uint32_t)i * LC_PAYLOAD;
			s.extlen = 8; s.ext_type = 60; s.ext[0] = 6; s.ext[1] = 0;
			memset(s.ext + 2, diff && i ? 0x11 : 0x00, 6);
			lc_add(c, &s, 0);
		}
		if (diff) LC_EXP(c, 100, 100); else LC_EXP(c, 200);
		fin_sleep = gap;
	} else if (!strncmp(name, "large_", 6)) {
		unsigned hdr = fam == 4 ? 40 : 60;
		uint32_t mss = 4096 - hdr, max = 65535 - hdr, n = max / mss, r = max % mss;
		bool rem = !strcmp(name, "large_rem");
		for (uint32_t i = 0; i < n; i++) {
			lc_spec_init(&s, fam); s.seq_off = i * mss; s.plen = mss;
			lc_add(c, &s, 0);
		}
		uint32_t last = r + (rem ? 1 : 0);
		lc_spec_init(&s, fam); s.seq_off = n * mss; s.plen = last; lc_add(c, &s, 0);
		lc_spec_init(&s, fam); s.seq_off = (n + 1) * mss; s.plen = last; lc_add(c, &s, 0);
		if (rem) {
			c->nexp = 3; c->exp[0] = (int)(n * mss); c->exp[1] = c->exp[2] = (int)last;
		} else {
			c->nexp = 2; c->exp[0] = (int)max; c->exp[1] = (int)r;
		}
	} else if (!strcmp(name, "single")) {
		lc_P(c, 0, 0);
		LC_EXP(c, 100);
	} else {
		return -1;
	}
	/* terminator */
	lc_spec_init(&s, fam); s.seq_off = 2 * LC_PAYLOAD; s.plen = 0; s.flags = 0x01;
	lc_add(c, &s, fin_sleep);
	c->timing = false;
	for (int i = 0; i < c->n; i++)
		if (c->f[i].sleep_us && i != c->n - 1)
			c->timing = true;
	return 0;
}

/* The capacity case: nflows flows (sport 1500+i), a 200-byte segment of every
 * flow, then the second 200-byte segment (PSH) of every flow, then FIN of flow 0. */
static inline void lc_make_capacity(int fam, int nflows, struct lc_case *c, struct lc_frame *f,
				    int maxf, int *nf)
{
	struct lc_spec s;
	int n = 0;
	(void)c;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < nflows && n < maxf; i++) {
			lc_spec_init(&s, fam);
			s.sport = (uint16_t)(1500 + i);
			s.plen = 200;
			s.seq_off = (uint32_t)round * 200;
			if (round)
				s.flags = 0x08;
			f[n].d = lc_build(&s, &f[n].len);
			f[n++].sleep_us = 0;
		}
	lc_spec_init(&s, fam); s.seq_off = 400; s.plen = 0; s.flags = 0x01;
	f[n].d = lc_build(&s, &f[n].len);
	f[n++].sleep_us = 0;
	*nf = n;
}

/* What the selftest receiver records for one delivered frame: -2 = not ours
 * (not TCP to port 8000), -1 = the FIN terminator, else the TCP payload
 * length taken from the IP header (Ethernet padding ignored). */
static inline int lc_rx_payload(const uint8_t *f, uint32_t len)
{
	if (len < 14 + 20)
		return -2;
	unsigned et = (unsigned)(f[12] << 8 | f[13]), l2 = 14;
	if (et == 0x8100 && len >= 18 + 20) {
		et = (unsigned)(f[16] << 8 | f[17]);
		l2 = 18;
	}
	const uint8_t *ip = f + l2;
	unsigned ihl, l3len, nh;
	if (et == 0x0800) {
		ihl = (ip[0] & 15u) * 4;
		l3len = (unsigned)(ip[2] << 8 | ip[3]);
		nh = ip[9];
	} else if (et == 0x86dd) {
		if (len < l2 + 40 + 20)
			return -2;
		ihl = 40;
		l3len = 40u + (unsigned)(ip[4] << 8 | ip[5]);
		nh = ip[6];
		if (nh == 0 || nh == 43 || nh == 60 || nh == 44) {
			nh = ip[40];
			ihl += 8;
		}
	} else {
		return -2;
	}
	if (nh != 6 || l2 + ihl + 20 > len)
		return -2;
	const uint8_t *th = ip + ihl;
	if ((th[2] << 8 | th[3]) != 8000)
		return -2;
	if (th[13] & 0x01)
		return -1;
	return (int)l3len - (int)ihl - (th[12] >> 4) * 4;
}

/* ---- running a case through the engine (needs lro_ref/lro.h) ---- */
#ifdef LRO_REF_LRO_H
struct lc_sink {
	int got[LC_MAXF * 2];
	int ngot;
	bool fin;
	void *chk;                       /* optional: lchk_out(chk, o) */
	void (*chk_out)(void *, const struct lro_out *);
};

static inline void lc_sink_emit(void *ctx, const struct lro_out *o)
{
	struct lc_sink *s = ctx;
	if (s->chk_out)
		s->chk_out(s->chk, o);
	int v = lc_rx_payload(o->frame, o->len);
	if (v == -1)
		s->fin = true;
	if (v >= 0 && !s->fin && s->ngot < LC_MAXF * 2)
		s->got[s->ngot++] = v;
}

/* Feed frames as the kernel test sends them: a sender sleep lets the
 * gro_flush_timeout timer flush everything (lro_poll_end); the rest is one
 * burst. Returns the payload list before FIN in s. */
static inline void lc_run(struct lro *l, const struct lc_frame *f, int n, struct lc_sink *s,
			  void (*in_hook)(void *, const uint8_t *, uint32_t))
{
	uint64_t t = 1000000;
	for (int i = 0; i < n; i++) {
		if (f[i].sleep_us) {
			lro_poll_end(l, t);
			t += (uint64_t)f[i].sleep_us * 1000;
		}
		if (in_hook)
			in_hook(s->chk, f[i].d, f[i].len);
		lro_rx(l, f[i].d, f[i].len, t);
		t += 1000;
	}
	lro_poll_end(l, t);
}

static inline void lc_fmt(char *buf, size_t sz, const int *v, int n)
{
	size_t o = 0;
	buf[0] = 0;
	for (int i = 0; i < n && o + 12 < sz; i++)
		o += (size_t)snprintf(buf + o, sz - o, "%s%d", i ? " " : "", v[i]);
}
#endif

#endif
