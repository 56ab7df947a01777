/* testbed/stage.c - NIC, netback and netfront stage loops. */
#include "testbed/stage.h"
#include "testbed/ring.h"
#include "lib/clock.h"
#include "lib/record.h"
#include "lro_ref/lro.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/ethernet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define VNET_LEN ((int)sizeof(struct virtio_net_hdr)) /* 10 */
#define FRAME_MAX (65536 + 128)
/* an LRO aggregate goes to a TAP as vnet header + frame header + frags */
#define MAX_IOV (2 + LRO_MAX_FRAGS)
#if defined(IOV_MAX) && IOV_MAX < MAX_IOV
#error "IOV_MAX too small for an aggregate's fragments"
#endif

static volatile sig_atomic_t g_stop, g_dump;
static void on_stop(int s) { (void)s; g_stop = 1; }
static void on_dump(int s) { (void)s; g_dump = 1; }

const char *lk_stage_name(enum lk_stage_kind k)
{
	switch (k) {
	case LK_STAGE_NIC: return "nic";
	case LK_STAGE_NETBACK: return "netback";
	case LK_STAGE_NETFRONT: return "netfront";
	}
	return "?";
}

int lk_stage_parse(const char *s, enum lk_stage_kind *k)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, lk_stage_name((enum lk_stage_kind)i))) {
			*k = (enum lk_stage_kind)i;
			return 0;
		}
	return -1;
}

int lk_stage_shm_create(struct lk_err *e)
{
	int fd = memfd_create("lrokit-ring", MFD_CLOEXEC);
	if (fd < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "memfd_create: %s", strerror(errno));
	size_t sz = 2 * lk_ring_bytes();
	if (ftruncate(fd, (off_t)sz) < 0) {
		close(fd);
		return lk_errf(e, LK_EXIT_RUNTIME, "ring memory (%zu bytes): %s", sz, strerror(errno));
	}
	uint8_t *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return lk_errf(e, LK_EXIT_RUNTIME, "mmap ring memory: %s", strerror(errno));
	}
	lk_ring_init(m);
	lk_ring_init(m + lk_ring_bytes());
	munmap(m, sz);
	return fd;
}

/* ---- ports ---- */

enum port_kind { P_PKT, P_TAP, P_RING };

struct dir {
	const char *name;      /* "rx" / "tx" */
	enum port_kind src, dst;
	int src_fd, dst_fd;    /* pkt/tap fds */
	struct lk_ring *src_ring, *dst_ring;
	bool blocked;          /* dst ring full: wait for space */
	struct lro *lro;
	struct lk_stage_dir_stats st; /* its counters */
};

struct stage {
	const struct lk_stage_opts *o;
	int budget;
	struct dir rx, tx;
	int pkt_fd, tap_fd;
	struct lk_ring rings[2];
	uint8_t *shm;
	size_t shm_len;
	/* recvmmsg buffers */
	uint8_t *bufs;
	struct mmsghdr *msgs;
	struct iovec *iov;
	uint64_t pkt_drops;    /* AF_PACKET tp_drops */
	struct dir *cur;       /* direction the LRO callback writes to */
};

static int tap_open(const char *name, struct lk_err *e)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return lk_errf(e, LK_EXIT_MISSING, "/dev/net/tun: %s", strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	int hs = VNET_LEN;
	unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hs) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, off) < 0) {
		int er = errno;
		close(fd);
		return lk_errf(e, LK_EXIT_RUNTIME, "TAP %s: %s", name, strerror(er));
	}
	return fd;
}

static int pkt_open(const char *ifname, struct lk_err *e)
{
	unsigned idx = if_nametoindex(ifname);
	if (!idx)
		return lk_errf(e, LK_EXIT_RUNTIME, "wire interface %s: %s", ifname, strerror(errno));
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd < 0)
		return lk_errf(e, LK_EXIT_MISSING, "AF_PACKET socket: %s", strerror(errno));
	int one = 1, big = 64 << 20;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)idx};
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		int er = errno;
		close(fd);
		return lk_errf(e, LK_EXIT_RUNTIME, "AF_PACKET on %s: %s", ifname, strerror(er));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	return fd;
}

