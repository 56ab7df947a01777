/* reports/rsweep.c - the figures of the fidelity model: per-poll evidence
 * (figure 7: each stage's frames per poll and segments per aggregate, from
 * stage_hist) and one figure per swept model parameter (the numbers of the
 * study against the swept value, with where the lro-phys / lro-virt LRO-rate
 * ordering flips). */
#include "reports/rmodel.h"
#include "testbed/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *color_of(const char *cfg)
{
	static const struct {
		const char *name, *color;
	} c[] = {{"xen", "#4e79a7"},    {"lro-phys", "#f28e2b"},   {"lro-virt", "#59a14f"},
		 {"lro-both", "#b07aa1"}, {"native", "#9c755f"}, {"native-gro", "#76b7b2"}};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
		if (!strcmp(c[i].name, cfg))
			return c[i].color;
	return "#e15759";
}

static void grid(int n, int *rows, int *cols)
{
	*cols = n <= 1 ? 1 : n <= 4 ? 2 : 3;
	*rows = (n + *cols - 1) / *cols;
}

/* ---------------- figure 7: per-poll evidence ---------------- */

/* The set shown: the first (base runs first) whose runs have histograms. */
static int evidence_set(const struct rp_model *m)
{
	for (int s = 0; s < m->nsets; s++)
		for (int k = 0; k < m->ncfgs; k++)
			for (int st = 0; m->cfgs[k].set == s && st < RP_NSTAGES; st++)
				if (m->cfgs[k].hist.have[st])
					return s;
	return -1;
}

static int last_bucket(const double *h, int max)
{
	int last = 0;
	for (int b = 1; b <= max; b++)
		if (h[b] > 0)
			last = b;
	return last;
}

/* One panel: hist 0 frames per poll, 1 segments per aggregate, of stage st. */
static int evidence_panel(const struct rp_model *m, int set, int hist, int st, struct rp_out *w)
{
	static const char *const hname[2] = {"frames per poll", "segments per frame out"};
	int max = hist ? RP_SPA_MAX : RP_FPP_MAX, clauses = 0;
	FILE *g = w->gp;
	for (int k = 0; k < m->ncfgs; k++) {
		const struct rp_config *c = &m->cfgs[k];
		if (c->set != set || !c->hist.have[st])
			continue;
		const double *h = hist ? c->hist.spa[st] : c->hist.fpp[st];
		int last = last_bucket(h, max);
		if (!last)
			continue;
		double n = 0;
		for (int b = 1; b <= max; b++)
			n += h[b];
		char what[512], title[256];
		snprintf(what, sizeof what, "%s: %s of the %s stage", c->label, hname[hist],
			 rp_stage_names[st]);
		int b = rp_block(w, what, "bucket,share_pct,count");
		for (int x = 1; x <= last; x++)
			fprintf(w->csv, "%d,%.6g,%.0f\n", x, 100 * h[x] / n, h[x]);
		size_t o = (size_t)snprintf(title, sizeof title, "%s: median %.0f, mean %.2f", c->name,
					    rp_hist_median(h, max), rp_hist_mean(h, max));
		double lr = st != 1 ? rp_cfg_stat(m, c, st ? RP_M_LRO_NETFRONT : RP_M_LRO_NIC).mean
				    : NAN;
		if (!isnan(lr) && o < sizeof title)
			snprintf(title + o, sizeof title - o, "; LRO rate %.2f", lr);
		if (!clauses) {
			fprintf(g, "set title '%s stage: %s'\nset xlabel '%s'\nplot ", rp_stage_names[st],
				hname[hist], hname[hist]);
		}
		fprintf(g, "%sdata index %d using 1:2 with linespoints lw 1.5 pt 7 ps 0.5 lc rgb '%s' "
			   "title ", clauses++ ? ", \\\n     " : "", b, color_of(c->name));
		rp_gq(g, title);
	}
	if (clauses)
		fputc('\n', g);
	return clauses;
}

static bool panel_has(const struct rp_model *m, int set, int hist, int st)
{
	for (int k = 0; k < m->ncfgs; k++) {
		const struct rp_config *c = &m->cfgs[k];
		if (c->set == set && c->hist.have[st] &&
		    last_bucket(hist ? c->hist.spa[st] : c->hist.fpp[st], hist ? RP_SPA_MAX : RP_FPP_MAX))
			return true;
	}
	return false;
}

