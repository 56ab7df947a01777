/* reports/gnuplot.h - find and run gnuplot for the report's figures.
 *
 * Every figure is an editable gnuplot script that sets no terminal and no
 * output: the terminal comes from the command line, so the same script
 * renders PNG, SVG and one page of the PDF:
 *
 *   gnuplot -e "set terminal pngcairo ...; set output 'fig1.png'" fig1.gp
 *
 * gnuplot is $LROKIT_GNUPLOT (a path, or a name looked up like `gnuplot`) or
 * `gnuplot` found by lk_which (lib/proc.h).
 * Nothing here prints; gnuplot's own messages go to a log file.
 */
#ifndef LK_REPORTS_GNUPLOT_H
#define LK_REPORTS_GNUPLOT_H

#include <stddef.h>

#include "lib/err.h"

/* Terminals used by the report (gnuplot-nox 5.4 has all three). */
#define LK_GP_TERM_PNG "pngcairo enhanced font 'Sans,10' background rgb 'white'"
#define LK_GP_TERM_SVG "svg enhanced dynamic font 'Sans,10' background rgb 'white'"
#define LK_GP_TERM_PDF "pdfcairo enhanced font 'Sans,8'"

/* Locate gnuplot into path[n]. -1 with LK_EXIT_MISSING and one line naming
 * the package when absent. */
int lk_gp_find(char *path, size_t n, struct lk_err *e);

/* Check that gnuplot runs and has the pngcairo, svg and pdfcairo terminals.
 * -1 with LK_EXIT_MISSING otherwise. */
int lk_gp_check(const char *gnuplot, struct lk_err *e);

/* gnuplot's version line ("gnuplot 5.4 patchlevel 4") into out[n]; -1 (out
 * says why) when it cannot be run. */
int lk_gp_version(const char *gnuplot, char *out, size_t n);

/* In directory dir run: gnuplot -e "set terminal TERM size W,H; set output
 * 'OUT'" SCRIPT... (scripts relative to dir, rendered in order: for a
 * multipage terminal every script adds its pages). size is "W,H" in the
 * terminal's units or NULL. gnuplot's stdout/stderr are appended to
 * dir/log. Killed after timeout_s seconds. -1 (LK_EXIT_RUNTIME, message
 * names the script and points at the log) when gnuplot fails or OUT is
 * missing or empty. */
int lk_gp_render(const char *gnuplot, const char *dir, const char *term, const char *size,
		 const char *out, const char *const *scripts, size_t nscripts, const char *log,
		 unsigned timeout_s, struct lk_err *e);

#endif
