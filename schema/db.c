/* schema/db.c - open/create/migrate the lrokit database. See db.h. */
#include "schema/db.h"
#include "schema/migrations.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

int lk_db_schema_version(void) { return lk_n_migrations; }

/* The busy timeout of every connection (ms), read once. */
static int busy_ms = 30000;

static void busy_setup(void)
{
	const char *v = getenv(LK_DB_BUSY_ENV);
	char *end;
	long ms = v ? strtol(v, &end, 10) : -1;
	if (v && *v && !*end && ms >= 0 && ms <= 3600000)
		busy_ms = (int)ms;
}

int lk_db_busy_timeout_ms(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, busy_setup);
	return busy_ms;
}

/* A failed SQLite call that is about the database file or its storage (not
 * about the SQL or the data): the faults lk_db_fail explains. */
static bool storage_fault(int xrc)
{
	switch (xrc & 0xff) {
	case SQLITE_FULL: case SQLITE_READONLY: case SQLITE_BUSY: case SQLITE_LOCKED:
	case SQLITE_NOTADB: case SQLITE_CORRUPT: case SQLITE_IOERR: case SQLITE_CANTOPEN:
	case SQLITE_PERM: case SQLITE_PROTOCOL:
		return true;
	default:
		return false;
	}
}

/* "pid N (COMM)" of a process other than this one that holds a POSIX write
 * lock on the database file, its -wal or its -shm (/proc/locks: the WAL
 * writer's lock is on the -shm file, a rollback-journal writer's on the
 * database), or "" when none is visible. */
static void lock_holder(const char *path, char *out, size_t n)
{
	out[0] = 0;
	struct { dev_t dev; ino_t ino; } f[3];
	int nf = 0;
	for (int i = 0; i < 3; i++) {
		char p[4200];
		struct stat st;
		snprintf(p, sizeof p, "%s%s", path, i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		if (stat(p, &st) == 0) {
			f[nf].dev = st.st_dev;
			f[nf++].ino = st.st_ino;
		}
	}
	FILE *lk = nf ? fopen("/proc/locks", "r") : NULL;
	if (!lk)
		return;
	char line[512];
	long self = (long)getpid(), pid = 0;
	while (!pid && fgets(line, sizeof line, lk)) {
		/* "1: POSIX  ADVISORY  WRITE 8626 fe:00:10954756 120 120"; waiters
		 * ("1: -> POSIX ...") hold nothing */
		char kind[16], mode[16], type[16];
		unsigned maj, min;
		unsigned long long ino;
		long p;
		if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, mode, type, &p, &maj, &min,
			   &ino) != 7 || strcmp(type, "WRITE") || p <= 0 || p == self)
			continue;
		for (int i = 0; i < nf; i++)
			if (f[i].ino == (ino_t)ino && major(f[i].dev) == maj && minor(f[i].dev) == min)
				pid = p;
	}
	fclose(lk);
	if (!pid)
		return;
	char p[64], comm[64] = "";
	snprintf(p, sizeof p, "/proc/%ld/comm", pid);
	FILE *c = fopen(p, "r");
	if (c) {
		if (fgets(comm, sizeof comm, c))
			comm[strcspn(comm, "\n")] = 0;
		fclose(c);
	}
	snprintf(out, n, comm[0] ? "pid %ld (%s)" : "pid %ld", pid, comm);
}

/* Why the database at path cannot be written, in plain words. */
static void readonly_why(const char *path, char *out, size_t n)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		snprintf(out, n, "the database is read-only (cannot open it for writing: %s)", strerror(errno));
		return;
	}
	if (fd >= 0)
		close(fd);
	char d[4200];
	snprintf(d, sizeof d, "%s", path);
	const char *dir = dirname(d);
	if (access(dir, W_OK | X_OK) < 0) {
		snprintf(out, n, "the database is read-only: its directory %s is not writable (%s), and "
			 "SQLite must create the -wal and -shm files there", dir, strerror(errno));
		return;
	}
	for (int i = 0; i < 2; i++) {
		char p[4200];
		snprintf(p, sizeof p, "%s%s", path, i ? "-shm" : "-wal");
		fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		else if (errno != ENOENT) {
			snprintf(out, n, "the database is read-only: %s cannot be opened for writing (%s)", p,
				 strerror(errno));
			return;
		}
	}
	snprintf(out, n, "the database is read-only");
}

