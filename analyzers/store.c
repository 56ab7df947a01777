/* analyzers/store.c - one capture's ingest transaction, packets rows written
 * by a second thread. See store.h. */
#include "analyzers/store.h"
#include "lib/handoff.h"
#include "lib/mem.h"
#include "lib/version.h"
#include "schema/db.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rows per multi-row INSERT and per batch handed to the writer: one
 * statement step inserts ROWS rows (the statement machinery runs once per
 * batch), and the parser and the writer meet once per batch. */
#define ROWS 256
#define NBATCH 16 /* batches in the queue */
#define PCOLS 11  /* bound columns of a packets row (capture_id is in the SQL) */

struct prow {
	uint64_t ts;
	uint64_t flow_idx;
	uint32_t seq, ack, len, tsval, tsecr;
	uint16_t win;
	uint8_t dir, flags, has_ts, n_sack;
	uint32_t sack[LK_MAX_SACK][2];
};

struct batch {
	unsigned n;
	struct prow r[ROWS];
};

struct lk_store {
	sqlite3 *db;
	const struct lk_analysis *res;   /* path, dlt, snaplen (read by the writer at the start) */
	const struct lk_analyze_opts *o;
	struct lk_gate *gate;
	bool gate_abort;                 /* under gate->mu: stop waiting for it */
	/* the writer's */
	sqlite3_stmt *ins1, *insn;
	struct bound *bound;             /* [ROWS]: insn's rows, allocated with it */
	int64_t capture_id, flow_base;
	bool began;                      /* the transaction is open */
	struct lk_err werr;
	/* the queue: the parser fills batch `cur`, the writer takes them */
	pthread_t th;
	bool started;
	struct lk_handoff ho;
	struct batch *b[NBATCH];         /* allocated when first used */
	int cur;                         /* the parser's batch, -1: the writer stopped */
	bool failed;
};

int lk_gate_init(struct lk_gate *g, unsigned n)
{
	g->n = n;
	g->turn = 0;
	g->done = calloc(n ? n : 1, sizeof *g->done);
	if (!g->done)
		return -1;
	if (pthread_mutex_init(&g->mu, NULL) != 0) {
		free(g->done);
		return -1;
	}
	if (pthread_cond_init(&g->cv, NULL) != 0) {
		pthread_mutex_destroy(&g->mu);
		free(g->done);
		return -1;
	}
	return 0;
}

void lk_gate_done(struct lk_gate *g, unsigned ticket)
{
	pthread_mutex_lock(&g->mu);
	if (ticket < g->n)
		g->done[ticket] = true;
	while (g->turn < g->n && g->done[g->turn])
		g->turn++;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

void lk_gate_destroy(struct lk_gate *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g->done);
}

/* The writer waits for its turn; false: told to stop. */
static bool gate_take(struct lk_store *s)
{
	if (!s->gate)
		return true;
	pthread_mutex_lock(&s->gate->mu);
	while (s->gate->turn != s->o->ticket && !s->gate_abort)
		pthread_cond_wait(&s->gate->cv, &s->gate->mu);
	bool ok = !s->gate_abort;
	pthread_mutex_unlock(&s->gate->mu);
	return ok;
}

/* The ingest is over (committed, rolled back, or never begun). */
static void gate_give(struct lk_store *s)
{
	if (s->gate)
		lk_gate_done(s->gate, s->o->ticket);
}

/* A failed SQLite call of the ingest of capture path: the database file and
 * what is wrong with it (lk_db_fail: full disk, read-only, locked...), and
 * that nothing of the capture was kept (the one transaction rolls back). */
static int sqlerr(struct lk_err *e, sqlite3 *db, const char *path, const char *what)
{
	char ctx[4200];
	snprintf(ctx, sizeof ctx, "%s not stored (while %s; nothing of it kept)", path, what);
	return lk_db_fail(e, db, NULL, ctx);
}

static int exec(sqlite3 *db, const char *sql, const char *path, const char *what, struct lk_err *e)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : sqlerr(e, db, path, what);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int prepare(struct lk_store *s, int rows, sqlite3_stmt **st, struct lk_err *e);

/* BEGIN, the provisional captures row (sha256 and totals come at the end),
 * the first free flow_id, the one-row packets statement. On the writer
 * thread. */
