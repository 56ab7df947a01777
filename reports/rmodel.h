/* reports/rmodel.h - internal to reports/: what the report reads from the
 * database (rmodel.c), the figures (rfigs.c) and the HTML (rhtml.c).
 * Not an API for other modules: use reports/report.h. */
#ifndef LK_REPORTS_RMODEL_H
#define LK_REPORTS_RMODEL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/err.h"
#include "reports/findings.h"
#include "reports/report.h"
#include "testbed/configs.h" /* the configurations and the paper's labels */

/* A growable list of (name, value). */
struct rp_kv {
	char name[64];
	double v;
	double n; /* number of values summed (for means) */
};
struct rp_kvs {
	struct rp_kv *v;
	size_t n, cap;
};
/* Add x to name (creating it). -1 out of memory. */
int rp_kvs_add(struct rp_kvs *s, const char *name, double x);
struct rp_kv *rp_kvs_find(const struct rp_kvs *s, const char *name);
void rp_kvs_free(struct rp_kvs *s);

/* One stored capture as the report sees it: its row, and what its flows and
 * ACK classes add up to. */
struct rp_capture_summary {
	int64_t id, run_id;   /* run_id 0: an external file */
	char point[16];
	char *path;
	char label[160];      /* short name for figures: config/run or file name */
	int64_t first_ns, last_ns, packets;
	/* flows carrying data, each oriented by its data direction */
	int nflows;
	double data_bytes, data_pkts;          /* data direction */
	double ack_pkts, sack_pkts, pure_acks; /* ACK direction (ACKs sent by the data receiver) */
	double rexmt_pkts;                     /* data direction */
	uint32_t mss;                          /* full-size segment payload, 0 unknown */
	const char *mss_how;
	uint32_t max_seg;                      /* largest data payload seen */
	int64_t main_flow;                     /* largest data flow */
	int main_dir;
	int64_t main_first_ns, main_last_ns;
	double main_bytes;
	struct rp_kvs acks;                    /* ack_classes of the ACK direction */
	int64_t bwe_flow;                      /* largest data flow with bwe rows, 0 none */
	int bwe_dir;
	int64_t bwe_rows;
};

struct rp_prov {
	char comp[64], event[64], source[32], unit[16], note[256];
	int n, nnull;
};

/* Histograms of one stage's receive path (schema v3 table stage_hist, dir
 * rx): polls by frames taken, and frames emitted by segments carried. */
#define RP_NSTAGES 3      /* nic, netback, netfront (the order of lk_stage_name) */
#define RP_FPP_MAX 256    /* frames per poll: buckets 1..256 (256 = 256 or more) */
#define RP_SPA_MAX 64     /* segments per aggregate: 1..64 */
struct rp_hist {
	bool have[RP_NSTAGES];
	double fpp[RP_NSTAGES][RP_FPP_MAX + 1];
	double spa[RP_NSTAGES][RP_SPA_MAX + 1];
};
extern const char *const rp_stage_names[RP_NSTAGES];

/* How a run was made (runs.params): the emulated testbed (`lrokit run`,
 * `bench`) or `bench --hosts` between real machines (params.hosts and
 * params.remote_commands), plain hosts or a real Xen host. */
enum rp_testbed { RP_TB_EMULATED, RP_TB_HOSTS, RP_TB_XEN_HOST };

struct rp_run {
	int64_t id;
	enum rp_testbed tb;
	char testbed[256];     /* "emulated", "hosts SENDER -> RECEIVER", "Xen host SENDER -> GUEST (dom0 D)" */
	char *config, *status, *bench_id, *cmdline, *tool_version, *kernel, *hostname, *cpu_model,
		*offloads, *params, *error;
	int64_t started_ns, finished_ns, bytes, rate_limit_bps;
	int64_t capture_drops; /* kernel drops of the run's captures, -1 unknown */
	int64_t stage_drops;   /* drops of the emulated path's stages (v3), -1 unknown */
	char *profile, *sweep_key; /* v3; NULL: not recorded / not part of a sweep */
	double sweep_value;    /* NaN when not part of a sweep */
	struct rp_kvs model;   /* model parameters (v3 model_params): key -> value */
	struct rp_hist *hist;  /* NULL: no stage_hist rows */
	struct rp_kvs stagec;  /* the stages' counters (source 'stage'): "nic irqs" -> value */
	double lro_stage[RP_NSTAGES]; /* lro_stats lro_rate per stage, NaN none */
	int set;               /* index into rp_model.sets */
	int repeat;
	double goodput_bps, lro_rate;
	const char *lro_src;
	bool ok, selected;
	int rcv_cap, snd_cap, any_cap; /* index into model captures, -1 none */
	/* per component, per GB when bytes known */
	struct rp_kvs cycles, instr, cpu_s;
	double cpu_total_s;  /* receiving side, NAN unknown */
	char cpu_events[128]; /* events the CPU time came from */
};

