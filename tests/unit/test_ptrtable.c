/*
 * Unit tests for analyzer/ptrtable.h, the live-block tables of the replay
 * and of the escape observer: how much room reserve() makes, and insert,
 * find and remove against a plain array, at every load up to a rehash, in
 * tables whose probe runs wrap around their end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ptrtable.h"

struct elem {
	uint64_t ptr;
	uint64_t value;
};

static inline uint64_t elem_key(const struct elem *e)
{
	return e->ptr;
}

LT_PTR_TABLE(etable, struct elem, elem_key)

static void test_reserve_room(void **state)
{
	struct etable t = { 0 };
	size_t most = LT_PTR_TABLE_SLACK / sizeof(struct elem);
	(void)state;

	/* Small: never under 1024 slots. */
	assert_int_equal(etable_reserve(&t, 10), 0);
	assert_int_equal(t.cap, 1024);
	/* A third full while that fits in the slack. */
	assert_int_equal(etable_reserve(&t, 1000), 0);
	assert_int_equal(t.cap, 3001);
	/* Never shrinks. */
	assert_int_equal(etable_reserve(&t, 10), 0);
	assert_int_equal(t.cap, 3001);
	/* Past it: as much room as the slack buys, at least a third spare. */
	assert_int_equal(etable_reserve(&t, most / 2), 0);
	assert_int_equal(t.cap, most);
	assert_int_equal(etable_reserve(&t, most), 0);
	assert_int_equal(t.cap, most + most / 2 + 1);
	/* Absurd: left alone, not wrapped around. */
	assert_int_equal(etable_reserve(&t, SIZE_MAX / 2), 0);
	assert_int_equal(t.cap, most + most / 2 + 1);
	etable_free(&t);
	assert_null(t.slots);
}

/* One of span addresses as allocators hand them out: 16-byte aligned,
 * neighbours, and the same offsets in arenas 64 MiB apart. */
static uint64_t address(uint64_t *seed, uint64_t span)
{
	uint64_t r;

	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	r = (*seed >> 33) % span;
	return 0x7f0000000000ull + (r % 8) * (64ull << 20) + r / 8 * 16 + 16;
}

static size_t ref_find(const struct elem *ref, size_t n, uint64_t ptr)
{
	for (size_t i = 0; i < n; i++)
		if (ref[i].ptr == ptr)
			return i;
	return SIZE_MAX;
}

/* Every element of ref is found, each in its own slot (their addresses
 * differ), and no slot holds anything else. */
static void check_all(const struct etable *t, const struct elem *ref, size_t n)
{
	size_t used = 0;

	assert_int_equal(t->count, n);
	for (size_t i = 0; i < n; i++) {
		const struct elem *e = etable_find(t, ref[i].ptr);
		assert_non_null(e);
		assert_int_equal(e->value, ref[i].value);
	}
	for (size_t i = 0; t->slots && i < t->cap; i++)
		used += t->slots[i].ptr != 0;
	assert_int_equal(used, n);
}

/* Random inserts and removes, the table checked against the array after
 * every 97 steps and at the end.  reserved: the sizing hint the table
 * starts from. */
static void churn(size_t reserved, size_t most, uint64_t span, unsigned steps,
		  uint64_t seed)
{
	struct etable t = { 0 };
	struct elem *ref = calloc(most, sizeof(*ref));
	size_t n = 0;

	assert_non_null(ref);
	assert_int_equal(etable_reserve(&t, reserved), 0);
	for (unsigned k = 0; k < steps; k++) {
		uint64_t ptr = address(&seed, span);
		size_t at = ref_find(ref, n, ptr);
		struct elem *e = etable_find(&t, ptr);

		assert_true((at == SIZE_MAX) == (e == NULL));
		if (e) {
			assert_int_equal(e->value, ref[at].value);
			etable_remove(&t, e);
			ref[at] = ref[--n];
		} else if (n < most) {
			struct elem in = { ptr, seed };

			/* Half through the gap a probe found (it grows the
			 * table as insert does), half by insert. */
			if (k % 2 && t.slots) {
				struct elem *gap = etable_probe(&t, ptr);

				assert_int_equal(gap->ptr, 0);
				assert_int_equal(etable_put(&t, gap, &in), 0);
			} else {
				assert_int_equal(etable_insert(&t, &in), 0);
			}
			ref[n++] = in;
		}
		if (k % 97 == 0)
			check_all(&t, ref, n);
	}
	check_all(&t, ref, n);
	/* Empty it in the array's order, which is not the table's. */
	while (n > 0) {
		uint64_t ptr = ref[0].ptr;
		struct elem *e = etable_find(&t, ptr);

		assert_non_null(e);
		etable_remove(&t, e);
		assert_null(etable_find(&t, ptr));
		ref[0] = ref[--n];
	}
	check_all(&t, ref, 0);
	etable_free(&t);
	free(ref);
}

/* Filled through probe and put alone, the table grows as insert would. */
static void test_put_grows(void **state)
{
	const size_t n = 5000;
	struct etable t = { 0 };
	struct elem *ref = calloc(n, sizeof(*ref));
	(void)state;

	assert_non_null(ref);
	assert_int_equal(etable_reserve(&t, 1), 0);
	for (size_t i = 0; i < n; i++) {
		struct elem in = { 0x7f0000000010ull + 16 * i, i };
		struct elem *gap = etable_probe(&t, in.ptr);

		assert_int_equal(gap->ptr, 0);
		assert_int_equal(etable_put(&t, gap, &in), 0);
		ref[i] = in;
		assert_true(t.count * 10 <= t.cap * 7);
	}
	check_all(&t, ref, n);
	etable_free(&t);
	free(ref);
}

static void test_against_array_roomy(void **state)
{
	(void)state;
	churn(400, 400, 800, 20000, 1);
}

static void test_against_array_full(void **state)
{
	(void)state;
	/* 1024 slots and up to 700 blocks: runs long enough to wrap around
	 * the table's end, up to the load that rehashes. */
	churn(10, 700, 1400, 40000, 2);
}

static void test_against_array_growing(void **state)
{
	(void)state;
	/* No hint: the table grows by rehashing as it fills. */
	churn(0, 5000, 10000, 30000, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve_room),
		cmocka_unit_test(test_put_grows),
		cmocka_unit_test(test_against_array_roomy),
		cmocka_unit_test(test_against_array_full),
		cmocka_unit_test(test_against_array_growing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
