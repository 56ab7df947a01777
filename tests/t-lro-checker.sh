#!/bin/bash
# t-lro-checker: the lossless checker (tests/helpers/lro-check.h) catches an
# engine that merges a segment whose checksum is bad. The same test programs
# are linked twice: with the real lro_ref, and with lro_ref built with
# -DLRO_TEST_BREAK_CSUM ($(BUILD)/broken/, never in the library), which
# merges without verifying checksums while its callers believe it verifies.
# The broken engine's aggregates carry fresh checksums that verify, so only
# the checker's own recomputation of each input segment's checksum can see
# the bad segment inside them.
#   - t-lro-engine's generated multi-flow streams (bad checksums among them):
#     with the real engine the checker refuses nothing; with the broken one
#     every stream the engine verifies fails with the bad-checksum refusal,
#     and the trusted (CHECKSUM_UNNECESSARY) streams, where merging is what
#     the engine was told to do, still pass;
#   - t-lro-selftest's tcp_csum and ip_csum cases likewise.
. "$(dirname "$0")/lib.sh"
T="$TOP/$LK_BUILD/tests"
BR="$TOP/$LK_BUILD/broken"
for b in "$T/t-lro-engine" "$T/t-lro-selftest" "$BR/t-lro-engine" "$BR/t-lro-selftest"; do
	[ -x "$b" ] || skip_all "$b not built"
done
REFUSAL='whose checksum is bad'

# the generated streams: "generated N frames, POLICY, csum KIND[ (trusted)], table N: lossless ..."
"$T/t-lro-engine" > "$TMP/real" 2>&1; rc=$?
streams=$(grep -c '^ok [0-9]* - generated .*: lossless' "$TMP/real")
is "$rc/$(grep -c "$REFUSAL" "$TMP/real")" "0/0" "real engine: t-lro-engine passes, the checker refuses nothing ($streams generated streams)"
verifying=$(grep '^ok [0-9]* - generated .*: lossless' "$TMP/real" | grep -vc '(trusted)')
trusted=$(grep '^ok [0-9]* - generated .*: lossless' "$TMP/real" | grep -c '(trusted)')
[ "$verifying" -gt 0 ] && [ "$trusted" -gt 0 ]; ok $? "  ... $verifying streams with checksum verification, $trusted trusted"

"$BR/t-lro-engine" > "$TMP/broken" 2>&1; rc=$?
[ $rc -ne 0 ]; ok $? "broken engine (merges unverified): t-lro-engine fails (exit $rc)"
failed=$(grep -c '^not ok [0-9]* - generated .*: lossless' "$TMP/broken")
refused=$(grep -c "^# checker: .*$REFUSAL" "$TMP/broken")
[ "$failed" -gt 0 ]; ok $? "  ... generated streams the checker fails: $failed (real engine: 0)"
is "$failed/$refused" "$verifying/$verifying" "  ... every verifying stream fails, each with the bad-checksum refusal"
grep -m1 "^# checker: .*$REFUSAL" "$TMP/broken" | sed 's/^# /#   /'
is "$(grep '^not ok [0-9]* - generated .*: lossless' "$TMP/broken" | grep -c '(trusted)')" 0 \
	"  ... trusted streams (merging allowed) still pass"
is "$(grep '^not ok' "$TMP/broken" | grep -vc -e '- generated .*: lossless' -e 'zero-copy: same frames')" 0 \
	"  ... and nothing else fails: the checksum refusal is what caught it"

"$T/t-lro-selftest" > "$TMP/sreal" 2>&1; rc=$?
is "$rc/$(grep -c "$REFUSAL" "$TMP/sreal")" "0/0" "real engine: t-lro-selftest passes, the checker refuses nothing"
"$BR/t-lro-selftest" > "$TMP/sbroken" 2>&1
n=$(grep -c "$REFUSAL" "$TMP/sbroken")
cases=$(grep '^not ok [0-9]* - linux ipv[46] [a-z_]*: lossless' "$TMP/sbroken" | sed 's/.* - linux \(ipv[46] [a-z_]*\):.*/\1/' | sort -u | tr '\n' ' ')
[ "$n" -gt 0 ]; ok $? "broken engine: t-lro-selftest checker refusals: $n"
is "$cases" "ipv4 ip_csum ipv4 tcp_csum ipv6 tcp_csum " "  ... in the bad-checksum cases only"
done_testing