static int begin(struct lk_store *s, struct lk_err *e)
{
	sqlite3 *db = s->db;
	const char *path = s->res->path;
	const struct lk_analyze_opts *o = s->o;
	if (exec(db, "BEGIN IMMEDIATE", path, "taking the write lock", e) < 0)
		return -1;
	s->began = true;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
		"INSERT INTO captures(run_id, point, path, sha256, linktype, snaplen, packets,"
		" tcp_packets, drops, ingested_ns, tool_version)"
		" VALUES (?, ?, ?, 'pending:' || hex(randomblob(16)), ?, ?, 0, 0, ?, ?, ?)",
		-1, &st, NULL) != SQLITE_OK)
		return sqlerr(e, db, path, "preparing the capture row");
	if (o->run_id > 0)
		sqlite3_bind_int64(st, 1, o->run_id);
	sqlite3_bind_text(st, 2, o->point ? o->point : "file", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, s->res->dlt);
	sqlite3_bind_int64(st, 5, s->res->snaplen);
	if (o->drops >= 0)
		sqlite3_bind_int64(st, 6, o->drops);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)now_ns());
	sqlite3_bind_text(st, 8, lk_version, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlerr(e, db, path, "inserting the capture row");
	s->capture_id = sqlite3_last_insert_rowid(db);
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(flow_id), 0) + 1 FROM flows", -1, &st,
			       NULL) != SQLITE_OK)
		return sqlerr(e, db, path, "reading the flow ids");
	rc = sqlite3_step(st);
	s->flow_base = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sqlerr(e, db, path, "reading the flow ids");
	return prepare(s, 1, &s->ins1, e);
}

/* The packets INSERT of `rows` rows (capture_id in the SQL text).
 *
 * OR FAIL: a multi-row INSERT whose NOT NULL checks abort the statement
 * needs a statement journal, into which SQLite copies every page the
 * statement touches first (a 64 KiB page each, spilled to a temporary
 * file): about as many bytes again as the rows themselves. With FAIL no
 * statement is undone on its own; nothing is lost by that, since every
 * column checked is always bound and any failed statement makes the whole
 * capture's transaction roll back (lk_store_end, lk_store_abort). */
