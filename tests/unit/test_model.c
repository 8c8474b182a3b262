/*
 * Unit tests for the replay (analyzer/model.c): cross-thread ordering by
 * ticks, the realloc split, pthread_t reuse, the temporary rule, thread
 * counters, sampling, lost events and trailer checks.  Each scenario is
 * built so that a merge in file order or a naive rule gives other numbers.
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

#include "dump.h"
#include "dumpgen.h"
#include "model.h"

struct built {
	struct lt_dump *dump;
	struct lt_model *model;
};

static struct built build(struct lt_gen *g)
{
	struct built b = { 0 };
	struct lt_err err = { "" };
	char *name = lt_gen_tmpname();

	assert_int_equal(lt_gen_write(g, name, SIZE_MAX), 0);
	if (lt_dump_open(name, &b.dump, &err) < 0)
		fail_msg("open: %s", err.msg);
	unlink(name);   /* the mapping outlives the name */
	free(name);
	if (lt_model_build(b.dump, NULL, NULL, &b.model, &err) < 0)
		fail_msg("model: %s", err.msg);
	lt_gen_free(g);
	return b;
}

static void release_built(struct built *b)
{
	for (size_t i = 0; i < b->model->nwarnings; i++)
		print_message("warning: %s\n", b->model->warnings[i]);
	lt_model_free(b->model);
	lt_dump_close(b->dump);
}

static const struct lt_site *site_of(const struct lt_model *m, uint32_t id)
{
	for (size_t i = 0; i < m->nsites; i++)
		if (m->sites[i]->stack_id == id)
			return m->sites[i];
	fail_msg("no site %u", id);
	return NULL;
}

static const struct lt_thread *thread_of(const struct lt_model *m, uint32_t s)
{
	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i]->serial == s)
			return m->threads[i];
	fail_msg("no thread %u", s);
	return NULL;
}

/* Thread 2's chunk comes first in the file but its frees happen after
 * thread 1's allocations of the same address. */
static void test_cross_thread_reuse(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_thread_create(g, 0, 5, 2, 0);
	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 6, 0x7000);
	lt_gen_free_rec(g, LT_FN_FREE, 20, 0x100);
	lt_gen_free_rec(g, LT_FN_FREE, 25, 0x100);  /* ties thread 1's malloc */
	lt_gen_free_rec(g, LT_FN_FREE, 40, 0x100);
	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 10, 0x100, 10);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 22, 0x100, 20);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 25, 0x100, 30);
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(b.model->anomalies.frees_untracked, 0);
	assert_int_equal(b.model->anomalies.ordering, 0);
	assert_int_equal(b.model->totals.allocations, 3);
	assert_int_equal(b.model->totals.frees, 3);
	assert_int_equal(b.model->totals.leaked_blocks, 0);
	assert_int_equal(b.model->totals.peak_bytes, 30);
	/* Freed by another thread: never temporary. */
	assert_int_equal(b.model->totals.temporary, 0);
	assert_int_equal(b.model->nwarnings, 0);
	release_built(&b);
}

/* Between a realloc's release and acquisition another thread reuses the
 * old address and frees the new one. */
static void test_realloc_split(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_thread_create(g, 0, 5, 2, 0);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 100, 0x200, 16);
	lt_gen_realloc(g, 1, 110, 130, 0x200, 0x300, 32);
	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 6, 0x7000);
	lt_gen_alloc(g, LT_FN_MALLOC, 2, 90, 0x300, 64);
	lt_gen_free_rec(g, LT_FN_FREE, 115, 0x300);
	lt_gen_alloc(g, LT_FN_MALLOC, 2, 120, 0x200, 8);
	lt_gen_trailer(g, 200, NULL);
	b = build(g);

	assert_int_equal(b.model->anomalies.ordering, 0);
	assert_int_equal(b.model->anomalies.frees_untracked, 0);
	assert_int_equal(b.model->totals.allocations, 4);
	assert_int_equal(b.model->totals.reallocs, 1);
	assert_int_equal(b.model->totals.frees, 1);
	assert_int_equal(b.model->totals.bytes_allocated, 16 + 32 + 64 + 8);
	assert_int_equal(b.model->totals.leaked_blocks, 2);
	assert_int_equal(b.model->totals.leaked_bytes, 40);
	/* 90: 64; 100: 80; 110: 64; 115: 0; 120: 8; 130: 40. */
	assert_int_equal(b.model->totals.peak_bytes, 80);
	assert_int_equal(site_of(b.model, 1)->calls, 2);
	assert_int_equal(site_of(b.model, 1)->reallocs, 1);
	assert_int_equal(site_of(b.model, 1)->leaked_bytes, 32);
	release_built(&b);
}

