/* The process's peak resident set so far, in KiB (VmHWM from
 * /proc/self/status), or -1. */
#ifndef LT_TESTS_SHIM_HWM_H
#define LT_TESTS_SHIM_HWM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long hwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

#endif
