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

struct rp_run {
	int64_t id;
	char *config, *status, *bench_id, *cmdline, *tool_version, *kernel, *hostname, *cpu_model,
		*offloads, *params, *error;
	int64_t started_ns, finished_ns, bytes, rate_limit_bps;
	int64_t capture_drops; /* kernel drops of the run's captures, -1 unknown */
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

struct rp_config {
	char *name;
	const char *paper;   /* paper's name, NULL none */
	int *runs;           /* indices of ok runs */
	int n;
	int rep;             /* representative run (median goodput), -1 */
	double gp_mean, gp_sd, lro_mean, lro_sd, cpu_per_gb, acks_per100, sack, rexmt;
	int n_gp, n_lro, n_cpu, n_acks, n_sack, n_rexmt;
	double drops;        /* capture drops summed over the runs that know them */
	int n_drops, n_dropped; /* runs with a known value / with drops > 0 */
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
	char label[192];
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
void rp_model_free(struct rp_model *m);

/* One pass over the packets of the panels' captures (figures 3 and 6). */
int rp_scan_packets(sqlite3 *db, struct rp_model *m, unsigned max_panels, struct lk_err *e);

/* Figures: each writes its data file and script into outdir. Returns 1
 * written, 0 not drawn (why filled), -1 error. */
struct rp_fig {
	const char *base;   /* "fig1-throughput" */
	const char *title;
	int w, h;           /* pixels */
};
extern const struct rp_fig rp_figs[LK_REPORT_NFIG];
int rp_fig_write(sqlite3 *db, const struct rp_model *m, int fig, const char *outdir,
		 unsigned max_panels, int *w, int *h, char *why, size_t nwhy, struct lk_err *e);

/* Version strings of this report's tools (libpcap, SQLite, gnuplot, kernel). */
struct rp_versions {
	char pcap[128], sqlite[64], gnuplot[128], kernel[256];
};
void rp_versions_get(const char *gnuplot, struct rp_versions *v);

/* HTML */
int rp_html_write(const struct rp_model *m, const struct lk_report_opts *o,
		  const struct lk_report_result *r, const int *fw, const int *fh, const char *path,
		  struct lk_err *e);

/* helpers */
void rp_html_esc(FILE *f, const char *s);
double rp_nan(void);

#endif
