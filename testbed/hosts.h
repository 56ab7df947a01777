/* testbed/hosts.h - the host description file of `lrokit bench --hosts`:
 * which machine plays which role, reached how, measured where.
 *
 * The file is plain text, one `key = value` per line, `#` starts a comment.
 * Keys before the first section apply to every host; each `[ROLE]` section
 * describes one machine:
 *
 *   ssh_options = -F /home/me/.ssh/lab.conf   # optional: words added to every ssh
 *   [sender]
 *   ssh    = alice@sender.lab       # ssh destination (the user's ssh config applies)
 *   iface  = eth1                   # the interface to measure
 *   lrokit = /usr/local/bin/lrokit  # the remote lrokit (default: lrokit in the remote PATH)
 *   [receiver]
 *   ssh     = receiver.lab
 *   iface   = eth1
 *   address = 10.1.0.2              # where the sender connects (an address on iface)
 *
 * Roles: plain hosts are `sender` and `receiver`. A Xen host is `sender`,
 * `dom0` (iface: the physical NIC the traffic enters by; `vif`: the guest's
 * backend interface, optional) and `guest` (iface: its netfront; address:
 * where the sender connects); the guest is the receiver, so `receiver` is
 * not allowed beside `dom0`/`guest`. A section may also set `ssh_options`
 * (added after the global ones). Values are single words except
 * ssh_options (words split at blanks; no quoting). Unknown keys and roles,
 * missing required keys and a role given twice are errors naming the line.
 *
 * Nothing here prints, runs ssh or touches the network: it parses and
 * builds argument vectors (lk_host_ssh_argv) and shell-quoted words
 * (lk_sh_quote) for testbed/remote.h.
 */
#ifndef LK_TESTBED_HOSTS_H
#define LK_TESTBED_HOSTS_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>

enum lk_role { LK_ROLE_SENDER, LK_ROLE_RECEIVER, LK_ROLE_DOM0, LK_ROLE_GUEST, LK_NROLES };

#define LK_HOST_MAXOPTS 16

struct lk_host {
	bool present;
	char dest[256];                        /* ssh destination */
	char opts[LK_HOST_MAXOPTS][256];       /* ssh options: global then the section's */
	int nopts;
	char iface[64];                        /* interface to measure */
	char lrokit[512];                      /* remote lrokit ("lrokit" by default) */
	char address[256];                     /* receiver/guest: where the sender connects */
	char vif[64];                          /* dom0: the guest's backend interface, "" none */
};

struct lk_hosts {
	struct lk_host role[LK_NROLES];
	bool xen;                              /* dom0 and guest given */
};

/* "sender", "receiver", "dom0", "guest". */
const char *lk_role_name(enum lk_role r);
/* The role that receives the transfer: the guest on Xen, else the receiver. */
enum lk_role lk_hosts_receiver(const struct lk_hosts *h);

/* Parse the file's text; `what` names it in errors ("FILE:LINE: ..."). */
int lk_hosts_parse(const char *text, const char *what, struct lk_hosts *h, struct lk_err *e);
/* Read and parse a file. */
int lk_hosts_load(const char *path, struct lk_hosts *h, struct lk_err *e);

/* Quote one word for a POSIX shell: 'word' with each ' as '\''. Words made
 * only of [A-Za-z0-9_./:=@%+,-] are left as they are. -1 when it does not
 * fit in n. */
int lk_sh_quote(const char *word, char *out, size_t n);
/* Join argv into one shell command line of quoted words (for ssh, which
 * hands the remote side one string). -1 when it does not fit. */
int lk_sh_join(const char *const argv[], char *out, size_t n);

/* The argument vector that runs the shell command `cmd` on host h:
 * ssh OPTS... -o BatchMode=yes -o ServerAliveInterval=2
 * -o ServerAliveCountMax=3 DEST -- CMD. argv must hold LK_HOST_SSH_ARGV
 * pointers (into h and cmd); returns the count. */
#define LK_HOST_SSH_ARGV (LK_HOST_MAXOPTS + 12)
int lk_host_ssh_argv(const struct lk_host *h, const char *cmd, const char **argv);

#endif
