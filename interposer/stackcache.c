/*
 * A per-thread cache of call stacks, validated against the stack itself.
 * Hot paths call malloc from the same call site at the same stack depth
 * again and again; when the return address, the caller's stack pointer and
 * every saved return address on the stack are what they were, the stack is
 * the same and need not be unwound again.  An entry remembers where each
 * return address lives (from a full unwind), so checking it is a handful of
 * loads.  Per thread, so no locks; never allocates with malloc.
 */
#include <string.h>

#include "shim.h"

#define CACHE_WAYS   128     /* entries per kind, direct-mapped */
#define CACHE_DEPTH  64      /* deeper stacks are unwound every time */

struct cache_entry {
	uint64_t ret;
	uint64_t sp;
	uint32_t depth;                        /* the depth asked for */
	uint32_t n;                            /* frames in the stack */
	uint32_t gen;                          /* the buffer's owner made it */
	uint32_t pad;
	const struct stack_entry *stack;
	uint64_t slots[CACHE_DEPTH];           /* where frames[i] lives */
};

struct lt_stack_cache {
	struct cache_entry e[2][CACHE_WAYS];
};

static inline unsigned way_of(uint64_t ret, uint64_t sp)
{
	uint64_t h = (ret ^ (sp << 7)) * 0x9e3779b97f4a7c15ull;

	return (unsigned)(h >> 57) & (CACHE_WAYS - 1);
}

static bool still_valid(const struct cache_entry *c)
{
	uint32_t n;
	const uint64_t *frames = lt_stacks_frames(c->stack, &n);

	for (uint32_t i = 1; i < c->n; i++)
		if (*(const volatile uint64_t *)(uintptr_t)c->slots[i] != frames[i])
			return false;
	return true;
}

int lt_stack_cached(struct lt_buf *b, int kind, void *ret, uint64_t sp,
		    uint32_t depth, uint32_t *id)
{
	uint64_t frames[CACHE_DEPTH], slots[CACHE_DEPTH];
	uint64_t r = (uint64_t)(uintptr_t)ret;

	if (depth > CACHE_DEPTH)
		return -1;
	if (lt_unlikely(!b->cache)) {
		b->cache = lt_os_map(sizeof(*b->cache));
		if (!b->cache)
			return -1;
	}
	struct cache_entry *c = &b->cache->e[kind][way_of(r, sp)];

	if (c->ret == r && c->sp == sp && c->depth == depth && c->gen == b->cache_gen &&
	    still_valid(c)) {
		*id = lt_stacks_use(c->stack);
		return 0;
	}

	uint32_t n = lt_unwind_slots(ret, frames, slots, depth);
	if (!n)
		return -1;
	const struct stack_entry *e = lt_stacks_intern_entry(frames, n);
	if (!e) {
		*id = LT_STACK_NONE;
		return 0;
	}
	/* Only an unwind that agrees with the wrapper about where the call
	 * came from can be trusted to check later. */
	if (slots[0] + sizeof(uint64_t) == sp) {
		c->ret = r;
		c->sp = sp;
		c->depth = depth;
		c->n = n;
		c->gen = b->cache_gen;
		c->stack = e;
		memcpy(c->slots, slots, n * sizeof(uint64_t));
	}
	*id = lt_stacks_use(e);
	return 0;
}
