/* lib/file.h - read a whole (small) file into memory: the one slurp helper;
 * and the one `mkdir -p`.
 *
 * The buffer is malloc'd and NUL-terminated (the file may itself hold NULs:
 * *len says how many bytes were read). Files larger than `max` bytes (0 = 64
 * MiB) are an error, so a runaway file cannot eat the memory. */
#ifndef LK_FILE_H
#define LK_FILE_H

#include "lib/err.h"

#include <stddef.h>

/* NULL with e filled ("PATH: reason"); errno is that of the failure
 * (ENOENT for a missing file, EFBIG for one over max). */
char *lk_file_read(const char *path, size_t max, size_t *len, struct lk_err *e);
/* The same from an open fd, read from its current offset to the end; `what`
 * names it in errors. The fd stays open. */
char *lk_fd_read(int fd, const char *what, size_t max, size_t *len, struct lk_err *e);

/* Make path and its missing parents (mode 0755); an existing one is fine.
 * -1 with e ("DIR: cannot create directory: reason") and errno set. */
int lk_mkdirs(const char *path, struct lk_err *e);

#endif
