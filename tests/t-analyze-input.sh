#!/bin/bash
# t-analyze-input.sh - the input `lrokit analyze` reads beyond plain pcap files,
# each checked against tcptrace (where tcptrace reads the same capture) or
# against lrokit's own analysis of the plain Ethernet capture (which
# t-analyze-tcptrace.sh checks against tcptrace):
#   - every link type: the synthetic captures of tests/helpers/tcpgen (IPv4
#     and IPv6) re-framed by tests/helpers/relink; tcptrace on the IPv4 ones
#     where tcptrace 6.6 reads the link type;
#   - pcapng whose interfaces differ in link type and snapshot length
#     (relink --pcapng, and mergecap): the union of the parts;
#   - gzip, zstd and xz captures (made here with gzip/zstd/xz), from files and
#     standard input; the SHA-256 stored is the compressed file's; truncated
#     and corrupt compressed files: exit 1, one error line naming the file,
#     the database untouched;
#   - TCP headers cut by the snaplen right after the 20 fixed bytes (SYNs
#     with their options cut: counted, as tcptrace does) and right after the
#     flags (skipped by both);
#   - IPv4 total length 0, IPv6 payload length 0 and IPv6 jumbograms (data
#     byte counts from the frame and from the Jumbo Payload option);
#   - analyze -j N: the same output, messages and database as one by one.
. "$(dirname "$0")/lib.sh"
for c in tcptrace gzip zstd xz mergecap editcap sqlite3 sha256sum; do
	command -v $c >/dev/null || skip_all "$c not installed (make deps)"
done
TG="$TOP/$LK_BUILD/tests/helpers/tcpgen"
RL="$TOP/$LK_BUILD/tests/helpers/relink"
MK="$TOP/$LK_BUILD/tests/helpers/mkpcap"
[ -x "$LK" ] && [ -x "$TG" ] && [ -x "$RL" ] && [ -x "$MK" ] || skip_all "lrokit or test helpers not built"
. "$(dirname "$0")/tcptrace.sh"

"$TG" 4 11 10000 > "$TMP/g4.pcap" && "$TG" 6 12 10000 > "$TMP/g6.pcap" || { echo "Bail out! tcpgen failed"; exit 1; }

# json FILE...: lrokit's JSON without the fields that name the file
json() { "$LK" analyze -q --json "$@" | sed -E 's/"file":"[^"]*",//'; }

# ---- link types ------------------------------------------------------------
# tcptrace 6.6.7 reads these (IPv4 only; 802.1Q+MPLS, 802.3/LLC, Linux cooked
# v2, Token Ring (its header length is wrong), PPP_SERIAL, PPP_ETHER, QoS
# 802.11 and radiotap (its header length is wrong) it does not)
TT_READS=" eth eth-pppoe sll null raw fddi atm ppp chdlc slip wifi prism "
# the JSON of a capture but the fields that describe the file
body() { "$LK" analyze -q --json "$@" | sed -E 's/"file":"[^"]*","linktype":[0-9]+,"snaplen":[0-9]+,//'; }
body "$TMP/g4.pcap" "$TMP/g6.pcap" > "$TMP/eth.json"
for t in $("$RL" --list); do
	"$RL" "$t" "$TMP/g4.pcap" > "$TMP/$t-4.pcap" && "$RL" "$t" "$TMP/g6.pcap" > "$TMP/$t-6.pcap"
	body "$TMP/$t-4.pcap" "$TMP/$t-6.pcap" > "$TMP/$t.json"
	[ "$(grep -c '"skipped":{}' "$TMP/$t.json")" = 2 ] && cmp -s "$TMP/eth.json" "$TMP/$t.json"
	ok $? "link type $t: IPv4 and IPv6: nothing skipped, every counter, ACK class and estimate equal the Ethernet original's"
	case "$TT_READS" in *" $t "*) compare "$TMP/$t-4.pcap" "link type $t (IPv4)" ;; esac
done
is "$("$LK" analyze --json "$TMP/fddi-4.pcap" | grep -o '"linktype":[0-9]*')" '"linktype":10' \
	"FDDI is link type 10"

