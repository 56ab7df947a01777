/* collectors/perf.c - perf_event_open(2) counting module (see perf.h). */
#include "collectors/perf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_EVENTS 32
#define MAX_THREADS 256

struct evsel {
	struct lk_perf_evsel pub;
	struct perf_event_attr attr; /* as parsed */
	int group;                   /* declared group number */
	int *fd;                     /* per thread, -1 = not open */
	double scaled_sum;
};

/* A group as actually opened: evsel indexes in read order (leader first). */
struct egroup {
	int member[MAX_EVENTS];
	int n;
};

struct lk_perf_evlist {
	struct evsel ev[MAX_EVENTS];
	size_t nr;
	int ngroups;
	struct egroup eg[MAX_EVENTS];
	int neg;
	struct lk_perf_target target;
	pid_t tid[MAX_THREADS];
	int ntid;
	bool opened;
};

static const struct {
	const char *name;
	uint32_t type;
	uint64_t config;
} known[] = {
	{"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
	{"cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
	{"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
	{"ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES},
	{"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES},
	{"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
	{"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
	{"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
	{"branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
	{"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
	{"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
	{"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
	{"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
	{"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
	{"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
	{"migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
	{"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
	{"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
	{"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
	{"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
};

static int parse_hex(const char *s, uint64_t *out)
{
	if (!*s)
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s)
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int lk_perf_event_parse(const char *name, struct perf_event_attr *attr, struct lk_err *e)
{
	memset(attr, 0, sizeof *attr);
	attr->size = sizeof *attr;
	if (!name || !*name)
		return lk_errf(e, LK_EXIT_USAGE, "perf: empty event selector");
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(name, known[i].name)) {
			attr->type = known[i].type;
			attr->config = known[i].config;
			return 0;
		}
	uint64_t v;
	if (name[0] == 'r' && !parse_hex(name + 1, &v)) {
		attr->type = PERF_TYPE_RAW;
		attr->config = v;
		return 0;
	}
	if (!strncmp(name, "pmu", 3)) {
		char *end;
		errno = 0;
		unsigned long t = strtoul(name + 3, &end, 10);
		if (!errno && end != name + 3 && *end == ':' && t <= UINT32_MAX &&
		    !parse_hex(end + 1, &v)) {
			attr->type = (uint32_t)t;
			attr->config = v;
			return 0;
		}
	}
	return lk_errf(e, LK_EXIT_USAGE, "perf: unknown event '%s' (try cycles, instructions, "
		       "task-clock, cpu-clock, context-switches, page-faults, rHEX)", name);
}

const char *lk_perf_fallback_for(const char *name, bool per_cpu)
{
	static const char *const cyclelike[] = {"cycles", "cpu-cycles", "ref-cycles", "bus-cycles"};
	for (size_t i = 0; i < sizeof cyclelike / sizeof cyclelike[0]; i++)
		if (!strcmp(name, cyclelike[i]))
			return per_cpu ? "cpu-clock" : "task-clock";
	return NULL;
}

int lk_perf_scale(uint64_t val, uint64_t ena, uint64_t run, double *out)
{
	if (run == 0) {
		if (ena > 0)
			return -1;
		*out = (double)val; /* never enabled: nothing counted, nothing to scale */
		return 0;
	}
	if (run >= ena) {
		*out = (double)val;
		return 0;
	}
	*out = (double)val * ((double)ena / (double)run);
	return 0;
}

static void fill_counts(struct lk_perf_counts *c, uint64_t val, uint64_t ena, uint64_t run)
{
	c->val = val;
	c->ena = ena;
	c->run = run;
	c->multiplexed = run < ena;
	c->counted = lk_perf_scale(val, ena, run, &c->scaled) == 0;
	if (!c->counted)
		c->scaled = 0;
}

int lk_perf_parse_group(const uint64_t *buf, size_t n_u64, size_t expect_nr,
			struct lk_perf_counts *out, struct lk_err *e)
{
	if (n_u64 < 3)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: group read too short (%zu words)", n_u64);
	uint64_t nr = buf[0];
	if (nr != expect_nr)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: group read has %llu values, expected %zu",
			       (unsigned long long)nr, expect_nr);
	if (n_u64 < 3 + nr)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: group read truncated (%zu words for %llu values)",
			       n_u64, (unsigned long long)nr);
	for (uint64_t i = 0; i < nr; i++)
		fill_counts(&out[i], buf[3 + i], buf[1], buf[2]);
	return 0;
}

const char *lk_perf_errname(int err)
{
	switch (err) {
	case 0: return "ok";
	case ENOENT: return "ENOENT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case EINVAL: return "EINVAL";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EMFILE: return "EMFILE";
	case EBUSY: return "EBUSY";
	case ENOSYS: return "ENOSYS";
	default: return "errno";
	}
}

static const char *explain(int err)
{
	switch (err) {
	case ENOENT: return "no PMU provides this event (no hardware PMU, e.g. a virtual machine)";
	case EOPNOTSUPP: return "the PMU cannot count this event as asked";
	case ENODEV:
	case ENXIO: return "no such PMU device";
	case EINVAL: return "the kernel rejected this event configuration";
	case EACCES:
	case EPERM: return "permission denied (perf_event_paranoid / CAP_PERFMON)";
	case ESRCH: return "the process is gone";
	case ENOSYS: return "perf_event_open is not available in this kernel";
	default: return strerror(err);
	}
}

static bool is_unsupported(int err)
{
	return err == ENOENT || err == EOPNOTSUPP || err == ENODEV || err == ENXIO ||
	       err == EINVAL || err == ENOSYS;
}

struct lk_perf_evlist *lk_perf_evlist_new(void)
{
	struct lk_perf_evlist *el = calloc(1, sizeof *el);
	return el;
}

static int add_ev(struct lk_perf_evlist *el, const char *name, bool new_group, struct lk_err *e)
{
	if (el->opened)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: cannot add '%s' to an opened event list", name);
	if (el->nr >= MAX_EVENTS)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: too many events (max %d)", MAX_EVENTS);
	if (strlen(name) >= sizeof el->ev[0].pub.name)
		return lk_errf(e, LK_EXIT_USAGE, "perf: event name '%.40s...' too long", name);
	struct evsel *ev = &el->ev[el->nr];
	int *fd = ev->fd; /* allocated by open when a fallback is added late */
	memset(ev, 0, sizeof *ev);
	ev->fd = fd;
	if (lk_perf_event_parse(name, &ev->attr, e) < 0)
		return -1;
	snprintf(ev->pub.name, sizeof ev->pub.name, "%s", name);
	if (new_group || el->nr == 0)
		el->ngroups++;
	ev->group = el->ngroups - 1;
	el->nr++;
	return 0;
}

int lk_perf_evlist_add(struct lk_perf_evlist *el, const char *name, bool new_group,
		       struct lk_err *e)
{
	return add_ev(el, name, new_group, e);
}

static long sys_perf_event_open(struct perf_event_attr *a, pid_t pid, int cpu, int group_fd)
{
	return syscall(SYS_perf_event_open, a, pid, cpu, group_fd, (unsigned long)PERF_FLAG_FD_CLOEXEC);
}

static void chain_add(struct evsel *ev, const struct perf_event_attr *a, int err)
{
	if (ev->pub.nchain >= LK_PERF_MAX_CHAIN)
		return;
	struct lk_perf_attempt *at = &ev->pub.chain[ev->pub.nchain++];
	memcpy(at->event, ev->pub.name, sizeof at->event); /* same size, NUL-terminated */
	at->exclude_kernel = a->exclude_kernel;
	at->exclude_guest = a->exclude_guest;
	at->err = err;
}

/* Open one event on one thread/CPU with the retry chain (recorded only when
 * `record`). On success the final attr is kept in ev->attr. Returns fd or -errno. */
static int try_open(struct lk_perf_evlist *el, struct evsel *ev, pid_t tid, int group_fd, bool record)
{
	struct perf_event_attr a = ev->attr;
	a.size = sizeof a;
	a.disabled = group_fd < 0;
	a.inherit = el->target.cpu < 0 && el->target.inherit;
	a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
			PERF_FORMAT_TOTAL_TIME_RUNNING;
	int cpu = el->target.cpu;
	pid_t pid = el->target.cpu < 0 ? tid : -1;
	for (int attempt = 0; attempt < 3; attempt++) {
		long fd = sys_perf_event_open(&a, pid, cpu, group_fd);
		int err = fd < 0 ? errno : 0;
		if (record)
			chain_add(ev, &a, err);
		if (fd >= 0) {
			if (record) {
				ev->attr.exclude_kernel = a.exclude_kernel;
				ev->attr.exclude_hv = a.exclude_hv;
				ev->attr.exclude_guest = a.exclude_guest;
				ev->pub.user_only = a.exclude_kernel;
			}
			return (int)fd;
		}
		if ((err == EACCES || err == EPERM) && !a.exclude_kernel) {
			a.exclude_kernel = 1;
			a.exclude_hv = 1;
			continue;
		}
		if (err == EOPNOTSUPP && !a.exclude_guest) {
			a.exclude_guest = 1;
			continue;
		}
		return -err;
	}
	return -EINVAL;
}

static int list_threads(struct lk_perf_evlist *el, pid_t pid, struct lk_err *e)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: process %d: %s", (int)pid,
			       errno == ENOENT ? "no such process" : strerror(errno));
	el->tid[0] = pid; /* main thread first: its open decides each event's fate */
	el->ntid = 1;
	struct dirent *de;
	while ((de = readdir(d)) && el->ntid < MAX_THREADS) {
		char *end;
		long t = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || t == pid)
			continue;
		el->tid[el->ntid++] = (pid_t)t;
	}
	closedir(d);
	return 0;
}

static void set_reason(struct evsel *ev, int err)
{
	snprintf(ev->pub.reason, sizeof ev->pub.reason, "%s: %s", lk_perf_errname(err), explain(err));
}

/* Decide on the main thread (index 0): open leaders and members, retrying
 * members of a refused leader on their own. */
static void open_groups_first(struct lk_perf_evlist *el, int first_group, int last_group)
{
	for (int g = first_group; g <= last_group; g++) {
		struct egroup cur = {.n = 0};
		int leader_fd = -1;
		for (size_t i = 0; i < el->nr; i++) {
			struct evsel *ev = &el->ev[i];
			if (ev->group != g || ev->pub.state != LK_PERF_PENDING)
				continue;
			int fd = try_open(el, ev, el->tid[0], leader_fd, true);
			if (fd < 0) {
				int err = -fd;
				set_reason(ev, err);
				ev->pub.state = is_unsupported(err) ? LK_PERF_UNSUPPORTED
					      : (err == EACCES || err == EPERM) ? LK_PERF_DENIED
					      : LK_PERF_FAILED;
				continue;
			}
			ev->fd[0] = fd;
			ev->pub.state = LK_PERF_OPEN;
			if (ev->pub.user_only)
				snprintf(ev->pub.reason, sizeof ev->pub.reason,
					 "user space only: kernel counting refused (%s)",
					 lk_perf_errname(ev->pub.chain[0].err));
			if (leader_fd < 0)
				leader_fd = fd;
			cur.member[cur.n++] = (int)i;
		}
		if (cur.n)
			el->eg[el->neg++] = cur;
	}
}

int lk_perf_evlist_open(struct lk_perf_evlist *el, const struct lk_perf_target *t,
			struct lk_err *e)
{
	if (el->opened)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: event list already opened");
	if (el->nr == 0)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: empty event list");
	if ((t->cpu < 0) == (t->pid < 0))
		return lk_errf(e, LK_EXIT_USAGE, "perf: target must be a task (pid >= 0, cpu -1) "
			       "or a CPU (pid -1, cpu >= 0)");
	el->target = *t;
	if (t->cpu < 0) {
		pid_t pid = t->pid ? t->pid : getpid();
		el->target.pid = pid;
		if (list_threads(el, pid, e) < 0)
			return -1;
	} else {
		el->tid[0] = -1;
		el->ntid = 1;
	}
	el->opened = true;
	/* Fallbacks may add events: allocate fd arrays for the maximum. */
	for (size_t i = 0; i < MAX_EVENTS; i++) {
		el->ev[i].fd = malloc(sizeof(int) * (size_t)el->ntid);
		if (!el->ev[i].fd)
			return lk_errf(e, LK_EXIT_RUNTIME, "perf: out of memory");
		for (int k = 0; k < el->ntid; k++)
			el->ev[i].fd[k] = -1;
	}
	int ngroups0 = el->ngroups;
	open_groups_first(el, 0, ngroups0 - 1);
	if (el->ev[0].pub.state == LK_PERF_FAILED && el->ev[0].pub.chain[0].err == ESRCH)
		return lk_errf(e, LK_EXIT_RUNTIME, "perf: process %d is gone", (int)el->target.pid);

	/* Software fallbacks for refused cycle-like events. */
	size_t nr0 = el->nr;
	for (size_t i = 0; i < nr0; i++) {
		struct evsel *ev = &el->ev[i];
		if (ev->pub.state != LK_PERF_UNSUPPORTED && ev->pub.state != LK_PERF_DENIED)
			continue;
		const char *fb = lk_perf_fallback_for(ev->pub.name, el->target.cpu >= 0);
		if (!fb)
			continue;
		int j = lk_perf_evlist_find(el, fb);
		if (j < 0) {
			el->opened = false; /* allow add_ev */
			int rc = add_ev(el, fb, true, NULL);
			el->opened = true;
			if (rc < 0)
				continue;
			j = (int)el->nr - 1;
			snprintf(el->ev[j].pub.fallback_of, sizeof el->ev[j].pub.fallback_of, "%s",
				 ev->pub.name);
			open_groups_first(el, el->ev[j].group, el->ev[j].group);
		}
		snprintf(ev->pub.fallback, sizeof ev->pub.fallback, "%s", fb);
		size_t l = strlen(ev->pub.reason);
		snprintf(ev->pub.reason + l, sizeof ev->pub.reason - l, "; fallback: %s%s", fb,
			 el->ev[j].pub.state == LK_PERF_OPEN ? "" : " (also unavailable)");
	}

	/* The other threads: same groups, same final attrs. */
	for (int k = 1; k < el->ntid; k++)
		for (int g = 0; g < el->neg; g++) {
			int leader_fd = -1;
			for (int m = 0; m < el->eg[g].n; m++) {
				struct evsel *ev = &el->ev[el->eg[g].member[m]];
				if (m > 0 && leader_fd < 0)
					break;
				int fd = try_open(el, ev, el->tid[k], leader_fd, false);
				if (fd < 0) {
					/* thread gone (ESRCH) or refused: drop this thread's group */
					for (int q = 0; q < m; q++) {
						struct evsel *o = &el->ev[el->eg[g].member[q]];
						close(o->fd[k]);
						o->fd[k] = -1;
					}
					break;
				}
				ev->fd[k] = fd;
				if (m == 0)
					leader_fd = fd;
			}
		}
	int n = 0;
	for (size_t i = 0; i < el->nr; i++)
		n += el->ev[i].pub.state == LK_PERF_OPEN;
	return n;
}

static int ioctl_all(struct lk_perf_evlist *el, unsigned long req)
{
	int rc = 0;
	for (int g = 0; g < el->neg; g++) {
		struct evsel *ld = &el->ev[el->eg[g].member[0]];
		for (int k = 0; k < el->ntid; k++)
			if (ld->fd[k] >= 0 && ioctl(ld->fd[k], req, PERF_IOC_FLAG_GROUP) < 0)
				rc = -1;
	}
	return rc;
}

int lk_perf_evlist_enable(struct lk_perf_evlist *el) { return ioctl_all(el, PERF_EVENT_IOC_ENABLE); }
int lk_perf_evlist_disable(struct lk_perf_evlist *el) { return ioctl_all(el, PERF_EVENT_IOC_DISABLE); }

int lk_perf_evlist_read(struct lk_perf_evlist *el, struct lk_err *e)
{
	for (size_t i = 0; i < el->nr; i++) {
		memset(&el->ev[i].pub.counts, 0, sizeof el->ev[i].pub.counts);
		el->ev[i].scaled_sum = 0;
		el->ev[i].pub.counts.counted = el->ev[i].pub.state == LK_PERF_OPEN;
	}
	for (int g = 0; g < el->neg; g++) {
		struct egroup *eg = &el->eg[g];
		struct evsel *ld = &el->ev[eg->member[0]];
		for (int k = 0; k < el->ntid; k++) {
			if (ld->fd[k] < 0)
				continue;
			uint64_t buf[3 + MAX_EVENTS];
			ssize_t n = read(ld->fd[k], buf, sizeof buf);
			if (n < 0)
				return lk_errf(e, LK_EXIT_RUNTIME, "perf: read of group '%s': %s",
					       ld->pub.name, strerror(errno));
			struct lk_perf_counts c[MAX_EVENTS];
			if (lk_perf_parse_group(buf, (size_t)n / sizeof(uint64_t), (size_t)eg->n, c, e) < 0)
				return lk_err_prefix(e, "group '%s'", ld->pub.name);
			for (int m = 0; m < eg->n; m++) {
				struct evsel *ev = &el->ev[eg->member[m]];
				struct lk_perf_counts *s = &ev->pub.counts;
				s->val += c[m].val;
				s->ena += c[m].ena;
				s->run += c[m].run;
				s->multiplexed |= c[m].multiplexed;
				if (!c[m].counted && c[m].ena > 0)
					s->counted = false;
				ev->scaled_sum += c[m].scaled;
			}
		}
	}
	for (size_t i = 0; i < el->nr; i++) {
		struct lk_perf_counts *s = &el->ev[i].pub.counts;
		s->scaled = s->counted ? el->ev[i].scaled_sum : 0;
	}
	return 0;
}

size_t lk_perf_evlist_nr(const struct lk_perf_evlist *el) { return el->nr; }

const struct lk_perf_evsel *lk_perf_evlist_evsel(const struct lk_perf_evlist *el, size_t i)
{
	return i < el->nr ? &el->ev[i].pub : NULL;
}

int lk_perf_evlist_find(const struct lk_perf_evlist *el, const char *name)
{
	for (size_t i = 0; i < el->nr; i++)
		if (!strcmp(el->ev[i].pub.name, name))
			return (int)i;
	return -1;
}

int lk_perf_evlist_nthreads(const struct lk_perf_evlist *el) { return el->ntid; }

void lk_perf_evlist_free(struct lk_perf_evlist *el)
{
	if (!el)
		return;
	for (size_t i = 0; i < MAX_EVENTS; i++) {
		if (el->ev[i].fd) {
			for (int k = 0; k < el->ntid; k++)
				if (el->ev[i].fd[k] >= 0)
					close(el->ev[i].fd[k]);
			free(el->ev[i].fd);
		}
	}
	free(el);
}
