/* testbed/model.c - the model's parameter table, profiles and parsing (see
 * model.h). The sources name the code the paper's system ran: Xen 3.1.0
 * (xen.git tag 3.1.0-branched, with its linux-2.6-xen-sparse tree:
 * drivers/xen/netback/netback.c, drivers/xen/netfront/netfront.c,
 * xen/include/public/io/ring.h, xen/common/sched_credit.c) and vanilla
 * Linux 2.6.18 (drivers/net/e1000/, net/core/dev.c, net/sched/sch_generic.c). */
#include "testbed/model.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* clang-format off */
static const struct lk_model_param params[LK_MODEL_NPARAMS] = {
[LK_M_WIRE_RATE] = {"wire.rate_bps", "bit/s", 0, 1e9, 0, 100e9, false,
	"the paper's on-board 1 Gbit/s e1000 NIC; a 1514-byte frame takes 1538 bytes of "
	"wire time (8 preamble, 12 inter-frame gap, 4 FCS): 12.3 us",
	"line rate: the NIC sees a frame no earlier than the previous one + (len+24 B)*8/rate "
	"(0 = unlimited); also the sender's tbf when --rate is not given"},
[LK_M_NIC_RX_USECS] = {"nic.rx_usecs", "us", 0, 125, 0, 100000, false,
	"Linux 2.6.18 e1000 7.1.9-k4 (e1000_param.c): InterruptThrottleRate defaults to a fixed "
	"8000 interrupts/s (ITR register 1e9/(8000*256) = 488 x 256 ns), a 125 us minimum gap; "
	"in ethtool terms rx-usecs 125 (e1000_ethtool.c: ITR = 1e6/rx-usecs)",
	"interrupt moderation: minimum gap between NIC interrupts (0 = interrupt per arrival)"},
[LK_M_NIC_RX_FRAMES] = {"nic.rx_frames", "frames", 0, 0, 0, 4096, true,
	"Linux 2.6.18 e1000: no frame-count threshold (RxIntDelay 0, so RxAbsIntDelay is "
	"inactive); ITR alone paces interrupts",
	"interrupt once this many frames are pending, before the rx_usecs gap (0 = not used)"},
[LK_M_NIC_BUDGET] = {"nic.napi_budget", "frames", 64, 64, 1, 256, true,
	"Linux 2.6.18 e1000_main.c e1000_probe: netdev->weight = 64 (E1000_NAPI, as in Xen 3.1's "
	"linux-defconfig_xen)",
	"NAPI weight: frames per NIC poll; LRO phys flushes at the end of each poll"},
[LK_M_NIC_RING] = {"nic.ring", "descriptors", 0, 256, 0, 65536, true,
	"Linux 2.6.18 e1000.h: E1000_DEFAULT_RXD 256",
	"rx descriptor ring: frames arriving while it is full are dropped at the NIC (counted "
	"drops_nic_ring; 0 = unbounded)"},
[LK_M_NIC_REPOLL] = {"nic.repoll", "bool", 0, 1, 0, 1, true,
	"Linux 2.6.18 e1000_main.c e1000_clean: polling ends only when no tx was cleaned and "
	"work_done == 0 (v2.6.24 changed it to work_done < budget)",
	"1 = after an interrupt the NIC re-polls until a poll finds nothing (2.6.18); 0 = it "
	"stops after a poll below budget"},
[LK_M_BRIDGE_GSO] = {"bridge.gso", "bool", 1, 0, 0, 1, true,
	"guess: the paper proposes an LRO-aware bridge as an optimization, so the LRO phys it "
	"measured did not pass aggregates to netback whole; Xen 3.1 code would have passed a "
	"TCPV4 GSO aggregate through a TSO vif (README: the bridge)",
	"1 = LRO-aware bridge: aggregates reach netback whole; 0 = the vif has no GSO: "
	"aggregates are resegmented to MSS frames before netback"},
[LK_M_RING_SLOTS] = {"ring.slots", "slots", 256, 256, 2, 1024, true,
	"Xen 3.1.0 xen/include/public/io/ring.h __RING_SIZE with netif.h's 8-byte rx entries: "
	"NET_RX_RING_SIZE = NET_TX_RING_SIZE = 256",
	"netif ring size (rx and tx): the guest never has more rx buffers posted"},
[LK_M_RING_NOTIFY] = {"ring.notify", "bool", 0, 1, 0, 1, true,
	"Xen 3.1.0 ring.h RING_PUSH_RESPONSES_AND_CHECK_NOTIFY / RING_FINAL_CHECK_FOR_RESPONSES; "
	"netfront.c netif_poll re-arms rsp_event only after a poll below its budget",
	"1 = Xen event suppression (notify only when the peer's event index is in the pushed "
	"range; the consumer re-arms after a poll below budget); 0 = kick on every push"},
[LK_M_NETBACK_RESERVE] = {"netback.reserve", "slots", 1, 20, 1, 1024, true,
	"Xen 3.1.0 netback.c netbk_queue_full: MAX_SKB_FRAGS + 2 = 20 free requests when the "
	"frontend negotiated SG/TSO (2.6.18 skbuff.h: MAX_SKB_FRAGS = 18)",
	"free rx requests netback needs before it queues a packet; below it netback stops the "
	"vif queue"},
[LK_M_VIF_QLEN] = {"vif.qlen", "packets", 0, 32, 0, 100000, true,
	"Xen 3.1.0 netback interface.c: tx_queue_len 32 (module parameter queue_length); "
	"2.6.18 sch_generic.c pfifo_fast tail-drops past it",
	"vif queue while netback has stopped it; past it tail-drop (counted drops_vif_queue; "
	"0 = unbounded)"},
[LK_M_NETFRONT_BUDGET] = {"netfront.budget", "packets", 64, 64, 1, 256, true,
	"Xen 3.1.0 netfront.c create_netdev: netdev->weight = 64",
	"netfront NAPI weight: packets per guest poll; LRO virt flushes at the end of each"},
[LK_M_NETFRONT_RX_MIN] = {"netfront.rx_min", "requests", 0, 64, 0, 1024, true,
	"Xen 3.1.0 netfront.c: RX_DFL_MIN_TARGET 64 (the initial and minimum rx_target); "
	"network_alloc_rx_buffers doubles it when fewer than rx_target/4 are posted, netif_poll "
	"lowers it by one when more than 3/4 stay posted",
	"guest rx buffer target: netfront keeps rx_target buffers posted, adapting it between "
	"this and ring.slots, posting in chunks of at least rx_target/2 (0 = the whole ring "
	"always posted)"},
[LK_M_GUEST_WAKE_US] = {"guest.wake_us", "us", 0, 50, 0, 1000000, false,
	"guess: no measurement found; a woken BOOST vCPU preempts dom0 within tens of us (Xen "
	"3.1.0 sched_credit.c csched_vcpu_wake/__runq_tickle), otherwise it waits for dom0 to "
	"block, about the end of dom0's softirq batch (~100 us at 10 frames per interrupt)",
	"delay from an event-channel notify to the guest's netfront poll starting"},
[LK_M_GUEST_SLICE_US] = {"guest.slice_us", "us", 0, 30000, 0, 10000000, false,
	"Xen 3.1.0 sched_credit.c: CSCHED_MSECS_PER_TICK 10 x CSCHED_TICKS_PER_TSLICE 3 = 30 ms",
	"guest vCPU slice: with guest.load > 0 the guest runs this long, then is descheduled "
	"(0 = always running)"},
[LK_M_GUEST_LOAD] = {"guest.load", "fraction", 0, 0, 0, 0.95, false,
	"Hatori & Oi (2008) ran the receiver alone; SPECjbb beside it is the follow-up (Oi & "
	"Nakajima, ICCET 2009): sweep this for it",
	"share of the guest's CPU taken by a competing vCPU: after each slice the guest is "
	"descheduled for slice*load/(1-load)"},
[LK_M_GUEST_QUICKACK] = {"guest.quickack", "bool", 0, 0, 0, 1, true,
	"Linux 2.6.18: delayed ACK is on by default; quick ACK is one of the paper's proposed "
	"optimizations",
	"1 = the receiver sets TCP_QUICKACK (delayed ACK off); 0 = delayed ACK on"},
[LK_M_STAGE_COST_NS] = {"stage.cost_ns", "ns/frame", 0, 0, 0, 1000000, false,
	"not modelled in the paper profile: no measurement of the per-frame cost of the paper's "
	"machine was found",
	"busy work added per frame in every stage, to model a slower CPU"},
[LK_M_TIME_DILATION] = {"time.dilation", "x", 1, 1, 1, 16, false,
	"not a property of the paper's system: time dilation for network emulation (Gupta et "
	"al., NSDI 2006) on a host too slow to keep the model's time; 1 = real time",
	"run the model k times slower: wire and tbf rates / k, every modelled time (rx_usecs, "
	"wake_us, slice_us, queue timeout) x k; the report shows goodput in modelled time "
	"(x k); kernel timers (delayed ACK, RTO) are not dilated"},
};
/* clang-format on */

