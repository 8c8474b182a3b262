/*
 * Unit tests for the escape analysis (analyzer/fate.c, analyzer/classify.c)
 * on synthetic dumps with hand-made stacks and stack pointers: frame-local
 * (by the function, by a callee), escapes at levels 1 and 2, another thread,
 * leaked, an intervening event above the allocating frame, recursion told
 * apart by stack pointers, one-frame free sites, realloc chains (additive
 * and doubling, with the chain's first block), pool and stack candidates.
 * No symbols: every frame is its own function, levels are frame counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "classify.h"
#include "dump.h"
#include "dumpgen.h"
#include "fate.h"
#include "model.h"
#include "symbols.h"

struct built {
	struct lt_dump *dump;
	struct lt_model *m;
	struct lt_fates *f;
	struct lt_symbolizer *sym;
	struct lt_classifier *c;
};

static struct built build(struct lt_gen *g)
{
	struct built b = { 0 };
	struct lt_err err = { "" };
	struct lt_model_hooks hooks = { 0 };
	char *name = lt_gen_tmpname();

	lt_gen_trailer(g, 1000000, NULL);
	assert_int_equal(lt_gen_write(g, name, SIZE_MAX), 0);
	if (lt_dump_open(name, &b.dump, &err) < 0)
		fail_msg("open: %s", err.msg);
	unlink(name);
	free(name);
	b.f = lt_fates_new(b.dump);
	assert_non_null(b.f);
	hooks.record = lt_fates_observe;
	hooks.record_ctx = b.f;
	if (lt_model_build_hooked(b.dump, &hooks, &b.m, &err) < 0)
		fail_msg("model: %s", err.msg);
	assert_int_equal(lt_fates_finish(b.f), 0);
	b.sym = lt_sym_new();
	assert_non_null(b.sym);
	b.c = lt_classifier_new(b.m, b.f, b.sym);
	assert_non_null(b.c);
	lt_gen_free(g);
	return b;
}

static void release_built(struct built *b)
{
	lt_classifier_free(b->c);
	lt_sym_free(b->sym);
	lt_fates_free(b->f);
	lt_model_free(b->m);
	lt_dump_close(b->dump);
}

static struct lt_site_classes classes_of(struct built *b, uint32_t stack)
{
	struct lt_site_classes out;

	for (size_t i = 0; i < b->m->nsites; i++)
		if (b->m->sites[i]->stack_id == stack) {
			assert_int_equal(lt_classify_site(b->c, b->m->sites[i],
							  &out), 0);
			return out;
		}
	fail_msg("no site with stack %u", stack);
	return out;
}

/* F (0x1000) called by G at 0x2000, G by H at 0x3000, H by start at 0x4000. */
#define SP_F 0x7000u     /* F's stack pointer at its calls */
#define SP_G 0x7100u
#define SP_H 0x7200u
#define SP_K 0x6f00u     /* a callee of F */

static const uint64_t in_f[] = { 0x1000, 0x2000, 0x3000, 0x4000 };
static const uint64_t free_in_f[] = { 0x1010, 0x2000, 0x3000, 0x4000 };
static const uint64_t free_in_k[] = { 0x5010, 0x1020, 0x2000, 0x3000 };
static const uint64_t free_in_g[] = { 0x2010, 0x3000, 0x4000 };
static const uint64_t free_in_x[] = { 0x6010, 0x3020, 0x4000 };   /* X, H's callee */
static const uint64_t free_one_g[] = { 0x2010 };
static const uint64_t in_h[] = { 0x3030, 0x4000 };

static void stacks(struct lt_gen *g)
{
	lt_gen_stack(g, 10, in_f, 4);
	lt_gen_stack(g, 20, free_in_f, 4);
	lt_gen_stack(g, 21, free_in_k, 4);
	lt_gen_stack(g, 22, free_in_g, 3);
	lt_gen_stack(g, 23, free_in_x, 3);
	lt_gen_stack(g, 24, free_one_g, 1);
	lt_gen_stack(g, 25, in_h, 2);
}

