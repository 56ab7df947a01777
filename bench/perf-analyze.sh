#!/bin/sh
# make perf-analyze: `lrokit analyze` (no DB, --db) against tcptrace -l -n and
# tshark -q -z conv,tcp on two captures of a real bulk transfer:
#   small.pcap  >= 1.5 M packets at snaplen 96
#   full.pcap   >= 2 GB at full snaplen
# Both are made once (namespaces + veth, TSO off, iperf3, tcpdump) and cached
# in bench/cache/. Reports medians of RUNS runs (default 3), packets/s, MB/s,
# peak RSS and the ratios lrokit/tcptrace and lrokit/tshark.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
LK="$TOP/${LK_BUILD:-build}/lrokit"
CACHE="$TOP/bench/cache"
RUNS=${RUNS:-3}
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
# run CMD...: prints "seconds maxrss_kB" of one run
one() { /usr/bin/time -f "%e %M" -o "$CACHE/time.out" "$@" >/dev/null 2>&1 || { echo "perf-analyze: failed: $*" >&2; cat "$CACHE/time.out" >&2; exit 1; }; cat "$CACHE/time.out"; }

printf "%-10s %-22s %10s %10s %10s %9s %8s\n" file tool seconds Mpkt/s MB/s RSS_MB x_tool
for f in "$SMALL" "$FULL"; do
	n=$(pkts "$f"); sz=$(stat -c %s "$f")
	cat "$f" > /dev/null   # warm page cache
	for tool in lrokit lrokit--db tcptrace tshark; do
		: > "$CACHE/t.list"; : > "$CACHE/m.list"
		r=$RUNS; [ "$tool" = tshark ] && [ "$f" = "$FULL" ] && r=1
		i=0
		while [ $i -lt "$r" ]; do
			case $tool in
			lrokit) out=$(one "$LK" analyze -q "$f") ;;
			lrokit--db) rm -f "$CACHE/perf.db"*; out=$(one "$LK" analyze -q --db "$CACHE/perf.db" "$f") ;;
			tcptrace) out=$(one tcptrace -l -n "$f") ;;
			tshark) out=$(one tshark -n -q -r "$f" --disable-heuristic thrift_tcp -o tcp.desegment_tcp_streams:FALSE -z conv,tcp) ;;
			esac
			echo "$out" | awk '{print $1}' >> "$CACHE/t.list"
			echo "$out" | awk '{print $2}' >> "$CACHE/m.list"
			i=$((i + 1))
		done
		t=$(median < "$CACHE/t.list"); m=$(median < "$CACHE/m.list")
		case $tool in lrokit) t_lk=$t ;; tcptrace) t_tt=$t ;; tshark) t_ts=$t ;; esac
		printf "%-10s %-22s %10s %10.2f %10.0f %9.1f\n" "$(basename "$f")" "$tool (n=$r)" "$t" \
			"$(echo "$n $t" | awk '{print $1/($2>0?$2:1e-9)/1e6}')" \
			"$(echo "$sz $t" | awk '{print $1/($2>0?$2:1e-9)/1e6}')" \
			"$(echo "$m" | awk '{print $1/1024}')"
	done
	echo "$(basename "$f"): packets=$n bytes=$sz  lrokit speed vs tcptrace: $(echo "$t_tt $t_lk" | awk '{printf "%.2fx", $1/$2}')  vs tshark: $(echo "$t_ts $t_lk" | awk '{printf "%.1fx", $1/$2}')"
done
rm -f "$CACHE/perf.db"* "$CACHE/t.list" "$CACHE/m.list" "$CACHE/time.out"