int lk_db_fail(struct lk_err *e, sqlite3 *db, const char *path, const char *what)
{
	int xrc = sqlite3_extended_errcode(db), syserr = sqlite3_system_errno(db);
	const char *msg = sqlite3_errmsg(db);
	if (!path || !*path)
		path = sqlite3_db_filename(db, "main");
	if (!path || !*path)
		path = "(database)";
	char why[8192];
	switch (xrc & 0xff) {
	case SQLITE_FULL:
		snprintf(why, sizeof why, "the disk is full (SQLite: %s)", msg);
		break;
	case SQLITE_READONLY:
		readonly_why(path, why, sizeof why);
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: {
		char who[128];
		int ms = lk_db_busy_timeout_ms();
		char t[32];
		if (ms % 1000)
			snprintf(t, sizeof t, "%d ms", ms);
		else
			snprintf(t, sizeof t, "%d s", ms / 1000);
		lock_holder(path, who, sizeof who);
		snprintf(why, sizeof why, "the database is locked: %s holds its write lock (still held after "
			 "waiting the busy timeout, %s)", who[0] ? who : "another process", t);
		break;
	}
	case SQLITE_NOTADB:
		snprintf(why, sizeof why, "not a SQLite database");
		break;
	case SQLITE_CORRUPT:
		snprintf(why, sizeof why, "the database is corrupt (SQLite: %s)", msg);
		break;
	case SQLITE_IOERR:
		if (syserr == ENOSPC || syserr == EDQUOT)
			snprintf(why, sizeof why, "the disk is full (%s)", strerror(syserr));
		else
			snprintf(why, sizeof why, "I/O error (SQLite: %s%s%s)", msg, syserr ? ": " : "",
				 syserr ? strerror(syserr) : "");
		break;
	case SQLITE_CANTOPEN:
		snprintf(why, sizeof why, "cannot open the database%s%s", syserr ? ": " : "",
			 syserr ? strerror(syserr) : "");
		break;
	default:
		snprintf(why, sizeof why, "%s", msg);
		break;
	}
	if (what && *what)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s; %s", path, why, what);
	return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, why);
}

int lk_db_exec(sqlite3 *db, const char *sql, const char *what, struct lk_err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (storage_fault(sqlite3_extended_errcode(db)))
			lk_db_fail(e, db, NULL, NULL);
		else
			lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* The integer a one-value PRAGMA returns ("PRAGMA user_version"). */
static int pragma_int(sqlite3 *db, const char *sql, int *v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int user_version(sqlite3 *db, int *v) { return pragma_int(db, "PRAGMA user_version", v); }

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

/* A database of schema version v that this lrokit may use: ours (or empty)
 * and not newer. */
static int check_version(sqlite3 *db, const char *path, int v, struct lk_err *e)
{
	if (v > lk_n_migrations)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: database schema v%d is newer than this lrokit (v%d)", path,
			       v, lk_n_migrations);
	return check_ours(db, path, v, e);
}

/* All the migrations a database needs run in one transaction: a process
 * killed while creating or upgrading the schema leaves it as it was (absent
 * or at its old version), never at a version in between. */
static int migrate(sqlite3 *db, const char *path, struct lk_err *e)
{
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return lk_db_fail(e, db, path, NULL);
	int v;
	if (user_version(db, &v) < 0) {
		lk_db_fail(e, db, path, NULL);
		goto fail;
	}
	if (check_version(db, path, v, e) < 0)
		goto fail;
	for (; v < lk_n_migrations; v++) {
		char what[600];
		snprintf(what, sizeof what, "%s: migration to schema v%d", path, v + 1);
		if (lk_db_exec(db, lk_migrations[v], what, e) < 0)
			goto fail;
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if (lk_db_exec(db, pragma, what, e) < 0)
			goto fail;
	}
	if (lk_db_exec(db, "COMMIT", path, e) == 0)
		return 0;
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
		if (d)
			lk_db_fail(e, d, path, NULL);
		else
			lk_errf(e, LK_EXIT_RUNTIME, "%s: cannot open database: out of memory", path);
		sqlite3_close(d);
		return -1;
	}
	sqlite3_busy_timeout(d, lk_db_busy_timeout_ms());
	sqlite3_extended_result_codes(d, 1);
	*db = d;
	return 0;
}