/* Runs are compared only within a set: the same profile, sweep point and
 * model parameters (a database of several benches or a sweep has several). */
struct rp_set {
	char *key;           /* profile, sweep point and model parameters as text */
	char label[320];     /* "" when the database has one set of emulated runs */
	char rest[192];      /* profile, sweep point, "parameters #N" ("" none) */
	enum rp_testbed tb;  /* the testbed of its runs (part of the key) */
	char testbed[256];   /* of its first run (rp_run.testbed) */
	const char *profile, *sweep_key; /* of its first run (owned by the run) */
	double sweep_value;  /* NaN: not a sweep point */
	int first_run;
};

struct rp_config {
	char *name;
	char label[288];     /* name, with the set's label when there are several sets;
				"NAME (hosts S -> R)" for real hosts, "NAME [emulated]" beside them */
	int set;
	const char *paper;   /* paper's name, NULL none */
	int *runs;           /* indices of ok runs */
	int n;
	int rep;             /* representative run (median goodput), -1 */
	double gp_mean, gp_sd, lro_mean, lro_sd, cpu_per_gb, acks_per100, sack, rexmt;
	int n_gp, n_lro, n_cpu, n_acks, n_sack, n_rexmt;
	double drops;        /* capture drops summed over the runs that know them */
	int n_drops, n_dropped; /* runs with a known value / with drops > 0 */
	double sdrops;       /* stage drops summed over the runs that know them */
	int n_sdrops, n_sdropped;
	struct rp_hist hist; /* pooled over the runs (have[s]: some run had stage s) */
};

/* One bar/panel of the per-capture figures: a configuration (runs mode) or
 * a capture (analyze-only mode). */
#define RP_HIST 64 /* aggregate sizes 1..63 segments, [64] = 64 or more */
struct rp_scan {
	int64_t t0_ns, width_ns;
	int nbins;
	double *data, *acks;     /* per bin: data segments / ACK segments seen */
	double hist[RP_HIST + 1]; /* data packets by size in segments */
	double hist_n;
	bool done;
};

struct rp_panel {
	char label[320];
	struct rp_scan scan;
	int cap;   /* capture index for figures 3, 6 (receiver capture), -1 none */
	int bcap;  /* capture index for figure 4, -1 none */
	int cfg;   /* configuration index, -1 in capture mode */
	/* pooled ACK classes and data segments (figure 5) */
	struct rp_kvs acks;
	double segs, classified;
};

struct rp_model {
	struct rp_run *runs;
	int nruns;
	struct rp_capture_summary *captures;
	int n_captures;
	struct rp_config *cfgs;
	int ncfgs;
	struct rp_set *sets;
	int nsets;
	bool mixed;     /* ok runs of the emulated testbed and of real hosts */
	bool v3;        /* the database has schema v3's tables and columns */
	int nok;        /* selected ok runs */
	bool runs_mode; /* there are ok runs */
	struct rp_panel *panels;
	int npanels;
	int panels_dropped; /* beyond max_panels */
	bool per_gb;        /* counters normalized per GB */
	bool have_pmu;
	char cpu_events[256];
	/* counter provenance: one row per distinct (component, event, source,
	 * unit, note) over the ok runs */
	struct rp_prov *prov;
	int nprov;
	int ext_captures;   /* external captures not used (runs mode) */
};

int rp_model_load(sqlite3 *db, const struct lk_report_opts *o, struct rp_model *m,
		  struct lk_err *e);

/* Numbers of one run that the summary, the findings and the sweep figures
 * share; NaN when the run does not have it. */
enum rp_metric {
	RP_M_GOODPUT,       /* bit/s */
	RP_M_LRO_RUN,       /* runs.lro_rate (else the largest stage rate) */
	RP_M_LRO_NIC,       /* lro_stats lro_rate of the nic stage */
	RP_M_LRO_NETFRONT,  /* ... of the netfront stage */
	RP_M_ACKS100,       /* ACKs sent by the receiver per 100 data segments (receiver capture) */
	RP_M_QUICK100,      /* of which timing_quick ("unsuccessful delayed ACK") */
	RP_M_AGGR100,       /* of which timing_aggregate (one ACK for an aggregate) */
	RP_M_SACK,          /* ACKs with SACK blocks sent by the receiver (receiver capture) */
	RP_M_SACK100,       /* the same per 100 data segments */
	RP_M_REXMT,         /* retransmitted data segments (sender capture) */
	RP_M_CPU_GB,        /* receiving side CPU seconds per GB (NaN unless per GB) */
	RP_M_STAGE_DROPS,   /* runs.stage_drops */
	RP_M_CAPTURE_DROPS, /* runs.capture_drops */
	RP_M__COUNT
};
double rp_run_metric(const struct rp_model *m, const struct rp_run *r, enum rp_metric k);
/* CPU seconds per GB of one domain ("dom0", "domU": its components summed). */
double rp_run_domain_cpu(const struct rp_model *m, const struct rp_run *r, const char *dom);
struct rp_stat {
	double mean, sd; /* sd NaN with fewer than 2 values */
	int n;           /* runs with a value */
};
/* Mean and sd over the ok runs of c. */
struct rp_stat rp_cfg_stat(const struct rp_model *m, const struct rp_config *c,
			   enum rp_metric k);
