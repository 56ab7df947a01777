/* testbed/hosts.c - the host description file (see hosts.h). */
#include "testbed/hosts.h"
#include "lib/file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[LK_NROLES] = {"sender", "receiver", "dom0", "guest"};

const char *lk_role_name(enum lk_role r)
{
	return r < LK_NROLES ? role_names[r] : "?";
}

enum lk_role lk_hosts_receiver(const struct lk_hosts *h)
{
	return h->xen ? LK_ROLE_GUEST : LK_ROLE_RECEIVER;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

/* Split v at blanks into opts[*n...]. */
static int add_opts(char (*opts)[256], int *n, char *v, const char *what, int line,
		    struct lk_err *e)
{
	for (char *s = NULL, *t = strtok_r(v, " \t", &s); t; t = strtok_r(NULL, " \t", &s)) {
		if (*n == LK_HOST_MAXOPTS)
			return lk_errf(e, LK_EXIT_USAGE, "%s:%d: more than %d ssh option words", what,
				       line, LK_HOST_MAXOPTS);
		if (strlen(t) >= sizeof opts[0])
			return lk_errf(e, LK_EXIT_USAGE, "%s:%d: ssh option too long", what, line);
		snprintf(opts[(*n)++], sizeof opts[0], "%s", t);
	}
	return 0;
}

static int set_word(char *dst, size_t n, const char *v, const char *key, const char *what,
		    int line, struct lk_err *e)
{
	if (!*v || strpbrk(v, " \t"))
		return lk_errf(e, LK_EXIT_USAGE, "%s:%d: %s wants one word, not '%s'", what, line,
			       key, v);
	if (strlen(v) >= n)
		return lk_errf(e, LK_EXIT_USAGE, "%s:%d: %s too long", what, line, key);
	snprintf(dst, n, "%s", v);
	return 0;
}

/* One key = value inside section `role` (-1: before any section). */
static int set_key(struct lk_host *h, int role, char (*gopts)[256], int *ngopts, const char *key,
		   char *v, const char *what, int line, struct lk_err *e)
{
	if (!strcmp(key, "ssh_options"))
		return role < 0 ? add_opts(gopts, ngopts, v, what, line, e)
				: add_opts(h->opts, &h->nopts, v, what, line, e);
	if (role < 0)
		return lk_errf(e, LK_EXIT_USAGE, "%s:%d: '%s' outside a [ROLE] section (only "
			       "ssh_options may come first)", what, line, key);
	if (!strcmp(key, "ssh"))
		return set_word(h->dest, sizeof h->dest, v, key, what, line, e);
	if (!strcmp(key, "iface"))
		return set_word(h->iface, sizeof h->iface, v, key, what, line, e);
	if (!strcmp(key, "lrokit"))
		return set_word(h->lrokit, sizeof h->lrokit, v, key, what, line, e);
	if (!strcmp(key, "address") && (role == LK_ROLE_RECEIVER || role == LK_ROLE_GUEST))
		return set_word(h->address, sizeof h->address, v, key, what, line, e);
	if (!strcmp(key, "vif") && role == LK_ROLE_DOM0)
		return set_word(h->vif, sizeof h->vif, v, key, what, line, e);
	return lk_errf(e, LK_EXIT_USAGE, "%s:%d: unknown key '%s' in [%s] (ssh, iface, lrokit, "
		       "ssh_options%s)", what, line, key, role_names[role],
		       role == LK_ROLE_RECEIVER || role == LK_ROLE_GUEST ? ", address"
		       : role == LK_ROLE_DOM0 ? ", vif" : "");
}

/* The roles given must make a plain pair or a Xen host, each complete. */
static int check(struct lk_hosts *h, const char *what, struct lk_err *e)
{
	const struct lk_host *r = h->role;
	h->xen = r[LK_ROLE_DOM0].present || r[LK_ROLE_GUEST].present;
	if (!r[LK_ROLE_SENDER].present)
		return lk_errf(e, LK_EXIT_USAGE, "%s: no [sender] section", what);
	if (h->xen && r[LK_ROLE_RECEIVER].present)
		return lk_errf(e, LK_EXIT_USAGE, "%s: [receiver] beside [dom0]/[guest]: on a Xen host "
			       "the guest is the receiver", what);
	if (h->xen && !(r[LK_ROLE_DOM0].present && r[LK_ROLE_GUEST].present))
		return lk_errf(e, LK_EXIT_USAGE, "%s: a Xen host needs both [dom0] and [guest]", what);
	if (!h->xen && !r[LK_ROLE_RECEIVER].present)
		return lk_errf(e, LK_EXIT_USAGE, "%s: no [receiver] section (or [dom0] and [guest] "
			       "for a Xen host)", what);
	for (int i = 0; i < LK_NROLES; i++) {
		if (!r[i].present)
			continue;
		const char *miss = !r[i].dest[0] ? "ssh" : !r[i].iface[0] ? "iface" : NULL;
		if (!miss && (i == LK_ROLE_RECEIVER || i == LK_ROLE_GUEST) && !r[i].address[0])
			miss = "address";
		if (miss)
			return lk_errf(e, LK_EXIT_USAGE, "%s: [%s] has no '%s'", what, role_names[i], miss);
	}
	return 0;
}

int lk_hosts_parse(const char *text, const char *what, struct lk_hosts *h, struct lk_err *e)
{
	memset(h, 0, sizeof *h);
	char gopts[LK_HOST_MAXOPTS][256];
	int ngopts = 0, role = -1, line = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char buf[1024];
		line++;
		if (len >= sizeof buf)
			return lk_errf(e, LK_EXIT_USAGE, "%s:%d: line too long", what, line);
		memcpy(buf, p, len);
		buf[len] = 0;
		p += len + (nl != NULL);
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = 0;
		char *s = trim(buf);
		if (!*s)
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (!end || end[1])
				return lk_errf(e, LK_EXIT_USAGE, "%s:%d: bad section '%s'", what, line, s);
			*end = 0;
			char *name = trim(s + 1);
			role = -1;
			for (int i = 0; i < LK_NROLES; i++)
				if (!strcmp(name, role_names[i]))
					role = i;
			if (role < 0)
				return lk_errf(e, LK_EXIT_USAGE, "%s:%d: unknown role '%s' (sender, receiver, "
					       "dom0, guest)", what, line, name);
			if (h->role[role].present)
				return lk_errf(e, LK_EXIT_USAGE, "%s:%d: [%s] given twice", what, line, name);
			struct lk_host *hh = &h->role[role];
			hh->present = true;
			snprintf(hh->lrokit, sizeof hh->lrokit, "lrokit");
			for (int i = 0; i < ngopts; i++)
				memcpy(hh->opts[hh->nopts++], gopts[i], sizeof gopts[i]);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			return lk_errf(e, LK_EXIT_USAGE, "%s:%d: want 'key = value', not '%s'", what, line, s);
		*eq = 0;
		char *key = trim(s), *v = trim(eq + 1);
		if (set_key(role >= 0 ? &h->role[role] : NULL, role, gopts, &ngopts, key, v, what, line,
			    e) < 0)
			return -1;
	}
	return check(h, what, e);
}

