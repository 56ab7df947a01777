/* collectors/xenstat.c - libxenstat snapshots and their mapping to rows (see xenstat.h). */
#include "collectors/xenstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef LK_HAVE_XENSTAT
#include <xenstat.h>
#endif

void lk_xs_component(const struct lk_xs_snap *s, const struct lk_xs_dom *d, char *buf, size_t n)
{
	if (d->domid == 0) {
		snprintf(buf, n, "dom0");
		return;
	}
	int guests = 0;
	for (int i = 0; i < s->ndoms; i++)
		guests += s->dom[i].domid != 0;
	if (guests <= 1)
		snprintf(buf, n, "domU");
	else if (d->name[0])
		snprintf(buf, n, "domU-%s", d->name);
	else
		snprintf(buf, n, "domU-%u", d->domid);
}

static const struct lk_xs_dom *find_dom(const struct lk_xs_snap *s, uint32_t domid)
{
	for (int i = 0; i < s->ndoms; i++)
		if (s->dom[i].domid == domid)
			return &s->dom[i];
	return NULL;
}

static const struct lk_xs_vif *find_vif(const struct lk_xs_dom *d, uint32_t id)
{
	for (int i = 0; d && i < d->nvifs; i++)
		if (d->vif[i].id == id)
			return &d->vif[i];
	return NULL;
}

/* Guest-direction view of a backend vif: index order matches vif_events. */
static const char *const vif_events[] = {
	"guest_rx_bytes", "guest_rx_packets", "guest_rx_errs", "guest_rx_drops",
	"guest_tx_bytes", "guest_tx_packets", "guest_tx_errs", "guest_tx_drops",
};
static const char *const vif_units[] = {"bytes", "packets", "packets", "packets",
					"bytes", "packets", "packets", "packets"};

static void vif_guest_view(const struct lk_xs_vif *v, uint64_t out[8])
{
	/* backend transmit = guest receive */
	out[0] = v->tbytes;
	out[1] = v->tpackets;
	out[2] = v->terrs;
	out[3] = v->tdrop;
	out[4] = v->rbytes;
	out[5] = v->rpackets;
	out[6] = v->rerrs;
	out[7] = v->rdrop;
}

static const char note_dir[] = "vif counters seen from dom0: guest rx = backend tx";

static double delta(uint64_t a, uint64_t b, bool *reset)
{
	*reset = b < a;
	return *reset ? (double)b : (double)(b - a);
}

int lk_xs_map_counters(const struct lk_xs_snap *a, const struct lk_xs_snap *b, lk_xs_counter_fn fn,
		       void *ctx)
{
	int rows = 0;
	double wall_ns = b->t_ns > a->t_ns ? (double)(b->t_ns - a->t_ns) : 0;
	char comp[96], ev[64], note[200];
	for (int i = 0; i < b->ndoms; i++) {
		const struct lk_xs_dom *db = &b->dom[i];
		const struct lk_xs_dom *da = find_dom(a, db->domid);
		lk_xs_component(b, db, comp, sizeof comp);
		bool reset = false;
		double cpu = da ? delta(da->cpu_ns, db->cpu_ns, &reset) : (double)db->cpu_ns;
		const char *dnote = !da ? "domain appeared during the run; counted from zero"
				    : reset ? "counter went down (domain restarted?); counted from zero" : NULL;
		fn(ctx, comp, "cpu_ns", true, cpu, "ns", dnote), rows++;
		fn(ctx, comp, "vcpus", true, db->vcpus, "count", NULL), rows++;
		fn(ctx, comp, "vcpus_online", true, db->vcpus_online, "count", NULL), rows++;
		if (wall_ns > 0 && db->vcpus_online > 0)
			fn(ctx, comp, "cpu_util", true, cpu / wall_ns / db->vcpus_online, "ratio",
			   "cpu_ns / wall time / online vCPUs"), rows++;
		else
			fn(ctx, comp, "cpu_util", false, 0, "ratio", "no wall time or no online vCPU"), rows++;
		for (int k = 0; k < db->nvifs; k++) {
			const struct lk_xs_vif *vb = &db->vif[k];
			const struct lk_xs_vif *va = find_vif(da, vb->id);
			uint64_t gb[8], ga[8] = {0};
			vif_guest_view(vb, gb);
			if (va)
				vif_guest_view(va, ga);
			for (int f = 0; f < 8; f++) {
				snprintf(ev, sizeof ev, "vif%u.%u.%s", db->domid, vb->id, vif_events[f]);
				double d = delta(ga[f], gb[f], &reset);
				if (!va)
					snprintf(note, sizeof note, "%s; vif appeared during the run", note_dir);
				else if (reset)
					snprintf(note, sizeof note, "%s; counter reset during the run", note_dir);
				else
					snprintf(note, sizeof note, "%s", note_dir);
				fn(ctx, comp, ev, true, d, vif_units[f], note), rows++;
			}
		}
	}
	for (int i = 0; i < a->ndoms; i++) {
		const struct lk_xs_dom *da = &a->dom[i];
		if (find_dom(b, da->domid))
			continue;
		lk_xs_component(a, da, comp, sizeof comp);
		fn(ctx, comp, "cpu_ns", false, 0, "ns", "domain gone before the end of the run"), rows++;
	}
	return rows;
}

