/* schema/runrec.h - write one `lrokit run` into the database (schema/db.h):
 * the `runs` row (inserted as 'running' with our pid, finished as ok/failed/
 * aborted), stage counters into `counters` (source 'stage'/'iface'/'snmp'),
 * LRO engine counters into `lro_stats`, the sender's TCP_INFO series into
 * `samples` (source 'tcpinfo'), the model's parameters into `model_params`,
 * the stages' histograms into `stage_hist`. NaN values are stored as NULL. */
#ifndef LK_SCHEMA_RUNREC_H
#define LK_SCHEMA_RUNREC_H

#include "lib/err.h"

#include <sqlite3.h>
#include <stdint.h>

struct lk_runrec {
	sqlite3 *db;
	int64_t run_id;
	sqlite3_stmt *counter, *lro, *sample, *model, *hist;
};

struct lk_runrec_info {
	const char *config, *cmdline, *tool_version, *params;
	uint64_t started_ns, bytes, rate_limit_bps;
	const char *profile;      /* runs.profile, NULL none */
	const char *sweep_key;    /* runs.sweep_key, NULL: not a sweep point */
	double sweep_value;       /* runs.sweep_value (with sweep_key) */
};

/* Open (create/migrate) path and insert a 'running' row. */
int lk_runrec_begin(struct lk_runrec *r, const char *path, const struct lk_runrec_info *ri,
		    struct lk_err *e);
/* Final columns; status ok|failed|aborted; error may be NULL. */
int lk_runrec_finish(struct lk_runrec *r, const char *status, uint64_t finished_ns,
		     uint64_t bytes, double goodput_bps, double lro_rate, const char *offloads,
		     const char *error, struct lk_err *e);
int lk_runrec_counter(struct lk_runrec *r, const char *component, const char *event,
		      double value, const char *unit, const char *source, const char *note);
int lk_runrec_lro(struct lk_runrec *r, const char *stage, const char *policy, const char *key,
		  double value);
int lk_runrec_sample(struct lk_runrec *r, uint64_t t_ns, const char *source, const char *key,
		     double value);
/* One model parameter (model_params); origin default|profile|cli|sweep. */
int lk_runrec_model(struct lk_runrec *r, const char *key, double value, const char *unit,
		    const char *origin);
/* One histogram bucket (stage_hist); count 0 is not stored. */
int lk_runrec_hist(struct lk_runrec *r, const char *stage, const char *dir, const char *hist,
		   int bucket, uint64_t count);
/* runs.stage_drops (NaN: NULL, unknown). */
int lk_runrec_stage_drops(struct lk_runrec *r, double drops, struct lk_err *e);
/* A run measured on other machines (lrokit bench --hosts): the measured
 * receiver's kernel, hostname and CPU model instead of this machine's, the
 * final runs.params, runs.bench_id (NULL: each left as it is) and
 * runs.repeat (0: left). */
int lk_runrec_set_host(struct lk_runrec *r, const char *kernel, const char *hostname,
		       const char *cpu_model, const char *params, const char *bench_id,
		       int repeat, struct lk_err *e);
/* Wrap many inserts in one transaction. */
int lk_runrec_tx(struct lk_runrec *r, const char *sql);
void lk_runrec_close(struct lk_runrec *r);

#endif
