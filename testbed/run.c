/* testbed/run.c - one run: testbed, transfer, collectors, run record (see run.h). */
#include "testbed/run.h"
#include "collectors/collect.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/proc.h"
#include "lib/record.h"
#include "lib/version.h"
#include "schema/db.h"
#include "schema/runrec.h"
#include "testbed/xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


struct snmp_snap {
	unsigned long long snd_out, snd_tcp_out, rcv_in, rcv_tcp_out, snd_retrans;
	bool ok;
};

/* The transfer's progress estimate: the receiver namespace's counters at
 * the start of the transfer, and when the last report went out. */
struct xfer_base {
	uint64_t t0_ns, last_ns;
	unsigned long long octets, segs;
	bool ok;
};

struct run {
	const struct lk_run_opts *o;
	struct lk_run_result *r;
	struct lk_testbed tb;
	struct lk_runrec rec;
	struct lk_coll *coll;
	char exe[1024];
	char path_recv[256], path_send[256], path_tcpi[256];
	pid_t rpid, spid, cap_s, cap_r;
	int rstat, sstat;
	int timeout;             /* seconds the workload is given */
	struct snmp_snap s0, s1;
	struct xfer_base xb;
	double busy0, busy_t0;   /* receiving CPU at the transfer's start (cpu_busy) */
};

__attribute__((format(printf, 3, 4)))
static void say(const struct run *x, enum lk_run_msg level, const char *fmt, ...)
{
	if (!x->o->message)
		return;
	char m[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	x->o->message(x->o->ctx, level, m);
}

/* Record why the run failed (the first reason wins); returns -1. */
__attribute__((format(printf, 2, 3)))
static int fail(struct run *x, const char *fmt, ...)
{
	if (x->r->error[0])
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->r->error, sizeof x->r->error, fmt, ap);
	va_end(ap);
	return -1;
}

static int stop_signal(const struct run *x)
{
	return x->o->stop ? (int)*x->o->stop : 0;
}

static void phase(const struct run *x, const char *name, long long bytes, uint64_t elapsed_ns)
{
	if (!x->o->progress)
		return;
	struct lk_progress p = {.bytes = bytes, .elapsed_ns = elapsed_ns};
	snprintf(p.phase, sizeof p.phase, "%s", name);
	x->o->progress(x->o->ctx, &p);
}

static bool rcv_counters(const char *ns, unsigned long long *oct, unsigned long long *segs)
{
	return lk_tb_snmp(ns, "IpExt", "InOctets", oct) == 0 && lk_tb_snmp(ns, "Tcp", "InSegs", segs) == 0;
}

/* Transfer progress. when: 0 the transfer starts (baseline), 1 during it (at
 * most 4 reports a second), 2 it has ended (one last reading). bytes =
 * IpExt InOctets - 52 x Tcp InSegs (IPv4 + TCP with timestamps, one header
 * per packet handed to IP, aggregates included) since the start; the run
 * record's goodput comes from the receiver itself. */
static void xfer_progress(struct run *x, int when)
{
	if (!x->o->progress)
		return;
	struct xfer_base *b = &x->xb;
	uint64_t now = lk_mono_ns();
	unsigned long long oct, segs;
	if (when == 0) {
		b->t0_ns = b->last_ns = now;
		b->ok = rcv_counters(x->tb.ns_rcv, &b->octets, &b->segs);
		phase(x, "transfer", 0, 0);
		return;
	}
	if (!b->ok || (when == 1 && now - b->last_ns < 250000000ull) ||
	    !rcv_counters(x->tb.ns_rcv, &oct, &segs))
		return;
	b->last_ns = now;
	long long payload = (long long)(oct - b->octets) - 52LL * (long long)(segs - b->segs);
	phase(x, "transfer", payload > 0 ? payload : 0, now - b->t0_ns);
}

