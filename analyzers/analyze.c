/* analyzers/analyze.c - decode -> track -> count -> store. See analyze.h. */
#include "analyzers/analyze.h"
#include "analyzers/acks.h"
#include "lib/pcapin.h"
#include "schema/db.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define C64(n) {#n, offsetof(struct lk_dirstat, n), false}
#define C32(n) {#n, offsetof(struct lk_dirstat, n), true}
const struct lk_counter_def lk_dir_counters[] = {
	C64(total_packets), C64(ack_pkts), C64(pure_acks), C64(sack_pkts), C64(dsack_pkts),
	C64(max_sack_blocks), C64(unique_bytes), C64(data_pkts), C64(data_bytes),
	C64(rexmt_data_pkts), C64(rexmt_data_bytes), C64(zwnd_probe_pkts), C64(outoforder_pkts),
	C64(pushed_data_pkts), C64(syn_pkts), C64(fin_pkts), C64(rst_pkts), C64(trunc_pkts),
	C64(trunc_bytes), C32(mss), C32(max_seg), C32(min_seg),
};
const unsigned lk_n_dir_counters = sizeof lk_dir_counters / sizeof lk_dir_counters[0];

uint64_t lk_counter_get(const struct lk_dirstat *d, const struct lk_counter_def *c)
{
	const char *b = (const char *)d + c->off;
	if (c->u32) {
		uint32_t v;
		memcpy(&v, b, sizeof v);
		return v;
	}
	uint64_t v;
	memcpy(&v, b, sizeof v);
	return v;
}

static int ackset_finish(void *ctx, const struct lk_flowtab *t, sqlite3 *db, struct lk_err *e)
{
	struct lk_ackset *set = ctx;
	if (lk_ackset_finish(set, e) < 0)
		return -1;
	return db ? lk_ackset_store(set, t, db, e) : 0;
}

