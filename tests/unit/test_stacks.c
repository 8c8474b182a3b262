/*
 * Unit tests for interposer/stacks.c, the lock-free stack table.  The
 * recording seam is replaced here by a recorder that keeps every STACK
 * definition, so the tests can count them: the test threads have no buffer,
 * so lt_reserve and lt_commit (inline) always take their slow paths.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "shim.h"

__thread struct lt_thread lt_self;

#define MAX_DEFS 20000
static _Atomic uint32_t def_count;
static uint32_t def_ids[MAX_DEFS];
static __thread uint8_t scratch[4096] __attribute__((aligned(8)));
/* The calling thread's last definition's frames (the table keeps only
 * hashes of them). */
static __thread uint64_t last_frames[64];
static __thread uint32_t last_depth;

void *lt_reserve_slow(struct lt_thread *t, size_t len, bool aligned)
{
	(void)t;
	assert_true(aligned);   /* a stack is a fixed record */
	assert_true(len <= sizeof(scratch));
	return scratch;
}

void lt_commit_direct(struct lt_thread *t, size_t len)
{
	const struct lt_rec_stack *r = (const void *)scratch;

	(void)t;
	assert_int_equal(r->head.type, LT_REC_STACK);
	assert_int_equal(r->head.size, len);
	uint32_t i = atomic_fetch_add(&def_count, 1);
	assert_true(i < MAX_DEFS);
	def_ids[i] = r->head.aux;
	last_depth = (uint32_t)((len - sizeof(*r)) / sizeof(uint64_t));
	assert_true(last_depth <= 64);
	memcpy(last_frames, r->frames, last_depth * sizeof(uint64_t));
}

static int setup(void **state)
{
	(void)state;
	atomic_store(&def_count, 0);
	return 0;
}

static void test_same_stack_same_id_defined_once(void **state)
{
	uint64_t a[3] = { 0x401000, 0x402000, 0x403000 };
	uint64_t b[3] = { 0x401000, 0x402000, 0x403004 };

	(void)state;
	uint32_t ia = lt_stacks_intern(a, 3);
	uint32_t ib = lt_stacks_intern(b, 3);
	assert_int_not_equal(ia, LT_STACK_NONE);
	assert_int_not_equal(ia, ib);
	assert_int_equal(lt_stacks_intern(a, 3), ia);
	assert_int_equal(lt_stacks_intern(a, 2), lt_stacks_intern(a, 2));
	assert_int_not_equal(lt_stacks_intern(a, 2), ia);   /* a prefix is another stack */
	assert_int_equal(atomic_load(&def_count), 3);
}

static void test_new_dump_redefines_on_next_use(void **state)
{
	uint64_t a[2] = { 0x501000, 0x502000 };

	(void)state;
	uint32_t id = lt_stacks_intern(a, 2);
	assert_int_equal(atomic_load(&def_count), 1);
	lt_stacks_new_dump();
	assert_int_equal(lt_stacks_intern(a, 2), id);
	assert_int_equal(lt_stacks_intern(a, 2), id);
	assert_int_equal(atomic_load(&def_count), 2);
	assert_int_equal(def_ids[1], id);
}

/* A definition carries the frames it was interned with, in this dump and
 * in the next. */
static void test_definition_holds_the_frames(void **state)
{
	uint64_t a[5] = { 0x601000, 0x602000, 0x603000, 0x604000, 0x605000 };

	(void)state;
	lt_stacks_intern(a, 5);
	assert_int_equal(last_depth, 5);
	assert_memory_equal(last_frames, a, sizeof(a));
	last_depth = 0;
	lt_stacks_new_dump();
	lt_stacks_intern(a, 5);
	assert_int_equal(last_depth, 5);
	assert_memory_equal(last_frames, a, sizeof(a));
}

/* Stacks one frame apart are never taken for one another, wherever the
 * frame and however it differs (the table compares hashes, each step a
 * bijection of the frame it adds). */
static void test_one_frame_apart(void **state)
{
	enum { DEPTH = 16, PER = 200 };
	static uint32_t ids[DEPTH * PER + 1];
	static uint8_t seen[1u << 20];
	uint64_t base[DEPTH], f[DEPTH], x = 0x2545f4914f6cdd1dull;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < DEPTH; i++)
		base[i] = 0x7f0000400000ull + 0x1000u * (unsigned)i;
	ids[n++] = lt_stacks_intern(base, DEPTH);
	for (int pos = 0; pos < DEPTH; pos++) {
		for (int k = 0; k < PER; k++) {
			memcpy(f, base, sizeof(f));
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Near ones (a call further on in the same function) and
			 * far ones (another library). */
			f[pos] += k < PER / 2 ? (uint64_t)k + 1 : (x & 0xffffffffffull) | 1;
			ids[n++] = lt_stacks_intern(f, DEPTH);
		}
	}
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(ids[i], LT_STACK_NONE);
		assert_true(ids[i] < sizeof(seen));
		assert_int_equal(seen[ids[i]]++, 0);
	}
}

/* Nor are stacks whose frames are the same but in another order, or whose
 * differences cancel out in a plain sum (one frame further on, another
 * back by as much): the hashes are neither order-blind nor linear. */
static void test_order_and_cancelling(void **state)
{
	enum { DEPTH = 12 };
	uint64_t base[DEPTH], f[DEPTH];
	uint32_t id;

	(void)state;
	for (int i = 0; i < DEPTH; i++)
		base[i] = 0x7f0000900000ull + 0x2000u * (unsigned)i;
	id = lt_stacks_intern(base, DEPTH);
	for (int i = 0; i < DEPTH; i++) {
		for (int j = i + 1; j < DEPTH; j++) {
			memcpy(f, base, sizeof(f));
			f[i] = base[j];
			f[j] = base[i];
			assert_int_not_equal(lt_stacks_intern(f, DEPTH), id);
			for (uint64_t d = 1; d <= 4096; d *= 8) {
				memcpy(f, base, sizeof(f));
				f[i] += d;
				f[j] -= d;
				assert_int_not_equal(lt_stacks_intern(f, DEPTH), id);
			}
		}
	}
}

#define RACE_STACKS 2000

static void *race(void *arg)
{
	uint32_t *ids = arg;

	for (uint32_t i = 0; i < RACE_STACKS; i++) {
		uint64_t f[4] = { 0x700000 + i, 0x800000, 0x900000 + (i & 7), 0xa00000 };

		ids[i] = lt_stacks_intern(f, 4);
	}
	return NULL;
}

/* Threads interning the same stacks at once agree on every id, and each id
 * is defined exactly once. */
static void test_concurrent_interning(void **state)
{
	static uint32_t ids[4][RACE_STACKS];
	pthread_t th[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, race, ids[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 1; i < 4; i++)
		assert_memory_equal(ids[0], ids[i], sizeof(ids[0]));
	assert_int_equal(atomic_load(&def_count), RACE_STACKS);
	static uint8_t seen[1u << 20];
	for (uint32_t i = 0; i < RACE_STACKS; i++) {
		assert_true(def_ids[i] < sizeof(seen));
		assert_int_equal(seen[def_ids[i]]++, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_same_stack_same_id_defined_once, setup),
		cmocka_unit_test_setup(test_new_dump_redefines_on_next_use, setup),
		cmocka_unit_test_setup(test_definition_holds_the_frames, setup),
		cmocka_unit_test_setup(test_one_frame_apart, setup),
		cmocka_unit_test_setup(test_order_and_cancelling, setup),
		cmocka_unit_test_setup(test_concurrent_interning, setup),
	};

	if (lt_stacks_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("stacks", tests, NULL, NULL);
}
