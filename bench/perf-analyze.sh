#!/bin/bash
# make perf-analyze: `lrokit analyze` (no DB, --db) against tcptrace -l -n and
# tshark -q -z conv,tcp on two captures of a real bulk transfer:
#   small.pcap  >= 1.5 M packets at snaplen 96 (pcapng, as editcap writes it)
#   full.pcap   >= 2 GB at full snaplen (pcap)
# Both are made once (namespaces + veth, TSO off, iperf3, tcpdump) and cached
# in bench/cache/. Reports medians of RUNS runs (default 5; lrokit and tcptrace
# runs interleaved, so a slow phase of a shared machine falls on both), packets/s, MB/s,
# peak RSS and the ratios lrokit/tcptrace and lrokit/tshark, then the same
# for lrokit and tcptrace on small.pcap while `yes` keeps one core busy
# (pinned to the last CPU; lrokit and tcptrace may use any), and judges the
# goals:
#   no DB, small: >= 3x tcptrace     no DB, full: >= 8x tcptrace
#   no DB, small, one core busy: >= 2x tcptrace
#   --db, small: >= 2 M packets/s with peak RSS <= 64 MB
#   (exit status 1 when any goal is MISSED; the goal lines say which)
# The machine's load average before and after is printed: the figures are
# only as good as the machine was quiet. So is the speed of each CPU before
# and after (lrokit in one thread and tcptrace, each pinned to each CPU in
# turn, small.pcap, information only): the vCPUs of a virtual machine can
# differ in speed, and which one is faster can change from minute to minute
# (this project's 2-vCPU test machine: up to 1.7x), which moves the ratios.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
LK="$TOP/${LK_BUILD:-build}/lrokit"
CACHE="$TOP/bench/cache"
RUNS=${RUNS:-5}
mkdir -p "$CACHE"
FULL="$CACHE/full.pcap"; SMALL="$CACHE/small.pcap"

gen() {
	[ "$(id -u)" -eq 0 ] || { echo "perf-analyze: generating the captures needs root (namespaces)" >&2; exit 3; }
	ns="lkpa$$"
	cleanup() { ip netns pids ${ns}a 2>/dev/null | xargs -r kill 2>/dev/null; ip netns pids ${ns}b 2>/dev/null | xargs -r kill 2>/dev/null; sleep 0.3; ip netns del ${ns}a 2>/dev/null; ip netns del ${ns}b 2>/dev/null; true; }
	trap cleanup EXIT INT TERM
	ip netns add ${ns}a; ip netns add ${ns}b
	ip link add veth0 netns ${ns}a type veth peer name veth1 netns ${ns}b
	ip -n ${ns}a addr add 10.77.0.1/24 dev veth0; ip -n ${ns}b addr add 10.77.0.2/24 dev veth1
	ip -n ${ns}a link set veth0 up; ip -n ${ns}b link set veth1 up
	ip -n ${ns}a link set lo up; ip -n ${ns}b link set lo up
	ip netns exec ${ns}a ethtool -K veth0 tso off gso off tx off >/dev/null
	ip netns exec ${ns}b ethtool -K veth1 gro off >/dev/null 2>&1 || true
	# 1 Gbit/s wire so tcpdump keeps up at full snaplen
	ip netns exec ${ns}a tc qdisc add dev veth0 root tbf rate 1gbit burst 256kb latency 50ms
	ip netns exec ${ns}b iperf3 -s -1 -D -B 10.77.0.2 >/dev/null
	sleep 0.5
	ip netns exec ${ns}b tcpdump -i veth1 -s 0 -B 262144 -w "$FULL.tmp" -U tcp 2>"$CACHE/tcpdump.log" &
	tp=$!
	sleep 1
	ip netns exec ${ns}a taskset -c 0 iperf3 -c 10.77.0.2 -n 2300M -l 1M >/dev/null
	sleep 1; kill -INT $tp; wait $tp || true
	mv "$FULL.tmp" "$FULL"
	editcap -s 96 "$FULL" "$SMALL"
	cleanup; trap - EXIT INT TERM
}
[ -s "$FULL" ] && [ -s "$SMALL" ] || gen

