#!/bin/bash
# t-bwe-real: sender bandwidth estimators replayed from a sender-side capture
# of a real transfer: sender ns --veth-- router ns --veth-- receiver ns, the
# router's egress to the receiver limited to 500 Mbit/s with tbf, TSO/GSO off,
# captured at the sender's interface. The sender (lrokit send --cc cubic)
# polls TCP_INFO every 10 ms. Checks:
#  - Westwood+ and delivery-rate steady-part medians within 10% of the goodput
#    measured by the receiver;
#  - our delivery-rate replay, polled every 10 ms like TCP_INFO, has a median
#    within 15% of the kernel's tcpi_delivery_rate median.
. "$(dirname "$0")/lib.sh"
require_root
DUMP="$TOP/$LK_BUILD/tests/helpers/ackbwe-dump"
for t in tcpdump ethtool tc taskset; do command -v $t >/dev/null || skip_all "$t not installed"; done
[ -x "$LK" ] || skip_all "lrokit binary not built ($LK)"
[ -x "$DUMP" ] || skip_all "helper not built ($DUMP)"
plan 7

S=${NSP}s G=${NSP}g R=${NSP}r PORT=5998
lk_netns "$S" "$G" "$R"
ip link add "${NSP}a" type veth peer name "${NSP}b" || skip_all "cannot create veth"
ip link add "${NSP}c" type veth peer name "${NSP}d" || skip_all "cannot create veth"
ip link set "${NSP}a" netns "$S"; ip link set "${NSP}b" netns "$G"
ip link set "${NSP}c" netns "$G"; ip link set "${NSP}d" netns "$R"
ip -n "$S" link set "${NSP}a" name se; ip -n "$G" link set "${NSP}b" name ga
ip -n "$G" link set "${NSP}c" name gb; ip -n "$R" link set "${NSP}d" name re
ip -n "$S" addr add 10.78.1.1/24 dev se; ip -n "$G" addr add 10.78.1.254/24 dev ga
ip -n "$G" addr add 10.78.2.254/24 dev gb; ip -n "$R" addr add 10.78.2.2/24 dev re
for x in "$S se" "$G ga" "$G gb" "$R re"; do
	set -- $x
	ip -n "$1" link set "$2" up
	ip -n "$1" link set lo up
	ip netns exec "$1" ethtool -K "$2" tso off gso off tx off gro off >/dev/null
done
ip -n "$S" route add default via 10.78.1.254
ip -n "$R" route add default via 10.78.2.254
ip netns exec "$G" sysctl -qw net.ipv4.ip_forward=1
# The bottleneck: 500 Mbit/s (or slower, below) on the router's egress towards
# the receiver, with a queue (7.5 MB at every rate) longer than the
# receiver's window (--rcvbuf 3M) can fill, so the transfer is clean (no
# drops), and the window keeps the queue backlogged when the receiver stalls
# for a moment. The capture is at the sender's interface, before the
# bottleneck, as a sender-side capture of a real transfer is: what the capture
# sees in flight is what the sender's TCP has in flight (the router's queue
# included), so each delivery-rate sample spans about a window and our replay
# and the kernel's tcpi_delivery_rate see the same flight.
# An earlier version put tbf on the sender's own egress and captured after it
# (departure times): the capture then saw the flight empty after almost every
# ACK while the kernel's (queued in tbf) never was, and the replay's samples
# spanned two segments over one segment's time: at 500 and 250 Mbit/s the
# replay read 59-92% above goodput and 56-109% above the kernel's, every
# transfer (at 1 Gbit/s, +2-8%, by luck of the timing).
# tbf's bucket is 16 KB (11 segments): after a moment with an empty queue at
# most 11 segments leave back to back.
# The receive path runs on the receiver's CPU (RPS to CPU 1, where the
# receiver reads), so that the receiver's TCP work does not compete with the
# sender on CPU 0. The router's ingress goes through one CPU's backlog (RPS to
# CPU 0): the sender transmits both from its process (CPU 0) and from the
# softirq that takes the receiver's ACKs (CPU 1), and two backlogs reorder
# segments (679 SACK ACKs in one 1 Gbit/s transfer without it).
ip netns exec "$R" sh -c 'echo 2 > /sys/class/net/re/queues/rx-0/rps_cpus'
ip netns exec "$G" sh -c 'echo 1 > /sys/class/net/ga/queues/rx-0/rps_cpus'

