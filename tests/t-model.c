/* t-model: the fidelity model's table (testbed/model.h): every parameter
 * has a dotted key, a unit, a source and a description, no-effect and paper
 * values inside its range; profiles; KEY=VALUE parsing with units, bools
 * and range checks; the checks across parameters; values print back to
 * themselves; the netif ring's slot cost and Xen's notify rules
 * (testbed/ring.h). No root needed. */
#include "testbed/model.h"
#include "testbed/ring.h"
#include "tests/tap.h"

#include <ctype.h>
#include <math.h>
#include <unistd.h>
#include <stdlib.h>

static bool key_ok(const char *k)
{
	const char *dot = strchr(k, '.');
	if (!dot || dot == k || !dot[1] || strchr(dot + 1, '.'))
		return false;
	for (const char *p = k; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == '.'))
			return false;
	return true;
}

static void table(void)
{
	size_t n;
	const struct lk_model_param *t = lk_model_params(&n);
	is_int((long long)n, LK_MODEL_NPARAMS, "the table has LK_MODEL_NPARAMS entries");
	int bad = 0, guesses = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lk_model_param *p = &t[i];
		bool good = key_ok(p->key) && p->unit[0] && strlen(p->source) > 20 &&
			    strlen(p->desc) > 20 && p->min <= p->no_effect && p->no_effect <= p->max &&
			    p->min <= p->paper && p->paper <= p->max &&
			    (!p->integer || (p->no_effect == floor(p->no_effect) && p->paper == floor(p->paper))) &&
			    (strcmp(p->unit, "bool") || (p->integer && p->max == 1)) &&
			    lk_model_find(p->key) == (int)i;
		if (!good) {
			diag("bad entry %s", p->key);
			bad++;
		}
		guesses += !strncmp(p->source, "guess:", 6);
	}
	is_int(bad, 0, "every entry: dotted key, unit, source, description, values in range");
	ok(guesses >= 2, "guesses say so (%d sources start with 'guess:')", guesses);
	static const char *const spec[] = {
		"wire.rate_bps", "nic.rx_usecs", "nic.rx_frames", "nic.napi_budget", "nic.ring",
		"bridge.gso", "ring.slots", "ring.notify", "netback.reserve", "vif.qlen",
		"netfront.budget", "guest.wake_us", "guest.slice_us", "guest.load", "guest.quickack",
		"stage.cost_ns", NULL};
	int missing = 0;
	for (int i = 0; spec[i]; i++)
		missing += lk_model_find(spec[i]) < 0;
	is_int(missing, 0, "every key of the interface contract is in the table");
	is_int(lk_model_find("nic.nonsense"), -1, "unknown key: -1");
	is_int(lk_model_find(NULL), -1, "NULL key: -1");
	/* the paper values the issue names, with their units */
	ok(t[LK_M_WIRE_RATE].paper == 1e9 && t[LK_M_NIC_RX_USECS].paper == 125 &&
	   t[LK_M_NIC_RX_FRAMES].paper == 0 && t[LK_M_NIC_BUDGET].paper == 64 &&
	   t[LK_M_NIC_RING].paper == 256 && t[LK_M_RING_SLOTS].paper == 256 &&
	   t[LK_M_NETBACK_RESERVE].paper == 20 && t[LK_M_VIF_QLEN].paper == 32 &&
	   t[LK_M_NETFRONT_BUDGET].paper == 64 && t[LK_M_GUEST_SLICE_US].paper == 30000 &&
	   t[LK_M_GUEST_LOAD].paper == 0 && t[LK_M_RING_NOTIFY].paper == 1 &&
	   t[LK_M_NIC_REPOLL].paper == 1,
	   "paper values: 1 Gbit/s, ITR 125 us, NAPI 64, rings 256, reserve 20, qdisc 32, 30 ms slice, no load");
	ok(!strncmp(t[LK_M_GUEST_WAKE_US].source, "guess:", 6), "guest.wake_us is marked a guess");
}