const char *const lk_model_profiles[] = {"quick", "paper", NULL};

const struct lk_model_param *lk_model_params(size_t *n)
{
	if (n)
		*n = LK_MODEL_NPARAMS;
	return params;
}

int lk_model_find(const char *key)
{
	for (int i = 0; key && i < LK_MODEL_NPARAMS; i++)
		if (!strcmp(params[i].key, key))
			return i;
	return -1;
}

static void set_origin(struct lk_model *m, int i, const char *origin)
{
	snprintf(m->origin[i], sizeof m->origin[i], "%s", origin);
}

void lk_model_defaults(struct lk_model *m)
{
	for (int i = 0; i < LK_MODEL_NPARAMS; i++) {
		m->v[i] = params[i].no_effect;
		set_origin(m, i, "default");
	}
}

int lk_model_profile(struct lk_model *m, const char *profile, struct lk_err *e)
{
	bool paper = profile && !strcmp(profile, "paper");
	if (!paper && !(profile && !strcmp(profile, "quick")))
		return lk_errf(e, LK_EXIT_USAGE, "unknown profile '%s' (quick or paper)",
			       profile ? profile : "");
	for (int i = 0; i < LK_MODEL_NPARAMS; i++) {
		m->v[i] = paper ? params[i].paper : params[i].no_effect;
		set_origin(m, i, "profile");
	}
	return 0;
}

