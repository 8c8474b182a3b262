/*
 * Allocates through malloc, realloc (from NULL and from a block) and calloc
 * in a fixed mix of sizes, and prints the bytes it asked for: the ground
 * truth a sampled run's exact total and its estimate are held to.  It
 * makes no other allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SLOTS 64
#define CALLS 300000u

int main(void)
{
	unsigned long long asked = 0;
	void *keep[SLOTS] = { 0 };

	for (unsigned i = 0; i < CALLS; i++) {
		size_t n = 16 + ((i * 2654435761u) >> 20) % 2000;
		unsigned k = i % SLOTS;
		void *p;

		switch (i % 3) {
		case 0:
			free(keep[k]);
			p = malloc(n);
			break;
		case 1:
			p = realloc(keep[k], n);   /* NULL after a failed call */
			break;
		default:
			free(keep[k]);
			p = calloc(1, n);
			break;
		}
		if (!p)
			return 1;
		keep[k] = p;
		asked += n;
	}
	for (unsigned k = 0; k < SLOTS; k++)
		free(keep[k]);
	/* Not printf: stdout's buffer would be an allocation of its own. */
	char line[32];
	int len = snprintf(line, sizeof(line), "%llu\n", asked);
	return write(1, line, (size_t)len) == len ? 0 : 1;
}
