/* testbed/testbed.c - namespaces, veth, bridge, stage processes. */
#define _FILE_OFFSET_BITS 64
#include "testbed/testbed.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/proc.h"
#include "testbed/stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void lk_tb_names(struct lk_testbed *tb)
{
	snprintf(tb->ns_snd, sizeof tb->ns_snd, "%s-snd", tb->prefix);
	if (tb->cfg->full_path) {
		snprintf(tb->ns_dom0, sizeof tb->ns_dom0, "%s-dom0", tb->prefix);
		snprintf(tb->ns_rcv, sizeof tb->ns_rcv, "%s-domU", tb->prefix);
	} else {
		/* the native path's wire (lk_tb_up) */
		snprintf(tb->ns_dom0, sizeof tb->ns_dom0, "%s-wire", tb->prefix);
		snprintf(tb->ns_rcv, sizeof tb->ns_rcv, "%s-rcv", tb->prefix);
	}
	snprintf(tb->statedir, sizeof tb->statedir, LK_TB_STATE_DIR "/%s", tb->prefix);
}

bool lk_tb_exists(const struct lk_testbed *tb)
{
	return lk_netns_exists(tb->ns_snd) || (tb->ns_dom0[0] && lk_netns_exists(tb->ns_dom0)) ||
	       lk_netns_exists(tb->ns_rcv);
}

#define CMD(...)                                                                      \
	do {                                                                          \
		if (lk_cmdl(e, __VA_ARGS__, (char *)NULL) < 0)                        \
			goto fail;                                                    \
	} while (0)

static int ns_sh(struct lk_err *e, const char *ns, const char *script)
{
	return lk_cmdl(e, "ip", "netns", "exec", ns, "sh", "-c", script, (char *)NULL);
}

/* Receive packet steering: dev's receive softirq work in namespace ns goes to
 * the CPUs of the hex mask cpus. */
static int set_rps(struct lk_err *e, const char *ns, const char *dev, const char *cpus)
{
	char script[160];
	snprintf(script, sizeof script, "echo %s > /sys/class/net/%s/queues/rx-0/rps_cpus", cpus,
		 dev);
	return ns_sh(e, ns, script);
}

/* "NSROLE/DEV":{"tcp-segmentation-offload":bool,...} from `ethtool -k`. */
static void offload_json(FILE *f, bool first, const char *ns, const char *dev)
{
	char out[8192], key[96];
	const char *argv[] = {"ip", "netns", "exec", ns, "ethtool", "-k", dev, NULL};
	if (lk_cmd_out(NULL, argv, out, sizeof out) < 0)
		return;
	static const char *keys[] = {"tcp-segmentation-offload", "generic-segmentation-offload",
				     "generic-receive-offload", "large-receive-offload",
				     "tx-checksumming", "rx-checksumming", NULL};
	snprintf(key, sizeof key, "%s/%s", strrchr(ns, '-') + 1, dev);
	if (!first)
		fputc(',', f);
	lk_json_str(f, key);
	fputs(":{", f);
	const char *sep = "";
	for (int i = 0; keys[i]; i++) {
		char *p = strstr(out, keys[i]);
		if (!p)
			continue;
		p += strlen(keys[i]);
		if (*p++ != ':')
			continue;
		while (*p == ' ')
			p++;
		fprintf(f, "%s\"%s\":%s", sep, keys[i], !strncmp(p, "on", 2) ? "true" : "false");
		sep = ",";
	}
	fputc('}', f);
}

/* tb->offloads: the offload settings of the testbed's interfaces as JSON. */
static void offloads(struct lk_testbed *tb)
{
	struct ifref {
		const char *ns, *dev;
	};
	const struct ifref full[] = {{tb->ns_snd, "eth0"}, {tb->ns_dom0, "peth0"}, {tb->ns_dom0, "pnic0"},
				     {tb->ns_dom0, "vif1.0"}, {tb->ns_rcv, "eth0"}};
	/* the native path's wire: its two ends (lk_tb_up) */
	const struct ifref native[] = {{tb->ns_snd, "eth0"}, {tb->ns_dom0, "w0"},
				       {tb->ns_dom0, "w1"}, {tb->ns_rcv, "eth0"}};
	const bool fp = tb->cfg->full_path;
	const size_t nif = fp ? sizeof full / sizeof full[0] : sizeof native / sizeof native[0];
	const struct ifref *ifs = fp ? full : native;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return;
	fputc('{', f);
	long at = ftell(f);
	for (size_t i = 0; i < nif; i++)
		if (ifs[i].ns[0])
			offload_json(f, ftell(f) == at, ifs[i].ns, ifs[i].dev);
	fputc('}', f);
	if (fclose(f) == 0)
		snprintf(tb->offloads, sizeof tb->offloads, "%s", buf);
	free(buf);
}

