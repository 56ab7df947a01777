#!/bin/bash
# t-storage-faults: faults on the storage path. Each case checks the exact
# shape of the one error line (it names the database file and says what is
# wrong), the exit status (docs/design.md, Exit codes: 1), and the state of
# the database afterwards (PRAGMA integrity_check, the earlier content still
# there, nothing of the refused capture):
#   - `analyze --db` on a 4 MiB tmpfs that fills during the ingest (root: a
#     private mount namespace);
#   - a read-only database: on a read-only file system (root), a 0444 file
#     and a directory it may not write (an unprivileged user, setpriv);
#   - a database whose write lock another process holds past the busy
#     timeout (LROKIT_BUSY_TIMEOUT_MS shortens the 30 s): the holder's pid and
#     name from /proc/locks; and one released within the timeout: waited for;
#   - a file that is not a database (text, random bytes), a SQLite database
#     that is not lrokit's, a database from a newer lrokit: refused by analyze
#     and report, file unchanged;
#   - `lrokit report` on an empty database (exit 1, one line, no report
#     written) and on one holding only failed/aborted runs (exit 0, a report
#     that lists them and says no run finished ok).
. "$(dirname "$0")/lib.sh"
GEN="$TOP/$LK_BUILD/tests/helpers/tcpgen"
[ -x "$LK" ] || skip_all "lrokit not built"
[ -x "$GEN" ] || skip_all "helper tcpgen not built"
command -v sqlite3 >/dev/null || skip_all "sqlite3 (CLI) missing: make deps"
command -v python3 >/dev/null || skip_all "python3 missing: make deps"

re() { printf '%s' "$1" | sed 's/[][\.*^$()+?{}|]/\\&/g'; } # a literal string as an ERE
# one_line FILE ERE DESC: FILE holds exactly one line, matching ERE entirely
one_line() {
	local n; n=$(wc -l < "$1")
	[ "$n" -eq 1 ] && grep -Eqx "$2" "$1"
	ok $? "$3"
	[ "$n" -eq 1 ] && grep -Eqx "$2" "$1" || { diag "stderr ($n lines):"; sed 's/^/#   /' "$1"; diag "want: $2"; }
}
# state DB: integrity | captures | packets | pending capture rows | schema version
state() {
	sqlite3 "$1" "PRAGMA integrity_check; SELECT count(*) FROM captures; SELECT count(*) FROM packets;
		SELECT count(*) FROM captures WHERE sha256 LIKE 'pending:%'; PRAGMA user_version" 2>&1 | tr '\n' '|'
}
sum() { sha256sum "$1" | cut -d' ' -f1; }

