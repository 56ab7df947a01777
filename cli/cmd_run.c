/* lrokit run CONFIG - build one testbed configuration, run one verified bulk
 * transfer through it, store the run record, tear everything down. */
#include "lib/proc.h"
#include "schema/runrec.h"
#include "testbed/testbed.h"
#include "testbed/xfer.h"
#include "collectors/collect.h" /* [collectors] */
#include "cli/commands.h"
#include "lib/err.h"
#include "schema/db.h" /* [bench progress] lk_db_set_capture_drops */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char run_usage[] =
	"usage: lrokit run CONFIG [options]\n"
	"Build testbed CONFIG, run one verified transfer, store a run record, tear down.\n"
	"CONFIG: native native-gro xen lro-phys lro-virt lro-both\n"
	"  -n, --bytes SIZE      bytes to transfer (default 64M)\n"
	"      --rate RATE|none  tbf limit on the sender's wire, e.g. 1G (default none)\n"
	"      --db FILE         database (default lrokit.db)\n"
	"      --capture DIR     directory of the run's captures (default: beside the database);\n"
	"                        with --no-collect: tcpdump the sender's and receiver's interface\n"
	"                        (written as NAME.pcap.part, renamed when complete)\n"
	"      --no-collect      no collectors (perf counters, /proc and interface stats, xenstat,\n"
	"                        libpcap captures); for measuring the collectors' cost\n"
	"      --quickack        receiver sets TCP_QUICKACK after every read\n"
	"      --cc NAME         sender congestion control\n"
	"      --mss N           sender MSS\n"
	"      --lro-policy P    linux (default) or inet_lro\n"
	"      --budget N        stage frames per poll (default 64)\n"
	"      --json            JSON summary on stdout\n"
	"  -q                    quiet\n"
	"Needs root (CAP_NET_ADMIN): network namespaces, TAP devices, AF_PACKET.\n";

static volatile sig_atomic_t g_sig;
static void on_sig(int s) { g_sig = s; }

/* [bench progress] begin: live progress for a parent (lrokit bench). When
 * LK_PROGRESS_FD names an inherited descriptor (a pipe), lines go to it:
 *   phase=setup | phase=transfer bytes=N elapsed_ns=M | phase=teardown |
 *   phase=ingest
 * bytes = payload received so far by the receiver's namespace, estimated
 * as IpExt InOctets - 52 x Tcp InSegs (IPv4 + TCP with timestamps, one
 * header per packet handed to IP, aggregates included) since the transfer
 * began; the run record's goodput comes from the receiver itself. The
 * descriptor is made close-on-exec (no testbed process keeps it) and
 * non-blocking (a parent that stops reading never stalls the run). */
static int progress_fd = -2; /* -2: not looked up yet, -1: none */

static void progress(const char *phase, long long bytes, unsigned long long elapsed_ns)
{
	if (progress_fd == -2) {
		const char *s = getenv("LK_PROGRESS_FD");
		char *end = NULL;
		long v = s && *s ? strtol(s, &end, 10) : -1;
		progress_fd = -1;
		if (v > 2 && v < 65536 && end && !*end && fcntl((int)v, F_SETFD, FD_CLOEXEC) == 0) {
			int fl = fcntl((int)v, F_GETFL);
			if (fl >= 0 && fcntl((int)v, F_SETFL, fl | O_NONBLOCK) == 0) {
				progress_fd = (int)v;
				signal(SIGPIPE, SIG_IGN);
			}
		}
	}
	if (progress_fd < 0)
		return;
	char line[160];
	int n = bytes >= 0 ? snprintf(line, sizeof line, "phase=%s bytes=%lld elapsed_ns=%llu\n",
				      phase, bytes, elapsed_ns)
			   : snprintf(line, sizeof line, "phase=%s\n", phase);
	if (write(progress_fd, line, (size_t)n) < 0 && errno == EPIPE)
		progress_fd = -1; /* the reader is gone */
}

struct progress_base {
	unsigned long long t0_ns, octets, segs, last_ns;
	bool ok;
};

static bool progress_rcv(const char *ns, unsigned long long *oct, unsigned long long *segs)
{
	return lk_tb_snmp(ns, "IpExt", "InOctets", oct) == 0 && lk_tb_snmp(ns, "Tcp", "InSegs", segs) == 0;
}

/* when: 0 the transfer starts (baseline), 1 during it (at most 4 lines a
 * second), 2 it has ended (one last reading). */
