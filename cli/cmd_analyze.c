/* lrokit analyze FILE... [--db DB] [--json] [--no-packets] [-j N] [-q] */
#include "analyzers/acks.h"
#include "analyzers/analyze.h"
#include "analyzers/bwe.h"
#include "analyzers/store.h"
#include "cli/commands.h"
#include "lib/decode.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "schema/db.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lrokit analyze FILE... [--db DB] [--json] [--no-packets] [-j N] [--side S]\n"
		"                      [--hz N] [-q]\n"
		"\n"
		"Per-flow TCP counters of pcap/pcapng captures, by tcptrace's definitions\n"
		"(tcptrace -l -n): packets, ACKs, pure ACKs, SACK and D-SACK packets, unique,\n"
		"retransmitted and out-of-order data, zero-window probes, SYN/FIN/RST.\n"
		"FILE - is standard input; gzip, zstd and xz captures are read as they are\n"
		"(recognised by their content).\n"
		"\n"
		"  --db DB       also store the capture, its flows and packets in DB (SQLite);\n"
		"                a file already stored (same SHA-256) is not stored twice\n"
		"  --json        print JSON (docs/design.md, JSON contracts): one object per file,\n"
		"                one per line\n"
		"  --no-packets  with --db, do not store one row per TCP segment\n"
		"  -j, --jobs N  analyze N files at a time (with --db: parsed in parallel, stored\n"
		"                one transaction per file, one file at a time); output in the\n"
		"                order of the files\n"
		"  --side S      where the capture was taken: sender | receiver | auto (default:\n"
		"                decided per connection from independent evidence, or unknown)\n"
		"  --hz N        kernel HZ for the Westwood+ replay (default 1000)\n"
		"  --details     text output: also the ACK breakdown and bandwidth estimates\n"
		"  -q            no warnings about skipped records\n"
		"\n"
		"Exit: 0 ok, 1 a file could not be analyzed, 2 usage.\n"
		"\nLink types:");
	/* the list, word-wrapped at 78 columns */
	const char *w = lk_dlt_list();
	int col = 11;
	while (*w) {
		int n = (int)strcspn(w, " ");
		if (col + 1 + n > 78) {
			fputs("\n ", f);
			col = 1;
		}
		fprintf(f, " %.*s", n, w);
		col += 1 + n;
		w += n;
		w += strspn(w, " ");
	}
	fputs(".\n", f);
}

