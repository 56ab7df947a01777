#!/bin/bash
# t-side-corpus: the capture-side decision (analyzers/side.h) on a corpus of
# real kernel TCP transfers made here, captured with tcpdump at both ends:
# every transfer gives a sender-side and a receiver-side capture, and
# `lrokit analyze --json` must say "sender" for the first and "receiver" for
# the second, or "unknown" - never the wrong side.
#
# Path: sender host S --veth-- wire W --veth-- [router R --veth--] receiver C,
# each a network namespace. W runs tests/helpers/wiredelay: a wire with a
# fixed one-way delay and random loss that puts on the far side what a NIC
# would (segments of at most the MTU, complete checksums). R, when present,
# forwards (TTL / hop limit - 1).
#
# Groups (one set of namespaces each, all groups at once): router or not x
# one-way delay 0 (the helper's own latency: a round trip well under 1 ms),
# 5 ms and 25 ms (RTT >= 50 ms) x loss none or 1% (each direction). In each
# group, one transfer of SIDE_BYTES (default 2M) per case: congestion
# control cubic, reno, bbr x IPv4, IPv6 x sender offloads on (TSO, GSO and
# checksum offload) or off x receiver offloads on (GRO, checksum offload) or
# off. Half the cases (alternating with every dimension) use `lrokit send`
# -> `lrokit recv` (the client sends), the other half `iperf3 -R` (the
# server sends, the client receives).
#
# Required: >= 95% of the captures decided right overall, none decided
# wrong. Every case's result is printed. LK_SIDE_KEEP=DIR keeps the
# captures and the table there.
. "$(dirname "$0")/lib.sh"
require_root
WD="$TOP/$LK_BUILD/tests/helpers/wiredelay"
for t in tcpdump ethtool iperf3 python3 taskset; do
	command -v $t >/dev/null || skip_all "$t not installed"
done
[ -x "$LK" ] || skip_all "lrokit binary not built ($LK)"
[ -x "$WD" ] || skip_all "helper not built ($WD)"
grep -qw bbr /proc/sys/net/ipv4/tcp_available_congestion_control 2>/dev/null ||
	skip_all "bbr congestion control not available"
BYTES=${SIDE_BYTES:-2M}
plan 7