# ---- pcapng with interfaces of different link types ------------------------
"$RL" --pcapng "$TMP/g4.pcap:sll" "$TMP/g6.pcap:eth" > "$TMP/mixed.pcapng"
lk_keyed "$TMP/g4.pcap" "$TMP/g6.pcap" > "$TMP/kboth"
lk_keyed "$TMP/mixed.pcapng" > "$TMP/kmix"
cmp -s "$TMP/kboth" "$TMP/kmix"
ok $? "pcapng, interfaces Linux cooked (IPv4) and Ethernet (IPv6): the union of the two"
"$RL" sll "$TMP/g4.pcap" > "$TMP/sll4.pcap"
mergecap -w "$TMP/merged.pcapng" "$TMP/sll4.pcap" "$TMP/g6.pcap" 2>/dev/null
lk_keyed "$TMP/merged.pcapng" > "$TMP/kmerge"
cmp -s "$TMP/kboth" "$TMP/kmerge"
ok $? "mergecap of a Linux cooked and an Ethernet capture (snaplen 262144 and 128): the union"
"$LK" analyze -q --db "$TMP/mixed.db" "$TMP/merged.pcapng" > /dev/null
is "$(sqlite3 "$TMP/mixed.db" 'SELECT linktype, packets, tcp_packets, (SELECT count(*) FROM packets) FROM captures')" \
	"113|20000|20000|20000" "mergecap file stored: first interface's link type, every packet"

# ---- compressed captures, standard input --------------------------------------
cp "$TMP/g4.pcap" "$TMP/c.pcap"
gzip -k "$TMP/c.pcap"; zstd -q "$TMP/c.pcap"; xz -k "$TMP/c.pcap"
zstd -q "$TMP/mixed.pcapng"
json "$TMP/g4.pcap" > "$TMP/plain.json"
json "$TMP/mixed.pcapng" > "$TMP/mixed.json"
json - < "$TMP/g4.pcap" > "$TMP/stdin.json"
cmp -s "$TMP/plain.json" "$TMP/stdin.json"; ok $? "standard input (pcap): same as the file"
json - < "$TMP/mixed.pcapng" > "$TMP/stdin.json"
cmp -s "$TMP/mixed.json" "$TMP/stdin.json"; ok $? "standard input (pcapng, two link types): same as the file"
json "$TMP/mixed.pcapng.zst" > "$TMP/z.json"
cmp -s "$TMP/mixed.json" "$TMP/z.json"; ok $? "zstd-compressed pcapng: same as the plain file"
"$LK" analyze - - < "$TMP/g4.pcap" > /dev/null 2> "$TMP/err"
is "$?/$(cat "$TMP/err")" "2/lrokit: error: analyze: standard input (-) can be read only once" \
	"standard input twice: usage error"
"$LK" analyze -q --db "$TMP/base.db" "$TMP/g6.pcap" > /dev/null || { echo "Bail out! ingest failed"; exit 1; }
base_dump=$(sqlite3 "$TMP/base.db" .dump | cksum)
for z in gz zst xz; do
	case $z in gz) name=gzip ;; zst) name=zstd ;; xz) name=xz ;; esac
	f="$TMP/c.pcap.$z"
	json "$f" > "$TMP/z.json"
	cmp -s "$TMP/plain.json" "$TMP/z.json"; ok $? "$name file: same as the plain capture"
	json - < "$f" > "$TMP/z.json"
	cmp -s "$TMP/plain.json" "$TMP/z.json"; ok $? "$name on standard input: same as the plain capture"
	TT_FILE="$TMP/c.pcap" compare "$f" "$name file vs tcptrace on the decompressed file"
	cp "$TMP/base.db" "$TMP/z.db"
	"$LK" analyze -q --db "$TMP/z.db" "$f" > /dev/null
	is "$(sqlite3 "$TMP/z.db" "SELECT sha256 FROM captures WHERE path='$f'")" \
		"$(sha256sum < "$f" | cut -c1-64)" "$name: the SHA-256 stored is the compressed file's"
	# cut in the middle, and 64 bytes overwritten in the middle
	sz=$(stat -c %s "$f")
	head -c $((sz / 2)) "$f" > "$TMP/cut.$z"
	cp "$f" "$TMP/bad.$z"
	head -c 64 /dev/urandom | dd of="$TMP/bad.$z" bs=1 seek=$((sz / 3)) conv=notrunc 2>/dev/null
	for kind in cut bad; do
		cp "$TMP/base.db" "$TMP/z.db"
		"$LK" analyze --db "$TMP/z.db" "$TMP/$kind.$z" > /dev/null 2> "$TMP/err"
		rc=$?
		want="lrokit: error: $TMP/$kind.$z: $name data truncated (the compressed stream ends before its end marker: the file is cut short) (after record "
		[ $kind = bad ] && want="lrokit: error: $TMP/$kind.$z: corrupt $name data ("
		[ $rc = 1 ] && [ "$(wc -l < "$TMP/err")" = 1 ] && [ "${want}" = "$(head -c ${#want} "$TMP/err")" ]
		ok $? "$name $kind short: exit 1, one error line naming the file ($(cut -c1-60 "$TMP/err" | sed "s|$TMP/||")...)"
		is "$(sqlite3 "$TMP/z.db" .dump | cksum)" "$base_dump" "$name $kind short: database untouched"
	done
