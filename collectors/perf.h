/* collectors/perf.h - counting with perf_event_open(2), shaped like libperf.
 *
 * Debian does not package libperf, so this module talks to the syscall
 * directly but keeps libperf's shape: an event *selector* turns a name into a
 * perf_event_attr, an *evlist* holds events organised in groups, is opened on
 * one *target* (a task with its threads, optionally inheriting to children, or
 * one CPU system-wide), enabled, disabled and read. Groups are read with one
 * read() (PERF_FORMAT_GROUP) together with TOTAL_TIME_ENABLED/RUNNING, and the
 * counts are scaled (val x enabled / running) when the kernel multiplexed them.
 *
 * Unsupported events are data, not errors. When the kernel refuses an event
 * the evlist records every attempt (selector, exclude_kernel, errno) as the
 * event's *chain*:
 *   - ENOENT/EOPNOTSUPP/ENODEV/ENXIO/EINVAL: the PMU lacks the event -> state
 *     LK_PERF_UNSUPPORTED, value NULL, and for cycle-like events a software
 *     fallback (task-clock on a task, cpu-clock on a CPU) is added to the list
 *     (or, when the list already has it, referenced) and named in the chain;
 *   - EACCES/EPERM: retried once with exclude_kernel (user-space only); if that
 *     opens, the event is LK_PERF_OPEN with user_only set, else LK_PERF_DENIED;
 *   - EOPNOTSUPP is retried once with exclude_guest first (as perf does).
 * A member of a group whose leader was refused is retried on its own, so every
 * event gets its own reason. Nothing here prints.
 *
 *   struct lk_perf_evlist *el = lk_perf_evlist_new();
 *   lk_perf_evlist_add(el, "cycles", true, &e);        // leader of group 1
 *   lk_perf_evlist_add(el, "instructions", false, &e); // member of group 1
 *   lk_perf_evlist_add(el, "task-clock", true, &e);    // leader of group 2
 *   struct lk_perf_target t = { .pid = pid, .cpu = -1, .inherit = true };
 *   lk_perf_evlist_open(el, &t, &e);   // -1 only on a real failure
 *   lk_perf_evlist_enable(el); ... lk_perf_evlist_disable(el);
 *   lk_perf_evlist_read(el, &e);
 *   for (i < lk_perf_evlist_nr(el)) { const struct lk_perf_evsel *s = lk_perf_evlist_evsel(el, i); ... }
 *   lk_perf_evlist_free(el);
 */
#ifndef LK_COLL_PERF_H
#define LK_COLL_PERF_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

/* Turn a selector into an attr (type, config; everything else zeroed).
 * Known names: cycles, instructions, ref-cycles, bus-cycles, cache-references,
 * cache-misses, branches (branch-instructions), branch-misses, task-clock,
 * cpu-clock, context-switches (cs), cpu-migrations (migrations), page-faults
 * (faults), minor-faults, major-faults; "rHEX" is a raw PMU config
 * (PERF_TYPE_RAW) and "pmuTYPE:HEX" an explicit type:config pair.
 * Returns -1 with e filled (LK_EXIT_USAGE) for an unknown selector. */
int lk_perf_event_parse(const char *name, struct perf_event_attr *attr, struct lk_err *e);

/* Software event that stands in for a refused event, or NULL when there is
 * none: cycle-like events -> "task-clock" (task) or "cpu-clock" (per CPU). */
const char *lk_perf_fallback_for(const char *name, bool per_cpu);

/* Scale a multiplexed count: val x ena / run. Returns 0 and *out, or -1 when
 * the event never ran (run == 0 while ena > 0): its value is unknown. */
int lk_perf_scale(uint64_t val, uint64_t ena, uint64_t run, double *out);

/* One counter reading. */
struct lk_perf_counts {
	uint64_t val, ena, run; /* raw sums over every fd of the event */
	double scaled;          /* val scaled for multiplexing (== val when ena == run) */
	bool multiplexed;       /* run < ena */
	bool counted;           /* false when the event never ran (value unknown) */
};

