/*
 * The article's unbounded fan-out, in C, next to the bounded fix:
 *
 *     for _, item := range items { go process(item) }          // unbounded
 *
 *     sem := make(chan struct{}, 4)                            // bounded
 *     for _, item := range items {
 *         sem <- struct{}{}
 *         go func(i Item) { defer func() { <-sem }(); process(i) }(item)
 *     }
 *
 *   fanout [ITEMS [BOUND]]     (defaults 64 and 4)
 *
 * Unbounded: one detached thread per item.  process() blocks until every
 * item has its thread (as work that waits on I/O would), so all ITEMS are
 * alive at once: the peak is exactly ITEMS.  Bounded: a semaphore of BOUND
 * slots; a finished thread gives its slot back and main joins it before
 * starting the next, so never more than BOUND are alive; the first BOUND
 * meet at a barrier, so the peak is exactly BOUND.
 */
#include <pthread.h>
#include <semaphore.h>

#include "threadtruth.h"

#define ITEM_BYTES 64

static long items = 64, bound = 4;

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_open = PTHREAD_COND_INITIALIZER;
static int all_spawned;
static _Atomic long unbounded_done;

static sem_t slots;
static pthread_barrier_t first_wave;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static long done_queue[4096];
static unsigned done_head, done_tail;

/* The work: a result buffer made and dropped. */
static void work(long item)
{
	char *result = malloc(ITEM_BYTES);

	if (!result)
		abort();
	struct gt_tok t = gt_alloc(ITEM_BYTES);
	snprintf(result, ITEM_BYTES, "item %ld", item);
	free(result);
	gt_free(ITEM_BYTES, t);
}

/* go process(item): waits for the rest of the batch, then works. */
static void *process(void *arg)
{
	tt_note_self();
	pthread_mutex_lock(&gate_lock);
	while (!all_spawned)
		pthread_cond_wait(&gate_open, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	work((long)arg);
	atomic_fetch_add(&unbounded_done, 1);
	return NULL;
}

static void spawn_unbounded(void)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (long i = 0; i < items; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, process, (void *)i) != 0)
			abort();
		gt_thread_created();
		gt_thread_detached();
	}
	pthread_attr_destroy(&attr);

	pthread_mutex_lock(&gate_lock);
	all_spawned = 1;
	pthread_cond_broadcast(&gate_open);
	pthread_mutex_unlock(&gate_lock);

	while (atomic_load(&unbounded_done) < items) {
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	tt_wait_gone((int)items);
}

/* go func(i) { defer func() { <-sem }(); process(i) }(item) */
static void *process_with_slot(void *arg)
{
	long item = (long)arg;

	if (item < bound)
		pthread_barrier_wait(&first_wave);
	work(item);
	pthread_mutex_lock(&done_lock);
	done_queue[done_tail++ % 4096] = item;
	pthread_mutex_unlock(&done_lock);
	sem_post(&slots);
	return NULL;
}

static void spawn_bounded(void)
{
	static pthread_t tid[100000];
	long started = 0;

	sem_init(&slots, 0, (unsigned)bound);
	pthread_barrier_init(&first_wave, NULL, (unsigned)bound);
	for (long i = 0; i < items; i++) {
		sem_wait(&slots);
		if (i >= bound) {
			/* The thread that gave the slot back is finishing:
			 * reap it before starting the next. */
			long done;

			pthread_mutex_lock(&done_lock);
			done = done_queue[done_head++ % 4096];
			pthread_mutex_unlock(&done_lock);
			if (pthread_join(tid[done], NULL) != 0)
				abort();
			gt_thread_joined();
		}
		if (pthread_create(&tid[i], NULL, process_with_slot, (void *)i) != 0)
			abort();
		gt_thread_created();
		started++;
	}
	for (long k = started - (items < bound ? items : bound); k < started; k++) {
		long done;

		sem_wait(&slots);
		pthread_mutex_lock(&done_lock);
		done = done_queue[done_head++ % 4096];
		pthread_mutex_unlock(&done_lock);
		if (pthread_join(tid[done], NULL) != 0)
			abort();
		gt_thread_joined();
	}
}

int main(int argc, char **argv)
{
	gt_init("fanout", argc, argv, 0);
	if (argc > 1)
		items = atol(argv[1]);
	if (argc > 2)
		bound = atol(argv[2]);
	if (items < 1 || items > 4000 || bound < 1 || bound > items) {
		say("usage: fanout [ITEMS (1-4000) [BOUND (1-ITEMS)]]\n");
		return 2;
	}

	spawn_unbounded();
	spawn_bounded();

	gt.peak_threads = 1 + items;
	gt_write(NULL);
	struct tt_site sites[] = {
		{ .start = "process", .created_in = "spawn_unbounded",
		  .created = items, .peak = items, .detached = items,
		  .allocations = items, .bytes = items * ITEM_BYTES,
		  .frees = items },
		{ .start = "process_with_slot", .created_in = "spawn_bounded",
		  .created = items, .peak = bound, .joined = items,
		  .allocations = items, .bytes = items * ITEM_BYTES,
		  .frees = items },
	};
	tt_write("fanout", sites, 2);
	say("fanout: %ld items, one thread each (all %ld at once), then at most %ld at a time\n",
	    items, items, bound);
	return 0;
}
