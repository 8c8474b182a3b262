/*
 * `libtrace export` and `libtrace html`: what every exporter shares.  One
 * replay of the dump gives the model, a heap-over-time series and who held
 * the peak; every site's stack is symbolized once, folded as the report
 * folds it, and its frames interned.  Exporters (export_*.c, html.c) only
 * write a format from this; none replays, symbolizes or decides numbers
 * differently from `libtrace report`.  Writes only to the FILE it is given.
 */
#ifndef LT_ANALYZER_EXPORT_H
#define LT_ANALYZER_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fmt.h"
#include "model.h"
#include "report.h"
#include "series.h"
#include "threads.h"

enum lt_export_format {
	LT_EXPORT_PPROF,        /* gzipped profile.proto */
	LT_EXPORT_COLLAPSED,    /* flamegraph.pl folded lines */
	LT_EXPORT_SPEEDSCOPE,   /* speedscope's JSON file format */
	LT_EXPORT_MASSIF,       /* valgrind massif.out, for ms_print */
	LT_EXPORT_CHROME,       /* trace-event JSON (chrome://tracing, Perfetto) */
	LT_EXPORT_JSON,         /* everything above, as one JSON object */
	LT_EXPORT_HTML,         /* the self-contained page (libtrace html) */
};

enum lt_export_profile {
	LT_PROFILE_HEAP,        /* allocation sites */
	LT_PROFILE_THREADS,     /* creation stacks and live stacks (pprof) */
};

/* The per-site numbers a flame graph can be drawn by. */
enum lt_export_value {
	LT_VALUE_CALLS,
	LT_VALUE_BYTES,
	LT_VALUE_LEAKED,        /* bytes never freed */
	LT_VALUE_TEMPORARY,     /* temporary allocations (calls) */
	LT_VALUE_COUNT
};

struct lt_export_opts {
	enum lt_export_format format;
	enum lt_export_profile profile;
	enum lt_export_value value;     /* collapsed; the others carry all */
	lt_progress_fn *progress;       /* while replaying; may be NULL */
	void *progress_ctx;
};

/* One interned frame: a function (or module+offset) in a source file.
 * Flame graphs merge by this; pprof keeps lines and addresses. */
struct lt_xframe {
	const char *name;       /* function, or "module+0x1a2b" */
	const char *file;       /* NULL when unknown */
	const char *module;     /* NULL when unknown */
	int line;               /* of its first appearance (speedscope) */
};

/* One allocation site with its folded stack and its numbers, estimates in
 * a sampled dump (the report's rounding: est_u64). */
struct lt_xsite {
	const struct lt_site *site;
	struct lt_report_frame *rf;     /* innermost first, report-folded */
	size_t nrf;
	uint32_t *fid;                  /* frame ids, innermost first: one
					 * per rf, or one "(no stack)" */
	size_t nfid;
	uint64_t v[LT_VALUE_COUNT];
	uint64_t leaked_blocks;
	uint64_t peak_bytes, peak_blocks;   /* held at the heap's peak */
};

struct lt_export {
	const char *path;
	const struct lt_dump *dump;
	const struct lt_model *m;
	struct lt_series *series;
	struct lt_symbolizer *sym;
	struct lt_xsite *sites;         /* every site that allocated */
	size_t nsites;
	struct lt_xframe *frames;
	size_t nframes;
	uint64_t total[LT_VALUE_COUNT]; /* sums over sites */
	struct lt_threads *threads;     /* NULL until lt_export_threads() */
	struct lt_export_priv *priv;
};

/* The names of the formats and values, as the command line spells them;
 * -1 when name is none of them. */
int lt_export_format_parse(const char *name);
int lt_export_value_parse(const char *name);
const char *lt_export_value_name(enum lt_export_value v);

/*
 * Open, replay and export the dump at path to out as o says.  Returns 0,
 * or -1 with a message in err (the caller exits 2).  *sampled tells the
 * caller that the numbers are estimates (for formats with nowhere to say
 * so, such as collapsed).
 */
int lt_export_path(FILE *out, const char *path,
		   const struct lt_export_opts *o, bool *sampled,
		   struct lt_err *err);

/* The thread report of x's model, built on first use; NULL when out of
 * memory. */
struct lt_threads *lt_export_threads(struct lt_export *x);

/* The note every export carries where the dump is sampled. */
#define LT_EXPORT_SAMPLED_NOTE "sampled, estimated"

/* A frame's display text, "function (file:line)" as the report prints it
 * (a buffer owned by x, valid until the next call). */
const char *lt_export_frame_text(struct lt_export *x,
				 const struct lt_report_frame *f);

/* Seconds from the start of the run (0 when the dump cannot tell). */
double lt_export_seconds(const struct lt_export *x, uint64_t ticks);

/* The run's length in seconds, as the report computes it. */
double lt_export_duration(const struct lt_export *x);

/* JSON pieces shared by export_json.c and html.c. */
void lt_export_json_head(FILE *out, const struct lt_export *x);
void lt_export_json_totals(FILE *out, const struct lt_export *x);
void lt_export_json_heap(FILE *out, const struct lt_export *x);
void lt_export_json_frame(FILE *out, const struct lt_xframe *f);
void lt_export_json_thread(FILE *out, struct lt_export *x,
			   const struct lt_thread *t);
/* "main", "joined", "detached", "leaked" or "running at exit". */
const char *lt_export_thread_state(const struct lt_thread *t);

/* Exporters: each writes one format of x to out; 0, or -1 with err. */
int lt_export_pprof(FILE *out, struct lt_export *x,
		    const struct lt_export_opts *o, struct lt_err *err);
int lt_export_collapsed(FILE *out, struct lt_export *x,
			const struct lt_export_opts *o, struct lt_err *err);
int lt_export_speedscope(FILE *out, struct lt_export *x,
			 const struct lt_export_opts *o, struct lt_err *err);
int lt_export_massif(FILE *out, struct lt_export *x,
		     const struct lt_export_opts *o, struct lt_err *err);
int lt_export_chrome(FILE *out, struct lt_export *x,
		     const struct lt_export_opts *o, struct lt_err *err);
int lt_export_json(FILE *out, struct lt_export *x,
		   const struct lt_export_opts *o, struct lt_err *err);
int lt_export_html(FILE *out, struct lt_export *x,
		   const struct lt_export_opts *o, struct lt_err *err);

#endif /* LT_ANALYZER_EXPORT_H */