# setup_group G ROUTER DELAY_US LOSS_PER_MILLE: set up the namespaces of
# group G (${NSP}G{s,w,r,c}, made by the caller) and start the wire helper in
# W on CPU G % 2.
setup_group() {
	local g=$1 router=$2 dly=$3 loss=$4 p="${NSP}g$1"
	local S=${p}s W=${p}w R=${p}r C=${p}c n
	for n in $S $W $C $([ "$router" = 1 ] && echo $R); do
		ip -n $n link set lo up
		ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 \
			net.ipv6.conf.default.accept_ra=0
	done
	ip netns exec $W sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip link add ${p}1 type veth peer name ${p}2 || return 1
	ip link set ${p}1 netns $S && ip link set ${p}2 netns $W
	ip -n $S link set ${p}1 name eth0 && ip -n $W link set ${p}2 name wa
	ip link add ${p}3 type veth peer name ${p}4 || return 1
	ip link set ${p}3 netns $W && ip -n $W link set ${p}3 name wb
	ip -n $S addr add 10.9.1.1/24 dev eth0 && ip -n $S addr add fd09:1::1/64 dev eth0 nodad
	if [ "$router" = 1 ]; then
		ip link set ${p}4 netns $R && ip -n $R link set ${p}4 name r0
		ip link add ${p}5 type veth peer name ${p}6 || return 1
		ip link set ${p}5 netns $R && ip -n $R link set ${p}5 name r1
		ip link set ${p}6 netns $C && ip -n $C link set ${p}6 name rcv$g
		ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		ip -n $R addr add 10.9.1.254/24 dev r0 && ip -n $R addr add fd09:1::fe/64 dev r0 nodad
		ip -n $R addr add 10.9.2.254/24 dev r1 && ip -n $R addr add fd09:2::fe/64 dev r1 nodad
		for n in r0 r1; do
			ip -n $R link set $n up
			# the router forwards frames as they come (no GRO); r1 without
			# TSO so that the receiver's veth may aggregate (veth only
			# runs GRO on frames from a device without TSO)
			ip netns exec $R ethtool -K $n gro off tso off >/dev/null
		done
		ip -n $C addr add 10.9.2.2/24 dev rcv$g && ip -n $C addr add fd09:2::2/64 dev rcv$g nodad
		ip -n $S link set eth0 up && ip -n $C link set rcv$g up
		ip -n $S route add default via 10.9.1.254 && ip -n $S -6 route add default via fd09:1::fe
		ip -n $C route add default via 10.9.2.254 && ip -n $C -6 route add default via fd09:2::fe
	else
		ip link set ${p}4 netns $C && ip -n $C link set ${p}4 name rcv$g
		ip -n $C addr add 10.9.1.2/24 dev rcv$g && ip -n $C addr add fd09:1::2/64 dev rcv$g nodad
		ip -n $S link set eth0 up && ip -n $C link set rcv$g up
	fi
	ip -n $W link add s0 type veth peer name s1 || return 1
	for n in wa wb s0 s1; do
		ip -n $W link set $n up
		ip netns exec $W ethtool -K $n gro off tso off >/dev/null
	done
	for n in s0 s1; do ip netns exec $W ethtool -K $n gso off tx off sg off >/dev/null; done
	ip netns exec $W taskset -c $((g % 2)) "$WD" wa wb s0 s1 "$dly" "$loss" "$g" \
		>"$TMP/g$g.wd.out" 2>"$TMP/g$g.wd.err" &
	for _ in $(seq 100); do grep -q ready "$TMP/g$g.wd.out" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}


# run_case G I CC AF SOFF ROFF APP ROUTER: one transfer of group G (case I
# uses port 5300 + I with lrokit, 5200 + I with iperf3); appends
# "I rc" to $TMP/gG.done
run_case() {
	local g=$1 i=$2 cc=$3 af=$4 soff=$5 roff=$6 app=$7 router=$8 p="${NSP}g$1"
	local S=${p}s C=${p}c dst src pre="$TMP/g$1.c$2" rc k
	if [ "$router" = 1 ]; then
		dst=$([ $af = 4 ] && echo 10.9.2.2 || echo fd09:2::2)
	else
		dst=$([ $af = 4 ] && echo 10.9.1.2 || echo fd09:1::2)
	fi
	src=$([ $af = 4 ] && echo 10.9.1.1 || echo fd09:1::1)
	if [ $soff = on ]; then
		ip netns exec $S ethtool -K eth0 tx on tso on gso on >/dev/null
	else
		ip netns exec $S ethtool -K eth0 tso off gso off tx off >/dev/null
	fi
	if [ $roff = on ]; then
		# the receiver's NAPI runs in a thread (on the wire helper's CPU), so
		# that it finds several frames per poll to aggregate (as behind a
		# NIC with interrupt coalescing)
		ip netns exec $C ethtool -K rcv$g gro on tx on >/dev/null
		ip netns exec $C sh -c "echo 1 > /sys/class/net/rcv$g/threaded"
		for k in $(pgrep "^napi/rcv$g-"); do taskset -pc $((g % 2)) "$k" >/dev/null 2>&1; done
	else
		ip netns exec $C ethtool -K rcv$g gro off tx off >/dev/null
	fi
	if [ $app = lrokit ]; then
		ip netns exec $C "$LK" recv -p $((5300 + i)) -q --timeout 60 >/dev/null 2>"$pre.app.err" &
		local rp=$!
		wait_port $C $((5300 + i))
		ip netns exec $S "$LK" send "$dst" -p $((5300 + i)) -n "$BYTES" --cc $cc -q --timeout 60 \
			>/dev/null 2>>"$pre.app.err"
		rc=$?
		wait $rp || rc=1
	else
		ip netns exec $S timeout 90 iperf3 -s -1 -p $((5200 + i)) >/dev/null 2>"$pre.app.err" &
		local sp=$!
		wait_port $S $((5200 + i))
		ip netns exec $C timeout 90 iperf3 -c "$src" -R -n "$BYTES" -C $cc -p $((5200 + i)) \
			>/dev/null 2>>"$pre.app.err"
		rc=$?
		wait $sp || rc=1
	fi
	echo "$i $rc" >>"$TMP/g$g.done"
}

