/* lrokit replay FILE [--policy linux|inet_lro] [--budget N] [--gap-us N]
 *                    [-w OUT.pcap] [--json] [...]
 * Runs a capture through the reference LRO engine (lro_ref) the way a NAPI
 * driver would feed it, and reports what LRO would have done. */
#include "cli/commands.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/pcapin.h"
#include "lib/replay.h"
#include "lro_ref/lro.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lrokit replay FILE [--policy linux|inet_lro] [--budget N] [--gap-us N]\n"
		"                     [-w OUT.pcap] [--json] [--table N] [--max-aggr N] [--mtu N]\n"
		"                     [--trust-csum] [-q]\n"
		"\n"
		"Runs the frames of a capture through the reference LRO engine and reports what\n"
		"LRO would have done: frames in/out, the LRO rate and why aggregates ended.\n"
		"\n"
		"A NAPI poll is up to --budget consecutive frames (default 64, the NAPI weight);\n"
		"a poll also ends early when the next frame arrives more than --gap-us after the\n"
		"previous one (default 100 us: the receive queue ran empty). At every poll end\n"
		"all held aggregates are flushed, as Linux does with HZ < 1000 (this kernel:\n"
		"HZ=250) and no gro_flush_timeout, and as inet_lro drivers did.\n"
		"\n"
		"  --policy P     linux (current Linux GRO rules, default) or inet_lro (the 2008\n"
		"                 Linux inet_lro: ACK/window/TSecr may advance, IPv4 only)\n"
		"  --budget N     frames per poll (1..1000000)\n"
		"  --gap-us N     idle gap that ends a poll, in microseconds (0 = only the budget)\n"
		"  -w OUT.pcap    write the frames leaving the engine (Ethernet, nanosecond\n"
		"                 pcap) with correct IP lengths and complete TCP checksums\n"
		"  --json         print {\"policy\",\"packets_in\",\"packets_out\",\"segments_in\",\n"
		"                 \"lro_rate\",\"flushes\":{reason:N}} (docs/design.md, JSON contracts)\n"
		"  --table N      aggregates held at once (default: linux 64, inet_lro 8)\n"
		"  --max-aggr N   inet_lro: segments per aggregate (default 64)\n"
		"  --mtu N        inet_lro: flush when the L3 length exceeds 65535 - N (1500)\n"
		"  --trust-csum   do not verify IPv4/TCP checksums (as with NIC checksum offload;\n"
		"                 use for sender-side captures whose checksums are offloaded)\n"
		"  -q             no warnings\n"
		"\n"
		"LRO rate = TCP data segments in / frames out carrying TCP data (an aggregate\n"
		"counts once): the segments per delivered packet of Hatori & Oi 2008; 1.0 = no\n"
		"aggregation; null in JSON when the capture has no TCP data.\n"
		"Link types: Ethernet as is; Linux cooked v1/v2, raw IP and BSD loopback get a\n"
		"synthetic Ethernet header (zero MACs). Frames cut by the snaplen pass unmerged.\n"
		"Exit: 0 ok, 1 the capture or output could not be processed, 2 usage.\n");
}

struct rctx {
	struct lro *lro;
	pcap_dumper_t *dump;
	const uint8_t *cur;      /* frame currently given to lro_rx */
	uint32_t cur_caplen, cur_wirelen;
	uint64_t written;
};

static void on_emit(void *p, const struct lro_out *o)
{
	struct rctx *c = p;
	if (!c->dump)
		return;
	struct pcap_pkthdr h;
	h.ts.tv_sec = (time_t)(o->ts_ns / 1000000000u);
	/* nanosecond pcap: libpcap stores tv_usec as nanoseconds */
	h.ts.tv_usec = (suseconds_t)(o->ts_ns % 1000000000u);
	h.caplen = o->len;
	h.len = o->len;
	if (o->frame == c->cur && o->len == c->cur_caplen)
		h.len = c->cur_wirelen; /* unchanged frame, possibly cut by the snaplen */
	pcap_dump((u_char *)c->dump, &h, o->frame);
	c->written++;
}

static void on_frame(void *p, const struct lk_replay_frame *f)
{
	struct rctx *c = p;
	c->cur = f->data;
	c->cur_caplen = f->caplen;
	c->cur_wirelen = f->wirelen;
	lro_rx(c->lro, f->data, f->caplen, f->ts_ns);
	c->cur = NULL;
}

