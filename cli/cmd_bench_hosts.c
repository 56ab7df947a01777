/* lrokit bench --hosts FILE: the benchmark between real machines (or on a
 * real Xen host) over ssh: testbed/hosts.h (the file), testbed/hostrun.h
 * (configurations, the hosts' check, one run), testbed/remote.h (ssh, the
 * offloads put back, the journal of pending restores). Same results folder,
 * database and report as `lrokit bench`. */
#include "cli/commands.h"
#include "lib/err.h"
#include "lib/file.h"
#include "lib/proc.h"
#include "testbed/hostrun.h"
#include "testbed/hosts.h"
#include "testbed/remote.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_sig;

static void on_signal(int s)
{
	stop_sig = s;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lrokit bench --hosts FILE [--configs LIST] [--repeat N] [--bytes SIZE]\n"
		"                    [--out DIR] [--db FILE] [--report DIR] [--port PORT]\n"
		"                    [--timeout SEC] [--journal FILE] [--dry-run] [-q]\n"
		"\n"
		"Runs the benchmark between the machines of the host file (README: \"Two\n"
		"machines\", \"Xen host\") over ssh: each host is checked first (lrokit --version,\n"
		"root or CAP_NET_ADMIN+CAP_NET_RAW, the interface), its kernel, CPU, NIC driver\n"
		"and ethtool -k/-c/-g are recorded; each configuration sets the receive\n"
		"offloads with ethtool -K and puts them back afterwards (also on failure and\n"
		"Ctrl-C), captures with tcpdump on the hosts (streamed back over ssh), runs\n"
		"`lrokit collect`, `lrokit recv` and `lrokit send` there, and stores and\n"
		"analyzes everything in the local results folder, then builds the report.\n"
		"\n"
		"  --configs LIST   plain hosts: native,native-gro,native-lro (default: all;\n"
		"                   native-lro only where LRO is not [fixed]); Xen host:\n"
		"                   xen,lro-phys,lro-virt\n"
		"  --repeat N       repeats (default 3)      --bytes SIZE  per run (default 1G)\n"
		"  --out DIR        the results folder (default results/DATE-TIME-PID)\n"
		"  --port PORT      the transfer's TCP port (default 5301)\n"
		"  --timeout SEC    give up on a transfer after SEC seconds (default 600)\n"
		"  --journal FILE   pending offload restores (default\n"
		"                   $XDG_STATE_HOME/lrokit/restore-pending, ~/.local/state/...):\n"
		"                   a run that lost a host writes what it could not put back\n"
		"                   there, and the next bench --hosts puts it back first\n"
		"  --dry-run        print the exact commands each host would run, run nothing\n"
		"\n"
		"A lost ssh connection marks the run aborted. Exit: 0 all runs ok, 1 some run\n"
		"failed or offloads not put back, 2 usage, 3 a host failed its check (one line\n"
		"per problem) or a Xen host file names a dom0 without Xen (one line).\n");
}

struct hb {
	const char *hosts_file, *db_opt, *report_opt, *port, *journal_opt;
	const struct lk_hostcfg *cfg[LK_NHOSTCFGS];
	int ncfg;
	long repeat;
	uint64_t bytes;
	int timeout_s;
	bool dry;
	char id[64], out[2048], db[2100], captures[2100], report[2100], remote_dir[2200],
	     journal[2100];
	struct lk_hosts hosts;
};

