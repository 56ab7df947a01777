/* reports/rhtml.c - report.html: summary, figures, paper comparison, run
 * metadata and counter provenance. Self-contained (inline CSS, no script). */
#include "reports/gnuplot.h"
#include "reports/rmodel.h"
#include "lib/version.h"

#include <math.h>
#include <pcap/pcap.h>
#include <sys/utsname.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rp_html_esc(FILE *f, const char *s)
{
	if (!s)
		return;
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

void rp_html_num(FILE *f, double v, const char *fmt)
{
	fputs("<td class=n>", f);
	if (isnan(v))
		fputs("<span class=na>n/a</span>", f);
	else
		fprintf(f, fmt, v);
	fputs("</td>", f);
}

static void cell_pm(FILE *f, double mean, double sd, double scale, const char *fmt)
{
	fputs("<td class=n>", f);
	if (isnan(mean)) {
		fputs("<span class=na>n/a</span></td>", f);
		return;
	}
	fprintf(f, fmt, mean / scale);
	if (!isnan(sd)) {
		fputs(" &plusmn; ", f);
		fprintf(f, fmt, sd / scale);
	}
	fputs("</td>", f);
}

static void cell_txt(FILE *f, const char *s)
{
	fputs("<td>", f);
	if (s && *s)
		rp_html_esc(f, s);
	else
		fputs("<span class=na>&mdash;</span>", f);
	fputs("</td>", f);
}

static const char css[] =
	"body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}"
	"table{border-collapse:collapse;margin:.5em 0 1.2em}"
	"td,th{border:1px solid #ccc;padding:.25em .6em;vertical-align:top}"
	"th{background:#eef1f5;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	".na{color:#999}.note{background:#fff6d6;border:1px solid #e6c96b;padding:.5em 1em}"
	".bad{background:#fde8e8}figure{margin:1em 0 2em}figure img{max-width:100%;"
	"border:1px solid #ddd}figcaption{font-size:.9em;color:#444}pre{white-space:pre-wrap;"
	"font-size:.8em;background:#f6f6f6;padding:.4em;max-height:12em;overflow:auto}"
	"small{color:#666}td.bad{background:#fde8e8;color:#a00}tr.dropped td:first-child{"
	"border-left:4px solid #d33}td.v{font-weight:bold;white-space:nowrap}"
	"td.reproduced{background:#e3f4e1;color:#1d6b1d}td.not_reproduced{background:#fde8e8;"
	"color:#a00}td.not_testable{background:#f0f0f0;color:#555}table.findings td{font-size:.9em}";

/* Capture drops: flagged, the captures are incomplete. */
static void capture_drops_cell(FILE *f, const struct rp_config *c)
{
	if (!c->n_drops)
		fputs("<td class=n><span class=na>n/a</span></td>", f);
	else if (c->n_dropped)
		fprintf(f, "<td class=\"n bad\">%.0f <b>DROPS</b> <small>(%d of %d runs)</small></td>",
			c->drops, c->n_dropped, c->n);
	else
		fputs("<td class=n>0</td>", f);
}

static void summary_runs(FILE *f, const struct rp_model *m)
{
	fputs("<table><tr><th>configuration</th><th>testbed</th><th>paper</th><th>ok runs</th>"
	      "<th>goodput (Gbit/s, mean &plusmn; sd)</th><th>LRO rate</th><th>LRO rate nic stage</th>"
	      "<th>LRO rate netfront stage</th><th>CPU per GB (s)</th><th>ACKs per "
	      "100 data segments</th><th>SACK packets</th><th>retransmits</th><th>stage drops per "
	      "run</th><th>capture drops</th></tr>\n", f);
	for (int i = 0; i < m->ncfgs; i++) {
		const struct rp_config *c = &m->cfgs[i];
		fprintf(f, "<tr%s>", c->n_dropped ? " class=dropped" : "");
		cell_txt(f, c->label);
		cell_txt(f, c->set >= 0 ? m->sets[c->set].testbed : NULL);
		cell_txt(f, c->paper);
		fprintf(f, "<td class=n>%d</td>", c->n);
		cell_pm(f, c->gp_mean, c->gp_sd, 1e9, "%.3f");
		cell_pm(f, c->lro_mean, c->lro_sd, 1, "%.2f");
		struct rp_stat ln = rp_cfg_stat(m, c, RP_M_LRO_NIC), lf = rp_cfg_stat(m, c, RP_M_LRO_NETFRONT);
		cell_pm(f, ln.mean, ln.sd, 1, "%.2f");
		cell_pm(f, lf.mean, lf.sd, 1, "%.2f");
		rp_html_num(f, c->cpu_per_gb, "%.3f");
		rp_html_num(f, c->acks_per100, "%.1f");
		rp_html_num(f, c->sack, "%.1f");
		rp_html_num(f, c->rexmt, "%.1f");
		struct rp_stat sd = rp_cfg_stat(m, c, RP_M_STAGE_DROPS);
		cell_pm(f, sd.mean, sd.sd, 1, "%.1f");
		capture_drops_cell(f, c);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<p><small>Means over the ok runs of each configuration (sd over repeats "
	      "when there are at least two). LRO rate: the run's (sender TCP segments per packet "
	      "the receiver's IP layer got); per stage: TCP segments per frame leaving the LRO "
	      "engine of that stage (lro_stats). CPU per GB: CPU seconds of the receiving side "
	      "(every component except the sender; on real hosts the receiving host's lrokit recv "
	      "process and, on a Xen host, each domain from xenstat, never the sender machine", f);
	if (*m->cpu_events) {
		fputs("; from ", f);
		rp_html_esc(f, m->cpu_events);
	}
	fputs(") per 10<sup>9</sup> bytes received. ACKs per 100 data segments: ACK segments sent "
	      "by the data receiver per 100 MSS-sized segments of unique data, at the receiver's "
	      "capture. SACK packets: ACKs with SACK blocks per run. Retransmits: retransmitted "
	      "data segments per run (tcptrace definition, sender's capture). Stage drops: frames "
	      "the emulated path dropped per run (NIC ring, vif queue, netback: runs.stage_drops), "
	      "losses of the transfer the sender repairs, as the model makes them. Capture drops: packets the kernel dropped before libpcap "
	      "saw them (pcap_stats), summed over the runs' captures (runs.capture_drops), not "
	      "losses of the transfer; a configuration whose runs dropped captured packets is "
	      "marked DROPS: its capture-based numbers (ACKs, SACK, retransmits, figures 3-6) "
	      "undercount. n/a: not measured (no capture, no counter, a database older than "
	      "schema v3 for stage drops).</small></p>\n", f);
}

static void summary_caps(FILE *f, const struct rp_model *m)
{
	fputs("<table><tr><th>capture</th><th>point</th><th>goodput of the largest flow "
	      "(Gbit/s)</th><th>aggregation seen (segments per data packet)</th><th>CPU per "
	      "GB</th><th>ACKs per 100 data segments</th><th>SACK packets</th><th>retransmits</th>"
	      "</tr>\n", f);
	for (int i = 0; i < m->n_captures; i++) {
		const struct rp_capture_summary *c = &m->captures[i];
		fputs("<tr>", f);
		cell_txt(f, c->label);
		cell_txt(f, c->point);
		double dur = (double)(c->main_last_ns - c->main_first_ns) / 1e9;
		rp_html_num(f, dur > 0 ? c->main_bytes * 8 / dur / 1e9 : NAN, "%.3f");
		rp_html_num(f, c->mss && c->data_pkts > 0 ? c->data_bytes / c->mss / c->data_pkts : NAN,
			 "%.2f");
		fputs("<td><span class=na>needs runs</span></td>", f);
		rp_html_num(f, c->mss && c->data_bytes > 0 ? 100 * c->ack_pkts / (c->data_bytes / c->mss)
							 : NAN, "%.1f");
		rp_html_num(f, c->nflows ? c->sack_pkts : NAN, "%.0f");
		rp_html_num(f, c->nflows ? c->rexmt_pkts : NAN, "%.0f");
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<p><small>Per capture (no benchmark runs in this database). Aggregation "
	      "seen: unique data bytes / MSS / data packets at the capture point (1.00 = no "
	      "aggregation before the capture point).</small></p>\n", f);
}

static void paper_table(FILE *f, const struct rp_model *m)
{
	const struct rp_config *nat = rp_find_cfg(m, 0, "native"), *xen = rp_find_cfg(m, 0, "xen");
	fputs("<table><tr><th>configuration</th><th>paper</th><th>LRO rate (ours)</th>"
	      "<th>LRO rate (paper)</th><th>relative throughput: goodput / native (ours)</th>"
	      "<th>relative throughput (paper)</th>"
	      "<th>goodput relative to xen / Non-LRO (ours)</th></tr>\n", f);
	/* the paper's throughput relative to native: no per-configuration ratio
	 * is given numerically; the follow-up paper states gains over Non-LRO */
	for (const struct lk_config *k = lk_configs; k->name; k++) {
		if (k->hosts_only)
			continue; /* not in the paper, and not in the emulated set */
		const struct rp_config *c = rp_find_cfg(m, 0, k->name);
		fputs("<tr>", f);
		cell_txt(f, k->name);
		cell_txt(f, k->paper);
		rp_html_num(f, c ? c->lro_mean : NAN, "%.2f");
		if (isnan(k->paper_lro_rate))
			fputs("<td><span class=na>&mdash;</span></td>", f);
		else
			rp_html_num(f, k->paper_lro_rate, "%.2f");
		rp_html_num(f, c && nat && nat->gp_mean > 0 ? c->gp_mean / nat->gp_mean : NAN, "%.3f");
		const char *pt = k->paper_throughput;
		if (pt)
			fprintf(f, "<td>%s</td>", pt);
		else
			fputs("<td><span class=na>&mdash;</span></td>", f);
		rp_html_num(f, c && xen && xen->gp_mean > 0 ? c->gp_mean / xen->gp_mean : NAN, "%.3f");
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<p><small>Paper: Hatori &amp; Oi (2008) / Oi &amp; Nakajima, "
	      "\"Performance Analysis of Large Receive Offload in a Xen Virtualized System\" "
	      "(ICCET 2009). LRO rate = TCP segments per packet handed to the receiving stack. The "
	      "paper's throughput result is stated as gains over Non-LRO, not as a ratio to native: "
	      "LRO in the physical NIC up to +8% and LRO in the virtual NIC up to +14%, measured "
	      "with a CPU-heavy SPECjbb domain beside the receiver; compare them with the last "
	      "column. The paper's throughput of each configuration relative to native is not "
	      "given numerically in the sources available to us, so that column holds no invented "
	      "number. Rows without a paper value: configurations the paper did not have.</small>"
	      "</p>\n", f);
}

static const char *const captions[] = {
	"Bars: mean goodput of the ok runs, error bars: standard deviation over repeats; the "
	"label on each bar is the mean LRO rate (segments per packet delivered to TCP).",
	"Stacked per component of the receiving side (sender excluded). With a hardware PMU: "
	"cycles and instructions; without one (counters.value NULL for cycles/instructions), "
	"software CPU time, and the axis says which events it came from.",
	"Data packets per second as seen at the capture point (after GRO/LRO an aggregate "
	"counts once) and ACK segments per second sent back, binned.",
	"Bandwidth estimates replayed from the sender's capture (analyzers/bwe.h), binned "
	"means; red ticks mark the arrival of ACKs carrying SACK blocks.",
	"ACK segments sent by the data receiver, split by the analyzer's classes "
	"(analyzers/acks.h): left, why each ACK was sent (only measurable at the receiver); "
	"right, how far each ACK advanced the cumulative acknowledgment.",
	"Share of data packets reaching the receiver's capture point by their size in MSS "
	"segments: 1 = no aggregation; LRO/GRO moves mass to the right.",
	"Each stage's receive path (stage_hist): top, polls by the frames they took; bottom, "
	"frames sent on by the TCP segments they carry (1 = not merged). A stage's LRO can merge "
	"only what one poll takes, so its LRO rate (in the legend) follows the top row. The "
	"table below gives the stages' interrupts, queue-full events, drops and idle time.",
};

static void figures(FILE *f, const struct rp_model *m, const struct lk_report_result *r,
		    const struct rp_fig *figs, const int *w, const int *h)
{
	for (int i = 0; i < r->nfig; i++) {
		const char *b = figs[i].base;
		fprintf(f, "<h3 id=\"%s\">Figure %d. ", b, i + 1);
		rp_html_esc(f, figs[i].title);
		fputs("</h3>\n", f);
		if (!r->drawn[i]) {
			fputs("<p class=note>Not drawn: ", f);
			rp_html_esc(f, r->why[i]);
			fputs(".</p>\n", f);
		} else {
			fprintf(f, "<figure><a href=\"%s.svg\"><img src=\"%s.png\" width=%d height=%d "
				   "alt=\"figure %d\"></a><figcaption>", b, b, w[i], h[i], i + 1);
			if (figs[i].kind == RP_FIG_SWEEP)
				rp_html_esc(f, "Means over the runs at each value of the swept parameter, "
					       "error bars one sd; red dashes: the lro-phys / lro-virt "
					       "LRO-rate order flips between two values; grey dots: the "
					       "paper profile's value. The section Sweeps below gives the "
					       "findings at each value.");
			else
				rp_html_esc(f, captions[figs[i].kind]);
			fprintf(f, " <br>Files: <a href=\"%s.svg\">SVG</a> &middot; <a href=\"%s.png\">"
				   "PNG</a> &middot; data <a href=\"%s.csv\">%s.csv</a> &middot; script <a "
				   "href=\"%s.gp\">%s.gp</a> (edit, then <code>make</code>)</figcaption>"
				   "</figure>\n", b, b, b, b, b, b);
		}
		if (figs[i].kind == RP_FIG_EVIDENCE)
			rp_html_evidence(f, m);
	}
}

static void runs_table(FILE *f, const struct rp_model *m)
{
	fputs("<table><tr><th>run</th><th>config</th><th>testbed</th><th>status</th><th>repeat</th>"
	      "<th>bytes</th>"
	      "<th>goodput (Gbit/s)</th><th>LRO rate</th><th>duration (s)</th><th>captures "
	      "(receiver / sender)</th><th>capture drops</th><th>error</th></tr>\n", f);
	for (int i = 0; i < m->nruns; i++) {
		const struct rp_run *r = &m->runs[i];
		fprintf(f, "<tr%s><td class=n>%lld</td>", r->ok ? "" : " class=bad", (long long)r->id);
		cell_txt(f, r->config);
		cell_txt(f, r->testbed);
		cell_txt(f, r->status);
		fprintf(f, "<td class=n>%d</td><td class=n>%lld</td>", r->repeat, (long long)r->bytes);
		rp_html_num(f, r->goodput_bps / 1e9, "%.3f");
		fputs("<td class=n>", f);
		if (isnan(r->lro_rate))
			fputs("<span class=na>n/a</span>", f);
		else {
			fprintf(f, "%.2f <small>(", r->lro_rate);
			rp_html_esc(f, r->lro_src);
			fputs(")</small>", f);
		}
		fputs("</td>", f);
		rp_html_num(f, r->finished_ns > r->started_ns ? (double)(r->finished_ns - r->started_ns) / 1e9
							   : NAN, "%.1f");
		fprintf(f, "<td>%s%lld / %s%lld</td>", r->rcv_cap >= 0 ? "#" : "",
			r->rcv_cap >= 0 ? (long long)m->captures[r->rcv_cap].id : 0LL,
			r->snd_cap >= 0 ? "#" : "", r->snd_cap >= 0 ? (long long)m->captures[r->snd_cap].id : 0LL);
		if (r->capture_drops < 0)
			fputs("<td class=n><span class=na>n/a</span></td>", f);
		else if (r->capture_drops > 0)
			fprintf(f, "<td class=\"n bad\">%lld <b>DROPS</b></td>", (long long)r->capture_drops);
		else
			fputs("<td class=n>0</td>", f);
		cell_txt(f, r->error);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* distinct values of one run text field */
static void distinct(FILE *f, const struct rp_model *m, const char *label, size_t off)
{
	fprintf(f, "<tr><th>%s</th><td>", label);
	int shown = 0;
	for (int i = 0; i < m->nruns; i++) {
		const char *v = *(char *const *)((const char *)&m->runs[i] + off);
		if (!v || !*v)
			continue;
		bool seen = false;
		for (int j = 0; j < i && !seen; j++) {
			const char *u = *(char *const *)((const char *)&m->runs[j] + off);
			seen = u && !strcmp(u, v);
		}
		if (seen)
			continue;
		if (shown++)
			fputs("<br>", f);
		rp_html_esc(f, v);
	}
	if (!shown)
		fputs("<span class=na>not recorded</span>", f);
	fputs("</td></tr>\n", f);
}

void rp_versions_get(const char *gnuplot, struct rp_versions *v)
{
	memset(v, 0, sizeof *v);
	snprintf(v->pcap, sizeof v->pcap, "%s", pcap_lib_version());
	snprintf(v->sqlite, sizeof v->sqlite, "SQLite %s", sqlite3_libversion());
	if (!gnuplot || lk_gp_version(gnuplot, v->gnuplot, sizeof v->gnuplot) < 0)
		snprintf(v->gnuplot, sizeof v->gnuplot, "unknown (gnuplot --version failed)");
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(v->kernel, sizeof v->kernel, "%s %s %s", u.sysname, u.release, u.machine);
	else
		snprintf(v->kernel, sizeof v->kernel, "unknown");
}

static void metadata(FILE *f, const struct rp_model *m, const struct lk_report_opts *o)
{
	struct rp_versions v;
	rp_versions_get(o->gnuplot, &v);
	fputs("<h3 id=versions>Versions</h3>\n<table>\n", f);
	fprintf(f, "<tr><th>lrokit</th><td>%s <small>(this report)</small></td></tr>\n", lk_version);
	fputs("<tr><th>libpcap</th><td>", f);
	rp_html_esc(f, v.pcap);
	fputs(" <small>(pcap_lib_version)</small></td></tr>\n<tr><th>SQLite</th><td>", f);
	rp_html_esc(f, v.sqlite);
	fputs(" <small>(sqlite3_libversion)</small></td></tr>\n<tr><th>gnuplot</th><td>", f);
	rp_html_esc(f, v.gnuplot);
	fputs(" <small>(gnuplot --version)</small></td></tr>\n<tr><th>kernel</th><td>", f);
	rp_html_esc(f, v.kernel);
	fputs(" <small>(uname of the machine that built this report; the runs' kernels are "
	      "below)</small></td></tr>\n</table>\n", f);
	fputs("<h3>Machine and runs</h3>\n<table>\n", f);
	distinct(f, m, "kernel", offsetof(struct rp_run, kernel));
	distinct(f, m, "CPU", offsetof(struct rp_run, cpu_model));
	distinct(f, m, "host", offsetof(struct rp_run, hostname));
	distinct(f, m, "lrokit version (runs)", offsetof(struct rp_run, tool_version));
	distinct(f, m, "bench id", offsetof(struct rp_run, bench_id));
	fprintf(f, "<tr><th>lrokit version (report)</th><td>%s</td></tr>\n", lk_version);
	fputs("</table>\n", f);
	fputs("<h3>Offload settings and parameters per configuration</h3>\n", f);
	if (!m->ncfgs)
		fputs("<p class=note>No ok runs: no offload settings recorded.</p>\n", f);
	for (int i = 0; i < m->ncfgs; i++) {
		const struct rp_run *r = &m->runs[m->cfgs[i].rep];
		fprintf(f, "<h4>");
		rp_html_esc(f, m->cfgs[i].name);
		fprintf(f, " <small>(run %lld)</small></h4>\n<p>command: <code>", (long long)r->id);
		rp_html_esc(f, r->cmdline ? r->cmdline : "not recorded");
		fputs("</code></p>\n<p>offloads (ethtool -k of every testbed interface):</p><pre>", f);
		rp_html_esc(f, r->offloads ? r->offloads : "not recorded");
		fputs("</pre>\n<p>parameters:</p><pre>", f);
		rp_html_esc(f, r->params ? r->params : "not recorded");
		fputs("</pre>\n", f);
	}
	fputs("<h3>Where each counter came from</h3>\n", f);
	if (!m->nprov) {
		fputs("<p class=note>No counters recorded for the ok runs.</p>\n", f);
		return;
	}
	fputs("<table><tr><th>component</th><th>event</th><th>source</th><th>unit</th><th>rows</th>"
	      "<th>NULL (unsupported)</th><th>note</th></tr>\n", f);
	for (int i = 0; i < m->nprov; i++) {
		const struct rp_prov *p = &m->prov[i];
		fputs("<tr>", f);
		cell_txt(f, p->comp);
		cell_txt(f, p->event);
		cell_txt(f, p->source);
		cell_txt(f, p->unit);
		fprintf(f, "<td class=n>%d</td><td class=n>%d</td>", p->n, p->nnull);
		cell_txt(f, p->note);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void captures_table(FILE *f, const struct rp_model *m)
{
	fputs("<table><tr><th>capture</th><th>run</th><th>point</th><th>file</th><th>records</th>"
	      "<th>data flows</th><th>MSS</th><th>unique data bytes</th><th>data packets</th>"
	      "<th>ACKs</th><th>SACK</th><th>rexmt</th></tr>\n", f);
	for (int i = 0; i < m->n_captures; i++) {
		const struct rp_capture_summary *c = &m->captures[i];
		fprintf(f, "<tr><td class=n>%lld</td>", (long long)c->id);
		if (c->run_id)
			fprintf(f, "<td class=n>%lld</td>", (long long)c->run_id);
		else
			fputs("<td><span class=na>file</span></td>", f);
		cell_txt(f, c->point);
		cell_txt(f, c->path);
		fprintf(f, "<td class=n>%lld</td><td class=n>%d</td><td class=n>", (long long)c->packets,
			c->nflows);
		if (c->mss)
			fprintf(f, "%u <small>(", c->mss);
		else
			fputs("<span class=na>?</span> <small>(", f);
		rp_html_esc(f, c->mss_how);
		fprintf(f, ")</small></td><td class=n>%.0f</td><td class=n>%.0f</td><td class=n>%.0f</td>"
			   "<td class=n>%.0f</td><td class=n>%.0f</td></tr>\n",
			c->data_bytes, c->data_pkts, c->ack_pkts, c->sack_pkts, c->rexmt_pkts);
	}
	fputs("</table>\n", f);
	if (m->ext_captures)
		fprintf(f, "<p><small>%d capture(s) from `lrokit analyze` of external files are in the "
			   "database but not in this report (it shows the benchmark runs).</small></p>\n",
			m->ext_captures);
	/* every ACK class per bar, the ones not in figure 5 included */
	bool any = false;
	for (int i = 0; i < m->npanels; i++)
		any |= m->panels[i].acks.n > 0;
	if (!any)
		return;
	fputs("<h3>All ACK classes (ACK direction, summed)</h3><table><tr><th>bar</th><th>class "
	      "counts</th></tr>\n", f);
	for (int i = 0; i < m->npanels; i++) {
		const struct rp_panel *p = &m->panels[i];
		if (!p->acks.n)
			continue;
		fputs("<tr>", f);
		cell_txt(f, p->label);
		fputs("<td><small>", f);
		for (size_t k = 0; k < p->acks.n; k++) {
			if (k)
				fputs(", ", f);
			rp_html_esc(f, p->acks.v[k].name);
			fprintf(f, " %.0f", p->acks.v[k].v);
		}
		fputs("</small></td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

int rp_html_write(sqlite3 *db, const struct rp_model *m, const struct lk_report_opts *o,
		  const struct lk_report_result *r, const struct rp_fig *figs, const int *w,
		  const int *h, const char *path, struct lk_err *e)
{
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot write: %m", tmp);
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", localtime_r(&now, &tm));
	fprintf(f, "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>lrokit report"
		   "</title><style>%s</style></head><body>\n<h1>lrokit report</h1>\n<p>Database <code>",
		css);
	rp_html_esc(f, o->db_label ? o->db_label : "?");
	fprintf(f, "</code>, generated %s by lrokit %s: %d ok run(s) in %d configuration(s), %d "
		   "other run(s), %d capture(s). Also: <a href=\"report.pdf\">all figures as PDF</a>, "
		   "<a href=\"Makefile\">Makefile</a> to re-render.</p>\n",
		when, lk_version, m->nok, m->ncfgs, m->nruns - m->nok, m->n_captures);
	/* what is missing, up front */
	int nskip = 0;
	for (int i = 0; i < r->nfig; i++)
		nskip += !r->drawn[i];
	if (!m->runs_mode && m->nruns > 0)
		fprintf(f, "<p class=note id=needs-runs><b>No run in this database finished ok</b> "
			"(%d failed or aborted, listed below with their errors), so figures 1 (throughput "
			"and LRO rate), 2 (CPU cost per domain), 6 (aggregate size per configuration) and 7 "
			"(per-poll evidence) and the findings have nothing to show%s.</p>\n",
			m->nruns, m->n_captures ? "; the per-capture figures 3&ndash;5 are drawn per capture"
						: "");
	else if (!m->runs_mode)
		fputs("<p class=note id=needs-runs><b>This database holds no benchmark runs</b> "
		      "(filled by <code>lrokit analyze</code> only), so figures 1 (throughput and LRO "
		      "rate), 2 (CPU cost per domain), 6 (aggregate size per configuration) and 7 "
		      "(per-poll evidence) and the findings need "
		      "runs from <code>lrokit bench</code> or <code>lrokit run</code>; the per-capture "
		      "figures 3&ndash;5 are drawn per capture.</p>\n", f);
	if (nskip) {
		fputs("<ul class=note>", f);
		for (int i = 0; i < r->nfig; i++)
			if (!r->drawn[i]) {
				fprintf(f, "<li>Figure %d not drawn: ", i + 1);
				rp_html_esc(f, r->why[i]);
				fputs("</li>", f);
			}
		fputs("</ul>\n", f);
	}
	int ndropped = 0;
	for (int i = 0; i < m->nruns; i++)
		ndropped += m->runs[i].ok && m->runs[i].capture_drops > 0;
	if (ndropped) {
		fprintf(f, "<p class=note id=capture-drops><b>%d run(s) dropped packets while capturing"
			   "</b> (kernel drops from pcap_stats; their captures are incomplete, so ACK, "
			   "SACK and retransmit counts and figures 3&ndash;6 undercount):", ndropped);
		for (int i = 0; i < m->nruns; i++) {
			const struct rp_run *rr = &m->runs[i];
			if (!rr->ok || rr->capture_drops <= 0)
				continue;
			fprintf(f, " run %lld (", (long long)rr->id);
			rp_html_esc(f, rr->config);
			fprintf(f, ", %lld dropped);", (long long)rr->capture_drops);
		}
		fputs("</p>\n", f);
	}
	if (m->nruns > m->nok) {
		fprintf(f, "<p class=note>%d run(s) did not finish ok and are not in the figures:",
			m->nruns - m->nok);
		for (int i = 0; i < m->nruns; i++) {
			const struct rp_run *rr = &m->runs[i];
			if (rr->ok)
				continue;
			fprintf(f, " run %lld (", (long long)rr->id);
			rp_html_esc(f, rr->config);
			fputs(", ", f);
			rp_html_esc(f, rr->status);
			if (rr->error) {
				fputs(": ", f);
				rp_html_esc(f, rr->error);
			}
			fputs(");", f);
		}
		fputs("</p>\n", f);
	}
	fputs("<h2 id=summary>Summary</h2>\n", f);
	if (m->runs_mode)
		summary_runs(f, m);
	else
		summary_caps(f, m);
	fputs("<h2 id=paper>Our numbers beside the paper's</h2>\n", f);
	if (m->runs_mode)
		paper_table(f, m);
	else
		fputs("<p class=note>Needs benchmark runs (lrokit bench).</p>\n", f);
	fputs("<h2 id=findings>Findings: the paper's claims on these runs</h2>\n", f);
	if (m->runs_mode) {
		if (rp_html_findings(f, db, m, e) < 0) {
			fclose(f);
			remove(tmp);
			return -1;
		}
	} else {
		fputs("<p class=note>Needs benchmark runs (lrokit bench).</p>\n", f);
	}
	fputs("<h2 id=figures>Figures</h2>\n", f);
	figures(f, m, r, figs, w, h);
	if (m->runs_mode)
		rp_html_sweeps(f, db, m);
	fputs("<h2 id=runs>Runs</h2>\n", f);
	if (m->nruns)
		runs_table(f, m);
	else
		fputs("<p class=note>No runs in this database.</p>\n", f);
	fputs("<h2 id=metadata>Run metadata</h2>\n", f);
	metadata(f, m, o);
	fputs("<h2 id=captures>Captures</h2>\n", f);
	captures_table(f, m);
	fputs("</body></html>\n", f);
	int bad = ferror(f);
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) < 0) {
		remove(tmp);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: write error", path);
	}
	return 0;
}
