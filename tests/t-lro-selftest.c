/* t-lro-selftest: every Linux GRO selftest case (shared/anchors/lro-rules.md
 * table (c), drivers/net/gro.c 2026) for IPv4 and IPv6 on the `linux` policy,
 * plus the lossless/in-order checker on each run.
 *
 * Version-dependent expectations follow CURRENT kernels:
 *   flags_cwr        AccECN rule (4e4f7cefb130 + ab4c8b6f7fcb): CWR compared like
 *                    the other flags, no forced flush => [100, 200, 200]
 *                    (the classic rule gave [100, 100, 300]);
 *   ip_id_df0_fixed  fixed IDs coalesce without DF (Gobert 2025) => [200]
 *                    (older kernels/tests: no merge);
 *   data_lrg_1byte   the 1-byte IPv4 segment arrives padded to 60 bytes (as on
 *                    a real link); payload from the IP length => [101].
 * Not included (per the issue): ipip/ip6ip6 tunnel and PPPoE variants.
 * `capacity` is run against the engine's table (fully associative, table_size
 * slots) rather than the kernel's 8x8 hash buckets.
 */
#include "lro_ref/lro.h"
#include "tests/helpers/lro-check.h"
#include "tests/helpers/lro-cases.h"
#include "tests/tap.h"

static void chk_out(void *k, const struct lro_out *o) { lchk_out(k, o); }
static void chk_in(void *k, const uint8_t *f, uint32_t len) { lchk_in(k, f, len); }

static void run_case(const char *name, int fam, bool complete)
{
	struct lc_case c;
	if (lc_make(name, fam, &c) < 0)
		return;
	struct lro_config cfg;
	lro_config_default(&cfg, LRO_POLICY_LINUX);
	cfg.csum_complete = complete;
	struct lc_sink s = {0};
	struct lchk *k = lchk_new(true);
	s.chk = k;
	s.chk_out = chk_out;
	struct lro *l = lro_new(&cfg, lc_sink_emit, &s);
	if (!l)
		abort();
	lc_run(l, c.f, c.n, &s, chk_in);
	char got[256], want[256];
	lc_fmt(got, sizeof got, s.got, s.ngot);
	lc_fmt(want, sizeof want, c.exp, c.nexp);
	is_str(got, want, "linux ipv%d %s: payloads [%s]%s", fam, name, want, complete ? " (complete csum)" : "");
	const char *why = lchk_finish(k);
	ok(why == NULL, "linux ipv%d %s: lossless, in order, checksums valid%s", fam, name, why ? why : "");
	lro_free(l);
	lchk_free(k);
	lc_free(&c);
}

static void run_capacity(int fam, int nflows, const char *want)
{
	struct lc_frame f[2 * 80 + 1];
	int n = 0;
	lc_make_capacity(fam, nflows, NULL, f, (int)(sizeof f / sizeof f[0]) - 1, &n);
	struct lro_config cfg;
	lro_config_default(&cfg, LRO_POLICY_LINUX);
	struct lc_sink *s = calloc(1, sizeof *s);
	struct lchk *k = lchk_new(true);
	s->chk = k;
	s->chk_out = chk_out;
	struct lro *l = lro_new(&cfg, lc_sink_emit, s);
	lc_run(l, f, n, s, chk_in);
	char got[2048];
	lc_fmt(got, sizeof got, s->got, s->ngot);
	is_str(got, want, "linux ipv%d capacity %d flows (table %u)", fam, nflows, cfg.table_size);
	ok(lchk_finish(k) == NULL, "capacity %d: lossless", nflows);
	lro_free(l);
	lchk_free(k);
	for (int i = 0; i < n; i++)
		free(f[i].d);
	free(s);
}

int main(void)
{
	for (int fam = 4; fam <= 6; fam += 2)
		for (int i = 0; lc_names[i]; i++) {
			run_case(lc_names[i], fam, false);
			run_case(lc_names[i], fam, true);
		}
	for (int fam = 4; fam <= 6; fam += 2) {
		char want[2048];
		size_t o = 0;
		for (int i = 0; i < 64; i++)
			o += (size_t)snprintf(want + o, sizeof want - o, "%s400", i ? " " : "");
		run_capacity(fam, 8, "400 400 400 400 400 400 400 400");
		run_capacity(fam, 64, want);
		/* 65 flows: the first flow's segment is evicted (flushed alone), its
		 * PSH segment then goes up alone; all others coalesce */
		char want65[2048] = "200 200 ";
		o = strlen(want65);
		for (int i = 0; i < 64; i++)
			o += (size_t)snprintf(want65 + o, sizeof want65 - o, "%s400", i ? " " : "");
		run_capacity(fam, 65, want65);
	}
	return done_testing();
}
