/*
 * What stacks alone cannot tell, and what they can.  remember keeps its
 * 40-byte block in a static and frees the previous call's block first: the
 * free runs in a later activation of the same function, from the same call
 * site, with the same stack pointer.  libtrace must not call it frame-local;
 * the free's line above the malloc's shows the block crossed a return (or a
 * loop's back edge), so those blocks are ambiguous.  The last one is freed by
 * main (level 1).  walk recurses: each activation mallocs 24 bytes, recurses,
 * then frees its own block; the stack pointer tells the activations apart,
 * so every block is frame-local (a stack candidate).
 *
 *   escape_reentry [N]    N calls of remember and N walks of depth 5
 *                         (default 1000)
 */
#include "escapetruth.h"

#define KEEP_BYTES 40
#define WALK_BYTES 24
#define DEPTH 5

static char *last;
static struct gt_tok last_tok;

static void remember(long i)
{
	if (last) {
		free(last);
		gt_free(KEEP_BYTES, last_tok);
	}
	last = malloc(KEEP_BYTES);
	if (!last)
		abort();
	last_tok = gt_alloc(KEEP_BYTES);
	snprintf(last, KEEP_BYTES, "call %ld", i);
}

static long walk(int depth)
{
	char *p = malloc(WALK_BYTES);
	struct gt_tok t;
	long sum;

	if (!p)
		abort();
	t = gt_alloc(WALK_BYTES);
	p[0] = (char)depth;
	sum = depth ? walk(depth - 1) + p[0] : 0;
	free(p);
	gt_free(WALK_BYTES, t);
	return sum;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000, sum = 0;
	int64_t t0, remember_temporary, walk_temporary;

	gt_init("escape_reentry", argc, argv, 0);
	t0 = gt.temporary;
	for (long i = 0; i < n; i++)
		remember(i);
	free(last);
	gt_free(KEEP_BYTES, last_tok);
	remember_temporary = gt.temporary - t0;
	t0 = gt.temporary;
	for (long i = 0; i < n; i++)
		sum += walk(DEPTH);
	walk_temporary = gt.temporary - t0;
	gt_write(NULL);
	{
		const struct et_site sites[] = {
			{ "remember", "temporary,escapes-to-caller:1",
			  n, remember_temporary, 0, 1, 1, 0, 0, n - 1,
			  "kept in a static, freed by the next call: ambiguous, not frame-local" },
			{ "walk", "temporary,frame-local,stack-candidate",
			  n * (DEPTH + 1), walk_temporary, n * (DEPTH + 1), 0, 0, 0, 0, 0,
			  "recursive: each activation frees its own block" },
		};
		et_write("escape_reentry", sites, sizeof(sites) / sizeof(sites[0]));
	}
	say("escape_reentry: %ld calls, %ld walks, sum %ld\n", n, n, sum);
	return 0;
}