static int spawn_stage(struct lk_testbed *tb, int idx, const char *ns, char **args, int shm,
		       const int evt[4], struct lk_err *e)
{
	const char *name = lk_stage_name((enum lk_stage_kind)idx);
	char exe[1024], rfd[16], errpath[256];
	if (lk_self_exe(exe, sizeof exe, e) < 0)
		return -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "pipe: %s", strerror(errno));
	snprintf(rfd, sizeof rfd, "%d", p[1]);
	snprintf(tb->stats_path[idx], sizeof tb->stats_path[idx], "%s/%s.stats", tb->statedir,
		 name);
	snprintf(errpath, sizeof errpath, "%s/%s.err", tb->statedir, name);
	char *argv[32 + 2 * LK_MODEL_NPARAMS];
	int n = 0;
	argv[n++] = exe;
	argv[n++] = "stage";
	argv[n++] = (char *)name;
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	char kv[LK_MODEL_NPARAMS][96];
	for (int i = 0; i < LK_MODEL_NPARAMS; i++) {
		lk_model_format_kv(&tb->model, i, kv[i], sizeof kv[i]);
		argv[n++] = "--model";
		argv[n++] = kv[i];
	}
	argv[n++] = "--ready-fd";
	argv[n++] = rfd;
	argv[n++] = "--stats";
	argv[n++] = tb->stats_path[idx];
	argv[n] = NULL;
	int keep[6] = {p[1]};
	int nk = 1;
	if (shm >= 0) {
		keep[nk++] = shm;
		for (int i = 0; i < 4; i++)
			keep[nk++] = evt[i];
	}
	struct lk_spawn_opts so = {.netns = ns, .cpu = tb->cpu_recv,
				   .die_with_parent = !tb->persistent, .new_session = tb->persistent,
				   .stdout_path = "", .stderr_path = errpath, .keep_fds = keep,
				   .n_keep = nk};
	pid_t pid = lk_spawn(argv, &so, e);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	tb->stage_pid[idx] = pid;
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	char c = 0;
	int pr = poll(&pf, 1, 5000);
	ssize_t r = pr > 0 ? read(p[0], &c, 1) : 0;
	close(p[0]);
	if (r == 1 && c == 'R')
		return 0;
	char msg[300] = "";
	FILE *f = fopen(errpath, "r");
	if (f) {
		if (!fgets(msg, sizeof msg, f))
			msg[0] = 0;
		fclose(f);
		msg[strcspn(msg, "\n")] = 0;
	}
	return lk_errf(e, LK_EXIT_RUNTIME, "%s stage did not start%s%s", name,
		       msg[0] ? ": " : (pr == 0 ? " within 5 s" : ""), msg);
}

