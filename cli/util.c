#include "cli/commands.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cli_quiet;
const char *cli_cmdline = "";

void cli_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("lrokit: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("lrokit: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int parse_scaled(const char *s, uint64_t base, uint64_t *out)
{
	if (!s || !*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	uint64_t mul = 1;
	switch (tolower((unsigned char)*end)) {
	case 'k': mul = base; end++; break;
	case 'm': mul = base * base; end++; break;
	case 'g': mul = base * base * base; end++; break;
	case 't': mul = base * base * base * base; end++; break;
	default: break;
	}
	/* optional unit words */
	if (*end && strcasecmp(end, "b") && strcasecmp(end, "bit") && strcasecmp(end, "bps") &&
	    strcasecmp(end, "ib") && strcasecmp(end, "bits"))
		return -1;
	double r = v * (double)mul;
	if (r > 1.8e19)
		return -1;
	*out = (uint64_t)r;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out) { return parse_scaled(s, 1024, out); }
int cli_parse_rate(const char *s, uint64_t *bps) { return parse_scaled(s, 1000, bps); }