# run_group G ROUTER DELAY LOSS SNAPLEN FROM TO: cases FROM..TO-1 of group G,
# one after the other, captured by one tcpdump at the sender (gG.snd.pcap) and
# one at the receiver (gG.rcv.pcap); their drop counts go to gG.drops
run_group() {
	local g=$1 router=$2 dly=$3 loss=$4 snap=$5 from=$6 to=$7 i=0 cc af soff roff ci ai si ri app
	local S=${NSP}g${g}s C=${NSP}g${g}c pre="$TMP/g$g"
	ip netns exec $S tcpdump -i eth0 --immediate-mode -s $snap -B 8192 -w "$pre.snd.pcap" -n tcp \
		2>"$pre.snd.err" &
	local t1=$!
	ip netns exec $C tcpdump -i rcv$g --immediate-mode -s $snap -B 8192 -w "$pre.rcv.pcap" -n tcp \
		2>"$pre.rcv.err" &
	local t2=$!
	wait_listening "$pre.snd.err" "$pre.rcv.err"
	ci=0
	for cc in cubic reno bbr; do
		ai=0
		for af in 4 6; do
			si=0
			for soff in on off; do
				ri=0
				for roff in on off; do
					app=$([ $(((ci + ai + si + ri) % 2)) = 0 ] && echo lrokit || echo iperf3)
					if [ $i -ge $from ] && [ $i -lt $to ]; then
						echo "$g $i $router $dly $loss $cc $af $soff $roff $app $snap" >>"$TMP/cases"
						run_case $g $i $cc $af $soff $roff $app $router
					fi
					i=$((i + 1)) ri=$((ri + 1))
				done
				si=$((si + 1))
			done
			ai=$((ai + 1))
		done
		ci=$((ci + 1))
	done
	sleep 0.2
	kill -INT $t1 $t2 2>/dev/null
	wait $t1 $t2
	cat "$pre.snd.err" "$pre.rcv.err" | awk '/dropped by kernel/ {s += $1} END {print s + 0}' \
		>"$pre.drops"
}

start=$(date +%s)
# The groups; the two with the longest transfers (RTT 50 ms, loss) run their
# cases in two halves on two sets of namespaces (groups 13 and 14).
g=0 extra=12
for router in 0 1; do
	for dly in 0 5000 25000; do
		for loss in 0 10; do
			g=$((g + 1))
			# snaplen: the headers only, or whole frames up to 2000 bytes
			# (TSO and GRO packets are cut; with a larger snaplen tcpdump's
			# ring holds so few frames that bursts of 64 KB packets overflow it)
			snap=$([ $(((router + dly / 5000 + loss) % 2)) = 0 ] && echo 2000 || echo 128)
			if [ $dly = 25000 ] && [ $loss != 0 ]; then
				GROUPS_ARGS="${GROUPS_ARGS:-} $g:$router:$dly:$loss:$snap:0:12"
				extra=$((extra + 1))
				GROUPS_ARGS="$GROUPS_ARGS $extra:$router:$dly:$loss:$snap:12:24"
			else
				GROUPS_ARGS="${GROUPS_ARGS:-} $g:$router:$dly:$loss:$snap:0:24"
			fi
		done
	done