static void profiles(void)
{
	struct lk_model m;
	struct lk_err e = {0};
	size_t n;
	const struct lk_model_param *t = lk_model_params(&n);
	lk_model_defaults(&m);
	int diff = 0;
	for (size_t i = 0; i < n; i++)
		diff += m.v[i] != t[i].no_effect || strcmp(m.origin[i], "default");
	is_int(diff, 0, "defaults: every no-effect value, origin default");
	ok(lk_model_check(&m, &e) == 0, "defaults pass the checks (%s)", e.msg);
	ok(lk_model_profile(&m, "paper", &e) == 0, "profile paper");
	diff = 0;
	for (size_t i = 0; i < n; i++)
		diff += m.v[i] != t[i].paper || strcmp(m.origin[i], "profile");
	is_int(diff, 0, "paper: every paper value, origin profile");
	ok(lk_model_check(&m, &e) == 0, "the paper profile passes the checks (%s)", e.msg);
	ok(lk_model_profile(&m, "quick", &e) == 0 && m.v[LK_M_WIRE_RATE] == 0 &&
	   m.v[LK_M_RING_SLOTS] == 256 && !strcmp(m.origin[0], "profile"),
	   "quick: the no-effect values");
	ok(lk_model_profile(&m, "fast", &e) < 0 && strstr(e.msg, "quick or paper"),
	   "unknown profile refused (%s)", e.msg);
	ok(lk_model_profile(&m, NULL, &e) < 0, "NULL profile refused");
	is_str(lk_model_profiles[0], "quick", "profile list: quick");
	is_str(lk_model_profiles[1], "paper", "profile list: paper");
	ok(lk_model_profiles[2] == NULL, "profile list: two");
}

