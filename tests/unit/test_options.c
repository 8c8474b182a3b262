/* Unit tests for interposer/options.c: the LIBTRACE_* table and its parsers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <cmocka.h>

#include "shim.h"

static void clear_env(void)
{
	unsetenv("LIBTRACE_OUTPUT");
	unsetenv("LIBTRACE_DEPTH");
	unsetenv("LIBTRACE_SAMPLE");
	unsetenv("LIBTRACE_FOLLOW");
	unsetenv("LIBTRACE_SNAPSHOT_SIGNAL");
	unsetenv("LIBTRACE_QUIET");
	unsetenv("LIBTRACE_COMPRESS");
}

static void test_defaults(void **state)
{
	(void)state;
	clear_env();
	assert_int_equal(lt_options_load(), 0);
	assert_string_equal(lt_opt.output, "./%e.%p.lt");
	assert_int_equal(lt_opt.depth, 64);
	assert_int_equal(lt_opt.sample, 0);
	assert_true(lt_opt.follow);
	assert_false(lt_opt.quiet);
	assert_false(lt_opt.compress);
	assert_int_equal(lt_opt.snapshot_signal, 0);
}

static void test_sizes(void **state)
{
	(void)state;
	clear_env();
	setenv("LIBTRACE_SAMPLE", "512k", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.sample, 512 * 1024);
	setenv("LIBTRACE_SAMPLE", "2m", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.sample, 2 * 1024 * 1024);
	setenv("LIBTRACE_SAMPLE", "4096", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.sample, 4096);
	setenv("LIBTRACE_SAMPLE", "1KiB", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.sample, 1024);
}

static void test_bad_values_fall_back(void **state)
{
	(void)state;
	clear_env();
	setenv("LIBTRACE_SAMPLE", "lots", 1);
	setenv("LIBTRACE_DEPTH", "-3", 1);
	setenv("LIBTRACE_FOLLOW", "maybe", 1);
	assert_int_equal(lt_options_load(), -EINVAL);
	assert_int_equal(lt_opt.sample, 0);
	assert_int_equal(lt_opt.depth, 64);
	assert_true(lt_opt.follow);
	setenv("LIBTRACE_SAMPLE", "99999999999999999999999", 1);
	assert_int_equal(lt_options_load(), -EINVAL);
	assert_int_equal(lt_opt.sample, 0);
}

static void test_depth_is_clamped(void **state)
{
	(void)state;
	clear_env();
	setenv("LIBTRACE_DEPTH", "100000", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.depth, LT_MAX_DEPTH);
	setenv("LIBTRACE_DEPTH", "0", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.depth, 1);
}

static void test_signals(void **state)
{
	(void)state;
	clear_env();
	setenv("LIBTRACE_SNAPSHOT_SIGNAL", "USR2", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.snapshot_signal, SIGUSR2);
	setenv("LIBTRACE_SNAPSHOT_SIGNAL", "SIGUSR1", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.snapshot_signal, SIGUSR1);
	setenv("LIBTRACE_SNAPSHOT_SIGNAL", "12", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_int_equal(lt_opt.snapshot_signal, 12);
	setenv("LIBTRACE_SNAPSHOT_SIGNAL", "KILL", 1);
	assert_int_equal(lt_options_load(), -EINVAL);
	assert_int_equal(lt_opt.snapshot_signal, 0);
	setenv("LIBTRACE_SNAPSHOT_SIGNAL", "9", 1);
	assert_int_equal(lt_options_load(), -EINVAL);
}

static void test_booleans_and_output(void **state)
{
	(void)state;
	clear_env();
	setenv("LIBTRACE_FOLLOW", "0", 1);
	setenv("LIBTRACE_QUIET", "yes", 1);
	setenv("LIBTRACE_COMPRESS", "1", 1);
	setenv("LIBTRACE_OUTPUT", "/tmp/%h-%e-%p.lt", 1);
	assert_int_equal(lt_options_load(), 0);
	assert_false(lt_opt.follow);
	assert_true(lt_opt.quiet);
	assert_true(lt_opt.compress);
	assert_string_equal(lt_opt.output, "/tmp/%h-%e-%p.lt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bad_values_fall_back),
		cmocka_unit_test(test_depth_is_clamped),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_booleans_and_output),
	};

	/* The parser logs rejected values on stderr; keep the run readable. */
	setenv("LIBTRACE_QUIET", "1", 1);
	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
