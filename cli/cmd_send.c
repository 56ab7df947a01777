/* lrokit send - bulk TCP sender with TCP_INFO sampling (see testbed/xfer.h). */
#include "cli/commands.h"
#include "lib/err.h"
#include "lib/json.h"
#include "testbed/hostrun.h"
#include "testbed/xfer.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char send_usage[] =
	"usage: lrokit send HOST [options]\n"
	"Send SIZE bytes of a verifiable pattern to 'lrokit recv' on HOST.\n"
	"  -n, --bytes SIZE      bytes to send (default 64M; suffixes k,M,G)\n"
	"  -p, --port PORT       receiver port (default " LK_XFER_PORT ")\n"
	"  -4 / -6               force IPv4 / IPv6\n"
	"      --mss N           TCP_MAXSEG\n"
	"      --cc NAME         congestion control (TCP_CONGESTION), e.g. reno, cubic, bbr\n"
	"      --sndbuf SIZE     SO_SNDBUF (default: autotuning)\n"
	"      --rcvbuf SIZE     SO_RCVBUF\n"
	"      --seed N          pattern seed (default 1)\n"
	"      --interval MS     TCP_INFO sampling period (default 10)\n"
	"      --tcpinfo FILE    write the TCP_INFO series to FILE (CSV) instead of the JSON\n"
	"      --result FILE     write the result as key=value lines (for lrokit run)\n"
	"      --timeout SEC     give up after SEC seconds (default 600)\n"
	"      --json            JSON report on stdout, with this process's CPU (\"cpu\":\n"
	"                        task-clock, cycles, instructions; null and \"why\" where\n"
	"                        the PMU or perf_event_paranoid refuses; rusage_cpu_ns)\n"
	"  -q                    quiet\n";

static int bad_size(const char *what, const char *v)
{
	cli_err("send: bad %s '%s' (want a size like 1500, 64k, 1G)", what, v);
	return LK_EXIT_USAGE;
}

static void print_json(const struct lk_xfer_opts *o, const struct lk_xfer_result *r, int rc,
		       bool samples, const struct lk_selfcpu *cpu)
{
	printf("{\"role\":\"send\",\"peer\":");
	lk_json_str(stdout, r->peer);
	printf(",\"ok\":%s,\"bytes\":%" PRIu64 ",\"bytes_requested\":%" PRIu64 ",\"start_ns\":%" PRIu64
	       ",\"end_ns\":%" PRIu64 ",\"seconds\":%.6f,\"goodput_bps\":%.0f,\"verified\":%s,"
	       "\"mss\":%d,\"cc\":",
	       rc ? "false" : "true", r->bytes, o->bytes, r->start_ns, r->end_ns, r->seconds,
	       r->goodput_bps, r->verified ? "true" : "false", r->mss);
	lk_json_str(stdout, r->cc);
	printf(",\"sndbuf\":%d,\"rcvbuf\":%d,\"send_calls\":%" PRIu64 ",\"total_retrans\":%u,"
	       "\"final\":", r->sndbuf, r->rcvbuf, r->calls, r->total_retrans);
	lk_rec_json(stdout, lk_tcpi_fields, &r->last);
	if (rc) {
		printf(",\"error\":");
		lk_json_str(stdout, r->error);
	}
	if (samples) {
		printf(",\"tcp_info\":[");
		for (size_t i = 0; i < r->n_samples; i++) {
			if (i)
				putchar(',');
			lk_rec_json(stdout, lk_tcpi_fields, &r->samples[i]);
		}
		putchar(']');
	}
	lk_selfcpu_json(stdout, cpu);
	printf("}\n");
}

