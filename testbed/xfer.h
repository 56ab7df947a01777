/* testbed/xfer.h - the bulk TCP workload of `lrokit send` / `lrokit recv`.
 *
 * The sender connects, sends a 24-byte header (magic "LKX1", flags, byte
 * count, pattern seed) and then exactly `bytes` bytes of a deterministic
 * pattern (byte i = byte i%8 of splitmix64(seed + i/8), little endian). The
 * receiver verifies every byte against the pattern and answers with a 16-byte
 * verdict ("LKOK" or "LKBD", the number of verified bytes), after which the
 * sender stops its clock. Any corruption, short transfer or extra byte is a
 * failure on both sides. While sending, a sampler thread reads TCP_INFO every
 * sample_ms milliseconds.
 *
 * Works between two real hosts (like iperf3) and inside the lrokit testbed.
 */
#ifndef LK_TESTBED_XFER_H
#define LK_TESTBED_XFER_H

#include "lib/err.h"
#include "lib/record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LK_XFER_PORT "5301"

struct lk_xfer_opts {
	const char *host;       /* send: peer; recv: bind address (NULL = any) */
	const char *port;       /* default LK_XFER_PORT */
	int family;             /* 0 any, 4, 6 */
	uint64_t bytes;         /* send: bytes to send */
	uint64_t seed;          /* pattern seed */
	int mss;                /* TCP_MAXSEG, 0 = kernel default */
	const char *cc;         /* TCP_CONGESTION, NULL = default */
	int sndbuf, rcvbuf;     /* SO_SNDBUF/SO_RCVBUF, 0 = autotuning */
	bool quickack;          /* recv: TCP_QUICKACK after every read */
	int sample_ms;          /* send: TCP_INFO period (default 10) */
	int timeout_s;          /* whole transfer (0 = none) */
	int connect_timeout_s;  /* send: retry refused connects this long (default 10) */
	void (*listening)(void *ctx); /* recv: called once the socket listens (may be NULL) */
	void *ctx;
};

struct lk_tcpi_sample {
	uint64_t t_ns;          /* since the connection was established */
	uint32_t cwnd, ssthresh, rtt_us, rttvar_us, unacked;
	uint32_t retransmits, total_retrans, lost, sacked;
	uint64_t delivery_rate, pacing_rate; /* bytes per second */
	uint64_t bytes_acked;
};

struct lk_xfer_result {
	uint64_t bytes;          /* payload bytes moved (and verified on recv) */
	uint64_t start_ns, end_ns; /* CLOCK_REALTIME */
	double seconds;
	double goodput_bps;      /* bits per second of verified payload */
	bool verified;           /* recv: all bytes matched; send: receiver said OK */
	int64_t corrupt_at;      /* first bad offset, -1 if none */
	uint64_t calls;          /* read()/send() calls */
	int mss;                 /* TCP_MAXSEG after connect */
	char cc[16];             /* congestion control used */
	int sndbuf, rcvbuf;      /* SO_SNDBUF/SO_RCVBUF in effect after connect (the kernel doubles
				    a set value for its bookkeeping; autotuned sockets grow later) */
	char peer[80];
	/* sender only */
	struct lk_tcpi_sample *samples;
	size_t n_samples;
	struct lk_tcpi_sample last; /* final TCP_INFO */
	uint32_t total_retrans;
	char error[512];         /* the failure, set by the caller from its lk_err */
};

/* The TCP_INFO sample fields, in struct order: the columns of
 * `lrokit send --tcpinfo FILE` (CSV) and the keys of its JSON samples. */
extern const struct lk_rec_field lk_tcpi_fields[];

/* Fill buf with the pattern bytes for stream offsets [off, off+n). */
void lk_pattern_fill(uint8_t *buf, uint64_t off, size_t n, uint64_t seed);

int lk_xfer_send(const struct lk_xfer_opts *o, struct lk_xfer_result *r, struct lk_err *e);
/* Listen, accept one connection, verify it; returns 0 only if verified. */
int lk_xfer_recv(const struct lk_xfer_opts *o, struct lk_xfer_result *r, struct lk_err *e);
void lk_xfer_result_free(struct lk_xfer_result *r);

/* The result (without the samples) as key=value lines, for a parent process
 * (`lrokit send/recv --result FILE`, read back by `lrokit run`). */
int lk_xfer_result_write(const char *path, const struct lk_xfer_result *r, struct lk_err *e);
int lk_xfer_result_read(const char *path, struct lk_xfer_result *r, struct lk_err *e);

#endif
