/* tests/helpers/wiredelay.c - a wire with a fixed one-way delay and random
 * loss between two interfaces, for tests that need real kernel TCP over a
 * path of a chosen round-trip time (this kernel has no netem):
 *
 *   wiredelay A B SEG0 SEG1 DELAY_US [LOSS_PER_MILLE [SEED]]
 *
 * Run it (as root) in a namespace of its own that holds four interfaces:
 * A and B are the two ends of the wire (veths whose peers are the hosts or
 * a router), SEG0/SEG1 a veth pair used as the kernel's segmenter (set
 * "tso off gso off tx off" on both: a frame written into one comes out of
 * the other as wire-sized frames with complete checksums).
 *
 * Every frame read on A is sent on B (and B's on A) DELAY_US microseconds
 * after it was read, in order. What the peers write may be a GSO frame or
 * carry a partial ("offloaded") checksum, as a host's NIC would still have to
 * finish it; such a frame is first sent through SEG0 -> SEG1 (or SEG1 -> SEG0)
 * with its virtio_net_hdr, where the kernel segments it and completes its
 * checksum (validate_xmit_skb: software GSO and skb_checksum_help), so what
 * leaves the wire is what a NIC would have put on a real one: frames of at
 * most the MTU with valid checksums, IP IDs incremented per segment.
 * TCP frames without SYN are then dropped with probability
 * LOSS_PER_MILLE / 1000 (SYNs are kept so that no transfer waits for a
 * 1 s SYN retransmission timeout); ARP, neighbour discovery and the rest pass.
 *
 * Prints "ready" on stdout once all sockets are bound; runs until SIGTERM or
 * SIGINT, then prints "frames N dropped N" on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXF (65536 + 256)

struct frame {
	struct frame *next;
	uint64_t due;
	uint32_t len;
	uint8_t data[];
};

struct queue {
	struct frame *head, *tail;
};

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11);
}

static int open_if(const char *name)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("wiredelay: socket");
		exit(1);
	}
	int one = 1, big = 8 << 20;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
		perror("wiredelay: setsockopt");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
	struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				 .sll_ifindex = (int)if_nametoindex(name)};
	if (!sa.sll_ifindex || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "wiredelay: bind %s: %s\n", name, strerror(errno));
		exit(1);
	}
	struct packet_mreq mr = {.mr_ifindex = sa.sll_ifindex, .mr_type = PACKET_MR_PROMISC};
	setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
	return fd;
}

static uint64_t n_frames, n_dropped;

/* A TCP frame without SYN (Ethernet, IPv4 without fragments or IPv6 with TCP
 * as the next header). */
static bool droppable(const uint8_t *f, uint32_t len)
{
	if (len < 14 + 40)
		return false;
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
	const uint8_t *ip = f + 14, *th;
	if (et == 0x0800) {
		unsigned ihl = (ip[0] & 15u) * 4;
		if (ip[9] != 6 || len < 14 + ihl + 20)
			return false;
		th = ip + ihl;
	} else if (et == 0x86dd) {
		if (ip[6] != 6 || len < 14 + 40 + 20)
			return false;
		th = ip + 40;
	} else {
		return false;
	}
	return !(th[13] & 0x02);
}

/* A wire-ready frame read at time t: lose it or queue it for t + delay. */
static void enqueue(struct queue *q, const uint8_t *f, uint32_t len, uint64_t t, uint64_t delay,
		    uint32_t loss)
{
	n_frames++;
	if (loss && droppable(f, len) && rnd() % 1000 < loss) {
		n_dropped++;
		return;
	}
	struct frame *fr = malloc(sizeof *fr + len);
	if (!fr) {
		n_dropped++;
		return;
	}
	fr->next = NULL;
	fr->due = t + delay;
	fr->len = len;
	memcpy(fr->data, f, len);
	if (q->tail)
		q->tail->next = fr;
	else
		q->head = fr;
	q->tail = fr;
}

