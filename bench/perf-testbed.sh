#!/bin/sh
# bench/perf-testbed.sh - `make perf-testbed`: goodput of every testbed
# configuration (median of REPEAT runs of BYTES each), without a rate limit
# and with a 1 Gbit/s tbf on the sender's wire; CPU seconds per GB on the
# receiving CPU and each stage's frames/s in both directions (data in, ACKs
# back).
#   CPU s/GB: busy jiffies of cpu1 (user+nice+system+irq+softirq+steal, from
#   /proc/stat) across the whole `lrokit run`, whose own process is pinned to
#   cpu0 with taskset, so setup, teardown and ingest do not land on cpu1; the
#   sender is pinned to cpu0 and everything receiving (stages, receiver, RPS)
#   to cpu1 by the testbed itself. Anything else running on cpu1 counts too:
#   quote it from a quiet machine.
#   Collectors: off by default (--no-collect: no captures, no sampling), so
#   this measures the testbed; COLLECT=1 keeps them on. `make perf-collectors`
#   measures what they cost.
# Verdicts printed at the end:
#   line rate: at the 1G limit every configuration's median goodput is at
#   least 97% of the tbf payload ceiling (1 Gbit/s x 1448/1514 for MSS 1448
#   frames of 1514 bytes: 956.7 Mbit/s) with zero stage drops in every run,
#   and every run succeeded;
#   ceiling: unlimited goodput of xen against native, and of each LRO
#   configuration against xen.
#   REPEAT=3 BYTES=1G CONFIGS="native ..." RATES="none 1G" COLLECT=0 LK=path/to/lrokit
set -eu
LK_BUILD=${LK_BUILD:-build}
LK=${LK:-$LK_BUILD/lrokit}
REPEAT=${REPEAT:-3}
BYTES=${BYTES:-1G}
CONFIGS=${CONFIGS:-$("$LK" testbed list 2>/dev/null | cut -f1 | tr '\n' ' ')}
RATES=${RATES:-"none 1G"}
COLLECT=${COLLECT:-0}
[ "$(id -u)" -eq 0 ] || { echo "perf-testbed: needs root (network namespaces)" >&2; exit 3; }
[ -x "$LK" ] || { echo "perf-testbed: $LK not built" >&2; exit 3; }
command -v taskset >/dev/null || { echo "perf-testbed: needs taskset (util-linux)" >&2; exit 3; }
W=$(mktemp -d /tmp/lkperf.XXXXXX)
"$LK" testbed list > "$W/configs"
trap 'rm -rf "$W"' EXIT INT TERM
DB=$W/perf.db
NC=--no-collect; [ "$COLLECT" = 1 ] && NC=

cpu1_busy() { # jiffies of cpu1 that were not idle/iowait
	awk '$1=="cpu1"{print $2+$3+$4+$7+$8+$9}' /proc/stat
}
HZ=$(getconf CLK_TCK)

median() { sort -g | awk '{v[NR]=$1} END{if(NR==0){print "nan"}else if(NR%2){print v[(NR+1)/2]}else{print (v[NR/2]+v[NR/2+1])/2}}'; }

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
echo "# $REPEAT runs of $BYTES per configuration and rate; medians; collectors $([ "$COLLECT" = 1 ] && echo on || echo off)"
echo "# fr/s: frames per second of transfer time through each stage, data direction / ACK direction"
printf '%-10s %-4s %3s %8s %13s %8s %8s %15s %15s %15s %5s\n' config rate ok "Gbit/s" "min..max" lro_rate \
	"cpu1s/GB" "nic fr/s" "netback fr/s" "netfront fr/s" drops
for rate in $RATES; do
for cfg in $CONFIGS; do
	: > "$W/g"; : > "$W/c"; : > "$W/l"; : > "$W/d"
	for k in n b f; do : > "$W/${k}r"; : > "$W/${k}t"; done
	i=0; okn=0
	while [ $i -lt "$REPEAT" ]; do
		i=$((i + 1))
		b0=$(cpu1_busy)
		if ! taskset -c 0 "$LK" run "$cfg" --bytes "$BYTES" --rate "$rate" --db "$DB" --json -q $NC \
			> "$W/out" 2> "$W/err"; then
			echo "perf-testbed: $cfg rate $rate run $i failed: $(tail -1 "$W/err")" >&2
			continue
		fi
		b1=$(cpu1_busy)
		okn=$((okn + 1))
		rm -f "$W"/run*.pcap
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
st = r.get("stages", {})
for k, n in (("nic", "n"), ("netback", "b"), ("netfront", "f")):
    s = st.get(k)
    app(n + "r", s["rx_frames_in"] / secs if s else "nan")
    app(n + "t", s["tx_frames_in"] / secs if s and "tx_frames_in" in s else "nan")
PY
	done
	g=$(median < "$W/g"); gmin=$(sort -g "$W/g" | head -1); gmax=$(sort -g "$W/g" | tail -1)
	fps() { awk -v a="$(median < "$W/${1}r")" -v b="$(median < "$W/${1}t")" 'BEGIN{
		if (a == "nan") printf "-"; else printf "%.0f/%.0f", a, b }'; }
	printf '%-10s %-4s %1s/%1s %8.3f %6.3f..%-6.3f %8.2f %8.2f %15s %15s %15s %5s\n' "$cfg" "$rate" "$okn" "$REPEAT" \
		"$g" "${gmin:-0}" "${gmax:-0}" "$(median < "$W/l")" "$(median < "$W/c")" \
		"$(fps n)" "$(fps b)" "$(fps f)" "$(sort -g "$W/d" | tail -1)"
	echo "$rate $cfg $okn $g $(sort -g "$W/d" | tail -1)" >> "$W/summary"
done
done

echo
awk -v rep="$REPEAT" '
	{ ok[$1" "$2] = $3; g[$1" "$2] = $4; d[$1" "$2] = $5; if ($1 == "1G") cf[++n] = $2 }
	END {
		ceil = 1e9 * 1448 / 1514 / 1e9; all = 1
		for (i = 1; i <= n; i++) {
			k = "1G " cf[i]
			pass = ok[k] == rep && d[k] == 0 && g[k] >= 0.97 * ceil
			if (!pass) all = 0
			printf "line rate at 1G: %-10s %s (median %.3f Gbit/s = %.1f%% of %.3f, %d/%d runs ok, max stage drops %s)\n",
			       cf[i], pass ? "PASS" : "FAIL", g[k], 100 * g[k] / ceil, ceil, ok[k], rep, d[k]
		}
		if (n) printf "line rate at 1G: all configurations %s\n", all ? "PASS" : "FAIL"
		if (("none native") in g && ("none xen") in g)
			printf "ceiling without limit: xen %.3f Gbit/s = %.2f x native (%.3f)\n",
			       g["none xen"], g["none xen"] / g["none native"], g["none native"]
		# each aggregating configuration against the plain one of its path
		# (lrokit testbed list: name, path, aggregation)
		while ((getline line < agg) > 0) {
			split(line, f, "\t")
			ref = f[2] == "xen" ? "xen" : "native"
			if (f[3] != "none" && (("none " f[1]) in g) && (("none " ref) in g))
				printf "ceiling without limit: %-8s %.3f Gbit/s = %.2f x %s\n", f[1], g["none " f[1]],
				       g["none " f[1]] / g["none " ref], ref
		}
	}' agg="$W/configs" "$W/summary"
