/*
 * The in-process API (include/libtrace/libtrace.h) against what this
 * program itself does: exact counts under the shim, LT_UNAVAILABLE without
 * it, LT_DISABLED when the shim turned itself off.
 *
 *   api_test ok|unavailable|disabled
 *
 * "ok" holds with LIBTRACE_SAMPLE too: the counters count every call.
 *
 * Prints one line per failed expectation and exits 1 if any; built with
 * -fno-builtin so the compiler keeps every malloc/free pair it is shown.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libtrace/libtrace.h>

static int failures;

#define expect(cond, ...) do {                                              \
	if (!(cond)) {                                                      \
		printf("api_test: %s: ", #cond);                            \
		printf(__VA_ARGS__);                                        \
		printf("\n");                                               \
		failures++;                                                 \
	}                                                                   \
} while (0)

static __attribute__((noinline)) long no_alloc(long x)
{
	return x * 3 + 1;
}

/* Allocates on every other call: 0.5 per run. */
static __attribute__((noinline)) void every_other(void)
{
	static int n;

	if (n++ % 2)
		free(malloc(8));
}

static void *worker(void *arg)
{
	for (int i = 0; i < 10; i++)
		free(malloc(16));
	return arg;
}

static void check_counting(void)
{
	lt_stats_t a, b, c;
	void *p, *q;
	size_t usable;
	double n;
	pthread_t t;

	a = lt_stats();
	p = malloc(100);
	b = lt_stats();
	usable = malloc_usable_size(p);
	expect(b.allocations == a.allocations + 1, "%llu -> %llu",
	       (unsigned long long)a.allocations, (unsigned long long)b.allocations);
	expect(b.bytes_allocated == a.bytes_allocated + 100, "+%llu",
	       (unsigned long long)(b.bytes_allocated - a.bytes_allocated));
	expect(b.live_bytes == a.live_bytes + usable, "live %llu -> %llu, usable %zu",
	       (unsigned long long)a.live_bytes, (unsigned long long)b.live_bytes,
	       usable);
	expect(b.peak_bytes >= b.live_bytes, "peak %llu < live %llu",
	       (unsigned long long)b.peak_bytes, (unsigned long long)b.live_bytes);
	expect(b.thread_allocations == a.thread_allocations + 1, "thread +%llu",
	       (unsigned long long)(b.thread_allocations - a.thread_allocations));
	q = realloc(p, 5000);
	free(q);
	c = lt_stats();
	expect(c.allocations == b.allocations + 1, "realloc counts once: +%llu",
	       (unsigned long long)(c.allocations - b.allocations));
	expect(c.reallocs == b.reallocs + 1, "reallocs +%llu",
	       (unsigned long long)(c.reallocs - b.reallocs));
	expect(c.frees == b.frees + 1, "frees +%llu",
	       (unsigned long long)(c.frees - b.frees));
	expect(c.live_bytes == a.live_bytes, "live back to %llu, is %llu",
	       (unsigned long long)a.live_bytes, (unsigned long long)c.live_bytes);
	expect(c.peak_bytes >= a.live_bytes + 5000, "peak %llu saw the 5000",
	       (unsigned long long)c.peak_bytes);
	expect(c.threads_alive == 1, "threads alive %llu",
	       (unsigned long long)c.threads_alive);

	/* realloc(NULL, n) is an allocation made by realloc. */
	void *volatile none = NULL;
	q = realloc(none, 40);
	b = lt_stats();
	usable = q ? malloc_usable_size(q) : 0;
	expect(b.allocations == c.allocations + 1 && b.reallocs == c.reallocs + 1,
	       "realloc(NULL, 40): allocations +%llu, reallocs +%llu",
	       (unsigned long long)(b.allocations - c.allocations),
	       (unsigned long long)(b.reallocs - c.reallocs));
	expect(b.live_bytes == c.live_bytes + usable, "realloc(NULL, 40): live +%lld, usable %zu",
	       (long long)(b.live_bytes - c.live_bytes), usable);
	free(q);

	n = LT_ALLOCS_PER_RUN(100, free(malloc(32)));
	expect(n == 1.0, "free(malloc(32)) per run: %g", n);
	n = LT_ALLOCS_PER_RUN(100, no_alloc(n > 0 ? 2 : 3));
	expect(n == 0.0, "no_alloc per run: %g", n);
	n = LT_ALLOCS_PER_RUN(50, { void *x = malloc(1), *y = realloc(x, 300); free(y); });
	expect(n == 2.0, "malloc + realloc per run: %g", n);
	n = LT_ALLOCS_PER_RUN(100, every_other());
	expect(n == 0.5, "every other call: %g", n);
	n = LT_ALLOCS_PER_RUN(0, free(malloc(1)));
	expect(n == 1.0, "runs 0 is taken as 1: %g", n);

	a = lt_stats();
	if (pthread_create(&t, NULL, worker, NULL) == 0)
		pthread_join(t, NULL);
	b = lt_stats();
	expect(b.threads_created == a.threads_created + 1, "threads created +%llu",
	       (unsigned long long)(b.threads_created - a.threads_created));
	/* The worker's 10, plus what glibc allocates for a new thread. */
	expect(b.allocations >= a.allocations + 10, "allocations +%llu",
	       (unsigned long long)(b.allocations - a.allocations));
	expect(b.thread_allocations == a.thread_allocations ||
	       b.thread_allocations == a.thread_allocations + 1,
	       "main's own +%llu (only glibc's thread block may count)",
	       (unsigned long long)(b.thread_allocations - a.thread_allocations));
}

