#!/bin/sh
# Kill safety of `lrokit run`: SIGINT, SIGTERM or SIGKILL at a random point
# (testbed set-up, transfer, capture ingest, teardown) of >= 10 runs of
# several configurations, some with --capture. After each kill the next
# command (another `lrokit run`) must succeed, and once it has started:
#   - no process of the killed run is left (its process tree and everything
#     inside its namespaces, tcpdump included);
#   - no namespace, TAP, bridge or veth of it is left, nor its state directory;
#   - PRAGMA integrity_check is ok; its run row is absent, 'aborted', or 'ok'
#     and complete (never left 'running', never 'failed' for a kill); each of
#     its captures is complete (every TCP segment row present, no provisional
#     row);
#   - a --capture file it left behind is readable by `lrokit analyze`.
. "$(dirname "$0")/lib.sh"
require_root
[ -x "$LK" ] || skip_all "lrokit not built ($LK)"
command -v sqlite3 >/dev/null || skip_all "sqlite3 shell not installed"
TRIALS=${LK_KILL_RUN_TRIALS:-12}
cp "$LK" "$TMP/lrokit" && LK="$TMP/lrokit"
DB="$TMP/run.db"
cd "$TMP" || exit 1

rnd() { echo $(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % $1 )); }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# every descendant of $1 (pid ppid table from ps)
descendants() {
	ps -e -o pid=,ppid= > "$TMP/ps"
	todo=$1 all=
	while [ -n "$todo" ]; do
		next=
		for q in $todo; do
			c=$(awk -v p="$q" '$2 == p {print $1}' "$TMP/ps")
			next="$next $c"; all="$all $c"
		done
		todo=$(echo $next)
	done
	echo $all
}
# alive and not a zombie
live() { st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ] && [ "$st" != X ]; }

# how long one run takes here (the faster of two): the kills are spread over that span
span=
for k in 1 2; do
	t0=$(now_ms)
	"$LK" run xen --bytes 16M --db "$DB" -q > /dev/null 2> "$TMP/err" ||
		{ echo "Bail out! a plain run fails: $(cat "$TMP/err")"; exit 1; }
	t=$(( $(now_ms) - t0 ))
	[ -z "$span" ] || [ "$t" -lt "$span" ] && span=$t
done
diag "one run takes about $span ms; killing at random points of [0, $span] ms"

# every configuration but native-gro (its path is native's)
set -- $("$LK" testbed list | cut -f1 | grep -vx native-gro)
nconf=$#
i=0 aborted=0 completed=0 absent=0
while [ $i -lt "$TRIALS" ]; do
	i=$((i + 1))
	k=$(( (i - 1) % nconf + 1 )); eval "cfg=\${$k}"
	case $((i % 3)) in 0) sig=INT ;; 1) sig=TERM ;; 2) sig=KILL ;; esac
	capopt=
	[ $((i % 2)) -eq 0 ] && { mkdir -p "$TMP/cap$i"; capopt="--capture $TMP/cap$i"; }
	"$LK" run "$cfg" --bytes 16M --db "$DB" -q $capopt > /dev/null 2> "$TMP/err" &
	p=$!
	d=$(rnd "$span")
	sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
	# what belongs to the run right now: its process tree and its namespaces' processes
	procs="$(descendants $p)"
	for ns in $(ip netns list | awk -v p="lkr$p-" 'index($1, p) == 1 {print $1}'); do
		procs="$procs $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
	done
	kill -s $sig $p 2>/dev/null
	wait $p 2>/dev/null
	rc=$?
	t="$sig $cfg${capopt:+ --capture} at ${d} ms (exit $rc)"
	# the next command
	"$LK" run native --bytes 1M --db "$DB" -q > /dev/null 2> "$TMP/next.err"
	is "$?" 0 "$t: the next run succeeds"
	[ -s "$TMP/next.err" ] && sed 's/^/# /' "$TMP/next.err"
	left=
	for w in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		left=; for q in $p $procs; do live "$q" && left="$left $q"; done
		[ -z "$left" ] && break
		sleep 0.1
	done
	is "$left" "" "$t: no process of the killed run left"
	is "$(ip netns list | grep -c "^lkr$p-")" 0 "$t: no namespace left"
	is "$(ip -o link | grep -c "lkr$p")" 0 "$t: no TAP/bridge/veth left in the root namespace"
	[ ! -e "/run/lrokit/lkr$p" ]; ok $? "$t: no state directory left"
	is "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok "$t: integrity_check ok"
	st=$(sqlite3 -separator / "$DB" "SELECT status, finished_ns IS NOT NULL,
		goodput_bps IS NOT NULL FROM runs WHERE pid=$p")
	case "$st" in
	'') absent=$((absent + 1)); ok 0 "$t: run row absent" ;;
	aborted/*) aborted=$((aborted + 1)); ok 0 "$t: run row 'aborted'" ;;
	ok/1/1) completed=$((completed + 1)); ok 0 "$t: run row 'ok' and complete" ;;
	*) ok 1 "$t: run row absent, aborted or complete (got '$st')"
	   sed 's/^/# /' "$TMP/err" ;;
	esac
	is "$(sqlite3 "$DB" "SELECT count(*) FROM captures c JOIN runs r USING (run_id)
		WHERE r.pid=$p AND (c.sha256 LIKE 'pending:%' OR c.tcp_packets !=
		(SELECT count(*) FROM packets k WHERE k.capture_id=c.capture_id))")" 0 \
		"$t: its captures are complete"
	if [ -n "$capopt" ]; then
		bad= empty=
		for f in "$TMP/cap$i"/*.pcap; do
			[ -e "$f" ] || continue
			"$LK" analyze -q "$f" > /dev/null 2>&1 && continue
			if [ -s "$f" ]; then bad="$bad $(basename "$f")"; else empty="$empty $(basename "$f")"; fi
		done
		is "$bad" "" "$t: capture files left behind are readable"
		# tcpdump runs with -U (packet-buffered): even when killed early its
		# file has at least the pcap header
		is "$empty" "" "$t: no empty capture file left"
	fi
done
is "$(sqlite3 "$DB" "SELECT count(*) FROM runs WHERE status='running'")" 0 "no run left 'running'"
diag "killed runs: $aborted aborted, $completed completed before the kill, $absent not yet recorded"
done_testing
