/* collectors/sampleline.h - one collector sample as one JSON line: what
 * `lrokit collect` writes on stdout and `lrokit bench --hosts` reads back
 * from a remote host over ssh.
 *
 *   {"t_ns":1733270400123456789,"source":"iface","key":"eth1.rx_bytes","value":123456}
 *
 * t_ns is CLOCK_REALTIME in ns (the host's own clock), source one of
 * procstat, iface, snmp, pid; key a word of [A-Za-z0-9_.:@-]; value a
 * number (cumulative counters as read: the reader takes differences).
 * Exactly these four members in this order, no blanks: the reader is a
 * strict parser of this one shape, not a JSON parser.
 */
#ifndef LK_COLL_SAMPLELINE_H
#define LK_COLL_SAMPLELINE_H

#include <stdint.h>
#include <stdio.h>

struct lk_sampleline {
	uint64_t t_ns;
	char source[32];
	char key[128];
	double value;
};

/* Write one line (with its newline) to f. */
void lk_sampleline_write(FILE *f, uint64_t t_ns, const char *source, const char *key,
			 double value);
/* Parse one line (a trailing newline is allowed); -1 when it is not of the
 * shape above. */
int lk_sampleline_parse(const char *line, struct lk_sampleline *s);

#endif
