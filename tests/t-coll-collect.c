/* t-coll-collect: a whole collection session around a real transfer between two
 * network namespaces (sender pinned to CPU 0, receiver to CPU 1), written to a
 * fresh database, then checked: per-component counters (cycles/instructions
 * NULL with the reason when the PMU refuses them, software CPU times present),
 * consistency (sum of component CPU time <= wall x CPUs; the receiving CPU's
 * /proc/stat busy time >= the CPU time of the components pinned to it, within
 * the tick resolution of /proc/stat), interface deltas, samples at 100 ms,
 * TCP_INFO samples, captures ingested with their drop counts, and the single
 * "not on Xen" row; then a starved capture (tiny buffer, full frames, a
 * consumer stalled behind a FIFO until the transfer ends) whose drops must be
 * flagged. Needs root (skips otherwise). The same checks on
 * `lrokit run` rows: tests/t-coll-run.sh.
 */
#include "collectors/collect.h"
#include "lib/proc.h"
#include "schema/db.h"
#include "testbed/xfer.h"
#include "tests/tap.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char nsa[32], nsb[32], tmpdir[256];
static char failed[1024]; /* the last setup command that failed */
static bool made;

static void cleanup(void)
{
	if (!made)
		return;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "ip netns pids %s 2>/dev/null | xargs -r kill -9 2>/dev/null; "
		 "ip netns pids %s 2>/dev/null | xargs -r kill -9 2>/dev/null; "
		 "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", nsa, nsb, nsa, nsb);
	if (system(cmd)) {
	}
	made = false;
	if (tmpdir[0] && !getenv("LK_KEEP")) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd)) {
		}
	}
}

static void on_sig(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		snprintf(failed, sizeof failed, "%s", cmd);
	return rc == 0 ? 0 : -1;
}

static int setup(uint64_t rate_bps)
{
	snprintf(nsa, sizeof nsa, "lkc%da", (int)getpid());
	snprintf(nsb, sizeof nsb, "lkc%db", (int)getpid());
	atexit(cleanup);
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	if (sh("ip netns add %s && ip netns add %s", nsa, nsb))
		return -1;
	made = true;
	if (sh("ip -n %s link add va type veth peer name vb netns %s", nsa, nsb) ||
	    sh("ip -n %s addr add 10.77.0.1/24 dev va && ip -n %s link set va up && ip -n %s link set lo up",
	       nsa, nsa, nsa) ||
	    sh("ip -n %s addr add 10.77.0.2/24 dev vb && ip -n %s link set vb up && ip -n %s link set lo up",
	       nsb, nsb, nsb) ||
	    sh("ip netns exec %s ethtool -K va tso off gso off >/dev/null 2>&1", nsa))
		return -1;
	if (rate_bps &&
	    sh("tc -n %s qdisc add dev va root tbf rate %llubit burst 256kb latency 100ms", nsa,
	       (unsigned long long)rate_bps))
		return -1;
	return 0;
}

static int enter(const char *ns, int cpu)
{
	if (lk_netns_enter(ns, NULL, NULL) < 0)
		return -1;
	if (cpu >= 0) {
		cpu_set_t s;
		CPU_ZERO(&s);
		CPU_SET(cpu, &s);
		sched_setaffinity(0, sizeof s, &s);
	}
	return 0;
}

