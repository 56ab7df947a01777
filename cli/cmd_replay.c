/* lrokit replay FILE [--policy linux|inet_lro] [--budget N] [--gap-us N]
 *                    [-w OUT.pcap] [--json] [...]
 * Runs a capture through the reference LRO engine (lro_ref) the way a NAPI
 * driver would feed it, and reports what LRO would have done. */
#include "cli/commands.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/pcapin.h"
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
		"                 \"lro_rate\",\"flushes\":{reason:N}} (DESIGN section 5)\n"
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

/* Ethernet view of a record: returns the frame to feed (maybe in buf) and its
 * length, or NULL for a record that has no Ethernet equivalent. */
static const uint8_t *to_ether(int dlt, const uint8_t *d, uint32_t caplen, uint8_t *buf, uint32_t bufsz,
			       uint32_t *len, int32_t *l2delta)
{
	uint16_t et = 0;
	uint32_t hl = 0;
	if (dlt == DLT_EN10MB) {
		*len = caplen;
		*l2delta = 0;
		return d;
	}
	if (dlt == DLT_LINUX_SLL) {
		if (caplen < 16)
			return NULL;
		et = (uint16_t)(d[14] << 8 | d[15]);
		hl = 16;
	} else if (dlt == DLT_LINUX_SLL2) {
		if (caplen < 20)
			return NULL;
		et = (uint16_t)(d[0] << 8 | d[1]);
		hl = 20;
	} else if (dlt == DLT_RAW || dlt == 101 || dlt == 228 || dlt == 229) {
		if (caplen < 1)
			return NULL;
		et = (d[0] >> 4) == 6 ? 0x86dd : 0x0800;
		hl = 0;
	} else if (dlt == DLT_NULL || dlt == DLT_LOOP) {
		if (caplen < 4)
			return NULL;
		uint32_t af;
		memcpy(&af, d, 4);
		if (dlt == DLT_LOOP)
			af = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
		else if (af > 0xffff)
			af = __builtin_bswap32(af);
		et = af == 2 ? 0x0800 : (af == 10 || af == 24 || af == 28 || af == 30) ? 0x86dd : 0;
		if (!et)
			return NULL;
		hl = 4;
	} else {
		return NULL;
	}
	if (caplen - hl + 14 > bufsz)
		return NULL;
	memset(buf, 0, 12);
	buf[12] = (uint8_t)(et >> 8);
	buf[13] = (uint8_t)et;
	memcpy(buf + 14, d + hl, caplen - hl);
	*len = caplen - hl + 14;
	*l2delta = 14 - (int32_t)hl;
	return buf;
}

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

