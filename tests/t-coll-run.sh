#!/bin/bash
# t-coll-run: the collectors inside `lrokit run`. For a native and an emulated
# Xen run: every run row has per-component counters; cycles/instructions are
# NULL with the reason when the PMU refuses them; software CPU times are
# present and consistent: sum of component CPU time <= wall x CPUs, and the
# receiving CPU's /proc/stat busy time >= the CPU time of the components pinned
# to it (within /proc/stat's tick resolution); captures ingested with a drop
# count; one "not on Xen" row off Xen.
. "$(dirname "$0")/lib.sh"
require_root
[ -x "$LK" ] || skip_all "lrokit not built"
command -v sqlite3 >/dev/null || skip_all "needs the sqlite3 shell"
[ "$(nproc)" -ge 2 ] || skip_all "needs 2 CPUs (sender and receiver pinned apart)"

DB="$TMP/c.db"
q() { sqlite3 -batch -noheader "$DB" "$1"; }

"$LK" run native --bytes 32M --db "$DB" -q >"$TMP/out1" 2>"$TMP/err1"
ok $? "lrokit run native with collectors"
"$LK" run xen --bytes 16M --db "$DB" -q >"$TMP/out2" 2>"$TMP/err2"
ok $? "lrokit run xen with collectors"
[ -s "$TMP/err1" ] && diag "$(head -3 "$TMP/err1")"

pmu=0 # decided by the machine (hybrid Intel CPUs have cpu_core), not by the result
for d in cpu cpu_core; do [ -e /sys/bus/event_source/devices/$d ] && pmu=1; done
for id in $(q "SELECT run_id FROM runs ORDER BY run_id"); do
	cfg=$(q "SELECT config FROM runs WHERE run_id=$id")
	# leaf components: those with a pid row (domain sums like 'domU' have none)
	leaves=$(q "SELECT count(DISTINCT component) FROM counters WHERE run_id=$id AND event='pid'")
	want=2; [ "$cfg" = xen ] && want=5
	is "$leaves" "$want" "run $id ($cfg): $want components counted"
	nt=$(q "SELECT count(*) FROM counters WHERE run_id=$id AND event='task-clock' AND source='sw'
		AND value > 0 AND component IN (SELECT component FROM counters WHERE run_id=$id AND event='pid')")
	is "$nt" "$want" "run $id: software CPU time (task-clock) of every component"
	np=$(q "SELECT count(*) FROM counters WHERE run_id=$id AND event='cpu_ns' AND source='procstat'
		AND value IS NOT NULL AND component IN (SELECT component FROM counters WHERE run_id=$id AND event='pid')")
	is "$np" "$want" "run $id: /proc/PID/stat CPU time of every component"
	if [ $pmu = 0 ]; then
		bad=$(q "SELECT count(*) FROM counters WHERE run_id=$id AND event IN ('cycles','instructions')
			AND (value IS NOT NULL OR note IS NULL OR note = '')")
		n=$(q "SELECT count(*) FROM counters WHERE run_id=$id AND event IN ('cycles','instructions')
			AND component IN (SELECT component FROM counters WHERE run_id=$id AND event='pid')")
		ok $([ "$bad" = 0 ] && [ "$n" = $((2 * want)) ]; echo $?) \
			"run $id: cycles/instructions NULL with a reason ($n rows, no PMU here)"
		skip "hardware PMU present: run $id: cycles counted (this machine has no PMU)"
	else
		n=$(q "SELECT count(*) FROM counters WHERE run_id=$id AND event='cycles' AND value > 0")
		ok $([ "$n" -ge "$want" ]; echo $?) "run $id: cycles counted (PMU present)"
		skip "no hardware PMU: run $id: cycles/instructions NULL with a reason (this machine has a PMU)"
	fi
	# sum of component CPU time <= wall x CPUs
	r=$(q "SELECT (SELECT sum(value) FROM counters WHERE run_id=$id AND event='task-clock' AND component IN
		(SELECT component FROM counters WHERE run_id=$id AND event='pid'))
		<= (SELECT value FROM counters WHERE run_id=$id AND component='run' AND event='wall_ns')
		 * (SELECT value FROM counters WHERE run_id=$id AND component='run' AND event='ncpus')")
	is "$r" 1 "run $id: sum of component CPU time <= wall x CPUs"
	# receiving CPU (1): busy >= CPU time of components pinned to it (2 ticks per component slack)
	line=$(q "SELECT (SELECT value FROM counters WHERE run_id=$id AND component='cpu1' AND event='busy_ns'),
		(SELECT sum(c.value) FROM counters c JOIN counters p ON p.run_id=c.run_id AND
		 p.component=c.component AND p.event='pinned_cpu' AND p.value=1
		 WHERE c.run_id=$id AND c.event='task-clock'),
		(SELECT count(*) FROM counters WHERE run_id=$id AND event='pinned_cpu' AND value=1),
		1e9 / (SELECT value FROM counters WHERE run_id=$id AND component='run' AND event='clk_tck')")
	IFS='|' read -r busy pinned npin tick <<<"$line"
	r=$(awk -v b="$busy" -v p="$pinned" -v n="$npin" -v t="$tick" 'BEGIN{print (b != "" && b + 2*n*t >= p) ? 1 : 0}')
	is "$r" 1 "run $id: cpu1 busy $(awk -v b="$busy" 'BEGIN{printf "%.0f", b/1e6}') ms >= pinned components' $(awk -v b="$pinned" 'BEGIN{printf "%.0f", b/1e6}') ms"
	nc=$(q "SELECT count(*) FROM captures WHERE run_id=$id AND drops IS NOT NULL AND packets > 0 AND snaplen=128")
	is "$nc" 2 "run $id: sender and receiver captures ingested with a drop count"
	ns=$(q "SELECT count(*) FROM samples WHERE run_id=$id AND source='procstat' AND key='cpu1.softirq_ns'")
	ok $([ "$ns" -ge 2 ]; echo $?) "run $id: /proc/stat sampled ($ns samples)"
	ni=$(q "SELECT count(*) FROM samples WHERE run_id=$id AND source='iface'")
	ok $([ "$ni" -ge 16 ]; echo $?) "run $id: interface samples ($ni)"
	if [ ! -e /dev/xen/privcmd ] && [ ! -e /proc/xen/privcmd ]; then
		nx=$(q "SELECT count(*) FROM counters WHERE run_id=$id AND source='xenstat' AND value IS NULL
			AND note LIKE 'not on Xen%'")
		is "$nx" 1 "run $id: one 'not on Xen' row"
	else
		skip "not on Xen: run $id: one 'not on Xen' row (this is Xen)"
	fi
done
# the emulated domains carry the same names as xenstat's
nd=$(q "SELECT count(DISTINCT component) FROM counters WHERE component IN ('dom0','domU') AND event='task-clock'")
is "$nd" 2 "xen run: per-domain sums dom0 and domU"
done_testing
