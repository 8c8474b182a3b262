/*
 * The same few stacks again and again, each through a frame whose size
 * changes from call to call: an alloca frame, and jit_call's frame, which
 * has no unwind information.  Both keep a frame pointer, so the stack cache
 * can check them through it instead of unwinding each call: run.sh counts
 * the shim's unw_backtrace calls.  Between the alloca frame and leaf, which
 * saves rbp, lies a function that leaves rbp alone.  Prints how many
 * blocks it allocated.
 */
#include <alloca.h>
#include <stdio.h>
#include <stdlib.h>

#include "jitcall.h"

#define ROUNDS 50000

static long blocks;

/* Saves rbp whatever registers the compiler picks (the clobber), as a
 * function that keeps a frame pointer or uses rbp does: a frame of varying
 * size above it can be checked through the rbp it saved. */
__attribute__((noinline)) static int leaf(void *arg, unsigned n)
{
	__asm__ volatile("" ::: "rbp");
	volatile char *p = malloc(16 + n % 64);

	if (!p)
		abort();
	p[0] = (char)n;
	free((void *)p);
	blocks++;
	return arg != NULL;
}

/* Saves no register: rbp passes through it untouched. */
__attribute__((noinline)) static int pass(unsigned n)
{
	return leaf(NULL, n) + 1;
}

__attribute__((noinline)) static int via_alloca(unsigned n)
{
	volatile char *pad = alloca(16 + 64 * (n % 4));

	pad[0] = (char)n;
	return pass(n) + pad[0];
}

JIT_CALLER static int via_jit(unsigned n)
{
	return jit_call(leaf, &blocks, n, 16 * (n % 4));
}

int main(void)
{
	int sink = 0;

	for (unsigned i = 0; i < ROUNDS; i++)
		sink += via_alloca(i) + via_jit(i * 7);
	printf("blocks %ld\n", blocks);
	return sink == -1;
}
