/* fuzz/fuzz-ingest.c - libFuzzer target: whole-file ingest, i.e. what
 * `lrokit analyze [--db]` does with a file from anywhere: libpcap's pcap and
 * pcapng readers (lib/pcapin.c, with and without the one-pass SHA-256;
 * gzip/zstd/xz input through lib/instream.c, pcapng interfaces of several
 * link types through lib/pcapng.c),
 * decoding, connection tracking and the single-transaction store
 * (analyzers/analyze.c, schema/).
 *
 * The input is written to a memfd and analyzed through /proc/self/fd/N, with
 * the ACK classifier attached as `lrokit analyze` attaches it:
 *   1. without a database, plus an observer counting segments;
 *   2. with an in-memory lrokit database (schema migrated once);
 *   3. again with the database: must be reported as a duplicate.
 * Asserted:
 *   - both runs agree: success or failure, the same error message, the same
 *     records / TCP segments / skipped counts / connections / truncated tail;
 *   - every record is accounted for: TCP segments + skipped = records, and
 *     the observer saw every TCP segment exactly once;
 *   - a failed ingest leaves zero rows (captures, flows, packets,
 *     ack_classes, bwe);
 *   - a successful one stores exactly one capture whose row matches the
 *     result (packets, tcp_packets, truncated_tail), whose sha256 is the
 *     SHA-256 of the input, one flows row per connection with the same
 *     per-direction packet counts, and one packets row per TCP segment
 *     (none with --no-packets, chosen by input length parity), and the
 *     ack_classes rows agree with the classifier's ACK counts;
 *   - the second ingest stores nothing and names the first capture;
 *   - no file descriptor is leaked.
 * After each input the stored rows are deleted again.
 */
#include "analyzers/acks.h"
#include "analyzers/analyze.h"
#include "schema/db.h"

#include <fcntl.h>
#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/frames.h" /* FZ_CHECK */

static sqlite3 *db;
static int memfd = -1;
static char path[64];

