/*
 * Random call paths to one malloc call site, through functions of fixed
 * and of varying frame size (alloca, and code without unwind information
 * whose frame pointer is all an unwinder has, as a JIT's), at varying
 * depths, on two threads.  Prints how many allocations each path made, as
 * "PATH COUNT" with the path written leaf first (a letter per frame: a, b,
 * c fixed, v alloca, j through jit_call);
 * run.sh compares that with the stacks libtrace recorded.  A stack cache
 * that ever returned a stale stack would move counts between paths.
 */
#include <alloca.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitcall.h"

#define MAX_DEPTH 6
#define PER_LEN   15625u      /* 5^MAX_DEPTH paths of one length */
#define ROUNDS    60000

struct walk {
	uint32_t rng;             /* drives one walk */
	uint32_t outer;           /* picks the walks */
	char path[MAX_DEPTH + 1];
	unsigned len;
	unsigned long *counts;    /* indexed by path_index() */
};

static unsigned path_index(const char *path, unsigned len)
{
	unsigned i = 0;

	for (unsigned k = 0; k < len; k++)
		i = i * 5 + (unsigned)(strchr("abcvj", path[k]) - "abcvj");
	return i + len * PER_LEN;   /* no two lengths share an index */
}

static uint32_t next(struct walk *w)
{
	w->rng = w->rng * 1103515245u + 12345u;
	return w->rng >> 8;
}

static int go(struct walk *w, unsigned left);

__attribute__((noinline)) static int leaf(struct walk *w)
{
	volatile char *p = malloc(24 + next(w) % 100);

	if (!p)
		abort();
	p[0] = 1;
	int r = p[0];
	free((void *)p);
	/* The path was written root first; count it leaf first. */
	char rev[MAX_DEPTH + 1];
	for (unsigned k = 0; k < w->len; k++)
		rev[k] = w->path[w->len - 1 - k];
	w->counts[path_index(rev, w->len)]++;
	return r;
}

__attribute__((noinline)) static int fa(struct walk *w, unsigned left)
{
	w->path[w->len++] = 'a';
	int r = go(w, left);
	w->len--;
	__asm__ volatile("" : "+r"(r));
	return r + 1;
}

__attribute__((noinline)) static int fb(struct walk *w, unsigned left)
{
	volatile char pad[200];

	pad[0] = (char)left;
	w->path[w->len++] = 'b';
	int r = go(w, left) + pad[0];
	w->len--;
	return r + 2;
}

__attribute__((noinline)) static int fc(struct walk *w, unsigned left)
{
	volatile char pad[40];

	pad[0] = (char)left;
	w->path[w->len++] = 'c';
	int r = go(w, left) + pad[0];
	w->len--;
	return r + 3;
}

/* A frame whose size changes from call to call. */
__attribute__((noinline)) static int fv(struct walk *w, unsigned left)
{
	size_t n = 16 + ((w->outer >> 4) ^ left * 977u) % 3000;
	volatile char *buf = alloca(n);

	buf[0] = (char)left;
	buf[n - 1] = 0;
	w->path[w->len++] = 'v';
	int r = go(w, left) + buf[0];
	w->len--;
	return r + 4;
}

static int go_arg(void *w, unsigned left)
{
	return go(w, left);
}

JIT_CALLER static int fj(struct walk *w, unsigned left)
{
	size_t pad = 16 * (((w->outer >> 4) ^ left * 977u) % 64);

	w->path[w->len++] = 'j';
	int r = jit_call(go_arg, w, left, pad);
	w->len--;
	return r + 5;
}

__attribute__((noinline)) static int go(struct walk *w, unsigned left)
{
	if (!left)
		return leaf(w);
	switch (next(w) % 5) {
	case 0:  return fa(w, left - 1) + 1;
	case 1:  return fb(w, left - 1) + 1;
	case 2:  return fc(w, left - 1) + 1;
	case 3:  return fv(w, left - 1) + 1;
	default: return fj(w, left - 1) + 1;
	}
}

#define SLOTS (MAX_DEPTH + 1) * PER_LEN

static void walk_rounds(struct walk *w, unsigned rounds)
{
	int sink = 0;

	for (unsigned i = 0; i < rounds; i++) {
		/* Mostly a few hot paths, as in real programs, sometimes anything. */
		w->outer = w->outer * 1103515245u + 12345u;
		uint32_t pick = w->outer >> 8;
		w->rng = pick % 8 ? (pick % 32) * 7919u : pick;
		sink += go(w, 1 + next(w) % MAX_DEPTH);
	}
	__asm__ volatile("" : : "r"(sink));
}

