/* analyzers/analyze.c - decode -> track -> count -> store. See analyze.h. */
#include "analyzers/analyze.h"
#include "analyzers/acks.h"
#include "analyzers/pipeline.h"
#include "analyzers/store.h"
#include "lib/clock.h"
#include "lib/instream.h"
#include "lib/pcapin.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C64(n) {#n, offsetof(struct lk_dirstat, n), false}
#define C32(n) {#n, offsetof(struct lk_dirstat, n), true}
const struct lk_counter_def lk_dir_counters[] = {
	C64(total_packets), C64(ack_pkts), C64(pure_acks), C64(sack_pkts), C64(dsack_pkts),
	C64(max_sack_blocks), C64(unique_bytes), C64(data_pkts), C64(data_bytes),
	C64(rexmt_data_pkts), C64(rexmt_data_bytes), C64(zwnd_probe_pkts), C64(outoforder_pkts),
	C64(pushed_data_pkts), C64(syn_pkts), C64(fin_pkts), C64(rst_pkts), C64(trunc_pkts),
	C64(trunc_bytes), C32(mss), C32(max_seg), C32(min_seg),
};
const unsigned lk_n_dir_counters = sizeof lk_dir_counters / sizeof lk_dir_counters[0];

uint64_t lk_counter_get(const struct lk_dirstat *d, const struct lk_counter_def *c)
{
	const char *b = (const char *)d + c->off;
	if (c->u32) {
		uint32_t v;
		memcpy(&v, b, sizeof v);
		return v;
	}
	uint64_t v;
	memcpy(&v, b, sizeof v);
	return v;
}

static int ackset_finish(void *ctx, const struct lk_flowtab *t, sqlite3 *db, struct lk_err *e)
{
	struct lk_ackset *set = ctx;
	if (lk_ackset_finish(set, e) < 0)
		return -1;
	return db ? lk_ackset_store(set, t, db, e) : 0;
}

void lk_observer_ackset(struct lk_observer *ob, struct lk_ackset *set)
{
	ob->ctx = set;
	ob->packet = lk_ackset_packet;
	ob->finish = ackset_finish;
	ob->csum_wanted = lk_ackset_csum_wanted;
}

void lk_analysis_free(struct lk_analysis *res)
{
	if (res && res->flows) {
		lk_flowtab_free(res->flows);
		res->flows = NULL;
	}
}

static int pump(void *in) { return lk_instream_pump(in); }

/* Segments observed in the reading thread before the pipeline starts: a
 * short capture is done before a thread and its batches would pay off. */
#define PIPELINE_AFTER 4096
/* ... and the time per segment of this many more, called directly, is what
 * the pipeline must beat to go on (lk_pipeline_start) */
#define PIPELINE_MEASURE 32768
/* ... and only if they averaged fewer bytes captured than this */
#define PIPELINE_MAX_CAPLEN 512

int lk_analyze_file(const char *path, const struct lk_analyze_opts *o, struct lk_analysis *res,
		    struct lk_err *e)
{
	struct lk_pipeline *pl = NULL;
	memset(res, 0, sizeof *res);
	snprintf(res->path, sizeof res->path, "%s", path);
	struct lk_pcap *r = NULL;
	int rc = o->db ? lk_pcap_open_hashed(path, &r, e) : lk_pcap_open(path, &r, e);
	if (rc < 0)
		return -1;
	res->dlt = lk_pcap_dlt(r);
	res->snaplen = lk_pcap_snaplen(r);
	res->flows = lk_flowtab_new();
	if (!res->flows) {
		lk_pcap_close(r);
		return lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory", path);
	}
	struct lk_store *s = NULL;
	if (o->db && lk_store_begin(res, o, &s, e) < 0)
		goto fail;

