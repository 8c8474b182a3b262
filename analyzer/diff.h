/*
 * `libtrace diff` and the ratchet of `libtrace check --baseline`: two runs
 * (each one or more replayed dumps) compared in totals and per site.  A
 * site is known across runs by its function chain (the report's folded
 * frames, innermost first, by function name), so neither addresses (ASLR)
 * nor line numbers (edits elsewhere in a file) split it.  Prints only to
 * the FILE it is given, never exits.
 */
#ifndef LT_ANALYZER_DIFF_H
#define LT_ANALYZER_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fmt.h"
#include "model.h"

struct lt_symbolizer;

/* One side of a comparison: replayed dumps with their symbolizers. */
struct lt_side {
	const struct lt_model **models;
	struct lt_symbolizer **syms;
	size_t n;
	bool sampled;               /* any of them */
};

/*
 * The totals of several dumps taken together: counts and bytes added up;
 * peak_bytes and peak_threads the largest of any one dump (each process
 * has a heap and threads of its own).
 */
void lt_side_totals(const struct lt_side *s, struct lt_totals *out);

/* A site's numbers, estimates in a sampled dump. */
double lt_site_calls(const struct lt_model *m, const struct lt_site *s);
double lt_site_bytes(const struct lt_model *m, const struct lt_site *s);
double lt_site_leaked_bytes(const struct lt_model *m, const struct lt_site *s);
double lt_site_leaked_blocks(const struct lt_model *m, const struct lt_site *s);

/*
 * Print site s's stack as the report shows it, one frame a line after
 * indent, at most max_frames (then "...").
 */
void lt_print_stack(FILE *out, struct lt_symbolizer *sym,
		    const struct lt_site *s, unsigned max_frames,
		    const char *indent);

/* The numbers of one site key on one side. */
struct lt_diff_nums {
	double calls, bytes, leaked_bytes;
};

struct lt_diff_site {
	char *key;                  /* "f <- g <- main" */
	struct lt_diff_nums old, new;
	bool in_old, in_new;
	/* The stack with the most calls under this key, for showing. */
	const struct lt_site *site;
	struct lt_symbolizer *sym;
};

enum lt_diff_order { LT_DIFF_BY_CALLS, LT_DIFF_BY_BYTES };

struct lt_diff {
	struct lt_totals old_totals, new_totals;
	struct lt_diff_site *sites;  /* largest growth first */
	size_t nsites;
	bool sampled;
};

/* Compare; sites sorted by growth in calls (then bytes) or in bytes (then
 * calls), largest first.  Returns 0 and *out, or -1 when out of memory. */
int lt_diff_build(const struct lt_side *old, const struct lt_side *new,
		  enum lt_diff_order order, struct lt_diff **out,
		  struct lt_err *err);

void lt_diff_free(struct lt_diff *d);

struct lt_diff_opts {
	bool json;
	enum lt_diff_order order;
	unsigned top;               /* sites per section; 0 means 10 */
	unsigned frames;            /* frames per stack; 0 means 6 */
};

/* Open, replay and compare the dumps at old_path and new_path, then print
 * the difference.  Returns 0, or -1 with err when a dump cannot be read
 * (the caller exits 2) or the output failed. */
int lt_diff_paths(FILE *out, const char *old_path, const char *new_path,
		  const struct lt_diff_opts *o, struct lt_err *err);

/* Growth from old to new as a fraction (0.05 is +5%); +inf when old is 0
 * and new is not. */
double lt_growth(double old, double new);

#endif /* LT_ANALYZER_DIFF_H */
