#!/bin/sh
# bench/perf-collectors.sh - `make perf-collectors`: what the collectors cost.
# Goodput of `lrokit run CONFIG` with all collectors on (perf counters, /proc
# and interface sampling every 100 ms, xenstat probe, libpcap captures on the
# sender's wire and the receiver's interface, snaplen 128, ingest afterwards)
# vs. off (--no-collect), median of REPEAT runs, at 1 Gbit/s (tbf) and without a
# limit; plus the capture drops (kernel, pcap_stats) of the "on" runs (median).
# Runs alternate on/off so machine noise hits both alike.
# Verdicts at the end: the goal (collectors cost <= 5% of goodput at 1 Gbit/s,
# medians) and zero capture drops at 1 Gbit/s (median of the "on" runs).
# Exit status 1 when a verdict says FAIL.
#   REPEAT=3 BYTES=1G CONFIGS="native xen lro-phys lro-virt" RATES="1G none" LK=path/to/lrokit
set -eu
LK_BUILD=${LK_BUILD:-build}
LK=${LK:-$LK_BUILD/lrokit}
REPEAT=${REPEAT:-3}
BYTES=${BYTES:-1G}
CONFIGS=${CONFIGS:-"native xen lro-phys lro-virt"}
RATES=${RATES:-"1G none"}
[ "$(id -u)" -eq 0 ] || { echo "perf-collectors: needs root (network namespaces)" >&2; exit 3; }
[ -x "$LK" ] || { echo "perf-collectors: $LK not built" >&2; exit 3; }
command -v sqlite3 >/dev/null || { echo "perf-collectors: needs the sqlite3 shell" >&2; exit 3; }
W=$(mktemp -d /tmp/lkperfc.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM
DB=$W/perf.db

median() { sort -g | awk '{v[NR]=$1} END{if(NR==0){print "nan"}else if(NR%2){print v[(NR+1)/2]}else{print (v[NR/2]+v[NR/2+1])/2}}'; }
num() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }

printf '%-7s %-5s %12s %12s %8s %14s %14s\n' config rate "off Gbit/s" "on Gbit/s" "cost %" "drops (median)" "drops (max)"
for rate in $RATES; do
for cfg in $CONFIGS; do
	: > "$W/on"; : > "$W/off"; : > "$W/drops"
	i=0
	while [ $i -lt "$REPEAT" ]; do
		i=$((i + 1))
		for mode in off on; do
			flag=""; [ $mode = off ] && flag="--no-collect"
			if ! "$LK" run "$cfg" --bytes "$BYTES" --rate "$rate" --db "$DB" --json -q $flag \
				> "$W/out" 2> "$W/err"; then
				echo "perf-collectors: $cfg $rate $mode run $i failed: $(tail -1 "$W/err")" >&2
				continue
			fi
			num goodput_bps < "$W/out" >> "$W/$mode"
			if [ $mode = on ]; then
				id=$(num run_id < "$W/out")
				sqlite3 -batch -noheader "$DB" "SELECT coalesce(sum(value),0) FROM counters WHERE
					run_id=$id AND event='capture_kernel_drops'" >> "$W/drops"
			fi
		done
		rm -f "$W"/run*.pcap
	done
	off=$(median < "$W/off"); on=$(median < "$W/on")
	d=$(median < "$W/drops"); dmax=$(sort -g "$W/drops" | tail -1)
	echo "$rate $cfg $off $on $d $(wc -l < "$W/off") $(wc -l < "$W/on")" >> "$W/summary"
	awk -v c="$cfg" -v r="$rate" -v off="$off" -v on="$on" -v d="$d" -v dm="${dmax:-nan}" 'BEGIN{
		printf "%-7s %-5s %12.3f %12.3f %8.1f %14s %14s\n", c, r, off/1e9, on/1e9,
		       (off > 0 ? 100*(off-on)/off : 0), d, dm }'
	printf '        runs off: %s\n        runs on:  %s\n' "$(tr '\n' ' ' < "$W/off")" "$(tr '\n' ' ' < "$W/on")"
done
done
echo "# $REPEAT runs of $BYTES per mode; $(uname -r), $(nproc) CPUs"
echo
awk -v rep="$REPEAT" '$1 == "1G" {
		cost = $3 > 0 ? 100 * ($3 - $4) / $3 : 999
		pass = cost <= 5 && $6 == rep && $7 == rep; if (!pass) bad++
		drop = $5 == 0 && $7 == rep; if (!drop) dbad++
		printf "collectors cost at 1G: %-9s %s (%.1f%%: on %.3f vs off %.3f Gbit/s, runs %d+%d/%d)\n",
		       $2, pass ? "PASS" : "FAIL", cost, $4 / 1e9, $3 / 1e9, $6, $7, rep
		printf "capture drops at 1G:   %-9s %s (median %s)\n", $2, drop ? "PASS" : "FAIL", $5
		n++ }
	END { if (n) printf "goal (<= 5%% at 1G) %s; zero capture drops at 1G %s\n", bad ? "FAIL" : "PASS", dbad ? "FAIL" : "PASS"
	      exit (bad || dbad) ? 1 : 0 }' "$W/summary" ||
	{ echo "perf-collectors: a verdict FAILED" >&2; exit 1; }