/* One block from F per case, each freed its own way. */
static void test_levels(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	struct lt_site_classes c;
	uint64_t t = 100, p = 0x10000;

	(void)state;
	lt_gen_chunk(g, 1);
	stacks(g);
	/* frame-local: F frees it itself, then through its callee K */
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p, 64, SP_F);
	lt_gen_free_site(g, t++, p, 20, SP_F);
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p, 64, SP_F);
	lt_gen_free_site(g, t++, p, 21, SP_K);
	/* escapes: G frees it (level 1); H's callee X frees it (level 2) */
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p, 64, SP_F);
	lt_gen_free_site(g, t++, p, 22, SP_G);
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p, 64, SP_F);
	lt_gen_free_site(g, t++, p, 23, SP_K);
	/* F's own free site, but H allocated in between with a stack
	 * pointer above F's: F had returned, the free is a later F's
	 * (G's callee): level 1, not frame-local */
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p, 64, SP_F);
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 25, t++, p + 0x100, 8, SP_H);
	lt_gen_free_site(g, t++, p, 20, SP_F);
	/* a one-frame free site above F's stack pointer: F is gone, the
	 * level is not shown */
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p, 64, SP_F);
	lt_gen_free_site(g, t++, p, 24, SP_G);
	/* no free site at all */
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p, 64, SP_F);
	lt_gen_free_site(g, t++, p, 0, SP_G);
	/* freed by thread 2; and one never freed */
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p + 0x200, 64, SP_F);
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p + 0x300, 64, SP_F);
	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 90, 0x7002);
	lt_gen_free_site(g, t++, p + 0x200, 22, 0x9000);
	b = build(g);

	c = classes_of(&b, 10);
	assert_true(c.calls == 9);
	assert_true(c.frame_local == 2);
	assert_true(c.escapes[1] == 2);
	assert_true(c.escapes[2] == 1);
	assert_true(c.escapes_far == 1);
	assert_true(c.no_free_site == 1);
	assert_true(c.thread == 1);
	assert_true(c.leaked == 1);
	assert_true(c.undecided == 0 && c.ambiguous == 0);
	assert_false(c.stack_candidate);
	assert_int_equal(c.deepest_level, 2);
	assert_true(lt_classifier_has_free_sites(b.c));
	release_built(&b);
}

/* Recursion: F calls itself at 0x1100.  The stack pointer tells the
 * activation that allocated from the one that frees. */
static void test_recursion(void **state)
{
	static const uint64_t deep[] = { 0x1000, 0x1100, 0x1100, 0x2000, 0x3000 };
	static const uint64_t same[] = { 0x1010, 0x1100, 0x1100, 0x2000, 0x3000 };
	static const uint64_t outer[] = { 0x1010, 0x1100, 0x2000, 0x3000 };
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	struct lt_site_classes c;

	(void)state;
	lt_gen_chunk(g, 1);
	lt_gen_stack(g, 11, deep, 5);
	lt_gen_stack(g, 12, same, 5);
	lt_gen_stack(g, 13, outer, 4);
	/* the activation frees its own block: frame-local */
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 11, 100, 0x10000, 24, 0x7000);
	lt_gen_free_site(g, 101, 0x10000, 12, 0x7000);
	/* its caller, F one level up (higher sp), frees it: level 1 */
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 11, 102, 0x10000, 24, 0x7000);
	lt_gen_free_site(g, 103, 0x10000, 13, 0x7040);
	b = build(g);
	c = classes_of(&b, 11);
	assert_true(c.frame_local == 1);
	assert_true(c.escapes[1] == 1);
	release_built(&b);
}

/* realloc chains: +1 byte steps (additive) beside doubling; the chain's
 * first block gets the chain's end, the middle ones are moved on. */
static void test_realloc_chains(void **state)
{
	static const uint64_t grow_add[] = { 0x1200, 0x2000, 0x3000, 0x4000 };
	static const uint64_t grow_dbl[] = { 0x1300, 0x2000, 0x3000, 0x4000 };
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	struct lt_site_classes c;
	uint64_t t = 100, p = 0x20000, size = 16;

	(void)state;
	lt_gen_chunk(g, 1);
	stacks(g);
	lt_gen_stack(g, 30, grow_add, 4);
	lt_gen_stack(g, 31, grow_dbl, 4);
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, p, size, SP_F);
	for (int i = 0; i < 20; i++, size++, p += 0x100)
		lt_gen_realloc_sp(g, 30, t, t + 1, p, p + 0x100, size + 1, SP_F), t += 2;
	lt_gen_free_site(g, t++, p, 22, SP_G);              /* G frees: level 1 */
	p = 0x40000;
	lt_gen_alloc_sp(g, LT_FN_REALLOC, 31, t++, p, 16, SP_F);
	for (size = 16; size < 4096; size *= 2, p += 0x100)
		lt_gen_realloc_sp(g, 31, t, t + 1, p, p + 0x100, size * 2, SP_F), t += 2;
	lt_gen_free_site(g, t++, p, 20, SP_F);              /* F frees it */
	b = build(g);

	c = classes_of(&b, 10);              /* the chain's first block */
	assert_true(c.calls == 1 && c.escapes[1] == 1 && c.moved == 0);
	assert_true(c.chained == 1);
	assert_false(c.stack_candidate);
	c = classes_of(&b, 30);
	assert_true(c.calls == 20 && c.moved == 19 && c.escapes[1] == 1);
	assert_true(c.additive);
	/* 16 -> 36 by one byte: every step is small (<= 1/8 of the block) */
	assert_int_equal(c.fate->growth_steps, 20);
	assert_int_equal(c.fate->additive_chains, 1);
	assert_int_equal(c.fate->additive_steps, 20 - LT_FATE_SMALL_STEPS + 1);
	assert_int_equal(c.fate->step_min, 1);
	assert_int_equal(c.fate->step_max, 1);
	assert_int_equal(c.fate->max_size_grown, 36);
	c = classes_of(&b, 31);              /* doubling from realloc(NULL) */
	assert_false(c.additive);
	assert_int_equal(c.fate->growth_steps, 8);
	assert_true(c.frame_local == 2 && c.moved == 7);
	release_built(&b);
}