/*
 * live_bytes moves by each block's malloc_usable_size(), which the shim
 * reads off glibc's chunk header instead of calling it: blocks of every
 * kind and size class, including mmapped and aligned ones, and frees.
 * Each mmapped block freed raises glibc's mmap threshold to its size, up
 * to 32 MiB: only the last size is mmapped for every kind (the last kind
 * resizes one such block).
 */
static void check_usable(void)
{
	static const size_t sizes[] = { 1, 8, 24, 25, 100, 1000, 4096, 70000, 200000, 3u << 20,
					40u << 20 };
	enum { KINDS = 6 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int k = 0; k < KINDS; k++) {
			lt_stats_t a = lt_stats(), b, c;
			void *p = NULL;

			switch (k) {
			case 0: p = malloc(sizes[i]); break;
			case 1: p = calloc(1, sizes[i]); break;
			case 2: p = memalign(4096, sizes[i]); break;
			case 3: if (posix_memalign(&p, 64, sizes[i])) p = NULL; break;
			case 4: p = realloc(malloc(16), sizes[i]); break;
			case 5: p = realloc(malloc(40u << 20), sizes[i]); break;
			}
			b = lt_stats();
			if (!p)
				continue;
			size_t usable = malloc_usable_size(p);

			expect(b.live_bytes == a.live_bytes + usable,
			       "kind %d, %zu bytes: live +%lld, usable %zu", k, sizes[i],
			       (long long)(b.live_bytes - a.live_bytes), usable);
			free(p);
			c = lt_stats();
			expect(c.live_bytes == a.live_bytes, "kind %d, %zu bytes: freed, live %+lld",
			       k, sizes[i], (long long)(c.live_bytes - a.live_bytes));
		}
	}
}

/*
 * The shim's start-up check of glibc's chunk headers frees blocks, and
 * freeing an mmapped chunk under 32 MiB raises glibc's mmap threshold for
 * the rest of the run: a 200,000-byte block must still be mmapped (glibc's
 * default threshold is 128 KiB).  Not asked of another allocator.
 */
static void check_thresholds(void)
{
	void *p;

	if (dlsym(RTLD_DEFAULT, "mallctl") || getenv("MALLOC_MMAP_THRESHOLD_"))
		return;
	p = malloc(200000);
	expect(p && (((size_t *)p)[-1] & 2), "a 200,000-byte block is not mmapped: "
	       "glibc's mmap threshold moved (header %#zx)", p ? ((size_t *)p)[-1] : 0);
	free(p);
}

int main(int argc, char **argv)
{
	const char *want = argc > 1 ? argv[1] : "ok";
	lt_stats_t s = lt_stats();

	if (!strcmp(want, "ok")) {
		expect(s.status == LT_OK, "status %d: %s", s.status,
		       lt_status_str(s.status));
		if (s.status == LT_OK) {
			check_thresholds();
			check_counting();
			check_usable();
		}
	} else {
		int st = !strcmp(want, "disabled") ? LT_DISABLED : LT_UNAVAILABLE;
		double n = LT_ALLOCS_PER_RUN(10, free(malloc(1)));
		expect(s.status == st, "status %d, want %d", s.status, st);
		expect(s.allocations == 0 && s.live_bytes == 0, "counts are 0");
		expect(n == LT_ALLOCS_UNAVAILABLE, "per run %g", n);
		expect(!lt_available(), "lt_available() is false");
		expect(strstr(lt_status_str(s.status), "libtrace.so") != NULL,
		       "the status says what is wrong: %s", lt_status_str(s.status));
	}
	if (failures == 0)
		printf("api_test: %s: all expectations hold\n", want);
	return failures ? 1 : 0;
}
