/*
 * A joined pool of 4 worker threads that hand their blocks round a ring:
 * worker w mallocs a block, passes it through a queue to worker w+1, and
 * frees the block worker w-1 passed to it.  Every such block is freed by a
 * thread other than the one that made it, and glibc hands the freed address
 * straight back to the freeing thread's next malloc of that size: addresses
 * move across threads.  Each worker also churns one scratch block per round.
 */
#include <pthread.h>

#include "groundtruth.h"

#define WORKERS 4
#define ROUNDS  1000
#define SLOTS   16          /* a queue never holds more than WORKERS + 1 */

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t  nonempty;
	void           *slot[SLOTS];
	size_t          size[SLOTS];
	unsigned        head, tail;
};

static struct queue queues[WORKERS];
static pthread_barrier_t all_started;
static char skeleton_block[256];

static void queue_push(struct queue *q, void *p, size_t size)
{
	pthread_mutex_lock(&q->lock);
	q->slot[q->tail % SLOTS] = p;
	q->size[q->tail % SLOTS] = size;
	q->tail++;
	pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

static void *queue_pop(struct queue *q, size_t *size)
{
	void *p;

	pthread_mutex_lock(&q->lock);
	while (q->head == q->tail)
		pthread_cond_wait(&q->nonempty, &q->lock);
	p = q->slot[q->head % SLOTS];
	*size = q->size[q->head % SLOTS];
	q->head++;
	pthread_mutex_unlock(&q->lock);
	return p;
}

static size_t block_size(long w, long round)
{
	return 16 + 16 * (size_t)((w * 7 + round) % 8);
}

/* Temporary: freed before the worker allocates anything else. */
static void scratch(long round)
{
	char *s;

	if (gt.skeleton)
		return;
	s = malloc(32);
	if (!s)
		return;
	struct gt_tok t = gt_alloc(32);
	snprintf(s, 32, "round %ld", round);
	free(s);
	gt_free(32, t);
}

static void *worker_main(void *arg)
{
	long w = (long)arg;
	struct queue *mine = &queues[w], *next = &queues[(w + 1) % WORKERS];

	pthread_barrier_wait(&all_started);
	for (long round = 0; round < ROUNDS; round++) {
		size_t size = block_size(w, round), got;
		void *block = skeleton_block;

		scratch(round);
		if (!gt.skeleton) {
			block = malloc(size);
			if (!block)
				abort();
			gt_alloc(size);
			memset(block, (int)w, size);
		}
		queue_push(next, block, size);

		block = queue_pop(mine, &got);
		if (!gt.skeleton) {
			free(block);
			gt_free(got, (struct gt_tok){ 0, 0 });   /* another thread's */
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tid[WORKERS];

	gt_init("pool", argc, argv, GT_NO_PEAK_BYTES);
	pthread_barrier_init(&all_started, NULL, WORKERS);
	for (int i = 0; i < WORKERS; i++) {
		pthread_mutex_init(&queues[i].lock, NULL);
		pthread_cond_init(&queues[i].nonempty, NULL);
	}

	/* All created before any is joined, so each gets a fresh stack. */
	for (long w = 0; w < WORKERS; w++) {
		if (pthread_create(&tid[w], NULL, worker_main, (void *)w) != 0)
			return 1;
		gt_thread_created();
	}
	for (int w = 0; w < WORKERS; w++) {
		if (pthread_join(tid[w], NULL) != 0)
			return 1;
		gt_thread_joined();
	}
	/* The barrier holds all four alive at once, beside main. */
	gt.peak_threads = 1 + WORKERS;
	gt_write(NULL);

	say("pool: %d workers passed %d blocks round a ring, %d per worker\n",
	    WORKERS, WORKERS * ROUNDS, ROUNDS);
	say("pool: every block was freed by the thread after the one that made it\n");
	say("pool: and each worker churned %d scratch blocks of its own\n", ROUNDS);
	return 0;
}
