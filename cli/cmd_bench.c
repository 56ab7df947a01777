/* lrokit bench: every configuration x repeats -> database -> report.
 *
 * Each run is its own `lrokit run` child process (so a crash or a kill of
 * one run cannot take the plan down, and each run tears down its own
 * testbed). Ctrl-C/SIGTERM: the current run is told to stop (it marks itself
 * aborted and tears its testbed down), finished runs are kept, the report is
 * still built from them.
 *
 * Progress: each child gets a pipe named by LK_PROGRESS_FD and writes
 * "phase=setup|transfer|teardown|ingest [bytes=N elapsed_ns=M]" lines to it
 * (cli/cmd_run.c); the progress line on stderr shows the phase, the
 * configuration, the repeat, the current run's goodput and the ETA. On a tty
 * (and without -q) it is redrawn in place; otherwise one line per phase. */
#include "lib/proc.h"
#include "cli/commands.h"
#include "lib/err.h"
#include "reports/gnuplot.h"
#include "schema/db.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <poll.h>
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
		"Checks first, one line per missing piece (exit 3): root, network namespaces,\n"
		"TAP devices, a live capture (libpcap, CAP_NET_RAW), ip/tc/ethtool, gnuplot.\n"
		"Progress on stderr: phase (setup, transfer, teardown, ingest, report),\n"
		"configuration, repeat, the current run's goodput, ETA; redrawn in place on a\n"
		"terminal, one line per phase otherwise, none with -q.\n"
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
	char why[PCAP_ERRBUF_SIZE + 64];
	if (probe_capture(why, sizeof why) < 0) {
		cli_err("bench: cannot open a live packet capture (libpcap on lo: %s): the runs' "
			"captures need it", why);
		missing++;
	}
	char gp[4096];
	struct lk_err e = {0};
	if (lk_gp_find(gp, sizeof gp, &e) < 0 || lk_gp_check(gp, &e) < 0) {
		cli_err("bench: %s", e.msg);
		missing++;
	}
	return missing;
}