static void fpp_add(struct dir *d, unsigned n)
{
	int b = 0;
	while (b < LK_FPP_BUCKETS - 1 && n >= (2u << b))
		b++;
	d->st.fpp_hist[b]++;
}

/* TCP segments a frame stands for: GSO frames count by payload / gso_size. */
static uint32_t frame_segs(const struct virtio_net_hdr *vh, uint32_t len)
{
	if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE || !vh->gso_size || len <= vh->hdr_len)
		return 1;
	return (len - vh->hdr_len + vh->gso_size - 1) / vh->gso_size;
}

/* Complete a partial checksum in software, as a NIC's TX checksum offload. */
static void csum_complete(struct virtio_net_hdr *vh, uint8_t *f, uint32_t len)
{
	uint32_t start = vh->csum_start, at = start + vh->csum_offset;
	if (start >= len || at + 2 > len)
		return;
	uint16_t c = (uint16_t)~lro_csum_fold(lro_csum_add(0, f + start, len - start));
	if (c == 0 && vh->csum_offset == 6)
		c = 0xffff; /* UDP: 0 means "no checksum" */
	f[at] = (uint8_t)(c >> 8);
	f[at + 1] = (uint8_t)c;
	vh->flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

/* Deliver one frame (with its vnet header) to the direction's destination.
 * lo: NULL, or the LRO output the frame is; a zero-copy aggregate
 * (lo->nfrags > 0) is f's lo->hdr_len header bytes followed by lo->frags,
 * len bytes in all: written to a TAP/packet socket without gathering (writev),
 * gathered into the slot when the destination is the shared ring. */
static void sink_put(struct stage *s, struct dir *d, struct virtio_net_hdr *vh, uint8_t *f,
		     uint32_t len, const struct lro_out *lo)
{
	static uint8_t gbuf[FRAME_MAX];
	bool frags = lo && lo->nfrags;
	if (frags && (lo->nfrags + 2 > MAX_IOV || (d->dst == P_PKT && vh->gso_type == VIRTIO_NET_HDR_GSO_NONE))) {
		/* not reached with the engine's contract (<= LRO_MAX_FRAGS frags,
		 * aggregates are GSO frames): one buffer then */
		if (len > sizeof gbuf) {
			d->st.drops++;
			snprintf(d->st.last_error, sizeof d->st.last_error, "aggregate too long");
			return;
		}
		lro_out_gather(lo, gbuf);
		f = gbuf;
		frags = false;
	}
	if (d->dst == P_PKT && (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    vh->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		csum_complete(vh, f, len);
		d->st.csum_completed++;
	}
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		d->st.gso_out++;
	if (d->dst == P_RING) {
		uint32_t *lp;
		uint8_t *slot = lk_ring_prod_slot(d->dst_ring, &lp);
		if (!slot || len + VNET_LEN > LK_RING_SLOT_DATA) {
			/* only reachable from the LRO path (the plain path checks space
			 * before taking a frame); count honestly as a drop */
			d->st.drops++;
			snprintf(d->st.last_error, sizeof d->st.last_error, "ring full");
			return;
		}
		memcpy(slot, vh, VNET_LEN);
		if (frags)
			lro_out_gather(lo, slot + VNET_LEN);
		else
			memcpy(slot + VNET_LEN, f, len);
		*lp = len + VNET_LEN;
		lk_ring_prod_commit(d->dst_ring);
	} else {
		struct iovec iov[MAX_IOV] = {{vh, VNET_LEN}, {f, frags ? lo->hdr_len : len}};
		int niov = 2;
		for (uint32_t k = 0; frags && k < lo->nfrags; k++)
			iov[niov++] = (struct iovec){(void *)(uintptr_t)lo->frags[k].p, lo->frags[k].len};
		ssize_t w;
		do
			w = writev(d->dst_fd, iov, niov);
		while (w < 0 && errno == EINTR);
		if (w < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			struct pollfd p = {.fd = d->dst_fd, .events = POLLOUT};
			poll(&p, 1, 100);
			w = writev(d->dst_fd, iov, niov);
		}
		if (w < 0 && errno == EIO) {
			d->st.link_down++; /* TAP not up yet / being torn down */
			return;
		}
		if (w < 0) {
			d->st.drops++;
			snprintf(d->st.last_error, sizeof d->st.last_error, "write: %s", strerror(errno));
			return;
		}
	}
	(void)s;
	d->st.frames_out++;
	d->st.bytes_out += len;
	d->st.segs_out += frame_segs(vh, len);
}

static void lro_emit(void *ctx, const struct lro_out *lo)
{
	struct stage *s = ctx;
	struct virtio_net_hdr vh;
	memset(&vh, 0, sizeof vh);
	if (lo->segs > 1) {
		vh.flags = lo->csum_partial ? VIRTIO_NET_HDR_F_NEEDS_CSUM : VIRTIO_NET_HDR_F_DATA_VALID;
		vh.gso_type = lo->gso_type;
		vh.gso_size = lo->gso_size;
		vh.hdr_len = lo->hdr_len;
		vh.csum_start = lo->csum_start;
		vh.csum_offset = lo->csum_offset;
	}
	/* sink_put does not modify LRO output (csum completion: non-GSO frames
	   to a packet socket, i.e. tx only) */
	sink_put(s, s->cur, &vh, (uint8_t *)(uintptr_t)lo->frame, lo->len, lo);
}

/* One frame entering a direction: through LRO when enabled and plain. */
static void feed(struct stage *s, struct dir *d, struct virtio_net_hdr *vh, uint8_t *f,
		 uint32_t len, uint64_t ts)
{
	d->st.frames_in++;
	d->st.bytes_in += len;
	if (d->lro) {
		if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE &&
		    !(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
			lro_rx(d->lro, f, len, ts);
			return;
		}
		/* already aggregated / partial checksum: keep order, pass whole */
		d->st.lro_bypass++;
		lro_flush_all(d->lro);
	}
	sink_put(s, d, vh, f, len, NULL);
}

static void poll_done(struct stage *s, struct dir *d, unsigned n, uint64_t ts)
{
	if (d->lro)
		lro_poll_end(d->lro, ts);
	if (d->dst == P_RING && n) {
		lk_ring_kick(d->dst_ring);
		d->st.kicks++;
	}
	if (n) {
		d->st.polls++;
		fpp_add(d, n);
		if (n >= (unsigned)s->budget)
			d->st.full_polls++;
	} else {
		d->st.empty_polls++;
	}
}

/* One NAPI-like poll of a direction; returns frames taken from the source. */
static unsigned dir_poll(struct stage *s, struct dir *d)
{
	unsigned n = 0;
	uint64_t ts = lk_mono_ns();
	s->cur = d;
	if (d->src == P_PKT) {
		int k = recvmmsg(d->src_fd, s->msgs, (unsigned)s->budget, MSG_DONTWAIT, NULL);
		for (int i = 0; i < k; i++) {
			uint8_t *b = s->bufs + (size_t)i * FRAME_MAX;
			uint32_t len = s->msgs[i].msg_len;
			if (len < (uint32_t)VNET_LEN + 14 || (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				d->st.drops++;
				continue;
			}
			feed(s, d, (struct virtio_net_hdr *)b, b + VNET_LEN, len - VNET_LEN, ts);
		}
		n = k > 0 ? (unsigned)k : 0;
	} else if (d->src == P_TAP) {
		static uint8_t buf[FRAME_MAX];
		while (n < (unsigned)s->budget) {
			if (d->dst == P_RING) {
				/* netback/netfront: read straight into the shared ring slot */
				uint32_t *lp;
				uint8_t *slot = lk_ring_prod_slot(d->dst_ring, &lp);
				if (!slot) {
					d->blocked = true;
					d->st.ring_full++;
					break;
				}
				ssize_t r = read(d->src_fd, slot, LK_RING_SLOT_DATA);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= VNET_LEN)
					break;
				d->st.frames_in++;
				d->st.bytes_in += (uint64_t)r - VNET_LEN;
				*lp = (uint32_t)r;
				lk_ring_prod_commit(d->dst_ring);
				d->st.frames_out++;
				d->st.bytes_out += (uint64_t)r - VNET_LEN;
				d->st.segs_out += frame_segs((struct virtio_net_hdr *)slot, (uint32_t)r - VNET_LEN);
				if (((struct virtio_net_hdr *)slot)->gso_type)
					d->st.gso_out++;
				n++;
				continue;
			}
			ssize_t r = read(d->src_fd, buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= VNET_LEN)
				break;
			feed(s, d, (struct virtio_net_hdr *)buf, buf + VNET_LEN, (uint32_t)r - VNET_LEN, ts);
			n++;
		}
	} else { /* P_RING */
		lk_evt_clear(d->src_ring->kick_fd);
		uint32_t avail = lk_ring_avail(d->src_ring);
		if (avail > (uint32_t)s->budget)
			avail = (uint32_t)s->budget;
		for (uint32_t i = 0; i < avail; i++) {
			uint32_t len;
			uint8_t *sl = lk_ring_cons_slot(d->src_ring, i, &len);
			if (len <= (uint32_t)VNET_LEN || len > LK_RING_SLOT_DATA) {
				d->st.drops++;
				continue;
			}
			feed(s, d, (struct virtio_net_hdr *)sl, sl + VNET_LEN, len - VNET_LEN, ts);
		}
		n = avail;
		poll_done(s, d, n, ts); /* LRO flush before the slots are released */
		lk_ring_cons_release(d->src_ring, avail);
		return n;
	}
	poll_done(s, d, n, ts);
	return n;
}

#define DIRF(m, t) LK_REC(struct lk_stage_dir_stats, m, t)
const struct lk_rec_field lk_stage_dir_fields[] = {
	DIRF(frames_in, LK_REC_U64), DIRF(frames_out, LK_REC_U64), DIRF(bytes_in, LK_REC_U64),
	DIRF(bytes_out, LK_REC_U64), DIRF(segs_out, LK_REC_U64), DIRF(polls, LK_REC_U64),
	DIRF(empty_polls, LK_REC_U64), DIRF(full_polls, LK_REC_U64), DIRF(drops, LK_REC_U64),
	DIRF(link_down, LK_REC_U64), DIRF(kicks, LK_REC_U64), DIRF(ring_full, LK_REC_U64),
	DIRF(gso_out, LK_REC_U64), DIRF(csum_completed, LK_REC_U64), DIRF(lro_bypass, LK_REC_U64),
	LK_REC_ARRAY(struct lk_stage_dir_stats, fpp_hist, LK_REC_U64),
	DIRF(last_error, LK_REC_STR), DIRF(lro, LK_REC_BOOL),
	LK_REC_END,
};

#define LROF(m) LK_REC(struct lro_stats, m, LK_REC_U64)
const struct lk_rec_field lk_stage_lro_fields[] = {
	LROF(frames_in), LROF(frames_out), LROF(segs_in), LROF(segs_merged), LROF(aggregates_out),
	LROF(data_frames_out), LROF(bypassed), LROF(csum_bad),
	LK_REC_ARRAY(struct lro_stats, flushes, LK_REC_U64),
	LK_REC_END,
};

#define STF(m, t) LK_REC(struct lk_stage_stats, m, t)
static const struct lk_rec_field stage_fields[] = {
	STF(stage, LK_REC_STR), STF(tap, LK_REC_STR), STF(lro, LK_REC_BOOL),
	STF(lro_policy, LK_REC_STR), STF(budget, LK_REC_INT), STF(wire_drops, LK_REC_U64),
	STF(tap_queue_drops, LK_REC_I64),
	LK_REC_END,
};

const char *lk_stage_fpp_bucket(int b)
{
	static const char *const names[LK_FPP_BUCKETS] = {"1", "2-3", "4-7", "8-15", "16-31",
							  "32-63", "64-127", "128+"};
	return b >= 0 && b < LK_FPP_BUCKETS ? names[b] : "?";
}

int lk_stage_stats_write(const char *path, const struct lk_stage_stats *st, struct lk_err *e)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return lk_errf(e, LK_EXIT_RUNTIME, "stats file %s: %s", tmp, strerror(errno));
	lk_rec_write(f, "", stage_fields, st);
	lk_rec_write(f, "rx.", lk_stage_dir_fields, &st->rx);
	lk_rec_write(f, "rx.lro_stats.", lk_stage_lro_fields, &st->rx.lro_stats);
	lk_rec_write(f, "tx.", lk_stage_dir_fields, &st->tx);
	lk_rec_write(f, "tx.lro_stats.", lk_stage_lro_fields, &st->tx.lro_stats);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "stats file %s: %s", path, strerror(errno));
	return 0;
}

