/*
 * PATHS call paths of every length from 1 to MAX_LEN frames to one malloc
 * call site, each taken ROUNDS times in a shuffled order.  There are more
 * than a thread's first stack cache holds, so its ways keep taking a
 * stack of one depth where one of another was: an entry takes one to
 * three 64-byte units by depth, and one that outgrows its units must not
 * spill into another's.  Prints "PATH COUNT" as stackpaths does: the
 * path leaf first, a letter per frame (fa -> a, fb -> b, fc -> c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATHS   1500
#define MAX_LEN 56
#define ROUNDS  60

struct walk {
	const char *path;         /* root first */
	unsigned len;
};

static char paths[PATHS][MAX_LEN + 1];
static unsigned long counts[PATHS];
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

/* Three frame sizes, so that paths of one length reach leaf at different
 * stack depths and paths of different lengths at the same one. */
#define FRAME(name, pad_bytes)                                                  \
	__attribute__((noinline)) static int name(const struct walk *w, unsigned k) \
	{                                                                       \
		volatile char pad[pad_bytes];                                   \
		pad[0] = (char)k;                                               \
		int r = step(w, k);                                             \
		return r + pad[0];                                              \
	}
FRAME(fa, 8)
FRAME(fb, 40)
FRAME(fc, 200)

int main(void)
{
	static unsigned order[PATHS];
	int sink = 0;

	for (unsigned i = 0; i < PATHS; i++) {
		unsigned len;
		int dup;

		do {
			len = 1 + next() % MAX_LEN;
			for (unsigned k = 0; k < len; k++)
				paths[i][k] = "abc"[next() % 3];
			paths[i][len] = '\0';
			dup = 0;
			for (unsigned j = 0; j < i && !dup; j++)
				dup = !strcmp(paths[i], paths[j]);
		} while (dup);
		order[i] = i;
	}
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = PATHS - 1; i > 0; i--) {
			unsigned j = next() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (unsigned i = 0; i < PATHS; i++) {
			struct walk w = { paths[order[i]], (unsigned)strlen(paths[order[i]]) };

			sink += step(&w, 0);
			counts[order[i]]++;
		}
	}
	__asm__ volatile("" : : "r"(sink));
	for (unsigned i = 0; i < PATHS; i++) {
		char leaf_first[MAX_LEN + 1];
		unsigned len = (unsigned)strlen(paths[i]);

		for (unsigned k = 0; k < len; k++)
			leaf_first[k] = paths[i][len - 1 - k];
		leaf_first[len] = '\0';
		printf("%s %lu\n", leaf_first, counts[i]);
	}
	return 0;
}
