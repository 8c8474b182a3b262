/*
 * Unit tests for the replay (analyzer/model.c): cross-thread ordering by
 * ticks, the realloc split, pthread_t reuse, the temporary rule, thread
 * counters, the live table's packed and compact blocks, sampling, lost
 * events and trailer checks.  Each scenario is built so that a merge in
 * file order or a naive rule gives other numbers.
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

/*
 * Streams join the merge in the order of their first events, which is not
 * their threads' order: thread 4's first event, an allocation, comes
 * before thread 2's second, the free of it, while thread 3 (between them
 * by serial) starts last.  Thread 5 starts at the very tick of thread 2's
 * third event, with the release that must go first: the free of what
 * thread 6 allocated, at the address thread 2 then gets.
 */
static void test_merge_late_streams(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 2);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 10, 0x200, 8);
	lt_gen_free_rec(g, LT_FN_FREE, 20, 0x100);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 30, 0x600, 8);
	lt_gen_chunk(g, 3);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 50, 0x300, 8);
	lt_gen_chunk(g, 4);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 15, 0x100, 8);
	lt_gen_chunk(g, 5);
	lt_gen_free_rec(g, LT_FN_FREE, 30, 0x600);
	lt_gen_chunk(g, 6);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 12, 0x600, 8);
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(b.model->anomalies.frees_untracked, 0);
	assert_int_equal(b.model->anomalies.ordering, 0);
	/* 0x200, 0x300 and thread 2's 0x600 */
	assert_int_equal(b.model->totals.leaked_blocks, 3);
	assert_int_equal(b.model->totals.peak_bytes, 24);
	release_built(&b);
}

/*
 * One pthread_t value held by thread after thread, the holders announced in
 * the file out of birth order (thread 1's chunk, creating the last, comes
 * before thread 11's, creating the first two): each question goes to the
 * earliest-born holder not yet reclaimed, a detached thread being
 * reclaimed for a join at once and for anything else once it exits; when
 * every holder born by then is reclaimed, to the latest born.  A thread is
 * born at its CREATE's tick, a question at that very tick included.
 */
static void test_pthread_holders(void **state)
{
	const uint64_t P = 0x7f0000001000, R = 0x7f0000003000, S = 0x7f0000004000;
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	const struct lt_model *m;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 25, P);      /* 2 */
	lt_gen_thread_op(g, LT_REC_THREAD_DETACH, 35, P);    /* 3 */
	lt_gen_thread_create(g, 0, 50, 4, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_CANCEL, 52, P);    /* 4 */
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 60, P);      /* 4 */
	lt_gen_thread_name(g, 65, P, "late");                /* all reclaimed: 4 */
	lt_gen_thread_create(g, 0, 100, 8, LT_CREATE_DETACHED);
	lt_gen_thread_create(g, 0, 105, 9, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_CANCEL, 108, R);   /* 8, still running */
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 110, R);     /* 9: 8 is detached */
	lt_gen_thread_create(g, 0, 120, 10, 0);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 120, S);     /* 10, born now */

	lt_gen_chunk(g, 11);
	lt_gen_thread_start(g, 1, 0x7f0000009000);
	lt_gen_thread_create(g, 0, 10, 2, 0);
	lt_gen_thread_create(g, 0, 30, 3, 0);

	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 11, P);
	lt_gen_thread_exit(g, 20);
	lt_gen_chunk(g, 3);
	lt_gen_thread_start(g, 31, P);
	lt_gen_thread_exit(g, 40);
	lt_gen_chunk(g, 4);
	lt_gen_thread_start(g, 51, P);
	lt_gen_thread_exit(g, 58);
	lt_gen_chunk(g, 8);
	lt_gen_thread_start(g, 101, R);
	lt_gen_chunk(g, 9);
	lt_gen_thread_start(g, 106, R);
	lt_gen_chunk(g, 10);
	lt_gen_thread_start(g, 121, S);
	lt_gen_thread_exit(g, 125);
	lt_gen_trailer(g, 200, NULL);
	b = build(g);
	m = b.model;

	assert_true(thread_of(m, 2)->joined);
	assert_false(thread_of(m, 2)->cancelled);
	assert_string_equal(thread_of(m, 2)->name, "");
	assert_true(thread_of(m, 3)->detached);
	assert_false(thread_of(m, 3)->joined);
	assert_true(thread_of(m, 4)->cancelled);
	assert_true(thread_of(m, 4)->joined);
	assert_string_equal(thread_of(m, 4)->name, "late");
	assert_true(thread_of(m, 8)->cancelled);
	assert_false(thread_of(m, 8)->joined);
	assert_true(thread_of(m, 9)->joined);
	assert_false(thread_of(m, 9)->cancelled);
	assert_true(thread_of(m, 10)->joined);
	assert_int_equal(m->anomalies.targets_unknown, 0);
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
	lt_gen_alloc(g, LT_FN_MALLOC, 9, 70, 0xaa, 1);      /* a failed one and */
	lt_gen_alloc(g, LT_FN_MALLOC, 10, 71, 0, 2);        /* another between */
	lt_gen_alloc(g, LT_FN_MALLOC, 10, 72, 0xab, 4);
	lt_gen_free_rec(g, LT_FN_FREE, 73, 0xaa);
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
	assert_int_equal(site_of(b.model, 9)->temporary, 0);
	assert_int_equal(b.model->totals.temporary, 5);
	assert_int_equal(b.model->totals.frees, 7);
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

