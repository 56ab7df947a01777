/* bench/lro-perf.c - lro_ref speed over in-memory frames, and a capture
 * generator; a benchmark program ($(BUILD)/bench/lro-perf) run by
 * bench/perf-lro.sh.
 *
 *   lro-perf run POLICY FLOWS [--trust-csum] [--zero-copy] [--seconds S | --count N] [--pool N] [--cpu C]
 *       POOL (--pool, default 512, multiple of 64) prebuilt 1514-byte frames (MSS 1448, NOP,NOP,TS options, valid
 *       checksums) of FLOWS flows interleaved round-robin, fed over and over
 *       with a poll end every 64 frames (NAPI weight), for S seconds (default
 *       1) or, with --count, for at least N frames (a multiple of 16 x POOL;
 *       deterministic work, for instruction counts under callgrind: the
 *       warm-up pass adds POOL frames). --zero-copy: the engine's zero-copy
 *       mode (the pool stays valid, as RX buffers until the poll end); the
 *       sink then reads the last payload byte from the last fragment. Prints
 *       one line:
 *       policy flows verify|trust ns_per_pkt pkts_per_s lro_rate rss_kb_start rss_kb_end wall_ns_per_pkt copy|zero-copy smt
 *       where ns_per_pkt is the thread's CPU time per frame (the machine is
 *       shared: time spent descheduled is not the engine's),
 *       wall_ns_per_pkt the elapsed time per frame and smt the SMT probe
 *       (below) taken before and after the timed loop (the larger).
 *       --cpu C: run on CPU C only (sched_setaffinity).
 *   lro-perf probe [--cpu C]
 *       prints the SMT probe: the CPU time of a loop bound by instruction
 *       issue (8 independent add/xor chains) divided by that of a loop bound
 *       by latency (one multiply chain). The hardware threads of a core share
 *       its issue slots but not their latency, so the ratio rises (~1.5x on
 *       the project machine, a VM) while the core's other hardware thread is
 *       busy - in a VM with another tenant, invisible to the guest - and
 *       does not depend on the clock. bench/perf-lro.sh uses it to tell runs
 *       that had the core to themselves from runs that shared it.
 *   lro-perf gen FILE MBYTES
 *       writes an Ethernet pcap of >= MBYTES MiB of synthetic TCP traffic: 8
 *       flows (IPv4 and IPv6) in interleaved bursts at ~10 Gbit/s spacing, with
 *       the receiver's pure ACKs, for `lrokit replay` benchmarks.
 */
#include "lib/clock.h"
#include "lro_ref/lro.h"
#include "tests/helpers/lro-cases.h"

#include <pcap/pcap.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}

static uint64_t sink_bytes;
static void sink(void *ctx, const struct lro_out *o)
{
	(void)ctx;
	/* touch the frame's last byte, as a consumer would */
	const struct lro_frag *lf = o->nfrags ? &o->frags[o->nfrags - 1] : NULL;
	sink_bytes += o->len + (lf ? lf->p[lf->len - 1] : o->frame[o->len - 1]);
}

/* The SMT probe (see the top of this file), about 5 ms: the fastest of 4
 * passes of each loop (a pass hit by an interrupt does not count). */
static double smt_probe(void)
{
	enum { N = 1000000 };
	uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, x = 1, best_issue = UINT64_MAX,
		 best_lat = UINT64_MAX;
	for (int pass = 0; pass < 4; pass++) {
		uint64_t t0 = lk_clock_ns(CLOCK_THREAD_CPUTIME_ID);
		for (uint64_t i = 0; i < N; i++) {
			a += i; b ^= i; c += b; d ^= a; e += i ^ 3; f ^= e; g += f; h ^= g;
			__asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f), "+r"(g), "+r"(h));
		}
		uint64_t t1 = lk_clock_ns(CLOCK_THREAD_CPUTIME_ID);
		for (uint64_t i = 0; i < N / 2; i++) {
			x = x * 6364136223846793005ull + i;
			__asm__ volatile("" : "+r"(x));
		}
		uint64_t t2 = lk_clock_ns(CLOCK_THREAD_CPUTIME_ID);
		if (t1 - t0 < best_issue)
			best_issue = t1 - t0;
		if (t2 - t1 < best_lat)
			best_lat = t2 - t1;
	}
	sink_bytes += a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ x;
	return best_lat ? (double)best_issue / (double)best_lat : 0;
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return cpu < 0 || cpu >= CPU_SETSIZE || sched_setaffinity(0, sizeof set, &set) ? -1 : 0;
}

