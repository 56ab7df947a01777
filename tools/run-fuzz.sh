#!/bin/sh
# tools/run-fuzz.sh SECONDS FUZZ-BINARY... - run each libFuzzer target for
# SECONDS (used by `make fuzz FUZZ_SECONDS=N`), one after the other, and print
# per target the executions and crashes. Exit 1 if any target crashed, hung
# (-timeout) or ran out of memory.
#
# Seeds are generated, never committed: into build-fuzz/corpus/<target>/
# (which also keeps what the fuzzer finds, across runs) from the test helpers
#   tests/helpers/mkpcap.c  the malformed-capture corpus (pcap and pcapng files),
#   tests/helpers/tcpgen.c  synthetic connections with tcptrace's rare cases
# (fuzz-ingest also gets a few of them gzip-, zstd- and xz-compressed);
# fuzz-ingest gets the capture files as they are, the other targets the same
# captures converted to the frame stream of fuzz/frames.h (mkpcap --frames),
# unless fuzz/<target>-seeds.sh exists: then that script writes the seeds.
# A target that crashes is restarted for the rest of its time, so every crash
# found is counted; crash inputs go to build-fuzz/crashes/<target>/.
# Logs: build-fuzz/logs/<target>.log; summary: build-fuzz/summary.txt
# (FUZZ_OUT=DIR puts seeds, corpora, crashes, logs and summary there instead).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 SECONDS FUZZ-BINARY..." >&2; exit 2; }
SECS=$1; shift
case "$SECS" in *[!0-9]*|'') echo "run-fuzz: SECONDS must be a number: $SECS" >&2; exit 2 ;; esac
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_OUT:-$TOP/build-fuzz} # FUZZ_OUT: another directory for seeds, corpora, logs
CC_HOST=${CC:-cc}
mkdir -p "$OUT/helpers" "$OUT/logs" "$OUT/seeds/pcap" "$OUT/seeds/frames"

# The helpers are plain C without the library: build them here, so fuzzing
# does not depend on the state of the main build.
for h in mkpcap tcpgen; do
	"$CC_HOST" -std=c11 -O1 -D_GNU_SOURCE -o "$OUT/helpers/$h" "$TOP/tests/helpers/$h.c"
done

# seed captures
S=$OUT/seeds
rm -rf "$S/pcap" "$S/frames"
mkdir -p "$S/pcap" "$S/frames" "$S/mk"
"$OUT/helpers/mkpcap" "$S/mk" > "$S/mk.cases"
for f in "$S"/mk/*.pcap; do
	# large cases (64 KB+ frames) only slow the mutator down
	[ "$(wc -c < "$f")" -le 65536 ] && cp "$f" "$S/pcap/"
done
for fam in 4 6; do
	for seed in 1 2 3; do
		"$OUT/helpers/tcpgen" $fam $seed $((40 * seed)) > "$S/pcap/tcpgen-$fam-$seed.pcap"
	done
done
# compressed captures (fuzz-ingest reads gzip, zstd and xz by content)
for z in "gzip -c" "zstd -q -c" "xz -c"; do
	command -v ${z%% *} >/dev/null || continue
	for f in tcpgen-4-1 tcpgen-6-2 pcapng-mixed-linktypes; do
		[ -f "$S/pcap/$f.pcap" ] && $z "$S/pcap/$f.pcap" > "$S/pcap/$f.pcap.${z%% *}"
	done
done
for f in "$S"/pcap/*.pcap; do
	# classic pcap files only; the others are not convertible (and say so)
	"$OUT/helpers/mkpcap" --frames "$S/frames/$(basename "$f" .pcap).frames" "$f" 2>/dev/null ||
		rm -f "$S/frames/$(basename "$f" .pcap).frames"
done
rm -rf "$S/mk"

status=0
printf '%-14s %8s %12s %9s %8s %8s\n' target seconds execs exec/s crashes corpus > "$OUT/summary.txt"
for bin in "$@"; do
	t=$(basename "$bin")
	corpus=$OUT/corpus/$t
	crashes=$OUT/crashes/$t
	mkdir -p "$corpus" "$crashes"
	if [ -x "$TOP/fuzz/$t-seeds.sh" ]; then
		# a target with its own input format makes its own seeds:
		# fuzz/<target>-seeds.sh CORPUS-DIR PCAP-SEED-DIR
		"$TOP/fuzz/$t-seeds.sh" "$corpus" "$S/pcap"
	else
		case "$t" in
		fuzz-ingest|fuzz-pcapng) cp "$S"/pcap/* "$corpus/" ;;
		*) cp "$S"/frames/* "$corpus/" ;;
		esac
	fi
	log=$OUT/logs/$t.log
	: > "$log"
	start=$(date +%s)
	execs=0 ncrash=0
	while :; do
		left=$((SECS - ($(date +%s) - start)))
		[ "$left" -gt 0 ] || break
		rc=0
		"$bin" -max_total_time="$left" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
			-max_len=65536 -artifact_prefix="$crashes/" "$corpus" >> "$log" 2>&1 || rc=$?
		n=$(grep '^stat::number_of_executed_units:' "$log" | awk '{s += $2} END {print s + 0}')
		execs=$n
		[ "$rc" -eq 0 ] && break
		ncrash=$((ncrash + 1))
		status=1
		echo "run-fuzz: $t: crash/timeout/oom (exit $rc), input saved in $crashes/; see $log" >&2
		[ "$ncrash" -lt 50 ] || break
	done
	el=$(($(date +%s) - start))
	[ "$el" -gt 0 ] || el=1
	printf '%-14s %8s %12s %9s %8s %8s\n' "$t" "$el" "$execs" $((execs / el)) "$ncrash" \
		"$(ls "$corpus" | wc -l)" >> "$OUT/summary.txt"
done
cat "$OUT/summary.txt"
exit $status
