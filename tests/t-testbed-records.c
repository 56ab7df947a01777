/* t-testbed-records: what testbed processes hand each other, written and read
 * back through one table (lib/record.h): a stage's counters (lk_stage_stats),
 * the result of `lrokit send/recv` (lk_xfer_result), the TCP_INFO CSV, the
 * progress pipe's lines (testbed/progress.h); bad input is refused with the
 * line named. Also the configuration table (testbed/configs.h), the PATH
 * lookup (lk_which) and the file slurp (lk_file_read). No root needed. */
#include "lib/file.h"
#include "lib/proc.h"
#include "lib/record.h"
#include "testbed/configs.h"
#include "testbed/progress.h"
#include "testbed/run.h"
#include "testbed/stage.h"
#include "testbed/xfer.h"
#include "tests/tap.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <unistd.h>

static char dir[] = "/tmp/lk-records.XXXXXX";

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void stage_stats(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/nic.stats", dir);
	struct lk_stage_stats a, b;
	memset(&a, 0, sizeof a);
	snprintf(a.stage, sizeof a.stage, "nic");
	snprintf(a.tap, sizeof a.tap, "pnic0");
	a.lro = true;
	snprintf(a.lro_policy, sizeof a.lro_policy, "inet_lro");
	a.budget = 64;
	a.wire_drops = 7;
	a.tap_queue_drops = -1;
	a.rx.frames_in = 18446744073709551615ull; /* UINT64_MAX survives */
	a.rx.drops = 3;
	for (int i = 0; i < LK_HIST_FPP; i++)
		a.rx.fpp[i] = (uint64_t)(i * 11);
	for (int i = 0; i < LK_HIST_SPA; i++)
		a.tx.spa[i] = (uint64_t)(i * 7 + 1);
	a.m.irqs = 123;
	a.m.drops_vif_queue = 9;
	a.m.desched_ns = 30000000000ull;
	snprintf(a.rx.last_error, sizeof a.rx.last_error, "write: \"No buffer\"\nspace");
	a.rx.lro = true;
	a.rx.lro_stats.segs_in = 1000;
	a.rx.lro_stats.data_frames_out = 250;
	a.rx.lro_stats.flushes[1] = 5;
	a.tx.frames_out = 42;
	struct lk_err e = {0};
	ok(lk_stage_stats_write(path, &a, &e) == 0, "stage stats written (%s)", e.msg);
	ok(lk_stage_stats_read(path, &b, &e) == 0, "stage stats read back (%s)", e.msg);
	is_str(b.stage, "nic", "  stage");
	is_str(b.lro_policy, "inet_lro", "  lro_policy");
	ok(b.lro && b.budget == 64 && b.wire_drops == 7 && b.tap_queue_drops == -1,
	   "  lro, budget, wire drops, unknown TAP drops (-1)");
	ok(b.rx.frames_in == a.rx.frames_in && b.rx.drops == 3 && b.tx.frames_out == 42,
	   "  direction counters, UINT64_MAX included");
	ok(!memcmp(b.rx.fpp, a.rx.fpp, sizeof a.rx.fpp) && !memcmp(b.tx.spa, a.tx.spa, sizeof a.tx.spa),
	   "  frames-per-poll and segments-per-frame histograms");
	ok(!memcmp(&b.m, &a.m, sizeof a.m), "  the model's counters (irqs, drops, descheduled time)");
	is_str(b.rx.last_error, "write: \"No buffer\" space", "  last error (newline as space)");
	ok(b.rx.lro && !memcmp(&b.rx.lro_stats, &a.rx.lro_stats, sizeof a.rx.lro_stats),
	   "  lro_ref counters with the flush reasons");
	ok(lro_rate(&b.rx.lro_stats) == 4.0, "  LRO rate from them");
	/* every scalar counter of a direction is in the table run.c stores from */
	int n = 0;
	for (const struct lk_rec_field *f = lk_stage_dir_fields; f->name; f++)
		n += f->type == LK_REC_U64 && f->count == 1;
	is_int(n, 15, "15 scalar counters per direction");
	uint64_t h[LK_HIST_FPP] = {0};
	is_int(lk_stage_hist_median(h, LK_HIST_FPP), 0, "median of an empty histogram: 0");
	h[0] = 3, h[9] = 2; /* 1,1,1,10,10 */
	is_int(lk_stage_hist_median(h, LK_HIST_FPP), 1, "median 1 of 1,1,1,10,10");
	h[9] = 4; /* 1,1,1,10,10,10,10 */
	is_int(lk_stage_hist_median(h, LK_HIST_FPP), 10, "median 10 of 1,1,1,10,10,10,10");

	put(path, "stage=nic\nrx.frames_in=12x\n");
	ok(lk_stage_stats_read(path, &b, &e) < 0 && strstr(e.msg, ":2:") && strstr(e.msg, "rx.frames_in"),
	   "a bad number names the line and key (%s)", e.msg);
	put(path, "stage=nic\nrx.no_such_counter=1\n");
	ok(lk_stage_stats_read(path, &b, &e) < 0 && strstr(e.msg, "unknown key 'rx.no_such_counter'"),
	   "an unknown key is refused (%s)", e.msg);
	put(path, "rx.fpp=1 2 3\n");
	ok(lk_stage_stats_read(path, &b, &e) < 0, "a short array is refused (%s)", e.msg);
	put(path, "budget=-3000000000\n");
	ok(lk_stage_stats_read(path, &b, &e) < 0, "an int out of range is refused (%s)", e.msg);
	snprintf(path, sizeof path, "%s/none.stats", dir);
	errno = 0;
	ok(lk_stage_stats_read(path, &b, &e) < 0 && errno == ENOENT, "a missing file: ENOENT");
}

