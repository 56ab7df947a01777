#!/bin/bash
# t-report-html.sh - `lrokit report` end to end, checked in headless Chromium.
#
# Real data: two bulk transfers between two namespaces joined by a veth (TSO/
# GSO/TX-checksum off on the sender, 0.5% of data segments dropped on the
# receiver by nftables so SACKs occur), captured with tcpdump at both ends;
# the receiver has kernel GRO off in transfer A and on in transfer B. The
# four captures go into a database with `lrokit analyze --db`.
#
# 1. analyze-only database: the report exits 0, draws the per-capture figures
#    3-5, says on one stderr line and in the HTML that figures 1, 2, 6, 7 need
#    runs.
# 2. SYNTHETIC TEST DATA (clearly marked below): run rows for every
#    configuration, counters without a PMU (cycles NULL + task-clock), and
#    the captures of transfer A/B attached to runs `native`/`native-gro`.
#    All six figures must be drawn from it; a failed run is listed in the HTML.
# 3. Chromium opens report.html (headless), every <img> must have loaded
#    (naturalWidth > 0) and is not blank (drawn into a canvas: more than a
#    few distinct colours), a screenshot is taken (a PNG, not trivial);
#    every series plotted by every figure's script has rows in its data file.
# 4. gnuplot missing -> one line, exit 3; unprivileged user can report.
#
# `t-report-html.sh --check DIR N` runs only the checks of 3 on an existing
# report directory with N figures (t-bench.sh uses it on the bench report).
. "$(dirname "$0")/lib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

# check_series DIR: every plotted series of every figure has data.
# Prints one line per figure "FIG series=N empty=M [which]"
check_series() {
	for gp in "$1"/fig*.gp; do
		f=$(basename "$gp" .gp)
		# "B Y" per plot clause: data block index (0 without `index`) and data column
		grep -o "data \(index [0-9]\+ \)\?using [^ ]*" "$gp" | awk '
		{ b = 0; spec = $NF; if ($2 == "index") b = $3
		  n = split(spec, p, ":"); y = (n >= 2 && p[2] !~ /^xtic/) ? p[2] : p[1]
		  if (y !~ /^[0-9]+$/) y = p[1]
		  if (y ~ /^[0-9]+$/ && y > 0) print b, y }' >"$1/.series-$f"
		awk -F, -v f="$f" '
		NR == FNR { want[FNR] = $0; nw = FNR; next }
		/^# block [0-9]+:/ { blk = $0; sub(/^# block /, "", blk); sub(/:.*/, "", blk); next }
		/^#/ || /^$/ { next }
		{ for (i = 1; i <= nw; i++) { split(want[i], w, " ")
			if (w[1] == blk + 0 && $(w[2]) ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) has[i] = 1 } }
		END { e = 0; miss = ""; for (i = 1; i <= nw; i++) if (!has[i]) { e++; miss = miss " " want[i] }
		      printf "%s series=%d empty=%d%s\n", f, nw, e, miss }' "$1/.series-$f" "$1/$f.csv"
		rm -f "$1/.series-$f"
	done
}

# browser_check DIR SHOT: open DIR/report.html in headless Chromium; print
# "images=N broken=M" and one "IMG w=W h=H colored=C distinct=D" line per
# <img> (colored: pixels that are not grey, i.e. data drawn in colour),
# and take a screenshot into SHOT.
browser_check() {
	local d=$1 shot=$2
	sed 's#</body>#<script>window.addEventListener("load",function(){var o=[],b=0,n=0;document.querySelectorAll("img").forEach(function(i){n++;var s=i.getAttribute("src"),w=i.naturalWidth,h=i.naturalHeight,c=0,k=0,u={};if(!i.complete||!w){b++;o.push(s+" w=0 h=0 colored=0 distinct=0");return}try{var v=document.createElement("canvas");v.width=w;v.height=h;var x=v.getContext("2d");x.drawImage(i,0,0);var p=x.getImageData(0,0,w,h).data;for(var j=0;j<p.length;j+=4){var r=p[j],g=p[j+1],q=p[j+2],key=(r<<16)|(g<<8)|q;if(!u[key]){u[key]=1;k++}if(Math.max(r,g,q)-Math.min(r,g,q)>48)c++}}catch(e){c=-1}o.push(s+" w="+w+" h="+h+" colored="+c+" distinct="+k)});var e=document.createElement("pre");e.id="lkcheck";e.textContent="images="+n+" broken="+b+"|"+o.join("|");document.body.appendChild(e)})</script></body>#' \
		"$d/report.html" >"$d/.lkcheck.html"
	local flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
 --disable-background-networking --disable-component-update --disable-sync
 --user-data-dir=$TMP/chromium --allow-file-access-from-files --virtual-time-budget=10000"
	timeout 60 "$CHROMIUM" $flags --dump-dom "file://$d/.lkcheck.html" 2>/dev/null |
		grep -o '<pre id="lkcheck">[^<]*' | sed 's/.*>//' | tr '|' '\n'
	rm -f "$d/.lkcheck.html"
	timeout 60 "$CHROMIUM" $flags --window-size=1280,3000 --hide-scrollbars \
		--screenshot="$shot" "file://$d/report.html" >/dev/null 2>&1
}

