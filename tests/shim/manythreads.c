/*
 * THREADS threads alive at once, each allocating from its own call path
 * (start_many -> mid -> leaf) and from a second one (start_many -> other),
 * then waiting for all the others.  libunwind's fast path maps a frame
 * cache of about 256 KiB for each thread that uses it, so the shim lets 32
 * threads at a time use it and the rest unwind step by step: their stacks
 * must be the same, and the resident set must not grow by a cache a thread.
 * A program that holds more memory may have more on the fast path: with an
 * argument, it first fills that many MiB.  With a second, "late", it fills
 * them once every thread has made its first allocations, and then each
 * thread makes DEEP more, each from a stack of its own depth (so that
 * each is unwound).
 * Prints "leaf N", "other N" (allocations made on each path) and
 * "hwm_kib N" (VmHWM from /proc/self/status at the end).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwm.h"

#define THREADS 160
#define ROUNDS  20
#define DEEP    300

static pthread_barrier_t all_in, filled;
static size_t hold;
static char *held;
static int late;

__attribute__((noinline)) static void *leaf(size_t n)
{
	return malloc(n);
}

__attribute__((noinline)) static void mid(void)
{
	for (int i = 0; i < ROUNDS; i++)
		free(leaf(24 + (size_t)i));
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void other(void)
{
	for (int i = 0; i < ROUNDS; i++)
		free(malloc(100 + (size_t)i));
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static int deep(int d)
{
	volatile char *p;
	int r;

	if (d)
		return deep(d - 1) + 1;
	p = malloc(16);
	r = p ? 1 : 0;
	free((void *)p);
	return r;
}

static void fill(void)
{
	held = malloc(hold);
	if (held)
		memset(held, 1, hold);
}

static void *start_many(void *arg)
{
	mid();
	other();
	pthread_barrier_wait(&all_in);   /* every thread alive at once */
	if (late) {
		/* One thread fills; none goes on before it has. */
		if (pthread_barrier_wait(&filled) == PTHREAD_BARRIER_SERIAL_THREAD)
			fill();
		pthread_barrier_wait(&filled);
		for (int d = 0; d < DEEP; d++)
			deep(d);
	}
	return arg;
}

int main(int argc, char **argv)
{
	static pthread_t t[THREADS];

	hold = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) << 20 : 0;
	late = argc > 2 && !strcmp(argv[2], "late");
	if (hold && !late)
		fill();
	pthread_barrier_init(&all_in, NULL, THREADS);
	pthread_barrier_init(&filled, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, start_many, NULL) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("leaf %d\nother %d\nhwm_kib %ld\n", THREADS * ROUNDS, THREADS * ROUNDS,
	       hwm_kib());
	free(held);
	return 0;
}