static void xfer_result(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/recv.result", dir);
	struct lk_xfer_result a, b;
	memset(&a, 0, sizeof a);
	a.bytes = 67108864;
	a.start_ns = 1764790000123456789ull;
	a.goodput_bps = 735364897.25;
	a.verified = true;
	a.corrupt_at = -1;
	snprintf(a.peer, sizeof a.peer, "[fd77::1]:40000");
	snprintf(a.error, sizeof a.error, "peer said \"no\"");
	struct lk_err e = {0};
	ok(lk_xfer_result_write(path, &a, &e) == 0 && lk_xfer_result_read(path, &b, &e) == 0,
	   "send/recv result written and read back (%s)", e.msg);
	ok(b.bytes == a.bytes && b.start_ns == a.start_ns && b.goodput_bps == a.goodput_bps &&
	   b.verified && b.corrupt_at == -1, "  exact numbers (start_ns to the nanosecond)");
	is_str(b.peer, a.peer, "  peer");
	is_str(b.error, a.error, "  error");
}

static void tcpinfo_csv(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/tcpinfo.csv", dir);
	FILE *f = fopen(path, "w");
	struct lk_tcpi_sample s = {.t_ns = 10000000, .cwnd = 10, .rtt_us = 52, .delivery_rate = 1ull << 40,
				   .bytes_acked = 12345};
	lk_rec_csv_header(f, lk_tcpi_fields);
	lk_rec_csv_row(f, lk_tcpi_fields, &s);
	fclose(f);
	char *text = lk_file_read(path, 0, NULL, NULL);
	ok(text && !strncmp(text, "t_ns,cwnd,ssthresh,rtt_us,rttvar_us,unacked,retransmits,"
			    "total_retrans,lost,sacked,delivery_rate,pacing_rate,bytes_acked\n", 115),
	   "TCP_INFO CSV header: the columns of lk_tcpi_fields");
	struct lk_tcpi_sample t;
	memset(&t, 0, sizeof t);
	const char *row = text ? strchr(text, '\n') + 1 : "";
	ok(lk_rec_csv_parse(row, lk_tcpi_fields, &t) == 0 && !memcmp(&s, &t, sizeof s),
	   "a row parses back to the same sample");
	ok(lk_rec_csv_parse("1,2,3\n", lk_tcpi_fields, &t) < 0, "a short row is refused");
	free(text);
	char *buf = NULL;
	size_t n = 0;
	f = open_memstream(&buf, &n);
	lk_rec_json(f, lk_tcpi_fields, &s);
	fclose(f);
	ok(buf && !strncmp(buf, "{\"t_ns\":10000000,\"cwnd\":10,\"ssthresh\":0,\"rtt_us\":52,", 50),
	   "the same table writes the JSON sample (%s)", buf ? buf : "");
	free(buf);
}

