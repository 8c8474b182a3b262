/*
 * Unit tests for `libtrace threads` (analyzer/threads.c) on synthetic
 * dumps: grouping by creation site, each thread's fate, peak concurrency
 * and when, the fan-out threshold, per-thread allocations, live stacks of
 * snapshots and exit (grouped, unavailable, missing), truncated dumps.
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
#include "threads.h"

struct built {
	struct lt_dump *dump;
	struct lt_model *model;
	struct lt_threads *x;
};

static struct built build(struct lt_gen *g, unsigned fanout_limit)
{
	struct built b = { 0 };
	struct lt_err err = { "" };
	struct lt_threads_opts o = { .fanout_limit = fanout_limit };
	char *name = lt_gen_tmpname();

	assert_int_equal(lt_gen_write(g, name, SIZE_MAX), 0);
	if (lt_dump_open(name, &b.dump, &err) < 0)
		fail_msg("open: %s", err.msg);
	unlink(name);
	free(name);
	if (lt_model_build(b.dump, NULL, NULL, &b.model, &err) < 0)
		fail_msg("model: %s", err.msg);
	if (lt_threads_build(b.model, &o, &b.x, &err) < 0)
		fail_msg("threads: %s", err.msg);
	lt_gen_free(g);
	return b;
}

static void release_built(struct built *b)
{
	lt_threads_free(b->x);
	lt_model_free(b->model);
	lt_dump_close(b->dump);
}

static const struct lt_tsite *site_started_by(const struct lt_threads *x,
					      uint64_t start)
{
	for (size_t i = 0; i < x->nsites; i++)
		if (x->sites[i]->start_routine == start)
			return x->sites[i];
	fail_msg("no site with start routine 0x%llx", (unsigned long long)start);
	return NULL;
}

static const struct lt_tinfo *tinfo(const struct lt_threads *x, uint32_t s)
{
	for (size_t i = 0; i < x->nthreads; i++)
		if (x->threads[i].t->serial == s)
			return &x->threads[i];
	fail_msg("no thread %u", s);
	return NULL;
}

/* Text of printing b as JSON or text; caller frees. */
static char *printed(struct built *b, bool json)
{
	struct lt_threads_opts o = { .json = json };
	struct lt_err err;
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	assert_int_equal(lt_threads_print(f, b->x, &o, &err), 0);
	fclose(f);
	return s;
}

static const uint64_t create_a[] = { 0x1111, 0x2222 };
static const uint64_t create_b[] = { 0x3333, 0x2222 };
static const uint64_t create_c[] = { 0x4444, 0x2222 };

/*
 * Site A (0xa000 from stack 5): threads 2 and 3 overlap, 4 comes later;
 * 2 joined, 3 detached after it exited, 4 finished unjoined (leaked).
 * Site B (0xb000 from stack 6): thread 5 created detached, still running.
 * Site C (0xc000 from stack 7): thread 6 never exits (running at exit).
 */
static struct lt_gen *lifecycle(bool with_trailer)
{
	struct lt_gen *g = lt_gen_new(0, 0);