int rp_fig_evidence(const struct rp_model *m, struct rp_out *w, char *why, size_t nwhy)
{
	int set = evidence_set(m);
	if (set < 0) {
		snprintf(why, nwhy, "no per-poll histograms: the runs have no stage_hist rows (runs of "
				    "the emulated Xen path with schema v3)");
		return 0;
	}
	int n = 0;
	for (int hist = 0; hist < 2; hist++)
		for (int st = 0; st < RP_NSTAGES; st++)
			n += panel_has(m, set, hist, st);
	int rows, cols;
	grid(n, &rows, &cols);
	const char *sl = m->sets[set].label;
	fprintf(w->gp,
		"set grid\n"
		"set key top right font ',9'\n"
		"set logscale x 2\n"
		"set ylabel 'share (%%)'\n"
		"set yrange [0:*]\n"
		"set multiplot layout %d,%d title \"Per-poll evidence%s%s: a stage's LRO merges only "
		"what one poll takes (legend: median and mean, and the stage's LRO rate)\"\n",
		rows, cols, *sl ? ", " : "", sl);
	for (int hist = 0; hist < 2; hist++)
		for (int st = 0; st < RP_NSTAGES; st++)
			evidence_panel(m, set, hist, st, w);
	fputs("unset multiplot\n", w->gp);
	return 1;
}

/* ---------------- sweep figures ---------------- */

/* A configuration along the sweep (one series per configuration and profile). */
struct series {
	const char *cfg, *profile;
	int cfg_at[RP_SWEEP_MAXPTS]; /* configuration index at each point, -1 none */
};

struct sweep {
	const char *key;
	int npts;
	double x[RP_SWEEP_MAXPTS];
	int set[RP_SWEEP_MAXPTS];
	struct series s[32];
	int ns;
};

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void sweep_collect(const struct rp_model *m, const char *key, struct sweep *sw)
{
	memset(sw, 0, sizeof *sw);
	sw->key = key;
	for (int s = 0; s < m->nsets; s++) {
		const struct rp_set *t = &m->sets[s];
		if (!t->sweep_key || strcmp(t->sweep_key, key) || sw->npts == RP_SWEEP_MAXPTS)
			continue;
		/* sets are sorted by value: equal values (other profiles) share a point */
		int p = sw->npts;
		if (p && sw->x[p - 1] == t->sweep_value)
			p--;
		else
			sw->x[sw->npts++] = t->sweep_value;
		sw->set[p] = s;
		for (int k = 0; k < m->ncfgs; k++) {
			const struct rp_config *c = &m->cfgs[k];
			if (c->set != s)
				continue;
			int i;
			for (i = 0; i < sw->ns; i++)
				if (!strcmp(sw->s[i].cfg, c->name) && same_str(sw->s[i].profile, t->profile))
					break;
			if (i == sw->ns) {
				if (sw->ns == 32)
					continue;
				sw->s[sw->ns++] = (struct series){.cfg = c->name, .profile = t->profile};
				for (int q = 0; q < RP_SWEEP_MAXPTS; q++)
					sw->s[i].cfg_at[q] = -1;
			}
			sw->s[i].cfg_at[p] = k;
		}
	}
}

static int flips_of(const struct rp_model *m, const struct sweep *sw, double (*at)[2], int max)
{
	const struct series *ph = NULL, *vi = NULL;
	for (int i = 0; i < sw->ns; i++) {
		if (!strcmp(sw->s[i].cfg, "lro-phys") && !ph)
			ph = &sw->s[i];
		if (!strcmp(sw->s[i].cfg, "lro-virt") && !vi && (!ph || same_str(ph->profile, sw->s[i].profile)))
			vi = &sw->s[i];
	}
	if (!ph || !vi)
		return -1;
	int n = 0, have = 0, prev_sign = 0;
	double prev_x = 0;
	for (int p = 0; p < sw->npts; p++) {
		if (ph->cfg_at[p] < 0 || vi->cfg_at[p] < 0)
			continue;
		double a = rp_cfg_stat(m, &m->cfgs[ph->cfg_at[p]], RP_M_LRO_NIC).mean;
		double b = rp_cfg_stat(m, &m->cfgs[vi->cfg_at[p]], RP_M_LRO_NETFRONT).mean;
		if (isnan(a) || isnan(b))
			continue;
		have++;
		int sign = a < b ? -1 : a > b;
		if (sign && prev_sign && sign != prev_sign && n < max) {
			at[n][0] = prev_x;
			at[n][1] = sw->x[p];
			n++;
		}
		if (sign) {
			prev_sign = sign;
			prev_x = sw->x[p];
		}
	}
	return have >= 2 ? n : -1;
}