done
pids=""
for ga in $GROUPS_ARGS; do
	IFS=: read -r g router dly loss _ <<<"$ga"
	lk_netns ${NSP}g${g}s ${NSP}g${g}w ${NSP}g${g}c
	[ "$router" = 1 ] && lk_netns ${NSP}g${g}r
	setup_group $g $router $dly $loss >"$TMP/g$g.setup" 2>&1 &
	pids="$pids $!"
done
setup_fail=0
for p in $pids; do wait $p || setup_fail=$((setup_fail + 1)); done
for f in "$TMP"/g*.setup; do [ -s "$f" ] && diag "$(basename "$f"): $(head -c 300 "$f")"; done
ok $setup_fail "14 sets of namespaces with the delaying wire ($(($(date +%s) - start)) s)"
pids=""
for ga in $GROUPS_ARGS; do
	IFS=: read -r g router dly loss snap from to <<<"$ga"
	run_group $g $router $dly $loss $snap $from $to &
	pids="$pids $!"
done
wait $pids
n_cases=$(wc -l <"$TMP/cases")
n_fail=$(cat "$TMP"/g*.done | awk '$2 != 0' | wc -l)
ok $((n_fail != 0)) "$n_cases transfers completed ($n_fail failed; $(($(date +%s) - start)) s)"
for f in "$TMP"/g*.c*.app.err "$TMP"/g*.snd.err "$TMP"/g*.rcv.err; do
	case "$f" in *.snd.err | *.rcv.err) grep -qv "listening\|captured\|received by filter\|dropped by kernel" "$f" || continue ;; esac
	[ -s "$f" ] && diag "$(basename "$f"): $(head -c 300 "$f")"
done

# analyze every capture (one lrokit process, one JSON line per file)
ls "$TMP"/g*.snd.pcap "$TMP"/g*.rcv.pcap >"$TMP/files"
# shellcheck disable=SC2046
"$LK" analyze -q --json $(cat "$TMP/files") >"$TMP/analyze.json" 2>"$TMP/analyze.err"
[ -s "$TMP/analyze.err" ] && diag "analyze: $(head -c 500 "$TMP/analyze.err")"

python3 - "$TMP" >"$TMP/table" <<'EOF'
import json, os, re, sys
tmp = sys.argv[1]
# the bulk flow of each case: the flow with the most data to the case's port
res = {}
for line in open(os.path.join(tmp, "analyze.json")):
    o = json.loads(line)
    m = re.search(r"g(\d+)\.(snd|rcv)\.pcap$", o["file"])
    g, pt = int(m.group(1)), m.group(2)
    for f in o["flows"]:
        port = int(f["b"].rsplit(":", 1)[1])
        i = port - 5300 if port >= 5300 else port - 5200
        n = f["a2b"]["data_bytes"] + f["b2a"]["data_bytes"]
        k = (g, i, pt)
        if k not in res or n > res[k][0]:
            res[k] = (n, f["side"])
done, drops = {}, {}
for fn in os.listdir(tmp):
    m = re.match(r"g(\d+)\.(done|drops)$", fn)
    if m and m.group(2) == "done":
        for line in open(os.path.join(tmp, fn)):
            i, rc = line.split()
            done[(int(m.group(1)), int(i))] = int(rc)
    elif m:
        drops[int(m.group(1))] = int(open(os.path.join(tmp, fn)).read().split()[0])