static void progress_transfer(const struct lk_testbed *tb, struct progress_base *b, int when)
{
	if (progress_fd == -1)
		return;
	unsigned long long now = lk_now_ns(), oct, segs;
	if (when == 0) {
		b->t0_ns = b->last_ns = now;
		b->ok = progress_rcv(tb->ns_rcv, &b->octets, &b->segs);
		progress("transfer", 0, 0);
		return;
	}
	if (!b->ok || (when == 1 && now - b->last_ns < 250000000ull) ||
	    !progress_rcv(tb->ns_rcv, &oct, &segs))
		return;
	b->last_ns = now;
	long long payload = (long long)(oct - b->octets) - 52LL * (long long)(segs - b->segs);
	progress("transfer", payload > 0 ? payload : 0, now - b->t0_ns);
}
/* [bench progress] end */


static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	while (b) {
		size_t r = fread(b + n, 1, cap - n - 1, f);
		n += r;
		if (n < cap - 1)
			break;
		char *nb = realloc(b, cap * 2);
		if (!nb) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	fclose(f);
	if (b)
		b[n] = 0;
	return b;
}

/* Number after "key": within the object starting at `scope` (or the text). */
static double jnum(const char *txt, const char *scope, const char *key)
{
	if (!txt)
		return NAN;
	const char *p = txt;
	if (scope) {
		char s[64];
		snprintf(s, sizeof s, "\"%s\":", scope);
		p = strstr(txt, s);
		if (!p)
			return NAN;
	}
	char k[64];
	snprintf(k, sizeof k, "\"%s\":", key);
	p = strstr(p, k);
	if (!p)
		return NAN;
	p += strlen(k);
	if (!strncmp(p, "null", 4))
		return NAN;
	char *end;
	double v = strtod(p, &end);
	return end == p ? NAN : v;
}

static bool jtrue(const char *txt, const char *key)
{
	char k[64];
	snprintf(k, sizeof k, "\"%s\":true", key);
	return txt && strstr(txt, k);
}

struct snmp_snap {
	unsigned long long snd_out, snd_tcp_out, rcv_in, rcv_tcp_out, snd_retrans;
	bool ok;
};

static void snmp_snap(const struct lk_testbed *tb, struct snmp_snap *s)
{
	s->ok = lk_tb_snmp(tb->ns_snd, "Ip", "OutRequests", &s->snd_out) == 0 &&
		lk_tb_snmp(tb->ns_snd, "Tcp", "OutSegs", &s->snd_tcp_out) == 0 &&
		lk_tb_snmp(tb->ns_snd, "Tcp", "RetransSegs", &s->snd_retrans) == 0 &&
		lk_tb_snmp(tb->ns_rcv, "Ip", "InReceives", &s->rcv_in) == 0 &&
		lk_tb_snmp(tb->ns_rcv, "Tcp", "OutSegs", &s->rcv_tcp_out) == 0;
}

/* tcpdump writes PATH.part; finish_capture renames it to PATH once tcpdump
 * has exited, so a run killed mid-way never leaves a half-written PATH. */
static pid_t start_capture(const char *ns, const char *final, struct lk_err *e)
{
	char path[600];
	snprintf(path, sizeof path, "%s.part", final);
	char *argv[] = {"/usr/bin/tcpdump", "-i", "eth0", "-s", "128", "-U", "-n", "-w",
			path, "tcp", NULL};
	if (access(argv[0], X_OK) < 0) {
		argv[0] = "/usr/sbin/tcpdump";
		if (access(argv[0], X_OK) < 0) {
			lk_errf(e, LK_EXIT_MISSING, "--capture needs tcpdump (not found)");
			return -1;
		}
	}
	struct lk_spawn_opts so = {.netns = ns, .cpu = -1, .die_with_parent = true,
				   .stdout_path = "", .stderr_path = ""};
	pid_t p = lk_spawn(argv, &so, e);
	if (p < 0)
		return -1;
	for (int i = 0; i < 300; i++) { /* wait until tcpdump has the file open */
		struct stat st;
		if (stat(path, &st) == 0 && st.st_size >= 24)
			return p;
		if (waitpid(p, NULL, WNOHANG) == p) {
			lk_errf(e, LK_EXIT_RUNTIME, "tcpdump in %s exited at start", ns);
			return -1;
		}
		usleep(10000);
	}
	return p;
}

static void stop_child(pid_t p, int sig);

static void finish_capture(pid_t *p, const char *final)
{
	if (*p <= 0)
		return;
	stop_child(*p, SIGINT);
	*p = -1;
	char part[600];
	snprintf(part, sizeof part, "%s.part", final);
	if (rename(part, final) < 0)
		cli_warn("run: capture %s: %s", part, strerror(errno));
}