void lk_observer_ackset(struct lk_observer *ob, struct lk_ackset *set)
{
	ob->ctx = set;
	ob->packet = lk_ackset_packet;
	ob->finish = ackset_finish;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One buffered packets row. */
struct prow {
	int64_t flow_id;
	uint64_t ts;
	uint32_t seq, ack, len, tsval, tsecr;
	uint16_t win;
	uint8_t dir, flags;
	bool has_ts;
	uint8_t sack_len;
	char sack[LK_MAX_SACK * 24];
};

/* packets rows go in by PROW_BATCH per statement: one multi-row INSERT runs
 * the statement machinery (step, reset, the VDBE prologue) once per batch,
 * which took the ingest of a 1.7 M-packet capture from 1.32 s to 0.88 s
 * (make perf-analyze); the rows keep their order (rowid = packet order). */
#define PROW_BATCH 32
#define PROW_COLS 12

/* Prepared statements of one ingest. */
struct store {
	sqlite3 *db;
	sqlite3_stmt *ins_flow, *ins_pkt, *ins_pkts;
	int64_t capture_id;
	bool no_packets;
	unsigned nrows;
	struct prow rows[PROW_BATCH];
};

static int sqlerr(struct lk_err *e, sqlite3 *db, const char *path, const char *what)
{
	return lk_errf(e, LK_EXIT_RUNTIME, "%s: database error while %s: %s", path, what,
		       sqlite3_errmsg(db));
}

static int store_begin(struct store *s, const char *path, const struct lk_analyze_opts *o,
		       struct lk_pcap *r, struct lk_err *e)
{
	sqlite3 *db = s->db;
	if (lk_db_exec(db, "BEGIN IMMEDIATE", path, e) < 0)
		return -1;
	/* provisional row; sha256 and totals are filled in at the end */
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
	sqlite3_bind_int(st, 4, lk_pcap_dlt(r));
	sqlite3_bind_int64(st, 5, lk_pcap_snaplen(r));
	if (o->drops >= 0)
		sqlite3_bind_int64(st, 6, o->drops);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)now_ns());
	sqlite3_bind_text(st, 8, LK_VERSION, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlerr(e, db, path, "inserting the capture row");
	s->capture_id = sqlite3_last_insert_rowid(db);
	if (sqlite3_prepare_v2(db,
		"INSERT INTO flows(capture_id, idx, af, a_addr, a_port, b_addr, b_port)"
		" VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &s->ins_flow, NULL) != SQLITE_OK)
		return sqlerr(e, db, path, "preparing the flow insert");
	static const char ins[] = "INSERT INTO packets(capture_id, flow_id, ts_ns, dir, seq, ack, len,"
				  " flags, win, tsval, tsecr, sack) VALUES ";
	static const char one[] = "(?,?,?,?,?,?,?,?,?,?,?,?)";
	char sql[sizeof ins + PROW_BATCH * sizeof one];
	size_t n = (size_t)snprintf(sql, sizeof sql, "%s%s", ins, one);
	if (sqlite3_prepare_v2(db, sql, (int)n, &s->ins_pkt, NULL) != SQLITE_OK)
		return sqlerr(e, db, path, "preparing the packet insert");
	for (int i = 1; i < PROW_BATCH; i++)
		n += (size_t)snprintf(sql + n, sizeof sql - n, ",%s", one);
	if (sqlite3_prepare_v2(db, sql, (int)n, &s->ins_pkts, NULL) != SQLITE_OK)
		return sqlerr(e, db, path, "preparing the packet insert");
	s->nrows = 0;
	return 0;
}

static void fmt_addr(char *buf, size_t n, int af, const uint8_t *a)
{
	if (!inet_ntop(af == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
}

static int store_flow(struct store *s, struct lk_flow *f, const char *path, struct lk_err *e)
{
	char a[64], b[64];
	fmt_addr(a, sizeof a, f->af, f->addr[0]);
	fmt_addr(b, sizeof b, f->af, f->addr[1]);
	sqlite3_stmt *st = s->ins_flow;
	sqlite3_bind_int64(st, 1, s->capture_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)f->idx);
	sqlite3_bind_int(st, 3, f->af);
	sqlite3_bind_text(st, 4, a, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, f->port[0]);
	sqlite3_bind_text(st, 6, b, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 7, f->port[1]);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sqlerr(e, s->db, path, "inserting a flow");
	f->user_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Bind row r as the k-th row (parameters k*12+1 ..) of st. */
static void bind_row(sqlite3_stmt *st, int k, int64_t capture_id, const struct prow *r)
{
	int c = k * PROW_COLS;
	sqlite3_bind_int64(st, c + 1, capture_id);
	sqlite3_bind_int64(st, c + 2, r->flow_id);
	sqlite3_bind_int64(st, c + 3, (sqlite3_int64)r->ts);
	sqlite3_bind_int(st, c + 4, r->dir);
	sqlite3_bind_int64(st, c + 5, r->seq);
	sqlite3_bind_int64(st, c + 6, r->ack);
	sqlite3_bind_int64(st, c + 7, r->len);
	sqlite3_bind_int(st, c + 8, r->flags);
	sqlite3_bind_int(st, c + 9, r->win);
	if (r->has_ts) {
		sqlite3_bind_int64(st, c + 10, r->tsval);
		sqlite3_bind_int64(st, c + 11, r->tsecr);
	} else {
		sqlite3_bind_null(st, c + 10);
		sqlite3_bind_null(st, c + 11);
	}
	if (r->sack_len)
		sqlite3_bind_text(st, c + 12, r->sack, r->sack_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, c + 12);
}

/* Insert the buffered rows: a full batch in one statement, else one by one. */
static int flush_rows(struct store *s, const char *path, struct lk_err *e)
{
	int rc = SQLITE_DONE;
	if (s->nrows == PROW_BATCH) {
		for (int k = 0; k < PROW_BATCH; k++)
			bind_row(s->ins_pkts, k, s->capture_id, &s->rows[k]);
		rc = sqlite3_step(s->ins_pkts);
		sqlite3_reset(s->ins_pkts);
	} else {
		for (unsigned k = 0; k < s->nrows && rc == SQLITE_DONE; k++) {
			bind_row(s->ins_pkt, 0, s->capture_id, &s->rows[k]);
			rc = sqlite3_step(s->ins_pkt);
			sqlite3_reset(s->ins_pkt);
		}
	}
	s->nrows = 0;
	if (rc != SQLITE_DONE)
		return sqlerr(e, s->db, path, "inserting packets");
	return 0;
}

static int store_packet(struct store *s, const struct lk_flow *f, int dir,
			const struct lk_pkt *p, uint64_t ts, const char *path, struct lk_err *e)
{
	struct prow *r = &s->rows[s->nrows++];
	r->flow_id = f->user_id;
	r->ts = ts;
	r->dir = (uint8_t)dir;
	r->seq = p->seq;
	r->ack = p->ack;
	r->len = p->payload_len;
	r->flags = p->flags;
	r->win = p->win;
	r->has_ts = p->opt.has_ts;
	r->tsval = p->opt.tsval;
	r->tsecr = p->opt.tsecr;
	size_t o = 0;
	for (unsigned i = 0; i < p->opt.n_sack; i++)
		o += (size_t)snprintf(r->sack + o, sizeof r->sack - o, "%s%u-%u", i ? " " : "",
				      p->opt.sack[i][0], p->opt.sack[i][1]);
	r->sack_len = (uint8_t)o;
	return s->nrows == PROW_BATCH ? flush_rows(s, path, e) : 0;
}

/* Counters of every flow, the capture totals, the dedup check, COMMIT. */
static int store_end(struct store *s, struct lk_analysis *res, const struct lk_analyze_opts *ao,
		     struct lk_err *e)
{
	sqlite3 *db = s->db;
	const char *path = res->path;
	if (s->nrows && flush_rows(s, path, e) < 0)
		return -1;
	/* duplicate? then roll back everything of this ingest */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT capture_id FROM captures WHERE sha256=?", -1, &st,
			       NULL) != SQLITE_OK)
		return sqlerr(e, db, path, "checking for a duplicate");
	sqlite3_bind_text(st, 1, res->sha256, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		res->duplicate_of = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (res->duplicate_of > 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		res->capture_id = 0;
		for (unsigned i = 0; i < ao->n_observers; i++)
			if (ao->observers[i].finish &&
			    ao->observers[i].finish(ao->observers[i].ctx, res->flows, NULL, e) < 0)
				return -1;
		return 0;
	}
	for (unsigned i = 0; i < ao->n_observers; i++)
		if (ao->observers[i].finish &&
		    ao->observers[i].finish(ao->observers[i].ctx, res->flows, db, e) < 0)
			return -1;
	/* flows: counters of both directions */
	char sql[8192];
	size_t o = (size_t)snprintf(sql, sizeof sql, "UPDATE flows SET first_ns=?, last_ns=?");
	for (int d = 0; d < 2; d++)
		for (unsigned i = 0; i < lk_n_dir_counters; i++)
			o += (size_t)snprintf(sql + o, sizeof sql - o, ", %s%s=?", d ? "b2a_" : "a2b_",
					      lk_dir_counters[i].name);
	snprintf(sql + o, sizeof sql - o, " WHERE flow_id=?");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return sqlerr(e, db, path, "preparing the flow counters");
	size_t n = lk_flowtab_count(res->flows);
	for (size_t k = 0; k < n; k++) {
		struct lk_flow *f = lk_flowtab_get(res->flows, k);
		int col = 1;
		sqlite3_bind_int64(st, col++, (sqlite3_int64)f->first_ns);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)f->last_ns);
		for (int d = 0; d < 2; d++)
			for (unsigned i = 0; i < lk_n_dir_counters; i++)
				sqlite3_bind_int64(st, col++,
					(sqlite3_int64)lk_counter_get(&f->d[d], &lk_dir_counters[i]));
		sqlite3_bind_int64(st, col, f->user_id);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(st);
			return sqlerr(e, db, path, "storing flow counters");
		}
	}
	sqlite3_finalize(st);
	/* capture totals */
	char skipped[1024];
	o = 0;
	o += (size_t)snprintf(skipped + o, sizeof skipped - o, "{");
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
	if (sqlite3_prepare_v2(db,
		"UPDATE captures SET sha256=?, packets=?, tcp_packets=?, skipped=?, truncated_tail=?,"
		" first_ns=?, last_ns=? WHERE capture_id=?", -1, &st, NULL) != SQLITE_OK)
		return sqlerr(e, db, path, "preparing the capture totals");
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
		return sqlerr(e, db, path, "storing the capture totals");
	if (lk_db_exec(db, "COMMIT", path, e) < 0)
		return -1;
	res->capture_id = s->capture_id;
	return 0;
}

