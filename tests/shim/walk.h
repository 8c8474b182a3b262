/*
 * Call paths to one malloc call site, for the stack-cache tests that send
 * allocations down many of them (deeppaths.c, bigframes.c).  A path is a
 * string of frame letters, root first: frame k calls fa, fb or fc by the
 * letter at k, and the last calls leaf, which allocates.  The includer
 * defines struct walk (path, len) and the three frames' sizes, FA_PAD,
 * FB_PAD and FC_PAD: of different sizes, paths of one length reach leaf
 * at different stack depths and paths of different lengths at the same one.
 */
#ifndef LT_TESTS_SHIM_WALK_H
#define LT_TESTS_SHIM_WALK_H

#include <stdint.h>
#include <stdlib.h>

static uint32_t rng = 2463534242u;

static uint32_t next(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

__attribute__((noinline)) static int leaf(void)
{
	volatile char *p = malloc(24 + next() % 100);

	if (!p)
		abort();
	p[0] = 1;
	int r = p[0];
	free((void *)p);
	return r;
}

static int fa(const struct walk *w, unsigned k);
static int fb(const struct walk *w, unsigned k);
static int fc(const struct walk *w, unsigned k);

/* Frame k + 1 of the path, called from frame k (no frame of its own). */
static inline __attribute__((always_inline)) int step(const struct walk *w, unsigned k)
{
	if (k == w->len)
		return leaf();
	switch (w->path[k]) {
	case 'a':  return fa(w, k + 1);
	case 'b':  return fb(w, k + 1);
	default:   return fc(w, k + 1);
	}
}

#define WALK_FRAME(name, pad_bytes)                                             \
	__attribute__((noinline)) static int name(const struct walk *w, unsigned k) \
	{                                                                       \
		volatile char pad[pad_bytes];                                   \
		pad[0] = (char)k;                                               \
		int r = step(w, k);                                             \
		return r + pad[0];                                              \
	}
WALK_FRAME(fa, FA_PAD)
WALK_FRAME(fb, FB_PAD)
WALK_FRAME(fc, FC_PAD)

#endif
