/* t-coll-perf: the perf_event_open module - selectors, scaling, group-read
 * parsing, and the fallback chain when the PMU refuses an event (cycles on a
 * VM without a PMU, a bogus PMU type, a bogus raw config). */
#include "collectors/perf.h"
#include "tests/tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static bool refused_err(int err)
{
	return err == ENOENT || err == EOPNOTSUPP || err == ENODEV || err == ENXIO || err == EINVAL;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static atomic_int go, done_spin;
static void *spinner(void *arg)
{
	(void)arg;
	while (!atomic_load(&go))
		usleep(1000);
	uint64_t t0 = thread_cpu_ns();
	volatile uint64_t x = 0;
	while (thread_cpu_ns() - t0 < 60000000u)
		x++;
	atomic_store(&done_spin, 1);
	return NULL;
}

static void test_selectors(void)
{
	struct perf_event_attr a;
	struct lk_err e = {0};
	ok(lk_perf_event_parse("cycles", &a, &e) == 0 && a.type == PERF_TYPE_HARDWARE &&
	   a.config == PERF_COUNT_HW_CPU_CYCLES, "cycles is a hardware event");
	ok(lk_perf_event_parse("task-clock", &a, &e) == 0 && a.type == PERF_TYPE_SOFTWARE &&
	   a.config == PERF_COUNT_SW_TASK_CLOCK, "task-clock is a software event");
	ok(lk_perf_event_parse("r1a2B", &a, &e) == 0 && a.type == PERF_TYPE_RAW && a.config == 0x1a2b,
	   "rHEX is a raw config");
	ok(lk_perf_event_parse("pmu42:0x10", &a, &e) == 0 && a.type == 42 && a.config == 0x10,
	   "pmuTYPE:HEX selects type and config");
	ok(lk_perf_event_parse("cyclez", &a, &e) == -1 && strstr(e.msg, "'cyclez'") &&
	   e.code == LK_EXIT_USAGE, "unknown selector is a usage error naming it: %s", e.msg);
	ok(lk_perf_event_parse("rxyz", &a, &e) == -1, "bad raw hex refused");
	is_str(lk_perf_fallback_for("cycles", false), "task-clock", "cycles on a task falls back to task-clock");
	is_str(lk_perf_fallback_for("cycles", true), "cpu-clock", "cycles on a CPU falls back to cpu-clock");
	ok(lk_perf_fallback_for("instructions", false) == NULL, "instructions has no software stand-in");
}

static void test_scaling(void)
{
	double v;
	ok(lk_perf_scale(100, 200, 100, &v) == 0 && v == 200.0, "multiplexed half the time: x2");
	ok(lk_perf_scale(100, 100, 100, &v) == 0 && v == 100.0, "not multiplexed: unchanged");
	ok(lk_perf_scale(0, 100, 0, &v) == -1, "never ran: value unknown");

	struct lk_perf_counts c[2];
	struct lk_err e = {0};
	uint64_t buf[] = {2, 1000, 250, 10, 20};
	ok(lk_perf_parse_group(buf, 5, 2, c, &e) == 0, "group buffer parses");
	ok(c[0].scaled == 40.0 && c[1].scaled == 80.0 && c[0].multiplexed && c[1].ena == 1000 &&
	   c[1].run == 250, "group values scaled by enabled/running (x4)");
	ok(lk_perf_parse_group(buf, 4, 2, c, &e) == -1 && strstr(e.msg, "truncated"),
	   "short group buffer refused: %s", e.msg);
	ok(lk_perf_parse_group(buf, 5, 3, c, &e) == -1 && strstr(e.msg, "expected 3"),
	   "member count mismatch refused: %s", e.msg);
	uint64_t buf0[] = {1, 500, 0, 7};
	ok(lk_perf_parse_group(buf0, 4, 1, c, &e) == 0 && !c[0].counted, "enabled but never running: not counted");
}

static void test_task_chain(void)
{
	struct lk_err e = {0};
	struct lk_perf_evlist *el = lk_perf_evlist_new();
	ok(el != NULL, "evlist allocated");
	lk_perf_evlist_add(el, "cycles", true, &e);
	lk_perf_evlist_add(el, "instructions", false, &e);
	lk_perf_evlist_add(el, "task-clock", true, &e);
	lk_perf_evlist_add(el, "context-switches", false, &e);
	lk_perf_evlist_add(el, "page-faults", false, &e);
	struct lk_perf_target t = {.pid = 0, .cpu = -1, .inherit = true};
	int n = lk_perf_evlist_open(el, &t, &e);
	ok(n >= 3, "software events open on this task (%d open)", n);
	const struct lk_perf_evsel *cy = lk_perf_evlist_evsel(el, 0);
	const struct lk_perf_evsel *in = lk_perf_evlist_evsel(el, 1);
	const struct lk_perf_evsel *tc = lk_perf_evlist_evsel(el, 2);
	if (cy->state == LK_PERF_OPEN) {
		diag("this machine has a hardware PMU: cycles opened");
		ok(cy->nchain == 1 && cy->chain[0].err == 0, "chain is one successful attempt");
		for (int i = 0; i < 3; i++)
			skip("no hardware PMU: refused cycles, their chain, fallback and reason (cycles opened here)");
	} else {
		diag("cycles refused: %s", cy->reason);
		skip("hardware PMU present: cycles open in one attempt (refused here)");
		is_int(cy->state, LK_PERF_UNSUPPORTED, "refused cycles is UNSUPPORTED (value NULL)");
		ok(cy->nchain >= 1 && refused_err(cy->chain[cy->nchain - 1].err) &&
		   !strcmp(cy->chain[0].event, "cycles"),
		   "chain records the refused attempt (%s)", lk_perf_errname(cy->chain[0].err));
		is_str(cy->fallback, "task-clock", "fallback named: task-clock (already in the list)");
		ok(strstr(cy->reason, lk_perf_errname(cy->chain[0].err)) && strstr(cy->reason, "fallback: task-clock"),
		   "reason says why and what stands in: %s", cy->reason);
	}
	if (in->state != LK_PERF_OPEN) {
		ok(in->state == LK_PERF_UNSUPPORTED && in->nchain >= 1 && in->fallback[0] == 0 &&
		   strstr(in->reason, lk_perf_errname(in->chain[0].err)),
		   "instructions (member of the refused group) retried alone, own reason: %s", in->reason);
	} else {
		ok(cy->state == LK_PERF_OPEN, "instructions opened (and so did cycles, their group leader)");
	}
	is_int(tc->state, LK_PERF_OPEN, "task-clock open");
	is_int(lk_perf_evlist_nr(el), 5, "no extra event added when the fallback is already listed");

	/* inherit: a child's CPU time lands in our task-clock */
	lk_perf_evlist_enable(el);
	pid_t p = fork();
	if (p == 0) {
		volatile uint64_t x = 0;
		uint64_t t0 = thread_cpu_ns();
		while (thread_cpu_ns() - t0 < 80000000u)
			x++;
		_exit(0);
	}
	int st;
	struct rusage ru;
	wait4(p, &st, 0, &ru);
	lk_perf_evlist_disable(el);
	ok(lk_perf_evlist_read(el, &e) == 0, "group read");
	double child_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
			  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
	ok(tc->counts.counted && tc->counts.scaled >= 0.9 * child_ns,
	   "task-clock with inherit counts the child (%.1f ms >= 0.9 x %.1f ms)",
	   tc->counts.scaled / 1e6, child_ns / 1e6);
	const struct lk_perf_evsel *cs = lk_perf_evlist_evsel(el, 3);
	ok(cs->state == LK_PERF_OPEN && cs->counts.val >= 1, "context switches counted (%llu)",
	   (unsigned long long)cs->counts.val);
	lk_perf_evlist_free(el);
}

static void test_bogus(void)
{
	struct lk_err e = {0};
	struct lk_perf_evlist *el = lk_perf_evlist_new();
	lk_perf_evlist_add(el, "pmu2147418112:0", true, &e); /* no PMU has this type */
	lk_perf_evlist_add(el, "rffffffffffffffff", true, &e); /* bogus raw config */
	lk_perf_evlist_add(el, "cycles", true, &e);
	struct lk_perf_target t = {.pid = 0, .cpu = -1, .inherit = false};
	int n = lk_perf_evlist_open(el, &t, &e);
	ok(n >= 0, "open with bogus events still succeeds (%d open)", n);
	const struct lk_perf_evsel *b = lk_perf_evlist_evsel(el, 0);
	ok(b->state == LK_PERF_UNSUPPORTED && b->nchain == 1 && b->chain[0].err == ENOENT,
	   "bogus PMU type: UNSUPPORTED, chain [ENOENT] (%s)", b->reason);
	ok(b->fallback[0] == 0 && !strstr(b->reason, "fallback"), "no fallback for a non-cycle event");
	const struct lk_perf_evsel *r = lk_perf_evlist_evsel(el, 1);
	if (r->state == LK_PERF_OPEN)
		skip("this PMU accepted the bogus raw config: its refusal not checked");
	else
		ok(r->state == LK_PERF_UNSUPPORTED && refused_err(r->chain[r->nchain - 1].err) &&
		   r->reason[0], "bogus raw config refused with a reason: %s", r->reason);
	const struct lk_perf_evsel *cy = lk_perf_evlist_evsel(el, 2);
	if (cy->state != LK_PERF_OPEN) {
		is_int(lk_perf_evlist_nr(el), 4, "fallback event appended to the list");
		const struct lk_perf_evsel *fb = lk_perf_evlist_evsel(el, 3);
		ok(fb && !strcmp(fb->name, "task-clock") && !strcmp(fb->fallback_of, "cycles") &&
		   fb->state == LK_PERF_OPEN, "appended task-clock is marked as cycles' fallback and open");
	} else {
		skip("no hardware PMU: fallback appended to the list (cycles opened here)");
		skip("no hardware PMU: the appended task-clock marked as cycles' fallback (cycles opened here)");
	}
	lk_perf_evlist_free(el);

	el = lk_perf_evlist_new();
	lk_perf_evlist_add(el, "task-clock", true, &e);
	struct lk_perf_target bad = {.pid = 0, .cpu = 0};
	ok(lk_perf_evlist_open(el, &bad, &e) == -1 && e.code == LK_EXIT_USAGE, "task AND cpu target refused");
	lk_perf_evlist_free(el);
	el = lk_perf_evlist_new();
	lk_perf_evlist_add(el, "task-clock", true, &e);
	struct lk_perf_target gone = {.pid = 999999999, .cpu = -1};
	ok(lk_perf_evlist_open(el, &gone, &e) == -1 && strstr(e.msg, "999999999"),
	   "absent process: error names it: %s", e.msg);
	lk_perf_evlist_free(el);
}

static void test_threads(void)
{
	struct lk_err e = {0};
	pthread_t th;
	pthread_create(&th, NULL, spinner, NULL);
	struct lk_perf_evlist *el = lk_perf_evlist_new();
	lk_perf_evlist_add(el, "task-clock", true, &e);
	struct lk_perf_target t = {.pid = 0, .cpu = -1, .inherit = false};
	lk_perf_evlist_open(el, &t, &e);
	ok(lk_perf_evlist_nthreads(el) >= 2, "task target covers existing threads (%d)",
	   lk_perf_evlist_nthreads(el));
	lk_perf_evlist_enable(el);
	atomic_store(&go, 1);
	while (!atomic_load(&done_spin))
		usleep(2000);
	pthread_join(th, NULL);
	lk_perf_evlist_disable(el);
	lk_perf_evlist_read(el, &e);
	double v = lk_perf_evlist_evsel(el, 0)->counts.scaled;
	ok(v >= 50e6, "another thread's 60 ms of CPU counted (%.1f ms)", v / 1e6);
	lk_perf_evlist_free(el);
}

static void test_cpu_target(void)
{
	if (geteuid() != 0) {
		ok(1, "# SKIP per-CPU counting needs root");
		ok(1, "# SKIP per-CPU counting needs root");
		return;
	}
	struct lk_err e = {0};
	struct lk_perf_evlist *el = lk_perf_evlist_new();
	lk_perf_evlist_add(el, "cycles", true, &e);
	lk_perf_evlist_add(el, "instructions", false, &e);
	struct lk_perf_target t = {.pid = -1, .cpu = 0};
	int n = lk_perf_evlist_open(el, &t, &e);
	ok(n >= 1, "per-CPU list opens something (%d)", n);
	const struct lk_perf_evsel *cy = lk_perf_evlist_evsel(el, 0);
	if (cy->state == LK_PERF_OPEN) {
		ok(1, "cycles counted per CPU");
	} else {
		int j = lk_perf_evlist_find(el, "cpu-clock");
		ok(j >= 0 && lk_perf_evlist_evsel(el, (size_t)j)->state == LK_PERF_OPEN &&
		   !strcmp(cy->fallback, "cpu-clock"), "per-CPU cycles falls back to cpu-clock");
	}
	lk_perf_evlist_free(el);
}

/* As an unprivileged user with perf_event_paranoid >= 2: kernel counting is
 * refused (EACCES) -> retried user-only; a CPU-wide event is DENIED. */
struct unpriv_res {
	int task_state, task_user_only, nchain, err0, err1, cpu_state;
	char reason[200];
};

static void test_unprivileged(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int paranoid = -1;
	if (f) {
		if (fscanf(f, "%d", &paranoid) != 1)
			paranoid = -1;
		fclose(f);
	}
	if (geteuid() != 0 || paranoid < 2) {
		for (int i = 0; i < 3; i++)
			ok(1, "# SKIP needs root (to drop to nobody) and perf_event_paranoid >= 2 (is %d)", paranoid);
		return;
	}
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	pid_t p = fork();
	if (p == 0) {
		struct unpriv_res r;
		memset(&r, 0, sizeof r);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		struct lk_err e = {0};
		struct lk_perf_evlist *el = lk_perf_evlist_new();
		lk_perf_evlist_add(el, "task-clock", true, &e);
		struct lk_perf_target t = {.pid = 0, .cpu = -1};
		lk_perf_evlist_open(el, &t, &e);
		const struct lk_perf_evsel *s = lk_perf_evlist_evsel(el, 0);
		r.task_state = s->state;
		r.task_user_only = s->user_only;
		r.nchain = s->nchain;
		r.err0 = s->nchain > 0 ? s->chain[0].err : -1;
		r.err1 = s->nchain > 1 ? s->chain[1].err : -1;
		memcpy(r.reason, s->reason, sizeof r.reason);
		lk_perf_evlist_free(el);
		el = lk_perf_evlist_new();
		lk_perf_evlist_add(el, "cpu-clock", true, &e);
		struct lk_perf_target tc = {.pid = -1, .cpu = 0};
		lk_perf_evlist_open(el, &tc, &e);
		r.cpu_state = lk_perf_evlist_evsel(el, 0)->state;
		lk_perf_evlist_free(el);
		_exit(write(pfd[1], &r, sizeof r) == sizeof r ? 0 : 3);
	}
	close(pfd[1]);
	struct unpriv_res r;
	memset(&r, 0, sizeof r);
	ssize_t n = read(pfd[0], &r, sizeof r);
	close(pfd[0]);
	waitpid(p, NULL, 0);
	ok(n == (ssize_t)sizeof r && r.task_state == LK_PERF_OPEN && r.task_user_only,
	   "unprivileged task-clock: opened user-only after EACCES (%s)", r.reason);
	ok(r.nchain == 2 && (r.err0 == EACCES || r.err0 == EPERM) && r.err1 == 0,
	   "chain: [kernel+user %s, user-only ok]", lk_perf_errname(r.err0));
	is_int(r.cpu_state, LK_PERF_DENIED, "unprivileged CPU-wide event: DENIED (value NULL)");
}

int main(void)
{
	test_selectors();
	test_scaling();
	test_task_chain();
	test_bogus();
	test_threads();
	test_cpu_target();
	test_unprivileged();
	return done_testing();
}
