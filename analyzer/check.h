/*
 * `libtrace check`: dumps against a budget (budget.h) and against a
 * baseline run (the ratchet, diff.h).  Every limit is evaluated and
 * printed, passed or failed, each failure with the actual value, the limit
 * and the stacks responsible; optionally the same as JUnit XML.  Prints
 * only to the FILE it is given and returns errors; never exits.
 */
#ifndef LT_ANALYZER_CHECK_H
#define LT_ANALYZER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "budget.h"
#include "fmt.h"

struct lt_check_opts {
	const struct lt_budget *budget;     /* NULL: the ratchet only */
	const char *const *baselines;       /* dumps of the earlier run */
	size_t nbaselines;
	double max_increase;                /* allowed growth, 0.05 for 5% */
	bool per_dump;                      /* each dump on its own */
	const char *junit;                  /* write JUnit XML here, or NULL */
	unsigned frames;                    /* per stack; 0 means 8 */
	unsigned top;                       /* stacks per failure; 0 means 3 */
};

/*
 * Check dumps[0..n) (taken together: counts added up, peaks the largest of
 * any one dump; or each on its own with per_dump).  Returns 0 with
 * *failed the number of failed checks (main exits 1 when it is not 0), or
 * -1 with err when a dump or baseline cannot be read or the JUnit file
 * cannot be written (main exits 2).
 */
int lt_check_paths(FILE *out, const char *const *dumps, size_t n,
		   const struct lt_check_opts *o, size_t *failed,
		   struct lt_err *err);

/* Parse "5%", "5", "0.5%" (a percentage) into a fraction; -1 when it is
 * not a non-negative number. */
double lt_check_parse_percent(const char *s);

#endif /* LT_ANALYZER_CHECK_H */
