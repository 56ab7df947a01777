/* fuzz/fuzz-decode.c - libFuzzer target: the frame decoder (lib/decode.c),
 * the TCP option parser and the connection tracker (analyzers/flow.c) fed
 * with what the decoder accepts.
 *
 * Input: a frame stream (fuzz/frames.h). Asserted for every frame:
 *   - no read outside the captured bytes (each frame is its own allocation);
 *   - a decoded segment is consistent: the TCP header lies inside the
 *     captured bytes, header length 20..60 in steps of 4, the IP length is
 *     exactly IP headers + TCP header + payload, captured payload =
 *     min(captured bytes after the header, payload), <= 4 SACK blocks;
 *   - the option parser never reports more than it can hold;
 * and for the connection table: every segment is counted exactly once
 * (sum of total_packets = segments fed) and each direction's counters are
 * consistent (ACKs <= packets, pure ACKs <= ACKs, SACK <= ACKs, D-SACK <=
 * SACK, data packets <= packets, data bytes >= data packets, ...).
 */
#include "analyzers/flow.h"
#include "lib/decode.h"

#include <stdio.h>

#include "fuzz/frames.h"

static void check_pkt(const struct lk_pkt *p, uint32_t caplen)
{
	FZ_CHECK(p->af == 4 || p->af == 6);
	FZ_CHECK(p->tcp_hlen >= 20 && p->tcp_hlen <= 60 && p->tcp_hlen % 4 == 0);
	FZ_CHECK(p->l3_off < p->l4_off);
	/* the 20 fixed bytes captured; options maybe cut (hdr_missing) */
	FZ_CHECK((uint32_t)p->l4_off + 20 <= caplen);
	FZ_CHECK((uint32_t)p->l4_off + p->tcp_hlen == caplen + p->hdr_missing ||
		 (!p->hdr_missing && (uint32_t)p->l4_off + p->tcp_hlen <= caplen));
	FZ_CHECK(p->ip_len == (uint32_t)(p->l4_off - p->l3_off) + p->tcp_hlen + p->payload_len);
	uint32_t after = p->hdr_missing ? 0 : caplen - p->l4_off - p->tcp_hlen;
	FZ_CHECK(p->cap_payload == (after < p->payload_len ? after : p->payload_len));
	FZ_CHECK(p->opt.n_sack <= LK_MAX_SACK);
	FZ_CHECK(p->af == 4 || p->ip_id == 0);
	char buf[80];
	lk_fmt_endpoint(buf, sizeof buf, p->af, p->saddr, p->sport);
	FZ_CHECK(buf[0] != '\0');
}

static void check_dir(const struct lk_dirstat *d)
{
	FZ_CHECK(d->ack_pkts <= d->total_packets);
	FZ_CHECK(d->pure_acks <= d->ack_pkts);
	FZ_CHECK(d->sack_pkts <= d->ack_pkts);
	FZ_CHECK(d->dsack_pkts <= d->sack_pkts);
	FZ_CHECK(d->max_sack_blocks <= LK_MAX_SACK);
	FZ_CHECK(d->data_pkts <= d->total_packets);
	FZ_CHECK(d->data_bytes >= d->data_pkts);
	FZ_CHECK(d->pushed_data_pkts <= d->data_pkts);
	FZ_CHECK(d->syn_pkts <= d->total_packets && d->fin_pkts <= d->total_packets &&
		 d->rst_pkts <= d->total_packets);
	FZ_CHECK(d->trunc_pkts <= d->data_pkts);
	/* truncated bytes count cut TCP options too (tcptrace's rule) */
	FZ_CHECK(d->trunc_bytes <= d->data_bytes + 40 * d->trunc_pkts);
	FZ_CHECK(d->zwnd_probe_pkts <= d->total_packets);
	FZ_CHECK(d->min_seg <= d->max_seg);
	FZ_CHECK(!d->total_packets || d->first_ns <= d->last_ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer entry point */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r;
	fz_init(&r, data, size);
	struct lk_flowtab *t = lk_flowtab_new();
	FZ_CHECK(t != NULL);
	uint64_t fed = 0, ts;
	uint32_t len;
	uint8_t *f;
	while ((f = fz_next(&r, &len, &ts))) {
		/* the option parser on raw bytes (any length, any content) */
		struct lk_tcpopt o;
		lk_parse_tcpopt(f, len, &o);
		FZ_CHECK(o.n_sack <= LK_MAX_SACK);

		struct lk_pkt p;
		/* the wire length: as captured, or (every other frame) larger */
		uint32_t wire = (len & 1) ? len + 1000 : len;
		enum lk_dec_status s = lk_decode(r.dlt, f, len, wire, &p);
		FZ_CHECK((int)s >= 0 && s < LK_DEC__COUNT);
		FZ_CHECK(lk_dec_status_name(s)[0] != '?');
		if (s == LK_DEC_TCP) {
			check_pkt(&p, len);
			int dir;
			bool is_new;
			struct lk_flow *fl = lk_flowtab_add(t, &p, ts, &dir, &is_new);
			FZ_CHECK(fl != NULL);
			FZ_CHECK(dir == 0 || dir == 1);
			FZ_CHECK(fl->af == p.af);
			fed++;
		}
		free(f);
	}
	uint64_t total = 0;
	size_t n = lk_flowtab_count(t);
	for (size_t i = 0; i < n; i++) {
		const struct lk_flow *fl = lk_flowtab_get(t, i);
		FZ_CHECK(fl->idx == i);
		for (int d = 0; d < 2; d++) {
			check_dir(&fl->d[d]);
			total += fl->d[d].total_packets;
		}
	}
	FZ_CHECK(total == fed);
	lk_flowtab_free(t);
	return 0;
}
