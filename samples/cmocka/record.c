/*
 * The code under test.  Built with -DRECORD_REGRESSION, record_format goes
 * through a heap buffer, the kind of change that slips into a hot path
 * unnoticed; the example's test must then fail.
 */
#define _GNU_SOURCE
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int record_format(char *buf, size_t cap, const struct record *r)
{
#ifdef RECORD_REGRESSION
	char *tmp;
	int n = asprintf(&tmp, "%s#%ld=%g", r->name, r->id, r->value);

	if (n < 0)
		return -1;
	if ((size_t)n >= cap) {
		free(tmp);
		return -1;
	}
	memcpy(buf, tmp, (size_t)n + 1);
	free(tmp);
	return n;
#else
	int n = snprintf(buf, cap, "%s#%ld=%g", r->name, r->id, r->value);

	return n < 0 || (size_t)n >= cap ? -1 : n;
#endif
}

char *record_name_dup(const struct record *r)
{
	return strdup(r->name);
}
