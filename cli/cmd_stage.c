/* lrokit stage - (internal) one stage process of the emulated Xen path.
 * Launched by `lrokit run` / `lrokit testbed up` inside the testbed's
 * namespaces; see testbed/stage.h. */
#include "testbed/stage.h"
#include "cli/commands.h"
#include "lib/err.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char stage_usage[] =
	"usage: lrokit stage nic|netback|netfront [options]   (internal, used by 'lrokit run')\n"
	"  --tap NAME        TAP device the stage creates\n"
	"  --wire IF         nic: wire interface read with AF_PACKET\n"
	"  --lro [POLICY]    run lro_ref on the receive path (linux | inet_lro)\n"
	"  --model KEY=VALUE a model parameter (repeatable; see lrokit run --model help)\n"
	"  --shm-fd N        netback/netfront: shared ring memory\n"
	"  --evt A,B,C,D     netback/netfront: eventfds rx-kick,rx-space,tx-kick,tx-space\n"
	"  --ready-fd N      write one byte to N when ready\n"
	"  --stats FILE      write counters (key=value lines) to FILE at exit and on SIGUSR1\n";

static int num(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 1 << 20)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_stage(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(stage_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? LK_EXIT_USAGE : 0;
	}
	struct lk_stage_opts o = {.shm_fd = -1, .evt = {-1, -1, -1, -1}, .ready_fd = -1};
	lk_model_defaults(&o.model);
	if (lk_stage_parse(argv[1], &o.kind) < 0) {
		cli_err("stage: unknown stage '%s' (nic, netback or netfront)", argv[1]);
		return LK_EXIT_USAGE;
	}
	enum { O_TAP = 256, O_WIRE, O_LRO, O_MODEL, O_SHM, O_EVT, O_READY, O_STATS };
	static const struct option lo[] = {
		{"tap", required_argument, 0, O_TAP}, {"wire", required_argument, 0, O_WIRE},
		{"lro", optional_argument, 0, O_LRO}, {"model", required_argument, 0, O_MODEL},
		{"shm-fd", required_argument, 0, O_SHM}, {"evt", required_argument, 0, O_EVT},
		{"ready-fd", required_argument, 0, O_READY}, {"stats", required_argument, 0, O_STATS},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c, rc;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_TAP: o.tap = optarg; break;
		case O_WIRE: o.wire = optarg; break;
		case O_LRO:
			o.lro = true;
			if (optarg && (rc = cli_tb_lro_policy("stage", optarg, &o.lro_policy)))
				return rc;
			break;
		case O_MODEL: {
			struct lk_err me = {0};
			if (lk_model_parse_kv(&o.model, optarg, "cli", &me) < 0) {
				cli_err("stage: %s", me.msg);
				return LK_EXIT_USAGE;
			}
			break;
		}
		case O_SHM:
			if (num(optarg, &o.shm_fd)) {
				cli_err("stage: bad --shm-fd '%s'", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case O_EVT: {
			char *p = optarg;
			for (int i = 0; i < 4; i++) {
				char *end;
				long v = strtol(p, &end, 10);
				if (end == p || v < 0 || (i < 3 && *end != ',') || (i == 3 && *end)) {
					cli_err("stage: bad --evt '%s' (want four fds A,B,C,D)", optarg);
					return LK_EXIT_USAGE;
				}
				o.evt[i] = (int)v;
				p = end + 1;
			}
			break;
		}
		case O_READY:
			if (num(optarg, &o.ready_fd)) {
				cli_err("stage: bad --ready-fd '%s'", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case O_STATS: o.stats_path = optarg; break;
		case 'h': fputs(stage_usage, stdout); return 0;
		default: fputs(stage_usage, stderr); return LK_EXIT_USAGE;
		}
	}
	struct lk_err e = {0};
	if (lk_stage_run(&o, &e) < 0) {
		cli_err("stage %s: %s", lk_stage_name(o.kind), e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}
	return 0;
}
