#!/bin/sh
# Teardown: SIGTERM mid-transfer removes everything at once (run 'aborted');
# SIGKILL mid-transfer leaves namespaces that the next run removes, and no
# stage process survives; `testbed up/down` by hand; usage errors.
. "$(dirname "$0")/lib.sh"
require_root
plan 14
DB="$TMP/k.db"
gone() { ! ip netns list | grep -q "^lkr$1-"; }
wait_ns() { for i in $(seq 600); do ip netns list | grep -q "^lkr$1-domU" && ip netns pids "lkr$1-domU" | grep -q . && return 0; sleep 0.05; done; return 1; }
wait_xfer() { for i in $(seq 600); do [ -s "/run/lrokit/lkr$1/tcpinfo.csv" ] && return 0; ip netns pids "lkr$1-snd" 2>/dev/null | grep -q . && sleep 0.5 && return 0; sleep 0.05; done; return 1; }

# SIGTERM: run tears down itself
"$LK" run xen --bytes 4G --rate 1G --db "$DB" -q > /dev/null 2> "$TMP/term.err" &
p=$!
wait_ns $p && wait_xfer $p; ok $? "xen testbed of run $p came up"
kill -TERM $p; wait $p; rc=$?
[ $rc -ne 0 ]; ok $? "SIGTERM: run exits non-zero ($rc)"
gone $p; ok $? "SIGTERM: no namespace of run $p left"
is "$(sqlite3 "$DB" "SELECT status FROM runs ORDER BY run_id DESC LIMIT 1")" aborted "SIGTERM: run row is 'aborted'"

# SIGKILL: the next run cleans up
"$LK" run lro-both --bytes 4G --rate 1G --db "$DB" -q > /dev/null 2>&1 &
p=$!
wait_ns $p && wait_xfer $p; ok $? "lro-both testbed of run $p came up"
pids=$(for n in snd dom0 domU; do ip netns pids "lkr$p-$n"; done | tr '\n' ' ')
kill -KILL $p; wait $p 2>/dev/null
# a process counts as alive while it is not a zombie (its reaper may be slow)
live() { st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ] && [ "$st" != X ]; }
for i in $(seq 40); do
	alive=""; for q in $pids; do live "$q" && alive="$alive $q"; done
	[ -z "$alive" ] && break; sleep 0.05
done
is "$alive" "" "SIGKILL: no stage/sender/receiver process survives"
ip netns list | grep -q "^lkr$p-dom0"; ok $? "SIGKILL: namespaces are still there"
"$LK" run native --bytes 8M --db "$DB" > "$TMP/next.out" 2> "$TMP/next.err"; rc=$?
ok $rc "the next run succeeds"
gone $p; ok $? "the next run removed the namespaces of the killed run"
[ ! -e "/run/lrokit/lkr$p" ]; ok $? "and its state directory"
is "$(sqlite3 "$DB" "SELECT count(*) FROM runs WHERE status='aborted'")" 2 "the killed run is recorded as 'aborted'"

# by hand
"$LK" testbed up xen > "$TMP/up.out" 2>&1 || sed 's/^/# /' "$TMP/up.out"
ip netns exec lkb-xen-domU "$LK" recv -B 10.77.0.2 --timeout 60 > /dev/null 2>&1 &
# send retries its connect for 10 s while the receiver starts
ip netns exec lkb-xen-snd "$LK" send 10.77.0.2 -n 8M > /dev/null 2>&1
ok $? "testbed up xen: a transfer through it works"
wait
"$LK" testbed down xen > /dev/null 2>&1 && ! ip netns list | grep -q '^lkb-xen-'
ok $? "testbed down xen removes it"
"$LK" run nosuch > /dev/null 2>&1; is $? 2 "unknown configuration is a usage error"
