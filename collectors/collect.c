/* collectors/collect.c - the collection session (see collect.h). */
#include "collectors/collect.h"

#include "analyzers/acks.h"
#include "analyzers/analyze.h"
#include "collectors/livecap.h"
#include "collectors/perf.h"
#include "collectors/procstat.h"
#include "collectors/xenstat.h"
#include "lib/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_COMPS 16
#define MAX_IFACES 16
#define MAX_CAPTURES 8
#define MAX_CPUS 256

enum { SRC_PROCSTAT, SRC_IFACE, SRC_TCPINFO, SRC_XENSTAT, SRC__N };
static const char *const src_name[SRC__N] = {"procstat", "iface", "tcpinfo", "xenstat"};

/* /proc/stat columns, in lk_cpustat order */
static const char *const cpu_fields[10] = {"user", "nice", "system", "idle", "iowait",
					   "irq", "softirq", "steal", "guest", "guest_nice"};
static const char *const if_fields[8] = {"rx_bytes", "rx_packets", "rx_errs", "rx_drops",
					 "tx_bytes", "tx_packets", "tx_errs", "tx_drops"};

struct sample {
	uint64_t t_ns;
	uint32_t key;
	uint8_t src;
	double v;
};

struct comp {
	char name[64];
	pid_t pid;
	int cpu;
	struct lk_perf_evlist *el;
	char perf_err[256];
	struct lk_ctr ut, st;
	uint32_t k_ut, k_st;
	bool gone;
	uint64_t gone_ns;
};

struct iface {
	char label[128];
	char what[320];
	int fd;
	struct lk_ctr c[8];
	uint32_t k[8];
	unsigned missing, errors;
	char last_err[200];
};

/* A live capture at one point of the path, and the pcap file it writes. */
struct point_capture {
	char point[16];
	char path[4096];
	struct lk_livecap *live;  /* NULL once stopped */
};

struct lk_coll {
	struct lk_coll_cfg cfg;
	char dir[4096];
	pthread_mutex_t mu;
	pthread_t th;
	bool th_running;
	atomic_int stop;
	uint64_t start_rt, start_mono, stop_mono;
	long clk_tck;

	/* samples and interned keys */
	struct sample *samples;
	size_t n_samples, samples_cap;
	char **keys;
	uint32_t n_keys, keys_cap;
	bool oom;

	/* CPUs */
	int ncpu;                       /* lines incl. the total (index 0) */
	int cpu_id[MAX_CPUS];
	int cpu_ncols;
	struct lk_ctr cpu[MAX_CPUS][10];
	uint32_t cpu_k[MAX_CPUS][10];
	char cpu_err[256];
	struct lk_perf_evlist *cpu_el[MAX_CPUS];
	char cpu_perf_err[256];

	struct comp comps[MAX_COMPS];
	int n_comps;
	struct iface ifaces[MAX_IFACES];
	int n_ifaces;
	struct point_capture captures[MAX_CAPTURES];
	int n_captures;

	bool finished;
	struct lk_livecap_stats capture_stats[MAX_CAPTURES]; /* filled by lk_coll_finish */

	struct lk_xs *xs;
	char xen_note[256];
	struct lk_xs_snap *xs_a, *xs_b;
};

/* Copy with truncation (snprintf "%s" trips -Wformat-truncation). */
static void cpy(char *d, size_t n, const char *s)
{
	size_t l = strnlen(s, n - 1);
	memcpy(d, s, l);
	d[l] = 0;
}

static uint32_t intern(struct lk_coll *c, const char *key)
{
	for (uint32_t i = 0; i < c->n_keys; i++)
		if (!strcmp(c->keys[i], key))
			return i;
	if (c->n_keys == c->keys_cap) {
		uint32_t nc = c->keys_cap ? c->keys_cap * 2 : 64;
		char **nk = realloc(c->keys, nc * sizeof *nk);
		if (!nk) {
			c->oom = true;
			return 0;
		}
		c->keys = nk;
		c->keys_cap = nc;
	}
	char *d = strdup(key);
	if (!d) {
		c->oom = true;
		return 0;
	}
	c->keys[c->n_keys] = d;
	return c->n_keys++;
}

static void add_sample(struct lk_coll *c, uint64_t t, int src, uint32_t key, double v)
{
	if (c->oom)
		return;
	if (c->n_samples == c->samples_cap) {
		size_t nc = c->samples_cap ? c->samples_cap * 2 : 4096;
		struct sample *n = realloc(c->samples, nc * sizeof *n);
		if (!n) {
			c->oom = true;
			return;
		}
		c->samples = n;
		c->samples_cap = nc;
	}
	c->samples[c->n_samples++] = (struct sample){.t_ns = t, .key = key, .src = (uint8_t)src, .v = v};
}

