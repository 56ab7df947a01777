#!/bin/sh
# Two `lrokit analyze --db same.db` at once both succeed and lose nothing
# (WAL or, while a new database is filled, the rollback journal; IMMEDIATE
# transactions; busy timeout):
#   - on a database that does not exist yet (both create and migrate it),
#     repeated, so the race is met in its different orders, and its
#     deterministic form (a writer holds the new database's lock);
#   - on an existing database, with large captures so the ingests overlap;
#   - the same file twice at once: stored once, the other says so;
#   - four at once;
#   - a reader (sqlite3) during the ingests sees complete captures only.
. "$(dirname "$0")/lib.sh"
TG="$TOP/$LK_BUILD/tests/helpers/tcpgen"
[ -x "$TG" ] || skip_all "tcpgen helper not built"
command -v sqlite3 >/dev/null || skip_all "sqlite3 shell not installed"
cp "$LK" "$TMP/lrokit" && LK="$TMP/lrokit"

# captures and their expected segment counts (analyzed alone, no database)
for s in 1 2 3 4; do "$TG" $((s % 2 ? 4 : 6)) "3$s" 300 > "$TMP/s$s.pcap"; done
for s in 1 2 3 4; do "$TG" $((s % 2 ? 4 : 6)) "4$s" 40000 > "$TMP/b$s.pcap"; done
tcp_of() { "$LK" analyze --json "$1" | sed -n 's/.*"tcp_packets":\([0-9]*\).*/\1/p'; }
for f in s1 s2 s3 s4 b1 b2 b3 b4; do eval "n_$f=\$(tcp_of \"\$TMP/$f.pcap\")"; done

# summary of a database: captures/tcp_packets/packet rows/flows
summary() {
	sqlite3 -separator / "$1" 'SELECT (SELECT count(*) FROM captures),
		(SELECT coalesce(sum(tcp_packets), 0) FROM captures), (SELECT count(*) FROM packets),
		(SELECT count(*) FROM captures WHERE sha256 LIKE "pending:%")'
}

# 1. a new database, created by both at once (25 rounds: before schema/db.c retried
# switching to WAL, about 1 round in 15 failed with "database is locked")
r=0
while [ $r -lt 25 ]; do
	r=$((r + 1))
	db="$TMP/new-$r.db"
	"$LK" analyze -q --db "$db" "$TMP/s1.pcap" > /dev/null 2> "$TMP/e1" & p1=$!
	"$LK" analyze -q --db "$db" "$TMP/s2.pcap" > /dev/null 2> "$TMP/e2" & p2=$!
	wait $p1; rc1=$?
	wait $p2; rc2=$?
	is "$rc1/$rc2" "0/0" "new db round $r: both exit 0"
	[ -s "$TMP/e1" ] || [ -s "$TMP/e2" ] && diag "$(cat "$TMP/e1" "$TMP/e2")"
	is "$(summary "$db")" "2/$((n_s1 + n_s2))/$((n_s1 + n_s2))/0" "new db round $r: both captures complete"
done

# 1b. the deterministic form of that race: another process holds a write
# transaction on a database not yet in WAL mode; analyze must wait for it
# (the busy timeout), not fail at once with "database is locked"
db="$TMP/held.db"
( echo "BEGIN IMMEDIATE; CREATE TABLE held(x);"; sleep 1; echo "ROLLBACK;" ) | sqlite3 "$db" &
holder=$!
sleep 0.3
"$LK" analyze -q --db "$db" "$TMP/s1.pcap" > /dev/null 2> "$TMP/e1"
is "$?/$(cat "$TMP/e1")" "0/" "a new database locked by another writer: analyze waits and succeeds"
wait $holder
is "$(summary "$db")" "1/$n_s1/$n_s1/0" "a new database locked by another writer: capture stored"

# 2. an existing database, large overlapping ingests
db="$TMP/big.db"
"$LK" analyze -q --db "$db" "$TMP/s3.pcap" > /dev/null
"$LK" analyze -q --db "$db" "$TMP/b1.pcap" > /dev/null 2> "$TMP/e1" & p1=$!
"$LK" analyze -q --db "$db" "$TMP/b2.pcap" > /dev/null 2> "$TMP/e2" & p2=$!
# a reader meanwhile: never a half-written capture
bad=0 polls=0
while kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null; do
	v=$(sqlite3 "$db" "SELECT count(*) FROM captures c WHERE sha256 LIKE 'pending:%' OR
		tcp_packets != (SELECT count(*) FROM packets p WHERE p.capture_id = c.capture_id)" 2>&1)
	case "$v" in 0|*locked*|*busy*) ;; *) bad=$((bad + 1)); diag "reader saw: $v" ;; esac
	polls=$((polls + 1))
done
diag "reader polled $polls times during the ingests"
wait $p1; rc1=$?
wait $p2; rc2=$?
is "$rc1/$rc2" "0/0" "existing db: both large ingests exit 0"
is "$(cat "$TMP/e1" "$TMP/e2")" "" "existing db: no messages"
tot=$((n_s3 + n_b1 + n_b2))
is "$(summary "$db")" "3/$tot/$tot/0" "existing db: no rows lost ($tot segments)"
is "$bad:$([ $polls -gt 0 ]; echo $?)" "0:0" "a concurrent reader never saw a half-written capture ($polls polls)"

# 3. the same file twice at once: stored once, the other one says it is a duplicate
db="$TMP/same.db"
"$LK" analyze --db "$db" "$TMP/b3.pcap" > /dev/null 2> "$TMP/e1" & p1=$!
"$LK" analyze --db "$db" "$TMP/b3.pcap" > /dev/null 2> "$TMP/e2" & p2=$!
wait $p1; rc1=$?
wait $p2; rc2=$?
is "$rc1/$rc2" "0/0" "same file twice at once: both exit 0"
is "$(summary "$db")" "1/$n_b3/$n_b3/0" "same file twice at once: stored once"
is "$(cat "$TMP/e1" "$TMP/e2" | grep -c 'already in .* (same SHA-256); not stored again')" 1 \
	"same file twice at once: the second says it is already there"

# 4. four at once on a new database
db="$TMP/four.db"
pids=
for f in s1 s2 b3 b4; do
	"$LK" analyze -q --db "$db" "$TMP/$f.pcap" > /dev/null 2>> "$TMP/e4" & pids="$pids $!"
done
rcs=
for p in $pids; do wait "$p"; rcs="$rcs$?"; done
is "$rcs" "0000" "four at once: all exit 0"
tot=$((n_s1 + n_s2 + n_b3 + n_b4))
is "$(summary "$db")" "4/$tot/$tot/0" "four at once: no rows lost"
# every database made above: 25 new, held, big, same, four
nd=0 bad=
for d in "$TMP"/*.db; do
	nd=$((nd + 1))
	ic=$(sqlite3 "$d" 'PRAGMA integrity_check' 2>&1)
	[ "$ic" = ok ] || bad="$bad $(basename "$d"): $ic;"
done
is "$nd:$bad" "29:" "integrity_check ok on every database ($nd)"
done_testing