static void print_json(const struct lk_analysis *c, const struct lk_ackset *set)
{
	FILE *o = stdout;
	fputs("{\"file\":", o);
	lk_json_str(o, c->path);
	fprintf(o, ",\"linktype\":%d,\"snaplen\":%u,\"records\":%" PRIu64 ",\"tcp_packets\":%" PRIu64,
		c->dlt, c->snaplen, c->records, c->tcp_packets);
	fputs(",\"skipped\":{", o);
	int first = 1;
	for (int i = 1; i < LK_DEC__COUNT; i++) {
		if (!c->skipped[i])
			continue;
		fputs(first ? "" : ",", o);
		lk_json_str(o, lk_dec_status_name((enum lk_dec_status)i));
		fprintf(o, ":%" PRIu64, c->skipped[i]);
		first = 0;
	}
	fprintf(o, "},\"truncated_tail\":%s", c->truncated_tail ? "true" : "false");
	if (c->sha256[0])
		fprintf(o, ",\"sha256\":\"%s\"", c->sha256);
	if (c->capture_id > 0)
		fprintf(o, ",\"capture_id\":%" PRId64, c->capture_id);
	if (c->duplicate_of > 0)
		fprintf(o, ",\"duplicate_of\":%" PRId64, c->duplicate_of);
	fputs(",\"flows\":[", o);
	size_t n = lk_flowtab_count(c->flows);
	for (size_t k = 0; k < n; k++) {
		const struct lk_flow *f = lk_flowtab_get(c->flows, k);
		char a[80], b[80];
		lk_fmt_endpoint(a, sizeof a, f->af, f->addr[0], f->port[0]);
		lk_fmt_endpoint(b, sizeof b, f->af, f->addr[1], f->port[1]);
		fprintf(o, "%s{\"a\":\"%s\",\"b\":\"%s\"", k ? "," : "", a, b);
		fprintf(o, ",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64, f->first_ns, f->last_ns);
		for (int d = 0; d < 2; d++) {
			fprintf(o, ",\"%s\":{", d ? "b2a" : "a2b");
			for (unsigned i = 0; i < lk_n_dir_counters; i++)
				fprintf(o, "%s\"%s\":%" PRIu64, i ? "," : "", lk_dir_counters[i].name,
					lk_counter_get(&f->d[d], &lk_dir_counters[i]));
			const struct lk_acks *ak = lk_ackset_acks(set, f->idx);
			const struct lk_bwe *bw = lk_ackset_bwe(set, f->idx);
			fputs(",\"acks\":", o);
			if (ak)
				lk_acks_json(ak, d, o);
			else
				fputs("null", o);
			fputs(",\"bwe\":", o);
			if (bw)
				lk_bwe_json(bw, d, o);
			else
				fputs("null", o);
			fputs("}", o);
		}
		const struct lk_acks *sk = lk_ackset_acks(set, f->idx);
		fputs(",\"side\":", o);
		if (sk)
			lk_side_json(lk_acks_side(sk), o);
		else
			fputs("null", o);
		fputs("}", o);
	}
	fputs("]}\n", o);
}

static void print_text(const struct lk_analysis *c, const struct lk_ackset *set, bool details)
{
	FILE *o = stdout;
	size_t n = lk_flowtab_count(c->flows);
	fprintf(o, "%s: %" PRIu64 " records, %" PRIu64 " TCP segments, %zu connections\n", c->path,
		c->records, c->tcp_packets, n);
	if (!n)
		return;
	fprintf(o, "%-3s %-44s %-3s %9s %9s %9s %7s %7s %12s %7s %12s %6s %6s\n", "#", "connection",
		"dir", "packets", "data", "acks", "pure%", "sacks", "unique_B", "rexmt", "rexmt_B",
		"ooo", "dsack");
	for (size_t k = 0; k < n; k++) {
		const struct lk_flow *f = lk_flowtab_get(c->flows, k);
		char a[80], b[80], conn[170];
		lk_fmt_endpoint(a, sizeof a, f->af, f->addr[0], f->port[0]);
		lk_fmt_endpoint(b, sizeof b, f->af, f->addr[1], f->port[1]);
		for (int d = 0; d < 2; d++) {
			const struct lk_dirstat *s = &f->d[d];
			snprintf(conn, sizeof conn, "%s > %s", d ? b : a, d ? a : b);
			double pure = s->ack_pkts ? 100.0 * (double)s->pure_acks / (double)s->ack_pkts : 0;
			fprintf(o, "%-3zu %-44.44s %-3s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %6.1f%% %7" PRIu64
				" %12" PRIu64 " %7" PRIu64 " %12" PRIu64 " %6" PRIu64 " %6" PRIu64 "\n",
				k + 1, conn, d ? "b2a" : "a2b", s->total_packets, s->data_pkts, s->ack_pkts,
				pure, s->sack_pkts, s->unique_bytes, s->rexmt_data_pkts, s->rexmt_data_bytes,
				s->outoforder_pkts, s->dsack_pkts);
		}
		if (!details)
			continue;
		const struct lk_acks *ak = lk_ackset_acks(set, f->idx);
		const struct lk_bwe *bw = lk_ackset_bwe(set, f->idx);
		if (ak)
			lk_side_text(lk_acks_side(ak), "    ", o);
		for (int d = 0; d < 2; d++) {
			fprintf(o, "    %s ACKs:\n", d ? "b2a" : "a2b");
			if (ak)
				lk_acks_text(ak, d, "      ", o);
			if (bw)
				lk_bwe_text(bw, d, "      ", o);
		}
	}
}

static void warn_skipped(const struct lk_analysis *c)
{
	uint64_t sk = 0;
	for (int i = 1; i < LK_DEC__COUNT; i++)
		sk += c->skipped[i];
	if (sk) {
		char buf[1024];
		size_t o = 0;
		for (int i = 1; i < LK_DEC__COUNT; i++)
			if (c->skipped[i])
				o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%" PRIu64 " %s",
						      o ? ", " : "", c->skipped[i],
						      lk_dec_status_name((enum lk_dec_status)i));
		cli_warn("%s: %sskipped %" PRIu64 " of %" PRIu64 " records (%s)", c->path,
			 c->tcp_packets ? "" : "no TCP segments; ", sk, c->records, buf);
	}
	if (c->bad_tcpopt)
		cli_warn("%s: %" PRIu64 " TCP segments with malformed options (options parsed up to "
			 "the bad one; segments analyzed)", c->path, c->bad_tcpopt);
	if (c->truncated_tail)
		cli_warn("%s: last record truncated (file cut short); analyzed the %" PRIu64
			 " complete records", c->path, c->records);
}

