/*
 * Escape classes: turns the release facts fate.c gathered for a site into
 * the classes of PRODUCT.md ("What the reports mean") at the level of
 * source frames, as the report shows the site's stack (allocator frames
 * folded, inlined frames counted).  Claims only what the stacks and stack
 * pointers prove; everything else is counted as undecided, with the
 * reason.  Prints nothing.
 *
 * How a block freed on its own thread is placed.  A = the allocation's
 * stack [a0 (in the allocating function F), a1 (in F's caller), ...], sp_a
 * the stack pointer at the malloc call; R = the free site's stack [r0 (in
 * the function that called free), ...], sp_f at the free call.  The block
 * was freed inside the activation of A's physical frame k when R holds
 * a(k+1) at some j >= 1 with the frames above it equal to A's above a(k+1)
 * (as far as both go), r(j-1) lies in the same function as a(k), and the
 * stack pointers agree: k = 0 needs sp_f <= sp_a (== when F frees it
 * itself) and no event of the thread in between above sp_a; k >= 1 with
 * j = 1 needs sp_f > sp_a and no event in between above sp_f.  The
 * smallest such k wins.  With one-frame free sites (LIBTRACE_FREE_DEPTH=1)
 * r0's function must be a(k)'s and occur once in A.  Physical frame k is
 * then mapped to the source frame the free shares with the allocation
 * (inlined functions count as frames), and counted from the first frame
 * the report shows: level 0 is frame-local, level k escapes to the caller
 * k frames up.
 *
 * What stays ambiguous: a function re-entered through the same call chain
 * with no event of the thread in between looks like one activation (a
 * block kept in a static and freed by the next call, from the same call
 * site, reads as frame-local when the free comes after the malloc in the
 * source).  When the free's line comes before the allocation's line in the
 * same function, the block crossed a loop's back edge or a return, and the
 * block is counted as ambiguous, not frame-local.  Recursion is told apart
 * by stack pointers: an activation at another depth has another sp.
 */
#ifndef LT_ANALYZER_CLASSIFY_H
#define LT_ANALYZER_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fate.h"
#include "model.h"
#include "symbols.h"

/* Escape levels counted one by one; deeper ones are added to the last. */
#define LT_CLASS_LEVELS 8

/* Thresholds of the derived classes (README "Escape classes"). */
#define LT_STACK_MAX_SIZE   1024   /* bytes: a stack candidate's size */
#define LT_STACK_MIN_SHARE  0.99   /* frame-local share of its blocks */
#define LT_STACK_MAX_LIVE   8      /* of its blocks live on one thread */
#define LT_POOL_MIN_CALLS   1000   /* calls of a pool candidate */
#define LT_POOL_MIN_REUSE   16     /* calls per block live at once */

/* Every number is a count of blocks (estimated in a sampled dump). */
struct lt_site_classes {
	const struct lt_site *site;
	double calls, temporary;
	double frame_local;
	double escapes[LT_CLASS_LEVELS + 1];   /* [k]: level k, k >= 1 */
	double escapes_far;        /* escaped its frame; level not shown */
	double after_main;         /* freed after main returned */
	double thread;             /* freed by another thread */
	double leaked;
	double moved;              /* realloc'd on (the chain went on) */
	double ambiguous;          /* freed above its malloc line: re-entry */
	double undecided;          /* free site does not reach the frames */
	double no_free_site;       /* freed with no free-site stack */
	double overflow;           /* facts beyond LT_FATE_MAX_KEYS */

	/* Names for the evidence: the function, or "module+0x..." without
	 * symbols; "" when there is no such frame.  The freers belong to the
	 * symbolizer and are NULL when unknown. */
	char function[160];        /* the allocating function (first shown) */
	char level_function[LT_CLASS_LEVELS + 1][160];   /* shown frame k */
	const char *local_freer;   /* freed the most frame-local blocks */
	bool local_by_callee;      /* ... a callee of function, not itself */
	const char *thread_freer;  /* freed the most blocks on other threads */
	int deepest_level;         /* highest level with blocks, 0 none */

	double chained;            /* first blocks of realloc chains */
	bool runtime_owned;        /* the C library's own (thread TLS, stdio) */

	/* Derived classes. */
	bool stack_candidate;
	bool pool_candidate;
	bool additive;
	uint64_t peak_live_blocks;
	const struct lt_site_fate *fate;   /* NULL when none */
};

struct lt_classifier;

/* A classifier over a replayed model and its fates (f may be NULL: no
 * escape classes then); NULL when out of memory.  sym must outlive it. */
struct lt_classifier *lt_classifier_new(const struct lt_model *m,
					const struct lt_fates *f,
					struct lt_symbolizer *sym);
void lt_classifier_free(struct lt_classifier *c);

/* Classify site s into *out.  Returns 0, or -1 when out of memory. */
int lt_classify_site(struct lt_classifier *c, const struct lt_site *s,
		     struct lt_site_classes *out);

/* True when s is the C or C++ runtime's own block, kept past exit and
 * reclaimed by the runtime (thread TLS, stdio buffers, libstdc++'s
 * emergency pool): not the program's leak. */
bool lt_classify_runtime_owned(struct lt_classifier *c, const struct lt_site *s);

/* True when the dump recorded free sites at all (LIBTRACE_FREE_DEPTH > 0
 * or some realloc): without them only "another thread" can be decided. */
bool lt_classifier_has_free_sites(const struct lt_classifier *c);

#endif /* LT_ANALYZER_CLASSIFY_H */
