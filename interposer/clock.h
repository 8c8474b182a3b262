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

/* After a block is acquired: lfence keeps rdtsc from running ahead of the
 * loads that found the block free, so the time is after its last release. */
static inline uint64_t lt_ticks(void)
{
	return lt_clock_read(true);
}

/*
 * Set when a second thread begins recording, and never cleared.  Until
 * then the process has one recording thread, whose events the analyzer
 * replays in the order they were written, not by their times: no release
 * by another thread can precede an acquisition, and the fence buys nothing.
 */
LT_HIDDEN extern _Atomic bool lt_threads_many;

/*
 * The time of an allocation, read after the stack capture: lt_ticks() once
 * the process has had a second recording thread, rdtsc alone before.  A
 * block another thread released reached this one through the allocator's
 * own synchronization, which happened after that thread set the flag (it
 * begins before it records), so this load sees the flag set.  The fence
 * is a tenth of the shim's cost on a single-threaded program's hot path
 * (8 ns of a cppcheck run's 65 per call).
 */
static inline uint64_t lt_ticks_acquired(void)
{
	return lt_clock_read(atomic_load_explicit(&lt_threads_many, memory_order_relaxed));
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
