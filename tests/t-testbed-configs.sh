#!/bin/sh
# lrokit run: every configuration moves 64 MB with verified content; LRO rate
# 1.00 without LRO and > 1.5 with it; no stage drops; the guest's capture
# shows frames longer than the MTU with LRO, and the receiver sends fewer
# ACKs per data segment than in `xen`; run rows in the database; nothing left.
. "$(dirname "$0")/lib.sh"
require_root
command -v tcpdump > /dev/null || skip_all "tcpdump not installed"
plan 45
DB="$TMP/runs.db"
CAP="$TMP/cap"
runpids=
# TCP payload length in a pcap filter
PAY='(ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2))'
count() { tcpdump -r "$1" -nn "$2" 2>/dev/null | wc -l; }

CONFIGS=$("$LK" testbed list | cut -f1)
is "$(echo $CONFIGS)" "native native-gro xen lro-phys lro-virt lro-both" "testbed list: the six configurations"
# native-lro is in the table but hosts-only: each local command refuses it
# with one line naming bench --hosts, and records nothing
for c in "run native-lro --db $TMP/refused.db" "testbed up native-lro" \
	"bench --configs native-lro --out $TMP/refused"; do
	"$LK" $c > "$TMP/refused.out" 2> "$TMP/refused.err"
	rc=$?
	r=1
	[ $rc -ne 0 ] && [ "$(wc -l < "$TMP/refused.err")" -eq 1 ] && [ ! -s "$TMP/refused.out" ] &&
		grep -q "native-lro needs a real NIC with LRO.*bench --hosts" "$TMP/refused.err" &&
		[ ! -e "$TMP/refused.db" ] && [ ! -e "$TMP/refused" ] && r=0
	ok $r "lrokit ${c%% *}: native-lro refused with one line (exit $rc: $(cat "$TMP/refused.err"))"
done
for cfg in $CONFIGS; do
	"$LK" run "$cfg" --bytes 64M --db "$DB" --capture "$CAP" --json -q > "$TMP/$cfg.json" 2> "$TMP/$cfg.err" &
	p=$!; runpids="$runpids $p"
	wait $p; rc=$?
	ok $rc "$cfg: run exits 0$( [ $rc -ne 0 ] && echo " ($(tail -1 "$TMP/$cfg.err"))")"
	j=$(cat "$TMP/$cfg.json")
	case "$j" in *'"status":"ok","bytes":67108864,"verified":true'*) r=0 ;; *) r=1 ;; esac
	ok $r "$cfg: 64 MiB moved, content verified"
	lr=$(printf '%s' "$j" | sed -n 's/^{[^{]*"lro_rate":\([0-9.]*\).*/\1/p')
	case "$cfg" in
	native|xen) is "$(printf '%.2f' "${lr:-0}")" "1.00" "$cfg: LRO rate 1.00" ;;
	native-gro) awk -v r="${lr:-0}" 'BEGIN{exit !(r > 1.5)}'; ok $? "$cfg: kernel GRO aggregates (rate $lr)" ;;
	*) awk -v r="${lr:-0}" 'BEGIN{exit !(r > 1.5)}'; ok $? "$cfg: LRO rate > 1.5 (got $lr)" ;;
	esac
	case "$j" in *'"drops":0,'*) r=0 ;; *) r=1 ;; esac
	ok $r "$cfg: no stage drops"
	id=$(printf '%s' "$j" | sed -n 's/^{"run_id":\([0-9]*\),.*/\1/p')
	rcv="$CAP/run$id-receiver.pcap"; snd="$CAP/run$id-sender.pcap"
	big=$(count "$rcv" "greater 1515")
	acks=$(count "$rcv" "src host 10.77.0.2 and tcp[tcpflags] & tcp-ack != 0 and $PAY == 0")
	wire=$(count "$snd" "src host 10.77.0.1 and $PAY > 0")
	wbig=$(count "$snd" "greater 1515")
	segs=$(printf '%s' "$j" | sed -n 's/.*"sender_out_segs":\([0-9]*\).*/\1/p')
	eval "wire_$(echo "$cfg" | tr - _)=$wire; wbig_$(echo "$cfg" | tr - _)=$wbig; big_$(echo "$cfg" | tr - _)=$big; acks_$(echo "$cfg" | tr - _)=$acks; segs_$(echo "$cfg" | tr - _)=$segs"
	diag "$cfg: $(printf '%s' "$j" | sed 's/"stages".*//') guest frames > MTU: $big, receiver pure ACKs: $acks, wire data segments: $segs"
