#!/bin/sh
# The malformed-capture corpus (tests/helpers/mkpcap: every pcap/pcapng header
# field and every Ethernet/VLAN/IP/TCP header field broken in the ways that
# matter), run through `lrokit analyze`, each case against its exact
# expectation:
#   error: exit 1, exactly the one line "lrokit: error: FILE: MESSAGE", and the
#          database byte-for-byte as it was (same .dump);
#   warn:  exit 0, exactly the one line "lrokit: warning: FILE: MESSAGE", the
#          capture stored with its RECORDS records and TCP segment rows;
#   ok:    exit 0, nothing on stderr, stored likewise.
# The same file without --db: the same exit code and the same stderr.
. "$(dirname "$0")/lib.sh"
MK="$TOP/$LK_BUILD/tests/helpers/mkpcap"
TG="$TOP/$LK_BUILD/tests/helpers/tcpgen"
[ -x "$MK" ] && [ -x "$TG" ] || skip_all "mkpcap/tcpgen helpers not built"
command -v sqlite3 >/dev/null || skip_all "sqlite3 shell not installed"
mkdir "$TMP/c"
"$MK" "$TMP/c" > "$TMP/cases" || { echo "Bail out! mkpcap failed"; exit 1; }

ncases=$(wc -l < "$TMP/cases")
[ "$ncases" -ge 40 ]; ok $? "corpus has >= 40 cases ($ncases)"

# a database that already holds one capture: errors must leave it as it was
"$TG" 4 7 200 > "$TMP/base.pcap"
"$LK" analyze -q --db "$TMP/base.db" "$TMP/base.pcap" > /dev/null || { echo "Bail out! base ingest failed"; exit 1; }
base_dump=$(sqlite3 "$TMP/base.db" .dump | cksum)
base_caps=$(sqlite3 "$TMP/base.db" 'SELECT count(*) FROM captures')
base_pk=$(sqlite3 "$TMP/base.db" 'SELECT count(*) FROM packets')

while read -r name expect records tcp msg; do
	f="$TMP/c/$name.pcap"
	db="$TMP/db-$name.db"
	cp "$TMP/base.db" "$db"
	"$LK" analyze --db "$db" "$f" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	case "$expect" in
	error) want_rc=1; want_err="lrokit: error: $f: $msg" ;;
	warn)  want_rc=0; want_err="lrokit: warning: $f: $msg" ;;
	ok)    want_rc=0; want_err="" ;;
	*)     echo "Bail out! bad expectation '$expect' for $name"; exit 1 ;;
	esac
	is "$rc" "$want_rc" "$name: exit $want_rc"
	is "$(cat "$TMP/err")" "$want_err" "$name: stderr is exactly the expected $expect line"
	if [ "$expect" = error ]; then
		is "$(sqlite3 "$db" .dump | cksum)" "$base_dump" "$name: database untouched"
	else
		got=$(sqlite3 -separator / "$db" "SELECT (SELECT count(*) FROM captures),
			c.packets, c.tcp_packets, (SELECT count(*) FROM packets WHERE capture_id=c.capture_id),
			(SELECT count(*) FROM packets)
			FROM captures c WHERE c.path='$f'")
		is "$got" "$((base_caps + 1))/$records/$tcp/$tcp/$((base_pk + tcp))" \
			"$name: stored: 1 more capture, $records records, $tcp TCP segments and rows"
	fi
	# without a database: same outcome, same words
	"$LK" analyze "$f" > /dev/null 2> "$TMP/err2"
	rc2=$?
	[ "$rc2" = "$rc" ] && cmp -s "$TMP/err" "$TMP/err2"
	ok $? "$name: same exit code and message without --db"
	rm -f "$db" "$db-wal" "$db-shm"
done < "$TMP/cases"

# all cases in one invocation: every file reported, one bad file does not stop
# the others, the exit is 1, and exactly the good and warned files are stored
set --
while read -r name expect rest; do set -- "$@" "$TMP/c/$name.pcap"; done < "$TMP/cases"
"$LK" analyze -q --db "$TMP/all.db" "$@" > /dev/null 2> "$TMP/err"
is "$?" 1 "whole corpus in one run: exit 1"
nerr=$(awk '$2 == "error"' "$TMP/cases" | wc -l)
is "$(grep -c '^lrokit: error: ' "$TMP/err")" "$nerr" "whole corpus: one error line per bad file ($nerr)"
distinct=$(awk '$2 != "error" {print $1}' "$TMP/cases" | while read -r n; do cksum < "$TMP/c/$n.pcap"; done | sort -u | wc -l)
is "$(sqlite3 "$TMP/all.db" 'SELECT count(*) FROM captures')" "$distinct" \
	"whole corpus: every readable file stored, identical files once ($distinct)"
is "$(sqlite3 "$TMP/all.db" 'PRAGMA integrity_check')" ok "whole corpus: database integrity ok"
done_testing