static bool origin_ok(const char *o)
{
	return o && (!strcmp(o, "default") || !strcmp(o, "profile") || !strcmp(o, "cli") ||
		     !strcmp(o, "sweep"));
}

int lk_model_set(struct lk_model *m, const char *key, double v, const char *origin,
		 struct lk_err *e)
{
	int i = lk_model_find(key);
	if (i < 0)
		return lk_errf(e, LK_EXIT_USAGE, "unknown model parameter '%s' (see lrokit run "
			       "--model help)", key ? key : "");
	const struct lk_model_param *p = &params[i];
	if (!origin_ok(origin))
		return lk_errf(e, LK_EXIT_USAGE, "model %s: bad origin '%s'", key,
			       origin ? origin : "");
	if (isnan(v) || v < p->min || v > p->max)
		return lk_errf(e, LK_EXIT_USAGE, "model %s=%g out of range (%g..%g %s)", key, v,
			       p->min, p->max, p->unit);
	if (p->integer && v != floor(v))
		return lk_errf(e, LK_EXIT_USAGE, "model %s=%g: want a whole number (%s)", key, v,
			       p->unit);
	m->v[i] = v;
	set_origin(m, i, origin);
	return 0;
}

int lk_model_parse_value(int i, const char *s, double *v, struct lk_err *e)
{
	if (i < 0 || i >= LK_MODEL_NPARAMS)
		return lk_errf(e, LK_EXIT_USAGE, "unknown model parameter");
	const struct lk_model_param *p = &params[i];
	if (!strcmp(p->unit, "bool")) {
		static const char *const on[] = {"on", "true", "yes", NULL};
		static const char *const off[] = {"off", "false", "no", NULL};
		for (int k = 0; on[k]; k++)
			if (!strcasecmp(s, on[k]) || !strcasecmp(s, off[k])) {
				*v = !strcasecmp(s, on[k]) ? 1 : 0;
				return 0;
			}
	}
	errno = 0;
	char *end;
	double x = strtod(s, &end);
	if (end == s || errno || !isfinite(x))
		return lk_errf(e, LK_EXIT_USAGE, "model %s: bad value '%s'", p->key, s);
	if (!strcmp(p->unit, "bit/s")) {
		switch (tolower((unsigned char)*end)) {
		case 'k': x *= 1e3; end++; break;
		case 'm': x *= 1e6; end++; break;
		case 'g': x *= 1e9; end++; break;
		default: break;
		}
		if (*end && strcasecmp(end, "bit") && strcasecmp(end, "bps"))
			return lk_errf(e, LK_EXIT_USAGE, "model %s: bad rate '%s' (e.g. 1e9, 1G, "
				       "500M)", p->key, s);
	} else if (*end) {
		return lk_errf(e, LK_EXIT_USAGE, "model %s: bad value '%s' (a number in %s)", p->key,
			       s, p->unit);
	}
	*v = x;
	return 0;
}