/* Sizes of 2^48 bytes and more (no allocator returns one; a damaged dump
 * may say so) are counted to the byte, as live, freed, replaced and
 * leaked. */
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

/* Sizes at the edge of a packed block's size field, in either build (28
 * bits; test_model_narrow's 6): a size that does not fit is kept aside. */
static void test_size_field_edges(void **state)
{
	static const uint64_t sizes[] = { 62, 63, 64, (1u << 28) - 2, (1u << 28) - 1,
					  1u << 28 };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	struct lt_gen *g = lt_gen_new(0, 0);
	uint64_t all = 0, leaked = 0;
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	for (size_t i = 0; i < n; i++) {
		lt_gen_alloc(g, LT_FN_MALLOC, (uint32_t)i + 1, 10 + i, 0x1000 * (i + 1), sizes[i]);
		all += sizes[i];
	}
	for (size_t i = 0; i < n; i += 2)
		lt_gen_free_rec(g, LT_FN_FREE, 30 + i, 0x1000 * (i + 1));
	for (size_t i = 1; i < n; i += 2)
		leaked += sizes[i];
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(b.model->totals.peak_bytes, all);
	assert_int_equal(b.model->totals.leaked_blocks, n / 2);
	assert_int_equal(b.model->totals.leaked_bytes, leaked);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(site_of(b.model, (uint32_t)i + 1)->leaked_bytes,
				 i % 2 ? sizes[i] : 0);
	release_built(&b);
}

/* Addresses at the edges of what a compact table holds (8-byte aligned,
 * below 2^47; test_model_compact): the others are kept aside, and every
 * one is counted the same, as live, freed, replaced, moved by realloc and
 * leaked. */
