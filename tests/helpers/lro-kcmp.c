/* lro-kcmp - run the Linux GRO selftest cases through the kernel (a veth pair
 * with GRO on at the receiver) and through lro_ref, and print both results.
 *
 *   lro-kcmp TXNS TXDEV RXNS RXDEV FAM CASE...
 *
 * Opens an AF_PACKET receive socket on RXDEV inside network namespace RXNS and
 * a sending socket on TXDEV inside TXNS (sockets keep their namespace), then
 * per case: sends the crafted frames (with the selftest's sleeps), reads what
 * the kernel delivers on RXDEV (taps run after GRO) until the FIN terminator,
 * and prints one line:
 *   CASE FAM|kernel payload list|engine payload list|expected list
 * A case whose kernel result differs from the engine's is retried up to 3
 * times (the selftest retries, timing is not exact). Exit 0 unless setup fails.
 */
#include "lib/clock.h"
#include "lib/proc.h"
#include "lro_ref/lro.h"
#include "tests/helpers/lro-cases.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int in_ns(const char *ns)
{
	struct lk_err e = {0};
	if (lk_netns_enter(ns, NULL, &e) < 0) {
		fprintf(stderr, "lro-kcmp: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static uint64_t now_ms(void)
{
	return lk_mono_ns() / 1000000;
}

static uint8_t rbuf[70000];

/* Read until FIN (or 3 s of nothing); fill the payload list. */
static int kernel_recv(int rx, int *got, int max)
{
	int n = 0;
	uint64_t deadline = now_ms() + 3000;
	for (;;) {
		int64_t left = (int64_t)(deadline - now_ms());
		if (left <= 0)
			return -1;
		struct pollfd pf = {.fd = rx, .events = POLLIN};
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t r = recv(rx, rbuf, sizeof rbuf, 0);
		if (r < 0)
			continue;
		int v = lc_rx_payload(rbuf, (uint32_t)r);
		if (v == -2)
			continue;
		if (v == -1)
			return n;
		if (n < max)
			got[n++] = v;
	}
}

static void drain(int rx)
{
	while (recv(rx, rbuf, sizeof rbuf, MSG_DONTWAIT) > 0)
		;
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: lro-kcmp TXNS TXDEV RXNS RXDEV 4|6 CASE...\n");
		return 2;
	}
	int fam = atoi(argv[5]);
	if (in_ns(argv[3]) < 0)
		return 1;
	int rx = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (rx < 0) {
		perror("lro-kcmp: rx socket");
		return 1;
	}
	struct sockaddr_ll ra = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				 .sll_ifindex = (int)if_nametoindex(argv[4])};
	int sz = 8 << 20;
	setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
	if (!ra.sll_ifindex || bind(rx, (struct sockaddr *)&ra, sizeof ra) < 0) {
		fprintf(stderr, "lro-kcmp: cannot bind to %s: %s\n", argv[4], strerror(errno));
		return 1;
	}
	if (in_ns(argv[1]) < 0)
		return 1;
	int tx = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll ta = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[2]),
				 .sll_halen = 6, .sll_addr = {0xaa, 0, 0, 0, 0, 1}};
	if (tx < 0 || !ta.sll_ifindex) {
		fprintf(stderr, "lro-kcmp: cannot open a packet socket on %s\n", argv[2]);
		return 1;
	}

	for (int ci = 6; ci < argc; ci++) {
		struct lc_case c;
		if (lc_make(argv[ci], fam, &c) < 0) {
			printf("%s %d|n/a|n/a|n/a\n", argv[ci], fam);
			continue;
		}
		/* engine */
		struct lro_config cfg;
		lro_config_default(&cfg, LRO_POLICY_LINUX);
		struct lc_sink es = {0};
		struct lro *l = lro_new(&cfg, lc_sink_emit, &es);
		lc_run(l, c.f, c.n, &es, NULL);
		lro_free(l);
		char eng[512], exp[512], ker[512] = "timeout";
		lc_fmt(eng, sizeof eng, es.got, es.ngot);
		lc_fmt(exp, sizeof exp, c.exp, c.nexp);
		for (int attempt = 0; attempt < 3; attempt++) {
			drain(rx);
			for (int i = 0; i < c.n; i++) {
				if (c.f[i].sleep_us)
					usleep(c.f[i].sleep_us);
				if (sendto(tx, c.f[i].d, c.f[i].len, 0, (struct sockaddr *)&ta, sizeof ta) !=
				    (ssize_t)c.f[i].len) {
					fprintf(stderr, "lro-kcmp: sendto: %s\n", strerror(errno));
					return 1;
				}
			}
			int got[LC_MAXF * 2];
			int n = kernel_recv(rx, got, LC_MAXF * 2);
			if (n < 0)
				snprintf(ker, sizeof ker, "timeout");
			else
				lc_fmt(ker, sizeof ker, got, n);
			if (!strcmp(ker, eng))
				break;
			usleep(300000);
		}
		printf("%s %d|%s|%s|%s\n", argv[ci], fam, ker, eng, exp);
		fflush(stdout);
		lc_free(&c);
	}
	return 0;
}
