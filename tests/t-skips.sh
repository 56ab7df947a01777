#!/bin/sh
# t-skips: the skip rule (tests/skip-check) as the shell and C tests meet it.
# Small TAP tests written here, in a copy of the tests/ folder with its own
# allowed-skips, skip in every way (skip_all, skip, ok "# SKIP ...", and the
# C skip_all/skip/ok of tap.h): under CI (CI=true, as root) an unlisted skip
# fails its test and a listed one passes; outside CI both pass; every skip
# lands in $LK_SKIP_LOG and the summary lists it with its verdict.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (the CI rule applies to root only)"
command -v cc >/dev/null || skip_all "no C compiler"
D="$TMP/top/tests"
mkdir -p "$D"
ln -s "$TOP/tests/lib.sh" "$TOP/tests/skip-check" "$D/"
printf '%s\n' '# demo' 't-demo.sh | listed:* | allowed for the demo' 't-cdemo | listed:* | allowed for the demo' \
	> "$D/allowed-skips"
demo() { # demo BODY: a shell test t-demo.sh with BODY after sourcing lib.sh
	printf '#!/bin/sh\n. "$(dirname "$0")/lib.sh"\n%s\n' "$1" > "$D/t-demo.sh"
	chmod +x "$D/t-demo.sh"
}
run() { # run CI-VALUE: exit status and TAP of t-demo.sh in $TMP/out
	CI=$1 LK_SKIP_LOG="$TMP/log" "$D/t-demo.sh" > "$TMP/out" 2>&1
}
: > "$TMP/log"
demo 'skip_all "unlisted: no such tool"'
run true; is "$?:$(grep -v '^#' "$TMP/out" | tr '\n' '|')" \
	"1:not ok 1 - skipped, and the skip is not allowed here: unlisted: no such tool|1..1|" \
	"CI: an unlisted skip_all fails"
run false; is "$?:$(head -1 "$TMP/out")" "0:1..0 # SKIP unlisted: no such tool" "not CI: it skips"
demo 'skip_all "listed: a reason"'
run true; is "$?:$(head -1 "$TMP/out")" "0:1..0 # SKIP listed: a reason" "CI: a listed skip_all skips"
demo 'plan 3; ok 0 one; ok 0 "# SKIP unlisted: two"; skip "listed: three"; done_testing'
run true; is "$?:$(grep -c '^not ok 2 - skipped, and the skip is not allowed here: unlisted: two$' "$TMP/out"):$(grep -c '^ok 3 # skip listed: three$' "$TMP/out")" \
	"1:1:1" "CI: an unlisted ok with a SKIP description fails, a listed skip passes"
demo 'plan 3; ok 0 one; skip_all "unlisted: the rest"'
run true; is "$?:$(grep -c '^not ok [23] - skipped' "$TMP/out")" "1:2" "CI: skip_all after a plan fails every check left"
run false; is "$?:$(grep -c '^ok [23] # skip unlisted: the rest$' "$TMP/out")" "0:2" "not CI: it skips every check left"

# the same through tap.h
cat > "$TMP/cdemo.c" <<'EOF'
#include "tests/tap.h"
int main(int argc, char **argv)
{
	if (argc > 1)
		skip_all(argv[1]);
	ok(1, "one");
	ok(1, "# SKIP unlisted: two");
	skip("listed: %s", "three");
	return done_testing();
}
EOF
cc -std=c11 -D_GNU_SOURCE -I"$TOP" -o "$D/t-cdemo" "$TMP/cdemo.c"
ok $? "a C test with tests/tap.h builds"
CI=true LK_TOP="$TMP/top" LK_SKIP_LOG="$TMP/log" "$D/t-cdemo" "unlisted: no such device" > "$TMP/out" 2>&1
is "$?:$(grep -v '^#' "$TMP/out" | tr '\n' '|')" "1:not ok 1 - skipped, and the skip is not allowed here: unlisted: no such device|1..1|" \
	"C, CI: an unlisted skip_all fails"
CI=true LK_TOP="$TMP/top" LK_SKIP_LOG="$TMP/log" "$D/t-cdemo" "listed: a device" > "$TMP/out" 2>&1
is "$?:$(head -1 "$TMP/out")" "0:1..0 # SKIP listed: a device" "C, CI: a listed skip_all skips"
CI=true LK_TOP="$TMP/top" LK_SKIP_LOG="$TMP/log" "$D/t-cdemo" > "$TMP/out" 2>&1
is "$?:$(grep -c '^not ok 2 - skipped' "$TMP/out"):$(grep -c '^ok 3 # skip listed: three$' "$TMP/out")" "1:1:1" \
	"C, CI: an unlisted ok() with a SKIP description fails, a listed skip() passes"
CI=false LK_TOP="$TMP/top" LK_SKIP_LOG="$TMP/log" "$D/t-cdemo" > "$TMP/out" 2>&1
is "$?:$(grep -c '^ok 2 # skip unlisted: two$' "$TMP/out")" "0:1" "C, not CI: it skips"

# the log and the summary make check prints
is "$(wc -l < "$TMP/log" | tr -d ' ')" 13 "every skip logged (13)"
"$D/skip-check" --summary "$TMP/log" > "$TMP/sum"
grep -q '^  t-demo.sh: unlisted: no such tool \[REFUSED: not in tests/allowed-skips (CI=true, root)\]$' "$TMP/sum" &&
	grep -q '^  t-cdemo: listed: three \[allowed: allowed for the demo\]$' "$TMP/sum" &&
	grep -q '^  t-demo.sh: unlisted: no such tool \[not in tests/allowed-skips: would fail under CI\]$' "$TMP/sum"
ok $? "the summary lists each skip with its reason and what CI makes of it"
"$D/skip-check" --summary "$TMP/nolog" > "$TMP/sum"
is "$(cat "$TMP/sum")" "skips: none" "no log: no skips"
done_testing
