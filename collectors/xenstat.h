/* collectors/xenstat.h - per-domain CPU and vif traffic from libxenstat.
 *
 * Two halves, so the mapping can be tested without Xen:
 *   - the library half (lk_xs_open/lk_xs_take/lk_xs_close) fills a plain
 *     snapshot struct from libxenstat (XENSTAT_VCPU | XENSTAT_NETWORK only);
 *   - the pure half (lk_xs_map_counters, lk_xs_map_samples) turns snapshots
 *     into rows through a callback.
 *
 * Off Xen: lk_xs_open fails with LK_EXIT_MISSING and "not on Xen (...)",
 * checked *before* calling xenstat_init (which prints to stderr from inside the
 * library when /dev/xen/privcmd is absent). The caller records that once.
 *
 * Direction: libxenstat reports a vif with the counters of the *backend*
 * interface vifD.N in dom0. What dom0 transmits on vifD.N is what the guest
 * receives, so rows are named by the guest's direction:
 *   guest_rx_bytes = backend tbytes, guest_tx_bytes = backend rbytes (same for
 *   packets, errs, drops).
 * Components: domid 0 is "dom0"; with exactly one guest it is "domU" (the
 * names the emulated testbed uses), with several "domU-NAME".
 */
#ifndef LK_COLL_XENSTAT_H
#define LK_COLL_XENSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define LK_XS_MAX_DOMS 32
#define LK_XS_MAX_VIFS 8

/* A vif as libxenstat reports it: backend (dom0) view. */
struct lk_xs_vif {
	uint32_t id; /* devid N of vifD.N */
	uint64_t rbytes, rpackets, rerrs, rdrop;
	uint64_t tbytes, tpackets, terrs, tdrop;
};

struct lk_xs_dom {
	uint32_t domid;
	char name[64];
	uint64_t cpu_ns;    /* cumulative over all vCPUs */
	uint32_t vcpus;     /* max_vcpu_id + 1 */
	uint32_t vcpus_online;
	int nvifs;
	struct lk_xs_vif vif[LK_XS_MAX_VIFS];
};

struct lk_xs_snap {
	uint64_t t_ns;      /* CLOCK_MONOTONIC when taken */
	uint32_t ncpus;     /* physical CPUs */
	uint64_t cpu_hz;
	char xen_version[32];
	int ndoms;
	struct lk_xs_dom dom[LK_XS_MAX_DOMS];
};

/* Component name of dom (see header comment) into buf. */
void lk_xs_component(const struct lk_xs_snap *s, const struct lk_xs_dom *d, char *buf, size_t n);

/* Counter row: value is ignored when has_value is false (NULL + note). */
typedef void (*lk_xs_counter_fn)(void *ctx, const char *component, const char *event,
				 bool has_value, double value, const char *unit, const char *note);
typedef void (*lk_xs_sample_fn)(void *ctx, uint64_t t_ns, const char *key, double value);

/* Rows for the change from a (start of run) to b (end): per domain cpu_ns
 * (delta), vcpus, vcpus_online, cpu_util (cpu_ns / wall / vcpus), and per vif
 * "vifD.N.guest_{rx,tx}_{bytes,packets,errs,drops}" deltas. A domain missing
 * from b gives NULL rows with a note; one that appeared during the run is
 * counted from zero with a note; a counter that went down is a reset (the new
 * value is the increase) with a note. Returns the number of rows emitted. */
int lk_xs_map_counters(const struct lk_xs_snap *a, const struct lk_xs_snap *b, lk_xs_counter_fn fn,
		       void *ctx);
/* Cumulative sample rows of one snapshot: keys "COMPONENT.cpu_ns" and
 * "COMPONENT.vifD.N.guest_rx_bytes" etc. Returns the number of rows. */
int lk_xs_map_samples(const struct lk_xs_snap *s, lk_xs_sample_fn fn, void *ctx);

/* Library half. */
struct lk_xs;
/* 0 when this looks like a Xen dom0 (privcmd present), else -1 with
 * LK_EXIT_MISSING and "not on Xen (...)". Never calls libxenstat. */
int lk_xs_probe(struct lk_err *e);
struct lk_xs *lk_xs_open(struct lk_err *e); /* NULL + e when not available */
int lk_xs_take(struct lk_xs *x, struct lk_xs_snap *out, struct lk_err *e);
void lk_xs_close(struct lk_xs *x);
/* true when built with libxenstat (LK_HAVE_XENSTAT). */
bool lk_xs_built(void);

#endif