static void test_address_edges(void **state)
{
	static const uint64_t ptrs[] = {
		0x8, 0x1004, 0x7ffffffffff8, 0x800000000000,
		0xfffffffffffffff8, 0xffffffffffffffff, 0x2001,
	};
	const size_t n = sizeof(ptrs) / sizeof(ptrs[0]);
	struct lt_gen *g = lt_gen_new(0, 0);
	uint64_t all = 0, leaked = 0;
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	for (size_t i = 0; i < n; i++) {
		lt_gen_alloc(g, LT_FN_MALLOC, (uint32_t)i + 1, 10 + i, ptrs[i], 100 + i);
		all += 100 + i;
	}
	/* The even ones freed, the odd ones leaked. */
	for (size_t i = 0; i < n; i += 2)
		lt_gen_free_rec(g, LT_FN_FREE, 30 + i, ptrs[i]);
	for (size_t i = 1; i < n; i += 2)
		leaked += 100 + i;
	/* Aside to the table and back, by realloc; temporary both times. */
	lt_gen_alloc(g, LT_FN_MALLOC, 20, 50, 0x800000000010, 7);
	lt_gen_realloc(g, 21, 51, 52, 0x800000000010, 0x3000, 9);
	lt_gen_realloc(g, 22, 53, 54, 0x3000, 0x3003, 11);
	lt_gen_free_rec(g, LT_FN_FREE, 55, 0x3003);
	/* A block over a live one kept aside: a free never seen. */
	lt_gen_alloc(g, LT_FN_MALLOC, 23, 60, 0x1003, 5);
	lt_gen_alloc(g, LT_FN_MALLOC, 24, 61, 0x1003, 6);
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(b.model->anomalies.ordering, 1);
	assert_int_equal(b.model->anomalies.frees_untracked, 0);
	assert_int_equal(b.model->totals.peak_bytes, all);
	assert_int_equal(b.model->totals.leaked_blocks, n / 2 + 1);
	assert_int_equal(b.model->totals.leaked_bytes, leaked + 6);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(site_of(b.model, (uint32_t)i + 1)->leaked_bytes,
				 i % 2 ? 100 + i : 0);
	assert_int_equal(site_of(b.model, 20)->temporary, 1);
	assert_int_equal(site_of(b.model, 21)->temporary, 1);
	assert_int_equal(site_of(b.model, 22)->temporary, 1);
	assert_int_equal(site_of(b.model, 23)->leaked_blocks, 0);
	assert_int_equal(site_of(b.model, 24)->leaked_bytes, 6);
	release_built(&b);
}

/* Blocks of many kinds (size, site, thread), so that in a compact table
 * kinds with no block left are swept and their ids reused (from 4,096 on
 * in test_model_compact; test_model_compact_narrow has four ids and keeps
 * the rest aside), while three blocks live from the start and ten more on
 * the way keep theirs. */
static void test_kinds_reused(void **state)
{
	const unsigned churn = 10000;
	struct lt_gen *g = lt_gen_new(0, 0);
	uint64_t ticks = 10, kept = 0;
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_thread_create(g, 0, ticks++, 2, 0);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, ticks++, 0x10000, 24);
	lt_gen_alloc(g, LT_FN_MALLOC, 2, ticks++, 0x10020, 40);
	lt_gen_alloc(g, LT_FN_MALLOC, 3, ticks++, 0x10040, 56);
	for (unsigned i = 0; i < churn; i++) {
		uint64_t ptr = 0x100000 + 0x100 * (uint64_t)i;

		lt_gen_alloc(g, LT_FN_MALLOC, 4, ticks++, ptr, 100 + i);
		if (i % 1000 == 999) {
			kept += 100 + i;   /* leaked */
			continue;
		}
		lt_gen_free_rec(g, LT_FN_FREE, ticks++, ptr);
	}
	lt_gen_free_rec(g, LT_FN_FREE, ticks++, 0x10020);
	/* The same sizes and site on another thread are other kinds. */
	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, ticks++, 0x7000);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, ticks++, 0x20000, 24);
	lt_gen_alloc(g, LT_FN_MALLOC, 5, ticks++, 0x20020, 24);
	lt_gen_free_rec(g, LT_FN_FREE, ticks++, 0x20000);
	lt_gen_trailer(g, ticks, NULL);
	b = build(g);

	/* At the end: thread 2's two blocks outweigh the one freed. */
	assert_int_equal(b.model->totals.peak_bytes, 24 + 56 + kept + 48);
	assert_int_equal(site_of(b.model, 1)->leaked_bytes, 24);
	assert_int_equal(site_of(b.model, 1)->temporary, 1);     /* thread 2's */
	assert_int_equal(site_of(b.model, 2)->leaked_blocks, 0);
	assert_int_equal(site_of(b.model, 3)->leaked_bytes, 56);
	assert_int_equal(site_of(b.model, 4)->leaked_blocks, churn / 1000);
	assert_int_equal(site_of(b.model, 4)->leaked_bytes, kept);
	assert_int_equal(site_of(b.model, 4)->temporary, churn - churn / 1000);
	assert_int_equal(site_of(b.model, 5)->leaked_bytes, 24);
	assert_int_equal(b.model->totals.leaked_blocks, 2 + churn / 1000 + 1);
	assert_int_equal(b.model->totals.leaked_bytes, 24 + 56 + kept + 24);
	assert_int_equal(b.model->anomalies.frees_untracked, 0);
	release_built(&b);
}

