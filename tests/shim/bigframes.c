/*
 * Stacks of many pages: call paths of 10 to 16 frames of 1 to 3 KiB each
 * (up to 48 KiB) to one malloc call site, each entered through one of 128
 * outermost functions, on the main thread, then on a thread started at
 * start_x, then at start_y on a 512 KiB stack and on one the program gives.  Each entry is new code when first reached, so the shim walks
 * the whole stack up to it step by step, and a new thread's first unwinds
 * step too; libunwind checks every page they read, and the shim answers
 * the checks of the thread's own stack pages without system calls
 * (tests/shim/run.sh counts them).  Prints "PATH COUNT" as deeppaths
 * does (a thread's paths end in x or y), and "# entries N".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATHS   600
#define MIN_LEN 10
#define MAX_LEN 16
#define ENTRIES 128
#define ROUNDS  4

struct walk {
	char path[MAX_LEN + 1];   /* root first */
	unsigned len;
};

static struct walk walks[PATHS];
static unsigned long counts[3][PATHS];  /* main thread, start_x's, start_y's */

#define FA_PAD 1024
#define FB_PAD 2048
#define FC_PAD 3072
#include "walk.h"

/* 128 outermost functions, each its own code. */
#define ENTRY(n)                                                                \
	__attribute__((noinline)) static int entry##n(const struct walk *w)     \
	{                                                                       \
		volatile int salt = n;                                          \
		return step(w, 0) + salt;                                       \
	}
#define ENTRY8(n) ENTRY(n##0) ENTRY(n##1) ENTRY(n##2) ENTRY(n##3) \
		  ENTRY(n##4) ENTRY(n##5) ENTRY(n##6) ENTRY(n##7)
ENTRY8(1) ENTRY8(2) ENTRY8(3) ENTRY8(4) ENTRY8(5) ENTRY8(6) ENTRY8(7) ENTRY8(8)
ENTRY8(9) ENTRY8(10) ENTRY8(11) ENTRY8(12) ENTRY8(13) ENTRY8(14) ENTRY8(15) ENTRY8(16)

#define REF8(n) entry##n##0, entry##n##1, entry##n##2, entry##n##3, \
		entry##n##4, entry##n##5, entry##n##6, entry##n##7
static int (*const entries[ENTRIES])(const struct walk *) = {
	REF8(1), REF8(2), REF8(3), REF8(4), REF8(5), REF8(6), REF8(7), REF8(8),
	REF8(9), REF8(10), REF8(11), REF8(12), REF8(13), REF8(14), REF8(15), REF8(16),
};

static int run(unsigned on)
{
	int sink = 0;

	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < PATHS; i++) {
			sink += entries[(i + r) % ENTRIES](&walks[i]);
			counts[on][i]++;
		}
	}
	return sink;
}

__attribute__((noinline)) static void *start_x(void *sink)
{
	*(int *)sink += run(1);
	return NULL;
}

__attribute__((noinline)) static void *start_y(void *sink)
{
	*(int *)sink += run(2);
	return NULL;
}

/* start_y on a stack of a size asked for, or on one the program gives. */
static int thread_y(int *sink, size_t size, void *given)
{
	pthread_attr_t attr;
	pthread_t t;

	if (pthread_attr_init(&attr) ||
	    (given ? pthread_attr_setstack(&attr, given, size) :
		     pthread_attr_setstacksize(&attr, size)) ||
	    pthread_create(&t, &attr, start_y, sink) || pthread_join(t, NULL))
		return -1;
	return pthread_attr_destroy(&attr);
}

/* With "answerable", not on a stack the program gives (whose checks the
 * shim leaves to libunwind). */
int main(int argc, char **argv)
{
	int answerable = argc > 1 && !strcmp(argv[1], "answerable");
	int sink = 0;
	pthread_t t;

	for (unsigned i = 0; i < PATHS; i++) {
		unsigned j;

		do {
			walks[i].len = MIN_LEN + next() % (MAX_LEN - MIN_LEN + 1);
			for (unsigned k = 0; k < walks[i].len; k++)
				walks[i].path[k] = (char)('a' + next() % 3);
			walks[i].path[walks[i].len] = 0;
			for (j = 0; j < i && strcmp(walks[j].path, walks[i].path); j++)
				;
		} while (j < i);        /* each path once */
	}
	static char given[1 << 20] __attribute__((aligned(4096)));

	sink += run(0);
	if (pthread_create(&t, NULL, start_x, &sink) || pthread_join(t, NULL) ||
	    thread_y(&sink, 512 << 10, NULL) ||
	    (!answerable && thread_y(&sink, sizeof(given), given)))
		return 1;
	/* The leaf first, one letter a frame: the path read from leaf up. */
	for (unsigned i = 0; i < PATHS; i++) {
		char key[MAX_LEN + 1];

		for (unsigned k = 0; k < walks[i].len; k++)
			key[k] = walks[i].path[walks[i].len - 1 - k];
		key[walks[i].len] = 0;
		printf("%s %lu\n%sx %lu\n%sy %lu\n", key, counts[0][i], key, counts[1][i],
		       key, counts[2][i]);
	}
	printf("# entries %d\n", ENTRIES);
	return sink == -1;
}
