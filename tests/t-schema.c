/* schema/db: creation, migration bookkeeping, refusal of foreign/newer
 * databases, STRICT tables, WAL, reaping of runs whose process died. */
#include "schema/db.h"
#include "tests/tap.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static long long q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int main(void)
{
	char dir[] = "/tmp/lkschemaXXXXXX";
	if (!mkdtemp(dir))
		skip_all("cannot make a temp dir");
	char path[256], p2[256], p3[256];
	snprintf(path, sizeof path, "%s/a.db", dir);
	snprintf(p2, sizeof p2, "%s/foreign.db", dir);
	snprintf(p3, sizeof p3, "%s/garbage.db", dir);
	struct lk_err e = {0};
	sqlite3 *db = NULL;

	ok(lk_db_open(path, &db, &e) == 0, "create a new database");
	is_int(q1(db, "PRAGMA user_version"), lk_db_schema_version(), "user_version = schema version");
	ok(lk_db_schema_version() >= 1, "at least schema v1");
	is_int(q1(db, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name IN "
		  "('runs','captures','flows','packets','counters','samples','ack_classes','bwe','lro_stats')"),
	       9, "core tables exist");
	is_int(q1(db, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND sql NOT LIKE '%STRICT%'"),
	       0, "every table is STRICT");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	sqlite3_step(st);
	is_str((const char *)sqlite3_column_text(st, 0), "wal", "WAL journal");
	sqlite3_finalize(st);
	ok(lk_db_exec(db, "INSERT INTO runs(config,status,started_ns) VALUES ('x','bogus',1)", "t", &e) < 0,
	   "runs.status is checked");
	ok(lk_db_exec(db, "INSERT INTO captures(point,path,sha256,linktype,snaplen,packets,tcp_packets,"
		      "ingested_ns) VALUES ('file','p','h','one',1,1,1,1)", "t", &e) < 0,
	   "STRICT rejects text in an INTEGER column");

	/* reaping: a run of a dead process becomes aborted, a live one stays */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	char sql[256];
	snprintf(sql, sizeof sql, "INSERT INTO runs(config,status,started_ns,pid) VALUES "
		 "('xen','running',1,%d),('xen','running',2,%d)", (int)child, (int)getpid());
	ok(lk_db_exec(db, sql, "t", &e) == 0, "insert two running runs");
	is_int(lk_db_reap_stale_runs(db, &e), 1, "one stale run reaped");
	is_int(q1(db, "SELECT count(*) FROM runs WHERE status='aborted' AND error IS NOT NULL"), 1,
	       "dead process's run marked aborted with a reason");
	is_int(q1(db, "SELECT count(*) FROM runs WHERE status='running'"), 1, "live process's run untouched");
	lk_db_close(db);

	ok(lk_db_open(path, &db, &e) == 0, "reopen an existing database");
	is_int(q1(db, "SELECT count(*) FROM runs"), 2, "data kept across reopen");
	lk_db_exec(db, "PRAGMA user_version = 999", "t", &e);
	lk_db_close(db);
	ok(lk_db_open(path, &db, &e) < 0 && strstr(e.msg, "newer than this lrokit"), "newer schema refused: %s", e.msg);
	ok(db == NULL, "no handle on failure");
	ok(lk_db_open_ro(path, &db, &e) < 0, "newer schema refused read-only too");

	sqlite3 *f;
	sqlite3_open(p2, &f);
	sqlite3_exec(f, "CREATE TABLE t(x)", NULL, NULL, NULL);
	sqlite3_close(f);
	ok(lk_db_open(p2, &db, &e) < 0 && strstr(e.msg, "not an lrokit one"), "foreign SQLite db refused: %s", e.msg);
	FILE *g = fopen(p3, "w");
	fputs("this is not sqlite at all, not even close...............................................", g);
	fclose(g);
	ok(lk_db_open(p3, &db, &e) < 0 && strstr(e.msg, p3), "garbage file refused, named: %s", e.msg);
	ok(lk_db_open_ro("/nonexistent/x.db", &db, &e) < 0, "missing db read-only fails");

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
