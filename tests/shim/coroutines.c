/*
 * Allocations on coroutine stacks (makecontext/swapcontext, stacks from
 * malloc), through fixed and alloca frames, beside allocations on the
 * thread's own stack.  Prints "PATH COUNT" lines as stackpaths.c does
 * (leaf first: a, b fixed, v alloca; a path on a coroutine ends in 'k'):
 * run.sh checks each allocation landed on its own path, and that the
 * program ran at all (the shim must not read a coroutine's stack beyond
 * its top).
 */
#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define MAX_DEPTH 4
#define COROS     4
#define ROUNDS    20000

static unsigned long counts[2][(MAX_DEPTH + 1) * 256];
static uint32_t rng = 7;
static char path[MAX_DEPTH + 2];
static unsigned len;
static int on_coro;

static uint32_t next(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static unsigned index_of(void)
{
	unsigned i = 0;

	for (unsigned k = len; k-- > 0;)           /* leaf first */
		i = i * 4 + (unsigned)(strchr("abv", path[k]) - "abv");
	return i + len * 256u;
}

static int go(unsigned left);

__attribute__((noinline)) static int leaf(void)
{
	volatile char *p = malloc(40);

	if (!p)
		abort();
	p[0] = 1;
	free((void *)p);
	counts[on_coro][index_of()]++;
	return p != NULL;
}

__attribute__((noinline)) static int fa(unsigned left)
{
	path[len++] = 'a';
	int r = go(left);
	len--;
	__asm__ volatile("" : "+r"(r));
	return r + 1;
}

__attribute__((noinline)) static int fb(unsigned left)
{
	volatile char pad[300];

	pad[0] = (char)left;
	path[len++] = 'b';
	int r = go(left) + pad[0];
	len--;
	return r + 2;
}

__attribute__((noinline)) static int fv(unsigned left)
{
	size_t n = 16 + next() % 2000;
	volatile char *buf = alloca(n);

	buf[0] = (char)left;
	path[len++] = 'v';
	int r = go(left) + buf[0];
	len--;
	return r + 3;
}

__attribute__((noinline)) static int go(unsigned left)
{
	if (!left)
		return leaf();
	switch (next() % 3) {
	case 0:  return fa(left - 1) + 1;
	case 1:  return fb(left - 1) + 1;
	default: return fv(left - 1) + 1;
	}
}

static ucontext_t main_ctx, coro_ctx[COROS];
static volatile int sink;

static void coro_main(void)
{
	for (;;) {
		on_coro = 1;
		sink += go(1 + next() % MAX_DEPTH);
		on_coro = 0;
		swapcontext(&coro_ctx[0], &main_ctx);   /* overwritten per switch */
	}
}

int main(void)
{
	static char *stacks[COROS];

	for (int c = 0; c < COROS; c++) {
		/* Stacks of different sizes, each just big enough. */
		size_t size = 64 * 1024 + (size_t)c * 12 * 1024;
		stacks[c] = malloc(size);
		if (!stacks[c] || getcontext(&coro_ctx[c]))
			return 1;
		coro_ctx[c].uc_stack.ss_sp = stacks[c];
		coro_ctx[c].uc_stack.ss_size = size;
		coro_ctx[c].uc_link = &main_ctx;
		makecontext(&coro_ctx[c], coro_main, 0);
	}
	for (unsigned i = 0; i < ROUNDS; i++) {
		int c = (int)(next() % COROS);
		ucontext_t saved = coro_ctx[0];

		if (c == 0) {
			if (swapcontext(&main_ctx, &coro_ctx[0]))
				return 1;
		} else {
			/* coro_main saves into coro_ctx[0]: run c there, keep
			 * coroutine 0's own context aside. */
			coro_ctx[0] = coro_ctx[c];
			if (swapcontext(&main_ctx, &coro_ctx[0]))
				return 1;
			coro_ctx[c] = coro_ctx[0];
			coro_ctx[0] = saved;
		}
		sink += go(1 + next() % MAX_DEPTH);
	}
	for (int where = 0; where < 2; where++)
		for (unsigned l = 1; l <= MAX_DEPTH; l++) {
			unsigned total = 1;
			for (unsigned k = 0; k < l; k++)
				total *= 4;
			for (unsigned i = 0; i < total; i++) {
				unsigned long n = counts[where][i + l * 256u];
				char p[MAX_DEPTH + 2];
				unsigned x = i, ok = 1;

				if (!n)
					continue;
				for (unsigned k = l; k-- > 0; x /= 4) {
					if (x % 4 == 3)
						ok = 0;
					p[k] = "abv?"[x % 4];
				}
				if (!ok)
					continue;
				p[l] = where ? 'k' : '\0';
				p[l + 1] = '\0';
				printf("%s %lu\n", p, n);
			}
		}
	return 0;
}
