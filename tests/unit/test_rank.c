/*
 * The report's ranking of sites (analyzer/report.c, included here for its
 * static functions): the first top sites in each order, picked with a
 * heap when top is small against the sites, must be the first top of a
 * full sort, in its order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report.c"

static int cmp_full(const void *a, const void *b)
{
	return cmp_sites(a, b);
}

/* k sites with few distinct counts, so that ties go to the stack id. */
static struct lt_site *make_sites(size_t k, uint64_t seed)
{
	struct lt_site *s = calloc(k, sizeof(*s));

	assert_non_null(s);
	for (size_t i = 0; i < k; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		s[i].stack_id = (uint32_t)(k - i);
		s[i].calls = (seed >> 33) % 7;
		s[i].bytes = (seed >> 40) % 5 * 16;
		s[i].leaked_blocks = (seed >> 20) % 3;
		s[i].leaked_bytes = s[i].leaked_blocks * ((seed >> 50) % 4);
	}
	return s;
}

static void check_orders(size_t k, uint64_t seed)
{
	static const enum order orders[] = { BY_CALLS, BY_BYTES, BY_LEAKED };
	struct lt_site *s = make_sites(k, seed);
	struct lt_site **all = calloc(k + 1, sizeof(*all));
	struct lt_model m = { 0 };
	const size_t tops[] = { 0, 1, 2, 3, 10, k / 4 - 1, k / 4, k / 2, k, k + 5 };

	assert_non_null(all);
	for (size_t i = 0; i < k; i++)
		all[i] = &s[i];
	m.sites = all;
	m.nsites = k;
	for (size_t o = 0; o < 3; o++) {
		const struct lt_site **ref = malloc((k + 1) * sizeof(*ref));
		size_t nref = 0;

		assert_non_null(ref);
		for (size_t i = 0; i < k; i++)
			if (orders[o] == BY_LEAKED ? s[i].leaked_blocks > 0 : s[i].calls > 0)
				ref[nref++] = &s[i];
		sort_model = &m;
		sort_order = orders[o];
		qsort(ref, nref, sizeof(*ref), cmp_full);
		sort_model = NULL;
		for (size_t t = 0; t < sizeof(tops) / sizeof(tops[0]); t++) {
			size_t n, found;
			const struct lt_site **v = ranked(&m, orders[o], tops[t], &n, &found);

			assert_non_null(v);
			assert_int_equal(found, nref);
			assert_int_equal(n, nref < tops[t] ? nref : tops[t]);
			for (size_t i = 0; i < n; i++)
				assert_ptr_equal(v[i], ref[i]);
			free(v);
		}
		free(ref);
	}
	free(all);
	free(s);
}

static void test_top_of_many(void **state)
{
	(void)state;
	check_orders(5000, 1);
	check_orders(5000, 2);
}

static void test_top_of_few(void **state)
{
	(void)state;
	for (size_t k = 1; k < 60; k++)
		check_orders(k, k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_of_many),
		cmocka_unit_test(test_top_of_few),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
