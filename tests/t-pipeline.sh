#!/bin/sh
# t-pipeline: the analysis pipeline (analyzers/pipeline.h: the observers in a
# second thread, fed records without frames) changes no result. Every
# capture is analyzed with the observers called directly
# (LK_ANALYZE_THREADS=1), through the pipeline from the first segment to the
# last (=2), through it and back to direct calls mid-file (=2stop), and as
# the command decides by itself (unset); all must agree:
#   - `analyze --json --details` (every counter, ACK class, estimator
#     summary and the capture-side evidence with its checksum counts),
#     exit code and stderr;
#   - with --db: the flows, ack_classes and bwe rows and the packets rows.
# Captures: synthetic traffic (tcpgen, IPv4 and IPv6, several seeds, long
# enough for the pipeline to start by itself), the malformed-capture corpus
# (mkpcap), and a capture whose checksums need summing (a mix of valid, bad
# and offloaded checksums on whole frames, written here).
. "$(dirname "$0")/lib.sh"
MK="$TOP/$LK_BUILD/tests/helpers/mkpcap"
TG="$TOP/$LK_BUILD/tests/helpers/tcpgen"
[ -x "$MK" ] && [ -x "$TG" ] || skip_all "mkpcap/tcpgen helpers not built"
command -v sqlite3 >/dev/null || skip_all "sqlite3 shell not installed"
[ "$(nproc)" -ge 2 ] || skip_all "one CPU: the pipeline is never used here"

mkdir "$TMP/c"
"$MK" "$TMP/c" > "$TMP/cases" || { echo "Bail out! mkpcap failed"; exit 1; }
for fam in 4 6; do
	for seed in 1 2 3; do
		"$TG" $fam $seed 40000 > "$TMP/tg$fam-$seed.pcap"
	done
done

# whole frames with checksums to sum: every third valid, bad, or partial
# (offloaded), in both directions; the observers verify at most 256 per
# direction and count at most 1024 per size class
python3 - "$TMP/sums.pcap" <<'PY'
import struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return s
out = open(sys.argv[1], 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
a, b = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
seq = [1000, 9000]
for k in range(9000):
    d = 1 if k % 3 == 2 else 0
    n = [1448, 600, 2896, 0][k % 4] if d == 0 else 0
    src, dst = (a, b) if d == 0 else (b, a)
    sp, dp = (40000, 5001) if d == 0 else (5001, 40000)
    tcp = bytearray(struct.pack('!HHIIBBHHH', sp, dp, seq[d], seq[1 - d], 5 << 4, 0x10, 65535, 0, 0))
    tcp += bytes((k + i) & 0xff for i in range(n))
    seq[d] += n
    ph = src + dst + struct.pack('!BBH', 0, 6, len(tcp))
    kind = (k // 3) % 3
    c = csum(ph) if kind == 2 else (~csum(ph + bytes(tcp))) & 0xffff
    if kind == 1: c ^= 0x5a5a
    struct.pack_into('!H', tcp, 16, c)
    ip = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), k & 0xffff, 0x4000, 64, 6, 0, src, dst))
    struct.pack_into('!H', ip, 10, (~csum(bytes(ip))) & 0xffff)
    fr = b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + bytes(ip) + bytes(tcp)
    out.write(struct.pack('<IIII', 1 + k // 1000, (k % 1000) * 1000, len(fr), len(fr)) + fr)
PY
[ -s "$TMP/sums.pcap" ] || { echo "Bail out! could not write sums.pcap"; exit 1; }

files="$TMP/sums.pcap $(ls "$TMP"/tg*.pcap) $(sed 's|^\([^ ]*\) .*|'"$TMP"'/c/\1.pcap|' "$TMP/cases")"

# analyze FILE MODE: output, exit code and stderr into $TMP/out.MODE
analyze() {
	if [ "$2" = auto ]; then
		"$LK" analyze --json --details "$1" > "$TMP/out.$2" 2> "$TMP/err.$2"
	else
		LK_ANALYZE_THREADS=$2 "$LK" analyze --json --details "$1" > "$TMP/out.$2" 2> "$TMP/err.$2"
	fi
	echo $? >> "$TMP/out.$2"
}
n=0
for f in $files; do
	for m in 1 2 2stop auto; do analyze "$f" $m; done
	same=0
	for m in 2 2stop auto; do
		cmp -s "$TMP/out.1" "$TMP/out.$m" && cmp -s "$TMP/err.1" "$TMP/err.$m" || same=1
	done
	[ $same -eq 0 ] || diag "$(basename "$f"): outputs differ"
	ok $same "$(basename "$f"): analyze --json --details the same with the observers called directly, pipelined, pipelined then direct, and by default"
	n=$((n + 1))
done

# the checksum evidence was really measured on sums.pcap
analyze "$TMP/sums.pcap" 2
grep -q 'b->a 341/1024 partial (verified 128 valid, 128 bad)' "$TMP/out.2"
ok $? "sums.pcap: checksums verified through the pipeline (256 of the ACK direction: 128 valid, 128 bad)"

# with a database: the same rows
dbrows() {
	sqlite3 "$1" "SELECT * FROM flows ORDER BY flow_id; SELECT * FROM ack_classes;
		SELECT * FROM bwe; SELECT count(*), sum(seq), sum(ack), sum(len), sum(ts_ns % 1000000007), sum(win) FROM packets;" | cksum
}
for f in "$TMP/sums.pcap" "$TMP/tg4-1.pcap" "$TMP/tg6-2.pcap"; do
	for m in 1 2; do
		rm -f "$TMP/p$m.db"
		LK_ANALYZE_THREADS=$m "$LK" analyze -q --db "$TMP/p$m.db" "$f" > /dev/null 2>&1 || echo fail > "$TMP/p$m.db"
	done
	[ "$(dbrows "$TMP/p1.db")" = "$(dbrows "$TMP/p2.db")" ]
	ok $? "$(basename "$f"): --db rows the same with the observers pipelined"
done
done_testing