pkts() { capinfos -c -M "$1" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# wall: bash's `time` (to the millisecond; /usr/bin/time's %e rounds to
# 10 ms, a step of 5% of the small capture's time, and wrapping the command in
# /usr/bin/time would add its own start-up, ~5 ms here); peak RSS: a separate
# run under /usr/bin/time (%M)
wall() {
	local TIMEFORMAT=%3R t
	{ t=$( { time "$@" >/dev/null 2>/dev/null; } 2>&1 ); } || { echo "perf-analyze: failed: $*" >&2; exit 1; }
	echo "$t"
}
rss() { /usr/bin/time -f "%M" -o "$CACHE/time.out" "$@" >/dev/null 2>&1 || { echo "perf-analyze: failed: $*" >&2; cat "$CACHE/time.out" >&2; exit 1; }; tail -1 "$CACHE/time.out"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# cmd_for TOOL FILE: sets the array CMD to the command line of TOOL on FILE
cmd_for() {
	case $1 in
	lrokit) CMD=("$LK" analyze -q "$2") ;;
	lrokit--db) CMD=("$LK" analyze -q --db "$CACHE/perf.db" "$2") ;;
	tcptrace) CMD=(tcptrace -l -n "$2") ;;
	tshark) CMD=(tshark -n -q -r "$2" --disable-heuristic thrift_tcp -o tcp.desegment_tcp_streams:FALSE -z conv,tcp) ;;
	esac
}
# measure FILE RUNS TOOL...: RUNS rounds, each running every TOOL once in turn
# (interleaved, so that a slow phase of the shared machine falls on all of
# them alike); sets T_<TOOL> (median seconds) and M_<TOOL> (peak RSS of one
# more run, kB), TOOL with - as _
measure() {
	local f=$1 runs=$2 i=0 tool v
	shift 2
	for tool in "$@"; do : > "$CACHE/t.$tool"; done
	while [ $i -lt "$runs" ]; do
		for tool in "$@"; do
			cmd_for "$tool" "$f"
			rm -f "$CACHE/perf.db"*
			wall "${CMD[@]}" >> "$CACHE/t.$tool" || exit 1
		done
		i=$((i + 1))
	done
	for tool in "$@"; do
		cmd_for "$tool" "$f"
		rm -f "$CACHE/perf.db"*
		v=${tool//-/_}
		printf -v "M_$v" '%s' "$(rss "${CMD[@]}")" || exit 1
		printf -v "T_$v" '%s' "$(median < "$CACHE/t.$tool")"
		rm -f "$CACHE/t.$tool"
	done
}
row() { # FILE LABEL N SIZE
	printf "%-10s %-26s %10s %10.2f %10.0f %9.1f\n" "$(basename "$1")" "$2" "$T" \
		"$(echo "$3 $T" | awk '{print $1/($2>0?$2:1e-9)/1e6}')" \
		"$(echo "$4 $T" | awk '{print $1/($2>0?$2:1e-9)/1e6}')" \
		"$(echo "$M" | awk '{print $1/1024}')"
}
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1/$2}'; }
missed=0 # verdicts MISSED: the exit status (1 if any)
verdict() { # LABEL VALUE OP GOAL
	if echo "$2 $4" | awk -v op="$3" '{exit !(op == ">=" ? $1 >= $2 : $1 <= $2)}'; then r=met; else r=MISSED; missed=$((missed + 1)); fi
	printf "  %-48s %10s  (goal %s %s)  %s\n" "$1" "$2" "$3" "$4" "$r"
}

