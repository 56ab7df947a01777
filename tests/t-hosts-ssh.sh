#!/bin/sh
# lrokit bench --hosts over real SSH and real TCP: two network namespaces
# (sender, receiver), each with its own sshd on a management link from
# this namespace, and a measured veth link between them. A full bench of
# the plain-host configurations (runs ok, captures ingested, offloads put
# back, report built); then an sshd killed mid-run (run aborted, the
# offload change journaled and put back by the next bench); then a Xen host
# file on this machine without Xen (refused with one line; --dry-run
# prints each host's commands).
. "$(dirname "$0")/lib.sh"
require_root
SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || skip_all "sshd missing (package openssh-server)"
for t in ssh ssh-keygen tcpdump ethtool sqlite3; do
	command -v $t >/dev/null || skip_all "$t missing"
done
[ -x "$LK" ] || skip_all "no $LK (run make first)"
plan 36

S=${NSP}s R=${NSP}r
N=$(( $$ % 200 + 20 ))
SM=10.$N.1.2 RM=10.$N.2.2 RD=10.$N.3.2   # management: sender, receiver; the measured link
lk_netns "$S" "$R"
ip link add "${NSP}ms" type veth peer name ms netns "$S"
ip link add "${NSP}mr" type veth peer name mr netns "$R"
ip netns exec "$S" ip link add vs type veth peer name vr netns "$R"
ip addr add 10.$N.1.1/24 dev "${NSP}ms"; ip link set "${NSP}ms" up
ip addr add 10.$N.2.1/24 dev "${NSP}mr"; ip link set "${NSP}mr" up
cleanup_links() { ip link del "${NSP}ms"; ip link del "${NSP}mr"; }
lk_on_exit cleanup_links
ip -n "$S" addr add $SM/24 dev ms; ip -n "$R" addr add $RM/24 dev mr
ip -n "$S" addr add 10.$N.3.1/24 dev vs; ip -n "$R" addr add $RD/24 dev vr
for l in lo ms vs; do ip -n "$S" link set $l up; done
for l in lo mr vr; do ip -n "$R" link set $l up; done

# keys made here; one sshd per namespace
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$TMP/hostkey" </dev/null
ssh-keygen -q -t ed25519 -N '' -f "$TMP/id" </dev/null
cp "$TMP/id.pub" "$TMP/authorized_keys"
start_sshd() { # NS ADDR
	cat >"$TMP/sshd-$1.conf" <<EOF
ListenAddress $2
HostKey $TMP/hostkey
PidFile $TMP/sshd-$1.pid
AuthorizedKeysFile $TMP/authorized_keys
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
EOF
	ip netns exec "$1" "$SSHD" -f "$TMP/sshd-$1.conf" -E "$TMP/sshd-$1.log"
}
kill_sshd() { # NS: every sshd of the namespace (listener and sessions)
	for p in $(ip netns pids "$1"); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = sshd ] && kill -9 "$p"
	done
	return 0
}
stop_sshds() { kill_sshd "$S"; kill_sshd "$R"; }
lk_on_exit stop_sshds
start_sshd "$S" $SM && start_sshd "$R" $RM
cat >"$TMP/ssh_config" <<EOF
Host *
  User root
  IdentityFile $TMP/id
  StrictHostKeyChecking no
  UserKnownHostsFile $TMP/known
  LogLevel ERROR
  ConnectTimeout 10
  # one connection per host, its sessions multiplexed (what a user's config
  # would do for the ~20 short commands of a run)
  ControlMaster auto
  ControlPath $TMP/cm-%C
  ControlPersist 60
EOF
cat >"$TMP/hosts" <<EOF
# the test's two machines
ssh_options = -F $TMP/ssh_config
[sender]
ssh = $SM
iface = vs
lrokit = $LK
[receiver]
ssh = $RM
iface = vr
lrokit = $LK
address = $RD
EOF
ok $(ssh -F "$TMP/ssh_config" -o BatchMode=yes $RM -- ip -o link show dev vr >/dev/null 2>&1; echo $?) \
	"ssh reaches the receiver's namespace"

feat() { ip netns exec "$R" ethtool -k vr | grep -E 'receive-offload'; }
before=$(feat)
J=$TMP/journal
OUT=$TMP/res
diag "$(date +%T.%N) $LK bench --hosts TMP/hosts"
"$LK" bench --hosts "$TMP/hosts" --repeat 1 --bytes 4M --out "$OUT" --journal "$J" \
	>"$TMP/b.out" 2>"$TMP/b.err"
