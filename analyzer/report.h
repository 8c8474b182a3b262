/*
 * The report: turns a replayed dump into the text summary with its top
 * sites and leaks, the one-line summary, or the JSON object of PRODUCT.md.
 * Writes only to the FILE it is given (never stderr) and never exits.
 */
#ifndef LT_ANALYZER_REPORT_H
#define LT_ANALYZER_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "fmt.h"
#include "model.h"
#include "symbols.h"

enum lt_report_mode {
	LT_REPORT_FULL,      /* summary, top sites by calls and bytes, leaks */
	LT_REPORT_ONELINE,   /* one line per dump */
	LT_REPORT_JSON,      /* one JSON object per dump */
};

struct lt_report_opts {
	enum lt_report_mode mode;
	unsigned top;              /* entries per section; 0 means 10 */
	unsigned frames;           /* frames per stack in text; 0 means 8 */
	lt_progress_fn *progress;  /* while replaying; may be NULL */
	void *progress_ctx;
};

/*
 * Open, replay and report the dump at path to out.  Returns 0, or -1 with
 * a message in err when the dump cannot be read (the caller exits 2).  A
 * truncated or damaged-but-readable dump is reported with warnings and
 * returns 0.
 */
int lt_report_path(FILE *out, const char *path,
		   const struct lt_report_opts *opts, struct lt_err *err);

/* Report an already replayed model (symbolizes its stacks); returns 0, or
 * -1 with err when out of memory or the output failed. */
int lt_report_model(FILE *out, const struct lt_model *m,
		    const struct lt_report_opts *opts, struct lt_err *err);

/* For the exports, which must show the stacks the report shows: one
 * source frame of a site's stack and the address it came from. */
struct lt_report_frame {
	struct lt_sym_frame f;
	uint64_t addr;
};

/* A symbolizer for the modules of m (their load and unload times), or
 * NULL when out of memory.  lt_sym_free() it. */
struct lt_symbolizer *lt_report_symbolizer(const struct lt_model *m);

/*
 * The frames of site s as the report shows them, innermost first: inlined
 * frames expanded, allocator frames folded, shim and start-up frames left
 * out, ending at main.  *out is malloc'd (the caller frees it; NULL with
 * *n = 0 when the stack is not in the dump).  Returns 0, or -1 when out of
 * memory.
 */
int lt_report_site_frames(struct lt_symbolizer *sym, const struct lt_site *s,
			  struct lt_report_frame **out, size_t *n);

/* True for a frame the report never shows anywhere in a stack: libtrace's
 * own (its thread trampoline) and libc's process and thread start-up. */
bool lt_report_hidden_frame(const struct lt_sym_frame *f);

#endif /* LT_ANALYZER_REPORT_H */