/* Parse the buffer of a PERF_FORMAT_GROUP | TOTAL_TIME_ENABLED | RUNNING read:
 * { nr, time_enabled, time_running, value[nr] }. Fills out[0..nr-1] (raw val,
 * ena, run; scaled and flags set). Fails when the buffer is short or nr !=
 * expect_nr. Pure: used by the evlist and by the unit tests. */
int lk_perf_parse_group(const uint64_t *buf, size_t n_u64, size_t expect_nr,
			struct lk_perf_counts *out, struct lk_err *e);

enum lk_perf_state {
	LK_PERF_PENDING = 0, /* not opened yet */
	LK_PERF_OPEN,        /* counting (maybe user-only, see user_only) */
	LK_PERF_UNSUPPORTED, /* the PMU/kernel lacks the event: value NULL */
	LK_PERF_DENIED,      /* permission refused even user-only: value NULL */
	LK_PERF_FAILED,      /* another error (EMFILE, process gone...): value NULL */
};

#define LK_PERF_MAX_CHAIN 4

/* One attempt to open an event (a link of the fallback chain). */
struct lk_perf_attempt {
	char event[32];      /* selector tried */
	bool exclude_kernel;
	bool exclude_guest;
	int err;             /* 0 = opened, else errno */
};

struct lk_perf_evsel {
	char name[32];                /* selector as added */
	enum lk_perf_state state;
	bool user_only;               /* opened with exclude_kernel after EACCES */
	char reason[200];             /* why the value is NULL / what changed; "" when plain */
	struct lk_perf_attempt chain[LK_PERF_MAX_CHAIN];
	int nchain;
	char fallback[32];            /* event that stands in for this one ("" none) */
	char fallback_of[32];         /* this event was added as a fallback for ... */
	struct lk_perf_counts counts; /* valid after lk_perf_evlist_read when OPEN */
};

/* Target of an evlist: a task (pid >= 0 and cpu == -1; all current threads of
 * the process, plus children when inherit) or one CPU system-wide (pid == -1,
 * cpu >= 0; needs root or perf_event_paranoid <= 0). pid 0 = the caller. */
struct lk_perf_target {
	pid_t pid;
	int cpu;
	bool inherit;
};

struct lk_perf_evlist;

struct lk_perf_evlist *lk_perf_evlist_new(void); /* NULL on out of memory */
/* Add an event by selector; new_group starts a new group led by it (the first
 * event always does). Fails only for an unknown selector or a full list. */
int lk_perf_evlist_add(struct lk_perf_evlist *el, const char *name, bool new_group,
		       struct lk_err *e);
/* Open every event on the target, disabled. Refused events are recorded (see
 * above) and do not make this fail. Returns the number of events opened, or -1
 * (e filled) when the target is invalid, the process does not exist, or the
 * list was already opened. */
int lk_perf_evlist_open(struct lk_perf_evlist *el, const struct lk_perf_target *t,
			struct lk_err *e);
int lk_perf_evlist_enable(struct lk_perf_evlist *el);
int lk_perf_evlist_disable(struct lk_perf_evlist *el);
/* Read every open group; fills each evsel's counts. -1 on a failed read. */
int lk_perf_evlist_read(struct lk_perf_evlist *el, struct lk_err *e);
size_t lk_perf_evlist_nr(const struct lk_perf_evlist *el);
const struct lk_perf_evsel *lk_perf_evlist_evsel(const struct lk_perf_evlist *el, size_t i);
/* Index of the event with this selector name, or -1. */
int lk_perf_evlist_find(const struct lk_perf_evlist *el, const char *name);
/* Number of threads the task target was opened on (1 for a CPU target). */
int lk_perf_evlist_nthreads(const struct lk_perf_evlist *el);
void lk_perf_evlist_free(struct lk_perf_evlist *el); /* closes fds; NULL ok */

/* Short name of an errno value as used in reasons ("ENOENT"...). */
const char *lk_perf_errname(int err);

#endif
