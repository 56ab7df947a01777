/* tests/helpers/flowdump.c - dev tool: run captures through lib/pcapin +
 * lib/decode + analyzers/flow and print the per-direction JSON counters
 * (same shape as `lrokit analyze --json`), or time lk_flowtab_add.
 *
 *   flowdump FILE            JSON on stdout
 *   flowdump --bench FILE    decode the whole file into memory, then time
 *                            lk_flowtab_add alone (best of 5 runs), report
 *                            ns/packet, and the table's memory and peak RSS
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "analyzers/flow.h"
#include "lib/decode.h"
#include "lib/pcapin.h"

static const char *const names[] = {
	"total_packets", "ack_pkts", "pure_acks", "sack_pkts", "dsack_pkts",
	"max_sack_blocks", "unique_bytes", "data_pkts", "data_bytes",
	"rexmt_data_pkts", "rexmt_data_bytes", "zwnd_probe_pkts", "outoforder_pkts",
	"pushed_data_pkts", "syn_pkts", "fin_pkts", "rst_pkts",
};

static uint64_t val(const struct lk_dirstat *d, unsigned i)
{
	const uint64_t v[] = {
		d->total_packets, d->ack_pkts, d->pure_acks, d->sack_pkts, d->dsack_pkts,
		d->max_sack_blocks, d->unique_bytes, d->data_pkts, d->data_bytes,
		d->rexmt_data_pkts, d->rexmt_data_bytes, d->zwnd_probe_pkts, d->outoforder_pkts,
		d->pushed_data_pkts, d->syn_pkts, d->fin_pkts, d->rst_pkts,
	};
	return v[i];
}

static void print_dir(const char *key, const struct lk_dirstat *d)
{
	printf("\"%s\":{", key);
	for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", names[i], val(d, i));
	printf(",\"trunc_bytes\":%" PRIu64 ",\"trunc_pkts\":%" PRIu64 "}", d->trunc_bytes,
	       d->trunc_pkts);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	bool bench = argc == 3 && strcmp(argv[1], "--bench") == 0;
	if (argc != 2 && !bench) {
		fprintf(stderr, "usage: flowdump [--bench] FILE\n");
		return 2;
	}
	const char *path = argv[argc - 1];
	struct lk_err e;
	struct lk_pcap *r;
	if (lk_pcap_open(path, &r, &e) < 0) {
		fprintf(stderr, "flowdump: %s\n", e.msg);
		return 1;
	}
	struct lk_flowtab *t = lk_flowtab_new();
	struct lk_pkt *pk = NULL;
	uint64_t *ts = NULL;
	size_t n = 0, cap = 0;
	const struct pcap_pkthdr *h;
	const uint8_t *data;
	int rc;
	if (!t)
		return 1;
	while ((rc = lk_pcap_next(r, &h, &data, &e)) == 1) {
		struct lk_pkt p;
		if (lk_decode(lk_pcap_rec_dlt(r), data, h->caplen, h->len, &p) != LK_DEC_TCP)
			continue;
		uint64_t tns = lk_pcap_ts_ns(r, h);
		if (bench) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1 << 16;
				pk = realloc(pk, cap * sizeof *pk);
				ts = realloc(ts, cap * sizeof *ts);
				if (!pk || !ts)
					return 1;
			}
			p.frame = NULL;
			pk[n] = p;
			ts[n++] = tns;
			continue;
		}
		int dir;
		bool isnew;
		if (!lk_flowtab_add(t, &p, tns, &dir, &isnew)) {
			fprintf(stderr, "flowdump: out of memory\n");
			return 1;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "flowdump: %s\n", e.msg);
		return 1;
	}
	lk_pcap_close(r);

	if (bench) {
		double best = 1e30;
		for (int run = 0; run < 5; run++) {
			lk_flowtab_free(t);
			t = lk_flowtab_new();
			double t0 = now();
			for (size_t i = 0; i < n; i++) {
				int dir;
				bool isnew;
				if (!lk_flowtab_add(t, &pk[i], ts[i], &dir, &isnew))
					return 1;
			}
			double dt = now() - t0;
			if (dt < best)
				best = dt;
		}
		struct lk_flowtab_mem m;
		lk_flowtab_mem(t, &m);
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("packets %zu flows %zu best %.4f s  %.1f ns/packet  %.2f Mpkt/s  "
		       "table %zu bytes (segs live %zu pool %zu)  maxrss %ld kB (incl. decoded array %zu kB)\n",
		       n, lk_flowtab_count(t), best, best * 1e9 / (double)(n ? n : 1),
		       n / best / 1e6, m.bytes, m.segs_live, m.segs_pool, ru.ru_maxrss,
		       n * (sizeof *pk + sizeof *ts) / 1024);
		lk_flowtab_free(t);
		free(pk);
		free(ts);
		return 0;
	}

	printf("{\"file\":\"%s\",\"flows\":[", path);
	for (size_t i = 0; i < lk_flowtab_count(t); i++) {
		const struct lk_flow *f = lk_flowtab_get(t, i);
		char a[80], b[80];
		lk_fmt_endpoint(a, sizeof a, f->af, f->addr[0], f->port[0]);
		lk_fmt_endpoint(b, sizeof b, f->af, f->addr[1], f->port[1]);
		printf("%s{\"a\":\"%s\",\"b\":\"%s\",", i ? "," : "", a, b);
		print_dir("a2b", &f->d[0]);
		putchar(',');
		print_dir("b2a", &f->d[1]);
		putchar('}');
	}
	printf("]}\n");
	lk_flowtab_free(t);
	return 0;
}
