/*
 * The event clock: one read per event, consistent across CPUs.  Invariant
 * TSC when the kernel itself trusts it as its clocksource, CLOCK_MONOTONIC
 * otherwise.  Never a syscall on the fast path.
 */
#ifndef LT_CLOCK_H
#define LT_CLOCK_H

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

static inline uint64_t lt_ticks(void)
{
#if defined(__x86_64__)
	if (lt_likely(lt_clock_kind == LT_CLOCK_TSC)) {
		uint32_t lo, hi;

		__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
		return ((uint64_t)hi << 32) | lo;
	}
#endif
	return lt_mono_ns();
}

#endif /* LT_CLOCK_H */
