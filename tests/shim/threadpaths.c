/*
 * THREADS threads alive at once, each allocating down PATHS call paths to
 * one leaf: a path is a chain of 4 to 24 calls through three functions
 * that call one another, as its bits say.  Each thread's stack cache then
 * holds PATHS stacks, and libunwind's frame cache of the threads on its
 * fast path is filled: what the shim adds to the resident set with many
 * busy threads running varied code.
 * Prints "CHAIN COUNT" for each distinct call chain, a letter per frame
 * leaf first (fa -> a, fb -> b, fc -> c), with the allocations all threads
 * made down it, then "hwm_kib N" (VmHWM from /proc/self/status).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwm.h"

#define THREADS 128
#define PATHS   256
#define ROUNDS  32
#define KEEP    64

static pthread_barrier_t all_in, all_done;

/* A path's chain: bit i says which of two callees level i takes. */
struct path {
	unsigned bits;
	int depth;
};

__attribute__((noinline)) static void *leaf(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" ::: "memory");
	return p;
}

static void *fa(const struct path *p, int d);
static void *fb(const struct path *p, int d);
static void *fc(const struct path *p, int d);

#define STEP(name, one, two)                                                   \
	__attribute__((noinline)) static void *name(const struct path *p, int d)  \
	{                                                                       \
		void *r;                                                        \
		if (d == p->depth)                                              \
			return leaf(16 + (size_t)d);                            \
		r = (p->bits >> d & 1) ? one(p, d + 1) : two(p, d + 1);         \
		__asm__ volatile("" ::: "memory");                              \
		return r;                                                       \
	}
STEP(fa, fb, fc)
STEP(fb, fc, fa)
STEP(fc, fa, fb)

static struct path paths[PATHS];

static void *run(void *arg)
{
	void *keep[KEEP] = { 0 };
	unsigned n = 0;

	pthread_barrier_wait(&all_in);
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < PATHS; i++, n++) {
			free(keep[n % KEEP]);
			keep[n % KEEP] = fa(&paths[i], 0);
		}
	for (int i = 0; i < KEEP; i++)
		free(keep[i]);
	pthread_barrier_wait(&all_done);  /* every thread alive at once */
	return arg;
}

/* The frames a path runs through, leaf first: fa calls fb or fc, fb
 * calls fc or fa, fc calls fa or fb, as STEP does. */
static void chain_of(const struct path *p, char *out)
{
	char at = 'a';

	for (int d = 0; d <= p->depth; d++) {
		out[p->depth - d] = at;
		int one = p->bits >> d & 1;

		at = at == 'a' ? (one ? 'b' : 'c') : at == 'b' ? (one ? 'c' : 'a') :
		     (one ? 'a' : 'b');
	}
	out[p->depth + 1] = '\0';
}

int main(void)
{
	static pthread_t t[THREADS];
	static char chains[PATHS][32];
	unsigned s = 12345;

	for (int i = 0; i < PATHS; i++) {
		s = s * 1103515245u + 12345u;
		paths[i].bits = s >> 8;
		paths[i].depth = 4 + (int)((s >> 4) % 21);
		chain_of(&paths[i], chains[i]);
	}
	pthread_barrier_init(&all_in, NULL, THREADS);
	pthread_barrier_init(&all_done, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, run, NULL) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < PATHS; i++) {
		int first = 1, n = 0;

		for (int j = 0; j < PATHS; j++) {
			first &= j >= i || strcmp(chains[j], chains[i]) != 0;
			n += !strcmp(chains[j], chains[i]);
		}
		if (first)
			printf("%s %d\n", chains[i], n * THREADS * ROUNDS);
	}
	printf("hwm_kib %ld\n", hwm_kib());
	return 0;
}
