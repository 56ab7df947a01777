/* lrokit collect - the collectors as JSON lines on stdout
 * (collectors/sampleline.h), so that a remote host needs only ssh:
 * `lrokit bench --hosts` runs `ssh HOST lrokit collect --iface eth1` on
 * each host and reads the lines back.
 *
 * Every interval: /proc/stat per CPU (procstat cpuN.<field>_ns, cumulative),
 * the interfaces' /proc/net/dev counters (iface IF.rx_bytes ..., cumulative)
 * and each --pid's CPU time (pid PID.utime_ns/stime_ns). At the start and
 * the end: the host's TCP/IP counters (snmp Tcp.OutSegs, Tcp.RetransSegs,
 * Ip.InReceives), the differences of which give the run's LRO rate; the
 * CPUs' cycles and instructions (perf cpuN.EVENT, system-wide through
 * collectors/perf.h, where allowed); with --xenstat every domain's CPU time
 * and vif counters (xenstat, collectors/xenstat.h). Runs
 * until --duration has passed or SIGTERM/SIGINT/SIGHUP arrive, then takes
 * the final readings and exits 0. */
#include "cli/commands.h"
#include "collectors/perf.h"
#include "collectors/procstat.h"
#include "collectors/sampleline.h"
#include "collectors/xenstat.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "testbed/testbed.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_IF 8
#define MAX_PID 8
#define MAX_CPUS 1024

static const char collect_usage[] =
	"usage: lrokit collect [--iface IF]... [--pid PID]... [--interval MS] [--duration SEC]\n"
	"                      [--no-perf] [--xenstat]\n"
	"Sample /proc/stat (every CPU), the interfaces' counters, the processes' CPU time\n"
	"and the TCP/IP counters; write one JSON line per value on stdout:\n"
	"  {\"t_ns\":...,\"source\":\"iface\",\"key\":\"eth1.rx_bytes\",\"value\":...}\n"
	"Counters are cumulative as read. Runs until --duration (default: until\n"
	"SIGTERM, SIGINT or SIGHUP), then takes the final readings. For remote hosts:\n"
	"`ssh HOST lrokit collect --iface eth1` needs nothing but ssh.\n"
	"  --iface IF      an interface of this network namespace (repeatable)\n"
	"  --pid PID       a process to follow (repeatable)\n"
	"  --interval MS   sampling period (default 100)\n"
	"  --duration SEC  stop after SEC seconds (default 0: until a signal)\n"
	"  --no-perf       no CPU counters (default: cycles and instructions per CPU,\n"
	"                  system-wide, where the PMU and perf_event_paranoid allow;\n"
	"                  otherwise one note on stderr and their software stand-ins)\n"
	"  --xenstat       on a Xen dom0: per-domain CPU time and vif counters through\n"
	"                  libxenstat (exit 3 when not on Xen)\n";

static volatile sig_atomic_t stop;

static void on_stop(int s)
{
	stop = s;
}

static const char *const cpu_fields[] = {"user", "nice", "system", "idle", "iowait", "irq",
					 "softirq", "steal", "guest"};

static void sample_cpus(uint64_t t, double tick_ns)
{
	static struct lk_cpustat c[MAX_CPUS + 1];
	int n = 0;
	if (lk_procstat_read_cpus(NULL, c, MAX_CPUS + 1, &n, NULL) < 0)
		return;
	for (int i = 1; i < n; i++) {
		const uint64_t v[] = {c[i].user, c[i].nice, c[i].system, c[i].idle, c[i].iowait,
				      c[i].irq, c[i].softirq, c[i].steal, c[i].guest};
		char key[64];
		for (int k = 0; k < (int)(sizeof v / sizeof v[0]) && k < c[i].ncols; k++) {
			snprintf(key, sizeof key, "cpu%d.%s_ns", c[i].cpu, cpu_fields[k]);
			lk_sampleline_write(stdout, t, "procstat", key, (double)v[k] * tick_ns);
		}
		snprintf(key, sizeof key, "cpu%d.busy_ns", c[i].cpu);
		lk_sampleline_write(stdout, t, "procstat", key, (double)lk_cpustat_busy(&c[i]) * tick_ns);
	}
}

