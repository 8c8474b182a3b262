/*
 * The shim answers libunwind's sigprocmask calls itself while it learns a
 * new stack (every signal blocked once for the walk).  The program must not
 * see it: its own sigprocmask calls behave as glibc's, its mask is the same
 * after any number of such walks, and a signal sent to it while it
 * allocates along new paths is delivered, not lost.  Prints what it checked;
 * exits 1 on the first difference.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SENDS 200

static volatile sig_atomic_t usr1_seen, usr2_seen;
static pthread_t main_thread;
static volatile int allocating = 1;

static void on_usr1(int sig) { (void)sig; usr1_seen++; }
static void on_usr2(int sig) { (void)sig; usr2_seen++; }

static void fail(const char *what)
{
	printf("FAIL %s\n", what);
	exit(1);
}

/* Many call paths the shim has not seen: each depth and each function
 * pointer makes a new stack to learn. */
typedef void *(*step_fn)(int, int);
static void *step_a(int, int);
static void *step_b(int, int);
static void *step_c(int, int);
static step_fn steps[3] = { step_a, step_b, step_c };

static void *descend(int depth, int path)
{
	if (depth == 0) {
		void *p = malloc(16 + (size_t)(path & 255));
		if (p)
			memset(p, 0, 16);
		return p;
	}
	return steps[path % 3](depth - 1, path / 3);
}

__attribute__((noinline)) static void *step_a(int d, int p) { void *r = descend(d, p); __asm__ volatile("" ::: "memory"); return r; }
__attribute__((noinline)) static void *step_b(int d, int p) { char pad[64]; pad[0] = (char)d; __asm__ volatile("" :: "r"(pad) : "memory"); return descend(d, p); }
__attribute__((noinline)) static void *step_c(int d, int p) { void *r = descend(d, p + 1); __asm__ volatile("" ::: "memory"); return r; }

/* Sends SIGUSR2 to the main thread SENDS times, each once the previous one
 * arrived (standard signals do not queue). */
static void *sender(void *arg)
{
	(void)arg;
	for (int i = 0; i < SENDS; i++) {
		sig_atomic_t before = usr2_seen;
		struct timespec start, now;

		pthread_kill(main_thread, SIGUSR2);
		clock_gettime(CLOCK_MONOTONIC, &start);
		while (usr2_seen == before) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec > 10) {
				printf("FAIL SIGUSR2 %d of %d not delivered in 10 s\n", i + 1, SENDS);
				exit(1);
			}
			sched_yield();
		}
	}
	allocating = 0;
	return NULL;
}

static int same_mask(const sigset_t *a, const sigset_t *b)
{
	for (int s = 1; s < 65; s++)
		if (s != 32 && s != 33 && sigismember(a, s) != sigismember(b, s))
			return 0;
	return 1;
}

int main(void)
{
	struct sigaction sa;
	sigset_t usr1, old, cur, want;
	pthread_t t;
	unsigned long allocs = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);

	/* glibc's answers, traced or not. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &usr1, &old) != 0 || sigismember(&old, SIGUSR1))
		fail("SIG_BLOCK SIGUSR1");
	errno = 0;
	if (sigprocmask(12345, &usr1, NULL) != -1 || errno != EINVAL)
		fail("a bad how gives -1 and EINVAL");
	raise(SIGUSR1);
	if (usr1_seen)
		fail("SIGUSR1 delivered while blocked");
	printf("sigprocmask blocks, and rejects a bad how with EINVAL\n");

	/* New paths, while another thread signals this one. */
	main_thread = pthread_self();
	if (pthread_create(&t, NULL, sender, NULL) != 0)
		fail("pthread_create");
	for (int round = 0; allocating; round++) {
		for (int path = 0; path < 243; path++) {
			free(descend(1 + (round + path) % 12, path * 7 + round));
			allocs++;
		}
	}
	pthread_join(t, NULL);
	if (usr2_seen != SENDS)
		fail("SIGUSR2 count");
	printf("%d signals delivered while allocating along new paths\n", SENDS);

	/* The mask is the program's own: only SIGUSR1 blocked. */
	sigemptyset(&want);
	sigaddset(&want, SIGUSR1);
	if (pthread_sigmask(SIG_SETMASK, NULL, &cur) != 0 || !same_mask(&cur, &want))
		fail("mask after allocating: not only SIGUSR1 blocked");
	if (sigprocmask(SIG_UNBLOCK, &usr1, &old) != 0 || !sigismember(&old, SIGUSR1))
		fail("SIG_UNBLOCK SIGUSR1");
	if (usr1_seen != 1)
		fail("the pending SIGUSR1 delivered once on unblocking");
	printf("mask unchanged; the pending SIGUSR1 arrived on unblocking\n");
	fprintf(stderr, "%lu allocations\n", allocs);
	return 0;
}
