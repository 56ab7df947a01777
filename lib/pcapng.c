/* lib/pcapng.c - pcapng block walker. See pcapng.h. */
#include "lib/pcapng.h"

#include <stdlib.h>
#include <string.h>

/* Block types (pcapng: SHB, IDB, obsolete PB, SPB, EPB). */
#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 1u
#define BT_PB 2u
#define BT_SPB 3u
#define BT_EPB 6u

enum { NG_SNIFF, NG_ON, NG_OFF };

struct iface {
	uint16_t lt;
	uint32_t snap;            /* as stored (0: no limit) */
};

struct qent {
	uint16_t lt;
	uint32_t len;             /* the original length libpcap cannot know, or 0 */
};

struct lk_ngwalk {
	int mode;
	uint32_t left;            /* bytes of the current block still to pass */
	bool be, be_first, order_changed;
	struct iface *ifs;        /* the interfaces of the section */
	uint32_t nif, capif;
	bool have_first, mixed;
	uint16_t first_lt;
	uint32_t first_snap;
	uint64_t pkts;            /* packet blocks walked */
	uint64_t taken;           /* packets taken */
	bool queuing;             /* packets from queue_from on are queued */
	uint64_t queue_from;
	struct qent *q;           /* a ring */
	size_t qcap, qhead, qlen;
};

struct lk_ngwalk *lk_ngwalk_new(void) { return calloc(1, sizeof(struct lk_ngwalk)); }

void lk_ngwalk_free(struct lk_ngwalk *w)
{
	if (!w)
		return;
	free(w->ifs);
	free(w->q);
	free(w);
}