int lk_tb_up(struct lk_testbed *tb, struct lk_err *e)
{
	const struct lk_config *c = tb->cfg;
	for (int i = 0; i < LK_TB_NSTAGES; i++)
		tb->stage_pid[i] = 0;
	lk_tb_names(tb);
	tb->offloads[0] = 0;
	int shm = -1, evt[4] = {-1, -1, -1, -1};
	if (lk_tb_exists(tb))
		return lk_errf(e, LK_EXIT_RUNTIME, "testbed %s already exists (namespace %s)",
			       tb->prefix, tb->ns_snd);
	if (lk_mkdirs(tb->statedir, NULL) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "state directory %s: %s", tb->statedir,
			       strerror(errno));
	tb->up = true;
	char cpus[16], cpur[16];
	snprintf(cpus, sizeof cpus, "%x", tb->cpu_send >= 0 ? 1u << tb->cpu_send : 0u);
	snprintf(cpur, sizeof cpur, "%x", tb->cpu_recv >= 0 ? 1u << tb->cpu_recv : 0u);
	const char *rx = tb->ns_rcv, *tx = tb->ns_snd;

	CMD("ip", "netns", "add", tx);
	CMD("ip", "netns", "add", tb->ns_dom0);
	CMD("ip", "netns", "add", rx);
	const char *wire_ns = c->full_path ? tb->ns_dom0 : rx;
	const char *wire_if = c->full_path ? "peth0" : "eth0";
	if (c->full_path) {
		CMD("ip", "-n", tx, "link", "add", "eth0", "type", "veth", "peer", "name", wire_if,
		    "netns", wire_ns);
	} else {
		/* The native path's wire: sender eth0 == w0 [ns -wire] w1 == receiver
		   eth0. The sender's segments must leave its accounts where a
		   NIC would send them: when a segment is freed, its socket's
		   TCP small-queue completion runs, and from it the sender's
		   transmits and its tbf qdisc (whose watchdog timer then stays
		   on that CPU). A veth hands the receiver the sender's own skb,
		   freed by the receiver's kernel on the receiving CPU, so that
		   work ran there (at a tbf-limited rate, most of that CPU). In
		   the wire's namespace, on the sender's CPU (RPS), each frame is
		   mirrored (a clone: no socket, no copy of the data) to the far
		   side and the original dropped, i.e. freed there, as the full
		   path's NIC stage frees it when it takes the frame. Both ways,
		   at layer 2: nothing else about the frames changes. */
		const char *w = tb->ns_dom0;
		CMD("ip", "-n", tx, "link", "add", "eth0", "type", "veth", "peer", "name", "w0",
		    "netns", w);
		CMD("ip", "-n", w, "link", "add", "w1", "type", "veth", "peer", "name", "eth0",
		    "netns", rx);
		CMD("ip", "-n", w, "link", "set", "lo", "up");
		const char *wif[2] = {"w0", "w1"};
		for (int i = 0; i < 2; i++) {
			CMD("ip", "netns", "exec", w, "ethtool", "-K", wif[i], "gro", "off", "tx", "off",
			    "tso", "off", "gso", "off");
			CMD("tc", "-n", w, "qdisc", "add", "dev", wif[i], "clsact");
			/* u32 matching everything and mirred's own drop: no
			   matchall or gact needed (not in every kernel) */
			CMD("tc", "-n", w, "filter", "add", "dev", wif[i], "ingress", "protocol", "all",
			    "prio", "1", "u32", "match", "u32", "0", "0", "action", "mirred", "egress",
			    "mirror", "dev", wif[!i], "drop");
			CMD("ip", "-n", w, "link", "set", wif[i], "up");
			if (tb->cpu_send >= 0 && set_rps(e, w, wif[i], cpus) < 0)
				goto fail;
		}
	}
	/* sender: MTU-sized segments on the wire (TSO/GSO off), real checksums (TX
	 * checksum offload off), so the wire carries what a NIC would receive */
	CMD("ip", "netns", "exec", tx, "ethtool", "-K", "eth0", "tso", "off", "gso", "off", "tx",
	    "off", "gro", "off");
	CMD("ip", "-n", tx, "addr", "add", LK_TB_SEND_ADDR "/24", "dev", "eth0");
	CMD("ip", "-n", tx, "addr", "add", "fd77::1/64", "dev", "eth0", "nodad");
	CMD("ip", "-n", tx, "link", "set", "lo", "up");
	/* receive side: the wire end */
	CMD("ip", "netns", "exec", wire_ns, "ethtool", "-K", wire_if, "gro",
	    c->kernel_gro ? "on" : "off", "tx", "off", "tso", "off", "gso", "off");
	CMD("ip", "-n", wire_ns, "link", "set", "lo", "up");
	CMD("ip", "-n", wire_ns, "link", "set", wire_if, "up");
	/* the wire end's receive softirq: on the receiving CPU when it is the
	   receiver's own kernel (native); on the full path it is the NIC's DMA
	   into the rx descriptor ring (the AF_PACKET ring the NIC stage reads),
	   hardware work, so it runs on the sender's CPU, and with it the
	   sender's TCP small-queue completions and qdisc that the skb's release
	   there triggers: the receiving CPU carries dom0 and the guest only */
	const char *wcpu = c->full_path && tb->cpu_send >= 0 ? cpus : cpur;
	if (tb->cpu_recv >= 0 && set_rps(e, wire_ns, wire_if, wcpu) < 0)
		goto fail;
	if (tb->cpu_send >= 0 && set_rps(e, tx, "eth0", cpus) < 0)
		goto fail;
	double wire = tb->model.v[LK_M_WIRE_RATE];
	/* the sender's line rate, in modelled time: / time.dilation */
	uint64_t tbf = (uint64_t)((double)(tb->rate_bps ? tb->rate_bps : (uint64_t)wire) /
				  lk_model_dilation(&tb->model));
	if (tbf) {
		char rate[32];
		snprintf(rate, sizeof rate, "%llubit", (unsigned long long)tbf);
		/* burst: 1 ms worth (at least 32 KB) so HZ granularity does not cap the rate;
		   32 KB under a modelled wire, whose pacing would otherwise queue a
		   1 ms burst (a real sender's NIC cannot burst above line rate) */
		char burst[32];
		unsigned long long b = wire > 0 ? 0 : tbf / 8 / 1000;
		snprintf(burst, sizeof burst, "%llu", b < 32768 ? 32768ull : b);
		if (wire > 0) /* the tbf counts wire time as the NIC stage's wire does */
			CMD("tc", "-n", tx, "qdisc", "add", "dev", "eth0", "root", "stab", "overhead",
			    "24", "linklayer", "ethernet", "tbf", "rate", rate, "burst", burst,
			    "latency", "20ms");
		else
			CMD("tc", "-n", tx, "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", rate,
			    "burst", burst, "latency", "20ms");
	}
	if (!c->full_path) {
		CMD("ip", "-n", rx, "addr", "add", LK_TB_RECV_ADDR "/24", "dev", "eth0");
		CMD("ip", "-n", rx, "addr", "add", "fd77::2/64", "dev", "eth0", "nodad");
		CMD("ip", "-n", tx, "link", "set", "eth0", "up");
		offloads(tb);
		return 0;
	}
	/* dom0: bridge + stages */
	const char *d0 = tb->ns_dom0;
	ns_sh(NULL, d0, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	/* bridged frames do not go through iptables (br_netfilter, when loaded):
	   the emulator's cost, not the model's */
	ns_sh(NULL, d0, "sysctl -qw net.bridge.bridge-nf-call-iptables=0 "
	      "net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 "
	      "2>/dev/null");
	CMD("ip", "-n", d0, "link", "add", "xenbr0", "type", "bridge", "forward_delay", "0",
	    "stp_state", "0", "mcast_snooping", "0");
	CMD("ip", "-n", d0, "link", "set", "xenbr0", "up");
	shm = lk_stage_shm_create((unsigned)lk_model_int(&tb->model, LK_M_RING_SLOTS), e);
	if (shm < 0)
		goto fail;
	/* the event channels: rx kick, rx requests posted, tx kick, tx space;
	   with a guest wake-up latency the rx kick is a timerfd that netback
	   sets guest.wake_us ahead (testbed/ring.h: a delayed kick) */
	for (int i = 0; i < 4; i++) {
		bool delayed = i == 0 && tb->model.v[LK_M_GUEST_WAKE_US] > 0;
		evt[i] = delayed ? timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)
				 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (evt[i] < 0) {
			lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", delayed ? "timerfd" : "eventfd",
				strerror(errno));
			goto fail;
		}
	}
	char lroarg[32], shmarg[16], evtarg[64];
	snprintf(lroarg, sizeof lroarg, "--lro=%s", tb->lro_policy ? tb->lro_policy : "linux");
	snprintf(shmarg, sizeof shmarg, "%d", shm);
	snprintf(evtarg, sizeof evtarg, "%d,%d,%d,%d", evt[0], evt[1], evt[2], evt[3]);
	{
		char *a[] = {"--tap", "pnic0", "--wire", "peth0", c->lro_phys ? lroarg : NULL, NULL};
		if (spawn_stage(tb, LK_STAGE_NIC, d0, a, -1, evt, e) < 0)
			goto fail;
	}
	{
		char *a[] = {"--tap", "vif1.0", "--shm-fd", shmarg, "--evt", evtarg, NULL};
		if (spawn_stage(tb, LK_STAGE_NETBACK, d0, a, shm, evt, e) < 0)
			goto fail;
	}
	{
		char *a[] = {"--tap", "eth0", "--shm-fd", shmarg, "--evt", evtarg,
			     c->lro_virt ? lroarg : NULL, NULL};
		if (spawn_stage(tb, LK_STAGE_NETFRONT, rx, a, shm, evt, e) < 0)
			goto fail;
	}
	close(shm);
	shm = -1;
	for (int i = 0; i < 4; i++) {
		close(evt[i]);
		evt[i] = -1;
	}
	CMD("ip", "-n", d0, "link", "set", "pnic0", "master", "xenbr0", "txqueuelen", "10000", "up");
	CMD("ip", "-n", d0, "link", "set", "vif1.0", "master", "xenbr0", "txqueuelen", "10000", "up");
	CMD("ip", "-n", rx, "link", "set", "lo", "up");
	CMD("ip", "-n", rx, "link", "set", "eth0", "txqueuelen", "10000", "up");
	CMD("ip", "-n", rx, "addr", "add", LK_TB_RECV_ADDR "/24", "dev", "eth0");
	CMD("ip", "-n", rx, "addr", "add", "fd77::2/64", "dev", "eth0", "nodad");
	/* the wire comes up last: no frame meets a TAP that is still down */
	CMD("ip", "-n", tx, "link", "set", "eth0", "up");
	offloads(tb);
	return 0;
