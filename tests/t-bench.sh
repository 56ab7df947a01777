#!/bin/sh
# `lrokit bench` end to end (root): every configuration once, a small
# transfer, one results folder (database, captures, report); every figure
# has every series of every configuration that ran, each with data, and
# loads in headless Chromium, is not blank (t-report-html.sh --check); a
# screenshot is taken; the progress lines (phase, configuration,
# repeat, goodput, ETA); the runs' capture drops recorded; --dry-run with the
# disk the plan needs; preflight names a missing capture permission and
# refuses a file system without room; Ctrl-C keeps finished runs, marks the
# current one aborted, leaves no namespace; refused without root.
. "$(dirname "$0")/lib.sh"
"$LK" bench --dry-run --repeat 2 --configs xen,lro-phys --out "$TMP/dry" > "$TMP/plan" 2>&1
ok $? "--dry-run works without root"
is "$(grep -c 'lrokit run' "$TMP/plan")" 4 "--dry-run plans 2 configurations x 2 repeats"
grep -q "^results $TMP/dry: lrokit.db, captures/, report/report.html" "$TMP/plan"; ok $? "--dry-run names the results folder"
grep -q -- "--db $TMP/dry/lrokit.db --capture $TMP/dry/captures" "$TMP/plan"; ok $? "  runs write the folder's database and captures"
# 4 runs x 1 GiB at <= 417 MB per GiB + 67 MB report = 1.7 GB
grep -q '^disk: about 1\.7 GB (at most 417 MB per GiB moved' "$TMP/plan"; ok $? "--dry-run states the disk the plan needs"
[ ! -e "$TMP/dry" ]; ok $? "--dry-run makes nothing"
# profiles, --model and --sweep in the plan (no root needed)
"$LK" bench --dry-run --profile paper --out "$TMP/p" > "$TMP/paper" 2>&1
ok $? "--dry-run --profile paper"
# 18 base runs + 3 values x 3 configurations x 3 repeats, 1 GiB each: 45 x 417 MB + 67 MB
grep -q '^disk: about 18\.8 GB' "$TMP/paper"; ok $? "paper profile: 45 runs x 1 GiB need about 18.8 GB"
is "$(grep -c '^  run .* --profile paper ' "$TMP/paper")" 45 "  every run starts from the paper model (run --profile paper)"
is "$(grep -c -- '--sweep nic.rx_usecs=' "$TMP/paper")" 27 "  the profile's sweep: nic.rx_usecs over xen, lro-phys, lro-virt"
grep -q '^sweep nic.rx_usecs: 0 125 500 (us)$' "$TMP/paper"; ok $? "  the sweep and its values are stated"
grep -q -- '--sweep nic.rx_usecs=500 .*lrokit run' "$TMP/paper"; is $? 1 "  one sweep point per run"
"$LK" bench --dry-run --sweep-only --sweep guest.wake_us=0,100 --configs lro-virt,lro-phys \
	--repeat 2 --model nic.rx_usecs=125 --model ring.slots=64 --out "$TMP/s" > "$TMP/sweep" 2>&1
ok $? "--dry-run of a sweep with --model"
is "$(grep -c '^  run ' "$TMP/sweep")" 8 "  2 values x 2 configurations x 2 repeats, no base runs"
is "$(grep -c -- 'lrokit run lro-\(virt\|phys\) .*--profile quick --model nic.rx_usecs=125 --model ring.slots=64 --sweep guest.wake_us=\(0\|100\) ' "$TMP/sweep")" 8 \
	"  every run: the profile, each --model, its sweep point"
is "$("$LK" bench --dry-run --out "$TMP/q" | grep -c '^  run \|^sweep ')" 18 "quick profile: 18 base runs, no sweep"
is "$("$LK" bench --dry-run --profile paper --sweep none --out "$TMP/q" | grep -c '^  run ')" 18 \
	"--sweep none drops the profile's sweep"
for bad in "--sweep nosuch.key=1,2" "--sweep nic.rx_usecs=1" "--sweep nic.rx_usecs=1,1" \
	"--sweep nic.rx_usecs=-1,2" "--model nic.rx_usecs=5 --sweep nic.rx_usecs=1,2" \
	"--sweep guest.load=0,0.5" "--model bogus=1" "--sweep-only"; do
	# shellcheck disable=SC2086
	"$LK" bench --dry-run $bad > "$TMP/bad.out" 2> "$TMP/bad.err"
	is "$?:$(wc -l < "$TMP/bad.err"):$(wc -c < "$TMP/bad.out")" "2:1:0" "refused with one line, exit 2: $bad ($(cat "$TMP/bad.err"))"