static inline uint32_t rd32(const struct lk_ngwalk *w, const uint8_t *p)
{
	if (w->be)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint16_t rd16(const struct lk_ngwalk *w, const uint8_t *p)
{
	return w->be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static void wr32(const struct lk_ngwalk *w, uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[w->be ? i : 3 - i] = (uint8_t)(v >> (24 - 8 * i));
}

static void wr16(const struct lk_ngwalk *w, uint8_t *p, uint16_t v)
{
	p[w->be ? 0 : 1] = (uint8_t)(v >> 8);
	p[w->be ? 1 : 0] = (uint8_t)v;
}

/* Queue the current packet (from the first one that needs it on). */
static bool push(struct lk_ngwalk *w, uint16_t lt, uint32_t len)
{
	if (w->qlen == w->qcap) {
		size_t ncap = w->qcap ? 2 * w->qcap : 1024;
		struct qent *q = malloc(ncap * sizeof *q);
		if (!q)
			return false;
		for (size_t i = 0; i < w->qlen; i++)
			q[i] = w->q[(w->qhead + i) % w->qcap];
		free(w->q);
		w->q = q;
		w->qcap = ncap;
		w->qhead = 0;
	}
	w->q[(w->qhead + w->qlen++) % w->qcap] = (struct qent){lt, len};
	return true;
}

static void start_queue(struct lk_ngwalk *w)
{
	if (!w->queuing) {
		w->queuing = true;
		w->queue_from = w->pkts;
	}
}

/* Header bytes needed to understand a block of this type. */
static unsigned need_of(uint32_t type)
{
	switch (type) {
	case BT_SHB: return 12; /* byte-order magic */
	case BT_IDB: return 16; /* link type, reserved, snapshot length */
	case BT_EPB: return 12; /* interface ID */
	case BT_SPB: return 12; /* original length */
	case BT_PB: return 10;  /* 16-bit interface ID */
	default: return 8;
	}
}

static bool idb(struct lk_ngwalk *w, uint8_t *h)
{
	uint16_t lt = rd16(w, h + 8);
	uint32_t snap = rd32(w, h + 12);
	if (w->nif == w->capif) {
		uint32_t ncap = w->capif ? 2 * w->capif : 8;
		struct iface *p = realloc(w->ifs, ncap * sizeof *p);
		if (!p)
			return false;
		w->ifs = p;
		w->capif = ncap;
	}
	w->ifs[w->nif++] = (struct iface){lt, snap};
	if (!w->have_first) {
		w->have_first = true;
		w->first_lt = lt;
		w->first_snap = snap;
	} else if (lt != w->first_lt && !w->mixed) {
		w->mixed = true;
		start_queue(w);
	}
	/* what libpcap sees: the first interface's link type, no snapshot
	 * limit (it checks every packet against the first interface's) */
	wr16(w, h + 8, w->first_lt);
	wr32(w, h + 12, 0);
	return true;
}

/* A packet block. An SPB's captured length is the smaller of its original
 * length and interface 0's snapshot length, which libpcap no longer sees:
 * it is given the captured length as the original one, and the real one is
 * queued for lk_ngwalk_take. */
static bool packet(struct lk_ngwalk *w, uint32_t type, uint8_t *h)
{
	uint32_t id = type == BT_EPB ? rd32(w, h + 8) : type == BT_PB ? rd16(w, h + 8) : 0;
	/* an unknown interface: libpcap refuses the packet anyway */
	uint16_t lt = id < w->nif ? w->ifs[id].lt : w->first_lt;
	uint32_t fix = 0;
	if (type == BT_SPB && w->nif && w->ifs[0].snap && rd32(w, h + 8) > w->ifs[0].snap) {
		fix = rd32(w, h + 8);
		wr32(w, h + 8, w->ifs[0].snap);
		start_queue(w);
	}
	bool ok = !w->queuing || push(w, lt, fix);
	w->pkts++;
	return ok;
}

/* The header of a block at h (need bytes): what it says. false = stop
 * walking (a length libpcap rejects too, no memory). */
static bool block(struct lk_ngwalk *w, uint32_t type, uint8_t *h, unsigned need)
{
	if (type == BT_SHB) {
		static const uint8_t bom_be[4] = {0x1A, 0x2B, 0x3C, 0x4D};
		static const uint8_t bom_le[4] = {0x4D, 0x3C, 0x2B, 0x1A};
		bool be = !memcmp(h + 8, bom_be, 4);
		if (!be && memcmp(h + 8, bom_le, 4))
			return false;
		if (w->mode == NG_SNIFF)
			w->be_first = be;
		else if (be != w->be_first)
			w->order_changed = true;
		w->be = be;
		w->nif = 0;
	}
	uint32_t len = rd32(w, h + 4);
	if (len < need + 4 || len % 4)
		return false;
	w->left = len;
	switch (type) {
	case BT_IDB:
		return idb(w, h);
	case BT_EPB: case BT_PB: case BT_SPB:
		return packet(w, type, h);
	default:
		return true;
	}
}

size_t lk_ngwalk_feed(struct lk_ngwalk *w, uint8_t *b, size_t n, bool eof)
{
	static const uint8_t shb[4] = {0x0A, 0x0D, 0x0D, 0x0A};
	size_t i = 0;
	while (i < n && w->mode != NG_OFF) {
		if (w->left) { /* the rest of a block: nothing to look at */
			size_t k = n - i < w->left ? n - i : w->left;
			i += k;
			w->left -= (uint32_t)k;
			continue;
		}
		size_t have = n - i;
		if (have >= 12 && w->mode == NG_ON && !w->queuing && rd32(w, b + i) == BT_EPB) {
			/* the common block, nothing to note: just its length */
			uint32_t len = rd32(w, b + i + 4);
			if (len < 16 || len % 4) {
				w->mode = NG_OFF;
				break;
			}
			w->left = len;
			w->pkts++;
			continue;
		}
		if (w->mode == NG_SNIFF && memcmp(b + i, shb, have < 4 ? have : 4)) {
			w->mode = NG_OFF; /* not pcapng */
			break;
		}
		/* the SHB's type reads the same in both byte orders */
		uint32_t type = have < 4 ? 0 : w->mode == NG_SNIFF ? BT_SHB : rd32(w, b + i);
		unsigned need = have < 4 ? 8 : need_of(type);
		if (have < need) {
			if (!eof)
				return i; /* the rest of the header comes with the next bytes */
			w->mode = NG_OFF;
			break;
		}
		if (!block(w, type, b + i, need)) {
			w->mode = NG_OFF;
			break;
		}
		if (w->mode == NG_SNIFF)
			w->mode = NG_ON;
	}
	return n;
}

bool lk_ngwalk_active(const struct lk_ngwalk *w) { return w->mode == NG_ON; }

int lk_ngwalk_take(struct lk_ngwalk *w, uint32_t *len)
{
	uint64_t k = w->taken++;
	*len = 0;
	if (!w->have_first)
		return -1;
	if (!w->queuing || k < w->queue_from)
		return w->first_lt;
	if (!w->qlen)
		return -1;
	struct qent e = w->q[w->qhead];
	w->qhead = (w->qhead + 1) % w->qcap;
	w->qlen--;
	*len = e.len;
	return e.lt;
}

int lk_ngwalk_first_linktype(const struct lk_ngwalk *w)
{
	return w->have_first ? w->first_lt : -1;
}

int64_t lk_ngwalk_first_snaplen(const struct lk_ngwalk *w)
{
	return w->have_first ? (int64_t)w->first_snap : -1;
}

bool lk_ngwalk_mixed(const struct lk_ngwalk *w) { return w->mixed; }
bool lk_ngwalk_order_changed(const struct lk_ngwalk *w) { return w->order_changed; }
