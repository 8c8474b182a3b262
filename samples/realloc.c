/*
 * Every allocation function of the family at least once, each from a
 * function named after it: realloc growth (additive, the quadratic-copy
 * pattern), realloc(NULL, n), realloc(p, 0), reallocarray, calloc,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc; and calls that
 * fail, which are not allocations.  One aligned block is left allocated.
 */
#include <malloc.h>

#include "groundtruth.h"

/* Sizes that cannot be satisfied, hidden from the compiler's size checks. */
static volatile size_t huge = SIZE_MAX - 4096;

/* NULL, hidden from the compiler, which turns realloc(NULL, n) into malloc(n). */
static void *volatile nothing;

/* Appends 64 bytes at a time: additive growth, 16 reallocs. */
static size_t realloc_growth(void)
{
	size_t cap = 64;
	char *buf = malloc(cap);

	if (!buf)
		return 0;
	gt_alloc(cap);
	for (int i = 0; i < 16; i++) {
		char *bigger = realloc(buf, cap + 64);

		if (!bigger)
			break;
		gt_realloc(cap, cap + 64);
		buf = bigger;
		cap += 64;
		memset(buf, 'x', cap);
	}
	/* And one shrink. */
	char *smaller = realloc(buf, 100);
	if (smaller) {
		gt_realloc(cap, 100);
		buf = smaller;
		cap = 100;
	}
	free(buf);
	gt_free(cap, (struct gt_tok){ 0, 0 });
	return cap;
}

/* realloc(NULL, n) allocates; realloc(p, 0) releases p (glibc returns NULL). */
static void realloc_edges(void)
{
	char *p = realloc(nothing, 50);

	if (!p)
		return;
	gt_realloc_new(50);
	char *q = realloc(p, 0);
	if (q) {
		/* A libc where realloc(p, 0) returns a block: an allocation. */
		gt_realloc(50, 0);
		free(q);
		gt_free(0, (struct gt_tok){ 0, 0 });
	} else {
		gt_free(50, (struct gt_tok){ 0, 0 });
	}
}

static void reallocarray_calls(void)
{
	int *v = reallocarray(nothing, 4, 8);

	if (!v)
		return;
	gt_realloc_new(32);
	int *w = reallocarray(v, 10, 20);
	if (w) {
		gt_realloc(32, 200);
		v = w;
	}
	free(v);
	gt_free(w ? 200 : 32, (struct gt_tok){ 0, 0 });
}

static void calloc_call(void)
{
	char *p = calloc(3, 7);

	if (!p)
		return;
	gt_alloc(21);
	free(p);
	gt_free(21, (struct gt_tok){ 0, 0 });
}

static void posix_memalign_call(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, 100) != 0)
		return;
	gt_alloc(100);
	free(p);
	gt_free(100, (struct gt_tok){ 0, 0 });
}

/* Leaked: 256 bytes aligned to 128. */
static void *aligned_alloc_call(void)
{
	void *p = aligned_alloc(128, 256);

	if (p) {
		gt_alloc(256);
		gt_leak_from("aligned_alloc_call", 256);
	}
	return p;
}

static void memalign_call(void)
{
	void *p = memalign(32, 48);

	if (!p)
		return;
	gt_alloc(48);
	free(p);
	gt_free(48, (struct gt_tok){ 0, 0 });
}

static void valloc_call(void)
{
	void *p = valloc(123);

	if (!p)
		return;
	gt_alloc(123);
	free(p);
	gt_free(123, (struct gt_tok){ 0, 0 });
}

/* pvalloc rounds up to a page, but 77 bytes is what was asked for. */
static void pvalloc_call(void)
{
	void *p = pvalloc(77);

	if (!p)
		return;
	gt_alloc(77);
	free(p);
	gt_free(77, (struct gt_tok){ 0, 0 });
}

/* None of these succeeds, so none is an allocation, a realloc or a free. */
static int failing_calls(void)
{
	int failed = 0;
	void *p = NULL;
	char *keep = malloc(10);

	if (!keep)
		return 0;
	struct gt_tok t = gt_alloc(10);
	failed += malloc(huge) == NULL;
	failed += calloc(huge, 2) == NULL;
	failed += reallocarray(nothing, huge, 4) == NULL;
	failed += posix_memalign(&p, 3, 64) != 0;       /* not a power of two */
	failed += memalign(64, huge) == NULL;
	char *same = realloc(keep, huge);               /* fails: keep is untouched */
	if (same)
		keep = same;
	failed += same == NULL;
	free(keep);
	gt_free(10, t);
	free(nothing);                                  /* free(NULL): not a free */
	return failed;
}

int main(int argc, char **argv)
{
	void *kept;
	char *big;
	size_t last;
	int failed;

	gt_init("realloc", argc, argv, 0);

	last = realloc_growth();
	realloc_edges();
	reallocarray_calls();
	calloc_call();
	posix_memalign_call();
	kept = aligned_alloc_call();
	memalign_call();
	valloc_call();
	pvalloc_call();
	failed = failing_calls();

	/* The heap's peak: this block, beside the aligned one. */
	big = malloc(100000);
	if (!big)
		return 1;
	gt_alloc(100000);
	memset(big, 0x5a, 100000);
	free(big);
	gt_free(100000, (struct gt_tok){ 0, 0 });

	gt_write(NULL);
	say("realloc: grew a buffer 64 bytes at a time to %d, then shrank it to %zu\n",
	    64 + 16 * 64, last);
	say("realloc: called every allocation function; %d calls failed as they should\n",
	    failed);
	say("realloc: left one aligned block of 256 bytes %s\n", kept ? "allocated" : "unallocated");
	return 0;
}