static int64_t q1(const char *sql, int64_t arg)
{
	sqlite3_stmt *st;
	FZ_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	if (strchr(sql, '?'))
		sqlite3_bind_int64(st, 1, arg);
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t rows(void)
{
	return q1("SELECT (SELECT count(*) FROM captures) + (SELECT count(*) FROM flows)"
		  " + (SELECT count(*) FROM packets) + (SELECT count(*) FROM ack_classes)"
		  " + (SELECT count(*) FROM bwe)", 0);
}

static void count_pkt(void *ctx, uint64_t flow_idx, int dir, const struct lk_pkt *p, uint64_t ts)
{
	(void)flow_idx; (void)p; (void)ts;
	FZ_CHECK(dir == 0 || dir == 1);
	(*(uint64_t *)ctx)++;
}

static void sha256_hex(const uint8_t *d, size_t n, char hex[65])
{
	unsigned char md[32];
	FZ_CHECK(gcry_check_version(NULL) != NULL);
	gcry_md_hash_buffer(GCRY_MD_SHA256, md, d, n);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static int next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	FZ_CHECK(fd >= 0);
	close(fd);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv); /* libFuzzer hook */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	struct lk_err e = {0};
	if (lk_db_open(":memory:", &db, &e) < 0) {
		fprintf(stderr, "fuzz-ingest: %s\n", e.msg);
		abort();
	}
	memfd = memfd_create("fuzz-ingest.pcap", MFD_CLOEXEC);
	FZ_CHECK(memfd >= 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer entry point */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FZ_CHECK(ftruncate(memfd, 0) == 0);
	size_t off = 0;
	while (off < size) {
		ssize_t w = pwrite(memfd, data + off, size - off, (off_t)off);
		FZ_CHECK(w > 0);
		off += (size_t)w;
	}
	int fd0 = next_fd();

	/* 1. no database */
	uint64_t seen = 0;
	struct lk_acks_params ap;
	lk_acks_params_default(&ap);
	struct lk_ackset *set0 = lk_ackset_new(&ap, NULL), *set1 = lk_ackset_new(&ap, NULL);
	FZ_CHECK(set0 && set1);
	struct lk_observer obs[2] = {{.ctx = &seen, .packet = count_pkt}};
	lk_observer_ackset(&obs[1], set0);
	struct lk_analyze_opts o0 = {.db = NULL, .point = "file", .drops = -1, .observers = obs,
				     .n_observers = 2};
	struct lk_analysis c0, c1;
	struct lk_err e0 = {0}, e1 = {0};
	int r0 = lk_analyze_file(path, &o0, &c0, &e0);
	FZ_CHECK(next_fd() == fd0);

	/* 2. with the database */
	bool nopk = size & 1;
	struct lk_observer ob1;
	lk_observer_ackset(&ob1, set1);
	struct lk_analyze_opts o1 = {.db = db, .point = "file", .drops = -1, .no_packets = nopk,
				     .observers = &ob1, .n_observers = 1};
	FZ_CHECK(rows() == 0);
	int r1 = lk_analyze_file(path, &o1, &c1, &e1);
	FZ_CHECK(next_fd() == fd0);
	FZ_CHECK(sqlite3_get_autocommit(db)); /* no transaction left open */

	FZ_CHECK((r0 < 0) == (r1 < 0));
	if (r0 < 0) {
		FZ_CHECK(e0.msg[0] && e0.code == LK_EXIT_RUNTIME);
		FZ_CHECK(strcmp(e0.msg, e1.msg) == 0);
		FZ_CHECK(c0.flows == NULL && c1.flows == NULL);
		FZ_CHECK(rows() == 0);
		lk_ackset_free(set0);
		lk_ackset_free(set1);
		return 0;
	}
	/* the two runs agree, every record is accounted for */
	FZ_CHECK(c0.records == c1.records && c0.tcp_packets == c1.tcp_packets);
	FZ_CHECK(c0.truncated_tail == c1.truncated_tail && c0.bad_tcpopt == c1.bad_tcpopt);
	FZ_CHECK(memcmp(c0.skipped, c1.skipped, sizeof c0.skipped) == 0);
	uint64_t sk = 0;
	for (int i = 1; i < LK_DEC__COUNT; i++)
		sk += c0.skipped[i];
	FZ_CHECK(c0.skipped[LK_DEC_TCP] == 0);
	FZ_CHECK(c0.tcp_packets + sk == c0.records);
	FZ_CHECK(seen == c0.tcp_packets);
	size_t nf = lk_flowtab_count(c0.flows);
	FZ_CHECK(nf == lk_flowtab_count(c1.flows));
	FZ_CHECK(nf <= c0.tcp_packets);
	FZ_CHECK(c0.capture_id == 0 && c0.sha256[0] == '\0');

	/* what was stored */
	int64_t id = c1.capture_id;
	FZ_CHECK(id > 0 && c1.duplicate_of == 0);
	char hex[65];
	sha256_hex(data, size, hex);
	FZ_CHECK(strcmp(hex, c1.sha256) == 0);
	FZ_CHECK(q1("SELECT count(*) FROM captures", 0) == 1);
	FZ_CHECK(q1("SELECT packets FROM captures WHERE capture_id=?", id) == (int64_t)c0.records);
	FZ_CHECK(q1("SELECT tcp_packets FROM captures WHERE capture_id=?", id) ==
		 (int64_t)c0.tcp_packets);
	FZ_CHECK(q1("SELECT truncated_tail FROM captures WHERE capture_id=?", id) ==
		 (int64_t)c0.truncated_tail);
	FZ_CHECK(q1("SELECT linktype FROM captures WHERE capture_id=?", id) == c0.dlt);
	FZ_CHECK(q1("SELECT count(*) FROM captures WHERE sha256 NOT GLOB '"
		    "[0-9a-f][0-9a-f][0-9a-f][0-9a-f]*' OR length(sha256) != 64", 0) == 0);
	FZ_CHECK(q1("SELECT count(*) FROM flows WHERE capture_id=?", id) == (int64_t)nf);
	FZ_CHECK(q1("SELECT count(*) FROM packets WHERE capture_id=?", id) ==
		 (nopk ? 0 : (int64_t)c0.tcp_packets));
	FZ_CHECK(q1("SELECT coalesce(sum(a2b_total_packets + b2a_total_packets), 0) FROM flows"
		    " WHERE capture_id=?", id) == (int64_t)c0.tcp_packets);
	for (size_t k = 0; k < nf; k++) {
		const struct lk_flow *f = lk_flowtab_get(c1.flows, k);
		FZ_CHECK(f->user_id > 0);
		sqlite3_stmt *st;
		FZ_CHECK(sqlite3_prepare_v2(db, "SELECT idx, a2b_total_packets, b2a_total_packets,"
			 " a2b_unique_bytes, b2a_rexmt_data_pkts FROM flows WHERE flow_id=?", -1, &st,
			 NULL) == SQLITE_OK);
		sqlite3_bind_int64(st, 1, f->user_id);
		FZ_CHECK(sqlite3_step(st) == SQLITE_ROW);
		FZ_CHECK((uint64_t)sqlite3_column_int64(st, 0) == f->idx);
		FZ_CHECK((uint64_t)sqlite3_column_int64(st, 1) == f->d[0].total_packets);
		FZ_CHECK((uint64_t)sqlite3_column_int64(st, 2) == f->d[1].total_packets);
		FZ_CHECK((uint64_t)sqlite3_column_int64(st, 3) == f->d[0].unique_bytes);
		FZ_CHECK((uint64_t)sqlite3_column_int64(st, 4) == f->d[1].rexmt_data_pkts);
		sqlite3_finalize(st);
		if (!nopk)
			FZ_CHECK(q1("SELECT count(*) FROM packets WHERE flow_id=?", f->user_id) ==
				 (int64_t)(f->d[0].total_packets + f->d[1].total_packets));
		/* the ACK classes: same in both runs, and as stored */
		const struct lk_acks *a0 = lk_ackset_acks(set0, f->idx), *a1 = lk_ackset_acks(set1, f->idx);
		FZ_CHECK(a0 && a1);
		uint64_t acks = 0;
		for (int d = 0; d < 2; d++) {
			const struct lk_acks_dir *x = lk_acks_dir(a0, d), *y = lk_acks_dir(a1, d);
			FZ_CHECK(x->ack_pkts == y->ack_pkts && x->classified == y->classified &&
				 x->sack == y->sack && x->dup == y->dup);
			acks += x->ack_pkts;
		}
		FZ_CHECK(q1("SELECT coalesce(sum(count), 0) FROM ack_classes WHERE class='ack_pkts'"
			    " AND flow_id=?", f->user_id) == (int64_t)acks);
	}
	lk_ackset_free(set0);
	lk_ackset_free(set1);
	lk_analysis_free(&c0);
	lk_analysis_free(&c1);

	/* 3. the same bytes again: a duplicate, nothing new stored */
	int64_t before = rows();
	struct lk_analysis c2;
	struct lk_err e2 = {0};
	struct lk_ackset *set2 = lk_ackset_new(&ap, NULL);
	FZ_CHECK(set2);
	lk_observer_ackset(&ob1, set2);
	FZ_CHECK(lk_analyze_file(path, &o1, &c2, &e2) == 0);
	lk_ackset_free(set2);
	FZ_CHECK(c2.duplicate_of == id && c2.capture_id == 0);
	FZ_CHECK(rows() == before);
	FZ_CHECK(sqlite3_get_autocommit(db));
	lk_analysis_free(&c2);
	FZ_CHECK(next_fd() == fd0);

	/* clean up for the next input */
	struct lk_err e3 = {0};
	FZ_CHECK(lk_db_exec(db, "DELETE FROM ack_classes; DELETE FROM bwe; DELETE FROM packets;"
			    " DELETE FROM flows; DELETE FROM captures;",
			    "cleanup", &e3) == 0);
	return 0;
}
