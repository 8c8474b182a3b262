/*
 * The blocks a sampled run recorded, so that only their frees are written.
 * With LIBTRACE_SAMPLE a few blocks in a thousand are recorded; writing
 * every free as well would cost nearly what an exact run costs.  A free is
 * written when its address is in this set, which the recorded allocation
 * put there before malloc returned it (so before any other thread could
 * free it).
 *
 * One process-wide open-addressing set of addresses, lock-free: insert
 * claims an empty or deleted slot with a CAS, removal marks the slot
 * deleted.  Slots never emptied again are counted; when three quarters are
 * used the set stops answering and every free is written from then on, as
 * an exact run does (the dump stays correct, only bigger).
 *
 * Nearly every free is of a block that was not sampled, and a probe of a
 * 2 MiB table misses the cache; so a 32 KiB array of counters, one per
 * page (modulo 128 MiB), answers "not sampled" first, from a line that
 * the frees before it on the same pages already brought into cache.
 */
#include <stdatomic.h>
#include <sys/mman.h>

#include "shim.h"

#define SET_BITS   18                   /* 2 MiB of address space */
#define SET_SLOTS  (1u << SET_BITS)
#define DELETED    1ull                 /* no block lives at address 1 */

uint64_t lt_count_below;
static _Atomic(_Atomic uint64_t *) set;
static _Atomic uint32_t used;           /* slots ever claimed from empty */
static _Atomic bool overflowed;
static _Atomic uint8_t hints[1u << LT_HINT_BITS];   /* sampled blocks per page */
static const _Atomic uint8_t hints_closed[1u << LT_HINT_BITS] = {
	[0 ... (1u << LT_HINT_BITS) - 1] = 255
};
_Atomic(const _Atomic uint8_t *) lt_free_hints = hints_closed;

static _Atomic uint64_t *table(void)
{
	_Atomic uint64_t *t = atomic_load_explicit(&set, memory_order_acquire);

	if (lt_likely(t))
		return t;
	_Atomic uint64_t *mine = lt_os_map(sizeof(uint64_t) * SET_SLOTS), *none = NULL;
	if (!mine)
		return NULL;
	if (atomic_compare_exchange_strong(&set, &none, mine))
		return mine;
	munmap((void *)mine, sizeof(uint64_t) * SET_SLOTS);
	return none;
}

static inline unsigned home(uint64_t p)
{
	return (unsigned)((p * 0x9e3779b97f4a7c15ull) >> (64 - SET_BITS));
}

/* By page, not by hash: frees come in runs over the same few pages, so
 * the counter they read is already in cache. */
static inline _Atomic uint8_t *hint(uint64_t p)
{
	return &hints[(p >> 12) & ((1u << LT_HINT_BITS) - 1)];
}

/* Counts one more or one fewer; a counter that reached 255 stays there. */
static void hint_add(_Atomic uint8_t *c, int delta)
{
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);

	while (v != 255 && !(delta < 0 && v == 0) &&
	       !atomic_compare_exchange_weak(c, &v, (uint8_t)(v + delta)))
		;
}

/* From now on every release is written: every page's counter says "maybe"
 * (lt_sampled_maybe reads only those), and then the flag says "yes".  A
 * thread that sees the flag (acquire) sees the counters too, and so does
 * any thread its blocks are handed to. */
static void overflow(void)
{
	if (atomic_load_explicit(&overflowed, memory_order_acquire))
		return;
	for (unsigned i = 0; i < (1u << LT_HINT_BITS); i++)
		atomic_store_explicit(&hints[i], 255, memory_order_relaxed);
	atomic_store_explicit(&overflowed, true, memory_order_release);
}

/*
 * free reads a page's hint before anything else, so the pages a free must
 * never only count get a hint that stays set: the page of NULL and those
 * of the start-up pool, whose blocks the real free never saw.
 */
void lt_sampled_init(void)
{
	if (!lt_opt.sample)
		return;
	atomic_store_explicit(hint(0), 255, memory_order_relaxed);
	for (uint64_t p = (uint64_t)(uintptr_t)lt_boot_pool & ~4095ull;
	     p < (uint64_t)(uintptr_t)(lt_boot_pool + LT_BOOT_POOL_BYTES); p += 4096)
		atomic_store_explicit(hint(p), 255, memory_order_relaxed);
	/* free's counting path reads glibc's chunk headers: another
	 * allocator's frees take the full path, which asks it. */
	if (lt_glibc_chunks)
		atomic_store_explicit(&lt_free_hints, hints, memory_order_release);
	lt_hooks_count_init();
	lt_count_below = lt_opt.sample;
}

void lt_sampled_add(void *ptr)
{
	_Atomic uint64_t *t = table();
	uint64_t p = (uint64_t)(uintptr_t)ptr;
	unsigned h = home(p);

	if (!t || atomic_load_explicit(&overflowed, memory_order_acquire)) {
		overflow();
		return;
	}
	for (unsigned i = 0; i < SET_SLOTS; i++) {
		_Atomic uint64_t *s = &t[(h + i) & (SET_SLOTS - 1)];
		uint64_t v = atomic_load_explicit(s, memory_order_relaxed);

		if (v == DELETED && atomic_compare_exchange_strong(s, &v, p)) {
			hint_add(hint(p), 1);
			return;
		}
		if (v == 0) {
			if (atomic_fetch_add(&used, 1) >= SET_SLOTS / 4 * 3)
				break;
			if (atomic_compare_exchange_strong(s, &v, p)) {
				hint_add(hint(p), 1);
				return;
			}
			atomic_fetch_sub(&used, 1);   /* lost the race: probe on */
		}
	}
	overflow();
}

bool lt_sampled_take(void *ptr)
{
	_Atomic uint64_t *t = atomic_load_explicit(&set, memory_order_acquire);
	uint64_t p = (uint64_t)(uintptr_t)ptr;
	unsigned h = home(p);

	if (lt_unlikely(atomic_load_explicit(&overflowed, memory_order_relaxed)))
		return true;
	if (!t || !atomic_load_explicit(hint(p), memory_order_relaxed))
		return false;
	for (unsigned i = 0; i < SET_SLOTS; i++) {
		_Atomic uint64_t *s = &t[(h + i) & (SET_SLOTS - 1)];
		uint64_t v = atomic_load_explicit(s, memory_order_relaxed);

		if (v == 0)
			return false;
		if (v == p) {
			if (!atomic_compare_exchange_strong(s, &v, DELETED))
				return false;
			hint_add(hint(p), -1);
			return true;
		}
	}
	return false;
}
