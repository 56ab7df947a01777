# tests/lib.sh - TAP helpers for shell tests (source it).
#   plan N | skip_all REASON | skip REASON | ok COND-EXIT-STATUS DESC | is GOT WANT DESC
#   require_root  (skips the whole test when not root)
#   Every skip goes through tests/skip-check: under CI (CI=true, as root) a
#   skip not listed in tests/allowed-skips is a failure; make check lists
#   every skip at the end. An `ok` whose DESC starts with "# SKIP" is a skip.
#   NFT = the nft command; LK_TEST_BREAK_NFT=1 makes it one that fails (to
#   see that CI fails, not skips, when the environment is broken).
#   LK = path of the lrokit binary under test; TMP = private temp dir (removed)
#   lk_netns NAME... creates namespaces with a per-test unique prefix and
#   registers them for teardown on exit, failure and Ctrl-C.
#   wait_listening FILE... / wait_port NS PORT: wait for a background tcpdump
#   to capture, or a background server to listen (instead of a sleep).
set -u
LK_BUILD=${LK_BUILD:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
LK="$TOP/$LK_BUILD/lrokit"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lktest.XXXXXX")
_tap_n=0; _tap_fail=0; _planned=0
_lk_ns_list=""
_lk_cleanup_hooks=""
NSP="lkt$$"   # unique per test process: namespaces are "${NSP}a", "${NSP}b"...

_lk_teardown() {
	for h in $_lk_cleanup_hooks; do "$h" >/dev/null 2>&1 || true; done
	for ns in $_lk_ns_list; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap '_lk_teardown' EXIT
trap '_lk_teardown; exit 130' INT TERM

NFT=nft
[ "${LK_TEST_BREAK_NFT:-}" = 1 ] && NFT="$TOP/tests/helpers/fail-tool"
_lk_test=$(basename "$0")

plan() { echo "1..$1"; _planned=$1; }
# diag: on stdout with the TAP (prove -v shows it), and kept until a check
# fails: a failed check prints on stderr, which prove shows, the diagnostics
# printed since the last failure (what a failure in a CI log needs)
diag() { echo "# $*"; echo "# $*" >> "$TMP/.diag"; }
_lk_fail() { # N DESC [DETAIL...]: a failed check, on stderr
	{
		echo "#   Failed test $1 - $2 ($_lk_test)"
		shift 2
		for l in "$@"; do echo "$l"; done
		[ -s "$TMP/.diag" ] && { echo "#   diagnostics before it:"; cat "$TMP/.diag"; }
	} >&2
	: > "$TMP/.diag"
}
skip_all() { # skip_all REASON: the whole test, or (after a plan or a check) the rest of it
	if "$TOP/tests/skip-check" "$_lk_test" "$*"; then
		if [ $_tap_n -eq 0 ] && [ $_planned -eq 0 ]; then echo "1..0 # SKIP $*"; exit 0; fi
		_lk_res="ok" _lk_desc="# skip $*"
	else
		_lk_res="not ok" _lk_desc="- skipped, and the skip is not allowed here: $*"
		_tap_fail=$((_tap_fail + 1))
	fi
	_tap_n=$((_tap_n + 1)); echo "$_lk_res $_tap_n $_lk_desc"
	while [ $_tap_n -lt $_planned ]; do _tap_n=$((_tap_n + 1)); echo "$_lk_res $_tap_n $_lk_desc"; done
	[ $_planned -ne 0 ] || echo "1..$_tap_n"
	exit $([ $_tap_fail -eq 0 ]; echo $?)
}
skip() { # skip REASON: one check not made (counts as a test)
	_tap_n=$((_tap_n + 1))
	if "$TOP/tests/skip-check" "$_lk_test" "$*"; then echo "ok $_tap_n # skip $*"
	else echo "not ok $_tap_n - skipped, and the skip is not allowed here: $*"; _tap_fail=$((_tap_fail + 1)); fi
}
ok() { # ok STATUS DESC
	case $2 in '# SKIP '* | '# skip '*) skip "${2#\# [Ss][Kk][Ii][Pp] }"; return ;; esac
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_tap_n - $2"
	else echo "not ok $_tap_n - $2"; _tap_fail=$((_tap_fail + 1)); _lk_fail $_tap_n "$2"; fi
}
is() { # is GOT WANT DESC
	_tap_n=$((_tap_n + 1))
	if [ "$1" = "$2" ]; then echo "ok $_tap_n - $3"
	else
		echo "not ok $_tap_n - $3"; echo "#   got: '$1'"; echo "#  want: '$2'"; _tap_fail=$((_tap_fail + 1))
		_lk_fail $_tap_n "$3" "#   got: '$1'" "#  want: '$2'"
	fi
}
done_testing() { [ $_planned -ne 0 ] || echo "1..$_tap_n"; [ $_tap_fail -eq 0 ]; }
require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, capture)"
	ip netns add "${NSP}probe" 2>/dev/null || skip_all "cannot create network namespaces here"
	ip netns del "${NSP}probe"
}
lk_on_exit() { _lk_cleanup_hooks="$_lk_cleanup_hooks $1"; }
lk_netns() { for n in "$@"; do ip netns add "$n" && _lk_ns_list="$_lk_ns_list $n"; done; }
# wait_listening FILE...: until every file holds "listening" (each is the
# stderr of a tcpdump started in the background: it is capturing); 20 s cap
wait_listening() {
	local f ok
	for _ in $(seq 1000); do
		ok=1
		for f in "$@"; do grep -q listening "$f" 2>/dev/null || ok=0; done
		[ $ok = 1 ] && return 0
		sleep 0.02
	done
	return 1
}
# wait_port NS PORT: until something listens on TCP port PORT in namespace NS
# (a server started in the background); 20 s cap
wait_port() {
	for _ in $(seq 1000); do
		[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null)" ] && return 0
		sleep 0.02
	done
	return 1
}
