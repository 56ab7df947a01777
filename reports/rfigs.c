/* reports/rfigs.c - the six figures: a CSV data file and an editable gnuplot
 * script each (rendering is done by report.c). */
#include "reports/rmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *base, *name, *title;
	int w, h;
	bool needs_runs;
} fixed[] = {
	{"fig1-throughput", "throughput", "Goodput and LRO rate per configuration", 900, 560, true},
	{"fig2-cpu", "cpu", "CPU cost per domain", 1100, 560, true},
	{"fig3-traffic", "traffic", "Network traffic at the receiver over time", 1100, 0, false},
	{"fig4-bwe", "bwe", "Sender bandwidth estimate over time, SACK arrivals marked", 1100, 0,
	 false},
	{"fig5-acks", "acks", "Breakdown of acknowledgments", 1100, 600, false},
	{"fig6-aggsize", "aggsize", "Aggregate size per configuration", 900, 560, true},
	{"fig7-evidence", "evidence",
	 "Per-poll evidence: frames per poll and segments per aggregate of each stage", 1200, 760,
	 true},
};
#define NFIXED ((int)(sizeof fixed / sizeof fixed[0]))

int rp_fig_list(const struct rp_model *m, struct rp_fig *figs, int max)
{
	int n = 0;
	for (int i = 0; i < NFIXED && n < max; i++, n++) {
		struct rp_fig *f = &figs[n];
		memset(f, 0, sizeof *f);
		f->kind = (enum rp_figkind)i;
		snprintf(f->base, sizeof f->base, "%s", fixed[i].base);
		snprintf(f->name, sizeof f->name, "%s", fixed[i].name);
		snprintf(f->title, sizeof f->title, "%s", fixed[i].title);
		f->w = fixed[i].w;
		f->h = fixed[i].h;
		f->needs_runs = fixed[i].needs_runs;
	}
	/* one per swept parameter, in the order of the sets (sorted by key) */
	for (int s = 0; s < m->nsets && n < max; s++) {
		const char *k = m->sets[s].sweep_key;
		bool seen = !k;
		for (int i = NFIXED; i < n && !seen; i++)
			seen = !strcmp(figs[i].sweep_key, k);
		if (seen)
			continue;
		struct rp_fig *f = &figs[n++];
		memset(f, 0, sizeof *f);
		f->kind = RP_FIG_SWEEP;
		f->sweep_key = k;
		snprintf(f->base, sizeof f->base, "fig%d-sweep-%.60s", n, k);
		for (char *c = f->base; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			      *c == '.' || *c == '_'))
				*c = '_';
		snprintf(f->name, sizeof f->name, "sweep %.40s", k);
		snprintf(f->title, sizeof f->title, "Sweep of %.100s: what each number does as it "
			 "changes", k);
		f->w = 1200;
		f->h = 820;
		f->needs_runs = true;
	}
	return n;
}

static int out_open(struct rp_out *w, const char *dir, const struct rp_fig *fig, int num,
		    struct lk_err *e)
{
	char p[4200];
	memset(w, 0, sizeof *w);
	snprintf(w->csvname, sizeof w->csvname, "%s.csv", fig->base);
	snprintf(p, sizeof p, "%s/%s", dir, w->csvname);
	w->csv = fopen(p, "w");
	if (!w->csv)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot write: %m", p);
	snprintf(p, sizeof p, "%s/%s.gp", dir, fig->base);
	w->gp = fopen(p, "w");
	if (!w->gp) {
		fclose(w->csv);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot write: %m", p);
	}
	fprintf(w->csv, "# lrokit report, figure %d: %s\n", num, fig->title);
	fprintf(w->gp,
		"# lrokit report, figure %d: %s\n"
		"# Data: %s (CSV; blocks separated by two blank lines are gnuplot's `index`).\n"
		"# This script sets no terminal: edit it, then run `make` in this directory,\n"
		"# or e.g.  gnuplot -e \"set terminal pngcairo size 1000,600; set output 'x.png'\" %s.gp\n"
		"reset\n"
		"set encoding utf8\n"
		"set datafile separator comma\n"
		"set datafile missing 'NaN'\n"
		"set termoption noenhanced\n"
		"data = '%s'\n",
		num, fig->title, w->csvname, fig->base, w->csvname);
	return 0;
}

