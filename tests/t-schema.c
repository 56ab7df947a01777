/* schema/db: creation, migration bookkeeping, refusal of foreign/newer
 * databases, STRICT tables, WAL, reaping of runs whose process died, the
 * rollback-journal filling of a new database (lk_db_open_fill). */
#include "schema/db.h"
#include "schema/migrations.h"
#include "schema/runrec.h"
#include "tests/tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char cmd_path[300];

/* PRAGMA journal_mode of db into m */
static void journal(sqlite3 *db, char *m, size_t n)
{
	sqlite3_stmt *st;
	snprintf(m, n, "?");
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(m, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* db's journal mode is `want` */
static void is_journal(sqlite3 *db, const char *want, const char *desc)
{
	char m[16];
	journal(db, m, sizeof m);
	is_str(m, want, "%s", desc);
}

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
	char path[256], p2[256], p3[256], p4[256];
	snprintf(path, sizeof path, "%s/a.db", dir);
	snprintf(p2, sizeof p2, "%s/foreign.db", dir);
	snprintf(p3, sizeof p3, "%s/garbage.db", dir);
	snprintf(p4, sizeof p4, "%s/v1.db", dir);
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

	/* forward migration v1 -> v2: a database made by the v1 schema keeps its
	 * rows and gets runs.capture_drops, filled from the pcap counters */
	ok(lk_db_schema_version() >= 2, "at least schema v2 (runs.capture_drops)");
	sqlite3 *v1;
	sqlite3_open(p4, &v1);
	int r1 = sqlite3_exec(v1, lk_migrations[0], NULL, NULL, NULL);
	r1 |= sqlite3_exec(v1, "PRAGMA user_version = 1;"
			   "INSERT INTO runs(run_id,config,status,started_ns) VALUES "
			   " (1,'xen','ok',1),(2,'xen','ok',2),(3,'xen','ok',3),(4,'xen','ok',4);"
			   "INSERT INTO counters(run_id,component,event,value,unit,source,note) VALUES"
			   " (1,'sender','capture_kernel_drops',0,'packets','pcap',NULL),"
			   " (1,'receiver','capture_kernel_drops',0,'packets','pcap',NULL),"
			   " (2,'sender','capture_kernel_drops',5,'packets','pcap','DROPS'),"
			   " (2,'receiver','capture_kernel_drops',7,'packets','pcap','DROPS'),"
			   " (3,'sender','capture_kernel_drops',2,'packets','pcap',NULL),"
			   " (3,'receiver','capture_kernel_drops',NULL,'packets','pcap','pcap_stats failed'),"
			   " (4,'dom0','wire_drops',9,NULL,'stage',NULL);",
			   NULL, NULL, NULL);
	sqlite3_close(v1);
	ok(r1 == SQLITE_OK, "a v1 database with runs and capture counters");
	ok(lk_db_open(p4, &db, &e) == 0, "v1 database opens and migrates");
	is_int(q1(db, "PRAGMA user_version"), lk_db_schema_version(), "migrated to the current version");
	is_int(q1(db, "SELECT count(*) FROM runs"), 4, "v1 rows kept");
	is_int(q1(db, "SELECT capture_drops FROM runs WHERE run_id=1"), 0, "no drops: 0");
	is_int(q1(db, "SELECT capture_drops FROM runs WHERE run_id=2"), 12, "drops summed over captures");
	is_int(q1(db, "SELECT capture_drops IS NULL FROM runs WHERE run_id=3"), 1,
	       "a capture without pcap_stats: NULL (unknown), not a partial sum");
	is_int(q1(db, "SELECT capture_drops IS NULL FROM runs WHERE run_id=4"), 1,
	       "no capture counters: NULL");
	/* lk_db_set_capture_drops: what lrokit run calls when it finishes */
	lk_db_exec(db, "INSERT INTO counters(run_id,component,event,value,unit,source) VALUES"
		   " (4,'sender','capture_kernel_drops',3,'packets','pcap'),"
		   " (4,'receiver','capture_kernel_drops',0,'packets','pcap')", "t", &e);
	is_int(lk_db_set_capture_drops(db, 4, &e), 3, "set_capture_drops returns the sum");
	is_int(q1(db, "SELECT capture_drops FROM runs WHERE run_id=4"), 3, "and stores it");
	is_int(lk_db_set_capture_drops(db, 3, &e), -2, "unknown drops: -2 (NULL stored)");
	ok(lk_db_set_capture_drops(db, 99, &e) == -1 && strstr(e.msg, "no such run"),
	   "unknown run: error: %s", e.msg);
	lk_db_close(db);

	/* forward migration v2 -> v3 (the fidelity model): rows kept, the new
	 * columns NULL for old runs, the new tables checked */
	char p5[256];
	snprintf(p5, sizeof p5, "%s/v2.db", dir);
	sqlite3 *v2;
	sqlite3_open(p5, &v2);
	int r2 = sqlite3_exec(v2, lk_migrations[0], NULL, NULL, NULL);
	r2 |= sqlite3_exec(v2, lk_migrations[1], NULL, NULL, NULL);
	r2 |= sqlite3_exec(v2, "PRAGMA user_version = 2; INSERT INTO runs(run_id,config,status,"
			   "started_ns,capture_drops) VALUES (1,'xen','ok',1,0);", NULL, NULL, NULL);
	sqlite3_close(v2);
	ok(r2 == SQLITE_OK, "a v2 database with a run");
	ok(lk_db_schema_version() >= 3, "at least schema v3 (the model)");
	ok(lk_db_open(p5, &db, &e) == 0, "v2 database opens and migrates (%s)", e.msg);
	is_int(q1(db, "SELECT count(*) FROM runs WHERE run_id=1 AND capture_drops=0 AND profile IS NULL "
		  "AND sweep_key IS NULL AND sweep_value IS NULL AND stage_drops IS NULL"), 1,
	       "the old run kept; profile, sweep and stage drops NULL (unknown)");
	ok(lk_db_exec(db, "INSERT INTO model_params VALUES (1,'nic.rx_usecs',125,'us','guessed')", "t",
		      &e) < 0, "model_params.origin is checked");
	ok(lk_db_exec(db, "INSERT INTO stage_hist VALUES (1,'dom0','rx','frames_per_poll',1,1)", "t",
		      &e) < 0, "stage_hist.stage is checked");
	ok(lk_db_exec(db, "INSERT INTO stage_hist VALUES (1,'nic','rx','polls',1,1)", "t", &e) < 0,
	   "stage_hist.hist is checked");
	lk_db_close(db);

	/* a run record with the model's rows */
	struct lk_runrec rr;
	struct lk_runrec_info ri = {.config = "lro-phys", .params = "{}", .started_ns = 5, .bytes = 1,
				    .profile = "paper", .sweep_key = "nic.rx_usecs", .sweep_value = 250};
	ok(lk_runrec_begin(&rr, p5, &ri, &e) == 0, "run record begun (%s)", e.msg);
	ok(lk_runrec_model(&rr, "nic.rx_usecs", 250, "us", "sweep") == 0 &&
	   lk_runrec_model(&rr, "vif.qlen", 32, "packets", "profile") == 0, "model params stored");
	ok(lk_runrec_model(&rr, "vif.qlen", 33, "packets", "cli") < 0, "one row per key and run");
	ok(lk_runrec_hist(&rr, "nic", "rx", "frames_per_poll", 10, 7) == 0 &&
	   lk_runrec_hist(&rr, "nic", "rx", "frames_per_poll", 11, 0) == 0 &&
	   lk_runrec_hist(&rr, "netfront", "rx", "segs_per_aggr", 3, 2) == 0, "histogram buckets stored");
	ok(lk_runrec_stage_drops(&rr, 12, &e) == 0, "stage drops stored");
	int64_t rid = rr.run_id;
	lk_runrec_close(&rr);
	ok(lk_db_open(p5, &db, &e) == 0, "reopen");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE run_id=%lld AND profile='paper' AND "
		 "sweep_key='nic.rx_usecs' AND sweep_value=250 AND stage_drops=12", (long long)rid);
	is_int(q1(db, sql), 1, "runs: profile, sweep key and value, stage drops");
	is_int(q1(db, "SELECT count(*) FROM model_params WHERE origin IN ('sweep','profile')"), 2,
	       "model_params rows with their origin");
	is_int(q1(db, "SELECT count(*) FROM stage_hist"), 2, "a zero bucket is not stored");
	is_int(q1(db, "SELECT count FROM stage_hist WHERE stage='nic' AND bucket=10"), 7, "bucket count");
	snprintf(sql, sizeof sql, "DELETE FROM runs WHERE run_id=%lld", (long long)rid);
	lk_db_exec(db, sql, "t", &e);
	is_int(q1(db, "SELECT (SELECT count(*) FROM model_params) + (SELECT count(*) FROM stage_hist)"),
	       0, "deleting the run deletes its model rows");
	lk_db_close(db);
	ri.sweep_key = NULL;
	ok(lk_runrec_begin(&rr, p5, &ri, &e) == 0 && lk_runrec_stage_drops(&rr, NAN, &e) == 0,
	   "a run without a sweep, stage drops unknown");
	rid = rr.run_id;
	lk_runrec_close(&rr);
	lk_db_open(p5, &db, &e);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE run_id=%lld AND sweep_key IS NULL AND "
		 "sweep_value IS NULL AND stage_drops IS NULL", (long long)rid);
	is_int(q1(db, sql), 1, "  sweep key, value and stage drops NULL");
	lk_db_close(db);

	/* lk_db_open_fill: a new database is filled in rollback-journal mode
	 * and switched to WAL at close; an existing one opens as lk_db_open */
	char p6[256];
	snprintf(p6, sizeof p6, "%s/fill.db", dir);
	e.msg[0] = 0;
	ok(lk_db_open_fill(p6, &db, &e) == 0, "fill: create a new database %s", e.msg);
	is_int(q1(db, "PRAGMA user_version"), lk_db_schema_version(), "  migrated");
	is_journal(db, "delete", "  rollback journal while it is filled");
	is_int(q1(db, "PRAGMA synchronous"), 2, "  synchronous FULL");
	ok(lk_db_exec(db, "BEGIN; INSERT INTO runs(config,status,started_ns) VALUES ('a','ok',1); COMMIT",
		      "t", &e) == 0, "  a committed row");
	ok(lk_db_exec(db, "BEGIN; INSERT INTO runs(config,status,started_ns) VALUES ('b','ok',2); ROLLBACK",
		      "t", &e) == 0, "  a rolled-back row");
	sqlite3 *ro;
	ok(lk_db_open_ro(p6, &ro, &e) == 0 && q1(ro, "SELECT count(*) FROM runs") == 1,
	   "  another connection reads the committed row only");
	lk_db_close(ro);
	lk_db_close(db);
	ok(access(strcat(strcpy(cmd_path, p6), "-journal"), F_OK) != 0, "  no journal left after close");
	sqlite3_open(p6, &f);
	is_journal(f, "wal", "  WAL after close");
	is_int(q1(f, "SELECT count(*) FROM runs"), 1, "  the committed row kept");
	sqlite3_close(f);
	ok(lk_db_open_fill(p6, &db, &e) == 0, "fill: an existing database");
	is_journal(db, "wal", "  opens in WAL, as lk_db_open");
	is_int(q1(db, "PRAGMA synchronous"), 1, "  synchronous NORMAL");
	lk_db_close(db);
	/* another connection open at close: stays in rollback mode, valid,
	 * until the next lk_db_open */
	unlink(p6);
	ok(lk_db_open_fill(p6, &db, &e) == 0, "fill: a new database again");
	lk_db_exec(db, "INSERT INTO runs(config,status,started_ns) VALUES ('c','ok',3)", "t", &e);
	sqlite3_open(p6, &f);
	sqlite3_stmt *rd; /* a read in progress: a shared lock */
	sqlite3_prepare_v2(f, "SELECT config FROM runs", -1, &rd, NULL);
	ok(sqlite3_step(rd) == SQLITE_ROW, "  another connection reading");
	lk_db_close(db);
	sqlite3_finalize(rd);
	is_journal(f, "delete", "  it reads at close: left in rollback mode");
	is_int(q1(f, "SELECT count(*) FROM runs"), 1, "  the row readable");
	sqlite3_close(f);
	ok(lk_db_open(p6, &db, &e) == 0, "  lk_db_open");
	is_journal(db, "wal", "  switches it to WAL");
	lk_db_close(db);

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