static double ticks_ns(const struct lk_coll *c, uint64_t t)
{
	return (double)t * (1e9 / (double)c->clk_tck);
}

/* --- one sampling pass (called with mu held) --- */

static void sample_cpus(struct lk_coll *c, uint64_t t)
{
	struct lk_cpustat cs[MAX_CPUS + 1];
	int n = 0;
	struct lk_err e = {0};
	if (lk_procstat_read_cpus(NULL, cs, MAX_CPUS + 1, &n, &e) < 0) {
		cpy(c->cpu_err, sizeof c->cpu_err, e.msg);
		return;
	}
	if (c->ncpu == 0) { /* first pass: layout */
		c->ncpu = n < MAX_CPUS ? n : MAX_CPUS;
		c->cpu_ncols = 10;
		char key[64];
		for (int i = 0; i < c->ncpu; i++) {
			c->cpu_id[i] = cs[i].cpu;
			for (int f = 0; f < 10; f++) {
				if (cs[i].cpu < 0)
					snprintf(key, sizeof key, "cpu.%s_ns", cpu_fields[f]);
				else
					snprintf(key, sizeof key, "cpu%d.%s_ns", cs[i].cpu, cpu_fields[f]);
				c->cpu_k[i][f] = intern(c, key);
			}
		}
	}
	for (int i = 0; i < n && i < c->ncpu; i++) {
		if (cs[i].cpu != c->cpu_id[i])
			continue; /* CPU hot(un)plug changed the layout: skip the line */
		if (cs[i].ncols < c->cpu_ncols)
			c->cpu_ncols = cs[i].ncols;
		const uint64_t v[10] = {cs[i].user, cs[i].nice, cs[i].system, cs[i].idle, cs[i].iowait,
					cs[i].irq, cs[i].softirq, cs[i].steal, cs[i].guest, cs[i].guest_nice};
		for (int f = 0; f < 10 && f < cs[i].ncols; f++) {
			lk_ctr_add(&c->cpu[i][f], v[f]);
			add_sample(c, t, SRC_PROCSTAT, c->cpu_k[i][f], ticks_ns(c, v[f]));
		}
	}
}

static void sample_comp(struct lk_coll *c, struct comp *p, uint64_t t)
{
	if (p->gone)
		return;
	struct lk_pidstat ps;
	struct lk_err e = {0};
	if (lk_procstat_read_pid(NULL, p->pid, &ps, &e) < 0 || ps.state == 'Z' || ps.state == 'X') {
		/* a zombie's /proc/PID/stat still has its times; one gone has none */
		if (e.msg[0] == 0) {
			lk_ctr_add(&p->ut, ps.utime);
			lk_ctr_add(&p->st, ps.stime);
		}
		p->gone = true;
		p->gone_ns = t;
		return;
	}
	lk_ctr_add(&p->ut, ps.utime);
	lk_ctr_add(&p->st, ps.stime);
	add_sample(c, t, SRC_PROCSTAT, p->k_ut, ticks_ns(c, ps.utime));
	add_sample(c, t, SRC_PROCSTAT, p->k_st, ticks_ns(c, ps.stime));
}

static int sample_iface(struct lk_coll *c, struct iface *f, uint64_t t, struct lk_err *e)
{
	struct lk_ifstat tab[256];
	int n = 0;
	struct lk_err le = {0};
	if (lk_netdev_read_fd(f->fd, f->what, tab, 256, &n, &le) < 0) {
		f->errors++;
		cpy(f->last_err, sizeof f->last_err, le.msg);
		if (e)
			*e = le;
		return -1;
	}
	const char *ifname = strrchr(f->what, ' ') + 1;
	const struct lk_ifstat *s = lk_netdev_find(tab, n, ifname);
	if (!s) {
		f->missing++;
		if (e)
			lk_errf(e, LK_EXIT_RUNTIME, "%s: no such interface", f->what);
		return -1;
	}
	const uint64_t v[8] = {s->rx_bytes, s->rx_packets, s->rx_errs, s->rx_drop,
			       s->tx_bytes, s->tx_packets, s->tx_errs, s->tx_drop};
	for (int k = 0; k < 8; k++) {
		lk_ctr_add(&f->c[k], v[k]);
		add_sample(c, t, SRC_IFACE, f->k[k], (double)v[k]);
	}
	return 0;
}

static void xs_sample_cb(void *ctx, uint64_t t, const char *key, double v)
{
	struct lk_coll *c = ctx;
	add_sample(c, t, SRC_XENSTAT, intern(c, key), v);
}

