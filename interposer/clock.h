/*
 * The event clock: one read per event, consistent across CPUs.  Invariant
 * TSC when the kernel itself trusts it as its clocksource, CLOCK_MONOTONIC
 * otherwise.  Never a syscall on the fast path.
 */
#ifndef LT_CLOCK_H
#define LT_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

LT_HIDDEN extern int lt_clock_kind;   /* enum lt_clock */
LT_HIDDEN void lt_clock_init(void);

static inline uint64_t lt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The TSC, or CLOCK_MONOTONIC where the kernel does not trust it. */
static inline __attribute__((always_inline)) uint64_t lt_clock_read(bool fenced)
{
#if defined(__x86_64__)
	if (lt_likely(lt_clock_kind == LT_CLOCK_TSC)) {
		uint32_t lo, hi;

		if (fenced)
			__asm__ __volatile__("lfence" ::: "memory");
		__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
		return ((uint64_t)hi << 32) | lo;
	}
#endif
	(void)fenced;
	return lt_mono_ns();
}

/*
 * After a block is acquired: lfence keeps rdtsc from running ahead of the
 * loads that found the block free, so the time is after its last release.
 * Read as soon as the allocator returns, before the stack is captured: the
 * fence then waits for the allocator's few loads only, not for the stack
 * cache's, which are often misses (1.2 ns a call less on the
 * micro-benchmark at depth 8: 44.4 -> 43.2 ns, 11 rounds).  Leaving the
 * fence out while a single thread records saved another 2.8 ns there, but
 * only for one thread, so two threads' time over one thread's rose to
 * 0.55-0.63 (bench run 18); it was not kept.
 */
static inline uint64_t lt_ticks(void)
{
	return lt_clock_read(true);
}

/*
 * Before a block is released: rdtsc alone.  It may run early, which only
 * makes the time earlier; it cannot run late, since the release's stores
 * become visible to another thread only after they retire, behind it.
 * The fence cost 10 ns of the 19 a read takes here, a tenth of what the
 * shim adds to a malloc/free pair.
 */
static inline uint64_t lt_ticks_release(void)
{
	return lt_clock_read(false);
}

#endif /* LT_CLOCK_H */