int lk_hosts_load(const char *path, struct lk_hosts *h, struct lk_err *e)
{
	size_t len;
	char *t = lk_file_read(path, 1 << 20, &len, e);
	if (!t)
		return -1;
	int rc = lk_hosts_parse(t, path, h, e);
	free(t);
	return rc;
}

int lk_sh_quote(const char *w, char *out, size_t n)
{
	size_t o = 0;
	bool plain = *w != 0;
	for (const char *c = w; *c && plain; c++)
		plain = isalnum((unsigned char)*c) || strchr("_./:=@%+,-", *c);
	if (plain) {
		if (strlen(w) >= n)
			return -1;
		memcpy(out, w, strlen(w) + 1);
		return 0;
	}
	if (o + 1 >= n)
		return -1;
	out[o++] = '\'';
	for (const char *c = w; *c; c++) {
		const char *add = *c == '\'' ? "'\\''" : NULL;
		size_t k = add ? 4 : 1;
		if (o + k + 2 > n)
			return -1;
		if (add)
			memcpy(out + o, add, k);
		else
			out[o] = *c;
		o += k;
	}
	out[o++] = '\'';
	out[o] = 0;
	return 0;
}

int lk_sh_join(const char *const argv[], char *out, size_t n)
{
	size_t o = 0;
	if (n)
		out[0] = 0;
	for (int i = 0; argv[i]; i++) {
		if (i) {
			if (o + 2 > n)
				return -1;
			out[o++] = ' ';
			out[o] = 0;
		}
		if (lk_sh_quote(argv[i], out + o, n - o) < 0)
			return -1;
		o += strlen(out + o);
	}
	return 0;
}

int lk_host_ssh_argv(const struct lk_host *h, const char *cmd, const char **argv)
{
	int n = 0;
	argv[n++] = "ssh";
	for (int i = 0; i < h->nopts; i++)
		argv[n++] = h->opts[i];
	/* never prompt (a run has no one to answer); notice a dead peer within
	   ~6 s even when no data flows on the session */
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	argv[n++] = "-o";
	argv[n++] = "ServerAliveInterval=2";
	argv[n++] = "-o";
	argv[n++] = "ServerAliveCountMax=3";
	argv[n++] = h->dest;
	argv[n++] = "--";
	argv[n++] = cmd;
	argv[n] = NULL;
	return n;
}
