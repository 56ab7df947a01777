/* testbed/configs.h - the one table of testbed configurations.
 *
 * Every part that names a configuration reads it from here: the testbed
 * (what to build), `lrokit run`/`testbed`/`bench` (what the user may ask
 * for, in this order), the report (the order of its rows and the paper's
 * labels and numbers) and the tests. This module depends on nothing else
 * (no testbed process code), so the reports layer may use it.
 *
 * native-lro (LRO in the receiver's real NIC) is hosts-only: `lrokit bench
 * --hosts` runs it where the receiver's NIC can switch LRO on; the local
 * commands refuse it with LK_CONFIG_HOSTS_ONLY_WHY.
 *
 * The paper is Hatori & Oi (2008) with its follow-up Oi & Nakajima (ICCET
 * 2009); its labels are "Native", "Non-LRO", "LRO phys" and "LRO virt".
 */
#ifndef LK_TESTBED_CONFIGS_H
#define LK_TESTBED_CONFIGS_H

#include <stdbool.h>
#include <stddef.h>

struct lk_config {
	const char *name;      /* "native", "xen", ... (runs.config) */
	bool full_path;        /* emulated Xen path (else sender ==wire== receiver) */
	bool kernel_gro;       /* kernel GRO on the receiver's wire end (native-gro) */
	bool lro_phys;         /* lro_ref in the NIC stage ("LRO phys") */
	bool lro_virt;         /* lro_ref in the netfront stage ("LRO virt") */
	const char *desc;      /* one line for people */
	const char *paper;     /* the paper's label, NULL: not in the paper */
	double paper_lro_rate; /* the paper's LRO rate, NaN: not given */
	const char *paper_throughput; /* what the paper says of its throughput, NULL none */
	bool hosts_only;       /* only between real machines (`bench --hosts`): the
				  emulated testbed cannot build it (native-lro: veth has
				  no LRO to switch on) */
};

/* The configurations in their canonical order (the local ones, then the
 * hosts-only ones); the entry after the last has name NULL. */
extern const struct lk_config lk_configs[];
#define LK_NCONFIGS 7

/* Why `lrokit run`, `testbed` and local `bench` refuse a hosts-only
 * configuration (one line, after "CONFIG "). */
#define LK_CONFIG_HOSTS_ONLY_WHY                                                                   \
	"needs a real NIC with LRO that can be switched (ethtool -k: large-receive-offload "       \
	"not [fixed]; veth has none): run it between real machines with lrokit bench --hosts FILE"

/* NULL when there is no configuration of that name. */
const struct lk_config *lk_config_find(const char *name);
/* Position in lk_configs (the report's row order), -1 unknown. */
int lk_config_rank(const char *name);
/* The names of the configurations the emulated testbed builds (not the
 * hosts-only ones) joined by sep ("native native-gro ..."), for messages. */
const char *lk_config_list(char *buf, size_t n, const char *sep);

#endif
