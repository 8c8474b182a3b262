/*
 * Preloaded before the shim: counts its unw_backtrace calls, and writes the
 * count to $COUNT_UNWIND_OUT at exit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static int (*real_backtrace)(void **, int);
static atomic_ulong calls;

int unw_backtrace(void **buffer, int size)
{
	if (!real_backtrace)
		real_backtrace = (int (*)(void **, int))dlsym(RTLD_NEXT, "unw_backtrace");
	atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	return real_backtrace ? real_backtrace(buffer, size) : 0;
}

__attribute__((destructor)) static void write_count(void)
{
	const char *path = getenv("COUNT_UNWIND_OUT");
	FILE *f = path ? fopen(path, "w") : NULL;

	if (f) {
		fprintf(f, "%lu\n", (unsigned long)atomic_load(&calls));
		fclose(f);
	}
}
