/*
 * Unit tests for analyzer/budget.c: the grammar of PRODUCT.md's budget
 * files, values with units, pattern matching, and that every mistake is an
 * error naming its line (main turns it into exit 2).
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

#include "budget.h"

static struct lt_budget *parse_ok(const char *text)
{
	struct lt_budget *b = NULL;
	struct lt_err err = { "" };

	if (lt_budget_parse("b.conf", text, strlen(text), &b, &err) < 0)
		fail_msg("unexpected error: %s", err.msg);
	return b;
}

static void test_product_example(void **state)
{
	static const char text[] =
		"max_allocs       = 20000          # whole run\n"
		"max_bytes        = 64 MiB\n"
		"max_peak         = 8 MiB\n"
		"max_leaked_bytes = 0\n"
		"max_thread_leaks = 0\n"
		"max_threads      = 16             # peak concurrent\n"
		"site parse_header  max_allocs = 100     # a function\n"
		"site \"json_*\"      max_bytes  = 1 MiB\n";
	struct lt_budget *b = parse_ok(text);
	(void)state;

	assert_int_equal(b->nlimits, 8);
	assert_int_equal(b->limits[0].kind, LT_LIMIT_ALLOCS);
	assert_int_equal(b->limits[0].value, 20000);
	assert_null(b->limits[0].site);
	assert_string_equal(b->limits[0].text, "max_allocs       = 20000");
	assert_int_equal(b->limits[1].value, 64u << 20);
	assert_int_equal(b->limits[2].kind, LT_LIMIT_PEAK);
	assert_int_equal(b->limits[3].kind, LT_LIMIT_LEAKED_BYTES);
	assert_int_equal(b->limits[3].value, 0);
	assert_int_equal(b->limits[4].kind, LT_LIMIT_THREAD_LEAKS);
	assert_int_equal(b->limits[5].kind, LT_LIMIT_THREADS);
	assert_int_equal(b->limits[5].value, 16);
	assert_int_equal(b->limits[6].line, 7);
	assert_string_equal(b->limits[6].site, "parse_header");
	assert_int_equal(b->limits[6].pattern_kind, LT_PAT_FUNCTION);
	assert_int_equal(b->limits[6].value, 100);
	assert_string_equal(b->limits[7].site, "json_*");
	assert_int_equal(b->limits[7].pattern_kind, LT_PAT_GLOB);
	assert_int_equal(b->limits[7].kind, LT_LIMIT_BYTES);
	assert_int_equal(b->limits[7].value, 1u << 20);
	lt_budget_free(b);
}

static void test_every_limit(void **state)
{
	static const char text[] =
		"max_allocs = 1\nmax_reallocs = 2\nmax_bytes = 3\n"
		"max_peak = 4\nmax_leaked_bytes = 5\nmax_leaked_blocks = 6\n"
		"max_threads = 7\nmax_thread_leaks = 8\n"
		"max_running_at_exit = 9\n"
		"site samples/leak.c:42 max_leaked_bytes = 10\n"
		"site \"operator new(unsigned long)\" max_allocs = 11\r\n"
		"site \"a#b\" max_allocs = 12 # '#' inside quotes is kept\n";
	struct lt_budget *b = parse_ok(text);
	(void)state;

	assert_int_equal(b->nlimits, 12);
	for (int k = 0; k < LT_LIMIT_NKINDS; k++) {
		assert_int_equal(b->limits[k].kind, k);
		assert_int_equal(b->limits[k].value, k + 1);
	}
	assert_int_equal(b->limits[9].pattern_kind, LT_PAT_FILE_LINE);
	assert_string_equal(b->limits[9].file, "samples/leak.c");
	assert_int_equal(b->limits[9].file_line, 42);
	assert_string_equal(b->limits[10].site, "operator new(unsigned long)");
	assert_string_equal(b->limits[11].site, "a#b");
	assert_int_equal(b->limits[11].value, 12);
	lt_budget_free(b);
}

static void test_values(void **state)
{
	static const struct {
		const char *s;
		bool bytes;
		uint64_t want;
	} ok[] = {
		{ "0", false, 0 }, { "20000", false, 20000 },
		{ "20,000", false, 20000 }, { "20_000", false, 20000 },
		{ "20k", false, 20000 }, { "2 M", false, 2000000 },
		{ "1.5k", false, 1500 },
		{ "4096", true, 4096 }, { "4096 B", true, 4096 },
		{ "1 KiB", true, 1024 }, { "1.5 KiB", true, 1536 },
		{ "64MiB", true, 64u << 20 }, { "1 mib", true, 1u << 20 },
		{ "2 GiB", true, 2ull << 30 }, { "1K", true, 1024 },
		{ "10 MB", true, 10000000 }, { "3 kB", true, 3000 },
		{ "0.5 MiB", true, 512u << 10 },
		{ "18446744073709551615", false, UINT64_MAX },
	};
	static const struct {
		const char *s;
		bool bytes;
		const char *msg;
	} bad[] = {
		{ "", false, "expected a count" },
		{ "-1", false, "negative" },
		{ "1.5", false, "whole number" },
		{ "1.5", true, "whole number of bytes" },
		{ "5 MiB", false, "unit of bytes" },
		{ "5 parsecs", true, "unknown unit 'parsecs'" },
		{ "5%", false, "percentage" },
		{ "100 200", false, "got '100 200'" },
		{ "0x10", false, "got '0x10'" },
		{ "1e6", false, "got '1e6'" },
		{ "18446744073709551616", false, "too large" },
		{ "20000000 TiB", true, "too large" },
		{ "1.", true, "decimal point" },
		{ ",5", false, "expected a count" },
	};
	struct lt_err err;
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 42;
		if (lt_budget_parse_value(ok[i].s, ok[i].bytes, &v, &err) < 0)
			fail_msg("'%s': %s", ok[i].s, err.msg);
		if (v != ok[i].want)
			fail_msg("'%s' gave %llu, want %llu", ok[i].s,
				 (unsigned long long)v,
				 (unsigned long long)ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		err.msg[0] = '\0';
		if (lt_budget_parse_value(bad[i].s, bad[i].bytes, &v, &err) == 0)
			fail_msg("'%s' was accepted as %llu", bad[i].s,
				 (unsigned long long)v);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].s,
				 err.msg, bad[i].msg);
	}
}

/*
 * Every mistake, on line 7 of a file whose first six lines are fine:
 * rejected, with "b.conf:7: " and what was expected in the message.
 */