done
is "$big_xen" 0 "xen: no frame longer than the MTU reaches the guest"
# ACKs per data segment, scaled by 1000, compared with xen
apd() { awk -v a="$1" -v s="$2" 'BEGIN{ if (s > 0) printf "%d", a * 1000 / s; else print -1 }'; }
x=$(apd "$acks_xen" "$segs_xen")
for c in lro_phys lro_virt lro_both; do
	eval "b=\$big_$c; a=\$acks_$c; s=\$segs_$c"
	[ "$b" -gt 0 ]; ok $? "$c: the guest's capture shows frames longer than the MTU ($b)"
	y=$(apd "$a" "$s")
	[ "$s" -gt 40000 ] && [ "$y" -ge 0 ] && [ "$y" -lt "$x" ]
	ok $? "$c: fewer receiver ACKs per data segment than xen ($y vs $x per 1000)"
done
[ "$wire_xen" -gt 20000 ] && [ "$wbig_xen" -eq 0 ]; ok $? "the sender's wire capture saw only MTU-sized segments ($wire_xen)"
n=$(sqlite3 "$DB" "SELECT count(*) FROM runs WHERE status='ok' AND goodput_bps > 0 AND lro_rate > 0.99 AND offloads IS NOT NULL AND kernel IS NOT NULL AND cmdline LIKE '%run%'")
is "$n" 6 "six complete runs rows"
n=$(sqlite3 "$DB" "SELECT count(DISTINCT component) FROM counters WHERE source='stage'")
is "$n" 3 "stage counters of nic, netback, netfront stored"
n=$(sqlite3 "$DB" "SELECT count(*) FROM lro_stats l JOIN runs r USING (run_id) WHERE r.config='lro-virt' AND l.stage='netfront' AND l.key='lro_rate' AND l.value > 1.5")
is "$n" 1 "lro_stats has netfront's LRO rate for lro-virt"
n=$(sqlite3 "$DB" "SELECT count(*) FROM samples WHERE source='tcpinfo' AND key='cwnd'")
[ "$n" -gt 0 ]; ok $? "sender TCP_INFO samples stored ($n cwnd samples)"
# every process, link and namespace of our six runs is gone (names carry the run's pid)
lp= ll= ln=
for p in $runpids; do
	for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' 2>/dev/null < "$f" | grep -q "lkr$p[/-]" && lp="$lp ${f#/proc/}"; done
	ip -o link | grep -q "lkr$p" && ll="$ll lkr$p"
	ip netns list | grep -q "^lkr$p-" && ln="$ln lkr$p"
done
# a receiver has no run name in its command line; one left behind is an orphan (ppid 1)
lp="$lp$(ps -eo pid=,ppid=,args= | awk -v lk="$LK" '$2 == 1 && $3 == lk && $4 == "recv" && / -B 10\.77\.0\.2 / {printf " %s", $1}')"
is "$lp" "" "no stage, sender or receiver process of the runs left"
is "$ll" "" "no TAP, bridge or veth of the runs left in the root namespace"
is "$ln" "" "no namespace of the runs left"
left=$(ip netns list | grep -c "^lkr[0-9]*-" || true)
# runs of other concurrent tests could exist; ours are gone if no lkr<pid> of a dead pid remains
mine=0; for n in $(ip netns list | sed -n 's/^\(lkr[0-9]*\)-.*/\1/p' | sort -u); do kill -0 "${n#lkr}" 2>/dev/null || mine=$((mine+1)); done
is "$mine" 0 "no testbed namespace left behind ($left of live runs)"
ls /run/lrokit 2>/dev/null | grep -q "^lkr" && lsr=$(for d in /run/lrokit/lkr*; do p=${d##*/lkr}; kill -0 "$p" 2>/dev/null || echo "$d"; done) || lsr=""
is "$lsr" "" "no state directory left behind"
