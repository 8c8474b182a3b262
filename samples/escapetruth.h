/*
 * Per-site ground truth for the escape samples: what `libtrace top` must say
 * of each allocation site, named by the function the report shows first,
 * written by the sample to $LT_ESCAPE_TRUTH as one JSON object.  Like
 * groundtruth.h it never allocates and never uses stdio.
 *
 * A site's classes are the exact set `top --json` must list (class names of
 * README's schema; "escapes-to-caller:K" for level K); its counts are the
 * blocks of each fate, known because the sample made and freed them.  A
 * count of -1 is not checked.
 */
#ifndef SAMPLES_ESCAPETRUTH_H
#define SAMPLES_ESCAPETRUTH_H

#include "groundtruth.h"

struct et_site {
	const char *function;      /* first frame `top` shows for the site */
	const char *classes;       /* comma-separated, exact */
	long calls;
	long temporary;            /* -1: not checked */
	long frame_local, escapes, level, thread, leaked;
	long ambiguous;            /* freed above its malloc line */
	const char *why;           /* one line, for the test's output */
};

/* Blocks a thread's creation leaves with the C library (its TLS vector),
 * charged to the caller of pthread_create. */
#define ET_THREAD_TLS(fn, n) { fn, "leaked", n, 0, 0, 0, 0, 0, n, 0, \
	"glibc keeps each thread's TLS block (the C library's own)" }

/* Write the sites to $LT_ESCAPE_TRUTH (nothing when unset); 0 or -1. */
static inline int et_write(const char *sample, const struct et_site *s, size_t n)
{
	const char *path = getenv("LT_ESCAPE_TRUTH");
	static struct gt_json j;

	if (!path || !*path)
		return 0;
	j.len = 0;
	gt_put(&j, "{\n  \"sample\": ");
	gt_put_string(&j, sample);
	gt_put(&j, ",\n  \"sites\": [");
	for (size_t i = 0; i < n; i++) {
		gt_put(&j, "%s\n    {\"function\": ", i ? "," : "");
		gt_put_string(&j, s[i].function);
		gt_put(&j, ", \"classes\": ");
		gt_put_string(&j, s[i].classes);
		gt_put(&j, ", \"calls\": %ld, \"temporary\": %ld, "
		       "\"frame_local\": %ld, \"escapes\": %ld, \"level\": %ld, "
		       "\"other_thread\": %ld, \"leaked\": %ld, "
		       "\"ambiguous\": %ld, \"why\": ",
		       s[i].calls, s[i].temporary, s[i].frame_local,
		       s[i].escapes, s[i].level, s[i].thread, s[i].leaked,
		       s[i].ambiguous);
		gt_put_string(&j, s[i].why);
		gt_put(&j, "}");
	}
	gt_put(&j, "\n  ]\n}\n");

	return gt_json_save(&j, path);
}

#endif /* SAMPLES_ESCAPETRUTH_H */