# measure: one capture + transfer; sets xrc (the sender's exit code)
measure() {
	ip netns exec "$S" tcpdump -i se -s 96 -B 32768 -w "$TMP/s.pcap" -n "tcp port $PORT" \
		2>"$TMP/tcpdump.err" &
	TP=$!
	for _ in $(seq 50); do grep -q listening "$TMP/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
	ip netns exec "$R" taskset -c 1 "$LK" recv -p $PORT --rcvbuf 3M -q --json --timeout 40 >"$TMP/recv.json" &
	RP=$!
	sleep 0.3
	# 300 MB (~5 s at 500 Mbit/s): Westwood+'s two cascaded 7/8 filters, fed one sample per
	# 50 ms here (TCP_WESTWOOD_RTT_MIN; the capture's RTT is shorter), need ~1 s
	# to forget slow start; with 150 MB the steady part (25-90% of the transfer)
	# still held that ramp and Westwood+ read 2-13% low (-13.1% in 1 of 10 runs).
	ip netns exec "$S" taskset -c 0 "$LK" send 10.78.2.2 -p $PORT -n 300M --cc cubic -q \
		--timeout 40 --tcpinfo "$TMP/ti.csv" >/dev/null
	xrc=$?
	wait $RP
	sleep 1.2
	kill -INT $TP; wait $TP
}
# The estimators are judged on a transfer that ran at the link's rate, 500
# Mbit/s (1514-byte frames: 478 Mbit/s of payload). Not 1 Gbit/s: with TSO
# off, this 2-core VM's sender is then CPU-bound beside the receiver and the
# router, the router's queue runs nearly empty (min RTT 6 us), delivery-rate
# samples span a few segments, and the kernel's tcpi_delivery_rate median
# read 1.13-1.24 Gbit/s, above the link (the ACKs reach the sender's TCP in
# bursts), while our replay and the other estimators were within 1% of
# goodput. At 500 and 250 Mbit/s the queue stays backlogged: kernel and
# replay agreed within 2% and every estimator was within 1% of goodput.
# A transfer whose goodput is below 97% of the payload rate (a CPU stall
# idled the link) is measured again; when the machine cannot fill 500
# Mbit/s at all (a sanitizer build's sender and receiver are 2-3x slower, or
# the host is busy), the link is slowed to 250 and then 125 Mbit/s, so that
# the link, not the sender's CPU, is the bottleneck the estimators measure.
# A transfer that filled its link is judged. When none did, the estimators
# cannot be judged against a link: the transfer's own checks run, and the
# estimator checks are skipped with that reason (listed by make check;
# tests/allowed-skips names it, since only the host's load decides it).
# A transfer whose estimators miss, or whose capture lost packets (tcpdump
# fell behind), is measured again at the same rate, up to 3 transfers; the
# checks are those of the last transfer measured, and are skipped when that
# one did not fill its link. An estimator that is wrong misses on every
# transfer; a miss caused by the host's load does not repeat three times in a
# row. The kernel-vs-replay check is judged with the estimators: when the
# sender is CPU-bound the kernel reads 13-24% high (see above).
get() { awk -v k="$1" '$1==0 && $2=="a2b" && $3==k {print $4}' "$TMP/kv"; }
pct() { awk -v x="$1" -v y="$2" 'BEGIN {printf "%.1f", (x / y - 1) * 100}'; }
within() { awk -v x="$1" -v y="$2" -v p="$3" 'BEGIN {d = x / y - 1; if (d < 0) d = -d; exit !(y > 0 && d <= p / 100)}'; }
filled_at() { # RATE: 0 when the last transfer filled a RATE Mbit/s link
	gp=$(sed -n 's/.*"goodput_bps":\([0-9.e+]*\).*/\1/p' "$TMP/recv.json")
	awk -v g="${gp:-0}" -v r="$1" 'BEGIN {exit !(g >= 0.97 * r * 1e6 * 1448 / 1514)}'
}
# judge: replays the last capture; sets ww dr gw tc kmed and est_ok (1 when
# the estimators of this transfer met all three checks 4, 5, 7)
judge() {
	"$DUMP" --side sender "$TMP/s.pcap" >"$TMP/kv"
	gp=$(sed -n 's/.*"goodput_bps":\([0-9.e+]*\).*/\1/p' "$TMP/recv.json")
	ww=$(get bwe.westwood.median_bps); dr=$(get bwe.delivery_rate.median_bps)
	gw=$(get bwe.goodput.median_bps); tc=$(get bwe.tcpi_median_bps)
	kmed=$(awk -F, 'NR > 1 && $11 > 0 {print $11 * 8}' "$TMP/ti.csv" | sort -g |
		awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}')
	est_ok=0
	within "$ww" "$gp" 10 && within "$dr" "$gp" 10 && within "$gw" "$gp" 10 &&
		within "$tc" "$kmed" 15 && grep -q '^0 packets dropped by kernel' "$TMP/tcpdump.err" &&
		est_ok=1
	diag "transfer at ${rate} Mbit/s: receiver goodput $gp bit/s; steady medians: westwood+ $ww" \
		"($(pct "$ww" "$gp")%), delivery rate $dr ($(pct "$dr" "$gp")%), goodput/RTT $gw" \
		"($(pct "$gw" "$gp")%); replay polled every 10 ms $tc vs kernel $kmed ($(pct "$tc" "$kmed")%)"
}
filled=0 unfilled="no transfer filled its link, even at 125 Mbit/s"
for rate in 500 500 250 125; do
	ip netns exec "$G" tc qdisc replace dev gb root tbf rate ${rate}mbit burst 16kb \
		latency $((60 * 1000 / rate))ms # 7.5 MB at every rate
	measure
	filled_at $rate && { filled=1; break; }
	diag "link ${rate} Mbit/s: goodput ${gp:-?} bit/s, below 97% of its payload rate: measured again"