static void test_errors_name_the_line(void **state)
{
	static const char head[] =
		"# a budget\n"
		"\n"
		"max_allocs = 100   # fine\n"
		"   \t\n"
		"site fine_one max_bytes = 1 KiB\n"
		"# still fine\n";
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
		{ "max_bytes 100", "expected 'max_bytes = SIZE', got 'max_bytes 100'" },
		{ "max_peak: 8 MiB", "expected 'max_peak = SIZE', got 'max_peak: 8 MiB'" },
		{ "max_alloc = 5", "unknown limit 'max_alloc' (did you mean 'max_allocs'?)" },
		{ "MAX_PEAK = 5", "did you mean 'max_peak'?" },
		{ "frobnicate = 5", "unknown limit 'frobnicate'" },
		{ "= 5", "expected 'max_allocs = N', got '= 5'" },
		{ "max_reallocs =", "no value after '='" },
		{ "max_leaked_blocks = -3", "max_leaked_blocks: a limit cannot be negative" },
		{ "max_threads = 4 MiB", "max_threads: 'MiB' is a unit of bytes" },
		{ "max_bytes = 4 MiBs", "max_bytes: unknown unit 'MiBs'" },
		{ "max_thread_leaks = 0.5", "whole number" },
		{ "max_leaked_bytes = 1.5", "not a whole number of bytes" },
		{ "max_running_at_exit = 99999999999999999999", "too large" },
		{ "max_peak = 10%", "percentage" },
		{ "max_allocs = 100 200", "got '100 200'" },
		{ "parse_header max_allocs = 100",
		  "expected 'site parse_header max_allocs = N'" },
		{ "site", "no pattern" },
		{ "site max_allocs = 5", "(no pattern)" },
		{ "site foo", "expected 'site foo max_allocs = N', got 'site foo' (no limit)" },
		{ "site foo max_allocs", "expected 'site foo max_allocs = N'" },
		{ "site foo = 5", "expected 'site foo max_allocs = N'" },
		{ "site foo max_allocz = 5", "did you mean 'max_allocs'?" },
		{ "site \"foo max_allocs = 3", "closing '\"' is missing" },
		{ "site \"foo\"max_allocs = 3", "a space after the quoted pattern" },
		{ "site \"\" max_allocs = 3", "empty pattern" },
		{ "site foo.c:0 max_allocs = 1", "lines count from 1" },
		{ "site foo.c: max_allocs = 1", "a line number after ':'" },
		{ "site json_[ab max_allocs = 1", "'[' without its ']'" },
		{ "site src/[a.c:4 max_allocs = 1", "'[' without its ']'" },
		{ "max_allocs = 7", "max_allocs is set twice (first on line 3)" },
		{ "site fine_one max_bytes = 2 KiB",
		  "max_bytes for site 'fine_one' is set twice (first on line 5)" },
		{ "max_allocs\0= 5", "NUL byte" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], want[64];
		struct lt_budget *b = (struct lt_budget *)1;
		struct lt_err err = { "" };
		size_t hn = strlen(head), ln = strlen(cases[i].line);

		if (!strcmp(cases[i].msg, "NUL byte"))
			ln = 15;   /* the line holds a NUL: take its real length */
		memcpy(text, head, hn);
		memcpy(text + hn, cases[i].line, ln);
		memcpy(text + hn + ln, "\nmax_peak = 1 MiB\n", 19);
		if (lt_budget_parse("b.conf", text, hn + ln + 18, &b, &err) == 0)
			fail_msg("'%s' was accepted", cases[i].line);
		assert_null(b);
		snprintf(want, sizeof(want), "b.conf:7: ");
		if (strncmp(err.msg, want, strlen(want)) != 0)
			fail_msg("'%s': message '%s' does not start with '%s'",
				 cases[i].line, err.msg, want);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("'%s': message '%s' lacks '%s'", cases[i].line,
				 err.msg, cases[i].msg);
	}
}