# report_checks DIR NFIG WHAT: the TAP checks of part 3 (4 tests)
report_checks() {
	local d=$1 nfig=$2 what=$3 shot="$TMP/shot-$(basename "$1").png"
	browser_check "$d" "$shot" >"$TMP/browser.out"
	diag "chromium ($what): $(tr '\n' ';' <"$TMP/browser.out")"
	is "$(head -1 "$TMP/browser.out")" "images=$nfig broken=0" "$what: Chromium loaded every figure ($nfig)"
	# not blank: a failed or empty render is one or two colours; a plot with
	# data in colour has hundreds (antialiasing)
	local blank
	blank=$(awk 'NR > 1 { split($5, d, "="); split($4, c, "=");
		if (d[2] + 0 < 32 || c[2] + 0 <= 0) printf "%s ", $1 }' "$TMP/browser.out")
	is "$blank" "" "$what: no figure is blank (each has >= 32 distinct colours, some in colour)"
	[ -s "$shot" ] && [ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(stat -c %s "$shot")" -gt 50000 ]
	ok $? "$what: screenshot of report.html is a non-trivial PNG ($(stat -c %s "$shot" 2>/dev/null) bytes)"
	check_series "$d" >"$TMP/series.out"
	diag "series ($what): $(tr '\n' ';' <"$TMP/series.out")"
	local nf empty
	nf=$(grep -c 'series=[1-9]' "$TMP/series.out")
	empty=$(grep -v 'empty=0$' "$TMP/series.out" | tr '\n' ' ')
	is "$nf:$empty" "$nfig:" "$what: every series of every figure has rows in its data file"
}

if [ "${1:-}" = --check ]; then
	[ -n "$CHROMIUM" ] || skip_all "chromium not installed (make deps)"
	plan 4
	report_checks "$2" "$3" "${4:-report}"
	done_testing
	exit
fi

require_root
for c in tcpdump iperf3 nft ethtool sqlite3 gnuplot; do
	command -v $c >/dev/null || skip_all "$c not installed (make deps)"
done
[ -n "$CHROMIUM" ] || skip_all "chromium not installed (make deps)"
[ -x "$LK" ] || skip_all "$LK not built"

plan 53

A=${NSP}s B=${NSP}r
lk_netns "$A" "$B"
ip link add rpa type veth peer name rpb
ip link set rpa netns "$A"
ip link set rpb netns "$B"
ip -n "$A" addr add 10.77.0.1/24 dev rpa
ip -n "$B" addr add 10.77.0.2/24 dev rpb
ip -n "$A" link set rpa up; ip -n "$A" link set lo up
ip -n "$B" link set rpb up; ip -n "$B" link set lo up
ip netns exec "$A" ethtool -K rpa tso off gso off tx off >/dev/null 2>&1
ip netns exec "$B" ethtool -K rpb tx off >/dev/null 2>&1
ip netns exec "$B" nft -f - <<'EOF'
table inet lkrep {
	chain in { type filter hook input priority 0; tcp dport 5201 meta length > 200 numgen random mod 1000 < 5 drop; }
}
EOF

transfer() { # NAME GRO(on|off)
	ip netns exec "$B" ethtool -K rpb gro "$2" >/dev/null 2>&1
	ip netns exec "$B" iperf3 -s -1 -D -I "$TMP/iperf.pid" >/dev/null 2>&1
	ip netns exec "$A" tcpdump -i rpa -s 96 -U -w "$TMP/$1-snd.pcap" tcp 2>"$TMP/$1-snd.err" &
	local t1=$!
	ip netns exec "$B" tcpdump -i rpb -s 96 -U -w "$TMP/$1-rcv.pcap" tcp 2>"$TMP/$1-rcv.err" &
	local t2=$!
	wait_listening "$TMP/$1-snd.err" "$TMP/$1-rcv.err"
	wait_port "$B" 5201
	ip netns exec "$A" iperf3 -c 10.77.0.2 -n 24M -C reno >/dev/null 2>&1
	local rc=$?
	sleep 0.3
	kill -INT $t1 $t2; wait $t1 $t2 2>/dev/null
	return $rc
}
transfer A off; ok $? "transfer A (GRO off) with captures at both ends"
transfer B on; ok $? "transfer B (GRO on) with captures at both ends"

DB=$TMP/lk.db
# --side: where each capture was taken (on a veth the RTT is too small for
# the analyzer to tell by itself); analyze stores flows, packets, ACK classes
# and bandwidth estimates
"$LK" analyze -q --side sender --db "$DB" "$TMP/A-snd.pcap" "$TMP/B-snd.pcap" >/dev/null &&
	"$LK" analyze -q --side receiver --db "$DB" "$TMP/A-rcv.pcap" "$TMP/B-rcv.pcap" >/dev/null
ok $? "lrokit analyze --db stores the four captures"

# ---- 1. analyze-only database ----
"$LK" report --db "$DB" -o "$TMP/r1" >"$TMP/r1.out" 2>"$TMP/r1.err"
rc1=$?; [ $rc1 -eq 0 ] || diag "$(head -c 3000 "$TMP/r1.err")"; (exit $rc1)
is "$?" 0 "report on an analyze-only database exits 0"
is "$(grep -c 'need benchmark runs' "$TMP/r1.err")" 1 "one stderr line says which figures need runs"
grep -q 'figures 1, 2, 6, 7 need benchmark runs' "$TMP/r1.err"
ok $? "the figures needing runs are 1, 2, 6, 7"
grep -q 'id=needs-runs' "$TMP/r1/report.html"
ok $? "report.html says which figures need runs"
for f in fig3-traffic fig4-bwe fig5-acks; do
	[ -s "$TMP/r1/$f.csv" ] && [ -s "$TMP/r1/$f.png" ] && [ -s "$TMP/r1/$f.svg" ] && [ -s "$TMP/r1/$f.gp" ]
	ok $? "analyze-only: $f drawn (csv, gp, png, svg)"
done

# ---- 2. SYNTHETIC TEST DATA: run rows, counters, LRO stats ----
# Goodputs, CPU times and LRO rates below are made up for the test; only the
# captures (attached to runs 1 and 4) are measured.
cp "$DB" "$TMP/runs.db"
sqlite3 "$TMP/runs.db" <<'EOF'
-- SYNTHETIC TEST DATA (t-report-html.sh)
INSERT INTO runs (run_id, config, status, started_ns, finished_ns, bytes, goodput_bps, lro_rate,
                  repeat, kernel, cpu_model, hostname, offloads, params, tool_version, cmdline, error)
VALUES
 (1,'native','ok',1e9,3e9,25165824,5.1e9,1.0,1,'synthetic-kernel','synthetic CPU','h','{"rpb":{"gro":"off"}}','{}','test','lrokit run native',NULL),
 (2,'native','ok',1e9,3e9,25165824,5.3e9,1.0,2,'synthetic-kernel','synthetic CPU','h','{}','{}','test','lrokit run native',NULL),
 (3,'xen','ok',1e9,3e9,25165824,2.1e9,1.0,1,'synthetic-kernel','synthetic CPU','h','{}','{}','test','x',NULL),
 (4,'native-gro','ok',1e9,3e9,25165824,6.6e9,NULL,1,'synthetic-kernel','synthetic CPU','h','{"rpb":{"gro":"on"}}','{}','test','x',NULL),
 (5,'lro-phys','ok',1e9,3e9,25165824,2.6e9,1.9,1,'synthetic-kernel','synthetic CPU','h','{}','{}','test','x',NULL),
 (6,'lro-virt','ok',1e9,3e9,25165824,3.4e9,4.7,1,'synthetic-kernel','synthetic CPU','h','{}','{}','test','x',NULL),
 (7,'lro-virt','ok',1e9,3e9,25165824,3.2e9,4.9,2,'synthetic-kernel','synthetic CPU','h','{}','{}','test','x',NULL),
 (8,'lro-both','failed',1e9,2e9,NULL,NULL,NULL,1,'synthetic-kernel','synthetic CPU','h','{}','{}','test','x','synthetic failure for the test');
INSERT INTO counters (run_id, component, event, value, unit, source, note)
 SELECT run_id, 'dom0', 'cycles', NULL, 'count', 'pmu', 'perf_event_open: ENOENT (no hardware PMU)' FROM runs
 UNION ALL SELECT run_id, 'dom0', 'task-clock', 2.0e8 + run_id * 1e7, 'ns', 'sw', 'stands in for cycles' FROM runs
 UNION ALL SELECT run_id, 'domU', 'task-clock', 3.0e8 - run_id * 1e7, 'ns', 'sw', 'stands in for cycles' FROM runs
 UNION ALL SELECT run_id, 'sender', 'task-clock', 1.0e8, 'ns', 'sw', NULL FROM runs;
INSERT INTO lro_stats (run_id, stage, policy, key, value) VALUES (4, 'nic', 'linux', 'lro_rate', 30.5);
-- capture drops (schema v2): run 5 dropped packets, run 3 unknown (NULL)
UPDATE runs SET capture_drops = 0 WHERE run_id IN (1, 2, 4, 6, 7);
UPDATE runs SET capture_drops = 17 WHERE run_id = 5;
UPDATE captures SET run_id = 1, point = 'sender' WHERE path LIKE '%/A-snd.pcap';
UPDATE captures SET run_id = 1, point = 'receiver' WHERE path LIKE '%/A-rcv.pcap';
UPDATE captures SET run_id = 4, point = 'sender' WHERE path LIKE '%/B-snd.pcap';
UPDATE captures SET run_id = 4, point = 'receiver' WHERE path LIKE '%/B-rcv.pcap';
EOF
ok $? "synthetic runs, counters and lro_stats inserted"

R=$TMP/r2
"$LK" report --db "$TMP/runs.db" -o "$R" >"$TMP/r2.out" 2>"$TMP/r2.err"
is "$?" 0 "report on a database with runs exits 0"
n=0
for f in fig1-throughput fig2-cpu fig3-traffic fig4-bwe fig5-acks fig6-aggsize; do
	[ -s "$R/$f.csv" ] && [ -s "$R/$f.png" ] && [ -s "$R/$f.svg" ] && [ -s "$R/$f.gp" ] &&
		grep -qv '^#' "$R/$f.csv" && n=$((n + 1)) || diag "missing or empty: $f"
done
is "$n" 6 "all six figures written, each with a non-empty data file"
[ -s "$R/report.pdf" ] && [ "$(grep -c '^/Type /Page$\|/Type /Page[^s]' "$R/report.pdf")" -ge 6 ]
ok $? "report.pdf has a page per figure"
grep -q 'CPU time' "$R/fig2-cpu.gp" && grep -q 'task-clock' "$R/fig2-cpu.gp"
ok $? "no PMU: figure 2 plots software CPU time and its axis says so"
grep -q 'synthetic failure for the test' "$R/report.html"
ok $? "the failed run is listed in report.html"
grep -q '4.91' "$R/report.html" && grep -q '1.98' "$R/report.html"
ok $? "report.html has the paper's LRO rates beside ours"
grep -q 'stands in for cycles' "$R/report.html"
ok $? "report.html says where each counter came from"
grep -q 'id=capture-drops.*run 5 (lro-phys, 17 dropped)' "$R/report.html" &&
	grep -q '<tr class=dropped><td>lro-phys' "$R/report.html" &&
	[ "$(grep -c '<td class="n bad">17 <b>DROPS</b>' "$R/report.html")" -eq 2 ]
ok $? "the run that dropped packets is flagged (note, summary row, runs table)"
# ---- runs of bench --hosts beside the emulated ones (SYNTHETIC, like above):
# their own set, labelled by the ssh destinations; a testbed column; the
# emulated ones say [emulated]; the findings per set
cp "$TMP/runs.db" "$TMP/mixed.db"
HP='{"config":"x","hosts":{"sender":{"dest":"root@s.lab","iface":"eth1"},"receiver":{"dest":"root@r.lab","iface":"eth1"}},"offloads_set":{},"remote_commands":[]}'
sqlite3 "$TMP/mixed.db" "INSERT INTO runs (run_id, config, status, started_ns, finished_ns, bytes, goodput_bps, lro_rate, repeat, params) VALUES
 (21, 'native', 'ok', 1e9, 3e9, 25165824, 9.1e9, 1.0, 1, '$HP'), (22, 'native-gro', 'ok', 1e9, 3e9, 25165824, 9.3e9, 3.1, 1, '$HP'),
 (23, 'native-lro', 'ok', 1e9, 3e9, 25165824, 9.4e9, 7.5, 1, '$HP');
INSERT INTO counters (run_id, component, event, value, unit, source, note) SELECT run_id, 'receiver', 'task-clock', 1e8, 'ns', 'sw', NULL FROM runs WHERE run_id > 20;"
"$LK" report --db "$TMP/mixed.db" -o "$TMP/rm" >"$TMP/rm.out" 2>"$TMP/rm.err"
H=$TMP/rm/report.html
[ $? -eq 0 ] && grep -q '<td>native-lro (hosts root@s.lab -&gt; root@r.lab)</td><td>hosts root@s.lab -&gt; root@r.lab</td>' "$H"
ok $? "mixed: a host run's row is labelled by its hosts, with the testbed column"
grep -q '<td>xen \[emulated\]</td><td>emulated</td>' "$H"
ok $? "mixed: the emulated rows say [emulated]"
grep -q 'native-gro (hosts root@s.lab -> root@r.lab)' "$TMP/rm/fig1-throughput.csv" "$TMP/rm/fig1-throughput.gp"
ok $? "mixed: figure 1's series carry the host label"
grep -q '<th>hosts root@s.lab -&gt; root@r.lab</th>' "$H" &&
	sed -n '/<h3>Set: hosts root@s.lab -&gt; root@r.lab<\/h3>/,/<\/table>/p' "$H" | grep -q 'Not testable here; missing:</b> the Xen path.*plain real hosts have none'
ok $? "mixed: the findings judge the hosts' set apart, in full, the Xen claims not testable there"
grep -q '<td class=n>23</td><td>native-lro</td><td>hosts root@s.lab -&gt; root@r.lab</td><td>ok</td>' "$H" &&
	grep -q '<td class=n>3</td><td>xen</td><td>emulated</td><td>ok</td>' "$H"
ok $? "mixed: the runs table names each run's testbed"
# a v1 database (no runs.capture_drops; the report does not migrate): the
# drops come from the pcap counters
cp "$TMP/runs.db" "$TMP/v1.db"
sqlite3 "$TMP/v1.db" "ALTER TABLE runs DROP COLUMN capture_drops; PRAGMA user_version = 1;
 INSERT INTO counters (run_id, component, event, value, unit, source) VALUES
  (6, 'sender', 'capture_kernel_drops', 4, 'packets', 'pcap'),
  (6, 'receiver', 'capture_kernel_drops', 5, 'packets', 'pcap');"
"$LK" report -q --db "$TMP/v1.db" -o "$TMP/rv1" >/dev/null 2>"$TMP/rv1.err" &&
	grep -q 'run 6 (lro-virt, 9 dropped)' "$TMP/rv1/report.html"
ok $? "schema v1 database: capture drops from the pcap counters"

# ---- 2b. SYNTHETIC TEST DATA: a sweep (schema v3) ----
# Runs of xen, lro-phys and lro-virt at nic.rx_usecs = 0, 125, 500 (two
# repeats each, profile paper) with model parameters, stage drops, LRO
# rates per stage and per-poll histograms, all made up for the test: the
# lro-phys nic rate (1.5, 2, 9) passes the lro-virt netfront rate (4.9,
# 4.8, 4.7) between 125 and 500.
cp "$TMP/runs.db" "$TMP/sweep.db"
{
	echo "-- SYNTHETIC TEST DATA (t-report-html.sh, sweep)"
	id=100
	for v in 0 125 500; do
		for rep in 1 2; do
			for cfg in xen lro-phys lro-virt; do
				id=$((id + 1))
				case $cfg in
				xen) gp=0.80 d=19 ;; lro-phys) gp=0.85 d=14 ;; lro-virt) gp=0.90 d=9 ;;
				esac
				if [ $v = 500 ]; then d=$((d + rep)); else d=0; fi
				echo "INSERT INTO runs (run_id, config, status, started_ns, finished_ns, bytes, goodput_bps, repeat, profile, sweep_key, sweep_value, stage_drops, capture_drops) VALUES ($id, '$cfg', 'ok', 1e9, 3e9, 25165824, ${gp}e9 + $rep * 1e7, $rep, 'paper', 'nic.rx_usecs', $v, $d, 0);"
				echo "INSERT INTO model_params VALUES ($id, 'nic.rx_usecs', $v, 'us', 'sweep'), ($id, 'bridge.gso', 0, 'bool', 'profile');"
				case $cfg in
				lro-phys) r=$(case $v in 0) echo 1.5 ;; 125) echo 2.0 ;; *) echo 9.0 ;; esac)
					echo "INSERT INTO lro_stats (run_id, stage, policy, key, value) VALUES ($id, 'nic', 'linux', 'lro_rate', $r + $rep * 0.05);"
					echo "INSERT INTO stage_hist VALUES ($id, 'nic', 'rx', 'segs_per_aggr', ${r%.*}, 500), ($id, 'nic', 'rx', 'segs_per_aggr', 1, 100);" ;;
				lro-virt) r=$(case $v in 0) echo 4.9 ;; 125) echo 4.8 ;; *) echo 4.7 ;; esac)
					echo "INSERT INTO lro_stats (run_id, stage, policy, key, value) VALUES ($id, 'netfront', 'linux', 'lro_rate', $r + $rep * 0.05);"
					echo "INSERT INTO stage_hist VALUES ($id, 'netfront', 'rx', 'segs_per_aggr', ${r%.*}, 300), ($id, 'netfront', 'rx', 'segs_per_aggr', 2, 50);" ;;
				esac
				echo "INSERT INTO stage_hist VALUES ($id, 'nic', 'rx', 'frames_per_poll', $((v / 12 + 1)), 800), ($id, 'nic', 'rx', 'frames_per_poll', 1, 200), ($id, 'netfront', 'rx', 'frames_per_poll', 20, 400), ($id, 'netfront', 'rx', 'frames_per_poll', 64, 40), ($id, 'netback', 'rx', 'frames_per_poll', 8, 300);"
				echo "INSERT INTO counters VALUES ($id, 'nic', 'irqs', $((1000 + v)), NULL, 'stage', NULL), ($id, 'netback', 'queue_full_events', $d, NULL, 'stage', NULL), ($id, 'netback', 'drops_vif_queue', $d, NULL, 'stage', NULL);"
			done
		done
	done
} > "$TMP/sweep.sql"
sqlite3 "$TMP/sweep.db" < "$TMP/sweep.sql"
ok $? "synthetic sweep runs inserted (schema v3 tables of the analyze-made database)"
R3=$TMP/r3s
"$LK" report --db "$TMP/sweep.db" -o "$R3" >"$TMP/r3s.out" 2>"$TMP/r3s.err"
rc=$?; [ $rc -eq 0 ] || diag "$(cat "$TMP/r3s.err")"
is "$rc" 0 "report on a database with a sweep exits 0"
SW=$R3/fig8-sweep-nic.rx_usecs
[ -s "$SW.csv" ] && [ -s "$SW.gp" ] && [ -s "$SW.png" ] && [ -s "$SW.svg" ]
ok $? "the sweep figure is written (fig8-sweep-nic.rx_usecs: csv, gp, png, svg)"
is "$(grep -c '^# block' "$SW.csv"):$(grep -vc '^#\|^$' "$SW.csv")" "3:9" \
	"  one block per configuration, a row per swept value"