static int stats_set(void *ctx, const char *key, const char *val, struct lk_err *e)
{
	struct lk_stage_stats *st = ctx;
	int r;
	if ((r = lk_rec_set("", stage_fields, st, key, val, e)) ||
	    (r = lk_rec_set("rx.lro_stats.", lk_stage_lro_fields, &st->rx.lro_stats, key, val, e)) ||
	    (r = lk_rec_set("tx.lro_stats.", lk_stage_lro_fields, &st->tx.lro_stats, key, val, e)) ||
	    (r = lk_rec_set("rx.", lk_stage_dir_fields, &st->rx, key, val, e)))
		return r;
	return lk_rec_set("tx.", lk_stage_dir_fields, &st->tx, key, val, e);
}

int lk_stage_stats_read(const char *path, struct lk_stage_stats *st, struct lk_err *e)
{
	memset(st, 0, sizeof *st);
	return lk_rec_read(path, stats_set, st, e);
}

/* Kernel-side drops on the stage's TAP (queue overflow towards the stage). */
static long long tap_tx_dropped(const char *tap)
{
	FILE *f = fopen("/proc/thread-self/net/dev", "r");
	if (!f)
		return -1;
	char line[512];
	long long v = -1;
	size_t tl = strlen(tap);
	while (fgets(line, sizeof line, f)) {
		char *p = line;
		while (*p == ' ')
			p++;
		if (strncmp(p, tap, tl) || p[tl] != ':')
			continue;
		unsigned long long c[16] = {0};
		if (sscanf(p + tl + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9],
			   &c[10], &c[11]) == 12)
			v = (long long)c[11];
	}
	fclose(f);
	return v;
}