static void snmp_snap(const struct lk_testbed *tb, struct snmp_snap *s)
{
	s->ok = lk_tb_snmp(tb->ns_snd, "Ip", "OutRequests", &s->snd_out) == 0 &&
		lk_tb_snmp(tb->ns_snd, "Tcp", "OutSegs", &s->snd_tcp_out) == 0 &&
		lk_tb_snmp(tb->ns_snd, "Tcp", "RetransSegs", &s->snd_retrans) == 0 &&
		lk_tb_snmp(tb->ns_rcv, "Ip", "InReceives", &s->rcv_in) == 0 &&
		lk_tb_snmp(tb->ns_rcv, "Tcp", "OutSegs", &s->rcv_tcp_out) == 0;
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

/* --no-collect with a capture directory: tcpdump writes FINAL.part;
 * finish_capture renames it to FINAL once tcpdump has exited, so a run
 * killed mid-way never leaves a half-written FINAL. */
static pid_t start_capture(const char *ns, const char *final, struct lk_err *e)
{
	char path[600], snap[16], tcpdump[4096];
	snprintf(path, sizeof path, "%s.part", final);
	snprintf(snap, sizeof snap, "%d", LK_RUN_SNAPLEN);
	if (lk_which("tcpdump", tcpdump, sizeof tcpdump) < 0)
		return lk_errf(e, LK_EXIT_MISSING, "--capture needs tcpdump (not found)");
	char *argv[] = {tcpdump, "-i", "eth0", "-s", snap, "-U", "-n", "-w", path, "tcp", NULL};
	struct lk_spawn_opts so = {.netns = ns, .cpu = -1, .die_with_parent = true,
				   .stdout_path = "", .stderr_path = ""};
	pid_t p = lk_spawn(argv, &so, e);
	if (p < 0)
		return -1;
	for (int i = 0; i < 300; i++) { /* wait until tcpdump has the file open */
		struct stat st;
		if (stat(path, &st) == 0 && st.st_size >= 24)
			return p;
		if (waitpid(p, NULL, WNOHANG) == p)
			return lk_errf(e, LK_EXIT_RUNTIME, "tcpdump in %s exited at start", ns);
		usleep(10000);
	}
	return p;
}

static void finish_capture(const struct run *x, pid_t *p, const char *final)
{
	if (*p <= 0)
		return;
	stop_child(*p, SIGINT);
	*p = -1;
	char part[600];
	snprintf(part, sizeof part, "%s.part", final);
	if (rename(part, final) < 0)
		say(x, LK_RUN_WARN, "run: capture %s: %s", part, strerror(errno));
}

/* ---- collectors ---- */

/* Where the captures go: the capture directory, else the database's. */
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

/* What the collectors watch in a testbed. Components are named by domain
 * ("dom0/nic" ...) so the counters also get per-domain sums ("dom0",
 * "domU"), the names the xenstat collector uses on a real Xen host. */
static int coll_setup(const struct run *x, struct lk_err *e)
{
	static const char *const sname[LK_TB_NSTAGES] = {"dom0/nic", "dom0/netback", "domU/netfront"};
	const struct lk_testbed *tb = &x->tb;
	bool full = tb->cfg->full_path;
	for (int i = 0; full && i < LK_TB_NSTAGES; i++)
		if (tb->stage_pid[i] > 0 &&
		    lk_coll_add_component(x->coll, sname[i], tb->stage_pid[i], tb->cpu_recv, e) < 0)
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
		if (lk_coll_add_iface(x->coll, ifs[i].label, ifs[i].ns, ifs[i].ifname, &ie) < 0)
			say(x, LK_RUN_WARN, "run: collectors: %s", ie.msg); /* the run goes on */
	}
	const char *filter = "tcp port " LK_XFER_PORT;
	if (lk_coll_add_capture(x->coll, "sender", tb->ns_snd, "eth0", filter, e) < 0 ||
	    lk_coll_add_capture(x->coll, "receiver", tb->ns_rcv, "eth0", filter, e) < 0)
		return -1;
	return 0;
}

static int coll_start(struct run *x)
{
	struct lk_err e = {0};
	char cdir[1024];
	coll_dir(cdir, sizeof cdir, x->o->capture_dir, x->o->db);
	/* capture threads on the sender's CPU: the receiving CPU is the measured one */
	struct lk_coll_cfg ccfg = {.dir = cdir, .run_id = x->rec.run_id, .snaplen = LK_RUN_SNAPLEN,
				   .pin_capture = x->tb.cpu_send >= 0, .capture_cpu = x->tb.cpu_send};
	if (!(x->coll = lk_coll_start(&ccfg, &e)) || coll_setup(x, &e) < 0)
		return fail(x, "collectors: %s", e.msg);
	snprintf(x->r->capture_sender, sizeof x->r->capture_sender, "%.450s/run%" PRId64
		 "-sender.pcap", cdir, x->rec.run_id);
	snprintf(x->r->capture_receiver, sizeof x->r->capture_receiver, "%.450s/run%" PRId64
		 "-receiver.pcap", cdir, x->rec.run_id);
	return 0;
}

static void coll_stop(struct run *x)
{
	if (!x->coll)
		return;
	struct lk_err e = {0};
	struct lk_coll_summary cs;
	phase(x, "ingest", -1, 0);
	int64_t id = x->rec.run_id;
	if (lk_coll_stop(x->coll, x->rec.db, id, &cs, &e) < 0)
		say(x, LK_RUN_WARN, "run %" PRId64 ": collectors: %s", id, e.msg);
	x->coll = NULL;
	/* runs.capture_drops: sum of the captures' kernel drops, NULL unknown */
	if (lk_db_set_capture_drops(x->rec.db, id, &e) == -1)
		say(x, LK_RUN_WARN, "run %" PRId64 ": %s", id, e.msg);
	if (cs.drops_flagged)
		say(x, LK_RUN_WARN, "run %" PRId64 ": the captures dropped %llu packets: capture "
		    "incomplete (flagged in runs.capture_drops)", id,
		    (unsigned long long)cs.capture_drops);
	if (cs.notes[0])
		say(x, LK_RUN_STATUS, "collectors: %s", cs.notes);
}

/* ---- the transfer ---- */

