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
#include "lib/proc.h"
#include "reports/gnuplot.h"
#include "schema/db.h"
#include "testbed/configs.h"
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

/* The report's figures, data files and page: a generous allowance. */
#define REPORT_BYTES (64ull << 20)

/* What to run and where it goes. */
struct bench {
	const struct profile *pf;
	const struct lk_config *plan[LK_NCONFIGS];
	size_t np;
	long repeat;
	uint64_t bytes;
	const char *rate;
	bool dry;
	char id[64];                 /* runs.bench_id: DATE-TIME-PID */
	char out[2048];              /* the results folder */
	char db[2100], captures[2100], report[2100];
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
		"                    [--bytes SIZE] [--rate RATE|none] [--out DIR] [--dry-run] [-q]\n"
		"\n"
		"Runs every configuration (%s)\n"
		"REPEAT times with `lrokit run` and writes one results folder (default\n"
		"results/DATE-TIME-PID): lrokit.db, captures/ and report/. Needs root.\n"
		"\n"
		"  --profile quick  %s (default)\n"
		"  --profile paper  %s\n"
		"  --configs LIST   comma-separated subset of the configurations\n"
		"  --out DIR        the results folder\n"
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

static int plan_configs(struct bench *b, const char *list)
{
	b->np = 0;
	if (!list) {
		for (const struct lk_config *c = lk_configs; c->name; c++)
			b->plan[b->np++] = c;
		return 0;
	}
	char buf[512], names[128];
	snprintf(buf, sizeof buf, "%s", list);
	for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
		const struct lk_config *c = lk_config_find(t);
		if (!c)
			return cli_usage_err("bench: unknown configuration '%s' (%s)", t,
					     lk_config_list(names, sizeof names, ", "));
		if (b->np < LK_NCONFIGS)
			b->plan[b->np++] = c;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct bench *b)
{
	static const struct option lo[] = {
		{"profile", required_argument, NULL, 'p'}, {"configs", required_argument, NULL, 'c'},
		{"repeat", required_argument, NULL, 'r'}, {"bytes", required_argument, NULL, 'b'},
		{"rate", required_argument, NULL, 'R'}, {"out", required_argument, NULL, 'o'},
		{"dry-run", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'}, {0, 0, 0, 0}};
	const char *configs = NULL, *out = NULL;
	uint64_t bps;
	char *end;
	int c;
	b->pf = &profiles[0];
	b->repeat = -1;
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
		case 'c': configs = optarg; break;
		case 'r':
			b->repeat = strtol(optarg, &end, 10);
			if (*end || b->repeat < 1 || b->repeat > 1000)
				return cli_usage_err("bench: --repeat wants a number 1..1000, not '%s'", optarg);
			break;
		case 'b':
			if (cli_parse_size(optarg, &b->bytes) < 0 || b->bytes == 0)
				return cli_usage_err("bench: bad --bytes '%s' (e.g. 64M, 1G)", optarg);
			break;
		case 'R':
			if (strcmp(optarg, "none") && cli_parse_rate(optarg, &bps) < 0)
				return cli_usage_err("bench: bad --rate '%s' (e.g. 1gbit, 500M, none)", optarg);
			b->rate = optarg;
			break;
		case 'o': out = optarg; break;
		case 'n': b->dry = true; break;
		case 'q': cli_quiet = true; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_err("bench: unexpected argument '%s'", argv[optind]);
	if (b->repeat < 0)
		b->repeat = b->pf->repeat;
	if (!b->bytes)
		b->bytes = b->pf->bytes;
	if (!b->rate)
		b->rate = b->pf->rate;
	time_t now = time(NULL);
	char when[32];
	strftime(when, sizeof when, "%Y%m%d-%H%M%S", localtime(&now));
	snprintf(b->id, sizeof b->id, "%s-%d", when, (int)getpid());
	if (out)
		snprintf(b->out, sizeof b->out, "%s", out);
	else
		snprintf(b->out, sizeof b->out, "results/%s", b->id);
	snprintf(b->db, sizeof b->db, "%s/lrokit.db", b->out);
	snprintf(b->captures, sizeof b->captures, "%s/captures", b->out);
	snprintf(b->report, sizeof b->report, "%s/report", b->out);
	return plan_configs(b, configs);
}

static size_t total_runs(const struct bench *b)
{
	return b->np * (size_t)b->repeat;
}

/* Disk the plan needs: every run's captures and rows (lk_run_disk_estimate),
 * plus the report. */
static uint64_t disk_need(const struct bench *b)
{
	return (uint64_t)total_runs(b) * lk_run_disk_estimate(b->bytes) + REPORT_BYTES;
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
	printf("profile %s: %zu configurations x %ld repeats = %zu runs, %" PRIu64
	       " bytes each, rate %s\n", b->pf->name, b->np, b->repeat, total_runs(b), b->bytes, b->rate);
	printf("results %s: lrokit.db, captures/, report/report.html\n", b->out);
	double per_gib = (double)lk_run_disk_estimate(1ull << 30), fr = disk_free(b->out);
	printf("disk: about %.1f GB (at most %.0f MB per GiB moved: two captures of every segment "
	       "at snaplen %d and their database rows; %.0f MB for the report); free there: ",
	       (double)disk_need(b) / 1e9, per_gib / 1e6, LK_RUN_SNAPLEN, (double)REPORT_BYTES / 1e6);
	if (fr >= 0)
		printf("%.1f GB\n", fr / 1e9);
	else
		printf("unknown\n");
	for (long r = 1; r <= b->repeat; r++)
		for (size_t i = 0; i < b->np; i++)
			printf("  run %-3ld lrokit run %s --bytes %" PRIu64 " --rate %s --db %s --capture %s\n",
			       (long)((size_t)(r - 1) * b->np + i + 1), b->plan[i]->name, b->bytes, b->rate,
			       b->db, b->captures);
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
	char p[2100];
	snprintf(p, sizeof p, "%s", b->out);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	if ((mkdir(b->out, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(b->captures, 0755) < 0 && errno != EEXIST)) {
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

/* One run of configuration i, repeat r; returns false when it failed. */
static bool bench_one(const struct bench *b, sqlite3 *db, struct progress_line *pr, size_t i, long r)
{
	const char *cfg = b->plan[i]->name;
	pr->run_no = pr->done + 1;
	pr->config = cfg;
	pr->rep = r;
	pr->run_t0 = now_s();
	pr->xfer_bytes = -1;
	pr->xfer_t = 0;
	snprintf(pr->phase, sizeof pr->phase, "setup");
	progress_draw(pr, true);
	char bytes[32];
	snprintf(bytes, sizeof bytes, "%" PRIu64, b->bytes);
	char *av[] = {"lrokit", "run", (char *)cfg, "--bytes", bytes, "--rate", (char *)b->rate,
		      "--db", (char *)b->db, "--capture", (char *)b->captures, "-q", NULL};
	pid_t pid = 0;
	/* the run's result line: bench prints its own from the database */
	int st = run_child(av, &pid, pr, true);
	double gp = 0;
	char status[32] = "missing";
	int64_t id = tag_run(db, pid, b->id, (unsigned)r, &gp, status, sizeof status);
	pr->done++;
	pr->finished_s += now_s() - pr->run_t0;
	if (pr->tty)
		fputs("\r\033[K", stderr);
	if (st == 0 && !strcmp(status, "ok")) {
		if (pr->on)
			fprintf(stderr, "bench: run %zu/%zu  %s  repeat %ld/%ld  ok: run %" PRId64
				", %.3f Gbit/s\n", pr->done, pr->total, cfg, r, b->repeat, id, gp / 1e9);
		return true;
	}
	if (!stop_sig)
		cli_warn("bench: run of %s (repeat %ld) %s (exit %d)%s", cfg, r,
			 id ? status : "left no run record", st,
			 st == LK_EXIT_MISSING ? ": missing privilege or feature" : "");
	if (st == LK_EXIT_MISSING)
		stop_sig = -1; /* no point going on */
	return false;
}

/* Every run, repeats interleaved (drift on a shared machine hits all
 * configurations alike); returns the number that failed, -1 when the
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
	for (long r = 1; r <= b->repeat && !stop_sig; r++)
		for (size_t i = 0; i < b->np && !stop_sig; i++)
			failed += !bench_one(b, db, pr, i, r);
	lk_db_close(db);
	return failed;
}

int cmd_bench(int argc, char **argv)
{
	struct bench b;
	memset(&b, 0, sizeof b);
	int rc = parse_args(argc, argv, &b);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (b.dry) {
		print_plan(&b);
		return 0;
	}
	if (preflight() > 0)
		return LK_EXIT_MISSING;
	if ((rc = check_disk(&b)) || (rc = make_dirs(&b)))
		return rc;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	size_t total = total_runs(&b);
	struct progress_line pr = {.on = !cli_quiet, .tty = isatty(2) && !cli_quiet, .total = total,
			      .repeat = b.repeat, .bytes_per_run = b.bytes, .t0 = now_s()};
	long failed = bench_all(&b, &pr);
	if (failed < 0)
		return LK_EXIT_RUNTIME;
	size_t done = pr.done;
	if (stop_sig > 0)
		cli_warn("bench: interrupted; %zu of %zu runs done (%ld failed/aborted), building the "
			 "report from the finished runs", done - (size_t)failed, total, failed);
	/* analysis happens as each run ingests its captures; now the report */
	snprintf(pr.phase, sizeof pr.phase, "report");
	pr.run_no = 0;
	progress_draw(&pr, true);
	if (pr.tty)
		fputc('\n', stderr);
	char *rav[] = {"lrokit", "report", "--db", b.db, "-o", b.report, NULL};
	signal(SIGINT, SIG_DFL);
	int rst = run_child(rav, NULL, NULL, false);
	if (rst != 0) {
		cli_err("bench: report failed (exit %d); the runs are in %s", rst, b.db);
		return LK_EXIT_RUNTIME;
	}
	printf("bench %s: %zu runs ok, %ld failed or aborted; results in %s (report %s/report.html)\n",
	       b.id, done - (size_t)failed, failed, b.out, b.report);
	if (stop_sig > 0)
		return 130;
	return failed ? LK_EXIT_RUNTIME : 0;
}
