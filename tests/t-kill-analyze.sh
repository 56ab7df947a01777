#!/bin/sh
# Kill safety of `lrokit analyze --db`: SIGINT, SIGTERM and SIGKILL at random
# points (10 trials each) of ingesting a generated capture, half of the trials
# into a fresh database (the kill may land while the schema is created), half
# into one that already holds a capture. Afterwards:
#   - the process is gone, and no process is left holding the database;
#   - PRAGMA integrity_check is ok, the schema is not half-migrated;
#   - the capture is absent, or complete (all its records, segments and
#     packet rows; no provisional 'pending:' row), never half-written;
#   - what the database held before is intact;
#   - the next `lrokit analyze --db` on the same database succeeds and
#     leaves exactly one complete copy of the capture.
. "$(dirname "$0")/lib.sh"
TG="$TOP/$LK_BUILD/tests/helpers/tcpgen"
[ -x "$TG" ] || skip_all "tcpgen helper not built"
command -v sqlite3 >/dev/null || skip_all "sqlite3 shell not installed"
TRIALS=${LK_KILL_TRIALS:-10}
# a private copy of the binary: a rebuild of the tree while we run must not matter
cp "$LK" "$TMP/lrokit" && LK="$TMP/lrokit"

# random integer in [0, $1)
rnd() { echo $(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % $1 )); }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

"$TG" 4 21 150 > "$TMP/small.pcap"
"$LK" analyze -q --db "$TMP/base.db" "$TMP/small.pcap" > /dev/null || { echo "Bail out! base ingest failed"; exit 1; }
base_rows=$(sqlite3 "$TMP/base.db" 'SELECT count(*) FROM captures; SELECT count(*) FROM flows; SELECT count(*) FROM packets' | tr '\n' /)
schema_v=$(sqlite3 "$TMP/base.db" 'PRAGMA user_version')

# the big capture: 60000 segments, a few hundred ms of ingest here
"$TG" 4 22 60000 > "$TMP/big.pcap"
"$LK" analyze --json "$TMP/big.pcap" > "$TMP/big.json" 2>/dev/null
want_rec=$(sed -n 's/.*"records":\([0-9]*\).*/\1/p' "$TMP/big.json")
want_tcp=$(sed -n 's/.*"tcp_packets":\([0-9]*\).*/\1/p' "$TMP/big.json")
[ -n "$want_rec" ] && [ "$want_tcp" -gt 0 ] || { echo "Bail out! cannot analyze the big capture"; exit 1; }
span=
for k in 1 2 3; do # the fastest of 3 full ingests: kills then land mostly mid-ingest
	rm -f "$TMP/timing.db"*
	t0=$(now_ms)
	"$LK" analyze -q --db "$TMP/timing.db" "$TMP/big.pcap" > /dev/null
	t=$(( $(now_ms) - t0 ))
	[ -z "$span" ] || [ "$t" -lt "$span" ] && span=$t
done
[ "$span" -ge 50 ] || span=50
diag "full ingest of $want_rec records takes ${span} ms here; killing at random points of [0, $span] ms"

# processes that have the database (or its -wal/-shm) open
holders() { find /proc/[0-9]*/fd -maxdepth 1 -lname "$1*" 2>/dev/null | cut -d/ -f3 | sort -u; }

committed=0 absent=0
for sig in INT TERM KILL; do
	i=0
	while [ $i -lt "$TRIALS" ]; do
		i=$((i + 1))
		db="$TMP/k-$sig-$i.db"
		fresh=$((i % 2))
		[ $fresh -eq 1 ] || cp "$TMP/base.db" "$db"
		"$LK" analyze -q --db "$db" "$TMP/big.pcap" > /dev/null 2>&1 &
		pid=$!
		d=$(rnd "$span")
		sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
		kill -s "$sig" "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=$?
		t="$sig #$i ($([ $fresh -eq 1 ] && echo fresh || echo existing) db, ${d} ms, exit $rc)"
		kill -0 "$pid" 2>/dev/null; is "$?" 1 "$t: process gone"
		is "$(holders "$db")" "" "$t: no process holds the database"
		is "$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1)" ok "$t: integrity_check ok"
		v=$(sqlite3 "$db" 'PRAGMA user_version' 2>&1)
		ntab=$(sqlite3 "$db" "SELECT count(*) FROM sqlite_schema WHERE type='table'" 2>&1)
		{ [ "$v" = 0 ] && [ "$ntab" = 0 ]; } || { [ "$v" = "$schema_v" ] && [ "$ntab" -gt 0 ]; }
		ok $? "$t: schema absent or complete (v$v, $ntab tables)"
		st=$(sqlite3 -separator / "$db" "SELECT count(*), coalesce(sum(packets), 0),
			coalesce(sum(tcp_packets), 0), (SELECT count(*) FROM packets p JOIN captures c
			USING (capture_id) WHERE c.path='$TMP/big.pcap'),
			(SELECT count(*) FROM captures WHERE sha256 LIKE 'pending:%')
			FROM captures WHERE path='$TMP/big.pcap'" 2>/dev/null || echo "0/0/0/0/0")
		case "$st" in
		0/0/0/0/0) absent=$((absent + 1)); ok 0 "$t: capture absent" ;;
		*) committed=$((committed + 1))
		   is "$st" "1/$want_rec/$want_tcp/$want_tcp/0" "$t: capture complete" ;;
		esac
		if [ $fresh -eq 0 ]; then
			is "$(sqlite3 "$db" "SELECT count(*) FROM captures WHERE path!='$TMP/big.pcap';
				SELECT count(*) FROM flows f JOIN captures c USING (capture_id) WHERE c.path!='$TMP/big.pcap';
				SELECT count(*) FROM packets p JOIN captures c USING (capture_id) WHERE c.path!='$TMP/big.pcap'" | tr '\n' /)" \
				"$base_rows" "$t: earlier capture intact"
		fi
		# the next command on the same database
		"$LK" analyze -q --db "$db" "$TMP/big.pcap" > /dev/null 2> "$TMP/err"
		is "$?" 0 "$t: next analyze succeeds"
		is "$(sqlite3 -separator / "$db" "SELECT count(*), sum(packets), sum(tcp_packets),
			(SELECT count(*) FROM packets p JOIN captures c USING (capture_id) WHERE c.path='$TMP/big.pcap')
			FROM captures WHERE path='$TMP/big.pcap'")" "1/$want_rec/$want_tcp/$want_tcp" \
			"$t: then exactly one complete copy"
		rm -f "$db" "$db-wal" "$db-shm" "$db-journal"
	done
done
diag "kills before the commit: $absent, after: $committed"
done_testing