static int setup(struct run *x)
{
	struct lk_err e = {0};
	struct lk_testbed *tb = &x->tb;
	say(x, LK_RUN_STATUS, "building testbed %s (%s)", tb->prefix, tb->cfg->name);
	if (lk_tb_up(tb, &e) < 0)
		return fail(x, "testbed: %s", e.msg);
	snprintf(x->path_recv, sizeof x->path_recv, "%s/recv.result", tb->statedir);
	snprintf(x->path_send, sizeof x->path_send, "%s/send.result", tb->statedir);
	snprintf(x->path_tcpi, sizeof x->path_tcpi, "%s/tcpinfo.csv", tb->statedir);
	if (lk_self_exe(x->exe, sizeof x->exe, &e) < 0)
		return fail(x, "%s", e.msg);
	if (!x->o->no_collect && coll_start(x) < 0)
		return -1;
	const char *capdir = x->o->capture_dir;
	if (capdir && x->o->no_collect) {
		struct lk_run_result *r = x->r;
		snprintf(r->capture_sender, sizeof r->capture_sender, "%.450s/run%" PRId64
			 "-sender.pcap", capdir, x->rec.run_id);
		snprintf(r->capture_receiver, sizeof r->capture_receiver, "%.450s/run%" PRId64
			 "-receiver.pcap", capdir, x->rec.run_id);
		if ((x->cap_s = start_capture(tb->ns_snd, r->capture_sender, &e)) < 0 ||
		    (x->cap_r = start_capture(tb->ns_rcv, r->capture_receiver, &e)) < 0)
			return fail(x, "capture: %s", e.msg);
	}
	snmp_snap(tb, &x->s0);
	return 0;
}

/* `lrokit recv` in the receiver's namespace; returns once it listens. It
 * writes its result to a file (lk_xfer_result_write). */
static int start_receiver(struct run *x, const char *tmo)
{
	struct lk_testbed *tb = &x->tb;
	struct lk_err e = {0};
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return fail(x, "receiver: pipe: %s", strerror(errno));
	char rfd[16];
	snprintf(rfd, sizeof rfd, "%d", ready[1]);
	char *a[16];
	int n = 0;
	a[n++] = x->exe; a[n++] = "recv"; a[n++] = "--result"; a[n++] = x->path_recv;
	a[n++] = "--ready-fd"; a[n++] = rfd;
	a[n++] = "-B"; a[n++] = LK_TB_RECV_ADDR; a[n++] = "--timeout"; a[n++] = (char *)tmo;
	if (lk_model_on(&x->o->model, LK_M_GUEST_QUICKACK))
		a[n++] = "--quickack";
	a[n] = NULL;
	struct lk_spawn_opts so = {.netns = tb->ns_rcv, .cpu = tb->cpu_recv,
				   .die_with_parent = true, .stdout_path = "",
				   .keep_fds = &ready[1], .n_keep = 1};
	x->rpid = lk_spawn(a, &so, &e);
	close(ready[1]);
	if (x->rpid < 0) {
		close(ready[0]);
		return fail(x, "receiver: %s", e.msg);
	}
	if (x->coll && lk_coll_add_component(x->coll, tb->cfg->full_path ? "domU/receiver" : "receiver",
					     x->rpid, tb->cpu_recv, &e) < 0)
		say(x, LK_RUN_WARN, "run: collectors: %s", e.msg);
	/* the sender starts once the receiver listens (no refused first SYN in
	 * the captures); EOF without a byte: the receiver failed, and says why
	 * in its result */
	struct pollfd pf = {.fd = ready[0], .events = POLLIN};
	if (poll(&pf, 1, 10000) == 0)
		say(x, LK_RUN_WARN, "run: the receiver did not report listening within 10 s");
	close(ready[0]);
	return 0;
}

/* `lrokit send` in the sender's namespace, sampling TCP_INFO into a CSV. */
static int start_sender(struct run *x, const char *tmo)
{
	const struct lk_run_opts *o = x->o;
	struct lk_testbed *tb = &x->tb;
	struct lk_err e = {0};
	char nb[32], mssarg[16];
	snprintf(nb, sizeof nb, "%" PRIu64, o->bytes);
	snprintf(mssarg, sizeof mssarg, "%d", o->mss);
	char *a[24];
	int n = 0;
	a[n++] = x->exe; a[n++] = "send"; a[n++] = LK_TB_RECV_ADDR; a[n++] = "--result";
	a[n++] = x->path_send; a[n++] = "--bytes"; a[n++] = nb; a[n++] = "--timeout"; a[n++] = (char *)tmo;
	a[n++] = "--tcpinfo"; a[n++] = x->path_tcpi;
	if (o->cc) {
		a[n++] = "--cc";
		a[n++] = (char *)o->cc;
	}
	if (o->mss) {
		a[n++] = "--mss";
		a[n++] = mssarg;
	}
	a[n] = NULL;
	struct lk_spawn_opts so = {.netns = tb->ns_snd, .cpu = tb->cpu_send, .die_with_parent = true,
				   .stdout_path = ""};
	if ((x->spid = lk_spawn(a, &so, &e)) < 0)
		return fail(x, "sender: %s", e.msg);
	if (x->coll && lk_coll_add_component(x->coll, "sender", x->spid, tb->cpu_send, &e) < 0)
		say(x, LK_RUN_WARN, "run: collectors: %s", e.msg);
	say(x, LK_RUN_STATUS, "transferring %" PRIu64 " bytes", o->bytes);
	return 0;
}

/* Busy time of the receiving CPU (user+nice+system+irq+softirq+steal
 * jiffies of /proc/stat) over the transfer: when 0 at its start, 1 at its
 * end (r->recv_cpu_share = busy / wall). Anything else on that CPU counts. */
