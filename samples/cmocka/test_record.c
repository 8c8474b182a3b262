/*
 * A cmocka test that holds code to an allocation budget with libtrace's
 * in-process API: record_format is on a hot path and must allocate
 * nothing; record_name_dup allocates once; neither leaks.  Run it under
 * libtrace (make check, or LD_PRELOAD=libtrace.so ./test_record).  Without
 * libtrace the allocation tests are skipped, or fail when
 * LIBTRACE_REQUIRED=1 is set (set it in CI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libtrace/libtrace.h>

#include "record.h"

/* Skip the test (or fail it, with LIBTRACE_REQUIRED=1) when libtrace is
 * not counting, saying why. */
static void need_libtrace(void)
{
	lt_stats_t s = lt_stats();
	const char *req = getenv("LIBTRACE_REQUIRED");

	if (s.status == LT_OK)
		return;
	if (req && strcmp(req, "1") == 0)
		fail_msg("libtrace: %s", lt_status_str(s.status));
	print_message("libtrace: %s; skipped\n", lt_status_str(s.status));
	skip();
}

/* Fail with the statement, what it did and what it may do. */
#define assert_allocs_per_run(most, runs, ...) do {                          \
	double allocs_ = LT_ALLOCS_PER_RUN(runs, __VA_ARGS__);                \
	if (allocs_ > (double)(most))                                       \
		fail_msg("`%s` allocates %.2f times per run (%d runs), "      \
			 "more than %g: run this test under `libtrace run` " \
			 "to see the stacks", #__VA_ARGS__, allocs_, (runs),  \
			 (double)(most));                                    \
} while (0)

static const struct record rec = { "temperature", 42, 21.5 };

static void test_format_allocates_nothing(void **state)
{
	char buf[64];
	(void)state;

	need_libtrace();
	assert_allocs_per_run(0, 1000, record_format(buf, sizeof buf, &rec));
	assert_string_equal(buf, "temperature#42=21.5");
}

static void test_name_dup_allocates_once(void **state)
{
	(void)state;

	need_libtrace();
	assert_allocs_per_run(1, 1000, free(record_name_dup(&rec)));
}

static void test_nothing_left_behind(void **state)
{
	char buf[64];
	lt_stats_t before, after;
	(void)state;

	need_libtrace();
	before = lt_stats();
	for (int i = 0; i < 100; i++) {
		char *name = record_name_dup(&rec);
		record_format(buf, sizeof buf, &rec);
		free(name);
	}
	after = lt_stats();
	assert_int_equal(after.frees - before.frees,
			 after.allocations - before.allocations);
	assert_int_equal(after.live_bytes, before.live_bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_allocates_nothing),
		cmocka_unit_test(test_name_dup_allocates_once),
		cmocka_unit_test(test_nothing_left_behind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