int cmd_send(int argc, char **argv)
{
	struct lk_xfer_opts o = {.bytes = 64ull << 20, .seed = 1, .sample_ms = 10, .timeout_s = 600};
	const char *tcpinfo = NULL, *result = NULL;
	bool json = false;
	uint64_t v;
	enum { O_MSS = 256, O_CC, O_SNDBUF, O_RCVBUF, O_SEED, O_INTERVAL, O_TCPINFO, O_TIMEOUT,
	       O_JSON, O_RESULT };
	static const struct option lo[] = {
		{"bytes", required_argument, 0, 'n'}, {"port", required_argument, 0, 'p'},
		{"mss", required_argument, 0, O_MSS}, {"cc", required_argument, 0, O_CC},
		{"sndbuf", required_argument, 0, O_SNDBUF}, {"rcvbuf", required_argument, 0, O_RCVBUF},
		{"seed", required_argument, 0, O_SEED}, {"interval", required_argument, 0, O_INTERVAL},
		{"tcpinfo", required_argument, 0, O_TCPINFO}, {"timeout", required_argument, 0, O_TIMEOUT},
		{"json", no_argument, 0, O_JSON}, {"result", required_argument, 0, O_RESULT},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:p:46qh", lo, NULL)) != -1) {
		switch (c) {
		case 'n': if (cli_parse_size(optarg, &o.bytes)) return bad_size("--bytes", optarg); break;
		case 'p': o.port = optarg; break;
		case '4': o.family = 4; break;
		case '6': o.family = 6; break;
		case 'q': cli_quiet = true; break;
		case O_MSS:
			if (cli_parse_size(optarg, &v) || v < 88 || v > 65535) return bad_size("--mss", optarg);
			o.mss = (int)v; break;
		case O_CC: o.cc = optarg; break;
		case O_SNDBUF:
			if (cli_parse_size(optarg, &v) || v > (1u << 30)) return bad_size("--sndbuf", optarg);
			o.sndbuf = (int)v; break;
		case O_RCVBUF:
			if (cli_parse_size(optarg, &v) || v > (1u << 30)) return bad_size("--rcvbuf", optarg);
			o.rcvbuf = (int)v; break;
		case O_SEED: if (cli_parse_size(optarg, &o.seed)) return bad_size("--seed", optarg); break;
		case O_INTERVAL:
			if (cli_parse_size(optarg, &v) || v < 1 || v > 10000) return bad_size("--interval", optarg);
			o.sample_ms = (int)v; break;
		case O_TCPINFO: tcpinfo = optarg; break;
		case O_TIMEOUT:
			if (cli_parse_size(optarg, &v) || v > 86400) return bad_size("--timeout", optarg);
			o.timeout_s = (int)v; break;
		case O_JSON: json = true; break;
		case O_RESULT: result = optarg; break;
		case 'h': fputs(send_usage, stdout); return 0;
		default: fputs(send_usage, stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_err("send: need exactly one receiver HOST; see 'lrokit send --help'");
		return LK_EXIT_USAGE;
	}
	o.host = argv[optind];
	FILE *tf = NULL;
	if (tcpinfo && !(tf = fopen(tcpinfo, "w"))) {
		cli_err("send: cannot write --tcpinfo file '%s': %s", tcpinfo, strerror(errno));
		return LK_EXIT_RUNTIME;
	}
	struct lk_xfer_result r;
	struct lk_err e = {0};
	struct lk_selfcpu cpu = {0};
	if (json)
		lk_selfcpu_start(&cpu);
	int rc = lk_xfer_send(&o, &r, &e);
	if (json)
		lk_selfcpu_stop(&cpu);
	if (rc)
		snprintf(r.error, sizeof r.error, "%s", e.msg);
	if (tf) {
		lk_rec_csv_header(tf, lk_tcpi_fields);
		for (size_t i = 0; i < r.n_samples; i++)
			lk_rec_csv_row(tf, lk_tcpi_fields, &r.samples[i]);
		if (fclose(tf) != 0 && rc == 0) {
			cli_err("send: writing '%s' failed", tcpinfo);
			rc = -1;
			e.code = LK_EXIT_RUNTIME;
		}
	}
	struct lk_err we = {0};
	if (result && lk_xfer_result_write(result, &r, &we) < 0)
		cli_err("send: --result: %s", we.msg);
	if (json)
		print_json(&o, &r, rc, !tcpinfo, &cpu);
	else if (rc == 0)
		printf("sent %" PRIu64 " bytes to %s in %.3f s: %.3f Gbit/s, verified by receiver; "
		       "mss %d, cc %s, retransmits %u, %zu TCP_INFO samples\n",
		       r.bytes, r.peer, r.seconds, r.goodput_bps / 1e9, r.mss, r.cc, r.total_retrans,
		       r.n_samples);
	lk_xfer_result_free(&r);
	lk_selfcpu_free(&cpu);
	if (rc) {
		if (e.msg[0])
			cli_err("send: %s", e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	return 0;
}
