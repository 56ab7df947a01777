/* lrokit info: what this machine supports for lrokit. */
#include "cli/commands.h"
#include "lib/err.h"
#include "lib/proc.h"
#include "lib/version.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char *pmu_probe(char *why, size_t n)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_HARDWARE;
	a.config = PERF_COUNT_HW_CPU_CYCLES;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd >= 0) {
		close((int)fd);
		return "yes";
	}
	snprintf(why, n, "perf_event_open(cycles): %s", strerror(errno));
	return "no";
}

static void row(const char *what, const char *val, const char *note)
{
	printf("%-22s %-4s %s\n", what, val, note ? note : "");
}

int cmd_info(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: lrokit info\n\nReports what this machine supports: root, network "
		       "namespaces, TAP, hardware PMU, Xen, gnuplot, capture tools.\n");
		return 0;
	}
	struct utsname u;
	uname(&u);
	printf("lrokit %s on %s %s (%s)\n", lk_version, u.sysname, u.release, u.machine);
	row("root", geteuid() == 0 ? "yes" : "no", geteuid() ? "run/bench need root or CAP_NET_ADMIN" : NULL);
	row("network namespaces", access("/proc/self/ns/net", R_OK) == 0 ? "yes" : "no", NULL);
	row("TAP (/dev/net/tun)", access("/dev/net/tun", R_OK | W_OK) == 0 ? "yes" : "no", NULL);
	char why[256] = "";
	const char *pmu = pmu_probe(why, sizeof why);
	row("hardware PMU", pmu, *pmu == 'n' ? why : "cycles/instructions available");
	char hv[64] = "";
	int fd = open("/sys/hypervisor/type", O_RDONLY);
	if (fd >= 0) {
		ssize_t r = read(fd, hv, sizeof hv - 1);
		hv[r > 0 ? r : 0] = 0;
		close(fd);
		hv[strcspn(hv, "\n")] = 0;
	}
	bool xen = !strcmp(hv, "xen");
#ifdef LK_HAVE_XENSTAT
	row("Xen", xen ? "yes" : "no", xen ? "xenstat collector active" : "not on Xen: xenstat collector steps aside");
#else
	row("Xen", xen ? "yes" : "no", "xenstat collector not built (no libxenstat)");
#endif
	const char *tools[] = {"gnuplot", "tcpdump", "tcptrace", "tshark", "ethtool", "nft", "tc", "ip"};
	for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
		char path[4096];
		bool found = lk_which(tools[i], path, sizeof path) == 0;
		row(tools[i], found ? "yes" : "no", found ? path : NULL);
	}
	return 0;
}
