/* reports/findings.h - the paper's claims, each judged on the runs of one
 * database: a verdict computed from the numbers, the numbers that decide it,
 * the mechanism in a sentence or two, and what is missing when the runs
 * cannot decide.
 *
 * The claims (Hatori & Oi 2008; the follow-up Oi & Nakajima, ICCET 2009):
 *
 *   lro_rate_phys_lt_virt     the LRO rate of LRO phys is lower than that of
 *                             LRO virt (the paper: 1.98 vs 4.91). Rate of
 *                             lro-phys: lro_stats lro_rate of the nic stage;
 *                             of lro-virt: of the netfront stage (runs.lro_rate
 *                             when a run has no stage rate).
 *   virt_highest_throughput   LRO virt gives the highest goodput of xen,
 *                             lro-phys and lro-virt. Not testable when every
 *                             one of them reaches the line rate (>= 95% of
 *                             its payload ceiling, rate x 1448/1538) and none
 *                             is ahead: the wire, not the receiver, decides.
 *   lro_fewer_acks            ACKs per 100 data segments (receiver capture)
 *                             are lower with LRO (lro-phys, lro-virt) than
 *                             without (xen).
 *   failed_delack_adds_acks   unsuccessful delayed ACKs (ack_classes
 *                             timing_quick: an ACK for at most one MSS sent
 *                             before the delayed-ACK timer) add ACKs: they
 *                             are >= LK_FINDINGS_QUICK_SHARE of the ACKs of
 *                             an LRO configuration.
 *   sack_rate_lower           the SACK rate drops with LRO because SACKs are
 *                             not merged by delayed ACK: SACK packets per 100
 *                             data segments AND per retransmitted segment are
 *                             both lower with LRO than in xen (fewer SACKs
 *                             only because fewer losses is not the claim).
 *                             Not testable without losses (no SACK in xen).
 *   bwe_rises_until_sack      the sender's bandwidth estimate rises until
 *                             SACKs arrive. In the bwe series of every run's
 *                             sender capture, a SACK episode is a SACK arrival
 *                             with >= 8 estimates since the previous one; it
 *                             fits when the mean of the last quarter of those
 *                             estimates exceeds that of the first quarter and
 *                             the estimates right after the SACK (as many as a
 *                             quarter) are not higher again. Per run the first
 *                             estimator with an episode counts: westwood (one
 *                             estimate per RTT window), else the denser
 *                             delivery_rate, else goodput. Reproduced when
 *                             >= 2/3 of the episodes fit; not testable when
 *                             losses leave no such stretch.
 *   phys_lro_cpu              LRO in the physical NIC improves CPU use across
 *                             the system: receiving-side CPU seconds per GB
 *                             of lro-phys lower than xen's in total, and in
 *                             no domain (dom0, domU) higher.
 *
 * "Lower"/"higher" means beyond the noise: the means differ by more than
 * the sum of their standard deviations over the repeats AND by more than
 * LK_FINDINGS_MIN_REL of the larger one; otherwise they are "the same" (and
 * the claim of a difference is not reproduced). With one run per
 * configuration there is no spread, and the numbers say so.
 *
 * Per testbed (each set holds the runs of one testbed: the emulated one,
 * or one pair of real hosts of `bench --hosts`, reports/rmodel.h): on the
 * Xen path (emulated, or a real Xen host) as above; between plain hosts the
 * claims about the Xen path (lro_rate_phys_lt_virt, virt_highest_throughput)
 * are not testable, with that reason, and the others are judged with native
 * as the baseline and native-gro, native-lro as the receive offloads
 * (phys_lro_cpu: native-lro against native, the receiving host's CPU only;
 * the sender machine's never counts).
 *
 * Stage drops (losses inside the emulated path, runs.stage_drops) and
 * capture drops (packets libpcap missed, runs.capture_drops) are reported
 * apart wherever losses matter.
 */
#ifndef LK_REPORTS_FINDINGS_H
#define LK_REPORTS_FINDINGS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define LK_FINDINGS_MIN_REL 0.02     /* smallest relative difference that counts */
#define LK_FINDINGS_QUICK_SHARE 0.10 /* share of ACKs that "adds ACKs" */
#define LK_FINDINGS_LINE_SHARE 0.95  /* goodput this close to the line rate: wire-bound */

enum lk_claim {
	LK_CLAIM_LRO_RATE_PHYS_LT_VIRT,
	LK_CLAIM_VIRT_HIGHEST_THROUGHPUT,
	LK_CLAIM_LRO_FEWER_ACKS,
	LK_CLAIM_FAILED_DELACK_ADDS_ACKS,
	LK_CLAIM_SACK_RATE_LOWER,
	LK_CLAIM_BWE_RISES_UNTIL_SACK,
	LK_CLAIM_PHYS_LRO_CPU,
	LK_NCLAIMS
};

enum lk_verdict { LK_VERDICT_REPRODUCED, LK_VERDICT_NOT_REPRODUCED, LK_VERDICT_NOT_TESTABLE };

struct lk_finding {
	enum lk_claim claim;
	const char *id;        /* "lro_rate_phys_lt_virt", ... */
	const char *text;      /* the paper's claim in words */
	enum lk_verdict verdict;
	char numbers[1024];    /* the numbers from the database that decide it */
	char mechanism[1024];  /* why, in one or two sentences, with evidence when there is some */
	char missing[512];     /* not testable: what is missing ("" otherwise) */
};

/* "reproduced", "not reproduced", "not testable" */
const char *lk_verdict_name(enum lk_verdict v);
/* "reproduced", "not_reproduced", "not_testable" (for files and scripts) */
const char *lk_verdict_id(enum lk_verdict v);

/* Judge every claim on the ok runs among run_ids (all runs when n_ids is
 * 0). The runs should be one set: the same testbed, profile, sweep point
 * and model parameters; when they are several, the first set (emulated
 * runs before real hosts, runs that are not part of a sweep first) is
 * judged and *nsets (may be NULL) says how many there were. out[i] is
 * claim i. -1 on a database error. */
int lk_findings_eval(sqlite3 *db, const int64_t *run_ids, size_t n_ids,
		     struct lk_finding out[LK_NCLAIMS], int *nsets, struct lk_err *e);

/* The same for set number `set` (0 .. *nsets - 1, in the report's order:
 * emulated runs first, then each pair of real hosts). label (nlabel bytes,
 * may be NULL) gets the set's name: "" for the only set of an emulated
 * database, "hosts SENDER -> RECEIVER" for runs of `bench --hosts`,
 * "emulated" beside them. -1 also when there is no such set. */
int lk_findings_eval_set(sqlite3 *db, const int64_t *run_ids, size_t n_ids, int set,
			 struct lk_finding out[LK_NCLAIMS], char *label, size_t nlabel, int *nsets,
			 struct lk_err *e);

#endif
