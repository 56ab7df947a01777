#!/bin/sh
# t-readme-map: the README's file map ("What each part does") matches the
# tree: every top-level folder of the repository has its row, every row names
# a folder that exists, and every module header of the library folders is
# named in its folder's row.
. "$(dirname "$0")/lib.sh"
R="$TOP/README.md"
sed -n '/^## What each part does/,/^## /p' "$R" > "$TMP/map"
[ -s "$TMP/map" ] || { echo "Bail out! README has no 'What each part does' section"; exit 1; }
for d in $(cd "$TOP" && ls -d */ | tr -d /); do
	case "$d" in build|build-san|build-fuzz|build-clang|results|report) continue ;; esac
	grep -q "^| \`$d/\` |" "$TMP/map"; ok $? "folder $d/ has a row in the file map"
done
for d in $(sed -n 's/^| `\([^`]*\)\/` |.*/\1/p' "$TMP/map"); do
	[ -d "$TOP/$d" ]; ok $? "file map row $d/ is a folder of the tree"
done
for d in lib lro_ref analyzers collectors schema testbed reports; do
	row=$(grep "^| \`$d/\` |" "$TMP/map")
	for h in "$TOP/$d"/*.h; do
		n=$(basename "$h")
		case "$row" in *"\`$n\`"*) ok 0 "$d/$n named in the $d/ row" ;;
		*) ok 1 "$d/$n named in the $d/ row" ;; esac
	done
done
done_testing
