/* testbed/xfer.c - bulk TCP sender/receiver with pattern verification. */
#include "testbed/xfer.h"
#include "lib/clock.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define XFER_MAGIC "LKX1"
#define XFER_HDR 24
#define XFER_BUF (256 * 1024)

static inline uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void lk_pattern_fill(uint8_t *buf, uint64_t off, size_t n, uint64_t seed)
{
	size_t i = 0;
	while (i < n && ((off + i) & 7)) {
		uint64_t w = htole64(splitmix(seed + ((off + i) >> 3)));
		buf[i] = ((const uint8_t *)&w)[(off + i) & 7];
		i++;
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t w = htole64(splitmix(seed + ((off + i) >> 3)));
		memcpy(buf + i, &w, 8);
	}
	if (i < n) {
		uint64_t w = htole64(splitmix(seed + ((off + i) >> 3)));
		memcpy(buf + i, &w, n - i);
	}
}

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof v);
}

static int apply_opts(int fd, const struct lk_xfer_opts *o, struct lk_err *e)
{
	if (o->mss > 0 && set_int(fd, IPPROTO_TCP, TCP_MAXSEG, o->mss) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "TCP_MAXSEG %d: %s", o->mss, strerror(errno));
	if (o->sndbuf > 0 && set_int(fd, SOL_SOCKET, SO_SNDBUF, o->sndbuf) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "SO_SNDBUF %d: %s", o->sndbuf, strerror(errno));
	if (o->rcvbuf > 0 && set_int(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf) < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "SO_RCVBUF %d: %s", o->rcvbuf, strerror(errno));
	if (o->cc && *o->cc &&
	    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o->cc, (socklen_t)strlen(o->cc)) < 0)
		return lk_errf(e, errno == ENOENT ? LK_EXIT_MISSING : LK_EXIT_RUNTIME,
			       "congestion control '%s': %s", o->cc, strerror(errno));
	return 0;
}

static void fill_info(int fd, struct lk_xfer_result *r)
{
	socklen_t l = sizeof r->cc;
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, r->cc, &l) < 0)
		r->cc[0] = 0;
	r->cc[sizeof r->cc - 1] = 0;
	int mss = 0;
	l = sizeof mss;
	if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &l) == 0)
		r->mss = mss;
	l = sizeof r->sndbuf;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &r->sndbuf, &l) < 0)
		r->sndbuf = -1;
	l = sizeof r->rcvbuf;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &r->rcvbuf, &l) < 0)
		r->rcvbuf = -1;
}

static void addr_str(const struct sockaddr *sa, char *out, size_t n)
{
	char h[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;
		inet_ntop(AF_INET, &s->sin_addr, h, sizeof h);
		port = ntohs(s->sin_port);
		snprintf(out, n, "%s:%u", h, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;
		inet_ntop(AF_INET6, &s->sin6_addr, h, sizeof h);
		port = ntohs(s->sin6_port);
		snprintf(out, n, "[%s]:%u", h, port);
	} else {
		snprintf(out, n, "?");
	}
}

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -2 : -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void set_timeouts(int fd, int secs)
{
	if (secs <= 0)
		return;
	struct timeval tv = {.tv_sec = secs};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* ---- sender ---- */

struct sampler {
	int fd;
	int period_ms;
	uint64_t t0;
	atomic_bool stop;
	struct lk_tcpi_sample *v;
	size_t n, cap;
	bool oom;
};

static void tcpi_read(int fd, struct lk_tcpi_sample *s)
{
	struct tcp_info ti;
	memset(&ti, 0, sizeof ti);
	socklen_t l = sizeof ti;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return;
	s->cwnd = ti.tcpi_snd_cwnd;
	s->ssthresh = ti.tcpi_snd_ssthresh;
	s->rtt_us = ti.tcpi_rtt;
	s->rttvar_us = ti.tcpi_rttvar;
	s->unacked = ti.tcpi_unacked;
	s->retransmits = ti.tcpi_retransmits;
	s->total_retrans = ti.tcpi_total_retrans;
	s->lost = ti.tcpi_lost;
	s->sacked = ti.tcpi_sacked;
	s->delivery_rate = ti.tcpi_delivery_rate;
	s->pacing_rate = ti.tcpi_pacing_rate;
	s->bytes_acked = ti.tcpi_bytes_acked;
}

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&s->stop)) {
		next.tv_nsec += (long)s->period_ms * 1000000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		if (s->n == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 1024;
			void *nv = realloc(s->v, nc * sizeof *s->v);
			if (!nv) {
				s->oom = true;
				break;
			}
			s->v = nv;
			s->cap = nc;
		}
		struct lk_tcpi_sample *x = &s->v[s->n];
		memset(x, 0, sizeof *x);
		x->t_ns = lk_mono_ns() - s->t0;
		tcpi_read(s->fd, x);
		s->n++;
	}
	return NULL;
}

