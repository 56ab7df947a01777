/* lrokit bench: every configuration x repeats -> one results folder
 * (database, captures, report).
 *
 * Each run is its own `lrokit run` child process (so a crash or a kill of
 * one run cannot take the plan down, and each run tears down its own
 * testbed). Ctrl-C/SIGTERM: the current run is told to stop (it marks itself
 * aborted and tears its testbed down), finished runs are kept, the report is
 * still built from them.
 *
 * Progress: each child reports through a pipe (testbed/progress.h); the
 * progress line on stderr shows the phase, the configuration, the repeat,
 * the current run's goodput and the ETA. On a tty (and without -q) it is
 * redrawn in place; otherwise one line per phase. */
#include "cli/commands.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/file.h"
#include "lib/proc.h"
#include "reports/gnuplot.h"
#include "schema/db.h"
#include "testbed/configs.h"
#include "testbed/model.h"
#include "testbed/progress.h"
#include "testbed/run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A bench profile: the model profile of the same name (testbed/model.h,
 * passed to every run as --profile) plus how much to run. */
struct profile {
	const char *name;
	unsigned repeat;
	uint64_t bytes;
	const char *rate;  /* "none" (the model's wire.rate_bps sets the sender's tbf) or a rate */
	const char *sweep; /* the default sweep, NULL none */
	const char *what;
};

static const struct profile profiles[] = {
	{"quick", 3, 1ull << 30, "none", NULL,
	 "model parameters at their no-effect values; all configurations,\n"
	 "                   3 repeats, 1 GiB each, no rate limit"},
	{"paper", 3, 1ull << 30, "none", "nic.rx_usecs=0,125,500",
	 "model parameters at the paper's values (1 Gbit/s wire, e1000\n"
	 "                   interrupt moderation, Xen 3.1 ring and vif queue, credit scheduler);\n"
	 "                   all configurations, 3 repeats, 1 GiB each; plus the sweep\n"
	 "                   nic.rx_usecs=0,125,500"},
};

/* The configurations a sweep runs unless --configs says otherwise. */
static const char *const sweep_configs[] = {"xen", "lro-phys", "lro-virt"};

/* The report's figures, data files and page: a generous allowance. */
#define REPORT_BYTES (64ull << 20)

#define MAX_MODEL_ARGS 32
#define MAX_SWEEPS 4
#define MAX_SWEEP_VALUES 16

/* One --sweep KEY=V1,V2,...: each value is one `lrokit run --sweep KEY=V`. */
struct sweep {
	int key;                             /* index in lk_model_params() */
	int n;
	char arg[MAX_SWEEP_VALUES][96];      /* "KEY=VALUE" */
};

/* One run of the plan. */
struct item {
	const struct lk_config *cfg;
	int sweep, point;  /* sweep -1: a base run */
	long rep;
	char label[128];   /* configuration [KEY=VALUE] for the progress line */
};

/* What to run and where it goes. */
struct bench {
	const struct profile *pf;
	const struct lk_config *configs[LK_NCONFIGS]; /* --configs, in the order given */
	size_t nconf;
	const char *model[MAX_MODEL_ARGS];            /* --model KEY=VALUE */
	size_t nmodel;
	struct sweep sweeps[MAX_SWEEPS];
	size_t nsweep;
	bool sweep_set;    /* --sweep given (also "none"): the profile's default is not used */
	bool sweep_only;
	struct item *plan;
	size_t np;
	long repeat;
	uint64_t bytes;
	const char *rate;
	bool dry;
	char id[64];                 /* runs.bench_id: DATE-TIME-PID */
	char out[2048];              /* the results folder */
	char db[2100], captures[2100], report[2100];
	const char *db_opt, *report_opt; /* --db, --report: instead of the folder's */
};

static volatile sig_atomic_t stop_sig;
static volatile pid_t child_pid;

static void on_signal(int s)
{
	stop_sig = s;
	if (child_pid > 0)
		kill(child_pid, SIGINT);
}

