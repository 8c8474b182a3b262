/*
 * Finished but never joined: 3 threads compute a result and return it, and
 * nobody joins them.  Each is a thread leak (what ThreadSanitizer reports:
 * its stack and result are never reclaimed), and its 48-byte result leaks
 * with it.  The three meet at a barrier first, so all three are alive at
 * once; main waits until the kernel has reaped them, then exits.
 */
#include <pthread.h>

#include "threadtruth.h"

#define THREADS 3
#define RESULT_BYTES 48

static pthread_barrier_t met;

static void *compute(void *arg)
{
	char *result;

	tt_note_self();
	pthread_barrier_wait(&met);
	result = malloc(RESULT_BYTES);
	if (result) {
		gt_alloc(RESULT_BYTES);
		snprintf(result, RESULT_BYTES, "result %ld", (long)arg);
	}
	return result;
}

static void fire_and_forget(void)
{
	for (long i = 0; i < THREADS; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, compute, (void *)i) != 0)
			abort();
		gt_thread_created();
	}
}

int main(int argc, char **argv)
{
	gt_init("unjoined", argc, argv, 0);
	pthread_barrier_init(&met, NULL, THREADS);
	fire_and_forget();
	tt_wait_gone(THREADS);

	gt.threads_leaked = THREADS;
	gt.peak_threads = 1 + THREADS;
	gt_write(NULL);
	struct tt_site sites[] = {
		{ .start = "compute", .created_in = "fire_and_forget",
		  .created = THREADS, .peak = THREADS, .leaked = THREADS,
		  .allocations = THREADS, .bytes = THREADS * RESULT_BYTES },
	};
	tt_write("unjoined", sites, 1);
	say("unjoined: %d threads finished and were never joined\n", THREADS);
	return 0;
}
