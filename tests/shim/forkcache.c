/*
 * Stacks the stack cache learned before a fork, met again after it in the
 * child, on a thread.  The child writes a dump of its own, where no stack
 * is defined yet, so a cached stack's id must not be taken from the
 * parent's cache: every stack the child's dump uses must be defined in it
 * (tests/shim/run.sh checks that, and the calls through each path).
 * Prints "CALLS N": the allocations each process makes through via_a and
 * through via_b after the fork (the parent made as many before it).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALLS 2000

static volatile int rounds = 2;   /* not unrolled into two call sites */

__attribute__((noinline)) static void via_a(void)
{
	free(malloc(24));
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void via_b(void)
{
	free(malloc(40));
	__asm__ volatile("" ::: "memory");
}

static void run(void)
{
	for (int i = 0; i < CALLS; i++) {
		via_a();
		via_b();
	}
}

/* On a thread the shim started: its cached stacks are keyed by the
 * distance from its stack's end, and any owner of the buffer may use them
 * (the main thread's are the buffer owner's only). */
static void *forker(void *arg)
{
	pid_t pid = -1;
	int status;

	(void)arg;
	/* One call of run() for both rounds, so that the stacks are the same:
	 * the first teaches the parent's cache. */
	for (int round = 0; round < rounds; round++) {
		if (round == 1) {
			printf("CALLS %d\n", CALLS);
			fflush(stdout);
			if ((pid = fork()) < 0)
				exit(1);
		}
		run();
	}
	if (pid == 0)
		exit(0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		exit(1);
	return NULL;
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, forker, NULL) || pthread_join(t, NULL))
		return 1;
	return 0;
}