static void pkt_stats(struct stage *s)
{
	if (s->pkt_fd < 0)
		return;
	struct tpacket_stats st;
	socklen_t l = sizeof st;
	if (getsockopt(s->pkt_fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0)
		s->pkt_drops += st.tp_drops;
}

static int write_stats(struct stage *s, struct lk_err *e)
{
	const struct lk_stage_opts *o = s->o;
	if (!o->stats_path)
		return 0;
	pkt_stats(s);
	struct lk_stage_stats st;
	memset(&st, 0, sizeof st);
	snprintf(st.stage, sizeof st.stage, "%s", lk_stage_name(o->kind));
	snprintf(st.tap, sizeof st.tap, "%s", o->tap);
	st.lro = o->lro;
	snprintf(st.lro_policy, sizeof st.lro_policy, "%s",
		 o->lro ? (o->lro_policy ? o->lro_policy : "linux") : "");
	st.budget = s->budget;
	st.wire_drops = s->pkt_drops;
	st.tap_queue_drops = tap_tx_dropped(o->tap);
	st.rx = s->rx.st;
	st.tx = s->tx.st;
	if (s->rx.lro) {
		st.rx.lro = true;
		st.rx.lro_stats = *lro_stats(s->rx.lro);
	}
	return lk_stage_stats_write(o->stats_path, &st, e);
}

static int src_pollfd(const struct dir *d)
{
	if (d->blocked)
		return d->dst_ring->space_fd;
	return d->src == P_RING ? d->src_ring->kick_fd : d->src_fd;
}

int lk_stage_run(const struct lk_stage_opts *o, struct lk_err *e)
{
	struct stage s;
	memset(&s, 0, sizeof s);
	s.o = o;
	s.pkt_fd = s.tap_fd = -1;
	s.budget = o->budget > 0 ? (o->budget > LK_STAGE_MAX_BUDGET ? LK_STAGE_MAX_BUDGET : o->budget)
				 : LK_STAGE_BUDGET;
	s.rx.name = "rx";
	s.tx.name = "tx";
	int rc = -1;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_dump;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!o->tap)
		return lk_errf(e, LK_EXIT_USAGE, "stage %s: no --tap given", lk_stage_name(o->kind));
	s.tap_fd = tap_open(o->tap, e);
	if (s.tap_fd < 0)
		return -1;
	if (o->kind == LK_STAGE_NIC) {
		if (!o->wire) {
			lk_errf(e, LK_EXIT_USAGE, "stage nic: no --wire interface given");
			goto out;
		}
		s.pkt_fd = pkt_open(o->wire, e);
		if (s.pkt_fd < 0)
			goto out;
		s.bufs = malloc((size_t)s.budget * FRAME_MAX);
		s.msgs = calloc((size_t)s.budget, sizeof *s.msgs);
		s.iov = calloc((size_t)s.budget, sizeof *s.iov);
		if (!s.bufs || !s.msgs || !s.iov) {
			lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
			goto out;
		}
		for (int i = 0; i < s.budget; i++) {
			s.iov[i].iov_base = s.bufs + (size_t)i * FRAME_MAX;
			s.iov[i].iov_len = FRAME_MAX;
			s.msgs[i].msg_hdr.msg_iov = &s.iov[i];
			s.msgs[i].msg_hdr.msg_iovlen = 1;
		}
		s.rx = (struct dir){.name = "rx", .src = P_PKT, .dst = P_TAP, .src_fd = s.pkt_fd,
				    .dst_fd = s.tap_fd};
		s.tx = (struct dir){.name = "tx", .src = P_TAP, .dst = P_PKT, .src_fd = s.tap_fd,
				    .dst_fd = s.pkt_fd};
	} else {
		if (o->shm_fd < 0) {
			lk_errf(e, LK_EXIT_USAGE, "stage %s: no --shm-fd given", lk_stage_name(o->kind));
			goto out;
		}
		s.shm_len = 2 * lk_ring_bytes();
		s.shm = mmap(NULL, s.shm_len, PROT_READ | PROT_WRITE, MAP_SHARED, o->shm_fd, 0);
		if (s.shm == MAP_FAILED) {
			s.shm = NULL;
			lk_errf(e, LK_EXIT_RUNTIME, "mapping the shared ring (fd %d): %s", o->shm_fd,
				strerror(errno));
			goto out;
		}
		for (int i = 0; i < 4; i++) {
			if (o->evt[i] < 0 || fcntl(o->evt[i], F_GETFD) < 0) {
				lk_errf(e, LK_EXIT_USAGE, "stage %s: event fd %d not open",
					lk_stage_name(o->kind), o->evt[i]);
				goto out;
			}
			fcntl(o->evt[i], F_SETFL, O_NONBLOCK);
		}
		lk_ring_attach(&s.rings[0], s.shm, o->evt[0], o->evt[1]);
		lk_ring_attach(&s.rings[1], s.shm + lk_ring_bytes(), o->evt[2], o->evt[3]);
		if (o->kind == LK_STAGE_NETBACK) {
			s.rx = (struct dir){.name = "rx", .src = P_TAP, .dst = P_RING, .src_fd = s.tap_fd,
					    .dst_ring = &s.rings[0]};
			s.tx = (struct dir){.name = "tx", .src = P_RING, .dst = P_TAP,
					    .src_ring = &s.rings[1], .dst_fd = s.tap_fd};
		} else {
			s.rx = (struct dir){.name = "rx", .src = P_RING, .dst = P_TAP,
					    .src_ring = &s.rings[0], .dst_fd = s.tap_fd};
			s.tx = (struct dir){.name = "tx", .src = P_TAP, .dst = P_RING, .src_fd = s.tap_fd,
					    .dst_ring = &s.rings[1]};
		}
	}
	if (o->lro) {
		if (o->kind == LK_STAGE_NETBACK) {
			lk_errf(e, LK_EXIT_USAGE, "stage netback: LRO runs in nic or netfront, not netback");
			goto out;
		}
		struct lro_config c;
		enum lro_policy pol = LRO_POLICY_LINUX;
		if (o->lro_policy && lro_policy_parse(o->lro_policy, &pol) < 0) {
			lk_errf(e, LK_EXIT_USAGE, "unknown LRO policy '%s' (linux or inet_lro)",
				o->lro_policy);
			goto out;
		}
		lro_config_default(&c, pol);
		/* zero-copy: the rx frames (recvmmsg buffers / ring slots) stay
		   valid until poll_done's lro_poll_end: the buffers are refilled by
		   the next poll's recvmmsg, the ring slots released after poll_done
		   (feed's lro_flush_all also runs within the poll). A TAP source
		   reads every frame into one buffer: copy mode there. */
		c.zero_copy = s.rx.src != P_TAP;
		s.rx.lro = lro_new(&c, lro_emit, &s);
		if (!s.rx.lro) {
			lk_errf(e, LK_EXIT_RUNTIME, "lro_new failed");
			goto out;
		}
	}
	if (o->ready_fd >= 0) {
		ssize_t w = write(o->ready_fd, "R", 1);
		(void)w;
		close(o->ready_fd);
	}

	while (!g_stop) {
		if (g_dump) {
			g_dump = 0;
			write_stats(&s, NULL);
		}
		unsigned a = 0, b = 0;
		if (s.rx.blocked && lk_ring_avail(s.rx.dst_ring) < LK_RING_SLOTS) {
			s.rx.blocked = false;
			lk_evt_clear(s.rx.dst_ring->space_fd);
		}
		if (s.tx.blocked && lk_ring_avail(s.tx.dst_ring) < LK_RING_SLOTS) {
			s.tx.blocked = false;
			lk_evt_clear(s.tx.dst_ring->space_fd);
		}
		if (!s.rx.blocked)
			a = dir_poll(&s, &s.rx);
		if (!s.tx.blocked)
			b = dir_poll(&s, &s.tx);
		if (a >= (unsigned)s.budget || b >= (unsigned)s.budget)
			continue; /* NAPI: budget used up, poll again without sleeping */
		struct pollfd p[2] = {{.fd = src_pollfd(&s.rx), .events = POLLIN},
				      {.fd = src_pollfd(&s.tx), .events = POLLIN}};
		int pr = poll(p, 2, 200);
		if (pr < 0 && errno != EINTR) {
			lk_errf(e, LK_EXIT_RUNTIME, "stage %s: poll: %s", lk_stage_name(o->kind),
				strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == 0 && write_stats(&s, e) < 0)
		rc = -1;
	if (s.rx.lro)
		lro_free(s.rx.lro);
	if (s.shm)
		munmap(s.shm, s.shm_len);
	free(s.bufs);
	free(s.msgs);
	free(s.iov);
	if (s.pkt_fd >= 0)
		close(s.pkt_fd);
	if (s.tap_fd >= 0)
		close(s.tap_fd);
	return rc;
}
