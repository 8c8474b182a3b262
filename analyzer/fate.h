/*
 * What became of each block, gathered while the model replays (an
 * lt_record_fn observer): for every release, the facts an escape verdict
 * needs (which thread, the free site's stack, stack pointers compared, and
 * whether the thread's stack unwound past the allocating frame in
 * between), counted per allocation site; realloc chains followed per block;
 * how many blocks of a site were live at once.  Decides no class: it knows
 * no symbols (classify.c does).  Memory grows with live blocks, sites and
 * distinct facts per site, never with events.
 */
#ifndef LT_ANALYZER_FATE_H
#define LT_ANALYZER_FATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dump.h"
#include "model.h"

enum lt_fate_kind {
	LT_FATE_FREED = 1,   /* released by the thread that allocated it */
	LT_FATE_THREAD,      /* released by another thread */
	LT_FATE_MOVED,       /* realloc'd again: its chain went on */
	LT_FATE_LEAKED,      /* live at the end of the dump */
};

enum lt_fate_flags {
	/* Released by realloc or reallocarray (stack is the realloc's own,
	 * full-depth stack), not by free. */
	LT_FATE_BY_REALLOC   = 1u << 0,
	/* Between acquisition and release, another event of the thread ran
	 * with a stack pointer above the allocating call's: the allocating
	 * function had returned by then. */
	LT_FATE_W_ABOVE_ALLOC = 1u << 1,
	/* ... above the releasing call's stack pointer: the releasing
	 * function had returned in between (and was called again). */
	LT_FATE_W_ABOVE_FREE = 1u << 2,
	/* A stack pointer was missing (0) on either side: no sp facts. */
	LT_FATE_NO_SP        = 1u << 3,
	/* The fate of a realloc chain's first block, which realloc moved
	 * on: the chain ended (freed, or leaked) as this says. */
	LT_FATE_CHAIN        = 1u << 4,
};

/* The facts of one release; blocks with equal facts are counted together. */
struct lt_fate_key {
	uint32_t stack;      /* stack id of the releasing call (0: none) */
	uint8_t kind;        /* enum lt_fate_kind */
	int8_t sp_cmp;       /* sign of (releasing sp - allocating sp) */
	uint8_t flags;       /* enum lt_fate_flags */
	uint8_t reserved;
};

struct lt_fate_count {
	struct lt_fate_key key;
	uint64_t blocks, bytes;
	double est_blocks;   /* sampling estimate; = blocks when exact */
};

/* Distinct fact sets kept per site; more are counted in overflow. */
#define LT_FATE_MAX_KEYS 512

struct lt_site_fate {
	const struct lt_site *site;
	struct lt_fate_count *v;     /* distinct facts, unordered */
	size_t n, cap;
	uint64_t overflow;           /* blocks whose facts did not fit */
	double est_overflow;

	uint64_t live_blocks;        /* now (during the replay) */
	uint64_t peak_live_blocks;   /* most of this site's blocks live at once */
	uint64_t peak_live_per_thread;   /* ... held by one thread at once */

	/* realloc growth at this site (it is the realloc's call site) */
	uint64_t growth_steps;       /* reallocs here that made a block larger */
	uint64_t additive_steps;     /* ... in a chain found additive */
	uint64_t additive_chains;    /* chains found additive at a step here */
	uint64_t longest_chain;      /* growth steps of the longest such chain */
	uint64_t step_min, step_max; /* bytes added by the additive steps */
	uint64_t max_size_grown;     /* largest size such a chain reached */
};

/*
 * A growth step is small when it adds at most an eighth of the block's size
 * (new <= 1.125 * old); a chain is additive from its LT_FATE_SMALL_STEPS-th
 * small step on.  Geometric growth by a factor above 1.125 never takes a
 * small step.
 */
#define LT_FATE_SMALL_STEPS 8

struct lt_fates;

/* An observer for the dump d; NULL when out of memory. */
struct lt_fates *lt_fates_new(const struct lt_dump *d);
void lt_fates_free(struct lt_fates *f);

/* The observer to put in struct lt_model_hooks, with the fates as ctx,
 * and its prefetch hook. */
lt_record_fn lt_fates_observe;
lt_prefetch_fn lt_fates_prefetch;

/* After the replay: what is still live becomes LT_FATE_LEAKED.  Returns 0,
 * or -1 when memory ran out at any point (the counts are then partial). */
int lt_fates_finish(struct lt_fates *f);

/* The facts of site s, or NULL when it released nothing and holds nothing. */
const struct lt_site_fate *lt_fates_site(const struct lt_fates *f,
					 const struct lt_site *s);

#endif /* LT_ANALYZER_FATE_H */
