/* schema/db.c - open/create/migrate the lrokit database. See db.h. */
#include "schema/db.h"
#include "schema/migrations.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

int lk_db_schema_version(void) { return lk_n_migrations; }

int lk_db_exec(sqlite3 *db, const char *sql, const char *what, struct lk_err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Is this an lrokit database (or empty)? Any table but ours => not ours. */
static int check_ours(sqlite3 *db, const char *path, int v, struct lk_err *e)
{
	if (v > 0)
		return 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: not a SQLite database (%s)", path, sqlite3_errmsg(db));
	int n = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (n > 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: a SQLite database, but not an lrokit one", path);
	return 0;
}

static int migrate(sqlite3 *db, const char *path, struct lk_err *e)
{
	for (;;) {
		if (lk_db_exec(db, "BEGIN IMMEDIATE", path, e) < 0)
			return -1;
		int v;
		if (user_version(db, &v) < 0) {
			lk_errf(e, LK_EXIT_RUNTIME, "%s: not a SQLite database (%s)", path, sqlite3_errmsg(db));
			goto fail;
		}
		if (v > lk_n_migrations) {
			lk_errf(e, LK_EXIT_RUNTIME, "%s: database schema v%d is newer than this lrokit (v%d)",
				path, v, lk_n_migrations);
			goto fail;
		}
		if (v == lk_n_migrations)
			return lk_db_exec(db, "COMMIT", path, e);
		if (check_ours(db, path, v, e) < 0)
			goto fail;
		char what[600];
		snprintf(what, sizeof what, "%s: migration to schema v%d", path, v + 1);
		if (lk_db_exec(db, lk_migrations[v], what, e) < 0)
			goto fail;
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if (lk_db_exec(db, pragma, what, e) < 0 || lk_db_exec(db, "COMMIT", what, e) < 0)
			goto fail;
	}
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Before SQLite's first use in the process: no memory statistics (they cost
 * a global mutex on every allocation; lrokit never reads them). Later it is
 * too late, and harmless. */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_common(const char *path, sqlite3 **db, int flags, struct lk_err *e)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_setup);
	*db = NULL;
	sqlite3 *d = NULL;
	if (sqlite3_open_v2(path, &d, flags, NULL) != SQLITE_OK) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot open database: %s", path,
			d ? sqlite3_errmsg(d) : "out of memory");
		sqlite3_close(d);
		return -1;
	}
	sqlite3_busy_timeout(d, 30000);
	sqlite3_extended_result_codes(d, 1);
	*db = d;
	return 0;
}

int lk_db_open(const char *path, sqlite3 **db, struct lk_err *e)
{
	*db = NULL;
	sqlite3 *d;
	if (open_common(path, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, e) < 0)
		return -1;
	/* WAL: readers never block the writer; synchronous NORMAL is durable
	 * at every checkpoint and never corrupts on a crash. Switching a new
	 * database to WAL needs a lock for which SQLite does not call the busy
	 * handler: when another process holds it (two lrokit processes creating
	 * the same database at once), retry for up to the busy timeout.
	 * A new database gets 64 KiB pages (no effect on an existing one): the
	 * packets table is most of any database, and bulk appends to it cost
	 * 15-20% less CPU than with 16 KiB pages (fewer pages and WAL frames to
	 * write, checksum and checkpoint). The page cache is 8 MiB: an append
	 * needs only the rightmost pages, and a larger cache only costs memory
	 * (page faults on fresh cache pages, 32 MiB cost more CPU, not less:
	 * make perf-analyze). */
	char *msg = NULL;
	int rc;
	for (int tries = 0;; tries++) {
		rc = sqlite3_exec(d, "PRAGMA page_size=65536; PRAGMA journal_mode=WAL", NULL, NULL, &msg);
		if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) || tries >= 3000)
			break;
		sqlite3_free(msg);
		msg = NULL;
		sqlite3_sleep(10);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
				  "PRAGMA cache_size=-8192;", NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: not a usable SQLite database (%s)", path,
			msg ? msg : sqlite3_errmsg(d));
		sqlite3_free(msg);
		sqlite3_close(d);
		return -1;
	}
	if (migrate(d, path, e) < 0) {
		sqlite3_close(d);
		return -1;
	}
	*db = d;
	return 0;
}

int lk_db_open_ro(const char *path, sqlite3 **db, struct lk_err *e)
{
	*db = NULL;
	sqlite3 *d;
	if (open_common(path, &d, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, e) < 0)
		return -1;
	int v = -1;
	if (user_version(d, &v) < 0 || v == 0) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: not an lrokit database", path);
		sqlite3_close(d);
		return -1;
	}
	if (v > lk_n_migrations) {
		lk_errf(e, LK_EXIT_RUNTIME, "%s: database schema v%d is newer than this lrokit (v%d)",
			path, v, lk_n_migrations);
		sqlite3_close(d);
		return -1;
	}
	sqlite3_exec(d, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
	*db = d;
	return 0;
}

void lk_db_close(sqlite3 *db)
{
	if (db)
		sqlite3_close(db);
}

int lk_db_reap_stale_runs(sqlite3 *db, struct lk_err *e)
{
	sqlite3_stmt *sel, *upd;
	if (sqlite3_prepare_v2(db, "SELECT run_id, pid FROM runs WHERE status='running'", -1,
			       &sel, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "reaping stale runs: %s", sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, "UPDATE runs SET status='aborted', error=coalesce(error,"
			       "'process ended without finishing the run') WHERE run_id=?", -1,
			       &upd, NULL) != SQLITE_OK) {
		sqlite3_finalize(sel);
		return lk_errf(e, LK_EXIT_RUNTIME, "reaping stale runs: %s", sqlite3_errmsg(db));
	}
	int n = 0;
	while (sqlite3_step(sel) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(sel, 0);
		pid_t pid = (pid_t)sqlite3_column_int64(sel, 1);
		if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM))
			continue; /* still alive */
		sqlite3_bind_int64(upd, 1, id);
		if (sqlite3_step(upd) == SQLITE_DONE)
			n++;
		sqlite3_reset(upd);
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return n;
}

int64_t lk_db_set_capture_drops(sqlite3 *db, int64_t run_id, struct lk_err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "UPDATE runs SET capture_drops = (SELECT CASE WHEN count(*) > 0 AND "
			       "count(value) = count(*) THEN CAST(sum(value) AS INTEGER) END FROM "
			       "counters c WHERE c.run_id = runs.run_id AND c.event = "
			       "'capture_kernel_drops' AND c.source = 'pcap') WHERE run_id = ?1 "
			       "RETURNING capture_drops",
			       -1, &st, NULL) != SQLITE_OK)
		return lk_errf(e, LK_EXIT_RUNTIME, "run %lld: capture drops: %s", (long long)run_id,
			       sqlite3_errmsg(db));
	sqlite3_bind_int64(st, 1, run_id);
	int64_t v = -2;
	int rc = sqlite3_step(st);
	bool row = rc == SQLITE_ROW;
	if (row) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_DONE && !row) {
		lk_errf(e, LK_EXIT_RUNTIME, "run %lld: capture drops: no such run", (long long)run_id);
		v = -1;
	} else if (rc != SQLITE_DONE) {
		lk_errf(e, LK_EXIT_RUNTIME, "run %lld: capture drops: %s", (long long)run_id,
			sqlite3_errmsg(db));
		v = -1;
	}
	sqlite3_finalize(st);
	return v;
}
