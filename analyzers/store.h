/* analyzers/store.h - one capture's ingest into the database: ONE
 * transaction, its packets rows written by a second thread while the capture
 * is still being parsed.
 *
 *   struct lk_store *s;
 *   if (lk_store_begin(db, res, o, &s, e) < 0) ...;       // starts the writer
 *   per TCP segment:     lk_store_packet(s, flow, dir, pkt, ts);
 *   lk_store_end(s, res, o, e);   // flows, observers' rows, totals, COMMIT
 *   (or lk_store_abort(s): ROLLBACK; either frees s)
 *
 * The writer thread takes the database's write lock (BEGIN IMMEDIATE), the
 * captures row, then the packets rows in batches of multi-row INSERTs as the
 * parser hands them over (a bounded queue: the parser waits when the writer
 * is behind). flow_ids are given in advance (the largest flow_id + 1 + the
 * connection's index: nobody else can insert while the transaction is open),
 * so rows never wait for a flow. lk_store_end waits for the writer, then on
 * the calling thread inserts the flows with their counters, lets the
 * observers store their rows, checks the SHA-256 for a duplicate (then rolls
 * everything back) and commits. Each flow's user_id is its flow_id from
 * then on (0 when nothing was stored).
 *
 * With a gate (struct lk_gate, shared by the threads of `analyze -j N`), the
 * writer first waits its turn: one ingest transaction at a time in this
 * process, in ticket order (the order of the files: the database is then the
 * same as when they are ingested one after the other), while the parsers of
 * the later files fill their queues.
 */
#ifndef LK_STORE_H
#define LK_STORE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "analyzers/analyze.h"
#include "lib/decode.h"
#include "lib/err.h"

/* One ingest transaction at a time among the stores sharing it, in the
 * order of their tickets 0..n-1 (lk_analyze_opts.ticket). Every ticket must
 * be marked done, whether its ingest ran or not (it failed before, or never
 * started): the next one waits for it. */
struct lk_gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool *done;
	unsigned n, turn;        /* the first ticket not done */
};
int lk_gate_init(struct lk_gate *g, unsigned n);
void lk_gate_done(struct lk_gate *g, unsigned ticket);
void lk_gate_destroy(struct lk_gate *g);

struct lk_store;

/* Start the ingest of the capture described by res (path, dlt, snaplen) with
 * the options o (o->db, run, point, drops, no_packets, gate). */
int lk_store_begin(const struct lk_analysis *res, const struct lk_analyze_opts *o,
		   struct lk_store **out, struct lk_err *e);

/* One packets row (nothing with no_packets). -1 (e filled): the writer
 * failed; the ingest must be aborted. */
int lk_store_packet(struct lk_store *s, const struct lk_flow *f, int dir, const struct lk_pkt *p,
		    uint64_t ts, struct lk_err *e);

/* Finish: see above. Sets res->capture_id, or res->duplicate_of when the
 * SHA-256 (res->sha256) is already stored (nothing is then kept). Frees s;
 * on failure everything is rolled back. */
int lk_store_end(struct lk_store *s, struct lk_analysis *res, const struct lk_analyze_opts *o,
		 struct lk_err *e);

/* Roll back and free (s may be NULL). */
void lk_store_abort(struct lk_store *s);

#endif
