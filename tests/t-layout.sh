#!/bin/sh
# t-layout: the architecture's rules that a reader can check in the tree.
#   - cli/ is argument parsing and printing: no function there is over 150
#     lines (a function: from a '{' in column 0 to the next '}' in column 0);
#   - every reference points inside the repository: no tracked file names the
#     design notes the project was started from (the folder beside the
#     checkout, its anchors, its design file);
#   - lro_ref/ is self-contained: its files include only the C library and
#     each other.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1
for f in cli/*.c; do
	long=$(awk '/^\{/ { s = NR; name = prev } /^\}/ { if (s && NR - s + 1 > 150) print NR - s + 1 " lines: " name; s = 0 } { prev = $0 }' "$f")
	is "$long" "" "$f: no function over 150 lines"
done
files=$(git ls-files 2>/dev/null)
[ -n "$files" ] || files=$(find . -path ./build -prune -o -type f -print | grep -v -E '^\./(build|\.git)')
# (the pattern is put together so that this file does not match it itself)
s=shared
refs=$(printf '%s\n' $files | while read -r f; do
	[ -f "$f" ] && grep -l -E "\\.\\./$s|$s/anchors|DESIGN[.]md" "$f"; done)
is "$refs" "" "no file points outside the repository (to the notes beside the checkout)"
inc=$(grep -h '#include' lro_ref/*.c lro_ref/*.h | grep -v -E '#include <[a-z0-9_/]+\.h>|#include "(lro|csum)\.h"|#include "lro_ref/(lro|csum)\.h"')
is "$inc" "" "lro_ref/ includes only the C library and its own headers"
done_testing
