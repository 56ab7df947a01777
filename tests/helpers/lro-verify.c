/* lro-verify - check lro_ref on a real capture, and `lrokit replay -w` output.
 *
 *   lro-verify [--policy P] [--trust-csum] [--budget N] [--gap-us N] [--no-agg-ok]
 *              IN.pcap [OUT.pcap]
 *   lro-verify --write-bad FILE     (a pcap with one bad TCP and one bad IPv4
 *                                    header checksum, to prove the checkers see them)
 *
 * Runs IN through the engine in the polls `lrokit replay` makes (lib/replay.h:
 * a poll = up to N frames or until an idle gap) and the independent checker
 * (tests/helpers/lro-check.h): lossless and in order per flow after
 * re-segmenting every aggregate at gso_size, unchanged frames byte-exact,
 * checksums/lengths valid. With OUT, every frame of OUT must equal the
 * engine's output frame at the same position (complete checksums). The same
 * frames also go through a second engine in zero-copy mode, fed from per-poll
 * buffers that stay valid until the poll end and are then overwritten and
 * freed (the NAPI model): its output, gathered, must equal the copy-mode
 * engine's frame by frame (bytes and metadata), with the same counters.
 * Prints a summary; exit 0 ok, 1 a check failed, 2 usage/IO.
 */
#include "lib/err.h"
#include "lib/pcapin.h"
#include "lib/replay.h"
#include "lro_ref/lro.h"
#include "tests/helpers/lro-check.h"

#include <pcap/pcap.h>

/* An output frame as compared across the modes: metadata + bytes. */
struct oframe {
	struct lro_out o;     /* frame -> d, no frags */
	uint8_t *d;
};

struct vctx {
	struct lchk *k;
	pcap_t *outp;
	uint64_t nout, mismatch, first_bad;
	uint64_t agg, segs;
	/* copy-mode frames not yet matched by the zero-copy engine */
	struct oframe *q;
	size_t qn, qhead, qcap;
	uint64_t zc_out, zc_bad, zc_frags, zc_first_bad;
	char zc_why[160];
};

static void zc_fail(struct vctx *v, const char *why)
{
	if (!v->zc_bad++) {
		v->zc_first_bad = v->zc_out;
		snprintf(v->zc_why, sizeof v->zc_why, "%s", why);
	}
}

/* Copy-mode frame: queued for the zero-copy engine's frame at the same position. */
static void queue_out(struct vctx *v, const struct lro_out *o)
{
	if (v->qn == v->qcap) {
		v->qcap = v->qcap ? 2 * v->qcap : 256;
		v->q = realloc(v->q, v->qcap * sizeof *v->q);
		if (!v->q)
			abort();
	}
	struct oframe *f = &v->q[v->qn++];
	f->o = *o;
	f->d = malloc(o->len ? o->len : 1);
	if (!f->d)
		abort();
	memcpy(f->d, o->frame, o->len);
	f->o.frame = f->d;
}

static void on_emit_zc(void *p, const struct lro_out *o)
{
	struct vctx *v = p;
	if (v->qhead == v->qn) {
		zc_fail(v, "zero-copy engine emitted a frame the copy engine did not");
		v->zc_out++;
		return;
	}
	struct oframe *f = &v->q[v->qhead++];
	static uint8_t g[70000];
	uint64_t sum = o->hdr_len;
	for (uint32_t k = 0; k < o->nfrags; k++)
		sum += o->frags[k].len;
	if (o->nfrags && (o->segs < 2 || sum != o->len || o->len > sizeof g))
		zc_fail(v, "zero-copy aggregate is not hdr_len + frags adding up to len");
	else if (o->len != f->o.len || o->segs != f->o.segs || o->gso_size != f->o.gso_size ||
		 o->gso_type != f->o.gso_type || o->csum_partial != f->o.csum_partial ||
		 o->csum_start != f->o.csum_start || o->csum_offset != f->o.csum_offset ||
		 o->hdr_len != f->o.hdr_len || o->flush_reason != f->o.flush_reason || o->ts_ns != f->o.ts_ns)
		zc_fail(v, "metadata differs from the copy engine's frame");
	else {
		lro_out_gather(o, g);
		if (memcmp(g, f->d, o->len))
			zc_fail(v, "bytes differ from the copy engine's frame");
	}
	if (o->nfrags)
		v->zc_frags += o->nfrags;
	free(f->d);
	f->d = NULL;
	if (v->qhead == v->qn)
		v->qhead = v->qn = 0;
	v->zc_out++;
}

