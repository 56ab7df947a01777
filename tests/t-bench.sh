#!/bin/sh
# `lrokit bench` end to end (root): every configuration once, a small
# transfer, database + report; every figure loads in headless Chromium, is not
# blank and has data (t-report-html.sh --check); a screenshot is taken; the
# progress lines (phase, configuration, repeat, goodput, ETA); the runs'
# capture drops recorded; --dry-run; preflight names a missing capture
# permission; Ctrl-C keeps finished runs, marks the current one aborted,
# leaves no namespace; refused without root.
. "$(dirname "$0")/lib.sh"
"$LK" bench --dry-run --repeat 2 --configs xen,lro-phys > "$TMP/plan" 2>&1
ok $? "--dry-run works without root"
is "$(grep -c 'lrokit run' "$TMP/plan")" 4 "--dry-run plans 2 configurations x 2 repeats"
"$LK" bench --configs bogus --dry-run >/dev/null 2>&1; is $? 2 "unknown configuration: usage error"
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$LK" bench --db /tmp/nonexistent-lk.db >/dev/null 2>"$TMP/np.err"
	rc=$?
	is "$rc" 3 "bench as an unprivileged user: exit 3"
	grep -q "needs root" "$TMP/np.err"; ok $? "says it needs root"
fi
require_root
CHROMIUM=$(command -v chromium || true)

# preflight: root without CAP_NET_RAW cannot capture: one line naming it, exit 3
if setpriv --bounding-set=-net_raw --inh-caps=-net_raw true 2>/dev/null; then
	setpriv --bounding-set=-net_raw --inh-caps=-net_raw "$LK" bench --db "$TMP/nr.db" \
		>/dev/null 2>"$TMP/nr.err"
	rc=$?
	is "$rc:$(grep -c 'live packet capture' "$TMP/nr.err"):$(wc -l <"$TMP/nr.err")" "3:1:1" \
		"preflight without CAP_NET_RAW: one line about the capture, exit 3"
	[ -e "$TMP/nr.db" ]; is $? 1 "  and no database made"
fi

before=$(ip netns list | grep -c '^lkr' || true)
"$LK" bench --repeat 1 --bytes 48M --db "$TMP/b.db" --report "$TMP/rep" > "$TMP/out" 2> "$TMP/err"
rc=$?
is "$rc" 0 "bench: every configuration once, exit 0"
[ $rc -eq 0 ] || diag "$(tail -5 "$TMP/err")"
is "$(sqlite3 "$TMP/b.db" "SELECT count(*) FROM runs WHERE status='ok' AND bench_id IS NOT NULL")" 6 "6 ok runs tagged with the bench id"
is "$(sqlite3 "$TMP/b.db" "SELECT count(DISTINCT run_id) FROM captures WHERE run_id IS NOT NULL")" 6 "captures of every run ingested"
is "$(sqlite3 "$TMP/b.db" "SELECT count(DISTINCT run_id) FROM counters")" 6 "counters for every run"
is "$(sqlite3 "$TMP/b.db" "SELECT count(*) FROM runs WHERE capture_drops >= 0")" 6 \
	"runs.capture_drops recorded for every run"
grep -q "report.html" "$TMP/out"; ok $? "says where the report is"
# progress: stderr is not a tty, so one line per phase of every run
for ph in setup transfer teardown ingest; do
	is "$(grep -c "^bench: run [1-6]/6  .*  repeat 1/1  $ph " "$TMP/err")" 6 "progress: a '$ph' line for each run"
done
is "$(grep "  teardown " "$TMP/err" | grep -c ' Gbit/s (.* MB)  elapsed .*  ETA ')" 6 \
	"progress: the current run's goodput and the ETA"
grep -q '^bench: 6/6 runs done  report ' "$TMP/err"; ok $? "progress: the report phase"
[ $rc -eq 0 ] || diag "$(cat "$TMP/err")"
for f in 1 2 3 4 5 6; do
	csv=$(ls "$TMP"/rep/fig$f-*.csv 2>/dev/null | head -1)
	[ -n "$csv" ] && [ "$(grep -vc '^#' "$csv")" -gt 0 ]; ok $? "figure $f has data ($(basename "${csv:-none}"))"
done
if [ -n "$CHROMIUM" ]; then
	# the report checks of t-report-html.sh: every figure loaded in Chromium,
	# none blank, a screenshot, every plotted series has data
	"$TOP/tests/t-report-html.sh" --check "$TMP/rep" 6 "bench report" >"$TMP/check.tap" 2>&1
	grep -E '^#|^not ok' "$TMP/check.tap" | sed 's/^# //' | while read -r l; do diag "$l"; done
	is "$(grep -c '^ok' "$TMP/check.tap"):$(grep -c '^not ok' "$TMP/check.tap")" "4:0" \
		"bench report in Chromium: figures loaded, not blank, screenshot, every series has data"
else
	diag "chromium not installed: figure loading not checked"
fi

# Ctrl-C during the second run: the first is kept ok, the second aborted,
# the report still built from what finished, no namespace left
"$LK" bench --configs native,xen --repeat 1 --bytes 2G --rate 1gbit --db "$TMP/c.db" \
	--report "$TMP/rep2" -q > "$TMP/out2" 2> "$TMP/err2" &
bp=$!
i=0
while [ $i -lt 600 ]; do
	n=$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM runs WHERE config='xen'" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 1 ] && break
	sleep 0.1; i=$((i + 1))
done
sleep 1
kill -INT $bp
wait $bp
rc=$?
is "$rc" 130 "bench interrupted: exit 130"
is "$(sqlite3 "$TMP/c.db" "SELECT config||':'||status FROM runs ORDER BY run_id" | tr '\n' ' ')" \
	"native:ok xen:aborted " "finished run kept, interrupted run marked aborted"
[ -s "$TMP/rep2/report.html" ]; ok $? "report built from the finished runs"
sleep 0.5
is "$(ip netns list | grep -c '^lkr' || true)" "$before" "no testbed namespace left"
done_testing
