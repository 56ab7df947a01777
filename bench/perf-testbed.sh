#!/bin/sh
# bench/perf-testbed.sh - `make perf-testbed`: goodput of every testbed
# configuration (median of REPEAT runs of BYTES each), without a rate limit
# and with a 1 Gbit/s tbf on the sender's wire; CPU seconds per GB on the
# receiving CPU (cpu1, from /proc/stat: includes anything else running there,
# so quote it on a quiet machine) and each stage's receive frames/s.
#   REPEAT=3 BYTES=1G CONFIGS="native ..." RATES="none 1G" LK=path/to/lrokit
set -eu
LK_BUILD=${LK_BUILD:-build}
LK=${LK:-$LK_BUILD/lrokit}
REPEAT=${REPEAT:-3}
BYTES=${BYTES:-1G}
CONFIGS=${CONFIGS:-"native native-gro xen lro-phys lro-virt lro-both"}
RATES=${RATES:-"none 1G"}
[ "$(id -u)" -eq 0 ] || { echo "perf-testbed: needs root (network namespaces)" >&2; exit 3; }
[ -x "$LK" ] || { echo "perf-testbed: $LK not built" >&2; exit 3; }
W=$(mktemp -d /tmp/lkperf.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM
DB=$W/perf.db

cpu1_busy() { # jiffies of cpu1 that were not idle/iowait
	awk '$1=="cpu1"{print $2+$3+$4+$7+$8+$9}' /proc/stat
}
HZ=$(getconf CLK_TCK)

median() { sort -g | awk '{v[NR]=$1} END{if(NR==0){print "nan"}else if(NR%2){print v[(NR+1)/2]}else{print (v[NR/2]+v[NR/2+1])/2}}'; }

printf '%-11s %-5s %10s %10s %8s %8s %11s %11s %11s %6s\n' config rate "Gbit/s" "min..max" lro_rate "cpu1s/GB" "nic fr/s" "netback" "netfront" drops
for rate in $RATES; do
for cfg in $CONFIGS; do
	: > "$W/g"; : > "$W/c"; : > "$W/l"; : > "$W/n"; : > "$W/b"; : > "$W/f"; : > "$W/d"
	i=0
	while [ $i -lt "$REPEAT" ]; do
		i=$((i + 1))
		b0=$(cpu1_busy)
		if ! "$LK" run "$cfg" --bytes "$BYTES" --rate "$rate" --db "$DB" --json -q > "$W/out" 2> "$W/err"; then
			echo "perf-testbed: $cfg rate $rate run $i failed: $(tail -1 "$W/err")" >&2
			continue
		fi
		b1=$(cpu1_busy)
		python3 - "$W/out" "$b0" "$b1" "$HZ" "$W" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); b0, b1, hz, w = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
secs = r["bytes"] * 8 / r["goodput_bps"]
gb = r["bytes"] / 1e9
def app(n, v): open(f"{w}/{n}", "a").write(f"{v}\n")
app("g", r["goodput_bps"] / 1e9)
app("c", (b1 - b0) / hz / gb)
app("l", r["lro_rate"] if r["lro_rate"] is not None else "nan")
app("d", r["drops"])
st = r["stages"]
for k, n in (("nic", "n"), ("netback", "b"), ("netfront", "f")):
    app(n, st[k]["rx_frames_in"] / secs if k in st else "nan")
PY
	done
	g=$(median < "$W/g"); gmin=$(sort -g "$W/g" | head -1); gmax=$(sort -g "$W/g" | tail -1)
	printf '%-11s %-5s %10.3f %4.2f..%-4.2f %8.2f %8.2f %11.0f %11.0f %11.0f %6s\n' "$cfg" "$rate" \
		"$g" "${gmin:-0}" "${gmax:-0}" "$(median < "$W/l")" "$(median < "$W/c")" \
		"$(median < "$W/n")" "$(median < "$W/b")" "$(median < "$W/f")" \
		"$(sort -g "$W/d" | tail -1)"
done
done
echo "# $REPEAT runs of $BYTES each; medians; drops = max over runs; $(uname -r), $(nproc) CPUs"