/* Child: wait for the go byte, then run one side of the transfer. */
static pid_t side(bool sender, int cpu, uint64_t bytes, int go_fd, int out_fd)
{
	pid_t p = fork();
	if (p != 0)
		return p;
	if (enter(sender ? nsa : nsb, cpu) < 0)
		_exit(3);
	struct lk_xfer_opts o = {.host = sender ? "10.77.0.2" : NULL, .port = "5301", .bytes = bytes,
				 .seed = 7, .sample_ms = 10, .timeout_s = 60, .connect_timeout_s = 10};
	char c;
	if (read(go_fd, &c, 1) != 1)
		_exit(4);
	struct lk_xfer_result r;
	memset(&r, 0, sizeof r);
	struct lk_err e = {0};
	int rc = sender ? lk_xfer_send(&o, &r, &e) : lk_xfer_recv(&o, &r, &e);
	if (rc < 0)
		fprintf(stderr, "t-coll-collect %s: %s\n", sender ? "send" : "recv", e.msg);
	if (out_fd >= 0) {
		if (write(out_fd, &r.goodput_bps, sizeof r.goodput_bps) < 0)
			_exit(5);
		if (write(out_fd, &r.start_ns, sizeof r.start_ns) < 0)
			_exit(5);
		for (size_t i = 0; i < r.n_samples; i++)
			if (write(out_fd, &r.samples[i], sizeof r.samples[i]) < 0)
				_exit(5);
	}
	_exit(rc < 0 ? 1 : 0);
}

struct run_out {
	double goodput;
	int64_t run_id;
	sqlite3 *db;
	struct lk_coll_summary sum;
	int ok;
	int ntcpi;
};

/* A stalled capture consumer: the receiver capture's file (PATH.part while
 * capturing, see livecap.c) is a FIFO whose reader reads nothing until the
 * transfer is over, so the capture thread blocks in its write after a pipe
 * buffer's worth, the kernel ring (capture_buffer) fills and the kernel
 * drops the rest: a capture drop on every run, whatever the machine's speed.
 * Then the reader copies the stream to PATH.copy, which replaces the FIFO
 * (renamed to PATH by lk_coll_finish) before the ingest. */
struct stall {
	char fifo[600], copy[600];
	int go[2];
	pthread_t th;
	long long bytes;
};

static void *stall_reader(void *arg)
{
	struct stall *st = arg;
	st->bytes = -1;
	int in = open(st->fifo, O_RDONLY); /* until the capture opens it */
	if (in < 0)
		return NULL;
	char c, buf[65536];
	int out = -1;
	if (read(st->go[0], &c, 1) == 1)
		out = open(st->copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;
	long long total = 0;
	while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			break;
		total += n;
	}
	if (out >= 0 && close(out) == 0)
		st->bytes = total;
	close(in);
	return NULL;
}

