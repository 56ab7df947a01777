#!/bin/sh
# lrokit send / recv: verified bulk transfer over IPv4 and IPv6, options,
# TCP_INFO series, corruption and short-transfer detection, usage errors.
. "$(dirname "$0")/lib.sh"
require_root
plan 22
A="${NSP}a"; B="${NSP}b"
lk_netns "$A" "$B"
ip -n "$A" link add eth0 type veth peer name eth0 netns "$B"
ip -n "$A" addr add 10.99.0.1/24 dev eth0; ip -n "$B" addr add 10.99.0.2/24 dev eth0
ip -n "$A" addr add fd99::1/64 dev eth0 nodad; ip -n "$B" addr add fd99::2/64 dev eth0 nodad
for n in "$A" "$B"; do ip -n "$n" link set lo up; ip -n "$n" link set eth0 up; done

ip netns exec "$B" "$LK" recv --json --timeout 20 > "$TMP/r.json" 2> "$TMP/r.err" &
rp=$!
ip netns exec "$A" "$LK" send 10.99.0.2 --bytes 8M --json > "$TMP/s.json" 2> "$TMP/s.err"
ok $? "send 8 MB over IPv4 exits 0"
wait $rp; ok $? "recv exits 0"
grep -q '"verified":true' "$TMP/r.json"; ok $? "receiver verified the content"
grep -q '"bytes":8388608,' "$TMP/r.json"; ok $? "receiver counted 8 MiB"
grep -q '"tcp_info":\[{"t_ns":[0-9]*,"cwnd":[1-9]' "$TMP/s.json"; ok $? "sender JSON carries a TCP_INFO series"

ip netns exec "$B" "$LK" recv -6 --quickack --json --timeout 20 > "$TMP/r6.json" 2>&1 &
rp=$!
ip netns exec "$A" "$LK" send fd99::2 -n 4M --mss 1000 --cc reno --tcpinfo "$TMP/ti.csv" --json > "$TMP/s6.json" 2> "$TMP/s6.err"
ok $? "send over IPv6 with --mss --cc --tcpinfo exits 0"
wait $rp
grep -q '"quickack":true' "$TMP/r6.json" && grep -q '"verified":true' "$TMP/r6.json"
ok $? "IPv6 receiver with --quickack verified the content"
grep -q '"cc":"reno"' "$TMP/s6.json"; ok $? "congestion control reno was used"
mss=$(sed -n 's/.*"mss":\([0-9]*\),"cc".*/\1/p' "$TMP/s6.json")
[ -n "$mss" ] && [ "$mss" -le 1000 ]; ok $? "MSS is at most 1000 (got $mss)"
head -1 "$TMP/ti.csv" | grep -q '^t_ns,cwnd,ssthresh,rtt_us' && [ "$(wc -l < "$TMP/ti.csv")" -ge 2 ]
ok $? "--tcpinfo file has a header and samples"

# socket buffers and the text reports
ip netns exec "$B" "$LK" recv --rcvbuf 256K --timeout 20 > "$TMP/rt.txt" 2>&1 &
rp=$!
# 200 Mbit/s for this transfer, so that it lasts about 0.25 s
tc -n "$A" qdisc add dev eth0 root tbf rate 200mbit burst 32k latency 50ms
ip netns exec "$A" "$LK" send 10.99.0.2 -n 6M --sndbuf 512K --rcvbuf 128K --interval 10 --json > "$TMP/sb.json" 2> "$TMP/sb.err"
ok $? "send with --sndbuf/--rcvbuf exits 0"
wait $rp
tc -n "$A" qdisc del dev eth0 root
grep -Eq '^received 6291456 bytes from .* Gbit/s, content verified$' "$TMP/rt.txt"
ok $? "recv text report: bytes, peer, goodput, verified"
# the kernel doubles a value set with SO_SNDBUF/SO_RCVBUF (sock_setsockopt)
grep -q '"sndbuf":1048576,"rcvbuf":262144,' "$TMP/sb.json"; ok $? "sender's socket buffers in effect: 2 x 512K, 2 x 128K"
# TCP_INFO samples 10 ms apart (median spacing within 8..30 ms on a loaded machine)
sp=$(sed 's/.*"tcp_info":\[//' "$TMP/sb.json" | grep -o '"t_ns":[0-9]*' | cut -d: -f2 | awk 'NR > 1 {print ($1 - p) / 1e6} {p = $1}' | sort -g |
	awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : -1}')
awk -v m="$sp" 'BEGIN{exit !(m >= 8 && m <= 30)}'; ok $? "TCP_INFO samples every ~10 ms (median spacing $sp ms)"
ip netns exec "$B" "$LK" recv --json --timeout 20 > /dev/null 2>&1 &
rp=$!
ip netns exec "$A" "$LK" send 10.99.0.2 -n 2M > "$TMP/st.txt" 2>&1
wait $rp
grep -Eq '^sent 2097152 bytes to .*verified by receiver; mss [0-9]+, cc [a-z]+, retransmits [0-9]+, [0-9]+ TCP_INFO samples$' "$TMP/st.txt"
ok $? "send text report: bytes, peer, goodput, mss, cc, retransmits, samples"

# a sender that announces 4096 bytes and sends garbage: receiver must fail
ip netns exec "$B" "$LK" recv --json --timeout 10 > "$TMP/bad.json" 2> "$TMP/bad.err" &
rp=$!
sleep 0.3
ip netns exec "$A" perl -MIO::Socket::INET -e '
	my $s; for (1..50) { $s = IO::Socket::INET->new("10.99.0.2:5301") and last; select(undef,undef,undef,0.1) }
	print $s "LKX1" . pack("V", 0) . pack("Q<", 4096) . pack("Q<", 1) . ("x" x 4096); shutdown($s, 1); my $b; read($s, $b, 16);'
wait $rp; rc=$?
[ $rc -eq 1 ]; ok $? "corrupt data: recv exits 1 (got $rc)"
grep -q 'corrupt at byte offset 0' "$TMP/bad.err"; ok $? "corrupt data: error names the offset"

ip netns exec "$B" "$LK" recv --timeout 10 > /dev/null 2> "$TMP/short.err" &
rp=$!
sleep 0.3
ip netns exec "$A" perl -MIO::Socket::INET -e '
	my $s; for (1..50) { $s = IO::Socket::INET->new("10.99.0.2:5301") and last; select(undef,undef,undef,0.1) }
	print $s "LKX1" . pack("V", 0) . pack("Q<", 4096) . pack("Q<", 1); shutdown($s, 1); my $b; read($s, $b, 16);'
wait $rp; rc=$?
[ $rc -eq 1 ] && grep -q 'sent 0 bytes, announced 4096' "$TMP/short.err"; ok $? "short transfer is a failure"

"$LK" send > /dev/null 2>&1; is $? 2 "send without HOST is a usage error"
"$LK" send 10.99.0.2 --bytes lots > /dev/null 2>&1; is $? 2 "bad --bytes is a usage error"
"$LK" recv --mss 5 > /dev/null 2>&1; is $? 2 "bad --mss is a usage error"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$LK" run xen --db "$TMP/x.db" 2>&1); rc=$?
[ $rc -eq 3 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
ok $? "run without root: exit 3 with one line ($out)"