static void test_no_limits(void **state)
{
	static const char *const texts[] = {
		"", "# only a comment\n\n", "\xef\xbb\xbf\n",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct lt_budget *b;
		struct lt_err err = { "" };
		assert_int_equal(lt_budget_parse("b.conf", texts[i],
						 strlen(texts[i]), &b, &err), -1);
		assert_non_null(strstr(err.msg, "b.conf: no limits"));
	}
}

static void test_load(void **state)
{
	char path[] = "/tmp/test_budget.XXXXXX";
	struct lt_budget *b;
	struct lt_err err = { "" };
	int fd = mkstemp(path);
	FILE *f;
	(void)state;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("max_allocs = 5\nmax_bytes = oops\n", f);
	fclose(f);
	assert_int_equal(lt_budget_load(path, &b, &err), -1);
	assert_non_null(strstr(err.msg, ":2: max_bytes: expected a size"));
	assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
	unlink(path);
	assert_int_equal(lt_budget_load(path, &b, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
}

static void test_matching(void **state)
{
	struct lt_budget *b = parse_ok(
		"site parse_header max_allocs = 1\n"
		"site \"json_*\" max_allocs = 1\n"
		"site samples/leak.c:42 max_allocs = 1\n"
		"site \"*/leak.c:42\" max_allocs = 1\n"
		"site \"ns::Parser::run\" max_allocs = 1\n");
	const struct lt_limit *fn = &b->limits[0], *glob = &b->limits[1];
	const struct lt_limit *fl = &b->limits[2], *flg = &b->limits[3];
	const struct lt_limit *cpp = &b->limits[4];
	(void)state;

	assert_true(lt_limit_matches(fn, "parse_header", "x.c", 3));
	assert_false(lt_limit_matches(fn, "parse_header2", "x.c", 3));
	assert_false(lt_limit_matches(fn, NULL, "x.c", 3));
	assert_true(lt_limit_matches(glob, "json_parse", NULL, 0));
	assert_false(lt_limit_matches(glob, "parse_json", NULL, 0));
	assert_true(lt_limit_matches(fl, "f", "samples/leak.c", 42));
	assert_true(lt_limit_matches(fl, "f", "/work/x/samples/leak.c", 42));
	assert_false(lt_limit_matches(fl, "f", "/work/x/other_samples/leak.c", 42));
	assert_false(lt_limit_matches(fl, "f", "samples/leak.c", 43));
	assert_false(lt_limit_matches(fl, "f", NULL, 42));
	assert_true(lt_limit_matches(flg, "f", "/a/b/leak.c", 42));
	assert_true(lt_limit_matches(cpp, "ns::Parser::run(int) const", NULL, 0));
	assert_true(lt_limit_matches(cpp, "ns::Parser::run", NULL, 0));
	assert_false(lt_limit_matches(cpp, "ns::Parser::runner(int)", NULL, 0));
	lt_budget_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_product_example),
		cmocka_unit_test(test_every_limit),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_no_limits),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_matching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
