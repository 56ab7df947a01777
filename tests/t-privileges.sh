#!/bin/sh
# Privileges: `analyze`, `replay` and `report` work as an unprivileged user
# (nobody, no capabilities); `run` and `bench` refuse without root, and
# without CAP_NET_ADMIN even as uid 0, with one clear line and exit 3, leaving
# nothing behind (no namespace, no database rows, no report).
. "$(dirname "$0")/lib.sh"
TG="$TOP/$LK_BUILD/tests/helpers/tcpgen"
[ -x "$TG" ] || skip_all "tcpgen helper not built"
command -v sqlite3 >/dev/null || skip_all "sqlite3 shell not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to switch to an unprivileged user (setpriv)"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not installed"
id nobody >/dev/null 2>&1 || skip_all "no user 'nobody'"
NOGROUP=$(id -gn nobody)
AS_NOBODY="setpriv --reuid=nobody --regid=$NOGROUP --clear-groups"
# uid 0 without CAP_NET_ADMIN (not in the bounding or inheritable set: not regained by exec)
NO_NETADMIN="setpriv --bounding-set=-net_admin --inh-caps=-net_admin"

# TAP "TODO" result: reported, not counted as a failure (a known gap of
# another module, named in the description)
todo() { # todo STATUS DESC REASON
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_tap_n - $2 # TODO $3"; else echo "not ok $_tap_n - $2 # TODO $3"; fi
}

# a world-readable copy of the binary and the inputs, a directory nobody owns
chmod 755 "$TMP"
U="$TMP/u"
mkdir "$U" && chown nobody "$U"
cp "$LK" "$TMP/lrokit" && chmod 755 "$TMP/lrokit"
LK="$TMP/lrokit"
"$TG" 4 9 400 > "$TMP/in.pcap" && chmod 644 "$TMP/in.pcap"

caps=$($AS_NOBODY sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')
is "$caps" "0000000000000000" "the unprivileged user has no capabilities"

# ---- analyze ----
( cd "$U" && $AS_NOBODY "$LK" analyze --db "$U/a.db" "$TMP/in.pcap" > "$U/out" 2> "$TMP/err" )
is "$?" 0 "analyze --db as nobody: exit 0"
is "$(cat "$TMP/err")" "" "analyze as nobody: no messages"
is "$(sqlite3 "$U/a.db" 'SELECT count(*) FROM captures')" 1 "analyze as nobody: capture stored"
is "$(stat -c %U "$U/a.db")" nobody "analyze as nobody: the database belongs to nobody"
$AS_NOBODY "$LK" analyze --json "$TMP/in.pcap" > /dev/null 2>&1
is "$?" 0 "analyze --json as nobody: exit 0"
# what an unprivileged user cannot touch: one clear line, exit 1
chmod 600 "$TMP/in.pcap"
$AS_NOBODY "$LK" analyze "$TMP/in.pcap" > /dev/null 2> "$TMP/err"
is "$?" 1 "unreadable capture: exit 1"
is "$(cat "$TMP/err")" "lrokit: error: $TMP/in.pcap: Permission denied" "unreadable capture: one line naming it"
chmod 644 "$TMP/in.pcap"
mkdir "$TMP/ro" && chmod 755 "$TMP/ro"
$AS_NOBODY "$LK" analyze --db "$TMP/ro/x.db" "$TMP/in.pcap" > /dev/null 2> "$TMP/err"
is "$?" 1 "database in a directory nobody may not write: exit 1"
is "$(wc -l < "$TMP/err")" 1 "database not writable: one line"
grep -q "$TMP/ro/x.db" "$TMP/err"; ok $? "database not writable: the line names the database"

# ---- replay ----
$AS_NOBODY "$LK" replay --json "$TMP/in.pcap" > "$U/replay.json" 2> "$TMP/err"
is "$?" 0 "replay as nobody: exit 0"
grep -q '"packets_in":' "$U/replay.json"; ok $? "replay as nobody: JSON result"
$AS_NOBODY "$LK" replay -w "$U/out.pcap" "$TMP/in.pcap" > /dev/null 2>&1
is "$?" 0 "replay -w as nobody: exit 0"
[ -s "$U/out.pcap" ]; ok $? "replay -w as nobody: output capture written"

# ---- report ----
( cd "$U" && $AS_NOBODY "$LK" report -q --db "$U/a.db" -o "$U/rep" > /dev/null 2> "$TMP/err" )
is "$?" 0 "report as nobody: exit 0"
[ -s "$U/rep/report.html" ]; ok $? "report as nobody: report.html written"

# ---- run and bench refuse ----
ns_before=$(ip netns list 2>/dev/null | awk '{print $1}' | sort)
# refuse TODO-REASON LINE-TODO WHO-PREFIX LABEL CMD...: exit 3, one line
# naming root / CAP_NET_ADMIN, no run stored (run: --db $U/db.db), no report
# or results folder (bench: --out $U/res). With a TODO-REASON
# the results are TAP TODO (a known gap of the command, reported, not failing
# the suite); LINE-TODO: only the one-line check is.
chk() { if [ -n "$todo_reason" ]; then todo "$1" "$2" "$todo_reason"; else ok "$1" "$2"; fi; }
refuse() {
	todo_all=$1 todo_line=$2 pre=$3 label=$4; shift 4
	todo_reason=$todo_all
	rm -rf "$U/db.db" "$U/rep" "$U/res"
	( cd "$U" && exec $pre "$LK" "$@" > "$TMP/out" 2> "$TMP/err" )
	rc=$?
	[ "$rc" -eq 3 ]; chk $? "$label: exit 3 (got $rc)"
	n=$(wc -l < "$TMP/err")
	todo_reason=${todo_all:-$todo_line}
	[ "$n" -eq 1 ] && grep -qi "root\|CAP_NET_ADMIN" "$TMP/err"
	chk $? "$label: one line saying it needs root / CAP_NET_ADMIN"
	[ "$n" -eq 1 ] || sed 's/^/# /' "$TMP/err" | head -5
	todo_reason=$todo_all
	runs=$(sqlite3 "$U/db.db" 'SELECT count(*) FROM runs' 2>/dev/null || echo 0)
	[ "$runs" = 0 ] && [ ! -e "$U/rep" ] && [ ! -e "$U/res" ]
	chk $? "$label: no run stored, no report written"
}
refuse "" "" "$AS_NOBODY" "run as nobody" run native --bytes 1M --db "$U/db.db"
refuse "" "" "$NO_NETADMIN" \
	"run as root without CAP_NET_ADMIN" run native --bytes 1M --db "$U/db.db"
refuse "" "" "$AS_NOBODY" "bench as nobody" bench \
	--profile quick --configs native --repeat 1 --bytes 1M --out "$U/res"
refuse "" "" "$NO_NETADMIN" \
	"bench as root without CAP_NET_ADMIN" bench --profile quick --configs native \
	--repeat 1 --bytes 1M --out "$U/res"
# namespaces that appeared meanwhile and whose creator (the pid in lrokit's
# names) is gone were left behind (other tests may run beside us: skip theirs)
left=
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
	echo "$ns_before" | grep -qx "$ns" && continue
	pid=$(echo "$ns" | sed -n 's/^lk[a-z]*\([0-9][0-9]*\).*/\1/p')
	[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && left="$left $ns"
done
is "$left" "" "no namespace left behind by the refused commands"
done_testing