int rp_sweep_flips(const struct rp_model *m, const char *key, double (*at)[2], int max)
{
	struct sweep sw;
	sweep_collect(m, key, &sw);
	return flips_of(m, &sw, at, max);
}

/* The columns of a series' block (after x): mean and sd of each metric. */
static const struct {
	enum rp_metric k;
	const char *col, *panel;
	double scale;
} cols[] = {
	{RP_M_LRO_NIC, "lro_rate_nic", NULL, 1},
	{RP_M_LRO_NETFRONT, "lro_rate_netfront", NULL, 1},
	{RP_M_GOODPUT, "goodput_gbps", "goodput (Gbit/s)", 1e9},
	{RP_M_ACKS100, "acks_per_100_segments", "ACKs per 100 data segments (receiver)", 1},
	{RP_M_SACK, "sack_packets", "SACK packets per run (receiver)", 1},
	{RP_M_REXMT, "retransmitted_segments", "retransmitted segments per run (sender)", 1},
	{RP_M_STAGE_DROPS, "stage_drops", "stage drops per run (emulated path)", 1},
	{RP_M_CAPTURE_DROPS, "capture_drops", NULL, 1},
};
#define NCOLS ((int)(sizeof cols / sizeof cols[0]))

/* Writes one block per series; has[i][c]: series i has column c somewhere. */
static void sweep_blocks(const struct rp_model *m, const struct sweep *sw, struct rp_out *w,
			 int *blk, bool (*has)[NCOLS])
{
	char hdr[1024] = "x";
	for (int c = 0; c < NCOLS; c++) {
		size_t o = strlen(hdr);
		snprintf(hdr + o, sizeof hdr - o, ",%s,%s_sd", cols[c].col, cols[c].col);
	}
	for (int i = 0; i < sw->ns; i++) {
		char what[256];
		snprintf(what, sizeof what, "%s%s%s against %s (means over the runs at each value, "
			 "sd 0 with one run)", sw->s[i].cfg, sw->s[i].profile ? ", profile " : "",
			 sw->s[i].profile ? sw->s[i].profile : "", sw->key);
		blk[i] = rp_block(w, what, hdr);
		for (int p = 0; p < sw->npts; p++) {
			int k = sw->s[i].cfg_at[p];
			if (k < 0)
				continue;
			rp_num(w->csv, sw->x[p]);
			for (int c = 0; c < NCOLS; c++) {
				struct rp_stat st = rp_cfg_stat(m, &m->cfgs[k], cols[c].k);
				has[i][c] |= st.n > 0;
				fputc(',', w->csv);
				rp_num(w->csv, st.mean / cols[c].scale);
				fputc(',', w->csv);
				rp_num(w->csv, st.n ? (isnan(st.sd) ? 0 : st.sd / cols[c].scale) : NAN);
			}
			fputc('\n', w->csv);
		}
	}
}

static void series_title(FILE *g, const struct sweep *sw, int i, const char *suffix)
{
	char t[160];
	bool profiles = false;
	for (int k = 0; k < sw->ns; k++)
		profiles |= !same_str(sw->s[k].profile, sw->s[0].profile);
	snprintf(t, sizeof t, "%s%s%s%s%s", sw->s[i].cfg, suffix ? " " : "", suffix ? suffix : "",
		 profiles && sw->s[i].profile ? ", " : "", profiles && sw->s[i].profile ? sw->s[i].profile : "");
	rp_gq(g, t);
}

