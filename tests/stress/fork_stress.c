/*
 * Stress: forks under load.  Worker threads malloc and free without pause
 * while the main thread forks child after child; each child (only the
 * forking thread survives in it) must be able to allocate at once, and
 * writes a dump of its own.  A shim that forks while another thread holds one
 * of its locks hangs here (the run's timeout catches it).
 *
 * Each child counts afresh from the fork and frees nothing it inherited, so
 * its totals are its own; the parent's are all of its threads' calls.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "groundtruth.h"

#define WORKERS  4
#define CHILDREN 12
#define CHILD_BLOCKS 200
/* Each worker stops by itself after this many, so that forks slowed down
 * (or a child hung until the run's timeout) cannot fill the disk with the
 * parent's dump: a run here makes about 170,000 each in 50 ms. */
#define WORKER_OPS (4L << 20)

static _Atomic int stop;
static pthread_barrier_t started;

static void *worker_main(void *arg)
{
	long w = (long)arg;

	pthread_barrier_wait(&started);
	for (long i = 0; !atomic_load(&stop) && i < WORKER_OPS; i++) {
		size_t size = 16 + 16 * (size_t)((w + i) % 16);
		char *p;

		if (gt.skeleton)
			continue;
		p = malloc(size);
		if (!p)
			abort();
		struct gt_tok t = gt_alloc(size);
		p[0] = (char)i;
		free(p);
		gt_free(size, t);
	}
	return NULL;
}

/* In the child: allocate right away, while the parent's workers may have
 * been anywhere inside malloc or the shim when the fork happened. */
static void child_main(int n)
{
	void *blocks[CHILD_BLOCKS];
	struct gt_tok toks[CHILD_BLOCKS];

	gt_forked();
	if (!gt.skeleton) {
		for (int i = 0; i < CHILD_BLOCKS; i++) {
			blocks[i] = malloc(32 + (size_t)n);
			if (!blocks[i])
				_exit(2);
			toks[i] = gt_alloc(32 + (size_t)n);
		}
		/* blocks[0] is left; the last two freed are temporary. */
		for (int i = CHILD_BLOCKS - 1; i > 0; i--) {
			free(blocks[i]);
			gt_free(32 + (size_t)n, toks[i]);
		}
	}
	gt_write("child");
	exit(0);
}

int main(int argc, char **argv)
{
	pthread_t tid[WORKERS];
	int failures = 0;

	gt_init("fork_stress", argc, argv, GT_NO_PEAK_BYTES);
	pthread_barrier_init(&started, NULL, WORKERS + 1);
	for (long w = 0; w < WORKERS; w++) {
		gt_thread_created();
		if (pthread_create(&tid[w], NULL, worker_main, (void *)w) != 0)
			return 1;
	}
	pthread_barrier_wait(&started);

	for (int n = 0; n < CHILDREN; n++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
			child_main(n);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failures++;
	}

	atomic_store(&stop, 1);
	for (int w = 0; w < WORKERS; w++) {
		if (pthread_join(tid[w], NULL) != 0)
			return 1;
		gt_thread_joined();
	}
	gt.peak_threads = 1 + WORKERS;
	gt_write("parent");
	say("fork_stress: %d children forked beside %d busy threads, %d failed\n",
	    CHILDREN, WORKERS, failures);
	return failures != 0;
}
