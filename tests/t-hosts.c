/* testbed/hosts: the host description file and the ssh command lines. */
#include "collectors/sampleline.h"
#include "testbed/configs.h"
#include "testbed/hostrun.h"
#include "testbed/hosts.h"
#include "testbed/remote.h"
#include "tests/tap.h"

static int parse(const char *text, struct lk_hosts *h, struct lk_err *e)
{
	memset(e, 0, sizeof *e);
	return lk_hosts_parse(text, "hosts", h, e);
}

int main(void)
{
	struct lk_hosts h;
	struct lk_err e;
	const char *plain = "# two machines\n"
			    "ssh_options = -F /tmp/cfg  -o ConnectTimeout=5\n"
			    "[sender]\n ssh = alice@a.lab   # the sender\n iface = eth1\n"
			    "[ receiver ]\nssh=b.lab\niface=eth2\naddress=10.1.0.2\n"
			    "lrokit=/opt/lk/lrokit\nssh_options = -p 2222\n";
	ok(parse(plain, &h, &e) == 0, "plain pair parses (%s)", e.msg);
	ok(!h.xen, "not Xen");
	is_str(h.role[LK_ROLE_SENDER].dest, "alice@a.lab", "sender's destination");
	is_str(h.role[LK_ROLE_SENDER].lrokit, "lrokit", "lrokit defaults to the remote PATH");
	is_str(h.role[LK_ROLE_RECEIVER].lrokit, "/opt/lk/lrokit", "receiver's lrokit");
	is_str(h.role[LK_ROLE_RECEIVER].address, "10.1.0.2", "receiver's address");
	is_int(h.role[LK_ROLE_SENDER].nopts, 4, "global ssh options split in words");
	is_int(h.role[LK_ROLE_RECEIVER].nopts, 6, "section options added after the global ones");
	is_str(h.role[LK_ROLE_RECEIVER].opts[4], "-p", "section option order");
	ok(lk_hosts_receiver(&h) == LK_ROLE_RECEIVER, "plain: the receiver receives");

	const char *argv[LK_HOST_SSH_ARGV];
	int n = lk_host_ssh_argv(&h.role[LK_ROLE_RECEIVER], "uname -r", argv);
	is_str(argv[0], "ssh", "argv[0] ssh");
	is_str(argv[1], "-F", "options first");
	is_str(argv[n - 3], "b.lab", "then the destination");
	is_str(argv[n - 2], "--", "then --");
	is_str(argv[n - 1], "uname -r", "then the command");
	ok(argv[n] == NULL, "NULL-terminated");
	int batch = 0;
	for (int i = 0; i < n; i++)
		batch += !strcmp(argv[i], "BatchMode=yes");
	is_int(batch, 1, "never prompts");

	const char *xen = "[sender]\nssh=a\niface=eth0\n[dom0]\nssh=root@xen\niface=eth0\nvif=vif1.0\n"
			  "[guest]\nssh=g\niface=eth0\naddress=192.168.0.9\n";
	ok(parse(xen, &h, &e) == 0, "Xen host parses (%s)", e.msg);
	ok(h.xen, "Xen");
	is_str(h.role[LK_ROLE_DOM0].vif, "vif1.0", "dom0's vif");
	ok(lk_hosts_receiver(&h) == LK_ROLE_GUEST, "Xen: the guest receives");

	struct { const char *text, *want; } bad[] = {
		{"[sender]\nssh=a\niface=e\n", "no [receiver] section"},
		{"[receiver]\nssh=a\niface=e\naddress=x\n", "no [sender] section"},
		{"[sender]\nssh=a\niface=e\n[receiver]\nssh=b\niface=e\n", "[receiver] has no 'address'"},
		{"[sender]\nssh=a\n[receiver]\nssh=b\niface=e\naddress=x\n", "[sender] has no 'iface'"},
		{"[sender]\nssh=a\niface=e\n[sender]\n", "hosts:4: [sender] given twice"},
		{"[client]\n", "hosts:1: unknown role 'client'"},
		{"ssh=a\n", "hosts:1: 'ssh' outside a [ROLE] section"},
		{"[sender]\nport=22\n", "hosts:2: unknown key 'port' in [sender]"},
		{"[sender]\nssh=a b\n", "hosts:2: ssh wants one word"},
		{"[sender]\nvif=x\n", "unknown key 'vif' in [sender]"},
		{"[sender]\nssh a\n", "hosts:2: want 'key = value'"},
		{"[sender\n", "hosts:1: bad section"},
		{"[sender]\nssh=a\niface=e\n[receiver]\nssh=b\niface=e\naddress=x\n[dom0]\nssh=c\niface=e\n",
		 "[receiver] beside [dom0]/[guest]"},
		{"[sender]\nssh=a\niface=e\n[dom0]\nssh=c\niface=e\n", "needs both [dom0] and [guest]"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(bad[i].text, &h, &e);
		ok(rc < 0 && strstr(e.msg, bad[i].want) && e.code == LK_EXIT_USAGE,
		   "refused: %s (got '%s')", bad[i].want, e.msg);
	}

	char q[128];
	ok(lk_sh_quote("eth0", q, sizeof q) == 0 && !strcmp(q, "eth0"), "plain word unquoted");
	ok(lk_sh_quote("tcp port 5301", q, sizeof q) == 0 && !strcmp(q, "'tcp port 5301'"),
	   "blanks quoted: %s", q);
	ok(lk_sh_quote("it's", q, sizeof q) == 0 && !strcmp(q, "'it'\\''s'"), "quote escaped: %s", q);
	ok(lk_sh_quote("", q, sizeof q) == 0 && !strcmp(q, "''"), "empty word: %s", q);
	ok(lk_sh_quote("$(reboot)", q, sizeof q) == 0 && !strcmp(q, "'$(reboot)'"),
	   "substitution quoted: %s", q);
	ok(lk_sh_quote("abcdef", q, 4) < 0, "too long refused");
	const char *words[] = {"ethtool", "-K", "eth 0", "gro", "off", NULL};
	ok(lk_sh_join(words, q, sizeof q) == 0 && !strcmp(q, "ethtool -K 'eth 0' gro off"),
	   "joined: %s", q);

	/* ethtool -k as a NIC with LRO and a veth show it */
	struct lk_offloads off;
	const char *nic = "Features for eth1:\nrx-checksumming: on\n"
			  "generic-receive-offload: on\nlarge-receive-offload: off\n"
			  "rx-vlan-offload: on [fixed]\n";
	ok(lk_offloads_parse(nic, &off, &e) == 0 && off.have_gro && off.gro && !off.gro_fixed &&
	   off.have_lro && !off.lro && !off.lro_fixed, "ethtool -k of a NIC with LRO");
	const char *veth = "Features for vr:\ngeneric-receive-offload: off\n"
			   "large-receive-offload: off [fixed]\n";
	ok(lk_offloads_parse(veth, &off, &e) == 0 && !off.gro && off.lro_fixed && !off.lro,
	   "ethtool -k of a veth: LRO [fixed] off");
	ok(lk_offloads_parse("Features for x:\nrx-checksumming: on\n", &off, &e) < 0,
	   "no receive offloads: refused (%s)", e.msg);

	/* collector lines: written and read back, anything else refused */
	char *buf = NULL;
	size_t blen = 0;
	FILE *mf = open_memstream(&buf, &blen);
	lk_sampleline_write(mf, 1733270400123456789ull, "iface", "eth1.rx_bytes", 123456);
	lk_sampleline_write(mf, 5, "procstat", "cpu0.busy_ns", 0.5);
	lk_sampleline_write(mf, 5, "bad source", "k", 1); /* not a word: not written */
	fclose(mf);
	struct lk_sampleline sl;
	char *nl = strchr(buf, '\n'), first[256];
	snprintf(first, sizeof first, "%.*s", nl ? (int)(nl - buf + 1) : 0, buf);
	ok(nl && lk_sampleline_parse(first, &sl) == 0 && sl.t_ns == 1733270400123456789ull &&
	   !strcmp(sl.source, "iface") && !strcmp(sl.key, "eth1.rx_bytes") && sl.value == 123456,
	   "a sample line reads back: %.*s", nl ? (int)(nl - buf) : 0, buf);
	ok(nl && lk_sampleline_parse(nl + 1, &sl) == 0 && sl.value == 0.5, "a fraction reads back");
	ok(nl && !strchr(strchr(nl + 1, '\n') + 1, '\n'), "a bad source is not written");
	free(buf);
	const char *badl[] = {"", "{}", "{\"t_ns\":1,\"source\":\"a\",\"key\":\"b\",\"value\":x}",
			      "{\"t_ns\":-1,\"source\":\"a\",\"key\":\"b\",\"value\":1}",
			      "{\"t_ns\":1,\"source\":\"a b\",\"key\":\"b\",\"value\":1}",
			      "{\"t_ns\":1,\"source\":\"a\",\"key\":\"b\",\"value\":1} x"};
	for (size_t i = 0; i < sizeof badl / sizeof badl[0]; i++)
		ok(lk_sampleline_parse(badl[i], &sl) < 0, "refused line %zu: %s", i, badl[i]);

	/* bench --hosts' configurations are names of the one table; native-lro
	   is hosts-only there */
	int known = 0;
	for (int i = 0; lk_hostcfgs[i].name; i++)
		known += lk_config_find(lk_hostcfgs[i].name) != NULL;
	is_int(known, LK_NHOSTCFGS, "every bench --hosts configuration is in testbed/configs.h");
	const struct lk_config *nlro = lk_config_find("native-lro");
	ok(nlro && nlro->hosts_only && !lk_config_find("native")->hosts_only,
	   "native-lro is hosts-only, native is not");
	/* native-lro needs LRO the receiver's NIC can switch */
	static struct lk_host_facts facts[LK_NROLES];
	facts[LK_ROLE_RECEIVER].have_off = true;
	facts[LK_ROLE_RECEIVER].off = (struct lk_offloads){.have_gro = true, .gro = true,
							   .have_lro = true, .lro = false,
							   .lro_fixed = true};
	char why[512] = "";
	const struct lk_hostcfg *hc = lk_hostcfg_find("native-lro");
	ok(hc && !lk_hostcfg_possible(hc, facts, false, why, sizeof why) &&
	   strstr(why, "native-lro is not available on these hosts: the receiver's ethtool -k shows "
		  "large-receive-offload: off [fixed]") && !strchr(why, '\n'),
	   "LRO [fixed] off: native-lro not available, one line: %s", why);
	facts[LK_ROLE_RECEIVER].off.lro_fixed = false;
	ok(hc && lk_hostcfg_possible(hc, facts, false, why, sizeof why),
	   "LRO that can be switched: native-lro possible");
	facts[LK_ROLE_RECEIVER].off.have_lro = false;
	why[0] = 0;
	ok(hc && !lk_hostcfg_possible(hc, facts, false, why, sizeof why) &&
	   strstr(why, "shows no large-receive-offload"), "no LRO at all: not available: %s", why);

	/* lrokit recv/send --json: their own CPU */
	struct lk_selfcpu sc;
	lk_selfcpu_start(&sc);
	volatile double x = 0;
	for (long i = 0; i < 20000000; i++)
		x = x + (double)i * 0.5;
	lk_selfcpu_stop(&sc);
	diag("busy loop sum %g", (double)x);
	char *js = NULL;
	size_t jn = 0;
	FILE *jf = open_memstream(&js, &jn);
	lk_selfcpu_json(jf, &sc);
	fclose(jf);
	lk_selfcpu_free(&sc);
	const char *tc = js ? strstr(js, ",\"cpu\":{\"task-clock\":") : NULL;
	double tcv = tc ? strtod(tc + 21, NULL) : 0;
	ok(tc && tcv > 1e6, "selfcpu: task-clock of this process counted (%.0f ns)", tcv);
	ok(js && strstr(js, "\"rusage_cpu_ns\":") && strstr(js, "\"cycles\":") &&
	   (!strstr(js, "\"cycles\":null") || strstr(js, "\"why\":{\"cycles\":\"")),
	   "selfcpu: cycles counted, or null with the reason: %.300s", js ? js : "");
	free(js);
	done_testing();
}
