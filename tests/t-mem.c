/* lib/mem: lk_mem_heap_hugepages puts the heap's blocks in transparent huge
 * pages: the heap then holds huge pages, and touching 6 MiB of fresh blocks
 * costs a few page faults, not one per 4 KiB. A child that does the same
 * without the call is the control (no huge pages where the kernel's THP
 * setting is "madvise"). lk_zalloc_lines: zeroed blocks of whole cache
 * lines, which no other block shares (written to their rounded size, so
 * that AddressSanitizer sees a block shorter than that). */
#include "lib/mem.h"
#include "tests/tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

/* kB of AnonHugePages in the [heap] mappings of this process */
static long heap_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char l[512];
	bool heap = false;
	long kb = 0, v;
	while (fgets(l, sizeof l, f)) {
		if (strchr(l, '-') && strstr(l, " rw") && strchr(l, ':'))
			heap = strstr(l, "[heap]") != NULL;
		else if (heap && sscanf(l, "AnonHugePages: %ld kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* 6 MiB in 1536 blocks of 4 KiB, every byte written; faults taken */
static long touch_blocks(void)
{
	long f0 = minflt();
	for (int i = 0; i < 1536; i++) {
		char *p = malloc(4096);
		if (!p)
			return -1;
		memset(p, i, 4096);
	}
	return minflt() - f0;
}

static void zalloc_lines(void)
{
	static const size_t sz[] = {0, 1, 8, 63, 64, 65, 200, 4095, 4097, 100000};
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		size_t r = sz[i] ? (sz[i] + 63) / 64 * 64 : 64;
		/* between two ordinary blocks, as malloc would pack them */
		char *before = malloc(24);
		unsigned char *p = lk_zalloc_lines(sz[i]);
		char *after = malloc(24);
		bool zero = p != NULL;
		for (size_t k = 0; p && k < r; k++)
			zero &= p[k] == 0;
		ok(p && (uintptr_t)p % 64 == 0 && zero,
		   "lk_zalloc_lines(%zu): aligned to 64, %zu bytes zeroed", sz[i], r);
		if (p)
			memset(p, 0xa5, r); /* all of it is ours */
		uintptr_t lo = (uintptr_t)p / 64, hi = ((uintptr_t)p + r - 1) / 64;
		bool alone = p && before && after &&
			     ((uintptr_t)before + 23) / 64 < lo && (uintptr_t)before / 64 < lo &&
			     ((uintptr_t)after / 64 > hi || ((uintptr_t)after + 23) / 64 < lo);
		ok(alone, "lk_zalloc_lines(%zu): no line shared with the blocks malloc'd around it", sz[i]);
		free(before);
		free(after);
		free(p);
	}
	ok(lk_zalloc_lines(SIZE_MAX) == NULL && lk_zalloc_lines(SIZE_MAX - 10) == NULL,
	   "lk_zalloc_lines: sizes that cannot be rounded up: NULL");
}

int main(void)
{
	zalloc_lines();
	char mode[64] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (!fgets(mode, sizeof mode, f))
			mode[0] = 0;
		fclose(f);
	}
	bool madv = strstr(mode, "[madvise]") != NULL, always = strstr(mode, "[always]") != NULL;
#ifdef ASAN
	ok(lk_mem_heap_hugepages(32u << 20) == -1, "under AddressSanitizer (its own malloc): -1");
	skip("AddressSanitizer: malloc is not glibc's heap (the -1 return is checked instead)");
	return done_testing();
#endif
	if (!madv && !always) {
		char why[128];
		mode[strcspn(mode, "\n")] = 0;
		snprintf(why, sizeof why, "THP off: the kernel's transparent_hugepage/enabled is '%s'", mode);
		skip_all(why);
	}
	ok(lk_mem_heap_hugepages(1u << 20) == -1, "less than a huge page: refused (-1)");
	/* the control: a child without the call */
	int fd[2];
	if (pipe(fd) != 0)
		return 1;
	pid_t c = fork();
	if (c == 0) {
		long n = touch_blocks(), kb = heap_huge_kb();
		char b[64];
		int len = snprintf(b, sizeof b, "%ld %ld", n, kb);
		if (write(fd[1], b, (size_t)len) != len)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	char b[64] = "";
	long cn = -1, ckb = -1;
	if (read(fd[0], b, sizeof b - 1) > 0)
		sscanf(b, "%ld %ld", &cn, &ckb);
	waitpid(c, NULL, 0);
	diag("control (no call): %ld faults, %ld kB of huge pages in the heap", cn, ckb);
	if (madv)
		ok(ckb == 0 && cn > 1000, "control: THP 'madvise', no call: 4 KiB pages, a fault per page");

	ok(lk_mem_heap_hugepages(32u << 20) == 0, "lk_mem_heap_hugepages(32 MiB)");
	long n = touch_blocks(), kb = heap_huge_kb();
	diag("after the call: %ld faults, %ld kB of huge pages in the heap", n, kb);
	ok(kb >= 2048, "the heap holds huge pages (%ld kB)", kb);
	ok(n >= 0 && n < 200, "6 MiB of fresh blocks touched with %ld page faults (< 200; 1536 with 4 KiB pages)", n);
	return done_testing();
}
