/* collectors/sampleline.c - collector samples as JSON lines (sampleline.h). */
#include "collectors/sampleline.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int word_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.:@-", *s))
			return 0;
	return 1;
}

void lk_sampleline_write(FILE *f, uint64_t t_ns, const char *source, const char *key,
			 double value)
{
	if (!isfinite(value) || !word_ok(source) || !word_ok(key))
		return;
	fprintf(f, "{\"t_ns\":%" PRIu64 ",\"source\":\"%s\",\"key\":\"%s\",\"value\":%.17g}\n", t_ns,
		source, key, value);
}

/* Expect the literal lit at *p and step over it. */
static int lit(const char **p, const char *l)
{
	size_t n = strlen(l);
	if (strncmp(*p, l, n))
		return -1;
	*p += n;
	return 0;
}

/* A word up to the closing quote into out[n]. */
static int word(const char **p, char *out, size_t n)
{
	const char *q = strchr(*p, '"');
	if (!q || (size_t)(q - *p) >= n)
		return -1;
	memcpy(out, *p, (size_t)(q - *p));
	out[q - *p] = 0;
	*p = q + 1;
	return word_ok(out) ? 0 : -1;
}

int lk_sampleline_parse(const char *line, struct lk_sampleline *s)
{
	const char *p = line;
	char *end;
	if (lit(&p, "{\"t_ns\":") < 0 || !isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	s->t_ns = strtoull(p, &end, 10);
	if (errno)
		return -1;
	p = end;
	if (lit(&p, ",\"source\":\"") < 0 || word(&p, s->source, sizeof s->source) < 0 ||
	    lit(&p, ",\"key\":\"") < 0 || word(&p, s->key, sizeof s->key) < 0 ||
	    lit(&p, ",\"value\":") < 0)
		return -1;
	s->value = strtod(p, &end);
	if (end == p || !isfinite(s->value))
		return -1;
	p = end;
	if (lit(&p, "}") < 0)
		return -1;
	return (!*p || !strcmp(p, "\n")) ? 0 : -1;
}
