/*
 * Per-site ground truth for the thread samples: what `libtrace threads` must
 * say about each creation site (a start routine and the function that called
 * pthread_create), written by the sample to $LT_THREADS_TRUTH as one JSON
 * object.  Like groundtruth.h it never allocates and never uses stdio.
 */
#ifndef SAMPLES_THREADTRUTH_H
#define SAMPLES_THREADTRUTH_H

#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "groundtruth.h"

/* One creation site and the fate of its threads. */
struct tt_site {
	const char *start;          /* the start routine */
	const char *created_in;     /* the function that called pthread_create */
	long created, peak, joined, detached, leaked, running_at_exit;
	long detached_running;      /* detached and still running at exit */
	long allocations, bytes, frees;   /* made by the site's threads */
	/* The site's threads in the live stacks at exit: how many, the call
	 * they wait in (the top frame shown) and the program's own function
	 * right under it; NULL when none is alive at exit. */
	long alive_at_exit;
	const char *waits_in, *under;
	const char *names;          /* the names its threads were given,
				     * comma-separated in serial order; or NULL */
};

static inline void tt_put_str_or_null(struct gt_json *j, const char *s)
{
	if (s)
		gt_put_string(j, s);
	else
		gt_put(j, "null");
}

/* Write the sites to $LT_THREADS_TRUTH (nothing when unset); 0 or -1. */
static inline int tt_write(const char *sample, const struct tt_site *s, size_t n)
{
	const char *path = getenv("LT_THREADS_TRUTH");
	static struct gt_json j;

	if (!path || !*path)
		return 0;
	j.len = 0;
	gt_put(&j, "{\n  \"sample\": ");
	gt_put_string(&j, sample);
	gt_put(&j, ",\n  \"sites\": [");
	for (size_t i = 0; i < n; i++) {
		gt_put(&j, "%s\n    {\"start\": ", i ? "," : "");
		gt_put_string(&j, s[i].start);
		gt_put(&j, ", \"created_in\": ");
		gt_put_string(&j, s[i].created_in);
		gt_put(&j, ", \"created\": %ld, \"peak\": %ld, \"joined\": %ld, "
		       "\"detached\": %ld, \"leaked\": %ld, \"running_at_exit\": %ld, "
		       "\"detached_running\": %ld, \"allocations\": %ld, \"bytes\": %ld, "
		       "\"frees\": %ld, \"alive_at_exit\": %ld, \"waits_in\": ",
		       s[i].created, s[i].peak, s[i].joined, s[i].detached,
		       s[i].leaked, s[i].running_at_exit, s[i].detached_running,
		       s[i].allocations, s[i].bytes, s[i].frees, s[i].alive_at_exit);
		tt_put_str_or_null(&j, s[i].waits_in);
		gt_put(&j, ", \"under\": ");
		tt_put_str_or_null(&j, s[i].under);
		gt_put(&j, ", \"names\": ");
		tt_put_str_or_null(&j, s[i].names);
		gt_put(&j, "}");
	}
	gt_put(&j, "\n  ]\n}\n");

	return gt_json_save(&j, path);
}

/*
 * Threads that will end are told apart by their kernel tids: each notes its
 * own as it starts, and main waits until the kernel has reaped every noted
 * one.  Past that point their exits are complete, records and all.
 * Counting /proc/self/task instead would wait forever under a sanitizer
 * runtime, which has threads of its own.
 */
#define TT_MAX_NOTED 4096
static _Atomic long tt_noted[TT_MAX_NOTED];
static _Atomic int tt_nnoted;

static inline void tt_note_self(void)
{
	int i = atomic_fetch_add(&tt_nnoted, 1);

	if (i < TT_MAX_NOTED)
		atomic_store(&tt_noted[i], (long)syscall(SYS_gettid));
}

/* Wait until n threads have noted themselves and all of them are gone,
 * then start noting afresh. */
static inline void tt_wait_gone(int n)
{
	struct timespec ms = { 0, 1000000 };
	char path[64];
	struct stat st;

	while (atomic_load(&tt_nnoted) < n)
		nanosleep(&ms, NULL);
	for (int i = 0; i < n && i < TT_MAX_NOTED; i++) {
		long tid;

		while ((tid = atomic_load(&tt_noted[i])) == 0)
			nanosleep(&ms, NULL);
		snprintf(path, sizeof(path), "/proc/self/task/%ld", tid);
		while (stat(path, &st) == 0)
			nanosleep(&ms, NULL);
		atomic_store(&tt_noted[i], 0);
	}
	atomic_store(&tt_nnoted, 0);
}

#endif /* SAMPLES_THREADTRUTH_H */
