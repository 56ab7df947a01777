#!/bin/sh
# Bad input to `lrokit analyze --db` beyond single files (every case of the
# malformed-capture corpus, with its exact message, is in t-corpus.sh): the
# good rest of a partly bad file is stored, the same file is stored once,
# one bad file of several does not stop the others, usage errors, missing
# files and a database that is not one.
. "$(dirname "$0")/lib.sh"
MK="$TOP/$LK_BUILD/tests/helpers/mkpcap"
[ -x "$MK" ] || skip_all "mkpcap helper not built"
"$MK" "$TMP" > "$TMP/cases" || { echo "Bail out! mkpcap failed"; exit 1; }

# the good rest of a file with a bad packet is stored
db="$TMP/ip-ihl-lt5.db"
"$LK" analyze -q --db "$db" "$TMP/ip-ihl-lt5.pcap" > /dev/null
is "$?" 0 "partially bad file: exit 0"
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
# output that cannot be written: one line saying why, exit 1
if [ -w /dev/full ]; then
	"$LK" analyze "$TMP/good.pcap" > /dev/full 2> "$TMP/err"; is "$?" 1 "stdout full: exit 1"
	is "$(cat "$TMP/err")" "lrokit: error: writing output to stdout: No space left on device" \
		"stdout full: one line with the reason"
fi
# not a database
echo "garbage" > "$TMP/notdb.db"
"$LK" analyze --db "$TMP/notdb.db" "$TMP/good.pcap" >/dev/null 2>"$TMP/err"; is "$?" 1 "garbage database: exit 1"
grep -q "notdb.db" "$TMP/err"; ok $? "garbage database named"
done_testing
