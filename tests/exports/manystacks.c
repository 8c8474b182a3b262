/*
 * A program with many distinct allocation stacks, for the exports' size
 * and speed checks: N allocations (default 500,000) spread over 4^8 call
 * paths through four functions eight levels deep; every 64th block is
 * leaked, the rest freed at once.  Prints nothing; knows no ground truth
 * beyond its counts, which the test reads back from libtrace report.
 */
#include <stdint.h>
#include <stdlib.h>

#define DEPTH 8

static void *level(int depth, unsigned path);

static void *f0(int d, unsigned p) { return level(d - 1, p >> 2); }
static void *f1(int d, unsigned p) { return level(d - 1, p >> 2); }
static void *f2(int d, unsigned p) { return level(d - 1, p >> 2); }
static void *f3(int d, unsigned p) { return level(d - 1, p >> 2); }

static void *(*const step[4])(int, unsigned) = { f0, f1, f2, f3 };

static void *level(int depth, unsigned path)
{
	void *p;

	if (depth == 0)
		return malloc(16 + (path & 0xff));
	p = step[path & 3](depth, path);
	/* Keeps the call a real call, not a tail jump the stack would lose. */
	__asm__ volatile("" ::: "memory");
	return p;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 500000;

	for (long i = 0; i < n; i++) {
		unsigned path = (unsigned)(i * 2654435761u) & 0xffff;
		void *p = level(DEPTH, path);
		if (i % 64 != 0)
			free(p);
	}
	return 0;
}