static void cpu_busy(struct run *x, int when)
{
	int cpu = x->tb.cpu_recv;
	FILE *f = cpu >= 0 ? fopen("/proc/stat", "r") : NULL;
	if (!f)
		return;
	char line[512], name[16];
	snprintf(name, sizeof name, "cpu%d ", cpu);
	unsigned long long v[8] = {0};
	bool found = false;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, name, strlen(name)) &&
		    sscanf(line + strlen(name), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
			found = true;
			break;
		}
	fclose(f);
	if (!found)
		return;
	double hz = (double)sysconf(_SC_CLK_TCK);
	double busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
	double now = (double)lk_mono_ns() / 1e9;
	if (when == 0) {
		x->busy0 = busy;
		x->busy_t0 = now;
	} else if (x->busy_t0 > 0 && now > x->busy_t0) {
		x->r->recv_cpu_share = (busy - x->busy0) / (now - x->busy_t0);
	}
}

static int start_workload(struct run *x)
{
	x->timeout = (int)(60 + x->o->bytes * 8 / 100000000ull);
	char tmo[16];
	snprintf(tmo, sizeof tmo, "%d", x->timeout);
	if (start_receiver(x, tmo) < 0)
		return -1;
	xfer_progress(x, 0); /* the baseline, before the sender starts */
	cpu_busy(x, 0);
	return start_sender(x, tmo);
}

/* Has p exited? Leaves it unreaped (a zombie), so the collectors' final
 * reading still finds its /proc/PID/stat. */
static bool exited(pid_t p)
{
	siginfo_t si;
	si.si_pid = 0;
	return p > 0 && waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == p;
}

/* Until sender and receiver have exited, a stage died, the deadline passed
 * or the caller said stop; then the final readings. */
static void wait_workload(struct run *x)
{
	struct lk_testbed *tb = &x->tb;
	uint64_t deadline = lk_mono_ns() + (uint64_t)(x->timeout + 10) * 1000000000ull;
	bool r_done = false, s_done = false;
	while ((!r_done || !s_done) && !stop_signal(x) && lk_mono_ns() < deadline) {
		bool change = false;
		if (!r_done && exited(x->rpid))
			r_done = change = true;
		if (!s_done && exited(x->spid))
			s_done = change = true;
		/* a dead stage means a broken path: stop early */
		for (int i = 0; i < LK_TB_NSTAGES; i++)
			if (tb->stage_pid[i] > 0 && waitpid(tb->stage_pid[i], NULL, WNOHANG) == tb->stage_pid[i]) {
				tb->stage_pid[i] = 0;
				fail(x, "%s stage died during the transfer", lk_stage_name(i));
			}
		if (x->r->error[0])
			break;
		xfer_progress(x, 1);
		if (!change)
			usleep(5000);
	}
	xfer_progress(x, 2);
	cpu_busy(x, 1);
	if (x->coll && (r_done || s_done))
		lk_coll_finish(x->coll); /* final readings, exited children still visible */
	if (r_done) {
		struct rusage ru;
		if (wait4(x->rpid, &x->rstat, 0, &ru) == x->rpid)
			x->r->receiver_cpu_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ull +
						(uint64_t)ru.ru_utime.tv_usec * 1000 +
						(uint64_t)ru.ru_stime.tv_sec * 1000000000ull +
						(uint64_t)ru.ru_stime.tv_usec * 1000;
		x->rpid = -1;
	}
	if (s_done) {
		waitpid(x->spid, &x->sstat, 0);
		x->spid = -1;
	}
	if (stop_signal(x))
		fail(x, "interrupted by signal %d", stop_signal(x));
	else if (x->rpid > 0 || x->spid > 0)
		fail(x, "transfer did not finish within %d s", x->timeout + 10);
	stop_child(x->spid, SIGKILL);
	stop_child(x->rpid, SIGKILL);
	x->spid = x->rpid = -1;
	if (x->coll)
		lk_coll_finish(x->coll); /* final readings at the end of the transfer */
	snmp_snap(tb, &x->s1);
}

/* Everything stops and goes away; the stages write their counters on SIGTERM. */
static void teardown(struct run *x)
{
	struct lk_err e = {0};
	phase(x, "teardown", -1, 0);
	stop_child(x->spid, SIGKILL);
	stop_child(x->rpid, SIGKILL);
	finish_capture(x, &x->cap_s, x->r->capture_sender);
	finish_capture(x, &x->cap_r, x->r->capture_receiver);
	if (x->coll)
		lk_coll_finish(x->coll); /* before the interfaces go away */
	if (lk_tb_down(&x->tb, &e) < 0)
		say(x, LK_RUN_WARN, "teardown of %s: %s", x->tb.prefix, e.msg);
}

/* ---- the run record ---- */

