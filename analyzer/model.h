/*
 * The model: merges every thread's stream of a dump by ticks and replays
 * it into live-heap, per-site and per-thread state, then the totals of
 * PRODUCT.md.  Never holds an event after replaying it: memory grows with
 * live blocks, distinct stacks and threads only.  Knows nothing about
 * symbols or output formats.
 */
#ifndef LT_ANALYZER_MODEL_H
#define LT_ANALYZER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dump.h"
#include "fmt.h"

/* Exactly the "totals" of PRODUCT.md's machine-readable summary. */
struct lt_totals {
	uint64_t allocations, frees, reallocs, bytes_allocated, peak_bytes;
	uint64_t leaked_blocks, leaked_bytes, temporary;
	uint64_t threads_created, threads_joined, threads_detached;
	uint64_t threads_leaked, threads_running_at_exit, peak_threads;
};

/* Events the shim saw but could not record (LT_REC_LOST). */
struct lt_lost {
	uint64_t allocs, frees, bytes;
};

/* Things a well-formed, complete dump does not contain; reported, never
 * fatal. */
struct lt_anomalies {
	uint64_t frees_untracked;   /* release of an address not live: made
				     * before tracing, or inherited by fork */
	uint64_t ordering;          /* acquisition of an address still live */
	uint64_t targets_unknown;   /* join/detach/cancel of an unknown pthread_t */
	uint64_t stacks_undefined;  /* a stack id used but never defined */
	uint64_t stacks_redefined;  /* a stack id defined twice */
	uint64_t ticks_backwards;   /* a thread's ticks went down */
	uint64_t null_pointers;     /* a block at address 0 */
};

/* One allocation site: everything allocated under one stack id. */
struct lt_site {
	uint32_t stack_id;          /* LT_STACK_NONE for "no stack" */
	uint32_t nframes;
	const uint64_t *frames;     /* into the dump mapping; NULL: undefined */
	uint64_t first_ticks;       /* first use; picks the module map */
	uint64_t calls, bytes, min_size, max_size, reallocs, temporary;
	uint64_t leaked_blocks, leaked_bytes;
	/* The same, each event weighted by its sampling probability's
	 * inverse; equal to the counts above in an exact dump. */
	double est_calls, est_bytes, est_temporary;
	double est_leaked_blocks, est_leaked_bytes;
};

struct lt_thread {
	uint32_t serial;
	uint32_t creator;           /* serial of the creating thread, 0 if none */
	uint32_t create_stack;
	uint32_t tid;               /* kernel tid from THREAD_START */
	uint64_t pthread;
	uint64_t start_routine;
	uint64_t create_ticks, start_ticks, exit_ticks;
	uint64_t allocs;            /* acquisitions by this thread so far */
	bool is_main, created, started, exited, joined, detached, cancelled;
	uint8_t exit_how;           /* enum lt_thread_exit_how */
	char name[16];              /* NUL-terminated, may be empty */
};

struct lt_module {
	char *path;
	uint8_t *build_id;
	size_t build_id_len;
	uint64_t bias, lo, hi, ticks;
	bool main_exe;
};

struct lt_module_unload {
	uint64_t bias, ticks;
};

struct lt_model {
	const struct lt_dump *dump;

	struct lt_totals totals;    /* what the report states (sampled:
				     * trailer totals and estimates) */
	struct lt_totals decoded;   /* counted from the records themselves */
	struct lt_lost lost;
	struct lt_anomalies anomalies;
	bool sampled;
	bool sample_large;          /* blocks >= sample_interval all recorded */
	uint64_t sample_interval;

	uint64_t start_ticks, end_ticks, peak_ticks;
	double ns_per_tick;         /* 0 when the dump cannot tell */
	uint64_t events;            /* merged events replayed */
	uint64_t stack_records;
	uint64_t forks, execs, snapshots;

	struct lt_site **sites;     /* every stack id seen, unordered */
	size_t nsites;
	struct lt_thread **threads; /* sorted by serial */
	size_t nthreads;
	struct lt_module *modules;
	size_t nmodules;
	struct lt_module_unload *unloads;
	size_t nunloads;