/* pthread_t values reused; a join recorded before its target's START. */
static void test_join_resolution(void **state)
{
	const uint64_t P = 0x7f0000001000, Q = 0x7f0000002000,
		       R = 0x7f0000003000, S = 0x7f0000004000;
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	const struct lt_model *m;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_thread_create(g, 0, 10, 2, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 25, P);     /* thread 2 */
	lt_gen_thread_create(g, 0, 30, 3, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_DETACH, 35, P);   /* thread 3 */
	lt_gen_thread_create(g, 0, 50, 4, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 51, P);     /* thread 4 */
	lt_gen_thread_create(g, 0, 70, 5, 0);
	lt_gen_thread_create(g, 0, 75, 6, LT_CREATE_DETACHED);
	lt_gen_thread_create(g, 0, 76, 7, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 77, 0xdead0000);

	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 11, P);
	lt_gen_thread_exit(g, 20);
	lt_gen_chunk(g, 3);
	lt_gen_thread_start(g, 31, P);
	lt_gen_thread_exit(g, 40);
	lt_gen_chunk(g, 4);
	lt_gen_thread_start(g, 55, P);   /* started after the join began */
	lt_gen_thread_exit(g, 60);
	lt_gen_chunk(g, 5);
	lt_gen_thread_start(g, 71, Q);
	lt_gen_thread_exit(g, 80);
	lt_gen_chunk(g, 6);
	lt_gen_thread_start(g, 76, R);
	lt_gen_chunk(g, 7);
	lt_gen_thread_start(g, 77, S);
	lt_gen_trailer(g, 100, NULL);
	b = build(g);
	m = b.model;

	assert_true(thread_of(m, 2)->joined);
	assert_false(thread_of(m, 2)->detached);
	assert_true(thread_of(m, 3)->detached);
	assert_false(thread_of(m, 3)->joined);
	assert_true(thread_of(m, 4)->joined);
	assert_true(thread_of(m, 6)->detached);
	assert_int_equal(m->totals.threads_created, 6);
	assert_int_equal(m->totals.threads_joined, 2);
	assert_int_equal(m->totals.threads_detached, 2);
	assert_int_equal(m->totals.threads_leaked, 1);          /* 5 */
	assert_int_equal(m->totals.threads_running_at_exit, 1); /* 7 */
	assert_int_equal(m->totals.peak_threads, 4);  /* main, 5, 6, 7 */
	assert_int_equal(m->anomalies.targets_unknown, 1);
	release_built(&b);
}

/*
 * The creator of thread 3 reads its clock before pthread_create, while
 * thread 2 still holds P and is being joined: at the first join both look
 * born, and the join must still go to thread 2, the earlier holder.
 */
static void test_join_create_race(void **state)
{
	const uint64_t P = 0x7f0000001000;
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_thread_create(g, 0, 100, 2, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 110, P);
	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 101, P);
	lt_gen_thread_exit(g, 108);
	lt_gen_chunk(g, 4);
	lt_gen_thread_start(g, 90, 0x7000);
	lt_gen_thread_create(g, 0, 105, 3, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 130, P);
	lt_gen_chunk(g, 3);
	lt_gen_thread_start(g, 120, P);
	lt_gen_thread_exit(g, 125);
	lt_gen_trailer(g, 200, NULL);
	b = build(g);

	assert_true(thread_of(b.model, 2)->joined);
	assert_true(thread_of(b.model, 3)->joined);
	assert_int_equal(b.model->totals.threads_joined, 2);
	assert_int_equal(b.model->totals.threads_leaked, 0);
	assert_int_equal(b.model->totals.threads_running_at_exit, 1); /* 4 */
	release_built(&b);
}

/* Freed on the same thread with at most one other allocation of that
 * thread in between; other threads' allocations do not count. */
