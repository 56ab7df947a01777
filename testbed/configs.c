/* testbed/configs.c - the table of testbed configurations (see configs.h). */
#include "testbed/configs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const struct lk_config lk_configs[LK_NCONFIGS + 1] = {
	{"native", false, false, false, false, "sender ==wire== receiver, kernel GRO off",
	 "Native", 1.00, "1 (reference)", false},
	{"native-gro", false, true, false, false, "sender ==wire== receiver, kernel GRO on",
	 NULL, NAN, NULL, false},
	{"xen", true, false, false, false, "emulated Xen path, no LRO (Non-LRO)",
	 "Non-LRO", 1.00, "not given numerically", false},
	{"lro-phys", true, false, true, false, "emulated Xen path, lro_ref in the NIC stage",
	 "LRO phys", 1.98,
	 "not given numerically; up to +8% over Non-LRO (with SPECjbb beside the receiver)", false},
	{"lro-virt", true, false, false, true, "emulated Xen path, lro_ref in netfront",
	 "LRO virt", 4.91,
	 "not given numerically; up to +14% over Non-LRO (with SPECjbb beside the receiver)", false},
	{"lro-both", true, false, true, true, "emulated Xen path, lro_ref in NIC and netfront",
	 NULL, NAN, NULL, false},
	{"native-lro", false, false, false, false,
	 "real hosts only (bench --hosts): LRO on the receiver's NIC, GRO off", NULL, NAN, NULL,
	 true},
	{NULL, false, false, false, false, NULL, NULL, NAN, NULL, false},
};

const struct lk_config *lk_config_find(const char *name)
{
	int i = lk_config_rank(name);
	return i < 0 ? NULL : &lk_configs[i];
}

int lk_config_rank(const char *name)
{
	for (int i = 0; name && lk_configs[i].name; i++)
		if (!strcmp(lk_configs[i].name, name))
			return i;
	return -1;
}

const char *lk_config_list(char *buf, size_t n, const char *sep)
{
	size_t off = 0;
	if (n)
		buf[0] = 0;
	for (int i = 0; lk_configs[i].name && off < n; i++)
		if (!lk_configs[i].hosts_only)
			off += (size_t)snprintf(buf + off, n - off, "%s%s", off ? sep : "",
						lk_configs[i].name);
	return buf;
}
