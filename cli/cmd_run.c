/* lrokit run CONFIG - one verified transfer through one testbed configuration
 * (testbed/run.h does the work; this file parses and prints). */
#include "cli/commands.h"
#include "lib/err.h"
#include "testbed/configs.h"
#include "testbed/progress.h"
#include "testbed/run.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static const char run_usage[] =
	"usage: lrokit run CONFIG [options]\n"
	"Build testbed CONFIG, run one verified transfer, store a run record, tear down.\n"
	"CONFIG: %s\n"
	"  -n, --bytes SIZE      bytes to transfer (default 64M)\n"
	"      --rate RATE|none  tbf limit on the sender's wire, e.g. 1G (default none)\n"
	"      --db FILE         database (default lrokit.db)\n"
	"      --capture DIR     directory of the run's captures (default: beside the database);\n"
	"                        with --no-collect: tcpdump the sender's and receiver's interface\n"
	"                        (written as NAME.pcap.part, renamed when complete)\n"
	"      --no-collect      no collectors (perf counters, /proc and interface stats, xenstat,\n"
	"                        libpcap captures); for measuring the collectors' cost\n"
	"      --profile P       the model's starting values: quick (no effect) or paper\n"
	"      --model KEY=VALUE a model parameter, on top of the profile (repeatable);\n"
	"                        --model help lists them with units and paper values\n"
	"      --sweep KEY=VALUE as --model, and records the run as one point of a sweep\n"
	"                        of KEY (runs.sweep_key, runs.sweep_value)\n"
	"      --quickack        receiver sets TCP_QUICKACK after every read (the same as\n"
	"                        --model guest.quickack=1)\n"
	"      --cc NAME         sender congestion control\n"
	"      --mss N           sender MSS\n"
	"      --lro-policy P    linux (default) or inet_lro\n"
	"      --json            JSON summary on stdout\n"
	"  -q                    quiet\n"
	"Needs root (CAP_NET_ADMIN): network namespaces, TAP devices, AF_PACKET.\n";

static volatile sig_atomic_t g_sig;
static void on_sig(int s) { g_sig = s; }

/* Progress to a parent `lrokit bench` (testbed/progress.h), if it gave us a pipe. */
static void on_progress(void *ctx, const struct lk_progress *p)
{
	lk_progress_send(ctx, p);
}

static void on_message(void *ctx, enum lk_run_msg level, const char *msg)
{
	(void)ctx;
	if (level == LK_RUN_WARN)
		cli_warn("%s", msg);
	else if (!cli_quiet && (level == LK_RUN_NOTE || isatty(2)))
		fprintf(stderr, "lrokit: %s\n", msg);
}

/* --sweep KEY=VALUE: set with origin "sweep", remembered for the run row. */
static int sweep_point(struct lk_run_opts *o, const char *kv)
{
	static char key[64];
	const char *eq = strchr(kv, '=');
	struct lk_err e = {0};
	if (!eq || (size_t)(eq - kv) >= sizeof key)
		return cli_usage_err("run: bad --sweep '%s' (want KEY=VALUE)", kv);
	snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
	if (lk_model_parse_kv(&o->model, kv, "sweep", &e) < 0 || lk_model_check(&o->model, &e) < 0)
		return cli_usage_err("run: --sweep: %s", e.msg);
	o->sweep_key = key;
	o->sweep_value = o->model.v[lk_model_find(key)];
	return 0;
}