static int prepare(struct lk_store *s, int rows, sqlite3_stmt **st, struct lk_err *e)
{
	static const char head[] = "INSERT OR FAIL INTO packets(capture_id, flow_id, ts_ns, dir, seq, ack,"
				    " len, flags, win, tsval, tsecr, sack) VALUES ";
	char one[64];
	snprintf(one, sizeof one, "(%lld,?,?,?,?,?,?,?,?,?,?,?)", (long long)s->capture_id);
	size_t cap = sizeof head + (size_t)rows * (strlen(one) + 1);
	char *sql = malloc(cap);
	if (!sql)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", s->res->path);
	size_t n = (size_t)snprintf(sql, cap, "%s%s", head, one);
	for (int i = 1; i < rows; i++)
		n += (size_t)snprintf(sql + n, cap - n, ",%s", one);
	int rc = sqlite3_prepare_v2(s->db, sql, (int)n, st, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return sqlerr(e, s->db, s->res->path, "preparing the packet insert");
	return 0;
}

/* What a row of the ROWS-row statement has bound now. sqlite3_reset keeps
 * the bindings, and from one batch to the next many columns of a row hold
 * the same value (the flow, the direction, the flags, the length, the
 * sender's ack or the receiver's seq in a bulk transfer...): only the
 * columns that changed are bound again. */
enum { B_UNSET = 0, B_INT, B_NULL, B_TEXT };
struct bound {
	int64_t v[PCOLS];
	uint8_t kind[PCOLS];
};

/* Column i (0-based) of the row whose first parameter is c + 1. */
static inline void bind_i(sqlite3_stmt *st, int c, struct bound *bd, int i, int64_t v)
{
	if (bd) {
		if (bd->kind[i] == B_INT && bd->v[i] == v)
			return;
		bd->kind[i] = B_INT;
		bd->v[i] = v;
	}
	sqlite3_bind_int64(st, c + i + 1, v);
}

static inline void bind_n(sqlite3_stmt *st, int c, struct bound *bd, int i)
{
	if (bd) {
		if (bd->kind[i] == B_NULL)
			return;
		bd->kind[i] = B_NULL;
	}
	sqlite3_bind_null(st, c + i + 1);
}

/* Bind row r as the k-th row of st; bd: what that row has bound (NULL: not
 * tracked, bind every column). */
static void bind_row(const struct lk_store *s, sqlite3_stmt *st, int k, const struct prow *r,
		     struct bound *bd)
{
	int c = k * PCOLS;
	bind_i(st, c, bd, 0, s->flow_base + (int64_t)r->flow_idx);
	bind_i(st, c, bd, 1, (sqlite3_int64)r->ts);
	bind_i(st, c, bd, 2, r->dir);
	bind_i(st, c, bd, 3, r->seq);
	bind_i(st, c, bd, 4, r->ack);
	bind_i(st, c, bd, 5, r->len);
	bind_i(st, c, bd, 6, r->flags);
	bind_i(st, c, bd, 7, r->win);
	if (r->has_ts) {
		bind_i(st, c, bd, 8, r->tsval);
		bind_i(st, c, bd, 9, r->tsecr);
	} else {
		bind_n(st, c, bd, 8);
		bind_n(st, c, bd, 9);
	}
	if (r->n_sack) {
		/* "left-right ..." (raw sequence numbers) */
		char t[LK_MAX_SACK * 24];
		size_t o = 0;
		for (unsigned i = 0; i < r->n_sack; i++)
			o += (size_t)snprintf(t + o, sizeof t - o, "%s%u-%u", i ? " " : "", r->sack[i][0],
					      r->sack[i][1]);
		if (bd)
			bd->kind[10] = B_TEXT;
		sqlite3_bind_text(st, c + 11, t, (int)o, SQLITE_TRANSIENT);
	} else {
		bind_n(st, c, bd, 10);
	}
}

/* A batch: full ones in one statement, the last one row by row. */
static int write_batch(struct lk_store *s, const struct batch *b, struct lk_err *e)
{
	int rc = SQLITE_DONE;
	/* the 256-row statement when first needed: small captures never are */
	if (b->n == ROWS && !s->insn) {
		if (!s->bound)
			s->bound = calloc(ROWS, sizeof *s->bound); /* all B_UNSET */
		if (!s->bound)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", s->res->path);
		if (prepare(s, ROWS, &s->insn, e) < 0)
			return -1;
	}
	if (b->n == ROWS) {
		for (unsigned k = 0; k < ROWS; k++)
			bind_row(s, s->insn, (int)k, &b->r[k], &s->bound[k]);
		rc = sqlite3_step(s->insn);
		sqlite3_reset(s->insn);
	} else {
		for (unsigned k = 0; k < b->n && rc == SQLITE_DONE; k++) {
			bind_row(s, s->ins1, 0, &b->r[k], NULL);
			rc = sqlite3_step(s->ins1);
			sqlite3_reset(s->ins1);
		}
	}
	if (rc != SQLITE_DONE)
		return sqlerr(e, s->db, s->res->path, "inserting packets");
	return 0;
}

static void *writer(void *c)
{
	struct lk_store *s = c;
	int rc = gate_take(s) ? begin(s, &s->werr) : -1, i;
	while (rc == 0 && (i = lk_handoff_take(&s->ho)) >= 0)
		rc = write_batch(s, s->b[i], &s->werr);
	if (rc < 0) {
		s->failed = true; /* read by the parser after claim fails or the join */
		lk_handoff_stop(&s->ho);
	}
	return NULL;
}

int lk_store_begin(const struct lk_analysis *res, const struct lk_analyze_opts *o,
		   struct lk_store **out, struct lk_err *e)
{
	*out = NULL;
	/* lines of their own (lib/mem.h): the parser writes its batch for
	 * every packet while the writer works beside it */
	struct lk_store *s = lk_zalloc_lines(sizeof *s);
	if (s)
		s->b[0] = lk_zalloc_lines(sizeof *s->b[0]);
	if (!s || !s->b[0]) {
		free(s);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", res->path);
	}
	s->db = o->db;
	s->res = res;
	s->o = o;
	s->gate = o->gate;
	if (lk_handoff_init(&s->ho, NBATCH) != 0) {
		free(s->b[0]);
		free(s);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot start the database writer", res->path);
	}
	s->cur = lk_handoff_claim(&s->ho); /* slot 0: free */
	s->b[0]->n = 0;
	if (pthread_create(&s->th, NULL, writer, s) != 0) {
		lk_handoff_destroy(&s->ho);
		free(s->b[0]);
		free(s);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot start the database writer", res->path);
	}
	s->started = true;
	*out = s;
	return 0;
}

/* Hand the current batch to the writer and wait for a free one. */
static int hand_over(struct lk_store *s, struct lk_err *e)
{
	lk_handoff_fill(&s->ho, false);
	s->cur = lk_handoff_claim(&s->ho);
	if (s->cur < 0) /* the writer stopped: it failed */
		return lk_errf(e, LK_EXIT_RUNTIME, "%s", s->werr.msg);
	if (!s->b[s->cur] && !(s->b[s->cur] = lk_zalloc_lines(sizeof *s->b[s->cur]))) {
		lk_handoff_close(&s->ho);
		s->cur = -1;
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", s->res->path);
	}
	s->b[s->cur]->n = 0;
	return 0;
}

int lk_store_packet(struct lk_store *s, const struct lk_flow *f, int dir, const struct lk_pkt *p,
		    uint64_t ts, struct lk_err *e)
{
	if (s->o->no_packets)
		return 0;
	struct batch *b = s->b[s->cur];
	struct prow *r = &b->r[b->n++];
	r->ts = ts;
	r->flow_idx = f->idx;
	r->dir = (uint8_t)dir;
	r->seq = p->seq;
	r->ack = p->ack;
	r->len = p->payload_len;
	r->flags = p->flags;
	r->win = p->win;
	r->has_ts = p->opt.has_ts;
	r->tsval = p->opt.tsval;
	r->tsecr = p->opt.tsecr;
	r->n_sack = p->opt.n_sack;
	if (r->n_sack)
		memcpy(r->sack, p->opt.sack, sizeof r->sack);
	return b->n == ROWS ? hand_over(s, e) : 0;
}

/* Stop the writer (after the last batch, or at once) and reap it. */
static void stop_writer(struct lk_store *s, bool abort)
{
	if (!s->started)
		return;
	/* aborting: a writer still waiting for its turn gives up; one that
	 * has begun writes the few batches queued, then all is rolled back */
	if (abort && s->gate) {
		pthread_mutex_lock(&s->gate->mu);
		s->gate_abort = true;
		pthread_cond_broadcast(&s->gate->cv);
		pthread_mutex_unlock(&s->gate->mu);
	}
	if (!abort && s->cur >= 0 && s->b[s->cur]->n) /* the last, partial batch */
		lk_handoff_fill(&s->ho, true);
	else
		lk_handoff_close(&s->ho);
	pthread_join(s->th, NULL);
	lk_handoff_destroy(&s->ho);
	s->started = false;
}

static void store_free(struct lk_store *s)
{
	sqlite3_finalize(s->ins1);
	sqlite3_finalize(s->insn);
	free(s->bound);
	gate_give(s);
	for (int i = 0; i < NBATCH; i++)
		free(s->b[i]);
	free(s);
}

void lk_store_abort(struct lk_store *s)
{
	if (!s)
		return;
	stop_writer(s, true);
	if (s->began)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	store_free(s);
}

static void fmt_addr(char *buf, size_t n, int af, const uint8_t *a)
{
	if (!inet_ntop(af == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
}

/* Every connection with both directions' counters. */
static int store_flows(struct lk_store *s, const struct lk_analysis *res, struct lk_err *e)
{
	sqlite3 *db = s->db;
	char sql[8192];
	size_t o = (size_t)snprintf(sql, sizeof sql, "INSERT INTO flows(flow_id, capture_id, idx,"
				    " af, a_addr, a_port, b_addr, b_port, first_ns, last_ns");
	for (int d = 0; d < 2; d++)
		for (unsigned i = 0; i < lk_n_dir_counters; i++)
			o += (size_t)snprintf(sql + o, sizeof sql - o, ", %s%s", d ? "b2a_" : "a2b_",
					      lk_dir_counters[i].name);
	o += (size_t)snprintf(sql + o, sizeof sql - o, ") VALUES (?,?,?,?,?,?,?,?,?,?");
	for (unsigned i = 0; i < 2 * lk_n_dir_counters; i++)
		o += (size_t)snprintf(sql + o, sizeof sql - o, ",?");
	snprintf(sql + o, sizeof sql - o, ")");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return sqlerr(e, db, res->path, "preparing the flow insert");
	size_t n = lk_flowtab_count(res->flows);
	for (size_t k = 0; k < n; k++) {
		struct lk_flow *f = lk_flowtab_get(res->flows, k);
		char a[64], b[64];
		fmt_addr(a, sizeof a, f->af, f->addr[0]);
		fmt_addr(b, sizeof b, f->af, f->addr[1]);
		int col = 1;
		sqlite3_bind_int64(st, col++, f->user_id);
		sqlite3_bind_int64(st, col++, s->capture_id);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)f->idx);
		sqlite3_bind_int(st, col++, f->af);
		sqlite3_bind_text(st, col++, a, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, col++, f->port[0]);
		sqlite3_bind_text(st, col++, b, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, col++, f->port[1]);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)f->first_ns);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)f->last_ns);
		for (int d = 0; d < 2; d++)
			for (unsigned i = 0; i < lk_n_dir_counters; i++)
				sqlite3_bind_int64(st, col++,
					(sqlite3_int64)lk_counter_get(&f->d[d], &lk_dir_counters[i]));
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(st);
			return sqlerr(e, db, res->path, "inserting a flow");
		}
	}
	sqlite3_finalize(st);
	return 0;
}

