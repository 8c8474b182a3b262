/*
 * THREADS threads alive at once, each allocating from its own call path
 * (start_many -> mid -> leaf) and from a second one (start_many -> other),
 * then waiting for all the others.  libunwind's fast path maps a frame
 * cache of about 256 KiB for each thread that uses it, so the shim lets 32
 * threads at a time use it and the rest unwind step by step: their stacks
 * must be the same, and the resident set must not grow by a cache a thread.
 * Prints "leaf N", "other N" (allocations made on each path) and
 * "hwm_kib N" (VmHWM from /proc/self/status at the end).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 160
#define ROUNDS  20

static pthread_barrier_t all_in;

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

static void *start_many(void *arg)
{
	mid();
	other();
	pthread_barrier_wait(&all_in);   /* every thread alive at once */
	return arg;
}

static long hwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

int main(void)
{
	static pthread_t t[THREADS];

	pthread_barrier_init(&all_in, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, start_many, NULL) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("leaf %d\nother %d\nhwm_kib %ld\n", THREADS * ROUNDS, THREADS * ROUNDS,
	       hwm_kib());
	return 0;
}
