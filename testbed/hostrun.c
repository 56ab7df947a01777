/* testbed/hostrun.c - the benchmark on real machines over ssh (hostrun.h). */
#include "testbed/hostrun.h"
#include "analyzers/analyze.h"
#include "collectors/perf.h"
#include "collectors/sampleline.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/version.h"
#include "schema/runrec.h"
#include "testbed/run.h"
#include "testbed/xfer.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define R LK_ROLE_RECEIVER
#define G LK_ROLE_GUEST
#define D LK_ROLE_DOM0

const struct lk_hostcfg lk_hostcfgs[LK_NHOSTCFGS + 1] = {
	{"native", false, "receiver's NIC: GRO and LRO off",
	 {{R, "gro", "off", true}, {R, "lro", "off", false}}, 2},
	{"native-gro", false, "receiver's NIC: GRO on, LRO off",
	 {{R, "gro", "on", true}, {R, "lro", "off", false}}, 2},
	{"native-lro", false, "receiver's NIC: LRO on, GRO off",
	 {{R, "lro", "on", true}, {R, "gro", "off", true}}, 2},
	{"xen", true, "bridge and vif, no GRO/LRO in dom0 or the guest",
	 {{D, "gro", "off", true}, {D, "lro", "off", false}, {G, "gro", "off", true},
	  {G, "lro", "off", false}}, 4},
	{"lro-phys", true, "GRO/LRO on dom0's physical NIC, none in the guest",
	 {{D, "gro", "on", true}, {D, "lro", "on", false}, {G, "gro", "off", true},
	  {G, "lro", "off", false}}, 4},
	{"lro-virt", true, "GRO on the guest's netfront, none on dom0's NIC",
	 {{D, "gro", "off", true}, {D, "lro", "off", false}, {G, "gro", "on", true},
	  {G, "lro", "off", false}}, 4},
	{NULL, false, NULL, {{0, NULL, NULL, false}}, 0},
};

const struct lk_hostcfg *lk_hostcfg_find(const char *name)
{
	for (int i = 0; lk_hostcfgs[i].name; i++)
		if (!strcmp(lk_hostcfgs[i].name, name))
			return &lk_hostcfgs[i];
	return NULL;
}

