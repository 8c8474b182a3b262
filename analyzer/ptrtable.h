/*
 * Live blocks by address: open addressing, linear probing, removal by
 * shifting the probe run back (no tombstones).  The replay keeps one (the
 * model's live heap) and the escape observer another (fate.c), each with
 * its own element type; LT_PTR_TABLE(name, type, key) defines the table and
 * its functions for a type whose key, the uint64_t that key(const type *)
 * returns, is the block's address, 0 in an empty slot (all-zero bytes).
 *
 *   struct name       { type *slots; size_t cap, count; }
 *   name_find(t, ptr)     the element for ptr, or NULL (never for ptr 0)
 *   name_probe(t, ptr)    the element for ptr, or the empty slot for it
 *   name_put(t, gap, elem)  into that empty slot; 0, or -1 out of memory
 *   name_reserve(t, n)    room for n without growing; 0, or -1 out of memory
 *   name_insert(t, elem)  key(elem) must not be in t; 0, or -1 out of memory
 *   name_remove(t, elem)  elem points into t->slots
 *   name_free(t)          give the slots back; t is empty again
 *
 * Iterate with: for (i = 0; t->slots && i < t->cap; i++) if (key(&slots[i]))
 */
#ifndef LT_ANALYZER_PTRTABLE_H
#define LT_ANALYZER_PTRTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Zeroed memory for a table.  Probes land at random, so a table of tens of
 * megabytes misses the TLB on nearly every one with 4 KiB pages: a large
 * table asks for transparent huge pages (where the system gives them only
 * on request, as Debian's does by default).
 */
#define LT_PTR_TABLE_HUGE (2u << 20)

static inline void *lt_ptr_table_alloc(size_t bytes)
{
	size_t pad = LT_PTR_TABLE_HUGE, head;
	uint8_t *p;

	if (bytes < 2 * LT_PTR_TABLE_HUGE)
		return calloc(1, bytes);
	/* Fresh pages are zero: map, then trim to a 2 MiB boundary. */
	p = mmap(NULL, bytes + pad, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	head = (pad - ((uintptr_t)p & (pad - 1))) & (pad - 1);
	if (head)
		munmap(p, head);
	if (pad - head)
		munmap(p + head + bytes, pad - head);
	madvise(p + head, bytes, MADV_HUGEPAGE);
	return p + head;
}

/*
 * How big a table reserve() may make for the room it buys.  Removing a
 * block shifts the rest of its probe run back, rehashing each element on
 * the way, and runs grow fast with the load: at two thirds full an absent
 * key's run is about five slots, at a third under two.  On dumps whose
 * table fits in the caches that work is most of the replay (4- and
 * 16-thread C++ programs, 2-3 MiB tables at two thirds: 192 -> 153 and
 * 240 -> 183 ms of lt_model_build).  Past the caches each probe waits on
 * memory more than on the run, and the room only costs memory: the bench's
 * CPython dump (494,000 blocks at the bound) gets 16 MiB instead of 11
 * and 5 MiB more resident for a report of 84-87 ms instead of 94, where
 * the full third (24 MiB) took as long as 16.
 */
#define LT_PTR_TABLE_SLACK (16u << 20)

/* Give back what lt_ptr_table_alloc(bytes) returned. */
static inline void lt_ptr_table_free(void *p, size_t bytes)
{
	if (bytes < 2 * LT_PTR_TABLE_HUGE)
		free(p);
	else if (p)
		munmap(p, bytes);
}

#define LT_PTR_TABLE(name, type, key)                                         \
struct name {                                                                 \
	type *slots;                                                          \
	size_t cap;               /* slots; any size, not a power of two */   \
	size_t count;                                                         \
};                                                                            \
                                                                              \
/* Blocks are 16-byte aligned: drop the zero bits, mix, and scale the high   \
 * bits to [0, cap) (Lemire's multiply-shift, so cap can fit the need). */   \
static inline size_t name##_hash(const struct name *t, uint64_t ptr)         \
{                                                                             \
	uint64_t h = (ptr >> 4) * 0x9e3779b97f4a7c15ull;                      \
	return (size_t)(((unsigned __int128)h * t->cap) >> 64);               \
}                                                                             \
                                                                              \
static inline size_t name##_next(const struct name *t, size_t i)             \
{                                                                             \
	return ++i == t->cap ? 0 : i;                                         \
}                                                                             \
                                                                              \
/* The slot holding ptr, or the empty one that ends its probe run (where   \
 * name_put puts it).  t->slots must not be NULL, nor ptr 0. */              \
static inline type *name##_probe(const struct name *t, uint64_t ptr)         \
{                                                                             \
	for (size_t i = name##_hash(t, ptr);; i = name##_next(t, i)) {        \
		uint64_t k = key(&t->slots[i]);                               \
		if (k == ptr || k == 0)                                       \
			return &t->slots[i];                                  \
	}                                                                     \
}                                                                             \
                                                                              \
static inline type *name##_find(const struct name *t, uint64_t ptr)          \
{                                                                             \
	type *e;                                                              \
                                                                              \
	if (!t->slots || !ptr)                                                \
		return NULL;                                                  \
	e = name##_probe(t, ptr);                                             \
	return key(e) ? e : NULL;                                             \
}                                                                             \
                                                                              \
static inline void name##_free(struct name *t)                               \
{                                                                             \
	if (t->slots)                                                         \
		lt_ptr_table_free(t->slots, t->cap * sizeof(*t->slots));      \
	t->slots = NULL;                                                      \
	t->cap = t->count = 0;                                                \
}                                                                             \
                                                                              \
/* Move t's elements into a table of ncap slots (ncap > count / 0.7). */      \
static int name##_rehash(struct name *t, size_t ncap)                         \
{                                                                             \
	struct name n = { lt_ptr_table_alloc(ncap * sizeof(*n.slots)),       \
			  ncap, 0 };                                          \
                                                                              \
	if (!n.slots)                                                         \
		return -1;                                                    \
	for (size_t i = 0; t->slots && i < t->cap; i++) {                     \
		size_t j;                                                     \
		if (!key(&t->slots[i]))                                       \
			continue;                                             \
		for (j = name##_hash(&n, key(&t->slots[i]));                  \
		     key(&n.slots[j]); j = name##_next(&n, j))                \
			;                                                     \
		n.slots[j] = t->slots[i];                                     \
		n.count++;                                                    \
	}                                                                     \
	name##_free(t);                                                       \
	*t = n;                                                               \
	return 0;                                                             \
}                                                                             \
                                                                              \
/* Room for n elements without growing (a sizing hint); 0 or -1.  At     \
 * most a third full at n while that costs LT_PTR_TABLE_SLACK bytes or     \
 * less, never more than two thirds. */                                     \
static inline int name##_reserve(struct name *t, size_t n)                   \
{                                                                             \
	size_t need = n + n / 2 + 1, roomy = 3 * n + 1;                       \
                                                                              \
	if (n > SIZE_MAX / 4 / sizeof(type))                                  \
		return 0;                                                     \
	if (roomy > LT_PTR_TABLE_SLACK / sizeof(type))                        \
		roomy = LT_PTR_TABLE_SLACK / sizeof(type);                    \
	if (roomy > need)                                                     \
		need = roomy;                                                 \
	if (need <= t->cap)                                                   \
		return 0;                                                     \
	return name##_rehash(t, need < 1024 ? 1024 : need);                   \
}                                                                             \
                                                                              \
static inline int name##_insert(struct name *t, const type *b)               \
{                                                                             \
	size_t i;                                                             \
                                                                              \
	if ((t->count + 1) * 10 > t->cap * 7)                                 \
		if (name##_rehash(t, t->cap ? t->cap * 2 : 1024) < 0)         \
			return -1;                                            \
	for (i = name##_hash(t, key(b)); key(&t->slots[i]);                   \
	     i = name##_next(t, i))                                           \
		;                                                             \
	t->slots[i] = *b;                                                     \
	t->count++;                                                           \
	return 0;                                                             \
}                                                                             \
                                                                              \
/* Puts elem into gap: the empty slot name_probe gave for its key, t not    \
 * changed since.  0, or -1 out of memory. */                                \
static inline int name##_put(struct name *t, type *gap, const type *b)       \
{                                                                             \
	if ((t->count + 1) * 10 > t->cap * 7)                                 \
		return name##_insert(t, b);                                   \
	*gap = *b;                                                            \
	t->count++;                                                           \
	return 0;                                                             \
}                                                                             \
                                                                              \
static inline void name##_remove(struct name *t, type *b)                    \
{                                                                             \
	size_t i = (size_t)(b - t->slots);                                    \
                                                                              \
	for (size_t j = name##_next(t, i); key(&t->slots[j]);                 \
	     j = name##_next(t, j)) {                                         \
		size_t home = name##_hash(t, key(&t->slots[j]));              \
		/* Move j into the hole at i unless its home lies in (i, j]. */ \
		bool stays = i <= j ? (home > i && home <= j)                 \
				    : (home > i || home <= j);                \
		if (!stays) {                                                 \
			t->slots[i] = t->slots[j];                            \
			i = j;                                                \
		}                                                             \
	}                                                                     \
	memset(&t->slots[i], 0, sizeof(t->slots[i]));                         \
	t->count--;                                                           \
}

#endif /* LT_ANALYZER_PTRTABLE_H */