fail:
	if (shm >= 0)
		close(shm);
	for (int i = 0; i < 4; i++)
		if (evt[i] >= 0)
			close(evt[i]);
	struct lk_err e2;
	lk_tb_down(tb, &e2);
	return -1;
}

static void reap_children(struct lk_testbed *tb)
{
	for (int i = 0; i < LK_TB_NSTAGES; i++) {
		if (tb->stage_pid[i] <= 0)
			continue;
		/* our child (run): collect it; not ours (testbed down): ECHILD */
		for (int t = 0; t < 300; t++) {
			pid_t w = waitpid(tb->stage_pid[i], NULL, WNOHANG);
			if (w != 0)
				break;
			usleep(10000);
		}
		tb->stage_pid[i] = 0;
	}
}

int lk_tb_down(struct lk_testbed *tb, struct lk_err *e)
{
	int rc = 0;
	/* the stages first, so they flush their counters */
	const char *ns[3] = {tb->ns_rcv, tb->ns_dom0, tb->ns_snd};
	for (int i = 0; i < 3; i++)
		if (ns[i][0] && lk_netns_exists(ns[i]))
			lk_netns_kill(ns[i], SIGTERM);
	for (int i = 0; i < 3; i++) {
		if (!ns[i][0])
			continue;
		if (lk_netns_destroy(ns[i], 3000, e) < 0)
			rc = -1;
	}
	reap_children(tb);
	tb->up = false;
	return rc;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

void lk_tb_rm_statedir(struct lk_testbed *tb)
{
	if (tb->statedir[0])
		nftw(tb->statedir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* Is pid a live lrokit process? */
static bool run_alive(long pid)
{
	char p[64], comm[64] = "";
	snprintf(p, sizeof p, "/proc/%ld/comm", pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof comm, f))
		comm[0] = 0;
	fclose(f);
	return !strncmp(comm, "lrokit", 6);
}

int lk_tb_reap_stale(struct lk_err *e)
{
	int n = 0;
	const char *dirs[] = {LK_NETNS_DIR, LK_TB_STATE_DIR};
	for (int d = 0; d < 2; d++) {
		DIR *dir = opendir(dirs[d]);
		if (!dir)
			continue;
		struct dirent *de;
		char names[64][256];
		int k = 0;
		while ((de = readdir(dir)) && k < 64) {
			size_t pl = strlen(LK_TB_RUN_PREFIX);
			if (strncmp(de->d_name, LK_TB_RUN_PREFIX, pl))
				continue;
			char *end;
			long pid = strtol(de->d_name + pl, &end, 10);
			if (end == de->d_name + pl || (*end && *end != '-') || pid <= 0)
				continue;
			if (pid == getpid() || run_alive(pid) || strlen(de->d_name) >= sizeof names[0])
				continue;
			memcpy(names[k++], de->d_name, strlen(de->d_name) + 1);
		}
		closedir(dir);
		for (int i = 0; i < k; i++) {
			if (d == 0) {
				if (lk_netns_destroy(names[i], 1000, e) < 0)
					return -1;
				n++;
			} else {
				char path[300];
				snprintf(path, sizeof path, LK_TB_STATE_DIR "/%.255s", names[i]);
				nftw(path, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
			}
		}
	}
	return n;
}

static int snmp_find(const char *path, const char *proto, const char *field,
		     unsigned long long *v)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char names[4096], vals[4096];
	size_t pl = strlen(proto);
	int rc = -1;
	while (fgets(names, sizeof names, f) && fgets(vals, sizeof vals, f)) {
		if (strncmp(names, proto, pl) || names[pl] != ':')
			continue;
		char *sn, *sv;
		char *n = strtok_r(names + pl + 1, " \n", &sn);
		char *x = strtok_r(vals + pl + 1, " \n", &sv);
		while (n && x) {
			if (!strcmp(n, field)) {
				*v = strtoull(x, NULL, 10);
				rc = 0;
				break;
			}
			n = strtok_r(NULL, " \n", &sn);
			x = strtok_r(NULL, " \n", &sv);
		}
		break;
	}
	fclose(f);
	return rc;
}

int lk_tb_snmp(const char *ns, const char *proto, const char *field, unsigned long long *v)
{
	int saved;
	if (lk_netns_enter(ns, &saved, NULL) < 0)
		return -1;
	int rc = snmp_find("/proc/thread-self/net/snmp", proto, field, v);
	if (rc < 0)
		rc = snmp_find("/proc/thread-self/net/netstat", proto, field, v);
	lk_netns_return(saved);
	return rc;
}
