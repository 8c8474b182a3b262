/*
 * The process-wide table of interned stacks: each distinct call stack gets
 * an id and is written to the dump once.  Lock-free: lookups are loads,
 * insertion is one compare-and-swap on a slot; entries are immutable once
 * published, but for the dump that has seen their definition, and live
 * in the arena.  Never allocates with malloc.
 *
 * A stack is known by two 64-bit hashes of its frames, not by its frames:
 * they are in the dump, and the caller has them whenever a definition is
 * to be written.  An entry is 32 bytes whatever the depth, where one with
 * its frames took 24 + 8 per frame (cppcheck over four files: 165,000
 * stacks of 23 frames on average, 34 MB).  Two stacks are taken for one
 * only where both hashes agree: each step of each is a bijection of the
 * frame it adds, so stacks that differ in one frame never do, and others
 * only where two different 64-bit mixes of them both collide.
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

struct stack_entry {
	uint64_t         hash[2];
	uint32_t         id;
	uint32_t         depth;
	_Atomic uint32_t dump_gen;   /* the dump that has seen its definition */
	uint32_t         pad;
};

static _Atomic(struct stack_entry *) *slots;
static _Atomic uint32_t next_id = 1;
static _Atomic uint32_t stacks_gen = 1;      /* this dump's number */
static _Atomic uint64_t defined;

int lt_stacks_init(void)
{
	slots = lt_os_map(sizeof(*slots) * SLOT_COUNT);
	return slots ? 0 : -1;
}

void lt_stacks_new_dump(void)
{
	atomic_fetch_add(&stacks_gen, 1);
	atomic_store(&defined, 0);
}

uint64_t lt_stacks_defined(void)
{
	return atomic_load(&defined);
}

static inline uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static void hash_frames(const uint64_t *f, uint32_t n, uint64_t h[2])
{
	uint64_t a = 0x9e3779b97f4a7c15ull ^ n, b = 0x6a09e667f3bcc909ull + n;

	for (uint32_t i = 0; i < n; i++) {
		a ^= f[i];
		a *= 0xff51afd7ed558ccdull;
		a ^= a >> 32;
		b += f[i];
		b *= 0x94d049bb133111ebull;
		b ^= b >> 29;
	}
	h[0] = fmix64(a);
	h[1] = fmix64(b);
}

/* The thread that moves e->dump_gen to this dump's number writes e's
 * definition, before its own record uses it.  (Another thread that finds
 * e meanwhile may write a record with its id first, into its own buffer:
 * the analyzer takes definitions from anywhere in the dump.)  A failed
 * reserve leaves e marked defined, as it always did: the report then
 * counts the id's events under an undefined stack. */
static void use(struct stack_entry *e, const uint64_t *frames)
{
	uint32_t gen = atomic_load_explicit(&stacks_gen, memory_order_relaxed);
	uint32_t seen = atomic_load_explicit(&e->dump_gen, memory_order_relaxed);
	size_t len = sizeof(struct lt_rec_stack) + e->depth * sizeof(uint64_t);
	struct lt_rec_stack *r;

	if (lt_likely(seen == gen) ||
	    !atomic_compare_exchange_strong(&e->dump_gen, &seen, gen) ||
	    !(r = lt_reserve(&lt_self, len)))
		return;
	r->head = (struct lt_rec_head){ LT_REC_STACK, 0, (uint16_t)len, e->id };
	memcpy(r->frames, frames, e->depth * sizeof(uint64_t));
	lt_commit(&lt_self, len);
	atomic_fetch_add_explicit(&defined, 1, memory_order_relaxed);
}

uint32_t lt_stacks_intern(const uint64_t *frames, uint32_t n)
{
	uint64_t h[2];
	struct stack_entry *mine = NULL;

	hash_frames(frames, n, h);
	for (uint32_t i = 0, idx = (uint32_t)h[0] & (SLOT_COUNT - 1); i < SLOT_COUNT;
	     i++, idx = (idx + 1) & (SLOT_COUNT - 1)) {
		struct stack_entry *e = atomic_load_explicit(&slots[idx], memory_order_acquire);

		if (!e) {
			if (!mine) {
				if (atomic_load_explicit(&next_id, memory_order_relaxed) > SLOT_LIMIT)
					return LT_STACK_NONE;
				mine = lt_arena_alloc(sizeof(*mine));
				if (!mine)
					return LT_STACK_NONE;
				mine->hash[0] = h[0];
				mine->hash[1] = h[1];
				mine->depth = n;
				mine->id = atomic_fetch_add(&next_id, 1);
				atomic_store_explicit(&mine->dump_gen,
					atomic_load(&stacks_gen) - 1, memory_order_relaxed);
			}
			if (atomic_compare_exchange_strong_explicit(&slots[idx], &e, mine,
					memory_order_acq_rel, memory_order_acquire)) {
				use(mine, frames);
				return mine->id;
			}
			/* Lost the race for this slot: e is the winner; compare it. */
		}
		if (e->hash[0] == h[0] && e->hash[1] == h[1] && e->depth == n) {
			use(e, frames);   /* a lost "mine" stays in the arena, unused */
			return e->id;
		}
	}
	return LT_STACK_NONE;
}
