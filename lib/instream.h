/* lib/instream.h - the bytes of one capture, uncompressed, in one pass.
 *
 * The input is a file or, for the name "-", standard input. Compressed input
 * is recognised by its first bytes, not its name: gzip (zlib), zstd (libzstd)
 * and xz (liblzma) streams are decompressed as they are read, with no
 * temporary file; concatenated members/frames/streams are read as one.
 * Optionally the SHA-256 of the input's bytes AS STORED (the compressed bytes
 * of a compressed file: they identify the file) is computed on the way.
 *
 *   struct lk_instream *s; struct lk_err e;
 *   if (lk_instream_open(path, true, &s, &e) < 0) ...;  // e.msg: "PATH: why"
 *   while ((n = lk_instream_read(s, buf, sizeof buf)) > 0) ...;
 *   if (n < 0) ... lk_instream_why(s) ...;               // "gzip data truncated ..."
 *   lk_instream_sha256(s, hex, &e);
 *   lk_instream_close(s);
 *
 * A regular file of 1 MiB or more that is hashed or decompressed is read,
 * hashed and decompressed by a second thread into a ring of blocks while the
 * caller works on the previous ones (lk_instream_readahead starts that
 * thread later for any such file); anything else is read in the calling
 * thread (a pipe or terminal may block in read() for good, and a thread
 * blocked there could not be stopped; for a small file a thread costs more
 * than it saves). A reader with another thread that has time to spare can
 * have that thread fill the ring instead (lk_instream_pump_start). No
 * function prints or exits.
 */
#ifndef LK_INSTREAM_H
#define LK_INSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

enum lk_zkind { LK_Z_NONE = 0, LK_Z_GZIP, LK_Z_ZSTD, LK_Z_XZ };

/* "gzip", "zstd", "xz" (NULL for LK_Z_NONE). */
const char *lk_zkind_name(enum lk_zkind z);

/* The compression recognised from the first bytes of p[0..n) (n >= 6 for a
 * sure answer), LK_Z_NONE when none. */
enum lk_zkind lk_zkind_sniff(const unsigned char *p, size_t n);

struct lk_instream;

/* Open `path` ("-" = standard input, not closed by lk_instream_close) and
 * read its first bytes. Fails (-1, e filled with "PATH: why", code
 * LK_EXIT_RUNTIME) when it cannot be opened or read, is a directory, or holds
 * no bytes at all ("empty file (no capture header)"). `hash`: compute the
 * SHA-256 of the input's bytes. */
int lk_instream_open(const char *path, bool hash, struct lk_instream **out, struct lk_err *e);

/* Up to n uncompressed bytes into buf: > 0 bytes, 0 at the end of the input,
 * -1 on failure (a read error, corrupt or truncated compressed data: see
 * lk_instream_why; errno is EIO). After 0 or -1 every call returns the same. */
ssize_t lk_instream_read(struct lk_instream *s, void *buf, size_t n);

/* The next bytes of the input where they already are, without copying them
 * out: *p points at them (> 0 of them), 0 at the end of the input, -1 on
 * failure (as lk_instream_read). They stay valid until the next call of
 * lk_instream_chunk, lk_instream_read or lk_instream_sha256 on s; the bytes
 * after them come from either. */
ssize_t lk_instream_chunk(struct lk_instream *s, const unsigned char **p);

/* Tests: at most n bytes per lk_instream_read or lk_instream_chunk (0: no
 * limit), so that records can be cut at any byte. */
void lk_instream_max_piece(struct lk_instream *s, size_t n);

/* From now on, read ahead in a second thread if the input is a regular file
 * of 1 MiB or more (and it is not read ahead yet). Worth it when copying the
 * bytes out of the page cache is a large part of the work: full frames. */
void lk_instream_readahead(struct lk_instream *s);

/* Pumped read-ahead: from now on the input (a regular file of 1 MiB or
 * more, not read ahead by a thread already) is read into the same ring of
 * blocks, filled by whichever comes first: lk_instream_pump, called by
 * another thread that has time to spare (the analysis pipeline's observers,
 * analyzers/pipeline.h, between batches), or the reader itself, when it
 * finds the next block unfilled. The reader never waits for a pump that is
 * not there, only for one that is filling the next block. false: not
 * pumped (not such a file, already read ahead, no memory); nothing changes. */
bool lk_instream_pump_start(struct lk_instream *s);

/* From another thread: fill one more block if the ring has room, the input
 * has not ended and no one else is filling; 1 if it filled one, else 0
 * (at once). Safe to call on a stream that is not pumped (0). Must not run
 * concurrently with lk_instream_sha256 or lk_instream_close. */
int lk_instream_pump(struct lk_instream *s);

/* Pieces (up to 64 KiB) read by lk_instream_pump (tests, benchmarks). */
uint64_t lk_instream_pumped_pieces(const struct lk_instream *s);

/* Why the input failed ("gzip data truncated: ..."), or NULL if it has not. */
const char *lk_instream_why(const struct lk_instream *s);

enum lk_zkind lk_instream_compression(const struct lk_instream *s);


/* Hex SHA-256 (65 bytes with the NUL) of the whole input as stored: the
 * bytes not read yet are read (and hashed) first. Only for streams opened with
 * hash. Fails when the input fails; e.msg then starts with the path. */
int lk_instream_sha256(struct lk_instream *s, char hex[65], struct lk_err *e);

const char *lk_instream_path(const struct lk_instream *s);
void lk_instream_close(struct lk_instream *s);

#endif
