/* testbed/model.h - the fidelity model of the emulated Xen receive path: one
 * table of parameters that govern how the testbed's stages batch, queue,
 * notify, schedule and drop.
 *
 * Every parameter is a number (a double) named by a dotted key
 * ("nic.rx_usecs"), with a unit, a "no effect" value (the stage behaves as
 * if the mechanism were not modelled: poll whenever a frame is readable,
 * never drop, never wait), the value of the paper's hardware (Hatori & Oi
 * 2008: an on-board 1 Gbit/s e1000 NIC under Linux 2.6.18, Xen 3.1's netif
 * ring, the credit scheduler) and where that value comes from ("guess: ..."
 * when it is one). The CLI help, the README table, `lrokit bench` (profiles,
 * sweeps) and the report all read this one table (lk_model_params).
 *
 * A struct lk_model holds one value per parameter and where it came from
 * (origin: "default", "profile", "cli" or "sweep"); `lrokit run` stores all
 * of them with the run (model_params table, runs.params "model").
 *
 * Profiles: "quick" = every parameter at its no-effect value (fast, the
 * testbed as before the model); "paper" = the paper values.
 *
 * This module depends on lib/ only (the reports layer may use it).
 */
#ifndef LK_TESTBED_MODEL_H
#define LK_TESTBED_MODEL_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The parameters, in table order (lk_model_params()[LK_M_x].key). */
enum lk_model_key {
	LK_M_WIRE_RATE,       /* wire.rate_bps */
	LK_M_NIC_RX_USECS,    /* nic.rx_usecs */
	LK_M_NIC_RX_FRAMES,   /* nic.rx_frames */
	LK_M_NIC_BUDGET,      /* nic.napi_budget */
	LK_M_NIC_RING,        /* nic.ring */
	LK_M_NIC_REPOLL,      /* nic.repoll */
	LK_M_BRIDGE_GSO,      /* bridge.gso */
	LK_M_RING_SLOTS,      /* ring.slots */
	LK_M_RING_NOTIFY,     /* ring.notify */
	LK_M_NETBACK_RESERVE, /* netback.reserve */
	LK_M_VIF_QLEN,        /* vif.qlen */
	LK_M_NETFRONT_BUDGET, /* netfront.budget */
	LK_M_NETFRONT_RX_MIN, /* netfront.rx_min */
	LK_M_GUEST_WAKE_US,   /* guest.wake_us */
	LK_M_GUEST_SLICE_US,  /* guest.slice_us */
	LK_M_GUEST_LOAD,      /* guest.load */
	LK_M_GUEST_QUICKACK,  /* guest.quickack */
	LK_M_STAGE_COST_NS,   /* stage.cost_ns */
	LK_M_TIME_DILATION,   /* time.dilation */
	LK_MODEL_NPARAMS
};

struct lk_model_param {
	const char *key;      /* "nic.rx_usecs" */
	const char *unit;     /* "us", "bit/s", "frames", "bool", ... */
	double no_effect;     /* the value with no effect (lk_model_defaults) */
	double paper;         /* the paper profile's value */
	double min, max;      /* accepted range (inclusive) */
	bool integer;         /* only whole numbers (bool: 0 or 1) */
	const char *source;   /* where the paper value comes from; "guess: why" */
	const char *desc;     /* one line: what it does */
};

#define LK_MODEL_ORIGIN_LEN 8

/* Mean lateness of the NIC stage's modelled interrupts (counters late_ns /
 * irqs) above which a run did not keep the model's time: the host was too
 * busy, so what each poll found and what was dropped are the emulator's,
 * not the model's (a third of the paper profile's 125 us ITR gap). `lrokit
 * run` warns, and the report's findings are not testable on such runs. */
#define LK_MODEL_LATE_WARN_NS 40000ull

struct lk_model {
	double v[LK_MODEL_NPARAMS];
	char origin[LK_MODEL_NPARAMS][LK_MODEL_ORIGIN_LEN]; /* default|profile|cli|sweep */
};

/* The table: *n = LK_MODEL_NPARAMS entries, in enum lk_model_key order. */
const struct lk_model_param *lk_model_params(size_t *n);
/* Index of key, -1 unknown. */
int lk_model_find(const char *key);

/* Every parameter at its no-effect value, origin "default". */
void lk_model_defaults(struct lk_model *m);
/* Apply a profile on top of m: "quick" (the no-effect values) or "paper"
 * (the paper values); origin "profile". -1 unknown profile (e filled). */
int lk_model_profile(struct lk_model *m, const char *profile, struct lk_err *e);
/* The profile names, NULL-terminated: {"quick", "paper", NULL}. */
extern const char *const lk_model_profiles[];

/* Set one value; origin is "default", "profile", "cli" or "sweep". -1 when
 * the key is unknown or v is out of range / not whole where it must be. */
int lk_model_set(struct lk_model *m, const char *key, double v, const char *origin,
		 struct lk_err *e);
/* "KEY=VALUE" (VALUE a number; for bit/s also 1G, 500M; for bool also
 * on/off/true/false) -> lk_model_set. */
int lk_model_parse_kv(struct lk_model *m, const char *kv, const char *origin, struct lk_err *e);
/* Parse a value for parameter i as lk_model_parse_kv does. */
int lk_model_parse_value(int i, const char *s, double *v, struct lk_err *e);
/* Every value in range with an origin, and the checks across parameters
 * (e.g. guest.load needs guest.slice_us > 0). */
int lk_model_check(const struct lk_model *m, struct lk_err *e);

/* The value as an int / bool (for the stages). */
static inline int lk_model_int(const struct lk_model *m, enum lk_model_key k)
{
	return (int)m->v[k];
}
static inline bool lk_model_on(const struct lk_model *m, enum lk_model_key k)
{
	return m->v[k] != 0;
}
/* Time dilation k (>= 1): the stages run every modelled time k times
 * slower (rates k times lower), so the emulator has k times the host's CPU
 * per modelled event; lateness is counted in modelled time. */
static inline double lk_model_dilation(const struct lk_model *m)
{
	return m->v[LK_M_TIME_DILATION] > 1 ? m->v[LK_M_TIME_DILATION] : 1;
}

/* "KEY=VALUE" of parameter i, the value printed so that parsing it back
 * gives the same double. */
void lk_model_format_kv(const struct lk_model *m, int i, char *buf, size_t n);
/* {"key":value,...} of every parameter. */
void lk_model_json(FILE *f, const struct lk_model *m);

#endif
