/* schema/db.h - the lrokit SQLite database: open, create, migrate.
 *
 * The schema lives in schema/migrations.c as an ordered list of migrations;
 * `PRAGMA user_version` is the number of migrations applied (= schema
 * version). lk_db_open applies the missing ones, each in its own IMMEDIATE
 * transaction, so a database is never left half-migrated. Tables are STRICT.
 * WAL journal, foreign keys on, busy timeout 30 s (several lrokit processes
 * may write one database at once).
 *
 * Tables (DESIGN.md section 4; see schema/migrations.c for every column):
 *   meta, runs, captures, flows, packets, counters, samples, ack_classes,
 *   bwe, lro_stats, model_params, stage_hist
 * Versions: v1 the core tables; v2 adds runs.capture_drops; v3 the fidelity
 * model: model_params, stage_hist, runs.profile/sweep_key/sweep_value/
 * stage_drops.
 */
#ifndef LK_SCHEMA_DB_H
#define LK_SCHEMA_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "lib/err.h"

/* Current schema version (number of migrations). */
int lk_db_schema_version(void);

/* Open (creating if needed) and migrate. On failure *db is NULL. */
int lk_db_open(const char *path, sqlite3 **db, struct lk_err *e);

/* Open an existing database read-only (no migration); fails if the schema
 * is newer than this lrokit or the file is not an lrokit database. */
int lk_db_open_ro(const char *path, sqlite3 **db, struct lk_err *e);

void lk_db_close(sqlite3 *db);

/* Run one or more SQL statements; on error fill e with "what: sqlite msg". */
int lk_db_exec(sqlite3 *db, const char *sql, const char *what, struct lk_err *e);

/* Mark runs left in status 'running' by a process that no longer exists
 * (killed) as 'aborted'. Returns the number of runs marked, or -1. */
int lk_db_reap_stale_runs(sqlite3 *db, struct lk_err *e);

/* Set runs.capture_drops of run_id (schema v2) from the run's
 * capture_kernel_drops counters (source pcap): their sum, or NULL when the
 * run has none or one of them is NULL (pcap_stats failed). Returns the value
 * stored (>= 0), -2 when NULL was stored, -1 on a database error. */
int64_t lk_db_set_capture_drops(sqlite3 *db, int64_t run_id, struct lk_err *e);

#endif