	lt_gen_chunk(g, 1);
	lt_gen_stack(g, 5, create_a, 2);
	lt_gen_stack(g, 6, create_b, 2);
	lt_gen_stack(g, 7, create_c, 2);
	lt_gen_thread_create_fn(g, 5, 100, 2, 0, 0xa000);
	lt_gen_thread_create_fn(g, 5, 150, 3, 0, 0xa000);
	lt_gen_thread_create_fn(g, 5, 500, 4, 0, 0xa000);
	lt_gen_thread_create_fn(g, 6, 700, 5, LT_CREATE_DETACHED, 0xb000);
	lt_gen_thread_create_fn(g, 7, 800, 6, 0, 0xc000);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 410, 0x7002);
	lt_gen_thread_op(g, LT_REC_THREAD_DETACH, 420, 0x7003);

	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 110, 0x7002);
	lt_gen_thread_name(g, 111, 0, "worker-a");
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 120, 0x10000, 100);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 130, 0x10100, 28);
	lt_gen_free_rec(g, LT_FN_FREE, 140, 0x10000);
	lt_gen_thread_exit(g, 400);

	lt_gen_chunk(g, 3);
	lt_gen_thread_start(g, 160, 0x7003);
	lt_gen_thread_exit(g, 300);

	lt_gen_chunk(g, 4);
	lt_gen_thread_start(g, 510, 0x7004);
	lt_gen_alloc(g, LT_FN_CALLOC, 0, 520, 0x20000, 64);
	lt_gen_thread_exit(g, 600);

	lt_gen_chunk(g, 5);
	lt_gen_thread_start(g, 710, 0x7005);
	lt_gen_chunk(g, 6);
	lt_gen_thread_start(g, 810, 0x7006);
	lt_gen_chunk_end(g);

	/* Snapshot 1 at 250: 1 and 2 in the same place, 3 did not answer. */
	lt_gen_chunk(g, 0);
	{
		static const uint64_t wait[] = { 0x9990, 0x9000 };
		lt_gen_thread_stack(g, 251, 1, 1, LT_TSTACK_OK, wait, 2);
		lt_gen_thread_stack(g, 252, 2, 1, LT_TSTACK_OK, wait, 2);
		lt_gen_thread_stack(g, 253, 3, 1, LT_TSTACK_UNAVAILABLE, NULL, 0);
		lt_gen_snapshot(g, 250, 1);
	}
	if (with_trailer) {
		/* At exit 1, 5 and 6 are alive; 6 has no stack. */
		static const uint64_t a[] = { 0x8880 }, b[] = { 0x7770, 0x7000 };
		lt_gen_thread_stack(g, 900, 1, 0, LT_TSTACK_OK, a, 1);
		lt_gen_thread_stack(g, 901, 5, 0, LT_TSTACK_OK, b, 2);
		lt_gen_trailer(g, 1000, NULL);
	}
	lt_gen_chunk_end(g);
	return g;
}

static void test_sites_and_fates(void **state)
{
	struct built b = build(lifecycle(true), 100);
	const struct lt_threads *x = b.x;
	const struct lt_tsite *a, *bs, *c;
	(void)state;

	assert_int_equal(x->nsites, 3);
	a = site_started_by(x, 0xa000);
	bs = site_started_by(x, 0xb000);
	c = site_started_by(x, 0xc000);
	assert_int_equal(a->created, 3);
	assert_int_equal(a->joined, 1);
	assert_int_equal(a->detached, 1);
	assert_int_equal(a->leaked, 1);
	assert_int_equal(a->running_at_exit, 0);
	assert_int_equal(a->peak, 2);
	assert_int_equal(a->peak_ticks, 150);
	assert_int_equal(bs->created, 1);
	assert_int_equal(bs->detached, 1);
	assert_int_equal(bs->detached_running, 1);
	assert_int_equal(bs->running_at_exit, 0);
	assert_int_equal(c->running_at_exit, 1);
	assert_int_equal(x->leaked, 1);
	assert_int_equal(x->running_at_exit, 1);

	/* Problems first: the two sites with a problem before site B. */
	assert_int_equal(bs->number, 3);
	assert_int_equal(tinfo(x, 1)->state, LT_TS_MAIN);
	assert_int_equal(tinfo(x, 2)->state, LT_TS_JOINED);
	assert_int_equal(tinfo(x, 3)->state, LT_TS_DETACHED);
	assert_int_equal(tinfo(x, 4)->state, LT_TS_LEAKED);
	assert_int_equal(tinfo(x, 5)->state, LT_TS_DETACHED);
	assert_int_equal(tinfo(x, 6)->state, LT_TS_RUNNING);
	assert_string_equal(tinfo(x, 2)->t->name, "worker-a");

	/* What each thread allocated, and its site's sum. */
	assert_true(tinfo(x, 2)->allocations == 2.0);
	assert_true(tinfo(x, 2)->bytes == 128.0);
	assert_int_equal(tinfo(x, 2)->frees, 1);
	assert_true(a->allocations == 3.0);
	assert_true(a->bytes == 192.0);
	assert_int_equal(a->frees, 1);
	release_built(&b);
}

