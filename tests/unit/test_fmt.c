/*
 * Unit tests for analyzer/fmt.c: units, separators, durations and JSON
 * escaping, including the edges where rounding changes the unit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fmt.h"

static void test_bytes(void **state)
{
	char b[LT_FMT_BUF];
	(void)state;

	assert_string_equal(lt_fmt_bytes(b, 0), "0 B");
	assert_string_equal(lt_fmt_bytes(b, 1023), "1023 B");
	assert_string_equal(lt_fmt_bytes(b, 1024), "1.0 KiB");
	assert_string_equal(lt_fmt_bytes(b, 1258291), "1.2 MiB");
	assert_string_equal(lt_fmt_bytes(b, 12900000), "12.3 MiB");
	assert_string_equal(lt_fmt_bytes(b, 200ull << 20), "200 MiB");
	/* 1023.99 KiB must not print as "1024 KiB". */
	assert_string_equal(lt_fmt_bytes(b, 1048570), "1.0 MiB");
	assert_string_equal(lt_fmt_bytes(b, UINT64_MAX), "16.0 EiB");
	assert_string_equal(lt_fmt_bytes_f(b, 1535.6), "1.5 KiB");
	assert_string_equal(lt_fmt_bytes_f(b, -3), "0 B");
}

static void test_count(void **state)
{
	char b[LT_FMT_BUF];
	(void)state;

	assert_string_equal(lt_fmt_count(b, 0), "0");
	assert_string_equal(lt_fmt_count(b, 999), "999");
	assert_string_equal(lt_fmt_count(b, 1000), "1,000");
	assert_string_equal(lt_fmt_count(b, 1234567), "1,234,567");
	assert_string_equal(lt_fmt_count(b, UINT64_MAX),
			    "18,446,744,073,709,551,615");
	assert_string_equal(lt_fmt_count_f(b, 1499.5), "1,500");
}

static void test_duration(void **state)
{
	char b[LT_FMT_BUF];
	(void)state;

	assert_string_equal(lt_fmt_duration(b, 850e-9), "850 ns");
	assert_string_equal(lt_fmt_duration(b, 12.34e-6), "12.3 us");
	assert_string_equal(lt_fmt_duration(b, 4.567e-3), "4.57 ms");
	assert_string_equal(lt_fmt_duration(b, 2.314), "2.31 s");
	assert_string_equal(lt_fmt_duration(b, 192), "3 min 12 s");
	assert_string_equal(lt_fmt_duration(b, 7500), "2 h 05 min");
	assert_string_equal(lt_fmt_duration(b, -1), "?");
	/* 0.9999 s rounds into the next unit, not "1000 ms". */
	assert_string_equal(lt_fmt_duration(b, 0.9999), "1.00 s");
}

static void test_percent(void **state)
{
	char b[LT_FMT_BUF];
	(void)state;

	assert_string_equal(lt_fmt_percent(b, 1, 3), "33.3%");
	assert_string_equal(lt_fmt_percent(b, 5, 0), "-");
}

static char *json_of(const char *s, size_t len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	assert_int_equal(lt_json_string(f, s, len), 0);
	fclose(f);
	return buf;
}

static void test_json(void **state)
{
	char *j;
	(void)state;

	j = json_of("a\"b\\c\n\t\x01", 8);
	assert_string_equal(j, "\"a\\\"b\\\\c\\n\\t\\u0001\"");
	free(j);
	/* Valid UTF-8 passes through; a lone continuation byte, an
	 * overlong form and a cut sequence become U+FFFD. */
	j = json_of("\xc3\xa9|\x80|\xc0\xaf|\xe2\x82", 10);
	assert_string_equal(j, "\"\xc3\xa9|\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\"");
	free(j);
	j = json_of("nul\0x", 5);
	assert_string_equal(j, "\"nul\\u0000x\"");
	free(j);
}

static void test_err(void **state)
{
	struct lt_err e;
	(void)state;

	assert_int_equal(lt_err_set(&e, "%s at byte %d", "x.lt", 8), -1);
	assert_string_equal(e.msg, "x.lt at byte 8");
	assert_int_equal(lt_err_set(NULL, "ignored"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_err),
	};
	return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