grep -q "set arrow from 312.5, graph 0 to 312.5, graph 1" "$SW.gp" && grep -q 'order flips' "$SW.gp"
ok $? "  the lro-phys/lro-virt order flip is marked between 125 and 500"
grep -q 'The lro-phys / lro-virt LRO-rate order flips between nic.rx_usecs = 125 and 500' "$R3/report.html"
ok $? "  report.html says where the order flips"
[ -s "$R3/fig7-evidence.png" ] && grep -q 'frames per poll' "$R3/fig7-evidence.gp" &&
	grep -q '<table class=evidence>' "$R3/report.html"
ok $? "per-poll evidence: figure 7 and its table of stage counters"
grep -q '<th>stage drops per run</th><th>capture drops</th>' "$R3/report.html" &&
	grep -q '<td>lro-virt \[profile paper, nic.rx_usecs = 500\]</td>.*<td class=n>10.5 &plusmn; 0.7</td><td class=n>0</td></tr>' "$R3/report.html"
ok $? "summary: stage drops in their own column, per configuration and sweep point"
# 7 claims: the full table of the first set, the matrix of the 4 sets (the
# runs without profile and 3 sweep points), the sweep's table of 3 values
[ "$(grep -o 'class="v [a-z_]*"' "$R3/report.html" | wc -l)" -eq $((7 + 7 * 4 + 7 * 3)) ] &&
	grep -q 'id="claim-lro_rate_phys_lt_virt"' "$R3/report.html"