static void stop_child(pid_t p, int sig)
{
	if (p <= 0)
		return;
	kill(p, sig);
	for (int i = 0; i < 300; i++) {
		if (waitpid(p, NULL, WNOHANG) != 0)
			return;
		usleep(10000);
	}
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

static const char *stage_names[] = {"nic", "netback", "netfront"};

/* [collectors] begin: what the collectors watch in a testbed. Components are
 * named by domain ("dom0/nic" ...) so the counters also get per-domain sums
 * ("dom0", "domU"), the names the xenstat collector uses on a real Xen host. */
static void coll_dir(char *buf, size_t n, const char *capdir, const char *db)
{
	const char *slash = strrchr(db, '/');
	if (capdir)
		snprintf(buf, n, "%s", capdir);
	else if (slash)
		snprintf(buf, n, "%.*s", (int)(slash - db), db);
	else
		snprintf(buf, n, ".");
	if (!buf[0])
		snprintf(buf, n, "/");
}

static int coll_setup(struct lk_coll *c, const struct lk_testbed *tb, struct lk_err *e)
{
	static const char *const sname[LK_TB_NSTAGES] = {"dom0/nic", "dom0/netback", "domU/netfront"};
	bool full = tb->cfg->full_path;
	for (int i = 0; full && i < LK_TB_NSTAGES; i++)
		if (tb->stage_pid[i] > 0 &&
		    lk_coll_add_component(c, sname[i], tb->stage_pid[i], tb->cpu_recv, e) < 0)
			return -1;
	struct coll_if { const char *label, *ns, *ifname; };
	const struct coll_if native_ifs[] = {{"sender:eth0", tb->ns_snd, "eth0"},
					     {"receiver:eth0", tb->ns_rcv, "eth0"}};
	const struct coll_if full_ifs[] = {{"sender:eth0", tb->ns_snd, "eth0"},
					   {"dom0:peth0", tb->ns_dom0, "peth0"},
					   {"dom0:pnic0", tb->ns_dom0, "pnic0"},
					   {"dom0:xenbr0", tb->ns_dom0, "xenbr0"},
					   {"dom0:vif1.0", tb->ns_dom0, "vif1.0"},
					   {"domU:eth0", tb->ns_rcv, "eth0"}};
	const struct coll_if *ifs = full ? full_ifs : native_ifs;
	int n = full ? 6 : 2;
	for (int i = 0; i < n; i++) {
		struct lk_err ie = {0};
		if (lk_coll_add_iface(c, ifs[i].label, ifs[i].ns, ifs[i].ifname, &ie) < 0)
			cli_warn("run: collectors: %s", ie.msg); /* the run goes on without it */
	}
	const char *filter = "tcp port " LK_XFER_PORT;
	if (lk_coll_add_capture(c, "sender", tb->ns_snd, "eth0", filter, e) < 0 ||
	    lk_coll_add_capture(c, "receiver", tb->ns_rcv, "eth0", filter, e) < 0)
		return -1;
	return 0;
}
/* [collectors] end */

int cmd_run(int argc, char **argv)
{
	uint64_t bytes = 64ull << 20, rate = 0, v;
	const char *db = "lrokit.db", *capdir = NULL, *cc = NULL, *policy = NULL;
	bool json = false, quickack = false;
	bool no_collect = false; /* [collectors] */
	int mss = 0, budget = 0;
	enum { O_RATE = 256, O_DB, O_CAPTURE, O_QUICKACK, O_CC, O_MSS, O_POLICY, O_BUDGET, O_JSON,
	       O_NOCOLLECT /* [collectors] */ };
	static const struct option lo[] = {
		{"bytes", required_argument, 0, 'n'}, {"rate", required_argument, 0, O_RATE},
		{"db", required_argument, 0, O_DB}, {"capture", required_argument, 0, O_CAPTURE},
		{"quickack", no_argument, 0, O_QUICKACK}, {"cc", required_argument, 0, O_CC},
		{"mss", required_argument, 0, O_MSS}, {"lro-policy", required_argument, 0, O_POLICY},
		{"budget", required_argument, 0, O_BUDGET}, {"json", no_argument, 0, O_JSON},
		{"no-collect", no_argument, 0, O_NOCOLLECT}, /* [collectors] */
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_size(optarg, &bytes) || !bytes) {
				cli_err("run: bad --bytes '%s' (want a size like 64M, 1G)", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case O_RATE:
			if (!strcmp(optarg, "none"))
				rate = 0;
			else if (cli_parse_rate(optarg, &rate) || rate < 1000000) {
				cli_err("run: bad --rate '%s' (want e.g. 1G, 500M or none)", optarg);
				return LK_EXIT_USAGE;
			}
			break;
		case O_DB: db = optarg; break;
		case O_CAPTURE: capdir = optarg; break;
		case O_QUICKACK: quickack = true; break;
		case O_CC: cc = optarg; break;
		case O_MSS:
			if (cli_parse_size(optarg, &v) || v < 88 || v > 65535) {
				cli_err("run: bad --mss '%s'", optarg);
				return LK_EXIT_USAGE;
			}
			mss = (int)v;
			break;
		case O_POLICY:
			if (strcmp(optarg, "linux") && strcmp(optarg, "inet_lro")) {
				cli_err("run: bad --lro-policy '%s' (linux or inet_lro)", optarg);
				return LK_EXIT_USAGE;
			}
			policy = optarg;
			break;
		case O_BUDGET:
			if (cli_parse_size(optarg, &v) || v < 1 || v > 256) {
				cli_err("run: bad --budget '%s' (1..256)", optarg);
				return LK_EXIT_USAGE;
			}
			budget = (int)v;
			break;
		case O_JSON: json = true; break;
		case O_NOCOLLECT: no_collect = true; break; /* [collectors] */
		case 'q': cli_quiet = true; break;
		case 'h': fputs(run_usage, stdout); return 0;
		default: fputs(run_usage, stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_err("run: need exactly one CONFIG (native native-gro xen lro-phys lro-virt lro-both)");
		return LK_EXIT_USAGE;
	}
	const struct lk_tb_config *cfg = lk_tb_config_find(argv[optind]);
	if (!cfg) {
		cli_err("run: unknown configuration '%s' (native native-gro xen lro-phys lro-virt "
			"lro-both)", argv[optind]);
		return LK_EXIT_USAGE;
	}
	int r = cli_need_root("run");
	if (r)
		return r;
	if (capdir && mkdir(capdir, 0755) < 0 && errno != EEXIST) {
		cli_err("run: capture directory '%s': %s", capdir, strerror(errno));
		return LK_EXIT_RUNTIME;
	}

	struct lk_err e = {0};
	progress("setup", -1, 0); /* [bench progress] */
	int stale = lk_tb_reap_stale(&e);
	if (stale < 0)
		cli_warn("removing leftovers of killed runs: %s", e.msg);
	else if (stale > 0 && !cli_quiet)
		fprintf(stderr, "lrokit: removed %d namespace(s) left by killed runs\n", stale);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct lk_testbed tb;
	memset(&tb, 0, sizeof tb);
	tb.cfg = cfg;
	snprintf(tb.prefix, sizeof tb.prefix, LK_TB_RUN_PREFIX "%d", (int)getpid());
	tb.rate_bps = rate;
	tb.cpu_send = 0;
	tb.cpu_recv = 1;
	tb.lro_policy = policy;
	tb.budget = budget;
	lk_tb_names(&tb);

	char params[1024];
	snprintf(params, sizeof params,
		 "{\"config\":\"%s\",\"bytes\":%" PRIu64 ",\"rate_bps\":%" PRIu64 ",\"quickack\":%s,"
		 "\"cc\":\"%s\",\"mss\":%d,\"lro_policy\":\"%s\",\"budget\":%d,\"cpu_send\":0,"
		 "\"cpu_recv\":1,\"prefix\":\"%s\"}",
		 cfg->name, bytes, rate, quickack ? "true" : "false", cc ? cc : "", mss,
		 policy ? policy : "linux", budget ? budget : 64, tb.prefix);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct lk_run_info ri = {.config = cfg->name, .cmdline = cli_cmdline,
				 .tool_version = LK_VERSION, .params = params,
				 .started_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
				 .bytes = bytes, .rate_limit_bps = rate};
	struct lk_runrec rec;
	if (lk_runrec_begin(&rec, db, &ri, &e) < 0) {
		cli_err("run: %s", e.msg);
		return e.code ? e.code : LK_EXIT_RUNTIME;
	}

	const char *status = "failed";
	char errmsg[600] = "";
	pid_t rpid = -1, spid = -1, cap_s = -1, cap_r = -1;
	int rstat = -1, sstat = -1;
	struct snmp_snap s0 = {0}, s1 = {0};
	char path_recv[256] = "", path_send[256] = "", path_tcpi[256] = "", cap_snd[512] = "", cap_rcv[512] = "";
	char exe[1024];
	struct lk_coll *coll = NULL; /* [collectors] */

	if (!cli_quiet && isatty(2))
		fprintf(stderr, "lrokit: building testbed %s (%s)\n", tb.prefix, cfg->name);
	if (lk_tb_up(&tb, &e) < 0) {
		snprintf(errmsg, sizeof errmsg, "testbed: %s", e.msg);
		goto done;
	}
	snprintf(path_recv, sizeof path_recv, "%s/recv.json", tb.statedir);
	snprintf(path_send, sizeof path_send, "%s/send.json", tb.statedir);
	snprintf(path_tcpi, sizeof path_tcpi, "%s/tcpinfo.csv", tb.statedir);
	if (lk_self_exe(exe, sizeof exe, &e) < 0) {
		snprintf(errmsg, sizeof errmsg, "%s", e.msg);
		goto done;
	}
	/* [collectors] begin: start the collection session (collectors/collect.h) */
	if (!no_collect) {
		char cdir[1024];
		coll_dir(cdir, sizeof cdir, capdir, db);
		/* capture threads on the sender's CPU: the receiving CPU is the measured one */
		struct lk_coll_cfg ccfg = {.dir = cdir, .run_id = rec.run_id,
					   .pin_capture = tb.cpu_send >= 0, .capture_cpu = tb.cpu_send};
		if (!(coll = lk_coll_start(&ccfg, &e)) || coll_setup(coll, &tb, &e) < 0) {
			snprintf(errmsg, sizeof errmsg, "collectors: %s", e.msg);
			goto done;
		}
		snprintf(cap_snd, sizeof cap_snd, "%.450s/run%" PRId64 "-sender.pcap", cdir, rec.run_id);
		snprintf(cap_rcv, sizeof cap_rcv, "%.450s/run%" PRId64 "-receiver.pcap", cdir, rec.run_id);
	}
	/* [collectors] end */
	if (capdir && no_collect) {
		snprintf(cap_snd, sizeof cap_snd, "%s/run%" PRId64 "-sender.pcap", capdir, rec.run_id);
		snprintf(cap_rcv, sizeof cap_rcv, "%s/run%" PRId64 "-receiver.pcap", capdir, rec.run_id);
		if ((cap_s = start_capture(tb.ns_snd, cap_snd, &e)) < 0 ||
		    (cap_r = start_capture(tb.ns_rcv, cap_rcv, &e)) < 0) {
			snprintf(errmsg, sizeof errmsg, "capture: %s", e.msg);
			goto done;
		}
	}
	snmp_snap(&tb, &s0);
	int timeout = (int)(60 + bytes * 8 / 100000000ull);
	char tmo[16], nb[32], mssarg[16];
	snprintf(tmo, sizeof tmo, "%d", timeout);
	snprintf(nb, sizeof nb, "%" PRIu64, bytes);
	snprintf(mssarg, sizeof mssarg, "%d", mss);
	{
		char *a[16];
		int n = 0;
		a[n++] = exe; a[n++] = "recv"; a[n++] = "--json"; a[n++] = "-B";
		a[n++] = LK_TB_RECV_ADDR; a[n++] = "--timeout"; a[n++] = tmo;
		if (quickack)
			a[n++] = "--quickack";
		a[n] = NULL;
		struct lk_spawn_opts so = {.netns = tb.ns_rcv, .cpu = tb.cpu_recv,
					   .die_with_parent = true, .stdout_path = path_recv};
		if ((rpid = lk_spawn(a, &so, &e)) < 0) {
			snprintf(errmsg, sizeof errmsg, "receiver: %s", e.msg);
			goto done;
		}
		if (coll && lk_coll_add_component(coll, cfg->full_path ? "domU/receiver" : "receiver",
						  rpid, tb.cpu_recv, &e) < 0) /* [collectors] */
			cli_warn("run: collectors: %s", e.msg);
	}
	struct progress_base pb = {0}; /* [bench progress] baseline before the sender starts */
	progress_transfer(&tb, &pb, 0);
	{
		char *a[24];
		int n = 0;
		a[n++] = exe; a[n++] = "send"; a[n++] = LK_TB_RECV_ADDR; a[n++] = "--json";
		a[n++] = "--bytes"; a[n++] = nb; a[n++] = "--timeout"; a[n++] = tmo;
		a[n++] = "--tcpinfo"; a[n++] = path_tcpi;
		if (cc) {
			a[n++] = "--cc";
			a[n++] = (char *)cc;
		}
		if (mss) {
			a[n++] = "--mss";
			a[n++] = mssarg;
		}
		a[n] = NULL;
		struct lk_spawn_opts so = {.netns = tb.ns_snd, .cpu = tb.cpu_send,
					   .die_with_parent = true, .stdout_path = path_send};
		if ((spid = lk_spawn(a, &so, &e)) < 0) {
			snprintf(errmsg, sizeof errmsg, "sender: %s", e.msg);
			goto done;
		}
		if (coll && lk_coll_add_component(coll, "sender", spid, tb.cpu_send, &e) < 0)
			cli_warn("run: collectors: %s", e.msg); /* [collectors] */
	}
	if (!cli_quiet && isatty(2))
		fprintf(stderr, "lrokit: transferring %" PRIu64 " bytes\n", bytes);
	unsigned long long deadline = lk_now_ns() + (unsigned long long)(timeout + 10) * 1000000000ull;
	/* Sender and receiver are left unreaped (zombies) when they exit, so the
	 * collectors' final reading still finds their /proc/PID/stat; they are
	 * reaped right after lk_coll_finish. */
	bool r_done = false, s_done = false;
	while ((!r_done || !s_done) && !g_sig && lk_now_ns() < deadline) {
		siginfo_t si;
		bool progress = false;
		for (int k = 0; k < 2; k++) {
			pid_t p = k ? spid : rpid;
			bool *done = k ? &s_done : &r_done;
			if (*done || p <= 0)
				continue;
			si.si_pid = 0;
			if (waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == p) {
				*done = true;
				progress = true;
			}
		}
		/* a dead stage means a broken path: stop early */
		for (int i = 0; i < LK_TB_NSTAGES; i++)
			if (tb.stage_pid[i] > 0 && waitpid(tb.stage_pid[i], NULL, WNOHANG) == tb.stage_pid[i]) {
				tb.stage_pid[i] = 0;
				snprintf(errmsg, sizeof errmsg, "%s stage died during the transfer",
					 stage_names[i]);
			}
		if (errmsg[0])
			break;
		progress_transfer(&tb, &pb, 1); /* [bench progress] */
		if (!progress)
			usleep(5000);
	}
	progress_transfer(&tb, &pb, 2); /* [bench progress] */
	if (coll && (r_done || s_done))
		lk_coll_finish(coll); /* [collectors] final readings, exited children still visible */
	if (r_done) {
		waitpid(rpid, &rstat, 0);
		rpid = -1;
	}
	if (s_done) {
		waitpid(spid, &sstat, 0);
		spid = -1;
	}
	if (g_sig) {
		status = "aborted";
		snprintf(errmsg, sizeof errmsg, "interrupted by signal %d", (int)g_sig);
	} else if (rpid > 0 || spid > 0) {
		if (!errmsg[0])
			snprintf(errmsg, sizeof errmsg, "transfer did not finish within %d s", timeout + 10);
	}
	stop_child(spid, SIGKILL);
	stop_child(rpid, SIGKILL);
	spid = rpid = -1;
	if (coll)
		lk_coll_finish(coll); /* [collectors] final readings at the end of the transfer */
	snmp_snap(&tb, &s1);
	finish_capture(&cap_s, cap_snd);
	finish_capture(&cap_r, cap_rcv);

done:;
	uint64_t moved = 0;
	double goodput = NAN, lro_rate = NAN;
	/* tear down first: the stages write their counters on SIGTERM */
	struct lk_err e2 = {0};
	progress("teardown", -1, 0); /* [bench progress] */
	stop_child(spid, SIGKILL);
	stop_child(rpid, SIGKILL);
	finish_capture(&cap_s, cap_snd);
	finish_capture(&cap_r, cap_rcv);
	if (coll)
		lk_coll_finish(coll); /* [collectors] before the interfaces go away */
	if (lk_tb_down(&tb, &e2) < 0)
		cli_warn("teardown of %s: %s", tb.prefix, e2.msg);
	char *rj = slurp(path_recv), *sj = slurp(path_send);
	char *stj[LK_TB_NSTAGES] = {0};
	if (cfg->full_path)
		for (int i = 0; i < LK_TB_NSTAGES; i++)
			stj[i] = slurp(tb.stage_stats[i]);
	bool rok = rstat >= 0 && WIFEXITED(rstat) && WEXITSTATUS(rstat) == 0 && jtrue(rj, "verified");
	bool sok = sstat >= 0 && WIFEXITED(sstat) && WEXITSTATUS(sstat) == 0;
	if (!errmsg[0] && (!rok || !sok)) {
		const char *m = NULL;
		const char *src = !rok ? rj : sj;
		if (src && (m = strstr(src, "\"error\":\"")))
			snprintf(errmsg, sizeof errmsg, "%s: %.*s", !rok ? "receiver" : "sender",
				 (int)strcspn(m + 9, "\""), m + 9);
		else
			snprintf(errmsg, sizeof errmsg, "%s failed (exit status %d)",
				 !rok ? "receiver" : "sender",
				 (!rok ? rstat : sstat) >= 0 && WIFEXITED(!rok ? rstat : sstat)
					 ? WEXITSTATUS(!rok ? rstat : sstat) : -1);
	}
	double total_drops = 0;
	lk_runrec_tx(&rec, "BEGIN");
	if (rok) {
		moved = (uint64_t)jnum(rj, NULL, "bytes");
		goodput = jnum(rj, NULL, "goodput_bps");
	}
	if (s0.ok && s1.ok && s1.rcv_in > s0.rcv_in) {
		double segs = (double)(s1.snd_tcp_out - s0.snd_tcp_out), pk = (double)(s1.rcv_in - s0.rcv_in);
		lro_rate = segs / pk;
		lk_runrec_counter(&rec, "sender", "ip_out_requests", (double)(s1.snd_out - s0.snd_out),
				  "packets", "snmp", NULL);
		lk_runrec_counter(&rec, "sender", "tcp_out_segs", segs, "packets", "snmp",
				  "segments on the wire (TSO/GSO off): numerator of lro_rate");
		lk_runrec_counter(&rec, "sender", "tcp_retrans_segs",
				  (double)(s1.snd_retrans - s0.snd_retrans), "packets", "snmp", NULL);
		lk_runrec_counter(&rec, "receiver", "ip_in_receives", pk, "packets", "snmp",
				  "packets delivered to the receiver's IP layer: denominator of lro_rate");
		lk_runrec_counter(&rec, "receiver", "tcp_out_segs",
				  (double)(s1.rcv_tcp_out - s0.rcv_tcp_out), "packets", "snmp",
				  "segments the receiver sent: ACKs (+ handshake, verdict)");
	}
	static const char *dkeys[] = {"frames_in", "frames_out", "bytes_in", "bytes_out", "segs_out",
				      "polls", "empty_polls", "full_polls", "drops", "link_down", "kicks",
				      "ring_full", "gso_out", "csum_completed", "lro_bypass", NULL};
	static const char *lkeys[] = {"frames_in", "frames_out", "segs_in", "segs_merged",
				      "aggregates_out", "data_frames_out", "bypassed", "csum_bad",
				      "lro_rate", NULL};
	for (int i = 0; i < LK_TB_NSTAGES; i++) {
		if (!stj[i])
			continue;
		const char *dirs[2] = {"rx", "tx"};
		for (int d = 0; d < 2; d++) {
			const char *o = strstr(stj[i], d ? "\"tx\":" : "\"rx\":");
			if (!o)
				continue;
			for (int k = 0; dkeys[k]; k++) {
				char ev[64];
				snprintf(ev, sizeof ev, "%s_%s", dirs[d], dkeys[k]);
				double x = jnum(o, NULL, dkeys[k]);
				lk_runrec_counter(&rec, stage_names[i], ev, x, NULL, "stage", NULL);
				if (!strcmp(dkeys[k], "drops") && x == x)
					total_drops += x;
			}
			const char *h = strstr(o, "\"fpp_hist\":[");
			if (h) {
				h += 12;
				static const char *bn[] = {"1", "2-3", "4-7", "8-15", "16-31", "32-63",
							   "64-127", "128+"};
				for (int b = 0; b < 8; b++) {
					char ev[64];
					snprintf(ev, sizeof ev, "%s_fpp_%s", dirs[d], bn[b]);
					char *end;
					double x = strtod(h, &end);
					lk_runrec_counter(&rec, stage_names[i], ev, x, "polls", "stage",
							  "frames-per-poll histogram bucket");
					h = end + 1;
				}
			}
		}
		double wd = jnum(stj[i], NULL, "wire_drops"), td = jnum(stj[i], NULL, "tap_queue_drops");
		lk_runrec_counter(&rec, stage_names[i], "wire_drops", wd, NULL, "stage",
				  "AF_PACKET receive drops (nic stage)");
		lk_runrec_counter(&rec, stage_names[i], "tap_queue_drops", td, NULL, "stage",
				  "kernel drops on the stage's TAP queue");
		if (wd == wd)
			total_drops += wd;
		if (td == td)
			total_drops += td;
		const char *lo2 = strstr(stj[i], "\"lro\":{");
		if (lo2)
			for (int k = 0; lkeys[k]; k++)
				lk_runrec_lro(&rec, stage_names[i], policy ? policy : "linux", lkeys[k],
					      jnum(lo2, NULL, lkeys[k]));
	}
	/* TCP_INFO series of the sender */
	FILE *tf = fopen(path_tcpi, "r");
	if (tf) {
		char line[512];
		static const char *cols[] = {"t_ns", "cwnd", "ssthresh", "rtt_us", "rttvar_us",
					     "unacked", "retransmits", "total_retrans", "lost",
					     "sacked", "delivery_rate", "pacing_rate", "bytes_acked"};
		uint64_t t0 = (uint64_t)jnum(sj, NULL, "start_ns");
		if (!fgets(line, sizeof line, tf))
			line[0] = 0;
		while (fgets(line, sizeof line, tf)) {
			double x[13];
			char *p = line;
			int k = 0;
			for (; k < 13; k++) {
				char *end;
				x[k] = strtod(p, &end);
				if (end == p)
					break;
				p = end + 1;
			}
			if (k != 13)
				continue;
			for (int j = 1; j < 13; j++)
				lk_runrec_sample(&rec, t0 + (uint64_t)x[0], "tcpinfo", cols[j], x[j]);
		}
		fclose(tf);
	}
	if (rok && sok && !errmsg[0])
		status = "ok";
	else if (g_sig)
		status = "aborted"; /* whatever failed, a signal stopped us (e.g. during setup) */
	clock_gettime(CLOCK_REALTIME, &ts);
	if (lk_runrec_finish(&rec, status, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
			     moved, goodput, lro_rate, tb.offloads, errmsg[0] ? errmsg : NULL, &e) < 0)
		cli_warn("run: %s", e.msg);
	lk_runrec_tx(&rec, "COMMIT");
	/* [collectors] begin: counters, samples and captures rows of this run */
	if (coll) {
		struct lk_coll_summary cs;
		progress("ingest", -1, 0); /* [bench progress] */
		if (lk_coll_stop(coll, rec.db, rec.run_id, &cs, &e) < 0)
			cli_warn("run %" PRId64 ": collectors: %s", rec.run_id, e.msg);
		/* runs.capture_drops: sum of the captures' kernel drops, NULL unknown */
		if (lk_db_set_capture_drops(rec.db, rec.run_id, &e) == -1)
			cli_warn("run %" PRId64 ": %s", rec.run_id, e.msg);
		if (cs.drops_flagged)
			cli_warn("run %" PRId64 ": the captures dropped %llu packets: capture incomplete "
				 "(flagged in runs.capture_drops)", rec.run_id,
				 (unsigned long long)cs.capture_drops);
		if (!cli_quiet && isatty(2) && cs.notes[0])
			fprintf(stderr, "lrokit: collectors: %s\n", cs.notes);
		coll = NULL;
	}
	/* [collectors] end */

	if (json) {
		printf("{\"run_id\":%" PRId64 ",\"config\":\"%s\",\"status\":\"%s\",\"bytes\":%" PRIu64
		       ",\"verified\":%s,\"goodput_bps\":",
		       rec.run_id, cfg->name, status, moved, rok ? "true" : "false");
		printf(goodput == goodput ? "%.0f" : "null", goodput);
		printf(",\"lro_rate\":");
		printf(lro_rate == lro_rate ? "%.4f" : "null", lro_rate);
		printf(",\"drops\":%.0f,\"retrans_segs\":%llu,\"receiver_out_segs\":%llu,"
		       "\"sender_out_segs\":%llu,\"stages\":{",
		       total_drops, s1.snd_retrans - s0.snd_retrans, s1.rcv_tcp_out - s0.rcv_tcp_out,
		       s1.snd_tcp_out - s0.snd_tcp_out);
		bool first = true;
		for (int i = 0; i < LK_TB_NSTAGES; i++) {
			if (!stj[i])
				continue;
			const char *o = strstr(stj[i], "\"rx\":");
			double lr = NAN;
			const char *lo2 = strstr(stj[i], "\"lro\":{");
			if (lo2)
				lr = jnum(lo2, NULL, "lro_rate");
			const char *le = strstr(o, "\"last_error\":\"");
			const char *t = strstr(stj[i], "\"tx\":");
			printf("%s\"%s\":{\"rx_frames_in\":%.0f,\"rx_frames_out\":%.0f,\"rx_polls\":%.0f,"
			       "\"tx_frames_in\":%.0f,\"tx_frames_out\":%.0f,\"tx_polls\":%.0f,"
			       "\"rx_drops\":%.0f,\"tx_drops\":%.0f,\"rx_last_error\":\"%.*s\",\"lro_rate\":",
			       first ? "" : ",", stage_names[i], jnum(o, NULL, "frames_in"),
			       jnum(o, NULL, "frames_out"), jnum(o, NULL, "polls"), jnum(t, NULL, "frames_in"),
			       jnum(t, NULL, "frames_out"), jnum(t, NULL, "polls"),
			       jnum(o, NULL, "drops"), jnum(t, NULL, "drops"),
			       le ? (int)strcspn(le + 14, "\"") : 0, le ? le + 14 : "");
			printf(lr == lr ? "%.4f}" : "null}", lr);
			first = false;
		}
		printf("},\"captures\":{\"sender\":\"%s\",\"receiver\":\"%s\"}", cap_snd, cap_rcv);
		if (errmsg[0])
			printf(",\"error\":\"%s\"", errmsg);
		printf("}\n");
	} else if (!strcmp(status, "ok")) {
		printf("run %" PRId64 " %s: %" PRIu64 " bytes verified, %.3f Gbit/s, LRO rate %.2f, "
		       "stage drops %.0f\n",
		       rec.run_id, cfg->name, moved, goodput / 1e9, lro_rate, total_drops);
	}
	for (int i = 0; i < LK_TB_NSTAGES; i++)
		free(stj[i]);
	free(rj);
	free(sj);
	lk_runrec_close(&rec);
	lk_tb_rm_statedir(&tb);
	if (strcmp(status, "ok")) {
		cli_err("run %s: %s", cfg->name, errmsg[0] ? errmsg : "failed");
		return g_sig ? 128 + (int)g_sig : LK_EXIT_RUNTIME;
	}
	return 0;
}