D="$TMP/pub"; mkdir -p "$D"; chmod 755 "$D"; chmod 711 "$TMP" # reachable by an unprivileged user
"$GEN" 4 1 2000 > "$D/small.pcap" && "$GEN" 4 2 2000 > "$D/other.pcap" && chmod 644 "$D"/*.pcap
ok $? "test captures generated"
"$LK" analyze -q --db "$D/base.db" "$D/small.pcap" > /dev/null; is "$?" 0 "a database with one capture"
V=$(sqlite3 "$D/base.db" "PRAGMA user_version")
BASE="ok|1|2000|0|$V|"
is "$(state "$D/base.db")" "$BASE" "  ... intact, 1 capture, 2000 packets, schema v$V"
absent() { # absent DB: the other capture is not in DB
	sqlite3 "$1" "SELECT count(*) FROM captures WHERE path LIKE '%other.pcap' OR path LIKE '%big.pcap'"
}
am_root=0; [ "$(id -u)" -eq 0 ] && am_root=1
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
can_drop=0
[ $am_root = 1 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null &&
	nobody true 2>/dev/null && can_drop=1

# --- a full disk during the ingest ---
if [ $am_root = 1 ] && command -v unshare >/dev/null; then
	"$GEN" 4 3 60000 > "$D/big.pcap"
	M="$TMP/mnt"; mkdir -p "$M"
	# in a private mount namespace: the tmpfs is gone when the script ends
	unshare -m --propagation private bash -s "$M" "$D" "$LK" > "$TMP/full.out" 2>&1 <<-'EOF'
		M=$1 D=$2 LK=$3
		mount -t tmpfs -o size=4m lktest "$M" || { echo "mount failed"; exit 0; }
		cp "$D/base.db" "$M/t.db"
		"$LK" analyze -q --db "$M/t.db" "$D/big.pcap" > /dev/null 2> "$D/full.err"; echo "rc=$?"
		echo "state=$(sqlite3 "$M/t.db" "PRAGMA integrity_check; SELECT count(*) FROM captures;
			SELECT count(*) FROM packets; SELECT count(*) FROM captures WHERE sha256 LIKE 'pending:%';
			PRAGMA user_version" | tr '\n' '|')"
		echo "big=$(sqlite3 "$M/t.db" "SELECT count(*) FROM captures WHERE path LIKE '%big.pcap'")"
		"$LK" analyze -q --db "$M/t.db" "$D/other.pcap" > /dev/null 2>&1; echo "after=$?"
		echo "captures=$(sqlite3 "$M/t.db" "SELECT count(*) FROM captures")"
	EOF
	grep -q '^mount failed' "$TMP/full.out" && diag "tmpfs mount failed: $(cat "$TMP/full.out")"
	is "$(sed -n 's/^rc=//p' "$TMP/full.out")" 1 "full disk during analyze --db: exit 1"
	one_line "$D/full.err" "lrokit: error: $(re "$M/t.db"): the disk is full \(SQLite: database or disk is full\); $(re "$D/big.pcap") not stored \(while [a-z ]+; nothing of it kept\)" \
		"  ... one line naming the database, the full disk and the capture not stored: $(cat "$D/full.err")"
	is "$(sed -n 's/^state=//p' "$TMP/full.out")" "$BASE" "  ... database intact, the earlier capture still there, no partial rows"
	is "$(sed -n 's/^big=//p' "$TMP/full.out")" 0 "  ... the capture is absent"
	is "$(sed -n 's/^after=//p' "$TMP/full.out")/$(sed -n 's/^captures=//p' "$TMP/full.out")" "0/2" \
		"  ... and the database still takes a capture that fits"
else
	ok 0 "# SKIP full disk: needs root (a tmpfs in a private mount namespace)"
fi

# --- read-only database ---
if [ $am_root = 1 ] && command -v unshare >/dev/null; then
	R="$TMP/rofs"; mkdir -p "$R"; cp "$D/base.db" "$R/t.db"; before=$(sum "$R/t.db")
	unshare -m --propagation private bash -s "$R" "$D" "$LK" > "$TMP/ro.out" 2>&1 <<-'EOF'
		R=$1 D=$2 LK=$3
		mount --bind "$R" "$R" && mount -o remount,bind,ro "$R" || { echo "mount failed"; exit 0; }
		"$LK" analyze -q --db "$R/t.db" "$D/other.pcap" > /dev/null 2> "$D/ro.err"; echo "rc=$?"
	EOF
	is "$(sed -n 's/^rc=//p' "$TMP/ro.out")" 1 "database on a read-only file system: exit 1"
	one_line "$D/ro.err" "lrokit: error: $(re "$R/t.db"): the database is read-only \(cannot open it for writing: Read-only file system\)" \
		"  ... one line: $(cat "$D/ro.err")"
	is "$(sum "$R/t.db")/$(state "$R/t.db")/$(absent "$R/t.db")" "$before/$BASE/0" "  ... file unchanged, intact, the capture absent"
else
	ok 0 "# SKIP read-only file system: needs root (a read-only bind mount in a private mount namespace)"
fi
if [ $can_drop = 1 ] || [ $am_root = 0 ]; then
	run_user() { if [ $am_root = 1 ]; then nobody "$@"; else "$@"; fi; }
	W="$TMP/pub/ro"; mkdir -p "$W"; chmod 777 "$W"; cp "$D/base.db" "$W/t.db"; chmod 444 "$W/t.db"; before=$(sum "$W/t.db")
	run_user "$LK" analyze -q --db "$W/t.db" "$D/other.pcap" > /dev/null 2> "$TMP/e"; rc=$?
	is "$rc" 1 "a 0444 database file (unprivileged user): exit 1"
	one_line "$TMP/e" "lrokit: error: $(re "$W/t.db"): the database is read-only \(cannot open it for writing: Permission denied\)" \
		"  ... one line: $(cat "$TMP/e")"
	is "$(sum "$W/t.db")/$(state "$W/t.db")/$(absent "$W/t.db")" "$before/$BASE/0" "  ... file unchanged, intact, the capture absent"
	rm -f "$W/t.db-wal" "$W/t.db-shm"; chmod 666 "$W/t.db"; chmod 555 "$W"; before=$(sum "$W/t.db")
	run_user "$LK" analyze -q --db "$W/t.db" "$D/other.pcap" > /dev/null 2> "$TMP/e"; rc=$?
	is "$rc" 1 "a writable database in a directory the user may not write: exit 1"
	one_line "$TMP/e" "lrokit: error: $(re "$W/t.db"): the database is read-only: its directory $(re "$W") is not writable \(Permission denied\), and SQLite must create the -wal and -shm files there" \
		"  ... one line: $(cat "$TMP/e")"
	chmod 755 "$W"
	is "$(sum "$W/t.db")/$(state "$W/t.db")/$(absent "$W/t.db")" "$before/$BASE/0" "  ... file unchanged, intact, the capture absent"
else
	ok 0 "# SKIP read-only file and directory: needs setpriv and the user nobody to drop root"
fi

# --- locked past the busy timeout ---
L="$D/lk.db"; cp "$D/base.db" "$L"
hold() { # hold DB SECONDS: hold the write lock (BEGIN EXCLUSIVE) for SECONDS, in the background
	python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[1] + ".held", "w").close()
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")' "$1" "$2" &
	HOLDER=$!
	for _ in $(seq 100); do [ -e "$1.held" ] && break; sleep 0.05; done
	rm -f "$1.held"
}
hold "$L" 30
t0=$(date +%s%N)
LROKIT_BUSY_TIMEOUT_MS=1000 "$LK" analyze -q --db "$L" "$D/other.pcap" > /dev/null 2> "$TMP/e"; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
is "$rc" 1 "database locked by another writer past the busy timeout (1 s): exit 1"
[ "$ms" -ge 1000 ]; ok $? "  ... after waiting the timeout ($ms ms)"
one_line "$TMP/e" "lrokit: error: $(re "$L"): the database is locked: pid $HOLDER \(python3\) holds its write lock \(still held after waiting the busy timeout, 1 s\)" \
	"  ... one line naming the holder: $(cat "$TMP/e")"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
is "$(state "$L")/$(absent "$L")" "$BASE/0" "  ... intact, the capture absent"
hold "$L" 1
LROKIT_BUSY_TIMEOUT_MS=20000 "$LK" analyze -q --db "$L" "$D/other.pcap" > /dev/null 2> "$TMP/e"; rc=$?
wait "$HOLDER" 2>/dev/null
is "$rc/$(absent "$L")/$(wc -c < "$TMP/e")" "0/1/0" "a lock released within the busy timeout is waited for: stored, no message"

# --- not a database, not ours, newer ---
echo "this is not a database" > "$D/junk.db"; head -c 8192 /dev/urandom > "$D/rand.db"
for f in junk rand; do
	before=$(sum "$D/$f.db")
	"$LK" analyze -q --db "$D/$f.db" "$D/other.pcap" > /dev/null 2> "$TMP/e"; rc=$?
	is "$rc" 1 "analyze --db on a file that is not a database ($f): exit 1"
	one_line "$TMP/e" "lrokit: error: $(re "$D/$f.db"): not a SQLite database" "  ... one line: $(cat "$TMP/e")"
	is "$(sum "$D/$f.db")" "$before" "  ... file unchanged"
	"$LK" report --db "$D/$f.db" -o "$TMP/rep-$f" > /dev/null 2> "$TMP/e"; rc=$?
	is "$rc" 1 "report on it: exit 1"
	one_line "$TMP/e" "lrokit: error: report: $(re "$D/$f.db"): not a SQLite database" "  ... one line: $(cat "$TMP/e")"
done
sqlite3 "$D/foreign.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1)"; before=$(sum "$D/foreign.db")
"$LK" analyze -q --db "$D/foreign.db" "$D/other.pcap" > /dev/null 2> "$TMP/e"; rc=$?
is "$rc" 1 "a SQLite database that is not lrokit's: exit 1"
one_line "$TMP/e" "lrokit: error: $(re "$D/foreign.db"): a SQLite database, but not an lrokit one" "  ... one line: $(cat "$TMP/e")"
is "$(sum "$D/foreign.db")/$(sqlite3 "$D/foreign.db" 'SELECT count(*) FROM sqlite_schema')" "$before/1" "  ... unchanged, no lrokit table added"

N="$D/new.db"; cp "$D/base.db" "$N"; sqlite3 "$N" "PRAGMA user_version = $((V + 1))"
NEWER="ok|1|2000|0|$((V + 1))|"
"$LK" analyze -q --db "$N" "$D/other.pcap" > /dev/null 2> "$TMP/e"; rc=$?
is "$rc" 1 "a database from a newer lrokit (schema v$((V + 1))): exit 1"
one_line "$TMP/e" "lrokit: error: $(re "$N"): database schema v$((V + 1)) is newer than this lrokit \(v$V\)" "  ... one line: $(cat "$TMP/e")"
is "$(state "$N")/$(absent "$N")" "$NEWER/0" "  ... intact, still v$((V + 1)), the capture absent"
"$LK" report --db "$N" -o "$TMP/rep-new" > /dev/null 2> "$TMP/e"; rc=$?
is "$rc" 1 "report on it: exit 1"
one_line "$TMP/e" "lrokit: error: report: $(re "$N"): database schema v$((V + 1)) is newer than this lrokit \(v$V\)" "  ... one line: $(cat "$TMP/e")"

# --- report on an empty database, and on one with only failed runs ---
if command -v gnuplot >/dev/null; then
	E="$D/empty.db"; : > "$D/empty.pcap"
	"$LK" analyze -q --db "$E" "$D/empty.pcap" > /dev/null 2>&1 # creates the database, stores nothing
	is "$(state "$E")" "ok|0|0|0|$V|" "an empty database (schema only)"
	"$LK" report --db "$E" -o "$TMP/rep-empty" > "$TMP/o" 2> "$TMP/e"; rc=$?
	is "$rc" 1 "report on an empty database: exit 1 (documented in --help)"
	one_line "$TMP/e" "lrokit: error: report: $(re "$E"): no runs and no captures: nothing to report \(fill it with \`lrokit bench\` or \`lrokit analyze --db\`\)" \
		"  ... one line: $(cat "$TMP/e")"
	[ ! -e "$TMP/rep-empty" ] && [ ! -s "$TMP/o" ]; ok $? "  ... no report written, nothing on stdout"
	"$LK" report --help | grep -q "neither runs nor captures is an.*" ; ok $? "  ... report --help documents the exit status"

	F="$D/failed.db"; cp "$E" "$F"
	sqlite3 "$F" "INSERT INTO runs(config, status, started_ns, finished_ns, error) VALUES
		('native-lro', 'failed', 1000, 2000, 'sender: connection refused'),
		('dom0-lro', 'aborted', 3000, NULL, 'process ended without finishing the run')"
	"$LK" report --db "$F" -o "$TMP/rep-failed" > "$TMP/o" 2> "$TMP/e"; rc=$?
	is "$rc" 0 "report on a database holding only failed runs: exit 0 (documented in --help)"
	is "$(cat "$TMP/o")" "$TMP/rep-failed/report.html" "  ... prints the report's path"
	grep -Fxq "lrokit: report: figures 1, 2, 6, 7 need runs that finished ok; none did (2 failed or aborted, listed with their errors in report.html)" "$TMP/e"
	ok $? "  ... says no run finished ok: $(head -1 "$TMP/e")"
	h="$TMP/rep-failed/report.html"
	grep -q "No run in this database finished ok</b> (2 failed or aborted" "$h" &&
		grep -q "native-lro, failed: sender: connection refused" "$h" &&
		grep -q "dom0-lro, aborted: process ended without finishing the run" "$h" &&
		! grep -q "holds no benchmark runs" "$h"
	ok $? "  ... report.html says so and lists both runs with their errors"
else
	ok 0 "# SKIP report on empty and failed-only databases: gnuplot missing (make deps)"
fi
done_testing