static void sample_all(struct lk_coll *c)
{
	uint64_t t = lk_real_ns();
	if (!c->cfg.no_procstat) {
		sample_cpus(c, t);
		for (int i = 0; i < c->n_comps; i++)
			sample_comp(c, &c->comps[i], t);
		for (int i = 0; i < c->n_ifaces; i++)
			sample_iface(c, &c->ifaces[i], t, NULL);
	}
	if (c->xs) {
		struct lk_xs_snap *s = malloc(sizeof *s);
		struct lk_err e = {0};
		if (s && lk_xs_take(c->xs, s, &e) == 0) {
			s->t_ns = t; /* samples use wall-clock time */
			lk_xs_map_samples(s, xs_sample_cb, c);
		}
		free(s);
	}
}

static void *sampler(void *arg)
{
	struct lk_coll *c = arg;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	long step = (long)c->cfg.interval_ms * 1000000L;
	while (!atomic_load(&c->stop)) {
		next.tv_nsec += step;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		if (atomic_load(&c->stop))
			break;
		pthread_mutex_lock(&c->mu);
		sample_all(c);
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

/* --- public API --- */

static struct lk_perf_evlist *open_evlist(pid_t pid, int cpu, char *err, size_t errn)
{
	static const char *const ev[][4] = {
		{"cycles", "instructions", NULL, NULL},
		{"task-clock", "context-switches", "cpu-migrations", "page-faults"},
	};
	struct lk_err e = {0};
	struct lk_perf_evlist *el = lk_perf_evlist_new();
	if (!el) {
		snprintf(err, errn, "perf: out of memory");
		return NULL;
	}
	int ngroups = cpu >= 0 ? 1 : 2; /* per CPU: cycles, instructions (+ fallback) */
	for (int g = 0; g < ngroups; g++)
		for (int i = 0; i < 4 && ev[g][i]; i++)
			lk_perf_evlist_add(el, ev[g][i], i == 0, &e);
	struct lk_perf_target t = {.pid = cpu >= 0 ? -1 : pid, .cpu = cpu, .inherit = true};
	if (lk_perf_evlist_open(el, &t, &e) < 0) {
		cpy(err, errn, e.msg);
		lk_perf_evlist_free(el);
		return NULL;
	}
	lk_perf_evlist_enable(el);
	return el;
}

struct lk_coll *lk_coll_start(const struct lk_coll_cfg *cfg, struct lk_err *e)
{
	struct lk_coll *c = calloc(1, sizeof *c);
	if (!c) {
		lk_errf(e, LK_EXIT_RUNTIME, "collectors: out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	if (c->cfg.interval_ms <= 0)
		c->cfg.interval_ms = 100;
	cpy(c->dir, sizeof c->dir, cfg->dir && *cfg->dir ? cfg->dir : ".");
	c->clk_tck = lk_procstat_clk_tck();
	pthread_mutex_init(&c->mu, NULL);
	c->start_rt = lk_real_ns();
	c->start_mono = lk_mono_ns();

	if (!c->cfg.no_xenstat) {
		struct lk_err xe = {0};
		c->xs = lk_xs_open(&xe);
		if (!c->xs) {
			cpy(c->xen_note, sizeof c->xen_note, xe.msg);
		} else {
			c->xs_a = calloc(1, sizeof *c->xs_a);
			if (!c->xs_a || lk_xs_take(c->xs, c->xs_a, &xe) < 0) {
				cpy(c->xen_note, sizeof c->xen_note, xe.msg[0] ? xe.msg : "out of memory");
				lk_xs_close(c->xs);
				c->xs = NULL;
			}
		}
	}
	if (!c->cfg.no_procstat)
		sample_cpus(c, c->start_rt);
	if (!c->cfg.no_perf) {
		int ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
		for (int i = 0; i < ncpu && i < MAX_CPUS; i++)
			c->cpu_el[i] = open_evlist(-1, i, c->cpu_perf_err, sizeof c->cpu_perf_err);
	}
	int rc = pthread_create(&c->th, NULL, sampler, c);
	if (rc) {
		lk_errf(e, LK_EXIT_RUNTIME, "collectors: cannot start sampler: %s", strerror(rc));
		lk_coll_abort(c);
		return NULL;
	}
	c->th_running = true;
	return c;
}

int lk_coll_add_component(struct lk_coll *c, const char *name, pid_t pid, int cpu,
			  struct lk_err *e)
{
	if (!name || !*name || strlen(name) >= sizeof c->comps[0].name)
		return lk_errf(e, LK_EXIT_USAGE, "collectors: bad component name");
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	if (c->n_comps >= MAX_COMPS) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "collectors: more than %d components", MAX_COMPS);
		goto out;
	}
	struct comp *p = &c->comps[c->n_comps];
	memset(p, 0, sizeof *p);
	cpy(p->name, sizeof p->name, name);
	p->pid = pid;
	p->cpu = cpu;
	struct lk_pidstat ps;
	if (lk_procstat_read_pid(NULL, pid, &ps, e) < 0) {
		rc = lk_err_prefix(e, "component %s", name);
		goto out;
	}
	char key[96];
	snprintf(key, sizeof key, "%s.utime_ns", name);
	p->k_ut = intern(c, key);
	snprintf(key, sizeof key, "%s.stime_ns", name);
	p->k_st = intern(c, key);
	if (!c->cfg.no_perf)
		p->el = open_evlist(pid, -1, p->perf_err, sizeof p->perf_err);
	c->n_comps++;
	if (!c->cfg.no_procstat)
		sample_comp(c, p, lk_real_ns());
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int lk_coll_add_iface(struct lk_coll *c, const char *label, const char *netns, const char *ifname,
		      struct lk_err *e)
{
	if (!ifname || !*ifname || strlen(ifname) >= 32)
		return lk_errf(e, LK_EXIT_USAGE, "collectors: bad interface name");
	int fd = lk_netdev_open(netns, e);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	if (c->n_ifaces >= MAX_IFACES) {
		close(fd);
		rc = lk_errf(e, LK_EXIT_RUNTIME, "collectors: more than %d interfaces", MAX_IFACES);
		goto out;
	}
	struct iface *f = &c->ifaces[c->n_ifaces];
	memset(f, 0, sizeof *f);
	f->fd = fd;
	if (label && *label)
		cpy(f->label, sizeof f->label, label);
	else
		snprintf(f->label, sizeof f->label, "%s:%s", netns && *netns ? netns : "host", ifname);
	snprintf(f->what, sizeof f->what, "/proc/net/dev of netns %s, interface %s",
		 netns && *netns ? netns : "(own)", ifname);
	char key[192];
	for (int k = 0; k < 8; k++) {
		snprintf(key, sizeof key, "%s.%s", f->label, if_fields[k]);
		f->k[k] = intern(c, key);
	}
	if (sample_iface(c, f, lk_real_ns(), e) < 0) {
		close(fd);
		rc = -1;
		goto out;
	}
	c->n_ifaces++;
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int lk_coll_add_capture(struct lk_coll *c, const char *point, const char *netns,
			const char *ifname, const char *bpf, struct lk_err *e)
{
	if (c->cfg.no_capture)
		return 0;
	if (!point || (strcmp(point, "sender") && strcmp(point, "dom0") && strcmp(point, "receiver")))
		return lk_errf(e, LK_EXIT_USAGE, "collectors: capture point must be sender, dom0 or receiver");
	if (c->n_captures >= MAX_CAPTURES)
		return lk_errf(e, LK_EXIT_RUNTIME, "collectors: more than %d captures", MAX_CAPTURES);
	struct point_capture *k = &c->captures[c->n_captures];
	memset(k, 0, sizeof *k);
	cpy(k->point, sizeof k->point, point);
	if (c->cfg.run_id > 0)
		snprintf(k->path, sizeof k->path, "%.3900s/run%lld-%s.pcap", c->dir, (long long)c->cfg.run_id,
			 point);
	else
		snprintf(k->path, sizeof k->path, "%.3900s/lrokit-%llu-%d-%s.pcap", c->dir,
			 (unsigned long long)(c->start_rt / 1000000u), (int)getpid(), point);
	struct lk_livecap_cfg cc = {
		.netns = netns, .ifname = ifname, .filter = bpf, .path = k->path,
		.snaplen = c->cfg.snaplen, .buffer_bytes = c->cfg.capture_buffer,
		.cpu = c->cfg.pin_capture ? c->cfg.capture_cpu : -1,
	};
	if (lk_livecap_start(&cc, &k->live, e) < 0) {
		unlink(k->path);
		return -1;
	}
	c->n_captures++;
	return 0;
}

int lk_coll_tcpinfo(struct lk_coll *c, uint64_t t_ns, const char *key, double value)
{
	pthread_mutex_lock(&c->mu);
	add_sample(c, t_ns, SRC_TCPINFO, intern(c, key), value);
	int rc = c->oom ? -1 : 0;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* --- writing --- */

/* Per-domain sums of the components named "DOMAIN/part". */
struct agg {
	char comp[64], event[64], unit[16], src[12], note[200], parts[200];
	double sum;
	bool all_has;
};
#define MAX_AGG 128

struct writer {
	sqlite3 *db;
	sqlite3_stmt *ins;
	int64_t run_id;
	int rows;
	int rc;
	char err[256];
	bool collect_agg;
	struct agg agg[MAX_AGG];
	int nagg;
};

static void agg_add(struct writer *w, const char *comp, const char *event, bool has, double v,
		    const char *unit, const char *source, const char *note)
{
	const char *slash = strchr(comp, '/');
	if (!slash || slash == comp || !strcmp(event, "pid") || !strcmp(event, "pinned_cpu"))
		return;
	size_t pl = (size_t)(slash - comp);
	if (pl >= sizeof w->agg[0].comp)
		return;
	struct agg *a = NULL;
	for (int i = 0; i < w->nagg; i++)
		if (strlen(w->agg[i].comp) == pl && !strncmp(w->agg[i].comp, comp, pl) &&
		    !strcmp(w->agg[i].event, event)) {
			a = &w->agg[i];
			break;
		}
	if (!a) {
		if (w->nagg >= MAX_AGG)
			return;
		a = &w->agg[w->nagg++];
		memset(a, 0, sizeof *a);
		memcpy(a->comp, comp, pl);
		cpy(a->event, sizeof a->event, event);
		cpy(a->unit, sizeof a->unit, unit ? unit : "");
		cpy(a->src, sizeof a->src, source);
		a->all_has = true;
	}
	size_t l = strlen(a->parts);
	snprintf(a->parts + l, sizeof a->parts - l, "%s%s", l ? ", " : "", comp);
	if (has)
		a->sum += v;
	else if (a->all_has) {
		a->all_has = false;
		cpy(a->note, sizeof a->note, note ? note : "a part has no value");
	}
}

static void put(struct writer *w, const char *comp, const char *event, bool has, double v,
		const char *unit, const char *source, const char *note)
{
	if (w->rc)
		return;
	if (w->collect_agg)
		agg_add(w, comp, event, has, v, unit, source, note);
	sqlite3_stmt *s = w->ins;
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, w->run_id);
	sqlite3_bind_text(s, 2, comp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, event, -1, SQLITE_TRANSIENT);
	if (has)
		sqlite3_bind_double(s, 4, v);
	else
		sqlite3_bind_null(s, 4);
	if (unit)
		sqlite3_bind_text(s, 5, unit, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_text(s, 6, source, -1, SQLITE_TRANSIENT);
	if (note && *note)
		sqlite3_bind_text(s, 7, note, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 7);
	if (sqlite3_step(s) != SQLITE_DONE) {
		w->rc = -1;
		snprintf(w->err, sizeof w->err, "insert counter %s/%s: %s", comp, event,
			 sqlite3_errmsg(w->db));
	}
	w->rows++;
}

static void xs_counter_cb(void *ctx, const char *comp, const char *event, bool has, double v,
			  const char *unit, const char *note)
{
	put(ctx, comp, event, has, v, unit, "xenstat", note);
}

static const char *perf_unit(const char *ev)
{
	if (!strcmp(ev, "task-clock") || !strcmp(ev, "cpu-clock"))
		return "ns";
	if (!strcmp(ev, "cycles") || !strcmp(ev, "instructions"))
		return ev;
	return "count";
}

static void put_perf(struct writer *w, const char *comp, struct lk_perf_evlist *el,
		     const char *open_err, bool per_cpu, struct lk_coll_summary *sum)
{
	if (!el) {
		const char *evs[] = {"cycles", "instructions", "task-clock"};
		for (int i = 0; i < (per_cpu ? 2 : 3); i++)
			put(w, comp, evs[i], false, 0, perf_unit(evs[i]), i < 2 ? "pmu" : "sw", open_err);
		return;
	}
	lk_perf_evlist_disable(el);
	struct lk_err e = {0};
	bool read_ok = lk_perf_evlist_read(el, &e) == 0;
	for (size_t i = 0; i < lk_perf_evlist_nr(el); i++) {
		const struct lk_perf_evsel *s = lk_perf_evlist_evsel(el, i);
		struct perf_event_attr a;
		lk_perf_event_parse(s->name, &a, NULL);
		const char *src = a.type == PERF_TYPE_SOFTWARE ? "sw" : "pmu";
		char note[400] = "";
		bool has = false;
		double v = 0;
		if (s->state != LK_PERF_OPEN) {
			cpy(note, sizeof note, s->reason);
			if (!strcmp(s->name, "cycles") || !strcmp(s->name, "instructions"))
				sum->pmu_missing = true;
		} else if (!read_ok) {
			cpy(note, sizeof note, e.msg);
		} else if (!s->counts.counted) {
			snprintf(note, sizeof note, "never scheduled on the PMU (multiplexing): value unknown");
		} else {
			has = true;
			v = s->counts.scaled;
			size_t l = 0;
			if (s->user_only)
				l += (size_t)snprintf(note + l, sizeof note - l, "%s; ", s->reason);
			if (s->counts.multiplexed && l < sizeof note)
				l += (size_t)snprintf(note + l, sizeof note - l,
						      "scaled: counted %.1f%% of the time; ",
						      100.0 * (double)s->counts.run / (double)s->counts.ena);
			if (s->fallback_of[0] && l < sizeof note)
				l += (size_t)snprintf(note + l, sizeof note - l, "software fallback for %s; ",
						      s->fallback_of);
			if (per_cpu && !strcmp(s->name, "cpu-clock") && l < sizeof note)
				l += (size_t)snprintf(note + l, sizeof note - l,
						      "per CPU this is wall time incl. idle; busy time: procstat busy_ns; ");
			if (l >= 2 && l < sizeof note)
				note[l - 2] = 0;
		}
		put(w, comp, s->name, has, v, perf_unit(s->name), src, note);
	}
}

static int write_rows(struct lk_coll *c, struct writer *w, struct lk_coll_summary *sum)
{
	char note[512], ev[96];
	double wall = (double)(c->stop_mono - c->start_mono);
	put(w, "run", "wall_ns", true, wall, "ns", "procstat", "collection window (monotonic)");
	put(w, "run", "ncpus", true, c->ncpu > 1 ? c->ncpu - 1 : 0, "count", "procstat", NULL);
	put(w, "run", "clk_tck", true, (double)c->clk_tck, "Hz", "procstat",
	    "/proc tick length: procstat times have 1/clk_tck resolution");
	put(w, "run", "interval_ms", true, c->cfg.interval_ms, "ms", "procstat", "sampling period");

	/* components */
	w->collect_agg = true;
	for (int i = 0; i < c->n_comps; i++) {
		struct comp *p = &c->comps[i];
		if (!c->cfg.no_perf)
			put_perf(w, p->name, p->el, p->perf_err, false, sum);
		if (!c->cfg.no_procstat) {
			note[0] = 0;
			if (p->gone)
				snprintf(note, sizeof note, "process ended %.0f ms into the collection; /proc "
					 "times up to its last reading (perf counts are complete)",
					 (double)(p->gone_ns - c->start_rt) / 1e6);
			bool has = p->ut.nsamples >= 2;
			if (!has && !note[0])
				snprintf(note, sizeof note, "fewer than two readings");
			double u = ticks_ns(c, p->ut.delta), s = ticks_ns(c, p->st.delta);
			put(w, p->name, "utime_ns", has, u, "ns", "procstat", note);
			put(w, p->name, "stime_ns", has, s, "ns", "procstat", note);
			put(w, p->name, "cpu_ns", has, u + s, "ns", "procstat", note);
		}
		put(w, p->name, "pinned_cpu", p->cpu >= 0, p->cpu, "cpu", "procstat",
		    p->cpu >= 0 ? NULL : "not pinned");
		put(w, p->name, "pid", true, p->pid, "pid", "procstat", NULL);
	}
	/* domain sums: "dom0" = dom0/nic + dom0/netback ... (no pid row: not a leaf) */
	w->collect_agg = false;
	for (int i = 0; i < w->nagg; i++) {
		struct agg *a = &w->agg[i];
		char n2[420];
		if (a->all_has)
			snprintf(n2, sizeof n2, "sum of %.200s", a->parts);
		else
			snprintf(n2, sizeof n2, "%.200s (sum of %.200s)", a->note, a->parts);
		put(w, a->comp, a->event, a->all_has, a->sum, a->unit[0] ? a->unit : NULL, a->src, n2);
	}

	/* CPUs */
	if (!c->cfg.no_procstat) {
		for (int i = 0; i < c->ncpu; i++) {
			char comp[32];
			if (c->cpu_id[i] < 0)
				snprintf(comp, sizeof comp, "cpu");
			else
				snprintf(comp, sizeof comp, "cpu%d", c->cpu_id[i]);
			bool has_any = c->cpu[i][0].nsamples >= 2;
			for (int f = 0; f < 10; f++) {
				snprintf(ev, sizeof ev, "%s_ns", cpu_fields[f]);
				bool has = has_any && f < c->cpu_ncols;
				put(w, comp, ev, has, ticks_ns(c, c->cpu[i][f].delta), "ns", "procstat",
				    f >= c->cpu_ncols ? "column absent from this kernel's /proc/stat"
				    : has_any ? NULL : (c->cpu_err[0] ? c->cpu_err : "fewer than two readings"));
			}
			uint64_t busy = c->cpu[i][0].delta + c->cpu[i][1].delta + c->cpu[i][2].delta +
					c->cpu[i][5].delta + c->cpu[i][6].delta;
			put(w, comp, "busy_ns", has_any, ticks_ns(c, busy), "ns", "procstat",
			    "user+nice+system+irq+softirq");
		}
	}
	if (!c->cfg.no_perf) {
		int ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
		for (int i = 0; i < ncpu && i < MAX_CPUS; i++) {
			char comp[32];
			snprintf(comp, sizeof comp, "cpu%d", i);
			put_perf(w, comp, c->cpu_el[i], c->cpu_perf_err, true, sum);
		}
	}

	/* interfaces */
	for (int i = 0; i < c->n_ifaces; i++) {
		struct iface *f = &c->ifaces[i];
		for (int k = 0; k < 8; k++) {
			size_t l = 0;
			note[0] = 0;
			if (f->c[k].resets)
				l += (size_t)snprintf(note, sizeof note,
						      "counter went down %u time(s) (reset): counted from zero after each; ",
						      f->c[k].resets);
			if (f->missing && l < sizeof note)
				l += (size_t)snprintf(note + l, sizeof note - l,
						      "interface absent in %u sample(s); ", f->missing);
			if (f->errors && l < sizeof note)
				l += (size_t)snprintf(note + l, sizeof note - l, "%u failed read(s): %s; ",
						      f->errors, f->last_err);
			if (l >= 2 && l < sizeof note)
				note[l - 2] = 0;
			bool has = f->c[k].nsamples >= 2;
			put(w, f->label, if_fields[k], has, (double)f->c[k].delta,
			    k == 0 || k == 4 ? "bytes" : "packets", "iface",
			    has ? note : "fewer than two readings");
		}
	}

	/* xen */
	if (!c->cfg.no_xenstat) {
		if (c->xs && c->xs_b) {
			lk_xs_map_counters(c->xs_a, c->xs_b, xs_counter_cb, w);
			sum->xen = true;
		} else {
			put(w, "xen", "xenstat", false, 0, NULL, "xenstat",
			    c->xen_note[0] ? c->xen_note : "no xenstat snapshot");
		}
	}

	/* captures */
	for (int i = 0; i < c->n_captures; i++) {
		const struct lk_livecap_stats *s = &c->capture_stats[i];
		put(w, c->captures[i].point, "capture_packets", true, (double)s->written, "packets", "pcap",
		    s->error[0] ? s->error : NULL);
		if (s->stats_ok) {
			cpy(note, sizeof note, s->drops ? "DROPS: the capture is incomplete" : "");
			put(w, c->captures[i].point, "capture_kernel_drops", true, (double)s->drops, "packets", "pcap",
			    note);
			put(w, c->captures[i].point, "capture_if_drops", true, (double)s->ifdrops, "packets", "pcap",
			    NULL);
		} else {
			put(w, c->captures[i].point, "capture_kernel_drops", false, 0, "packets", "pcap",
			    "pcap_stats failed");
		}
	}
	return w->rc;
}

static int write_samples(struct lk_coll *c, sqlite3 *db, int64_t run_id, int *rows, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT INTO samples(run_id, t_ns, source, key, value) VALUES (?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "samples: %s", sqlite3_errmsg(db));
	for (size_t i = 0; i < c->n_samples; i++) {
		const struct sample *s = &c->samples[i];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)s->t_ns);
		sqlite3_bind_text(st, 3, src_name[s->src], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, c->keys[s->key], -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 5, s->v);
		if (sqlite3_step(st) != SQLITE_DONE) {
			lk_errf(e, LK_EXIT_RUNTIME, "insert sample: %s", sqlite3_errmsg(db));
			sqlite3_finalize(st);
			return -1;
		}
	}
	*rows = (int)c->n_samples;
	sqlite3_finalize(st);
	return 0;
}

static void free_coll(struct lk_coll *c)
{
	for (int i = 0; i < c->n_comps; i++)
		lk_perf_evlist_free(c->comps[i].el);
	for (int i = 0; i < MAX_CPUS; i++)
		lk_perf_evlist_free(c->cpu_el[i]);
	for (int i = 0; i < c->n_ifaces; i++)
		close(c->ifaces[i].fd);
	lk_xs_close(c->xs);
	free(c->xs_a);
	free(c->xs_b);
	for (uint32_t i = 0; i < c->n_keys; i++)
		free(c->keys[i]);
	free(c->keys);
	free(c->samples);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void stop_sampler(struct lk_coll *c)
{
	if (c->th_running) {
		atomic_store(&c->stop, 1);
		pthread_join(c->th, NULL);
		c->th_running = false;
	}
}

int lk_coll_finish(struct lk_coll *c)
{
	if (c->finished)
		return 0;
	c->finished = true;
	stop_sampler(c);
	/* final readings: perf first (closest to the end of the work) */
	for (int i = 0; i < c->n_comps; i++)
		if (c->comps[i].el)
			lk_perf_evlist_disable(c->comps[i].el);
	for (int i = 0; i < MAX_CPUS; i++)
		if (c->cpu_el[i])
			lk_perf_evlist_disable(c->cpu_el[i]);
	c->stop_mono = lk_mono_ns();
	sample_all(c);
	if (c->xs) {
		c->xs_b = calloc(1, sizeof *c->xs_b);
		struct lk_err xe = {0};
		if (!c->xs_b || lk_xs_take(c->xs, c->xs_b, &xe) < 0) {
			snprintf(c->xen_note, sizeof c->xen_note, "final xenstat snapshot failed: %.200s", xe.msg);
			free(c->xs_b);
			c->xs_b = NULL;
		}
	}
	for (int i = 0; i < c->n_captures; i++)
		lk_livecap_request_stop(c->captures[i].live);
	int rc = 0;
	for (int i = 0; i < c->n_captures; i++) {
		struct lk_err ce = {0};
		/* a failed capture loop also says why in capture_stats[i].error */
		if (lk_livecap_stop(c->captures[i].live, &c->capture_stats[i], &ce) < 0)
			rc = -1;
		c->captures[i].live = NULL;
	}
	return rc;
}

int lk_coll_stop(struct lk_coll *c, sqlite3 *db, int64_t run_id, struct lk_coll_summary *sum_out,
		 struct lk_err *e)
{
	struct lk_coll_summary sum;
	memset(&sum, 0, sizeof sum);
	lk_coll_finish(c);
	int rc = 0;
	for (int i = 0; i < c->n_captures; i++)
		sum.capture_drops += c->capture_stats[i].drops;
	sum.drops_flagged = sum.capture_drops > 0;

	if (c->oom) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "collectors: out of memory while sampling");
		goto done;
	}
	struct writer w = {.db = db, .run_id = run_id};
	char *errmsg = NULL;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &errmsg) != SQLITE_OK) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "collectors: begin: %s", errmsg ? errmsg : "?");
		sqlite3_free(errmsg);
		goto done;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO counters(run_id, component, event, value, unit, source, note)"
			       " VALUES (?,?,?,?,?,?,?)", -1, &w.ins, NULL) != SQLITE_OK) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "collectors: %s", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	rc = write_rows(c, &w, &sum);
	sqlite3_finalize(w.ins);
	if (rc < 0)
		lk_errf(e, LK_EXIT_RUNTIME, "collectors: %s", w.err);
	else
		rc = write_samples(c, db, run_id, &sum.samples, e);
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, &errmsg) != SQLITE_OK) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "collectors: commit: %s", errmsg ? errmsg : "?");
		sqlite3_free(errmsg);
	}
	if (rc < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	sum.counters = w.rows;

	/* captures through the analyze path, each in its own transaction */
	for (int i = 0; i < c->n_captures; i++) {
		const struct lk_livecap_stats *cs = &c->capture_stats[i];
		struct lk_err ie = {0};
		int arc = lk_analyze_run_capture(db, run_id, c->captures[i].point, c->captures[i].path,
						 cs->stats_ok ? (int64_t)cs->drops : -1, &ie);
		if (arc < 0) {
			if (rc == 0) {
				if (e)
					*e = ie;
				rc = lk_err_prefix(e, "ingest of %s capture", c->captures[i].point);
			}
			continue;
		}
		sum.captures++;
	}

	{
		size_t l = 0;
		for (int i = 0; i < c->n_comps && l < sizeof sum.notes; i++) {
			if (!c->comps[i].el)
				continue;
			int k = lk_perf_evlist_find(c->comps[i].el, "cycles");
			const struct lk_perf_evsel *s = k >= 0 ? lk_perf_evlist_evsel(c->comps[i].el, (size_t)k) : NULL;
			if (s && s->state != LK_PERF_OPEN) {
				l += (size_t)snprintf(sum.notes + l, sizeof sum.notes - l,
						      "cycles/instructions unavailable (%s); ", s->reason);
				break;
			}
		}
		if (c->xen_note[0] && l < sizeof sum.notes)
			l += (size_t)snprintf(sum.notes + l, sizeof sum.notes - l, "%s; ", c->xen_note);
		if (sum.drops_flagged && l < sizeof sum.notes)
			l += (size_t)snprintf(sum.notes + l, sizeof sum.notes - l, "capture drops: %llu; ",
					      (unsigned long long)sum.capture_drops);
		if (l >= 2 && l < sizeof sum.notes)
			sum.notes[l - 2] = 0;
	}
done:
	if (sum_out)
		*sum_out = sum;
	free_coll(c);
	return rc;
}

void lk_coll_abort(struct lk_coll *c)
{
	if (!c)
		return;
	stop_sampler(c);
	for (int i = 0; i < c->n_captures; i++) {
		if (c->captures[i].live) {
			struct lk_livecap_stats st;
			lk_livecap_stop(c->captures[i].live, &st, NULL);
		}
		unlink(c->captures[i].path);
	}
	free_coll(c);
}
