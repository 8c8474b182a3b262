/*
 * `libtrace threads`: thread lifecycle per creation site (created, peak
 * concurrent, joined, detached, leaked, running at exit, allocations),
 * unbounded fan-out, and the live stacks of every thread at exit and at
 * each snapshot grouped like a goroutine dump.  Reads a replayed model and
 * the dump it came from; prints only to the FILE it is given, never exits.
 */
#ifndef LT_ANALYZER_THREADS_H
#define LT_ANALYZER_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fmt.h"
#include "model.h"

struct lt_symbolizer;

struct lt_threads_opts {
	bool json;
	unsigned fanout_limit;      /* 0: 4 × online CPUs of this machine */
	const char **ignore_start;  /* start routines (fnmatch patterns) */
	size_t nignore_start;
	const char **ignore_top;    /* top function of a live stack at exit */
	size_t nignore_top;
	unsigned frames;            /* frames per stack in text; 0 means 8 */
	lt_progress_fn *progress;   /* while replaying; may be NULL */
	void *progress_ctx;
};

/* What became of a thread, one answer each (the main thread is MAIN). */
enum lt_tstate {
	LT_TS_MAIN,
	LT_TS_JOINED,
	LT_TS_DETACHED,             /* finished or not */
	LT_TS_LEAKED,               /* finished, never joined, not detached */
	LT_TS_RUNNING,              /* not detached, no exit: running at exit */
};

/* One creation site: threads made by one start routine from one creating
 * stack, as source lines.  Counts include ignored threads except where
 * said. */
struct lt_tsite {
	unsigned number;            /* 1-based, in the order sites are shown */
	uint32_t stack_id;          /* creating stack (of its first thread);
				     * LT_STACK_NONE: unknown */
	uint64_t start_routine;     /* 0: unknown */
	uint64_t first_ticks;       /* first creation: picks the module map */
	uint64_t created, joined, detached, cancelled;
	uint64_t leaked, running_at_exit;   /* ignored threads left out */
	uint64_t detached_running;  /* detached, still running at exit */
	uint64_t ignored;
	uint64_t peak, peak_ticks;  /* most alive at once, and when first */
	bool fanout;                /* peak > the fan-out limit */
	double allocations, bytes;  /* by its threads; estimates if sampled */
	uint64_t frees;
	size_t nthreads;
	size_t *threads;            /* indices into lt_threads.threads */
};

struct lt_tinfo {
	const struct lt_thread *t;
	struct lt_tsite *site;      /* NULL for the main thread */
	enum lt_tstate state;
	bool ignored;
	double allocations, bytes;  /* made by this thread */
	uint64_t frees;
	const struct lt_rec_thread_stack *exit_stack;   /* NULL: none */
};

/* The live stacks of one snapshot (number 0: the end of the process). */
struct lt_tsnapshot {
	uint32_t number;
	uint64_t ticks;
	bool marker;                /* its LT_REC_SNAPSHOT was found */
	size_t nstacks;
	const struct lt_rec_thread_stack **stacks;
};

struct lt_threads {
	const struct lt_model *model;
	struct lt_symbolizer *sym;
	uint64_t fanout_limit;
	bool fanout_default;        /* the limit came from the CPU count */
	long cpus;                  /* online CPUs, for the default */
	struct lt_tinfo *threads;   /* parallel to model->threads */
	const struct lt_site **stacks;   /* model->sites by stack id */
	size_t nstacks;
	size_t nthreads;
	struct lt_tsite **sites;    /* problems first, then by threads made */
	size_t nsites;
	struct lt_tsnapshot *snaps; /* exit (if any) first, then 1, 2, ... */
	size_t nsnaps;
	uint64_t leaked, running_at_exit, ignored, fanout_sites;
	bool sampled;
};

/*
 * Work out the thread report of a replayed model (whose dump must still be
 * open).  Returns 0 and *out, or -1 with a message when out of memory.
 */
int lt_threads_build(const struct lt_model *m, const struct lt_threads_opts *o,
		     struct lt_threads **out, struct lt_err *err);

void lt_threads_free(struct lt_threads *x);

/*
 * The one line a live stack is shown as, innermost first:
 * "pthread_cond_wait ← queue_pop (queue.c:41) ← worker (pool.c:88)".
 * Frames of libtrace and of thread start-up are left out, and a run of C
 * library frames at the top is shown as the one the program called.  At
 * most max frames (then "← ...").  Returns buf.
 */
const char *lt_threads_stack_line(struct lt_threads *x,
				  const struct lt_rec_thread_stack *r,
				  unsigned max, char *buf, size_t len);

/* Print x as text, or as one JSON object with o->json.  Returns 0, or -1
 * with err when out of memory or the output failed. */
int lt_threads_print(FILE *out, struct lt_threads *x,
		     const struct lt_threads_opts *o, struct lt_err *err);

/* Open, replay and print the dump at path.  Returns 0, or -1 with a
 * message when it cannot be read (the caller exits 2). */
int lt_threads_path(FILE *out, const char *path,
		    const struct lt_threads_opts *o, struct lt_err *err);

#endif /* LT_ANALYZER_THREADS_H */