done
judge
tries=1
while [ $filled -eq 1 ] && [ $est_ok -eq 0 ] && [ $tries -lt 3 ]; do
	diag "estimators missed on transfer $tries (host load?): measured again at ${rate} Mbit/s"
	measure
	judge
	filled_at $rate || { filled=0; unfilled="a transfer filled the ${rate} Mbit/s link, the one measured again did not"; }
	tries=$((tries + 1))
done
diag "judged: the transfer over the ${rate} Mbit/s link ($tries transfer(s) at that rate)"
ok $xrc "${rate} Mbit/s transfer with TCP_INFO sampling"
grep -q '^0 packets dropped by kernel' "$TMP/tcpdump.err"
ok $? "capture complete ($(grep -E 'captured|dropped by kernel' "$TMP/tcpdump.err" | tr '\n' ' '))"
# The capture point is known here (as in the testbed, which records it), so
# the estimators are judged with --side sender; the automatic decision
# (analyzers/side.h) is printed for information.
"$DUMP" "$TMP/s.pcap" >"$TMP/kv.auto"
diag "automatic side verdict: near $(awk '$2=="a2b" && $3=="acks.capture_near" {print $4; exit}' "$TMP/kv.auto")" \
	"by $(awk '$2=="a2b" && $3=="acks.side_rule" {print $4; exit}' "$TMP/kv.auto") (0 = sender a)"
is "$(get bwe.valid)" 1 "estimators valid on the sender-side capture (--side sender)"
diag "min RTT $(get bwe.min_rtt_us) us; $(get bwe.sack_acks) SACK ACKs"
if [ $filled -eq 1 ]; then
	within "$ww" "$gp" 10; ok $? "Westwood+ within 10% of goodput ($(pct "$ww" "$gp")%)"
	within "$dr" "$gp" 10; ok $? "delivery rate within 10% of goodput ($(pct "$dr" "$gp")%)"
	within "$gw" "$gp" 10; ok $? "goodput per RTT window within 10% of goodput ($(pct "$gw" "$gp")%)"
else
	for est in Westwood+ "delivery rate" "goodput per RTT window"; do
		skip "host too busy: $unfilled ($est not judged against the link)"
	done
fi
diag "kernel tcpi_delivery_rate median $kmed bit/s ($(awk -F, 'NR > 1 && $11 > 0' "$TMP/ti.csv" | wc -l)" \
	"samples); ours polled every 10 ms $tc"
if [ $filled -eq 1 ]; then
	within "$tc" "$kmed" 15; ok $? "delivery-rate replay within 15% of the kernel's ($(pct "$tc" "$kmed")%)"
else
	skip "host too busy: $unfilled (kernel delivery rate not judged: a CPU-bound sender's reads high)"
fi
done_testing