/* The capture's totals: records, segments, what was skipped and why. */
static int store_totals(struct lk_store *s, const struct lk_analysis *res, struct lk_err *e)
{
	char skipped[1024];
	size_t o = (size_t)snprintf(skipped, sizeof skipped, "{");
	for (int i = 1; i < LK_DEC__COUNT; i++)
		if (res->skipped[i])
			o += (size_t)snprintf(skipped + o, sizeof skipped - o, "%s\"%s\":%llu",
					      o > 1 ? "," : "", lk_dec_status_name((enum lk_dec_status)i),
					      (unsigned long long)res->skipped[i]);
	if (res->bad_tcpopt)
		o += (size_t)snprintf(skipped + o, sizeof skipped - o,
				      "%s\"malformed TCP options (analyzed)\":%llu", o > 1 ? "," : "",
				      (unsigned long long)res->bad_tcpopt);
	snprintf(skipped + o, sizeof skipped - o, "}");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
		"UPDATE captures SET sha256=?, packets=?, tcp_packets=?, skipped=?, truncated_tail=?,"
		" first_ns=?, last_ns=? WHERE capture_id=?", -1, &st, NULL) != SQLITE_OK)
		return sqlerr(e, s->db, res->path, "preparing the capture totals");
	sqlite3_bind_text(st, 1, res->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)res->records);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)res->tcp_packets);
	sqlite3_bind_text(st, 4, skipped, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, res->truncated_tail);
	if (res->records) {
		sqlite3_bind_int64(st, 6, (sqlite3_int64)res->first_ns);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)res->last_ns);
	}
	sqlite3_bind_int64(st, 8, s->capture_id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlerr(e, s->db, res->path, "storing the capture totals");
	return 0;
}

