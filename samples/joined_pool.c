/*
 * A correctly joined pool: 4 workers, named pool-0..pool-3 by main, take 40
 * jobs from a queue; main then closes the queue, wakes them all and joins
 * each one.  Nothing leaks, nothing runs at exit.
 *
 *   joined_pool           run straight through
 *   joined_pool wait      for the snapshot test: once every worker waits in
 *                         queue_pop, also start a thread that blocks every
 *                         signal (its stack must come out "unavailable"),
 *                         print "ready", and read standard input until a
 *                         line or end of file before submitting the jobs
 */
#define _GNU_SOURCE   /* pthread_setname_np */
#include <pthread.h>
#include <signal.h>

#include "threadtruth.h"

#define WORKERS 4
#define JOBS 40
#define JOB_BYTES 128

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	long jobs[JOBS];
	unsigned head, tail;
	int closed, waiting;
};

static struct queue q = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0, 0, 0, 0,
};
static _Atomic long processed;

static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quiet_end = PTHREAD_COND_INITIALIZER;
static int quiet_stop, quiet_ready;

/* A job, or -1 once the queue is closed and empty. */
static long queue_pop(struct queue *qu)
{
	long job = -1;

	pthread_mutex_lock(&qu->lock);
	while (qu->head == qu->tail && !qu->closed) {
		qu->waiting++;
		pthread_cond_wait(&qu->nonempty, &qu->lock);
		qu->waiting--;
	}
	if (qu->head != qu->tail)
		job = qu->jobs[qu->head++ % JOBS];
	pthread_mutex_unlock(&qu->lock);
	return job;
}

static void *worker_main(void *arg)
{
	long job;

	(void)arg;
	while ((job = queue_pop(&q)) >= 0) {
		char *out = malloc(JOB_BYTES);

		if (!out)
			abort();
		struct gt_tok t = gt_alloc(JOB_BYTES);
		snprintf(out, JOB_BYTES, "job %ld", job);
		free(out);
		gt_free(JOB_BYTES, t);
		atomic_fetch_add(&processed, 1);
	}
	return NULL;
}

/* Blocks every signal, then waits to be told to stop. */
static void *quiet_main(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&quiet_lock);
	quiet_ready = 1;
	while (!quiet_stop)
		pthread_cond_wait(&quiet_end, &quiet_lock);
	pthread_mutex_unlock(&quiet_lock);
	return NULL;
}

static void start_pool(pthread_t *tid)
{
	for (long w = 0; w < WORKERS; w++) {
		char name[16];

		if (pthread_create(&tid[w], NULL, worker_main, (void *)w) != 0)
			abort();
		gt_thread_created();
		snprintf(name, sizeof(name), "pool-%ld", w);
		pthread_setname_np(tid[w], name);
	}
}

static void start_quiet(pthread_t *t)
{
	if (pthread_create(t, NULL, quiet_main, NULL) != 0)
		abort();
	gt_thread_created();
}

/* Until a line or end of file on standard input. */
static void wait_for_go(void)
{
	char c;
	ssize_t n;

	while ((n = read(0, &c, 1)) != 0) {
		if (n < 0 && errno != EINTR)
			break;
		if (n == 1 && c == '\n')
			break;
	}
}

static void wait_all_idle(void)
{
	for (int idle = 0; !idle;) {
		struct timespec ms = { 0, 1000000 };

		pthread_mutex_lock(&q.lock);
		idle = q.waiting == WORKERS;
		pthread_mutex_unlock(&q.lock);
		if (!idle)
			nanosleep(&ms, NULL);
	}
	for (int ready = 0; !ready;) {
		struct timespec ms = { 0, 1000000 };

		pthread_mutex_lock(&quiet_lock);
		ready = quiet_ready;
		pthread_mutex_unlock(&quiet_lock);
		if (!ready)
			nanosleep(&ms, NULL);
	}
}

int main(int argc, char **argv)
{
	pthread_t tid[WORKERS], quiet;
	int wait_mode = argc > 1 && strcmp(argv[1], "wait") == 0;

	gt_init("joined_pool", argc, argv, 0);
	start_pool(tid);
	if (wait_mode) {
		start_quiet(&quiet);
		wait_all_idle();
		say("ready\n");
		wait_for_go();
	}

	pthread_mutex_lock(&q.lock);
	for (long j = 0; j < JOBS; j++)
		q.jobs[q.tail++ % JOBS] = j;
	q.closed = 1;
	pthread_cond_broadcast(&q.nonempty);
	pthread_mutex_unlock(&q.lock);

	for (int w = 0; w < WORKERS; w++) {
		if (pthread_join(tid[w], NULL) != 0)
			abort();
		gt_thread_joined();
	}
	if (wait_mode) {
		pthread_mutex_lock(&quiet_lock);
		quiet_stop = 1;
		pthread_cond_signal(&quiet_end);
		pthread_mutex_unlock(&quiet_lock);
		if (pthread_join(quiet, NULL) != 0)
			abort();
		gt_thread_joined();
	}

	gt.peak_threads = 1 + WORKERS + wait_mode;
	gt_write(NULL);
	struct tt_site sites[] = {
		{ .start = "worker_main", .created_in = "start_pool",
		  .created = WORKERS, .peak = WORKERS, .joined = WORKERS,
		  .allocations = JOBS, .bytes = JOBS * JOB_BYTES, .frees = JOBS,
		  .names = "pool-0,pool-1,pool-2,pool-3" },
		{ .start = "quiet_main", .created_in = "start_quiet",
		  .created = 1, .peak = 1, .joined = 1 },
	};
	tt_write("joined_pool", sites, wait_mode ? 2 : 1);
	say("joined_pool: %ld jobs processed by %d workers, all joined\n",
	    atomic_load(&processed), WORKERS);
	return 0;
}