static void got(void *ctx, const struct lk_progress *p)
{
	struct lk_progress *last = ctx;
	*last = *p;
	last[1].bytes++; /* count */
}

static void progress(void)
{
	char line[160];
	struct lk_progress p = {.phase = "transfer", .bytes = 123456789012, .elapsed_ns = 5000000000ull}, q;
	size_t n = lk_progress_format(line, sizeof line, &p);
	is_str(line, "phase=transfer bytes=123456789012 elapsed_ns=5000000000\n", "progress line");
	ok(n == strlen(line), "  its length");
	ok(lk_progress_parse(line, &q) == 0 && !strcmp(q.phase, "transfer") && q.bytes == p.bytes &&
	   q.elapsed_ns == p.elapsed_ns, "  parsed back");
	ok(lk_progress_parse("phase=setup\n", &q) == 0 && !strcmp(q.phase, "setup") && q.bytes == -1,
	   "a phase without bytes");
	ok(lk_progress_parse("garbage", &q) < 0, "not a progress line");
	struct lk_progress_reader rd = {.have = 0};
	struct lk_progress last[2] = {{.bytes = 0}, {.bytes = 0}};
	const char *stream = "phase=setup\nphase=transfer bytes=5 elapsed_ns=7\nphase=tear";
	lk_progress_feed(&rd, stream, strlen(stream), got, last);
	ok(last[1].bytes == 2 && last[0].bytes == 5, "reader: two complete lines, the third held back");
	lk_progress_feed(&rd, "down\n", 5, got, last);
	ok(last[1].bytes == 3 && !strcmp(last[0].phase, "teardown"), "  completed by the next read");
}

static void configs(void)
{
	char names[128];
	is_str(lk_config_list(names, sizeof names, " "), "native native-gro xen lro-phys lro-virt lro-both",
	       "the configurations in order");
	int n = 0;
	for (const struct lk_config *c = lk_configs; c->name; c++)
		n++;
	is_int(n, LK_NCONFIGS, "LK_NCONFIGS entries");
	const struct lk_config *c = lk_config_find("lro-virt");
	ok(c && c->full_path && c->lro_virt && !c->lro_phys && !strcmp(c->paper, "LRO virt") &&
	   c->paper_lro_rate == 4.91, "lro-virt: the Xen path, LRO in netfront, the paper's label and rate");
	c = lk_config_find("native-gro");
	ok(c && !c->paper && isnan(c->paper_lro_rate), "native-gro is not in the paper");
	ok(!lk_config_find("bogus") && lk_config_rank("bogus") == -1, "unknown configuration");
	is_int(lk_config_rank("xen"), 2, "rank of xen");
}

static void which_and_slurp(void)
{
	char p[4096];
	ok(lk_which("sh", p, sizeof p) == 0 && p[0] == '/', "lk_which finds sh (%s)", p);
	ok(lk_which("lk-no-such-program", p, sizeof p) < 0, "lk_which: a missing program");
	ok(lk_which("/", p, sizeof p) < 0, "lk_which: a directory is no program");
	char path[256];
	snprintf(path, sizeof path, "%s/big", dir);
	put(path, "0123456789");
	size_t len = 0;
	struct lk_err e = {0};
	char *t = lk_file_read(path, 0, &len, &e);
	ok(t && len == 10 && !strcmp(t, "0123456789"), "lk_file_read: the whole file");
	free(t);
	errno = 0;
	ok(!lk_file_read(path, 4, NULL, &e) && errno == EFBIG && strstr(e.msg, "larger than 4 bytes"),
	   "  over the limit: EFBIG (%s)", e.msg);
	ok(lk_run_disk_estimate(1ull << 30) > 400000000ull && lk_run_disk_estimate(1ull << 30) < 450000000ull,
	   "disk estimate: 400-450 MB per GiB moved");
}

int main(void)
{
	if (!mkdtemp(dir))
		skip_all("no temporary directory");
	stage_stats();
	xfer_result();
	tcpinfo_csv();
	progress();
	configs();
	which_and_slurp();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
