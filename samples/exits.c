/*
 * One way out of a process per run, after the same allocations: two blocks
 * left allocated, one freed.  The ground truth is written before the way out,
 * so it holds whether or not anything runs after it.
 *
 *   exits MODE   MODE: return (status 3), exit (4), _exit (5), abort (SIGABRT),
 *                segv (a real fault), sigterm (raise), thread (a second
 *                thread calls exit(6) while main waits to join it)
 */
#include <pthread.h>
#include <signal.h>

#include "groundtruth.h"

static const char *mode = "return";

/* An address nothing is mapped at, hidden from the compiler, which would
 * otherwise drop a store it can prove faults. */
static volatile uintptr_t unmapped = 16;

static void allocate_some(void)
{
	char *a = malloc(1024), *b = malloc(64), *c;

	if (!a || !b)
		abort();
	gt_alloc(1024);
	gt_leak_from("allocate_some", 1024);
	struct gt_tok tb = gt_alloc(64);
	free(b);
	gt_free(64, tb);
	c = calloc(4, 256);
	if (!c)
		abort();
	gt_alloc(1024);
	gt_leak_from("allocate_some", 1024);
	memset(a, 1, 1024);
}

static void leave(void)
{
	say("exits: leaving by %s\n", mode);
	if (strcmp(mode, "exit") == 0)
		exit(4);
	if (strcmp(mode, "_exit") == 0)
		_exit(5);
	if (strcmp(mode, "abort") == 0)
		abort();
	if (strcmp(mode, "segv") == 0)
		*(volatile int *)unmapped = 1;
	if (strcmp(mode, "sigterm") == 0)
		raise(SIGTERM);
	if (strcmp(mode, "thread") == 0)
		exit(6);
}

/* Allocates its own 512-byte block, then ends the whole process. */
static void *exiting_thread(void *arg)
{
	(void)arg;
	if (!gt.skeleton) {
		char *mine = malloc(512);

		if (!mine)
			abort();
		gt_alloc(512);
		gt_leak_from("exiting_thread", 512);
	}
	/* This thread is still running at exit; nobody joined it. */
	gt.threads_running_at_exit = 1;
	gt.peak_threads = 2;
	gt_write(NULL);
	leave();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		mode = argv[1];
	gt_init("exits", argc, argv, strcmp(mode, "thread") == 0 ? GT_NO_PEAK_BYTES : 0);

	if (strcmp(mode, "thread") == 0) {
		pthread_t t;

		if (!gt.skeleton)
			allocate_some();
		/* Counted first: the thread writes the ground truth. */
		gt_thread_created();
		if (pthread_create(&t, NULL, exiting_thread, NULL) != 0)
			return 1;
		pthread_join(t, NULL);
		return 1;   /* not reached: the thread exits the process */
	}

	allocate_some();
	gt_write(NULL);
	leave();
	return 3;
}
