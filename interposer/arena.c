/*
 * The shim's own memory: private anonymous mappings, never malloc.  The
 * arena only grows; what the shim allocates lives until the process ends.
 * Used off the per-event path only (new stacks, new threads' buffers).
 */
#include <stdatomic.h>
#include <sys/mman.h>

#include "shim.h"

#define ARENA_CHUNK (4u << 20)

static atomic_flag arena_lock = ATOMIC_FLAG_INIT;
static char *arena_cur;
static char *arena_end;

void *lt_os_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *lt_arena_alloc(size_t size)
{
	void *p = NULL;

	size = (size + 15) & ~(size_t)15;
	if (size > ARENA_CHUNK / 4)
		return lt_os_map(size);

	while (atomic_flag_test_and_set_explicit(&arena_lock, memory_order_acquire))
		;
	if (!arena_cur || (size_t)(arena_end - arena_cur) < size) {
		char *fresh = lt_os_map(ARENA_CHUNK);

		if (fresh) {
			arena_cur = fresh;
			arena_end = fresh + ARENA_CHUNK;
		}
	}
	if (arena_cur && (size_t)(arena_end - arena_cur) >= size) {
		p = arena_cur;
		arena_cur += size;
	}
	atomic_flag_clear_explicit(&arena_lock, memory_order_release);
	return p;
}

void lt_arena_after_fork(void)
{
	/* The thread that held the lock is gone and may have left cur and end
	 * half-updated: start the child on a fresh chunk. */
	arena_cur = arena_end = NULL;
	atomic_flag_clear(&arena_lock);
}
