/* lrokit analyze FILE... [--db DB] [--json] [--no-packets] [-q] */
#include "analyzers/acks.h"
#include "analyzers/analyze.h"
#include "analyzers/bwe.h"
#include "cli/commands.h"
#include "lib/json.h"
#include "schema/db.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lrokit analyze FILE... [--db DB] [--json] [--no-packets] [--side S] [--hz N] [-q]\n"
		"\n"
		"Per-flow TCP counters of pcap/pcapng captures, by tcptrace's definitions\n"
		"(tcptrace -l -n): packets, ACKs, pure ACKs, SACK and D-SACK packets, unique,\n"
		"retransmitted and out-of-order data, zero-window probes, SYN/FIN/RST.\n"
		"\n"
		"  --db DB       also store the capture, its flows and packets in DB (SQLite);\n"
		"                a file already stored (same SHA-256) is not stored twice\n"
		"  --json        print JSON (docs/design.md, JSON contracts): one object per file,\n"
		"                one per line\n"
		"  --no-packets  with --db, do not store one row per TCP segment\n"
		"  --side S      where the capture was taken: sender | receiver | auto (default:\n"
		"                decided per connection from independent evidence, or unknown)\n"
		"  --hz N        kernel HZ for the Westwood+ replay (default 1000)\n"
		"  --details     text output: also the ACK breakdown and bandwidth estimates\n"
		"  -q            no warnings about skipped records\n"
		"\n"
		"Link types: Ethernet, Linux cooked v1/v2, raw IPv4/IPv6, BSD loopback; 802.1Q/QinQ.\n"
		"Exit: 0 ok, 1 a file could not be analyzed, 2 usage.\n");
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

int cmd_analyze(int argc, char **argv)
{
	static const struct option lo[] = {
		{"db", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
		{"no-packets", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'}, {"side", required_argument, NULL, 's'},
		{"hz", required_argument, NULL, 'H'}, {"details", no_argument, NULL, 'D'},
		{0, 0, 0, 0}};
	struct lk_acks_params ap;
	struct lk_bwe_params bp;
	lk_acks_params_default(&ap);
	lk_bwe_params_default(&bp);
	bool details = false;
	const char *dbpath = NULL;
	bool json = false, nopk = false;
	int c;
	while ((c = getopt_long(argc, argv, "d:jnhq", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dbpath = optarg; break;
		case 'j': json = true; break;
		case 'n': nopk = true; break;
		case 'q': cli_quiet = true; break;
		case 'D': details = true; break;
		case 's':
			if (!strcmp(optarg, "sender"))
				ap.side = LK_SIDE_SENDER;
			else if (!strcmp(optarg, "receiver"))
				ap.side = LK_SIDE_RECEIVER;
			else if (!strcmp(optarg, "auto"))
				ap.side = LK_SIDE_AUTO;
			else {
				cli_err("analyze: --side wants sender, receiver or auto, not '%s'", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case 'H': {
			char *end;
			long hz = strtol(optarg, &end, 10);
			if (*end || hz < 10 || hz > 100000) {
				cli_err("analyze: --hz wants a number 10..100000, not '%s'", optarg);
				return LK_EXIT_USAGE;
			}
			bp.hz = (unsigned)hz;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("analyze: no capture file given");
		usage(stderr);
		return LK_EXIT_USAGE;
	}
	struct lk_err e = {0};
	sqlite3 *db = NULL;
	if (dbpath && lk_db_open(dbpath, &db, &e) < 0) {
		cli_err("%s", e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	if (db)
		lk_db_reap_stale_runs(db, NULL);
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct lk_analysis an;
		struct lk_ackset *set = lk_ackset_new(&ap, &bp);
		if (!set) {
			cli_err("analyze: out of memory");
			rc = LK_EXIT_RUNTIME;
			break;
		}
		struct lk_observer ob;
		lk_observer_ackset(&ob, set);
		struct lk_analyze_opts o = {.db = db, .point = "file", .drops = -1, .no_packets = nopk,
					    .observers = &ob, .n_observers = 1};
		if (lk_analyze_file(argv[i], &o, &an, &e) < 0) {
			cli_err("%s", e.msg);
			rc = e.code ? e.code : LK_EXIT_RUNTIME;
			lk_ackset_free(set);
			continue;
		}
		if (!cli_quiet)
			warn_skipped(&an);
		if (an.tcp_packets == 0 && an.records == 0 && !cli_quiet)
			cli_warn("%s: the capture holds no records", an.path);
		if (an.duplicate_of > 0 && !cli_quiet)
			cli_warn("%s: already in %s as capture %" PRId64 " (same SHA-256); not stored again",
				 an.path, dbpath, an.duplicate_of);
		if (json)
			print_json(&an, set);
		else
			print_text(&an, set, details);
		lk_analysis_free(&an);
		lk_ackset_free(set);
	}
	lk_db_close(db);
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_err("writing output to stdout: %s", strerror(errno ? errno : EIO));
		return LK_EXIT_RUNTIME;
	}
	return rc;
}