static void on_emit(void *p, const struct lro_out *o)
{
	struct vctx *v = p;
	queue_out(v, o);
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

/* The two engines fed by lk_replay_capture. */
struct feed {
	struct vctx *v;
	struct lro *l, *lz;
	uint8_t **pb;   /* the zero-copy engine's RX buffers, one per poll slot: */
	uint32_t *pbl;  /* valid until the poll end */
};

static void feed_frame(void *p, const struct lk_replay_frame *f)
{
	struct feed *fd = p;
	lchk_in(fd->v->k, f->data, f->caplen);
	lro_rx(fd->l, f->data, f->caplen, f->ts_ns);
	unsigned long b = f->slot;
	if (fd->pbl[b] < f->caplen || !fd->pb[b]) {
		free(fd->pb[b]);
		fd->pb[b] = malloc(f->caplen ? f->caplen : 1);
		if (!fd->pb[b])
			abort();
	}
	fd->pbl[b] = f->caplen;
	memcpy(fd->pb[b], f->data, f->caplen);
	lro_rx(fd->lz, fd->pb[b], f->caplen, f->ts_ns);
}

static void feed_poll_end(void *p, uint64_t ts_ns, unsigned long nframes)
{
	struct feed *fd = p;
	lro_poll_end(fd->l, ts_ns);
	lro_poll_end(fd->lz, ts_ns);
	for (unsigned long b = 0; b < nframes; b++)
		memset(fd->pb[b], 0xa5, fd->pbl[b]); /* recycled */
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
	struct lro_config cz = c;
	cz.zero_copy = true;
	struct vctx v = {.k = lchk_new(pol == LRO_POLICY_LINUX, c.verify_csum)};
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
	struct lro *l = lro_new(&c, on_emit, &v), *lz = lro_new(&cz, on_emit_zc, &v);
	if (!l || !lz) {
		fprintf(stderr, "lro-verify: lro_new failed\n");
		return 2;
	}
	struct feed fd = {.v = &v, .l = l, .lz = lz, .pb = calloc(budget, sizeof *fd.pb),
			  .pbl = calloc(budget, sizeof *fd.pbl)};
	if (!fd.pb || !fd.pbl)
		return 2;
	const struct lk_replay_cfg rcfg = {.budget = budget, .gap_ns = (uint64_t)gap_us * 1000u};
	const struct lk_replay_ops ops = {.frame = feed_frame, .poll_end = feed_poll_end};
	struct lk_replay_stats rst;
	if (lk_replay_capture(r, &rcfg, &ops, &fd, &rst, &e) < 0) {
		fprintf(stderr, "lro-verify: %s\n", e.msg);
		return 2;
	}
	uint64_t n = rst.fed;
	for (unsigned long b = 0; b < budget; b++)
		free(fd.pb[b]);
	free(fd.pb);
	free(fd.pbl);
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
	if (v.qn != v.qhead)
		zc_fail(&v, "the copy engine emitted frames the zero-copy engine did not");
	if (!v.zc_bad && memcmp(lro_stats(l), lro_stats(lz), sizeof *st))
		zc_fail(&v, "counters differ");
	if (v.zc_bad) {
		printf("FAIL zero-copy mode: %s (%llu frames, first at %llu)\n", v.zc_why,
		       (unsigned long long)v.zc_bad, (unsigned long long)v.zc_first_bad);
		rc = 1;
	} else {
		printf("ok zero-copy mode identical (%llu frames, %llu frags)\n", (unsigned long long)v.zc_out,
		       (unsigned long long)v.zc_frags);
	}
	if (!v.agg && !noagg_ok) {
		printf("FAIL nothing was aggregated\n");
		rc = 1;
	}
	for (size_t q = v.qhead; q < v.qn; q++)
		free(v.q[q].d);
	free(v.q);
	lro_free(lz);
	lro_free(l);
	lchk_free(v.k);
	return rc;
}
