#!/bin/sh
# The fidelity model's parameters do what they claim, in real runs of the
# emulated path (root):
#  - at 1 Gbit/s, nic.rx_usecs 100 gives the NIC stage a larger median of
#    frames per poll than 0 (interrupt per arrival);
#  - a small ring with a slow guest (descheduled half the time) gives drops
#    counted at netback's vif queue, retransmissions, and SACK blocks in the
#    sender's capture; the stage drops are in runs.stage_drops, apart from
#    the capture drops;
#  - bridge.gso=0 resegments the NIC's aggregates before netback; guest.load
#    deschedules the guest;
#  - every run stores every parameter (model_params, runs.params "model")
#    with its origin, its profile and its sweep point;
#  - bad model arguments are refused before anything is built;
#  - time.dilation k runs the model k times slower: the sender's line rate
#    is rate / k, and the delayed rx kick (a timerfd) wakes the guest;
#  - without io_uring (LK_URING_PLAIN=1: the fallback of testbed/uring.h) the
#    stages move frames with one system call each, verified end to end.
. "$(dirname "$0")/lib.sh"
require_root
plan 32
DB="$TMP/m.db"
NKEYS=$("$LK" run --model help | grep -c '^[a-z]*\.[a-z_]* ')
q() { sqlite3 "$DB" "$1"; }
run_id() { sed -n 's/^{"run_id":\([0-9]*\),.*/\1/p' "$1"; }
# median of a stage_hist histogram: run, stage, dir, hist
hmed() {
	q "SELECT bucket, count FROM stage_hist WHERE run_id=$1 AND stage='$2' AND dir='$3' AND hist='$4' ORDER BY bucket" |
		awk -F'|' '{b[NR]=$1; c[NR]=$2; t+=$2} END{a=0; for(i=1;i<=NR;i++){a+=c[i]; if(2*a>=t){print b[i]; exit}} print 0}'
}

# -- usage --
"$LK" run xen --model nic.bogus=1 --db "$DB" > /dev/null 2> "$TMP/e1"
is $? 2 "unknown model key: usage error"
grep -q "nic.bogus" "$TMP/e1"; ok $? "  and it is named"
"$LK" run xen --model guest.load=0.5 --db "$DB" > /dev/null 2> "$TMP/e2"
r=$?; grep -q "guest.slice_us" "$TMP/e2"; ok $(( r != 2 || $? )) "guest.load without a slice: usage error naming guest.slice_us"
"$LK" run xen --profile fast --db "$DB" > /dev/null 2>&1
is $? 2 "unknown profile: usage error"
[ "$NKEYS" -ge 16 ]; ok $? "--model help lists the parameters ($NKEYS)"
[ ! -e "$DB" ]; ok $? "no database written for refused runs"

# -- interrupt moderation: frames per poll at the NIC --
for u in 0 100; do
	"$LK" run xen --bytes 16M --no-collect --db "$DB" --json -q --model wire.rate_bps=1e9 \
		--model nic.rx_usecs=$u > "$TMP/u$u.json" 2> "$TMP/u$u.err"
	ok $? "xen at 1 Gbit/s, nic.rx_usecs=$u: run ok$( [ -s "$TMP/u$u.err" ] && echo " ($(tail -1 "$TMP/u$u.err"))")"
done
id0=$(run_id "$TMP/u0.json"); id1=$(run_id "$TMP/u100.json")
m0=$(hmed "$id0" nic rx frames_per_poll); m1=$(hmed "$id1" nic rx frames_per_poll)
diag "NIC median frames per poll: rx-usecs 0: $m0, rx-usecs 100: $m1"
[ "${m1:-0}" -gt "${m0:-0}" ]; ok $? "rx-usecs 100 polls more frames at a time than rx-usecs 0 ($m1 > $m0)"
i0=$(q "SELECT value FROM counters WHERE run_id=$id0 AND component='nic' AND event='irqs'")
i1=$(q "SELECT value FROM counters WHERE run_id=$id1 AND component='nic' AND event='irqs'")
awk -v a="$i0" -v b="$i1" 'BEGIN{exit !(b + 0 < a + 0)}'; ok $? "and takes fewer interrupts ($i1 < $i0)"

# -- a small ring, a slow guest: drops at netback, SACKs at the sender --
"$LK" run xen --bytes 8M --db "$DB" --capture "$TMP/cap" --json -q --model ring.slots=32 \
	--model netback.reserve=20 --model vif.qlen=8 --model ring.notify=1 \
	--model guest.slice_us=2000 --model guest.load=0.5 > "$TMP/s.json" 2> "$TMP/s.err"
ok $? "xen, 32-slot ring, guest descheduled half of every 4 ms: run ok$( [ -s "$TMP/s.err" ] && echo " ($(tail -1 "$TMP/s.err"))")"
ids=$(run_id "$TMP/s.json")
d=$(q "SELECT CAST(sum(value) AS INTEGER) FROM counters WHERE run_id=$ids AND component='netback' AND event IN ('drops_vif_queue','drops_netback')")
[ "${d:-0}" -gt 0 ]; ok $? "drops counted at netback ($d)"
sd=$(q "SELECT stage_drops FROM runs WHERE run_id=$ids")
[ "${sd:-0}" -ge "${d:-1}" ]; ok $? "runs.stage_drops holds them ($sd)"
# the captures' own losses (their kernel drops: the host's load decides
# them) are stored apart from the stages' drops
cd=$(q "SELECT coalesce(capture_drops, -1) FROM runs WHERE run_id=$ids")
ck=$(q "SELECT CAST(sum(value) AS INTEGER) FROM counters WHERE run_id=$ids AND event='capture_kernel_drops'")
[ "$cd" -ge 0 ] && [ "$cd" = "${ck:-x}" ]
ok $? "capture drops kept apart: runs.capture_drops $cd = the captures' kernel drops ${ck:-none}, not the stages' $sd"
sack=$(q "SELECT sum(f.a2b_sack_pkts + f.b2a_sack_pkts) FROM flows f JOIN captures c USING (capture_id) WHERE c.run_id=$ids AND c.point='sender'")
[ "${sack:-0}" -gt 0 ]; ok $? "SACK blocks in the sender's capture ($sack packets)"
rt=$(sed -n 's/.*"retrans_segs":\([0-9]*\).*/\1/p' "$TMP/s.json")
[ "${rt:-0}" -gt 0 ]; ok $? "the sender retransmitted ($rt segments)"
n=$(q "SELECT count(*) FROM counters WHERE run_id=$ids AND component='netback' AND event='drops_vif_queue' AND value IS NOT NULL")
is "$n" 1 "drops_vif_queue stored at netback"

