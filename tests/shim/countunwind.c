/*
 * Preloaded before the shim: counts its unw_backtrace calls, and writes the
 * count to $COUNT_UNWIND_OUT at exit, and how many threads made them to
 * $COUNT_UNWIND_THREADS_OUT.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static int (*real_backtrace)(void **, int);
static atomic_ulong calls, threads;
static __thread int counted;

int unw_backtrace(void **buffer, int size)
{
	if (!real_backtrace)
		real_backtrace = (int (*)(void **, int))dlsym(RTLD_NEXT, "unw_backtrace");
	atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	if (!counted) {
		counted = 1;
		atomic_fetch_add_explicit(&threads, 1, memory_order_relaxed);
	}
	return real_backtrace ? real_backtrace(buffer, size) : 0;
}

static void write_to(const char *var, unsigned long n)
{
	const char *path = getenv(var);
	FILE *f = path ? fopen(path, "w") : NULL;

	if (f) {
		fprintf(f, "%lu\n", n);
		fclose(f);
	}
}

__attribute__((destructor)) static void write_count(void)
{
	write_to("COUNT_UNWIND_OUT", atomic_load(&calls));
	write_to("COUNT_UNWIND_THREADS_OUT", atomic_load(&threads));
}
