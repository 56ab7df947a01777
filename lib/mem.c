/* lib/mem.c - the heap in transparent huge pages. See mem.h. */
#define _DEFAULT_SOURCE
#include "lib/mem.h"

#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)
#define LINE ((size_t)64)

void *lk_zalloc_lines(size_t n)
{
	if (n > SIZE_MAX - LINE)
		return NULL;
	size_t sz = n ? (n + LINE - 1) & ~(LINE - 1) : LINE;
	void *p = aligned_alloc(LINE, sz);
	if (p)
		memset(p, 0, sz);
	return p;
}

int lk_mem_heap_hugepages(size_t bytes)
{
	if (bytes < HUGE_PAGE || bytes > INT_MAX / 2)
		return -1;
	/* glibc's tunables glibc.malloc.{arena_max,mmap_threshold,trim_threshold,
	 * top_pad}: one arena, so that the blocks of every thread come from the
	 * heap advised below */
	if (mallopt(M_ARENA_MAX, 1) != 1 || mallopt(M_MMAP_THRESHOLD, (int)bytes) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, (int)(2 * bytes)) != 1 || mallopt(M_TOP_PAD, (int)bytes) != 1)
		return -1;
	char *lo = sbrk(0);
	/* more than the heap has free: it grows by this plus `bytes`. malloc
	 * writes the header of the free space after the block at its end, and
	 * a 2 MiB range with one page touched before madvise stays in 4 KiB
	 * pages: a long block puts that page far from the start. */
	char *x = malloc(bytes - HUGE_PAGE);
	char *hi = sbrk(0);
	uintptr_t xa = (uintptr_t)x;
	free(x); /* kept: below the trim threshold */
	/* x starts in the heap's free top, which may begin before lo */
	if (!xa || lo == (char *)-1 || hi == (char *)-1 || hi <= lo || xa >= (uintptr_t)hi)
		return -1;
	uintptr_t a = ((uintptr_t)lo + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t b = (uintptr_t)hi & ~(HUGE_PAGE - 1);
	if (b <= a || madvise((void *)a, b - a, MADV_HUGEPAGE) != 0)
		return -1;
	/* x's block went back to the top of the heap, from which the next
	 * blocks are cut in order: a spacer up to the first huge page, so
	 * that they land in huge pages, not in the 4 KiB pages before it (up
	 * to 2 MiB: more than a short run's whole heap). Held for good; only
	 * its first page is ever touched. */
	static void *spacer;
	if (!spacer && xa + 4096 < a)
		spacer = malloc(a - xa - 4 * sizeof(size_t));
	return 0;
}
