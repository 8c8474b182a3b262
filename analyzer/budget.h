/*
 * Budget files: the parser of PRODUCT.md's "Budgets" grammar, one limit a
 * line.  Knows nothing about dumps or models; never accepts a line it does
 * not fully understand, so a mistyped budget can never pass silently.
 *
 *   # comment                              (also after a limit)
 *   LIMIT = VALUE                          whole run
 *   site PATTERN LIMIT = VALUE             allocations (or threads) whose
 *                                          stack has a frame matching PATTERN
 *
 * PATTERN is a function name, a glob on function names ("json_*"), or
 * FILE:LINE (FILE a path suffix, may be a glob), bare or in double quotes.
 */
#ifndef LT_ANALYZER_BUDGET_H
#define LT_ANALYZER_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"

enum lt_limit_kind {
	LT_LIMIT_ALLOCS,            /* allocation calls */
	LT_LIMIT_REALLOCS,          /* realloc/reallocarray calls among them */
	LT_LIMIT_BYTES,             /* bytes allocated */
	LT_LIMIT_PEAK,              /* heap bytes at its peak (a site: held then) */
	LT_LIMIT_LEAKED_BYTES,      /* bytes never freed */
	LT_LIMIT_LEAKED_BLOCKS,     /* blocks never freed */
	LT_LIMIT_THREADS,           /* most threads alive at once */
	LT_LIMIT_THREAD_LEAKS,      /* finished, never joined, not detached */
	LT_LIMIT_RUNNING_AT_EXIT,   /* not detached, still running at exit */
	LT_LIMIT_NKINDS
};

/* How a site pattern is matched against one symbolized frame. */
enum lt_pattern_kind {
	LT_PAT_FUNCTION,            /* exact function name, or its name before '(' */
	LT_PAT_GLOB,                /* fnmatch on the function name */
	LT_PAT_FILE_LINE,           /* file (path suffix or glob) and line */
};

struct lt_limit {
	unsigned line;              /* 1-based, in the budget file */
	enum lt_limit_kind kind;
	uint64_t value;             /* in calls, bytes or threads */
	char *text;                 /* the line as written, trimmed, no comment */
	/* Site limits only (site == NULL: whole run). */
	char *site;                 /* the pattern as written, unquoted */
	enum lt_pattern_kind pattern_kind;
	char *file;                 /* LT_PAT_FILE_LINE: the file part */
	unsigned file_line;
};

struct lt_budget {
	char *path;                 /* as given, for messages */
	struct lt_limit *limits;    /* in file order */
	size_t nlimits;
};

/* Names and units of the limits, indexed by enum lt_limit_kind. */
const char *lt_limit_name(enum lt_limit_kind k);       /* "max_allocs" */
const char *lt_limit_measure(enum lt_limit_kind k);    /* "allocations" */
bool lt_limit_is_bytes(enum lt_limit_kind k);

/*
 * Parse a budget held in text[0..len), read from the file path (used in
 * messages only).  Returns 0 and *out, or -1 with a message naming the
 * file, the line and what was expected:
 *   "budget.conf:7: expected 'max_allocs = N', got 'max_allocs 100'".
 * A budget without any limit is an error too.
 */
int lt_budget_parse(const char *path, const char *text, size_t len,
		    struct lt_budget **out, struct lt_err *err);

/* Read and parse the file at path; returns as lt_budget_parse, with an
 * unreadable file an error as well. */
int lt_budget_load(const char *path, struct lt_budget **out,
		   struct lt_err *err);

void lt_budget_free(struct lt_budget *b);

/*
 * Parse a size as budgets write it ("64 MiB", "1.5 KiB", "4096", "10 MB")
 * or a count ("20000", "20,000", "20_000", "20k", "2M"), the whole string.
 * Returns 0 and *out, or -1 with what is wrong in err (no file or line).
 */
int lt_budget_parse_value(const char *s, bool bytes, uint64_t *out,
			  struct lt_err *err);

/* Does the frame (function, file, line; any may be NULL/0) match the
 * pattern of limit l?  l must be a site limit. */
bool lt_limit_matches(const struct lt_limit *l, const char *function,
		      const char *file, int line);

#endif /* LT_ANALYZER_BUDGET_H */
