/*
 * Allocation micro-benchmark: THREADS threads share CALLS malloc/free calls
 * (a call is one malloc or one free), each made at call depth DEPTH through
 * one of PATHS call paths, and the program times its own allocation phase
 * with CLOCK_MONOTONIC.  It measures; it never decides whether a figure is
 * good (bench/run.py compares).
 *
 *   micro THREADS CALLS DEPTH [PATHS]     PATHS: 1, 2, 4, 8 or 16 (default 1)
 *
 * Prints one line:
 *   micro threads=T depth=D paths=P calls=N phase_ns=W ns_per_call=X
 * calls is what the threads counted themselves; phase_ns runs from the
 * earliest thread's first call to the last thread's last call; ns_per_call
 * is phase_ns * T / calls, the time one call takes as seen by its thread.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One cache line each: counters of two threads must not share one. */
struct worker {
	_Alignas(64) pthread_t tid;
	uint64_t pairs;         /* malloc/free pairs to make */
	uint64_t calls;         /* malloc and free calls made, counted here */
	uint64_t start_ns, end_ns;
	unsigned depth;
	unsigned path_bits;     /* log2(PATHS) */
};

static pthread_barrier_t start_line;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The bottom of the descent: one malloc and one free.  The block is written
 * and read so the pair cannot be optimised away.
 */
__attribute__((noinline)) static int alloc_pair(struct worker *w, uint64_t i)
{
	size_t size = 16 + ((i * 37) & 511);
	volatile char *p = malloc(size);

	if (!p) {
		fprintf(stderr, "micro: malloc(%zu) failed\n", size);
		exit(1);
	}
	p[0] = (char)i;
	p[size - 1] = (char)(i >> 8);
	int r = p[0] + p[size - 1];
	free((void *)p);
	w->calls += 2;
	return r;
}

static int step_a(struct worker *w, unsigned d, uint64_t i);
static int step_b(struct worker *w, unsigned d, uint64_t i);

/*
 * Two functions, chosen at each level by a bit of the iteration's path
 * number, give PATHS distinct call paths of the same depth that end in the
 * same call site at the same stack pointer, taken in turn: the hot loop of a
 * real program where one allocating helper is reached from several callers.
 * The "+ d" after each call keeps every frame (no tail calls).
 */
static inline int go_b(const struct worker *w, unsigned d, uint64_t i)
{
	if (w->path_bits == 0)
		return 0;
	unsigned path = (unsigned)(i & ((1u << w->path_bits) - 1));

	return (path >> (d % w->path_bits)) & 1;
}

__attribute__((noinline)) static int step_a(struct worker *w, unsigned d, uint64_t i)
{
	if (d == 0)
		return alloc_pair(w, i);
	int r = go_b(w, d, i) ? step_b(w, d - 1, i) : step_a(w, d - 1, i);
	__asm__ volatile("" : "+r"(r));
	return r + (int)d;
}

__attribute__((noinline)) static int step_b(struct worker *w, unsigned d, uint64_t i)
{
	if (d == 0)
		return alloc_pair(w, i);
	int r = go_b(w, d, i) ? step_a(w, d - 1, i) : step_b(w, d - 1, i);
	__asm__ volatile("" : "+r"(r));
	return r - (int)d;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int sink = 0;

	pthread_barrier_wait(&start_line);
	w->start_ns = now_ns();
	/* malloc is called from depth w->depth: alloc_pair, depth - 2 step_*
	 * frames, and worker_main (main, or libc's thread start, above it). */
	for (uint64_t i = 0; i < w->pairs; i++)
		sink += step_a(w, w->depth - 3, i);
	w->end_ns = now_ns();
	__asm__ volatile("" : : "r"(sink));
	return NULL;
}

static unsigned long long parse(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0) {
		fprintf(stderr, "micro: %s must be a positive integer, not '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: micro THREADS CALLS DEPTH [PATHS]\n");
		return 2;
	}
	unsigned threads = (unsigned)parse(argv[1], "THREADS");
	uint64_t calls = parse(argv[2], "CALLS");
	unsigned depth = (unsigned)parse(argv[3], "DEPTH");
	unsigned paths = argc == 5 ? (unsigned)parse(argv[4], "PATHS") : 1;
	unsigned path_bits = 0;
	while ((1u << path_bits) < paths)
		path_bits++;
	if (threads > 64 || depth < 7 || depth > 1000 || paths > 16 || (1u << path_bits) != paths) {
		fprintf(stderr, "micro: THREADS at most 64, DEPTH 7..1000, PATHS 1, 2, 4, 8 or 16\n");
		return 2;
	}

	struct worker *w = aligned_alloc(64, threads * sizeof *w);
	if (!w)
		return 1;
	memset(w, 0, threads * sizeof *w);
	pthread_barrier_init(&start_line, NULL, threads);
	for (unsigned t = 0; t < threads; t++) {
		w[t].pairs = calls / 2 / threads;
		w[t].depth = depth;
		w[t].path_bits = path_bits;
	}
	/* Thread 0 is the main thread itself, so T=1 creates no thread. */
	for (unsigned t = 1; t < threads; t++) {
		if (pthread_create(&w[t].tid, NULL, worker_main, &w[t]) != 0) {
			fprintf(stderr, "micro: pthread_create failed\n");
			return 1;
		}
	}
	worker_main(&w[0]);
	for (unsigned t = 1; t < threads; t++)
		pthread_join(w[t].tid, NULL);

	uint64_t counted = 0, first = UINT64_MAX, last = 0;
	for (unsigned t = 0; t < threads; t++) {
		counted += w[t].calls;
		if (w[t].start_ns < first)
			first = w[t].start_ns;
		if (w[t].end_ns > last)
			last = w[t].end_ns;
	}
	uint64_t phase = last - first;
	printf("micro threads=%u depth=%u paths=%u calls=%llu phase_ns=%llu ns_per_call=%.1f\n",
	       threads, depth, paths, (unsigned long long)counted, (unsigned long long)phase,
	       counted ? (double)phase * threads / (double)counted : 0.0);
	free(w);
	return 0;
}
