#!/bin/bash
# t-analyze-tcptrace.sh - `lrokit analyze --json` equals `tcptrace -l -n`,
# counter for counter, on real captures: two namespaces joined by veth, TSO/
# GSO/TX-checksum off on the sender, a bulk iperf3 transfer (plus iperf3's
# control connection) with 0.5% of the data segments dropped by nftables on
# the receiver (so SACK, D-SACK and retransmissions occur), over IPv4 and
# IPv6, captured with tcpdump at snaplen 128 on both ends. Every counter of
# the JSON contract (docs/design.md) is compared for both directions of every flow, plus the flow
# endpoints and orientation. Then the same comparison on synthetic captures
# from tests/helpers/tcpgen (random retransmissions, overlaps, reordering,
# zero windows, SACK/D-SACK blocks, RSTs, port reuse, sequence wrap).
. "$(dirname "$0")/lib.sh"
require_root
for c in tcptrace tcpdump iperf3 nft ethtool taskset; do
	command -v $c >/dev/null || skip_all "$c not installed (make deps)"
done
[ -x "$LK" ] || skip_all "$LK not built"
TCPGEN="$TOP/$LK_BUILD/tests/helpers/tcpgen"

. "$(dirname "$0")/tcptrace.sh"

# ---- real captures ------------------------------------------------------
A=${NSP}s; B=${NSP}r
lk_netns "$A" "$B"
ip link add lkv0 netns "$A" type veth peer name lkv1 netns "$B"
ip -n "$A" addr add 10.77.0.1/24 dev lkv0
ip -n "$B" addr add 10.77.0.2/24 dev lkv1
ip -n "$A" -6 addr add fd77::1/64 dev lkv0 nodad
ip -n "$B" -6 addr add fd77::2/64 dev lkv1 nodad
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set lkv0 up
ip -n "$B" link set lkv1 up
ip netns exec "$A" ethtool -K lkv0 tso off gso off tx off >/dev/null 2>&1
ip netns exec "$B" ethtool -K lkv1 tso off gso off tx off gro off >/dev/null 2>&1
ip netns exec "$B" $NFT -f - <<'EOF' || skip_all "nftables refused the numgen drop rule"
table inet lktt {
	chain in {
		type filter hook input priority 0;
		tcp dport 5201 numgen random mod 1000 < 5 drop
	}
}
EOF
# and 1% of them duplicated on the sender (each duplicate makes the
# receiver send a D-SACK; spurious retransmissions alone are too rare)
ip netns exec "$A" $NFT -f - <<'EOF' || skip_all "nftables refused the dup rule"
table ip lkdup {
	chain out {
		type filter hook output priority 0;
		tcp dport 5201 numgen random mod 1000 < 10 dup to 10.77.0.2
	}
}
table ip6 lkdup6 {
	chain out {
		type filter hook output priority 0;
		tcp dport 5201 numgen random mod 1000 < 10 dup to fd77::2
	}
}
EOF
# sender and receiver on different CPUs (fewer spurious reorderings)
PIN0=""; PIN1=""
if [ "$(nproc)" -ge 2 ]; then PIN0="taskset -c 0"; PIN1="taskset -c 1"; fi

plan 11
PIDS=""
stop_bg() { for p in $PIDS; do kill "$p" 2>/dev/null; done; PIDS=""; }
lk_on_exit stop_bg

# capture FAMILY ADDR: transfer 24 MB over ADDR, capture both ends.
capture() {
	local fam=$1 addr=$2 p1 p2
	ip netns exec "$B" tcpdump -i lkv1 -s 128 -B 16384 -U -w "$TMP/rcv$fam.pcap" 2>/dev/null &
	p1=$!
	ip netns exec "$A" tcpdump -i lkv0 -s 128 -B 16384 -U -w "$TMP/snd$fam.pcap" 2>/dev/null &
	p2=$!
	PIDS="$p1 $p2"
	ip netns exec "$B" $PIN1 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	# wait for the server and both capture sockets
	for _ in $(seq 50); do
		ip netns exec "$B" ss -ltn 2>/dev/null | grep -q ':5201 ' && break
		sleep 0.1
	done
	sleep 0.5
	ip netns exec "$A" $PIN0 iperf3 -c "$addr" -p 5201 -n 24M >/dev/null 2>&1
	local rc=$?
	sleep 0.5
	stop_bg
	wait 2>/dev/null
	return $rc
}

capture 4 10.77.0.2; ok $? "IPv4 bulk transfer with 0.5% loss ran"
capture 6 fd77::2; ok $? "IPv6 bulk transfer with 0.5% loss ran"

r=$(total "$TMP/snd4.pcap" rexmt_data_pkts); s=$(total "$TMP/snd4.pcap" sack_pkts)
d=$(total "$TMP/snd4.pcap" dsack_pkts); r6=$(total "$TMP/snd6.pcap" rexmt_data_pkts)
s6=$(total "$TMP/snd6.pcap" sack_pkts); d6=$(total "$TMP/snd6.pcap" dsack_pkts)
diag "sender captures: v4 rexmt $r sack $s dsack $d; v6 rexmt $r6 sack $s6 dsack $d6"
[ "$r" -gt 0 ] && [ "$s" -gt 0 ] && [ "$d" -gt 0 ] && [ "$r6" -gt 0 ] && [ "$s6" -gt 0 ] && [ "$d6" -gt 0 ]
ok $? "both families: retransmissions, SACKs and D-SACKs occurred"

compare "$TMP/snd4.pcap" "IPv4 sender capture"
compare "$TMP/rcv4.pcap" "IPv4 receiver capture"
compare "$TMP/snd6.pcap" "IPv6 sender capture"
compare "$TMP/rcv6.pcap" "IPv6 receiver capture"

# ---- synthetic captures: the rare rules -----------------------------------
if [ -x "$TCPGEN" ]; then
	"$TCPGEN" 4 1 >"$TMP/gen4.pcap" && "$TCPGEN" 6 2 >"$TMP/gen6.pcap"
	ok $? "tcpgen wrote synthetic captures"
	compare "$TMP/gen4.pcap" "synthetic IPv4 (overlaps, reordering, zero windows, RST, reuse, wrap)"
	compare "$TMP/gen6.pcap" "synthetic IPv6 (overlaps, reordering, zero windows, RST, reuse, wrap)"
	# the synthetic files must really contain the rare cases
	p=$(total "$TMP/gen4.pcap" zwnd_probe_pkts); o=$(total "$TMP/gen4.pcap" outoforder_pkts)
	n=$(tt_lines "$TMP/gen4.pcap" | grep -c ' ep ')
	diag "synthetic IPv4: $n connections, $p zero-window probes, $o out-of-order"
	[ "$p" -gt 0 ] && [ "$o" -gt 0 ] && [ "$n" -gt 100 ]
	ok $? "synthetic capture holds probes, out-of-order segments and reused ports"
else
	for i in 1 2 3 4; do ok 1 "tcpgen helper missing ($TCPGEN)"; done
fi
diag "compared $NCMP counter values with tcptrace"
done_testing
