/*
 * Allocations after the shim has recorded a thread's exit: a thread-
 * specific value's destructor runs after the shim's own (its key was made
 * first), so what it frees and allocates is written one record a chunk,
 * each coded from a fresh state.  Every worker allocates a block kept in
 * its key; the destructor frees it and allocates and frees another.  The
 * program prints "blocks N" (allocations by keep and by the destructor,
 * all freed).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 8

static pthread_key_t key;

static __attribute__((noinline)) void *in_destructor(size_t n)
{
	return malloc(n);
}

static void destroy(void *p)
{
	free(p);
	free(in_destructor(100));
}

static __attribute__((noinline)) void *keep(size_t n)
{
	return malloc(n);
}

static void *worker(void *arg)
{
	pthread_setspecific(key, keep(40 + (size_t)(long)arg));
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];

	pthread_key_create(&key, destroy);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("blocks %d\n", 2 * THREADS);
	return 0;
}