static void parsing(void)
{
	struct lk_model m;
	struct lk_err e = {0};
	lk_model_defaults(&m);
	ok(lk_model_parse_kv(&m, "nic.rx_usecs=125", "cli", &e) == 0 && m.v[LK_M_NIC_RX_USECS] == 125 &&
	   !strcmp(m.origin[LK_M_NIC_RX_USECS], "cli"), "nic.rx_usecs=125, origin cli");
	ok(lk_model_parse_kv(&m, "wire.rate_bps=1G", "sweep", &e) == 0 && m.v[LK_M_WIRE_RATE] == 1e9 &&
	   !strcmp(m.origin[LK_M_WIRE_RATE], "sweep"), "wire.rate_bps=1G: 1e9, origin sweep");
	ok(lk_model_parse_kv(&m, "wire.rate_bps=500Mbit", "cli", &e) == 0 && m.v[LK_M_WIRE_RATE] == 5e8,
	   "wire.rate_bps=500Mbit");
	ok(lk_model_parse_kv(&m, "bridge.gso=off", "cli", &e) == 0 && m.v[LK_M_BRIDGE_GSO] == 0,
	   "bool words: off");
	ok(lk_model_parse_kv(&m, "ring.notify=true", "cli", &e) == 0 && m.v[LK_M_RING_NOTIFY] == 1,
	   "bool words: true");
	ok(lk_model_parse_kv(&m, "guest.load=0.25", "cli", &e) == 0 && m.v[LK_M_GUEST_LOAD] == 0.25,
	   "fractions");
	ok(lk_model_parse_kv(&m, "nic.bogus=1", "cli", &e) < 0 && strstr(e.msg, "nic.bogus"),
	   "unknown key named (%s)", e.msg);
	ok(lk_model_parse_kv(&m, "nic.rx_usecs", "cli", &e) < 0 && strstr(e.msg, "KEY=VALUE"),
	   "no '=' refused (%s)", e.msg);
	ok(lk_model_parse_kv(&m, "nic.rx_usecs=", "cli", &e) < 0, "empty value refused");
	ok(lk_model_parse_kv(&m, "nic.rx_usecs=12x", "cli", &e) < 0 && strstr(e.msg, "12x"),
	   "a bad number refused (%s)", e.msg);
	ok(lk_model_parse_kv(&m, "ring.slots=5000", "cli", &e) < 0 && strstr(e.msg, "out of range"),
	   "out of range refused (%s)", e.msg);
	ok(lk_model_parse_kv(&m, "ring.slots=32.5", "cli", &e) < 0 && strstr(e.msg, "whole"),
	   "a fraction where a whole number is needed refused (%s)", e.msg);
	ok(lk_model_parse_kv(&m, "bridge.gso=2", "cli", &e) < 0, "bool 2 refused");
	ok(lk_model_parse_kv(&m, "nic.rx_usecs=1G", "cli", &e) < 0, "rate suffix only for bit/s");
	ok(lk_model_set(&m, "guest.load", NAN, "cli", &e) < 0, "NaN refused");
	ok(lk_model_set(&m, "guest.load", 0.5, "typed", &e) < 0 && strstr(e.msg, "origin"),
	   "bad origin refused (%s)", e.msg);
	is_int((long long)m.v[LK_M_RING_SLOTS], 256, "a refused value leaves the old one");
	double v;
	ok(lk_model_parse_value(LK_M_VIF_QLEN, "32", &v, &e) == 0 && v == 32, "parse_value: 32");
	ok(lk_model_parse_value(-1, "32", &v, &e) < 0, "parse_value: bad index");

	/* checks across parameters */
	lk_model_defaults(&m);
	lk_model_parse_kv(&m, "guest.load=0.5", "cli", &e);
	ok(lk_model_check(&m, &e) < 0 && strstr(e.msg, "guest.slice_us"),
	   "guest.load without a slice refused (%s)", e.msg);
	lk_model_parse_kv(&m, "guest.slice_us=30000", "cli", &e);
	ok(lk_model_check(&m, &e) == 0, "with a slice it passes");
	lk_model_parse_kv(&m, "ring.slots=16", "cli", &e);
	lk_model_parse_kv(&m, "netback.reserve=20", "cli", &e);
	ok(lk_model_check(&m, &e) < 0 && strstr(e.msg, "netback.reserve"),
	   "reserve above the ring refused (%s)", e.msg);
	lk_model_parse_kv(&m, "netback.reserve=8", "cli", &e);
	lk_model_parse_kv(&m, "netfront.rx_min=64", "cli", &e);
	ok(lk_model_check(&m, &e) < 0 && strstr(e.msg, "rx_min"), "rx_min above the ring refused");
	struct lk_model z;
	memset(&z, 0, sizeof z);
	ok(lk_model_check(&z, &e) < 0, "an uninitialised model refused (%s)", e.msg);

	/* values print back to themselves */
	lk_model_profile(&m, "paper", &e);
	lk_model_parse_kv(&m, "guest.load=0.1", "cli", &e);
	lk_model_parse_kv(&m, "stage.cost_ns=333.25", "cli", &e);
	struct lk_model m2;
	lk_model_defaults(&m2);
	int diff = 0;
	for (int i = 0; i < LK_MODEL_NPARAMS; i++) {
		char kv[96];
		lk_model_format_kv(&m, i, kv, sizeof kv);
		if (lk_model_parse_kv(&m2, kv, "cli", &e) < 0)
			diag("%s: %s", kv, e.msg);
		diff += m2.v[i] != m.v[i];
	}
	is_int(diff, 0, "format_kv -> parse_kv gives every value back");
	char kv[96];
	lk_model_format_kv(&m, LK_M_GUEST_LOAD, kv, sizeof kv);
	is_str(kv, "guest.load=0.1", "shortest form (0.1, not 0.10000000000000001)");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	lk_model_json(f, &m);
	fclose(f);
	ok(buf[0] == '{' && strstr(buf, "\"wire.rate_bps\":1000000000,") &&
	   strstr(buf, "\"guest.load\":0.1,") && buf[len - 1] == '}', "JSON object (%.60s...)", buf);
	free(buf);
}

