/*
 * THREADS threads, all alive at once, each making enough malloc/free pairs
 * to fill its buffer many times over.  The shim grows only the first
 * LT_BUF_GROWN (16) buffers to fill up from 16 KiB to 254 KiB, so that a
 * program of many busy threads does not hold 254 KiB for each: run under
 * strace, at least one thread and at most 16 write chunks larger than
 * 16 KiB.  Prints "threads N".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 32
#define PAIRS   40000   /* 80,000 records of 9-13 bytes: about 0.9 MB */

static pthread_barrier_t start, done;

static void *work(void *arg)
{
	pthread_barrier_wait(&start);
	for (int i = 0; i < PAIRS; i++)
		free(malloc(16 + (size_t)i % 64));
	pthread_barrier_wait(&done);   /* no buffer goes back before all filled */
	return arg;
}

int main(void)
{
	pthread_t t[THREADS];

	pthread_barrier_init(&start, NULL, THREADS);
	pthread_barrier_init(&done, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, work, NULL) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("threads %d\n", THREADS);
	return 0;
}
