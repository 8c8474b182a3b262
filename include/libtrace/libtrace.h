/*
 * libtrace's in-process API: the allocation counters of a traced process,
 * for tests that assert what code allocates, as Go's testing.AllocsPerRun
 * and dhat-rs's heap assertions do.  Header only: the counting happens in
 * libtrace.so, which the process must have loaded, preloaded
 * (LD_PRELOAD=libtrace.so) or linked (-ltrace, `pkg-config --libs
 * libtrace`).  Without it every call answers LT_UNAVAILABLE and nothing
 * breaks: the one symbol used is declared weak.
 *
 *     if (!lt_available())
 *             skip();                     // or fail: the test decides
 *     double n = LT_ALLOCS_PER_RUN(100, parse_line(buf, &rec));
 *     assert_true(n == 0);                // one warm-up call, then the mean
 *
 * Asking costs no allocation and does not slow the traced program: the
 * counters are the shim's own per-thread ones, summed on request.
 */
#ifndef LIBTRACE_LIBTRACE_H
#define LIBTRACE_LIBTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum lt_status {
	LT_OK = 0,            /* counting: the numbers are real */
	LT_UNAVAILABLE = 1,   /* libtrace.so is not loaded in this process */
	LT_DISABLED = 2,      /* loaded, but not recording: it turned itself
			       * off (see its stderr line) or the process is
			       * ending; the numbers would be stale */
};

typedef struct lt_stats {
	int status;                   /* enum lt_status; all else is 0 unless
				       * LT_OK */
	/*
	 * The whole process since tracing began (or since fork, in a child),
	 * counted as `libtrace report` counts them: exact.  allocations is
	 * every successful malloc, calloc, realloc, reallocarray,
	 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc; frees is
	 * every free of a non-NULL pointer.
	 */
	uint64_t allocations, frees, reallocs;
	uint64_t bytes_allocated;     /* sizes as asked for */
	/*
	 * Bytes in blocks allocated since tracing began and not yet freed,
	 * counted at their usable size (malloc_usable_size(): a malloc(100)
	 * counts 104 on glibc x86-64).  Exact in a process at rest; while
	 * other threads allocate, each thread's share is read as of its
	 * latest allocation or free.  Blocks from before tracing began (or
	 * before fork) are not counted, and the sum is never below 0.
	 */
	uint64_t live_bytes;
	/*
	 * The most live_bytes reached, as an upper bound: each thread keeps
	 * the peak of its own net allocations and the sum of those is given,
	 * since a process-wide peak would need a shared atomic on every
	 * allocation.  Exact when one thread does all the allocating and
	 * freeing (the usual unit test); never below the true peak.
	 */
	uint64_t peak_bytes;
	uint64_t threads_created;     /* pthread_create calls (main not one) */
	uint64_t threads_alive;       /* threads recording now, main included */
	/* The calling thread's own calls and bytes, exact. */
	uint64_t thread_allocations, thread_frees, thread_bytes_allocated;
} lt_stats_t;

/*
 * Defined by libtrace.so: fills the first size bytes of *out and returns
 * out->status.  Weak: NULL when libtrace.so is not loaded.  Call
 * lt_stats() instead.
 */
int lt_stats_read(lt_stats_t *out, size_t size) __attribute__((weak));

#if !defined(__PIC__) && !defined(__PIE__)
/* A non-PIE executable gets an undefined weak symbol bound to 0 when it
 * is linked, so LD_PRELOAD could never fill it in: such a program looks
 * the function up when it runs (dlsym is in libc from glibc 2.34 on;
 * older ones need -ldl). */
#include <dlfcn.h>
#define LT_STATS_LOOKUP_ 1
#endif

/* The counters now; .status says whether they mean anything. */
static inline lt_stats_t lt_stats(void)
{
	lt_stats_t s = { LT_UNAVAILABLE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	int (*read_fn)(lt_stats_t *, size_t) = lt_stats_read;

#ifdef LT_STATS_LOOKUP_
	static int (*found)(lt_stats_t *, size_t);
	if (!read_fn && !found) {
		void *sym = dlsym((void *)0 /* RTLD_DEFAULT */, "lt_stats_read");
		__builtin_memcpy(&found, &sym, sizeof(found));
	}
	if (!read_fn)
		read_fn = found;
#endif
	if (read_fn)
		s.status = read_fn(&s, sizeof(s));
	return s;
}

/* True when the counters are live (LT_OK). */
static inline int lt_available(void)
{
	return lt_stats().status == LT_OK;
}

/* What a status means, for a test's skip or failure message. */
static inline const char *lt_status_str(int status)
{
	switch (status) {
	case LT_OK:
		return "counting";
	case LT_UNAVAILABLE:
		return "libtrace.so is not loaded (run under "
		       "LD_PRELOAD=libtrace.so, `libtrace run`, or link with "
		       "-ltrace)";
	case LT_DISABLED:
		return "libtrace.so is loaded but not recording (it turned "
		       "itself off: see its line on stderr)";
	default:
		return "unknown libtrace status";
	}
}

/* What LT_ALLOCS_PER_RUN gives when it cannot count. */
#define LT_ALLOCS_UNAVAILABLE (-1.0)

/*
 * Run the statement once to warm up (first-use allocations: lazily
 * created buffers, stdio, libc's own caches), then runs times (at least
 * once), and give the mean number of allocation calls per run, as Go's
 * testing.AllocsPerRun does, but as a double, not rounded down: 0.01 means
 * one allocation in a hundred runs.  Allocations by every thread of the
 * process during the runs count, as in Go; a test with busy background
 * threads can compare lt_stats().thread_allocations instead.  Gives
 * LT_ALLOCS_UNAVAILABLE (negative) when the counters are not live.
 * The statement may contain commas; `break` and `continue` inside it act
 * on the macro's own loop.  Needs GNU C statement expressions (GCC,
 * Clang).
 */
#define LT_ALLOCS_PER_RUN(runs, ...) __extension__ ({                      \
	long lt_apr_runs_ = (long)(runs) > 0 ? (long)(runs) : 1;            \
	double lt_apr_mean_ = LT_ALLOCS_UNAVAILABLE;                        \
	if (lt_stats().status == LT_OK) {                                   \
		{ __VA_ARGS__; }                                            \
		uint64_t lt_apr_before_ = lt_stats().allocations;           \
		for (long lt_apr_i_ = 0; lt_apr_i_ < lt_apr_runs_; lt_apr_i_++) { \
			__VA_ARGS__;                                        \
		}                                                           \
		lt_stats_t lt_apr_after_ = lt_stats();                      \
		if (lt_apr_after_.status == LT_OK)                          \
			lt_apr_mean_ = (double)(lt_apr_after_.allocations - \
						lt_apr_before_) /           \
				       (double)lt_apr_runs_;                \
	}                                                                   \
	lt_apr_mean_;                                                       \
})

#ifdef __cplusplus
}
#endif

#endif /* LIBTRACE_LIBTRACE_H */