static void store_free(struct store *s)
{
	sqlite3_finalize(s->ins_flow);
	sqlite3_finalize(s->ins_pkt);
	sqlite3_finalize(s->ins_pkts);
	s->ins_flow = s->ins_pkt = s->ins_pkts = NULL;
}

void lk_analysis_free(struct lk_analysis *res)
{
	if (res && res->flows) {
		lk_flowtab_free(res->flows);
		res->flows = NULL;
	}
}

int lk_analyze_file(const char *path, const struct lk_analyze_opts *o, struct lk_analysis *res,
		    struct lk_err *e)
{
	memset(res, 0, sizeof *res);
	snprintf(res->path, sizeof res->path, "%s", path);
	struct lk_pcap *r = NULL;
	int rc = o->db ? lk_pcap_open_hashed(path, &r, e) : lk_pcap_open(path, &r, e);
	if (rc < 0)
		return -1;
	res->dlt = lk_pcap_dlt(r);
	res->snaplen = lk_pcap_snaplen(r);
	res->flows = lk_flowtab_new();
	if (!res->flows) {
		lk_pcap_close(r);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	}
	struct store s = {.db = o->db, .no_packets = o->no_packets};
	if (o->db && store_begin(&s, path, o, r, e) < 0)
		goto fail;

	const struct pcap_pkthdr *h;
	const uint8_t *data;
	struct lk_pkt p;
	while ((rc = lk_pcap_next(r, &h, &data, e)) == 1) {
		uint64_t ts = lk_pcap_ts_ns(r, h);
		if (!res->records)
			res->first_ns = ts;
		res->last_ns = ts;
		res->records++;
		enum lk_dec_status ds = lk_decode(lk_pcap_rec_dlt(r), data, h->caplen, h->len, &p);
		if (ds != LK_DEC_TCP) {
			res->skipped[ds]++;
			continue;
		}
		res->tcp_packets++;
		if (p.opt.bad)
			res->bad_tcpopt++;
		int dir;
		bool is_new;
		struct lk_flow *f = lk_flowtab_add(res->flows, &p, ts, &dir, &is_new);
		if (!f) {
			lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory tracking connections", path);
			goto fail;
		}
		if (o->db) {
			if (is_new && store_flow(&s, f, path, e) < 0)
				goto fail;
			if (!s.no_packets && store_packet(&s, f, dir, &p, ts, path, e) < 0)
				goto fail;
		}
		for (unsigned i = 0; i < o->n_observers; i++)
			o->observers[i].packet(o->observers[i].ctx, f, dir, &p, ts);
	}
	if (rc < 0)
		goto fail;
	res->truncated_tail = lk_pcap_truncated(r);
	if (o->db) {
		if (lk_pcap_sha256(r, res->sha256, e) < 0 || store_end(&s, res, o, e) < 0)
			goto fail;
	} else {
		for (unsigned i = 0; i < o->n_observers; i++)
			if (o->observers[i].finish &&
			    o->observers[i].finish(o->observers[i].ctx, res->flows, NULL, e) < 0)
				goto fail;
	}
	store_free(&s);
	lk_pcap_close(r);
	return 0;
fail:
	if (o->db)
		sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
	store_free(&s);
	lk_pcap_close(r);
	lk_analysis_free(res);
	return -1;
}
