/* reports/rhmodel.c - the parts of report.html about the fidelity model and
 * the paper's claims: the findings (reports/findings.h), the per-poll
 * evidence table beside figure 7 and the sweeps. */
#include "reports/rmodel.h"
#include "testbed/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void verdict_cell(FILE *f, const struct lk_finding *x, bool with_title)
{
	fprintf(f, "<td class=\"v %s\"", lk_verdict_id(x->verdict));
	if (with_title) {
		fputs(" title=\"", f);
		rp_html_esc(f, x->numbers);
		if (x->missing[0]) {
			fputs(" Missing: ", f);
			rp_html_esc(f, x->missing);
		}
		fputc('"', f);
	}
	fprintf(f, ">%s</td>", lk_verdict_name(x->verdict));
}

static void set_name(FILE *f, const struct rp_model *m, int s)
{
	rp_html_esc(f, m->sets[s].label[0] ? m->sets[s].label : "all runs");
}

/* The full table of one set. */
static void findings_table(FILE *f, const struct lk_finding *F, bool ids)
{
	fputs("<table class=findings><tr><th>claim (Hatori &amp; Oi 2008)</th><th>verdict</th>"
	      "<th>the numbers that decide it</th><th>mechanism</th></tr>\n", f);
	for (int i = 0; i < LK_NCLAIMS; i++) {
		const struct lk_finding *x = &F[i];
		if (ids)
			fprintf(f, "<tr id=\"claim-%s\"><td>", x->id);
		else
			fputs("<tr><td>", f);
		rp_html_esc(f, x->text);
		fprintf(f, " <small><code>%s</code></small></td>", x->id);
		verdict_cell(f, x, false);
		fputs("<td>", f);
		rp_html_esc(f, x->numbers);
		if (x->missing[0]) {
			fputs("<br><b>Not testable here; missing:</b> ", f);
			rp_html_esc(f, x->missing);
			fputc('.', f);
		}
		fputs("</td><td>", f);
		rp_html_esc(f, x->mechanism);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

int rp_html_findings(FILE *f, sqlite3 *db, const struct rp_model *m, struct lk_err *e)
{
	struct lk_finding F[LK_NCLAIMS];
	if (!m->nsets)
		return 0;
	fputs("<p>Each claim is judged by code (<code>reports/findings.h</code>: the rules, and "
	      "unit tests on hand-built databases) on the ok runs of one set: runs of the same "
	      "testbed (the emulated one, or one pair of real hosts of <code>bench --hosts</code>, "
	      "where the claims about the Xen path are not testable), profile, sweep point and "
	      "model parameters. &ldquo;Lower&rdquo; and "
	      "&ldquo;higher&rdquo; mean beyond the run-to-run spread (the means differ by more "
	      "than the sum of their standard deviations and by more than ", f);
	fprintf(f, "%.0f%%); otherwise the difference the paper reports is not reproduced. "
		   "Stage drops (losses inside the emulated path) and capture drops (packets libpcap "
		   "missed) are given apart.</p>\n", 100 * LK_FINDINGS_MIN_REL);
	if (rp_findings(db, m, 0, F, e) < 0)
		return -1;
	if (m->nsets > 1) {
		fputs("<h3>Set: ", f);
		set_name(f, m, 0);
		fputs("</h3>\n", f);
	}
	findings_table(f, F, true);
	if (m->nsets < 2)
		return 0;
	/* the first set of every other testbed in full too: its verdicts are
	   judged on its own runs (real hosts: the Xen claims not testable) */
	for (int s = 1; s < m->nsets; s++) {
		bool shown = false;
		for (int u = 0; u < s && !shown; u++)
			shown = !strcmp(m->sets[u].testbed, m->sets[s].testbed);
		if (shown)
			continue;
		if (rp_findings(db, m, s, F, e) < 0)
			return -1;
		fputs("<h3>Set: ", f);
		set_name(f, m, s);
		fputs("</h3>\n", f);
		findings_table(f, F, false);
	}
	fputs("<h3>Every set</h3>\n<p><small>The verdicts of each set of runs (hover a cell for "
	      "its numbers); the sweeps' sets are also in the section Sweeps.</small></p>\n"
	      "<table><tr><th>claim</th>", f);
	for (int s = 0; s < m->nsets; s++) {
		fputs("<th>", f);
		set_name(f, m, s);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	struct lk_finding(*all)[LK_NCLAIMS] = calloc((size_t)m->nsets, sizeof *all);
	if (!all)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	for (int s = 0; s < m->nsets; s++)
		if (rp_findings(db, m, s, all[s], e) < 0) {
			free(all);
			return -1;
		}
	for (int i = 0; i < LK_NCLAIMS; i++) {
		fprintf(f, "<tr><td><code>%s</code></td>", all[0][i].id);
		for (int s = 0; s < m->nsets; s++)
			verdict_cell(f, &all[s][i], true);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	free(all);
	return 0;
}

/* ---- the evidence table beside figure 7 ---- */

/* Mean over the runs of c of the stage counter "STAGE EVENT" (NaN: none has it). */
static double stagec_mean(const struct rp_model *m, const struct rp_config *c, const char *key)
{
	double s = 0;
	int n = 0;
	for (int j = 0; j < c->n; j++) {
		const struct rp_kv *kv = rp_kvs_find(&m->runs[c->runs[j]].stagec, key);
		if (kv) {
			s += kv->v;
			n++;
		}
	}
	return n ? s / n : NAN;
}

void rp_html_evidence(FILE *f, const struct rp_model *m)
{
	static const struct {
		const char *event, *head, *fmt;
		double scale;
	} ev[] = {{"rx_polls", "polls", "%.0f", 1},
		  {"irqs", "interrupts / notifies taken", "%.0f", 1},
		  {"queue_full_events", "queue-full events", "%.0f", 1},
		  {"drops_nic_ring", "drops: NIC ring", "%.0f", 1},
		  {"drops_vif_queue", "drops: vif queue", "%.0f", 1},
		  {"drops_netback", "drops: netback", "%.0f", 1},
		  {"idle_ns", "idle (ms)", "%.1f", 1e6},
		  {"desched_ns", "descheduled (ms)", "%.1f", 1e6}};
	size_t nev = sizeof ev / sizeof ev[0];
	bool any = false;
	for (int i = 0; i < m->nruns && !any; i++)
		any = m->runs[i].ok && (m->runs[i].hist || m->runs[i].stagec.n);
	if (!any)
		return;
	fputs("<table class=evidence><tr><th>configuration</th><th>stage</th><th>LRO rate</th>"
	      "<th>frames per poll (median)</th><th>segments per frame out (mean)</th>", f);
	for (size_t k = 0; k < nev; k++)
		fprintf(f, "<th>%s</th>", ev[k].head);
	fputs("</tr>\n", f);
	for (int i = 0; i < m->ncfgs; i++) {
		const struct rp_config *c = &m->cfgs[i];
		for (int st = 0; st < RP_NSTAGES; st++) {
			char key[96];
			snprintf(key, sizeof key, "%s rx_polls", rp_stage_names[st]);
			if (!c->hist.have[st] && isnan(stagec_mean(m, c, key)))
				continue;
			fputs("<tr><td>", f);
			rp_html_esc(f, c->label);
			fprintf(f, "</td><td>%s</td>", rp_stage_names[st]);
			rp_html_num(f, st == 1 ? NAN : rp_cfg_stat(m, c, st ? RP_M_LRO_NETFRONT
									 : RP_M_LRO_NIC).mean, "%.2f");
			rp_html_num(f, c->hist.have[st] ? rp_hist_median(c->hist.fpp[st], RP_FPP_MAX) : NAN,
				 "%.0f");
			rp_html_num(f, c->hist.have[st] ? rp_hist_mean(c->hist.spa[st], RP_SPA_MAX) : NAN,
				 "%.2f");
			for (size_t k = 0; k < nev; k++) {
				snprintf(key, sizeof key, "%s %s", rp_stage_names[st], ev[k].event);
				rp_html_num(f, stagec_mean(m, c, key) / ev[k].scale, ev[k].fmt);
			}
			fputs("</tr>\n", f);
		}
	}
	fputs("</table>\n<p><small>Per run means of each stage's receive path (counters with "
	      "source <code>stage</code>). n/a: the stage does not have it in this configuration "
	      "(a stage that cannot drop has no drop counter).</small></p>\n", f);
}

/* ---- sweeps ---- */

static void sweep_table(FILE *f, sqlite3 *db, const struct rp_model *m, const char *key)
{
	fputs("<table><tr><th>value</th><th>profile</th><th>LRO rate lro-phys (nic)</th>"
	      "<th>LRO rate lro-virt (netfront)</th>", f);
	static const char *const short_names[LK_NCLAIMS] = {
		"phys &lt; virt", "virt fastest", "fewer ACKs", "failed delayed ACKs",
		"SACK rate lower", "estimate rises until SACK", "phys saves CPU"};
	for (int i = 0; i < LK_NCLAIMS; i++)
		fprintf(f, "<th>%s</th>", short_names[i]);
	fputs("</tr>\n", f);
	for (int s = 0; s < m->nsets; s++) {
		const struct rp_set *t = &m->sets[s];
		if (!t->sweep_key || strcmp(t->sweep_key, key))
			continue;
		struct lk_finding F[LK_NCLAIMS];
		struct lk_err e = {0};
		bool have = rp_findings(db, m, s, F, &e) == 0;
		fprintf(f, "<tr><td class=n>%g</td>", t->sweep_value);
		fputs("<td>", f);
		rp_html_esc(f, t->profile ? t->profile : "");
		fputs("</td>", f);
		const struct rp_config *p = rp_find_cfg(m, s, "lro-phys"), *v = rp_find_cfg(m, s, "lro-virt");
		struct rp_stat a = p ? rp_cfg_stat(m, p, RP_M_LRO_NIC) : (struct rp_stat){NAN, NAN, 0};
		struct rp_stat b = v ? rp_cfg_stat(m, v, RP_M_LRO_NETFRONT) : (struct rp_stat){NAN, NAN, 0};
		rp_html_num(f, a.mean, "%.2f");
		rp_html_num(f, b.mean, "%.2f");
		for (int i = 0; i < LK_NCLAIMS; i++) {
			if (have)
				verdict_cell(f, &F[i], true);
			else
				fputs("<td><span class=na>error</span></td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

void rp_html_sweeps(FILE *f, sqlite3 *db, const struct rp_model *m)
{
	int nkeys = 0;
	for (int s = 0; s < m->nsets; s++) {
		const char *k = m->sets[s].sweep_key;
		bool seen = !k;
		for (int u = 0; u < s && !seen; u++)
			seen = m->sets[u].sweep_key && !strcmp(m->sets[u].sweep_key, k);
		if (seen)
			continue;
		if (!nkeys++)
			fputs("<h2 id=sweeps>Sweeps</h2>\n<p>Each sweep ran the same configurations at "
			      "each value of one model parameter, everything else as the profile says; "
			      "its figure is above. Below: where the LRO-rate order of lro-phys and "
			      "lro-virt changes, and the findings at each value.</p>\n", f);
		int ki = lk_model_find(k);
		fprintf(f, "<h3 id=\"sweep-%s\">Sweep of <code>", k);
		rp_html_esc(f, k);
		fputs("</code></h3>\n<p>", f);
		if (ki >= 0) {
			const struct lk_model_param *p = &lk_model_params(NULL)[ki];
			rp_html_esc(f, p->desc);
			fprintf(f, " (%s; no effect at %g, the paper profile has %g: ", p->unit,
				p->no_effect, p->paper);
			rp_html_esc(f, p->source);
			fputs(").", f);
		}
		double at[8][2];
		int nf = rp_sweep_flips(m, k, at, 8);
		fputs(" <b>", f);
		if (nf < 0)
			fputs("The LRO rates of lro-phys and lro-virt are not both known at two or more "
			      "values: no order to follow.", f);
		else if (nf == 0)
			fputs("The lro-phys / lro-virt LRO-rate order does not flip over this range.", f);
		for (int i = 0; i < nf; i++)
			fprintf(f, "%sThe lro-phys / lro-virt LRO-rate order flips between %s = %g and "
				   "%g.", i ? " " : "", k, at[i][0], at[i][1]);
		fputs("</b></p>\n", f);
		sweep_table(f, db, m, k);
	}
}
