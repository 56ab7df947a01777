/* t-coll-procstat: /proc/stat, /proc/PID/stat and /proc/net/dev parsing on the
 * fixture files in tests/data/proc, interface-counter deltas across a counter
 * reset, and errors on malformed input. */
#include "collectors/procstat.h"
#include "tests/tap.h"

#include <unistd.h>

static const char *root = "tests/data";

static void test_cpus(void)
{
	struct lk_cpustat c[8];
	int n = 0;
	struct lk_err e = {0};
	ok(lk_procstat_read_cpus(root, c, 8, &n, &e) == 0, "fixture /proc/stat parses %s", e.msg);
	is_int(n, 3, "total line + 2 CPUs");
	is_int(c[0].cpu, -1, "first line is the total");
	is_int(c[2].cpu, 1, "third line is cpu1");
	ok(c[2].user == 1654 && c[2].nice == 0 && c[2].system == 1127 && c[2].idle == 110936 &&
	   c[2].iowait == 275 && c[2].irq == 6 && c[2].softirq == 26 && c[2].steal == 5 &&
	   c[2].ncols == 10, "cpu1 columns user..steal in order");
	is_int((long long)lk_cpustat_busy(&c[2]), 1654 + 1127 + 6 + 26, "busy = user+nice+system+irq+softirq");

	/* an old kernel: 7 columns, no steal */
	ok(lk_procstat_parse_cpus("cpu 1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n", "old", c, 8, &n, &e) == 0 &&
	   n == 2 && c[1].ncols == 7 && c[1].softirq == 7, "7-column (pre-steal) lines parse, ncols says so");
	ok(lk_procstat_parse_cpus("intr 1 2\n", "x.stat", c, 8, &n, &e) == -1 &&
	   strstr(e.msg, "x.stat") && strstr(e.msg, "no cpu lines"), "no cpu line: %s", e.msg);
	ok(lk_procstat_parse_cpus("cpu 1 2 3 4\ncpu0 1 x 3 4\n", "y", c, 8, &n, &e) == -1 &&
	   strstr(e.msg, "y:2") && strstr(e.msg, "field 2"), "garbage field named with line: %s", e.msg);
	ok(lk_procstat_parse_cpus("cpu 1 2\n", "z", c, 8, &n, &e) == -1, "too few fields refused: %s", e.msg);
	ok(lk_procstat_parse_cpus("cpu 1 2 3 4\ncpu0 1 2 3 4\ncpu1 1 2 3 4\n", "w", c, 2, &n, &e) == -1 &&
	   strstr(e.msg, "more than 2"), "more lines than room is an error, not silent: %s", e.msg);

	ok(lk_procstat_read_cpus(NULL, c, 8, &n, &e) == 0 && n >= 2 && c[n - 1].cpu == n - 2,
	   "the live /proc/stat parses (%d lines)", n);
	ok(lk_procstat_read_cpus("tests/data/nonexistent", c, 8, &n, &e) == -1 &&
	   strstr(e.msg, "tests/data/nonexistent/proc/stat"), "missing file named: %s", e.msg);
}

static void test_pid(void)
{
	struct lk_pidstat p;
	struct lk_err e = {0};
	ok(lk_procstat_read_pid(root, 4242, &p, &e) == 0, "fixture /proc/4242/stat parses %s", e.msg);
	is_str(p.comm, "lrokit (recv) x", "comm with spaces and parentheses");
	ok(p.pid == 4242 && p.state == 'S', "pid and state");
	ok(p.utime == 1234 && p.stime == 567 && p.cutime == 8 && p.cstime == 9, "utime stime cutime cstime");
	is_int((long long)p.starttime, 114319, "starttime");
	is_int(p.processor, 1, "processor (field 39)");
	ok(lk_procstat_read_pid(root, 4243, &p, &e) == -1 && strstr(e.msg, "no such process") &&
	   strstr(e.msg, "4243"), "absent pid: %s", e.msg);
	ok(lk_procstat_parse_pid("12 (x) S 1 2 3", "short", &p, &e) == -1 && strstr(e.msg, "short"),
	   "truncated stat line: %s", e.msg);
	ok(lk_procstat_parse_pid("12 x S 1 2 3", "nocomm", &p, &e) == -1 && strstr(e.msg, "comm"),
	   "no comm: %s", e.msg);
	ok(lk_procstat_read_pid(NULL, 0, &p, &e) == 0 && p.pid == getpid() && p.state == 'R',
	   "own live /proc/self/stat");
}

