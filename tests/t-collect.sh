#!/bin/sh
# lrokit collect: the collectors as JSON lines (collectors/sampleline.h) for
# remote hosts: every line of the one shape, the TCP/IP counters at the start
# and the end, interface counters that move, a stop by SIGTERM with the final
# readings, refusals (unknown interface; --xenstat off Xen).
. "$(dirname "$0")/lib.sh"
[ -x "$LK" ] || skip_all "no $LK (run make first)"
plan 9
"$LK" collect --iface lo --interval 50 --duration 0.4 --pid $$ >"$TMP/a" 2>"$TMP/a.err"
is $? 0 "collect --duration exits 0"
bad=$(grep -cvE '^\{"t_ns":[0-9]+,"source":"(procstat|iface|snmp|pid|perf|xenstat)","key":"[A-Za-z0-9_.:@-]+","value":-?[0-9.eE+-]+\}$' "$TMP/a")
is "$bad" 0 "every line has the one shape"
is "$(grep -c '"key":"Tcp.OutSegs"' "$TMP/a")" 2 "TCP counters at the start and the end"
n=$(grep -c '"key":"lo.rx_bytes"' "$TMP/a")
ok $([ "$n" -ge 5 ]; echo $?) "the interface sampled every interval ($n samples)"
ok $(grep -q '"key":"cpu0.busy_ns"' "$TMP/a"; echo $?) "per-CPU time"
ok $(grep -q "\"key\":\"$$.utime_ns\"" "$TMP/a"; echo $?) "the process's CPU time"
"$LK" collect --iface lo >"$TMP/b" 2>/dev/null &
p=$!
# SIGTERM once it samples (its handler is set by then), not after a sleep
for _ in $(seq 1000); do grep -q '"key":"Tcp.OutSegs"' "$TMP/b" 2>/dev/null && break; sleep 0.02; done
kill -TERM $p
wait $p
rc=$?
is "$rc $(grep -c '"key":"Tcp.OutSegs"' "$TMP/b")" "0 2" "SIGTERM: final readings, exit 0"
"$LK" collect --iface nosuch0 --duration 0.1 >/dev/null 2>"$TMP/c.err"
is "$? $(cat "$TMP/c.err")" "1 lrokit: error: collect: no interface 'nosuch0' here" "unknown interface refused"
if [ -e /dev/xen/privcmd ] || [ -e /proc/xen/privcmd ]; then
	ok 0 "# SKIP on Xen: --xenstat refusal not testable"
else
	"$LK" collect --xenstat --duration 0.1 >/dev/null 2>"$TMP/x.err"
	is "$? $(wc -l <"$TMP/x.err")" "3 1" "--xenstat off Xen: exit 3, one line"
fi
done_testing