done

# ---- TCP headers cut by the snaplen ---------------------------------------------
editcap -F pcap -s 54 "$TMP/g4.pcap" "$TMP/hdr20.pcap" 2>/dev/null
editcap -F pcap -s 74 "$TMP/g6.pcap" "$TMP/hdr20-6.pcap" 2>/dev/null
compare "$TMP/hdr20.pcap" "IPv4, TCP cut after its 20 fixed bytes (options cut)"
compare "$TMP/hdr20-6.pcap" "IPv6, TCP cut after its 20 fixed bytes (options cut)"
s=$(total "$TMP/hdr20.pcap" syn_pkts)
[ "$s" -gt 0 ]; ok $? "  ... $s SYNs with cut options counted"
editcap -F pcap -s 48 "$TMP/g4.pcap" "$TMP/hdr14.pcap" 2>/dev/null
"$LK" analyze "$TMP/hdr14.pcap" > /dev/null 2> "$TMP/err"
is "$(cat "$TMP/err")" "lrokit: warning: $TMP/hdr14.pcap: no TCP segments; skipped 10000 of 10000 records (10000 TCP header not captured)" \
	"TCP cut right after the flags: skipped, with a warning"
is "$(tcptrace -n "$TMP/hdr14.pcap" 2>/dev/null | grep -o '[0-9]* TCP packets traced')" "0 TCP packets traced" \
	"  ... tcptrace skips them too"

# ---- lengths from the frame and the jumbo option ----------------------------------
mkdir "$TMP/mk"; "$MK" "$TMP/mk" > /dev/null
d() { "$LK" analyze --json "$TMP/mk/$1.pcap" | grep -o '"data_bytes":[0-9]*,' | tr -d '\n'; }
is "$(d ip4-totlen-zero)" '"data_bytes":70100,"data_bytes":0,' "IPv4 total length 0: 70000 data bytes from the frame length"
is "$(d ip6-jumbo)" '"data_bytes":100,"data_bytes":0,"data_bytes":70000,"data_bytes":0,' \
	"IPv6 jumbogram: 70000 data bytes from the Jumbo Payload option"
is "$(d ip6-plen-zero)" '"data_bytes":100,"data_bytes":0,"data_bytes":70000,"data_bytes":0,' \
	"IPv6 payload length 0, no jumbo option: 70000 data bytes from the frame length"

# ---- analyze -j N ------------------------------------------------------------------
cp "$TMP/g4.pcap" "$TMP/g4-copy.pcap"
set -- "$TMP/g4.pcap" "$TMP/mixed.pcapng" "$TMP/mk/empty.pcap" "$TMP/c.pcap.xz" \
	"$TMP/g6.pcap" "$TMP/cut.gz" "$TMP/g4-copy.pcap" "$TMP/hdr20.pcap"
"$LK" analyze --json --db "$TMP/j1.db" "$@" > "$TMP/j1.out" 2> "$TMP/j1.err"; r1=$?
"$LK" analyze -j 3 --json --db "$TMP/j3.db" "$@" > "$TMP/j3.out" 2> "$TMP/j3.err"; r3=$?
is "$r3" "$r1" "-j 3 --db: the same exit code as one by one ($r1)"
sed -i "s|$TMP/j3.db|$TMP/j1.db|" "$TMP/j3.err"
cmp -s "$TMP/j1.out" "$TMP/j3.out" && cmp -s "$TMP/j1.err" "$TMP/j3.err"
ok $? "-j 3 --db: the same output and messages, in the order of the files"
dump() { sqlite3 "$1" .dump | sed -E "s/^(INSERT INTO captures VALUES\(([^,]*,){14})[0-9]+,/\1T,/"; }
[ "$(dump "$TMP/j1.db" | grep -c 'INSERT INTO packets')" -gt 0 ] && \
	[ "$(dump "$TMP/j1.db" | cksum)" = "$(dump "$TMP/j3.db" | cksum)" ]
ok $? "-j 3 --db: the same database (ids included), but the ingest times"
"$LK" analyze -q -j 4 --json "$@" > "$TMP/j4.out" 2>/dev/null
"$LK" analyze -q --json "$@" > "$TMP/j0.out" 2>/dev/null
cmp -s "$TMP/j0.out" "$TMP/j4.out"; ok $? "-j 4 without a database: the same output"
diag "compared $NCMP counter values with tcptrace"
done_testing
