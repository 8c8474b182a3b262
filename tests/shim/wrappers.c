/*
 * One allocation wrapper reached by 64 call paths that differ only above
 * it: each of 8 outer functions calls each of 8 inner ones, which call
 * via(), which calls wrap(), which calls malloc.  Every path calls malloc
 * from the same place at the same stack depth, through the same caller,
 * so the stack cache's key for all 64 stacks is one; taken in turn, more
 * of them than a set holds would miss every time.  run.sh counts the
 * shim's unw_backtrace calls and checks each path's count.  Prints how
 * many blocks it allocated.
 */
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 10000

static long blocks;

__attribute__((noinline)) static void *wrap(unsigned n)
{
	void *p = malloc(16 + n % 64);

	if (!p)
		abort();
	blocks++;
	return p;
}

__attribute__((noinline)) static int via(unsigned n)
{
	volatile char *p = wrap(n);

	p[0] = (char)n;
	free((void *)p);
	return 1;
}

#define INNER(j) \
	__attribute__((noinline)) static int inner##j(unsigned n) { return via(n) + 1; }
INNER(0) INNER(1) INNER(2) INNER(3) INNER(4) INNER(5) INNER(6) INNER(7)

static int (*const inners[8])(unsigned) = {
	inner0, inner1, inner2, inner3, inner4, inner5, inner6, inner7,
};

#define OUTER(i) \
	__attribute__((noinline)) static int outer##i(unsigned j) { return inners[j](j) + 1; }
OUTER(0) OUTER(1) OUTER(2) OUTER(3) OUTER(4) OUTER(5) OUTER(6) OUTER(7)

static int (*const outers[8])(unsigned) = {
	outer0, outer1, outer2, outer3, outer4, outer5, outer6, outer7,
};

int main(void)
{
	int sink = 0;

	for (unsigned r = 0; r < ROUNDS; r++)
		for (unsigned path = 0; path < 64; path++)
			sink += outers[path / 8](path % 8);
	printf("blocks %ld\n", blocks);
	return sink == -1;
}