static void ring(void)
{
	is_int(lk_ring_pkt_cost(1514, false), 1, "an MTU frame costs one slot");
	is_int(lk_ring_pkt_cost(65000, true), 17, "a 64 KB GSO aggregate: 16 pages + extra-info");
	is_int(lk_ring_pkt_cost(4096 * 3 + 1, true), 5, "3 pages and a byte + extra-info: 5");
	is_int(lk_ring_pkt_cost(0, false), 1, "an empty packet still takes a slot");
	ok(lk_ring_pkt_cost(65536 + 256, true) <= 20, "nothing costs more than Xen's reserve of 20");

	uint32_t slots = 8;
	void *mem = calloc(1, lk_ring_bytes(slots));
	int p[2], q[2];
	if (!mem || pipe(p) || pipe(q))
		return;
	lk_ring_init(mem, slots);
	struct lk_ring r;
	lk_ring_attach(&r, mem, p[1], q[1]);
	is_int(lk_ring_req_free(&r), 0, "no requests before the guest posts");
	ok(lk_ring_post(&r, 4, true), "first post notifies (req_event starts at 1)");
	is_int(lk_ring_req_free(&r), 4, "4 free requests");
	ok(!lk_ring_post(&r, 2, true), "later posts are silent until the producer arms req_event");
	uint32_t *lp;
	uint32_t old = lk_ring_prod_idx(&r);
	for (int i = 0; i < 3; i++) {
		uint8_t *s = lk_ring_prod_slot(&r, &lp);
		*lp = 100;
		s[0] = (uint8_t)i;
		lk_ring_prod_commit(&r, 2);
	}
	is_int(lk_ring_req_free(&r), 0, "three packets of 2 slots used the 6 requests");
	ok(lk_ring_push(&r, old, true), "first push notifies (rsp_event starts at 1)");
	lk_ring_req_arm(&r, 4);
	ok(!lk_ring_post(&r, 2, true), "a post short of the armed 4 is silent");
	ok(lk_ring_post(&r, 2, true), "the post that reaches it notifies");
	is_int(lk_ring_avail(&r), 3, "3 packets available");
	uint32_t len, cost;
	uint8_t *s1 = lk_ring_cons_slot(&r, 1, &len, &cost);
	ok(len == 100 && cost == 2 && s1[0] == 1, "entry 1: length, cost, data");
	old = lk_ring_prod_idx(&r);
	lk_ring_prod_slot(&r, &lp);
	*lp = 10;
	lk_ring_prod_commit(&r, 1);
	ok(!lk_ring_push(&r, old, true), "a push while the consumer is busy (event not re-armed) is silent");
	ok(lk_ring_push(&r, old, false), "without suppression every push notifies");
	lk_ring_cons_release(&r, 4);
	ok(!lk_ring_final_check(&r), "final check after draining: nothing more");
	old = lk_ring_prod_idx(&r);
	lk_ring_prod_slot(&r, &lp);
	*lp = 10;
	lk_ring_prod_commit(&r, 1);
	ok(lk_ring_push(&r, old, true), "after the re-arm the next push notifies");
	ok(lk_ring_final_check(&r), "final check sees the new packet");
	free(mem);
	close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

/* README.md's model table (found beside the build tree: build/tests/t-model
 * -> ../../README.md) has one row per parameter, with the table's values. */
static void readme(void)
{
	char exe[4096], path[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	ok(n > 0, "where am I");
	if (n <= 0)
		return;
	exe[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *sl = strrchr(exe, '/');
		if (sl)
			*sl = 0;
	}
	snprintf(path, sizeof path, "%s/README.md", exe);
	FILE *f = fopen(path, "r");
	ok(f != NULL, "README.md beside the build tree (%s)", path);
	if (!f)
		return;
	static char text[1 << 20];
	size_t len = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[len] = 0;
	size_t np;
	const struct lk_model_param *t = lk_model_params(&np);
	int missing = 0;
	for (size_t i = 0; i < np; i++) {
		char a[40], b[40], row[256];
		snprintf(a, sizeof a, t[i].no_effect == floor(t[i].no_effect) ? "%.0f" : "%g", t[i].no_effect);
		snprintf(b, sizeof b, t[i].paper == floor(t[i].paper) ? "%.0f" : "%g", t[i].paper);
		snprintf(row, sizeof row, "| `%s` | %s | %s | %s |", t[i].key, t[i].unit, a, b);
		if (!strstr(text, row)) {
			diag("README.md lacks the row '%s'", row);
			missing++;
		}
	}
	is_int(missing, 0, "README's model table: every key with its unit, no-effect and paper value");
}

int main(void)
{
	table();
	profiles();
	parsing();
	ring();
	readme();
	return done_testing();
}