	char **warnings;            /* one sentence each, for the report */
	size_t nwarnings;

	struct lt_model_priv *priv;
};

/* Called now and then during the replay with payload bytes done/total,
 * from the thread that merges the streams: not always the caller's (see
 * lt_model_threads).  The other hooks below run on the caller's thread. */
typedef void lt_progress_fn(void *ctx, uint64_t done, uint64_t total);

/*
 * Replay the dump d (which must outlive the model).  Returns 0 and *out,
 * or -1 with a message (only when out of memory: a damaged but readable
 * dump gives a model with warnings).
 */
int lt_model_build(const struct lt_dump *d, lt_progress_fn *progress,
		   void *progress_ctx, struct lt_model **out,
		   struct lt_err *err);

/*
 * Watches the live heap during the replay, in merge order: a block of size
 * bytes from site was acquired (delta +1) or released (delta -1) at ticks;
 * weight is its sampling weight (1 in an exact dump).  site lives as long
 * as the model.  What it builds (a heap-over-time series, the sites
 * holding the peak) is its own business: the model keeps no history.
 */
typedef void lt_heap_fn(void *ctx, uint64_t ticks, const struct lt_site *site,
			uint64_t size, double weight, int delta);

/*
 * One ALLOC, FREE or REALLOC record as the record hook sees it.  A REALLOC
 * comes twice: phase 0 releases old_ptr, phase 1 acquires new_ptr; ptr is
 * the one of this phase.
 */
struct lt_event {
	uint64_t ptr;       /* the block acquired or released */
	uint64_t size;      /* bytes asked for (a realloc's, in both phases) */
	uint64_t sp;        /* the caller's stack pointer at the call */
	uint32_t stack;     /* head.aux: the stack, or a free's free site */
	uint8_t  type;      /* LT_REC_ALLOC, LT_REC_FREE or LT_REC_REALLOC */
	uint8_t  phase;     /* of a REALLOC; 0 otherwise */
};

/*
 * Sees every ALLOC, FREE and REALLOC record of the dump in merge order,
 * right after the model applied it, with the serial of the thread that made
 * it.  site is the site an acquisition was credited to, NULL for a
 * release.  For observers that need what the model does not keep (stack
 * pointers, free sites, realloc chains).
 */
typedef void lt_record_fn(void *ctx, uint32_t thread, const struct lt_event *ev,
			  const struct lt_site *site);

/*
 * A hint, some records ahead of the replay, that the record hook will soon
 * look up address ptr: an observer with its own table of blocks can ask for
 * the memory now.  Called only while the model's own table is past the
 * caches; it must not change anything the observer reports.
 */
typedef void lt_prefetch_fn(void *ctx, uint64_t ptr);

struct lt_model_hooks {
	lt_progress_fn *progress;   /* any member may be NULL */
	void *progress_ctx;
	lt_heap_fn *heap;
	void *heap_ctx;
	lt_record_fn *record;
	void *record_ctx;           /* also the prefetch hook's */
	lt_prefetch_fn *prefetch;
};

/* lt_model_build with hooks; the same return convention. */
int lt_model_build_hooked(const struct lt_dump *d,
			  const struct lt_model_hooks *hooks,
			  struct lt_model **out, struct lt_err *err);

void lt_model_free(struct lt_model *m);

/* Whether the replay merges on a second thread: -1 (the default) for a
 * dump of 65,536 records or more when lt_dump_spare_cpu(), 0 never, 1
 * always.  For tests: the results are the same either way. */
extern int lt_model_threads;

/* Seconds from the start of the run to ticks; negative when unknown. */
double lt_model_seconds(const struct lt_model *m, uint64_t ticks);

/* Sampling weight of one block of size bytes: 1 in an exact dump,
 * 1 / (1 - exp(-size / R)) in a dump sampled with mean interval R, and 1
 * for size >= R when the dump says such blocks were all recorded. */
double lt_model_weight(const struct lt_model *m, uint64_t size);

#endif /* LT_ANALYZER_MODEL_H */
