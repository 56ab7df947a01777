#!/bin/sh
# t-version: the binary names the build that made it, in every place it
# writes its version. The version lives in one generated file
# ($(BUILD)/gen/version.c, lib/version.h) that the Makefile rewrites whenever
# `git describe` changes; before that each object kept the version it was
# compiled at, and runs recorded a commit weeks older than the binary.
#   - `lrokit --version` is `git describe --always --dirty` of this checkout
#     (make check builds first, so they agree);
#   - exactly one object of liblrokit.a defines lk_version;
#   - `analyze --db` stores the same string as captures.tool_version.
. "$(dirname "$0")/lib.sh"
TG="$TOP/$LK_BUILD/tests/helpers/tcpgen"
[ -x "$TG" ] || skip_all "tcpgen helper not built"
plan 4
v=$("$LK" --version | head -1)
case "$v" in "lrokit "?*) ok 0 "--version prints 'lrokit VERSION': $v" ;; *) ok 1 "--version prints 'lrokit VERSION': got '$v'" ;; esac
v=${v#lrokit }
if command -v git >/dev/null 2>&1 && git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	is "$v" "$(git -C "$TOP" describe --always --dirty)" "--version is git describe of this checkout"
else
	skip "not a git checkout: nothing to compare --version with"
fi
n=$(nm -A "$TOP/$LK_BUILD/liblrokit.a" 2>/dev/null | grep -c ' [RDB] lk_version$')
is "$n" 1 "one object of liblrokit.a defines lk_version"
"$TG" 4 1 2000 > "$TMP/x.pcap"
"$LK" analyze -q --db "$TMP/x.db" "$TMP/x.pcap" >/dev/null 2>"$TMP/err" || cat "$TMP/err" >&2
is "$(sqlite3 "$TMP/x.db" 'SELECT group_concat(DISTINCT tool_version) FROM captures' 2>&1)" "$v" \
	"analyze --db stores the binary's version (captures.tool_version)"
