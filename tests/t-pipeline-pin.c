/* analyzers/pipeline: the reading thread is kept on its CPU while the
 * pipeline runs (the observers' thread on the others), and gets its own CPU
 * mask back when the pipeline ends: at the end of the input, and when the
 * pipeline says stop and the caller goes on calling the observers itself.
 * With one CPU allowed nothing is pinned, and the observers still see every
 * segment. The observers' thread reports its CPU mask: it never includes
 * the reading thread's CPU. */
#include "analyzers/pipeline.h"
#include "tests/tap.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

struct seen {
	uint64_t n;           /* segments observed */
	bool in_order;        /* each seq one more than the last */
	uint32_t next_seq;
	bool got_mask;
	cpu_set_t mask;       /* the observers' thread's, at its first segment */
};

static void packet(void *ctx, uint64_t flow_idx, int dir, const struct lk_pkt *p, uint64_t ts)
{
	(void)flow_idx;
	(void)dir;
	(void)ts;
	struct seen *s = ctx;
	if (!s->got_mask) {
		s->got_mask = pthread_getaffinity_np(pthread_self(), sizeof s->mask, &s->mask) == 0;
		s->next_seq = p->seq;
	}
	s->in_order &= p->seq == s->next_seq;
	s->next_seq = p->seq + 1;
	s->n++;
}

static unsigned wanted(void *ctx, uint64_t flow_idx, int dir)
{
	(void)ctx;
	(void)flow_idx;
	(void)dir;
	return 0;
}

static cpu_set_t mine(void)
{
	cpu_set_t cs;
	CPU_ZERO(&cs);
	pthread_getaffinity_np(pthread_self(), sizeof cs, &cs);
	return cs;
}

/* n segments through a pipeline in mode m; checks as described above */
static void run(const char *what, enum lk_pipe_mode m, unsigned n, bool expect_pin)
{
	struct seen s = {.in_order = true};
	struct lk_observer ob = {.ctx = &s, .packet = packet, .csum_wanted = wanted};
	cpu_set_t before = mine();
	struct lk_pipeline *pl = lk_pipeline_start(&ob, 1, m, 0, NULL);
	if (!ok(pl != NULL, "%s: pipeline started", what))
		return;
	int cpu = sched_getcpu();
	cpu_set_t during = mine();
	if (expect_pin)
		ok(CPU_COUNT(&during) == 1 && CPU_ISSET(cpu, &during),
		   "%s: the reading thread is kept on its CPU (%d) while the pipeline runs", what, cpu);
	else
		ok(CPU_EQUAL(&during, &before), "%s: the mask is left as it was", what);
	struct lk_flow f;
	memset(&f, 0, sizeof f);
	struct lk_pkt p;
	memset(&p, 0, sizeof p);
	p.af = 4;
	unsigned k = 0, direct = 0;
	bool stopped = false;
	for (; k < n && pl; k++) {
		p.seq = 1000 + k;
		if (!lk_pipeline_packet(pl, &f, 0, &p, k)) {
			lk_pipeline_finish(pl);
			pl = NULL;
			stopped = true;
		}
	}
	if (stopped) {
		cpu_set_t after_stop = mine();
		ok(CPU_EQUAL(&after_stop, &before),
		   "%s: the pipeline said stop: the reading thread's own mask is back", what);
	}
	for (; k < n; k++, direct++) { /* the rest called directly, as analyze does */
		p.seq = 1000 + k;
		packet(&s, 0, 0, &p, k);
	}
	lk_pipeline_finish(pl);
	cpu_set_t after = mine();
	ok(CPU_EQUAL(&after, &before), "%s: after the pipeline, the reading thread's own mask is back", what);
	ok(s.n == n && s.in_order, "%s: every segment observed once, in order (%llu of %u; %u called directly)",
	   what, (unsigned long long)s.n, n, direct);
	if (expect_pin)
		ok(s.got_mask && !CPU_ISSET(cpu, &s.mask) && CPU_COUNT(&s.mask) >= 1,
		   "%s: the observers' thread runs on the other CPUs (%d of them), not on the reading thread's",
		   what, CPU_COUNT(&s.mask));
}

int main(void)
{
	cpu_set_t all = mine();
	if (CPU_COUNT(&all) < 2) {
		skip_all("fewer than 2 CPUs allowed here: the pipeline pins nothing");
	}
	run("to the end", LK_PIPE_KEEP, 100000, true);
	run("told to stop after 64 batches", LK_PIPE_STOP, 100000, true);
	/* one CPU allowed: nothing pinned, the observers' thread beside it */
	int c = sched_getcpu();
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(c, &one);
	if (ok(pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0, "this thread limited to CPU %d", c))
		run("one CPU allowed", LK_PIPE_KEEP, 20000, false);
	pthread_setaffinity_np(pthread_self(), sizeof all, &all);
	return done_testing();
}