/* Start a new block in the CSV; returns its index. */
int rp_block(struct rp_out *w, const char *fmt, const char *cols)
{
	if (w->block > 0)
		fputs("\n\n", w->csv);
	fprintf(w->csv, "# block %d: %s\n# %s\n", w->block, fmt, cols);
	return w->block++;
}

static int out_close(struct rp_out *w, const char *dir, const struct rp_fig *fig,
		     struct lk_err *e)
{
	int bad = ferror(w->csv) | ferror(w->gp);
	bad |= fclose(w->csv) != 0;
	bad |= fclose(w->gp) != 0;
	if (bad)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s/%s: write error", dir, fig->base);
	return 0;
}

/* gnuplot single-quoted string: ' doubled */
void rp_gq(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/* CSV text field: no separators/newlines/quotes inside */
void rp_csvtxt(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ',' || *s == '\n' || *s == '"' || *s == '\r' ? ' ' : *s, f);
}

void rp_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("NaN", f);
	else
		fprintf(f, "%.6g", v);
}

/* Start a figure of n time-series panels (figures 3 and 4): their grid (two
 * columns), the figure's height in pixels, and the settings all panels share. */
static void time_panels(struct rp_out *w, int n, int *h, int *rows, int *cols)
{
	*cols = n <= 1 ? 1 : 2;
	*rows = (n + *cols - 1) / *cols;
	*h = *rows * 300 + 60;
	fputs("set grid\n"
	      "set key top right\n"
	      "set xlabel 'time (s)'\n", w->gp);
}

/* ---------------- figure 1 ---------------- */
static int fig1(const struct rp_model *m, struct rp_out *w, char *why, size_t nwhy)
{
	int n = 0, maxrep = 0;
	for (int k = 0; k < m->ncfgs; k++)
		if (m->cfgs[k].n_gp > 0) {
			n++;
			if (m->cfgs[k].n_gp > maxrep)
				maxrep = m->cfgs[k].n_gp;
		}
	if (!n) {
		snprintf(why, nwhy, "no ok run has a goodput (runs.goodput_bps is NULL)");
		return 0;
	}
	rp_block(w, "one row per configuration",
	      "config,label,runs,goodput_gbps_mean,goodput_gbps_sd,lro_rate_mean,bar_text,"
	      "label_y_gbps");
	for (int k = 0; k < m->ncfgs; k++) {
		const struct rp_config *c = &m->cfgs[k];
		if (!c->n_gp)
			continue;
		rp_csvtxt(w->csv, c->name);
		fputc(',', w->csv);
		rp_csvtxt(w->csv, c->label);
		if (c->paper) {
			fputs(" (", w->csv);
			rp_csvtxt(w->csv, c->paper);
			fputc(')', w->csv);
		}
		fprintf(w->csv, ",%d,", c->n_gp);
		rp_num(w->csv, c->gp_mean / 1e9);
		fputc(',', w->csv);
		rp_num(w->csv, c->gp_sd / 1e9);
		fputc(',', w->csv);
		rp_num(w->csv, c->lro_mean);
		if (isnan(c->lro_mean))
			fputs(",LRO rate n/a,", w->csv);
		else
			fprintf(w->csv, ",LRO rate %.2f,", c->lro_mean);
		rp_num(w->csv, (c->gp_mean + (isnan(c->gp_sd) ? 0 : c->gp_sd)) / 1e9);
		fputc('\n', w->csv);
	}
	FILE *g = w->gp;
	fprintf(g,
		"set title \"Goodput per configuration (mean ± sd over up to %d repeats; LRO rate = "
		"segments per packet delivered to TCP)\"\n"
		"set ylabel 'goodput (Gbit/s)'\n"
		"set style fill solid 0.7 border -1\n"
		"set boxwidth 0.6\n"
		"set yrange [0:*]\n"
		"set offsets 0.5, 0.5, graph 0.15, 0\n"
		"set grid ytics\n"
		"set key off\n"
		"set xtics nomirror\n"
		"plot data using 0:4:xtic(2) with boxes lc rgb '#4e79a7', \\\n"
		"     data using 0:4:5 with yerrorbars lc rgb '#222222' pt 0 lw 1.5, \\\n"
		"     data using 0:8:7 with labels offset 0,1 font ',10'\n",
		maxrep);
	return 1;
}

