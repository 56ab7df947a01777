/* lib/record.h - flat C structs written and read through one table of fields.
 *
 * A module that hands a struct to another process (a stage's counters, the
 * result of `lrokit send`/`recv`, the TCP_INFO samples) describes it once
 * as an array of struct lk_rec_field; the same table then writes it and
 * reads it back, so writer and reader cannot drift apart:
 *
 *   key=value text   one "PREFIXname=value" line per field (lk_rec_write,
 *                    lk_rec_set); arrays are space-separated values,
 *                    strings run to the end of the line (newlines in them
 *                    are written as spaces), NaN is "nan";
 *   CSV              a header of the names and one row per struct
 *                    (lk_rec_csv_*; numbers only);
 *   JSON             one object (lk_rec_json; strings escaped).
 *
 * Nothing here prints: the writers take the caller's FILE.
 */
#ifndef LK_RECORD_H
#define LK_RECORD_H

#include "lib/err.h"

#include <stddef.h>
#include <stdio.h>

enum lk_rec_type { LK_REC_U64, LK_REC_I64, LK_REC_U32, LK_REC_INT, LK_REC_DBL, LK_REC_BOOL,
		   LK_REC_STR };

struct lk_rec_field {
	const char *name;     /* NULL ends a table */
	enum lk_rec_type type;
	size_t off;           /* offsetof the member */
	size_t size;          /* sizeof one element (LK_REC_STR: the buffer) */
	unsigned count;       /* elements: 1, or the length of an array member */
};

/* A table entry for member m of struct type T; LK_REC_ARRAY for an array
 * member (not for strings: a char[] is one LK_REC_STR field). */
#define LK_REC(T, m, type) {#m, type, offsetof(T, m), sizeof(((T *)0)->m), 1}
#define LK_REC_ARRAY(T, m, type)                                                          \
	{#m, type, offsetof(T, m), sizeof(((T *)0)->m[0]),                                  \
	 (unsigned)(sizeof(((T *)0)->m) / sizeof(((T *)0)->m[0]))}
#define LK_REC_END {NULL, LK_REC_U64, 0, 0, 0}

/* Element i of field f of rec as a double (strings: NaN). */
double lk_rec_num(const struct lk_rec_field *f, const void *rec, unsigned i);

/* key=value lines of every field, keys prefixed by prefix (may be ""). */
int lk_rec_write(FILE *out, const char *prefix, const struct lk_rec_field *t, const void *rec);
/* Parse one key=value pair into rec when key is PREFIXname of a field of t:
 * 1 done, 0 not a key of this table, -1 a bad value (e filled). */
int lk_rec_set(const char *prefix, const struct lk_rec_field *t, void *rec, const char *key,
	       const char *val, struct lk_err *e);
/* Read a key=value file: each line is given to set(ctx, key, value), which
 * returns 1 (taken), 0 (unknown key: an error) or -1 (e filled). */
int lk_rec_read(const char *path, int (*set)(void *ctx, const char *key, const char *val,
					     struct lk_err *e),
		void *ctx, struct lk_err *e);

/* CSV over the numeric fields of t: the header line, one row, and parsing
 * one row (0, or -1 when it does not hold every column). */
int lk_rec_csv_header(FILE *out, const struct lk_rec_field *t);
int lk_rec_csv_row(FILE *out, const struct lk_rec_field *t, const void *rec);
int lk_rec_csv_parse(const char *line, const struct lk_rec_field *t, void *rec);

/* One JSON object {"name":value,...}; arrays as JSON arrays. */
void lk_rec_json(FILE *out, const struct lk_rec_field *t, const void *rec);

#endif