static void sample_ifaces(uint64_t t, int fd, char **ifs, int nif)
{
	struct lk_ifstat st[256];
	int n = 0;
	if (fd < 0 || lk_netdev_read_fd(fd, "/proc/net/dev", st, 256, &n, NULL) < 0)
		return;
	for (int i = 0; i < nif; i++) {
		const struct lk_ifstat *s = lk_netdev_find(st, n, ifs[i]);
		if (!s)
			continue;
		const struct { const char *k; uint64_t v; } f[] = {
			{"rx_bytes", s->rx_bytes}, {"rx_packets", s->rx_packets}, {"rx_errs", s->rx_errs},
			{"rx_drop", s->rx_drop}, {"tx_bytes", s->tx_bytes}, {"tx_packets", s->tx_packets},
			{"tx_errs", s->tx_errs}, {"tx_drop", s->tx_drop}};
		for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
			char key[128];
			snprintf(key, sizeof key, "%s.%s", ifs[i], f[k].k);
			lk_sampleline_write(stdout, t, "iface", key, (double)f[k].v);
		}
	}
}

static void sample_pids(uint64_t t, const int *pids, int npid, double tick_ns)
{
	for (int i = 0; i < npid; i++) {
		struct lk_pidstat ps;
		if (lk_procstat_read_pid(NULL, pids[i], &ps, NULL) < 0)
			continue;
		char key[64];
		snprintf(key, sizeof key, "%d.utime_ns", pids[i]);
		lk_sampleline_write(stdout, t, "pid", key, (double)ps.utime * tick_ns);
		snprintf(key, sizeof key, "%d.stime_ns", pids[i]);
		lk_sampleline_write(stdout, t, "pid", key, (double)ps.stime * tick_ns);
	}
}

/* Per-CPU system-wide counters; NULL entries where nothing could be opened. */
static struct lk_perf_evlist **perf_open(int ncpu)
{
	struct lk_perf_evlist **el = calloc((size_t)ncpu, sizeof *el);
	bool said = false;
	for (int c = 0; el && c < ncpu; c++) {
		struct lk_err e = {0};
		el[c] = lk_perf_evlist_new();
		struct lk_perf_target t = {.pid = -1, .cpu = c};
		if (!el[c] || lk_perf_evlist_add(el[c], "cycles", true, &e) < 0 ||
		    lk_perf_evlist_add(el[c], "instructions", false, &e) < 0 ||
		    lk_perf_evlist_open(el[c], &t, &e) <= 0) {
			if (!said)
				cli_warn("collect: perf on cpu%d: %s", c, e.msg[0] ? e.msg : "nothing opened");
			said = true;
			lk_perf_evlist_free(el[c]);
			el[c] = NULL;
			continue;
		}
		for (size_t i = 0; !said && i < lk_perf_evlist_nr(el[c]); i++) {
			const struct lk_perf_evsel *ev = lk_perf_evlist_evsel(el[c], i);
			if (ev->reason[0]) {
				cli_warn("collect: perf %s: %s", ev->name, ev->reason);
				said = true;
			}
		}
		lk_perf_evlist_enable(el[c]);
	}
	return el;
}

static void sample_perf(uint64_t t, struct lk_perf_evlist **el, int ncpu)
{
	for (int c = 0; el && c < ncpu; c++) {
		if (!el[c] || lk_perf_evlist_read(el[c], NULL) < 0)
			continue;
		for (size_t i = 0; i < lk_perf_evlist_nr(el[c]); i++) {
			const struct lk_perf_evsel *ev = lk_perf_evlist_evsel(el[c], i);
			if (ev->state != LK_PERF_OPEN || !ev->counts.counted)
				continue;
			char key[64];
			snprintf(key, sizeof key, "cpu%d.%s", c, ev->name);
			lk_sampleline_write(stdout, t, "perf", key, ev->counts.scaled);
		}
	}
}

static void xs_sample(void *ctx, uint64_t t_ns, const char *key, double value)
{
	(void)ctx;
	lk_sampleline_write(stdout, t_ns, "xenstat", key, value);
}

static void sample_xenstat(uint64_t t, struct lk_xs *xs)
{
	static struct lk_xs_snap snap;
	if (!xs || lk_xs_take(xs, &snap, NULL) < 0)
		return;
	snap.t_ns = t; /* the lines' clock: CLOCK_REALTIME */
	lk_xs_map_samples(&snap, xs_sample, NULL);
}