static void test_temporary_rule(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_thread_create(g, 0, 1, 2, 0);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 10, 0xa0, 1);      /* temporary */
	lt_gen_free_rec(g, LT_FN_FREE, 11, 0xa0);
	lt_gen_alloc(g, LT_FN_MALLOC, 2, 20, 0xa1, 2);      /* temporary */
	lt_gen_alloc(g, LT_FN_MALLOC, 3, 21, 0xa2, 4);
	lt_gen_free_rec(g, LT_FN_FREE, 22, 0xa1);
	lt_gen_alloc(g, LT_FN_MALLOC, 4, 30, 0xa3, 8);      /* two between */
	lt_gen_alloc(g, LT_FN_MALLOC, 3, 31, 0xa4, 16);
	lt_gen_alloc(g, LT_FN_MALLOC, 3, 32, 0xa5, 32);
	lt_gen_free_rec(g, LT_FN_FREE, 33, 0xa3);
	lt_gen_alloc(g, LT_FN_MALLOC, 5, 40, 0xa6, 64);     /* other thread */
	lt_gen_alloc(g, LT_FN_MALLOC, 6, 50, 0xa7, 128);    /* temporary */
	lt_gen_free_rec(g, LT_FN_FREE, 56, 0xa7);
	lt_gen_alloc(g, LT_FN_MALLOC, 7, 60, 0xa8, 256);    /* realloc'd */
	lt_gen_realloc(g, 7, 61, 62, 0xa8, 0xa9, 512);
	lt_gen_free_rec(g, LT_FN_REALLOC, 63, 0xa9);        /* realloc(p,0) */
	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 2, 0x7000);
	lt_gen_free_rec(g, LT_FN_FREE, 41, 0xa6);
	lt_gen_alloc(g, LT_FN_MALLOC, 8, 51, 0xb0, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 8, 52, 0xb1, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 8, 53, 0xb2, 1);
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(site_of(b.model, 1)->temporary, 1);
	assert_int_equal(site_of(b.model, 2)->temporary, 1);
	assert_int_equal(site_of(b.model, 4)->temporary, 0);
	assert_int_equal(site_of(b.model, 5)->temporary, 0);
	assert_int_equal(site_of(b.model, 6)->temporary, 1);
	/* The realloc's release frees 0xa8 right after its allocation, and
	 * realloc(p, 0) frees 0xa9 right after the realloc made it. */
	assert_int_equal(site_of(b.model, 7)->temporary, 2);
	assert_int_equal(b.model->totals.temporary, 5);
	assert_int_equal(b.model->totals.frees, 6);
	assert_int_equal(b.model->totals.reallocs, 1);
	assert_int_equal(site_of(b.model, 3)->calls, 3);
	assert_int_equal(site_of(b.model, 3)->min_size, 4);
	assert_int_equal(site_of(b.model, 3)->max_size, 32);
	assert_int_equal(site_of(b.model, 3)->leaked_blocks, 3);
	/* In an exact dump every estimate is its count (lt_site's promise;
	 * the replay leaves them to finish()). */
	for (size_t i = 0; i < b.model->nsites; i++) {
		const struct lt_site *st = b.model->sites[i];

		assert_true(st->est_calls == (double)st->calls);
		assert_true(st->est_bytes == (double)st->bytes);
		assert_true(st->est_temporary == (double)st->temporary);
		assert_true(st->est_leaked_blocks == (double)st->leaked_blocks);
		assert_true(st->est_leaked_bytes == (double)st->leaked_bytes);
	}
	release_built(&b);
}

/* An address freed by another thread and taken again by that thread: the
 * first thread's free of it is of the second thread's block, which is not
 * temporary for the first, however recent both blocks are. */
static void test_temporary_reused_address(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_thread_create(g, 0, 1, 2, 0);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 10, 0xc0, 8);
	lt_gen_free_rec(g, LT_FN_FREE, 14, 0xc0);           /* thread 2's */
	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 2, 0x7000);
	lt_gen_free_rec(g, LT_FN_FREE, 11, 0xc0);
	lt_gen_alloc(g, LT_FN_MALLOC, 2, 12, 0xc0, 16);
	lt_gen_alloc(g, LT_FN_MALLOC, 3, 15, 0xd0, 32);     /* temporary */
	lt_gen_free_rec(g, LT_FN_FREE, 16, 0xd0);
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(b.model->anomalies.frees_untracked, 0);
	assert_int_equal(b.model->anomalies.ordering, 0);
	assert_int_equal(site_of(b.model, 1)->temporary, 0);
	assert_int_equal(site_of(b.model, 2)->temporary, 0);
	assert_int_equal(site_of(b.model, 3)->temporary, 1);
	assert_int_equal(b.model->totals.temporary, 1);
	assert_int_equal(b.model->totals.leaked_blocks, 0);
	release_built(&b);
}

/* Sizes of 2^48 bytes and more are kept apart from the live table's slots
 * (no allocator returns one; a damaged dump may say so): still counted to
 * the byte, as live, freed, replaced and leaked. */
