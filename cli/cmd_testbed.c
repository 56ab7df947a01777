/* lrokit testbed up|down CONFIG - a testbed by hand (namespaces lkb-CONFIG-*);
 * lrokit testbed list - the configurations (testbed/configs.h), for people and scripts. */
#include "cli/commands.h"
#include "lib/err.h"
#include "testbed/configs.h"
#include "testbed/model.h"
#include "testbed/testbed.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char tb_usage[] =
	"usage: lrokit testbed up|down CONFIG [--rate RATE|none] [--lro-policy P]\n"
	"                                     [--profile quick|paper] [--model KEY=VALUE ...]\n"
	"       lrokit testbed list\n"
	"Build (up) or remove (down) testbed CONFIG for manual use; namespaces are\n"
	"lkb-CONFIG-snd, lkb-CONFIG-dom0, lkb-CONFIG-domU (lkb-CONFIG-rcv for native*).\n"
	"list: one line per configuration, tab-separated: name, path (veth or xen),\n"
	"aggregation (none, gro, lro-phys, lro-virt, lro-both), the paper's label (- if\n"
	"none), description.\n"
	"CONFIG: %s\n";

static int list(void)
{
	for (const struct lk_config *c = lk_configs; c->name; c++) {
		if (c->hosts_only)
			continue; /* not a testbed: bench --hosts */
		const char *agg = c->kernel_gro ? "gro" : c->lro_phys && c->lro_virt ? "lro-both"
			: c->lro_phys ? "lro-phys" : c->lro_virt ? "lro-virt" : "none";
		printf("%s\t%s\t%s\t%s\t%s\n", c->name, c->full_path ? "xen" : "veth", agg,
		       c->paper ? c->paper : "-", c->desc);
	}
	return 0;
}

int cmd_testbed(int argc, char **argv)
{
	uint64_t rate = 0;
	const char *policy = NULL;
	const char *profile = NULL;
	char *kvs[4 * LK_MODEL_NPARAMS];
	int nkv = 0;
	enum { O_RATE = 256, O_POLICY, O_PROFILE, O_MODEL };
	static const struct option lo[] = {
		{"rate", required_argument, 0, O_RATE}, {"lro-policy", required_argument, 0, O_POLICY},
		{"profile", required_argument, 0, O_PROFILE}, {"model", required_argument, 0, O_MODEL},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	char names[128];
	lk_config_list(names, sizeof names, " ");
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
		switch (c) {
		case O_RATE:
			if ((rc = cli_tb_rate("testbed", optarg, &rate)))
				return rc;
			break;
		case O_POLICY:
			if ((rc = cli_tb_lro_policy("testbed", optarg, &policy)))
				return rc;
			break;
		case O_PROFILE: profile = optarg; break;
		case O_MODEL:
			if (nkv >= (int)(sizeof kvs / sizeof kvs[0]))
				return cli_usage_err("testbed: too many --model options");
			kvs[nkv++] = optarg;
			break;
		case 'q': cli_quiet = true; break;
		case 'h': printf(tb_usage, names); return 0;
		default: fprintf(stderr, tb_usage, names); return LK_EXIT_USAGE;
		}
	}
	if (optind == argc - 1 && !strcmp(argv[optind], "list"))
		return list();
	struct lk_model model;
	if ((rc = cli_model_finish("testbed", profile, kvs, nkv, &model)))
		return rc < 0 ? 0 : rc;
	if (optind != argc - 2 || (strcmp(argv[optind], "up") && strcmp(argv[optind], "down")))
		return cli_usage_err("testbed: want 'up CONFIG', 'down CONFIG' or 'list'; see 'lrokit "
				     "testbed --help'");
	bool up = !strcmp(argv[optind], "up");
	const struct lk_config *cfg = lk_config_find(argv[optind + 1]);
	if (!cfg)
		return cli_usage_err("testbed: unknown configuration '%s' (%s)", argv[optind + 1], names);
	if (cfg->hosts_only) {
		cli_err("testbed: %s %s", cfg->name, LK_CONFIG_HOSTS_ONLY_WHY);
		return LK_EXIT_USAGE;
	}
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
	tb.model = model;
	lk_tb_names(&tb);
	struct lk_err e = {0};
	if (!up) {
		if (!lk_tb_exists(&tb)) {
			cli_err("testbed: no testbed %s is up", tb.prefix);
			return LK_EXIT_RUNTIME;
		}
		rc = lk_tb_down(&tb, &e);
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
