# tests/tcptrace.sh - compare `lrokit analyze --json` with `tcptrace -l -n`
# (source it after tests/lib.sh):
#   compare FILE LABEL   one TAP line: every counter of every flow, both
#                        directions, and the endpoints equal tcptrace's
#   total FILE NAME      a counter summed over flows and directions (tcptrace)
#   NCMP                 counter values compared so far
# FILE may be anything lrokit reads; tcptrace reads TT_FILE if set (the same
# capture in a form tcptrace reads, e.g. decompressed).
COUNTERS="total_packets ack_pkts pure_acks sack_pkts dsack_pkts max_sack_blocks
unique_bytes data_pkts data_bytes rexmt_data_pkts rexmt_data_bytes zwnd_probe_pkts
outoforder_pkts pushed_data_pkts syn_pkts fin_pkts rst_pkts trunc_bytes trunc_pkts"

# tcptrace -l -n FILE -> lines "CONN DIR NAME VALUE" (CONN 0-based, DIR 0 = a->b)
# and "CONN ep A B" for the endpoints.
tt_lines() {
	tcptrace -l -n "$1" 2>/dev/null | awk '
	BEGIN {
		m["total packets"] = "total_packets"; m["resets sent"] = "rst_pkts"
		m["ack pkts sent"] = "ack_pkts"; m["pure acks sent"] = "pure_acks"
		m["sack pkts sent"] = "sack_pkts"; m["dsack pkts sent"] = "dsack_pkts"
		m["max sack blks/ack"] = "max_sack_blocks"; m["unique bytes sent"] = "unique_bytes"
		m["actual data pkts"] = "data_pkts"; m["actual data bytes"] = "data_bytes"
		m["rexmt data pkts"] = "rexmt_data_pkts"; m["rexmt data bytes"] = "rexmt_data_bytes"
		m["zwnd probe pkts"] = "zwnd_probe_pkts"; m["outoforder pkts"] = "outoforder_pkts"
		m["pushed data pkts"] = "pushed_data_pkts"; m["truncated data"] = "trunc_bytes"
		m["truncated packets"] = "trunc_pkts"
	}
	/^TCP connection [0-9]+:/ { c++; nh = 0; rst = 0; next }
	/^\thost [a-z]+:/ { h[nh++] = $3; if (nh == 2) print c - 1, "ep", h[0], h[1]; next }
	c && /^     [A-Za-z]/ {
		line = $0
		for (side = 0; side < 2; side++) {
			if (!match(line, /[A-Za-z][A-Za-z0-9\/ ]*:[ \t]+[^ \t]+/)) break
			seg = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
			sub(/^[ \t]+(bytes|pkts|times|secs|ms)/, "", line)
			lab = seg; sub(/:[ \t]+[^ \t]+$/, "", lab)
			val = seg; sub(/^.*:[ \t]+/, "", val)
			if (lab == "SYN/FIN pkts sent") {
				split(val, sf, "/")
				print c - 1, side, "syn_pkts", sf[1]; print c - 1, side, "fin_pkts", sf[2]
			} else if (lab in m) {
				print c - 1, side, m[lab], val
				# "resets sent" is printed only when non-zero: default 0
				if (lab == "total packets") print c - 1, side, "rst_pkts", 0
			}
		}
	}' | awk '{ k = $1 " " $2 " " $3; v[k] = $4; if (!(k in o)) { o[k] = 1; ord[n++] = k } }
		END { for (i = 0; i < n; i++) print ord[i], v[ord[i]] }'
}

# lrokit analyze --json FILE -> the same lines.
lk_lines() {
	"$LK" analyze --json -q "$1" 2>/dev/null |
	LC_ALL=C grep -oE '"(a|b)":"[^"]*"|"(a2b|b2a)":\{|"[a-z_0-9]+":[0-9]+' | awk -v names="$COUNTERS" '
	BEGIN { n = split(names, nm, /[ \n]+/); for (i = 1; i <= n; i++) want[nm[i]] = 1; f = -1 }
	/^"a":"/ { f++; d = -1; a = substr($0, 6, length($0) - 6); next }
	/^"b":"/ { b = substr($0, 6, length($0) - 6); print f, "ep", a, b; next }
	/^"a2b":/ { d = 0; next }
	/^"b2a":/ { d = 1; next }
	{
		split($0, kv, ":"); k = kv[1]; gsub(/"/, "", k)
		if (f >= 0 && d >= 0 && (k in want) && !((f, d, k) in seen)) { seen[f, d, k] = 1; print f, d, k, kv[2] }
	}'
}

# compare FILE LABEL: one TAP line; on mismatch, the differing lines.
NCMP=0
compare() {
	local f=$1 label=$2
	# endpoints: no brackets, no leading zeros in IPv6 groups (tcptrace
	# prints fd77::0001)
	tt_lines "${TT_FILE:-$f}" | sed -E '/ ep /{s/[][]//g; s/:0+([0-9a-f])/:\1/g}' | sort >"$TMP/tt"
	lk_lines "$f" | sed -E '/ ep /{s/[][]//g; s/:0+([0-9a-f])/:\1/g}' | sort >"$TMP/lk"
	local nflows ncnt
	nflows=$(grep -c ' ep ' "$TMP/tt")
	ncnt=$(grep -vc ' ep ' "$TMP/tt")
	if [ "$nflows" -gt 0 ] && [ "$ncnt" -eq $((nflows * 2 * 19)) ] && cmp -s "$TMP/tt" "$TMP/lk"; then
		ok 0 "$label: $nflows flows x 2 directions x 19 counters equal tcptrace ($ncnt values)"
		NCMP=$((NCMP + ncnt))
	else
		ok 1 "$label: lrokit analyze --json equals tcptrace -l -n"
		diag "flows $nflows, tcptrace values $ncnt; diff (< tcptrace, > lrokit):"
		diff "$TMP/tt" "$TMP/lk" | head -20 | sed 's/^/# /'
	fi
}

# total of counter NAME over all flows and directions of FILE (tcptrace's view)
total() { tt_lines "$1" | awk -v k="$2" '$3 == k { s += $4 } END { print s + 0 }'; }


# lk_keyed FILE...: lrokit's counters keyed by the endpoints instead of the
# connection's index ("A B DIR NAME VALUE", sorted; a reused 4-tuple keeps
# one line per connection): the same connections in another order (a merge
# of two captures) give the same lines.
lk_keyed() {
	for f in "$@"; do
		lk_lines "$f" | awk '$2 == "ep" { ep[$1] = $3 " " $4; next } { v[NR] = $0; c[NR] = $1 }
			END { for (i in v) { sub(/^[0-9]+ /, "", v[i]); print ep[c[i]], v[i] } }'
	done | sort
}
