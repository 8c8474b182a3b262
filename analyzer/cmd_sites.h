/*
 * `libtrace top`, `libtrace peak` and `libtrace leaks`: the per-site views
 * of one dump, as text or JSON.  Each replays the dump once with the
 * observers it needs (fate.h for the escape classes, series.h for the
 * peak), symbolizes as the report does, and writes only to the FILE it is
 * given; errors come back in struct lt_err, never on stderr.
 */
#ifndef LT_ANALYZER_CMD_SITES_H
#define LT_ANALYZER_CMD_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fate.h"
#include "fmt.h"
#include "model.h"
#include "series.h"
#include "symbols.h"

enum lt_top_order { LT_TOP_BY_CALLS, LT_TOP_BY_BYTES, LT_TOP_BY_TEMPORARY };

struct lt_sites_opts {
	bool json;
	unsigned top;              /* sites shown; 0 means 10 (leaks: all) */
	unsigned frames;           /* frames per stack in text; 0 means 8 */
	enum lt_top_order order;   /* top only */
	const char *suppressions;  /* leaks only: an LSan-style file, or NULL */
	lt_progress_fn *progress;  /* while replaying; may be NULL */
	void *progress_ctx;
};

/* One replayed dump with what the views need. */
struct lt_sites_run {
	struct lt_dump *dump;
	struct lt_model *m;
	struct lt_fates *fates;    /* NULL unless asked for */
	struct lt_series *series;  /* NULL unless asked for */
	struct lt_symbolizer *sym;
};

/* Open and replay path; returns 0, or -1 with a message naming the file. */
int lt_sites_open(const char *path, bool fates, bool series,
		  const struct lt_sites_opts *o, struct lt_sites_run *r,
		  struct lt_err *err);
void lt_sites_close(struct lt_sites_run *r);

/* The run's length in seconds, as the report computes it. */
double lt_sites_seconds(const struct lt_model *m);

/* JSON: "frames": [...], "folded_frames": N (report-folded, inlined
 * frames expanded), and the "dump" header members every view starts with. */
void lt_sites_json_frames(FILE *out, struct lt_symbolizer *sym,
			  const struct lt_site *s);
void lt_sites_json_head(FILE *out, const struct lt_model *m);

/* The first function the report shows for s, or "(unknown)". */
const char *lt_sites_function(struct lt_symbolizer *sym,
			      const struct lt_site *s, char *buf, size_t len);

/*
 * The three views.  Each returns 0, or -1 with err: the dump cannot be read
 * (or, for leaks, the suppressions file), or the output failed.
 */
int lt_top_path(FILE *out, const char *path, const struct lt_sites_opts *o,
		struct lt_err *err);
int lt_peak_path(FILE *out, const char *path, const struct lt_sites_opts *o,
		 struct lt_err *err);
int lt_leaks_path(FILE *out, const char *path, const struct lt_sites_opts *o,
		  struct lt_err *err);

#endif /* LT_ANALYZER_CMD_SITES_H */
