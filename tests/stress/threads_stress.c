/*
 * Stress: rounds of worker threads that pass blocks round a ring (each freed
 * or realloc'd by a thread other than its maker, so addresses move between
 * threads all the time), while each worker keeps creating and joining helper
 * threads that allocate, free, and hand blocks back and forth.  Counts are
 * exact whatever the scheduling; peaks and temporaries are not.
 *
 * Run with GLIBC_TUNABLES=glibc.pthread.stack_cache_size=0, so that glibc
 * gives every thread a fresh stack (one calloc for its TLS vector) and frees
 * it at the join: what glibc adds then does not depend on timing.  See
 * samples/README.md.  Built by tests/integration/run.sh with the sample flags.
 */
#include <pthread.h>

#include "groundtruth.h"

#define ROUNDS   4
#define WORKERS  8
#define ITERS    2000
#define SPAWN_EVERY 250     /* a worker starts 2 helpers this often */
#define HELPER_BLOCKS 40
#define SLOTS    32

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t  nonempty;
	void           *slot[SLOTS];
	size_t          size[SLOTS];
	unsigned        head, tail;
};

static struct queue ring[WORKERS];
static char skeleton_block[512];

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

static void *xmalloc(size_t size)
{
	void *p;

	if (gt.skeleton)
		return skeleton_block;
	p = malloc(size);
	if (!p)
		abort();
	gt_alloc(size);
	memset(p, 0x5a, size < 64 ? size : 64);
	return p;
}

static void xfree(void *p, size_t size)
{
	if (gt.skeleton)
		return;
	free(p);
	gt_free(size, (struct gt_tok){ 0, 0 });
}

/* Grows a block another thread made, then frees it. */
static void regrow_and_free(void *p, size_t size)
{
	void *q;

	if (gt.skeleton)
		return;
	q = realloc(p, size + 24);
	if (!q)
		abort();
	gt_realloc(size, size + 24);
	free(q);
	gt_free(size + 24, (struct gt_tok){ 0, 0 });
}

struct helper_job {
	void  *gift;        /* a worker's block the helper frees */
	size_t gift_size;
	int    returns;     /* hand a block back for the worker to free */
};

static void *helper_main(void *arg)
{
	struct helper_job *job = arg;
	void *blocks[HELPER_BLOCKS];

	for (int i = 0; i < HELPER_BLOCKS; i++)
		blocks[i] = xmalloc(24 + 8 * (size_t)(i % 5));
	for (int i = HELPER_BLOCKS - 1; i >= 0; i--)
		xfree(blocks[i], 24 + 8 * (size_t)(i % 5));
	if (job->gift)
		xfree(job->gift, job->gift_size);
	return job->returns ? xmalloc(72) : NULL;
}

static void spawn_helpers(long w)
{
	struct helper_job jobs[2] = {
		{ xmalloc(40 + (size_t)w), 40 + (size_t)w, 0 },
		{ NULL, 0, 1 },
	};
	pthread_t tid[2];

	for (int i = 0; i < 2; i++) {
		gt_thread_created();
		if (pthread_create(&tid[i], NULL, helper_main, &jobs[i]) != 0)
			abort();
	}
	for (int i = 0; i < 2; i++) {
		void *back = NULL;

		if (pthread_join(tid[i], &back) != 0)
			abort();
		gt_thread_joined();
		if (back)
			xfree(back, 72);
	}
}

static void *worker_main(void *arg)
{
	long w = (long)arg;
	struct queue *mine = &ring[w], *next = &ring[(w + 1) % WORKERS];

	for (long i = 0; i < ITERS; i++) {
		size_t size = 16 + 8 * (size_t)((w * 13 + i) % 32), got;
		void *scratch = xmalloc(48);
		void *block;

		xfree(scratch, 48);
		queue_push(next, xmalloc(size), size);
		block = queue_pop(mine, &got);
		if (i % 3 == 0)
			regrow_and_free(block, got);
		else
			xfree(block, got);
		if (i % SPAWN_EVERY == 0)
			spawn_helpers(w);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tid[WORKERS];

	gt_init("threads_stress", argc, argv, GT_NO_PEAK_BYTES | GT_NO_TEMPORARY | GT_NO_PEAK_THREADS);
	for (int i = 0; i < WORKERS; i++) {
		pthread_mutex_init(&ring[i].lock, NULL);
		pthread_cond_init(&ring[i].nonempty, NULL);
	}
	for (int round = 0; round < ROUNDS; round++) {
		for (long w = 0; w < WORKERS; w++) {
			gt_thread_created();
			if (pthread_create(&tid[w], NULL, worker_main, (void *)w) != 0)
				return 1;
		}
		for (int w = 0; w < WORKERS; w++) {
			if (pthread_join(tid[w], NULL) != 0)
				return 1;
			gt_thread_joined();
		}
	}
	gt_write(NULL);
	say("threads_stress: %d rounds of %d workers, %lld threads in all, %lld allocations\n",
	    ROUNDS, WORKERS, (long long)gt.threads_created, (long long)gt.allocations);
	return 0;
}