static int parse_configs(struct hb *b, const char *list)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
		const struct lk_hostcfg *c = lk_hostcfg_find(t);
		if (!c)
			return cli_usage_err("bench: --hosts: unknown configuration '%s' (native, "
					     "native-gro, native-lro; Xen: xen, lro-phys, lro-virt)", t);
		if (b->ncfg < LK_NHOSTCFGS)
			b->cfg[b->ncfg++] = c;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct hb *b)
{
	enum { O_HOSTS = 256, O_DB, O_REPORT, O_PORT, O_TIMEOUT, O_JOURNAL };
	static const struct option lo[] = {
		{"hosts", required_argument, NULL, O_HOSTS}, {"configs", required_argument, NULL, 'c'},
		{"repeat", required_argument, NULL, 'r'}, {"bytes", required_argument, NULL, 'b'},
		{"out", required_argument, NULL, 'o'}, {"db", required_argument, NULL, O_DB},
		{"report", required_argument, NULL, O_REPORT}, {"port", required_argument, NULL, O_PORT},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"journal", required_argument, NULL, O_JOURNAL},
		{"dry-run", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'}, {0, 0, 0, 0}};
	const char *configs = NULL, *out = NULL;
	char *end;
	int c, rc;
	b->repeat = 3;
	b->bytes = 1ull << 30;
	b->timeout_s = 600;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:r:b:o:nhq", lo, NULL)) != -1) {
		switch (c) {
		case O_HOSTS: b->hosts_file = optarg; break;
		case 'c': configs = optarg; break;
		case 'r':
			if ((rc = cli_parse_repeat(optarg, &b->repeat)))
				return rc;
			break;
		case 'b':
			if ((rc = cli_parse_bytes(optarg, &b->bytes)))
				return rc;
			break;
		case 'o': out = optarg; break;
		case O_DB: b->db_opt = optarg; break;
		case O_REPORT: b->report_opt = optarg; break;
		case O_PORT: b->port = optarg; break;
		case O_TIMEOUT:
			b->timeout_s = (int)strtol(optarg, &end, 10);
			if (*end || b->timeout_s < 1 || b->timeout_s > 86400)
				return cli_usage_err("bench: bad --timeout '%s'", optarg);
			break;
		case O_JOURNAL: b->journal_opt = optarg; break;
		case 'n': b->dry = true; break;
		case 'q': cli_quiet = true; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_err("bench: unexpected argument '%s'", argv[optind]);
	if (!b->hosts_file)
		return cli_usage_err("bench: --hosts FILE missing");
	struct lk_err e = {0};
	if (lk_hosts_load(b->hosts_file, &b->hosts, &e) < 0) {
		cli_err("bench: %s", e.msg);
		return e.code == LK_EXIT_USAGE ? LK_EXIT_USAGE : LK_EXIT_RUNTIME;
	}
	if (configs && (rc = parse_configs(b, configs)))
		return rc;
	if (!configs)
		for (int i = 0; lk_hostcfgs[i].name; i++)
			if (lk_hostcfgs[i].xen == b->hosts.xen)
				b->cfg[b->ncfg++] = &lk_hostcfgs[i];
	for (int i = 0; i < b->ncfg; i++)
		if (b->cfg[i]->xen != b->hosts.xen)
			return cli_usage_err("bench: configuration %s needs %s, and %s describes %s",
					     b->cfg[i]->name, b->cfg[i]->xen ? "a Xen host" : "plain hosts",
					     b->hosts_file, b->hosts.xen ? "a Xen host" : "plain hosts");
	cli_bench_id(b->id, sizeof b->id);
	if (out)
		snprintf(b->out, sizeof b->out, "%s", out);
	else
		snprintf(b->out, sizeof b->out, "results/%s", b->id);
	snprintf(b->db, sizeof b->db, "%s", b->db_opt ? b->db_opt : "");
	if (!b->db_opt)
		snprintf(b->db, sizeof b->db, "%s/lrokit.db", b->out);
	snprintf(b->captures, sizeof b->captures, "%s/captures", b->out);
	snprintf(b->remote_dir, sizeof b->remote_dir, "%s/remote/%s", b->out, b->id);
	if (b->report_opt)
		snprintf(b->report, sizeof b->report, "%s", b->report_opt);
	else
		snprintf(b->report, sizeof b->report, "%s/report", b->out);
	const char *st = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (b->journal_opt)
		snprintf(b->journal, sizeof b->journal, "%s", b->journal_opt);
	else if (st && *st)
		snprintf(b->journal, sizeof b->journal, "%s/lrokit/restore-pending", st);
	else
		snprintf(b->journal, sizeof b->journal, "%s/.local/state/lrokit/restore-pending",
			 home && *home ? home : "/root");
	return 0;
}

/* The journal's folder (made if missing). */
static int journal_dir(const char *journal)
{
	char d[2100];
	snprintf(d, sizeof d, "%s", journal);
	char *slash = strrchr(d, '/');
	if (!slash || slash == d)
		return 0;
	*slash = 0;
	return lk_mkdirs(d, NULL);
}

static void print_dry(struct hb *b, struct lk_remote *r, struct lk_host_facts *facts)
{
	lk_remote_log_begin(r, NULL);
	char why[512];
	if (b->hosts.xen)
		lk_hosts_check_xen(r, why, sizeof why);
	lk_hosts_check(r, facts, why, sizeof why);
	lk_remote_log_end(r);
	printf("bench --hosts %s: %d configuration(s) x %ld repeat(s), %" PRIu64 " bytes each;"
	       " results in %s\ncheck (every run records the answers):\n", b->hosts_file, b->ncfg,
	       b->repeat, b->bytes, b->out);
	for (char *s = NULL, *l = strtok_r(r->text, "\n", &s); l; l = strtok_r(NULL, "\n", &s))
		printf("  %s\n", l);
	for (int i = 0; i < b->ncfg; i++) {
		struct lk_hostrun_opts o = {.cfg = b->cfg[i], .facts = facts, .remote = r,
					    .bytes = b->bytes, .db = b->db, .capture_dir = b->captures,
					    .port = b->port, .timeout_s = b->timeout_s};
		struct lk_hostrun_result res;
		struct lk_err e = {0};
		lk_hostrun(&o, &res, &e);
		printf("%s (%s), each repeat; an ethtool -K runs only where the value differs\n"
		       "from what ethtool -k showed (<saved>); long-running commands are stopped by\n"
		       "closing their ssh session's stdin:\n", b->cfg[i]->name, b->cfg[i]->desc);
		for (char *s = NULL, *l = strtok_r(r->text, "\n", &s); l; l = strtok_r(NULL, "\n", &s))
			printf("  %s\n", l);
	}
	printf("then: lrokit report --db %s -o %s\n", b->db, b->report);
}

/* Put back what earlier runs could not; tries times, 2 s apart. Returns
 * how many remain. */
static int apply_pending(struct lk_remote *r, int tries, const char *when)
{
	int left = 0;
	for (int t = 0; t < tries; t++) {
		int done = 0;
		struct lk_err e = {0};
		left = lk_remote_restore_pending(r, &done, &e);
		if (done)
			fprintf(stderr, "bench: %s: put back %d offload setting(s) left changed by an "
				"interrupted run\n", when, done);
		if (left == 0)
			return 0;
		if (left < 0 || t == tries - 1) {
			cli_err("bench: %s: %d offload setting(s) could not be put back (journal %s): %s",
				when, left < 0 ? 0 : left, r->journal, e.msg);
			return left < 0 ? 1 : left;
		}
		sleep(2);
	}
	return left;
}

static int run_report(const struct hb *b)
{
	char exe[4096];
	struct lk_err e = {0};
	if (lk_self_exe(exe, sizeof exe, &e) < 0)
		return -1;
	char *av[] = {"lrokit", "report", "--db", (char *)b->db, "-o", (char *)b->report,
		      cli_quiet ? "-q" : NULL, NULL};
	struct lk_spawn_opts so = {.exe = exe, .cpu = -1};
	pid_t pid = lk_spawn(av, &so, &e);
	if (pid < 0)
		return -1;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int bench_hosts(struct hb *b, struct lk_remote *r, struct lk_host_facts *facts)
{
	if (journal_dir(b->journal) < 0) {
		cli_err("bench: cannot make the folder of %s: %s", b->journal, strerror(errno));
		return LK_EXIT_RUNTIME;
	}
	if (lk_mkdirs(b->out, NULL) < 0 || lk_mkdirs(b->captures, NULL) < 0 ||
	    lk_mkdirs(b->remote_dir, NULL) < 0) {
		cli_err("bench: cannot make %s: %s", b->remote_dir, strerror(errno));
		return LK_EXIT_RUNTIME;
	}
	if (apply_pending(r, 1, "before the runs"))
		return LK_EXIT_RUNTIME; /* the saved "original" values would be wrong */
	char why[1024];
	struct lk_err e = {0};
	lk_remote_log_begin(r, &e);
	if (b->hosts.xen && lk_hosts_check_xen(r, why, sizeof why) < 0) {
		cli_err("bench: %s", why);
		return LK_EXIT_MISSING;
	}
	char problems[4096];
	int np = lk_hosts_check(r, facts, problems, sizeof problems);
	lk_remote_log_end(r);
	if (np) {
		for (char *s = NULL, *l = strtok_r(problems, "\n", &s); l; l = strtok_r(NULL, "\n", &s))
			cli_err("bench: %s", l);
		return LK_EXIT_MISSING;
	}
	const struct lk_hostcfg *plan[LK_NHOSTCFGS];
	int n = 0;
	for (int i = 0; i < b->ncfg; i++) {
		if (lk_hostcfg_possible(b->cfg[i], facts, false, why, sizeof why))
			plan[n++] = b->cfg[i];
		else
			cli_warn("bench: %s", why);
	}
	size_t total = (size_t)n * (size_t)b->repeat, done = 0, failed = 0;
	for (long rep = 1; rep <= b->repeat && !stop_sig; rep++)
		for (int i = 0; i < n && !stop_sig; i++) {
			struct lk_hostrun_opts o = {.cfg = plan[i], .facts = facts, .remote = r,
						    .bytes = b->bytes, .db = b->db,
						    .capture_dir = b->captures, .cmdline = cli_cmdline,
						    .bench_id = b->id, .hosts_file = b->hosts_file,
						    .repeat = (int)rep, .port = b->port,
						    .timeout_s = b->timeout_s};
			struct lk_hostrun_result res;
			if (!cli_quiet)
				fprintf(stderr, "bench: run %zu/%zu  %s  repeat %ld/%ld ...\n", done + 1,
					total, plan[i]->name, rep, b->repeat);
			if (lk_hostrun(&o, &res, &e) < 0) {
				cli_err("bench: %s", e.msg);
				return LK_EXIT_RUNTIME;
			}
			done++;
			if (res.notes[0])
				cli_warn("bench: run %" PRId64 ": %s", res.run_id, res.notes);
			if (!strcmp(res.status, "ok")) {
				if (!cli_quiet)
					fprintf(stderr, "bench: run %zu/%zu  %s  repeat %ld/%ld  ok: run %" PRId64
						", %.3f Gbit/s, LRO rate %.2f, %d captures\n", done, total,
						plan[i]->name, rep, b->repeat, res.run_id, res.goodput_bps / 1e9,
						res.lro_rate, res.captures);
			} else {
				failed++;
				cli_warn("bench: run %" PRId64 " (%s, repeat %ld) %s: %s", res.run_id,
					 plan[i]->name, rep, res.status, res.error);
			}
			if (r->lost)
				break; /* a host is gone: the next run would fail the same way */
		}
	int left = apply_pending(r, 3, "after the runs");
	if (stop_sig)
		cli_warn("bench: interrupted; building the report from the finished runs");
	int rst = run_report(b);
	if (rst != 0)
		cli_err("bench: report failed (exit %d); the runs are in %s", rst, b->db);
	printf("bench %s: %zu runs ok, %zu failed or aborted; results in %s (report %s/report.html)\n",
	       b->id, done - failed, failed, b->out, b->report);
	if (stop_sig)
		return 130;
	return failed || left || rst ? LK_EXIT_RUNTIME : 0;
}

int cmd_bench_hosts(int argc, char **argv)
{
	static struct hb b;
	static struct lk_host_facts facts[LK_NROLES];
	memset(&b, 0, sizeof b);
	int rc = parse_args(argc, argv, &b);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct lk_remote r = {.hosts = &b.hosts, .dir = b.remote_dir, .journal = b.journal,
			      .dry = b.dry, .stop = &stop_sig};
	if (b.dry) {
		print_dry(&b, &r, facts);
		lk_remote_free(&r);
		return 0;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	rc = bench_hosts(&b, &r, facts);
	lk_remote_free(&r);
	return rc;
}
