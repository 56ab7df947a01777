/* testbed/run.h - one run: `lrokit run` as a library call.
 *
 * lk_run builds one configuration (testbed/testbed.h) in network namespaces
 * named lkr<pid>-*, starts the collectors (collectors/collect.h), runs one
 * verified bulk transfer (`lrokit recv` in the receiver's namespace, `lrokit
 * send` in the sender's, each a child process of this binary), tears
 * everything down (also when the transfer fails or opts->stop is set) and
 * writes the run record (schema/runrec.h): the `runs` row, the sender's and
 * receiver's TCP counters, every stage's counters (testbed/stage.h), the LRO
 * engines' counters, the sender's TCP_INFO series and the collectors' rows.
 * Leftovers of killed runs (their process is gone) are removed first.
 *
 * Run LRO rate = the sender's TCP OutSegs / the receiver's IP InReceives
 * (kernel counters, deltas over the transfer).
 *
 * Nothing here prints: phases go to opts->progress, messages to
 * opts->message. The caller owns signal handling: it sets *opts->stop to
 * the signal number to abort the run (the record then says 'aborted').
 */
#ifndef LK_TESTBED_RUN_H
#define LK_TESTBED_RUN_H

#include "lib/err.h"
#include "testbed/configs.h"
#include "testbed/model.h"
#include "testbed/progress.h"
#include "testbed/stage.h"
#include "testbed/testbed.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The snaplen of a run's captures (collectors and --no-collect tcpdump). */
#define LK_RUN_SNAPLEN 128

enum lk_run_msg {
	LK_RUN_WARN,   /* something went wrong, the run goes on */
	LK_RUN_NOTE,   /* worth saying unless the user asked for quiet */
	LK_RUN_STATUS, /* what is happening now, for a terminal */
};

struct lk_run_opts {
	const struct lk_config *cfg;
	uint64_t bytes;          /* to transfer, > 0 */
	uint64_t rate_bps;       /* tbf on the sender's wire, 0 = none */
	const char *db;          /* database file */
	const char *capture_dir; /* NULL: beside the database (made if missing) */
	bool no_collect;         /* no collectors; with capture_dir: tcpdump captures */
	/* The fidelity model (testbed/model.h): every stage's batching, queueing
	 * and scheduling, guest.quickack for the receiver. Start from
	 * lk_model_defaults() (no effect) or lk_model_profile(); all of it is
	 * stored with the run (model_params, runs.params "model"). */
	struct lk_model model;
	const char *profile;     /* runs.profile: the profile the model started from, NULL none */
	const char *sweep_key;   /* runs.sweep_key/sweep_value when the run is one point of a */
	double sweep_value;      /* sweep (lrokit bench --sweep), sweep_key NULL otherwise */
	const char *cc;          /* sender congestion control, NULL = default */
	int mss;                 /* sender MSS, 0 = default */
	const char *lro_policy;  /* NULL = linux */
	const char *cmdline;     /* stored in runs.cmdline */
	volatile sig_atomic_t *stop; /* set to a signal number to abort (may be NULL) */
	void (*progress)(void *ctx, const struct lk_progress *p);
	void (*message)(void *ctx, enum lk_run_msg level, const char *msg);
	void *ctx;
};

struct lk_run_result {
	int64_t run_id;
	char prefix[48];         /* of the testbed's names */
	const char *status;      /* "ok", "failed" or "aborted" */
	char error[600];         /* why, when not ok */
	int signal;              /* the stop signal, 0 none */
	uint64_t bytes;          /* verified payload */
	bool verified;
	double goodput_bps;      /* the receiver's, NaN unknown */
	double lro_rate;         /* NaN unknown */
	double drops;            /* runs.stage_drops: every drop at a stage (modelled: NIC ring,
				    vif queue, netback; the emulator's: wire socket, TAP
				    queues, errors); NaN unknown; 0 without stages (native) */
	uint64_t retrans_segs, receiver_out_segs, sender_out_segs;
	uint64_t receiver_cpu_ns;  /* the receiver process's CPU time, 0 unknown */
	double recv_cpu_share;     /* busy share of the receiving CPU during the transfer
				      (everything on it, ours or not), NaN unknown */
	bool have_stage[LK_TB_NSTAGES];
	struct lk_stage_stats stage[LK_TB_NSTAGES];
	char capture_sender[512], capture_receiver[512]; /* "" none */
};

/* 0 when a run record was written (r->status says how the run went), -1
 * when none could be (database, capture directory; e filled). */
int lk_run(const struct lk_run_opts *o, struct lk_run_result *r, struct lk_err *e);

/* Disk space one run of `bytes` leaves behind (its two captures and its
 * database rows), an upper bound; see run.c for the model. */
/* Write the result as the one-line JSON object of `lrokit run --json` to f
 * (a serialiser for the caller's stream; lk_run itself never prints). */
void lk_run_result_json(FILE *f, const struct lk_run_opts *o, const struct lk_run_result *r);
uint64_t lk_run_disk_estimate(uint64_t bytes);

#endif