static void test_huge_sizes(void **state)
{
	const uint64_t big = 1ull << 48;
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 10, 0x200, big << 2);   /* leaked */
	lt_gen_alloc(g, LT_FN_MALLOC, 2, 11, 0x300, big << 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 3, 12, 0x400, big - 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 4, 13, 0x500, big);
	lt_gen_free_rec(g, LT_FN_FREE, 20, 0x300);
	lt_gen_free_rec(g, LT_FN_FREE, 21, 0x400);
	lt_gen_alloc(g, LT_FN_MALLOC, 5, 22, 0x500, 8);          /* no free */
	lt_gen_alloc(g, LT_FN_MALLOC, 6, 23, 0x600, big - 2);
	lt_gen_free_rec(g, LT_FN_FREE, 24, 0x600);
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(b.model->anomalies.ordering, 1);
	assert_int_equal(b.model->totals.peak_bytes,
			 (big << 2) + (big << 1) + (big - 1) + big);
	assert_int_equal(b.model->totals.leaked_blocks, 2);
	assert_int_equal(b.model->totals.leaked_bytes, (big << 2) + 8);
	assert_int_equal(site_of(b.model, 1)->leaked_bytes, big << 2);
	assert_int_equal(site_of(b.model, 4)->leaked_blocks, 0);
	assert_int_equal(site_of(b.model, 5)->leaked_bytes, 8);
	assert_int_equal(site_of(b.model, 6)->temporary, 1);
	release_built(&b);
}

/* A stack used by one thread before (in file order and in ticks) the
 * other thread's stream defines it. */
static void test_stack_defined_late(void **state)
{
	static const uint64_t frames[] = { 0x401000, 0x402000 };
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 2);
	lt_gen_alloc(g, LT_FN_MALLOC, 9, 10, 0x100, 10);
	lt_gen_chunk(g, 1);
	lt_gen_stack(g, 9, frames, 2);
	lt_gen_alloc(g, LT_FN_MALLOC, 9, 20, 0x200, 10);
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(site_of(b.model, 9)->calls, 2);
	assert_int_equal(site_of(b.model, 9)->nframes, 2);
	assert_int_equal(site_of(b.model, 9)->frames[1], 0x402000);
	assert_int_equal(b.model->anomalies.stacks_undefined, 0);
	release_built(&b);
}

static void test_untracked_and_anomalies(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_free_rec(g, LT_FN_FREE, 10, 0x900);          /* pre-tracing */
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 20, 0x100, 10);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 30, 0x100, 50);    /* still live */
	lt_gen_alloc(g, LT_FN_MALLOC, 42, 40, 0x500, 1);    /* stack 42 undefined */
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(b.model->anomalies.frees_untracked, 1);
	assert_int_equal(b.model->anomalies.ordering, 1);
	assert_int_equal(b.model->anomalies.stacks_undefined, 1);
	assert_int_equal(b.model->totals.frees, 1);
	assert_int_equal(b.model->totals.leaked_blocks, 2);
	assert_int_equal(b.model->totals.leaked_bytes, 51);
	assert_true(b.model->nwarnings >= 3);
	release_built(&b);
}

static void test_trailer_mismatch_and_lost(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct lt_gen_counts c;
	struct built b;
	bool found = false;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 20, 0x100, 10);
	lt_gen_lost(g, 25, 3, 1, 300);
	lt_gen_chunk_end(g);
	c = *lt_gen_counts(g);
	c.allocations += 2;          /* two records went missing */
	lt_gen_trailer(g, 100, &c);
	b = build(g);

	assert_int_equal(b.model->lost.allocs, 3);
	assert_int_equal(b.model->lost.frees, 1);
	assert_int_equal(b.model->lost.bytes, 300);
	assert_int_equal(b.model->totals.allocations, 1);
	for (size_t i = 0; i < b.model->nwarnings; i++)
		if (strstr(b.model->warnings[i], "trailer counts 6 allocations "
			   "but the dump holds 4"))
			found = true;
	assert_true(found);
	assert_int_equal(b.model->nwarnings, 1);
	release_built(&b);
}

