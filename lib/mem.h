/* lib/mem.h - the process's heap in transparent huge pages.
 *
 * On a VM whose page faults are expensive (here each first touch of a 4 KiB
 * page costs ~14-20 us: the hypervisor shadows the guest's page tables), the
 * faults of a short program that grows its heap to a few MB are a measurable
 * share of its run: ~560 of the ~970 faults of `lrokit analyze` on the
 * 1.7 M-packet capture of `make perf-analyze`. A 2 MiB huge page is one
 * fault.
 *
 *   lk_mem_heap_hugepages(32 << 20);   // once, early, before threads start
 *
 * And blocks of whole cache lines of their own (lk_zalloc_lines), for state
 * that two threads write at once.
 *
 * Huge pages only where the kernel's THP setting is "madvise" or "always"; a no-op
 * (returning -1) where malloc is not glibc's heap (under AddressSanitizer,
 * or when the heap cannot grow by brk). No function prints or exits.
 */
#ifndef LK_MEM_H
#define LK_MEM_H

#include <stddef.h>

/* Make glibc's malloc serve every allocation below `bytes` from one heap
 * (one arena for all threads; no block of its own by mmap; freed memory
 * kept up to 2 x bytes), grow that heap by `bytes` at once, and advise the
 * kernel to back it with transparent huge pages (MADV_HUGEPAGE). The heap
 * grown later than this call is left to 4 KiB pages. Resident memory grows
 * in 2 MiB steps where huge pages are used. Returns 0, or -1 when it could
 * not (nothing is changed then, or only malloc's thresholds). */
int lk_mem_heap_hugepages(size_t bytes);

/* A zeroed block of n bytes, aligned to a cache line (64 bytes) and
 * rounded up to whole lines; free() it. NULL when out of memory. For state
 * that one thread writes for every packet while another thread writes its
 * own (analyzers/pipeline.h: the reading thread's connections and input,
 * the observers' per-connection state): malloc packs blocks of both
 * threads side by side (one arena, above), and a line holding the ends of
 * two threads' blocks travels between their CPUs at every write. Measured
 * on this project's 2-vCPU test machine: the pipeline started mid-capture,
 * with the connection it tracks beside that connection's ACK state, ran at
 * ~98 ns a segment against ~63 ns with each in lines of its own. */
void *lk_zalloc_lines(size_t n);

#endif
