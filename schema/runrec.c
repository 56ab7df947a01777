/* schema/runrec.c - run records in SQLite (schema/ owns the tables). */
#include "schema/runrec.h"
#include "schema/db.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_real(sqlite3_stmt *s, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_double(s, i, v);
}

/* Run an insert prepared once, ready it for the next row. */
static int step_reset(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void cpu_model(char *out, size_t n)
{
	out[0] = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "model name", 10)) {
			char *p = strchr(line, ':');
			if (p) {
				p++;
				while (*p == ' ')
					p++;
				p[strcspn(p, "\n")] = 0;
				snprintf(out, n, "%s", p);
			}
			break;
		}
	}
	fclose(f);
}

int lk_runrec_begin(struct lk_runrec *r, const char *path, const struct lk_runrec_info *ri,
		    struct lk_err *e)
{
	memset(r, 0, sizeof *r);
	if (lk_db_open(path, &r->db, e) < 0)
		return -1;
	lk_db_reap_stale_runs(r->db, NULL);
	struct utsname u;
	char kernel[400] = "", host[256] = "", cpu[256];
	if (uname(&u) == 0) {
		snprintf(kernel, sizeof kernel, "%s %s %s", u.sysname, u.release, u.machine);
		snprintf(host, sizeof host, "%s", u.nodename);
	}
	cpu_model(cpu, sizeof cpu);
	sqlite3_stmt *s;
	const char *sql = "INSERT INTO runs (config, status, started_ns, bytes, rate_limit_bps, pid,"
			  " cmdline, tool_version, kernel, hostname, cpu_model, params, profile,"
			  " sweep_key, sweep_value) VALUES (?,'running',?,?,?,?,?,?,?,?,?,?,?,?,?)";
	if (sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) != SQLITE_OK) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: inserting run: %s", path, sqlite3_errmsg(r->db));
		lk_runrec_close(r);
		return -1;
	}
	bind_text(s, 1, ri->config);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)ri->started_ns);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)ri->bytes);
	if (ri->rate_limit_bps)
		sqlite3_bind_int64(s, 4, (sqlite3_int64)ri->rate_limit_bps);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, getpid());
	bind_text(s, 6, ri->cmdline);
	bind_text(s, 7, ri->tool_version);
	bind_text(s, 8, kernel);
	bind_text(s, 9, host);
	bind_text(s, 10, cpu[0] ? cpu : NULL);
	bind_text(s, 11, ri->params);
	bind_text(s, 12, ri->profile);
	bind_text(s, 13, ri->sweep_key);
	bind_real(s, 14, ri->sweep_key ? ri->sweep_value : NAN);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: inserting run: %s", path, sqlite3_errmsg(r->db));
		lk_runrec_close(r);
		return -1;
	}
	r->run_id = sqlite3_last_insert_rowid(r->db);
	if (sqlite3_prepare_v2(r->db, "INSERT INTO counters (run_id, component, event, value, unit,"
				      " source, note) VALUES (?,?,?,?,?,?,?)", -1, &r->counter,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(r->db, "INSERT INTO lro_stats (run_id, stage, policy, key, value)"
				      " VALUES (?,?,?,?,?)", -1, &r->lro, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(r->db, "INSERT INTO samples (run_id, t_ns, source, key, value)"
				      " VALUES (?,?,?,?,?)", -1, &r->sample, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(r->db, "INSERT INTO model_params (run_id, key, value, unit, origin)"
				      " VALUES (?,?,?,?,?)", -1, &r->model, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(r->db, "INSERT INTO stage_hist (run_id, stage, dir, hist, bucket,"
				      " count) VALUES (?,?,?,?,?,?)", -1, &r->hist, NULL) != SQLITE_OK) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, sqlite3_errmsg(r->db));
		lk_runrec_close(r);
		return -1;
	}
	return 0;
}

int lk_runrec_finish(struct lk_runrec *r, const char *status, uint64_t finished_ns,
		     uint64_t bytes, double goodput_bps, double lro_rate, const char *offloads,
		     const char *error, struct lk_err *e)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(r->db, "UPDATE runs SET status=?, finished_ns=?, bytes=?,"
				      " goodput_bps=?, lro_rate=?, offloads=?, error=? WHERE run_id=?",
			       -1, &s, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "finishing run: %s", sqlite3_errmsg(r->db));
	bind_text(s, 1, status);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)finished_ns);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)bytes);
	bind_real(s, 4, goodput_bps);
	bind_real(s, 5, lro_rate);
	bind_text(s, 6, offloads && *offloads ? offloads : NULL);
	bind_text(s, 7, error);
	sqlite3_bind_int64(s, 8, r->run_id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return lk_errf(e, LK_EXIT_RUNTIME, "finishing run: %s", sqlite3_errmsg(r->db));
	return 0;
}