static void test_sampled(void **state)
{
	struct lt_gen *g = lt_gen_new(LT_HDR_SAMPLED, 1024);
	struct lt_gen_counts c;
	struct built b;
	double w1k = 1.0 / (1.0 - 0.36787944117144233);   /* size = R */
	(void)state;

	static const uint64_t frames[] = { 0x401000 };

	lt_gen_chunk(g, 1);
	lt_gen_stack(g, 1, frames, 1);
	lt_gen_stack(g, 2, frames, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 20, 0x100, 1024);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 21, 0x200, 1024);
	lt_gen_alloc(g, LT_FN_MALLOC, 2, 22, 0x300, 1 << 20);
	lt_gen_free_rec(g, LT_FN_FREE, 23, 0x200);
	lt_gen_chunk_end(g);
	c = *lt_gen_counts(g);
	c.allocations = 1000;
	c.frees = 900;
	c.bytes_allocated = 5000000;
	lt_gen_trailer(g, 100, &c);
	b = build(g);

	assert_true(b.model->sampled);
	assert_int_equal(b.model->totals.allocations, 1000);
	assert_int_equal(b.model->totals.frees, 900);
	assert_int_equal(b.model->totals.bytes_allocated, 5000000);
	assert_true(site_of(b.model, 1)->est_calls > 2 * w1k - 1e-9);
	assert_true(site_of(b.model, 1)->est_calls < 2 * w1k + 1e-9);
	assert_true(site_of(b.model, 2)->est_calls > 1 - 1e-9);
	assert_true(site_of(b.model, 2)->est_calls < 1 + 1e-9);
	/* Leaked: one 1 KiB block (weight w1k) and the 1 MiB block. */
	assert_int_equal(b.model->totals.leaked_bytes,
			 (uint64_t)(w1k * 1024 + (1 << 20) + 0.5));
	assert_int_equal(b.model->totals.leaked_blocks, 3);   /* 1.58 + 1 */
	assert_int_equal(b.model->nwarnings, 0);
	release_built(&b);
}

/* With LT_HDR_SAMPLE_LARGE a block of at least the interval was recorded
 * for certain: weight 1.  Smaller ones keep 1 / (1 - exp(-size / R)). */
static void test_sampled_large(void **state)
{
	struct lt_gen *g = lt_gen_new(LT_HDR_SAMPLED | LT_HDR_SAMPLE_LARGE, 1024);
	struct lt_gen_counts c;
	struct built b;
	double w512 = 1.0 / (1.0 - 0.60653065971263342);   /* size = R / 2 */
	(void)state;

	static const uint64_t frames[] = { 0x401000 };

	lt_gen_chunk(g, 1);
	lt_gen_stack(g, 1, frames, 1);
	lt_gen_stack(g, 2, frames, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 20, 0x100, 1024);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 21, 0x200, 4096);
	lt_gen_alloc(g, LT_FN_MALLOC, 2, 22, 0x300, 512);
	lt_gen_chunk_end(g);
	c = *lt_gen_counts(g);
	lt_gen_trailer(g, 100, &c);
	b = build(g);

	assert_true(b.model->sampled);
	assert_true(b.model->sample_large);
	assert_true(site_of(b.model, 1)->est_calls > 2 - 1e-9);
	assert_true(site_of(b.model, 1)->est_calls < 2 + 1e-9);
	assert_true(site_of(b.model, 1)->est_bytes > 5120 - 1e-6);
	assert_true(site_of(b.model, 1)->est_bytes < 5120 + 1e-6);
	assert_true(site_of(b.model, 2)->est_calls > w512 - 1e-9);
	assert_true(site_of(b.model, 2)->est_calls < w512 + 1e-9);
	release_built(&b);
}

/* A truncated dump still replays what it has. */
static void test_truncated_replays(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 1020, 0x100, 10);
	lt_gen_thread_create(g, 0, 1021, 2, 0);
	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 1022, 0x7000);
	lt_gen_chunk_end(g);
	b = build(g);

	assert_true(b.dump->truncated);
	assert_int_equal(b.model->totals.allocations, 1);
	assert_int_equal(b.model->totals.threads_running_at_exit, 1);
	assert_int_equal(b.model->end_ticks, 1022);
	release_built(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cross_thread_reuse),
		cmocka_unit_test(test_realloc_split),
		cmocka_unit_test(test_join_resolution),
		cmocka_unit_test(test_join_create_race),
		cmocka_unit_test(test_temporary_rule),
		cmocka_unit_test(test_temporary_reused_address),
		cmocka_unit_test(test_huge_sizes),
		cmocka_unit_test(test_stack_defined_late),
		cmocka_unit_test(test_untracked_and_anomalies),
		cmocka_unit_test(test_trailer_mismatch_and_lost),
		cmocka_unit_test(test_sampled),
		cmocka_unit_test(test_sampled_large),
		cmocka_unit_test(test_truncated_replays),
	};
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
