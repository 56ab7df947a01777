/* lrokit testbed up|down CONFIG - a testbed by hand (namespaces lkb-CONFIG-*). */
#include "cli/commands.h"
#include "lib/err.h"
#include "testbed/configs.h"
#include "testbed/testbed.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char tb_usage[] =
	"usage: lrokit testbed up|down CONFIG [--rate RATE|none] [--lro-policy P] [--budget N]\n"
	"Build (up) or remove (down) testbed CONFIG for manual use; namespaces are\n"
	"lkb-CONFIG-snd, lkb-CONFIG-dom0, lkb-CONFIG-domU (lkb-CONFIG-rcv for native*).\n"
	"CONFIG: %s\n";

int cmd_testbed(int argc, char **argv)
{
	uint64_t rate = 0, v;
	const char *policy = NULL;
	int budget = 0;
	enum { O_RATE = 256, O_POLICY, O_BUDGET };
	static const struct option lo[] = {
		{"rate", required_argument, 0, O_RATE}, {"lro-policy", required_argument, 0, O_POLICY},
		{"budget", required_argument, 0, O_BUDGET}, {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	char names[128];
	lk_config_list(names, sizeof names, " ");
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
		switch (c) {
		case O_RATE:
			if (strcmp(optarg, "none") && (cli_parse_rate(optarg, &rate) || rate < 1000000))
				return cli_usage_err("testbed: bad --rate '%s' (want e.g. 1G or none)", optarg);
			break;
		case O_POLICY:
			if (strcmp(optarg, "linux") && strcmp(optarg, "inet_lro"))
				return cli_usage_err("testbed: bad --lro-policy '%s' (linux or inet_lro)", optarg);
			policy = optarg;
			break;
		case O_BUDGET:
			if (cli_parse_size(optarg, &v) || v < 1 || v > 256)
				return cli_usage_err("testbed: bad --budget '%s' (1..256)", optarg);
			budget = (int)v;
			break;
		case 'q': cli_quiet = true; break;
		case 'h': printf(tb_usage, names); return 0;
		default: fprintf(stderr, tb_usage, names); return LK_EXIT_USAGE;
		}
	}
	if (optind != argc - 2 || (strcmp(argv[optind], "up") && strcmp(argv[optind], "down"))) {
		cli_err("testbed: want 'up CONFIG' or 'down CONFIG'; see 'lrokit testbed --help'");
		return LK_EXIT_USAGE;
	}
	bool up = !strcmp(argv[optind], "up");
	const struct lk_config *cfg = lk_config_find(argv[optind + 1]);
	if (!cfg)
		return cli_usage_err("testbed: unknown configuration '%s' (%s)", argv[optind + 1], names);
	int r = cli_need_root("testbed");
	if (r)
		return r;
	struct lk_testbed tb;
	memset(&tb, 0, sizeof tb);
	tb.cfg = cfg;
	snprintf(tb.prefix, sizeof tb.prefix, "lkb-%s", cfg->name);
	tb.rate_bps = rate;
	tb.cpu_send = 0;
	tb.cpu_recv = 1;
	tb.persistent = true;
	tb.lro_policy = policy;
	tb.budget = budget;
	lk_tb_names(&tb);
	struct lk_err e = {0};
	if (!up) {
		if (!lk_tb_exists(&tb)) {
			cli_err("testbed: no testbed %s is up", tb.prefix);
			return LK_EXIT_RUNTIME;
		}
		int rc = lk_tb_down(&tb, &e);
		lk_tb_rm_statedir(&tb);
		if (rc < 0) {
			cli_err("testbed down %s: %s", cfg->name, e.msg);
			return e.code ? e.code : LK_EXIT_RUNTIME;
		}
		printf("testbed %s removed\n", tb.prefix);
		return 0;
	}
	if (lk_tb_up(&tb, &e) < 0) {
		cli_err("testbed up %s: %s", cfg->name, e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	printf("testbed %s (%s) is up\n", tb.prefix, cfg->desc);
	printf("  receiver: ip netns exec %s lrokit recv -B %s\n", tb.ns_rcv, LK_TB_RECV_ADDR);
	printf("  sender:   ip netns exec %s lrokit send %s -n 64M\n", tb.ns_snd, LK_TB_RECV_ADDR);
	if (cfg->full_path)
		printf("  stages:   %s (nic, netback), %s (netfront); counters: kill -USR1, files in %s\n",
		       tb.ns_dom0, tb.ns_rcv, tb.statedir);
	printf("  remove:   lrokit testbed down %s\n", cfg->name);
	return 0;
}