static void on_poll_end(void *p, uint64_t ts_ns, unsigned long nframes)
{
	(void)nframes;
	lro_poll_end(((struct rctx *)p)->lro, ts_ns);
}

struct replay_opts {
	const char *path, *out;  /* capture; -w file or NULL */
	enum lro_policy pol;
	unsigned long budget, gap_us, table, max_aggr, mtu; /* 0: the policy's default */
	bool json, trust;
};

static int parse_uint(const char *opt, const char *s, unsigned long lo, unsigned long hi, unsigned long *v)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || x < lo || x > hi) {
		cli_err("replay: %s wants an integer from %lu to %lu, not '%s'", opt, lo, hi, s);
		return -1;
	}
	*v = x;
	return 0;
}

/* Fill *o from the command line. Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct replay_opts *o)
{
	enum { O_POLICY = 256, O_BUDGET, O_GAP, O_JSON, O_TABLE, O_MAXAGGR, O_MTU, O_TRUST, O_HELP };
	static const struct option opts[] = {
		{"policy", required_argument, NULL, O_POLICY}, {"budget", required_argument, NULL, O_BUDGET},
		{"gap-us", required_argument, NULL, O_GAP}, {"json", no_argument, NULL, O_JSON},
		{"table", required_argument, NULL, O_TABLE}, {"max-aggr", required_argument, NULL, O_MAXAGGR},
		{"mtu", required_argument, NULL, O_MTU}, {"trust-csum", no_argument, NULL, O_TRUST},
		{"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
	};
	*o = (struct replay_opts){.pol = LRO_POLICY_LINUX, .budget = 64, .gap_us = 100};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "w:qh", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case O_POLICY:
			if (lro_policy_parse(optarg, &o->pol) < 0) {
				cli_err("replay: unknown policy '%s' (linux or inet_lro)", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case O_BUDGET: bad = parse_uint("--budget", optarg, 1, 1000000, &o->budget); break;
		case O_GAP: bad = parse_uint("--gap-us", optarg, 0, 3600000000ul, &o->gap_us); break;
		case O_TABLE: bad = parse_uint("--table", optarg, 1, 4096, &o->table); break;
		case O_MAXAGGR: bad = parse_uint("--max-aggr", optarg, 1, 65535, &o->max_aggr); break;
		case O_MTU: bad = parse_uint("--mtu", optarg, 68, 65535, &o->mtu); break;
		case O_JSON: o->json = true; break;
		case O_TRUST: o->trust = true; break;
		case 'w': o->out = optarg; break;
		case 'q': cli_quiet = true; break;
		case 'h':
		case O_HELP: usage(stdout); return 0;
		default:
			cli_err("replay: unknown or incomplete option '%s'; see 'lrokit replay --help'",
				argv[optind - 1]);
			return LK_EXIT_USAGE;
		}
		if (bad)
			return LK_EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return LK_EXIT_USAGE;
	}
	o->path = argv[optind];
	return -1;
}

static void print_json(const struct replay_opts *o, const struct lro_stats *st)
{
	fputs("{\"policy\":", stdout);
	lk_json_str(stdout, lro_policy_name(o->pol));
	printf(",\"packets_in\":%" PRIu64 ",\"packets_out\":%" PRIu64 ",\"segments_in\":%" PRIu64
	       ",\"lro_rate\":", st->frames_in, st->frames_out, st->segs_in);
	lk_json_num(stdout, lro_rate(st));
	fputs(",\"flushes\":{", stdout);
	for (int i = 0; i < LRO_FLUSH__COUNT; i++) {
		fputs(i ? "," : "", stdout);
		lk_json_str(stdout, lro_flush_reason_name(i));
		printf(":%" PRIu64, st->flushes[i]);
	}
	fputs("}}\n", stdout);
}

static void print_text(const struct replay_opts *o, const struct lro_stats *st, uint64_t written)
{
	double rate = lro_rate(st);
	printf("replay %s: policy %s, budget %lu frames, gap %lu us%s\n", o->path, lro_policy_name(o->pol),
	       o->budget, o->gap_us, o->trust ? ", checksums trusted" : "");
	printf("  frames in       %12" PRIu64 "  (TCP data segments %" PRIu64 ")\n", st->frames_in,
	       st->segs_in);
	printf("  frames out      %12" PRIu64 "  (aggregates %" PRIu64 ", TCP data frames %" PRIu64 ")\n",
	       st->frames_out, st->aggregates_out, st->data_frames_out);
	printf("  segments merged %12" PRIu64 "\n", st->segs_merged);
	printf("  passed unmerged %12" PRIu64 "  (bad checksums %" PRIu64 ")\n", st->bypassed,
	       st->csum_bad);
	if (isnan(rate))
		printf("  LRO rate        %12s  (no TCP data)\n", "-");
	else
		printf("  LRO rate        %12.2f  segments per delivered data frame\n", rate);
	printf("  aggregates ended by:\n");
	for (int i = 0; i < LRO_FLUSH__COUNT; i++)
		if (st->flushes[i])
			printf("    %-16s %12" PRIu64 "\n", lro_flush_reason_name(i), st->flushes[i]);
	if (o->out)
		printf("  wrote %" PRIu64 " frames to %s\n", written, o->out);
}

/* Replay the open capture r through the engine as o says, writing o->out and
 * printing the result. Returns the exit code. */
