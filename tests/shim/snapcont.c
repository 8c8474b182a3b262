/*
 * Snapshots taken while THREADS threads allocate: each snapshot writes out
 * every thread's buffer so far, and the threads go on filling the same
 * buffers.  Their next chunks continue the coded records' state of the
 * last (format version 3, LT_CHUNK_MAGIC_CONT); read from zero instead,
 * their addresses would be wrong and frees would miss their blocks.  Every
 * worker keeps one block in KEEP_EVERY and frees the rest; the program
 * prints what it made and kept: "allocs N", "kept_blocks N", "kept_bytes N".
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS    4
#define ALLOCS     300000
#define KEEP_EVERY 999    /* kept sizes vary */
#define KEPT       ((ALLOCS + KEEP_EVERY - 1) / KEEP_EVERY)

static atomic_int running = THREADS;
static void *keep[THREADS][KEPT];   /* never freed: leaks */
static size_t kept[THREADS];

static void *worker(void *arg)
{
	int me = (int)(long)arg;

	for (int i = 0; i < ALLOCS; i++) {
		size_t n = 16 + (size_t)(i * 7) % 200;
		char *p = malloc(n);

		p[0] = (char)i;
		if (i % KEEP_EVERY == 0) {
			keep[me][i / KEEP_EVERY] = p;
			kept[me] += n;
		} else {
			free(p);
		}
	}
	atomic_fetch_sub(&running, 1);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	size_t kept_bytes = 0;
	struct timespec ms = { 0, 1000000 };
	int snapshots = 0;

	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(long)i);
	while (atomic_load(&running) > 0 && snapshots < 200) {
		raise(SIGUSR2);
		snapshots++;
		nanosleep(&ms, NULL);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		kept_bytes += kept[i];
	}
	printf("allocs %d\nkept_blocks %d\nkept_bytes %zu\nsnapshots %d\n",
	       THREADS * ALLOCS, THREADS * KEPT, kept_bytes,
	       snapshots);
	return 0;
}