int lk_model_parse_kv(struct lk_model *m, const char *kv, const char *origin, struct lk_err *e)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;
	if (!eq || eq == kv || !eq[1])
		return lk_errf(e, LK_EXIT_USAGE, "model: want KEY=VALUE, got '%s'", kv ? kv : "");
	char key[64];
	size_t kl = (size_t)(eq - kv);
	if (kl >= sizeof key)
		return lk_errf(e, LK_EXIT_USAGE, "model: unknown parameter '%.*s'", (int)kl, kv);
	memcpy(key, kv, kl);
	key[kl] = 0;
	int i = lk_model_find(key);
	if (i < 0)
		return lk_errf(e, LK_EXIT_USAGE, "unknown model parameter '%s'", key);
	double v;
	if (lk_model_parse_value(i, eq + 1, &v, e) < 0)
		return -1;
	return lk_model_set(m, key, v, origin, e);
}

int lk_model_check(const struct lk_model *m, struct lk_err *e)
{
	for (int i = 0; i < LK_MODEL_NPARAMS; i++) {
		const struct lk_model_param *p = &params[i];
		double v = m->v[i];
		if (isnan(v) || v < p->min || v > p->max || (p->integer && v != floor(v)))
			return lk_errf(e, LK_EXIT_USAGE, "model %s=%g out of range (%g..%g %s%s)", p->key,
				       v, p->min, p->max, p->unit, p->integer ? ", whole" : "");
		if (!origin_ok(m->origin[i]))
			return lk_errf(e, LK_EXIT_USAGE, "model %s: no origin (model not initialised "
				       "with lk_model_defaults?)", p->key);
	}
	if (m->v[LK_M_GUEST_LOAD] > 0 && m->v[LK_M_GUEST_SLICE_US] <= 0)
		return lk_errf(e, LK_EXIT_USAGE, "model: guest.load=%g needs guest.slice_us > 0 (the "
			       "credit scheduler's slice is 30000)", m->v[LK_M_GUEST_LOAD]);
	if (m->v[LK_M_NETBACK_RESERVE] > m->v[LK_M_RING_SLOTS])
		return lk_errf(e, LK_EXIT_USAGE, "model: netback.reserve=%g is more than ring.slots=%g "
			       "(netback could never queue a packet)", m->v[LK_M_NETBACK_RESERVE],
			       m->v[LK_M_RING_SLOTS]);
	if (m->v[LK_M_NETFRONT_RX_MIN] > m->v[LK_M_RING_SLOTS])
		return lk_errf(e, LK_EXIT_USAGE, "model: netfront.rx_min=%g is more than ring.slots=%g",
			       m->v[LK_M_NETFRONT_RX_MIN], m->v[LK_M_RING_SLOTS]);
	return 0;
}

/* The shortest %g form that reads back as v. */
static void fmt_num(char *buf, size_t n, double v)
{
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, n, "%.0f", v);
		return;
	}
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void lk_model_format_kv(const struct lk_model *m, int i, char *buf, size_t n)
{
	char num[40];
	fmt_num(num, sizeof num, m->v[i]);
	snprintf(buf, n, "%s=%s", params[i].key, num);
}

void lk_model_json(FILE *f, const struct lk_model *m)
{
	char num[40];
	fputc('{', f);
	for (int i = 0; i < LK_MODEL_NPARAMS; i++) {
		fmt_num(num, sizeof num, m->v[i]);
		fprintf(f, "%s\"%s\":%s", i ? "," : "", params[i].key, num);
	}
	fputc('}', f);
}