static int connect_retry(const struct lk_xfer_opts *o, struct lk_xfer_result *r, struct lk_err *e)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	hints.ai_family = o->family == 4 ? AF_INET : o->family == 6 ? AF_INET6 : AF_UNSPEC;
	struct addrinfo *ai = NULL;
	const char *port = o->port ? o->port : LK_XFER_PORT;
	int g = getaddrinfo(o->host, port, &hints, &ai);
	if (g)
		return lk_errf(e, LK_EXIT_RUNTIME, "cannot resolve '%s': %s", o->host, gai_strerror(g));
	int ct = o->connect_timeout_s > 0 ? o->connect_timeout_s : 10;
	uint64_t deadline = lk_mono_ns() + (uint64_t)ct * 1000000000ull;
	int fd = -1, err = 0;
	for (;;) {
		for (struct addrinfo *a = ai; a; a = a->ai_next) {
			fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				err = errno;
				continue;
			}
			if (apply_opts(fd, o, e) < 0) {
				close(fd);
				freeaddrinfo(ai);
				return -1;
			}
			if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
				addr_str(a->ai_addr, r->peer, sizeof r->peer);
				freeaddrinfo(ai);
				return fd;
			}
			err = errno;
			close(fd);
			fd = -1;
		}
		if ((err != ECONNREFUSED && err != ENETUNREACH && err != EHOSTUNREACH) ||
		    lk_mono_ns() > deadline)
			break;
		usleep(20000);
	}
	freeaddrinfo(ai);
	return lk_errf(e, LK_EXIT_RUNTIME, "cannot connect to %s port %s: %s", o->host, port,
		       strerror(err));
}

int lk_xfer_send(const struct lk_xfer_opts *o, struct lk_xfer_result *r, struct lk_err *e)
{
	memset(r, 0, sizeof *r);
	r->corrupt_at = -1;
	if (!o->host)
		return lk_errf(e, LK_EXIT_USAGE, "send: no receiver host given");
	int fd = connect_retry(o, r, e);
	if (fd < 0)
		return -1;
	set_timeouts(fd, o->timeout_s);
	fill_info(fd, r);
	uint8_t *buf = malloc(XFER_BUF);
	if (!buf) {
		close(fd);
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	}
	struct sampler s = {.fd = fd, .period_ms = o->sample_ms > 0 ? o->sample_ms : 10};
	s.t0 = lk_mono_ns();
	r->start_ns = lk_real_ns();
	pthread_t th;
	bool have_th = pthread_create(&th, NULL, sampler_main, &s) == 0;
	int rc = 0;
	uint8_t hdr[XFER_HDR];
	memcpy(hdr, XFER_MAGIC, 4);
	uint32_t flags = 0;
	memcpy(hdr + 4, &flags, 4);
	uint64_t v = htole64(o->bytes);
	memcpy(hdr + 8, &v, 8);
	v = htole64(o->seed);
	memcpy(hdr + 16, &v, 8);
	if (write_all(fd, hdr, sizeof hdr) < 0) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "send to %s: %s", r->peer, strerror(errno));
		goto out;
	}
	uint64_t off = 0;
	while (off < o->bytes) {
		size_t n = o->bytes - off < XFER_BUF ? (size_t)(o->bytes - off) : XFER_BUF;
		lk_pattern_fill(buf, off, n, o->seed);
		if (write_all(fd, buf, n) < 0) {
			rc = lk_errf(e, LK_EXIT_RUNTIME, "send to %s after %llu bytes: %s", r->peer,
				     (unsigned long long)off, strerror(errno));
			goto out;
		}
		r->calls++;
		off += n;
	}
	shutdown(fd, SHUT_WR);
	uint8_t verdict[16];
	int rr = read_all(fd, verdict, sizeof verdict);
	r->end_ns = lk_real_ns();
	if (rr < 0) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "no verdict from receiver %s: %s", r->peer,
			     rr == -2 ? "connection closed" : strerror(errno));
		goto out;
	}
	memcpy(&v, verdict + 8, 8);
	r->bytes = le64toh(v);
	r->verified = !memcmp(verdict, "LKOK", 4) && r->bytes == o->bytes;
	if (!r->verified)
		rc = lk_errf(e, LK_EXIT_RUNTIME,
			     "receiver %s reports a corrupt or short transfer (%llu of %llu bytes good)",
			     r->peer, (unsigned long long)r->bytes, (unsigned long long)o->bytes);
