/*
 * The process-wide table of interned stacks: each distinct call stack gets
 * an id and is written to the dump once.  Lock-free: lookups are loads,
 * insertion is one compare-and-swap on a slot; entries are immutable once
 * published and live in the arena.  Never allocates with malloc.
 */
#include <string.h>

#include "shim.h"

/* 1 Mi slots, 8 MiB reserved.  Stacks land on random slots, so nearly
 * every page is touched once a program has a few thousand stacks: the
 * table's size is resident memory, not just address space.  Past 786,432
 * distinct stacks, new ones are recorded without a stack (LT_STACK_NONE). */
#define SLOT_BITS 20
#define SLOT_COUNT (1u << SLOT_BITS)
#define SLOT_LIMIT (SLOT_COUNT / 4 * 3)      /* keep probes short */

static _Atomic(struct stack_entry *) *slots;
static _Atomic uint32_t next_id = 1;
_Atomic uint32_t lt_stacks_gen = 1;
static _Atomic uint64_t defined;

int lt_stacks_init(void)
{
	slots = lt_os_map(sizeof(*slots) * SLOT_COUNT);
	return slots ? 0 : -1;
}

void lt_stacks_new_dump(void)
{
	atomic_fetch_add(&lt_stacks_gen, 1);
	atomic_store(&defined, 0);
}

uint64_t lt_stacks_defined(void)
{
	return atomic_load(&defined);
}

static uint64_t hash_frames(const uint64_t *f, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	for (uint32_t i = 0; i < n; i++) {
		h ^= f[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h | 1;
}

static void emit_definition(const struct stack_entry *e)
{
	size_t len = sizeof(struct lt_rec_stack) + e->depth * sizeof(uint64_t);
	struct lt_rec_stack *r = lt_reserve(&lt_self, len);

	if (!r)
		return;
	r->head = (struct lt_rec_head){ LT_REC_STACK, 0, (uint16_t)len, e->id };
	memcpy(r->frames, e->frames, e->depth * sizeof(uint64_t));
	lt_commit(&lt_self, len);
	atomic_fetch_add_explicit(&defined, 1, memory_order_relaxed);
}

/* lt_stacks_use() found that this dump (gen) has not defined e: the
 * thread that moves e->dump_gen from seen to gen writes the definition,
 * before the caller's record uses it. */
void lt_stacks_define(struct stack_entry *e, uint32_t seen, uint32_t gen)
{
	if (atomic_compare_exchange_strong(&e->dump_gen, &seen, gen))
		emit_definition(e);
}

uint32_t lt_stacks_intern(const uint64_t *frames, uint32_t n)
{
	const struct stack_entry *e = lt_stacks_intern_entry(frames, n);

	return e ? e->id : LT_STACK_NONE;
}

const struct stack_entry *lt_stacks_intern_entry(const uint64_t *frames, uint32_t n)
{
	uint64_t h = hash_frames(frames, n);
	struct stack_entry *mine = NULL;

	for (uint32_t i = 0, idx = (uint32_t)h & (SLOT_COUNT - 1); i < SLOT_COUNT;
	     i++, idx = (idx + 1) & (SLOT_COUNT - 1)) {
		struct stack_entry *e = atomic_load_explicit(&slots[idx], memory_order_acquire);

		if (!e) {
			if (!mine) {
				if (atomic_load_explicit(&next_id, memory_order_relaxed) > SLOT_LIMIT)
					return NULL;
				mine = lt_arena_alloc(sizeof(*mine) + n * sizeof(uint64_t));
				if (!mine)
					return NULL;
				mine->hash = h;
				mine->depth = n;
				memcpy(mine->frames, frames, n * sizeof(uint64_t));
				mine->id = atomic_fetch_add(&next_id, 1);
				atomic_store_explicit(&mine->dump_gen,
					atomic_load(&lt_stacks_gen) - 1, memory_order_relaxed);
			}
			if (atomic_compare_exchange_strong_explicit(&slots[idx], &e, mine,
					memory_order_acq_rel, memory_order_acquire)) {
				lt_stacks_use(mine);
				return mine;
			}
			/* Lost the race for this slot: e is the winner; compare it. */
		}
		if (e->hash == h && e->depth == n &&
		    !memcmp(e->frames, frames, n * sizeof(uint64_t))) {
			lt_stacks_use(e);   /* a lost "mine" stays in the arena, unused */
			return e;
		}
	}
	return NULL;
}
