/* lrokit report [--db FILE] [--run ID...] [-o DIR] [-q]: gnuplot figures and
 * report.html from the database (reports/report.h). */
#include "cli/commands.h"
#include "lib/err.h"
#include "reports/gnuplot.h"
#include "reports/report.h"
#include "schema/db.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lrokit report [--db FILE] [--run ID...] [-o DIR] [-q]\n"
		"\n"
		"Writes the study's figures and report.html into DIR (default ./report):\n"
		"  1 goodput and LRO rate per configuration     4 sender bandwidth estimates, SACKs\n"
		"  2 cycles/instructions (or CPU time) per domain 5 ACK breakdown\n"
		"  3 data packets/s and ACKs/s at the receiver   6 aggregate-size histogram\n"
		"  7 per-poll evidence: frames per poll and segments per aggregate of each stage\n"
		"  8... one per swept model parameter (lrokit bench --sweep): LRO rate per stage,\n"
		"       goodput, ACKs, SACKs, retransmissions and stage drops against its value\n"
		"report.html also judges the paper's claims (the findings) on the runs.\n"
		"Each figure is a CSV data file plus an editable gnuplot script (.gp), rendered\n"
		"to PNG and SVG; report.pdf holds them all; `make` in DIR re-renders.\n"
		"\n"
		"  --db FILE    database (default lrokit.db); opened read-only\n"
		"  --run ID...  only these runs (repeat the option, or list: --run 3,4,7-9)\n"
		"  -o DIR       output directory (created if missing)\n"
		"  -q           no notes on stderr\n"
		"\n"
		"Only runs with status ok go into figures; others are listed in the HTML.\n"
		"A database filled only by `lrokit analyze` gives figures 3-5 per capture.\n"
		"Needs gnuplot with the pngcairo, svg and pdfcairo terminals (gnuplot-nox).\n"
		"A database whose runs all failed or were aborted gives a report that lists\n"
		"them with their errors (exit 0); one with neither runs nor captures is an\n"
		"error (exit 1).\n"
		"Exit: 0 ok (figures without data are noted, not errors), 1 runtime error,\n"
		"2 usage, 3 gnuplot missing.\n");
}

static int add_ids(const char *s, int64_t **ids, size_t *n)
{
	char *dup = strdup(s), *save = NULL;
	if (!dup)
		return -1;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		errno = 0;
		long long a = strtoll(t, &end, 10), b = a;
		if (*end == '-') {
			char *e2;
			b = strtoll(end + 1, &e2, 10);
			end = e2;
		}
		if (errno || *end || t[0] < '0' || t[0] > '9' || a <= 0 || b < a || b - a > 100000) {
			free(dup);
			return -1;
		}
		for (long long v = a; v <= b; v++) {
			int64_t *nv = realloc(*ids, (*n + 1) * sizeof *nv);
			if (!nv) {
				free(dup);
				return -1;
			}
			*ids = nv;
			(*ids)[(*n)++] = v;
		}
	}
	free(dup);
	return 0;
}

int cmd_report(int argc, char **argv)
{
	static const struct option lo[] = {{"db", required_argument, NULL, 'd'},
					   {"run", required_argument, NULL, 'r'},
					   {"output", required_argument, NULL, 'o'},
					   {"quiet", no_argument, NULL, 'q'},
					   {"help", no_argument, NULL, 'h'},
					   {0, 0, 0, 0}};
	const char *dbpath = "lrokit.db", *outdir = "report";
	int64_t *ids = NULL;
	size_t nids = 0;
	int c;
	while ((c = getopt_long(argc, argv, "d:r:o:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dbpath = optarg; break;
		case 'o': outdir = optarg; break;
		case 'q': cli_quiet = true; break;
		case 'r':
			if (add_ids(optarg, &ids, &nids) < 0) {
				cli_err("report: --run %s: expected run ids like 3, 3,4 or 3-7", optarg);
				free(ids);
				return LK_EXIT_USAGE;
			}
			/* --run 3 4 5: following bare numbers are run ids too */
			while (optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9') {
				if (add_ids(argv[optind], &ids, &nids) < 0) {
					cli_err("report: --run %s: expected run ids like 3, 3,4 or 3-7",
						argv[optind]);
					free(ids);
					return LK_EXIT_USAGE;
				}
				optind++;
			}
			break;
		case 'h': usage(stdout); free(ids); return 0;
		default: usage(stderr); free(ids); return LK_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("report: unexpected argument '%s'", argv[optind]);
		usage(stderr);
		free(ids);
		return LK_EXIT_USAGE;
	}
	struct lk_err e = {0};
	char gp[4096];
	if (lk_gp_find(gp, sizeof gp, &e) < 0 || lk_gp_check(gp, &e) < 0) {
		cli_err("report: %s", e.msg);
		free(ids);
		return LK_EXIT_MISSING;
	}
	sqlite3 *db = NULL;
	if (lk_report_open_db(dbpath, &db, &e) < 0) {
		cli_err("report: %s", e.msg);
		free(ids);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	struct lk_report_opts o = {.outdir = outdir, .db_label = dbpath, .run_ids = ids,
				   .n_run_ids = nids, .gnuplot = gp};
	struct lk_report_result r;
	int rc = lk_report_build(db, &o, &r, &e);
	lk_db_close(db);
	free(ids);
	if (rc < 0) {
		cli_err("report: %s", e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	if (!cli_quiet) {
		char need[96] = "", skip[1024] = "";
		size_t on = 0, os = 0;
		for (int i = 0; i < r.nfig; i++) {
			if (r.drawn[i])
				continue;
			if (r.needs_runs[i])
				on += (size_t)snprintf(need + on, sizeof need - on, "%s%d", on ? ", " : "",
						       i + 1);
			else if (os < sizeof skip)
				os += (size_t)snprintf(skip + os, sizeof skip - os, "%s%d (%s)",
						       os ? "; " : "", i + 1, r.name[i]);
		}
		if (on && r.other_runs)
			fprintf(stderr, "lrokit: report: figures %s need runs that finished ok; none did "
					"(%u failed or aborted, listed with their errors in report.html)%s\n",
				need, r.other_runs, r.captures ? "; drew the per-capture figures" : "");
		else if (on)
			fprintf(stderr, "lrokit: report: figures %s need benchmark runs (the database has "
					"only captures from `lrokit analyze`); drew the per-capture "
					"figures\n", need);
		if (os)
			fprintf(stderr, "lrokit: report: not drawn for lack of data: figure %s (reasons "
					"in report.html)\n", skip);
	}
	printf("%s\n", r.html);
	return 0;
}