/* The same for the runs of c that have f(run) (per-domain CPU and the like). */
struct rp_stat rp_cfg_stat_fn(const struct rp_model *m, const struct rp_config *c,
			      double (*f)(const struct rp_model *, const struct rp_run *,
					  const void *), const void *arg);
/* The configuration `name` in set `set` (-1: the first set that has it). */
const struct rp_config *rp_find_cfg(const struct rp_model *m, int set, const char *name);
/* Median of a histogram over buckets 1..max (NaN when empty) and its mean. */
double rp_hist_median(const double *h, int max);
double rp_hist_mean(const double *h, int max);
void rp_model_free(struct rp_model *m);

/* One pass over the packets of the panels' captures (figures 3 and 6). */
int rp_scan_packets(sqlite3 *db, struct rp_model *m, unsigned max_panels, struct lk_err *e);

/* Figures: each writes its data file and script into outdir. */
enum rp_figkind {
	RP_FIG_THROUGHPUT, RP_FIG_CPU, RP_FIG_TRAFFIC, RP_FIG_BWE, RP_FIG_ACKS, RP_FIG_AGGSIZE,
	RP_FIG_EVIDENCE, RP_FIG_SWEEP
};
struct rp_fig {
	enum rp_figkind kind;
	char base[96];      /* "fig1-throughput", "fig8-sweep-nic.rx_usecs" */
	char name[48];      /* "throughput", ..., "evidence", "sweep nic.rx_usecs" */
	char title[160];
	int w, h;           /* pixels (h 0: set by the figure) */
	bool needs_runs;    /* nothing to draw from captures alone */
	const char *sweep_key; /* RP_FIG_SWEEP */
};
/* The report's figures: the six of the study, the per-poll evidence and
 * one per swept parameter (at most max). */
int rp_fig_list(const struct rp_model *m, struct rp_fig *figs, int max);
/* Returns 1 written, 0 not drawn (why filled), -1 error. */
int rp_fig_write(sqlite3 *db, const struct rp_model *m, const struct rp_fig *fig, int num,
		 const char *outdir, unsigned max_panels, int *w, int *h, char *why, size_t nwhy,
		 struct lk_err *e);

/* The per-poll evidence and sweep figures (rsweep.c), same contract as
 * rp_fig_write; out is the figure's open data file and script. */
struct rp_out {
	FILE *csv, *gp;
	int block; /* next block index in csv */
	char csvname[112];
};
int rp_block(struct rp_out *w, const char *fmt, const char *cols);
void rp_gq(FILE *f, const char *s);
void rp_csvtxt(FILE *f, const char *s);
void rp_num(FILE *f, double v);
#define RP_SWEEP_MAXPTS 32 /* values of one swept parameter in a figure */
int rp_fig_evidence(const struct rp_model *m, struct rp_out *w, char *why, size_t nwhy);
int rp_fig_sweep(const struct rp_model *m, const char *key, struct rp_out *w, char *why,
		 size_t nwhy);
/* Where the lro-phys vs lro-virt LRO-rate ordering flips along the sweep of
 * key: the values between which it changes (up to max pairs); returns the
 * number of flips, -1 when the sweep does not have both rates at >= 2 values. */
int rp_sweep_flips(const struct rp_model *m, const char *key, double (*at)[2], int max);

/* The claims judged on the ok runs of set `set` (reports/findings.h). */
int rp_findings(sqlite3 *db, const struct rp_model *m, int set, struct lk_finding out[LK_NCLAIMS],
		struct lk_err *e);

/* Version strings of this report's tools (libpcap, SQLite, gnuplot, kernel). */
struct rp_versions {
	char pcap[128], sqlite[64], gnuplot[128], kernel[256];
};
void rp_versions_get(const char *gnuplot, struct rp_versions *v);

/* HTML */
/* The HTML of the findings, the per-poll evidence and the sweeps (rhmodel.c). */
int rp_html_findings(FILE *f, sqlite3 *db, const struct rp_model *m, struct lk_err *e);
void rp_html_evidence(FILE *f, const struct rp_model *m);
void rp_html_sweeps(FILE *f, sqlite3 *db, const struct rp_model *m);
int rp_html_write(sqlite3 *db, const struct rp_model *m, const struct lk_report_opts *o,
		  const struct lk_report_result *r, const struct rp_fig *figs, const int *fw,
		  const int *fh, const char *path, struct lk_err *e);

/* helpers */
void rp_html_esc(FILE *f, const char *s);
/* A number cell (<td class=n>), "n/a" for NaN. */
void rp_html_num(FILE *f, double v, const char *fmt);
double rp_nan(void);

#endif
