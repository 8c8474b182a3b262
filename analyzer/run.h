/*
 * `libtrace run`: starts a command with the shim preloaded, waits for it,
 * then reports every dump the run produced.  Never exits and never writes
 * to stderr itself: problems go back through lt_err or the complain hook.
 */
#ifndef LT_ANALYZER_RUN_H
#define LT_ANALYZER_RUN_H

#include <stdio.h>

#include "fmt.h"
#include "report.h"

struct lt_run_opts {
	const char *output;          /* LIBTRACE_OUTPUT template, or NULL */
	const char *sample;          /* LIBTRACE_SAMPLE value, or NULL */
	char *const *argv;           /* the command, NULL-terminated */
	struct lt_report_opts report;   /* for the first dump */
	/* Called with a message for a problem that does not stop the run
	 * (a dump that cannot be read, no dump at all). */
	void (*complain)(void *ctx, const char *msg);
	void *complain_ctx;
	/* When not NULL: the paths of every dump the run wrote, in the order
	 * the shim logged them (the array and each path malloc'd, for the
	 * caller to free), and how many.  Empty when the command did not run. */
	char ***dumps;
	size_t *ndumps;
};

/*
 * Run the command and report its dumps to out.  Returns 0 when the command
 * ran, with *status its exit code (128 + signal number when a signal
 * killed it).  Returns -1 with err when it could not be run; *status is
 * then 127 (command not found), 126 (not executable) or 2 (libtrace.so or
 * a temporary file could not be set up).
 */
int lt_run(const struct lt_run_opts *opts, FILE *out, int *status,
	   struct lt_err *err);

/*
 * Find libtrace.so: $LIBTRACE_SO if set, else next to this executable,
 * else ../lib/libtrace.so relative to it.  Writes the absolute path to
 * buf; returns 0, or -1 with err.
 */
int lt_run_find_shim(char *buf, size_t len, struct lt_err *err);

#endif /* LT_ANALYZER_RUN_H */