int lk_runrec_counter(struct lk_runrec *r, const char *component, const char *event,
		      double value, const char *unit, const char *source, const char *note)
{
	sqlite3_stmt *s = r->counter;
	sqlite3_bind_int64(s, 1, r->run_id);
	bind_text(s, 2, component);
	bind_text(s, 3, event);
	bind_real(s, 4, value);
	bind_text(s, 5, unit);
	bind_text(s, 6, source);
	bind_text(s, 7, note);
	return step_reset(s);
}

int lk_runrec_lro(struct lk_runrec *r, const char *stage, const char *policy, const char *key,
		  double value)
{
	sqlite3_stmt *s = r->lro;
	sqlite3_bind_int64(s, 1, r->run_id);
	bind_text(s, 2, stage);
	bind_text(s, 3, policy);
	bind_text(s, 4, key);
	bind_real(s, 5, value);
	return step_reset(s);
}

int lk_runrec_sample(struct lk_runrec *r, uint64_t t_ns, const char *source, const char *key,
		     double value)
{
	sqlite3_stmt *s = r->sample;
	sqlite3_bind_int64(s, 1, r->run_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)t_ns);
	bind_text(s, 3, source);
	bind_text(s, 4, key);
	bind_real(s, 5, value);
	return step_reset(s);
}

int lk_runrec_model(struct lk_runrec *r, const char *key, double value, const char *unit,
		    const char *origin)
{
	sqlite3_stmt *s = r->model;
	sqlite3_bind_int64(s, 1, r->run_id);
	bind_text(s, 2, key);
	bind_real(s, 3, value);
	bind_text(s, 4, unit);
	bind_text(s, 5, origin);
	return step_reset(s);
}

int lk_runrec_hist(struct lk_runrec *r, const char *stage, const char *dir, const char *hist,
		   int bucket, uint64_t count)
{
	if (!count)
		return 0;
	sqlite3_stmt *s = r->hist;
	sqlite3_bind_int64(s, 1, r->run_id);
	bind_text(s, 2, stage);
	bind_text(s, 3, dir);
	bind_text(s, 4, hist);
	sqlite3_bind_int(s, 5, bucket);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)count);
	return step_reset(s);
}

int lk_runrec_stage_drops(struct lk_runrec *r, double drops, struct lk_err *e)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(r->db, "UPDATE runs SET stage_drops=? WHERE run_id=?", -1, &s,
			       NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "stage drops: %s", sqlite3_errmsg(r->db));
	if (isnan(drops))
		sqlite3_bind_null(s, 1);
	else
		sqlite3_bind_int64(s, 1, (sqlite3_int64)drops);
	sqlite3_bind_int64(s, 2, r->run_id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return lk_errf(e, LK_EXIT_RUNTIME, "stage drops: %s", sqlite3_errmsg(r->db));
	return 0;
}

int lk_runrec_tx(struct lk_runrec *r, const char *sql)
{
	return sqlite3_exec(r->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void lk_runrec_close(struct lk_runrec *r)
{
	sqlite3_finalize(r->counter);
	sqlite3_finalize(r->lro);
	sqlite3_finalize(r->sample);
	sqlite3_finalize(r->model);
	sqlite3_finalize(r->hist);
	r->counter = r->lro = r->sample = r->model = r->hist = NULL;
	if (r->db)
		lk_db_close(r->db);
	r->db = NULL;
}

int lk_runrec_set_host(struct lk_runrec *r, const char *kernel, const char *hostname,
		       const char *cpu_model, const char *params, const char *bench_id,
		       int repeat, struct lk_err *e)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(r->db, "UPDATE runs SET kernel = coalesce(?, kernel), hostname ="
			       " coalesce(?, hostname), cpu_model = coalesce(?, cpu_model), params ="
			       " coalesce(?, params), bench_id = coalesce(?, bench_id), repeat = coalesce(?, repeat)"
			       " WHERE run_id = ?", -1, &s, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "run %lld: %s", (long long)r->run_id,
			       sqlite3_errmsg(r->db));
	bind_text(s, 1, kernel);
	bind_text(s, 2, hostname);
	bind_text(s, 3, cpu_model);
	bind_text(s, 4, params);
	bind_text(s, 5, bench_id);
	if (repeat > 0)
		sqlite3_bind_int(s, 6, repeat);
	else
		sqlite3_bind_null(s, 6);
	sqlite3_bind_int64(s, 7, r->run_id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return lk_errf(e, LK_EXIT_RUNTIME, "run %lld: %s", (long long)r->run_id,
			       sqlite3_errmsg(r->db));
	return 0;
}