static void usage(FILE *f)
{
	char names[128];
	fprintf(f,
		"usage: lrokit bench [--profile quick|paper] [--configs LIST] [--repeat N]\n"
		"                    [--bytes SIZE] [--rate RATE|none] [--model KEY=VALUE]...\n"
		"                    [--sweep KEY=V1,V2,...|none]... [--sweep-only] [--out DIR]\n"
		"                    [--db FILE] [--report DIR]\n"
		"                    [--dry-run] [-q]\n"
		"       lrokit bench --hosts FILE ...   (real machines over ssh; --hosts --help)\n"
		"\n"
		"Runs every configuration (%s)\n"
		"REPEAT times with `lrokit run` and writes one results folder (default\n"
		"results/DATE-TIME-PID): lrokit.db, captures/ and report/. Needs root.\n"
		"\n"
		"  --profile quick  %s (default)\n"
		"  --profile paper  %s\n"
		"  --configs LIST   comma-separated configurations of the base runs and of each\n"
		"                   sweep (default: all for the base runs, xen,lro-phys,lro-virt\n"
		"                   for a sweep)\n"
		"  --model K=V      a model parameter for every run, on top of the profile\n"
		"                   (repeatable; `lrokit run --help` lists the parameters)\n"
		"  --sweep K=V1,... run the sweep's configurations at each value of one model\n"
		"                   parameter (repeatable, one report figure each); replaces the\n"
		"                   profile's sweep; --sweep none: no sweep\n"
		"  --sweep-only     only the sweeps, no base runs\n"
		"  --out DIR        the results folder\n"
		"  --db FILE        the database instead of the folder's lrokit.db (kept from\n"
		"                   before results folders: scripts that pass it still work)\n"
		"  --report DIR     the report's folder instead of the folder's report/\n"
		"  --dry-run        print the plan (with the disk it needs) and exit\n"
		"\n"
		"Checks first, one line per missing piece (exit 3): root, network namespaces,\n"
		"TAP devices, a live capture (libpcap, CAP_NET_RAW), ip/tc/ethtool, gnuplot;\n"
		"then that the folder's file system has room for the plan (exit 1).\n"
		"Progress on stderr: phase (setup, transfer, teardown, ingest, report),\n"
		"configuration, repeat, the current run's goodput, ETA; redrawn in place on a\n"
		"terminal, one line per phase otherwise, none with -q.\n"
		"\n"
		"Ctrl-C stops the current run (marked aborted, testbed torn down); finished\n"
		"runs are kept and reported. Exit: 0 all runs ok, 1 some run failed or no\n"
		"room, 2 usage, 3 missing privilege or feature (one line per missing piece).\n",
		lk_config_list(names, sizeof names, ", "), profiles[0].what, profiles[1].what);
}

/* ---- the plan ---- */

static int parse_configs(struct bench *b, const char *list)
{
	char buf[512], names[128];
	snprintf(buf, sizeof buf, "%s", list);
	for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
		const struct lk_config *c = lk_config_find(t);
		if (!c)
			return cli_usage_err("bench: unknown configuration '%s' (%s)", t,
					     lk_config_list(names, sizeof names, ", "));
		if (c->hosts_only) {
			cli_err("bench: %s %s", c->name, LK_CONFIG_HOSTS_ONLY_WHY);
			return LK_EXIT_USAGE;
		}
		if (b->nconf < LK_NCONFIGS)
			b->configs[b->nconf++] = c;
	}
	return 0;
}

/* --sweep KEY=V1,V2,... (or "none") */
static int parse_sweep(struct bench *b, const char *arg)
{
	b->sweep_set = true;
	if (!strcmp(arg, "none")) {
		b->nsweep = 0;
		return 0;
	}
	const char *eq = strchr(arg, '=');
	char key[64];
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof key)
		return cli_usage_err("bench: --sweep wants KEY=V1,V2,..., not '%s'", arg);
	snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
	int k = lk_model_find(key);
	if (k < 0)
		return cli_usage_err("bench: --sweep: unknown model parameter '%s' (lrokit run --help "
				     "lists them)", key);
	if (b->nsweep == MAX_SWEEPS)
		return cli_usage_err("bench: at most %d sweeps", MAX_SWEEPS);
	for (size_t i = 0; i < b->nsweep; i++)
		if (b->sweeps[i].key == k)
			return cli_usage_err("bench: %s is swept twice", key);
	struct sweep *sw = &b->sweeps[b->nsweep];
	memset(sw, 0, sizeof *sw);
	sw->key = k;
	double seen[MAX_SWEEP_VALUES];
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", eq + 1);
	for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
		struct lk_err e = {0};
		struct lk_model m;
		lk_model_defaults(&m);
		if (sw->n == MAX_SWEEP_VALUES)
			return cli_usage_err("bench: --sweep %s: at most %d values", key,
					     MAX_SWEEP_VALUES);
		if (lk_model_parse_value(k, t, &seen[sw->n], &e) < 0 ||
		    lk_model_set(&m, key, seen[sw->n], "sweep", &e) < 0)
			return cli_usage_err("bench: --sweep: %s", e.msg);
		for (int i = 0; i < sw->n; i++)
			if (seen[i] == seen[sw->n])
				return cli_usage_err("bench: --sweep %s: value %s given twice", key, t);
		lk_model_format_kv(&m, k, sw->arg[sw->n], sizeof sw->arg[sw->n]);
		sw->n++;
	}
	if (sw->n < 2)
		return cli_usage_err("bench: --sweep %s: give at least two values", key);
	b->nsweep++;
	return 0;
}

/* The model of one run (profile, --model, the sweep point) must be
 * consistent (lk_model_check); a swept key must not also be fixed. */