# -- the bridge without GSO, a guest sharing its CPU --
"$LK" run lro-phys --bytes 8M --no-collect --db "$DB" --json -q --model bridge.gso=0 \
	--model guest.slice_us=3000 --model guest.load=0.25 > "$TMP/g.json" 2> "$TMP/g.err"
ok $? "lro-phys, bridge.gso=0, guest load 0.25: run ok$( [ -s "$TMP/g.err" ] && echo " ($(tail -1 "$TMP/g.err"))")"
idg=$(run_id "$TMP/g.json")
nl=$(q "SELECT value FROM lro_stats WHERE run_id=$idg AND stage='nic' AND key='lro_rate'")
awk -v r="$nl" 'BEGIN{exit !(r + 0 > 1.5)}'; ok $? "the NIC aggregates (LRO rate $nl)"
is "$(q "SELECT group_concat(bucket) FROM stage_hist WHERE run_id=$idg AND stage='netback' AND dir='rx' AND hist='segs_per_aggr'")" \
	1 "but netback only sees frames of one segment (resegmented at the vif)"
lr=$(sed -n 's/^{[^{]*"lro_rate":\([0-9.]*\).*/\1/p' "$TMP/g.json")
is "$(printf '%.2f' "${lr:-0}")" "1.00" "the guest's LRO rate is 1.00"
ds=$(q "SELECT value FROM counters WHERE run_id=$idg AND component='netfront' AND event='desched_ns'")
awk -v d="$ds" 'BEGIN{exit !(d + 0 > 0)}'; ok $? "the guest was descheduled (${ds} ns)"

# -- a profile and a sweep point --
"$LK" run lro-virt --bytes 4M --no-collect --db "$DB" --json -q --profile paper \
	--sweep nic.rx_usecs=250 > "$TMP/p.json" 2> "$TMP/p.err"
ok $? "lro-virt, paper profile, sweep point nic.rx_usecs=250: run ok$( [ -s "$TMP/p.err" ] && echo " ($(tail -1 "$TMP/p.err"))")"
idp=$(run_id "$TMP/p.json")
is "$(q "SELECT profile || ' ' || sweep_key || ' ' || sweep_value FROM runs WHERE run_id=$idp")" \
	"paper nic.rx_usecs 250.0" "runs: profile, sweep key and value"
is "$(q "SELECT origin || ' ' || value FROM model_params WHERE run_id=$idp AND key='nic.rx_usecs'")" \
	"sweep 250.0" "the swept key's row: origin sweep"
is "$(q "SELECT count(*) FROM model_params WHERE run_id=$idp AND origin='profile'")" $((NKEYS - 1)) \
	"every other key: origin profile"

# -- time dilation: the paper profile 4 times slower --
"$LK" run xen --bytes 8M --no-collect --db "$DB" --json -q --profile paper --rate 200M \
	--model time.dilation=4 > "$TMP/t.json" 2> "$TMP/t.err"
ok $? "xen, paper profile, --rate 200M, time.dilation=4: run ok$( [ -s "$TMP/t.err" ] && echo " ($(tail -1 "$TMP/t.err"))")"
idt=$(run_id "$TMP/t.json")
gt=$(q "SELECT goodput_bps FROM runs WHERE run_id=$idt")
awk -v g="$gt" 'BEGIN{exit !(g + 0 > 0 && g + 0 <= 200e6 / 4 * 1.05)}'
ok $? "the sender's line rate is 200M / 4: goodput $gt bit/s <= 52.5 M"
nfi=$(q "SELECT value FROM counters WHERE run_id=$idt AND component='netfront' AND event='irqs'")
[ "${nfi%.*}" -gt 0 ]; ok $? "the guest was woken by the delayed kick ($nfi wake-ups)"

# -- every run has every parameter --
is "$(q "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM model_params m WHERE m.run_id=r.run_id) = $NKEYS AND r.params LIKE '%\"model\":{\"wire.rate_bps\":%'")" 6 \
	"every run: all $NKEYS parameters in model_params and runs.params"
is "$(q "SELECT origin || ' ' || value FROM model_params WHERE run_id=$id1 AND key='nic.rx_usecs'") $(q "SELECT count(*) FROM model_params WHERE run_id=$id1 AND origin='default'")" \
	"cli 100.0 $((NKEYS - 2))" "--model values: origin cli, the rest default"

# -- without io_uring --
LK_URING_PLAIN=1 "$LK" run lro-phys --bytes 4M --no-collect --db "$TMP/plain.db" -q > /dev/null 2> "$TMP/plain.err"
ok $? "stages without io_uring (LK_URING_PLAIN=1): lro-phys run ok, content verified$( [ -s "$TMP/plain.err" ] && echo " ($(tail -1 "$TMP/plain.err"))")"