out:
	if (have_th) {
		atomic_store(&s.stop, true);
		pthread_join(th, NULL);
	}
	tcpi_read(fd, &r->last);
	r->last.t_ns = lk_mono_ns() - s.t0;
	r->total_retrans = r->last.total_retrans;
	r->samples = s.v;
	r->n_samples = s.n;
	if (!r->end_ns)
		r->end_ns = lk_real_ns();
	r->seconds = (double)(r->end_ns - r->start_ns) / 1e9;
	if (r->seconds > 0)
		r->goodput_bps = (double)r->bytes * 8 / r->seconds;
	free(buf);
	close(fd);
	return rc;
}

/* ---- receiver ---- */

static int listen_on(const struct lk_xfer_opts *o, struct lk_err *e)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	hints.ai_family = o->family == 4 ? AF_INET : AF_INET6;
	if (o->host)
		hints.ai_family = o->family == 4 ? AF_INET : o->family == 6 ? AF_INET6 : AF_UNSPEC;
	struct addrinfo *ai = NULL;
	const char *port = o->port ? o->port : LK_XFER_PORT;
	int g = getaddrinfo(o->host, port, &hints, &ai);
	if (g)
		return lk_errf(e, LK_EXIT_RUNTIME, "cannot resolve listen address '%s': %s",
			       o->host ? o->host : "*", gai_strerror(g));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return lk_errf(e, LK_EXIT_RUNTIME, "socket: %s", strerror(errno));
	}
	set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (ai->ai_family == AF_INET6 && !o->host && o->family != 6)
		set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	if (apply_opts(fd, o, e) < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, 4) < 0) {
		if (!e || !e->msg[0] || errno)
			lk_errf(e, LK_EXIT_RUNTIME, "listen on %s port %s: %s",
				o->host ? o->host : "*", port, strerror(errno));
		close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int lk_xfer_recv(const struct lk_xfer_opts *o, struct lk_xfer_result *r, struct lk_err *e)
{
	memset(r, 0, sizeof *r);
	r->corrupt_at = -1;
	int lfd = listen_on(o, e);
	if (lfd < 0)
		return -1;
	if (o->listening)
		o->listening(o->ctx);
	if (o->timeout_s > 0) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int pr = poll(&p, 1, o->timeout_s * 1000);
		if (pr <= 0) {
			close(lfd);
			return lk_errf(e, LK_EXIT_RUNTIME, "no sender connected within %d s",
				       o->timeout_s);
		}
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	int aerr = errno;
	close(lfd);
	if (fd < 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "accept: %s", strerror(aerr));
	addr_str((struct sockaddr *)&ss, r->peer, sizeof r->peer);
	set_timeouts(fd, o->timeout_s);
	fill_info(fd, r);
	uint8_t *buf = malloc(XFER_BUF), *exp = malloc(XFER_BUF);
	int rc = 0;
	if (!buf || !exp) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
		goto out;
	}
	uint8_t hdr[XFER_HDR];
	int rr = read_all(fd, hdr, sizeof hdr);
	if (rr < 0) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "reading header from %s: %s", r->peer,
			     rr == -2 ? "connection closed" : strerror(errno));
		goto out;
	}
	if (memcmp(hdr, XFER_MAGIC, 4)) {
		rc = lk_errf(e, LK_EXIT_RUNTIME, "peer %s is not a lrokit sender (bad magic)", r->peer);
		goto out;
	}
	uint64_t want, seed;
	memcpy(&want, hdr + 8, 8);
	memcpy(&seed, hdr + 16, 8);
	want = le64toh(want);
	seed = le64toh(seed);
	r->start_ns = lk_real_ns();
	uint64_t off = 0;
	bool extra = false;
	for (;;) {
		ssize_t n = recv(fd, buf, XFER_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = lk_errf(e, LK_EXIT_RUNTIME, "receive from %s after %llu bytes: %s",
				     r->peer, (unsigned long long)off, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		r->calls++;
		if (o->quickack)
			set_int(fd, IPPROTO_TCP, TCP_QUICKACK, 1);
		size_t cmp = (size_t)n;
		if (off + (uint64_t)n > want) {
			extra = true;
			cmp = (size_t)(want - off);
		}
		if (r->corrupt_at < 0 && cmp) {
			lk_pattern_fill(exp, off, cmp, seed);
			if (memcmp(buf, exp, cmp)) {
				size_t i = 0;
				while (buf[i] == exp[i])
					i++;
				r->corrupt_at = (int64_t)(off + i);
			}
		}
		off += (uint64_t)n;
	}
	r->end_ns = lk_real_ns();
	r->bytes = off;
	r->verified = r->corrupt_at < 0 && off == want && !extra;
	uint8_t verdict[16];
	memcpy(verdict, r->verified ? "LKOK" : "LKBD", 4);
	memset(verdict + 4, 0, 4);
	uint64_t good = htole64(r->corrupt_at >= 0 ? (uint64_t)r->corrupt_at : (off > want ? want : off));
	memcpy(verdict + 8, &good, 8);
	write_all(fd, verdict, sizeof verdict);
	if (r->corrupt_at >= 0)
		rc = lk_errf(e, LK_EXIT_RUNTIME, "data from %s corrupt at byte offset %lld", r->peer,
			     (long long)r->corrupt_at);
	else if (off != want)
		rc = lk_errf(e, LK_EXIT_RUNTIME, "%s sent %llu bytes, announced %llu", r->peer,
			     (unsigned long long)off, (unsigned long long)want);
out:
	if (!r->end_ns)
		r->end_ns = lk_real_ns();
	if (r->start_ns) {
		r->seconds = (double)(r->end_ns - r->start_ns) / 1e9;
		if (r->seconds > 0 && r->verified)
			r->goodput_bps = (double)r->bytes * 8 / r->seconds;
	}
	free(buf);
	free(exp);
	close(fd);
	return rc;
}

#define TCPI(m, t) LK_REC(struct lk_tcpi_sample, m, t)
const struct lk_rec_field lk_tcpi_fields[] = {
	TCPI(t_ns, LK_REC_U64), TCPI(cwnd, LK_REC_U32), TCPI(ssthresh, LK_REC_U32),
	TCPI(rtt_us, LK_REC_U32), TCPI(rttvar_us, LK_REC_U32), TCPI(unacked, LK_REC_U32),
	TCPI(retransmits, LK_REC_U32), TCPI(total_retrans, LK_REC_U32), TCPI(lost, LK_REC_U32),
	TCPI(sacked, LK_REC_U32), TCPI(delivery_rate, LK_REC_U64), TCPI(pacing_rate, LK_REC_U64),
	TCPI(bytes_acked, LK_REC_U64),
	LK_REC_END,
};

#define RES(m, t) LK_REC(struct lk_xfer_result, m, t)
static const struct lk_rec_field result_fields[] = {
	RES(bytes, LK_REC_U64), RES(start_ns, LK_REC_U64), RES(end_ns, LK_REC_U64),
	RES(seconds, LK_REC_DBL), RES(goodput_bps, LK_REC_DBL), RES(verified, LK_REC_BOOL),
	RES(corrupt_at, LK_REC_I64), RES(calls, LK_REC_U64), RES(mss, LK_REC_INT),
	RES(cc, LK_REC_STR), RES(sndbuf, LK_REC_INT), RES(rcvbuf, LK_REC_INT),
	RES(peer, LK_REC_STR), RES(total_retrans, LK_REC_U32), RES(error, LK_REC_STR),
	LK_REC_END,
};

int lk_xfer_result_write(const char *path, const struct lk_xfer_result *r, struct lk_err *e)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(errno));
	lk_rec_write(f, "", result_fields, r);
	if (fclose(f) != 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: %s", path, strerror(errno));
	return 0;
}

static int result_set(void *ctx, const char *key, const char *val, struct lk_err *e)
{
	return lk_rec_set("", result_fields, ctx, key, val, e);
}

int lk_xfer_result_read(const char *path, struct lk_xfer_result *r, struct lk_err *e)
{
	memset(r, 0, sizeof *r);
	r->corrupt_at = -1;
	return lk_rec_read(path, result_set, r, e);
}

void lk_xfer_result_free(struct lk_xfer_result *r)
{
	free(r->samples);
	r->samples = NULL;
	r->n_samples = 0;
}
