/* lro-verify - check lro_ref on a real capture, and `lrokit replay -w` output.
 *
 *   lro-verify [--policy P] [--trust-csum] [--budget N] [--gap-us N] [--no-agg-ok]
 *              IN.pcap [OUT.pcap]
 *   lro-verify --write-bad FILE     (a pcap with one bad TCP and one bad IPv4
 *                                    header checksum, to prove the checkers see them)
 *
 * Runs IN (Ethernet) through the engine with the replay command's poll model
 * (a poll = up to N frames or until an idle gap) and the independent checker
 * (tests/helpers/lro-check.h): lossless and in order per flow after
 * re-segmenting every aggregate at gso_size, unchanged frames byte-exact,
 * checksums/lengths valid. With OUT, every frame of OUT must equal the
 * engine's output frame at the same position (complete checksums). Prints a
 * summary; exit 0 ok, 1 a check failed, 2 usage/IO.
 */
#include "lib/err.h"
#include "lib/pcapin.h"
#include "lro_ref/lro.h"
#include "tests/helpers/lro-check.h"

#include <pcap/pcap.h>

struct vctx {
	struct lchk *k;
	pcap_t *outp;
	uint64_t nout, mismatch, first_bad;
	uint64_t agg, segs;
};

static void on_emit(void *p, const struct lro_out *o)
{
	struct vctx *v = p;
	lchk_out(v->k, o);
	if (o->segs > 1) {
		v->agg++;
		v->segs += o->segs;
	}
	if (v->outp) {
		struct pcap_pkthdr *h;
		const u_char *d;
		int r = pcap_next_ex(v->outp, &h, &d);
		if (r != 1 || h->caplen != o->len || memcmp(d, o->frame, o->len)) {
			if (!v->mismatch)
				v->first_bad = v->nout;
			v->mismatch++;
		}
	}
	v->nout++;
}

static int write_bad(const char *path)
{
	uint8_t f[14 + 20 + 20 + 10] = {0xaa, 0, 0, 0, 0, 1, 0xaa, 0, 0, 0, 0, 2, 0x08, 0x00,
					0x45, 0, 0, 50, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
					0x04, 0xd2, 0x1f, 0x40, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff};
	memset(f + 54, 'x', 10);
	uint16_t c = (uint16_t)~lchk_sum(f + 14, 20, 0);
	f[24] = (uint8_t)(c >> 8); f[25] = (uint8_t)c;
	uint64_t ps = 6 + 30 + lchk_sum(f + 26, 8, 0);
	c = (uint16_t)~lchk_sum(f + 34, 30, ps);
	f[50] = (uint8_t)(c >> 8); f[51] = (uint8_t)(c + 1); /* bad TCP checksum */
	pcap_t *d = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *w = d ? pcap_dump_open(d, path) : NULL;
	if (!w)
		return 2;
	struct pcap_pkthdr h = {.ts = {1, 0}, .caplen = sizeof f, .len = sizeof f};
	pcap_dump((u_char *)w, &h, f);
	f[51] = (uint8_t)c;
	f[25] ^= 1; /* bad IPv4 header checksum */
	h.ts.tv_sec = 2;
	pcap_dump((u_char *)w, &h, f);
	pcap_dump_close(w);
	pcap_close(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct lro_config c;
	enum lro_policy pol = LRO_POLICY_LINUX;
	unsigned long budget = 64, gap_us = 100;
	bool trust = false, noagg_ok = false;
	int i = 1;
	if (argc == 3 && !strcmp(argv[1], "--write-bad"))
		return write_bad(argv[2]);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
			if (lro_policy_parse(argv[++i], &pol) < 0)
				return 2;
		} else if (!strcmp(argv[i], "--no-agg-ok")) {
			noagg_ok = true;
		} else if (!strcmp(argv[i], "--trust-csum")) {
			trust = true;
		} else if (!strcmp(argv[i], "--budget") && i + 1 < argc) {
			budget = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--gap-us") && i + 1 < argc) {
			gap_us = strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "lro-verify: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc || budget < 1) {
		fprintf(stderr, "usage: lro-verify [--policy P] [--trust-csum] IN.pcap [OUT.pcap]\n");
		return 2;
	}
	lro_config_default(&c, pol);
	c.verify_csum = !trust;
	c.csum_complete = true;
	struct vctx v = {.k = lchk_new(pol == LRO_POLICY_LINUX)};
	char eb[PCAP_ERRBUF_SIZE];
	if (i + 1 < argc && !(v.outp = pcap_open_offline(argv[i + 1], eb))) {
		fprintf(stderr, "lro-verify: %s\n", eb);
		return 2;
	}
	struct lk_err e;
	struct lk_pcap *r;
	if (lk_pcap_open(argv[i], &r, &e) < 0) {
		fprintf(stderr, "lro-verify: %s\n", e.msg);
		return 2;
	}
	if (lk_pcap_dlt(r) != DLT_EN10MB) {
		fprintf(stderr, "lro-verify: %s is not Ethernet\n", argv[i]);
		return 2;
	}
	struct lro *l = lro_new(&c, on_emit, &v);
	const struct pcap_pkthdr *h;
	const uint8_t *d;
	uint64_t n = 0, in_poll = 0, last = 0;
	int got;
	while ((got = lk_pcap_next(r, &h, &d, &e)) == 1) {
		uint64_t ts = lk_pcap_ts_ns(r, h);
		if (n && in_poll && gap_us && ts > last && ts - last > gap_us * 1000) {
			lro_poll_end(l, last);
			in_poll = 0;
		}
		lchk_in(v.k, d, h->caplen);
		lro_rx(l, d, h->caplen, ts);
		last = ts;
		n++;
		if (++in_poll >= budget) {
			lro_poll_end(l, ts);
			in_poll = 0;
		}
	}
	lro_poll_end(l, last);
	lk_pcap_close(r);
	int rc = 0;
	const char *why = lchk_finish(v.k);
	const struct lro_stats *st = lro_stats(l);
	printf("frames %llu, out %llu, aggregates %llu of %llu segments, rate %.2f, policy %s\n",
	       (unsigned long long)n, (unsigned long long)v.nout, (unsigned long long)v.agg,
	       (unsigned long long)v.segs, lro_rate(st), lro_policy_name(pol));
	if (why) {
		printf("FAIL lossless/in-order/checksums: %s\n", why);
		rc = 1;
	} else {
		printf("ok lossless, in order, checksums and lengths valid\n");
	}
	if (v.outp) {
		struct pcap_pkthdr *hh;
		const u_char *dd;
		if (pcap_next_ex(v.outp, &hh, &dd) == 1)
			v.mismatch++;
		if (v.mismatch) {
			printf("FAIL replay output differs from the engine's (%llu frames, first at %llu)\n",
			       (unsigned long long)v.mismatch, (unsigned long long)v.first_bad);
			rc = 1;
		} else {
			printf("ok replay output identical to the engine's\n");
		}
		pcap_close(v.outp);
	}
	if (!v.agg && !noagg_ok) {
		printf("FAIL nothing was aggregated\n");
		rc = 1;
	}
	lro_free(l);
	lchk_free(v.k);
	return rc;
}
