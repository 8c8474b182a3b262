/*
 * Workers leaked blocked on a condition variable nobody signals: a pool of
 * 3 named workers takes jobs from a queue; main submits 6 jobs, waits for
 * them to be done, and returns without shutting the pool down.  Every
 * worker is still in pthread_cond_wait under queue_pop at exit: running at
 * exit, the C form of goroutines blocked on a channel whose sender is gone.
 * ThreadSanitizer does not report these; libtrace must.
 */
#define _GNU_SOURCE   /* pthread_setname_np */
#include <pthread.h>

#include "threadtruth.h"

#define WORKERS 3
#define JOBS 6
#define JOB_BYTES 96

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, drained;
	long jobs[JOBS];
	unsigned head, tail, done;
};

static struct queue q = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	PTHREAD_COND_INITIALIZER, { 0 }, 0, 0, 0,
};
static _Atomic int waiting;

static long queue_pop(struct queue *qu)
{
	long job;

	pthread_mutex_lock(&qu->lock);
	while (qu->head == qu->tail) {
		atomic_fetch_add(&waiting, 1);
		pthread_cond_wait(&qu->nonempty, &qu->lock);
		atomic_fetch_sub(&waiting, 1);
	}
	job = qu->jobs[qu->head++ % JOBS];
	pthread_mutex_unlock(&qu->lock);
	return job;
}

static void queue_push(struct queue *qu, long job)
{
	pthread_mutex_lock(&qu->lock);
	qu->jobs[qu->tail++ % JOBS] = job;
	pthread_cond_signal(&qu->nonempty);
	pthread_mutex_unlock(&qu->lock);
}

static void *worker_main(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "worker-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		long job = queue_pop(&q);
		char *out = malloc(JOB_BYTES);

		if (!out)
			abort();
		struct gt_tok t = gt_alloc(JOB_BYTES);
		snprintf(out, JOB_BYTES, "job %ld", job);
		free(out);
		gt_free(JOB_BYTES, t);

		pthread_mutex_lock(&q.lock);
		q.done++;
		pthread_cond_signal(&q.drained);
		pthread_mutex_unlock(&q.lock);
	}
	return NULL;
}

static void start_pool(pthread_t *tid)
{
	for (long w = 0; w < WORKERS; w++) {
		if (pthread_create(&tid[w], NULL, worker_main, (void *)w) != 0)
			abort();
		gt_thread_created();
	}
}

int main(int argc, char **argv)
{
	pthread_t tid[WORKERS];

	gt_init("stuck_workers", argc, argv, 0);
	start_pool(tid);
	for (long j = 0; j < JOBS; j++)
		queue_push(&q, j);
	pthread_mutex_lock(&q.lock);
	while (q.done < JOBS)
		pthread_cond_wait(&q.drained, &q.lock);
	pthread_mutex_unlock(&q.lock);
	/* Every worker back in queue_pop, waiting for a job that never comes. */
	while (atomic_load(&waiting) < WORKERS) {
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	/* Each one let go of the lock, which only pthread_cond_wait does. */
	pthread_mutex_lock(&q.lock);
	pthread_mutex_unlock(&q.lock);

	gt.threads_running_at_exit = WORKERS;
	gt.peak_threads = 1 + WORKERS;
	gt_write(NULL);
	struct tt_site sites[] = {
		{ .start = "worker_main", .created_in = "start_pool",
		  .created = WORKERS, .peak = WORKERS, .running_at_exit = WORKERS,
		  .allocations = JOBS, .bytes = JOBS * JOB_BYTES, .frees = JOBS,
		  .alive_at_exit = WORKERS, .waits_in = "pthread_cond_wait",
		  .under = "queue_pop", .names = "worker-0,worker-1,worker-2" },
	};
	tt_write("stuck_workers", sites, 1);
	say("stuck_workers: %d jobs done; returning with %d workers still waiting\n",
	    JOBS, WORKERS);
	return 0;
}