static int open_rw(const char *path, sqlite3 **db, bool fill, struct lk_err *e)
{
	*db = NULL;
	sqlite3 *d;
	if (open_common(path, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, e) < 0)
		return -1;
	/* SQLite opens a file it may not write read-only, silently: say so now,
	 * not at the first write */
	if (sqlite3_db_readonly(d, "main") == 1) {
		char why[8192];
		readonly_why(path, why, sizeof why);
		lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, why);
		sqlite3_close(d);
		return -1;
	}
	/* refuse a file that is not ours or is newer before changing anything
	 * in it (the journal mode and page size below); one read transaction:
	 * another lrokit may be creating the same database */
	int v = 0, pages = -1;
	int ok = sqlite3_exec(d, "BEGIN", NULL, NULL, NULL) == SQLITE_OK && user_version(d, &v) == 0 &&
		 (!fill || pragma_int(d, "PRAGMA page_count", &pages) == 0);
	if (!ok)
		lk_db_fail(e, d, path, NULL);
	ok = ok && check_version(d, path, v, e) == 0;
	sqlite3_exec(d, "COMMIT", NULL, NULL, NULL);
	if (!ok) {
		sqlite3_close(d);
		return -1;
	}
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
	 * make perf-analyze).
	 * A new (empty) database opened to be filled (lk_db_open_fill) stays in
	 * rollback-journal mode, synchronous FULL, until lk_db_close: see db.h. */
	bool rollback = fill && pages == 0;
	char journal[64], settings[128];
	snprintf(journal, sizeof journal, "PRAGMA page_size=65536; PRAGMA journal_mode=%s",
		 rollback ? "DELETE" : "WAL");
	snprintf(settings, sizeof settings, "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; "
		 "PRAGMA cache_size=-8192;", rollback ? "FULL" : "NORMAL");
	char *msg = NULL;
	int rc;
	for (int tries = 0;; tries++) {
		rc = sqlite3_exec(d, journal, NULL, NULL, &msg);
		if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
		    tries >= lk_db_busy_timeout_ms() / 10)
			break;
		sqlite3_free(msg);
		msg = NULL;
		sqlite3_sleep(10);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d, settings, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		if (storage_fault(sqlite3_extended_errcode(d)))
			lk_db_fail(e, d, path, NULL);
		else
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

int lk_db_open(const char *path, sqlite3 **db, struct lk_err *e)
{
	return open_rw(path, db, false, e);
}

int lk_db_open_fill(const char *path, sqlite3 **db, struct lk_err *e)
{
	return open_rw(path, db, true, e);
}

int lk_db_open_ro(const char *path, sqlite3 **db, struct lk_err *e)
{
	*db = NULL;
	sqlite3 *d;
	if (open_common(path, &d, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, e) < 0)
		return -1;
	int v = -1;
	if (user_version(d, &v) < 0) {
		lk_db_fail(e, d, path, NULL);
		sqlite3_close(d);
		return -1;
	}
	if (v == 0) {
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

/* The connection's journal mode is WAL (or it cannot write)? */
static bool wal_or_ro(sqlite3 *db)
{
	if (sqlite3_db_readonly(db, "main") != 0)
		return true;
	sqlite3_stmt *st;
	bool wal = true; /* unknown: leave it */
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *m = sqlite3_column_text(st, 0);
			wal = m && !strcmp((const char *)m, "wal");
		}
		sqlite3_finalize(st);
	}
	return wal;
}

void lk_db_close(sqlite3 *db)
{
	if (!db)
		return;
	/* a database created by lk_db_open_fill: to WAL now. One try, without
	 * waiting: when another connection has it open, it stays in rollback
	 * mode (valid, and the next lk_db_open switches it). */
	if (!wal_or_ro(db)) {
		sqlite3_busy_timeout(db, 0);
		sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	}
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