static int check_models(struct bench *b)
{
	struct lk_err e = {0};
	struct lk_model m;
	lk_model_defaults(&m);
	if (lk_model_profile(&m, b->pf->name, &e) < 0)
		return cli_usage_err("bench: %s", e.msg);
	for (size_t i = 0; i < b->nmodel; i++)
		if (lk_model_parse_kv(&m, b->model[i], "cli", &e) < 0)
			return cli_usage_err("bench: --model: %s", e.msg);
	if (!b->sweep_only && lk_model_check(&m, &e) < 0)
		return cli_usage_err("bench: %s", e.msg);
	for (size_t s = 0; s < b->nsweep; s++) {
		const struct sweep *sw = &b->sweeps[s];
		if (strcmp(m.origin[sw->key], "profile"))
			return cli_usage_err("bench: %s is both swept and set with --model",
					     lk_model_params(NULL)[sw->key].key);
		for (int v = 0; v < sw->n; v++) {
			struct lk_model p = m;
			if (lk_model_parse_kv(&p, sw->arg[v], "sweep", &e) < 0 ||
			    lk_model_check(&p, &e) < 0)
				return cli_usage_err("bench: --sweep %s: %s", sw->arg[v], e.msg);
		}
	}
	return 0;
}

static int add_item(struct bench *b, const struct lk_config *c, int sweep, int point, long rep)
{
	struct item *n = realloc(b->plan, (b->np + 1) * sizeof *n);
	if (!n) {
		cli_err("bench: out of memory");
		return LK_EXIT_RUNTIME;
	}
	b->plan = n;
	struct item *it = &b->plan[b->np++];
	*it = (struct item){.cfg = c, .sweep = sweep, .point = point, .rep = rep};
	if (sweep < 0)
		snprintf(it->label, sizeof it->label, "%s", c->name);
	else
		snprintf(it->label, sizeof it->label, "%s %s", c->name, b->sweeps[sweep].arg[point]);
	return 0;
}

/* Every run, repeats interleaved (drift on a shared machine hits all
 * configurations and sweep points alike): per repeat the base runs, then
 * each sweep's points. */
static int make_plan(struct bench *b)
{
	const struct lk_config *base[LK_NCONFIGS], *swc[LK_NCONFIGS];
	size_t nb = 0, ns = 0;
	for (size_t i = 0; i < (b->nconf ? b->nconf : LK_NCONFIGS); i++)
		if (b->nconf || !lk_configs[i].hosts_only)
			base[nb++] = b->nconf ? b->configs[i] : &lk_configs[i];
	for (size_t i = 0; i < (b->nconf ? b->nconf : 3); i++)
		swc[ns++] = b->nconf ? b->configs[i] : lk_config_find(sweep_configs[i]);
	int rc = 0;
	for (long r = 1; r <= b->repeat && !rc; r++) {
		for (size_t i = 0; i < nb && !b->sweep_only && !rc; i++)
			rc = add_item(b, base[i], -1, 0, r);
		for (size_t s = 0; s < b->nsweep && !rc; s++)
			for (int v = 0; v < b->sweeps[s].n && !rc; v++)
				for (size_t i = 0; i < ns && !rc; i++)
					rc = add_item(b, swc[i], (int)s, v, r);
	}
	if (!rc && !b->np)
		return cli_usage_err("bench: --sweep-only without a sweep: nothing to run");
	return rc;
}

enum { O_MODEL = 256, O_SWEEP, O_SWEEP_ONLY, O_DB, O_REPORT };