/* What the command line asked for. */
struct aopts {
	struct lk_acks_params ap;
	struct lk_bwe_params bp;
	const char *dbpath;
	bool json, nopk, details;
	unsigned jobs;
};

/* One file: analyzed on any thread, reported on the main one. */
struct job {
	const char *path;
	struct lk_analysis an;
	struct lk_ackset *set;
	struct lk_err e;
	int rc;      /* 0, or the exit code of its failure */
	bool done;
};

static void run_job(struct job *j, unsigned ticket, const struct aopts *a, sqlite3 *db,
		    struct lk_gate *gate)
{
	j->set = lk_ackset_new(&a->ap, &a->bp);
	if (!j->set) {
		lk_errf(&j->e, LK_EXIT_RUNTIME, "analyze: out of memory");
		j->rc = LK_EXIT_RUNTIME;
		return;
	}
	struct lk_observer ob;
	lk_observer_ackset(&ob, j->set);
	struct lk_analyze_opts o = {.db = db, .point = "file", .drops = -1, .no_packets = a->nopk,
				    .observers = &ob, .n_observers = 1, .gate = gate, .ticket = ticket};
	if (lk_analyze_file(j->path, &o, &j->an, &j->e) < 0) {
		j->rc = j->e.code ? j->e.code : LK_EXIT_RUNTIME;
		lk_ackset_free(j->set);
		j->set = NULL;
	}
}

/* Print one file's outcome; its exit code. */
static int report_job(struct job *j, const struct aopts *a)
{
	if (j->rc) {
		cli_err("%s", j->e.msg);
		return j->rc;
	}
	const struct lk_analysis *an = &j->an;
	if (!cli_quiet)
		warn_skipped(an);
	if (an->tcp_packets == 0 && an->records == 0 && !cli_quiet)
		cli_warn("%s: the capture holds no records", an->path);
	if (an->duplicate_of > 0 && !cli_quiet)
		cli_warn("%s: already in %s as capture %" PRId64 " (same SHA-256); not stored again",
			 an->path, a->dbpath, an->duplicate_of);
	if (a->json)
		print_json(an, j->set);
	else
		print_text(an, j->set, a->details);
	lk_analysis_free(&j->an);
	lk_ackset_free(j->set);
	j->set = NULL;
	return 0;
}

/* The worker threads of -j N: each takes the next file; with a database, on
 * its own connection, the transactions one at a time (the gate). */