done
"$LK" bench --dry-run | grep -q '^results results/[0-9]\{8\}-[0-9]\{6\}-[0-9]*: '; ok $? "default folder results/DATE-TIME-PID"
"$LK" bench --configs bogus --dry-run >/dev/null 2>&1; is $? 2 "unknown configuration: usage error"
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$LK" bench --out /tmp/nonexistent-lk >/dev/null 2>"$TMP/np.err"
	rc=$?
	is "$rc" 3 "bench as an unprivileged user: exit 3"
	grep -q "needs root" "$TMP/np.err"; ok $? "says it needs root"
else
	skip "needs root and setpriv: bench as an unprivileged user refused"
fi
require_root
CHROMIUM=$(command -v chromium || true)

# preflight: root without CAP_NET_RAW cannot capture: one line naming it, exit 3
if setpriv --bounding-set=-net_raw --inh-caps=-net_raw true 2>/dev/null; then
	setpriv --bounding-set=-net_raw --inh-caps=-net_raw "$LK" bench --out "$TMP/nr" \
		>/dev/null 2>"$TMP/nr.err"
	rc=$?
	is "$rc:$(grep -c 'live packet capture' "$TMP/nr.err"):$(wc -l <"$TMP/nr.err")" "3:1:1" \
		"preflight without CAP_NET_RAW: one line about the capture, exit 3"
	[ -e "$TMP/nr" ]; is $? 1 "  and no results folder made"
else
	skip "setpriv cannot drop CAP_NET_RAW here: bench preflight without CAP_NET_RAW"
fi

# preflight: a file system without room for the plan: one line, exit 1, nothing made
mkdir "$TMP/small"
if mount -t tmpfs -o size=64m lkbench-small "$TMP/small" 2>/dev/null; then
	"$LK" bench --configs xen --repeat 1 --bytes 1G --out "$TMP/small/r" >/dev/null 2>"$TMP/df.err"
	rc=$?
	is "$rc:$(grep -c 'not enough disk space for .*needs about 0.5 GB, 0.1 GB free' "$TMP/df.err"):$(wc -l <"$TMP/df.err")" \
		"1:1:1" "no room for the plan: one line, exit 1"
	[ -e "$TMP/small/r" ]; is $? 1 "  and no results folder made"
	umount "$TMP/small"
else
	skip "cannot mount a tmpfs: the disk-space refusal"
fi

# testbed namespaces (lkr<pid>-*) of other processes (tests run side by side)
# come and go: what must not be left is one whose run has exited
ip netns list | sed -n 's/^\(lkr[^ ]*\).*/\1/p' | sort > "$TMP/ns.before"
"$LK" bench --repeat 1 --bytes 48M --out "$TMP/res" > "$TMP/out" 2> "$TMP/err"
rc=$?
is "$rc" 0 "bench: every configuration once, exit 0"
[ $rc -eq 0 ] || diag "$(tail -5 "$TMP/err")"
DB="$TMP/res/lrokit.db"
is "$(sqlite3 "$DB" "SELECT count(*) FROM runs WHERE status='ok' AND bench_id IS NOT NULL")" 6 "6 ok runs tagged with the bench id"
is "$(sqlite3 "$DB" "SELECT count(DISTINCT run_id) FROM captures WHERE run_id IS NOT NULL")" 6 "captures of every run ingested"
is "$(sqlite3 "$DB" "SELECT count(*) FROM captures WHERE path LIKE '$TMP/res/captures/run%.pcap.zst'")" 12 \
	"the captures are in the folder's captures/, zstd-compressed, and captures.path names them"
is "$(ls "$TMP/res/captures" | grep -c '\.pcap\.zst$')" 12 "  two per run, none left uncompressed ($(ls "$TMP/res/captures" | grep -c '\.pcap$') .pcap)"
z=$(sqlite3 "$DB" "SELECT path FROM captures WHERE run_id IS NOT NULL ORDER BY capture_id LIMIT 1")
zp=$(sqlite3 "$DB" "SELECT packets FROM captures WHERE run_id IS NOT NULL ORDER BY capture_id LIMIT 1")
"$LK" analyze --json "$z" > "$TMP/z.json" 2>/dev/null &&
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if sum(f["a2b"]["total_packets"]+f["b2a"]["total_packets"] for f in j["flows"]) > 0 else 1)' "$TMP/z.json"
ok $? "  a compressed capture reads back with lrokit analyze ($zp records when ingested)"
is "$(sqlite3 "$DB" "SELECT count(DISTINCT run_id) FROM counters")" 6 "counters for every run"
is "$(sqlite3 "$DB" "SELECT count(*) FROM runs WHERE capture_drops >= 0")" 6 \
	"runs.capture_drops recorded for every run"