int cmd_replay(int argc, char **argv)
{
	enum { O_POLICY = 256, O_BUDGET, O_GAP, O_JSON, O_TABLE, O_MAXAGGR, O_MTU, O_TRUST, O_HELP };
	static const struct option opts[] = {
		{"policy", required_argument, NULL, O_POLICY}, {"budget", required_argument, NULL, O_BUDGET},
		{"gap-us", required_argument, NULL, O_GAP}, {"json", no_argument, NULL, O_JSON},
		{"table", required_argument, NULL, O_TABLE}, {"max-aggr", required_argument, NULL, O_MAXAGGR},
		{"mtu", required_argument, NULL, O_MTU}, {"trust-csum", no_argument, NULL, O_TRUST},
		{"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
	};
	enum lro_policy pol = LRO_POLICY_LINUX;
	unsigned long budget = 64, gap_us = 100, table = 0, max_aggr = 0, mtu = 0;
	const char *out = NULL;
	bool json = false, trust = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "w:qh", opts, NULL)) != -1) {
		switch (c) {
		case O_POLICY:
			if (lro_policy_parse(optarg, &pol) < 0) {
				cli_err("replay: unknown policy '%s' (linux or inet_lro)", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case O_BUDGET:
			if (parse_uint("--budget", optarg, 1, 1000000, &budget) < 0)
				return LK_EXIT_USAGE;
			break;
		case O_GAP:
			if (parse_uint("--gap-us", optarg, 0, 3600000000ul, &gap_us) < 0)
				return LK_EXIT_USAGE;
			break;
		case O_TABLE:
			if (parse_uint("--table", optarg, 1, 4096, &table) < 0)
				return LK_EXIT_USAGE;
			break;
		case O_MAXAGGR:
			if (parse_uint("--max-aggr", optarg, 1, 65535, &max_aggr) < 0)
				return LK_EXIT_USAGE;
			break;
		case O_MTU:
			if (parse_uint("--mtu", optarg, 68, 65535, &mtu) < 0)
				return LK_EXIT_USAGE;
			break;
		case O_JSON: json = true; break;
		case O_TRUST: trust = true; break;
		case 'w': out = optarg; break;
		case 'q': cli_quiet = true; break;
		case 'h':
		case O_HELP: usage(stdout); return 0;
		default:
			cli_err("replay: unknown or incomplete option '%s'; see 'lrokit replay --help'",
				argv[optind - 1]);
			return LK_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return LK_EXIT_USAGE;
	}
	const char *path = argv[optind];

	struct lro_config cfg;
	lro_config_default(&cfg, pol);
	if (table)
		cfg.table_size = (unsigned)table;
	if (max_aggr)
		cfg.max_aggr = (unsigned)max_aggr;
	if (mtu)
		cfg.mtu = (unsigned)mtu;
	cfg.verify_csum = !trust;
	cfg.csum_complete = true; /* frames written or counted must verify as they are */

	struct lk_err e;
	struct lk_pcap *r;
	if (lk_pcap_open(path, &r, &e) < 0) {
		cli_err("%s", e.msg);
		return e.code;
	}
	int dlt = lk_pcap_dlt(r);
	struct rctx ctx = {0};
	pcap_t *dead = NULL;
	int rc = 0;
	if (out) {
		dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
		if (!dead || !(ctx.dump = pcap_dump_open(dead, out))) {
			cli_err("replay: cannot write %s: %s", out, dead ? pcap_geterr(dead) : "out of memory");
			if (dead)
				pcap_close(dead);
			lk_pcap_close(r);
			return LK_EXIT_RUNTIME;
		}
	}
	struct lro *l = lro_new(&cfg, on_emit, &ctx);
	uint8_t *ebuf = malloc(262144 + 64);
	if (!l || !ebuf) {
		cli_err("replay: out of memory");
		rc = LK_EXIT_RUNTIME;
		goto done;
	}

	const struct pcap_pkthdr *h;
	const uint8_t *data;
	uint64_t in_poll = 0, last_ts = 0, skipped = 0, cut = 0;
	bool have_last = false;
	int got;
	while ((got = lk_pcap_next(r, &h, &data, &e)) == 1) {
		uint64_t ts = lk_pcap_ts_ns(r, h);
		uint32_t flen;
		int32_t delta;
		const uint8_t *f = to_ether(dlt, data, h->caplen, ebuf, 262144 + 64, &flen, &delta);
		if (!f) {
			skipped++;
			continue;
		}
		if (h->caplen < h->len)
			cut++;
		/* poll boundaries: idle gap before this frame, or budget used up */
		if (have_last && in_poll && gap_us && ts > last_ts && ts - last_ts > gap_us * 1000) {
			lro_poll_end(l, last_ts);
			in_poll = 0;
		}
		ctx.cur = f;
		ctx.cur_caplen = flen;
		ctx.cur_wirelen = (uint32_t)((int64_t)h->len + delta);
		lro_rx(l, f, flen, ts);
		ctx.cur = NULL;
		last_ts = ts;
		have_last = true;
		if (++in_poll >= budget) {
			lro_poll_end(l, ts);
			in_poll = 0;
		}
	}
	if (got < 0) {
		cli_err("%s", e.msg);
		rc = e.code ? e.code : LK_EXIT_RUNTIME;
		goto done;
	}
	lro_poll_end(l, last_ts);
	if (lk_pcap_truncated(r) && !cli_quiet)
		cli_warn("%s: the last record is cut short; replayed the records before it", path);
	if (skipped && !cli_quiet)
		cli_warn("%s: %" PRIu64 " records without an Ethernet equivalent were not replayed", path, skipped);
	if (cut && !cli_quiet)
		cli_warn("%s: %" PRIu64 " frames cut by the snaplen passed through unmerged", path, cut);
	if (ctx.dump) {
		if (pcap_dump_flush(ctx.dump) < 0 || ferror(pcap_dump_file(ctx.dump))) {
			cli_err("replay: writing %s failed: %s", out, strerror(errno));
			rc = LK_EXIT_RUNTIME;
			goto done;
		}
	}

	const struct lro_stats *st = lro_stats(l);
	double rate = lro_rate(st);
	if (json) {
		fputs("{\"policy\":", stdout);
		lk_json_str(stdout, lro_policy_name(pol));
		printf(",\"packets_in\":%" PRIu64 ",\"packets_out\":%" PRIu64 ",\"segments_in\":%" PRIu64
		       ",\"lro_rate\":", st->frames_in, st->frames_out, st->segs_in);
		lk_json_num(stdout, rate);
		fputs(",\"flushes\":{", stdout);
		for (int i = 0; i < LRO_FLUSH__COUNT; i++) {
			fputs(i ? "," : "", stdout);
			lk_json_str(stdout, lro_flush_reason_name(i));
			printf(":%" PRIu64, st->flushes[i]);
		}
		fputs("}}\n", stdout);
	} else {
		printf("replay %s: policy %s, budget %lu frames, gap %lu us%s\n", path, lro_policy_name(pol),
		       budget, gap_us, trust ? ", checksums trusted" : "");
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
		if (out)
			printf("  wrote %" PRIu64 " frames to %s\n", ctx.written, out);
	}
done:
	if (ctx.dump)
		pcap_dump_close(ctx.dump);
	if (rc && out)
		unlink(out); /* no half-written output */
	if (dead)
		pcap_close(dead);
	lro_free(l);
	free(ebuf);
	lk_pcap_close(r);
	return rc;
}