static uint8_t *mkseg(int fam, int flow, uint32_t seq, uint32_t plen, uint32_t ack, uint8_t flags,
		      uint32_t tsval, const uint8_t *payload, uint32_t *len)
{
	struct lc_spec s;
	lc_spec_init(&s, fam);
	s.sport = (uint16_t)(40000 + flow);
	s.seq_off = seq;
	s.ack_off = ack;
	s.plen = plen;
	s.flags = flags;
	s.payload = payload;
	lc_ts_opt(&s, tsval, 0);
	lc_put32(s.tcpopt + 8, 12345);
	return lc_build(&s, len);
}

static int run(enum lro_policy pol, int flows, bool trust, bool zc, double seconds, int POOL, uint64_t count)
{
	enum { MSS = 1448 };
	static uint8_t payload[MSS + 512];
	for (unsigned i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	uint8_t **fr = malloc(POOL * sizeof *fr);
	uint32_t *len = malloc(POOL * sizeof *len);
	for (int i = 0; i < POOL; i++) {
		int f = i % flows, k = i / flows;
		fr[i] = mkseg(4, f, (uint32_t)k * MSS, MSS, 1, 0, 1000, payload + (k & 255), &len[i]);
	}
	struct lro_config c;
	lro_config_default(&c, pol);
	c.verify_csum = !trust;
	c.zero_copy = zc;
	c.table_size = flows > 64 ? (unsigned)flows : 64;
	struct lro *l = lro_new(&c, sink, NULL);
	/* warm-up pass */
	for (int i = 0; i < POOL; i++) {
		lro_rx(l, fr[i], len[i], (uint64_t)i);
		if ((i & 63) == 63)
			lro_poll_end(l, (uint64_t)i);
	}
	double smt0 = smt_probe();
	long rss0 = rss_kb();
	uint64_t n = 0, t0 = lk_clock_ns(CLOCK_MONOTONIC), c0 = lk_clock_ns(CLOCK_THREAD_CPUTIME_ID), t1, ts = 0;
	do {
		for (int rep = 0; rep < 16; rep++)
			for (int i = 0; i < POOL; i++) {
				lro_rx(l, fr[i], len[i], ts++);
				if ((i & 63) == 63)
					lro_poll_end(l, ts);
			}
		n += 16 * POOL;
		t1 = lk_clock_ns(CLOCK_MONOTONIC);
	} while (count ? n < count : (double)(t1 - t0) < seconds * 1e9);
	lro_poll_end(l, ts);
	long rss1 = rss_kb();
	uint64_t c1 = lk_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	double smt1 = smt_probe();
	double ns = (double)(c1 - c0) / (double)n, wall = (double)(t1 - t0) / (double)n;
	printf("%s %d %s %.2f %.0f %.2f %ld %ld %.2f %s %.3f\n", lro_policy_name(pol), flows, trust ? "trust" : "verify",
	       ns, 1e9 / ns, lro_rate(lro_stats(l)), rss0, rss1, wall, zc ? "zero-copy" : "copy", smt0 > smt1 ? smt0 : smt1);
	lro_free(l);
	for (int i = 0; i < POOL; i++)
		free(fr[i]);
	free(fr);
	free(len);
	return 0;
}

static int gen(const char *path, unsigned long mbytes)
{
	pcap_t *d = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
	pcap_dumper_t *w = d ? pcap_dump_open(d, path) : NULL;
	if (!w) {
		fprintf(stderr, "lro-perf: cannot write %s\n", path);
		return 1;
	}
	static uint8_t payload[1448 + 4096];
	for (unsigned i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 13 + 1);
	enum { NF = 8, MSS = 1448 };
	uint32_t seq[NF] = {0};
	uint64_t bytes = 0, ts = 1000000000ull, limit = (uint64_t)mbytes << 20;
	uint32_t rs = 12345;
	while (bytes < limit) {
		int f = (int)((rs >> 16) % NF);
		rs = rs * 1103515245u + 12345u;
		int burst = 4 + (int)((rs >> 16) % 28);
		rs = rs * 1103515245u + 12345u;
		int fam = f < 6 ? 4 : 6;
		for (int b = 0; b < burst; b++) {
			uint32_t len;
			uint8_t fl = (b == burst - 1 && (rs & 0x10000)) ? 0x08 : 0;
			uint8_t *fr = mkseg(fam, f, seq[f], MSS, 1, fl, 1000 + (uint32_t)(ts >> 20),
					    payload + (seq[f] & 4095), &len);
			seq[f] += MSS;
			struct pcap_pkthdr h = {.ts = {(time_t)(ts / 1000000000u), (suseconds_t)(ts % 1000000000u)},
						.caplen = len, .len = len};
			pcap_dump((u_char *)w, &h, fr);
			free(fr);
			bytes += len + 16;
			ts += 1230;
			if (b % 2 == 1) { /* the receiver's delayed ACK (reverse direction) */
				struct lc_spec s;
				lc_spec_init(&s, fam);
				s.sport = 8000; /* crude reverse flow: swapped port only */
				s.plen = 0;
				s.seq_off = 1;
				s.ack_off = seq[f];
				uint8_t *a = lc_build(&s, &len);
				h.caplen = h.len = len;
				pcap_dump((u_char *)w, &h, a);
				free(a);
				bytes += len + 16;
			}
		}
		ts += 20000 * ((rs >> 16) % 4); /* idle gaps end polls */
	}
	pcap_dump_close(w);
	pcap_close(d);
	return 0;
}

/* --cpu C anywhere in argv: pin; -1 on a bad CPU. */
static int opt_cpu(int argc, char **argv)
{
	for (int i = 2; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--cpu"))
			return pin_cpu(atoi(argv[i + 1]));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "probe")) {
		if (opt_cpu(argc, argv) < 0)
			return 2;
		printf("%.3f\n", smt_probe());
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "run")) {
		enum lro_policy p;
		if (lro_policy_parse(argv[2], &p) < 0)
			return 2;
		bool trust = false, zc = false;
		double secs = 1.0;
		int pool = 512;
		uint64_t count = 0;
		for (int i = 4; i < argc; i++) {
			if (!strcmp(argv[i], "--trust-csum"))
				trust = true;
			else if (!strcmp(argv[i], "--zero-copy"))
				zc = true;
			else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
				secs = atof(argv[++i]);
			else if (!strcmp(argv[i], "--pool") && i + 1 < argc)
				pool = atoi(argv[++i]);
			else if (!strcmp(argv[i], "--count") && i + 1 < argc)
				count = strtoull(argv[++i], NULL, 10);
			else if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
				i++; /* opt_cpu */
		}
		if (pool < 64 || pool % 64 || atoi(argv[3]) < 1 || opt_cpu(argc, argv) < 0)
			return 2;
		return run(p, atoi(argv[3]), trust, zc, secs, pool, count);
	}
	if (argc == 4 && !strcmp(argv[1], "gen"))
		return gen(argv[2], strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: lro-perf run linux|inet_lro FLOWS [--trust-csum] [--zero-copy] [--seconds S | --count N] [--pool N] [--cpu C]\n"
			"       lro-perf probe [--cpu C]\n"
			"       lro-perf gen FILE MBYTES\n");
	return 2;
}
