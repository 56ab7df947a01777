/* bench/analyze-cost.c - CPU cost of the ACK classifier and the
 * bandwidth estimators (analyzers/acks.h, analyzers/bwe.h) on the analyze
 * path: runs lk_analyze_file on FILE alternately without and with the
 * lk_ackset observer, RUNS times each, and prints the median CPU time
 * (CLOCK_PROCESS_CPUTIME_ID) of both, their difference per packet, and the
 * peak RSS. A benchmark program (built as $(BUILD)/bench/analyze-cost), not a
 * test: it asserts nothing.
 *
 *   analyze-cost [-n RUNS] [--side S] FILE
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "analyzers/acks.h"
#include "analyzers/analyze.h"
#include "analyzers/bwe.h"

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmpd(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmpd);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One analysis; with_obs: the ackset observer attached and finished. */
static int one(const char *path, bool with_obs, const struct lk_acks_params *ap, double *sec,
	       uint64_t *pkts)
{
	struct lk_ackset *set = with_obs ? lk_ackset_new(ap, NULL) : NULL;
	if (with_obs && !set) {
		fprintf(stderr, "analyze-cost: out of memory\n");
		return -1;
	}
	struct lk_observer ob;
	if (set)
		lk_observer_ackset(&ob, set);
	struct lk_analyze_opts o = {.point = "file", .drops = -1, .observers = set ? &ob : NULL,
				    .n_observers = set ? 1 : 0};
	struct lk_analysis an;
	struct lk_err e = {0};
	double t0 = cpu_s();
	int rc = lk_analyze_file(path, &o, &an, &e);
	*sec = cpu_s() - t0;
	if (rc < 0) {
		fprintf(stderr, "analyze-cost: %s\n", e.msg);
	} else {
		*pkts = an.tcp_packets;
		lk_analysis_free(&an);
	}
	lk_ackset_free(set);
	return rc;
}

int main(int argc, char **argv)
{
	int runs = 5;
	struct lk_acks_params ap;
	lk_acks_params_default(&ap);
	int i = 1;
	for (; i < argc - 1; i++) {
		if (!strcmp(argv[i], "-n")) {
			runs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--side")) {
			const char *s = argv[++i];
			ap.side = !strcmp(s, "sender")     ? LK_SIDE_SENDER
				  : !strcmp(s, "receiver") ? LK_SIDE_RECEIVER
							   : LK_SIDE_AUTO;
		} else {
			break;
		}
	}
	if (i != argc - 1 || runs < 1 || runs > 1000) {
		fprintf(stderr, "usage: analyze-cost [-n RUNS] [--side S] FILE\n");
		return 2;
	}
	const char *path = argv[i];
	double *t0 = calloc((size_t)runs, sizeof *t0), *t1 = calloc((size_t)runs, sizeof *t1);
	if (!t0 || !t1)
		return 1;
	uint64_t pkts = 0;
	for (int r = 0; r < runs; r++)
		if (one(path, false, &ap, &t0[r], &pkts) < 0 || one(path, true, &ap, &t1[r], &pkts) < 0)
			return 1;
	double m0 = median(t0, runs), m1 = median(t1, runs);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("packets %" PRIu64 "\nwithout_ackset_s %.4f\nwith_ackset_s %.4f\n"
	       "ackset_ns_per_packet %.1f\npeak_rss_kb %ld\n",
	       pkts, m0, m1, pkts ? (m1 - m0) * 1e9 / (double)pkts : 0.0, ru.ru_maxrss);
	free(t0);
	free(t1);
	return 0;
}