static void store_snmp(struct run *x)
{
	const struct snmp_snap *s0 = &x->s0, *s1 = &x->s1;
	struct lk_run_result *r = x->r;
	r->retrans_segs = s1->snd_retrans - s0->snd_retrans;
	r->receiver_out_segs = s1->rcv_tcp_out - s0->rcv_tcp_out;
	r->sender_out_segs = s1->snd_tcp_out - s0->snd_tcp_out;
	if (!s0->ok || !s1->ok || s1->rcv_in <= s0->rcv_in)
		return;
	double segs = (double)r->sender_out_segs, pk = (double)(s1->rcv_in - s0->rcv_in);
	r->lro_rate = segs / pk;
	lk_runrec_counter(&x->rec, "sender", "ip_out_requests", (double)(s1->snd_out - s0->snd_out),
			  "packets", "snmp", NULL);
	lk_runrec_counter(&x->rec, "sender", "tcp_out_segs", segs, "packets", "snmp",
			  "segments on the wire (TSO/GSO off): numerator of lro_rate");
	lk_runrec_counter(&x->rec, "sender", "tcp_retrans_segs", (double)r->retrans_segs,
			  "packets", "snmp", NULL);
	lk_runrec_counter(&x->rec, "receiver", "ip_in_receives", pk, "packets", "snmp",
			  "packets delivered to the receiver's IP layer: denominator of lro_rate");
	lk_runrec_counter(&x->rec, "receiver", "tcp_out_segs", (double)r->receiver_out_segs,
			  "packets", "snmp", "segments the receiver sent: ACKs (+ handshake, verdict)");
	lk_runrec_counter(&x->rec, "run", "recv_cpu_share", r->recv_cpu_share, "fraction", "procstat",
			  "busy share of the receiving CPU during the transfer (all its work)");
	if (r->receiver_cpu_ns)
		lk_runrec_counter(&x->rec, "receiver", "rusage_cpu_ns", (double)r->receiver_cpu_ns, "ns",
				  "procstat", "the receiver process's CPU time (getrusage at exit)");
}

/* A model counter of a stage: the value, or NULL with a note when the stage
 * cannot count it in this configuration. */
static void model_counter(struct run *x, const char *stage, const char *event, uint64_t v,
			  const char *unit, bool applies, const char *why_not)
{
	lk_runrec_counter(&x->rec, stage, event, applies ? (double)v : NAN, unit, "stage",
			  applies ? NULL : why_not);
}

/* One stage's counters: every scalar of lk_stage_dir_fields per direction
 * ("rx_frames_in", ...), its histograms (stage_hist), the model's evidence
 * and drops (counters at the stage that counts them), the emulator's own
 * drops, the LRO engine's counters. Returns the stage's drops. */
static double store_stage(struct run *x, int i, const struct lk_stage_stats *st)
{
	const char *name = lk_stage_name(i);
	const struct lk_model *m = &x->o->model;
	const struct lk_stage_dir_stats *dirs[2] = {&st->rx, &st->tx};
	const struct lk_stage_model_stats *ms = &st->m;
	char ev[96];
	double drops = 0;
	for (int d = 0; d < 2; d++) {
		const char *dn = d ? "tx" : "rx";
		for (const struct lk_rec_field *f = lk_stage_dir_fields; f->name; f++) {
			if (f->type != LK_REC_U64 || f->count != 1)
				continue;
			snprintf(ev, sizeof ev, "%s_%s", dn, f->name);
			lk_runrec_counter(&x->rec, name, ev, lk_rec_num(f, dirs[d], 0), NULL, "stage", NULL);
		}
		for (int b = 0; b < LK_HIST_FPP; b++)
			lk_runrec_hist(&x->rec, name, dn, "frames_per_poll", b + 1, dirs[d]->fpp[b]);
		for (int b = 0; b < LK_HIST_SPA; b++)
			lk_runrec_hist(&x->rec, name, dn, "segs_per_aggr", b + 1, dirs[d]->spa[b]);
		drops += (double)dirs[d]->drops;
	}
	bool nic = i == LK_STAGE_NIC, nb = i == LK_STAGE_NETBACK, nf = i == LK_STAGE_NETFRONT;
	if (nic || nf)
		model_counter(x, name, "irqs", ms->irqs, "events", true, NULL);
	if (nb) {
		bool q = lk_model_int(m, LK_M_VIF_QLEN) > 0;
		model_counter(x, name, "queue_full_events", ms->queue_full_events, "events", true, NULL);
		model_counter(x, name, "drops_vif_queue", ms->drops_vif_queue, "packets", q,
			      "vif.qlen=0: no vif queue modelled, frames wait in the TAP");
		model_counter(x, name, "drops_netback", ms->drops_netback, "packets", q,
			      "vif.qlen=0: the queue never times out, netback does not drop");
		drops += (double)(ms->drops_vif_queue + ms->drops_netback);
	}
	if (nic) {
		model_counter(x, name, "drops_nic_ring", ms->drops_nic_ring, "frames",
			      lk_model_int(m, LK_M_NIC_RING) > 0, "nic.ring=0: unbounded, cannot drop");
		model_counter(x, name, "wire_delay_ns", ms->wire_delay_ns, "ns", true,
			      NULL);
		bool timed = m->v[LK_M_NIC_RX_USECS] > 0 || m->v[LK_M_WIRE_RATE] > 0;
		model_counter(x, name, "late_ns", ms->late_ns, "ns", timed,
			      "no wire rate and no interrupt moderation: the NIC is not timed");
		drops += (double)ms->drops_nic_ring;
	}
	model_counter(x, name, "idle_ns", ms->idle_ns, "ns", true, NULL);
	if (nf) {
		model_counter(x, name, "desched_ns", ms->desched_ns, "ns", true, NULL);
		model_counter(x, name, "posts", ms->posts, "events", true, NULL);
		model_counter(x, name, "late_ns", ms->late_ns, "ns", m->v[LK_M_GUEST_WAKE_US] > 0,
			      "guest.wake_us=0: the guest's polls are not timed");
	}
	lk_runrec_counter(&x->rec, name, "cpu_user_ns", (double)st->cpu_user_ns, "ns", "stage",
			  "the stage process's user CPU time (emulator cost)");
	lk_runrec_counter(&x->rec, name, "cpu_sys_ns", (double)st->cpu_sys_ns, "ns", "stage",
			  "the stage process's system CPU time (emulator cost)");
	lk_runrec_counter(&x->rec, name, "ctx_switches", (double)(st->ctx_voluntary + st->ctx_involuntary),
			  "events", "stage", "context switches of the stage process");
	double td = st->tap_queue_drops >= 0 ? (double)st->tap_queue_drops : NAN;
	lk_runrec_counter(&x->rec, name, "wire_drops", (double)st->wire_drops, NULL, "stage",
			  "AF_PACKET receive drops (nic stage: the emulator fell behind the wire)");
	lk_runrec_counter(&x->rec, name, "tap_queue_drops", td, NULL, "stage",
			  "kernel drops on the stage's TAP queue (the emulator fell behind)");
	drops += (double)st->wire_drops + td;
	if (!st->rx.lro)
		return drops;
	const char *policy = x->o->lro_policy ? x->o->lro_policy : "linux";
	for (const struct lk_rec_field *f = lk_stage_lro_fields; f->name; f++)
		if (f->count == 1)
			lk_runrec_lro(&x->rec, name, policy, f->name, lk_rec_num(f, &st->rx.lro_stats, 0));
	lk_runrec_lro(&x->rec, name, policy, "lro_rate", lro_rate(&st->rx.lro_stats));
	return drops;
}