/* "PATH COUNT" for every path counts[] has, PATH leaf first, then the
 * letter after (none when 0). */
static void print_paths(const unsigned long *counts, char after)
{
	for (unsigned len = 1; len <= MAX_DEPTH; len++) {
		unsigned total = 1;
		for (unsigned k = 0; k < len; k++)
			total *= 5;
		for (unsigned i = 0; i < total; i++) {
			unsigned long n = counts[i + len * PER_LEN];
			char path[MAX_DEPTH + 2];
			unsigned x = i;

			if (!n)
				continue;
			for (unsigned k = len; k-- > 0; x /= 5)
				path[k] = "abcvj"[x % 5];
			path[len] = after;
			path[len + 1] = '\0';
			printf("%s %lu\n", path, n);
		}
	}
}

#ifdef CHURN
/*
 * The same walks on short-lived threads, a few at a time, started through
 * two routines with frames of one size, so that their stacks sit at the
 * same distances from each thread's stack end and differ only in the
 * return address into the routine.  Some threads run on stacks the
 * program allocated, some on glibc's of another size.  A new thread's
 * stack is often an old one's again, alloca blocks and all, still holding
 * return addresses where an earlier layout put them.  Paths print with the
 * routine's letter, x or y, last.
 */
#define WAVES    500
#define AT_ONCE  4
#define ROUNDS_EACH 400

struct churn {
	struct walk w;
	void *stack;              /* from malloc, or NULL: glibc's */
};

__attribute__((noinline)) static void *start_x(void *arg)
{
	volatile char pad[64];

	pad[0] = 1;
	walk_rounds(arg, ROUNDS_EACH);
	return (void *)(uintptr_t)pad[0];
}

__attribute__((noinline)) static void *start_y(void *arg)
{
	volatile char pad[64];

	pad[0] = 2;
	walk_rounds(arg, ROUNDS_EACH);
	return (void *)(uintptr_t)pad[0];
}

int main(void)
{
	static unsigned long counts[2][SLOTS], each[AT_ONCE][SLOTS];
	static struct churn c[AT_ONCE];
	pthread_t t[AT_ONCE];

	for (unsigned wave = 0; wave < WAVES; wave++) {
		for (unsigned k = 0; k < AT_ONCE; k++) {
			unsigned serial = wave * AT_ONCE + k;
			pthread_attr_t attr;

			memset(each[k], 0, sizeof(each[k]));
			c[k] = (struct churn){ .w = { .outer = serial + 1, .counts = each[k] } };
			pthread_attr_init(&attr);
			if (serial % 3 == 1) {
				c[k].stack = malloc(256u << 10);
				if (!c[k].stack ||
				    pthread_attr_setstack(&attr, c[k].stack, 256u << 10))
					return 1;
			} else if (serial % 3 == 2) {
				pthread_attr_setstacksize(&attr, 1u << 20);
			}
			if (pthread_create(&t[k], &attr, serial % 2 ? start_y : start_x, &c[k].w))
				return 1;
			pthread_attr_destroy(&attr);
		}
		for (unsigned k = 0; k < AT_ONCE; k++) {
			pthread_join(t[k], NULL);
			free(c[k].stack);
			for (unsigned i = 0; i < SLOTS; i++)
				counts[(wave * AT_ONCE + k) % 2][i] += each[k][i];
		}
	}
	print_paths(counts[0], 'x');
	print_paths(counts[1], 'y');
	return 0;
}
#else
static void *run(void *arg)
{
	walk_rounds(arg, ROUNDS);
	return NULL;
}

int main(void)
{
	static unsigned long counts[2][SLOTS];
	struct walk w[2] = { { .outer = 1, .counts = counts[0] }, { .outer = 2, .counts = counts[1] } };
	pthread_t other;

	if (pthread_create(&other, NULL, run, &w[1]))
		return 1;
	run(&w[0]);
	pthread_join(other, NULL);
	for (unsigned i = 0; i < SLOTS; i++)
		counts[0][i] += counts[1][i];
	print_paths(counts[0], '\0');
	return 0;
}
#endif
