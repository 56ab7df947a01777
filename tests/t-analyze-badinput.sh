#!/bin/sh
# Bad input to `lrokit analyze --db`: every broken capture gives one clear
# line naming the file and the problem (error, exit 1, nothing stored) or a
# warning with a count of skipped packets (exit 0, the good rest stored).
. "$(dirname "$0")/lib.sh"
MK="$TOP/$LK_BUILD/tests/helpers/mkpcap"
[ -x "$MK" ] || skip_all "mkpcap helper not built"
"$MK" "$TMP" > "$TMP/cases" || { echo "Bail out! mkpcap failed"; exit 1; }

expect_msg() { # case -> substring of the expected stderr line
	case "$1" in
	empty) echo "empty file" ;;
	not-a-capture) echo "not a pcap or pcapng capture" ;;
	trunc-file-header) echo "truncated file header" ;;
	unknown-linktype) echo "unsupported link type 147" ;;
	absurd-caplen) echo "corrupt record after record 3" ;;
	trunc-last-record*) echo "last record truncated" ;;
	non-tcp) echo "skipped 2 of 2 records (2 not TCP)" ;;
	tcpopt-*) echo "1 TCP segments with malformed options" ;;
	tcp-doff-lt5) echo "skipped 1 of 4 records (1 TCP data offset < 5)" ;;
	ip-ihl-lt5) echo "skipped 1 of 4 records (1 IPv4 header length < 5)" ;;
	ip-totlen-short) echo "skipped 1 of 4 records (1 IP total length shorter than its headers)" ;;
	good) echo "" ;;
	esac
}

while read -r name expect; do
	f="$TMP/$name.pcap"
	db="$TMP/$name.db"
	"$LK" analyze --db "$db" "$f" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	msg=$(expect_msg "$name")
	nlines=$(wc -l < "$TMP/err")
	caps=$(sqlite3 "$db" 'SELECT count(*) FROM captures' 2>/dev/null || echo none)
	flows=$(sqlite3 "$db" 'SELECT count(*) FROM flows' 2>/dev/null || echo none)
	pk=$(sqlite3 "$db" 'SELECT count(*) FROM packets' 2>/dev/null || echo none)
	case "$expect" in
	error)
		is "$rc" 1 "$name: exit 1"
		is "$nlines" 1 "$name: exactly one stderr line"
		grep -q "error: $f: .*$msg" "$TMP/err"; ok $? "$name: names file and problem ($msg)"
		is "$caps/$flows/$pk" "0/0/0" "$name: nothing left in the database"
		;;
	warn)
		is "$rc" 0 "$name: exit 0"
		is "$nlines" 1 "$name: exactly one warning line"
		grep -q "warning: $f: .*$msg" "$TMP/err"; ok $? "$name: warning names file and count ($msg)"
		;;
	ok)
		is "$rc" 0 "$name: exit 0"
		is "$nlines" 0 "$name: no warnings"
		is "$caps/$flows/$pk" "1/1/3" "$name: capture, flow and packets stored"
		;;
	esac
	[ -s "$TMP/err" ] && diag "$(cat "$TMP/err")"
done < "$TMP/cases"

# the good rest of a file with a bad packet is stored
db="$TMP/ip-ihl-lt5.db"
is "$(sqlite3 "$db" 'SELECT tcp_packets||"/"||packets FROM captures')" "3/4" "partially bad file: good packets stored"
# same file twice: stored once
"$LK" analyze -q --db "$TMP/twice.db" "$TMP/good.pcap" >/dev/null 2>&1
cp "$TMP/good.pcap" "$TMP/good-copy.pcap"
"$LK" analyze --db "$TMP/twice.db" "$TMP/good-copy.pcap" >/dev/null 2>"$TMP/err"
is "$(sqlite3 "$TMP/twice.db" 'SELECT count(*) FROM captures')/$(sqlite3 "$TMP/twice.db" 'SELECT count(*) FROM packets')" "1/3" "same SHA-256 not ingested twice"
grep -q "already in" "$TMP/err"; ok $? "duplicate is reported"
# several files: one bad one does not stop the others, exit is 1
"$LK" analyze --db "$TMP/multi.db" "$TMP/good.pcap" "$TMP/empty.pcap" >/dev/null 2>"$TMP/err"
is "$?" 1 "mixed good+bad files: exit 1"
is "$(sqlite3 "$TMP/multi.db" 'SELECT count(*) FROM captures')" 1 "good file of the batch stored"
# usage errors
"$LK" analyze >/dev/null 2>&1; is "$?" 2 "no file: usage exit 2"
"$LK" analyze --bogus x >/dev/null 2>&1; is "$?" 2 "unknown option: usage exit 2"
"$LK" analyze "$TMP/does-not-exist.pcap" >/dev/null 2>"$TMP/err"; is "$?" 1 "missing file: exit 1"
grep -q "does-not-exist.pcap: No such file" "$TMP/err"; ok $? "missing file named"
# not a database
echo "garbage" > "$TMP/notdb.db"
"$LK" analyze --db "$TMP/notdb.db" "$TMP/good.pcap" >/dev/null 2>"$TMP/err"; is "$?" 1 "garbage database: exit 1"
grep -q "notdb.db" "$TMP/err"; ok $? "garbage database named"
done_testing
