#include "cli/commands.h"

#include "lib/err.h"
#include "lro_ref/lro.h"
#include "testbed/model.h"
#include "testbed/stage.h"

#include <ctype.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

bool cli_quiet;
const char *cli_cmdline = "";

/* One line "lrokit: <kind>: <message>" on stderr. */
static void say(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "lrokit: %s: ", kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("error", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("warning", fmt, ap);
	va_end(ap);
}

int cli_usage_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("error", fmt, ap);
	va_end(ap);
	return LK_EXIT_USAGE;
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

int cli_parse_repeat(const char *arg, long *repeat)
{
	char *end;
	*repeat = strtol(arg, &end, 10);
	if (*end || *repeat < 1 || *repeat > 1000)
		return cli_usage_err("bench: --repeat wants a number 1..1000, not '%s'", arg);
	return 0;
}

int cli_parse_bytes(const char *arg, uint64_t *bytes)
{
	if (cli_parse_size(arg, bytes) < 0 || *bytes == 0)
		return cli_usage_err("bench: bad --bytes '%s' (e.g. 64M, 1G)", arg);
	return 0;
}

void cli_bench_id(char *id, size_t n)
{
	time_t now = time(NULL);
	char when[32];
	strftime(when, sizeof when, "%Y%m%d-%H%M%S", localtime(&now));
	snprintf(id, n, "%s-%d", when, (int)getpid());
}

int cli_tb_rate(const char *cmd, const char *arg, uint64_t *bps)
{
	*bps = 0;
	if (!strcmp(arg, "none"))
		return 0;
	if (cli_parse_rate(arg, bps) || *bps < 1000000)
		return cli_usage_err("%s: bad --rate '%s' (want e.g. 1G, 500M or none)", cmd, arg);
	return 0;
}

int cli_tb_lro_policy(const char *cmd, const char *arg, const char **policy)
{
	enum lro_policy p;
	if (!arg || lro_policy_parse(arg, &p) < 0)
		return cli_usage_err("%s: bad LRO policy '%s' (linux or inet_lro)", cmd, arg ? arg : "");
	*policy = arg;
	return 0;
}

void cli_model_table(FILE *f)
{
	size_t n;
	const struct lk_model_param *t = lk_model_params(&n);
	fprintf(f, "Model parameters (--model KEY=VALUE; profiles: quick = the no-effect values, "
		"paper = the paper's hardware):\n");
	fprintf(f, "%-18s %-12s %10s %10s  %s\n", "KEY", "UNIT", "NO-EFFECT", "PAPER", "MEANING");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-18s %-12s %10g %10g  %s\n", t[i].key, t[i].unit, t[i].no_effect,
			t[i].paper, t[i].desc);
}

int cli_model_arg(const char *cmd, const char *arg, struct lk_model *m, const char *origin)
{
	if (!strcmp(arg, "help")) {
		cli_model_table(stdout);
		return -1;
	}
	struct lk_err e = {0};
	if (lk_model_parse_kv(m, arg, origin, &e) < 0)
		return cli_usage_err("%s: %s (--model help lists them)", cmd, e.msg);
	return 0;
}

int cli_model_finish(const char *cmd, const char *profile, char **kvs, int nkv, struct lk_model *m)
{
	struct lk_err e = {0};
	lk_model_defaults(m);
	if (profile && lk_model_profile(m, profile, &e) < 0)
		return cli_usage_err("%s: %s", cmd, e.msg);
	for (int i = 0; i < nkv; i++) {
		int rc = cli_model_arg(cmd, kvs[i], m, "cli");
		if (rc)
			return rc;
	}
	if (lk_model_check(m, &e) < 0)
		return cli_usage_err("%s: %s", cmd, e.msg);
	return 0;
}

int cli_need_root(const char *what)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	bool ok = false;
	if (syscall(SYS_capget, &h, d) == 0) {
		uint64_t eff = (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
		ok = (eff >> CAP_NET_ADMIN & 1) && (eff >> CAP_SYS_ADMIN & 1);
	}
	if (ok)
		return 0;
	cli_err("%s needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces and "
		"TAP devices", what);
	return LK_EXIT_MISSING;
}
