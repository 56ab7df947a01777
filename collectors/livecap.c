/* collectors/livecap.c - libpcap live capture inside a netns (see livecap.h). */
#include "collectors/livecap.h"
#include "collectors/procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct lk_livecap {
	struct lk_livecap_cfg cfg;
	char netns[256], ifname[64], path[4096];
	char *filter;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;          /* 0 starting, 1 active, -1 failed to start */
	struct lk_err start_err;
	atomic_int stop;
	uint64_t stop_req_ms;
	pcap_t *p;
	pcap_dumper_t *d;
	uint64_t written;
	char loop_err[256];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_pkt(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct lk_livecap *c = (struct lk_livecap *)user;
	pcap_dump((u_char *)c->d, h, bytes);
	c->written++;
}

static void signal_state(struct lk_livecap *c, int st)
{
	pthread_mutex_lock(&c->mu);
	c->state = st;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static int setup(struct lk_livecap *c)
{
	struct lk_err *e = &c->start_err;
	if (c->cfg.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(c->cfg.cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
	}
	if (c->netns[0]) {
		int fd = lk_netns_open(c->netns);
		if (fd < 0)
			return lk_errf(e, LK_EXIT_RUNTIME, "capture: netns %s: %s", c->netns, strerror(errno));
		int rc = setns(fd, CLONE_NEWNET);
		int err = errno;
		close(fd);
		if (rc < 0)
			return lk_errf(e, err == EPERM ? LK_EXIT_MISSING : LK_EXIT_RUNTIME,
				       "capture: setns %s: %s", c->netns, strerror(err));
	}
	char eb[PCAP_ERRBUF_SIZE] = "";
	c->p = pcap_create(c->ifname, eb);
	if (!c->p)
		return lk_errf(e, LK_EXIT_RUNTIME, "capture %s: %s", c->ifname, eb);
	pcap_set_snaplen(c->p, c->cfg.snaplen);
	pcap_set_promisc(c->p, 0);
	pcap_set_timeout(c->p, c->cfg.timeout_ms);
	pcap_set_immediate_mode(c->p, 0);
	pcap_set_buffer_size(c->p, c->cfg.buffer_bytes);
	pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO);
	int rc = pcap_activate(c->p);
	if (rc < 0) {
		const char *why = rc == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
				  : rc == PCAP_ERROR_PERM_DENIED ? "permission denied (needs root or CAP_NET_RAW)"
				  : pcap_geterr(c->p);
		return lk_errf(e, rc == PCAP_ERROR_PERM_DENIED ? LK_EXIT_MISSING : LK_EXIT_RUNTIME,
			       "capture on %s%s%s: %s", c->ifname, c->netns[0] ? " in netns " : "",
			       c->netns, why);
	}
	if (c->filter && *c->filter) {
		struct bpf_program prog;
		if (pcap_compile(c->p, &prog, c->filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
			return lk_errf(e, LK_EXIT_USAGE, "capture filter '%s': %s", c->filter,
				       pcap_geterr(c->p));
		rc = pcap_setfilter(c->p, &prog);
		pcap_freecode(&prog);
		if (rc < 0)
			return lk_errf(e, LK_EXIT_RUNTIME, "capture filter '%s': %s", c->filter,
				       pcap_geterr(c->p));
	}
	/* written as PATH.part and renamed by lk_livecap_stop: a process killed
	 * mid-capture never leaves a half-written PATH */
	char part[4200];
	snprintf(part, sizeof part, "%s.part", c->path);
	c->d = pcap_dump_open(c->p, part);
	if (!c->d)
		return lk_errf(e, LK_EXIT_RUNTIME, "capture: %s", pcap_geterr(c->p));
	return 0;
}

static void *cap_thread(void *arg)
{
	struct lk_livecap *c = arg;
	if (setup(c) < 0) {
		signal_state(c, -1);
		return NULL;
	}
	signal_state(c, 1);
	/* With TPACKET_V3 libpcap polls without a timeout (the kernel's block
	 * timer retires only non-empty blocks), so the loop ends through
	 * pcap_breakloop, which wakes the poll (libpcap >= 1.10). */
	for (;;) {
		int n = pcap_dispatch(c->p, -1, on_pkt, (u_char *)c);
		if (n == PCAP_ERROR) {
			snprintf(c->loop_err, sizeof c->loop_err, "%s", pcap_geterr(c->p));
			break;
		}
		if (n == PCAP_ERROR_BREAK || atomic_load(&c->stop))
			break;
	}
	/* drain what the kernel already handed over */
	char eb[PCAP_ERRBUF_SIZE];
	if (pcap_setnonblock(c->p, 1, eb) == 0)
		while (pcap_dispatch(c->p, -1, on_pkt, (u_char *)c) > 0)
			;
	return NULL;
}

int lk_livecap_start(const struct lk_livecap_cfg *cfg, struct lk_livecap **out, struct lk_err *e)
{
	*out = NULL;
	if (!cfg->ifname || !*cfg->ifname || !cfg->path || !*cfg->path)
		return lk_errf(e, LK_EXIT_USAGE, "capture: interface and output path are required");
	struct lk_livecap *c = calloc(1, sizeof *c);
	if (!c)
		return lk_errf(e, LK_EXIT_RUNTIME, "capture: out of memory");
	c->cfg = *cfg;
	if (!c->cfg.snaplen)
		c->cfg.snaplen = 128;
	if (!c->cfg.buffer_bytes)
		c->cfg.buffer_bytes = 64 << 20;
	if (!c->cfg.timeout_ms)
		c->cfg.timeout_ms = 100;
	snprintf(c->netns, sizeof c->netns, "%s", cfg->netns ? cfg->netns : "");
	snprintf(c->ifname, sizeof c->ifname, "%s", cfg->ifname);
	snprintf(c->path, sizeof c->path, "%s", cfg->path);
	c->filter = cfg->filter ? strdup(cfg->filter) : NULL;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	int rc = pthread_create(&c->th, NULL, cap_thread, c);
	if (rc) {
		free(c->filter);
		free(c);
		return lk_errf(e, LK_EXIT_RUNTIME, "capture: cannot start thread: %s", strerror(rc));
	}
	pthread_mutex_lock(&c->mu);
	while (c->state == 0)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	if (c->state < 0) {
		pthread_join(c->th, NULL);
		if (e)
			*e = c->start_err;
		if (c->d)
			pcap_dump_close(c->d);
		if (c->p)
			pcap_close(c->p);
		free(c->filter);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void lk_livecap_request_stop(struct lk_livecap *c)
{
	if (!c->stop_req_ms)
		c->stop_req_ms = mono_ms();
}

int lk_livecap_stop(struct lk_livecap *c, struct lk_livecap_stats *st, struct lk_err *e)
{
	memset(st, 0, sizeof *st);
	lk_livecap_request_stop(c);
	/* let the kernel retire the last partly filled block (block timeout),
	 * so the packets of the end of the transfer reach the file */
	uint64_t until = c->stop_req_ms + (uint64_t)c->cfg.timeout_ms * 2 + 20, now;
	while ((now = mono_ms()) < until)
		usleep((useconds_t)(until - now) * 1000);
	atomic_store(&c->stop, 1);
	pcap_breakloop(c->p);
	pthread_join(c->th, NULL);
	struct pcap_stat ps;
	if (pcap_stats(c->p, &ps) == 0) {
		st->stats_ok = true;
		st->recv = ps.ps_recv;
		st->drops = ps.ps_drop;
		st->ifdrops = ps.ps_ifdrop;
	}
	st->written = c->written;
	st->linktype = pcap_datalink(c->p);
	st->snaplen = pcap_snapshot(c->p);
	int rc = 0;
	if (pcap_dump_flush(c->d) < 0 && !c->loop_err[0])
		snprintf(c->loop_err, sizeof c->loop_err, "write %.180s: %.60s", c->path, strerror(errno));
	pcap_dump_close(c->d);
	pcap_close(c->p);
	char part[4200];
	snprintf(part, sizeof part, "%s.part", c->path);
	if (rename(part, c->path) < 0 && !c->loop_err[0])
		snprintf(c->loop_err, sizeof c->loop_err, "rename to %.180s: %.60s", c->path,
			 strerror(errno));
	if (c->loop_err[0]) {
		snprintf(st->error, sizeof st->error, "%s", c->loop_err);
		rc = lk_errf(e, LK_EXIT_RUNTIME, "capture on %s: %s", c->ifname, c->loop_err);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->filter);
	free(c);
	return rc;
}