/* Append one line to a '\n'-separated buffer. */
static void add_line(char *buf, size_t n, int *count, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add_line(char *buf, size_t n, int *count, const char *fmt, ...)
{
	size_t o = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	if (o + 2 < n) {
		vsnprintf(buf + o, n - o, fmt, ap);
		o = strlen(buf);
		if (o + 1 < n)
			strcat(buf, "\n");
	}
	va_end(ap);
	(*count)++;
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = 0;
}

/* CapEff: HEX -> bits NET_ADMIN (12) and NET_RAW (13). */
static bool caps_ok(const char *text)
{
	const char *p = strstr(text, "CapEff:");
	if (!p)
		return false;
	unsigned long long v = strtoull(p + 7, NULL, 16);
	return (v >> 12 & 1) && (v >> 13 & 1);
}

int lk_hosts_check(struct lk_remote *r, struct lk_host_facts facts[LK_NROLES], char *problems,
		   size_t n)
{
	int count = 0;
	problems[0] = 0;
	for (int i = 0; i < LK_NROLES; i++) {
		const struct lk_host *h = &r->hosts->role[i];
		struct lk_host_facts *f = &facts[i];
		memset(f, 0, sizeof *f);
		if (!h->present)
			continue;
		const char *who = lk_role_name(i);
		struct lk_err e = {0};
		const char *ver[] = {h->lrokit, "--version", NULL};
		int rc = lk_remote_run(r, i, ver, f->version, sizeof f->version, 30, &e);
		if (rc < 0) {
			add_line(problems, n, &count, "%s (%s): %s", who, h->dest, e.msg);
			continue; /* no point asking more */
		}
		if (rc > 0 && !r->dry)
			add_line(problems, n, &count, "%s (%s): '%s --version' failed (exit %d): lrokit "
				 "not installed there? (the host file's lrokit = PATH)", who, h->dest,
				 h->lrokit, rc);
		f->version[strcspn(f->version, "\n")] = 0;
		char caps[256];
		const char *capcmd[] = {"grep", "^CapEff:", "/proc/self/status", NULL};
		rc = lk_remote_run(r, i, capcmd, caps, sizeof caps, 30, &e);
		if (!r->dry && (rc != 0 || !caps_ok(caps)))
			add_line(problems, n, &count, "%s (%s): needs root (or CAP_NET_ADMIN and "
				 "CAP_NET_RAW) for ethtool -K and tcpdump", who, h->dest);
		const char *link[] = {"ip", "-o", "link", "show", "dev", h->iface, NULL};
		rc = lk_remote_run(r, i, link, NULL, 0, 30, &e);
		if (!r->dry && rc != 0)
			add_line(problems, n, &count, "%s (%s): no interface '%s' there", who, h->dest,
				 h->iface);
		/* the facts in one session (each costs a login): sections split by @@ */
		char script[1024], *all = malloc(65536);
		if (!all) {
			add_line(problems, n, &count, "out of memory");
			continue;
		}
		char qi[200];
		lk_sh_quote(h->iface, qi, sizeof qi);
		snprintf(script, sizeof script, "uname -r; echo @@; uname -n; echo @@; grep -m1 "
			 "'^model name' /proc/cpuinfo; echo @@; ethtool -i %s; echo @@; ethtool -k %s && "
			 "echo @@ok; echo @@; ethtool -c %s; echo @@; ethtool -g %s", qi, qi, qi, qi);
		const char *facts_cmd[] = {"sh", "-c", script, NULL};
		lk_remote_run(r, i, facts_cmd, all, 65536, 30, &e);
		char *sec[7] = {0};
		int ns = 0;
		for (char *p = all; p && ns < 7; ns++) {
			sec[ns] = p;
			char *d = strstr(p, "@@\n");
			if (d)
				*d = 0;
			p = d ? d + 3 : NULL;
		}
		char *dst[7] = {f->kernel, f->hostname, f->cpu, f->ethtool_i, f->ethtool_k, f->ethtool_c,
				f->ethtool_g};
		size_t dn[7] = {sizeof f->kernel, sizeof f->hostname, sizeof f->cpu, sizeof f->ethtool_i,
				sizeof f->ethtool_k, sizeof f->ethtool_c, sizeof f->ethtool_g};
		for (int k = 0; k < 7; k++)
			snprintf(dst[k], dn[k], "%s", sec[k] ? sec[k] : "");
		free(all);
		char *okm = strstr(f->ethtool_k, "@@ok");
		rc = okm ? 0 : 1;
		if (okm)
			*okm = 0;
		chomp(f->kernel);
		chomp(f->hostname);
		chomp(f->cpu);
		char *colon = strchr(f->cpu, ':'); /* "model name\t: NAME" */
		if (colon) {
			const char *v = colon + 1 + (colon[1] == ' ');
			memmove(f->cpu, v, strlen(v) + 1);
		}
		f->have_off = rc == 0 && lk_offloads_parse(f->ethtool_k, &f->off, &e) == 0;
		if (!r->dry && i != LK_ROLE_SENDER && !f->have_off)
			add_line(problems, n, &count, "%s (%s): 'ethtool -k %s' shows no receive offloads "
				 "(ethtool installed?)", who, h->dest, h->iface);
		f->checked = true;
	}
	return r->dry ? 0 : count;
}

int lk_hosts_check_xen(struct lk_remote *r, char *why, size_t n)
{
	const struct lk_host *h = &r->hosts->role[LK_ROLE_DOM0];
	char cap[256];
	struct lk_err e = {0};
	const char *xc[] = {"cat", "/proc/xen/capabilities", NULL};
	int rc = lk_remote_run(r, LK_ROLE_DOM0, xc, cap, sizeof cap, 30, &e);
	if (r->dry || (rc == 0 && strstr(cap, "control_d")))
		return 0;
	if (rc < 0)
		snprintf(why, n, "dom0 (%s): %s", h->dest, e.msg);
	else
		snprintf(why, n, "dom0 (%s) is not a Xen dom0 (/proc/xen/capabilities has no "
			 "control_d): the Xen configurations need a Xen host", h->dest);
	return -1;
}

/* The original value of feature on a host, "" when the host lacks it. */
static const char *orig_value(const struct lk_host_facts *f, const char *feature, bool dry,
			      bool *fixed)
{
	*fixed = false;
	if (dry)
		return "<saved>";
	bool gro = !strcmp(feature, "gro");
	if (!f->have_off || !(gro ? f->off.have_gro : f->off.have_lro))
		return "";
	*fixed = gro ? f->off.gro_fixed : f->off.lro_fixed;
	return (gro ? f->off.gro : f->off.lro) ? "on" : "off";
}

bool lk_hostcfg_possible(const struct lk_hostcfg *cfg, const struct lk_host_facts *facts,
			 bool dry, char *why, size_t n)
{
	for (int i = 0; i < cfg->nset; i++) {
		const struct lk_hostset *s = &cfg->set[i];
		bool fixed;
		const char *v = orig_value(&facts[s->role], s->feature, dry, &fixed);
		bool cannot = !*v || (fixed && strcmp(v, s->value));
		if (cannot && s->required) {
			const char *full = !strcmp(s->feature, "lro") ? "large-receive-offload"
					   : "generic-receive-offload";
			if (!*v)
				snprintf(why, n, "%s is not available on these hosts: the %s's ethtool -k "
					 "shows no %s, so %s cannot be switched %s; not run, nothing "
					 "recorded", cfg->name, lk_role_name(s->role), full, s->feature,
					 s->value);
			else
				snprintf(why, n, "%s is not available on these hosts: the %s's ethtool -k "
					 "shows %s: %s [fixed], so %s cannot be switched %s; not run, "
					 "nothing recorded", cfg->name, lk_role_name(s->role), full, v,
					 s->feature, s->value);
			return false;
		}
	}
	return true;
}

/* ---- one run ---- */

struct hr {
	const struct lk_hostrun_opts *o;
	struct lk_hostrun_result *res;
	struct lk_remote *r;
	enum lk_role recv_role;
	struct lk_runrec rec;
	struct lk_rcmd cap[LK_NROLES], coll[LK_NROLES], recv, send;
	char cap_path[LK_NROLES][4200];
	char offjson[1024];
};

static void note(struct hr *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct hr *x, const char *fmt, ...)
{
	char *b = x->res->notes;
	size_t o = strlen(b), n = sizeof x->res->notes;
	if (o && o + 3 < n) {
		strcat(b, "; ");
		o += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	if (o + 1 < n)
		vsnprintf(b + o, n - o, fmt, ap);
	va_end(ap);
}

static void fail(struct hr *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct hr *x, const char *fmt, ...)
{
	if (x->res->error[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->res->error, sizeof x->res->error, fmt, ap);
	va_end(ap);
}

/* The roles that take part: sender and receiver, and dom0 on Xen. */
static bool in_run(const struct hr *x, int role)
{
	const struct lk_hosts *h = x->r->hosts;
	return h->role[role].present && (role == LK_ROLE_SENDER || role == (int)x->recv_role ||
					  (h->xen && role == LK_ROLE_DOM0));
}

static int set_offloads(struct hr *x)
{
	const struct lk_hostcfg *cfg = x->o->cfg;
	size_t o = (size_t)snprintf(x->offjson, sizeof x->offjson, "{");
	for (int i = 0; i < cfg->nset; i++) {
		const struct lk_hostset *s = &cfg->set[i];
		const struct lk_host *h = &x->r->hosts->role[s->role];
		bool fixed;
		const char *v = orig_value(&x->o->facts[s->role], s->feature, x->r->dry, &fixed);
		if (!*v || (fixed && strcmp(v, s->value))) {
			if (s->required) {
				fail(x, "%s: cannot set %s %s on %s", cfg->name, s->feature, s->value,
				     lk_role_name(s->role));
				return -1;
			}
			continue;
		}
		struct lk_err e = {0};
		if (lk_remote_set_feature(x->r, s->role, h->iface, s->feature, s->value, v, &e) < 0) {
			fail(x, "%s", e.msg);
			return -1;
		}
		if (o < sizeof x->offjson)
			o += (size_t)snprintf(x->offjson + o, sizeof x->offjson - o,
					      "%s\"%s:%s:%s\":\"%s\"", i ? "," : "", lk_role_name(s->role),
					      h->iface, s->feature, s->value);
	}
	if (o < sizeof x->offjson)
		snprintf(x->offjson + o, sizeof x->offjson - o, "}");
	return 0;
}

static const char *point_of(enum lk_role role)
{
	return role == LK_ROLE_SENDER ? "sender" : role == LK_ROLE_DOM0 ? "dom0" : "receiver";
}

static int start_captures(struct hr *x)
{
	char filt[64];
	const char *port = x->o->port ? x->o->port : LK_XFER_PORT;
	snprintf(filt, sizeof filt, "tcp port %s", port);
	char snap[16];
	snprintf(snap, sizeof snap, "%d", LK_RUN_SNAPLEN);
	for (int i = 0; i < LK_NROLES; i++) {
		if (!in_run(x, i))
			continue;
		const struct lk_host *h = &x->r->hosts->role[i];
		snprintf(x->cap_path[i], sizeof x->cap_path[i], "%s/run%" PRId64 "-%s.pcap",
			 x->o->capture_dir, x->rec.run_id, point_of(i));
		/* --immediate-mode and -U: each packet handed over and written at
		   once (a stopped tcpdump loses nothing still in the kernel's ring
		   or its buffer); the pcap comes back on ssh's stdout */
		const char *av[] = {"tcpdump", "-n", "--immediate-mode", "-U", "-i", h->iface, "-s", snap,
				    "-w", "-", filt, NULL};
		struct lk_err e = {0};
		if (lk_remote_start(x->r, i, "tcpdump", av, x->cap_path[i], &x->cap[i], &e) < 0 ||
		    lk_remote_wait_ready(x->r, &x->cap[i], false, "listening on", 20000, &e) < 0) {
			fail(x, "capture on %s: %s", lk_role_name(i), e.msg);
			return -1;
		}
	}
	return 0;
}

static int start_collectors(struct hr *x)
{
	for (int i = 0; i < LK_NROLES; i++) {
		if (!in_run(x, i))
			continue;
		const struct lk_host *h = &x->r->hosts->role[i];
		/* dom0 also reads every domain's CPU and vif counters (libxenstat) */
		const char *av[] = {h->lrokit, "collect", "--iface", h->iface, "--interval", "100",
				    i == LK_ROLE_DOM0 ? "--xenstat" : NULL, NULL};
		struct lk_err e = {0};
		if (lk_remote_start(x->r, i, "collect", av, NULL, &x->coll[i], &e) < 0) {
			fail(x, "collectors on %s: %s", lk_role_name(i), e.msg);
			return -1;
		}
	}
	return 0;
}

static int transfer(struct hr *x)
{
	const struct lk_hosts *h = x->r->hosts;
	const struct lk_host *rh = &h->role[x->recv_role], *sh = &h->role[LK_ROLE_SENDER];
	const char *port = x->o->port ? x->o->port : LK_XFER_PORT;
	int tmo = x->o->timeout_s ? x->o->timeout_s : 600;
	char tmos[16], bytes[32];
	snprintf(tmos, sizeof tmos, "%d", tmo);
	snprintf(bytes, sizeof bytes, "%" PRIu64, x->o->bytes);
	struct lk_err e = {0};
	const char *rav[] = {rh->lrokit, "recv", "--json", "-p", port, "--timeout", tmos,
			     "--ready-fd", "4", NULL};
	if (lk_remote_start(x->r, x->recv_role, "recv", rav, NULL, &x->recv, &e) < 0 ||
	    lk_remote_wait_ready(x->r, &x->recv, true, "L", 20000, &e) < 0) {
		fail(x, "lrokit recv on %s: %s", lk_role_name(x->recv_role), e.msg);
		return -1;
	}
	const char *sav[] = {sh->lrokit, "send", rh->address, "--json", "-n", bytes, "-p", port,
			     "--timeout", tmos, NULL};
	if (lk_remote_start(x->r, LK_ROLE_SENDER, "send", sav, NULL, &x->send, &e) < 0) {
		fail(x, "lrokit send: %s", e.msg);
		return -1;
	}
	if (x->r->dry)
		return 0;
	/* the transfer: both ends, every helper's connection watched */
	uint64_t deadline = lk_mono_ns() + (uint64_t)(tmo + 30) * 1000000000ull;
	while (!(lk_remote_poll(x->r, &x->send) && lk_remote_poll(x->r, &x->recv))) {
		for (int i = 0; i < LK_NROLES; i++) {
			lk_remote_poll(x->r, &x->cap[i]);
			lk_remote_poll(x->r, &x->coll[i]);
		}
		if (x->r->lost || (x->r->stop && *x->r->stop) || lk_mono_ns() > deadline)
			return -1;
		struct timespec ts = {0, 20000000L};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Stop everything still running (closing stdin ends each remote command). */
static void stop_all(struct hr *x)
{
	lk_remote_stop(x->r, &x->send, 3000);
	lk_remote_stop(x->r, &x->recv, 3000);
	for (int i = 0; i < LK_NROLES; i++) {
		lk_remote_stop(x->r, &x->coll[i], 5000);
		lk_remote_stop(x->r, &x->cap[i], 5000);
	}
}

/* A number after "key": in a one-line JSON object; NaN when absent. */
static double json_num(const char *t, const char *key)
{
	char k[64];
	snprintf(k, sizeof k, "\"%s\":", key);
	const char *p = t ? strstr(t, k) : NULL;
	if (!p)
		return NAN;
	char *end;
	double v = strtod(p + strlen(k), &end);
	return end == p + strlen(k) ? NAN : v;
}

/* The JSON string after "key":" in t (unescaped into out); "" when absent. */
static void json_str(const char *t, const char *key, char *out, size_t n)
{
	char k[64];
	snprintf(k, sizeof k, "\"%s\":\"", key);
	const char *p = t ? strstr(t, k) : NULL;
	size_t o = 0;
	for (p = p ? p + strlen(k) : NULL; p && *p && *p != '"' && o + 1 < n; p++) {
		if (*p == '\\' && p[1])
			p++;
		out[o++] = *p;
	}
	if (n)
		out[o] = 0;
}

/* The per-process CPU that lrokit recv / send --json report of themselves
 * ("cpu":{...}, lk_selfcpu_json) as counters of comp, like an emulated
 * run's collectors store them; a value the host could not count is NULL
 * with its reason. A report without "cpu" (an older lrokit there) says so. */
static void store_proc_cpu(struct hr *x, const char *json, const char *comp)
{
	const char *cpu = json ? strstr(json, "\"cpu\":{") : NULL;
	if (!cpu) {
		note(x, "no per-process CPU from %s's lrokit (older than this one?)", comp);
		return;
	}
	const char *why = strstr(cpu, "\"why\":{");
	static const struct { const char *ev, *unit, *src; } evs[] = {
		{"task-clock", "ns", "sw"}, {"cycles", "cycles", "pmu"},
		{"instructions", "instructions", "pmu"}, {"rusage_cpu_ns", "ns", "rusage"}};
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
		double v = json_num(cpu, evs[i].ev);
		char reason[400] = "";
		if (isnan(v))
			json_str(why, evs[i].ev, reason, sizeof reason);
		lk_runrec_counter(&x->rec, comp, evs[i].ev, v, evs[i].unit, evs[i].src,
				  reason[0] ? reason : isnan(v) ? "not reported" : NULL);
	}
}

static char *read_out(const struct lk_rcmd *c)
{
	size_t len;
	return c->out[0] ? lk_file_read(c->out, 16 << 20, &len, NULL) : NULL;
}

/* First and last value of each collector key of one host. */
struct series {
	char key[128], source[32];
	double first, last;
};

static void store_samples(struct hr *x, int role, double *snmp_out, double *snmp_in)
{
	size_t len;
	char *t = lk_file_read(x->coll[role].out, 256 << 20, &len, NULL);
	if (!t)
		return;
	struct series *s = NULL;
	size_t ns = 0, cap = 0, hint = 0;
	unsigned bad = 0;
	for (char *sv = NULL, *l = strtok_r(t, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
		struct lk_sampleline sl;
		if (lk_sampleline_parse(l, &sl) < 0) {
			bad++;
			continue;
		}
		char key[200];
		snprintf(key, sizeof key, "%s:%s", lk_role_name(role), sl.key);
		lk_runrec_sample(&x->rec, sl.t_ns, sl.source, key, sl.value);
		/* lines come in the same order every sample: try the next one first */
		size_t k = hint < ns && !strcmp(s[hint].key, sl.key) ? hint : ns;
		for (size_t j = 0; k == ns && j < ns; j++)
			if (!strcmp(s[j].key, sl.key))
				k = j;
		if (k == ns) {
			if (ns == cap) {
				cap = cap ? 2 * cap : 64;
				struct series *m = realloc(s, cap * sizeof *s);
				if (!m)
					break;
				s = m;
			}
			snprintf(s[ns].key, sizeof s[ns].key, "%s", sl.key);
			snprintf(s[ns].source, sizeof s[ns].source, "%s", sl.source);
			s[ns].first = sl.value;
			ns++;
		}
		s[k].last = sl.value;
		hint = k + 1;
	}
	if (bad)
		note(x, "%u unreadable collector lines from %s", bad, lk_role_name(role));
	for (size_t j = 0; j < ns; j++) {
		char comp[200];
		const char *dot = strchr(s[j].key, '.');
		if (!dot || !strcmp(s[j].source, "procstat") || !strcmp(s[j].source, "pid"))
			continue;
		double d = s[j].last - s[j].first;
		if (strcmp(s[j].source, "snmp")) { /* iface, perf, xenstat: per interface/CPU/domain */
			snprintf(comp, sizeof comp, "%s:%.*s", lk_role_name(role), (int)(dot - s[j].key),
				 s[j].key);
			const char *unit = strstr(dot, "bytes") ? "bytes" : strstr(dot, "_ns") ? "ns"
					   : !strcmp(s[j].source, "iface") ? "packets" : "count";
			lk_runrec_counter(&x->rec, comp, dot + 1, d, unit, s[j].source, NULL);
		} else {
			lk_runrec_counter(&x->rec, lk_role_name(role), s[j].key, d, "packets", "snmp",
					  "this host's whole TCP/IP traffic during the run, ssh included");
			if (!strcmp(s[j].key, "Tcp.OutSegs"))
				*snmp_out = d;
			if (!strcmp(s[j].key, "Ip.InReceives"))
				*snmp_in = d;
		}
	}
	free(s);
	free(t);
}

/* runs.params: the configuration, the hosts' facts, the offloads set and
 * every remote command. */
static char *params_json(struct hr *x)
{
	const struct lk_hostrun_opts *o = x->o;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return NULL;
	fputs("{\"config\":", f);
	lk_json_str(f, o->cfg->name);
	fprintf(f, ",\"bytes\":%" PRIu64 ",\"port\":", o->bytes);
	lk_json_str(f, o->port ? o->port : LK_XFER_PORT);
	fputs(",\"hosts_file\":", f);
	lk_json_str_or_null(f, o->hosts_file);
	fputs(",\"hosts\":{", f);
	const char *sep = "";
	for (int i = 0; i < LK_NROLES; i++) {
		const struct lk_host *h = &x->r->hosts->role[i];
		const struct lk_host_facts *fa = &o->facts[i];
		if (!h->present)
			continue;
		fprintf(f, "%s\"%s\":{\"dest\":", sep, lk_role_name(i));
		lk_json_str(f, h->dest);
		const struct { const char *k, *v; } kv[] = {
			{"iface", h->iface}, {"lrokit", h->lrokit}, {"address", h->address},
			{"lrokit_version", fa->version}, {"kernel", fa->kernel}, {"hostname", fa->hostname},
			{"cpu_model", fa->cpu}, {"ethtool_i", fa->ethtool_i}, {"ethtool_k", fa->ethtool_k},
			{"ethtool_c", fa->ethtool_c}, {"ethtool_g", fa->ethtool_g}};
		for (size_t k = 0; k < sizeof kv / sizeof kv[0]; k++) {
			fprintf(f, ",\"%s\":", kv[k].k);
			lk_json_str(f, kv[k].v);
		}
		fputc('}', f);
		sep = ",";
	}
	fputs("},\"offloads_set\":", f);
	fputs(x->offjson[0] ? x->offjson : "{}", f);
	fputs(",\"remote_commands\":", f);
	fputs(x->r->log ? x->r->log : "[]", f);
	fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Kernel drops from tcpdump's closing words "N packets dropped by kernel". */
static int64_t tcpdump_drops(const struct lk_rcmd *c)
{
	size_t len;
	char *t = lk_file_read(c->err, 1 << 20, &len, NULL);
	const char *p = t ? strstr(t, " packets dropped by kernel") : NULL;
	int64_t d = -1;
	if (p) {
		while (p > t && p[-1] >= '0' && p[-1] <= '9')
			p--;
		d = strtoll(p, NULL, 10);
	}
	free(t);
	return d;
}

static void finish(struct hr *x)
{
	struct lk_hostrun_result *res = x->res;
	struct lk_remote *r = x->r;
	char *rj = read_out(&x->recv), *sj = read_out(&x->send);
	bool rok = x->recv.done && x->recv.status == 0 && rj && strstr(rj, "\"verified\":true");
	bool sok = x->send.done && x->send.status == 0;
	if (rok) {
		res->goodput_bps = json_num(rj, "goodput_bps");
		double b = json_num(rj, "bytes");
		res->bytes = b == b ? (uint64_t)b : 0;
	}
	bool stop = r->stop && *r->stop;
	if (r->lost)
		fail(x, "%s", r->lost_msg);
	else if (stop)
		fail(x, "stopped by signal %d", (int)*r->stop);
	else if (!rok || !sok) {
		char line[300];
		lk_remote_err_line(!rok ? &x->recv : &x->send, line, sizeof line);
		fail(x, "%s failed (exit %d): %s", !rok ? "lrokit recv" : "lrokit send",
		     !rok ? x->recv.status : x->send.status, line[0] ? line : "no message");
	}
	res->status = r->lost || stop ? "aborted" : res->error[0] ? "failed" : "ok";

	lk_runrec_tx(&x->rec, "BEGIN");
	if (rok)
		store_proc_cpu(x, rj, x->recv_role == LK_ROLE_GUEST ? "domU/receiver" : "receiver");
	if (sok && sj)
		store_proc_cpu(x, sj, "sender");
	free(rj);
	free(sj);
	double out = NAN, in = NAN, o2 = NAN, i2 = NAN;
	for (int i = 0; i < LK_NROLES; i++)
		if (in_run(x, i) && x->coll[i].done)
			store_samples(x, i, i == LK_ROLE_SENDER ? &out : &o2, i == (int)x->recv_role ? &in : &i2);
	if (out > 0 && in > 0)
		res->lro_rate = out / in;
	lk_remote_log_end(r);
	char *params = params_json(x);
	const struct lk_host_facts *rf = &x->o->facts[x->recv_role];
	struct lk_err e = {0};
	if (lk_runrec_set_host(&x->rec, rf->kernel[0] ? rf->kernel : NULL,
			       rf->hostname[0] ? rf->hostname : NULL, rf->cpu[0] ? rf->cpu : NULL,
			       params, x->o->bench_id, x->o->repeat, &e) < 0)
		note(x, "%s", e.msg);
	free(params);
	if (lk_runrec_finish(&x->rec, res->status, lk_real_ns(), res->bytes, res->goodput_bps,
			     res->lro_rate, x->offjson[0] ? x->offjson : NULL,
			     res->error[0] ? res->error : NULL, &e) < 0)
		note(x, "%s", e.msg);
	lk_runrec_tx(&x->rec, "COMMIT");

	/* the captures, through the same analyzers as a local run's */
	for (int i = 0; i < LK_NROLES && strcmp(res->status, "aborted"); i++) {
		struct stat st;
		if (!x->cap_path[i][0] || stat(x->cap_path[i], &st) < 0 || st.st_size == 0)
			continue;
		if (lk_analyze_run_capture(x->rec.db, x->rec.run_id, point_of(i), x->cap_path[i],
					   tcpdump_drops(&x->cap[i]), &e) < 0)
			note(x, "ingest of the %s capture: %s", point_of(i), e.msg);
		else
			res->captures++;
	}
}

int lk_hostrun(const struct lk_hostrun_opts *o, struct lk_hostrun_result *res, struct lk_err *e)
{
	memset(res, 0, sizeof *res);
	res->status = "failed";
	res->goodput_bps = res->lro_rate = NAN;
	struct lk_remote *r = o->remote;
	struct hr x = {.o = o, .res = res, .r = r, .recv_role = lk_hosts_receiver(r->hosts)};
	for (int i = 0; i < LK_NROLES; i++)
		x.cap[i].pid = x.coll[i].pid = -1;
	x.recv.pid = x.send.pid = -1;
	r->lost = false;
	r->lost_msg[0] = 0;
	if (lk_remote_log_begin(r, e) < 0)
		return -1;
	if (!r->dry) {
		if (mkdir(o->capture_dir, 0755) < 0 && errno != EEXIST)
			return lk_errf(e, LK_EXIT_RUNTIME, "capture folder %s: %s", o->capture_dir,
				       strerror(errno));
		struct lk_runrec_info ri = {.config = o->cfg->name, .cmdline = o->cmdline,
					 .tool_version = lk_version, .params = "{}",
					 .started_ns = lk_real_ns(), .bytes = o->bytes};
		if (lk_runrec_begin(&x.rec, o->db, &ri, e) < 0)
			return -1;
		res->run_id = x.rec.run_id;
	}
	if (set_offloads(&x) == 0 && start_captures(&x) == 0 && start_collectors(&x) == 0)
		transfer(&x);
	stop_all(&x);
	struct lk_err re = {0};
	res->restore_left = lk_remote_restore(r, &re);
	if (res->restore_left)
		note(&x, "%d offload change(s) not put back yet (journaled: %s): %s", res->restore_left,
		     r->journal, re.msg);
	if (r->dry) {
		lk_remote_log_end(r);
		res->status = "ok";
		return 0;
	}
	finish(&x);
	lk_runrec_close(&x.rec);
	return 0;
}

/* ---- the CPU of lrokit recv / send themselves ---- */

static const char *const selfcpu_events[] = {"task-clock", "cycles", "instructions"};
#define N_SELFCPU 3

static double rusage_ns(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return NAN;
	return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
}

void lk_selfcpu_start(struct lk_selfcpu *s)
{
	memset(s, 0, sizeof *s);
	struct lk_err e = {0};
	s->el = lk_perf_evlist_new();
	if (!s->el) {
		snprintf(s->open_err, sizeof s->open_err, "out of memory");
	} else {
		/* task-clock alone (it always counts); cycles and instructions a group */
		for (int i = 0; i < N_SELFCPU; i++)
			lk_perf_evlist_add(s->el, selfcpu_events[i], i < 2, &e);
		struct lk_perf_target t = {.pid = 0, .cpu = -1, .inherit = false};
		if (lk_perf_evlist_open(s->el, &t, &e) < 0) {
			snprintf(s->open_err, sizeof s->open_err, "%s", e.msg);
			lk_perf_evlist_free(s->el);
			s->el = NULL;
		} else {
			lk_perf_evlist_enable(s->el);
		}
	}
	s->ru0_ns = rusage_ns();
}

void lk_selfcpu_stop(struct lk_selfcpu *s)
{
	if (s->stopped)
		return;
	s->stopped = true;
	s->ru_ns = rusage_ns() - s->ru0_ns;
	if (!s->el)
		return;
	lk_perf_evlist_disable(s->el);
	struct lk_err e = {0};
	if (lk_perf_evlist_read(s->el, &e) < 0) {
		snprintf(s->open_err, sizeof s->open_err, "reading the counters: %s", e.msg);
		lk_perf_evlist_free(s->el);
		s->el = NULL;
	}
}

/* The value of event name, NaN with why when there is none. */
static double selfcpu_value(const struct lk_selfcpu *s, const char *name, const char **why)
{
	*why = s->open_err[0] ? s->open_err : "not counted";
	int i = s->el ? lk_perf_evlist_find(s->el, name) : -1;
	if (i < 0)
		return NAN;
	const struct lk_perf_evsel *v = lk_perf_evlist_evsel(s->el, (size_t)i);
	if (v->state != LK_PERF_OPEN) {
		*why = v->reason[0] ? v->reason : "refused by the kernel";
		return NAN;
	}
	if (!v->counts.counted) {
		*why = "never scheduled on the PMU (multiplexing): value unknown";
		return NAN;
	}
	*why = NULL;
	return v->counts.scaled;
}

void lk_selfcpu_json(FILE *f, const struct lk_selfcpu *s)
{
	const char *why[N_SELFCPU];
	fputs(",\"cpu\":{", f);
	for (int i = 0; i < N_SELFCPU; i++) {
		fprintf(f, "%s\"%s\":", i ? "," : "", selfcpu_events[i]);
		lk_json_num(f, selfcpu_value(s, selfcpu_events[i], &why[i]));
	}
	fputs(",\"rusage_cpu_ns\":", f);
	lk_json_num(f, s->ru_ns);
	fputs(",\"why\":{", f);
	const char *sep = "";
	for (int i = 0; i < N_SELFCPU; i++)
		if (why[i]) {
			fprintf(f, "%s\"%s\":", sep, selfcpu_events[i]);
			lk_json_str(f, why[i]);
			sep = ",";
		}
	fputs("}}", f);
}

void lk_selfcpu_free(struct lk_selfcpu *s)
{
	lk_perf_evlist_free(s->el);
	s->el = NULL;
}