static void test_netdev(void)
{
	struct lk_ifstat t[8];
	int n = 0;
	struct lk_err e = {0};
	ok(lk_netdev_read_file("tests/data/proc/net/dev", t, 8, &n, &e) == 0 && n == 2,
	   "fixture /proc/net/dev: 2 interfaces %s", e.msg);
	const struct lk_ifstat *v = lk_netdev_find(t, n, "vif1.0");
	ok(v && v->rx_bytes == 1000000 && v->rx_packets == 700 && v->rx_drop == 3 &&
	   v->tx_bytes == 5000000 && v->tx_packets == 3500 && v->tx_errs == 1 && v->tx_drop == 2,
	   "vif1.0 rx and tx columns (tx = columns 9..12)");
	ok(lk_netdev_find(t, n, "eth9") == NULL, "absent interface: NULL");
	ok(lk_netdev_parse("junk\n", "j", t, 8, &n, &e) == -1 && strstr(e.msg, "header"),
	   "not /proc/net/dev: %s", e.msg);
	ok(lk_netdev_parse("a|\nb|\n eth0: 1 2 3\n", "k", t, 8, &n, &e) == -1 && strstr(e.msg, "k:3") &&
	   strstr(e.msg, "eth0"), "short row: %s", e.msg);

	/* deltas across a reset: dev -> dev.reset (vif re-created) -> dev.after */
	const char *seq[] = {"tests/data/proc/net/dev", "tests/data/proc/net/dev.reset",
			     "tests/data/proc/net/dev.after"};
	struct lk_ctr rxb = {0}, txb = {0}, rxp = {0}, lo = {0};
	for (int i = 0; i < 3; i++) {
		if (lk_netdev_read_file(seq[i], t, 8, &n, &e) < 0) {
			ok(0, "%s", e.msg);
			return;
		}
		v = lk_netdev_find(t, n, "vif1.0");
		lk_ctr_add(&rxb, v->rx_bytes);
		lk_ctr_add(&txb, v->tx_bytes);
		lk_ctr_add(&rxp, v->rx_packets);
		lk_ctr_add(&lo, lk_netdev_find(t, n, "lo")->rx_bytes);
	}
	is_int((long long)rxb.delta, 20000 + 30000, "rx_bytes delta counts from zero after the reset");
	is_int((long long)txb.delta, 90000 + 100000, "tx_bytes delta across the reset");
	is_int((long long)rxp.delta, 14 + 21, "rx_packets delta across the reset");
	ok(rxb.resets == 1 && txb.resets == 1, "one reset seen");
	ok(lo.delta == 100 && lo.resets == 0, "monotonic counter: plain difference, no reset");
	struct lk_ctr one = {0};
	lk_ctr_add(&one, 77);
	ok(one.delta == 0 && one.nsamples == 1, "a single sample has no delta");

	int fd = lk_netdev_open(NULL, &e);
	ok(fd >= 0 && lk_netdev_read_fd(fd, "own netns", t, 8, &n, &e) == 0 && lk_netdev_find(t, n, "lo"),
	   "own namespace /proc/net/dev through an fd %s", fd < 0 ? e.msg : "");
	if (fd >= 0)
		close(fd);
	ok(lk_netdev_open("lk-no-such-netns", &e) == -1 && strstr(e.msg, "lk-no-such-netns"),
	   "absent namespace named: %s", e.msg);
}

int main(void)
{
	test_cpus();
	test_pid();
	test_netdev();
	return done_testing();
}