/* ---------------- figure 2 ---------------- */
static int comp_rank(const char *c)
{
	if (!strcmp(c, "dom0"))
		return 0;
	if (!strncmp(c, "dom0", 4))
		return 1;
	if (!strcmp(c, "domU"))
		return 2;
	if (!strncmp(c, "dom", 3))
		return 3;
	return 10;
}

static int cmp_comp(const void *a, const void *b)
{
	const struct rp_kv *x = a, *y = b;
	int rx = comp_rank(x->name), ry = comp_rank(y->name);
	return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

/* which: 0 cycles, 1 instructions, 2 CPU seconds */
static const struct rp_kvs *run_kv(const struct rp_run *r, int which)
{
	return which == 0 ? &r->cycles : which == 1 ? &r->instr : &r->cpu_s;
}

static int fig2_panel(const struct rp_model *m, struct rp_out *w, int which, const char *what)
{
	struct rp_kvs comps = {0};
	for (int i = 0; i < m->nruns; i++) {
		if (!m->runs[i].ok)
			continue;
		const struct rp_kvs *kv = run_kv(&m->runs[i], which);
		for (size_t k = 0; k < kv->n; k++)
			if (!rp_kvs_find(&comps, kv->v[k].name) && rp_kvs_add(&comps, kv->v[k].name, 0) < 0) {
				rp_kvs_free(&comps);
				return -1;
			}
	}
	if (!comps.n)
		return -2;
	qsort(comps.v, comps.n, sizeof *comps.v, cmp_comp);
	char cols[1024];
	size_t o = (size_t)snprintf(cols, sizeof cols, "config");
	for (size_t k = 0; k < comps.n && o < sizeof cols; k++)
		o += (size_t)snprintf(cols + o, sizeof cols - o, ",%s", comps.v[k].name);
	int b = rp_block(w, what, cols);
	for (int c = 0; c < m->ncfgs; c++) {
		const struct rp_config *cf = &m->cfgs[c];
		rp_csvtxt(w->csv, cf->label);
		for (size_t k = 0; k < comps.n; k++) {
			double s = 0;
			int n = 0;
			for (int j = 0; j < cf->n; j++) {
				const struct rp_kv *kv =
					rp_kvs_find(run_kv(&m->runs[cf->runs[j]], which), comps.v[k].name);
				if (kv) {
					s += kv->v;
					n++;
				}
			}
			fputc(',', w->csv);
			rp_num(w->csv, n ? s / n : NAN);
		}
		fputc('\n', w->csv);
	}
	const char *unit = m->per_gb ? "per GB received" : "per run";
	FILE *g = w->gp;
	if (which == 2)
		fprintf(g,
			"set title \"Software CPU time (%s; no hardware PMU: cycles and instructions "
			"unsupported)\"\nset ylabel \"CPU time, seconds %s (software: %s)\"\n",
			m->cpu_events, unit, m->cpu_events);
	else
		fprintf(g, "set format y '%%.1s%%c'\nset title '%s'\nset ylabel '%s %s (hardware PMU)'\n",
			which ? "instructions" : "cycles", which ? "instructions" : "cycles", unit);
	fputs("plot ", g);
	for (size_t k = 0; k < comps.n; k++) {
		if (k)
			fputs(", \\\n     ", g);
		fprintf(g, "data index %d using %zu%s title ", b, k + 2, k ? "" : ":xtic(1)");
		rp_gq(g, comps.v[k].name);
	}
	fputc('\n', g);
	rp_kvs_free(&comps);
	return 0;
}

static int fig2(const struct rp_model *m, struct rp_out *w, char *why, size_t nwhy, struct lk_err *e)
{
	bool cyc = false, ins = false, cpu = false;
	for (int i = 0; i < m->nruns; i++) {
		if (!m->runs[i].ok)
			continue;
		cyc |= m->runs[i].cycles.n > 0;
		ins |= m->runs[i].instr.n > 0;
		cpu |= m->runs[i].cpu_s.n > 0;
	}
	if (!cyc && !ins && !cpu) {
		snprintf(why, nwhy, "no counters: the ok runs have neither cycles/instructions nor a "
				    "CPU-time event (task-clock, cpu-clock, cpu_ns, ...)");
		return 0;
	}
	FILE *g = w->gp;
	fputs("set style data histograms\n"
	      "set style histogram rowstacked\n"
	      "set style fill solid 0.8 border -1\n"
	      "set boxwidth 0.6\n"
	      "set yrange [0:*]\n"
	      "set grid ytics\n"
	      "set key top left reverse Left\n",
	      g);
	int panels = cyc || ins ? (cyc && ins ? 2 : 1) : 1;
	fprintf(g, "set multiplot layout 1,%d title \"CPU cost per domain, stacked (mean over "
		   "repeats); components: receiving side, sender excluded\"\n", panels);
	int rc = 0;
	if (cyc || ins) {
		if (cyc)
			rc = fig2_panel(m, w, 0, "cycles per component");
		if (rc == -1)
			goto oom;
		if (ins)
			rc = fig2_panel(m, w, 1, "instructions per component");
	} else {
		rc = fig2_panel(m, w, 2, "software CPU time (seconds) per component");
	}
	if (rc == -1)
		goto oom;
	fputs("unset multiplot\n", g);
	return 1;
oom:
	return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
}

/* ---------------- figure 3 ---------------- */
static int fig3(const struct rp_model *m, struct rp_out *w, unsigned maxp, int *h, char *why,
		size_t nwhy)
{
	int idx[64], n = 0;
	for (int i = 0; i < m->npanels && n < (int)maxp && n < 64; i++)
		if (m->panels[i].scan.done && m->panels[i].scan.nbins > 0)
			idx[n++] = i;
	if (!n) {
		snprintf(why, nwhy, "%s", m->runs_mode ? "no ok run has a receiver capture with packets"
						      : "no capture with stored packets (analyze ran with "
							"--no-packets?)");
		return 0;
	}
	int rows, cols;
	time_panels(w, n, h, &rows, &cols);
	FILE *g = w->gp;
	fprintf(g,
		"set ylabel 'packets/s'\n"
		"set format y '%%.1s%%c'\n"
		"set yrange [0:*]\n"
		"set multiplot layout %d,%d title \"Traffic at the receiver: data packets/s (as "
		"delivered to the capture point: an aggregate counts once) and ACKs/s\"\n",
		rows, cols);
	for (int k = 0; k < n; k++) {
		const struct rp_panel *p = &m->panels[idx[k]];
		const struct rp_scan *s = &p->scan;
		const struct rp_capture_summary *c = &m->captures[p->cap];
		char what[2048];
		snprintf(what, sizeof what, "%s: capture %lld (%s), bins of %.3g ms", p->label,
			 (long long)c->id, c->point, (double)s->width_ns / 1e6);
		int b = rp_block(w, what, "t_s,data_pkts_per_s,acks_per_s");
		double ws = (double)s->width_ns / 1e9;
		for (int i = 0; i < s->nbins; i++)
			fprintf(w->csv, "%.6f,%.6g,%.6g\n", (i + 0.5) * ws, s->data[i] / ws, s->acks[i] / ws);
		fputs("set title ", g);
		char t[2048];
		snprintf(t, sizeof t, "%s (capture %lld, %s)", p->label, (long long)c->id, c->point);
		rp_gq(g, t);
		fprintf(g, "\nplot data index %d using 1:2 with lines lw 1.5 lc rgb '#4e79a7' title "
			   "'data packets/s', \\\n     data index %d using 1:3 with lines lw 1.5 lc rgb "
			   "'#e15759' title 'ACKs/s'\n", b, b);
	}
	fputs("unset multiplot\n", g);
	return 1;
}

/* ---------------- figure 4 ---------------- */
struct series {
	char name[64];
	double *sum, *cnt;
};

static int fig4(sqlite3 *db, const struct rp_model *m, struct rp_out *w, unsigned maxp, int *h,
		char *why, size_t nwhy, struct lk_err *e)
{
	int idx[64], n = 0;
	for (int i = 0; i < m->npanels && n < (int)maxp && n < 64; i++)
		if (m->panels[i].bcap >= 0 && m->captures[m->panels[i].bcap].bwe_flow)
			idx[n++] = i;
	if (!n) {
		snprintf(why, nwhy, "no bandwidth estimates (table bwe is empty for these captures: "
				    "they need a capture at the data sender, flows.capture_side = "
				    "'sender': decided by lrokit analyze, or its --side sender)");
		return 0;
	}
	int rows, cols;
	time_panels(w, n, h, &rows, &cols);
	FILE *g = w->gp;
	fprintf(g,
		"set ylabel 'estimate (Mbit/s)'\n"
		"set yrange [0:*]\n"
		"set y2range [0:1]\n"
		"unset y2tics\n"
		"set multiplot layout %d,%d title \"Sender bandwidth estimates (binned means); red "
		"ticks: arrivals of SACK-bearing ACKs\"\n",
		rows, cols);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT min(t_ns), max(t_ns) FROM bwe WHERE flow_id = ? AND dir = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "report: query bwe: %s", sqlite3_errmsg(db));
	sqlite3_stmt *rs;
	if (sqlite3_prepare_v2(db,
			       "SELECT estimator, t_ns, value_bps, sack FROM bwe WHERE flow_id = ? AND "
			       "dir = ? ORDER BY estimator, t_ns", -1, &rs, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return lk_errf(e, LK_EXIT_RUNTIME, "report: query bwe: %s", sqlite3_errmsg(db));
	}
	const int NB = 800;
	int rc = 1;
	for (int k = 0; k < n && rc == 1; k++) {
		const struct rp_panel *p = &m->panels[idx[k]];
		const struct rp_capture_summary *c = &m->captures[p->bcap];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, c->bwe_flow);
		sqlite3_bind_int(st, 2, c->bwe_dir);
		int64_t t0 = 0, t1 = 0;
		if (sqlite3_step(st) == SQLITE_ROW) {
			t0 = sqlite3_column_int64(st, 0);
			t1 = sqlite3_column_int64(st, 1);
		}
		int64_t span = t1 - t0 > 0 ? t1 - t0 : 1;
		double origin = (double)(c->first_ns ? c->first_ns : t0);
		struct series ser[16];
		int ns = 0;
		double *sack = calloc((size_t)NB, sizeof *sack);
		if (!sack) {
			rc = lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
			break;
		}
		sqlite3_reset(rs);
		sqlite3_bind_int64(rs, 1, c->bwe_flow);
		sqlite3_bind_int(rs, 2, c->bwe_dir);
		int r;
		while ((r = sqlite3_step(rs)) == SQLITE_ROW) {
			const char *est = (const char *)sqlite3_column_text(rs, 0);
			int64_t t = sqlite3_column_int64(rs, 1);
			int bi = (int)((double)(t - t0) / (double)span * (NB - 1));
			if (bi < 0 || bi >= NB)
				continue;
			if (sqlite3_column_int(rs, 3))
				sack[bi] += 1;
			if (!est || sqlite3_column_type(rs, 2) == SQLITE_NULL)
				continue;
			int s;
			for (s = 0; s < ns; s++)
				if (!strcmp(ser[s].name, est))
					break;
			if (s == ns) {
				if (ns == 16)
					continue;
				snprintf(ser[s].name, sizeof ser[s].name, "%s", est);
				ser[s].sum = calloc((size_t)NB, sizeof(double));
				ser[s].cnt = calloc((size_t)NB, sizeof(double));
				ns++;
				if (!ser[s].sum || !ser[s].cnt) {
					rc = lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
					break;
				}
			}
			ser[s].sum[bi] += sqlite3_column_double(rs, 2);
			ser[s].cnt[bi] += 1;
		}
		if (rc == 1 && r != SQLITE_DONE)
			rc = lk_errf(e, LK_EXIT_RUNTIME, "report: reading bwe: %s", sqlite3_errmsg(db));
		fputs("set title ", g);
		char t[2048];
		snprintf(t, sizeof t, "%s (capture %lld, %s)", p->label, (long long)c->id, c->point);
		rp_gq(g, t);
		fputs("\nplot ", g);
		static const char *const colors[] = {"#4e79a7", "#59a14f", "#f28e2b", "#b07aa1",
						     "#76b7b2", "#9c755f"};
		int clauses = 0;
		double bw = (double)span / (NB - 1);
		for (int s = 0; s < ns && rc == 1; s++) {
			char what[2048];
			snprintf(what, sizeof what, "%s: estimator %s (flow %lld dir %d)", p->label,
				 ser[s].name, (long long)c->bwe_flow, c->bwe_dir);
			int b = rp_block(w, what, "t_s,mbit_per_s");
			for (int i = 0; i < NB; i++)
				if (ser[s].cnt[i] > 0)
					fprintf(w->csv, "%.6f,%.6g\n",
						((double)t0 + (i + 0.5) * bw - origin) / 1e9,
						ser[s].sum[i] / ser[s].cnt[i] / 1e6);
			fprintf(g, "%sdata index %d using 1:2 with lines lw 1.3 lc rgb '%s' title ",
				clauses++ ? ", \\\n     " : "", b, colors[s % 6]);
			rp_gq(g, ser[s].name);
		}
		bool any_sack = false;
		for (int i = 0; i < NB; i++)
			any_sack |= sack[i] > 0;
		if (rc == 1 && any_sack) {
			char what[2048];
			snprintf(what, sizeof what, "%s: SACK-bearing ACK arrivals (bins with >= 1)",
				 p->label);
			int b = rp_block(w, what, "t_s,sack_acks_in_bin");
			for (int i = 0; i < NB; i++)
				if (sack[i] > 0)
					fprintf(w->csv, "%.6f,%.0f\n",
						((double)t0 + (i + 0.5) * bw - origin) / 1e9, sack[i]);
			fprintf(g, "%sdata index %d using 1:(0.06) axes x1y2 with impulses lw 1 lc rgb "
				   "'#e15759' title 'SACK arrivals'",
				clauses++ ? ", \\\n     " : "", b);
		}
		if (!clauses)
			fputs("NaN notitle", g);
		fputc('\n', g);
		for (int s = 0; s < ns; s++) {
			free(ser[s].sum);
			free(ser[s].cnt);
		}
		free(sack);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(rs);
	fputs("unset multiplot\n", g);
	return rc;
}

/* ---------------- figure 5 ---------------- */
static const char *const timing_order[] = {"timing_ooo", "timing_aggregate", "timing_full2",
					   "timing_delack", "timing_quick", "timing_nodata"};
static const char *const adv_order[] = {"adv_1", "adv_2", "adv_stretch", "adv_unknown",
					"dup", "window_update", "adv0_other"};

static int family(const char *c)
{
	if (!strncmp(c, "timing_", 7))
		return 0;
	if (!strncmp(c, "adv_hist_", 9))
		return -1;
	if (!strncmp(c, "adv_", 4) || !strcmp(c, "dup") || !strcmp(c, "window_update") ||
	    !strcmp(c, "adv0_other"))
		return 1;
	return -1;
}

static int order_rank(const char *c, int fam)
{
	const char *const *o = fam ? adv_order : timing_order;
	int n = fam ? 7 : 6;
	for (int i = 0; i < n; i++)
		if (!strcmp(o[i], c))
			return i;
	return 100;
}

static int cmp_class(const void *a, const void *b)
{
	const struct rp_kv *x = a, *y = b;
	int fx = family(x->name), fy = family(y->name);
	int rx = order_rank(x->name, fx), ry = order_rank(y->name, fy);
	return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

static int fig5(const struct rp_model *m, struct rp_out *w, unsigned maxp, char *why, size_t nwhy,
		struct lk_err *e)
{
	struct rp_kvs fam[2] = {{0}, {0}};
	int np = 0;
	bool per_seg = true;
	for (int i = 0; i < m->npanels && np < (int)maxp * 2; i++) {
		const struct rp_panel *p = &m->panels[i];
		bool any = false;
		for (size_t k = 0; k < p->acks.n; k++) {
			int f = family(p->acks.v[k].name);
			if (f < 0)
				continue;
			any = true;
			if (!rp_kvs_find(&fam[f], p->acks.v[k].name) &&
			    rp_kvs_add(&fam[f], p->acks.v[k].name, 0) < 0)
				goto oom;
		}
		if (any) {
			np++;
			if (!(p->segs > 0))
				per_seg = false;
		}
	}
	if (!np) {
		snprintf(why, nwhy, "no ACK classes stored (table ack_classes has no rows for the ACK "
				    "direction of these captures)");
		rp_kvs_free(&fam[0]);
		rp_kvs_free(&fam[1]);
		return 0;
	}
	int panels = (fam[0].n > 0) + (fam[1].n > 0);
	FILE *g = w->gp;
	const char *unit = per_seg ? "ACKs per 100 data segments" : "% of classified ACKs";
	fprintf(g,
		"set style data histograms\n"
		"set style histogram rowstacked\n"
		"set style fill solid 0.8 border -1\n"
		"set boxwidth 0.6\n"
		"set yrange [0:*]\n"
		"set grid ytics\n"
		"set key outside right top vertical Left reverse\n"
		"set xtics rotate by -20\n"
		"set ylabel '%s'\n"
		"set multiplot layout 1,%d title \"Acknowledgments sent by the data receiver, by class "
		"(analyzers/acks.h), %s\"\n",
		unit, panels, unit);
	static const char *const titles[2] = {"why each ACK was sent (capture at the receiver)",
					      "cumulative advance per ACK (MSS units)"};
	for (int f = 0; f < 2; f++) {
		if (!fam[f].n)
			continue;
		qsort(fam[f].v, fam[f].n, sizeof *fam[f].v, cmp_class);
		char cols[1024];
		size_t o = (size_t)snprintf(cols, sizeof cols, "bar");
		for (size_t k = 0; k < fam[f].n && o < sizeof cols; k++)
			o += (size_t)snprintf(cols + o, sizeof cols - o, ",%s", fam[f].v[k].name);
		int b = rp_block(w, titles[f], cols);
		int rowsw = 0;
		for (int i = 0; i < m->npanels && rowsw < np; i++) {
			const struct rp_panel *p = &m->panels[i];
			bool any = false;
			for (size_t k = 0; k < p->acks.n; k++)
				any |= family(p->acks.v[k].name) >= 0;
			if (!any)
				continue;
			rowsw++;
			rp_csvtxt(w->csv, p->label);
			double den = per_seg ? p->segs / 100.0 : p->classified / 100.0;
			for (size_t k = 0; k < fam[f].n; k++) {
				const struct rp_kv *kv = rp_kvs_find(&p->acks, fam[f].v[k].name);
				fputc(',', w->csv);
				rp_num(w->csv, kv && den > 0 ? kv->v / den : 0);
			}
			fputc('\n', w->csv);
		}
		fputs("set title ", g);
		rp_gq(g, titles[f]);
		fputs("\nplot ", g);
		for (size_t k = 0; k < fam[f].n; k++) {
			if (k)
				fputs(", \\\n     ", g);
			const char *nm = fam[f].v[k].name;
			fprintf(g, "data index %d using %zu%s title ", b, k + 2, k ? "" : ":xtic(1)");
			rp_gq(g, !strncmp(nm, "timing_", 7) ? nm + 7 : nm);
		}
		fputc('\n', g);
	}
	fputs("unset multiplot\n", g);
	rp_kvs_free(&fam[0]);
	rp_kvs_free(&fam[1]);
	return 1;
oom:
	rp_kvs_free(&fam[0]);
	rp_kvs_free(&fam[1]);
	return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
}

/* ---------------- figure 6 ---------------- */
static int fig6(const struct rp_model *m, struct rp_out *w, unsigned maxp, char *why, size_t nwhy)
{
	int idx[64], n = 0, maxk = 1;
	for (int i = 0; i < m->npanels && n < (int)maxp && n < 64; i++)
		if (m->panels[i].scan.hist_n > 0) {
			idx[n++] = i;
			for (int k = 1; k <= RP_HIST; k++)
				if (m->panels[i].scan.hist[k] > 0 && k > maxk)
					maxk = k;
		}
	if (!n) {
		snprintf(why, nwhy, "no receiver capture with data packets and a known segment size");
		return 0;
	}
	FILE *g = w->gp;
	fprintf(g,
		"set title \"Aggregate size: packets delivered to the receiver's TCP, by size in "
		"segments (ceil(len / MSS)); %d = %d or more\"\n"
		"set xlabel 'aggregate size (segments)'\n"
		"set ylabel 'share of delivered data packets (%%)'\n"
		"set grid\n"
		"set xrange [0.5:%d.5]\n"
		"set yrange [0:*]\n"
		"set key top right\n"
		"plot ",
		RP_HIST, RP_HIST, maxk);
	static const char *const colors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
					     "#edc948", "#b07aa1", "#ff9da7"};
	for (int j = 0; j < n; j++) {
		const struct rp_panel *p = &m->panels[idx[j]];
		const struct rp_capture_summary *c = &m->captures[p->cap];
		char what[2048];
		snprintf(what, sizeof what, "%s: capture %lld (%s), MSS %u (%s), %.0f data packets",
			 p->label, (long long)c->id, c->point, c->mss, c->mss_how, p->scan.hist_n);
		int b = rp_block(w, what, "segments,share_pct,packets");
		for (int k = 1; k <= maxk; k++)
			fprintf(w->csv, "%d,%.6g,%.0f\n", k, 100.0 * p->scan.hist[k] / p->scan.hist_n,
				p->scan.hist[k]);
		fprintf(g, "%sdata index %d using 1:2 with linespoints lw 1.5 pt 7 ps 0.6 lc rgb '%s' "
			   "title ", j ? ", \\\n     " : "", b, colors[j % 8]);
		char t[2048];
		double mean = 0;
		for (int k = 1; k <= RP_HIST; k++)
			mean += k * p->scan.hist[k];
		snprintf(t, sizeof t, "%s (mean %.2f)", p->label, mean / p->scan.hist_n);
		rp_gq(g, t);
	}
	fputc('\n', g);
	return 1;
}

int rp_fig_write(sqlite3 *db, const struct rp_model *m, const struct rp_fig *fig, int num,
		 const char *outdir, unsigned max_panels, int *wpx, int *hpx, char *why, size_t nwhy,
		 struct lk_err *e)
{
	*wpx = fig->w;
	*hpx = fig->h;
	if (fig->needs_runs && !m->runs_mode) {
		snprintf(why, nwhy, "needs benchmark runs (lrokit bench / lrokit run): the database "
				    "has no ok run%s", m->nruns ? " among those selected" : "");
		return 0;
	}
	struct rp_out w;
	if (out_open(&w, outdir, fig, num, e) < 0)
		return -1;
	int rc;
	switch (fig->kind) {
	case RP_FIG_THROUGHPUT: rc = fig1(m, &w, why, nwhy); break;
	case RP_FIG_CPU: rc = fig2(m, &w, why, nwhy, e); break;
	case RP_FIG_TRAFFIC: rc = fig3(m, &w, max_panels, hpx, why, nwhy); break;
	case RP_FIG_BWE: rc = fig4(db, m, &w, max_panels, hpx, why, nwhy, e); break;
	case RP_FIG_ACKS: rc = fig5(m, &w, max_panels, why, nwhy, e); break;
	case RP_FIG_AGGSIZE: rc = fig6(m, &w, max_panels, why, nwhy); break;
	case RP_FIG_EVIDENCE: rc = rp_fig_evidence(m, &w, why, nwhy); break;
	default: rc = rp_fig_sweep(m, fig->sweep_key, &w, why, nwhy); break;
	}
	if (out_close(&w, outdir, fig, e) < 0)
		return -1;
	if (rc <= 0) {
		/* nothing to plot: leave no empty files behind */
		char p[4200];
		snprintf(p, sizeof p, "%s/%s.csv", outdir, fig->base);
		remove(p);
		snprintf(p, sizeof p, "%s/%s.gp", outdir, fig->base);
		remove(p);
	}
	return rc;
}
