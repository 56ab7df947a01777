/* lib/record.c - structs as key=value text, CSV or JSON (see record.h). */
#include "lib/record.h"
#include "lib/file.h"
#include "lib/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *elem(const struct lk_rec_field *f, const void *rec, unsigned i)
{
	return (char *)(uintptr_t)rec + f->off + (size_t)i * f->size;
}

double lk_rec_num(const struct lk_rec_field *f, const void *rec, unsigned i)
{
	const void *p = elem(f, rec, i);
	switch (f->type) {
	case LK_REC_U64: return (double)*(const uint64_t *)p;
	case LK_REC_I64: return (double)*(const int64_t *)p;
	case LK_REC_U32: return (double)*(const uint32_t *)p;
	case LK_REC_INT: return (double)*(const int *)p;
	case LK_REC_DBL: return *(const double *)p;
	case LK_REC_BOOL: return *(const bool *)p ? 1 : 0;
	case LK_REC_STR: break;
	}
	return NAN;
}

/* One value as text (strings: newlines as spaces). */
static void put_value(FILE *out, const struct lk_rec_field *f, const void *rec, unsigned i)
{
	const void *p = elem(f, rec, i);
	switch (f->type) {
	case LK_REC_U64: fprintf(out, "%" PRIu64, *(const uint64_t *)p); break;
	case LK_REC_I64: fprintf(out, "%" PRId64, *(const int64_t *)p); break;
	case LK_REC_U32: fprintf(out, "%" PRIu32, *(const uint32_t *)p); break;
	case LK_REC_INT: fprintf(out, "%d", *(const int *)p); break;
	case LK_REC_BOOL: fputs(*(const bool *)p ? "1" : "0", out); break;
	case LK_REC_DBL: {
		double v = *(const double *)p;
		if (isnan(v))
			fputs("nan", out);
		else
			fprintf(out, "%.17g", v);
		break;
	}
	case LK_REC_STR:
		for (const char *s = p; *s && s < (const char *)p + f->size; s++)
			fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
		break;
	}
}

/* Parse one value at *s into element i; advances *s. -1 bad. */
static int get_value(const struct lk_rec_field *f, void *rec, unsigned i, const char **s)
{
	void *p = elem(f, rec, i);
	char *end;
	errno = 0;
	switch (f->type) {
	case LK_REC_STR:
		snprintf(p, f->size, "%s", *s);
		*s += strlen(*s);
		return 0;
	case LK_REC_DBL:
		*(double *)p = strtod(*s, &end);
		break;
	case LK_REC_U64:
	case LK_REC_U32:
	case LK_REC_BOOL: {
		if (**s == '-')
			return -1;
		unsigned long long v = strtoull(*s, &end, 10);
		if (f->type == LK_REC_U64)
			*(uint64_t *)p = v;
		else if (f->type == LK_REC_U32 && v <= UINT32_MAX)
			*(uint32_t *)p = (uint32_t)v;
		else if (f->type == LK_REC_BOOL && v <= 1)
			*(bool *)p = v;
		else
			return -1;
		break;
	}
	case LK_REC_I64:
	case LK_REC_INT: {
		long long v = strtoll(*s, &end, 10);
		if (f->type == LK_REC_I64)
			*(int64_t *)p = v;
		else if (v >= INT32_MIN && v <= INT32_MAX)
			*(int *)p = (int)v;
		else
			return -1;
		break;
	}
	default:
		return -1;
	}
	if (end == *s || errno)
		return -1;
	*s = end;
	return 0;
}

int lk_rec_write(FILE *out, const char *prefix, const struct lk_rec_field *t, const void *rec)
{
	for (; t->name; t++) {
		fprintf(out, "%s%s=", prefix, t->name);
		for (unsigned i = 0; i < t->count; i++) {
			if (i)
				fputc(' ', out);
			put_value(out, t, rec, i);
		}
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}

int lk_rec_set(const char *prefix, const struct lk_rec_field *t, void *rec, const char *key,
	       const char *val, struct lk_err *e)
{
	size_t pl = strlen(prefix);
	if (strncmp(key, prefix, pl))
		return 0;
	for (; t->name; t++) {
		if (strcmp(key + pl, t->name))
			continue;
		const char *s = val;
		for (unsigned i = 0; i < t->count; i++) {
			while (i && *s == ' ')
				s++;
			if (get_value(t, rec, i, &s) < 0)
				return lk_errf(e, LK_EXIT_RUNTIME, "%s: bad value '%s'", key, val);
		}
		if (*s)
			return lk_errf(e, LK_EXIT_RUNTIME, "%s: bad value '%s'", key, val);
		return 1;
	}
	return 0;
}

int lk_rec_read(const char *path, int (*set)(void *ctx, const char *key, const char *val,
					     struct lk_err *e),
		void *ctx, struct lk_err *e)
{
	char *text = lk_file_read(path, 1u << 20, NULL, e);
	if (!text)
		return -1;
	int rc = 0, lineno = 0;
	for (char *save = NULL, *ln = strtok_r(text, "\n", &save); ln && rc == 0;
	     ln = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *eq = strchr(ln, '=');
		if (!eq) {
			rc = lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: not a key=value line", path, lineno);
			break;
		}
		*eq = 0;
		int r = set(ctx, ln, eq + 1, e);
		if (r == 0)
			rc = lk_errf(e, LK_EXIT_RUNTIME, "%s:%d: unknown key '%s'", path, lineno, ln);
		else if (r < 0)
			rc = lk_err_prefix(e, "%s:%d", path, lineno);
	}
	free(text);
	return rc;
}

int lk_rec_csv_header(FILE *out, const struct lk_rec_field *t)
{
	for (const struct lk_rec_field *f = t; f->name; f++)
		fprintf(out, "%s%s", f == t ? "" : ",", f->name);
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}

int lk_rec_csv_row(FILE *out, const struct lk_rec_field *t, const void *rec)
{
	for (const struct lk_rec_field *f = t; f->name; f++) {
		if (f != t)
			fputc(',', out);
		put_value(out, f, rec, 0);
	}
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}

int lk_rec_csv_parse(const char *line, const struct lk_rec_field *t, void *rec)
{
	const char *s = line;
	for (const struct lk_rec_field *f = t; f->name; f++) {
		if (f != t && *s++ != ',')
			return -1;
		if (f->type == LK_REC_STR || get_value(f, rec, 0, &s) < 0)
			return -1;
	}
	return *s == 0 || *s == '\n' || *s == '\r' ? 0 : -1;
}

void lk_rec_json(FILE *out, const struct lk_rec_field *t, const void *rec)
{
	fputc('{', out);
	for (const struct lk_rec_field *f = t; f->name; f++) {
		fprintf(out, "%s\"%s\":", f == t ? "" : ",", f->name);
		if (f->count > 1)
			fputc('[', out);
		for (unsigned i = 0; i < f->count; i++) {
			if (i)
				fputc(',', out);
			if (f->type == LK_REC_STR)
				lk_json_str(out, elem(f, rec, i));
			else if (f->type == LK_REC_BOOL)
				fputs(*(const bool *)elem(f, rec, i) ? "true" : "false", out);
			else if (f->type == LK_REC_DBL)
				lk_json_num(out, *(const double *)elem(f, rec, i));
			else
				put_value(out, f, rec, i);
		}
		if (f->count > 1)
			fputc(']', out);
	}
	fputc('}', out);
}
