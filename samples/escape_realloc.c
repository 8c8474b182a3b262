/*
 * Two strings of N characters built one character at a time: build_additive
 * grows its buffer with realloc(len + 2) on every character (additive growth:
 * each realloc may copy the whole string, O(N^2)); build_doubling doubles its
 * capacity when full (geometric: O(N) copying).  Both start from
 * realloc(NULL, ...), so each builder is one site, and main frees both
 * strings (they escape to their caller).
 *
 *   escape_realloc [N]    characters per string (default 2000)
 */
#include "escapetruth.h"

static char *build_additive(long n, long *calls)
{
	char *s = NULL;
	size_t len = 0;

	for (long i = 0; i < n; i++) {
		char *t = realloc(s, len + 2);
		if (!t)
			abort();
		if (s)
			gt_realloc(len + 1, len + 2);
		else
			gt_realloc_new(len + 2);
		(*calls)++;
		s = t;
		s[len++] = (char)('a' + i % 26);
		s[len] = '\0';
	}
	return s;
}

static char *build_doubling(long n, long *calls, size_t *size)
{
	char *s = NULL;
	size_t len = 0, cap = 0;

	for (long i = 0; i < n; i++) {
		if (len + 2 > cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char *t = realloc(s, ncap);
			if (!t)
				abort();
			if (s)
				gt_realloc(cap, ncap);
			else
				gt_realloc_new(ncap);
			(*calls)++;
			s = t;
			cap = ncap;
		}
		s[len++] = (char)('a' + i % 26);
		s[len] = '\0';
	}
	*size = cap;
	return s;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	long additive = 0, doubling = 0;
	size_t bsize = 0;
	char *a, *b;

	gt_init("escape_realloc", argc, argv, 0);
	a = build_additive(n, &additive);
	b = build_doubling(n, &doubling, &bsize);
	say("escape_realloc: %zu and %zu characters\n", strlen(a), strlen(b));
	free(a);
	gt_free((size_t)n + 1, (struct gt_tok){ 0, 0 });
	free(b);
	gt_free(bsize, (struct gt_tok){ 0, 0 });
	gt_write(NULL);
	{
		/* Each chain's first and last blocks end in main (level 1);
		 * the rest were moved on by the next realloc. */
		const struct et_site sites[] = {
			{ "build_additive",
			  "temporary,escapes-to-caller:1,realloc-additive",
			  additive, -1, 0, 2, 1, 0, 0, 0,
			  "realloc(len + 2) per character, freed by main" },
			{ "build_doubling", "temporary,escapes-to-caller:1",
			  doubling, -1, 0, 2, 1, 0, 0, 0,
			  "capacity doubled when full, freed by main" },
		};
		et_write("escape_realloc", sites, sizeof(sites) / sizeof(sites[0]));
	}
	say("escape_realloc: %ld reallocs growing by one, %ld doubling\n",
	    additive, doubling);
	return 0;
}