static int replay(const struct replay_opts *o, struct lk_pcap *r)
{
	struct lro_config cfg;
	lro_config_default(&cfg, o->pol);
	if (o->table)
		cfg.table_size = (unsigned)o->table;
	if (o->max_aggr)
		cfg.max_aggr = (unsigned)o->max_aggr;
	if (o->mtu)
		cfg.mtu = (unsigned)o->mtu;
	cfg.verify_csum = !o->trust;
	cfg.csum_complete = true; /* frames written or counted must verify as they are */

	struct rctx ctx = {0};
	pcap_t *dead = NULL;
	int rc = 0;
	if (o->out) {
		dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
		if (!dead || !(ctx.dump = pcap_dump_open(dead, o->out))) {
			cli_err("replay: cannot write %s: %s", o->out, dead ? pcap_geterr(dead) : "out of memory");
			if (dead)
				pcap_close(dead);
			return LK_EXIT_RUNTIME;
		}
	}
	if (!(ctx.lro = lro_new(&cfg, on_emit, &ctx))) {
		cli_err("replay: out of memory");
		rc = LK_EXIT_RUNTIME;
		goto done;
	}
	const struct lk_replay_cfg rcfg = {.budget = o->budget, .gap_ns = (uint64_t)o->gap_us * 1000u};
	const struct lk_replay_ops ops = {.frame = on_frame, .poll_end = on_poll_end};
	struct lk_replay_stats rst;
	struct lk_err e;
	if (lk_replay_capture(r, &rcfg, &ops, &ctx, &rst, &e) < 0) {
		cli_err("%s", e.msg);
		rc = e.code ? e.code : LK_EXIT_RUNTIME;
		goto done;
	}
	if (lk_pcap_truncated(r) && !cli_quiet)
		cli_warn("%s: the last record is cut short; replayed the records before it", o->path);
	if (rst.skipped && !cli_quiet)
		cli_warn("%s: %" PRIu64 " records without an Ethernet equivalent were not replayed", o->path,
			 rst.skipped);
	if (rst.cut && !cli_quiet)
		cli_warn("%s: %" PRIu64 " frames cut by the snaplen passed through unmerged", o->path, rst.cut);
	if (ctx.dump && (pcap_dump_flush(ctx.dump) < 0 || ferror(pcap_dump_file(ctx.dump)))) {
		cli_err("replay: writing %s failed: %s", o->out, strerror(errno));
		rc = LK_EXIT_RUNTIME;
		goto done;
	}
	if (o->json)
		print_json(o, lro_stats(ctx.lro));
	else
		print_text(o, lro_stats(ctx.lro), ctx.written);
done:
	if (ctx.dump)
		pcap_dump_close(ctx.dump);
	if (rc && o->out)
		unlink(o->out); /* no half-written output */
	if (dead)
		pcap_close(dead);
	lro_free(ctx.lro);
	return rc;
}

int cmd_replay(int argc, char **argv)
{
	struct replay_opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	struct lk_err e;
	struct lk_pcap *r;
	if (lk_pcap_open(o.path, &r, &e) < 0) {
		cli_err("%s", e.msg);
		return e.code;
	}
	rc = replay(&o, r);
	lk_pcap_close(r);
	return rc;
}
