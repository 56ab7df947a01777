/* analyzers/analyze.h - the analyze path shared by `lrokit analyze`, the
 * benchmark's captures and any user's pcap: decode -> track -> count ->
 * (optionally) store.
 *
 * With a database, one capture is ingested in ONE transaction with prepared
 * statements (analyzers/store.h: the packets rows are written by a second
 * thread while the capture is parsed): a `captures` row, its `flows`
 * (tcptrace counters of both directions) and one `packets` row per TCP
 * segment. The file's SHA-256 is computed while it is read (single pass); a
 * file whose SHA-256 is already in the database is not ingested again
 * (res->duplicate_of is set). Any failure rolls the transaction back:
 * nothing of a failed ingest remains.
 */
#ifndef LK_ANALYZE_H
#define LK_ANALYZE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "analyzers/flow.h"
#include "lib/decode.h"
#include "lib/err.h"

/* A per-packet observer (e.g. the ACK classifier): called for every decoded
 * TCP segment after flow tracking, in capture order, with its flow's
 * lk_flow.idx (lk_flowtab_get gives the flow once the file is read). */
struct lk_observer {
	void *ctx;
	void (*packet)(void *ctx, uint64_t flow_idx, int dir, const struct lk_pkt *p,
		       uint64_t ts_ns);
	/* Optional: called once after the last packet, before the ingest
	 * commits; db is NULL without a database (or for a duplicate file).
	 * Flows carry their DB flow_id in user_id. Return < 0 (e filled) to
	 * fail the whole ingest. */
	int (*finish)(void *ctx, const struct lk_flowtab *t, sqlite3 *db, struct lk_err *e);
	/* Optional. When every observer has it, the observers may run in a
	 * second thread (analyzers/pipeline.h), fed in capture order: packet
	 * then gets p without its frame (NULL), with what lk_side_csum_fields
	 * (analyzers/side.h) took of it as csum_wanted asked for the flow and
	 * direction (LK_SIDE_WANT_*, bits once clear staying clear), and of
	 * the rest only the fields the pipeline carries (pipeline.c). */
	unsigned (*csum_wanted)(void *ctx, uint64_t flow_idx, int dir);
};

struct lk_ackset;
struct lk_gate;
/* Fill *ob so that `set` (analyzers/acks.h: ACK classes and the bandwidth
 * estimators of analyzers/bwe.h) sees every packet and, at the end, is
 * finished and its ack_classes/bwe rows stored in the ingest's transaction. */
void lk_observer_ackset(struct lk_observer *ob, struct lk_ackset *set);

struct lk_analyze_opts {
	sqlite3 *db;            /* NULL: analyze only, store nothing */
	int64_t run_id;         /* > 0: the capture belongs to this run */
	const char *point;      /* "sender" | "dom0" | "receiver" | "file" (default) */
	int64_t drops;          /* kernel capture drops, -1 unknown (NULL in DB) */
	bool no_packets;        /* do not store per-packet rows */
	const struct lk_observer *observers;
	unsigned n_observers;
	struct lk_gate *gate;   /* NULL, or one ingest transaction at a time
				 * among the threads sharing it, in the order */
	unsigned ticket;        /* ... of their tickets (store.h) */
};

/* What lk_analyze_file found in one capture file. */
struct lk_analysis {
	char path[4096];
	char sha256[65];        /* hex, "" without a database */
	int dlt;
	uint32_t snaplen;
	uint64_t records;       /* capture records read */
	uint64_t tcp_packets;   /* decoded TCP segments */
	uint64_t skipped[LK_DEC__COUNT]; /* records not analyzed, by reason */
	uint64_t bad_tcpopt;    /* segments whose options were malformed (still analyzed) */
	bool truncated_tail;    /* last record cut short (the rest is good) */
	uint64_t first_ns, last_ns;
	int64_t capture_id;     /* DB row, 0 without a database */
	int64_t duplicate_of;   /* > 0: already in the DB as this capture_id; nothing stored */
	struct lk_flowtab *flows;
};

/* Analyze one capture file. On success res->flows holds the connections
 * (free with lk_analysis_free). On failure nothing is stored, res is freed. */
int lk_analyze_file(const char *path, const struct lk_analyze_opts *o, struct lk_analysis *res,
		    struct lk_err *e);

void lk_analysis_free(struct lk_analysis *res);

/* Ingest one capture of a run, taken at point (sender|dom0|receiver), with
 * the ACK classes and bandwidth estimators (analyzers/acks.h) told where it
 * was taken: what a run's collectors and `bench --hosts` do with their
 * captures. drops: kernel capture drops, -1 unknown. */
int lk_analyze_run_capture(sqlite3 *db, int64_t run_id, const char *point, const char *path,
			   int64_t drops, struct lk_err *e);

/* The counters of one direction (docs/design.md, JSON contracts), in JSON and
 * column order: name and offset in struct lk_dirstat. Used by the JSON writer
 * and the flows table. */
struct lk_counter_def {
	const char *name;
	size_t off;
	bool u32; /* field is uint32_t (else uint64_t) */
};
extern const struct lk_counter_def lk_dir_counters[];
extern const unsigned lk_n_dir_counters;
uint64_t lk_counter_get(const struct lk_dirstat *d, const struct lk_counter_def *c);

#endif
