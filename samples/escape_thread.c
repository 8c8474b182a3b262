/*
 * Ownership moves to another thread: post_message mallocs a 64-byte message
 * and pushes it on a bounded queue; a consumer thread pops and frees each
 * one.  Every message escapes to another thread (never temporary: another
 * thread frees it).  The thread's creation leaves glibc's TLS block behind.
 *
 *   escape_thread [N]     N messages (default 4000)
 */
#include <pthread.h>

#include "escapetruth.h"

#define MESSAGE_BYTES 64
#define SLOTS 8

struct message {
	long seq;
	char text[MESSAGE_BYTES - sizeof(long)];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct message *slot[SLOTS];
	unsigned head, tail;
} queue = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0, 0 };

static void queue_push(struct message *m)
{
	pthread_mutex_lock(&queue.lock);
	while (queue.tail - queue.head == SLOTS)
		pthread_cond_wait(&queue.changed, &queue.lock);
	queue.slot[queue.tail++ % SLOTS] = m;
	pthread_cond_broadcast(&queue.changed);
	pthread_mutex_unlock(&queue.lock);
}

static struct message *queue_pop(void)
{
	struct message *m;

	pthread_mutex_lock(&queue.lock);
	while (queue.tail == queue.head)
		pthread_cond_wait(&queue.changed, &queue.lock);
	m = queue.slot[queue.head++ % SLOTS];
	pthread_cond_broadcast(&queue.changed);
	pthread_mutex_unlock(&queue.lock);
	return m;
}

static long consumed;

/* Frees every message it is handed; a NULL one ends it. */
static void *consumer_main(void *arg)
{
	struct message *m;

	(void)arg;
	while ((m = queue_pop()) != NULL) {
		consumed += m->seq;
		free(m);
		gt_free(MESSAGE_BYTES, (struct gt_tok){ 0, 0 });
	}
	return NULL;
}

static void post_message(long seq)
{
	struct message *m = malloc(MESSAGE_BYTES);

	if (!m)
		abort();
	gt_alloc(MESSAGE_BYTES);
	m->seq = seq;
	snprintf(m->text, sizeof(m->text), "message %ld", seq);
	queue_push(m);
}

static pthread_t start_consumer(void)
{
	pthread_t tid;

	if (pthread_create(&tid, NULL, consumer_main, NULL) != 0)
		abort();
	gt_thread_created();
	return tid;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 4000;
	pthread_t tid;

	gt_init("escape_thread", argc, argv, GT_NO_PEAK_BYTES);
	tid = start_consumer();
	for (long i = 1; i <= n; i++)
		post_message(i);
	queue_push(NULL);
	pthread_join(tid, NULL);
	gt_thread_joined();
	gt.peak_threads = 2;
	gt_write(NULL);
	{
		const struct et_site sites[] = {
			{ "post_message", "escapes-to-thread",
			  n, 0, 0, 0, 0, n, 0, 0,
			  "pushed on a queue, freed by consumer_main's thread" },
			ET_THREAD_TLS("start_consumer", 1),
		};
		et_write("escape_thread", sites, sizeof(sites) / sizeof(sites[0]));
	}
	say("escape_thread: %ld messages handed to a consumer thread, sum %ld\n",
	    n, consumed);
	return 0;
}