/* Every model parameter of the run (model_params). */
static void store_model(struct run *x)
{
	size_t n;
	const struct lk_model_param *t = lk_model_params(&n);
	const struct lk_model *m = &x->o->model;
	for (size_t i = 0; i < n; i++)
		lk_runrec_model(&x->rec, t[i].key, m->v[i], t[i].unit, m->origin[i]);
}

/* The sender's TCP_INFO series (t_ns: since the connection was up, made
 * absolute with the sender's start time). */
static void store_tcpinfo(struct run *x, uint64_t t0)
{
	FILE *tf = fopen(x->path_tcpi, "r");
	if (!tf)
		return;
	char line[512];
	if (!fgets(line, sizeof line, tf))
		line[0] = 0;
	while (fgets(line, sizeof line, tf)) {
		struct lk_tcpi_sample s;
		if (lk_rec_csv_parse(line, lk_tcpi_fields, &s) < 0)
			continue;
		for (const struct lk_rec_field *f = lk_tcpi_fields + 1; f->name; f++)
			lk_runrec_sample(&x->rec, t0 + s.t_ns, "tcpinfo", f->name, lk_rec_num(f, &s, 0));
	}
	fclose(tf);
}

static bool exit_ok(int st)
{
	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void store(struct run *x)
{
	struct lk_run_result *r = x->r;
	struct lk_err e = {0};
	struct lk_xfer_result rres, sres;
	bool have_r = lk_xfer_result_read(x->path_recv, &rres, &e) == 0;
	bool have_s = lk_xfer_result_read(x->path_send, &sres, &e) == 0;
	for (int i = 0; x->tb.cfg->full_path && i < LK_TB_NSTAGES; i++) {
		errno = 0;
		r->have_stage[i] = lk_stage_stats_read(x->tb.stats_path[i], &r->stage[i], &e) == 0;
		if (!r->have_stage[i] && errno != ENOENT)
			say(x, LK_RUN_WARN, "run: %s", e.msg);
	}
	r->verified = have_r && rres.verified;
	bool rok = exit_ok(x->rstat) && r->verified, sok = exit_ok(x->sstat);
	if (!rok || !sok) {
		const char *who = !rok ? "receiver" : "sender";
		const struct lk_xfer_result *res = !rok ? &rres : &sres;
		int st = !rok ? x->rstat : x->sstat;
		if ((!rok ? have_r : have_s) && res->error[0])
			fail(x, "%s: %s", who, res->error);
		else
			fail(x, "%s failed (exit status %d)", who, st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	lk_runrec_tx(&x->rec, "BEGIN");
	if (rok) {
		r->bytes = rres.bytes;
		r->goodput_bps = rres.goodput_bps;
	}
	store_snmp(x);
	store_model(x);
	/* stage drops: known when every stage of the path reported; a path
	   without stages (native) drops nothing there, runs.stage_drops NULL */
	r->drops = 0;
	for (int i = 0; x->tb.cfg->full_path && i < LK_TB_NSTAGES; i++)
		r->drops += r->have_stage[i] ? store_stage(x, i, &r->stage[i]) : NAN;
	if (lk_runrec_stage_drops(&x->rec, x->tb.cfg->full_path ? r->drops : NAN, &e) < 0)
		say(x, LK_RUN_WARN, "run: %s", e.msg);
	/* the timed stages: the NIC's interrupts, the guest's wake-ups */
	static const struct {
		int stage;
		const char *what;
	} timed[] = {{LK_STAGE_NIC, "the NIC stage took its interrupts"},
		     {LK_STAGE_NETFRONT, "netfront started its polls"}};
	for (size_t i = 0; i < sizeof timed / sizeof timed[0]; i++) {
		const struct lk_stage_model_stats *nm = &r->stage[timed[i].stage].m;
		if (r->have_stage[timed[i].stage] && nm->irqs &&
		    nm->late_ns / nm->irqs > LK_MODEL_LATE_WARN_NS)
			say(x, LK_RUN_WARN, "run %" PRId64 ": %s %.0f us late on average: the host "
			    "was too busy to keep the model's time (counters late_ns, irqs)",
			    x->rec.run_id, timed[i].what, (double)nm->late_ns / (double)nm->irqs / 1e3);
	}
	store_tcpinfo(x, have_s ? sres.start_ns : 0);
	r->signal = stop_signal(x);
	if (rok && sok && !r->error[0])
		r->status = "ok";
	else if (r->signal)
		r->status = "aborted"; /* whatever failed, a signal stopped us (e.g. during setup) */
	if (lk_runrec_finish(&x->rec, r->status, lk_real_ns(), r->bytes, r->goodput_bps, r->lro_rate,
			     x->tb.offloads, r->error[0] ? r->error : NULL, &e) < 0)
		say(x, LK_RUN_WARN, "run: %s", e.msg);
	lk_runrec_tx(&x->rec, "COMMIT");
}

/* runs.params: the run's settings as JSON. */
static char *params_json(const struct run *x)
{
	const struct lk_run_opts *o = x->o;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return NULL;
	fputs("{\"config\":", f);
	lk_json_str(f, o->cfg->name);
	fprintf(f, ",\"bytes\":%" PRIu64 ",\"rate_bps\":%" PRIu64 ",\"quickack\":%s,\"cc\":", o->bytes,
		o->rate_bps, lk_model_on(&o->model, LK_M_GUEST_QUICKACK) ? "true" : "false");
	lk_json_str(f, o->cc ? o->cc : "");
	fprintf(f, ",\"mss\":%d,\"lro_policy\":", o->mss);
	lk_json_str(f, o->lro_policy ? o->lro_policy : "linux");
	fprintf(f, ",\"cpu_send\":%d,\"cpu_recv\":%d,\"model\":", x->tb.cpu_send, x->tb.cpu_recv);
	lk_model_json(f, &o->model);
	fputs(",\"prefix\":", f);
	lk_json_str(f, x->tb.prefix);
	fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int lk_run(const struct lk_run_opts *o, struct lk_run_result *r, struct lk_err *e)
{
	memset(r, 0, sizeof *r);
	r->status = "failed";
	r->goodput_bps = r->lro_rate = r->drops = r->recv_cpu_share = NAN;
	if (lk_model_check(&o->model, e) < 0)
		return -1;
	if (o->capture_dir && mkdir(o->capture_dir, 0755) < 0 && errno != EEXIST)
		return lk_errf(e, LK_EXIT_RUNTIME, "capture directory '%s': %s", o->capture_dir,
			       strerror(errno));
	struct run x = {.o = o, .r = r, .rpid = -1, .spid = -1, .cap_s = -1, .cap_r = -1,
			.rstat = -1, .sstat = -1};
	phase(&x, "setup", -1, 0);
	struct lk_err se = {0};
	int stale = lk_tb_reap_stale(&se);
	if (stale < 0)
		say(&x, LK_RUN_WARN, "removing leftovers of killed runs: %s", se.msg);
	else if (stale > 0)
		say(&x, LK_RUN_NOTE, "removed %d namespace(s) left by killed runs", stale);

	struct lk_testbed *tb = &x.tb;
	tb->cfg = o->cfg;
	snprintf(tb->prefix, sizeof tb->prefix, LK_TB_RUN_PREFIX "%d", (int)getpid());
	tb->rate_bps = o->rate_bps;
	tb->cpu_send = 0;
	tb->cpu_recv = 1;
	tb->lro_policy = o->lro_policy;
	tb->model = o->model;
	lk_tb_names(tb);
	snprintf(r->prefix, sizeof r->prefix, "%s", tb->prefix);

	char *params = params_json(&x);
	struct lk_runrec_info ri = {.config = o->cfg->name, .cmdline = o->cmdline,
				 .tool_version = lk_version, .params = params,
				 .started_ns = lk_real_ns(), .bytes = o->bytes,
				 .rate_limit_bps = o->rate_bps, .profile = o->profile,
				 .sweep_key = o->sweep_key, .sweep_value = o->sweep_value};
	int rc = lk_runrec_begin(&x.rec, o->db, &ri, e);
	free(params);
	if (rc < 0)
		return -1;
	r->run_id = x.rec.run_id;
	if (setup(&x) == 0 && start_workload(&x) == 0)
		wait_workload(&x);
	teardown(&x);
	store(&x);
	coll_stop(&x);
	lk_runrec_close(&x.rec);
	lk_tb_rm_statedir(tb);
	return 0;
}

/* Disk a run leaves: its two captures (sender's wire, receiver's interface)
 * and their rows in the database. Each GiB moved is N = 2^30 / 1448
 * full-sized segments (MTU 1500 with TCP timestamps); a capture holds at
 * most every data segment (no aggregation before the capture point, as in
 * native and xen) and an ACK for every second one, each record a 16-byte
 * pcap header plus min(snaplen, frame) bytes (data: snaplen, ACK: 66). The
 * database holds one packets row per captured segment (~64 bytes with its
 * share of the flows and sample rows, measured). So per GiB: 2 x (N x 144 +
 * N/2 x 82) = 274 MB of captures and 2 x 1.5 x N x 64 = 142 MB of database,
 * 416 MB in all; aggregating configurations (GRO, LRO) and receivers that
 * ACK less often need less (the quick profile's 18 GiB wrote 2.5 GB of
 * captures and a 1.06 GB database, 3.6 GB against 7.5 GB estimated). */
uint64_t lk_run_disk_estimate(uint64_t bytes)
{
	const double mss = 1448, ack_frame = 66, pcap_hdr = 16, row = 64;
	double n = (double)bytes / mss;
	double data_rec = pcap_hdr + LK_RUN_SNAPLEN, ack_rec = pcap_hdr + ack_frame;
	double captures = 2 * (n * data_rec + n / 2 * ack_rec);
	double database = 2 * 1.5 * n * row;
	return (uint64_t)(captures + database);
}

/* The run summary of `lrokit run --json` (one line). */
void lk_run_result_json(FILE *f, const struct lk_run_opts *o, const struct lk_run_result *r)
{
	fprintf(f, "{\"run_id\":%" PRId64 ",\"config\":", r->run_id);
	lk_json_str(f, o->cfg->name);
	fprintf(f, ",\"status\":\"%s\",\"bytes\":%" PRIu64 ",\"verified\":%s,\"goodput_bps\":", r->status,
	       r->bytes, r->verified ? "true" : "false");
	fprintf(f, r->goodput_bps == r->goodput_bps ? "%.0f" : "null", r->goodput_bps);
	fprintf(f, ",\"lro_rate\":");
	fprintf(f, r->lro_rate == r->lro_rate ? "%.4f" : "null", r->lro_rate);
	fprintf(f, ",\"drops\":");
	lk_json_num(f, r->drops);
	fprintf(f, ",\"retrans_segs\":%" PRIu64 ",\"receiver_out_segs\":%" PRIu64
	       ",\"sender_out_segs\":%" PRIu64 ",\"receiver_cpu_ns\":%" PRIu64 ",",
	       r->retrans_segs, r->receiver_out_segs, r->sender_out_segs, r->receiver_cpu_ns);
	fprintf(f, "\"recv_cpu_share\":");
	lk_json_num(f, r->recv_cpu_share);
	fprintf(f, ",\"stages\":{");
	const char *sep = "";
	for (int i = 0; i < LK_TB_NSTAGES; i++) {
		if (!r->have_stage[i])
			continue;
		const struct lk_stage_dir_stats *rx = &r->stage[i].rx, *tx = &r->stage[i].tx;
		double lr = rx->lro ? lro_rate(&rx->lro_stats) : NAN;
		fprintf(f, "%s\"%s\":{\"rx_frames_in\":%" PRIu64 ",\"rx_frames_out\":%" PRIu64
		       ",\"rx_polls\":%" PRIu64 ",\"tx_frames_in\":%" PRIu64 ",\"tx_frames_out\":%" PRIu64
		       ",\"tx_polls\":%" PRIu64 ",\"rx_drops\":%" PRIu64 ",\"tx_drops\":%" PRIu64
		       ",\"rx_last_error\":", sep, lk_stage_name(i), rx->frames_in, rx->frames_out,
		       rx->polls, tx->frames_in, tx->frames_out, tx->polls, rx->drops, tx->drops);
		lk_json_str(f, rx->last_error);
		fprintf(f, lr == lr ? ",\"lro_rate\":%.4f" : ",\"lro_rate\":null", lr);
		const struct lk_stage_stats *st = &r->stage[i];
		fprintf(f, ",\"rx_fpp_median\":%d,\"rx_spa_median\":%d,\"cpu_ns\":%" PRIu64
		       ",\"ctx_switches\":%" PRIu64 ",\"model\":",
		       lk_stage_hist_median(rx->fpp, LK_HIST_FPP),
		       lk_stage_hist_median(rx->spa, LK_HIST_SPA), st->cpu_user_ns + st->cpu_sys_ns,
		       st->ctx_voluntary + st->ctx_involuntary);
		lk_rec_json(f, lk_stage_model_fields, &r->stage[i].m);
		fprintf(f, "}");
		sep = ",";
	}
	fprintf(f, "},\"captures\":{\"sender\":");
	lk_json_str(f, r->capture_sender);
	fprintf(f, ",\"receiver\":");
	lk_json_str(f, r->capture_receiver);
	fprintf(f, "}");
	if (r->error[0]) {
		fprintf(f, ",\"error\":");
		lk_json_str(f, r->error);
	}
	fprintf(f, "}\n");
}