static void sample_snmp(uint64_t t)
{
	static const char *const f[][2] = {{"Tcp", "OutSegs"}, {"Tcp", "RetransSegs"},
					   {"Ip", "InReceives"}, {"Ip", "OutRequests"}};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		unsigned long long v;
		char key[64];
		/* our own namespace, by its file */
		if (lk_tb_snmp("/proc/self/ns/net", f[i][0], f[i][1], &v) < 0)
			continue;
		snprintf(key, sizeof key, "%s.%s", f[i][0], f[i][1]);
		lk_sampleline_write(stdout, t, "snmp", key, (double)v);
	}
}

int cmd_collect(int argc, char **argv)
{
	char *ifs[MAX_IF];
	int pids[MAX_PID], nif = 0, npid = 0;
	long interval_ms = 100;
	double duration = 0;
	bool perf = true, xen = false;
	static const struct option lo[] = {
		{"iface", required_argument, 0, 'i'}, {"pid", required_argument, 0, 'p'},
		{"interval", required_argument, 0, 'I'}, {"duration", required_argument, 0, 'd'},
		{"no-perf", no_argument, 0, 'P'}, {"xenstat", no_argument, 0, 'X'},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:p:h", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (nif == MAX_IF)
				return cli_usage_err("collect: at most %d --iface", MAX_IF);
			ifs[nif++] = optarg;
			break;
		case 'p': {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || npid == MAX_PID)
				return cli_usage_err("collect: bad --pid '%s' (at most %d)", optarg, MAX_PID);
			pids[npid++] = (int)v;
			break;
		}
		case 'I':
			interval_ms = strtol(optarg, &end, 10);
			if (*end || interval_ms < 10 || interval_ms > 60000)
				return cli_usage_err("collect: --interval wants 10..60000 ms, not '%s'", optarg);
			break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || !(duration >= 0) || duration > 86400)
				return cli_usage_err("collect: bad --duration '%s'", optarg);
			break;
		case 'P': perf = false; break;
		case 'X': xen = true; break;
		case 'h': fputs(collect_usage, stdout); return 0;
		default: fputs(collect_usage, stderr); return LK_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_err("collect: unexpected argument '%s'", argv[optind]);
	struct lk_err e = {0};
	int fd = -1;
	if (nif && (fd = lk_netdev_open(NULL, &e)) < 0) {
		cli_err("collect: %s", e.msg);
		return LK_EXIT_RUNTIME;
	}
	struct lk_ifstat st[256];
	int n = 0;
	for (int i = 0; i < nif; i++)
		if (lk_netdev_read_fd(fd, "/proc/net/dev", st, 256, &n, &e) < 0 ||
		    !lk_netdev_find(st, n, ifs[i])) {
			cli_err("collect: no interface '%s' here", ifs[i]);
			close(fd);
			return LK_EXIT_RUNTIME;
		}
	struct lk_xs *xs = NULL;
	if (xen && !(xs = lk_xs_open(&e))) {
		cli_err("collect: --xenstat: %s", e.msg);
		if (fd >= 0)
			close(fd);
		return LK_EXIT_MISSING;
	}
	int ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
	struct lk_perf_evlist **el = perf && ncpu > 0 ? perf_open(ncpu) : NULL;
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	double tick_ns = 1e9 / (double)lk_procstat_clk_tck();
	uint64_t t0 = lk_mono_ns(), next = t0, step = (uint64_t)interval_ms * 1000000u;
	sample_snmp(lk_real_ns());
	for (bool last = false;;) {
		uint64_t t = lk_real_ns();
		sample_cpus(t, tick_ns);
		sample_ifaces(t, fd, ifs, nif);
		sample_pids(t, pids, npid, tick_ns);
		sample_perf(t, el, ncpu);
		sample_xenstat(t, xs);
		if (last)
			break;
		if (fflush(stdout) != 0 || ferror(stdout))
			break; /* the reader is gone */
		/* on a grid of absolute deadlines, so that the time a sample takes
		 * does not stretch the interval; ticks already missed are skipped,
		 * not made up in a burst. A signal ends the sleep (EINTR). */
		uint64_t now = lk_mono_ns();
		do
			next += step;
		while (next <= now);
		struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		last = stop || (duration > 0 && (double)(lk_mono_ns() - t0) / 1e9 >= duration);
	}
	sample_snmp(lk_real_ns());
	if (fd >= 0)
		close(fd);
	for (int i = 0; el && i < ncpu; i++)
		lk_perf_evlist_free(el[i]);
	free(el);
	lk_xs_close(xs);
	return fflush(stdout) == 0 ? 0 : LK_EXIT_RUNTIME;
}