/* Send frame f (with a zero virtio_net_hdr: complete, not GSO) on fd. */
static void send_plain(int fd, const uint8_t *f, uint32_t len)
{
	static uint8_t buf[sizeof(struct virtio_net_hdr) + MAXF];
	memset(buf, 0, sizeof(struct virtio_net_hdr));
	memcpy(buf + sizeof(struct virtio_net_hdr), f, len);
	for (int i = 0; i < 1000; i++) {
		if (send(fd, buf, sizeof(struct virtio_net_hdr) + len, 0) >= 0 || errno != EAGAIN)
			return;
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		poll(&p, 1, 1);
	}
}

/* Read everything waiting on fd. Frames that still need the kernel's help
 * (GSO or partial checksum) go to seg (the segmenter end) with their header;
 * the others are queued on q. */
static void drain(int fd, int seg, struct queue *q, uint64_t delay, uint32_t loss)
{
	static uint8_t buf[sizeof(struct virtio_net_hdr) + MAXF];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0)
			return;
		if ((size_t)n < sizeof(struct virtio_net_hdr) + 14)
			continue;
		const struct virtio_net_hdr *h = (const struct virtio_net_hdr *)buf;
		if (seg >= 0 && (h->gso_type != VIRTIO_NET_HDR_GSO_NONE ||
				 (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))) {
			if (send(seg, buf, (size_t)n, 0) < 0)
				n_dropped++;
			continue;
		}
		enqueue(q, buf + sizeof(struct virtio_net_hdr),
			(uint32_t)((size_t)n - sizeof(struct virtio_net_hdr)), now_ns(), delay, loss);
	}
}

/* Send the frames of q that are due on fd; returns the next due time or 0. */
static uint64_t release(struct queue *q, int fd, uint64_t t)
{
	while (q->head && q->head->due <= t) {
		struct frame *f = q->head;
		send_plain(fd, f->data, f->len);
		q->head = f->next;
		if (!q->head)
			q->tail = NULL;
		free(f);
	}
	return q->head ? q->head->due : 0;
}

int main(int argc, char **argv)
{
	if (argc < 6 || argc > 8) {
		fprintf(stderr, "usage: wiredelay A B SEG0 SEG1 DELAY_US [LOSS_PER_MILLE [SEED]]\n");
		return 2;
	}
	uint64_t delay = strtoull(argv[5], NULL, 10) * 1000ull;
	uint32_t loss = argc > 6 ? (uint32_t)strtoul(argv[6], NULL, 10) : 0;
	if (argc > 7)
		rs ^= strtoull(argv[7], NULL, 10) * 0x9e3779b97f4a7c15ull;
	if (loss > 1000)
		loss = 1000;
	int a = open_if(argv[1]), b = open_if(argv[2]);
	int s0 = open_if(argv[3]), s1 = open_if(argv[4]);
	struct sigaction sa = {.sa_handler = on_sig};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	struct queue ab = {0}, ba = {0}; /* frames toward B, toward A */
	while (!stop) {
		uint64_t t = now_ns();
		uint64_t n1 = release(&ab, b, t), n2 = release(&ba, a, t);
		uint64_t next = n1 && n2 ? (n1 < n2 ? n1 : n2) : (n1 ? n1 : n2);
		struct timespec to = {1, 0};
		if (next) {
			uint64_t w = next > t ? next - t : 0;
			to.tv_sec = (time_t)(w / 1000000000ull);
			to.tv_nsec = (long)(w % 1000000000ull);
		}
		struct pollfd p[4] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN},
				      {.fd = s0, .events = POLLIN}, {.fd = s1, .events = POLLIN}};
		if (ppoll(p, 4, &to, NULL) < 0 && errno != EINTR)
			break;
		/* A's frames go toward B (through SEG0 -> SEG1 when they need the
		 * kernel); what arrives on SEG1 came from A. */
		drain(a, s0, &ab, delay, loss);
		drain(s1, -1, &ab, delay, loss);
		drain(b, s1, &ba, delay, loss);
		drain(s0, -1, &ba, delay, loss);
	}
	fprintf(stderr, "frames %llu dropped %llu\n", (unsigned long long)n_frames,
		(unsigned long long)n_dropped);
	return 0;
}