/* Candidates: a 64-byte frame-local block (stack); 48-byte blocks 16 at a
 * time, 2,000 in all, freed two levels up (pool); a 32-byte block handed
 * straight back to its caller (neither). */
static void test_candidates(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	static const uint64_t in_f2[] = { 0x1400, 0x2000, 0x3000, 0x4000 };
	static const uint64_t in_f3[] = { 0x1500, 0x2000, 0x3000, 0x4000 };
	static const uint64_t in_f4[] = { 0x1600, 0x2000, 0x3000, 0x4000 };
	struct built b;
	struct lt_site_classes c;
	uint64_t t = 100;

	(void)state;
	lt_gen_chunk(g, 1);
	stacks(g);
	lt_gen_stack(g, 40, in_f2, 4);
	lt_gen_stack(g, 41, in_f3, 4);
	lt_gen_stack(g, 42, in_f4, 4);
	for (int i = 0; i < 10; i++) {
		lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, t++, 0x10000, 64, SP_F);
		lt_gen_free_site(g, t++, 0x10000, 20, SP_F);
	}
	for (int r = 0; r < 125; r++) {
		for (int i = 0; i < 16; i++)
			lt_gen_alloc_sp(g, LT_FN_MALLOC, 40, t++,
					0x30000 + 0x40 * (uint64_t)i, 48, SP_F);
		for (int i = 0; i < 16; i++)
			lt_gen_free_site(g, t++, 0x30000 + 0x40 * (uint64_t)i,
					 23, SP_K);
	}
	for (int i = 0; i < 2000; i++) {
		lt_gen_alloc_sp(g, LT_FN_MALLOC, 41, t++, 0x50000, 32, SP_F);
		lt_gen_free_site(g, t++, 0x50000, 22, SP_G);
	}
	/* frame-local, but 16 at a time: a pool's business, not locals */
	for (int r = 0; r < 125; r++) {
		for (int i = 0; i < 16; i++)
			lt_gen_alloc_sp(g, LT_FN_MALLOC, 42, t++,
					0x60000 + 0x40 * (uint64_t)i, 48, SP_F);
		for (int i = 0; i < 16; i++)
			lt_gen_free_site(g, t++, 0x60000 + 0x40 * (uint64_t)i,
					 20, SP_F);
	}
	b = build(g);

	c = classes_of(&b, 10);
	assert_true(c.stack_candidate);
	assert_false(c.pool_candidate);
	c = classes_of(&b, 40);
	assert_true(c.escapes[2] == 2000);
	assert_int_equal(c.peak_live_blocks, 16);
	assert_true(c.pool_candidate);
	assert_false(c.stack_candidate);
	c = classes_of(&b, 41);
	assert_true(c.escapes[1] == 2000 && c.temporary == 2000);
	assert_false(c.pool_candidate);
	assert_false(c.stack_candidate);
	c = classes_of(&b, 42);
	assert_true(c.frame_local == 2000);
	assert_int_equal(c.fate->peak_live_per_thread, 16);
	assert_false(c.stack_candidate);
	assert_true(c.pool_candidate);
	release_built(&b);
}

/* No free site anywhere (LIBTRACE_FREE_DEPTH=0): nothing but threads,
 * leaks and growth can be told, and the classifier says so. */
static void test_no_free_sites(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	struct lt_site_classes c;

	(void)state;
	lt_gen_chunk(g, 1);
	stacks(g);
	for (int i = 0; i < 2000; i++) {
		lt_gen_alloc_sp(g, LT_FN_MALLOC, 10, 100 + 2 * (uint64_t)i, 0x10000, 64, SP_F);
		lt_gen_free_site(g, 101 + 2 * (uint64_t)i, 0x10000, 0, SP_F);
	}
	b = build(g);
	c = classes_of(&b, 10);
	assert_true(c.no_free_site == 2000 && c.frame_local == 0);
	assert_false(c.stack_candidate);
	assert_false(c.pool_candidate);
	assert_false(lt_classifier_has_free_sites(b.c));
	release_built(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_realloc_chains),
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_no_free_sites),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