rc=$?
is $rc 0 "bench --hosts exits 0" || { cat "$TMP/b.err" | sed 's/^/# /'; }
DB=$OUT/lrokit.db
q() { sqlite3 "$DB" "$1"; }
is "$(q "SELECT group_concat(config || ':' || status, ' ') FROM (SELECT * FROM runs ORDER BY run_id)")" \
	"native:ok native-gro:ok" "native and native-gro ran ok"
n=$(grep -c "native-lro" "$TMP/b.err")
grep -q "^lrokit: warning: bench: native-lro is not available on these hosts: the receiver's ethtool -k shows large-receive-offload: off \[fixed\], so lro cannot be switched on; not run, nothing recorded$" "$TMP/b.err"
ok $(( $? + (n != 1) )) "native-lro: one line, not available (the veth's LRO is [fixed])"
is "$(q "SELECT count(*) FROM runs WHERE config = 'native-lro'") $(q "SELECT count(*) FROM runs WHERE params LIKE '%lro on%'")" "0 0" \
	"... and nothing recorded for it (no run, no lro change)"
is "$(q "SELECT group_concat(point, ',') FROM (SELECT point FROM captures ORDER BY run_id, point)")" \
	"receiver,sender,receiver,sender" "both hosts' captures ingested for each run"
is "$(q "SELECT count(*) FROM flows f JOIN captures c USING (capture_id) WHERE f.a2b_unique_bytes + f.b2a_unique_bytes >= 4194304")" \
	4 "every capture holds the 4 MiB transfer"
is "$(q "SELECT count(DISTINCT c.point) FROM ack_classes a JOIN flows f USING (flow_id) JOIN captures c USING (capture_id)")" \
	2 "the ACK analyzers ran on both hosts' captures"
is "$(q "SELECT count(*) FROM runs WHERE goodput_bps > 0 AND bytes = 4194304 AND lro_rate > 0")" 2 \
	"goodput, bytes and LRO rate recorded"
is "$(feat)" "$before" "the receiver's offloads are back as they were"
ok $([ ! -s "$J" ]; echo $?) "nothing left in the journal of pending restores"
ok $([ -s "$OUT/report/report.html" ]; echo $?) "the report is built"
gro=$(q "SELECT params FROM runs WHERE config = 'native-gro'")
case "$gro" in *'"host":"receiver","dest":"'$RM'","cmd":"ethtool -K vr gro on"'*) r=0 ;; *) r=1 ;; esac
ok $r "the remote commands are logged with their host in runs.params"
case "$gro" in *'"cmd":"ethtool -K vr gro off"'*) r=0 ;; *) r=1 ;; esac
ok $r "... and the restore too"
case "$gro" in *'"sender":{"dest":"'$SM'"'*'"ethtool_k":"Features for vs'*) r=0 ;; *) r=1 ;; esac
ok $r "each host's ethtool -k is recorded"
is "$(q "SELECT count(DISTINCT key) > 10 FROM samples WHERE key LIKE 'receiver:cpu%' OR key LIKE 'sender:vs.%'")" 1 \
	"lrokit collect's samples of both hosts stored"
is "$(q "SELECT count(DISTINCT key) >= 2 FROM samples WHERE source = 'perf'")" 1 \
	"CPU counters (or their software stand-ins) from lrokit collect stored"
is "$(q "SELECT value > 4194304 FROM counters WHERE component = 'receiver:vr' AND event = 'rx_bytes' LIMIT 1")" 1 \
	"the receiver interface's byte counter covers the transfer"
is "$(q "SELECT count(*) FROM counters WHERE component IN ('receiver', 'sender') AND event = 'task-clock' AND value > 0")" 4 \
	"lrokit recv's and send's own CPU (task-clock) stored for both runs"
is "$(q "SELECT count(*) FROM counters WHERE component IN ('receiver', 'sender') AND event IN ('cycles', 'instructions') AND (value > 0 OR (value IS NULL AND length(note) > 5))")" 8 \
	"... cycles and instructions: a count, or NULL with the reason"
H=$OUT/report/report.html
grep -q "<td>native-gro (hosts $SM -&gt; $RM)</td><td>hosts $SM -&gt; $RM</td>" "$H"
ok $? "the report labels the host runs by their ssh destinations, with a testbed column"
grep -q "\[emulated\]" "$H"
ok $(( ! $? )) "... and says nothing of an emulated testbed when there is none"
grep -q "Not testable here; missing:</b> the Xen path (LRO in the driver domain" "$H"
ok $? "the findings: the Xen path's claims are not testable between plain hosts"

