/* reports/report.c - build the report directory. See report.h. */
#include "reports/report.h"
#include "lib/file.h"
#include "reports/gnuplot.h"
#include "reports/rmodel.h"
#include "schema/db.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lk_report_open_db(const char *path, sqlite3 **db, struct lk_err *e)
{
	*db = NULL;
	struct stat st;
	if (stat(path, &st) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s (make one with `lrokit bench` or `lrokit "
				   "analyze --db %s FILE.pcap`)", path, strerror(errno), path);
	if (access(path, R_OK) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: not readable: %s", path, strerror(errno));
	if (lk_db_open_ro(path, db, e) == 0) {
		/* a WAL database whose -shm cannot be created (a directory we may not
		 * write) fails on the first real read: probe it */
		sqlite3_stmt *s;
		int rc = sqlite3_prepare_v2(*db, "SELECT count(*) FROM runs", -1, &s, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(*db);
		sqlite3_finalize(s);
		if (rc == SQLITE_OK)
			return 0;
		lk_db_close(*db);
		*db = NULL;
	}
	/* read-only directory or file: SQLite's immutable mode (no locking, no -shm) */
	size_t n = strlen(path);
	char *uri = malloc(n * 3 + 32);
	if (!uri)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	char *q = uri + sprintf(uri, "file:");
	for (const char *c = path; *c; c++)
		q += (*c == '%' || *c == '?' || *c == '#') ? sprintf(q, "%%%02X", (unsigned char)*c)
							  : sprintf(q, "%c", *c);
	strcpy(q, "?immutable=1");
	sqlite3 *d = NULL;
	int rc = sqlite3_open_v2(uri, &d, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
				 NULL);
	free(uri);
	sqlite3_stmt *s = NULL;
	int v = -1;
	if (rc == SQLITE_OK && sqlite3_prepare_v2(d, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (v <= 0 || v > lk_db_schema_version()) {
		if (v < 0 && d)
			lk_db_fail(e, d, path, NULL);
		else if (v < 0)
			lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot open database: out of memory", path);
		else if (v == 0)
			lk_errf(e, LK_EXIT_RUNTIME, "%s: not an lrokit database", path);
		else
			lk_errf(e, LK_EXIT_RUNTIME, "%s: database schema v%d is newer than this lrokit (v%d)", path,
				v, lk_db_schema_version());
		sqlite3_close(d);
		return -1;
	}
	*db = d;
	return 0;
}

static int mkdirs(const char *p, struct lk_err *e)
{
	if (lk_mkdirs(p, e) < 0)
		return -1;
	struct stat st;
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: not a directory", p);
	if (access(p, W_OK) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: not writable: %s", p, strerror(errno));
	return 0;
}

/* The figures of an earlier report in dir (fig<N>-*.{csv,gp,png,svg}), its
 * PDF and log: a figure not drawn this time must not linger. */
static void remove_old(const char *dir)
{
	static const char *const ext[] = {".csv", ".gp", ".png", ".svg"};
	char p[4200];
	DIR *d = opendir(dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		const char *n = de->d_name, *dot = strrchr(n, '.');
		if (strncmp(n, "fig", 3) || n[3] < '0' || n[3] > '9' || !dot)
			continue;
		for (size_t k = 0; k < 4; k++)
			if (!strcmp(dot, ext[k])) {
				snprintf(p, sizeof p, "%s/%s", dir, n);
				unlink(p);
			}
	}
	if (d)
		closedir(d);
	snprintf(p, sizeof p, "%s/report.pdf", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/gnuplot.log", dir);
	unlink(p);
}

static int write_makefile(const char *dir, const struct rp_fig *figs, const int *drawn, int n,
			  const int *w, const int *h, struct lk_err *e)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/Makefile", dir);
	FILE *f = fopen(p, "w");
	if (!f)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot write: %s", p, strerror(errno));
	fprintf(f, "# Re-render the figures after editing a .gp script: `make` (or `make png`).\n"
		   "GNUPLOT ?= gnuplot\n"
		   "PNG = %s\nSVG = %s\nPDF = %s\n",
		"set terminal " LK_GP_TERM_PNG, "set terminal " LK_GP_TERM_SVG,
		"set terminal " LK_GP_TERM_PDF);
	fputs("FIGS =", f);
	for (int i = 0; i < n; i++)
		if (drawn[i])
			fprintf(f, " %s", figs[i].base);
	fputs("\n\nall: png svg report.pdf\npng: $(FIGS:=.png)\nsvg: $(FIGS:=.svg)\n"
	      ".PHONY: all png svg\n\n", f);
	for (int i = 0; i < n; i++) {
		if (!drawn[i])
			continue;
		const char *b = figs[i].base;
		fprintf(f, "%s.png: %s.gp %s.csv\n\t$(GNUPLOT) -e \"$(PNG) size %d,%d; set output "
			   "'$@'\" $<\n", b, b, b, w[i], h[i]);
		fprintf(f, "%s.svg: %s.gp %s.csv\n\t$(GNUPLOT) -e \"$(SVG) size %d,%d; set output "
			   "'$@'\" $<\n", b, b, b, w[i], h[i]);
	}
	fputs("report.pdf: $(FIGS:=.gp) $(FIGS:=.csv)\n\t$(GNUPLOT) -e \"$(PDF) size 11in,7in; "
	      "set output '$@'\" $(FIGS:=.gp)\n", f);
	if (fclose(f) != 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: write error", p);
	return 0;
}

/* Write and render every figure: PNG and SVG each, then one PDF of all. */
static int draw_figures(sqlite3 *db, const struct rp_model *m, const struct lk_report_opts *o,
			unsigned maxp, const struct rp_fig *figs, struct lk_report_result *res,
			int *w, int *h, struct lk_err *e)
{
	char names[LK_REPORT_MAXFIG][112];
	const char *sp[LK_REPORT_MAXFIG];
	size_t nscripts = 0;
	for (int f = 0; f < res->nfig; f++) {
		snprintf(res->name[f], sizeof res->name[f], "%s", figs[f].name);
		int rc = rp_fig_write(db, m, &figs[f], f + 1, o->outdir, maxp, &w[f], &h[f],
				      res->why[f], sizeof res->why[f], e);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			res->needs_runs[f] = !m->runs_mode && figs[f].needs_runs;
			continue;
		}
		char gp[112], out[112], size[64];
		snprintf(gp, sizeof gp, "%s.gp", figs[f].base);
		snprintf(size, sizeof size, "%d,%d", w[f], h[f]);
		const char *one[1] = {gp};
		for (int k = 0; k < 2; k++) {
			snprintf(out, sizeof out, "%s.%s", figs[f].base, k ? "svg" : "png");
			if (lk_gp_render(o->gnuplot, o->outdir, k ? LK_GP_TERM_SVG : LK_GP_TERM_PNG,
					 size, out, one, 1, "gnuplot.log", 120, e) < 0)
				return -1;
		}
		res->drawn[f] = 1;
		snprintf(names[nscripts], sizeof names[nscripts], "%s", gp);
		sp[nscripts] = names[nscripts];
		nscripts++;
	}
	if (nscripts && lk_gp_render(o->gnuplot, o->outdir, LK_GP_TERM_PDF, "11in,7in", "report.pdf",
				     sp, nscripts, "gnuplot.log", 300, e) < 0)
		return -1;
	return write_makefile(o->outdir, figs, res->drawn, res->nfig, w, h, e);
}

int lk_report_build(sqlite3 *db, const struct lk_report_opts *o, struct lk_report_result *res,
		    struct lk_err *e)
{
	memset(res, 0, sizeof *res);
	unsigned maxp = o->max_panels ? o->max_panels : 6;
	struct rp_model m;
	if (rp_model_load(db, o, &m, e) < 0) {
		rp_model_free(&m);
		return -1;
	}
	if (m.nruns == 0 && m.n_captures == 0) {
		rp_model_free(&m);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: no runs and no captures: nothing to report "
				   "(fill it with `lrokit bench` or `lrokit analyze --db`)",
			       o->db_label ? o->db_label : "database");
	}
	if (mkdirs(o->outdir, e) < 0 || rp_scan_packets(db, &m, maxp, e) < 0) {
		rp_model_free(&m);
		return -1;
	}
	remove_old(o->outdir);
	res->ok_runs = (unsigned)m.nok;
	res->other_runs = (unsigned)(m.nruns - m.nok);
	res->captures = (unsigned)m.n_captures;
	struct rp_fig figs[LK_REPORT_MAXFIG];
	int w[LK_REPORT_MAXFIG], h[LK_REPORT_MAXFIG];
	res->nfig = rp_fig_list(&m, figs, LK_REPORT_MAXFIG);
	if (draw_figures(db, &m, o, maxp, figs, res, w, h, e) < 0)
		goto fail;
	snprintf(res->html, sizeof res->html, "%s/report.html", o->outdir);
	if (rp_html_write(db, &m, o, res, figs, w, h, res->html, e) < 0)
		goto fail;
	rp_model_free(&m);
	return 0;
fail:
	rp_model_free(&m);
	return -1;
}