static int one_run(bool collect, uint64_t bytes, struct run_out *ro, const char *dbpath, int capbuf,
		   int snaplen, struct stall *stall)
{
	memset(ro, 0, sizeof *ro);
	int go_s[2], go_r[2], res[2];
	if (pipe(go_s) || pipe(go_r) || pipe(res))
		return -1;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int rcpu = ncpu >= 2 ? 1 : 0;
	pid_t rp = side(false, rcpu, bytes, go_r[0], -1);
	pid_t sp = side(true, 0, bytes, go_s[0], res[1]);
	close(res[1]);
	struct lk_err e = {0};
	struct lk_coll *c = NULL;
	if (stall) {
		char path[500];
		snprintf(path, sizeof path, "%.300s/run1-receiver.pcap", tmpdir);
		snprintf(stall->fifo, sizeof stall->fifo, "%s.part", path);
		snprintf(stall->copy, sizeof stall->copy, "%s.copy", path);
		unlink(path);
		unlink(stall->fifo);
		if (mkfifo(stall->fifo, 0600) < 0 || pipe(stall->go) < 0 ||
		    pthread_create(&stall->th, NULL, stall_reader, stall) != 0) {
			kill(rp, SIGKILL);
			kill(sp, SIGKILL);
			waitpid(rp, NULL, 0);
			waitpid(sp, NULL, 0);
			return -1;
		}
	}
	if (collect) {
		struct lk_coll_cfg cfg = {.dir = tmpdir, .run_id = 1, .capture_buffer = capbuf, .snaplen = snaplen};
		c = lk_coll_start(&cfg, &e);
		if (!c || lk_coll_add_component(c, "domU/receiver", rp, rcpu, &e) < 0 ||
		    lk_coll_add_component(c, "sender", sp, 0, &e) < 0 ||
		    lk_coll_add_iface(c, "sender:va", nsa, "va", &e) < 0 ||
		    lk_coll_add_iface(c, "receiver:vb", nsb, "vb", &e) < 0 ||
		    lk_coll_add_capture(c, "sender", nsa, "va", "tcp port 5301", &e) < 0 ||
		    lk_coll_add_capture(c, "receiver", nsb, "vb", "tcp port 5301", &e) < 0) {
			fprintf(stderr, "collect: %s\n", e.msg);
			kill(rp, SIGKILL);
			kill(sp, SIGKILL);
			waitpid(rp, NULL, 0);
			waitpid(sp, NULL, 0);
			if (c)
				lk_coll_abort(c);
			return -1;
		}
	}
	if (write(go_r[1], "g", 1) != 1 || write(go_s[1], "g", 1) != 1)
		return -1;
	uint64_t start_ns = 0;
	if (read(res[0], &ro->goodput, sizeof ro->goodput) != sizeof ro->goodput ||
	    read(res[0], &start_ns, sizeof start_ns) != sizeof start_ns)
		ro->goodput = -1;
	struct lk_tcpi_sample s;
	while (read(res[0], &s, sizeof s) == sizeof s) {
		ro->ntcpi++;
		if (c) {
			lk_coll_tcpinfo(c, start_ns + s.t_ns, "cwnd", s.cwnd);
			lk_coll_tcpinfo(c, start_ns + s.t_ns, "rtt_us", s.rtt_us);
			lk_coll_tcpinfo(c, start_ns + s.t_ns, "delivery_rate", (double)s.delivery_rate);
		}
	}
	close(res[0]);
	int st_r, st_s;
	/* As lrokit run does: wait for both to exit but leave them unreaped
	 * (zombies keep /proc/PID/stat), take the collectors' final readings,
	 * then reap. Reaping first would lose every reading after the last
	 * 100 ms sample, and a short transfer would have fewer than two. */
	siginfo_t si;
	waitid(P_PID, (id_t)sp, &si, WEXITED | WNOWAIT);
	waitid(P_PID, (id_t)rp, &si, WEXITED | WNOWAIT);
	if (stall && write(stall->go[1], "g", 1) != 1)
		diag("stalled capture: cannot wake the reader");
	if (c)
		lk_coll_finish(c);
	if (stall) { /* the FIFO, now at the capture's final path, makes way for the copy */
		pthread_join(stall->th, NULL);
		close(stall->go[0]);
		close(stall->go[1]);
		char path[500];
		snprintf(path, sizeof path, "%.300s/run1-receiver.pcap", tmpdir);
		if (stall->bytes < 0 || rename(stall->copy, path) < 0)
			diag("stalled capture: no copy of the stream (%lld bytes)", stall->bytes);
	}
	waitpid(sp, &st_s, 0);
	waitpid(rp, &st_r, 0);
	ro->ok = WIFEXITED(st_s) && WEXITSTATUS(st_s) == 0 && WIFEXITED(st_r) && WEXITSTATUS(st_r) == 0;
	for (int i = 0; i < 2; i++) {
		close(go_s[i]);
		close(go_r[i]);
	}
	if (!collect)
		return 0;
	if (lk_db_open(dbpath, &ro->db, &e) < 0) {
		fprintf(stderr, "db: %s\n", e.msg);
		lk_coll_abort(c);
		return -1;
	}
	char sql[256];
	snprintf(sql, sizeof sql, "INSERT INTO runs(config, status, started_ns) VALUES ('native','ok',%llu)",
		 (unsigned long long)start_ns);
	if (lk_db_exec(ro->db, sql, "insert run", &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		lk_coll_abort(c);
		return -1;
	}
	ro->run_id = sqlite3_last_insert_rowid(ro->db);
	if (lk_coll_stop(c, ro->db, ro->run_id, &ro->sum, &e) < 0) {
		fprintf(stderr, "stop: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* One value from SQL; *isnull set when NULL or no row. */
static double q(sqlite3 *db, bool *isnull, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static double q(sqlite3 *db, bool *isnull, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	sqlite3_stmt *st;
	double v = 0;
	bool nul = true;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
			v = sqlite3_column_double(st, 0);
			nul = false;
		}
		sqlite3_finalize(st);
	} else {
		diag("bad SQL %s: %s", sql, sqlite3_errmsg(db));
	}
	if (isnull)
		*isnull = nul;
	return v;
}

static char *qs(sqlite3 *db, char *buf, size_t n, const char *sql)
{
	sqlite3_stmt *st;
	buf[0] = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	return buf;
}

int main(void)
{
	if (geteuid() != 0)
		skip_all("needs root (network namespaces, perf per CPU, capture)");
	snprintf(tmpdir, sizeof tmpdir, "/tmp/lkcoll.XXXXXX");
	if (!mkdtemp(tmpdir))
		skip_all("cannot make a temp dir");
	if (setup(0) < 0) {
		char why[1200];
		snprintf(why, sizeof why, "setup step failed: %s", failed);
		skip_all(why);
	}
	char dbp[300];
	snprintf(dbp, sizeof dbp, "%s/t.db", tmpdir);
	struct run_out ro;
	int rc = one_run(true, 48ull << 20, &ro, dbp, 0, 0, NULL);
	ok(rc == 0 && ro.ok, "transfer with all collectors on, rows written");
	if (rc < 0 || !ro.db)
		return done_testing();
	sqlite3 *db = ro.db;
	int64_t id = ro.run_id;
	diag("goodput %.2f Gbit/s, %d counters, %d samples, %d captures; notes: %s", ro.goodput / 1e9,
	     ro.sum.counters, ro.sum.samples, ro.sum.captures, ro.sum.notes);
	bool nul;
	/* which branch is decided by the machine, not by the result */
	bool pmu = access("/sys/bus/event_source/devices/cpu", F_OK) == 0 ||
		   access("/sys/bus/event_source/devices/cpu_core", F_OK) == 0;
	const char *comps[] = {"sender", "domU/receiver"};
	for (int i = 0; i < 2; i++) {
		const char *cp = comps[i];
		double n = q(db, NULL, "SELECT count(*) FROM counters WHERE run_id=%lld AND component='%s' "
			     "AND event IN ('cycles','instructions')", (long long)id, cp);
		is_int((long long)n, 2, "%s: cycles and instructions rows", cp);
		char note[512], sql[256];
		snprintf(sql, sizeof sql, "SELECT coalesce(note,'') FROM counters WHERE run_id=%lld AND "
			 "component='%s' AND event='cycles'", (long long)id, cp);
		qs(db, note, sizeof note, sql);
		double cyc = q(db, &nul, "SELECT value FROM counters WHERE run_id=%lld AND component='%s' "
			       "AND event='cycles'", (long long)id, cp);
		if (!pmu) {
			ok(nul && note[0] && strstr(note, "fallback: task-clock"),
			   "%s: cycles NULL with the reason and the fallback: %s", cp, note);
			skip("hardware PMU present: %s: cycles counted (cycles NULL here: %s)", cp, note);
		} else {
			ok(!nul && cyc > 0, "%s: cycles counted (hardware PMU present)", cp);
			skip("no hardware PMU: %s: cycles NULL with the reason (this machine counts cycles)", cp);
		}
		double tc = q(db, &nul, "SELECT value FROM counters WHERE run_id=%lld AND component='%s' "
			      "AND event='task-clock' AND source='sw'", (long long)id, cp);
		ok(!nul && tc > 1e6, "%s: task-clock present (%.1f ms)", cp, tc / 1e6);
		double pc = q(db, &nul, "SELECT value FROM counters WHERE run_id=%lld AND component='%s' "
			      "AND event='cpu_ns' AND source='procstat'", (long long)id, cp);
		/* both count the same process from its registration to its exit:
		 * /proc in 10 ms ticks (kernel-scaled), perf in ns */
		ok(!nul && pc > 0 && fabs(pc - tc) <= 20e6 + 0.25 * tc,
		   "%s: /proc/PID/stat CPU time present (%.1f ms) and agrees with task-clock "
		   "(%.1f ms) within 2 ticks + 25%%", cp, pc / 1e6, tc / 1e6);
	}
	double wall = q(db, NULL, "SELECT value FROM counters WHERE run_id=%lld AND component='run' AND "
			"event='wall_ns'", (long long)id);
	double ncpus = q(db, NULL, "SELECT value FROM counters WHERE run_id=%lld AND component='run' AND "
			 "event='ncpus'", (long long)id);
	/* leaf components have a pid row; domain sums ("domU") do not */
	double sumtc = q(db, NULL, "SELECT sum(value) FROM counters WHERE run_id=%lld AND "
			 "event='task-clock' AND component IN (SELECT component FROM counters WHERE "
			 "run_id=%lld AND event='pid')", (long long)id, (long long)id);
	double agg = q(db, &nul, "SELECT value FROM counters WHERE run_id=%lld AND component='domU' AND "
		       "event='task-clock'", (long long)id);
	double leaf = q(db, NULL, "SELECT value FROM counters WHERE run_id=%lld AND "
			"component='domU/receiver' AND event='task-clock'", (long long)id);
	ok(!nul && agg == leaf, "domain sum row 'domU' = sum of its parts (%.1f ms)", agg / 1e6);
	double aggc = q(db, &nul, "SELECT count(*) FROM counters WHERE run_id=%lld AND component='domU' AND "
			"event='cycles' AND value IS NULL AND note LIKE '%%sum of domU/receiver%%'", (long long)id);
	ok(aggc == 1, "domain sum of a NULL event is NULL with the reason");
	ok(sumtc > 0 && sumtc <= wall * ncpus, "sum of component task-clock %.1f ms <= wall %.1f ms x %.0f CPUs",
	   sumtc / 1e6, wall / 1e6, ncpus);
	double tick = 1e9 / q(db, NULL, "SELECT value FROM counters WHERE run_id=%lld AND component='run' "
			      "AND event='clk_tck'", (long long)id);
	int rcpu = ncpus >= 2 ? 1 : 0;
	double busy = q(db, &nul, "SELECT value FROM counters WHERE run_id=%lld AND component='cpu%d' AND "
			"event='busy_ns'", (long long)id, rcpu);
	double pinned = q(db, NULL, "SELECT sum(c.value) FROM counters c JOIN counters p ON "
			  "p.run_id=c.run_id AND p.component=c.component AND p.event='pinned_cpu' AND "
			  "p.value=%d WHERE c.run_id=%lld AND c.event='task-clock'", rcpu, (long long)id);
	/* /proc/stat charges whole ticks: allow 2 ticks per pinned component */
	ok(!nul && busy + 2 * tick >= pinned,
	   "cpu%d busy %.1f ms (+2 ticks) >= CPU time of components pinned to it %.1f ms", rcpu,
	   busy / 1e6, pinned / 1e6);
	double sb = q(db, NULL, "SELECT sum(value) FROM counters WHERE run_id=%lld AND component LIKE "
		      "'cpu_%%' AND event='busy_ns'", (long long)id);
	ok(sb <= wall * ncpus * 1.02 + ncpus * tick, "busy time of all CPUs <= wall x CPUs");
	double rxb = q(db, NULL, "SELECT value FROM counters WHERE run_id=%lld AND "
		       "component='receiver:vb' AND event='rx_bytes'", (long long)id);
	ok(rxb >= 48.0 * (1 << 20), "receiver interface rx_bytes %.0f >= payload", rxb);
	double txp = q(db, NULL, "SELECT value FROM counters WHERE run_id=%lld AND "
		       "component='sender:va' AND event='tx_packets'", (long long)id);
	ok(txp >= 48.0 * (1 << 20) / 1500, "sender tx_packets %.0f: MTU-sized segments", txp);
	double ns = q(db, NULL, "SELECT count(DISTINCT t_ns) FROM samples WHERE run_id=%lld AND "
		      "source='procstat' AND key='cpu0.user_ns'", (long long)id);
	ok(ns >= 2 && ns >= wall / 100e6 - 2, "procstat sampled every 100 ms (%.0f samples in %.0f ms)", ns,
	   wall / 1e6);
	double ifs = q(db, NULL, "SELECT count(*) FROM samples WHERE run_id=%lld AND source='iface' AND "
		       "key='receiver:vb.rx_bytes'", (long long)id);
	ok(ifs >= 2, "interface samples (%.0f)", ifs);
	double ti = q(db, NULL, "SELECT count(*) FROM samples WHERE run_id=%lld AND source='tcpinfo' AND "
		      "key='cwnd'", (long long)id);
	ok(ti == ro.ntcpi && ti > 0, "TCP_INFO samples stored (%.0f)", ti);
	double nx = q(db, NULL, "SELECT count(*) FROM counters WHERE run_id=%lld AND source='xenstat'",
		      (long long)id);
	if (access("/dev/xen/privcmd", F_OK) != 0 && access("/proc/xen/privcmd", F_OK) != 0) {
		char note[512];
		qs(db, note, sizeof note, "SELECT note FROM counters WHERE source='xenstat' AND value IS NULL");
		ok(nx == 1 && strstr(note, "not on Xen"), "one 'not on Xen' row: %s", note);
		skip("real Xen: xenstat rows on Xen (not on Xen here)");
	} else {
		ok(nx > 1, "xenstat rows on Xen");
		skip("not on Xen: one 'not on Xen' row (this is Xen)");
	}
	double caps = q(db, NULL, "SELECT count(*) FROM captures WHERE run_id=%lld AND drops IS NOT NULL "
			"AND packets > 0", (long long)id);
	is_int((long long)caps, 2, "two captures ingested with packets and a drop count");
	double cpk = q(db, NULL, "SELECT packets FROM captures WHERE run_id=%lld AND point='sender'",
		       (long long)id);
	double cct = q(db, NULL, "SELECT value FROM counters WHERE run_id=%lld AND component='sender' AND "
		       "event='capture_packets'", (long long)id);
	ok(cpk == cct && cpk > 0, "ingested packets = packets written (%.0f)", cpk);
	double snap = q(db, NULL, "SELECT max(snaplen) FROM captures WHERE run_id=%lld", (long long)id);
	is_int((long long)snap, 128, "snaplen 128");
	diag("capture drops (unlimited rate): %llu", (unsigned long long)ro.sum.capture_drops);
	lk_db_close(db);

	/* a starved capture (tiny kernel buffer, full frames, and a consumer that
	 * cannot write until the transfer is over, see struct stall): the kernel
	 * drops, and the run must be flagged */
	struct run_out r2;
	struct stall stall;
	snprintf(dbp, sizeof dbp, "%s/t2.db", tmpdir);
	rc = one_run(true, 48ull << 20, &r2, dbp, 1, 65535, &stall);
	ok(rc == 0 && r2.ok, "transfer with a starved capture");
	if (rc == 0 && r2.db) {
		double d = q(r2.db, NULL, "SELECT sum(value) FROM counters WHERE event='capture_kernel_drops'");
		double dc = q(r2.db, NULL, "SELECT sum(drops) FROM captures");
		double fl = q(r2.db, NULL, "SELECT count(*) FROM counters WHERE event='capture_kernel_drops' "
			      "AND value > 0 AND note LIKE 'DROPS%%' AND component='receiver'");
		ok(d > 0 && r2.sum.drops_flagged && fl == 1 && dc == d,
		   "the stalled receiver capture dropped (%.0f) and the drops are flagged in the summary, "
		   "the counter note and captures.drops (%.0f)", d, dc);
		lk_db_close(r2.db);
	} else {
		ok(0, "the stalled receiver capture dropped and the drops are flagged (no run)");
	}
	return done_testing();
}