/* Flagged only when the peak exceeds the limit. */
static void test_fanout_threshold(void **state)
{
	struct built b = build(lifecycle(true), 2);
	(void)state;

	assert_false(site_started_by(b.x, 0xa000)->fanout);
	assert_int_equal(b.x->fanout_sites, 0);
	release_built(&b);
	b = build(lifecycle(true), 1);
	assert_true(site_started_by(b.x, 0xa000)->fanout);
	assert_false(site_started_by(b.x, 0xb000)->fanout);
	assert_int_equal(b.x->fanout_sites, 1);
	assert_int_equal(b.x->threads[0].site, NULL);
	release_built(&b);
}

static void test_live_stacks(void **state)
{
	struct built b = build(lifecycle(true), 100);
	const struct lt_threads *x = b.x;
	char line[512];
	char *json, *text;
	(void)state;

	assert_int_equal(x->nsnaps, 2);
	assert_int_equal(x->snaps[0].number, 0);
	assert_int_equal(x->snaps[0].nstacks, 2);
	assert_int_equal(x->snaps[1].number, 1);
	assert_true(x->snaps[1].marker);
	assert_int_equal(x->snaps[1].ticks, 250);
	assert_int_equal(x->snaps[1].nstacks, 3);
	assert_non_null(tinfo(x, 5)->exit_stack);
	assert_null(tinfo(x, 6)->exit_stack);

	lt_threads_stack_line(b.x, x->snaps[1].stacks[2], 8, line, sizeof(line));
	assert_non_null(strstr(line, "stack unavailable"));

	/* Threads 1 and 2 share a stack: one group of two.  Thread 6 is
	 * alive at exit without a stack; at snapshot 1 every live thread
	 * (1, 2, 3) has one. */
	json = printed(&b, true);
	assert_non_null(strstr(json, "{\"count\": 2, \"status\": \"ok\""));
	assert_non_null(strstr(json, "\"threads\": [1, 2]"));
	assert_non_null(strstr(json, "{\"count\": 1, \"status\": \"unavailable\""));
	assert_non_null(strstr(json, "\"snapshot\": 0, \"at\": \"exit\""));
	assert_non_null(strstr(json, "\"missing\": [6]"));
	assert_non_null(strstr(json, "\"missing\": []"));
	assert_non_null(strstr(json, "\"threads_leaked\": 1, "
			       "\"threads_running_at_exit\": 1"));
	text = printed(&b, false);
	assert_non_null(strstr(text, "Live stacks at snapshot 1"));
	assert_non_null(strstr(text, "  2 threads: "));
	assert_non_null(strstr(text, "1 thread: stack unavailable"));
	assert_non_null(strstr(text, "1 thread alive then with no stack"));
	free(json);
	free(text);
	release_built(&b);
}

/* Cut before the end: nothing at exit, running threads say so. */
static void test_truncated(void **state)
{
	struct built b = build(lifecycle(false), 100);
	char *text;
	(void)state;

	assert_true(b.dump->truncated);
	assert_int_equal(b.x->nsnaps, 1);
	assert_int_equal(b.x->running_at_exit, 1);
	text = printed(&b, false);
	assert_non_null(strstr(text, "No live stacks at exit (the dump is truncated)"));
	assert_non_null(strstr(text, "running at exit (where the dump ends)"));
	free(text);
	release_built(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sites_and_fates),
		cmocka_unit_test(test_fanout_threshold),
		cmocka_unit_test(test_live_stacks),
		cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