grep -q "results in $TMP/res (report $TMP/res/report/report.html)" "$TMP/out"; ok $? "says where the results and the report are"
used=$(du -sk "$TMP/res" | cut -f1)
need=$("$LK" bench --dry-run --repeat 1 --bytes 48M | sed -n 's/^disk: about \([0-9.]*\) GB.*/\1/p')
awk -v u="$used" -v n="$need" 'BEGIN{exit !(u * 1024 <= n * 1e9)}'; ok $? "the folder ($used kB) is within the estimate ($need GB)"
# progress: stderr is not a tty, so one line per phase of every run
for ph in setup transfer teardown ingest; do
	is "$(grep -c "^bench: run [1-6]/6  .*  repeat 1/1  $ph " "$TMP/err")" 6 "progress: a '$ph' line for each run"
done
is "$(grep "  teardown " "$TMP/err" | grep -c ' Gbit/s (.* MB)  elapsed .*  ETA ')" 6 \
	"progress: the current run's goodput and the ETA"
grep -q '^bench: 6/6 runs done  report ' "$TMP/err"; ok $? "progress: the report phase"
[ $rc -eq 0 ] || diag "$(cat "$TMP/err")"
# every figure has every series of every configuration that ran, each with
# data: "CONFIG|SERIES|ROWS" per series, ROWS = data rows with a value > 0.
# A block header "# block N: CONFIG: what" is one series of CONFIG; in a
# block without a configuration (one row per configuration: figures 1, 2,
# 5) each row is the series of the configuration in its first field.
series() {
	awk -F, '
	/^# block [0-9]+:/ { blk = $0; sub(/^# block [0-9]+: /, "", blk); cfg = ""
		if (match(blk, /^[a-z0-9-]+: /)) { cfg = substr(blk, 1, RLENGTH - 2); blk = substr(blk, RLENGTH + 1) }
		next }
	/^#/ || /^$/ { next }
	{ c = cfg == "" ? $1 : cfg; k = c "|" blk; if (!(k in n)) { n[k] = 0; order[++m] = k }
	  for (i = 2; i <= NF; i++) if ($i ~ /^[0-9.eE+-]+$/ && $i + 0 > 0) { n[k]++; break } }
	END { for (i = 1; i <= m; i++) print order[i] "|" n[order[i]] }' "$1"
}
ran=$(sqlite3 "$DB" "SELECT DISTINCT config FROM runs WHERE status='ok' ORDER BY config")
# series per configuration: 3 estimators in figure 4 (plus SACK arrivals
# when there were SACKs), 2 bars in figure 5, 3 stages x 2 histograms in
# figure 7, which only the configurations with stages (not native*) have
for f in 1 2 3 4 5 6 7; do
	csv=$(ls "$TMP"/res/report/fig$f-*.csv 2>/dev/null | head -1)
	want=1; case $f in 4) want=3 ;; 5) want=2 ;; 7) want=6 ;; esac
	series "${csv:-/dev/null}" > "$TMP/series$f"
	bad=""; nc=0
	for c in $ran; do
		[ $f = 7 ] && case $c in native*) continue ;; esac
		nc=$((nc + 1))
		n=$(grep -c "^$c|.*|[1-9][0-9]*\$" "$TMP/series$f")
		[ "$n" -ge $want ] || bad="$bad $c($n of $want)"
	done
	empty=$(grep '|0$' "$TMP/series$f" | cut -d'|' -f1,2 | tr '\n' ';')
	[ -n "$csv" ] && [ -z "$bad$empty" ] && [ $nc -gt 0 ]
	ok $? "figure $f ($(basename "${csv:-none}")): every series of each of the $nc configurations that ran, none empty ($(wc -l < "$TMP/series$f") series)${bad:+; missing:$bad}${empty:+; empty: $empty}"