/* Options into o; 0, or an exit code (usage error, --help). */
static int parse_args(int argc, char **argv, struct lk_run_opts *o, bool *json)
{
	enum { O_RATE = 256, O_DB, O_CAPTURE, O_QUICKACK, O_CC, O_MSS, O_POLICY, O_JSON,
	       O_NOCOLLECT, O_PROFILE, O_MODEL, O_SWEEP };
	static const struct option lo[] = {
		{"bytes", required_argument, 0, 'n'}, {"rate", required_argument, 0, O_RATE},
		{"db", required_argument, 0, O_DB}, {"capture", required_argument, 0, O_CAPTURE},
		{"quickack", no_argument, 0, O_QUICKACK}, {"cc", required_argument, 0, O_CC},
		{"mss", required_argument, 0, O_MSS}, {"lro-policy", required_argument, 0, O_POLICY},
		{"profile", required_argument, 0, O_PROFILE}, {"model", required_argument, 0, O_MODEL},
		{"sweep", required_argument, 0, O_SWEEP}, {"json", no_argument, 0, O_JSON},
		{"no-collect", no_argument, 0, O_NOCOLLECT}, {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	char names[128];
	lk_config_list(names, sizeof names, " ");
	uint64_t v;
	int c, rc, nkv = 0;
	char *kvs[4 * LK_MODEL_NPARAMS];
	const char *sweep = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_size(optarg, &o->bytes) || !o->bytes)
				return cli_usage_err("run: bad --bytes '%s' (want a size like 64M, 1G)", optarg);
			break;
		case O_RATE:
			if ((rc = cli_tb_rate("run", optarg, &o->rate_bps)))
				return rc;
			break;
		case O_DB: o->db = optarg; break;
		case O_CAPTURE: o->capture_dir = optarg; break;
		case O_QUICKACK:
		case O_MODEL:
			if (nkv >= (int)(sizeof kvs / sizeof kvs[0]))
				return cli_usage_err("run: too many --model options");
			kvs[nkv++] = c == O_MODEL ? optarg : "guest.quickack=1";
			break;
		case O_PROFILE: o->profile = optarg; break;
		case O_SWEEP: sweep = optarg; break;
		case O_CC: o->cc = optarg; break;
		case O_MSS:
			if (cli_parse_size(optarg, &v) || v < 88 || v > 65535)
				return cli_usage_err("run: bad --mss '%s'", optarg);
			o->mss = (int)v;
			break;
		case O_POLICY:
			if ((rc = cli_tb_lro_policy("run", optarg, &o->lro_policy)))
				return rc;
			break;
		case O_JSON: *json = true; break;
		case O_NOCOLLECT: o->no_collect = true; break;
		case 'q': cli_quiet = true; break;
		case 'h': printf(run_usage, names); return -1;
		default: fprintf(stderr, run_usage, names); return LK_EXIT_USAGE;
		}
	}
	rc = cli_model_finish("run", o->profile, kvs, nkv, &o->model);
	if (!rc && sweep)
		rc = sweep_point(o, sweep);
	if (rc)
		return rc;
	if (optind != argc - 1)
		return cli_usage_err("run: need exactly one CONFIG (%s)", names);
	if (!(o->cfg = lk_config_find(argv[optind])))
		return cli_usage_err("run: unknown configuration '%s' (%s)", argv[optind], names);
	if (o->cfg->hosts_only) {
		cli_err("run: %s %s", o->cfg->name, LK_CONFIG_HOSTS_ONLY_WHY);
		return LK_EXIT_USAGE;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct lk_run_opts o = {.bytes = 64ull << 20, .db = "lrokit.db", .cmdline = cli_cmdline};
	bool json = false;
	int rc = parse_args(argc, argv, &o, &json);
	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = cli_need_root("run")))
		return rc;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int progress_fd = lk_progress_open_env();
	o.stop = &g_sig;
	o.progress = progress_fd >= 0 ? on_progress : NULL;
	o.message = on_message;
	o.ctx = &progress_fd;

	struct lk_run_result r;
	struct lk_err e = {0};
	if (lk_run(&o, &r, &e) < 0) {
		cli_err("run: %s", e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	if (json)
		lk_run_result_json(stdout, &o, &r);
	else if (!strcmp(r.status, "ok"))
		printf("run %" PRId64 " %s: %" PRIu64 " bytes verified, %.3f Gbit/s, LRO rate %.2f, "
		       "stage drops %.0f\n",
		       r.run_id, o.cfg->name, r.bytes, r.goodput_bps / 1e9, r.lro_rate, r.drops);
	if (strcmp(r.status, "ok")) {
		cli_err("run %s: %s", o.cfg->name, r.error[0] ? r.error : "failed");
		return r.signal ? 128 + r.signal : LK_EXIT_RUNTIME;
	}
	return 0;
}
