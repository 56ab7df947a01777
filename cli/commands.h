/* cli/commands.h - the subcommands of the lrokit binary.
 *
 * Each subcommand lives in cli/cmd_<name>.c and is `int cmd_<name>(int argc,
 * char **argv)` with argv[0] = the subcommand name. It returns an exit code
 * (LK_EXIT_* of lib/err.h). Only CLI code prints; library code returns errors.
 * To add a command: write cli/cmd_<name>.c, declare it here, add one line to
 * the table in cli/main.c.
 */
#ifndef LK_CLI_COMMANDS_H
#define LK_CLI_COMMANDS_H

int cmd_analyze(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_hosts(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_stage(int argc, char **argv);
int cmd_testbed(int argc, char **argv);

/* Shared helpers for subcommands (cli/util.c). */
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
/* Print one line "lrokit: error: <msg>" (cli_err) or "lrokit: warning: <msg>"
 * (cli_warn) to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_err, then returns LK_EXIT_USAGE: `return cli_usage_err("bad --x '%s'", v);` */
int cli_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse "64M", "1G", "1500", "10k" (powers of 1024 for K/M/G/T, like dd). */
int cli_parse_size(const char *s, uint64_t *out);
/* Parse a rate "1G", "1gbit", "500M" (bits per second, powers of 1000). */
int cli_parse_rate(const char *s, uint64_t *bps);
/* bench's and bench --hosts' options: --repeat N (1..1000), --bytes SIZE
 * (> 0): 0, or prints the usage error and returns LK_EXIT_USAGE. */
int cli_parse_repeat(const char *arg, long *repeat);
int cli_parse_bytes(const char *arg, uint64_t *bytes);
/* A bench's id DATE-TIME-PID (runs.bench_id, the results folder's name). */
void cli_bench_id(char *id, size_t n);
/* The testbed's knobs shared by run, testbed and stage: --rate RATE|none
 * (>= 1 Mbit/s), the LRO policy (linux or inet_lro). 0, or prints the usage
 * error and returns LK_EXIT_USAGE. */
int cli_tb_rate(const char *cmd, const char *arg, uint64_t *bps);
int cli_tb_lro_policy(const char *cmd, const char *arg, const char **policy);
/* The fidelity model (testbed/model.h) on the command line. cli_model_table
 * prints the parameter table. cli_model_arg applies one --model KEY=VALUE
 * with the given origin: 0, LK_EXIT_USAGE (message printed), or -1 when
 * the argument was "help" (table printed: exit 0). cli_model_finish builds
 * the model: defaults, then the profile (NULL none), then the KEY=VALUE
 * arguments (origin "cli"), then lk_model_check; same returns. */
struct lk_model;
void cli_model_table(FILE *f);
int cli_model_arg(const char *cmd, const char *arg, struct lk_model *m, const char *origin);
int cli_model_finish(const char *cmd, const char *profile, char **kvs, int nkv, struct lk_model *m);
/* 0 if we hold CAP_NET_ADMIN and CAP_SYS_ADMIN (namespaces, TAP, bridges,
 * qdiscs), else prints one line "WHAT needs root ..." and returns
 * LK_EXIT_MISSING. Checks the effective capabilities, not just the uid. */
int cli_need_root(const char *what);
/* Progress messages on stderr only when stderr is a tty and not -q. */
extern bool cli_quiet;
/* The full command line as given (for run records). */
extern const char *cli_cmdline;

#endif