/* The options as given; the defaults and the plan come after. */
static int parse_opts(int argc, char **argv, struct bench *b, const char **out)
{
	static const struct option lo[] = {
		{"profile", required_argument, NULL, 'p'}, {"configs", required_argument, NULL, 'c'},
		{"repeat", required_argument, NULL, 'r'}, {"bytes", required_argument, NULL, 'b'},
		{"rate", required_argument, NULL, 'R'}, {"out", required_argument, NULL, 'o'},
		{"model", required_argument, NULL, O_MODEL}, {"sweep", required_argument, NULL, O_SWEEP},
		{"sweep-only", no_argument, NULL, O_SWEEP_ONLY},
		{"db", required_argument, NULL, O_DB}, {"report", required_argument, NULL, O_REPORT},
		{"dry-run", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'}, {0, 0, 0, 0}};
	uint64_t bps;
	int c, rc;
	while ((c = getopt_long(argc, argv, "p:c:r:b:R:o:nhq", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			b->pf = NULL;
			for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
				if (!strcmp(optarg, profiles[i].name))
					b->pf = &profiles[i];
			if (!b->pf)
				return cli_usage_err("bench: unknown profile '%s' (quick, paper)", optarg);
			break;
		case 'c':
			if ((rc = parse_configs(b, optarg)))
				return rc;
			break;
		case 'r':
			if ((rc = cli_parse_repeat(optarg, &b->repeat)))
				return rc;
			break;
		case 'b':
			if ((rc = cli_parse_bytes(optarg, &b->bytes)))
				return rc;
			break;
		case 'R':
			if (strcmp(optarg, "none") && cli_parse_rate(optarg, &bps) < 0)
				return cli_usage_err("bench: bad --rate '%s' (e.g. 1gbit, 500M, none)", optarg);
			b->rate = optarg;
			break;
		case O_DB: b->db_opt = optarg; break;
		case O_REPORT: b->report_opt = optarg; break;
		case O_MODEL:
			if (b->nmodel == MAX_MODEL_ARGS)
				return cli_usage_err("bench: at most %d --model options", MAX_MODEL_ARGS);
			b->model[b->nmodel++] = optarg;
			break;
		case O_SWEEP:
			if ((rc = parse_sweep(b, optarg)))
				return rc;
			break;
		case O_SWEEP_ONLY: b->sweep_only = true; break;
		case 'o': *out = optarg; break;
		case 'n': b->dry = true; break;
		case 'q': cli_quiet = true; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_err("bench: unexpected argument '%s'", argv[optind]);
	return 0;
}

static int parse_args(int argc, char **argv, struct bench *b)
{
	const char *out = NULL;
	b->pf = &profiles[0];
	b->repeat = -1;
	int rc = parse_opts(argc, argv, b, &out);
	if (rc)
		return rc;
	if (b->repeat < 0)
		b->repeat = b->pf->repeat;
	if (!b->bytes)
		b->bytes = b->pf->bytes;
	if (!b->rate)
		b->rate = b->pf->rate;
	if (!b->sweep_set && b->pf->sweep && (rc = parse_sweep(b, b->pf->sweep)))
		return rc;
	if ((rc = check_models(b)) || (rc = make_plan(b)))
		return rc;
	cli_bench_id(b->id, sizeof b->id);
	if (out)
		snprintf(b->out, sizeof b->out, "%s", out);
	else
		snprintf(b->out, sizeof b->out, "results/%s", b->id);
	snprintf(b->db, sizeof b->db, "%s/lrokit.db", b->out);
	snprintf(b->captures, sizeof b->captures, "%s/captures", b->out);
	snprintf(b->report, sizeof b->report, "%s/report", b->out);
	if (b->db_opt)
		snprintf(b->db, sizeof b->db, "%s", b->db_opt);
	if (b->report_opt)
		snprintf(b->report, sizeof b->report, "%s", b->report_opt);
	return 0;
}

/* The argv of `lrokit run` for one item of the plan (NULL-terminated;
 * bytes: room for the number). */
#define RUN_ARGV_MAX (24 + 2 * MAX_MODEL_ARGS)
static void run_argv(const struct bench *b, const struct item *it, char *bytes, size_t nbytes,
		     char *av[RUN_ARGV_MAX])
{
	size_t n = 0;
	snprintf(bytes, nbytes, "%" PRIu64, b->bytes);
	av[n++] = "lrokit";
	av[n++] = "run";
	av[n++] = (char *)it->cfg->name;
	av[n++] = "--bytes";
	av[n++] = bytes;
	if (strcmp(b->rate, "none")) {
		av[n++] = "--rate";
		av[n++] = (char *)b->rate;
	}
	av[n++] = "--profile";
	av[n++] = (char *)b->pf->name;
	for (size_t i = 0; i < b->nmodel; i++) {
		av[n++] = "--model";
		av[n++] = (char *)b->model[i];
	}
	if (it->sweep >= 0) {
		av[n++] = "--sweep";
		av[n++] = (char *)b->sweeps[it->sweep].arg[it->point];
	}
	av[n++] = "--db";
	av[n++] = (char *)b->db;
	av[n++] = "--capture";
	av[n++] = (char *)b->captures;
	av[n++] = "-q";
	av[n] = NULL;
}

/* Disk the plan needs: every run's captures and rows (lk_run_disk_estimate),
 * plus the report. */
static uint64_t disk_need(const struct bench *b)
{
	return (uint64_t)b->np * lk_run_disk_estimate(b->bytes) + REPORT_BYTES;
}

/* Free bytes on the file system that will hold dir (its nearest existing
 * ancestor); -1 unknown. */
static double disk_free(const char *dir)
{
	char p[2048];
	snprintf(p, sizeof p, "%s", dir);
	struct statvfs vf;
	while (statvfs(p, &vf) < 0) {
		char *slash = strrchr(p, '/');
		if (errno != ENOENT || !p[0] || !strcmp(p, "."))
			return -1;
		if (slash && slash != p)
			*slash = 0;
		else if (slash)
			p[1] = 0;
		else
			snprintf(p, sizeof p, ".");
	}
	return (double)vf.f_bavail * (double)vf.f_frsize;
}

static void print_plan(const struct bench *b)
{
	size_t nbase = 0;
	for (size_t i = 0; i < b->np; i++)
		nbase += b->plan[i].sweep < 0;
	printf("profile %s: %zu runs (%zu base, %zu in sweeps) x %" PRIu64 " bytes, rate %s, "
	       "%ld repeats\n", b->pf->name, b->np, nbase, b->np - nbase, b->bytes, b->rate,
	       b->repeat);
	printf("model: profile %s", b->pf->name);
	for (size_t i = 0; i < b->nmodel; i++)
		printf(", %s", b->model[i]);
	printf("\n");
	for (size_t s = 0; s < b->nsweep; s++) {
		const struct sweep *sw = &b->sweeps[s];
		printf("sweep %s:", lk_model_params(NULL)[sw->key].key);
		for (int v = 0; v < sw->n; v++)
			printf(" %s", strchr(sw->arg[v], '=') + 1);
		printf(" (%s)\n", lk_model_params(NULL)[sw->key].unit);
	}
	printf("results %s: lrokit.db, captures/, report/report.html\n", b->out);
	double per_gib = (double)lk_run_disk_estimate(1ull << 30), fr = disk_free(b->out);
	printf("disk: about %.1f GB (at most %.0f MB per GiB moved: two captures of every segment "
	       "at snaplen %d and their database rows; %.0f MB for the report); free there: ",
	       (double)disk_need(b) / 1e9, per_gib / 1e6, LK_RUN_SNAPLEN, (double)REPORT_BYTES / 1e6);
	if (fr >= 0)
		printf("%.1f GB\n", fr / 1e9);
	else
		printf("unknown\n");
	for (size_t i = 0; i < b->np; i++) {
		char bytes[32], *av[RUN_ARGV_MAX];
		run_argv(b, &b->plan[i], bytes, sizeof bytes, av);
		printf("  run %-3zu", i + 1);
		for (size_t k = 0; av[k]; k++)
			printf(" %s", av[k]);
		printf("\n");
	}
	printf("  then: lrokit report --db %s -o %s\n", b->db, b->report);
}

/* ---- preflight ---- */

/* Can we open a live capture (what the run's collectors do)? libpcap on lo:
 * needs CAP_NET_RAW and AF_PACKET. */
static int probe_capture(char *why, size_t n)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create("lo", eb);
	if (!p) {
		snprintf(why, n, "%s", eb);
		return -1;
	}
	pcap_set_snaplen(p, 96);
	pcap_set_timeout(p, 10);
	pcap_set_buffer_size(p, 1 << 16);
	int rc = pcap_activate(p);
	if (rc < 0)
		snprintf(why, n, "%s%s", pcap_statustostr(rc),
			 rc == PCAP_ERROR_PERM_DENIED ? " (needs CAP_NET_RAW)" : "");
	if (rc < 0 && rc != PCAP_ERROR_PERM_DENIED && *pcap_geterr(p))
		snprintf(why, n, "%s", pcap_geterr(p));
	pcap_close(p);
	return rc < 0 ? -1 : 0;
}

/* One line per missing piece; returns the number missing. */
static int preflight(void)
{
	int missing = 0;
	if (cli_need_root("bench") != 0)
		return 1; /* one line: everything below follows from it */
	if (access("/proc/self/ns/net", R_OK) != 0) {
		cli_err("bench: network namespaces not available (/proc/self/ns/net)");
		missing++;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		cli_err("bench: TAP devices not available: /dev/net/tun: %s", strerror(errno));
		missing++;
	} else {
		close(fd);
	}
	char ns[64], path[4096];
	snprintf(ns, sizeof ns, "lkbench-preflight-%d", (int)getpid());
	if (lk_cmdl(NULL, "ip", "netns", "add", ns, (char *)NULL) < 0 ||
	    lk_cmdl(NULL, "ip", "netns", "del", ns, (char *)NULL) < 0) {
		cli_err("bench: cannot create network namespaces (ip netns add failed)");
		missing++;
	}
	for (const char *const *t = (const char *const[]){"ip", "tc", "ethtool", NULL}; *t; t++)
		if (lk_which(*t, path, sizeof path) < 0) {
			cli_err("bench: '%s' not found (package %s)", *t,
				!strcmp(*t, "ethtool") ? "ethtool" : "iproute2");
			missing++;
		}
	char why[PCAP_ERRBUF_SIZE + 64];
	if (probe_capture(why, sizeof why) < 0) {
		cli_err("bench: cannot open a live packet capture (libpcap on lo: %s): the runs' "
			"captures need it", why);
		missing++;
	}
	struct lk_err e = {0};
	if (lk_gp_find(path, sizeof path, &e) < 0 || lk_gp_check(path, &e) < 0) {
		cli_err("bench: %s", e.msg);
		missing++;
	}
	return missing;
}

/* Room for the plan where the results go; one line and LK_EXIT_RUNTIME if not. */
static int check_disk(const struct bench *b)
{
	double fr = disk_free(b->out), need = (double)disk_need(b);
	if (fr < 0 || fr >= need)
		return 0;
	cli_err("bench: not enough disk space for %s: the plan needs about %.1f GB, %.1f GB free "
		"(see --dry-run; fewer runs, smaller --bytes or --out elsewhere)", b->out, need / 1e9,
		fr / 1e9);
	return LK_EXIT_RUNTIME;
}

static int make_dirs(const struct bench *b)
{
	if (lk_mkdirs(b->out, NULL) < 0 || lk_mkdirs(b->captures, NULL) < 0) {
		cli_err("bench: cannot make %s: %s", b->captures, strerror(errno));
		return LK_EXIT_RUNTIME;
	}
	return 0;
}

/* ---- the progress line ---- */
struct progress_line {
	bool on, tty;
	size_t total, done, run_no;
	const char *config;
	long rep, repeat;
	uint64_t bytes_per_run;
	char phase[16], printed[48]; /* printed: "run N phase" of the last non-tty line */
	double t0, run_t0, xfer_t;   /* bench start, current run start, transfer elapsed (s) */
	long long xfer_bytes;        /* -1: no transfer reading yet */
	double finished_s;           /* sum of the durations of finished runs */
	double last_draw;
};

static double now_s(void)
{
	return (double)lk_mono_ns() / 1e9;
}

static void fmt_dur(char *b, size_t n, double s)
{
	if (s < 0)
		s = 0;
	if (s < 90)
		snprintf(b, n, "%.0fs", s);
	else if (s < 3600)
		snprintf(b, n, "%.0fm%02.0fs", (double)(long)(s / 60), s - 60 * (double)(long)(s / 60));
	else
		snprintf(b, n, "%.0fh%02.0fm", (double)(long)(s / 3600),
			 (double)(long)(s / 60) - 60 * (double)(long)(s / 3600));
}

/* Seconds left, -1 unknown; *approx when only a lower bound. */
static double progress_eta(const struct progress_line *p, double now, double gp, bool *approx)
{
	double in_run = now - p->run_t0;
	*approx = false;
	if (!strcmp(p->phase, "report"))
		return -1;
	if (p->done > 0) {
		double eta = p->finished_s / (double)p->done * (double)(p->total - p->done) - in_run;
		return eta < 0 ? 0 : eta;
	}
	if (gp <= 0)
		return -1;
	/* first run: from its transfer rate so far (setup, teardown and ingest
	 * of the later runs not counted: a lower bound) */
	double left = ((double)p->bytes_per_run - (double)p->xfer_bytes) * 8 / gp;
	if (left < 0)
		left = 0;
	*approx = true;
	return left + (double)(p->total - 1) * (in_run + left);
}

static void progress_draw(struct progress_line *p, bool force)
{
	if (!p->on)
		return;
	double now = now_s();
	if (!p->tty) {
		/* one line per phase change */
		char key[48];
		snprintf(key, sizeof key, "%zu %s", p->run_no, p->phase);
		if (!strcmp(key, p->printed))
			return;
		snprintf(p->printed, sizeof p->printed, "%s", key);
	} else if (!force && now - p->last_draw < 0.25) {
		return;
	}
	p->last_draw = now;
	double gp = p->xfer_bytes > 0 && p->xfer_t > 0 ? (double)p->xfer_bytes * 8 / p->xfer_t : -1;
	bool approx;
	double eta = progress_eta(p, now, gp, &approx);
	char el[32], et[32] = "?", what[96] = "";
	fmt_dur(el, sizeof el, now - p->t0);
	if (eta >= 0)
		fmt_dur(et, sizeof et, eta);
	if (gp > 0)
		snprintf(what, sizeof what, "  %.2f Gbit/s (%.0f MB)", gp / 1e9,
			 (double)p->xfer_bytes / 1e6);
	if (!strcmp(p->phase, "report"))
		fprintf(stderr, "%sbench: %zu/%zu runs done  report  elapsed %s%s", p->tty ? "\r\033[K" : "",
			p->done, p->total, el, p->tty ? "" : "\n");
	else
		fprintf(stderr, "%sbench: run %zu/%zu  %s  repeat %ld/%ld  %-8s%s  elapsed %s  ETA %s%s%s",
			p->tty ? "\r\033[K" : "", p->run_no, p->total, p->config, p->rep, p->repeat,
			p->phase, what, el, approx ? ">" : "", et, p->tty ? "" : "\n");
	fflush(stderr);
}

/* One progress report of the child (testbed/progress.h). */
static void on_progress(void *ctx, const struct lk_progress *m)
{
	struct progress_line *p = ctx;
	if (m->bytes >= 0) {
		p->xfer_bytes = m->bytes;
		p->xfer_t = (double)m->elapsed_ns / 1e9;
	}
	bool changed = strcmp(p->phase, m->phase) != 0;
	snprintf(p->phase, sizeof p->phase, "%s", m->phase);
	progress_draw(p, changed);
}

/* ---- the runs ---- */

/* Wait for pid while reading its progress pipe (fd, -1 none). */
static int wait_reporting(pid_t pid, int fd, struct progress_line *p)
{
	struct lk_progress_reader rd = {.have = 0};
	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, fd >= 0 ? WNOHANG : 0);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (fd < 0)
			continue;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 250) > 0) {
			char buf[4096];
			ssize_t got = read(fd, buf, sizeof buf);
			if (got > 0)
				lk_progress_feed(&rd, buf, (size_t)got, on_progress, p);
			else if (got == 0 || (errno != EINTR && errno != EAGAIN))
				fd = -1; /* EOF: just wait */
		}
		progress_draw(p, false); /* the clock moves on */
	}
	return st;
}

