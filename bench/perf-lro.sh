#!/bin/bash
# bench/perf-lro.sh - `make perf-lro`: lro_ref speed.
#  1. ns/packet and packets/s over in-memory frames (bench/lro-perf.c):
#     1 flow, 8 interleaved flows, 64 flows; linux and inet_lro policies; in
#     the four modes checksum x buffer:
#       verify  lro_config_default (verify_csum = true): IPv4 header and TCP
#               checksums checked before merging (the testbed's setting).
#       trust   verify_csum = false (CHECKSUM_UNNECESSARY: NIC-validated).
#       copy    lro_config_default (zero_copy = false): payloads copied into
#               the slot's 64 KiB buffer, aggregates contiguous (`lrokit
#               replay` uses this mode).
#       zc      zero_copy = true: payloads referenced in place until the poll
#               end, aggregates emitted as header + frags (NAPI / Linux GRO
#               model). The testbed's NIC/netfront stages (testbed/stage.c)
#               use zero-copy with verified checksums, so THE GOAL APPLIES TO
#               THE "verify zc" LINES.
#     ns/pkt is the benchmark thread's CPU time per frame (the machine is
#     shared; time spent descheduled is not the engine's), wall_ns the elapsed
#     time per frame; medians of RUNS runs; RSS at start and end of the timed
#     loop (constant memory: no allocation per packet).
#     Runs that shared their core are not counted: on the project machine (a
#     VM) the host runs other work on the other hardware thread of one vCPU's
#     core or the other's, for seconds at a time, and a run on that vCPU takes
#     ~1.7x the CPU time (e.g. 41 instead of 23 ns/packet), with no value in
#     between. Each run is pinned to a CPU (taken in turn) and lro-perf's SMT
#     probe (issue-bound vs latency-bound loop, before and after the timed
#     loop) says whether the core was shared: a run whose probe is more than
#     SMT_TOL (1.2) x the lowest probe seen is made again on the next CPU, up
#     to 3 x RUNS runs; "runs" = runs counted / runs made, "~" when fewer than
#     RUNS ran alone (the median is then of all runs made).
#  2. `lrokit replay` on a >= 1 GiB capture generated once and cached under
#     bench/cache/ (gitignored): median wall time, packets/s, MB/s, max RSS.
# Goal on the project machine, in the testbed's mode (verify zc): <= 25 ns/packet
# for 1 flow, <= 50 ns at 64 flows.
set -u
cd "$(dirname "$0")/.."
B=${LK_BUILD:-build}
P="$B/bench/lro-perf"
LK="$B/lrokit"
RUNS=${RUNS:-5}
SECS=${SECS:-0.5}
SIZE_MB=${SIZE_MB:-1100}
[ -x "$P" ] && [ -x "$LK" ] || { echo "perf-lro: build first (make)" >&2; exit 3; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
SMT_TOL=${SMT_TOL:-1.2}
# the lowest SMT probe: 3 on every CPU now, then every run's own
REF=$(for k in 1 2 3; do for c in $(seq 0 $((NCPU - 1))); do "$P" probe --cpu "$c"; done; done | sort -g | head -1)
NEXT_CPU=0
# measure ARGS...: RUNS runs of `lro-perf run ARGS` that had their core alone
# (see the top); sets OUT (their output lines) and NRUNS ("counted/made[~]").
measure() {
	local ok=0 made=0 all="" line smt
	OUT=""
	while [ $ok -lt "$RUNS" ] && [ $made -lt $((3 * RUNS)) ]; do
		line=$("$P" run "$@" --seconds "$SECS" --cpu $NEXT_CPU) || return 1
		NEXT_CPU=$(((NEXT_CPU + 1) % NCPU))
		made=$((made + 1))
		all="$all$line"$'\n'
		smt=$(echo "$line" | awk '{print $11}')
		REF=$(printf '%s\n%s\n' "$REF" "$smt" | sort -g | head -1)
		if awk -v s="$smt" -v r="$REF" -v t="$SMT_TOL" 'BEGIN {exit !(s <= r * t)}'; then
			OUT="$OUT$line"$'\n'
			ok=$((ok + 1))
		fi
	done
	NRUNS="$ok/$made"
	if [ $ok -lt "$RUNS" ]; then
		OUT=$all
		NRUNS="$NRUNS~"
	fi
	OUT=${OUT%$'\n'}
}

echo "# lro_ref in-memory: median of $RUNS runs x ${SECS}s, 512-frame pool, poll end every 64 frames"
echo "# csum: verify = checksums verified (the testbed), trust = checksums trusted"
echo "# buf: copy = payloads copied (default, lrokit replay), zc = zero-copy (the testbed, testbed/stage.c)"
echo "# goal (verify zc, the testbed's mode; this machine): <= 25 ns/packet for 1 flow, <= 50 ns at 64 flows"
echo "# runs: counted / made (runs that shared their core with the host's other work are made again; SMT probe floor $REF)"
printf '%-9s %5s %-7s %-4s %10s %10s %12s %8s %10s %10s %6s\n' policy flows csum buf ns/pkt wall_ns pkts/s rate rss0_kB rss1_kB runs
for pol in linux inet_lro; do
	for flows in 1 8 64; do
		for mode in verify-zc verify-copy trust-zc trust-copy; do
			flag=; [ "${mode%-*}" = trust ] && flag=--trust-csum
			[ "${mode#*-}" = zc ] && flag="$flag --zero-copy"
			measure $pol $flows $flag || { echo "perf-lro: lro-perf failed" >&2; exit 1; }
			out=$OUT
			ns=$(echo "$out" | awk '{print $4}' | median)
			pps=$(echo "$out" | awk '{print $5}' | median)
			rate=$(echo "$out" | awk '{print $6}' | head -1)
			r0=$(echo "$out" | awk '{print $7}' | median)
			r1=$(echo "$out" | awk '{print $8}' | median)
			wall=$(echo "$out" | awk '{print $9}' | median)
			printf '%-9s %5s %-7s %-4s %10.2f %10.2f %12.0f %8s %10s %10s %6s\n' $pol $flows "${mode%-*}" "${mode#*-}" \
				"$ns" "$wall" "$pps" "$rate" "$r0" "$r1" "$NRUNS"
		done
	done
done

mkdir -p bench/cache
CAP=bench/cache/lro-replay-${SIZE_MB}m.pcap
if [ ! -s "$CAP" ]; then
	echo "# generating $CAP (${SIZE_MB} MiB, once)" >&2
	"$P" gen "$CAP.tmp" "$SIZE_MB" && mv "$CAP.tmp" "$CAP" || { echo "perf-lro: cannot generate $CAP" >&2; exit 1; }
fi
bytes=$(stat -c %s "$CAP")
echo
echo "# lrokit replay on $CAP ($((bytes / 1048576)) MiB), median of 3 runs"
printf '%-9s %9s %12s %10s %10s %8s\n' policy wall_s pkts/s MB/s maxrss_kB rate
for pol in linux inet_lro; do
	res=$(for i in 1 2 3; do
		# wall time from ns stamps (time's %e has 10 ms resolution; runs take ~0.1 s)
		t0=$(date +%s%N)
		/usr/bin/time -f '%M' -o "$CAP.time" "$LK" replay "$CAP" --policy $pol --json > "$CAP.json" || exit 1
		t1=$(date +%s%N)
		pk=$(sed 's/.*"packets_in":\([0-9]*\).*/\1/' "$CAP.json")
		rt=$(sed 's/.*"lro_rate":\([0-9.]*\).*/\1/' "$CAP.json")
		echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b - a) / 1e9}') $(tail -1 "$CAP.time") $pk $rt"
	done)
	wall=$(echo "$res" | awk '{print $1}' | median)
	rss=$(echo "$res" | awk '{print $2}' | median)
	pk=$(echo "$res" | awk '{print $3}' | head -1)
	rt=$(echo "$res" | awk '{print $4}' | head -1)
	awk -v w="$wall" -v p="$pk" -v b="$bytes" -v r="$rss" -v pol=$pol -v rt="$rt" \
		'BEGIN {printf "%-9s %9.3f %12.0f %10.0f %10s %8.2f\n", pol, w, p / w, b / w / 1048576, r, rt}'
done
rm -f "$CAP.time" "$CAP.json"
