/*
 * Many distinct stacks through code the stack cache already knows: 2^15
 * paths through fa() and fb() below walk(), more than the cache holds, on
 * the main thread and then on a thread of its own.  Every lookup of the
 * second pass misses the cache, but no frame in it is new, so the shim needs
 * no learning walk and no signal-mask change for it (tests/shim/run.sh
 * counts them).  Prints how many blocks it allocated.
 *
 * run.sh links it with libstdc++, as every C++ program is: its start-up
 * allocates from a frame higher on the main thread's stack than any stack
 * under main reaches.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define LEVELS 15
#define PASSES 3

static long blocks;

static void walk(unsigned level, unsigned bits);

__attribute__((noinline)) static void fa(unsigned level, unsigned bits)
{
	walk(level, bits);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void fb(unsigned level, unsigned bits)
{
	walk(level, bits);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void walk(unsigned level, unsigned bits)
{
	if (level == 0) {
		free(malloc(16 + bits % 64));
		blocks++;
		return;
	}
	if (bits & 1)
		fa(level - 1, bits >> 1);
	else
		fb(level - 1, bits >> 1);
	__asm__ volatile("" ::: "memory");
}

static void *passes(void *unused)
{
	(void)unused;
	for (int p = 0; p < PASSES; p++)
		for (unsigned path = 0; path < 1u << LEVELS; path++)
			walk(LEVELS, path);
	return NULL;
}

int main(void)
{
	pthread_t t;

	passes(NULL);
	if (pthread_create(&t, NULL, passes, NULL) || pthread_join(t, NULL))
		return 1;
	printf("blocks %ld\n", blocks);
	return 0;
}
