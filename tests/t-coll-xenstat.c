/* t-coll-xenstat: the xenstat-to-rows mapping on a recorded set of values
 * (two snapshots of a dom0 with one guest, as xentop -b -n -v would show),
 * the guest-direction naming of vif counters, domains appearing and
 * disappearing, counter resets, and "not on Xen" without library noise. */
#include "collectors/xenstat.h"
#include "tests/tap.h"

#include <fcntl.h>
#include <unistd.h>

struct row {
	char comp[96], ev[96], note[200];
	bool has;
	double v;
};
static struct row rows[256];
static int nrows;

static void cfn(void *ctx, const char *c, const char *ev, bool has, double v, const char *unit,
		const char *note)
{
	(void)ctx;
	(void)unit;
	if (nrows >= 256)
		return;
	struct row *r = &rows[nrows++];
	snprintf(r->comp, sizeof r->comp, "%s", c);
	snprintf(r->ev, sizeof r->ev, "%s", ev);
	snprintf(r->note, sizeof r->note, "%s", note ? note : "");
	r->has = has;
	r->v = v;
}

static const struct row *get(const char *c, const char *ev)
{
	for (int i = 0; i < nrows; i++)
		if (!strcmp(rows[i].comp, c) && !strcmp(rows[i].ev, ev))
			return &rows[i];
	return NULL;
}

static int nsamples;
static char lastkey[192];
static double rx_sample;
static void sfn(void *ctx, uint64_t t, const char *key, double v)
{
	(void)ctx;
	(void)t;
	nsamples++;
	snprintf(lastkey, sizeof lastkey, "%s", key);
	if (!strcmp(key, "domU.vif1.0.guest_rx_bytes"))
		rx_sample = v;
}

/* Recorded: Xen 4.17, 2 pCPUs; dom0 (2 vCPUs) and guest "lro-guest" (domid 1,
 * 1 vCPU, vif1.0); 10 s apart; 1.25 GB delivered to the guest. */
static struct lk_xs_snap a = {
	.t_ns = 1000000000000ull, .ncpus = 2, .cpu_hz = 2400000000ull, .xen_version = "4.17.3",
	.ndoms = 2,
	.dom = {
		{.domid = 0, .name = "Domain-0", .cpu_ns = 523000000000ull, .vcpus = 2, .vcpus_online = 2},
		{.domid = 1, .name = "lro-guest", .cpu_ns = 81000000000ull, .vcpus = 1, .vcpus_online = 1,
		 .nvifs = 1,
		 .vif = {{.id = 0, .rbytes = 4000000, .rpackets = 60000, .rerrs = 0, .rdrop = 0,
			  .tbytes = 1000000000ull, .tpackets = 690000, .terrs = 0, .tdrop = 12}}},
	},
};
static struct lk_xs_snap b = {
	.t_ns = 1010000000000ull, .ncpus = 2, .cpu_hz = 2400000000ull, .xen_version = "4.17.3",
	.ndoms = 2,
	.dom = {
		{.domid = 0, .name = "Domain-0", .cpu_ns = 530500000000ull, .vcpus = 2, .vcpus_online = 2},
		{.domid = 1, .name = "lro-guest", .cpu_ns = 87000000000ull, .vcpus = 1, .vcpus_online = 1,
		 .nvifs = 1,
		 .vif = {{.id = 0, .rbytes = 9000000, .rpackets = 140000, .rerrs = 0, .rdrop = 0,
			  .tbytes = 2250000000ull, .tpackets = 1553000, .terrs = 0, .tdrop = 15}}},
	},
};