/* ---- the progress line ---- */
struct progress {
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
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void progress_draw(struct progress *p, bool force)
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
	double in_run = now - p->run_t0, eta = -1;
	bool approx = false;
	if (!strcmp(p->phase, "report")) {
		eta = -1;
	} else if (p->done > 0) {
		double avg = p->finished_s / (double)p->done;
		eta = avg * (double)(p->total - p->done) - in_run;
		if (eta < 0)
			eta = 0;
	} else if (gp > 0) {
		/* first run: from its transfer rate so far (setup, teardown and
		 * ingest of the later runs not counted: a lower bound) */
		double left = ((double)p->bytes_per_run - (double)p->xfer_bytes) * 8 / gp;
		if (left < 0)
			left = 0;
		eta = left + (double)(p->total - 1) * (in_run + left);
		approx = true;
	}
	char el[32], et[32], what[96] = "";
	fmt_dur(el, sizeof el, now - p->t0);
	if (eta >= 0)
		fmt_dur(et, sizeof et, eta);
	else
		snprintf(et, sizeof et, "?");
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

/* One "phase=... bytes=... elapsed_ns=..." line from the child. */
static void progress_line(struct progress *p, const char *line)
{
	const char *ph = strstr(line, "phase=");
	if (!ph)
		return;
	ph += 6;
	size_t n = strcspn(ph, " \n");
	if (n == 0 || n >= sizeof p->phase)
		return;
	char phase[sizeof p->phase];
	memcpy(phase, ph, n);
	phase[n] = 0;
	const char *b = strstr(line, " bytes="), *t = strstr(line, " elapsed_ns=");
	if (b && t) {
		p->xfer_bytes = strtoll(b + 7, NULL, 10);
		p->xfer_t = strtod(t + 12, NULL) / 1e9;
	}
	bool changed = strcmp(p->phase, phase) != 0;
	snprintf(p->phase, sizeof p->phase, "%s", phase);
	progress_draw(p, changed);
}

/* Exec ourselves (our binary) with ARGS...; returns the exit status. With p,
 * the child reports its progress through a pipe (LK_PROGRESS_FD). */
static int run_child(char *const argv[], int *sig, pid_t *pid_out, struct progress *p,
		     bool quiet_stdout)
{
	*sig = 0;
	int pfd[2] = {-1, -1};
	if (p && pipe2(pfd, O_CLOEXEC) < 0)
		pfd[0] = pfd[1] = -1;
	pid_t pid = fork();
	if (pid < 0) {
		if (pfd[0] >= 0) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (quiet_stdout) {
			int nul = open("/dev/null", O_WRONLY);
			if (nul >= 0 && nul != 1) {
				dup2(nul, 1);
				close(nul);
			}
		}
		if (pfd[1] >= 0 && fcntl(pfd[1], F_SETFD, 0) == 0) {
			char num[16];
			snprintf(num, sizeof num, "%d", pfd[1]);
			setenv("LK_PROGRESS_FD", num, 1);
		}
		/* exec the binary by its real path: the child's comm must be
		 * "lrokit" (not "exe"), or a concurrent `lrokit run` would take
		 * its testbed for a dead run's leftovers (testbed.c run_alive) */
		char exe[4096];
		struct lk_err e = {0};
		if (lk_self_exe(exe, sizeof exe, &e) == 0)
			execv(exe, argv);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	child_pid = pid;
	if (pid_out)
		*pid_out = pid;
	int st = 0;
	if (pfd[0] >= 0) {
		close(pfd[1]);
		char buf[4096];
		size_t have = 0;
		bool eof = false;
		for (;;) {
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid)
				break;
			if (w < 0 && errno != EINTR)
				break;
			if (eof) {
				usleep(50000);
				continue;
			}
			struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
			int r = poll(&pf, 1, 250);
			if (r > 0) {
				ssize_t got = read(pfd[0], buf + have, sizeof buf - 1 - have);
				if (got == 0) {
					eof = true;
				} else if (got > 0) {
					have += (size_t)got;
					buf[have] = 0;
					char *ln = buf, *nl;
					while ((nl = strchr(ln, '\n'))) {
						*nl = 0;
						progress_line(p, ln);
						ln = nl + 1;
					}
					have -= (size_t)(ln - buf);
					memmove(buf, ln, have);
					if (have == sizeof buf - 1)
						have = 0; /* an overlong line: drop it */
				} else if (errno != EINTR && errno != EAGAIN) {
					eof = true;
				}
			}
			progress_draw(p, false); /* the clock moves on */
		}
		close(pfd[0]);
	} else {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
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
	struct progress pr = {.on = !cli_quiet, .tty = tty, .total = total, .repeat = repeat,
			      .bytes_per_run = bytes, .t0 = now_s()};
	/* interleave configurations per repeat: drift on a shared machine hits all alike */
	for (long r = 1; r <= repeat && !stop_sig; r++) {
		for (size_t i = 0; i < np && !stop_sig; i++) {
			pr.run_no = done + 1;
			pr.config = plan[i];
			pr.rep = r;
			pr.run_t0 = now_s();
			pr.xfer_bytes = -1;
			pr.xfer_t = 0;
			snprintf(pr.phase, sizeof pr.phase, "setup");
			progress_draw(&pr, true);
			char *av[] = {"lrokit", "run", (char *)plan[i], "--bytes", bytes_s, "--rate",
				      (char *)rate, "--db", (char *)dbpath, "-q", NULL};
			int sig;
			pid_t pid_used = 0;
			/* the run's result line: bench prints its own from the database */
			int st = run_child(av, &sig, &pid_used, &pr, true);
			double gp = 0;
			char status[32] = "missing";
			int64_t id = tag_run(db, pid_used, bench_id, (unsigned)r, &gp, status, sizeof status);
			done++;
			pr.done = done;
			pr.finished_s += now_s() - pr.run_t0;
			if (tty)
				fputs("\r\033[K", stderr);
			if (st != 0 || strcmp(status, "ok")) {
				failed++;
				if (!stop_sig)
					cli_warn("bench: run of %s (repeat %ld) %s (exit %d)%s", plan[i], r,
						 id ? status : "left no run record", st,
						 st == 3 ? ": missing privilege or feature" : "");
				if (st == LK_EXIT_MISSING)
					stop_sig = -1; /* no point going on */
			} else if (pr.on) {
				fprintf(stderr, "bench: run %zu/%zu  %s  repeat %ld/%ld  ok: run %" PRId64
					", %.3f Gbit/s\n", done, total, plan[i], r, repeat, id, gp / 1e9);
			}
		}
	}
	if (stop_sig > 0)
		cli_warn("bench: interrupted; %zu of %zu runs done (%zu failed/aborted), building the "
			 "report from the finished runs", done - failed, total, failed);
	lk_db_close(db);
	/* analysis happens as each run ingests its captures; now the report */
	snprintf(pr.phase, sizeof pr.phase, "report");
	pr.run_no = 0;
	progress_draw(&pr, true);
	if (tty)
		fputc('\n', stderr);
	char *rav[] = {"lrokit", "report", "--db", (char *)dbpath, "-o", (char *)repdir, NULL};
	signal(SIGINT, SIG_DFL);
	int sig;
	int rst = run_child(rav, &sig, NULL, NULL, false);
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