ok $? "findings: the full table and a verdict for every claim of every set"

# ---- 3. headless Chromium: every figure loaded, not blank, has data ----
report_checks "$TMP/r1" 3 "analyze-only report"
report_checks "$R" 6 "report with runs"
report_checks "$R3" 8 "report with a sweep"
grep -q 'relative throughput (paper)' "$R/report.html" && grep -q 'not given numerically' "$R/report.html"
ok $? "paper table: relative throughput column, the paper's value not invented"
grep -A6 'id=versions' "$R/report.html" | grep -q 'libpcap version' &&
	grep -A6 'id=versions' "$R/report.html" | grep -q 'SQLite 3' &&
	grep -A6 'id=versions' "$R/report.html" | grep -q 'gnuplot [0-9]' &&
	grep -A8 'id=versions' "$R/report.html" | grep -q "$(uname -r)"
ok $? "versions: lrokit, libpcap, SQLite, gnuplot, kernel"
if [ -n "${LK_REPORT_KEEP:-}" ]; then
	mkdir -p "$LK_REPORT_KEEP" && cp -r "$R" "$R3" "$TMP/r1" "$TMP"/shot-*.png "$TMP/runs.db" "$TMP/sweep.db" "$LK_REPORT_KEEP"/
	diag "kept report and screenshot in $LK_REPORT_KEEP"
