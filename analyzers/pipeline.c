/* analyzers/pipeline.c - the per-packet observers in a second thread. See
 * pipeline.h. */
#include "analyzers/pipeline.h"
#include "analyzers/side.h"
#include "lib/clock.h"
#include "lib/handoff.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define R 128          /* segments per batch */
#define NB 8           /* batches in the ring (NB * R * 64 B: 64 KiB, in cache) */
#define SPIN 4096      /* looks at the other thread's counter before sleeping (~50 us) */
#define FCHUNK 8192    /* sum flags per chunk (flow index * 2 + direction) */
#define NFCHUNK 4096   /* chunks: 16 M flows; beyond, segments are always summed */
/* When the pipeline stops paying: the other CPU is busy with other work */
#define CHECK_EVERY 64 /* batches between looks at how the reading thread fares */
#define SETTLE 256     /* batches before the first look that counts: the
			* observers' thread starts slowly (page faults as its
			* state grows) */
#define MAX_RATIO 1.0  /* time per segment pipelined / called directly that stops it */
#define MIN_LOOKS 4    /* looks before the first judgement */

/* One segment in one cache line: the fields of struct lk_pkt that the
 * observers read (the rare SACK blocks beside it, in the batch). Anything
 * else of the lk_pkt they get is 0. */
struct rec {
	_Alignas(64) uint64_t ts;
	uint64_t idx;
	uint32_t seq, ack, payload_len, tsval, tsecr;
	uint16_t win, ip_id, mss, tcp_hlen;
	uint8_t dir, flags, ttl, af, n_sack, ws, csum_class;
	int8_t csum_sum;
	uint8_t bits; /* R_* */
};
enum { R_TS = 1, R_MSS = 2, R_WS = 4, R_SACKOK = 8, R_DF = 16, R_OPTBAD = 32 };
_Static_assert(sizeof(struct rec) == 64, "a segment's record is one cache line");

struct batch {
	_Alignas(64) struct rec r[R];
	uint32_t sack[R][LK_MAX_SACK][2];
	unsigned n;
};

struct lk_pipeline {
	struct lk_observer *obs;            /* a copy of the caller's */
	unsigned nobs;
	struct lk_pipe_idle idle;           /* fn NULL: none */
	pthread_t th;
	bool pinned;                        /* the reading thread, while the pipeline runs */
	cpu_set_t mask;                     /* ... and its own mask, given back at the end */
	struct batch *b[NB];
	/* [idx * 2 + dir / FCHUNK][... % FCHUNK]: set by the observers' thread
	 * once no observer wants segments of that flow and direction summed;
	 * chunks are allocated by the reading thread before it hands over a
	 * segment that needs one (the batch's hand-over publishes them) */
	_Atomic uint8_t *_Atomic unwanted[NFCHUNK];
	/* the reading thread's own (a line of its own: it changes with every
	 * segment, and a line the other thread polls must not) */
	_Alignas(64) uint32_t ph;           /* its batch: b[ph % NB] */
	unsigned pn;                        /* segments in it */
	double direct;                      /* ns per segment called directly (0: unknown) */
	uint64_t judged_from;               /* when the first look that counts began */
	unsigned n_looks;                   /* looks judged */
	bool stop;                          /* the pipeline does not pay: stop it */
	enum lk_pipe_mode mode;             /* tests: never stop, stop soon */
	/* written by the reading thread once per batch */
	_Alignas(64) _Atomic uint32_t head; /* batches handed over */
	_Atomic uint32_t closed;
	_Atomic uint32_t hseq;              /* futex word: bumped with head and closed */
	_Atomic uint32_t r_sleeps;          /* the reading thread waits for a free batch */
	/* the observers' thread's */
	_Alignas(64) _Atomic uint32_t tail; /* batches observed */
	_Atomic uint32_t tseq;              /* futex word: bumped with tail */
	_Atomic uint32_t o_sleeps;          /* the observers' thread waits for a batch */
	unsigned asks;                      /* note_wants calls */
};

static void fwait(_Atomic uint32_t *w, uint32_t v)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void fwake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

