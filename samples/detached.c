/*
 * Detached threads, which nobody joins and nothing leaks: two detached with
 * pthread_detach after they started, two created detached through their
 * attributes, and one detached daemon (named "daemon" with prctl) blocked
 * forever in read() on a pipe nobody writes.  The daemon is still running at
 * exit but, being detached, is no leak; it shows in the live stacks.
 */
#include <pthread.h>
#include <sys/prctl.h>

#include "threadtruth.h"

#define SCRATCH_BYTES 32
#define DAEMON_BYTES 16

static pthread_barrier_t pair;
static int never_written[2];
static _Atomic long daemon_tid;

static void scratch(void)
{
	char *s = malloc(SCRATCH_BYTES);

	if (!s)
		abort();
	struct gt_tok t = gt_alloc(SCRATCH_BYTES);
	memset(s, 0, SCRATCH_BYTES);
	free(s);
	gt_free(SCRATCH_BYTES, t);
}

static void *cleanup_later(void *arg)
{
	(void)arg;
	tt_note_self();
	pthread_barrier_wait(&pair);
	scratch();
	return NULL;
}

static void *log_flush(void *arg)
{
	(void)arg;
	tt_note_self();
	pthread_barrier_wait(&pair);
	scratch();
	return NULL;
}

static void *daemon_main(void *arg)
{
	char *state = malloc(DAEMON_BYTES), c;

	(void)arg;
	if (state)
		gt_alloc(DAEMON_BYTES);
	prctl(PR_SET_NAME, "daemon", 0, 0, 0);
	atomic_store(&daemon_tid, (long)syscall(SYS_gettid));
	while (read(never_written[0], &c, 1) != 0)
		;
	return state;
}

static void detach_after_start(void)
{
	pthread_t t[2];

	for (int i = 0; i < 2; i++) {
		if (pthread_create(&t[i], NULL, cleanup_later, NULL) != 0)
			abort();
		gt_thread_created();
	}
	for (int i = 0; i < 2; i++) {
		if (pthread_detach(t[i]) != 0)
			abort();
		gt_thread_detached();
	}
}

static void start_detached(void)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 2; i++) {
		if (pthread_create(&t, &attr, log_flush, NULL) != 0)
			abort();
		gt_thread_created();
		gt_thread_detached();
	}
	pthread_attr_destroy(&attr);
}

static void start_daemon(void)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, daemon_main, NULL) != 0)
		abort();
	gt_thread_created();
	gt_thread_detached();
	pthread_attr_destroy(&attr);
}

/* Until the daemon sits in read(2), as /proc says (x86_64 and aarch64
 * number read 0 and 63); a short nap where /proc cannot tell. */
static void wait_daemon_reading(void)
{
	struct timespec ms = { 0, 1000000 };
	char path[64], buf[32];
	long tid;

	while ((tid = atomic_load(&daemon_tid)) == 0)
		nanosleep(&ms, NULL);
	snprintf(path, sizeof(path), "/proc/self/task/%ld/syscall", tid);
	for (int tries = 0; tries < 5000; tries++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0)
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			break;
		buf[n] = '\0';
		if (strncmp(buf, "0 ", 2) == 0 && SYS_read == 0)
			return;
		if (strncmp(buf, "63 ", 3) == 0 && SYS_read == 63)
			return;
		nanosleep(&ms, NULL);
	}
	ms.tv_nsec = 50000000;
	nanosleep(&ms, NULL);
}

int main(int argc, char **argv)
{
	gt_init("detached", argc, argv, 0);
	if (pipe(never_written) != 0)
		return 1;
	pthread_barrier_init(&pair, NULL, 2);

	detach_after_start();
	tt_wait_gone(2);
	start_detached();
	tt_wait_gone(2);
	start_daemon();
	wait_daemon_reading();

	gt.peak_threads = 3;    /* main and a pair */
	gt_write(NULL);
	struct tt_site sites[] = {
		{ .start = "cleanup_later", .created_in = "detach_after_start",
		  .created = 2, .peak = 2, .detached = 2, .allocations = 2,
		  .bytes = 2 * SCRATCH_BYTES, .frees = 2 },
		{ .start = "log_flush", .created_in = "start_detached",
		  .created = 2, .peak = 2, .detached = 2, .allocations = 2,
		  .bytes = 2 * SCRATCH_BYTES, .frees = 2 },
		{ .start = "daemon_main", .created_in = "start_daemon",
		  .created = 1, .peak = 1, .detached = 1, .detached_running = 1,
		  .allocations = 1, .bytes = DAEMON_BYTES, .alive_at_exit = 1,
		  .waits_in = "read", .under = "daemon_main", .names = "daemon" },
	};
	tt_write("detached", sites, 3);
	say("detached: 5 detached threads, 4 finished, 1 daemon still reading\n");
	return 0;
}
