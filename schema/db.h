/* schema/db.h - the lrokit SQLite database: open, create, migrate.
 *
 * The schema lives in schema/migrations.c as an ordered list of migrations;
 * `PRAGMA user_version` is the number of migrations applied (= schema
 * version). lk_db_open applies the missing ones, each in its own IMMEDIATE
 * transaction, so a database is never left half-migrated. Tables are STRICT.
 * WAL journal, foreign keys on, busy timeout 30 s (several lrokit processes
 * may write one database at once; LROKIT_BUSY_TIMEOUT_MS changes it). A file
 * lrokit may not write is refused by lk_db_open at once (SQLite would open it
 * read-only and fail at the first write).
 *
 * Tables (docs/design.md, "Database"; see schema/migrations.c for every column):
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

/* As lk_db_open, for a connection about to fill the database in bulk
 * (lrokit analyze --db): a new database (an absent or empty file) is
 * created in rollback-journal mode, synchronous FULL, and lk_db_close
 * switches it to WAL. The rows appended to a new database are then written
 * once, straight into the file: the rollback journal holds only the pages
 * that existed before a transaction, where WAL writes every page twice
 * (into the WAL, then into the file at the checkpoint) and syncs both. The
 * price: while the database is in rollback mode, a writer with more than
 * the page cache to write holds its lock, and other processes wait for it
 * (the busy timeout) instead of reading the last committed state. An
 * existing database is opened exactly as lk_db_open does. */
int lk_db_open_fill(const char *path, sqlite3 **db, struct lk_err *e);

/* Open an existing database read-only (no migration); fails if the schema
 * is newer than this lrokit or the file is not an lrokit database. */
int lk_db_open_ro(const char *path, sqlite3 **db, struct lk_err *e);

/* Close db (NULL: nothing). A read-write connection whose database is not
 * in WAL mode (made by lk_db_open_fill) first switches it to WAL, once,
 * without waiting: if another connection has it open, it stays in rollback
 * mode until the next lk_db_open. */
void lk_db_close(sqlite3 *db);

/* Run one or more SQL statements; on error fill e with "what: sqlite msg",
 * or lk_db_fail's line when the error is about the database's storage. */
int lk_db_exec(sqlite3 *db, const char *sql, const char *what, struct lk_err *e);

/* After a failed SQLite call on db: fill e (LK_EXIT_RUNTIME) with one line
 * "DBFILE: PROBLEM[; what]", DBFILE = path (NULL: the file db has open) and
 * PROBLEM in plain words for the storage faults:
 *   the disk is full (SQLite: ...)
 *   the database is read-only (cannot open it for writing: ERRNO) / ...: its
 *     directory DIR is not writable (ERRNO), and SQLite must create the -wal
 *     and -shm files there / ...: FILE-wal cannot be opened for writing (ERRNO)
 *   the database is locked: pid N (COMM) holds its write lock (still held
 *     after waiting the busy timeout, T) - the holder from /proc/locks,
 *     "another process" when it is not visible (another PID namespace)
 *   not a SQLite database / the database is corrupt (SQLite: ...) /
 *   I/O error (SQLite: ...) / cannot open the database: ERRNO
 * else SQLite's message. Returns -1. */
int lk_db_fail(struct lk_err *e, sqlite3 *db, const char *path, const char *what);

/* The busy timeout of every connection lk_db_open/lk_db_open_ro make, in
 * ms: how long a writer waits for another process's write lock. 30000, or
 * the environment variable LROKIT_BUSY_TIMEOUT_MS (0..3600000) read once. */
#define LK_DB_BUSY_ENV "LROKIT_BUSY_TIMEOUT_MS"
int lk_db_busy_timeout_ms(void);

/* Mark runs left in status 'running' by a process that no longer exists
 * (killed) as 'aborted'. Returns the number of runs marked, or -1. */
int lk_db_reap_stale_runs(sqlite3 *db, struct lk_err *e);

/* Set runs.capture_drops of run_id (schema v2) from the run's
 * capture_kernel_drops counters (source pcap): their sum, or NULL when the
 * run has none or one of them is NULL (pcap_stats failed). Returns the value
 * stored (>= 0), -2 when NULL was stored, -1 on a database error. */
int64_t lk_db_set_capture_drops(sqlite3 *db, int64_t run_id, struct lk_err *e);

#endif