bool lk_pipeline_wanted(const struct lk_observer *obs, unsigned n)
{
	const char *env = getenv("LK_ANALYZE_THREADS");
	if (env && !strcmp(env, "1"))
		return false;
	if (!n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (!obs[i].csum_wanted)
			return false;
	cpu_set_t cs;
	return sched_getaffinity(0, sizeof cs, &cs) == 0 && CPU_COUNT(&cs) >= 2;
}

/* After a segment of (idx, dir) was observed: what no observer wants of
 * the frames of its direction any more (the flags hold the LK_SIDE_WANT_*
 * bits cleared). */
static void note_wants(struct lk_pipeline *pl, uint64_t idx, int dir)
{
	uint64_t k = idx * 2 + (unsigned)(dir & 1);
	if (k / FCHUNK >= NFCHUNK)
		return;
	_Atomic uint8_t *c = atomic_load_explicit(&pl->unwanted[k / FCHUNK], memory_order_relaxed);
	if (!c)
		return;
	uint8_t f = atomic_load_explicit(&c[k % FCHUNK], memory_order_relaxed);
	/* asked after every 16th segment only: a bit cleared a little late
	 * costs the reading thread a few checksum fields, asking costs this
	 * thread a call per segment for as long as a bit stays set */
	if (f == LK_SIDE_WANT_ALL || (++pl->asks & 15))
		return;
	unsigned w = 0;
	for (unsigned i = 0; i < pl->nobs; i++)
		w |= pl->obs[i].csum_wanted(pl->obs[i].ctx, idx, dir);
	uint8_t nf = (uint8_t)(f | (~w & LK_SIDE_WANT_ALL));
	if (nf != f)
		atomic_store_explicit(&c[k % FCHUNK], nf, memory_order_relaxed);
}

/* The observers' thread: wait for batch t; false once the reading thread
 * closed and everything was observed. */
static bool await_batch(struct lk_pipeline *pl, uint32_t t)
{
	bool more;
	for (unsigned i = 0;; i++) {
		if (atomic_load(&pl->head) != t) {
			more = true;
			break;
		}
		if (atomic_load(&pl->closed)) {
			more = atomic_load(&pl->head) != t;
			break;
		}
		if (i < SPIN) {
			if (pl->idle.fn && pl->idle.fn(pl->idle.ctx))
				i = 0; /* spin (and sleep) only when there is nothing to do */
			else
				lk_cpu_relax();
			continue;
		}
		/* sleep: the reading thread bumps hseq after head or closed and
		 * then wakes a sleeper it sees (seq_cst: one of the two sees the
		 * other's store) */
		uint32_t s = atomic_load(&pl->hseq);
		atomic_store(&pl->o_sleeps, 1);
		if (atomic_load(&pl->head) == t && !atomic_load(&pl->closed))
			fwait(&pl->hseq, s);
		atomic_store(&pl->o_sleeps, 0);
		i = 0;
	}
	return more;
}

static void pack(struct rec *r, uint32_t sack[][2], const struct lk_pkt *p)
{
	r->seq = p->seq;
	r->ack = p->ack;
	r->payload_len = p->payload_len;
	r->win = p->win;
	r->flags = p->flags;
	r->tcp_hlen = p->tcp_hlen;
	r->ttl = p->ttl;
	r->ip_id = p->ip_id;
	r->af = p->af;
	const struct lk_tcpopt *o = &p->opt;
	r->bits = (uint8_t)((o->has_ts ? R_TS : 0) | (o->has_mss ? R_MSS : 0) | (o->has_ws ? R_WS : 0) |
			    (o->sack_ok ? R_SACKOK : 0) | (p->df ? R_DF : 0) | (o->bad ? R_OPTBAD : 0));
	r->tsval = o->tsval;
	r->tsecr = o->tsecr;
	r->mss = o->mss;
	r->ws = o->ws;
	r->n_sack = o->n_sack;
	if (o->n_sack)
		memcpy(sack, o->sack, sizeof o->sack);
}

static void unpack(struct lk_pkt *p, const struct rec *r, const uint32_t sack[][2])
{
	p->seq = r->seq;
	p->ack = r->ack;
	p->payload_len = r->payload_len;
	p->win = r->win;
	p->flags = r->flags;
	p->tcp_hlen = r->tcp_hlen;
	p->ttl = r->ttl;
	p->ip_id = r->ip_id;
	p->af = r->af;
	p->df = r->bits & R_DF;
	struct lk_tcpopt *o = &p->opt;
	o->has_ts = r->bits & R_TS;
	o->has_mss = r->bits & R_MSS;
	o->has_ws = r->bits & R_WS;
	o->sack_ok = r->bits & R_SACKOK;
	o->bad = r->bits & R_OPTBAD;
	o->tsval = r->tsval;
	o->tsecr = r->tsecr;
	o->mss = r->mss;
	o->ws = r->ws;
	o->n_sack = r->n_sack;
	if (r->n_sack)
		memcpy(o->sack, sack, sizeof o->sack);
	p->csum_class = r->csum_class;
	p->csum_sum = r->csum_sum;
}

/* The reading thread: its own CPU mask back. */
static void unpin(struct lk_pipeline *pl)
{
	if (pl->pinned)
		pthread_setaffinity_np(pthread_self(), sizeof pl->mask, &pl->mask);
	pl->pinned = false;
}

static void *observe(void *c)
{
	struct lk_pipeline *pl = c;
	struct lk_pkt p;
	memset(&p, 0, sizeof p);
	p.csum_known = true; /* frame NULL */
	for (uint32_t t = 0; await_batch(pl, t); t++) {
		const struct batch *b = pl->b[t % NB];
		for (unsigned k = 0; k < b->n; k++) {
			const struct rec *r = &b->r[k];
			unpack(&p, r, b->sack[k]);
			for (unsigned i = 0; i < pl->nobs; i++)
				pl->obs[i].packet(pl->obs[i].ctx, r->idx, r->dir, &p, r->ts);
			note_wants(pl, r->idx, r->dir);
		}
		atomic_store(&pl->tail, t + 1);
		atomic_fetch_add(&pl->tseq, 1);
		if (atomic_load(&pl->r_sleeps))
			fwake(&pl->tseq);
	}
	return NULL;
}


struct lk_pipeline *lk_pipeline_start(const struct lk_observer *obs, unsigned n,
				      enum lk_pipe_mode mode, double direct_ns,
				      const struct lk_pipe_idle *idle)
{
	/* aligned: its counters have cache lines of their own */
	struct lk_pipeline *pl = aligned_alloc(_Alignof(struct lk_pipeline), sizeof *pl);
	if (!pl)
		return NULL;
	memset(pl, 0, sizeof *pl);
	if (!(pl->obs = malloc(n * sizeof *obs))) {
		free(pl);
		return NULL;
	}
	memcpy(pl->obs, obs, n * sizeof *obs);
	pl->nobs = n;
	pl->mode = mode;
	pl->direct = direct_ns;
	if (idle)
		pl->idle = *idle;
	for (int i = 0; i < NB; i++)
		if (!(pl->b[i] = aligned_alloc(64, sizeof *pl->b[i])))
			goto fail;
	/* The observers' thread on the other CPUs than this thread's: started
	 * beside it, it would spin on this CPU until the scheduler moves one
	 * of the two (measured: milliseconds at a third of the speed). And
	 * this thread kept on its CPU while the pipeline runs: free to move,
	 * it was seen woken on the observers' CPU after a wait for a free
	 * batch, the two threads then taking turns there (70 futex sleeps
	 * each, 0.22 s against 0.13-0.16 s). Its own mask is given back when
	 * the pipeline ends, also when it stops because a CPU is busy: pinned
	 * after that, it could stay on a CPU that another program took. */
	pthread_attr_t at;
	bool attr = pthread_attr_init(&at) == 0;
	cpu_set_t cs;
	int me = sched_getcpu();
	if (attr && me >= 0 && pthread_getaffinity_np(pthread_self(), sizeof cs, &cs) == 0 &&
	    CPU_ISSET(me, &cs) && CPU_COUNT(&cs) >= 2) {
		pl->mask = cs;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(me, &one);
		pl->pinned = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
		CPU_CLR(me, &cs);
		pthread_attr_setaffinity_np(&at, sizeof cs, &cs);
	}
	int rc = pthread_create(&pl->th, attr ? &at : NULL, observe, pl);
	if (attr)
		pthread_attr_destroy(&at);
	if (rc == 0)
		return pl;
	unpin(pl);
fail:
	for (int i = 0; i < NB; i++)
		free(pl->b[i]);
	free(pl->obs);
	free(pl);
	return NULL;
}

/* A record into the ring. The line was last read by the observers' thread
 * (on another CPU, perhaps far away: a line takes ~200 ns from one vCPU to
 * the other on some virtual machines); a non-temporal store writes it
 * without fetching it first (publish fences them). */
static inline void put(struct rec *dst, const struct rec *src)
{
#if defined(__x86_64__)
	const __m128i *s = (const __m128i *)src;
	__m128i *d = (__m128i *)dst;
	for (unsigned i = 0; i < sizeof *src / sizeof *s; i++)
		_mm_stream_si128(d + i, _mm_load_si128(s + i));
#else
	*dst = *src;
#endif
}

/* The reading thread: hand batch ph over (or, closing, none) and wake the
 * observers' thread if it sleeps. */
static void publish(struct lk_pipeline *pl, bool close)
{
#if defined(__x86_64__)
	_mm_sfence(); /* the records' non-temporal stores before head */
#endif
	if (close)
		atomic_store(&pl->closed, 1);
	else
		atomic_store(&pl->head, ++pl->ph);
	atomic_fetch_add(&pl->hseq, 1);
	if (atomic_load(&pl->o_sleeps))
		fwake(&pl->hseq);
}

/* The reading thread: wait until batch ph is free (observed NB batches ago). */
static void await_free(struct lk_pipeline *pl)
{
	for (unsigned i = 0; pl->ph - atomic_load(&pl->tail) >= NB; i++) {
		if (i < SPIN) {
			lk_cpu_relax();
			continue;
		}
		uint32_t s = atomic_load(&pl->tseq);
		atomic_store(&pl->r_sleeps, 1);
		if (pl->ph - atomic_load(&pl->tail) >= NB)
			fwait(&pl->tseq, s);
		atomic_store(&pl->r_sleeps, 0);
		i = 0;
	}
}

/* Every CHECK_EVERY batches: does the pipeline still pay? It must take
 * less time per segment, over all the looks judged so far, than calling the
 * observers directly took on the segments just before it started: that is
 * the question itself, whatever slows the pipeline down (another program
 * on a CPU, the hypervisor, the memory traffic between the CPUs). The whole
 * run so far, not the last looks: with a busy program on the observers'
 * CPU, their thread runs in the scheduler's slices of ~4 ms, and measured
 * on this project's test machine the looks went 85 ns a segment five times,
 * then 570 once, against 105 called directly; the median of recent looks
 * said go on, the mean (160) says stop. */
static void look(struct lk_pipeline *pl)
{
	if (pl->mode == LK_PIPE_STOP && pl->ph >= 64)
		pl->stop = true;
	if (pl->ph < SETTLE || pl->direct <= 0)
		return;
	uint64_t wall = lk_mono_ns();
	if (!pl->n_looks++) {
		pl->judged_from = wall;
	} else if (pl->n_looks > MIN_LOOKS && pl->mode == LK_PIPE_AUTO) {
		double per = (double)(wall - pl->judged_from) / ((pl->n_looks - 1) * CHECK_EVERY * R);
		if (per > MAX_RATIO * pl->direct)
			pl->stop = true;
	}
}

bool lk_pipeline_packet(struct lk_pipeline *pl, const struct lk_flow *f, int dir,
			const struct lk_pkt *p, uint64_t ts_ns)
{
	if (pl->pn == 0)
		await_free(pl);
	struct batch *b = pl->b[pl->ph % NB];
	struct rec rr, *r = &rr;
	r->idx = f->idx;
	r->ts = ts_ns;
	r->dir = (uint8_t)dir;
	/* what the checksum analysis needs of the frame, summed while wanted */
	uint64_t k = f->idx * 2 + (unsigned)(dir & 1);
	unsigned want = LK_SIDE_WANT_ALL;
	if (k / FCHUNK < NFCHUNK) {
		/* the reading thread is the only one to store a chunk; the
		 * observers' thread sees it with the batch (head) */
		_Atomic uint8_t *c = atomic_load_explicit(&pl->unwanted[k / FCHUNK], memory_order_relaxed);
		if (!c && (c = calloc(FCHUNK, 1)))
			atomic_store_explicit(&pl->unwanted[k / FCHUNK], c, memory_order_relaxed);
		if (c)
			want &= ~(unsigned)atomic_load_explicit(&c[k % FCHUNK], memory_order_relaxed);
	}
	pack(r, b->sack[pl->pn], p);
	lk_side_csum_fields(p, want, &r->csum_class, &r->csum_sum);
	put(&b->r[pl->pn], r);
	if (++pl->pn == R) {
		b->n = R;
		pl->pn = 0;
		publish(pl, false);
		if (pl->ph % CHECK_EVERY == 0)
			look(pl);
	}
	return !pl->stop;
}

void lk_pipeline_finish(struct lk_pipeline *pl)
{
	if (!pl)
		return;
	if (pl->pn) {
		pl->b[pl->ph % NB]->n = pl->pn;
		pl->pn = 0;
		publish(pl, false);
	}
	publish(pl, true);
	unpin(pl);
	pthread_join(pl->th, NULL);
	for (int i = 0; i < NB; i++)
		free(pl->b[i]);
	for (int i = 0; i < NFCHUNK; i++)
		free((void *)atomic_load_explicit(&pl->unwanted[i], memory_order_relaxed));
	free(pl->obs);
	free(pl);
}