/* A site remembers its last block's kind.  Here that kind loses its
 * block, is swept and waits for reuse (in test_model_compact, where 5,000
 * kinds churn after it and a sweep frees ids from 4,096 on), when the site
 * allocates a block like it again; then 5,000 new kinds take every free
 * id.  The block must not keep a kind the sweep gave away. */
static void test_kind_hint_swept(void **state)
{
	const unsigned n = 5000;
	struct lt_gen *g = lt_gen_new(0, 0);
	uint64_t ticks = 10, late = 0;
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 6, ticks++, 0x10060, 8);
	lt_gen_free_rec(g, LT_FN_FREE, ticks++, 0x10060);
	for (unsigned i = 0; i < n; i++) {
		uint64_t ptr = 0x100000 + 0x100 * (uint64_t)i;

		lt_gen_alloc(g, LT_FN_MALLOC, 4, ticks++, ptr, 100 + i);
		lt_gen_free_rec(g, LT_FN_FREE, ticks++, ptr);
	}
	lt_gen_alloc(g, LT_FN_MALLOC, 6, ticks++, 0x10060, 8);
	for (unsigned i = 0; i < n; i++) {
		lt_gen_alloc(g, LT_FN_MALLOC, 7, ticks++,
			     0x2000000 + 0x100 * (uint64_t)i, 200000 + i);
		late += 200000 + i;
	}
	lt_gen_trailer(g, ticks, NULL);
	b = build(g);

	assert_int_equal(site_of(b.model, 6)->leaked_blocks, 1);
	assert_int_equal(site_of(b.model, 6)->leaked_bytes, 8);
	assert_int_equal(site_of(b.model, 7)->leaked_blocks, n);
	assert_int_equal(site_of(b.model, 7)->leaked_bytes, late);
	assert_int_equal(site_of(b.model, 4)->leaked_blocks, 0);
	assert_int_equal(b.model->totals.leaked_bytes, 8 + late);
	release_built(&b);
}

/* Stack ids at the edge of the site array (ids below 2^20; others, which
 * only a damaged dump has, go through a hash), each used twice, so that
 * the second use finds the site the first made. */
