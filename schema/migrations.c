/* schema/migrations.c - the ordered schema migrations. Never edit a released
 * migration; append a new one. Index i upgrades user_version i -> i+1. */
#include "schema/migrations.h"

const char *const lk_migrations[] = {
/* v1: the core tables (docs/design.md, "Database") */
"CREATE TABLE meta (\n"
"  key TEXT PRIMARY KEY,\n"
"  value TEXT\n"
") STRICT;\n"
/* one row per measured run; status 'running' while in progress (a run whose
 * pid is gone is reaped to 'aborted' by the next lrokit command) */
"CREATE TABLE runs (\n"
"  run_id INTEGER PRIMARY KEY,\n"
"  config TEXT NOT NULL,\n"
"  status TEXT NOT NULL CHECK (status IN ('running','ok','failed','aborted')),\n"
"  started_ns INTEGER NOT NULL,\n"
"  finished_ns INTEGER,\n"
"  bytes INTEGER,\n"
"  goodput_bps REAL,\n"
"  lro_rate REAL,\n"
"  rate_limit_bps INTEGER,\n"
"  repeat INTEGER,\n"
"  bench_id TEXT,\n"
"  pid INTEGER,\n"
"  cmdline TEXT,\n"
"  tool_version TEXT,\n"
"  kernel TEXT,\n"
"  hostname TEXT,\n"
"  cpu_model TEXT,\n"
"  offloads TEXT,\n"      /* JSON: ethtool -k settings of every testbed interface */
"  params TEXT,\n"        /* JSON: the full configuration of the run */
"  error TEXT\n"
") STRICT;\n"
"CREATE TABLE captures (\n"
"  capture_id INTEGER PRIMARY KEY,\n"
"  run_id INTEGER REFERENCES runs(run_id) ON DELETE CASCADE,\n"
"  point TEXT NOT NULL CHECK (point IN ('sender','dom0','receiver','file')),\n"
"  path TEXT NOT NULL,\n"
"  sha256 TEXT NOT NULL UNIQUE,\n"
"  linktype INTEGER NOT NULL,\n"
"  snaplen INTEGER NOT NULL,\n"
"  packets INTEGER NOT NULL,\n"        /* records in the file */
"  tcp_packets INTEGER NOT NULL,\n"    /* of which decoded TCP segments */
"  skipped TEXT,\n"                    /* JSON {reason: count} of records not analyzed */
"  truncated_tail INTEGER NOT NULL DEFAULT 0,\n"
"  drops INTEGER,\n"                   /* kernel drops while capturing; NULL for files */
"  first_ns INTEGER,\n"
"  last_ns INTEGER,\n"
"  ingested_ns INTEGER NOT NULL,\n"
"  tool_version TEXT\n"
") STRICT;\n"
"CREATE INDEX captures_run ON captures(run_id);\n"
/* one row per TCP connection; a = source of the first packet seen; the
 * counters are tcptrace's (-l) for each direction: a2b_* and b2a_* */
"CREATE TABLE flows (\n"
"  flow_id INTEGER PRIMARY KEY,\n"
"  capture_id INTEGER NOT NULL REFERENCES captures(capture_id) ON DELETE CASCADE,\n"
"  idx INTEGER NOT NULL,\n"
"  af INTEGER NOT NULL,\n"
"  a_addr TEXT NOT NULL, a_port INTEGER NOT NULL,\n"
"  b_addr TEXT NOT NULL, b_port INTEGER NOT NULL,\n"
"  first_ns INTEGER, last_ns INTEGER,\n"
#define D(p) \
"  " p "total_packets INTEGER, " p "ack_pkts INTEGER, " p "pure_acks INTEGER,\n" \
"  " p "sack_pkts INTEGER, " p "dsack_pkts INTEGER, " p "max_sack_blocks INTEGER,\n" \
"  " p "unique_bytes INTEGER, " p "data_pkts INTEGER, " p "data_bytes INTEGER,\n" \
"  " p "rexmt_data_pkts INTEGER, " p "rexmt_data_bytes INTEGER, " p "zwnd_probe_pkts INTEGER,\n" \
"  " p "outoforder_pkts INTEGER, " p "pushed_data_pkts INTEGER, " p "syn_pkts INTEGER,\n" \
"  " p "fin_pkts INTEGER, " p "rst_pkts INTEGER, " p "trunc_pkts INTEGER, " p "trunc_bytes INTEGER,\n" \
"  " p "mss INTEGER, " p "max_seg INTEGER, " p "min_seg INTEGER,\n"
D("a2b_") D("b2a_")
#undef D
"  UNIQUE (capture_id, idx)\n"
") STRICT;\n"
/* one row per TCP segment; dir 0 = a->b; sack = "left-right ..." (raw seq).
 * No index: ingest speed matters more (>= 1 M rows/s); rows of one capture
 * are contiguous in rowid order, and readers that need per-flow access
 * create their own index (CREATE INDEX IF NOT EXISTS packets_flow ...). */
"CREATE TABLE packets (\n"
"  capture_id INTEGER NOT NULL,\n"
"  flow_id INTEGER NOT NULL,\n"
"  ts_ns INTEGER NOT NULL,\n"
"  dir INTEGER NOT NULL,\n"
"  seq INTEGER NOT NULL,\n"
"  ack INTEGER NOT NULL,\n"
"  len INTEGER NOT NULL,\n"
"  flags INTEGER NOT NULL,\n"
"  win INTEGER NOT NULL,\n"
"  tsval INTEGER, tsecr INTEGER,\n"
"  sack TEXT\n"
") STRICT;\n"
/* per-component measurements of a run; value NULL = unsupported (note says why) */
"CREATE TABLE counters (\n"
"  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,\n"
"  component TEXT NOT NULL,\n"
"  event TEXT NOT NULL,\n"
"  value REAL,\n"
"  unit TEXT,\n"
"  source TEXT NOT NULL,\n"  /* pmu | sw | procstat | xenstat | iface | stage | pcap */
"  note TEXT\n"
") STRICT;\n"
"CREATE INDEX counters_run ON counters(run_id);\n"
"CREATE TABLE samples (\n"
"  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,\n"
"  t_ns INTEGER NOT NULL,\n"
"  source TEXT NOT NULL,\n"   /* procstat | iface | tcpinfo | xenstat | stage */
"  key TEXT NOT NULL,\n"
"  value REAL\n"
") STRICT;\n"
"CREATE INDEX samples_run ON samples(run_id, source, key, t_ns);\n"
/* ACK breakdown per flow direction (long format: one row per class) */
"CREATE TABLE ack_classes (\n"
"  flow_id INTEGER NOT NULL REFERENCES flows(flow_id) ON DELETE CASCADE,\n"
"  dir INTEGER NOT NULL,\n"
"  class TEXT NOT NULL,\n"
"  count INTEGER NOT NULL,\n"
"  PRIMARY KEY (flow_id, dir, class)\n"
") STRICT, WITHOUT ROWID;\n"
/* sender bandwidth-estimate time series (estimator: westwood | delivery_rate |
 * goodput); sack = 1 on samples taken at a SACK-bearing ACK */
"CREATE TABLE bwe (\n"
"  flow_id INTEGER NOT NULL REFERENCES flows(flow_id) ON DELETE CASCADE,\n"
"  dir INTEGER NOT NULL,\n"
"  estimator TEXT NOT NULL,\n"
"  t_ns INTEGER NOT NULL,\n"
"  value_bps REAL,\n"
"  sack INTEGER NOT NULL DEFAULT 0\n"
") STRICT;\n"
"CREATE INDEX bwe_flow ON bwe(flow_id, estimator, t_ns);\n"
/* LRO engine counters: per testbed stage of a run, or per replayed capture */
"CREATE TABLE lro_stats (\n"
"  run_id INTEGER REFERENCES runs(run_id) ON DELETE CASCADE,\n"
"  capture_id INTEGER REFERENCES captures(capture_id) ON DELETE CASCADE,\n"
"  stage TEXT NOT NULL,\n"     /* nic | netfront | replay */
"  policy TEXT,\n"
"  key TEXT NOT NULL,\n"       /* frames_in, frames_out, segs_in, lro_rate, flush_<reason>, ... */
"  value REAL\n"
") STRICT;\n"
"CREATE INDEX lro_stats_run ON lro_stats(run_id);\n",
/* v2: runs.capture_drops = the sum of the kernel drops (pcap_stats ps_drop)
 * of the run's live captures; NULL when unknown (no capture, or a capture
 * whose pcap_stats failed). A run with capture_drops > 0 has incomplete
 * captures. Filled for existing runs from their capture_kernel_drops
 * counters (the same rule as lk_db_set_capture_drops). */
"ALTER TABLE runs ADD COLUMN capture_drops INTEGER;\n"
"UPDATE runs SET capture_drops = (SELECT CASE WHEN count(*) > 0 AND count(value) = count(*)\n"
"  THEN CAST(sum(value) AS INTEGER) END FROM counters c WHERE c.run_id = runs.run_id\n"
"  AND c.event = 'capture_kernel_drops' AND c.source = 'pcap');\n",
/* v3: the fidelity model (testbed/model.h). model_params: every model
 * parameter of a run (all keys, not only the changed ones) with its unit and
 * where its value came from. runs.profile: the profile the model started
 * from; runs.sweep_key/sweep_value: the swept parameter and its value when
 * the run is one point of a sweep; runs.stage_drops: the sum of every drop
 * at a stage of the emulated path (modelled: NIC ring, vif queue, netback;
 * and the emulator's own: wire socket, TAP queues), NULL when unknown or
 * there are no stages (native); capture drops stay in capture_drops.
 * stage_hist: per stage and direction, frames per poll (bucket = frames,
 * 1..256, more counted in 256) and segments per frame out (bucket =
 * segments, 1..64; 1 = not merged); only buckets with count > 0. */
"CREATE TABLE model_params (\n"
"  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,\n"
"  key TEXT NOT NULL,\n"
"  value REAL,\n"
"  unit TEXT,\n"
"  origin TEXT NOT NULL CHECK (origin IN ('default','profile','cli','sweep')),\n"
"  PRIMARY KEY (run_id, key)\n"
") STRICT;\n"
"ALTER TABLE runs ADD COLUMN profile TEXT;\n"
"ALTER TABLE runs ADD COLUMN sweep_key TEXT;\n"
"ALTER TABLE runs ADD COLUMN sweep_value REAL;\n"
"ALTER TABLE runs ADD COLUMN stage_drops INTEGER;\n"
"CREATE TABLE stage_hist (\n"
"  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,\n"
"  stage TEXT NOT NULL CHECK (stage IN ('nic','netback','netfront')),\n"
"  dir TEXT NOT NULL CHECK (dir IN ('rx','tx')),\n"
"  hist TEXT NOT NULL CHECK (hist IN ('frames_per_poll','segs_per_aggr')),\n"
"  bucket INTEGER NOT NULL,\n"
"  count INTEGER NOT NULL\n"
") STRICT;\n"
"CREATE INDEX stage_hist_run ON stage_hist(run_id, stage, dir, hist);\n",
/* v4: the capture-side decision of each flow (analyzers/side.h): where the
 * capture was taken - at the data sender, at the data receiver, or unknown -
 * with its confidence, how it was decided (forced | evidence | unknown) and
 * the evidence as JSON (the "side" object of `lrokit analyze --json`). NULL
 * for flows ingested before v4. */
"ALTER TABLE flows ADD COLUMN capture_side TEXT\n"
"  CHECK (capture_side IN ('sender','receiver','unknown'));\n"
"ALTER TABLE flows ADD COLUMN side_confidence REAL;\n"
"ALTER TABLE flows ADD COLUMN side_rule TEXT;\n"
"ALTER TABLE flows ADD COLUMN side_evidence TEXT;\n",
};

const int lk_n_migrations = (int)(sizeof lk_migrations / sizeof lk_migrations[0]);
