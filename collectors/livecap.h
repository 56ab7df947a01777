/* collectors/livecap.h - live libpcap capture on an interface inside a network
 * namespace, written to a pcap file, with the kernel's drop count.
 *
 * Each capture runs in its own thread. The thread enters the namespace with
 * setns(CLONE_NEWNET) (which changes only the calling thread), activates the
 * pcap handle there (the packet socket stays bound to that namespace), and
 * writes every packet with pcap_dump. Settings: snaplen 128 by default,
 * kernel buffer 64 MB (pcap_set_buffer_size), immediate mode off (packets are
 * delivered in TPACKET_V3 blocks, retired by a 100 ms block timeout),
 * nanosecond timestamps, a BPF filter for the test connection.
 *
 * lk_livecap_start returns once the handle is active and the filter
 * installed, so traffic started afterwards is captured. lk_livecap_stop waits
 * past one block timeout so the last partial block reaches the file, reads
 * pcap_stats, closes the file and frees everything.
 *
 *   struct lk_livecap_cfg cfg = { .netns = "lkt123b", .ifname = "eth0",
 *                                 .filter = "tcp port 5201", .path = "run1-sender.pcap" };
 *   struct lk_livecap *c;
 *   if (lk_livecap_start(&cfg, &c, &e) < 0) ...;
 *   ... traffic ...
 *   struct lk_livecap_stats st;
 *   if (lk_livecap_stop(c, &st, &e) < 0) ...;   // st.drops: kernel drops
 */
#ifndef LK_COLL_LIVECAP_H
#define LK_COLL_LIVECAP_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

struct lk_livecap_cfg {
	const char *netns;   /* name under /run/netns, absolute netns path, or NULL = ours */
	const char *ifname;  /* interface in that namespace */
	const char *filter;  /* BPF filter expression, NULL or "" = everything */
	const char *path;    /* pcap file to write (created/truncated) */
	int snaplen;         /* 0 = 128 */
	int buffer_bytes;    /* 0 = 64 MB */
	int timeout_ms;      /* block timeout, 0 = 100 */
	int cpu;             /* pin the capture thread to this CPU; -1 = no pinning */
};

struct lk_livecap_stats {
	uint64_t written;    /* packets written to the file */
	uint64_t recv;       /* pcap_stats ps_recv */
	uint64_t drops;      /* pcap_stats ps_drop: dropped by the kernel (buffer full) */
	uint64_t ifdrops;    /* pcap_stats ps_ifdrop: dropped by the interface */
	bool stats_ok;       /* pcap_stats worked (else recv/drops are unknown) */
	int linktype;        /* DLT_* */
	int snaplen;
	char error[256];     /* a capture-loop error, "" if none */
};

struct lk_livecap;

int lk_livecap_start(const struct lk_livecap_cfg *cfg, struct lk_livecap **out, struct lk_err *e);
/* Note the stop time without waiting (lets several captures wait out their
 * block timeout together); lk_livecap_stop does it if not done. */
void lk_livecap_request_stop(struct lk_livecap *c);
/* Stop, flush, fill *st. Always frees c. -1 when the capture loop failed
 * (st->error says why; the file holds what was captured until then). */
int lk_livecap_stop(struct lk_livecap *c, struct lk_livecap_stats *st, struct lk_err *e);

#endif
