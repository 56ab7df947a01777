/* t-lro-csum: lro_ref's checksum module (lro_ref/csum.h) at every SIMD level
 * the CPU has, against a byte-by-byte RFC 1071 sum: the sum-only and the
 * copy+sum passes for every length 0..300 and some large ones (a full
 * 64 KiB aggregate and beyond), every source alignment within a 64-byte line
 * and odd/even destinations (the copy must write exactly the len bytes);
 * the public lro_csum_add / lro_csum_fold; and the dispatcher: the level
 * lro_simd_level() picks is the highest the CPU has, capped by the
 * LRO_SIMD_MAX environment variable (checked in child processes run with
 * LRO_SIMD_MAX=0, 1, 2 and junk). */
#include "lro_ref/csum.h"
#include "lro_ref/lro.h"
#include "tests/tap.h"

#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

/* The one's-complement sum of big-endian 16-bit words, folded (RFC 1071). */
static uint16_t ref_sum(const uint8_t *p, uint32_t len)
{
	uint64_t s = 0;
	for (uint32_t i = 0; i < len; i += 2)
		s += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static int cpu_level(void)
{
#ifdef LRO_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
		return LRO_SIMD_AVX512;
	if (__builtin_cpu_supports("avx2"))
		return LRO_SIMD_AVX2;
#endif
	return LRO_SIMD_SCALAR;
}

static const char *const level_name[] = {"scalar", "AVX2", "AVX-512"};

enum { BIG = 70000 + 128, EXT = (4 << 20) + 128 };

/* One level: every length/alignment case; returns the number of failures
 * and says the first one. */
static int check_level(enum lro_simd lv, const uint8_t *src0, uint8_t *dst0)
{
	static const uint32_t big[] = {1447, 1448, 4095, 4096, 8191, 65535, 65536, 65536 + 31, 70000};
	int bad = 0;
	for (int k = 0; k < 301 + (int)(sizeof big / sizeof big[0]); k++) {
		uint32_t len = k <= 300 ? (uint32_t)k : big[k - 301];
		for (unsigned al = 0; al < 64; al += len > 300 ? 7 : 1) {
			const uint8_t *src = src0 + al;
			uint16_t want = ref_sum(src, len);
			uint16_t got = fold16(be_of_native(csum_sum(lv, src, len)));
			/* the destination: odd or even, guarded by a byte on each side */
			uint8_t *dst = dst0 + 1 + (al & 1);
			memset(dst - 1, 0x5a, len + 2);
			uint16_t gotc = fold16(be_of_native(csum_copy(lv, dst, src, len)));
			bool copied = !memcmp(dst, src, len) && dst[-1] == 0x5a && dst[len] == 0x5a;
			if ((got != want || gotc != want || !copied) && !bad++)
				diag("%s: len %u at +%u: sum %#x, copy+sum %#x, want %#x%s", level_name[lv], len, al,
				     got, gotc, want, copied ? "" : "; copy wrong");
		}
	}
	return bad;
}

/* Child mode: print the dispatcher's choice. */
static int child_level(void)
{
	printf("%d\n", (int)lro_simd_level());
	return 0;
}

/* The level a child process picks with LRO_SIMD_MAX=env (NULL: unset). */
static int level_with_env(const char *env)
{
	int fd[2];
	if (pipe(fd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		if (env)
			setenv("LRO_SIMD_MAX", env, 1);
		else
			unsetenv("LRO_SIMD_MAX");
		execl("/proc/self/exe", "t-lro-csum", "--level", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	char buf[16] = {0};
	ssize_t n = read(fd[0], buf, sizeof buf - 1);
	close(fd[0]);
	int st;
	waitpid(pid, &st, 0);
	return n > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? atoi(buf) : -1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--level"))
		return child_level();
	uint8_t *src = malloc(BIG), *dst = malloc(BIG);
	if (!src || !dst)
		return 1;
	uint32_t r = 12345;
	for (uint32_t i = 0; i < BIG; i++) {
		r = r * 1103515245u + 12345u;
		src[i] = (uint8_t)(r >> 16);
	}
	/* extreme words (all 0xffff / all 0: the largest and smallest biased
	   SIMD lanes) over 64 KiB and 4 MiB (the rounds that empty the 32-bit
	   lanes before they overflow); all-ones data folds to 0xffff, never 0 */
	uint8_t *ones = malloc(EXT), *zeros = calloc(1, EXT), *edst = malloc(EXT);
	if (!ones || !zeros || !edst)
		return 1;
	memset(ones, 0xff, EXT);

	int top = cpu_level();
	diag("CPU level: %s; LRO_SIMD_MAX=%s", level_name[top], getenv("LRO_SIMD_MAX") ? getenv("LRO_SIMD_MAX") : "(unset)");
	for (int lv = 0; lv <= LRO_SIMD_AVX512; lv++) {
		if (lv > top) {
			ok(1, "# SKIP %s: not on this CPU", level_name[lv]);
			continue;
		}
		ok(check_level((enum lro_simd)lv, src, dst) == 0, "%s: sum and copy+sum = byte-by-byte sum, every length 0..300 "
		   "and 1447..70000, every alignment", level_name[lv]);
		int ext = 0;
		for (unsigned al = 0; al < 64; al += 9)
			for (uint32_t base = 70000; base <= 4u << 20; base += (4u << 20) - 70000) {
				uint32_t len = base - 2 * al; /* even: all-ones words only */
				enum lro_simd v = (enum lro_simd)lv;
				ext += fold16(be_of_native(csum_sum(v, ones + al, len))) != 0xffff;
				ext += fold16(be_of_native(csum_copy(v, edst, ones + al, len))) != 0xffff;
				ext += fold16(be_of_native(csum_sum(v, zeros + al, len))) != 0;
				ext += fold16(be_of_native(csum_copy(v, edst + 1, zeros + al, len))) != 0;
			}
		is_int(ext, 0, "%s: 70000 and 4 MiB of 0xff bytes sum to 0xffff (no lane overflow, never 0), "
		       "of zeros to 0", level_name[lv]);
	}

	/* public helpers: chained at even offsets = one sum */
	uint32_t s = lro_csum_add(0, src, 1000);
	s = lro_csum_add(s, src + 1000, 501);
	is_int(lro_csum_fold(s), ref_sum(src, 1501), "lro_csum_add chained at an even offset = one sum");
	is_int(lro_csum_fold(lro_csum_add(0, src + 3, 0)), 0, "lro_csum_add of nothing: 0");
	is_int(lro_csum_fold(lro_csum_add(0x12345, ones, 64)), lro_csum_fold(0x12345 + 0xffff),
	       "lro_csum_add adds to the given sum");

	/* the dispatcher */
	int cap = LRO_SIMD_MAX < top ? LRO_SIMD_MAX : top;
	is_int(level_with_env(NULL), cap, "LRO_SIMD_MAX unset: the CPU's level (%s)", level_name[cap]);
	for (int e = 0; e <= 2; e++) {
		char v[2] = {(char)('0' + e), 0};
		int want = e < cap ? e : cap;
		is_int(level_with_env(v), want, "LRO_SIMD_MAX=%d: %s", e, level_name[want]);
	}
	is_int(level_with_env("x"), cap, "LRO_SIMD_MAX=x (junk) is ignored");
	is_int(level_with_env("12"), cap, "LRO_SIMD_MAX=12 (junk) is ignored");
	free(src);
	free(dst);
	free(ones);
	free(zeros);
	free(edst);
	return done_testing();
}
