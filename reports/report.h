/* reports/report.h - the paper-style report of an lrokit database.
 *
 * lk_report_build reads the database (read-only) and writes into one
 * directory:
 *
 *   fig1-throughput.{csv,gp,png,svg}  goodput per configuration (mean, error
 *                                     bars = sd over repeats), LRO rate on bars
 *   fig2-cpu.{csv,gp,png,svg}         cycles and instructions per domain,
 *                                     stacked; CPU time when the PMU is absent
 *   fig3-traffic.{csv,gp,png,svg}     data packets/s and ACKs/s over time at
 *                                     the receiver
 *   fig4-bwe.{csv,gp,png,svg}         sender bandwidth estimates over time,
 *                                     SACK arrivals marked
 *   fig5-acks.{csv,gp,png,svg}        ACK breakdown per configuration, stacked
 *   fig6-aggsize.{csv,gp,png,svg}     aggregate-size histogram per configuration
 *   fig7-evidence.{csv,gp,png,svg}    per-poll evidence: each stage's frames per
 *                                     poll and segments per aggregate (stage_hist)
 *                                     per configuration, LRO rates in the legend
 *   figN-sweep-KEY.{csv,gp,png,svg}   one per swept model parameter (runs.sweep_key):
 *                                     LRO rate per stage, goodput, ACKs per 100 data
 *                                     segments, SACK packets, retransmissions and
 *                                     stage drops against the swept value, per
 *                                     configuration; where the lro-phys / lro-virt
 *                                     LRO-rate ordering flips is marked
 *   report.pdf                        every figure, one per page
 *   report.html                       summary table, paper comparison, findings
 *                                     (reports/findings.h), figures, run metadata,
 *                                     counter provenance
 *   Makefile                          `make` re-renders after editing a .gp
 *   gnuplot.log                       gnuplot's messages
 *
 * Data files are CSV (`set datafile separator comma`); a file with several
 * panels or series holds blocks separated by two blank lines (gnuplot's
 * `index`), each introduced by a `# block N: ...` comment.
 *
 * What is read (schema/migrations.c):
 *   - runs with status 'ok' (optionally only the ids given) go into figures
 *     and tables; other statuses are listed in the HTML with their error.
 *   - captures: per run the 'receiver' capture (else 'dom0', else any) for
 *     figures 3, 5, 6 and ACK/SACK numbers; the 'sender' capture (else any)
 *     for retransmits and figure 4. Without ok runs (a database filled by
 *     `lrokit analyze`), figures 3-5 are drawn per capture and figures 1, 2
 *     and 6 are reported as needing runs.
 *   - counters: `cycles` and `instructions` (non-NULL values) per component;
 *     CPU time from the first of `task-clock`, `cpu-clock`, `cpu_ns`,
 *     `cpu_time_ns`, `busy_ns`, `cpu_busy_ns` that a component has, converted
 *     with the `unit` column (ns, us, ms, s, ticks = USER_HZ; NULL = ns).
 *     Components: the domains (every component except `sender` and `cpuN` /
 *     `cpu`); when only `cpuN` components exist, those.
 *   - ack_classes: the `timing_*` classes (why the receiver sent each ACK)
 *     and the cumulative-advance classes (`adv_*` except `adv_hist_*`, `dup`,
 *     `window_update`, `adv0_other`) of the ACK direction, whatever class
 *     names exist; the rest are listed in the HTML.
 *   - bwe: every estimator name found (westwood, delivery_rate, goodput...),
 *     `sack = 1` rows / the `sack_ack` estimator marked as SACK arrivals.
 *   - lro_stats: `lro_rate` per stage when runs.lro_rate is NULL.
 */
#ifndef LK_REPORTS_REPORT_H
#define LK_REPORTS_REPORT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define LK_REPORT_NFIG 6     /* the study's figures 1-6 */
#define LK_REPORT_MAXFIG 16  /* with figure 7 and one figure per sweep */

struct lk_report_opts {
	const char *outdir;       /* created if missing */
	const char *db_label;     /* shown in the HTML (the database path) */
	const int64_t *run_ids;   /* only these runs (NULL: all) */
	size_t n_run_ids;
	const char *gnuplot;      /* path from lk_gp_find */
	unsigned max_panels;      /* panels per time-series figure, 0 = 6 */
};

struct lk_report_result {
	int nfig;                           /* figures considered (7 + one per sweep) */
	char name[LK_REPORT_MAXFIG][48];    /* "throughput", ..., "evidence", "sweep KEY" */
	int drawn[LK_REPORT_MAXFIG];        /* 1 = figure written and rendered */
	char why[LK_REPORT_MAXFIG][256];    /* reason when not drawn */
	int needs_runs[LK_REPORT_MAXFIG];   /* not drawn because there are no ok runs */
	unsigned ok_runs, other_runs;       /* runs used / runs listed as not ok */
	unsigned captures;                  /* captures used */
	char html[4200];                    /* path of report.html */
};

/* Open the database read-only; works for a reader who may not write the
 * database's directory (falls back to SQLite's immutable mode). */
int lk_report_open_db(const char *path, sqlite3 **db, struct lk_err *e);

/* Build the report. Figures without data are not drawn and say why in
 * res->why (and in the HTML); that is not an error. -1 on a database error,
 * an unwritable directory, a run id that is not in the database, gnuplot
 * failing, or a database with neither runs nor captures. */
int lk_report_build(sqlite3 *db, const struct lk_report_opts *o, struct lk_report_result *res,
		    struct lk_err *e);

#endif