	/* The observers in a second thread (analyzers/pipeline.h) once the
	 * capture proves long enough to be worth one, if its records are
	 * short, for as long as it beats the time per segment measured calling
	 * them directly just before it starts. Not with a database: its writer,
	 * and the thread that reads and hashes the file, use the other CPU
	 * already. Not for full frames either: the read-ahead thread
	 * (lib/instream.h) does, and the pipeline would sum the checksums of
	 * data segments the observers no longer look at (their budget is per
	 * size class, and only they know the MSS that decides the class).
	 * LK_ANALYZE_THREADS (tests): =1 never; =2 from the first segment to
	 * the last, whatever the records and the database; =2stop the same,
	 * back to direct calls after 64 batches. */
	uint64_t pipe_at = UINT64_MAX, capbytes = 0;
	const char *env = getenv("LK_ANALYZE_THREADS");
	bool force = env && (!strcmp(env, "2") || !strcmp(env, "2stop"));
	if ((force || !o->db) && lk_pipeline_wanted(o->observers, o->n_observers))
		pipe_at = force ? 0 : PIPELINE_AFTER + PIPELINE_MEASURE;
	uint64_t t_measure = 0;
	/* the observers' thread reads the file while it waits (a plain file
	 * read in this thread so far; pumped, it stays so after the pipeline) */
	struct lk_pipe_idle idle = {pump, lk_pcap_input(r)};
	const struct pcap_pkthdr *h;
	const uint8_t *data;
	struct lk_pkt p;
	while ((rc = lk_pcap_next(r, &h, &data, e)) == 1) {
		uint64_t ts = lk_pcap_ts_ns(r, h);
		if (!res->records)
			res->first_ns = ts;
		res->last_ns = ts;
		res->records++;
		enum lk_dec_status ds = lk_decode(lk_pcap_rec_dlt(r), data, h->caplen, h->len, &p);
		if (ds != LK_DEC_TCP) {
			res->skipped[ds]++;
			continue;
		}
		res->tcp_packets++;
		if (p.opt.bad)
			res->bad_tcpopt++;
		int dir;
		bool is_new;
		struct lk_flow *f = lk_flowtab_add(res->flows, &p, ts, &dir, &is_new);
		if (!f) {
			lk_errf(e, LK_EXIT_RUNTIME, "%s: out of memory tracking connections", path);
			goto fail;
		}
		if (s && lk_store_packet(s, f, dir, &p, ts, e) < 0)
			goto fail;
		if (res->tcp_packets == PIPELINE_AFTER)
			t_measure = lk_mono_ns();
		if (res->tcp_packets > pipe_at && !pl) {
			double direct = force || !t_measure ? 0
				: (double)(lk_mono_ns() - t_measure) / PIPELINE_MEASURE;
			if (pipe_at && capbytes / pipe_at >= PIPELINE_MAX_CAPLEN) {
				pipe_at = UINT64_MAX;
			} else {
				/* before the thread that pumps exists */
				lk_instream_pump_start(idle.ctx);
				pl = lk_pipeline_start(o->observers, o->n_observers,
						       !force ? LK_PIPE_AUTO
						       : env[1] ? LK_PIPE_STOP : LK_PIPE_KEEP,
						       direct, &idle);
				if (!pl)
					pipe_at = UINT64_MAX;
			}
		}
		if (res->tcp_packets <= pipe_at)
			capbytes += h->caplen;
		if (pl) {
			if (!lk_pipeline_packet(pl, f, dir, &p, ts)) {
				lk_pipeline_finish(pl); /* then directly */
				pl = NULL;
				pipe_at = UINT64_MAX;
			}
		} else {
			for (unsigned i = 0; i < o->n_observers; i++)
				o->observers[i].packet(o->observers[i].ctx, f->idx, dir, &p, ts);
		}
	}
	lk_pipeline_finish(pl);
	pl = NULL;
	if (rc < 0)
		goto fail;
	res->truncated_tail = lk_pcap_truncated(r);
	if (s) {
		if (lk_pcap_sha256(r, res->sha256, e) < 0)
			goto fail;
		rc = lk_store_end(s, res, o, e);
		s = NULL;
		if (rc < 0)
			goto fail;
	} else {
		for (unsigned i = 0; i < o->n_observers; i++)
			if (o->observers[i].finish &&
			    o->observers[i].finish(o->observers[i].ctx, res->flows, NULL, e) < 0)
				goto fail;
	}
	lk_pcap_close(r);
	return 0;
fail:
	lk_pipeline_finish(pl);
	lk_store_abort(s);
	lk_pcap_close(r);
	lk_analysis_free(res);
	return -1;
}

int lk_analyze_run_capture(sqlite3 *db, int64_t run_id, const char *point, const char *path,
			   int64_t drops, struct lk_err *e)
{
	struct lk_acks_params ap;
	lk_acks_params_default(&ap);
	if (!strcmp(point, "sender"))
		ap.side = LK_SIDE_SENDER;
	else if (!strcmp(point, "receiver"))
		ap.side = LK_SIDE_RECEIVER;
	struct lk_ackset *set = lk_ackset_new(&ap, NULL);
	if (!set)
		return lk_errf(e, LK_EXIT_RUNTIME, "out of memory");
	struct lk_observer ob;
	lk_observer_ackset(&ob, set);
	struct lk_analyze_opts o = {.db = db, .run_id = run_id, .point = point, .drops = drops,
				    .observers = &ob, .n_observers = 1};
	struct lk_analysis res;
	int rc = lk_analyze_file(path, &o, &res, e);
	lk_ackset_free(set);
	if (rc == 0)
		lk_analysis_free(&res);
	return rc;
}
