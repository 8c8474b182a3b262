/*
 * Every way a thread can end, one thread each: joined; detached with
 * pthread_detach; created detached; blocked forever on a condition variable
 * nobody signals (running at exit); finished but never joined nor detached
 * (a leaked thread).  Each allocates a little, so the report ties blocks to
 * the threads that made them.
 *
 * The threads run one after another (main waits for each to be gone, or
 * blocked, before the next), which fixes peak concurrency and which stacks
 * glibc reuses.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "groundtruth.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int blocked_is_waiting;
static _Atomic long last_tid;

static void note_tid(void)
{
	atomic_store(&last_tid, (long)syscall(SYS_gettid));
}

/* Waits until the kernel has reaped the thread whose tid was noted last:
 * past that point its exit is complete, records and all. */
static void wait_gone(void)
{
	char path[64];
	struct timespec ms = { 0, 1000000 };
	struct stat st;
	long tid;

	while ((tid = atomic_load(&last_tid)) == 0)
		nanosleep(&ms, NULL);
	snprintf(path, sizeof(path), "/proc/self/task/%ld", tid);
	while (stat(path, &st) == 0)
		nanosleep(&ms, NULL);
	atomic_store(&last_tid, 0);
}

/* Joined: returns a block main frees. */
static void *joined_main(void *arg)
{
	char *result;

	(void)arg;
	if (gt.skeleton)
		return NULL;
	result = malloc(100);
	if (result) {
		gt_alloc(100);
		snprintf(result, 100, "joined result");
	}
	return result;
}

/* Detached (by pthread_detach or at creation): cleans up after itself. */
static void *detached_main(void *arg)
{
	size_t size = (size_t)arg;

	if (!gt.skeleton) {
		char *scratch = malloc(size);

		if (scratch) {
			struct gt_tok t = gt_alloc(size);
			memset(scratch, 0, size);
			free(scratch);
			gt_free(size, t);
		}
	}
	note_tid();
	return NULL;
}

/* Running at exit: holds a 200-byte buffer while it waits for nothing. */
static void *blocked_main(void *arg)
{
	char *buf = NULL;

	(void)arg;
	if (!gt.skeleton) {
		buf = malloc(200);
		if (buf) {
			gt_alloc(200);
			gt_leak_from("blocked_main", 200);
		}
	}
	pthread_mutex_lock(&lock);
	blocked_is_waiting = 1;
	for (;;)
		pthread_cond_wait(&never, &lock);
	return buf;
}

/* Leaked: finishes, but nobody joins it, so its 300-byte result is lost too. */
static void *forgotten_main(void *arg)
{
	char *result = NULL;

	(void)arg;
	if (!gt.skeleton) {
		result = malloc(300);
		if (result) {
			gt_alloc(300);
			gt_leak_from("forgotten_main", 300);
		}
	}
	note_tid();
	return result;
}

int main(int argc, char **argv)
{
	pthread_t joined, detached, born_detached, blocked, forgotten;
	pthread_attr_t attr;
	void *result;

	gt_init("leaked_thread", argc, argv, GT_NO_PEAK_BYTES);

	if (pthread_create(&joined, NULL, joined_main, NULL) != 0)
		return 1;
	gt_thread_created();
	if (pthread_join(joined, &result) != 0)
		return 1;
	gt_thread_joined();
	if (result) {
		free(result);
		gt_free(100, (struct gt_tok){ 0, 0 });
	}

	if (pthread_create(&detached, NULL, detached_main, (void *)50) != 0)
		return 1;
	gt_thread_created();
	if (pthread_detach(detached) != 0)
		return 1;
	gt_thread_detached();
	wait_gone();

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&born_detached, &attr, detached_main, (void *)60) != 0)
		return 1;
	gt_thread_created();
	gt_thread_detached();
	pthread_attr_destroy(&attr);
	wait_gone();

	if (pthread_create(&blocked, NULL, blocked_main, NULL) != 0)
		return 1;
	gt_thread_created();
	for (int waiting = 0; !waiting;) {
		struct timespec ms = { 0, 1000000 };

		pthread_mutex_lock(&lock);
		waiting = blocked_is_waiting;
		pthread_mutex_unlock(&lock);
		if (!waiting)
			nanosleep(&ms, NULL);
	}

	if (pthread_create(&forgotten, NULL, forgotten_main, NULL) != 0)
		return 1;
	gt_thread_created();
	wait_gone();

	gt.threads_leaked = 1;            /* forgotten */
	gt.threads_running_at_exit = 1;   /* blocked */
	gt.peak_threads = 3;              /* main, blocked, forgotten */
	gt_write(NULL);

	say("leaked_thread: 5 threads: 1 joined, 2 detached, 1 blocked forever, 1 never joined\n");
	say("leaked_thread: exiting with the blocked one still waiting\n");
	return 0;
}