/* Already stored (same SHA-256)? 1 yes (res->duplicate_of set), 0 no. */
static int duplicate(struct lk_store *s, struct lk_analysis *res, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT capture_id FROM captures WHERE sha256=?", -1, &st,
			       NULL) != SQLITE_OK)
		return sqlerr(e, s->db, res->path, "checking for a duplicate");
	sqlite3_bind_text(st, 1, res->sha256, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		res->duplicate_of = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return res->duplicate_of > 0;
}

static int finish_observers(const struct lk_analyze_opts *o, const struct lk_flowtab *t,
			    sqlite3 *db, struct lk_err *e)
{
	for (unsigned i = 0; i < o->n_observers; i++)
		if (o->observers[i].finish && o->observers[i].finish(o->observers[i].ctx, t, db, e) < 0)
			return -1;
	return 0;
}

int lk_store_end(struct lk_store *s, struct lk_analysis *res, const struct lk_analyze_opts *o,
		 struct lk_err *e)
{
	stop_writer(s, false);
	if (s->failed) {
		*e = s->werr;
		lk_store_abort(s);
		return -1;
	}
	/* the flow ids the rows were written with */
	size_t n = lk_flowtab_count(res->flows);
	for (size_t k = 0; k < n; k++) {
		struct lk_flow *f = lk_flowtab_get(res->flows, k);
		f->user_id = s->flow_base + (int64_t)f->idx;
	}
	int dup = duplicate(s, res, e);
	if (dup < 0)
		goto fail;
	if (dup) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		s->began = false;
		res->capture_id = 0;
		for (size_t k = 0; k < n; k++)
			lk_flowtab_get(res->flows, k)->user_id = 0;
		store_free(s);
		return finish_observers(o, res->flows, NULL, e);
	}
	if (store_flows(s, res, e) < 0 || finish_observers(o, res->flows, s->db, e) < 0 ||
	    store_totals(s, res, e) < 0 || exec(s->db, "COMMIT", res->path, "committing", e) < 0)
		goto fail;
	s->began = false;
	res->capture_id = s->capture_id;
	store_free(s);
	return 0;
fail:
	lk_store_abort(s);
	return -1;
}
