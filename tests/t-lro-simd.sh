#!/bin/bash
# t-lro-simd: the lro_ref engine tests again at each lower checksum SIMD level
# (LRO_SIMD_MAX=0 scalar, 1 AVX2; the plain run of the suite uses the CPU's
# highest): the same merge decisions, counters, checksums and bytes, checked
# by the engine tests' independent checker and copy/zero-copy comparison.
# t-lro-csum checks that the variable selects the level.
. "$(dirname "$0")/lib.sh"
T="$TOP/$LK_BUILD/tests"
for t in t-lro-engine t-lro-selftest; do
	[ -x "$T/$t" ] || skip_all "$t not built"
done
for lvl in 0 1; do
	for t in t-lro-engine t-lro-selftest; do
		LRO_SIMD_MAX=$lvl "$T/$t" > "$TMP/out" 2>&1; rc=$?
		n=$(grep -c '^ok' "$TMP/out"); bad=$(grep -c '^not ok' "$TMP/out")
		[ $rc -eq 0 ] && [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]
		ok $? "LRO_SIMD_MAX=$lvl $t: $n passed, $bad failed"
		[ "$bad" -eq 0 ] || grep -m5 -A3 '^not ok' "$TMP/out" | sed 's/^/# /'
	done
done
done_testing
