/*
 * Unit tests for analyzer/pb.c (the protobuf encoder of the pprof export)
 * against bytes worked out by hand from the protobuf encoding rules, and
 * for analyzer/series.c (heap over time, who held the peak).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pb.h"
#include "series.h"

static void test_varints(void **state)
{
	struct lt_pb b = { 0 };
	/* field 1 = 150: the example of the protobuf encoding guide;
	 * field 2 = 0; field 16 = 1 (a two-byte tag); int64 -1: ten bytes. */
	static const uint8_t want[] = {
		0x08, 0x96, 0x01, 0x10, 0x00, 0x80, 0x01, 0x01,
		0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	};
	(void)state;

	lt_pb_varint(&b, 1, 150);
	lt_pb_varint(&b, 2, 0);
	lt_pb_varint(&b, 16, 1);
	lt_pb_int64(&b, 3, -1);
	assert_false(b.oom);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.buf, want, sizeof(want));
	lt_pb_free(&b);
}

static void test_bytes_packed_nested(void **state)
{
	struct lt_pb b = { 0 };
	uint64_t v[] = { 3, 270, 86942 };
	static const uint8_t want[] = {
		0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',
		/* packed: the guide's 3, 270, 86942 */
		0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05,
		/* nested { 1: 150 { 2: "" } } */
		0x1a, 0x05, 0x08, 0x96, 0x01, 0x12, 0x00,
	};
	size_t outer;
	(void)state;

	lt_pb_bytes(&b, 2, "testing", 7);
	lt_pb_packed(&b, 4, v, 3);
	lt_pb_packed(&b, 5, v, 0);          /* nothing at all */
	outer = lt_pb_begin(&b, 3);
	lt_pb_varint(&b, 1, 150);
	lt_pb_end(&b, lt_pb_begin(&b, 2));
	lt_pb_end(&b, outer);
	assert_false(b.oom);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.buf, want, sizeof(want));
	lt_pb_free(&b);
}

static void test_long_nested_length(void **state)
{
	struct lt_pb b = { 0 };
	char big[300];
	size_t m;
	(void)state;

	memset(big, 'x', sizeof(big));
	m = lt_pb_begin(&b, 1);
	lt_pb_bytes(&b, 1, big, sizeof(big));   /* 1 + 2 + 300 bytes */
	lt_pb_end(&b, m);
	/* tag, then 303 as a two-byte varint, then the body moved behind it */
	assert_int_equal(b.len, 1 + 2 + 303);
	assert_int_equal(b.buf[1], 0xaf);
	assert_int_equal(b.buf[2], 0x02);
	assert_int_equal(b.buf[3], 0x0a);
	assert_int_equal(b.buf[b.len - 1], 'x');
	lt_pb_free(&b);
}

/* Two sites; the peak is when a holds 300 and b 50, though a is later
 * freed and b grows past what it held then. */
static void test_series_peak_sites(void **state)
{
	struct lt_file_header hdr = { .start_ticks = 1000 };
	struct lt_dump d = { .hdr = &hdr, .pair_ticks = 1000 + 1024 * 10 };
	struct lt_site a = { .stack_id = 1 }, b = { .stack_id = 2 };
	const struct lt_series_site **v;
	struct lt_series *s = lt_series_new(&d);
	size_t n;
	(void)state;

	assert_non_null(s);
	lt_series_observe(s, 1100, &a, 100, 1, 1);
	lt_series_observe(s, 1200, &b, 50, 1, 1);
	lt_series_observe(s, 1300, &a, 200, 1, 1);      /* peak: 350 */
	lt_series_observe(s, 1400, &a, 100, 1, -1);
	lt_series_observe(s, 1500, &b, 60, 1, 1);       /* 310: no peak */
	lt_series_observe(s, 99000, &a, 200, 1, -1);    /* past the end */
	assert_true(s->peak == 350);
	assert_int_equal(s->peak_ticks, 1300);
	assert_true(s->live == 110);
	assert_int_equal(lt_series_peak_sites(s, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(v[0]->site, &a);
	assert_true(v[0]->bytes == 300 && v[0]->blocks == 2);
	assert_ptr_equal(v[1]->site, &b);
	assert_true(v[1]->bytes == 50 && v[1]->live_bytes == 110);
	/* The buckets stayed within bounds by growing wider, and still
	 * hold the peak. */
	assert_true(s->n <= LT_SERIES_BUCKETS);
	double hi = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->b[i].hi > hi)
			hi = s->b[i].hi;
	assert_true(hi == 350);
	assert_true(s->b[s->n - 1].last == 110);
	lt_series_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varints),
		cmocka_unit_test(test_bytes_packed_nested),
		cmocka_unit_test(test_long_nested_length),
		cmocka_unit_test(test_series_peak_sites),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