int lk_xs_map_samples(const struct lk_xs_snap *s, lk_xs_sample_fn fn, void *ctx)
{
	int rows = 0;
	char comp[96], key[192];
	for (int i = 0; i < s->ndoms; i++) {
		const struct lk_xs_dom *d = &s->dom[i];
		lk_xs_component(s, d, comp, sizeof comp);
		snprintf(key, sizeof key, "%s.cpu_ns", comp);
		fn(ctx, s->t_ns, key, (double)d->cpu_ns), rows++;
		for (int k = 0; k < d->nvifs; k++) {
			uint64_t g[8];
			vif_guest_view(&d->vif[k], g);
			for (int f = 0; f < 8; f++) {
				snprintf(key, sizeof key, "%s.vif%u.%u.%s", comp, d->domid, d->vif[k].id,
					 vif_events[f]);
				fn(ctx, s->t_ns, key, (double)g[f]), rows++;
			}
		}
	}
	return rows;
}

int lk_xs_probe(struct lk_err *e)
{
	if (access("/dev/xen/privcmd", F_OK) == 0 || access("/proc/xen/privcmd", F_OK) == 0)
		return 0;
	return lk_errf(e, LK_EXIT_MISSING,
		       "not on Xen (no /dev/xen/privcmd or /proc/xen/privcmd): no per-domain statistics");
}

bool lk_xs_built(void)
{
#ifdef LK_HAVE_XENSTAT
	return true;
#else
	return false;
#endif
}

#ifdef LK_HAVE_XENSTAT
struct lk_xs {
	xenstat_handle *h;
};

struct lk_xs *lk_xs_open(struct lk_err *e)
{
	if (lk_xs_probe(e) < 0)
		return NULL;
	struct lk_xs *x = calloc(1, sizeof *x);
	if (!x) {
		lk_errf(e, LK_EXIT_RUNTIME, "xenstat: out of memory");
		return NULL;
	}
	x->h = xenstat_init();
	if (!x->h) {
		free(x);
		lk_errf(e, LK_EXIT_MISSING, "xenstat_init failed (not dom0, or xenstore unavailable)");
		return NULL;
	}
	return x;
}

int lk_xs_take(struct lk_xs *x, struct lk_xs_snap *out, struct lk_err *e)
{
	memset(out, 0, sizeof *out);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	out->t_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	xenstat_node *node = xenstat_get_node(x->h, XENSTAT_VCPU | XENSTAT_NETWORK | XENSTAT_XEN_VERSION);
	if (!node)
		return lk_errf(e, LK_EXIT_MISSING, "xenstat_get_node failed (unprivileged domain?)");
	out->ncpus = xenstat_node_num_cpus(node);
	out->cpu_hz = xenstat_node_cpu_hz(node);
	const char *ver = xenstat_node_xen_version(node);
	snprintf(out->xen_version, sizeof out->xen_version, "%s", ver ? ver : "");
	unsigned int nd = xenstat_node_num_domains(node);
	for (unsigned int i = 0; i < nd && out->ndoms < LK_XS_MAX_DOMS; i++) {
		xenstat_domain *d = xenstat_node_domain_by_index(node, i);
		if (!d)
			continue;
		struct lk_xs_dom *o = &out->dom[out->ndoms++];
		o->domid = xenstat_domain_id(d);
		const char *name = xenstat_domain_name(d);
		snprintf(o->name, sizeof o->name, "%s", name ? name : "");
		o->cpu_ns = xenstat_domain_cpu_ns(d);
		o->vcpus = xenstat_domain_num_vcpus(d);
		for (unsigned int v = 0; v < o->vcpus; v++) {
			xenstat_vcpu *vc = xenstat_domain_vcpu(d, v);
			if (vc && xenstat_vcpu_online(vc))
				o->vcpus_online++;
		}
		unsigned int nn = xenstat_domain_num_networks(d);
		for (unsigned int k = 0; k < nn && o->nvifs < LK_XS_MAX_VIFS; k++) {
			xenstat_network *n = xenstat_domain_network(d, k);
			if (!n)
				continue;
			struct lk_xs_vif *v = &o->vif[o->nvifs++];
			v->id = xenstat_network_id(n);
			v->rbytes = xenstat_network_rbytes(n);
			v->rpackets = xenstat_network_rpackets(n);
			v->rerrs = xenstat_network_rerrs(n);
			v->rdrop = xenstat_network_rdrop(n);
			v->tbytes = xenstat_network_tbytes(n);
			v->tpackets = xenstat_network_tpackets(n);
			v->terrs = xenstat_network_terrs(n);
			v->tdrop = xenstat_network_tdrop(n);
		}
	}
	xenstat_free_node(node);
	return 0;
}

void lk_xs_close(struct lk_xs *x)
{
	if (!x)
		return;
	if (x->h)
		xenstat_uninit(x->h);
	free(x);
}
#else
struct lk_xs {
	int unused;
};

struct lk_xs *lk_xs_open(struct lk_err *e)
{
	if (lk_xs_probe(e) < 0)
		return NULL;
	lk_errf(e, LK_EXIT_MISSING, "xenstat collector not built (libxenstat missing at build time)");
	return NULL;
}

int lk_xs_take(struct lk_xs *x, struct lk_xs_snap *out, struct lk_err *e)
{
	(void)x;
	(void)out;
	return lk_errf(e, LK_EXIT_MISSING, "xenstat collector not built");
}

void lk_xs_close(struct lk_xs *x) { (void)x; }
#endif