struct pool {
	struct job *jobs;
	int n, next;
	const struct aopts *a;
	struct lk_gate gate;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *worker(void *c)
{
	struct pool *p = c;
	sqlite3 *db = NULL;
	struct lk_err dberr = {0};
	int dbrc = p->a->dbpath ? lk_db_open(p->a->dbpath, &db, &dberr) : 0;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int i = p->next < p->n ? p->next++ : -1;
		pthread_mutex_unlock(&p->mu);
		if (i < 0)
			break;
		struct job *j = &p->jobs[i];
		if (dbrc < 0) {
			j->e = dberr;
			j->rc = dberr.code ? dberr.code : LK_EXIT_RUNTIME;
		} else {
			run_job(j, (unsigned)i, p->a, db, &p->gate);
		}
		lk_gate_done(&p->gate, (unsigned)i); /* also when it never got to the database */
		pthread_mutex_lock(&p->mu);
		j->done = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	lk_db_close(db);
	return NULL;
}

/* Analyze jobs[0..n) with a->jobs threads, report them in order; exit code. */
static int run_parallel(struct job *jobs, int n, const struct aopts *a)
{
	struct pool p = {.jobs = jobs, .n = n, .a = a};
	unsigned nth = a->jobs < (unsigned)n ? a->jobs : (unsigned)n;
	pthread_t *th = calloc(nth, sizeof *th);
	if (!th || lk_gate_init(&p.gate, (unsigned)n) < 0) {
		free(th);
		cli_err("analyze: cannot start %u threads", nth);
		return LK_EXIT_RUNTIME;
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	unsigned started = 0;
	while (started < nth && pthread_create(&th[started], NULL, worker, &p) == 0)
		started++;
	int rc = 0;
	if (!started) {
		cli_err("analyze: cannot start threads");
		rc = LK_EXIT_RUNTIME;
	}
	for (int i = 0; started && i < n; i++) {
		pthread_mutex_lock(&p.mu);
		while (!jobs[i].done)
			pthread_cond_wait(&p.cv, &p.mu);
		pthread_mutex_unlock(&p.mu);
		int r = report_job(&jobs[i], a);
		if (r)
			rc = r;
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	lk_gate_destroy(&p.gate);
	free(th);
	return rc;
}

static int parse_side(const char *s, struct lk_acks_params *ap)
{
	if (!strcmp(s, "sender"))
		ap->side = LK_SIDE_SENDER;
	else if (!strcmp(s, "receiver"))
		ap->side = LK_SIDE_RECEIVER;
	else if (!strcmp(s, "auto"))
		ap->side = LK_SIDE_AUTO;
	else {
		cli_err("analyze: --side wants sender, receiver or auto, not '%s'", s);
		return -1;
	}
	return 0;
}

static int parse_num(const char *s, const char *what, long lo, long hi, long *v)
{
	char *end;
	*v = strtol(s, &end, 10);
	if (*end || end == s || *v < lo || *v > hi) {
		cli_err("analyze: %s wants a number %ld..%ld, not '%s'", what, lo, hi, s);
		return -1;
	}
	return 0;
}

/* Options into *a; optind is then the first file. 0 ok, 1 help printed, or
 * an exit code. */
static int parse_args(int argc, char **argv, struct aopts *a)
{
	static const struct option lo[] = {
		{"db", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'J'},
		{"no-packets", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'}, {"side", required_argument, NULL, 's'},
		{"hz", required_argument, NULL, 'H'}, {"details", no_argument, NULL, 'D'},
		{"jobs", required_argument, NULL, 'j'}, {0, 0, 0, 0}};
	memset(a, 0, sizeof *a);
	lk_acks_params_default(&a->ap);
	lk_bwe_params_default(&a->bp);
	a->jobs = 1;
	int c;
	long v;
	while ((c = getopt_long(argc, argv, "d:j:nhq", lo, NULL)) != -1) {
		switch (c) {
		case 'd': a->dbpath = optarg; break;
		case 'J': a->json = true; break;
		case 'n': a->nopk = true; break;
		case 'q': cli_quiet = true; break;
		case 'D': a->details = true; break;
		case 's':
			if (parse_side(optarg, &a->ap) < 0)
				return LK_EXIT_USAGE;
			break;
		case 'H':
			if (parse_num(optarg, "--hz", 10, 100000, &v) < 0)
				return LK_EXIT_USAGE;
			a->bp.hz = (unsigned)v;
			break;
		case 'j':
			if (parse_num(optarg, "-j", 1, 256, &v) < 0)
				return LK_EXIT_USAGE;
			a->jobs = (unsigned)v;
			break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("analyze: no capture file given");
		usage(stderr);
		return LK_EXIT_USAGE;
	}
	int stdin_uses = 0;
	for (int i = optind; i < argc; i++)
		stdin_uses += !strcmp(argv[i], "-");
	if (stdin_uses > 1) {
		cli_err("analyze: standard input (-) can be read only once");
		return LK_EXIT_USAGE;
	}
	return 0;
}

int cmd_analyze(int argc, char **argv)
{
	struct aopts a;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : rc;
	/* the heap in huge pages: over half the page faults of a run
	 * (lib/mem.h); where it cannot, 4 KiB pages as before */
	lk_mem_heap_hugepages(32u << 20);
	struct lk_err e = {0};
	sqlite3 *db = NULL;
	/* open (and migrate) once here: its errors are said once, before any
	 * file. One connection fills it (no -j): a new database is filled in
	 * rollback-journal mode (lk_db_open_fill), every row written once */
	int n = argc - optind;
	bool parallel = a.jobs > 1 && n > 1;
	if (a.dbpath && (parallel ? lk_db_open(a.dbpath, &db, &e) : lk_db_open_fill(a.dbpath, &db, &e)) < 0) {
		cli_err("%s", e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	if (db)
		lk_db_reap_stale_runs(db, NULL);
	struct job *jobs = calloc((size_t)n, sizeof *jobs);
	if (!jobs) {
		lk_db_close(db);
		cli_err("analyze: out of memory");
		return LK_EXIT_RUNTIME;
	}
	for (int i = 0; i < n; i++)
		jobs[i].path = argv[optind + i];
	if (parallel) {
		lk_db_close(db); /* every worker has its own connection */
		db = NULL;
		rc = run_parallel(jobs, n, &a);
	} else {
		for (int i = 0; i < n; i++) {
			run_job(&jobs[i], 0, &a, db, NULL);
			int r = report_job(&jobs[i], &a);
			if (r)
				rc = r;
		}
	}
	free(jobs);
	lk_db_close(db);
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_err("writing output to stdout: %s", strerror(errno ? errno : EIO));
		return LK_EXIT_RUNTIME;
	}
	return rc;
}
