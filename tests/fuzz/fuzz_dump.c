/*
 * libFuzzer target over everything the analyzer does with a dump: the reader
 * (header, chunk index, record checks), the model's replay, every report
 * mode (full text with symbols, JSON, one line), `threads` (text, JSON),
 * `export` in every format, `check` with a budget and a baseline, `diff`.  It asserts what PRODUCT.md
 * promises for any input: no crash, and a rejected dump comes with a message
 * naming the file.  Must never write anywhere but /dev/null.
 *
 * Built twice: fuzz_report symbolizes with the files the dump names (libdw,
 * slow); fuzz_dump links with -Wl,--wrap=lt_sym_add_module so that every
 * module resolves to module+offset, hundreds of times faster, which is
 * where the reader and the model get most of their executions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "budget.h"
#include "check.h"
#include "diff.h"
#include "dump.h"
#include "export.h"
#include "model.h"
#include "report.h"
#include "symbols.h"
#include "threads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_NO_SYMBOLS
int __real_lt_sym_add_module(struct lt_symbolizer *sym, const char *path,
			     uint64_t bias, uint64_t lo, uint64_t hi,
			     const uint8_t *build_id, size_t build_id_len,
			     uint64_t load_ticks);
int __wrap_lt_sym_add_module(struct lt_symbolizer *sym, const char *path,
			     uint64_t bias, uint64_t lo, uint64_t hi,
			     const uint8_t *build_id, size_t build_id_len,
			     uint64_t load_ticks);

/* The module is known, its file never opened: a path no file has. */
int __wrap_lt_sym_add_module(struct lt_symbolizer *sym, const char *path,
			     uint64_t bias, uint64_t lo, uint64_t hi,
			     const uint8_t *build_id, size_t build_id_len,
			     uint64_t load_ticks)
{
	(void)path;
	return __real_lt_sym_add_module(sym, "/nonexistent/fuzz", bias, lo, hi,
					build_id, build_id_len, load_ticks);
}
#endif

static FILE *sink(void)
{
	static FILE *out;

	if (!out)
		out = fopen("/dev/null", "w");
	if (!out)
		abort();
	return out;
}

/* The input as a file the reader can map: a memfd, named by its /proc path. */
static int input_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("fuzz.lt", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* The commands that open the dump themselves: export in every format
 * (pprof also of threads), check against a budget with the dump as its own
 * baseline, diff of the dump with itself. */
static void path_commands(const char *path)
{
	static const char budget_text[] =
		"max_allocs = 20000\nmax_bytes = 64 MiB\nmax_peak = 8 MiB\n"
		"max_leaked_bytes = 0\nmax_thread_leaks = 0\nmax_threads = 16\n"
		"site main max_allocs = 100\nsite \"json_*\" max_bytes = 1 MiB\n"
		"site leak.c:40 max_allocs = 1\n";
	static struct lt_budget *budget;
	const char *dumps[1] = { path };
	struct lt_err err;
	size_t failed;
	bool sampled;

	if (!budget && lt_budget_parse("fuzz.budget", budget_text,
				       sizeof(budget_text) - 1, &budget, &err) < 0)
		abort();
	for (int f = LT_EXPORT_PPROF; f <= LT_EXPORT_HTML; f++) {
		struct lt_export_opts o = { .format = f, .value = f % LT_VALUE_COUNT };
		lt_export_path(sink(), path, &o, &sampled, &err);
	}
	struct lt_export_opts threads = { .format = LT_EXPORT_PPROF,
					  .profile = LT_PROFILE_THREADS };
	lt_export_path(sink(), path, &threads, &sampled, &err);
	struct lt_check_opts co = { .budget = budget, .baselines = dumps,
				    .nbaselines = 1, .max_increase = 0.05 };
	lt_check_paths(sink(), dumps, 1, &co, &failed, &err);
	struct lt_diff_opts diff = { .json = true };
	lt_diff_paths(sink(), path, path, &diff, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum lt_report_mode modes[] = {
		LT_REPORT_FULL, LT_REPORT_JSON, LT_REPORT_ONELINE,
	};
	char path[64];
	struct lt_dump *d;
	struct lt_model *m;
	struct lt_err err = { "" };
	int fd = input_file(data, size, path, sizeof(path));

	if (lt_dump_open(path, &d, &err) < 0) {
		/* Rejected input must say which file and why. */
		if (!strstr(err.msg, path))
			abort();
		close(fd);
		return 0;
	}
	if (lt_model_build(d, NULL, NULL, &m, &err) == 0) {
		/* Every command that reads a dump: report, threads.  A new
		 * command's entry point over the model belongs here too. */
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			struct lt_report_opts opts = { .mode = modes[i], .top = 3 };
			lt_report_model(sink(), m, &opts, &err);
		}
		for (int json = 0; json <= 1; json++) {
			static const char *ignore[] = { "worker*" };
			struct lt_threads_opts opts = {
				.json = json, .fanout_limit = json ? 0 : 2,
				.ignore_start = ignore, .nignore_start = 1,
				.ignore_top = ignore, .nignore_top = json,
			};
			struct lt_threads *x;
			if (lt_threads_build(m, &opts, &x, &err) == 0) {
				lt_threads_print(sink(), x, &opts, &err);
				lt_threads_free(x);
			}
		}
		lt_model_free(m);
	} else if (!err.msg[0]) {
		abort();
	}
	lt_dump_close(d);
	path_commands(path);
	close(fd);
	return 0;
}
