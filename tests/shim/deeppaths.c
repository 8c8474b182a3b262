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

#define FA_PAD 8
#define FB_PAD 40
#define FC_PAD 200
#include "walk.h"

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
