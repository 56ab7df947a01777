/* reports/rmodel.c - read what the report needs from the database. */
#include "reports/rmodel.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double rp_nan(void) { return NAN; }

int rp_kvs_add(struct rp_kvs *s, const char *name, double x)
{
	struct rp_kv *k = rp_kvs_find(s, name);
	if (!k) {
		if (s->n == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 16;
			struct rp_kv *nv = realloc(s->v, nc * sizeof *nv);
			if (!nv)
				return -1;
			s->v = nv;
			s->cap = nc;
		}
		k = &s->v[s->n++];
		memset(k, 0, sizeof *k);
		snprintf(k->name, sizeof k->name, "%s", name);
	}
	k->v += x;
	k->n += 1;
	return 0;
}

struct rp_kv *rp_kvs_find(const struct rp_kvs *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

void rp_kvs_free(struct rp_kvs *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* Unknown configurations after the known ones. */
static int config_rank(const char *c)
{
	int r = lk_config_rank(c);
	return r < 0 ? 100 : r;
}

static char *dupcol(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

static double dblcol(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int dberr(sqlite3 *db, struct lk_err *e, const char *what)
{
	return lk_errf(e, LK_EXIT_RUNTIME, "report: %s: %s", what, sqlite3_errmsg(db));
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct lk_err *e)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return dberr(db, e, "query");
	return 0;
}

const char *const rp_stage_names[RP_NSTAGES] = {"nic", "netback", "netfront"};

static int stage_index(const char *s)
{
	for (int k = 0; s && k < RP_NSTAGES; k++)
		if (!strcmp(rp_stage_names[k], s))
			return k;
	return -1;
}

/* ---- runs ---- */
static bool has_column(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	bool yes = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
		yes = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return yes;
}

/* The JSON string that follows `"key":` somewhere after from (unescaped into
 * out, n bytes); false when there is none. Enough for the params hostrun
 * writes (testbed/hostrun.c). */
static bool json_str_after(const char *from, const char *key, char *out, size_t n)
{
	char k[64];
	snprintf(k, sizeof k, "\"%s\":\"", key);
	const char *p = from ? strstr(from, k) : NULL;
	if (!p || !n)
		return false;
	p += strlen(k);
	size_t o = 0;
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (o + 1 < n)
			out[o++] = *p;
	}
	out[o] = 0;
	return *p == '"';
}

/* How the run was made: runs.params of `bench --hosts` holds "hosts" (each
 * role's ssh destination first) and "remote_commands". */
static void run_testbed(struct rp_run *r)
{
	r->tb = RP_TB_EMULATED;
	snprintf(r->testbed, sizeof r->testbed, "emulated");
	const char *h = r->params ? strstr(r->params, "\"hosts\":{") : NULL;
	if (!h || !strstr(r->params, "\"remote_commands\":"))
		return;
	char snd[96] = "?", rcv[96] = "?", d0[96] = "";
	const char *ps = strstr(h, "\"sender\":{"), *pr = strstr(h, "\"receiver\":{");
	const char *pg = strstr(h, "\"guest\":{"), *pd = strstr(h, "\"dom0\":{");
	if (ps)
		json_str_after(ps, "dest", snd, sizeof snd);
	if (pd && pg) {
		json_str_after(pg, "dest", rcv, sizeof rcv);
		json_str_after(pd, "dest", d0, sizeof d0);
		r->tb = RP_TB_XEN_HOST;
		snprintf(r->testbed, sizeof r->testbed, "Xen host %.72s -> %.72s (dom0 %.72s)", snd, rcv,
			 d0);
		return;
	}
	if (pr)
		json_str_after(pr, "dest", rcv, sizeof rcv);
	r->tb = RP_TB_HOSTS;
	snprintf(r->testbed, sizeof r->testbed, "hosts %s -> %s", snd, rcv);
}

static int load_runs(sqlite3 *db, const struct lk_report_opts *o, struct rp_model *m,
		     struct lk_err *e)
{
	sqlite3_stmt *st;
	/* runs.capture_drops is schema v2; a v1 database (opened read-only, not
	 * migrated) gets the same value from its pcap counters. Schema v3 adds
	 * the model's columns and tables; older databases have none of them. */
	bool v2 = has_column(db, "runs", "capture_drops");
	m->v3 = has_column(db, "runs", "sweep_key") && has_column(db, "model_params", "key") &&
		has_column(db, "stage_hist", "bucket");
	char *q = sqlite3_mprintf(
		"SELECT run_id, config, status, started_ns, finished_ns, bytes, goodput_bps, "
		"lro_rate, repeat, bench_id, cmdline, tool_version, kernel, hostname, cpu_model, "
		"offloads, params, error, rate_limit_bps, %s, %s FROM runs ORDER BY run_id",
		v2 ? "capture_drops"
		   : "(SELECT CASE WHEN count(*) > 0 AND count(value) = count(*) THEN "
		     "CAST(sum(value) AS INTEGER) END FROM counters c WHERE c.run_id = runs.run_id "
		     "AND c.event = 'capture_kernel_drops' AND c.source = 'pcap')",
		m->v3 ? "stage_drops, profile, sweep_key, sweep_value" : "NULL, NULL, NULL, NULL");
	if (!q)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	int prc = prep(db, q, &st, e);
	sqlite3_free(q);
	if (prc < 0)
		return -1;
	int n_alloc = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		bool sel = o->n_run_ids == 0;
		for (size_t i = 0; i < o->n_run_ids && !sel; i++)
			sel = o->run_ids[i] == id;
		if (!sel)
			continue;
		if (m->nruns == n_alloc) {
			n_alloc = n_alloc ? n_alloc * 2 : 32;
			struct rp_run *nr = realloc(m->runs, (size_t)n_alloc * sizeof *nr);
			if (!nr) {
				sqlite3_finalize(st);
				return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
			}
			m->runs = nr;
		}
		struct rp_run *r = &m->runs[m->nruns++];
		memset(r, 0, sizeof *r);
		r->id = id;
		r->config = dupcol(st, 1);
		r->status = dupcol(st, 2);
		r->started_ns = sqlite3_column_int64(st, 3);
		r->finished_ns = sqlite3_column_int64(st, 4);
		r->bytes = sqlite3_column_int64(st, 5);
		r->goodput_bps = dblcol(st, 6);
		r->lro_rate = dblcol(st, 7);
		r->lro_src = isnan(r->lro_rate) ? NULL : "runs.lro_rate";
		r->repeat = sqlite3_column_int(st, 8);
		r->bench_id = dupcol(st, 9);
		r->cmdline = dupcol(st, 10);
		r->tool_version = dupcol(st, 11);
		r->kernel = dupcol(st, 12);
		r->hostname = dupcol(st, 13);
		r->cpu_model = dupcol(st, 14);
		r->offloads = dupcol(st, 15);
		r->params = dupcol(st, 16);
		r->error = dupcol(st, 17);
		r->rate_limit_bps = sqlite3_column_int64(st, 18);
		r->capture_drops = sqlite3_column_type(st, 19) == SQLITE_NULL
					   ? -1 : sqlite3_column_int64(st, 19);
		r->stage_drops = sqlite3_column_type(st, 20) == SQLITE_NULL
					 ? -1 : sqlite3_column_int64(st, 20);
		r->profile = dupcol(st, 21);
		r->sweep_key = dupcol(st, 22);
		r->sweep_value = r->sweep_key ? dblcol(st, 23) : NAN;
		run_testbed(r);
		for (int k = 0; k < RP_NSTAGES; k++)
			r->lro_stage[k] = NAN;
		r->selected = true;
		r->ok = r->status && !strcmp(r->status, "ok") && r->config;
		r->rcv_cap = r->snd_cap = r->any_cap = -1;
		r->cpu_total_s = NAN;
		if (r->ok)
			m->nok++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return dberr(db, e, "reading runs");
	for (size_t i = 0; i < o->n_run_ids; i++) {
		bool found = false;
		for (int k = 0; k < m->nruns && !found; k++)
			found = m->runs[k].id == o->run_ids[i];
		if (!found)
			return lk_errf(e, LK_EXIT_RUNTIME, "report: run %lld is not in the database",
				       (long long)o->run_ids[i]);
	}
	m->runs_mode = m->nok > 0;
	return 0;
}

/* Schema v3: every ok run's model parameters and its stages' receive-path
 * histograms. */
static int load_model_hist(sqlite3 *db, struct rp_model *m, struct lk_err *e)
{
	if (!m->v3)
		return 0;
	sqlite3_stmt *mp, *sh;
	if (prep(db, "SELECT key, value FROM model_params WHERE run_id = ? ORDER BY key", &mp, e) < 0)
		return -1;
	if (prep(db, "SELECT stage, hist, bucket, count FROM stage_hist WHERE run_id = ? AND dir = "
		     "'rx'", &sh, e) < 0) {
		sqlite3_finalize(mp);
		return -1;
	}
	int rc = SQLITE_DONE;
	for (int i = 0; i < m->nruns && rc == SQLITE_DONE; i++) {
		struct rp_run *r = &m->runs[i];
		if (!r->ok)
			continue;
		sqlite3_reset(mp);
		sqlite3_bind_int64(mp, 1, r->id);
		while ((rc = sqlite3_step(mp)) == SQLITE_ROW) {
			const char *k = (const char *)sqlite3_column_text(mp, 0);
			if (k && rp_kvs_add(&r->model, k, dblcol(mp, 1)) < 0)
				goto oom;
		}
		if (rc != SQLITE_DONE)
			break;
		sqlite3_reset(sh);
		sqlite3_bind_int64(sh, 1, r->id);
		while ((rc = sqlite3_step(sh)) == SQLITE_ROW) {
			int s = stage_index((const char *)sqlite3_column_text(sh, 0));
			const char *h = (const char *)sqlite3_column_text(sh, 1);
			int64_t b = sqlite3_column_int64(sh, 2);
			double n = sqlite3_column_double(sh, 3);
			bool fpp = h && !strcmp(h, "frames_per_poll"), spa = h && !strcmp(h, "segs_per_aggr");
			if (s < 0 || (!fpp && !spa) || b < 1)
				continue;
			if (!r->hist && !(r->hist = calloc(1, sizeof *r->hist)))
				goto oom;
			r->hist->have[s] = true;
			if (fpp)
				r->hist->fpp[s][b > RP_FPP_MAX ? RP_FPP_MAX : b] += n;
			else
				r->hist->spa[s][b > RP_SPA_MAX ? RP_SPA_MAX : b] += n;
		}
	}
	sqlite3_finalize(mp);
	sqlite3_finalize(sh);
	if (rc != SQLITE_DONE)
		return dberr(db, e, "reading model_params and stage_hist");
	return 0;
oom:
	sqlite3_finalize(mp);
	sqlite3_finalize(sh);
	return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
}

/* Key of the set a run belongs to: profile, sweep point, model parameters. */
static char *set_key(const struct rp_run *r)
{
	size_t n = 64 + sizeof r->testbed + (r->profile ? strlen(r->profile) : 0) +
		   (r->sweep_key ? strlen(r->sweep_key) : 0) + r->model.n * 96;
	char *k = malloc(n);
	if (!k)
		return NULL;
	size_t o = (size_t)snprintf(k, n, "%s|%s|%s|%.9g|", r->testbed, r->profile ? r->profile : "",
				    r->sweep_key ? r->sweep_key : "", r->sweep_value);
	for (size_t i = 0; i < r->model.n && o < n; i++)
		o += (size_t)snprintf(k + o, n - o, "%s=%.9g;", r->model.v[i].name, r->model.v[i].v);
	return k;
}

/* Append ", text" (or text when buf is empty), truncating. */
static void lab_add(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void lab_add(char *buf, size_t n, const char *fmt, ...)
{
	size_t o = strlen(buf);
	if (o && o + 3 < n) {
		strcat(buf, ", ");
		o += 2;
	}
	if (o + 1 >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + o, n - o, fmt, ap);
	va_end(ap);
}

/* Emulated runs first, then real hosts; base sets (no sweep) first, then by
 * sweep key and value, then by first run. */
static int cmp_set(const void *a, const void *b)
{
	const struct rp_set *x = a, *y = b;
	if ((x->tb == RP_TB_EMULATED) != (y->tb == RP_TB_EMULATED))
		return x->tb == RP_TB_EMULATED ? -1 : 1;
	if (!x->sweep_key != !y->sweep_key)
		return x->sweep_key ? 1 : -1;
	if (x->sweep_key) {
		int c = strcmp(x->sweep_key, y->sweep_key);
		if (c)
			return c;
		if (x->sweep_value != y->sweep_value)
			return x->sweep_value < y->sweep_value ? -1 : 1;
	}
	return x->first_run - y->first_run;
}

static int build_sets(struct rp_model *m, struct lk_err *e)
{
	char **keys = calloc((size_t)m->nruns + 1, sizeof *keys);
	if (!keys)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	int rc = 0;
	for (int i = 0; i < m->nruns && !rc; i++) {
		struct rp_run *r = &m->runs[i];
		if (!r->ok)
			continue;
		if (!(keys[i] = set_key(r)))
			goto oom;
		int s;
		for (s = 0; s < m->nsets; s++)
			if (!strcmp(m->sets[s].key, keys[i]))
				break;
		if (s == m->nsets) {
			struct rp_set *ns = realloc(m->sets, (size_t)(m->nsets + 1) * sizeof *ns);
			if (!ns)
				goto oom;
			m->sets = ns;
			struct rp_set *t = &m->sets[m->nsets++];
			memset(t, 0, sizeof *t);
			if (!(t->key = strdup(keys[i])))
				goto oom;
			t->profile = r->profile;
			t->sweep_key = r->sweep_key;
			t->sweep_value = r->sweep_value;
			t->first_run = i;
			t->tb = r->tb;
			snprintf(t->testbed, sizeof t->testbed, "%s", r->testbed);
		}
	}
	bool emu = false, real = false;
	for (int s = 0; s < m->nsets; s++) {
		emu |= m->sets[s].tb == RP_TB_EMULATED;
		real |= m->sets[s].tb != RP_TB_EMULATED;
	}
	m->mixed = emu && real;
	if (m->nsets > 1)
		qsort(m->sets, (size_t)m->nsets, sizeof *m->sets, cmp_set);
	for (int s = 0; s < m->nsets; s++) {
		struct rp_set *t = &m->sets[s];
		int dup = 0;
		for (int u = 0; u < s; u++)
			dup += !strcmp(t->testbed, m->sets[u].testbed) &&
			       !strcmp(t->profile ? t->profile : "", m->sets[u].profile ? m->sets[u].profile
											  : "") &&
			       !t->sweep_key == !m->sets[u].sweep_key &&
			       (!t->sweep_key || (!strcmp(t->sweep_key, m->sets[u].sweep_key) &&
						  t->sweep_value == m->sets[u].sweep_value));
		/* rest: profile, sweep point, parameters; the label: the testbed
		   first (real hosts always, the emulated testbed only beside them) */
		char *b = t->rest;
		size_t n = sizeof t->rest;
		if (t->profile)
			lab_add(b, n, "profile %s", t->profile);
		if (t->sweep_key)
			lab_add(b, n, "%s = %g", t->sweep_key, t->sweep_value);
		if (dup)
			lab_add(b, n, "parameters #%d", dup + 1);
		bool named = t->tb != RP_TB_EMULATED || m->mixed;
		if (m->nsets == 1 && !named)
			continue;
		if (named)
			lab_add(t->label, sizeof t->label, "%s", t->testbed);
		if (*b)
			lab_add(t->label, sizeof t->label, "%s", b);
		if (!*t->label)
			snprintf(t->label, sizeof t->label, "no profile");
	}
	for (int i = 0; i < m->nruns; i++) {
		m->runs[i].set = -1;
		for (int s = 0; keys[i] && s < m->nsets; s++)
			if (!strcmp(m->sets[s].key, keys[i]))
				m->runs[i].set = s;
	}
	goto out;
oom:
	rc = lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
out:
	for (int i = 0; i < m->nruns; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

static int find_run(const struct rp_model *m, int64_t id)
{
	for (int i = 0; i < m->nruns; i++)
		if (m->runs[i].id == id)
			return i;
	return -1;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* ---- captures and their flows ---- */
static int load_flows(sqlite3 *db, struct rp_capture_summary *c, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (prep(db,
		 "SELECT flow_id, a2b_unique_bytes, b2a_unique_bytes, a2b_data_pkts, b2a_data_pkts, "
		 "a2b_ack_pkts, b2a_ack_pkts, a2b_sack_pkts, b2a_sack_pkts, a2b_rexmt_data_pkts, "
		 "b2a_rexmt_data_pkts, a2b_mss, b2a_mss, a2b_max_seg, b2a_max_seg, first_ns, last_ns, "
		 "a2b_pure_acks, b2a_pure_acks FROM flows WHERE capture_id = ?",
		 &st, e) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	int rc;
	uint32_t mss_opt = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		double ub[2] = {sqlite3_column_double(st, 1), sqlite3_column_double(st, 2)};
		if (ub[0] <= 0 && ub[1] <= 0)
			continue;
		int d = ub[0] >= ub[1] ? 0 : 1, a = 1 - d;
		c->nflows++;
		c->data_bytes += ub[d];
		c->data_pkts += sqlite3_column_double(st, 3 + d);
		c->ack_pkts += sqlite3_column_double(st, 5 + a);
		c->sack_pkts += sqlite3_column_double(st, 7 + a);
		c->rexmt_pkts += sqlite3_column_double(st, 9 + d);
		c->pure_acks += sqlite3_column_double(st, 17 + a);
		if (ub[d] > c->main_bytes) {
			c->main_bytes = ub[d];
			c->main_flow = sqlite3_column_int64(st, 0);
			c->main_dir = d;
			c->main_first_ns = sqlite3_column_int64(st, 15);
			c->main_last_ns = sqlite3_column_int64(st, 16);
			/* MSS the data sender may use: the option sent by the data
			 * receiver (ACK direction), else the other one */
			uint32_t mo = (uint32_t)sqlite3_column_int64(st, 11 + a);
			if (!mo)
				mo = (uint32_t)sqlite3_column_int64(st, 11 + d);
			mss_opt = mo;
			c->max_seg = (uint32_t)sqlite3_column_int64(st, 13 + d);
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return dberr(db, e, "reading flows");
	if (c->max_seg && (mss_opt == 0 ? c->max_seg <= 8960 : c->max_seg <= mss_opt)) {
		c->mss = c->max_seg;
		c->mss_how = "largest data segment";
	} else if (mss_opt > 12) {
		c->mss = mss_opt - 12;
		c->mss_how = "MSS option - 12 (timestamps assumed)";
	} else {
		c->mss = 0;
		c->mss_how = "unknown (no handshake, segments larger than 8960 bytes)";
	}
	return 0;
}

static int load_acks(sqlite3 *db, struct rp_capture_summary *c, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (prep(db,
		 "SELECT ac.class, sum(ac.count) FROM flows f JOIN ack_classes ac ON ac.flow_id = "
		 "f.flow_id WHERE f.capture_id = ? AND (f.a2b_unique_bytes > 0 OR f.b2a_unique_bytes "
		 "> 0) AND ac.dir = CASE WHEN f.a2b_unique_bytes >= f.b2a_unique_bytes THEN 1 ELSE 0 "
		 "END GROUP BY ac.class",
		 &st, e) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(st, 0);
		if (n && rp_kvs_add(&c->acks, n, sqlite3_column_double(st, 1)) < 0) {
			sqlite3_finalize(st);
			return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return dberr(db, e, "reading ack_classes");
	/* the bandwidth estimates of the largest data flow that has them */
	if (prep(db,
		 "SELECT b.flow_id, b.dir, count(*) AS n, max(CASE WHEN b.dir = 0 THEN "
		 "f.a2b_unique_bytes ELSE f.b2a_unique_bytes END) AS ub FROM bwe b JOIN flows f ON "
		 "f.flow_id = b.flow_id WHERE f.capture_id = ? AND b.value_bps IS NOT NULL GROUP BY "
		 "b.flow_id, b.dir ORDER BY ub DESC, n DESC LIMIT 1",
		 &st, e) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->bwe_flow = sqlite3_column_int64(st, 0);
		c->bwe_dir = sqlite3_column_int(st, 1);
		c->bwe_rows = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(db, e, "reading bwe");
	return 0;
}

static int load_captures(sqlite3 *db, struct rp_model *m, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (prep(db,
		 "SELECT capture_id, run_id, point, path, packets, first_ns, last_ns FROM captures "
		 "ORDER BY capture_id",
		 &st, e) < 0)
		return -1;
	int n_alloc = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t run_id = sqlite3_column_int64(st, 1);
		int ri = run_id ? find_run(m, run_id) : -1;
		if (m->runs_mode && (ri < 0 || !m->runs[ri].ok)) {
			if (!run_id)
				m->ext_captures++;
			continue;
		}
		if (!m->runs_mode && run_id)
			continue; /* a capture of a run that is not ok (or not selected) */
		if (m->n_captures == n_alloc) {
			n_alloc = n_alloc ? n_alloc * 2 : 32;
			struct rp_capture_summary *nc = realloc(m->captures, (size_t)n_alloc * sizeof *nc);
			if (!nc) {
				sqlite3_finalize(st);
				return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
			}
			m->captures = nc;
		}
		struct rp_capture_summary *c = &m->captures[m->n_captures++];
		memset(c, 0, sizeof *c);
		c->id = sqlite3_column_int64(st, 0);
		c->run_id = run_id;
		const unsigned char *pt = sqlite3_column_text(st, 2);
		snprintf(c->point, sizeof c->point, "%s", pt ? (const char *)pt : "file");
		c->path = dupcol(st, 3);
		c->packets = sqlite3_column_int64(st, 4);
		c->first_ns = sqlite3_column_int64(st, 5);
		c->last_ns = sqlite3_column_int64(st, 6);
		if (ri >= 0)
			snprintf(c->label, sizeof c->label, "%s run %lld (%s)", m->runs[ri].config,
				 (long long)run_id, c->point);
		else
			snprintf(c->label, sizeof c->label, "%s", c->path ? base_name(c->path) : "?");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return dberr(db, e, "reading captures");
	for (int i = 0; i < m->n_captures; i++) {
		if (load_flows(db, &m->captures[i], e) < 0 || load_acks(db, &m->captures[i], e) < 0)
			return -1;
	}
	/* attach to runs */
	for (int i = 0; i < m->n_captures; i++) {
		struct rp_capture_summary *c = &m->captures[i];
		int ri = c->run_id ? find_run(m, c->run_id) : -1;
		if (ri < 0)
			continue;
		struct rp_run *r = &m->runs[ri];
		if (r->any_cap < 0)
			r->any_cap = i;
		if (!strcmp(c->point, "receiver") ||
		    (!strcmp(c->point, "dom0") && (r->rcv_cap < 0 ||
						   strcmp(m->captures[r->rcv_cap].point, "receiver"))))
			r->rcv_cap = i;
		if (!strcmp(c->point, "sender"))
			r->snd_cap = i;
	}
	for (int i = 0; i < m->nruns; i++) {
		struct rp_run *r = &m->runs[i];
		if (r->rcv_cap < 0)
			r->rcv_cap = r->any_cap;
		if (r->snd_cap < 0)
			r->snd_cap = r->any_cap;
		/* an aggregated receiver capture: take the segment size from the
		 * sender's capture of the same run */
		if (r->rcv_cap >= 0 && r->snd_cap >= 0 && r->rcv_cap != r->snd_cap) {
			struct rp_capture_summary *rc2 = &m->captures[r->rcv_cap], *sc = &m->captures[r->snd_cap];
			if (sc->mss && !strcmp(sc->mss_how, "largest data segment") &&
			    strcmp(rc2->mss_how, "largest data segment")) {
				rc2->mss = sc->mss;
				rc2->mss_how = "largest data segment of the sender's capture";
			}
		}
	}
	return 0;
}

/* ---- counters ---- */
static const char *const cpu_events[] = {"task-clock", "cpu-clock", "cpu_ns",
					 "cpu_time_ns", "busy_ns", "cpu_busy_ns"};
#define N_CPU_EV (sizeof cpu_events / sizeof cpu_events[0])

static double unit_scale(const char *unit, const char *event)
{
	if (!unit || !*unit || !strcmp(unit, "ns") || !strcmp(unit, "nsec"))
		return 1e-9;
	if (!strcmp(unit, "us") || !strcmp(unit, "usec"))
		return 1e-6;
	if (!strcmp(unit, "ms") || !strcmp(unit, "msec"))
		return 1e-3;
	if (!strcmp(unit, "s") || !strcmp(unit, "sec"))
		return 1;
	if (!strcmp(unit, "ticks") || !strcmp(unit, "jiffies")) {
		long t = sysconf(_SC_CLK_TCK);
		return 1.0 / (double)(t > 0 ? t : 100);
	}
	(void)event;
	return NAN;
}

static bool is_cpu_comp(const char *c)
{
	if (!strcmp(c, "cpu") || !strcmp(c, "system") || !strcmp(c, "all"))
		return true;
	if (strncmp(c, "cpu", 3))
		return false;
	for (const char *p = c + 3; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return c[3] != 0;
}

static int add_prov(struct rp_model *m, const char *comp, const char *ev, const char *src,
		    const char *unit, const char *note, bool null)
{
	src = src ? src : "";
	unit = unit ? unit : "";
	note = note ? note : "";
	for (int i = 0; i < m->nprov; i++) {
		struct rp_prov *p = &m->prov[i];
		if (!strcmp(p->comp, comp) && !strcmp(p->event, ev) && !strcmp(p->source, src) &&
		    !strcmp(p->unit, unit) && !strcmp(p->note, note)) {
			p->n++;
			p->nnull += null;
			return 0;
		}
	}
	struct rp_prov *np = realloc(m->prov, (size_t)(m->nprov + 1) * sizeof *np);
	if (!np)
		return -1;
	m->prov = np;
	struct rp_prov *p = &m->prov[m->nprov++];
	snprintf(p->comp, sizeof p->comp, "%s", comp);
	snprintf(p->event, sizeof p->event, "%s", ev);
	snprintf(p->source, sizeof p->source, "%s", src);
	snprintf(p->unit, sizeof p->unit, "%s", unit);
	snprintf(p->note, sizeof p->note, "%s", note);
	p->n = 1;
	p->nnull = null;
	return 0;
}

/* Does run `run` have counters for the domain of component "DOMAIN/part"
 * (stored as PREFIX DOMAIN: "" locally, "dom0:" for a Xen host's xenstat)? */
static bool has_parent(sqlite3 *db, int64_t run, const char *comp, const char *prefix)
{
	const char *slash = strchr(comp, '/');
	sqlite3_stmt *st;
	char parent[160];
	if (!slash)
		return false;
	snprintf(parent, sizeof parent, "%s%.*s", prefix, (int)(slash - comp), comp);
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM counters WHERE run_id=? AND component=?"
			       " LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, parent, -1, SQLITE_TRANSIENT);
	bool yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/* The receiving side's CPU of a run on real hosts (testbed/hostrun.c):
 * the per-process rows of `lrokit recv` ("receiver", on a Xen guest
 * "domU/receiver") and, on a Xen host, each domain's CPU from dom0's
 * xenstat ("dom0:dom0", "dom0:domU", counted as "dom0", "domU"). Never the
 * sender machine ("sender", "sender:..."), never a host's per-CPU rows
 * ("ROLE:cpuN": perf's cpu-clock there is wall time, idle included), never
 * interfaces or SNMP. *comp is renamed for the xenstat rows. */
static bool host_cpu_comp(sqlite3 *db, const struct rp_run *r, const char **comp)
{
	const char *c = *comp, *colon = strchr(c, ':');
	if (!colon)
		return strcmp(c, "sender") && !is_cpu_comp(c) &&
		       !(strchr(c, '/') && has_parent(db, r->id, c, "dom0:"));
	if (strncmp(c, "dom0:", 5) || strncmp(colon + 1, "dom", 3) || is_cpu_comp(colon + 1))
		return false;
	*comp = colon + 1;
	return true;
}

static int load_counters(sqlite3 *db, struct rp_model *m, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (prep(db, "SELECT component, event, value, unit, source, note FROM counters WHERE run_id "
		     "= ? ORDER BY rowid", &st, e) < 0)
		return -1;
	bool any_dom = false;
	/* first pass: which kind of components exist among ok runs */
	for (int i = 0; i < m->nruns; i++) {
		struct rp_run *r = &m->runs[i];
		if (!r->ok)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, r->id);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *comp = (const char *)sqlite3_column_text(st, 0);
			if (comp && strcmp(comp, "sender") && !is_cpu_comp(comp) && !strchr(comp, ':'))
				any_dom = true;
		}
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(st);
			return dberr(db, e, "reading counters");
		}
	}
	m->per_gb = true;
	for (int i = 0; i < m->nruns; i++)
		if (m->runs[i].ok && m->runs[i].bytes <= 0)
			m->per_gb = false;
	for (int i = 0; i < m->nruns; i++) {
		struct rp_run *r = &m->runs[i];
		if (!r->ok)
			continue;
		double norm = m->per_gb ? (double)r->bytes / 1e9 : 1.0;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, r->id);
		/* per component: best CPU-time event rank and value */
		struct rp_kvs rank = {0};
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *comp = (const char *)sqlite3_column_text(st, 0);
			const char *ev = (const char *)sqlite3_column_text(st, 1);
			const char *unit = (const char *)sqlite3_column_text(st, 3);
			const char *src = (const char *)sqlite3_column_text(st, 4);
			const char *note = (const char *)sqlite3_column_text(st, 5);
			bool null = sqlite3_column_type(st, 2) == SQLITE_NULL;
			double v = sqlite3_column_double(st, 2);
			if (!comp || !ev)
				continue;
			if (add_prov(m, comp, ev, src, unit, note, null) < 0)
				goto oom;
			if (!null && src && !strcmp(src, "stage") && stage_index(comp) >= 0) {
				char key[128];
				snprintf(key, sizeof key, "%s %s", comp, ev);
				if (rp_kvs_add(&r->stagec, key, v) < 0)
					goto oom;
			}
			bool use;
			if (r->tb != RP_TB_EMULATED) {
				use = host_cpu_comp(db, r, &comp);
			} else {
				use = any_dom ? (strcmp(comp, "sender") && !is_cpu_comp(comp))
					      : (is_cpu_comp(comp) && strcmp(comp, "cpu") &&
						 strcmp(comp, "system") && strcmp(comp, "all"));
				/* "dom0/nic" is part of "dom0": when the domain's own (summed)
				 * row exists, count the domain only, never both */
				if (use && strchr(comp, '/') && has_parent(db, r->id, comp, ""))
					use = false;
			}
			if (!use || null)
				continue;
			if (!strcmp(ev, "cycles")) {
				if (rp_kvs_add(&r->cycles, comp, v / norm) < 0)
					goto oom;
				m->have_pmu = true;
			} else if (!strcmp(ev, "instructions")) {
				if (rp_kvs_add(&r->instr, comp, v / norm) < 0)
					goto oom;
				m->have_pmu = true;
			}
			for (size_t k = 0; k < N_CPU_EV; k++) {
				if (strcmp(ev, cpu_events[k]))
					continue;
				double s = v * unit_scale(unit, ev);
				if (isnan(s))
					break;
				struct rp_kv *cur = rp_kvs_find(&rank, comp);
				if (cur && cur->v <= (double)k)
					break; /* a better event already counted */
				if (cur) {
					cur->v = (double)k;
					struct rp_kv *old = rp_kvs_find(&r->cpu_s, comp);
					old->v = s / norm;
				} else {
					if (rp_kvs_add(&rank, comp, (double)k) < 0 ||
					    rp_kvs_add(&r->cpu_s, comp, s / norm) < 0)
						goto oom;
				}
				break;
			}
		}
		if (rc != SQLITE_DONE) {
			rp_kvs_free(&rank);
			sqlite3_finalize(st);
			return dberr(db, e, "reading counters");
		}
		if (r->cpu_s.n) {
			r->cpu_total_s = 0;
			for (size_t k = 0; k < r->cpu_s.n; k++)
				r->cpu_total_s += r->cpu_s.v[k].v;
			size_t o = 0;
			for (size_t k = 0; k < rank.n; k++) {
				const char *evn = cpu_events[(size_t)rank.v[k].v];
				if (strstr(r->cpu_events, evn))
					continue;
				o += (size_t)snprintf(r->cpu_events + o, sizeof r->cpu_events - o, "%s%s",
						      o ? ", " : "", evn);
				if (o >= sizeof r->cpu_events)
					break;
				if (!strstr(m->cpu_events, evn)) {
					size_t l = strlen(m->cpu_events);
					snprintf(m->cpu_events + l, sizeof m->cpu_events - l, "%s%s",
						 l ? ", " : "", evn);
				}
			}
		}
		rp_kvs_free(&rank);
		continue;
oom:
		rp_kvs_free(&rank);
		sqlite3_finalize(st);
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	}
	sqlite3_finalize(st);
	return 0;
}

static int load_lro_stats(sqlite3 *db, struct rp_model *m, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (prep(db, "SELECT stage, value FROM lro_stats WHERE run_id = ? AND key = 'lro_rate' AND "
		     "value IS NOT NULL", &st, e) < 0)
		return -1;
	for (int i = 0; i < m->nruns; i++) {
		struct rp_run *r = &m->runs[i];
		if (!r->ok)
			continue;
		bool fill = isnan(r->lro_rate);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, r->id);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			double v = sqlite3_column_double(st, 1);
			int k = stage_index((const char *)sqlite3_column_text(st, 0));
			if (k >= 0)
				r->lro_stage[k] = v;
			if (fill && (isnan(r->lro_rate) || v > r->lro_rate)) {
				r->lro_rate = v;
				r->lro_src = "lro_stats (largest stage rate)";
			}
		}
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(st);
			return dberr(db, e, "reading lro_stats");
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ---- per-run numbers ---- */
static double per100(const struct rp_capture_summary *c, double count)
{
	return c->mss && c->data_bytes > 0 ? 100.0 * count / (c->data_bytes / c->mss) : NAN;
}

static double ack_class(const struct rp_capture_summary *c, const char *name)
{
	const struct rp_kv *kv = rp_kvs_find(&c->acks, name);
	return kv ? kv->v : NAN;
}

double rp_run_metric(const struct rp_model *m, const struct rp_run *r, enum rp_metric k)
{
	const struct rp_capture_summary *rc = r->rcv_cap >= 0 ? &m->captures[r->rcv_cap] : NULL;
	const struct rp_capture_summary *sc = r->snd_cap >= 0 ? &m->captures[r->snd_cap] : NULL;
	switch (k) {
	case RP_M_GOODPUT: return r->goodput_bps;
	case RP_M_LRO_RUN: return r->lro_rate;
	case RP_M_LRO_NIC: return r->lro_stage[0];
	case RP_M_LRO_NETFRONT: return r->lro_stage[2];
	case RP_M_ACKS100: return rc ? per100(rc, rc->ack_pkts) : NAN;
	case RP_M_QUICK100: return rc ? per100(rc, ack_class(rc, "timing_quick")) : NAN;
	case RP_M_AGGR100: return rc ? per100(rc, ack_class(rc, "timing_aggregate")) : NAN;
	case RP_M_SACK: return rc && rc->nflows ? rc->sack_pkts : NAN;
	case RP_M_SACK100: return rc && rc->nflows ? per100(rc, rc->sack_pkts) : NAN;
	case RP_M_REXMT: return sc && sc->nflows ? sc->rexmt_pkts : NAN;
	case RP_M_CPU_GB: return m->per_gb ? r->cpu_total_s : NAN;
	case RP_M_STAGE_DROPS: return r->stage_drops < 0 ? NAN : (double)r->stage_drops;
	case RP_M_CAPTURE_DROPS: return r->capture_drops < 0 ? NAN : (double)r->capture_drops;
	default: return NAN;
	}
}

double rp_run_domain_cpu(const struct rp_model *m, const struct rp_run *r, const char *dom)
{
	if (!m->per_gb)
		return NAN;
	size_t n = strlen(dom);
	double s = 0;
	bool any = false;
	for (size_t i = 0; i < r->cpu_s.n; i++) {
		const char *c = r->cpu_s.v[i].name;
		if (!strncmp(c, dom, n) && (c[n] == 0 || c[n] == '/')) {
			s += r->cpu_s.v[i].v;
			any = true;
		}
	}
	return any ? s : NAN;
}

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
	*mean = *sd = NAN;
	if (n == 0)
		return;
	double s = 0;
	for (int i = 0; i < n; i++)
		s += v[i];
	*mean = s / n;
	if (n < 2)
		return;
	double q = 0;
	for (int i = 0; i < n; i++)
		q += (v[i] - *mean) * (v[i] - *mean);
	*sd = sqrt(q / (n - 1));
}

static double metric_fn(const struct rp_model *m, const struct rp_run *r, const void *k)
{
	return rp_run_metric(m, r, *(const enum rp_metric *)k);
}

struct rp_stat rp_cfg_stat_fn(const struct rp_model *m, const struct rp_config *c,
			      double (*f)(const struct rp_model *, const struct rp_run *,
					  const void *), const void *arg)
{
	struct rp_stat st = {NAN, NAN, 0};
	double *v = malloc(((size_t)c->n + 1) * sizeof *v);
	if (!v)
		return st;
	for (int j = 0; j < c->n; j++) {
		double x = f(m, &m->runs[c->runs[j]], arg);
		if (!isnan(x))
			v[st.n++] = x;
	}
	mean_sd(v, st.n, &st.mean, &st.sd);
	free(v);
	return st;
}

struct rp_stat rp_cfg_stat(const struct rp_model *m, const struct rp_config *c, enum rp_metric k)
{
	return rp_cfg_stat_fn(m, c, metric_fn, &k);
}

const struct rp_config *rp_find_cfg(const struct rp_model *m, int set, const char *name)
{
	for (int i = 0; i < m->ncfgs; i++)
		if ((set < 0 || m->cfgs[i].set == set) && !strcmp(m->cfgs[i].name, name))
			return &m->cfgs[i];
	return NULL;
}

double rp_hist_median(const double *h, int max)
{
	double n = 0, c = 0;
	for (int b = 1; b <= max; b++)
		n += h[b];
	for (int b = 1; b <= max && n > 0; b++)
		if ((c += h[b]) >= n / 2)
			return b;
	return NAN;
}

double rp_hist_mean(const double *h, int max)
{
	double n = 0, s = 0;
	for (int b = 1; b <= max; b++) {
		n += h[b];
		s += b * h[b];
	}
	return n > 0 ? s / n : NAN;
}

/* ---- configurations: the ok runs of one configuration in one set ---- */
static int cmp_cfg(const void *a, const void *b)
{
	const struct rp_config *x = a, *y = b;
	if (x->set != y->set)
		return x->set - y->set;
	int rx = config_rank(x->name), ry = config_rank(y->name);
	return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

static int group_runs(struct rp_model *m, struct lk_err *e)
{
	for (int i = 0; i < m->nruns; i++) {
		struct rp_run *r = &m->runs[i];
		if (!r->ok)
			continue;
		int k;
		for (k = 0; k < m->ncfgs; k++)
			if (m->cfgs[k].set == r->set && !strcmp(m->cfgs[k].name, r->config))
				break;
		if (k == m->ncfgs) {
			struct rp_config *nc = realloc(m->cfgs, (size_t)(m->ncfgs + 1) * sizeof *nc);
			if (!nc)
				return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
			m->cfgs = nc;
			memset(&m->cfgs[k], 0, sizeof m->cfgs[k]);
			m->cfgs[k].name = r->config;
			m->cfgs[k].set = r->set;
			const struct lk_config *kc = lk_config_find(r->config);
			m->cfgs[k].paper = kc ? kc->paper : NULL;
			m->ncfgs++;
		}
		struct rp_config *c = &m->cfgs[k];
		int *nr = realloc(c->runs, (size_t)(c->n + 1) * sizeof *nr);
		if (!nr)
			return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
		c->runs = nr;
		c->runs[c->n++] = i;
	}
	if (m->ncfgs)
		qsort(m->cfgs, (size_t)m->ncfgs, sizeof *m->cfgs, cmp_cfg);
	return 0;
}

/* Representative run: median goodput (the first run without goodput),
 * preferring one with a receiver capture. */
static int representative(const struct rp_model *m, const struct rp_config *c)
{
	double *w = malloc(((size_t)c->n + 1) * sizeof *w);
	int n = 0, rep = c->runs[0];
	for (int j = 0; w && j < c->n; j++)
		if (!isnan(m->runs[c->runs[j]].goodput_bps))
			w[n++] = m->runs[c->runs[j]].goodput_bps;
	if (n > 0) {
		qsort(w, (size_t)n, sizeof *w, cmp_dbl);
		for (int j = 0; j < c->n; j++)
			if (m->runs[c->runs[j]].goodput_bps == w[(n - 1) / 2]) {
				rep = c->runs[j];
				break;
			}
	}
	free(w);
	if (m->runs[rep].rcv_cap < 0)
		for (int j = 0; j < c->n; j++)
			if (m->runs[c->runs[j]].rcv_cap >= 0)
				return c->runs[j];
	return rep;
}

static void count_drops(const struct rp_model *m, struct rp_config *c)
{
	for (int j = 0; j < c->n; j++) {
		const struct rp_run *r = &m->runs[c->runs[j]];
		if (r->capture_drops >= 0) {
			c->n_drops++;
			c->drops += (double)r->capture_drops;
			c->n_dropped += r->capture_drops > 0;
		}
		if (r->stage_drops >= 0) {
			c->n_sdrops++;
			c->sdrops += (double)r->stage_drops;
			c->n_sdropped += r->stage_drops > 0;
		}
		for (int s = 0; r->hist && s < RP_NSTAGES; s++) {
			if (!r->hist->have[s])
				continue;
			c->hist.have[s] = true;
			for (int b = 0; b <= RP_FPP_MAX; b++)
				c->hist.fpp[s][b] += r->hist->fpp[s][b];
			for (int b = 0; b <= RP_SPA_MAX; b++)
				c->hist.spa[s][b] += r->hist->spa[s][b];
		}
	}
}

static int build_configs(struct rp_model *m, struct lk_err *e)
{
	if (group_runs(m, e) < 0)
		return -1;
	for (int k = 0; k < m->ncfgs; k++) {
		struct rp_config *c = &m->cfgs[k];
		const struct rp_set *t = c->set >= 0 ? &m->sets[c->set] : NULL;
		if (t && t->tb != RP_TB_EMULATED) /* "native-gro (hosts S -> R)" */
			snprintf(c->label, sizeof c->label, *t->rest ? "%s (%.150s) [%.60s]" : "%s (%.150s)",
				 c->name, t->testbed, t->rest);
		else if (t && *t->label) /* "xen [emulated]", "xen [profile paper]" */
			snprintf(c->label, sizeof c->label, "%s [%.200s]", c->name, t->label);
		else
			snprintf(c->label, sizeof c->label, "%s", c->name);
		struct rp_stat st = rp_cfg_stat(m, c, RP_M_GOODPUT);
		c->n_gp = st.n, c->gp_mean = st.mean, c->gp_sd = st.sd;
		st = rp_cfg_stat(m, c, RP_M_LRO_RUN);
		c->n_lro = st.n, c->lro_mean = st.mean, c->lro_sd = st.sd;
		st = rp_cfg_stat(m, c, RP_M_CPU_GB);
		c->n_cpu = st.n, c->cpu_per_gb = st.mean;
		st = rp_cfg_stat(m, c, RP_M_ACKS100);
		c->n_acks = st.n, c->acks_per100 = st.mean;
		st = rp_cfg_stat(m, c, RP_M_SACK);
		c->n_sack = st.n, c->sack = st.mean;
		st = rp_cfg_stat(m, c, RP_M_REXMT);
		c->n_rexmt = st.n, c->rexmt = st.mean;
		c->rep = representative(m, c);
		count_drops(m, c);
	}
	return 0;
}

static int add_panel_acks(struct rp_panel *p, const struct rp_capture_summary *c, struct lk_err *e)
{
	for (size_t i = 0; i < c->acks.n; i++)
		if (rp_kvs_add(&p->acks, c->acks.v[i].name, c->acks.v[i].v) < 0)
			return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	if (c->mss && c->data_bytes > 0)
		p->segs += c->data_bytes / c->mss;
	else
		p->segs = NAN;
	struct rp_kv *cl = rp_kvs_find(&c->acks, "classified");
	p->classified += cl ? cl->v : c->ack_pkts;
	return 0;
}

static int build_panels(struct rp_model *m, struct lk_err *e)
{
	int n = m->runs_mode ? m->ncfgs : m->n_captures;
	m->panels = calloc((size_t)n + 1, sizeof *m->panels);
	if (!m->panels)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	for (int i = 0; i < n; i++) {
		struct rp_panel *p = &m->panels[m->npanels];
		p->cap = p->bcap = p->cfg = -1;
		if (m->runs_mode) {
			struct rp_config *c = &m->cfgs[i];
			const struct rp_run *r = &m->runs[c->rep];
			p->cfg = i;
			p->cap = r->rcv_cap;
			/* figure 4: the rep run's capture with bandwidth estimates */
			if (r->snd_cap >= 0 && m->captures[r->snd_cap].bwe_flow)
				p->bcap = r->snd_cap;
			else
				for (int k = 0; k < m->n_captures; k++)
					if (m->captures[k].run_id == r->id && m->captures[k].bwe_flow) {
						p->bcap = k;
						break;
					}
			snprintf(p->label, sizeof p->label, "%s", c->label);
			for (int j = 0; j < c->n; j++) {
				const struct rp_run *rr = &m->runs[c->runs[j]];
				if (rr->rcv_cap >= 0 && add_panel_acks(p, &m->captures[rr->rcv_cap], e) < 0)
					return -1;
			}
		} else {
			p->cap = p->bcap = i;
			snprintf(p->label, sizeof p->label, "%s", m->captures[i].label);
			if (add_panel_acks(p, &m->captures[i], e) < 0)
				return -1;
		}
		m->npanels++;
	}
	return 0;
}

/* A run made under time dilation k (model time.dilation > 1) moved its
 * bytes k times slower than the system it models: the report shows its
 * goodput in modelled time (x k), so that runs and the paper's figures
 * compare. Everything per byte (CPU per GB, ACKs per segment) needs no
 * change. */
static void modelled_time(struct rp_model *m)
{
	for (int i = 0; i < m->nruns; i++) {
		struct rp_run *r = &m->runs[i];
		const struct rp_kv *k = rp_kvs_find(&r->model, "time.dilation");
		if (k && k->v > 1 && !isnan(r->goodput_bps))
			r->goodput_bps *= k->v;
	}
}

int rp_model_load(sqlite3 *db, const struct lk_report_opts *o, struct rp_model *m,
		  struct lk_err *e)
{
	memset(m, 0, sizeof *m);
	if (load_runs(db, o, m, e) < 0 || load_captures(db, m, e) < 0 ||
	    load_counters(db, m, e) < 0 || load_lro_stats(db, m, e) < 0 ||
	    load_model_hist(db, m, e) < 0 || (modelled_time(m), false) || build_sets(m, e) < 0 ||
	    build_configs(m, e) < 0 || build_panels(m, e) < 0)
		return -1;
	return 0;
}

void rp_model_free(struct rp_model *m)
{
	for (int i = 0; i < m->nruns; i++) {
		struct rp_run *r = &m->runs[i];
		free(r->config);
		free(r->status);
		free(r->bench_id);
		free(r->cmdline);
		free(r->tool_version);
		free(r->kernel);
		free(r->hostname);
		free(r->cpu_model);
		free(r->offloads);
		free(r->params);
		free(r->error);
		free(r->profile);
		free(r->sweep_key);
		free(r->hist);
		rp_kvs_free(&r->model);
		rp_kvs_free(&r->stagec);
		rp_kvs_free(&r->cycles);
		rp_kvs_free(&r->instr);
		rp_kvs_free(&r->cpu_s);
	}
	free(m->runs);
	for (int i = 0; i < m->n_captures; i++) {
		free(m->captures[i].path);
		rp_kvs_free(&m->captures[i].acks);
	}
	free(m->captures);
	for (int i = 0; i < m->ncfgs; i++)
		free(m->cfgs[i].runs);
	free(m->cfgs);
	for (int i = 0; i < m->nsets; i++)
		free(m->sets[i].key);
	free(m->sets);
	for (int i = 0; i < m->npanels; i++) {
		rp_kvs_free(&m->panels[i].acks);
		free(m->panels[i].scan.data);
		free(m->panels[i].scan.acks);
	}
	free(m->panels);
	free(m->prov);
	memset(m, 0, sizeof *m);
}

/* ---- one pass over the packets of the panels' captures ---- */
struct fdir {
	int64_t flow_id;
	int data_dir;
};

static int cmp_fdir(const void *a, const void *b)
{
	const struct fdir *x = a, *y = b;
	return x->flow_id < y->flow_id ? -1 : x->flow_id > y->flow_id;
}

static int64_t nice_width(int64_t span_ns, int target)
{
	int64_t raw = span_ns / target;
	int64_t w = 1000000; /* at least 1 ms */
	static const int steps[] = {1, 2, 5};
	for (int64_t dec = 1000000; dec < INT64_MAX / 10; dec *= 10) {
		for (int i = 0; i < 3; i++) {
			w = dec * steps[i];
			if (w >= raw)
				return w;
		}
	}
	return w;
}

int rp_scan_packets(sqlite3 *db, struct rp_model *m, unsigned max_panels, struct lk_err *e)
{
	/* panel index per capture index */
	int *pan = malloc(((size_t)m->n_captures + 1) * sizeof *pan);
	if (!pan)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	for (int i = 0; i < m->n_captures; i++)
		pan[i] = -1;
	char *in = malloc((size_t)m->npanels * 24 + 64);
	struct fdir *fd = NULL;
	size_t nfd = 0, capfd = 0;
	size_t o = 0;
	int used = 0, rc = -1;
	sqlite3_stmt *st = NULL;
	if (!in)
		goto oom;
	in[0] = 0;
	for (int i = 0; i < m->npanels && (unsigned)used < max_panels; i++) {
		struct rp_panel *p = &m->panels[i];
		if (p->cap < 0)
			continue;
		const struct rp_capture_summary *c = &m->captures[p->cap];
		if (pan[p->cap] >= 0 || c->last_ns <= c->first_ns)
			continue;
		pan[p->cap] = i;
		used++;
		struct rp_scan *s = &p->scan;
		s->t0_ns = c->first_ns;
		s->width_ns = nice_width(c->last_ns - c->first_ns, 200);
		s->nbins = (int)((c->last_ns - c->first_ns) / s->width_ns) + 1;
		s->data = calloc((size_t)s->nbins, sizeof *s->data);
		s->acks = calloc((size_t)s->nbins, sizeof *s->acks);
		if (!s->data || !s->acks)
			goto oom;
		s->done = true;
		o += (size_t)sprintf(in + o, "%s%lld", o ? "," : "", (long long)c->id);
	}
	if (!used) {
		rc = 0;
		goto out;
	}
	/* data direction of every flow of those captures */
	char *q = sqlite3_mprintf("SELECT flow_id, CASE WHEN a2b_unique_bytes >= b2a_unique_bytes "
				  "THEN 0 ELSE 1 END FROM flows WHERE capture_id IN (%s) AND "
				  "(a2b_unique_bytes > 0 OR b2a_unique_bytes > 0)", in);
	if (!q)
		goto oom;
	int prc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
	sqlite3_free(q);
	if (prc != SQLITE_OK) {
		dberr(db, e, "reading flows");
		goto out;
	}
	while ((prc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nfd == capfd) {
			capfd = capfd ? capfd * 2 : 64;
			struct fdir *n = realloc(fd, capfd * sizeof *n);
			if (!n)
				goto oom;
			fd = n;
		}
		fd[nfd].flow_id = sqlite3_column_int64(st, 0);
		fd[nfd++].data_dir = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (prc != SQLITE_DONE) {
		dberr(db, e, "reading flows");
		goto out;
	}
	if (!nfd) {
		rc = 0; /* no flow carries data */
		goto out;
	}
	qsort(fd, nfd, sizeof *fd, cmp_fdir);
	q = sqlite3_mprintf("SELECT capture_id, flow_id, ts_ns, dir, len, flags FROM packets WHERE "
			    "capture_id IN (%s)", in);
	if (!q)
		goto oom;
	prc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
	sqlite3_free(q);
	if (prc != SQLITE_OK) {
		dberr(db, e, "reading packets");
		goto out;
	}
	int lastcap = -1;
	int64_t lastcid = -1;
	while ((prc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t cid = sqlite3_column_int64(st, 0);
		if (cid != lastcid) {
			lastcid = cid;
			lastcap = -1;
			for (int i = 0; i < m->n_captures; i++)
				if (m->captures[i].id == cid) {
					lastcap = i;
					break;
				}
		}
		if (lastcap < 0 || pan[lastcap] < 0)
			continue;
		struct fdir key = {.flow_id = sqlite3_column_int64(st, 1)};
		struct fdir *f = bsearch(&key, fd, nfd, sizeof *fd, cmp_fdir);
		if (!f)
			continue; /* a flow without data */
		struct rp_panel *p = &m->panels[pan[lastcap]];
		struct rp_scan *s = &p->scan;
		int64_t ts = sqlite3_column_int64(st, 2);
		int dir = sqlite3_column_int(st, 3);
		int64_t len = sqlite3_column_int64(st, 4);
		int flags = sqlite3_column_int(st, 5);
		int64_t b = (ts - s->t0_ns) / s->width_ns;
		if (b < 0)
			b = 0;
		if (b >= s->nbins)
			b = s->nbins - 1;
		if (dir == f->data_dir && len > 0) {
			s->data[b] += 1;
			uint32_t mss = m->captures[lastcap].mss;
			if (mss) {
				int64_t k = (len + mss - 1) / mss;
				s->hist[k > RP_HIST ? RP_HIST : k] += 1;
				s->hist_n += 1;
			}
		} else if (dir != f->data_dir && (flags & 0x10)) {
			s->acks[b] += 1;
		}
	}
	if (prc != SQLITE_DONE) {
		dberr(db, e, "reading packets");
		goto out;
	}
	rc = 0;
	goto out;
oom:
	lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
out:
	sqlite3_finalize(st);
	free(fd);
	free(in);
	free(pan);
	return rc;
}