tot = right = wrong = unknown = 0
rows = []
for line in open(os.path.join(tmp, "cases")):
    g, i, router, dly, loss, cc, af, soff, roff, app, snap = line.split()
    g, i = int(g), int(i)
    rtt = "%gms" % (2 * int(dly) / 1000) if int(dly) else "<1ms"
    cells = []
    for pt, truth in (("snd", "sender"), ("rcv", "receiver")):
        s = res.get((g, i, pt), (0, None))[1]
        dec = s["capture"] if s else "none"
        conf = s["confidence"] if s else 0
        tot += 1
        if dec == truth:
            right += 1
            mark = "ok"
        elif dec in ("sender", "receiver"):
            wrong += 1
            mark = "WRONG"
        else:
            unknown += 1
            mark = "unknown"
        ev = ""
        if s and dec != truth:
            ev = " [" + " ".join("%s:%s" % (e["name"], e["verdict"][0]) for e in s["evidence"]
                                 if e["verdict"] != "none") + ("; " + s["why"] if s.get("why") else "") + "]"
        cells.append("%-8s %-8s %.3f %s%s" % (truth, dec, conf, mark, ev))
    rc = done.get((g, i), -1)
    rows.append(((g, i), "g%-2d c%-2d router=%-3s rtt=%-5s loss=%-3s %-5s ipv%s snd-off=%-3s rcv-off=%-3s %-6s snap=%-4s%s%s | %s | %s"
                % (g, i, "yes" if router == "1" else "no", rtt, "1%" if loss != "0" else "0",
                   cc, af, soff, roff, app, snap, "" if rc == 0 else " (transfer failed)",
                   " (group: %d capture drops)" % drops[g] if drops.get(g) else "",
                   cells[0], cells[1])))
print("\n".join(r for _, r in sorted(rows)))
print("TOTAL %d %d %d %d" % (tot, right, wrong, unknown))
EOF
sed '$d' "$TMP/table" | sed 's/^/# /'
read -r _ tot right wrong unknown < <(tail -1 "$TMP/table")
diag "captures: $tot; right $right, unknown $unknown, wrong $wrong"
awk -v r="$right" -v t="$tot" 'BEGIN {exit !(t > 0 && r >= 0.95 * t)}'
ok $? "at least 95% decided right ($right of $tot)"
is "$wrong" 0 "no capture decided on the wrong side"

# The report's bandwidth-estimate figure needs a capture decided to be at the
# data sender: group 1's captures (round trip under 1 ms, no router, no loss),
# ingested without --side, must give it.
DB=$TMP/side.db
"$LK" analyze -q --db "$DB" "$TMP/g1.snd.pcap" "$TMP/g1.rcv.pcap" >/dev/null 2>"$TMP/db.err"
ok $? "group 1's captures stored without --side"
[ -s "$TMP/db.err" ] && diag "analyze --db: $(head -c 300 "$TMP/db.err")"
side_counts() { # PCAP: "side=count ..." of the bulk flows of that capture
	sqlite3 "$DB" "SELECT group_concat(capture_side || '=' || n, ' ') FROM (SELECT
		f.capture_side, count(*) AS n FROM flows f JOIN captures c USING (capture_id)
		WHERE c.path = '$1' AND f.a2b_data_bytes + f.b2a_data_bytes > 1000000
		GROUP BY 1 ORDER BY 1)" 2>&1
}
got="$(side_counts "$TMP/g1.snd.pcap") / $(side_counts "$TMP/g1.rcv.pcap")"
is "$got" "sender=24 / receiver=24" "flows.capture_side of the 48 bulk flows stored"
"$LK" report --db "$DB" -o "$TMP/report" >/dev/null 2>"$TMP/report.err"
[ -s "$TMP/report/fig4-bwe.csv" ] && [ -s "$TMP/report/fig4-bwe.png" ]
ok $? "lrokit report draws the bandwidth estimates (figure 4) from the sender-side capture"
if [ -n "${LK_SIDE_KEEP:-}" ]; then
	mkdir -p "$LK_SIDE_KEEP" && cp "$TMP"/g*.pcap "$TMP"/g*.done "$TMP"/g*.drops "$TMP/cases" "$TMP/table" "$LK_SIDE_KEEP"/
fi
diag "total $(($(date +%s) - start)) s"
done_testing