# --- Ctrl-C mid-run: the run aborted, the offloads put back at once ---
ip netns exec "$S" tc qdisc add dev vs root tbf rate 20mbit burst 32k latency 400ms
recv_started() {
	i=0
	until ip netns pids "$R" | xargs -r -I{} cat /proc/{}/cmdline 2>/dev/null | tr '\0' ' ' | grep -q ' recv '; do
		i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1
	done
	sleep 1
}
diag "$(date +%T.%N) Ctrl-C"
"$LK" bench --hosts "$TMP/hosts" --configs native-gro --repeat 1 --bytes 64M --out "$OUT" \
	--journal "$J" >"$TMP/c.out" 2>"$TMP/c.err" &
bp=$!
recv_started
kill -INT $bp
wait $bp
is $? 130 "Ctrl-C: bench exits 130"
is "$(q "SELECT status FROM runs ORDER BY run_id DESC LIMIT 1")" aborted "... the run is marked aborted"
is "$(feat)" "$before" "... and the receiver's offloads are back as they were"

# --- a dropped connection: every sshd of the receiver killed mid-run ---
diag "$(date +%T.%N) $LK bench --hosts TMP/hosts"
"$LK" bench --hosts "$TMP/hosts" --configs native-gro --repeat 1 --bytes 64M --out "$OUT" \
	--journal "$J" >"$TMP/d.out" 2>"$TMP/d.err" &
bp=$!
recv_started
diag "$(date +%T.%N) kill_sshd R"
kill_sshd "$R"
wait $bp
rc=$?
is $rc 1 "bench exits 1 after losing the receiver"
is "$(q "SELECT status FROM runs ORDER BY run_id DESC LIMIT 1")" aborted "the run is marked aborted"
case "$(q "SELECT error FROM runs ORDER BY run_id DESC LIMIT 1")" in *"ssh to receiver ($RM)"*) r=0 ;; *) r=1 ;; esac
ok $r "its error names the lost ssh connection"
is "$(grep -c "vr	gro	off	$RM" "$J" 2>/dev/null)" 1 "the change that could not be put back is journaled"
# the hosts' processes end on their own once their ssh session is gone: up to 20 s
for _ in $(seq 100); do
	left=$(ip netns pids "$R"; ip netns pids "$S")
	left=$(for p in $left; do tr '\0' ' ' </proc/$p/cmdline 2>/dev/null; echo; done | grep -c "$LK")
	[ "$left" -eq 0 ] && break
	sleep 0.2
done
is "$left" 0 "nothing of the run is left running on the hosts"
ip netns exec "$S" tc qdisc del dev vs root
diag "$(date +%T.%N) start_sshd R RM"
start_sshd "$R" $RM
diag "$(date +%T.%N) $LK bench --hosts TMP/hosts"
"$LK" bench --hosts "$TMP/hosts" --configs native --repeat 1 --bytes 1M --out "$OUT" \
	--journal "$J" >"$TMP/n.out" 2>"$TMP/n.err"
is $? 0 "the next bench runs"
grep -q "before the runs: put back 1 offload setting" "$TMP/n.err"
ok $? "... and first puts back what the aborted run left changed"
is "$(feat)" "$before" "the receiver's offloads are back as they were"

# --- a Xen host file on a machine without Xen ---
cat >"$TMP/xen" <<EOF
ssh_options = -F $TMP/ssh_config
[sender]
ssh = $SM
iface = vs
lrokit = $LK
[dom0]
ssh = $RM
iface = vr
[guest]
ssh = $RM
iface = vr
lrokit = $LK
address = $RD
EOF
diag "$(date +%T.%N) $LK bench --hosts TMP/xen"
"$LK" bench --hosts "$TMP/xen" --out "$TMP/x" --journal "$J" >"$TMP/x.out" 2>"$TMP/x.err"
rc=$?
is "$rc $(wc -l <"$TMP/x.err")" "3 1" "a Xen host file without Xen: refused (exit 3) with one line"
diag "$(date +%T.%N) $LK bench --hosts TMP/xen"
"$LK" bench --hosts "$TMP/xen" --dry-run --repeat 1 >"$TMP/dry.out" 2>&1
r=$?
grep -q "^  dom0 ($RM): ethtool -K vr gro on$" "$TMP/dry.out" &&
	grep -q "^  guest ($RM): $LK recv --json" "$TMP/dry.out" &&
	grep -q "^  sender ($SM): $LK send $RD --json" "$TMP/dry.out" &&
	grep -q "^lro-virt" "$TMP/dry.out"
ok $(( r + $? )) "--dry-run prints each host's exact commands"
done_testing