static void test_site_ids(void **state)
{
	static const uint32_t ids[] = {
		LT_STACK_NONE, 1, 1023, 1024, (1u << 20) - 1, 1u << 20,
		(1u << 20) + 1, 0xfffffffe, 0xffffffff,
	};
	const size_t n = sizeof(ids) / sizeof(ids[0]);
	struct lt_gen *g = lt_gen_new(0, 0);
	struct built b;
	(void)state;

	lt_gen_chunk(g, 1);
	for (size_t i = 0; i < n; i++) {
		lt_gen_alloc(g, LT_FN_MALLOC, ids[i], 10 + 4 * i, 0x1000 + 0x100 * i, 8 + i);
		lt_gen_alloc(g, LT_FN_MALLOC, ids[i], 11 + 4 * i, 0x8000 + 0x100 * i, 100);
		lt_gen_free_rec(g, LT_FN_FREE, 12 + 4 * i, 0x1000 + 0x100 * i);
	}
	lt_gen_trailer(g, 100, NULL);
	b = build(g);

	assert_int_equal(b.model->nsites, n);
	for (size_t i = 0; i < n; i++) {
		const struct lt_site *st = site_of(b.model, ids[i]);

		assert_int_equal(st->calls, 2);
		assert_int_equal(st->bytes, 8 + i + 100);
		assert_int_equal(st->leaked_bytes, 100);
	}
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

/* ---- the merge on a second thread ---------------------------------------- */

/*
 * A run of four threads, generated with what the replay must find: blocks
 * freed and reallocated by other threads than made them, addresses reused
 * across threads, stacks defined by the first thread to use them, lost
 * events, modules, frees of unknown addresses.  Events are made in time
 * order (so the truth is counted as they are made) and then written out
 * in chunks of 1 to 400 records per thread, threads in turn, so the file
 * order is not the time order.  60,000 events: more than the pipeline
 * holds (4 batches of 4,096), so it wraps round many times.
 */
#define PL_THREADS 4
#define PL_EVENTS  60000
#define PL_SLOTS   4096             /* addresses 0x10000 + 16 * slot */
#define PL_STACKS  64

enum pl_kind { PL_ALLOC, PL_FREE, PL_REALLOC, PL_STACK, PL_LOST, PL_MODULE };

struct pl_event {
	uint8_t kind;
	uint32_t stack;
	uint64_t ticks, ptr, new_ptr, size;
};

struct pl_truth {
	uint64_t allocations, frees, reallocs, bytes, peak, leaked_blocks,
		 leaked_bytes, untracked, temporary, lost_allocs;
};

struct pl_block {
	bool live;
	uint32_t thread;
	uint64_t size, serial;
};

static uint64_t pl_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static struct lt_gen *pipeline_dump(struct pl_truth *truth)
{
	static struct pl_event ev[PL_THREADS + 1][PL_EVENTS + PL_STACKS + 16];
	size_t nev[PL_THREADS + 1] = { 0 }, at[PL_THREADS + 1] = { 0 };
	struct pl_block blocks[PL_SLOTS] = { { 0 } };
	uint64_t recent[PL_THREADS + 1][2] = { { 0 } };
	uint32_t last_slot[PL_THREADS + 1] = { 0 };
	bool defined[PL_STACKS + 1] = { false };
	uint64_t x = 0x9e3779b97f4a7c15ull, t = 2000, live = 0, serial = 0;
	struct lt_gen *g = lt_gen_new(0, 0);
	bool left = true;

	memset(truth, 0, sizeof(*truth));
	for (unsigned i = 0; i < PL_EVENTS; i++, t += 1 + pl_rand(&x) % 3) {
		uint32_t th = 1 + (uint32_t)(pl_rand(&x) % PL_THREADS);
		uint32_t slot = (uint32_t)(pl_rand(&x) % PL_SLOTS);
		unsigned op = (unsigned)(pl_rand(&x) % 100);
		struct pl_block *b;

		/* Now and then the thread frees what it just made. */
		if (op >= 4 && op < 14)
			slot = last_slot[th];
		b = &blocks[slot];
		struct pl_event *e = &ev[th][nev[th]];

		if (op < 2) {
			*e = (struct pl_event){ .kind = PL_LOST, .ticks = t };
			truth->lost_allocs++;
		} else if (op < 3) {
			*e = (struct pl_event){ .kind = PL_MODULE, .ticks = t,
						.ptr = 0x400000ull * (i % 7 + 1) };
		} else if (op < 4 && !b->live) {
			/* Freed before tracing began, as far as the dump says. */
			*e = (struct pl_event){ .kind = PL_FREE, .ticks = t,
						.ptr = 0x10000 + 16ull * slot };
			truth->untracked++;
			truth->frees++;
		} else if (!b->live) {
			uint32_t stack = 1 + (uint32_t)(pl_rand(&x) % PL_STACKS);
			if (!defined[stack]) {
				ev[th][nev[th]++] = (struct pl_event){
					.kind = PL_STACK, .stack = stack };
				defined[stack] = true;
				e = &ev[th][nev[th]];
			}
			*e = (struct pl_event){ .kind = PL_ALLOC, .stack = stack,
						.ticks = t, .ptr = 0x10000 + 16ull * slot,
						.size = 1 + pl_rand(&x) % 5000 };
			*b = (struct pl_block){ true, th, e->size, ++serial };
			last_slot[th] = slot;
			recent[th][1] = recent[th][0];
			recent[th][0] = serial;
			truth->allocations++;
			truth->bytes += e->size;
			live += e->size;
		} else {
			bool temp = b->thread == th && (b->serial == recent[th][0] ||
							b->serial == recent[th][1]);
			uint32_t to = (uint32_t)(pl_rand(&x) % PL_SLOTS);

			truth->temporary += temp;
			live -= b->size;
			b->live = false;
			if (op < 85 || blocks[to].live) {
				*e = (struct pl_event){ .kind = PL_FREE, .ticks = t,
							.ptr = 0x10000 + 16ull * slot };
				truth->frees++;
			} else {
				/* The old block goes at t, the new one comes at t + 1;
				 * stack 1 was defined by whoever first used it, and
				 * may be defined later in this thread's stream. */
				*e = (struct pl_event){ .kind = PL_REALLOC, .stack = 1,
							.ticks = t, .ptr = 0x10000 + 16ull * slot,
							.new_ptr = 0x10000 + 16ull * to,
							.size = 1 + pl_rand(&x) % 9000 };
				t++;
				blocks[to] = (struct pl_block){ true, th, e->size, ++serial };
				last_slot[th] = to;
				recent[th][1] = recent[th][0];
				recent[th][0] = serial;
				truth->allocations++;
				truth->reallocs++;
				truth->bytes += e->size;
				live += e->size;
			}
		}
		nev[th]++;
		if (live > truth->peak)
			truth->peak = live;
	}
	for (unsigned i = 0; i < PL_SLOTS; i++) {
		truth->leaked_blocks += blocks[i].live;
		truth->leaked_bytes += blocks[i].live ? blocks[i].size : 0;
	}

	lt_gen_chunk(g, 1);
	for (uint32_t th = 2; th <= PL_THREADS; th++)
		lt_gen_thread_create(g, 0, 1000 + th, th, 0);
	for (uint32_t th = 2; th <= PL_THREADS; th++) {
		lt_gen_chunk(g, th);
		lt_gen_thread_start(g, 1100 + th, 0x7000 + th);
	}
	while (left) {
		left = false;
		for (uint32_t th = 1; th <= PL_THREADS; th++) {
			size_t n = 1 + pl_rand(&x) % 400;
			uint64_t last = 0;

			if (at[th] == nev[th])
				continue;
			left = true;
			lt_gen_chunk(g, th);
			for (; n > 0 && at[th] < nev[th]; n--) {
				const struct pl_event *e = &ev[th][at[th]++];
				uint64_t frames[3] = { 0x401000 + e->stack, 0x402000, 0x403000 };

				switch (e->kind) {
				case PL_ALLOC:
					lt_gen_alloc(g, LT_FN_MALLOC, e->stack, e->ticks, e->ptr, e->size);
					break;
				case PL_FREE:
					lt_gen_free_rec(g, LT_FN_FREE, e->ticks, e->ptr);
					break;
				case PL_REALLOC:
					lt_gen_realloc(g, e->stack, e->ticks, e->ticks + 1,
						       e->ptr, e->new_ptr, e->size);
					break;
				case PL_STACK:
					lt_gen_stack(g, e->stack, frames, 1 + e->stack % 3);
					break;
				case PL_LOST:
					lt_gen_lost(g, e->ticks, 1, 0, 8);
					break;
				case PL_MODULE:
					lt_gen_module(g, e->ticks, "/usr/lib/libpl.so", e->ptr,
						      e->ptr, e->ptr + 0x1000, 0);
					break;
				}
				last = e->ticks ? e->ticks : last;
			}
			lt_gen_chunk_ticks(g, last);
		}
	}
	lt_gen_trailer(g, t + 10, NULL);
	return g;
}

/* Sees the heap change by change, in order, and slowly: the merge gets
 * ahead of the replay and has to wait for room. */
struct heap_watch {
	uint64_t hash, changes, live, peak;
};

static void watch_heap(void *ctx, uint64_t ticks, const struct lt_site *site,
		       uint64_t size, double weight, int delta)
{
	struct heap_watch *w = ctx;
	volatile unsigned spin = 0;

	(void)weight;
	w->hash = (w->hash ^ ticks ^ size << 20 ^ (uint64_t)site->stack_id << 40 ^
		   (uint64_t)(delta > 0)) * 0x100000001b3ull;
	w->changes++;
	w->live += delta > 0 ? size : -size;
	if (w->live > w->peak)
		w->peak = w->live;
	while (spin < 200)
		spin++;
}

static struct lt_model *model_with_threads(const struct lt_dump *d, int threads,
					   struct heap_watch *w)
{
	struct lt_model_hooks hooks = { .heap = watch_heap, .heap_ctx = w };
	struct lt_err err = { "" };
	struct lt_model *m;
	int was = lt_model_threads;

	lt_model_threads = threads;
	if (lt_model_build_hooked(d, &hooks, &m, &err) < 0)
		fail_msg("model: %s", err.msg);
	lt_model_threads = was;
	return m;
}

/* Every result of the replay, compared field by field. */
static void assert_same_model(const struct lt_model *a, const struct lt_model *b)
{
	assert_memory_equal(&a->totals, &b->totals, sizeof(a->totals));
	assert_memory_equal(&a->decoded, &b->decoded, sizeof(a->decoded));
	assert_memory_equal(&a->lost, &b->lost, sizeof(a->lost));
	assert_memory_equal(&a->anomalies, &b->anomalies, sizeof(a->anomalies));
	assert_int_equal(a->events, b->events);
	assert_int_equal(a->stack_records, b->stack_records);
	assert_int_equal(a->peak_ticks, b->peak_ticks);
	assert_int_equal(a->end_ticks, b->end_ticks);
	assert_int_equal(a->nmodules, b->nmodules);
	for (size_t i = 0; i < a->nmodules; i++) {
		assert_int_equal(a->modules[i].bias, b->modules[i].bias);
		assert_int_equal(a->modules[i].ticks, b->modules[i].ticks);
	}
	assert_int_equal(a->nsites, b->nsites);
	for (size_t i = 0; i < a->nsites; i++) {
		const struct lt_site *x = a->sites[i], *y = b->sites[i];

		assert_int_equal(x->stack_id, y->stack_id);
		assert_ptr_equal(x->frames, y->frames);
		assert_int_equal(x->nframes, y->nframes);
		assert_int_equal(x->first_ticks, y->first_ticks);
		assert_int_equal(x->calls, y->calls);
		assert_int_equal(x->bytes, y->bytes);
		assert_int_equal(x->min_size, y->min_size);
		assert_int_equal(x->max_size, y->max_size);
		assert_int_equal(x->reallocs, y->reallocs);
		assert_int_equal(x->temporary, y->temporary);
		assert_int_equal(x->leaked_blocks, y->leaked_blocks);
		assert_int_equal(x->leaked_bytes, y->leaked_bytes);
	}
	assert_int_equal(a->nthreads, b->nthreads);
	for (size_t i = 0; i < a->nthreads; i++) {
		assert_int_equal(a->threads[i]->serial, b->threads[i]->serial);
		assert_int_equal(a->threads[i]->allocs, b->threads[i]->allocs);
		assert_int_equal(a->threads[i]->start_ticks, b->threads[i]->start_ticks);
	}
	assert_int_equal(a->nwarnings, b->nwarnings);
	for (size_t i = 0; i < a->nwarnings; i++)
		assert_string_equal(a->warnings[i], b->warnings[i]);
}

static void test_pipeline_same_results(void **state)
{
	struct pl_truth truth;
	struct lt_gen *g = pipeline_dump(&truth);
	struct lt_err err = { "" };
	char *name = lt_gen_tmpname();
	struct lt_dump *d;
	struct lt_model *alone, *piped;
	struct heap_watch wa = { 0 }, wp = { 0 };
	(void)state;

	assert_int_equal(lt_gen_write(g, name, SIZE_MAX), 0);
	lt_gen_free(g);
	if (lt_dump_open(name, &d, &err) < 0)
		fail_msg("open: %s", err.msg);
	unlink(name);
	free(name);
	alone = model_with_threads(d, 0, &wa);
	piped = model_with_threads(d, 1, &wp);

	/* What the generator counted as it made the events. */
	assert_int_equal(piped->totals.allocations, truth.allocations);
	assert_int_equal(piped->totals.frees, truth.frees);
	assert_int_equal(piped->totals.reallocs, truth.reallocs);
	assert_int_equal(piped->totals.bytes_allocated, truth.bytes);
	assert_int_equal(piped->totals.peak_bytes, truth.peak);
	assert_int_equal(piped->totals.leaked_blocks, truth.leaked_blocks);
	assert_int_equal(piped->totals.leaked_bytes, truth.leaked_bytes);
	assert_int_equal(piped->totals.temporary, truth.temporary);
	assert_int_equal(piped->anomalies.frees_untracked, truth.untracked);
	assert_int_equal(piped->anomalies.ordering, 0);
	assert_int_equal(piped->lost.allocs, truth.lost_allocs);
	print_message("%llu temporary, %llu untracked, %llu reallocs\n",
		      (unsigned long long)truth.temporary,
		      (unsigned long long)truth.untracked,
		      (unsigned long long)truth.reallocs);
	assert_true(truth.temporary > 100 && truth.untracked > 100 &&
		    truth.reallocs > 100);
	assert_int_equal(piped->nsites, PL_STACKS);
	assert_int_equal(piped->anomalies.stacks_undefined, 0);
	/* And the same as replaying without the second thread, down to the
	 * order of the heap's changes. */
	assert_same_model(alone, piped);
	assert_int_equal(wp.changes, truth.allocations * 2 - truth.leaked_blocks);
	assert_int_equal(wp.peak, truth.peak);
	assert_int_equal(wa.hash, wp.hash);

	lt_model_free(alone);
	lt_model_free(piped);
	lt_dump_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cross_thread_reuse),
		cmocka_unit_test(test_realloc_split),
		cmocka_unit_test(test_join_resolution),
		cmocka_unit_test(test_join_create_race),
		cmocka_unit_test(test_pthread_holders),
		cmocka_unit_test(test_merge_late_streams),
		cmocka_unit_test(test_temporary_rule),
		cmocka_unit_test(test_temporary_reused_address),
		cmocka_unit_test(test_huge_sizes),
		cmocka_unit_test(test_size_field_edges),
		cmocka_unit_test(test_address_edges),
		cmocka_unit_test(test_kinds_reused),
		cmocka_unit_test(test_kind_hint_swept),
		cmocka_unit_test(test_site_ids),
		cmocka_unit_test(test_stack_defined_late),
		cmocka_unit_test(test_untracked_and_anomalies),
		cmocka_unit_test(test_trailer_mismatch_and_lost),
		cmocka_unit_test(test_sampled),
		cmocka_unit_test(test_sampled_large),
		cmocka_unit_test(test_truncated_replays),
		cmocka_unit_test(test_pipeline_same_results),
	};
	int failed = cmocka_run_group_tests_name("model", tests, NULL, NULL);

	/* Every scenario again, merged on a second thread however small. */
	lt_model_threads = 1;
	failed += cmocka_run_group_tests_name("model, merge on a thread", tests,
					      NULL, NULL);
	return failed;
}
