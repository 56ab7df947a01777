/* lrokit bench: every configuration x repeats -> database -> report.
 *
 * Each run is its own `lrokit run` child process (so a crash or a kill of
 * one run cannot take the plan down, and each run tears down its own
 * testbed). Ctrl-C/SIGTERM: the current run is told to stop (it marks itself
 * aborted and tears its testbed down), finished runs are kept, the report is
 * still built from them. */
#include "cli/commands.h"
#include "lib/err.h"
#include "schema/db.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const all_configs[] = {"native", "native-gro", "xen", "lro-phys", "lro-virt",
					  "lro-both"};
#define N_ALL (sizeof all_configs / sizeof all_configs[0])

struct profile {
	const char *name;
	unsigned repeat;
	uint64_t bytes;
	const char *rate; /* "none" or a rate */
	const char *what;
};

static const struct profile profiles[] = {
	{"quick", 3, 1ull << 30, "none", "all configurations, 3 repeats, 1 GiB each, no rate limit"},
	{"paper", 3, 10ull << 30, "1gbit",
	 "as in the paper: 10 GiB per run, MTU 1500, 1 Gbit/s wire, 3 repeats"},
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
	fprintf(f,
		"usage: lrokit bench [--profile quick|paper] [--configs LIST] [--repeat N]\n"
		"                    [--bytes SIZE] [--rate RATE|none] [--db FILE] [--report DIR]\n"
		"                    [--dry-run] [-q]\n"
		"\n"
		"Runs every configuration (native, native-gro, xen, lro-phys, lro-virt, lro-both)\n"
		"REPEAT times with `lrokit run`, stores everything in the database (default\n"
		"lrokit.db), then writes the report (default ./report). Needs root.\n"
		"\n"
		"  --profile quick  %s (default)\n"
		"  --profile paper  %s\n"
		"  --configs LIST   comma-separated subset of the configurations\n"
		"  --dry-run        print the plan and exit\n"
		"\n"
		"Ctrl-C stops the current run (marked aborted, testbed torn down); finished\n"
		"runs are kept and reported. Exit: 0 all runs ok, 1 some run failed,\n"
		"2 usage, 3 missing privilege or feature (one line per missing piece).\n",
		profiles[0].what, profiles[1].what);
}

static bool in_path(const char *prog)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
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
	{
		int s = system("ip netns add lkbench-preflight-$$ >/dev/null 2>&1 && "
			       "ip netns del lkbench-preflight-$$ >/dev/null 2>&1");
		if (s != 0) {
			cli_err("bench: cannot create network namespaces (ip netns add failed)");
			missing++;
		}
	}
	for (const char *const *t = (const char *const[]){"ip", "tc", "ethtool", NULL}; *t; t++)
		if (!in_path(*t)) {
			cli_err("bench: '%s' not found (package %s)", *t,
				!strcmp(*t, "ethtool") ? "ethtool" : "iproute2");
			missing++;
		}
	if (!in_path("gnuplot")) {
		cli_err("bench: gnuplot not found (package gnuplot-nox): needed for the report");
		missing++;
	}
	return missing;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Exec ourselves: /proc/self/exe ARGS... ; returns the exit status. */
