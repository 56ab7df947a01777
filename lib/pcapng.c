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

struct lk_ngwalk {
	int mode;
	uint8_t hdr[16];          /* the first bytes of the current block, as stored */
	unsigned hn, need;        /* collected, needed before the block is understood */
	uint32_t type;
	uint32_t left;            /* bytes of the current block after those */
	bool be, be_set;          /* byte order of the current section */
	bool be_first, order_changed;
	uint16_t *ift;            /* link type of each interface of the section */
	uint32_t nif, capif;
	bool have_first, mixed;
	uint16_t first_lt;
	uint32_t first_snap;
	uint64_t pkts;            /* packet blocks walked */
	uint64_t taken;           /* packets taken */
	uint64_t mixed_from;      /* packets from here on are queued */
	uint16_t *q;              /* link types of queued packets (a ring) */
	size_t qcap, qhead, qlen;
};

struct lk_ngwalk *lk_ngwalk_new(void)
{
	struct lk_ngwalk *w = calloc(1, sizeof *w);
	if (w)
		w->need = 4;
	return w;
}

void lk_ngwalk_free(struct lk_ngwalk *w)
{
	if (!w)
		return;
	free(w->ift);
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

static bool push(struct lk_ngwalk *w, uint16_t lt)
{
	if (w->qlen == w->qcap) {
		size_t ncap = w->qcap ? 2 * w->qcap : 1024;
		uint16_t *q = malloc(ncap * sizeof *q);
		if (!q)
			return false;
		for (size_t i = 0; i < w->qlen; i++)
			q[i] = w->q[(w->qhead + i) % w->qcap];
		free(w->q);
		w->q = q;
		w->qcap = ncap;
		w->qhead = 0;
	}
	w->q[(w->qhead + w->qlen++) % w->qcap] = lt;
	return true;
}

/* Header bytes needed to understand a block of this type. */
static unsigned need_of(uint32_t type)
{
	switch (type) {
	case BT_SHB: return 12; /* byte-order magic */
	case BT_IDB: return 16; /* link type, reserved, snapshot length */
	case BT_EPB: return 12; /* interface ID */
	case BT_PB: return 10;  /* 16-bit interface ID */
	default: return 8;
	}
}

/* The header of the current block is complete: what it says. false = stop
 * walking (a length libpcap rejects too, or no memory). */
static bool block(struct lk_ngwalk *w, uint32_t len)
{
	if (len < w->need + 4 || len % 4)
		return false;
	w->left = len - w->need;
	switch (w->type) {
	case BT_SHB:
		w->nif = 0;
		return true;
	case BT_IDB: {
		uint16_t lt = rd16(w, w->hdr + 8);
		if (w->nif == w->capif) {
			uint32_t ncap = w->capif ? 2 * w->capif : 8;
			uint16_t *p = realloc(w->ift, ncap * sizeof *p);
			if (!p)
				return false;
			w->ift = p;
			w->capif = ncap;
		}
		w->ift[w->nif++] = lt;
		if (!w->have_first) {
			w->have_first = true;
			w->first_lt = lt;
			w->first_snap = rd32(w, w->hdr + 12);
		} else if (lt != w->first_lt && !w->mixed) {
			w->mixed = true;
			w->mixed_from = w->pkts;
		}
		return true;
	}
	case BT_EPB: case BT_PB: case BT_SPB: {
		uint32_t id = w->type == BT_EPB ? rd32(w, w->hdr + 8)
			    : w->type == BT_PB ? rd16(w, w->hdr + 8) : 0;
		w->pkts++;
		/* an unknown interface: libpcap refuses the packet anyway */
		return !w->mixed || push(w, id < w->nif ? w->ift[id] : w->first_lt);
	}
	default:
		return true;
	}
}

/* Byte k of the current block header arrives in *b. */
static void header_byte(struct lk_ngwalk *w, uint8_t *b)
{
	unsigned k = w->hn;
	w->hdr[w->hn++] = *b;
	if (w->type != BT_IDB || k < 8)
		return;
	if (k >= 12) { /* the snapshot length */
		*b = 0;
	} else if (k < 10 && w->have_first) { /* the link type: the first interface's */
		unsigned hi = w->be ? k == 8 : k == 9;
		*b = (uint8_t)(hi ? w->first_lt >> 8 : w->first_lt);
	}
}

void lk_ngwalk_feed(struct lk_ngwalk *w, uint8_t *b, size_t n)
{
	static const uint8_t shb[4] = {0x0A, 0x0D, 0x0D, 0x0A};
	size_t i = 0;
	while (i < n && w->mode != NG_OFF) {
		if (!w->left && !w->hn && w->be_set && n - i >= 16) {
			/* fast path: a whole packet block header in the piece */
			uint32_t type = rd32(w, b + i);
			if (type != BT_SHB && type != BT_IDB) {
				w->type = type;
				w->need = need_of(type);
				memcpy(w->hdr, b + i, w->need);
				w->hn = w->need;
				i += w->need;
				if (!block(w, rd32(w, w->hdr + 4)))
					w->mode = NG_OFF;
				continue;
			}
		}
		if (w->left) { /* the rest of a block: nothing to look at */
			size_t k = n - i < w->left ? n - i : w->left;
			i += k;
			w->left -= (uint32_t)k;
			if (!w->left) {
				w->hn = 0;
				w->need = 8;
			}
			continue;
		}
		header_byte(w, &b[i++]);
		if (w->mode == NG_SNIFF) {
			if (w->hdr[w->hn - 1] != shb[w->hn - 1])
				w->mode = NG_OFF;
			else if (w->hn == 4)
				w->mode = NG_ON;
			continue;
		}
		if (w->hn == 8) {
			/* the SHB's type reads the same in both byte orders */
			w->type = w->be_set ? rd32(w, w->hdr) : BT_SHB;
			if (w->type != BT_SHB && !w->be_set) {
				w->mode = NG_OFF;
				continue;
			}
			w->need = need_of(w->type);
		}
		if (w->type == BT_SHB && w->hn == 12) {
			static const uint8_t bom_be[4] = {0x1A, 0x2B, 0x3C, 0x4D};
			static const uint8_t bom_le[4] = {0x4D, 0x3C, 0x2B, 0x1A};
			bool be = !memcmp(w->hdr + 8, bom_be, 4);
			if (!be && memcmp(w->hdr + 8, bom_le, 4)) {
				w->mode = NG_OFF;
				continue;
			}
			if (!w->be_set)
				w->be_first = be;
			else if (be != w->be_first)
				w->order_changed = true;
			w->be = be;
			w->be_set = true;
		}
		if (w->hn >= 8 && w->hn == w->need && !block(w, rd32(w, w->hdr + 4)))
			w->mode = NG_OFF;
	}
}

bool lk_ngwalk_active(const struct lk_ngwalk *w) { return w->mode == NG_ON; }

int lk_ngwalk_take(struct lk_ngwalk *w)
{
	uint64_t k = w->taken++;
	if (!w->have_first)
		return -1;
	if (!w->mixed || k < w->mixed_from)
		return w->first_lt;
	if (!w->qlen)
		return -1;
	uint16_t lt = w->q[w->qhead];
	w->qhead = (w->qhead + 1) % w->qcap;
	w->qlen--;
	return lt;
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