/* Run our own binary with argv (argv[0] "lrokit"); returns the exit status
 * (128 + signal when killed). With p, the child reports its progress through
 * a pipe; quiet: its stdout goes to /dev/null. */
static int run_child(char *const argv[], pid_t *pid_out, struct progress_line *p, bool quiet)
{
	char exe[4096], num[16];
	struct lk_err e = {0};
	int pfd[2] = {-1, -1};
	if (lk_self_exe(exe, sizeof exe, &e) < 0 || (p && pipe2(pfd, O_CLOEXEC) < 0))
		return -1;
	snprintf(num, sizeof num, "%d", pfd[1]);
	/* exec the binary by its real path: the child's comm must be "lrokit"
	 * (not "exe"), or a concurrent `lrokit run` would take its testbed for
	 * a dead run's leftovers (testbed.c run_alive) */
	struct lk_spawn_opts so = {.exe = exe, .cpu = -1, .stdout_path = quiet ? "" : NULL,
				   .keep_fds = &pfd[1], .n_keep = pfd[1] >= 0,
				   .env_name = p ? LK_PROGRESS_ENV : NULL, .env_value = num};
	pid_t pid = lk_spawn(argv, &so, &e);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (pid < 0) {
		if (pfd[0] >= 0)
			close(pfd[0]);
		return -1;
	}
	child_pid = pid;
	if (pid_out)
		*pid_out = pid;
	int st = wait_reporting(pid, pfd[0], p);
	if (pfd[0] >= 0)
		close(pfd[0]);
	child_pid = 0;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* The newest run row made by process `pid`; tags it with bench id/repeat. */
static int64_t tag_run(sqlite3 *db, pid_t pid, const char *bench_id, unsigned rep,
		       double *goodput, char *status, size_t slen)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	if (sqlite3_prepare_v2(db, "SELECT run_id, coalesce(goodput_bps, 0), status FROM runs"
			       " WHERE pid=? ORDER BY run_id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, pid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		*goodput = sqlite3_column_double(st, 1);
		snprintf(status, slen, "%s", (const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	if (id > 0 && sqlite3_prepare_v2(db, "UPDATE runs SET bench_id=?, repeat=? WHERE run_id=?",
					 -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, bench_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)rep);
		sqlite3_bind_int64(st, 3, id);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	return id;
}

/* One run of the plan; returns false when it failed. */
static bool bench_one(const struct bench *b, sqlite3 *db, struct progress_line *pr,
		      const struct item *it)
{
	pr->run_no = pr->done + 1;
	pr->config = it->label;
	pr->rep = it->rep;
	pr->run_t0 = now_s();
	pr->xfer_bytes = -1;
	pr->xfer_t = 0;
	snprintf(pr->phase, sizeof pr->phase, "setup");
	progress_draw(pr, true);
	char bytes[32], *av[RUN_ARGV_MAX];
	run_argv(b, it, bytes, sizeof bytes, av);
	pid_t pid = 0;
	/* the run's result line: bench prints its own from the database */
	int st = run_child(av, &pid, pr, true);
	double gp = 0;
	char status[32] = "missing";
	int64_t id = tag_run(db, pid, b->id, (unsigned)it->rep, &gp, status, sizeof status);
	pr->done++;
	pr->finished_s += now_s() - pr->run_t0;
	if (pr->tty)
		fputs("\r\033[K", stderr);
	if (st == 0 && !strcmp(status, "ok")) {
		if (pr->on)
			fprintf(stderr, "bench: run %zu/%zu  %s  repeat %ld/%ld  ok: run %" PRId64
				", %.3f Gbit/s\n", pr->done, pr->total, it->label, it->rep, b->repeat, id,
				gp / 1e9);
		return true;
	}
	if (!stop_sig)
		cli_warn("bench: run of %s (repeat %ld) %s (exit %d)%s", it->label, it->rep,
			 id ? status : "left no run record", st,
			 st == LK_EXIT_MISSING ? ": missing privilege or feature" : "");
	if (st == LK_EXIT_MISSING)
		stop_sig = -1; /* no point going on */
	return false;
}

/* Every run of the plan; returns the number that failed, -1 when the
 * database cannot be opened. */
static long bench_all(const struct bench *b, struct progress_line *pr)
{
	struct lk_err e = {0};
	sqlite3 *db;
	if (lk_db_open(b->db, &db, &e) < 0) {
		cli_err("%s", e.msg);
		return -1;
	}
	lk_db_reap_stale_runs(db, NULL);
	long failed = 0;
	for (size_t i = 0; i < b->np && !stop_sig; i++)
		failed += !bench_one(b, db, pr, &b->plan[i]);
	lk_db_close(db);
	return failed;
}

/* The bench's captures, once ingested and reported, are kept
 * zstd-compressed (about 4x smaller; `lrokit analyze` reads .pcap.zst by its
 * content): `zstd --rm` on each, and captures.path follows the file. */
static void compress_captures(const struct bench *b)
{
	char zstd[256];
	if (lk_which("zstd", zstd, sizeof zstd) < 0) {
		cli_warn("bench: zstd not found: captures kept uncompressed in %s", b->captures);
		return;
	}
	struct lk_err e = {0};
	sqlite3 *db;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	if (lk_db_open(b->db, &db, &e) < 0) {
		cli_warn("bench: captures kept uncompressed: %s", e.msg);
		return;
	}
	if (sqlite3_prepare_v2(db, "SELECT c.capture_id, c.path FROM captures c JOIN runs r USING (run_id) "
			       "WHERE r.bench_id = ? AND c.path NOT LIKE '%.zst'", -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE captures SET path = ? WHERE capture_id = ?", -1, &upd,
			       NULL) != SQLITE_OK) {
		cli_warn("bench: captures kept uncompressed: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(sel, 1, b->id, -1, SQLITE_STATIC);
	while (sqlite3_step(sel) == SQLITE_ROW) {
		char path[4096], zpath[4100];
		snprintf(path, sizeof path, "%s", (const char *)sqlite3_column_text(sel, 1));
		snprintf(zpath, sizeof zpath, "%s.zst", path);
		const char *av[] = {"zstd", "-q", "-f", "--rm", "-T0", path, NULL};
		if (lk_cmd(&e, av) < 0) {
			cli_warn("bench: %s kept uncompressed: %s", path, e.msg);
			continue;
		}
		sqlite3_bind_text(upd, 1, zpath, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 0));
		if (sqlite3_step(upd) != SQLITE_DONE)
			cli_warn("bench: %s: captures.path not updated: %s", zpath, sqlite3_errmsg(db));
		sqlite3_reset(upd);
	}
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	lk_db_close(db);
}

/* Runs the plan, then the report. */
static int bench_main(const struct bench *b)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct progress_line pr = {.on = !cli_quiet, .tty = isatty(2) && !cli_quiet, .total = b->np,
			      .repeat = b->repeat, .bytes_per_run = b->bytes, .t0 = now_s()};
	long failed = bench_all(b, &pr);
	if (failed < 0)
		return LK_EXIT_RUNTIME;
	size_t done = pr.done;
	if (stop_sig > 0)
		cli_warn("bench: interrupted; %zu of %zu runs done (%ld failed/aborted), building the "
			 "report from the finished runs", done - (size_t)failed, b->np, failed);
	/* analysis happens as each run ingests its captures; now the report */
	snprintf(pr.phase, sizeof pr.phase, "report");
	pr.run_no = 0;
	progress_draw(&pr, true);
	if (pr.tty)
		fputc('\n', stderr);
	char *rav[] = {"lrokit", "report", "--db", (char *)b->db, "-o", (char *)b->report, NULL};
	signal(SIGINT, SIG_DFL);
	int rst = run_child(rav, NULL, NULL, false);
	if (rst != 0) {
		cli_err("bench: report failed (exit %d); the runs are in %s", rst, b->db);
		return LK_EXIT_RUNTIME;
	}
	compress_captures(b);
	printf("bench %s: %zu runs ok, %ld failed or aborted; results in %s (report %s/report.html)\n",
	       b->id, done - (size_t)failed, failed, b->out, b->report);
	if (stop_sig > 0)
		return 130;
	return failed ? LK_EXIT_RUNTIME : 0;
}

int cmd_bench(int argc, char **argv)
{
	/* on real machines over ssh: cli/cmd_bench_hosts.c */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--hosts") || !strncmp(argv[i], "--hosts=", 8))
			return cmd_bench_hosts(argc, argv);
	struct bench b;
	memset(&b, 0, sizeof b);
	int rc = parse_args(argc, argv, &b);
	if (!rc && b.dry)
		print_plan(&b);
	if (rc || b.dry) {
		free(b.plan);
		return rc < 0 ? 0 : rc;
	}
	rc = preflight() > 0 ? LK_EXIT_MISSING : check_disk(&b);
	if (!rc && !(rc = make_dirs(&b)))
		rc = bench_main(&b);
	free(b.plan);
	return rc;
}
