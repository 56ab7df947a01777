/* testbed/testbed.h - build and tear down the testbed configurations
 * (testbed/configs.h) in network namespaces.
 *
 * Names: every namespace of a testbed starts with its prefix. `lrokit run`
 * uses "lkr<pid>" (the pid of the run), so two runs never collide and a later
 * run can tell the leftovers of a killed one (pid gone) from a live one;
 * `lrokit testbed up` uses "lkb-<config>". Interface names live inside the
 * namespaces and are the fixed ones of the drawing:
 *
 *   <p>-snd:  eth0 10.77.0.1/24, fd77::1/64 (sender; TSO/GSO/TX csum off; tbf)
 *   <p>-dom0: peth0 (wire end, GRO off), xenbr0 bridge, TAPs pnic0 and vif1.0
 *             made by the NIC and netback stage processes
 *   <p>-domU: eth0 10.77.0.2/24, fd77::2/64 = the TAP of the netfront stage
 *   native*:  <p>-snd and <p>-rcv joined by one veth (eth0 each)
 *
 * CPU placement: the sender's namespace work and processes on cpu_send, the
 * stages, receiver and receive softirq work (RPS on the wire veth) on cpu_recv.
 *
 * The model: every stage gets all of tb->model's values (`--model KEY=VALUE`
 * each); the testbed itself applies ring.slots (the shared rings' size) and
 * wire.rate_bps: without rate_bps the sender's tbf runs at the wire rate,
 * and with a wire rate the tbf counts 24 bytes of wire overhead per frame
 * (stab overhead 24) so that it never outpaces the modelled wire.
 */
#ifndef LK_TESTBED_TESTBED_H
#define LK_TESTBED_TESTBED_H

#include "lib/err.h"
#include "testbed/configs.h"
#include "testbed/model.h"
#include "testbed/stage.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LK_TB_SEND_ADDR "10.77.0.1"
#define LK_TB_RECV_ADDR "10.77.0.2"
#define LK_TB_RUN_PREFIX "lkr"
#define LK_TB_STATE_DIR "/run/lrokit"

/* stage_pid[] and stats_path[] are indexed by enum lk_stage_kind */
enum { LK_TB_NSTAGES = LK_STAGE_NETFRONT + 1 };

struct lk_testbed {
	/* set by the caller */
	const struct lk_config *cfg;
	char prefix[48];
	uint64_t rate_bps;        /* tbf on the sender's wire, 0 = none */
	int cpu_send, cpu_recv;   /* -1 = no pinning */
	bool persistent;          /* testbed up: stages survive us (setsid, no pdeathsig) */
	const char *lro_policy;   /* NULL = linux */
	struct lk_model model;    /* the fidelity model (testbed/model.h) the stages run */
	/* filled by lk_tb_up */
	/* ns_dom0: the driver domain on the full path, the wire on the native one */
	char ns_snd[64], ns_dom0[64], ns_rcv[64];
	char statedir[128];
	pid_t stage_pid[LK_TB_NSTAGES];
	char stats_path[LK_TB_NSTAGES][192]; /* the stages' lk_stage_stats files (testbed/stage.h) */
	char offloads[4096];      /* JSON: offload settings of every interface */
	bool up;
};

/* Builds everything; on failure tears down what it made. */
int lk_tb_up(struct lk_testbed *tb, struct lk_err *e);
/* Stops the stages (they write their stats files), kills whatever else runs
 * in the namespaces, deletes them. Safe to call twice and on partial setups.
 * Keeps statedir (remove it with lk_tb_rm_statedir). */
int lk_tb_down(struct lk_testbed *tb, struct lk_err *e);
void lk_tb_rm_statedir(struct lk_testbed *tb);
/* Fill the namespace names for a prefix and config (no side effects). */
void lk_tb_names(struct lk_testbed *tb);
/* Remove namespaces and state of `lrokit run` testbeds whose run process is
 * gone (killed). Returns the number of testbeds removed, -1 on error. */
int lk_tb_reap_stale(struct lk_err *e);
/* Does this prefix have any namespace? */
bool lk_tb_exists(const struct lk_testbed *tb);

/* Read counter `field` of protocol `proto` ("Ip", "Tcp", "IpExt", "TcpExt")
 * from /proc/net/snmp or /proc/net/netstat as seen inside namespace ns.
 * Returns 0 and sets *v, or -1. */
int lk_tb_snmp(const char *ns, const char *proto, const char *field, unsigned long long *v);
#endif