int main(void)
{
	int n = lk_xs_map_counters(&a, &b, cfn, NULL);
	is_int(n, nrows, "row count returned");
	is_int(n, 2 * 4 + 8, "4 rows per domain + 8 per vif");
	const struct row *r = get("dom0", "cpu_ns");
	ok(r && r->has && r->v == 7.5e9, "dom0 cpu_ns delta 7.5 s");
	r = get("domU", "cpu_ns");
	ok(r && r->has && r->v == 6e9, "single guest is 'domU' (same name as the emulated testbed)");
	r = get("domU", "cpu_util");
	ok(r && r->has && r->v > 0.599 && r->v < 0.601, "domU cpu_util = 6 s / 10 s / 1 vCPU");
	r = get("dom0", "cpu_util");
	ok(r && r->v > 0.374 && r->v < 0.376, "dom0 cpu_util over 2 online vCPUs");
	r = get("domU", "vif1.0.guest_rx_bytes");
	ok(r && r->v == 1.25e9, "guest_rx_bytes = backend tbytes delta (dom0 transmit = guest receive)");
	r = get("domU", "vif1.0.guest_tx_bytes");
	ok(r && r->v == 5e6, "guest_tx_bytes = backend rbytes delta (the ACK direction)");
	r = get("domU", "vif1.0.guest_rx_packets");
	ok(r && r->v == 863000, "guest_rx_packets = backend tpackets delta");
	r = get("domU", "vif1.0.guest_rx_drops");
	ok(r && r->v == 3 && strstr(r->note, "guest rx = backend tx"), "drops mapped, note explains direction");
	r = get("domU", "vcpus");
	ok(r && r->v == 1, "vcpus");

	/* a second guest appears, the first is gone, dom0's counter went down */
	struct lk_xs_snap c = b;
	c.dom[0].cpu_ns = 1000;
	c.dom[1].domid = 2;
	snprintf(c.dom[1].name, sizeof c.dom[1].name, "other");
	c.ndoms = 3;
	c.dom[2] = b.dom[1];
	nrows = 0;
	lk_xs_map_counters(&b, &c, cfn, NULL);
	r = get("domU-other", "cpu_ns");
	ok(r && r->has && r->v == 87e9 && strstr(r->note, "appeared"), "new domain counted from zero, noted");
	ok(get("domU-lro-guest", "cpu_ns") != NULL, "with two guests, names carry the domain name");
	r = get("dom0", "cpu_ns");
	ok(r && r->v == 1000 && strstr(r->note, "went down"), "counter reset: the new value is the delta, noted");
	struct lk_xs_snap d = a;
	d.ndoms = 1;
	nrows = 0;
	lk_xs_map_counters(&a, &d, cfn, NULL);
	r = get("domU", "cpu_ns");
	ok(r && !r->has && strstr(r->note, "gone"), "domain gone before the end: NULL with a reason");

	int ns = lk_xs_map_samples(&b, sfn, NULL);
	ok(ns == 2 + 8 && nsamples == ns, "samples: cpu_ns per domain + 8 per vif (%d)", ns);
	ok(rx_sample == 2.25e9, "sample key domU.vif1.0.guest_rx_bytes is cumulative backend tbytes");

	struct lk_err e = {0};
	if (access("/dev/xen/privcmd", F_OK) == 0 || access("/proc/xen/privcmd", F_OK) == 0) {
		ok(lk_xs_probe(&e) == 0, "on Xen: probe succeeds");
		skip("not on Xen: lk_xs_probe fails with LK_EXIT_MISSING (this is Xen)");
		skip("not on Xen: lk_xs_open stays quiet and fails (this is Xen)");
	} else {
		ok(lk_xs_probe(&e) == -1 && e.code == LK_EXIT_MISSING && strstr(e.msg, "not on Xen"),
		   "off Xen: %s", e.msg);
		/* lk_xs_open must not let libxenstat print its noise */
		fflush(stderr);
		int saved = dup(2);
		char tmpl[] = "/tmp/lkxsXXXXXX";
		int fd = mkstemp(tmpl);
		dup2(fd, 2);
		struct lk_xs *x = lk_xs_open(&e);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		off_t sz = lseek(fd, 0, SEEK_END);
		close(fd);
		unlink(tmpl);
		ok(x == NULL && strstr(e.msg, "not on Xen"), "open off Xen: NULL, %s", e.msg);
		is_int(sz, 0, "nothing printed to stderr");
	}
	diag("xenstat collector built: %s", lk_xs_built() ? "yes" : "no");
	return done_testing();
}
