/* lrokit recv - bulk TCP receiver verifying the sender's pattern (testbed/xfer.h). */
#include "cli/commands.h"
#include "lib/err.h"
#include "lib/json.h"
#include "testbed/hostrun.h"
#include "testbed/xfer.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char recv_usage[] =
	"usage: lrokit recv [options]\n"
	"Accept one 'lrokit send' connection, verify every byte, report goodput.\n"
	"  -B, --bind ADDR       listen address (default: any, IPv4 and IPv6)\n"
	"  -p, --port PORT       port (default " LK_XFER_PORT ")\n"
	"  -4 / -6               IPv4 / IPv6 only\n"
	"      --mss N           TCP_MAXSEG on the listening socket\n"
	"      --rcvbuf SIZE     SO_RCVBUF (default: autotuning)\n"
	"      --sndbuf SIZE     SO_SNDBUF\n"
	"      --quickack        TCP_QUICKACK after every read (no delayed ACKs)\n"
	"      --timeout SEC     give up after SEC seconds (default 600)\n"
	"      --json            JSON report on stdout, with this process's CPU (\"cpu\":\n"
	"                        task-clock, cycles, instructions; null and \"why\" where\n"
	"                        the PMU or perf_event_paranoid refuses; rusage_cpu_ns)\n"
	"      --result FILE     write the result as key=value lines (for lrokit run)\n"
	"      --ready-fd N      write one byte to fd N once listening (for lrokit run)\n"
	"  -q                    quiet\n";

/* --ready-fd: tell the parent we listen. */
static void on_listening(void *ctx)
{
	int fd = *(int *)ctx;
	ssize_t w = write(fd, "L", 1);
	(void)w;
	close(fd);
}

static int bad(const char *what, const char *v)
{
	cli_err("recv: bad %s '%s'", what, v);
	return LK_EXIT_USAGE;
}

int cmd_recv(int argc, char **argv)
{
	struct lk_xfer_opts o = {.timeout_s = 600};
	bool json = false;
	const char *result = NULL;
	uint64_t v;
	enum { O_MSS = 256, O_SNDBUF, O_RCVBUF, O_QUICKACK, O_TIMEOUT, O_JSON, O_RESULT, O_READY };
	int ready_fd = -1;
	static const struct option lo[] = {
		{"bind", required_argument, 0, 'B'}, {"port", required_argument, 0, 'p'},
		{"mss", required_argument, 0, O_MSS}, {"sndbuf", required_argument, 0, O_SNDBUF},
		{"rcvbuf", required_argument, 0, O_RCVBUF}, {"quickack", no_argument, 0, O_QUICKACK},
		{"timeout", required_argument, 0, O_TIMEOUT}, {"json", no_argument, 0, O_JSON},
		{"result", required_argument, 0, O_RESULT}, {"ready-fd", required_argument, 0, O_READY},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "B:p:46qh", lo, NULL)) != -1) {
		switch (c) {
		case 'B': o.host = optarg; break;
		case 'p': o.port = optarg; break;
		case '4': o.family = 4; break;
		case '6': o.family = 6; break;
		case 'q': cli_quiet = true; break;
		case O_MSS:
			if (cli_parse_size(optarg, &v) || v < 88 || v > 65535) return bad("--mss", optarg);
			o.mss = (int)v; break;
		case O_SNDBUF:
			if (cli_parse_size(optarg, &v) || v > (1u << 30)) return bad("--sndbuf", optarg);
			o.sndbuf = (int)v; break;
		case O_RCVBUF:
			if (cli_parse_size(optarg, &v) || v > (1u << 30)) return bad("--rcvbuf", optarg);
			o.rcvbuf = (int)v; break;
		case O_QUICKACK: o.quickack = true; break;
		case O_TIMEOUT:
			if (cli_parse_size(optarg, &v) || v > 86400) return bad("--timeout", optarg);
			o.timeout_s = (int)v; break;
		case O_JSON: json = true; break;
		case O_RESULT: result = optarg; break;
		case O_READY:
			if (cli_parse_size(optarg, &v) || v < 3 || v > 65535) return bad("--ready-fd", optarg);
			ready_fd = (int)v;
			o.listening = on_listening;
			o.ctx = &ready_fd;
			break;
		case 'h': fputs(recv_usage, stdout); return 0;
		default: fputs(recv_usage, stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("recv: unexpected argument '%s'; see 'lrokit recv --help'", argv[optind]);
		return LK_EXIT_USAGE;
	}
	struct lk_xfer_result r;
	struct lk_err e = {0};
	struct lk_selfcpu cpu = {0};
	if (json)
		lk_selfcpu_start(&cpu);
	int rc = lk_xfer_recv(&o, &r, &e);
	if (json)
		lk_selfcpu_stop(&cpu);
	if (rc)
		snprintf(r.error, sizeof r.error, "%s", e.msg);
	struct lk_err we = {0};
	if (result && lk_xfer_result_write(result, &r, &we) < 0)
		cli_err("recv: --result: %s", we.msg);
	if (json) {
		printf("{\"role\":\"recv\",\"peer\":");
		lk_json_str(stdout, r.peer);
		printf(",\"ok\":%s,\"bytes\":%" PRIu64
		       ",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"seconds\":%.6f,"
		       "\"goodput_bps\":%.0f,\"verified\":%s,\"corrupt_at\":",
		       rc ? "false" : "true", r.bytes, r.start_ns, r.end_ns, r.seconds,
		       r.goodput_bps, r.verified ? "true" : "false");
		if (r.corrupt_at >= 0)
			printf("%" PRId64, r.corrupt_at);
		else
			printf("null");
		printf(",\"read_calls\":%" PRIu64 ",\"quickack\":%s,\"mss\":%d,\"sndbuf\":%d,\"rcvbuf\":%d",
		       r.calls, o.quickack ? "true" : "false", r.mss, r.sndbuf, r.rcvbuf);
		if (rc) {
			printf(",\"error\":");
			lk_json_str(stdout, e.msg);
		}
		lk_selfcpu_json(stdout, &cpu);
		lk_selfcpu_free(&cpu);
		printf("}\n");
	} else if (rc == 0) {
		printf("received %" PRIu64 " bytes from %s in %.3f s: %.3f Gbit/s, content verified\n",
		       r.bytes, r.peer, r.seconds, r.goodput_bps / 1e9);
	}
	lk_xfer_result_free(&r);
	if (rc) {
		cli_err("recv: %s", e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	return 0;
}