done
if [ -n "$CHROMIUM" ]; then
	# the report checks of t-report-html.sh: every figure loaded in Chromium,
	# none blank, a screenshot, every plotted series has data
	"$TOP/tests/t-report-html.sh" --check "$TMP/res/report" 7 "bench report" >"$TMP/check.tap" 2>&1
	grep -E '^#|^not ok' "$TMP/check.tap" | sed 's/^# //' | while read -r l; do diag "$l"; done
	is "$(grep -c '^ok' "$TMP/check.tap"):$(grep -c '^not ok' "$TMP/check.tap")" "4:0" \
		"bench report in Chromium: figures loaded, not blank, screenshot, every series has data"
else
	skip "chromium not installed (make deps): the bench report in Chromium"
fi

# Ctrl-C during the second run: the first is kept ok, the second aborted,
# the report still built from what finished, no namespace left
"$LK" bench --configs native,xen --repeat 1 --bytes 2G --rate 1gbit --out "$TMP/res2" \
	-q > "$TMP/out2" 2> "$TMP/err2" &
bp=$!
# wait for the xen run's row (native's 2 GiB and its ingest take 20-60 s, more
# under the sanitizers; the cap is only against a hang)
i=0
while [ $i -lt 3000 ]; do
	n=$(sqlite3 "$TMP/res2/lrokit.db" "SELECT count(*) FROM runs WHERE config='xen'" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 1 ] && break
	sleep 0.1; i=$((i + 1))
done
[ $i -lt 3000 ] || diag "no xen run row after 300 s: interrupting anyway"
sleep 1
kill -INT $bp
wait $bp
rc=$?
is "$rc" 130 "bench interrupted: exit 130"
is "$(sqlite3 "$TMP/res2/lrokit.db" "SELECT config||':'||status FROM runs ORDER BY run_id" | tr '\n' ' ')" \
	"native:ok xen:aborted " "finished run kept, interrupted run marked aborted"
[ -s "$TMP/res2/report/report.html" ]; ok $? "report built from the finished runs"

# a sweep: every run records its profile and sweep point, the report draws
# the sweep's figure and judges the claims at each value
"$LK" bench --sweep-only --sweep nic.rx_usecs=0,200 --configs lro-phys,lro-virt --repeat 1 \
	--bytes 16M --model wire.rate_bps=1e9 --out "$TMP/sw" -q > "$TMP/sw.out" 2> "$TMP/sw.err"
rc=$?
[ $rc -eq 0 ] || diag "$(tail -5 "$TMP/sw.err")"
is "$rc" 0 "bench --sweep-only: 2 values x 2 configurations, exit 0"
SDB=$TMP/sw/lrokit.db
is "$(sqlite3 "$SDB" "SELECT group_concat(config || '@' || sweep_key || '=' || sweep_value || ':' || profile, ' ') FROM (SELECT * FROM runs WHERE status = 'ok' ORDER BY run_id)")" \
	"lro-phys@nic.rx_usecs=0.0:quick lro-virt@nic.rx_usecs=0.0:quick lro-phys@nic.rx_usecs=200.0:quick lro-virt@nic.rx_usecs=200.0:quick" \
	"each run records its configuration, sweep point and profile"
is "$(sqlite3 "$SDB" "SELECT count(*) FROM model_params WHERE key = 'nic.rx_usecs' AND origin = 'sweep'"):$(sqlite3 "$SDB" "SELECT count(*) FROM model_params WHERE key = 'wire.rate_bps' AND origin = 'cli' AND value = 1e9")" \
	"4:4" "model_params: the swept value (origin sweep) and --model (origin cli) of every run"
F8=$(ls "$TMP"/sw/report/fig8-sweep-nic.rx_usecs.png 2>/dev/null)
[ -s "$F8" ] && [ "$(grep -vc '^#\|^$' "$TMP/sw/report/fig8-sweep-nic.rx_usecs.csv")" -eq 4 ]
ok $? "the report draws the sweep's figure (a row per configuration and value)"
grep -q 'id=sweeps' "$TMP/sw/report/report.html" && grep -q 'id="claim-lro_rate_phys_lt_virt"' "$TMP/sw/report/report.html"
ok $? "report.html has the findings and the sweep's section"
sleep 0.5
ip netns list | sed -n 's/^\(lkr[^ ]*\).*/\1/p' | sort > "$TMP/ns.after"
left=$(comm -13 "$TMP/ns.before" "$TMP/ns.after" | while read -r ns; do
	pid=${ns#lkr}; pid=${pid%%-*}; [ -d "/proc/$pid" ] || printf '%s ' "$ns"; done)
is "$left" "" "no testbed namespace left by a run that has exited"
done_testing
