#!/bin/bash
# t-lro-simd: the lro_ref engine tests once per checksum SIMD level the CPU
# supports (LRO_SIMD_MAX=0 scalar, 1 AVX2, 2 AVX-512BW), each run a named TAP
# line: t-lro-engine (generated multi-flow streams through the independent
# checker, copy vs zero-copy), t-lro-selftest (the kernel's GRO selftest
# cases) and lro-verify (the replay path over a generated capture, both
# policies, through the same checker): the same merge decisions, counters,
# checksums and bytes at every level. The levels the CPU has are the ones
# lro_ref's own dispatcher picks (t-lro-csum --level: the highest without
# LRO_SIMD_MAX, and the level in effect under each LRO_SIMD_MAX); a level the
# CPU lacks is a visible skip with its reason. t-lro-csum checks the sums
# themselves at every level.
. "$(dirname "$0")/lib.sh"
T="$TOP/$LK_BUILD/tests"
V="$T/helpers/lro-verify"
GEN="$TOP/$LK_BUILD/bench/lro-perf"   # its `gen` mode writes the synthetic capture
for t in t-lro-engine t-lro-selftest t-lro-csum; do
	[ -x "$T/$t" ] || skip_all "$t not built"
done
[ -x "$V" ] || skip_all "helper lro-verify not built"
[ -x "$GEN" ] || skip_all "bench/lro-perf (capture generator) not built"

name=(scalar AVX2 AVX-512)
lacks=("" "AVX2" "AVX-512F/AVX-512BW")
top=$(env -u LRO_SIMD_MAX "$T/t-lro-csum" --level)
case $top in 0 | 1 | 2) ;; *) top=-1 ;; esac
[ "$top" -ge 0 ]; ok $? "lro_ref's dispatcher: this CPU's highest level is ${name[$top]:-unknown} ($top)"

"$GEN" gen "$TMP/gen.pcap" 2; ok $? "generated capture for lro-verify (2 MiB, IPv4 and IPv6 flows)"

for lvl in 0 1 2; do
	tag="LRO_SIMD_MAX=$lvl (${name[$lvl]})"
	if [ "$lvl" -gt "$top" ]; then
		ok 0 "# SKIP ${name[$lvl]} level (LRO_SIMD_MAX=$lvl): this CPU lacks ${lacks[$lvl]}"
		continue
	fi
	is "$(LRO_SIMD_MAX=$lvl "$T/t-lro-csum" --level)" "$lvl" "$tag: the engine runs at this level"
	for t in t-lro-engine t-lro-selftest; do
		LRO_SIMD_MAX=$lvl "$T/$t" > "$TMP/out" 2>&1; rc=$?
		n=$(grep -c '^ok' "$TMP/out"); bad=$(grep -c '^not ok' "$TMP/out")
		[ $rc -eq 0 ] && [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]
		ok $? "$tag $t: $n passed, $bad failed"
		[ "$bad" -eq 0 ] || grep -m5 -A3 '^not ok' "$TMP/out" | sed 's/^/# /'
	done
	for pol in linux inet_lro; do
		LRO_SIMD_MAX=$lvl "$V" --policy $pol "$TMP/gen.pcap" > "$TMP/v" 2>&1; rc=$?
		ok $rc "$tag lro-verify --policy $pol: $(tr '\n' ';' < "$TMP/v")"
	done
done
done_testing
