/* fuzz/json-check.h - a strict little JSON validator (RFC 8259 grammar: no
 * NaN/Infinity, no trailing commas, no control characters in strings) for
 * asserting that what the analyzers print is JSON other programs can read. */
#ifndef LK_FUZZ_JSON_CHECK_H
#define LK_FUZZ_JSON_CHECK_H

#include <stdbool.h>
#include <string.h>

struct jc { const char *p, *end; int depth; };

static void jc_ws(struct jc *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool jc_lit(struct jc *j, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool jc_digits(struct jc *j)
{
	const char *s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool jc_string(struct jc *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end || !strchr("\"\\/bfnrtu", *j->p))
				return false;
			if (*j->p == 'u') {
				for (int i = 0; i < 4; i++) {
					j->p++;
					if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p))
						return false;
				}
			}
		}
		j->p++;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	return true;
}

static bool jc_value(struct jc *j);

static bool jc_number(struct jc *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!jc_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!jc_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!jc_digits(j))
			return false;
	}
	return true;
}

static bool jc_value(struct jc *j)
{
	jc_ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return false;
	bool ok;
	char c = *j->p;
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		j->p++;
		jc_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			ok = true;
		} else {
			for (;;) {
				if (c == '{') {
					jc_ws(j);
					if (!jc_string(j))
						return false;
					jc_ws(j);
					if (j->p >= j->end || *j->p != ':')
						return false;
					j->p++;
				}
				if (!jc_value(j))
					return false;
				jc_ws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					continue;
				}
				break;
			}
			ok = j->p < j->end && *j->p == close;
			if (ok)
				j->p++;
		}
	} else if (c == '"') {
		ok = jc_string(j);
	} else if (c == 't') {
		ok = jc_lit(j, "true");
	} else if (c == 'f') {
		ok = jc_lit(j, "false");
	} else if (c == 'n') {
		ok = jc_lit(j, "null");
	} else {
		ok = jc_number(j);
	}
	j->depth--;
	return ok;
}

/* True if [s, s+n) is exactly one JSON value (surrounding white space allowed). */
static inline bool json_valid(const char *s, size_t n)
{
	struct jc j = {s, s + n, 0};
	if (!jc_value(&j))
		return false;
	jc_ws(&j);
	return j.p == j.end;
}

#endif