# cpu_speeds WHEN: one line, lrokit (one thread) and tcptrace pinned to each CPU
cpu_speeds() {
	local c c1 line="CPU speed $1 (s, small.pcap, pinned):"
	for c in $(taskset -pc $$ | sed 's/.*: //' | tr ',' ' '); do
		case $c in *-*) c=$(seq -s ' ' ${c%-*} ${c#*-}) ;; esac
		for c1 in $c; do
			line+=" CPU $c1 lrokit $(LK_ANALYZE_THREADS=1 wall taskset -c "$c1" "$LK" analyze -q "$SMALL")"
			line+=" tcptrace $(wall taskset -c "$c1" tcptrace -l -n "$SMALL");"
		done
	done
	echo "$line"
}

echo "load average before: $(load)   ($(nproc) CPUs)"
cat "$SMALL" > /dev/null
cpu_speeds before
printf "%-10s %-26s %10s %10s %10s %9s\n" file tool seconds Mpkt/s MB/s RSS_MB
for f in "$SMALL" "$FULL"; do
	n=$(pkts "$f"); sz=$(stat -c %s "$f")
	cat "$f" > /dev/null   # warm page cache
	measure "$f" "$RUNS" lrokit tcptrace
	if [ "$f" = "$SMALL" ]; then measure "$f" "$RUNS" lrokit--db; r_db=$RUNS; else measure "$f" 1 lrokit--db; r_db=1; fi
	measure "$f" 1 tshark
	T=$T_lrokit M=$M_lrokit; row "$f" "lrokit (n=$RUNS)" "$n" "$sz"
	T=$T_lrokit__db M=$M_lrokit__db; row "$f" "lrokit--db (n=$r_db)" "$n" "$sz"
	T=$T_tcptrace M=$M_tcptrace; row "$f" "tcptrace (n=$RUNS)" "$n" "$sz"
	T=$T_tshark M=$M_tshark; row "$f" "tshark (n=1)" "$n" "$sz"
	echo "$(basename "$f"): packets=$n bytes=$sz  lrokit vs tcptrace: $(ratio "$T_tcptrace" "$T_lrokit")x  vs tshark: $(ratio "$T_tshark" "$T_lrokit")x"
	if [ "$f" = "$SMALL" ]; then
		x_small=$(ratio "$T_tcptrace" "$T_lrokit"); db_rate=$(echo "$n $T_lrokit__db" | awk '{printf "%.2f", $1/$2/1e6}')
		db_rss=$(echo "$M_lrokit__db" | awk '{printf "%.1f", $1/1024}'); n_small=$n; sz_small=$sz
	else
		x_full=$(ratio "$T_tcptrace" "$T_lrokit")
	fi
done

# one core busy: `yes` pinned to the last CPU while lrokit and tcptrace run
last=$(($(nproc) - 1))
taskset -c "$last" yes > /dev/null &
busy=$!
trap 'kill $busy 2>/dev/null' EXIT INT TERM
sleep 0.5
measure "$SMALL" "$RUNS" lrokit tcptrace
T=$T_lrokit M=$M_lrokit; row "$SMALL" "lrokit, CPU $last busy (n=$RUNS)" "$n_small" "$sz_small"
T=$T_tcptrace M=$M_tcptrace; row "$SMALL" "tcptrace, CPU $last busy (n=$RUNS)" "$n_small" "$sz_small"
kill $busy 2>/dev/null; wait $busy 2>/dev/null || true; trap - EXIT INT TERM
x_busy=$(ratio "$T_tcptrace" "$T_lrokit")
echo "load average after: $(load)"
cpu_speeds after
echo "goals:"
verdict "no DB, small.pcap, x tcptrace" "$x_small" ">=" 3
verdict "no DB, full.pcap, x tcptrace" "$x_full" ">=" 8
verdict "no DB, small.pcap, one core busy, x tcptrace" "$x_busy" ">=" 2
verdict "--db, small.pcap, M packets/s" "$db_rate" ">=" 2
verdict "--db, small.pcap, peak RSS MB" "$db_rss" "<=" 64
rm -f "$CACHE/perf.db"* "$CACHE/time.out"
[ "$missed" -eq 0 ] || { echo "perf-analyze: $missed goal(s) MISSED" >&2; exit 1; }