static int run_child(char *const argv[], int *sig, pid_t *pid_out)
{
	*sig = 0;
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	child_pid = p;
	if (pid_out)
		*pid_out = p;
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	child_pid = 0;
	if (WIFSIGNALED(st)) {
		*sig = WTERMSIG(st);
		return 128 + *sig;
	}
	return WEXITSTATUS(st);
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

int cmd_bench(int argc, char **argv)
{
	static const struct option lo[] = {
		{"profile", required_argument, NULL, 'p'}, {"configs", required_argument, NULL, 'c'},
		{"repeat", required_argument, NULL, 'r'}, {"bytes", required_argument, NULL, 'b'},
		{"rate", required_argument, NULL, 'R'}, {"db", required_argument, NULL, 'd'},
		{"report", required_argument, NULL, 'o'}, {"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'}, {"quiet", no_argument, NULL, 'q'}, {0, 0, 0, 0}};
	const struct profile *pf = &profiles[0];
	const char *configs = NULL, *dbpath = "lrokit.db", *repdir = "report", *rate = NULL;
	long repeat = -1;
	uint64_t bytes = 0;
	bool dry = false;
	int c;
	while ((c = getopt_long(argc, argv, "p:c:r:b:R:d:o:nhq", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			pf = NULL;
			for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
				if (!strcmp(optarg, profiles[i].name))
					pf = &profiles[i];
			if (!pf) {
				cli_err("bench: unknown profile '%s' (quick, paper)", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case 'c': configs = optarg; break;
		case 'r': {
			char *end;
			repeat = strtol(optarg, &end, 10);
			if (*end || repeat < 1 || repeat > 1000) {
				cli_err("bench: --repeat wants a number 1..1000, not '%s'", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		}
		case 'b':
			if (cli_parse_size(optarg, &bytes) < 0 || bytes == 0) {
				cli_err("bench: bad --bytes '%s' (e.g. 64M, 1G)", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case 'R': {
			uint64_t bps;
			if (strcmp(optarg, "none") && cli_parse_rate(optarg, &bps) < 0) {
				cli_err("bench: bad --rate '%s' (e.g. 1gbit, 500M, none)", optarg);
				return LK_EXIT_USAGE;
			}
			rate = optarg;
			break;
		}
		case 'd': dbpath = optarg; break;
		case 'o': repdir = optarg; break;
		case 'n': dry = true; break;
		case 'q': cli_quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("bench: unexpected argument '%s'", argv[optind]);
		return LK_EXIT_USAGE;
	}
	if (repeat < 0)
		repeat = pf->repeat;
	if (!bytes)
		bytes = pf->bytes;
	if (!rate)
		rate = pf->rate;
	const char *plan[N_ALL];
	size_t np = 0;
	if (configs) {
		char buf[512];
		snprintf(buf, sizeof buf, "%s", configs);
		for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
			size_t i;
			for (i = 0; i < N_ALL && strcmp(t, all_configs[i]); i++)
				;
			if (i == N_ALL) {
				cli_err("bench: unknown configuration '%s' (native, native-gro, xen, "
					"lro-phys, lro-virt, lro-both)", t);
				return LK_EXIT_USAGE;
			}
			if (np < N_ALL)
				plan[np++] = all_configs[i];
		}
	} else {
		for (size_t i = 0; i < N_ALL; i++)
			plan[np++] = all_configs[i];
	}
	char bytes_s[32];
	snprintf(bytes_s, sizeof bytes_s, "%" PRIu64, bytes);
	if (dry) {
		printf("profile %s: %zu configurations x %ld repeats = %zu runs, %s bytes each, rate %s\n",
		       pf->name, np, repeat, np * (size_t)repeat, bytes_s, rate);
		printf("database %s, report %s/report.html\n", dbpath, repdir);
		for (long r = 1; r <= repeat; r++)
			for (size_t i = 0; i < np; i++)
				printf("  run %-3ld lrokit run %s --bytes %s --rate %s --db %s\n",
				       (long)((r - 1) * (long)np + (long)i + 1), plan[i], bytes_s, rate, dbpath);
		printf("  then: lrokit report --db %s -o %s\n", dbpath, repdir);
		return 0;
	}
	if (preflight() > 0)
		return LK_EXIT_MISSING;

	struct lk_err e = {0};
	sqlite3 *db;
	if (lk_db_open(dbpath, &db, &e) < 0) {
		cli_err("%s", e.msg);
		return LK_EXIT_RUNTIME;
	}
	lk_db_reap_stale_runs(db, NULL);
	char bench_id[64];
	snprintf(bench_id, sizeof bench_id, "%ld-%d", (long)time(NULL), (int)getpid());

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	bool tty = isatty(2) && !cli_quiet;
	size_t total = np * (size_t)repeat, done = 0, failed = 0;
	double t0 = now_s(), last_gp = 0;
	/* interleave configurations per repeat: drift on a shared machine hits all alike */
	for (long r = 1; r <= repeat && !stop_sig; r++) {
		for (size_t i = 0; i < np && !stop_sig; i++) {
			double el = now_s() - t0;
			double eta = done ? el / (double)done * (double)(total - done) : 0;
			if (!cli_quiet)
				fprintf(stderr, "%sbench: run %zu/%zu  %s  repeat %ld/%ld  last %.2f Gbit/s  "
					"elapsed %.0fs  ETA %s%.0fs%s", tty ? "\r\033[K" : "", done + 1, total,
					plan[i], r, repeat, last_gp / 1e9, el, done ? "" : "~",
					done ? eta : 0.0, tty ? "" : "\n");
			char *av[] = {"lrokit", "run", (char *)plan[i], "--bytes", bytes_s, "--rate",
				      (char *)rate, "--db", (char *)dbpath, "-q", NULL};
			int sig;
			pid_t pid_used = 0;
			int st = run_child(av, &sig, &pid_used);
			double gp = 0;
			char status[32] = "missing";
			int64_t id = tag_run(db, pid_used, bench_id, (unsigned)r, &gp, status, sizeof status);
			done++;
			if (st != 0 || strcmp(status, "ok")) {
				failed++;
				if (tty)
					fputc('\n', stderr);
				if (!stop_sig)
					cli_warn("bench: run of %s (repeat %ld) %s (exit %d)%s", plan[i], r,
						 id ? status : "left no run record", st,
						 st == 3 ? ": missing privilege or feature" : "");
				if (st == LK_EXIT_MISSING)
					stop_sig = -1; /* no point going on */
			} else {
				last_gp = gp;
			}
		}
	}
	if (tty)
		fputc('\n', stderr);
	if (stop_sig > 0)
		cli_warn("bench: interrupted; %zu of %zu runs done (%zu failed/aborted), building the "
			 "report from the finished runs", done - failed, total, failed);
	lk_db_close(db);
	/* analysis happens as each run ingests its captures; now the report */
	char *rav[] = {"lrokit", "report", "--db", (char *)dbpath, "-o", (char *)repdir, NULL};
	signal(SIGINT, SIG_DFL);
	int sig;
	int rst = run_child(rav, &sig, NULL);
	if (rst != 0) {
		cli_err("bench: report failed (exit %d); the runs are in %s", rst, dbpath);
		return LK_EXIT_RUNTIME;
	}
	printf("bench %s: %zu runs ok, %zu failed or aborted; database %s; report %s/report.html\n",
	       bench_id, done - failed, failed, dbpath, repdir);
	if (stop_sig > 0)
		return 130;
	return failed ? LK_EXIT_RUNTIME : 0;
}