/* Panel of column c (or the LRO-rate panel for c < 0): plot clauses. */
static int sweep_panel(const struct sweep *sw, int c, const int *blk, bool (*has)[NCOLS], FILE *g)
{
	int n = 0;
	for (int i = 0; i < sw->ns; i++) {
		for (int cc = c < 0 ? 0 : c; cc <= (c < 0 ? 1 : c); cc++) {
			if (!has[i][cc])
				continue;
			int y = 2 + 2 * cc;
			fprintf(g, "%sdata index %d using 1:%d:%d with yerrorlines lw 1.5 pt 7 ps 0.6 "
				   "dt %d lc rgb '%s' title ", n++ ? ", \\\n     " : "plot ", blk[i], y,
				y + 1, c < 0 && cc == 1 ? 2 : 1, color_of(sw->s[i].cfg));
			series_title(g, sw, i, c < 0 ? (cc ? "netfront" : "nic") : NULL);
		}
	}
	if (n)
		fputc('\n', g);
	return n;
}

static void sweep_marks(const struct rp_model *m, const struct sweep *sw, FILE *g)
{
	double at[8][2];
	int nf = flips_of(m, sw, at, 8);
	for (int i = 0; i < nf; i++) {
		double x = (at[i][0] + at[i][1]) / 2;
		fprintf(g, "set arrow from %.6g, graph 0 to %.6g, graph 1 nohead dt 2 lw 2 lc rgb "
			   "'#d62728' front\n", x, x);
		fprintf(g, "set label 'LRO rate order flips' at %.6g, graph 0.5 center rotate by 90 "
			   "offset -0.8,0 font ',8' tc rgb '#d62728' front\n", x);
	}
	int k = lk_model_find(sw->key);
	if (k >= 0) {
		double pv = lk_model_params(NULL)[k].paper;
		if (pv >= sw->x[0] && pv <= sw->x[sw->npts - 1])
			fprintf(g, "set arrow from %.6g, graph 0 to %.6g, graph 1 nohead dt 3 lc rgb "
				   "'#888888' back\nset label 'paper profile' at %.6g, graph 0.15 left "
				   "rotate by 90 offset 0.8,0 font ',8' tc rgb '#666666'\n", pv, pv, pv);
	}
}

int rp_fig_sweep(const struct rp_model *m, const char *key, struct rp_out *w, char *why,
		 size_t nwhy)
{
	struct sweep sw;
	sweep_collect(m, key, &sw);
	if (sw.npts < 1 || !sw.ns) {
		snprintf(why, nwhy, "no ok run of the sweep of %s", key);
		return 0;
	}
	int blk[32];
	bool has[32][NCOLS];
	memset(has, 0, sizeof has);
	sweep_blocks(m, &sw, w, blk, has);
	int np = 0;
	for (int c = -1; c < NCOLS; c++) {
		bool any = false;
		for (int i = 0; i < sw.ns; i++)
			any |= c < 0 ? has[i][0] || has[i][1] : cols[c].panel && has[i][c];
		np += any && (c < 0 || cols[c].panel);
	}
	int rows, cols_;
	grid(np, &rows, &cols_);
	int k = lk_model_find(key);
	FILE *g = w->gp;
	fprintf(g,
		"set grid\n"
		"set key top left font ',9' opaque box\n"
		"set xlabel '%s (%s)'\n"
		"set yrange [0:*]\n"
		"set offsets graph 0.03, graph 0.03, 0, 0\n"
		"set multiplot layout %d,%d title \"Sweep of %s: means over the runs at each value, "
		"error bars = sd; red dashes: the lro-phys / lro-virt LRO rate order flips\"\n",
		key, k >= 0 ? lk_model_params(NULL)[k].unit : "?", rows, cols_, key);
	sweep_marks(m, &sw, g);
	bool lro = false;
	for (int i = 0; i < sw.ns; i++)
		lro |= has[i][0] || has[i][1];
	if (lro) {
		fputs("set title 'LRO rate (solid: nic stage, dashed: netfront)'\nset ylabel ''\n", g);
		sweep_panel(&sw, -1, blk, has, g);
	}
	for (int c = 0; c < NCOLS; c++) {
		if (!cols[c].panel)
			continue;
		bool any = false;
		for (int i = 0; i < sw.ns; i++)
			any |= has[i][c];
		if (!any)
			continue;
		fprintf(g, "set title '%s'\nset ylabel ''\n", cols[c].panel);
		sweep_panel(&sw, c, blk, has, g);
	}
	fputs("unset multiplot\n", g);
	return 1;
}
