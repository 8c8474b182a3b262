/*
 * The code under test in the cmocka example: a record formatter that sits
 * on a hot path and must not allocate, and a name copier that allocates
 * exactly once.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>

struct record {
	const char *name;
	long id;
	double value;
};

/* Formats r as "name#id=value" into buf; returns the length, or -1 when
 * buf is too small.  Never allocates. */
int record_format(char *buf, size_t cap, const struct record *r);

/* A heap copy of r's name (the caller frees it): one allocation. */
char *record_name_dup(const struct record *r);

#endif
