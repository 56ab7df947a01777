/* mkpcap DIR - write the malformed-capture corpus used by the bad-input
 * tests into DIR: one file per case, named CASE.pcap (see `cases` below).
 * Each good frame is a valid Ethernet/IPv4/TCP segment of a small flow;
 * each bad case breaks exactly one thing. Prints "CASE EXPECT" lines:
 * EXPECT is "error", "warn" or "ok". */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void w32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void w16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }

static void file_hdr(FILE *f, uint32_t linktype, uint32_t snap)
{
	w32(f, 0xa1b2c3d4); w16(f, 2); w16(f, 4); w32(f, 0); w32(f, 0); w32(f, snap); w32(f, linktype);
}

static void rec(FILE *f, uint32_t sec, const uint8_t *d, uint32_t caplen, uint32_t len)
{
	w32(f, sec); w32(f, 0); w32(f, caplen); w32(f, len);
	fwrite(d, 1, caplen, f);
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1) s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Build Ethernet+IPv4+TCP. opts/olen: TCP options (olen multiple of 4 unless testing). */
static size_t frame(uint8_t *b, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
		    const uint8_t *opts, unsigned olen, unsigned plen)
{
	memset(b, 0, 14 + 20 + 60 + plen);
	b[12] = 0x08; b[13] = 0x00;
	uint8_t *ip = b + 14;
	unsigned thl = 20 + olen;
	ip[0] = 0x45; ip[8] = 64; ip[9] = 6;
	uint16_t tot = htons((uint16_t)(20 + thl + plen)); memcpy(ip + 2, &tot, 2);
	uint8_t a[4] = {10, 0, 0, 1}, c[4] = {10, 0, 0, 2};
	memcpy(ip + 12, dir ? c : a, 4); memcpy(ip + 16, dir ? a : c, 4);
	uint16_t x = htons(csum(ip, 20, 0)); memcpy(ip + 10, &x, 2);
	uint8_t *t = ip + 20;
	uint16_t sp = htons(dir ? 80 : 40000), dp = htons(dir ? 40000 : 80);
	memcpy(t, &sp, 2); memcpy(t + 2, &dp, 2);
	uint32_t s = htonl(seq), k = htonl(ack); memcpy(t + 4, &s, 4); memcpy(t + 8, &k, 4);
	t[12] = (uint8_t)((thl / 4) << 4); t[13] = flags; t[14] = 0xff; t[15] = 0xff;
	if (olen) memcpy(t + 20, opts, olen);
	memset(t + thl, 'x', plen);
	return 14 + 20 + thl + plen;
}

/* a 3-packet good exchange: SYN, SYN/ACK, data */
static void good(FILE *f)
{
	uint8_t b[2000];
	size_t n = frame(b, 0, 1000, 0, 0x02, NULL, 0, 0); rec(f, 1, b, (uint32_t)n, (uint32_t)n);
	n = frame(b, 1, 5000, 1001, 0x12, NULL, 0, 0); rec(f, 1, b, (uint32_t)n, (uint32_t)n);
	n = frame(b, 0, 1001, 5001, 0x18, NULL, 0, 100); rec(f, 2, b, (uint32_t)n, (uint32_t)n);
}

static FILE *open_case(const char *dir, const char *name, const char *expect)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s.pcap", dir, name);
	FILE *f = fopen(p, "wb");
	if (!f) { perror(p); exit(1); }
	printf("%s %s\n", name, expect);
	return f;
}

int main(int argc, char **argv)
{
	if (argc != 2) { fprintf(stderr, "usage: mkpcap DIR\n"); return 2; }
	const char *d = argv[1];
	uint8_t b[2000];
	size_t n;
	FILE *f;

	f = open_case(d, "empty", "error"); fclose(f);
	f = open_case(d, "not-a-capture", "error"); fputs("this is not a capture file\n", f); fclose(f);
	f = open_case(d, "trunc-file-header", "error"); w32(f, 0xa1b2c3d4); w16(f, 2); fclose(f);
	f = open_case(d, "unknown-linktype", "error"); file_hdr(f, 147, 65535); good(f); fclose(f);
	f = open_case(d, "good", "ok"); file_hdr(f, 1, 65535); good(f); fclose(f);

	f = open_case(d, "trunc-last-record", "warn"); file_hdr(f, 1, 65535); good(f);
	n = frame(b, 0, 1101, 5001, 0x10, NULL, 0, 100);
	w32(f, 3); w32(f, 0); w32(f, (uint32_t)n); w32(f, (uint32_t)n); fwrite(b, 1, n / 2, f); fclose(f);

	f = open_case(d, "trunc-last-record-header", "warn"); file_hdr(f, 1, 65535); good(f);
	w32(f, 3); w32(f, 0); fclose(f);

	f = open_case(d, "absurd-caplen", "error"); file_hdr(f, 1, 65535); good(f);
	w32(f, 3); w32(f, 0); w32(f, 0x7ffffff0u); w32(f, 0x7ffffff0u); fwrite(b, 1, 64, f); fclose(f);

	f = open_case(d, "non-tcp", "warn"); file_hdr(f, 1, 65535);
	n = frame(b, 0, 1, 1, 0x10, NULL, 0, 10); b[14 + 9] = 17; /* UDP */
	rec(f, 1, b, (uint32_t)n, (uint32_t)n); rec(f, 2, b, (uint32_t)n, (uint32_t)n); fclose(f);

	static const struct { const char *name; uint8_t o[8]; unsigned len; } bad_opts[] = {
		{"tcpopt-len0", {2, 0, 0, 0}, 4},           /* MSS with length 0 */
		{"tcpopt-len1", {8, 1, 1, 1}, 4},           /* TS with length 1 */
		{"tcpopt-past-header", {1, 1, 8, 10}, 4},   /* TS claims 10 bytes, 2 left */
	};
	for (size_t i = 0; i < 3; i++) {
		f = open_case(d, bad_opts[i].name, "warn"); file_hdr(f, 1, 65535); good(f);
		n = frame(b, 1, 5001, 1101, 0x10, bad_opts[i].o, bad_opts[i].len, 0);
		rec(f, 3, b, (uint32_t)n, (uint32_t)n); fclose(f);
	}

	f = open_case(d, "tcp-doff-lt5", "warn"); file_hdr(f, 1, 65535); good(f);
	n = frame(b, 1, 5001, 1101, 0x10, NULL, 0, 0); b[14 + 20 + 12] = 4 << 4;
	rec(f, 3, b, (uint32_t)n, (uint32_t)n); fclose(f);

	f = open_case(d, "ip-ihl-lt5", "warn"); file_hdr(f, 1, 65535); good(f);
	n = frame(b, 1, 5001, 1101, 0x10, NULL, 0, 0); b[14] = 0x44;
	rec(f, 3, b, (uint32_t)n, (uint32_t)n); fclose(f);

	f = open_case(d, "ip-totlen-short", "warn"); file_hdr(f, 1, 65535); good(f);
	n = frame(b, 1, 5001, 1101, 0x10, NULL, 0, 0); b[14 + 2] = 0; b[14 + 3] = 30;
	rec(f, 3, b, (uint32_t)n, (uint32_t)n); fclose(f);
	return 0;
}