fi

# ---- 4. errors and privileges ----
PATH=/nonexistent "$LK" report --db "$TMP/runs.db" -o "$TMP/r3" >/dev/null 2>"$TMP/r3.err"
rc=$?
is "$rc:$(wc -l <"$TMP/r3.err")" "3:1" "gnuplot missing: one line, exit 3"
"$LK" report --db "$TMP/nope.db" -o "$TMP/r4" >/dev/null 2>"$TMP/r4.err"
is "$?:$(wc -l <"$TMP/r4.err")" "1:1" "missing database: one line, exit 1"
"$LK" report --db "$TMP/runs.db" --run 99 -o "$TMP/r5" >/dev/null 2>&1
is "$?" 1 "--run with an unknown run id fails"
"$LK" report --db "$TMP/runs.db" --run 1,4 -o "$TMP/r6" >/dev/null 2>&1 &&
	[ "$(grep -v '^#' "$TMP/r6/fig1-throughput.csv" | cut -d, -f1 | tr '\n' ' ')" = "native native-gro " ]
ok $? "--run 1,4 reports only those runs"
# unprivileged: a copy of the database in a directory the user may not write
mkdir -p "$TMP/ro" && cp "$TMP/runs.db" "$TMP/ro/lrokit.db" && chmod 755 "$TMP" "$TMP/ro" &&
	chmod 644 "$TMP/ro/lrokit.db" && mkdir -p "$TMP/out" && chown nobody "$TMP/out"
setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent \
	"$LK" report --db "$TMP/ro/lrokit.db" -o "$TMP/out/rep" >/dev/null 2>"$TMP/r7.err"
rc=$?
[ $rc -eq 0 ] || diag "$(cat "$TMP/r7.err")"
is "$rc" 0 "an unprivileged user can build the report from a read-only directory"
done_testing
