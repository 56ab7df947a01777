/* lrokit - measure and explain what LRO/GRO does to TCP receive.
 * One binary, one table of subcommands (git/perf style). */
#include "cli/commands.h"
#include "lib/err.h"
#include "lib/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
};

static const struct command commands[] = {
	{"bench", cmd_bench, "run every configuration x repeats, store, analyze, build the report"},
	{"analyze", cmd_analyze, "per-flow TCP counters of pcap/pcapng files (tcptrace definitions)"},
	{"recv", cmd_recv, "bulk TCP receiver: verify a sender's pattern, report goodput"},
	{"replay", cmd_replay, "run a capture through the reference LRO engine: what LRO would do"},
	{"report", cmd_report, "gnuplot figures and an HTML report from the database"},
	{"run", cmd_run, "build a testbed configuration, run one transfer, store a run record"},
	{"send", cmd_send, "bulk TCP sender with TCP_INFO sampling (like iperf3, verifiable)"},
	{"stage", cmd_stage, "(internal) one stage process of the emulated Xen path"},
	{"testbed", cmd_testbed, "build or tear down a testbed configuration by hand"},
	{"collect", cmd_collect, "collectors as JSON lines on stdout (for remote hosts over ssh)"},
	{"info", cmd_info, "what this machine supports: root, netns, TAP, PMU, Xen, gnuplot"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lrokit [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nRun 'lrokit COMMAND --help' for a command's options.\n");
}

static char cmdline_buf[4096];

int main(int argc, char **argv)
{
	size_t off = 0;
	for (int i = 0; i < argc && off < sizeof cmdline_buf - 1; i++)
		off += (size_t)snprintf(cmdline_buf + off, sizeof cmdline_buf - off, "%s%s",
					i ? " " : "", argv[i]);
	cli_cmdline = cmdline_buf;
	if (argc < 2) {
		usage(stderr);
		return LK_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("lrokit %s\n", lk_version);
#ifdef LK_HAVE_XENSTAT
		printf("xenstat collector: built (libxenstat)\n");
#else
		printf("xenstat collector: not built (libxenstat missing at build time)\n");
#endif
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	cli_err("'%s' is not a lrokit command; see 'lrokit --help'", argv[1]);
	return LK_EXIT_USAGE;
}
