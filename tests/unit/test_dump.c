/*
 * Unit tests for the dump reader (analyzer/dump.c): the golden dump, every
 * truncation of it, damaged headers, hostile sizes and random corruption.
 * Run with --write-golden PATH to regenerate tests/data/golden-v2.lt (only
 * together with a format version bump).
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
#include <lz4.h>

#include "dump.h"
#include "dumpgen.h"
#include "model.h"

static char *golden_path(void)
{
	const char *dir = getenv("LT_SRCDIR");
	char *p;

	if (asprintf(&p, "%s/tests/data/golden-v2.lt", dir ? dir : ".") < 0)
		abort();
	return p;
}

/* Write g (its first len bytes) to a temp file and open it. */
static int open_gen(const struct lt_gen *g, size_t len, struct lt_dump **d,
		    struct lt_err *err, char **path)
{
	char *name = lt_gen_tmpname();
	int rc;

	assert_int_equal(lt_gen_write(g, name, len), 0);
	rc = lt_dump_open(name, d, err);
	if (path)
		*path = name;
	else {
		unlink(name);
		free(name);
	}
	return rc;
}

static void assert_golden_numbers(const char *path)
{
	struct lt_dump *d;
	struct lt_model *m;
	struct lt_err err = { "" };

	assert_int_equal(lt_dump_open(path, &d, &err), 0);
	assert_int_equal(d->hdr->pid, 4711);
	assert_int_equal(d->hdr->main_thread, 1);
	assert_int_equal(d->exe_len, strlen("/usr/bin/golden"));
	assert_memory_equal(d->exe, "/usr/bin/golden", d->exe_len);
	assert_int_equal(d->nchunks, 4);
	assert_int_equal(d->nstreams, 3);           /* threads 0, 1, 2 */
	assert_false(d->truncated);
	assert_non_null(d->trailer);
	assert_int_equal(d->trailer->allocations, 6);
	assert_int_equal(d->records, 18);

	assert_int_equal(lt_model_build(d, NULL, NULL, &m, &err), 0);
	assert_int_equal(m->totals.allocations, 6);
	assert_int_equal(m->totals.frees, 3);
	assert_int_equal(m->totals.reallocs, 1);
	assert_int_equal(m->totals.bytes_allocated, 1660);
	assert_int_equal(m->totals.peak_bytes, 1360);
	assert_int_equal(m->totals.leaked_blocks, 2);
	assert_int_equal(m->totals.leaked_bytes, 1050);
	assert_int_equal(m->totals.temporary, 3);
	assert_int_equal(m->totals.threads_created, 1);
	assert_int_equal(m->totals.threads_joined, 1);
	assert_int_equal(m->totals.threads_detached, 0);
	assert_int_equal(m->totals.threads_leaked, 0);
	assert_int_equal(m->totals.threads_running_at_exit, 0);
	assert_int_equal(m->totals.peak_threads, 2);
	assert_int_equal(m->nmodules, 1);
	assert_string_equal(m->modules[0].path, "/usr/bin/golden");
	assert_int_equal(m->nwarnings, 0);
	assert_int_equal(m->end_ticks, 2200);
	lt_model_free(m);
	lt_dump_close(d);
}

static void test_golden_file(void **state)
{
	char *path = golden_path();
	(void)state;

	assert_true(access(path, R_OK) == 0);
	assert_golden_numbers(path);
	free(path);
}

/* The generator still writes the bytes the committed file holds, so a
 * change to either shows up here. */
static void test_golden_generator(void **state)
{
	struct lt_gen *g = lt_gen_golden();
	char *path = golden_path(), *tmp = lt_gen_tmpname();
	FILE *f = fopen(path, "rb");
	size_t len, got;
	const uint8_t *want = lt_gen_data(g, &len);
	uint8_t *buf = malloc(len + 1);
	(void)state;

	assert_non_null(f);
	got = fread(buf, 1, len + 1, f);
	fclose(f);
	assert_int_equal(got, len);
	assert_memory_equal(buf, want, len);
	assert_int_equal(lt_gen_write(g, tmp, SIZE_MAX), 0);
	assert_golden_numbers(tmp);
	unlink(tmp);
	free(tmp);
	free(buf);
	free(path);
	lt_gen_free(g);
}

/* Cutting the dump at any byte never crashes: before the header ends it
 * is an error, after it the dump opens as truncated. */
static void truncate_everywhere(struct lt_gen *g)
{
	size_t len, hsize;
	const uint8_t *data = lt_gen_data(g, &len);
	char *name = lt_gen_tmpname();

	hsize = ((const struct lt_file_header *)data)->header_size;
	for (size_t cut = 0; cut < len; cut++) {
		struct lt_dump *d = NULL;
		struct lt_model *m = NULL;
		struct lt_err err = { "" };
		int rc;

		assert_int_equal(lt_gen_write(g, name, cut), 0);
		rc = lt_dump_open(name, &d, &err);
		if (cut < hsize) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err.msg, name));
			continue;
		}
		assert_int_equal(rc, 0);
		assert_true(d->truncated);
		assert_null(d->trailer);
		assert_true(d->truncation[0] != '\0');
		assert_int_equal(lt_model_build(d, NULL, NULL, &m, &err), 0);
		assert_true(m->totals.allocations <= 6);
		lt_model_free(m);
		lt_dump_close(d);
	}
	unlink(name);
	free(name);
}

static void test_truncate_everywhere(void **state)
{
	struct lt_gen *g = lt_gen_golden();
	(void)state;

	truncate_everywhere(g);
	lt_gen_free(g);
}

static void expect_error(struct lt_gen *g, const char *needle)
{
	struct lt_dump *d = NULL;
	struct lt_err err = { "" };
	char *path;

	assert_int_equal(open_gen(g, SIZE_MAX, &d, &err, &path), -1);
	assert_null(d);
	if (!strstr(err.msg, needle) || !strstr(err.msg, path))
		fail_msg("error \"%s\" lacks \"%s\" or the path", err.msg, needle);
	unlink(path);
	free(path);
}

static void test_bad_header(void **state)
{
	struct lt_gen *g;
	struct lt_file_header *h;
	size_t len;
	(void)state;

	g = lt_gen_golden();
	((uint8_t *)lt_gen_data(g, &len))[0] = 'X';
	expect_error(g, "not a libtrace dump (bad magic at byte 0");
	lt_gen_free(g);

	g = lt_gen_golden();
	h = (struct lt_file_header *)lt_gen_data(g, &len);
	h->version = 99;
	expect_error(g, "dump format version 99 at byte 8");
	lt_gen_free(g);

	g = lt_gen_golden();
	h = (struct lt_file_header *)lt_gen_data(g, &len);
	h->header_size = 0xfffffff8u;
	expect_error(g, "header is truncated (need 4294967288 bytes");
	lt_gen_free(g);

	g = lt_gen_golden();
	h = (struct lt_file_header *)lt_gen_data(g, &len);
	h->header_size = 84;
	expect_error(g, "header_size 84 at byte 12");
	lt_gen_free(g);

	g = lt_gen_golden();
	h = (struct lt_file_header *)lt_gen_data(g, &len);
	h->exe_len = 0xffffffffu;
	h->cmdline_len = 0xffffffffu;
	expect_error(g, "header strings need");
	lt_gen_free(g);
}

static void test_hostile_sizes(void **state)
{
	struct lt_gen *g;
	struct lt_dump *d;
	struct lt_err err = { "" };
	char *path, want[256];
	(void)state;

	/* A chunk size beyond LT_CHUNK_MAX is corruption, not truncation. */
	g = lt_gen_new(0, 0);
	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 1100, 0x10, 8);
	lt_gen_chunk_end(g);
	{
		struct lt_chunk_header ch = { LT_CHUNK_MAGIC, 0xfffffff8u, 1, 1,
					      0, 0 };
		lt_gen_raw(g, &ch, sizeof(ch));
	}
	expect_error(g, "has size 4294967288 (expected a multiple of 8, at most");
	lt_gen_free(g);

	/* A plausible size that runs past the end of file: truncated. */
	g = lt_gen_new(0, 0);
	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 1100, 0x10, 8);
	lt_gen_chunk_end(g);
	{
		struct lt_chunk_header ch = { LT_CHUNK_MAGIC, 4096, 1, 1, 0, 0 };
		lt_gen_raw(g, &ch, sizeof(ch));
		lt_gen_raw(g, "12345678", 8);
	}
	assert_int_equal(open_gen(g, SIZE_MAX, &d, &err, NULL), 0);
	assert_true(d->truncated);
	assert_int_equal(d->nchunks, 1);
	assert_non_null(strstr(d->truncation, "need 4128 bytes, have 40"));
	lt_dump_close(d);
	lt_gen_free(g);

	/* Garbage where a chunk header should be. */
	g = lt_gen_golden();
	lt_gen_raw(g, "garbage!garbage!garbage!garbage!", 32);
	expect_error(g, "has bad magic 0x62726167 (expected 0x4b43544c");
	lt_gen_free(g);

	/* Record sizes: zero, odd, past the chunk, below the type's layout. */
	{
		static const struct {
			uint16_t size;
			uint8_t type;
			const char *what, *rest;
		} cases[] = {
			{ 0, LT_REC_FREE, "record",
			  "has size 0 (expected a multiple of 8, at least 8)" },
			{ 12, LT_REC_FREE, "record",
			  "has size 12 (expected a multiple of 8, at least 8)" },
			{ 4096, LT_REC_FREE, "record",
			  "is truncated (need 4096 bytes, have 32)" },
			{ 16, LT_REC_FREE, "free record",
			  "is truncated (need 32 bytes, have 16)" },
			{ 24, LT_REC_ALLOC, "alloc record",
			  "is truncated (need 40 bytes, have 24)" },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct lt_rec_head h = { cases[i].type, 0, cases[i].size, 0 };
			uint64_t pad[3] = { 0 };
			size_t at;

			g = lt_gen_new(0, 0);
			lt_gen_chunk(g, 1);
			lt_gen_data(g, &at);
			lt_gen_raw(g, &h, sizeof(h));
			lt_gen_raw(g, pad, sizeof(pad));
			lt_gen_chunk_end(g);
			snprintf(want, sizeof(want), "%s at byte %zu %s",
				 cases[i].what, at, cases[i].rest);
			expect_error(g, want);
			lt_gen_free(g);
		}
	}

	/* The message format of PRODUCT.md, whole. */
	g = lt_gen_new(0, 0);
	lt_gen_chunk(g, 1);
	{
		struct lt_rec_head h = { LT_REC_FREE, 0, 16, 0 };
		uint64_t t = 5;
		size_t at;
		lt_gen_data(g, &at);
		lt_gen_raw(g, &h, sizeof(h));
		lt_gen_raw(g, &t, sizeof(t));
		lt_gen_chunk_end(g);
		assert_int_equal(open_gen(g, SIZE_MAX, &d, &err, &path), -1);
		snprintf(want, sizeof(want), "%s: free record at byte %zu is "
			 "truncated (need 32 bytes, have 16)", path, at);
		assert_string_equal(err.msg, want);
		unlink(path);
		free(path);
	}
	lt_gen_free(g);

	/* A module whose strings overflow the record. */
	g = lt_gen_new(0, 0);
	lt_gen_chunk(g, 1);
	lt_gen_module(g, 1001, "/lib/x.so", 0, 0, 0x1000, 0);
	{
		size_t len;
		uint8_t *p = (uint8_t *)lt_gen_data(g, &len);
		struct lt_rec_module *mod = (void *)(p + len - 64);
		assert_int_equal(mod->head.type, LT_REC_MODULE);
		mod->path_len = 60000;
	}
	lt_gen_chunk_end(g);
	expect_error(g, "module record at byte");
	lt_gen_free(g);
}

/* Unknown record types are skipped by size and counted. */
static void test_unknown_records(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct lt_dump *d;
	struct lt_model *m;
	struct lt_err err = { "" };
	struct lt_rec_head h = { 200, 0, 24, 0 };
	uint64_t body[2] = { 1, 2 };
	(void)state;

	lt_gen_chunk(g, 1);
	lt_gen_raw(g, &h, sizeof(h));
	lt_gen_raw(g, body, sizeof(body));
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 1100, 0x10, 8);
	lt_gen_trailer(g, 1200, NULL);
	assert_int_equal(open_gen(g, SIZE_MAX, &d, &err, NULL), 0);
	assert_false(d->truncated);
	assert_int_equal(d->unknown_records, 1);
	assert_int_equal(lt_model_build(d, NULL, NULL, &m, &err), 0);
	assert_int_equal(m->totals.allocations, 1);
	assert_int_equal(m->totals.leaked_bytes, 8);
	lt_model_free(m);
	lt_dump_close(d);
	lt_gen_free(g);
}

/*
 * The live bound: exact for one stream (rise within a chunk counts), and
 * for a producer and a consumer in step it stays near the true peak rather
 * than the producer's total.  The replay's table, sized by it to a slot
 * count that is no power of two, still gives the exact totals.
 */
static void test_live_bound(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	struct lt_dump *d;
	struct lt_model *m;
	struct lt_err err = { "" };
	uint64_t t = 1100;
	(void)state;

	/* 5 acquired, 3 released, 4 acquired, 6 released: at most 6 live. */
	lt_gen_chunk(g, 1);
	for (int i = 0; i < 5; i++)
		lt_gen_alloc(g, LT_FN_MALLOC, 0, t++, 0x1000 + 16 * i, 8);
	for (int i = 0; i < 3; i++)
		lt_gen_free_rec(g, LT_FN_FREE, t++, 0x1000 + 16 * i);
	lt_gen_chunk_ticks(g, t++);
	lt_gen_chunk(g, 1);
	for (int i = 5; i < 9; i++)
		lt_gen_alloc(g, LT_FN_MALLOC, 0, t++, 0x1000 + 16 * i, 8);
	for (int i = 3; i < 9; i++)
		lt_gen_free_rec(g, LT_FN_FREE, t++, 0x1000 + 16 * i);
	lt_gen_chunk_ticks(g, t++);
	lt_gen_trailer(g, t, NULL);
	assert_int_equal(open_gen(g, SIZE_MAX, &d, &err, NULL), 0);
	assert_int_equal(d->live_bound, 6);
	lt_dump_close(d);
	lt_gen_free(g);

	/* Thread 1 acquires 1,000 blocks a chunk, ten chunks; thread 2
	 * releases each batch half a period later.  2,000 are live at most;
	 * thread 1 alone acquires 10,000. */
	g = lt_gen_new(0, 0);
	for (uint64_t k = 0; k < 10; k++) {
		lt_gen_chunk(g, 1);
		for (uint64_t i = 0; i < 1000; i++)
			lt_gen_alloc(g, LT_FN_MALLOC, 0, 10000 * (k + 1) + i,
				     0x100000 + 16 * (1000 * k + i), 24);
		lt_gen_chunk_ticks(g, 10000 * (k + 1) + 1000);
		lt_gen_chunk(g, 2);
		if (k > 0) {
			for (uint64_t i = 0; i < 1000; i++)
				lt_gen_free_rec(g, LT_FN_FREE,
						10000 * (k + 1) + 5000 + i,
						0x100000 + 16 * (1000 * (k - 1) + i));
		}
		lt_gen_chunk_ticks(g, 10000 * (k + 1) + 6000);
	}
	lt_gen_chunk(g, 2);
	for (uint64_t i = 0; i < 1000; i++)
		lt_gen_free_rec(g, LT_FN_FREE, 110000 + 5000 + i,
				0x100000 + 16 * (9000 + i));
	lt_gen_chunk_ticks(g, 116000);
	lt_gen_trailer(g, 120000, NULL);
	assert_int_equal(open_gen(g, SIZE_MAX, &d, &err, NULL), 0);
	/* A chunk's span starts at the stream's previous write, so the
	 * bound may run one chunk over per stream, never under. */
	assert_true(d->live_bound >= 2000);
	assert_true(d->live_bound <= 3000);
	assert_int_equal(lt_model_build(d, NULL, NULL, &m, &err), 0);
	assert_int_equal(m->totals.allocations, 10000);
	assert_int_equal(m->totals.frees, 10000);
	assert_int_equal(m->totals.peak_bytes, 2000 * 24);
	assert_int_equal(m->totals.leaked_blocks, 0);
	lt_model_free(m);
	lt_dump_close(d);
	lt_gen_free(g);
}

static void test_missing_and_empty(void **state)
{
	struct lt_dump *d;
	struct lt_err err = { "" };
	char *name = lt_gen_tmpname();
	(void)state;

	assert_int_equal(lt_dump_open(name, &d, &err), -1);
	assert_non_null(strstr(err.msg, "file is empty"));
	unlink(name);
	assert_int_equal(lt_dump_open(name, &d, &err), -1);
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_int_equal(lt_dump_open("/", &d, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	free(name);
}

/* Random damage: whatever opens must replay without crashing (run under
 * ASan to make this bite). */
static void random_corruption(struct lt_gen *g)
{
	size_t len;
	const uint8_t *orig = lt_gen_data(g, &len);
	uint8_t *copy = malloc(len);
	char *name = lt_gen_tmpname();
	unsigned seed = 12345;

	for (int round = 0; round < 3000; round++) {
		struct lt_dump *d;
		struct lt_model *m;
		struct lt_err err;
		FILE *f;

		memcpy(copy, orig, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % len] = (uint8_t)(seed >> 20);
		}
		f = fopen(name, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(copy, 1, len, f), len);
		fclose(f);
		if (lt_dump_open(name, &d, &err) < 0) {
			assert_non_null(strstr(err.msg, name));
			continue;
		}
		if (lt_model_build(d, NULL, NULL, &m, &err) == 0)
			lt_model_free(m);
		lt_dump_close(d);
	}
	unlink(name);
	free(name);
	free(copy);
}

static void test_random_corruption(void **state)
{
	struct lt_gen *g = lt_gen_golden();
	(void)state;

	random_corruption(g);
	lt_gen_free(g);
}

/*
 * Version 3: the golden dump with its events coded says the same, in
 * fewer bytes, and stands the same abuse.
 */
static void test_coded_golden(void **state)
{
	struct lt_gen *fixed = lt_gen_golden(), *g;
	char *tmp = lt_gen_tmpname();
	size_t fixed_len, len;
	(void)state;

	lt_gen_coded_default = true;
	g = lt_gen_golden();
	lt_gen_coded_default = false;
	lt_gen_data(fixed, &fixed_len);
	lt_gen_data(g, &len);
	assert_true(len < fixed_len);
	assert_int_equal(((const struct lt_file_header *)lt_gen_data(g, &len))->version, 3);
	assert_int_equal(lt_gen_write(g, tmp, SIZE_MAX), 0);
	assert_golden_numbers(tmp);
	unlink(tmp);
	free(tmp);
	truncate_everywhere(g);
	random_corruption(g);
	lt_gen_free(g);
	lt_gen_free(fixed);
}

/* What a coded record says, as the replay sees it: one thread's events. */
static struct lt_model *coded_model(struct lt_gen *g, struct lt_dump **d)
{
	struct lt_model *m;
	struct lt_err err = { "" };

	if (open_gen(g, SIZE_MAX, d, &err, NULL) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(lt_model_build(*d, NULL, NULL, &m, &err), 0);
	return m;
}

/*
 * A chunk that goes on from the last one's coded state (the shim writes
 * one when another thread writes a buffer out that its owner goes on
 * filling): every value in it is a difference from the chunk before.
 * Values far apart and going backwards, around 2^64, take every width.
 */
enum lz4_mode { LZ4_NONE, LZ4_ALL, LZ4_SOME };

static void continued_chunks(enum lz4_mode zmode)
{
	static const uint64_t frames[] = { 0x401000 };
	struct lt_gen *g;
	struct lt_dump *d;
	struct lt_model *m;
	struct lt_dump_cursor c;
	const struct lt_rec_head *h;

	lt_gen_coded_default = true;
	lt_gen_lz4_default = zmode != LZ4_NONE;
	g = lt_gen_new(0, 0);
	lt_gen_coded_default = lt_gen_lz4_default = false;
	lt_gen_chunk(g, 1);
	lt_gen_stack(g, 1, frames, 1);
	lt_gen_alloc_sp(g, LT_FN_MALLOC, 1, 1100, 0xffffffffffff0000ull, 24, 0x7ffc0000);
	lt_gen_alloc_sp(g, LT_FN_CALLOC, 1, 1200, 0x10, 1ull << 40, 0x7ffc0100);
	/* SOME: the first chunk compressed (LTZK), the second not (LTCC),
	 * the third compressed again (LTZC). */
	lt_gen_chunk_cont(g, 1);
	lt_gen_set_lz4(g, zmode == LZ4_ALL);
	lt_gen_free_site(g, 1300, 0xffffffffffff0000ull, 1, 0x7ffbff00);
	lt_gen_realloc_sp(g, 1, 1400, 1450, 0x10, 0x7f0000001000ull, 48, 5);
	lt_gen_chunk_cont(g, 1);
	lt_gen_set_lz4(g, zmode != LZ4_NONE);
	lt_gen_thread_name(g, 1460, 0, "main");
	lt_gen_free_rec(g, LT_FN_FREE, 1500, 0x7f0000001000ull);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 1600, 0x20, 7);
	lt_gen_trailer(g, 1700, NULL);
	m = coded_model(g, &d);
	assert_int_equal(d->nchunks, 4);
	assert_int_equal(d->chunks[1].first_ticks, 1300);
	assert_int_equal(d->chunks[2].first_ticks, 1460);   /* the name's */
	assert_int_equal(m->totals.allocations, 4);
	assert_int_equal(m->totals.leaked_bytes, 7);
	assert_int_equal(m->anomalies.ticks_backwards, 0);

	assert_int_equal(d->streams[1].thread, 1);
	lt_dump_cursor_init(&c, d, &d->streams[1]);
	assert_non_null(h = lt_dump_cursor_next(&c, NULL));
	assert_int_equal(h->type, LT_REC_STACK);
	assert_non_null(h = lt_dump_cursor_next(&c, NULL));
	assert_int_equal(h->type, LT_REC_ALLOC);
	assert_int_equal(((const struct lt_rec_alloc *)h)->ptr, 0xffffffffffff0000ull);
	assert_non_null(h = lt_dump_cursor_next(&c, NULL));
	assert_int_equal(h->flags, LT_FN_CALLOC);
	assert_int_equal(((const struct lt_rec_alloc *)h)->size, 1ull << 40);
	assert_int_equal(((const struct lt_rec_alloc *)h)->sp, 0x7ffc0100);
	assert_non_null(h = lt_dump_cursor_next(&c, NULL));
	assert_int_equal(h->type, LT_REC_FREE);
	assert_int_equal(h->aux, 1);
	assert_int_equal(((const struct lt_rec_free *)h)->ticks, 1300);
	assert_int_equal(((const struct lt_rec_free *)h)->sp, 0x7ffbff00);
	assert_non_null(h = lt_dump_cursor_next(&c, NULL));
	assert_int_equal(h->type, LT_REC_REALLOC);
	assert_int_equal(((const struct lt_rec_realloc *)h)->ticks_before, 1400);
	assert_int_equal(((const struct lt_rec_realloc *)h)->ticks, 1450);
	assert_int_equal(((const struct lt_rec_realloc *)h)->old_ptr, 0x10);
	assert_int_equal(((const struct lt_rec_realloc *)h)->new_ptr, 0x7f0000001000ull);
	assert_int_equal(((const struct lt_rec_realloc *)h)->sp, 5);
	for (size_t i = 0; i < d->nchunks; i++)
		assert_int_equal(d->chunks[i].lz4,
				 zmode == LZ4_ALL || (zmode == LZ4_SOME && i != 1));
	lt_model_free(m);
	lt_dump_close(d);
	lt_gen_free(g);
}

static void test_coded_continued_chunk(void **state)
{
	(void)state;
	continued_chunks(LZ4_NONE);
}

/* The same with compressed chunks (version 4), and with some compressed:
 * a chunk goes on from the last whichever way either was written. */
static void test_lz4_continued_chunk(void **state)
{
	(void)state;
	continued_chunks(LZ4_ALL);
	continued_chunks(LZ4_SOME);
}

/* The golden dump with every chunk compressed: the same numbers, read on
 * one thread and on two, with the image in a memfd or not, and no crash
 * cut anywhere or corrupted. */
static void test_lz4_golden(void **state)
{
	struct lt_gen *g;
	char *tmp = lt_gen_tmpname();
	int was = lt_dump_threads;
	size_t len;
	(void)state;

	lt_gen_coded_default = lt_gen_lz4_default = true;
	g = lt_gen_golden();
	lt_gen_coded_default = lt_gen_lz4_default = false;
	assert_int_equal(((const struct lt_file_header *)lt_gen_data(g, &len))->version, 4);
	assert_int_equal(lt_gen_write(g, tmp, SIZE_MAX), 0);
	for (int threads = 0; threads <= 1; threads++) {
		lt_dump_threads = threads;
		assert_golden_numbers(tmp);
		lt_dump_memfd = false;   /* the image in our own memory */
		assert_golden_numbers(tmp);
		lt_dump_memfd = true;
	}
	lt_dump_threads = was;
	unlink(tmp);
	free(tmp);
	truncate_everywhere(g);
	random_corruption(g);
	lt_gen_free(g);
}

/* A version 4 dump without a compressed chunk (the shim's default) is
 * read from the file itself, as version 3: no image to fill. */
static void test_lz4_none(void **state)
{
	struct lt_gen *g;
	struct lt_dump *d;
	struct lt_err err = { "" };
	size_t len;
	(void)state;

	lt_gen_coded_default = lt_gen_lz4_default = true;
	g = lt_gen_new(0, 0);
	lt_gen_coded_default = lt_gen_lz4_default = false;
	lt_gen_set_lz4(g, false);
	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 1100, 0x10, 8);
	lt_gen_trailer(g, 1200, NULL);
	assert_int_equal(((const struct lt_file_header *)lt_gen_data(g, &len))->version, 4);
	if (open_gen(g, SIZE_MAX, &d, &err, NULL) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(d->map_len, 0);
	assert_false(d->chunks[0].lz4);
	assert_int_equal(d->len, len);
	assert_non_null(d->trailer);
	lt_dump_close(d);
	lt_gen_free(g);
}

/*
 * A version 4 dump of one chunk of thread 1 whose payload is the n bytes
 * at p (padded with zeros), its magic LTZK, then a trailer.
 */
static struct lt_gen *lz4_chunk_dump(const void *p, size_t n)
{
	struct lt_gen *g;
	size_t at;

	lt_gen_coded_default = lt_gen_lz4_default = true;
	g = lt_gen_new(0, 0);
	lt_gen_coded_default = lt_gen_lz4_default = false;
	lt_gen_set_lz4(g, false);   /* p is what the file holds */
	lt_gen_data(g, &at);
	lt_gen_chunk(g, 1);
	lt_gen_raw(g, p, n);
	lt_gen_chunk_end(g);
	((struct lt_chunk_header *)(uintptr_t)(lt_gen_data(g, &n) + at))->magic =
		LT_CHUNK_MAGIC_LZ4;
	lt_gen_trailer(g, 1200, NULL);
	return g;
}

/* content as a compressed payload into out (room for 256 bytes): its
 * sizes, then its LZ4 block; returns the payload's length. */
static size_t lz4_payload(uint8_t *out, const void *content, size_t n)
{
	struct lt_chunk_lz4 z = { (uint32_t)n, 0 };
	int len = LZ4_compress_default(content, (char *)out + sizeof(z), (int)n,
				       256 - (int)sizeof(z));

	assert_true(len > 0);
	z.block_size = (uint32_t)len;
	memcpy(out, &z, sizeof(z));
	return sizeof(z) + (size_t)len;
}

/* A compressed chunk's faults, each named with the chunk's offset in the
 * file; a record's, in the decompressed chunk, with its own. */
static void test_lz4_errors(void **state)
{
	static const uint8_t kind3[] = { 0xe0, 0, 0, 0, 0, 0, 0, 0 };
	struct { struct lt_rec_head h; uint64_t ticks; } snap = {
		{ LT_REC_SNAPSHOT, 0, 16, 1 }, 1150 };
	uint8_t payload[256 + 16];
	struct lt_chunk_lz4 *z = (void *)payload;
	char needle[64];
	struct lt_gen *g;
	struct lt_dump *d;
	struct lt_err err = { "" };
	size_t len, n, hsize;
	(void)state;

	/* Whole: read back as written. */
	n = lz4_payload(payload, &snap, sizeof(snap));
	g = lz4_chunk_dump(payload, n);
	hsize = ((const struct lt_file_header *)lt_gen_data(g, &len))->header_size;
	if (open_gen(g, SIZE_MAX, &d, &err, NULL) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(d->nchunks, 2);
	assert_true(d->chunks[0].lz4);
	assert_int_equal(d->chunks[0].size, sizeof(snap));
	assert_memory_equal(d->base + d->chunks[0].offset + sizeof(struct lt_chunk_header),
			    &snap, sizeof(snap));
	assert_non_null(d->trailer);
	lt_dump_close(d);
	lt_gen_free(g);
	snprintf(needle, sizeof(needle), "compressed chunk at byte %zu", hsize);

	/* Fewer bytes than the block's sizes take. */
	g = lz4_chunk_dump(payload, 0);
	expect_error(g, needle);
	expect_error(g, "need 8 bytes for its block's sizes");
	lt_gen_free(g);

	/* More than a chunk can hold. */
	n = lz4_payload(payload, &snap, sizeof(snap));
	z->raw_size = LT_CHUNK_MAX + 1;
	g = lz4_chunk_dump(payload, n);
	snprintf(needle, sizeof(needle), "holds %u bytes (at most", LT_CHUNK_MAX + 1);
	expect_error(g, needle);
	lt_gen_free(g);
	snprintf(needle, sizeof(needle), "compressed chunk at byte %zu", hsize);

	/* A block longer than the chunk, or shorter by more than padding. */
	n = lz4_payload(payload, &snap, sizeof(snap));
	z->block_size += 8;
	g = lz4_chunk_dump(payload, n);
	expect_error(g, "expected the chunk less up to 7 bytes of padding");
	lt_gen_free(g);
	n = lz4_payload(payload, &snap, sizeof(snap));
	g = lz4_chunk_dump(payload, n + 8);
	expect_error(g, "expected the chunk less up to 7 bytes of padding");
	lt_gen_free(g);

	/* Bytes after the block that are not padding. */
	n = lz4_payload(payload, &snap, sizeof(snap));
	if (n % 8 == 0)   /* then it has none: make room for one */
		n++;
	payload[n] = 1;
	g = lz4_chunk_dump(payload, n + 1);
	expect_error(g, "has data after its LZ4 block");
	lt_gen_free(g);

	/* A block that does not decode, and one that decodes to fewer bytes
	 * than it says. */
	n = lz4_payload(payload, &snap, sizeof(snap));
	memset(payload + sizeof(*z), 0xff, n - sizeof(*z));
	g = lz4_chunk_dump(payload, n);
	expect_error(g, needle);
	expect_error(g, "its LZ4 block is bad");
	lt_gen_free(g);
	n = lz4_payload(payload, &snap, sizeof(snap));
	z->raw_size = sizeof(snap) + 8;
	g = lz4_chunk_dump(payload, n);
	expect_error(g, "holds 16 bytes, not the 24 it says");
	lt_gen_free(g);

	/* A bad record inside a good block. */
	n = lz4_payload(payload, kind3, sizeof(kind3));
	g = lz4_chunk_dump(payload, n);
	expect_error(g, "coded record at byte");
	lt_gen_free(g);

	/* Version 3 knows no compressed chunk. */
	n = lz4_payload(payload, &snap, sizeof(snap));
	g = lz4_chunk_dump(payload, n);
	((struct lt_file_header *)(uintptr_t)lt_gen_data(g, &len))->version = 3;
	expect_error(g, "has bad magic");
	lt_gen_free(g);
}

/* A coded record's faults, each named with its byte offset. */
static void test_coded_errors(void **state)
{
	static const uint8_t kind3[] = { 0xe0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t spare_bits[] = { 0x81, 0, 0x80, 1, 1, 1, 1, 1 };
	static const uint8_t cut[] = { 0x81, 0xff, 0x7f, 1, 1, 0, 0, 0 };
	static const uint8_t wide_stack[] = { 0x81, 4, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0 };
	static const struct { const uint8_t *bytes; size_t len; } bad[] = {
		{ kind3, sizeof(kind3) }, { spare_bits, sizeof(spare_bits) },
		{ cut, sizeof(cut) }, { wide_stack, sizeof(wide_stack) },
	};
	struct lt_gen *g;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lt_gen_coded_default = true;
		g = lt_gen_new(0, 0);
		lt_gen_coded_default = false;
		lt_gen_chunk(g, 1);
		lt_gen_raw(g, bad[i].bytes, bad[i].len);
		lt_gen_trailer(g, 1200, NULL);
		expect_error(g, "coded record at byte");
		lt_gen_free(g);
	}

	/* A fixed record after a coded one must sit at a multiple of 8. */
	lt_gen_coded_default = true;
	g = lt_gen_new(0, 0);
	lt_gen_coded_default = false;
	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 1100, 0x10, 8);
	{
		size_t len;
		struct lt_rec_head h = { LT_REC_SNAPSHOT, 0, 16, 1 };
		uint64_t ticks = 1150;

		lt_gen_data(g, &len);
		assert_true(len % 8 != 0);
		lt_gen_raw(g, &h, sizeof(h));
		lt_gen_raw(g, &ticks, sizeof(ticks));
	}
	lt_gen_trailer(g, 1200, NULL);
	expect_error(g, "is not at a multiple of 8");
	lt_gen_free(g);

	/* Version 2 knows no continued chunk. */
	g = lt_gen_new(0, 0);
	lt_gen_chunk(g, 1);
	lt_gen_alloc(g, LT_FN_MALLOC, 0, 1100, 0x10, 8);
	lt_gen_chunk_cont(g, 1);
	lt_gen_trailer(g, 1200, NULL);
	expect_error(g, "has bad magic");
	lt_gen_free(g);
}

/* Opens data[0, len) with the records checked on threads or not. */
static int open_bytes(const uint8_t *data, size_t len, int threads,
		      struct lt_dump **d, struct lt_err *err, const char *name)
{
	FILE *f = fopen(name, "wb");
	int was = lt_dump_threads, rc;

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	lt_dump_threads = threads;
	rc = lt_dump_open(name, d, err);
	lt_dump_threads = was;
	return rc;
}

/* The next of 0, by, 2 * by, ... and last n itself; then past n. */
static size_t step(size_t v, size_t by, size_t n)
{
	return v == n ? n + 1 : v + by < n ? v + by : n;
}

/*
 * Checking the records on two threads finds what one thread finds: the
 * same counts, thread records in file order, the same net and rise per
 * chunk, and, in a damaged dump, the same first fault, whichever half it
 * is in and whatever bad header follows it.
 */
static void test_split_index(void **state)
{
	struct lt_gen *g = lt_gen_new(0, 0);
	size_t len, nchunks = 0, hsize;
	uint64_t offs[64];
	const uint8_t *orig;
	uint8_t *copy;
	char *name = lt_gen_tmpname();
	uint64_t t = 2000;
	int opened = 0;
	(void)state;

	lt_gen_chunk(g, 1);
	for (uint32_t th = 2; th <= 3; th++)
		lt_gen_thread_create(g, 0, t++, th, 0);
	for (int c = 0; c < 30; c++) {
		uint32_t th = 1 + (uint32_t)c % 3;
		lt_gen_chunk(g, th);
		if (c == 1 || c == 2)
			lt_gen_thread_start(g, t++, 0x7000 + th);
		for (int k = 0; k < 5 + c; k++)
			lt_gen_alloc(g, LT_FN_MALLOC, 0, t++, 0x1000 + 16ull * (c * 64 + k), 8);
		for (int k = 0; k < c; k += 2)
			lt_gen_free_rec(g, LT_FN_FREE, t++, 0x1000 + 16ull * (c * 64 + k));
		if (c % 7 == 3)
			lt_gen_thread_create(g, 0, t++, 10 + (uint32_t)c, 0);
	}
	lt_gen_trailer(g, t, NULL);
	orig = lt_gen_data(g, &len);
	copy = malloc(len);
	hsize = ((const struct lt_file_header *)orig)->header_size;
	for (uint64_t off = hsize; off < len && nchunks < 64;) {
		const struct lt_chunk_header *ch = (const void *)(orig + off);
		offs[nchunks++] = off;
		off += sizeof(*ch) + ch->size;
	}
	assert_true(nchunks > 30);

	/* bad_rec, bad_hdr: chunk numbers, or nchunks for none. */
	for (size_t bad_rec = 0; bad_rec <= nchunks; bad_rec = step(bad_rec, 3, nchunks)) {
		for (size_t bad_hdr = 1; bad_hdr <= nchunks; bad_hdr = step(bad_hdr, 4, nchunks)) {
			struct lt_dump *a = NULL, *b = NULL;
			struct lt_err ea = { "" }, eb = { "" };
			int ra, rb;

			/* A second bad record, in the other half. */
			size_t bad_rec2 = bad_rec + nchunks / 2;
			char want[128] = "";

			memcpy(copy, orig, len);
			if (bad_rec < nchunks)   /* the chunk's first record */
				((struct lt_rec_head *)(copy + offs[bad_rec] +
					sizeof(struct lt_chunk_header)))->size = 12;
			if (bad_rec2 < nchunks)
				((struct lt_rec_head *)(copy + offs[bad_rec2] +
					sizeof(struct lt_chunk_header)))->size = 12;
			if (bad_hdr < nchunks)
				((struct lt_chunk_header *)(copy + offs[bad_hdr]))->magic = 0;
			if (bad_rec < nchunks && bad_rec < bad_hdr)
				snprintf(want, sizeof(want), "record at byte %llu has size 12",
					 (unsigned long long)(offs[bad_rec] +
						sizeof(struct lt_chunk_header)));
			else if (bad_hdr < nchunks)
				snprintf(want, sizeof(want), "chunk at byte %llu has bad magic",
					 (unsigned long long)offs[bad_hdr]);
			ra = open_bytes(copy, len, 0, &a, &ea, name);
			rb = open_bytes(copy, len, 1, &b, &eb, name);
			assert_int_equal(ra, rb);
			assert_string_equal(ea.msg, eb.msg);
			if (want[0] && !strstr(eb.msg, want))
				fail_msg("\"%s\" does not say \"%s\"", eb.msg, want);
			assert_int_equal(ra, want[0] ? -1 : 0);
			if (ra < 0)
				continue;
			assert_int_equal(a->records, b->records);
			assert_int_equal(a->unknown_records, b->unknown_records);
			assert_int_equal(a->nchunks, b->nchunks);
			assert_int_equal(a->live_bound, b->live_bound);
			assert_int_equal(a->nthread_recs, b->nthread_recs);
			assert_int_equal(a->nthread_recs, 8);
			for (size_t i = 0; i < a->nthread_recs; i++) {
				assert_int_equal((const uint8_t *)a->thread_recs[i].rec - a->base,
						 (const uint8_t *)b->thread_recs[i].rec - b->base);
				assert_int_equal(a->thread_recs[i].thread,
						 b->thread_recs[i].thread);
				assert_int_equal(a->thread_recs[i].type,
						 a->thread_recs[i].rec->type);
				assert_int_equal(a->thread_recs[i].type,
						 b->thread_recs[i].type);
				assert_int_equal(a->thread_recs[i].ticks,
						 b->thread_recs[i].ticks);
				assert_int_equal(a->thread_recs[i].value,
						 b->thread_recs[i].value);
				if (i)   /* file order */
					assert_true(a->thread_recs[i].rec > a->thread_recs[i - 1].rec);
			}
			for (size_t i = 0; i < a->nchunks; i++) {
				assert_int_equal(a->chunks[i].net, b->chunks[i].net);
				assert_int_equal(a->chunks[i].rise, b->chunks[i].rise);
				assert_int_equal(a->chunks[i].first_ticks,
						 b->chunks[i].first_ticks);
			}
			assert_int_equal(a->trailer != NULL, b->trailer != NULL);
			assert_true(a->trailer != NULL);
			opened++;
			lt_dump_close(a);
			lt_dump_close(b);
		}
	}
	assert_int_equal(opened, 1);   /* the undamaged dump */
	unlink(name);
	free(name);
	free(copy);
	lt_gen_free(g);
}

/* The second thread's condition, from /proc/loadavg's text ("R/T" is the
 * fourth field; R counts the caller). */
static void test_spare_cpu(void **state)
{
	(void)state;

	assert_true(lt_dump_spare_cpu_in(2, "0.52 0.91 0.93 1/87 19235\n"));
	assert_true(lt_dump_spare_cpu_in(2, "0.52 0.91 0.93 2/87 19235\n"));
	assert_false(lt_dump_spare_cpu_in(2, "1.90 1.20 0.93 3/87 19235\n"));
	assert_false(lt_dump_spare_cpu_in(1, "0.00 0.00 0.00 1/87 19235\n"));
	assert_true(lt_dump_spare_cpu_in(8, "5.00 5.00 5.00 8/300 1\n"));
	assert_false(lt_dump_spare_cpu_in(8, "5.00 5.00 5.00 9/300 1\n"));
	/* Not what the file says: no second thread. */
	assert_false(lt_dump_spare_cpu_in(2, ""));
	assert_false(lt_dump_spare_cpu_in(2, "0.52 0.91"));
	assert_false(lt_dump_spare_cpu_in(2, "0.52 0.91 0.93 x/87 1"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_file),
		cmocka_unit_test(test_golden_generator),
		cmocka_unit_test(test_truncate_everywhere),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_hostile_sizes),
		cmocka_unit_test(test_unknown_records),
		cmocka_unit_test(test_live_bound),
		cmocka_unit_test(test_missing_and_empty),
		cmocka_unit_test(test_random_corruption),
		cmocka_unit_test(test_coded_golden),
		cmocka_unit_test(test_coded_continued_chunk),
		cmocka_unit_test(test_coded_errors),
		cmocka_unit_test(test_lz4_golden),
		cmocka_unit_test(test_lz4_none),
		cmocka_unit_test(test_lz4_continued_chunk),
		cmocka_unit_test(test_lz4_errors),
		cmocka_unit_test(test_split_index),
		cmocka_unit_test(test_spare_cpu),
	};

	if (argc == 3 && strcmp(argv[1], "--write-golden") == 0) {
		struct lt_gen *g = lt_gen_golden();
		int rc = lt_gen_write(g, argv[2], SIZE_MAX);
		lt_gen_free(g);
		return rc ? 1 : 0;
	}
	int failed = cmocka_run_group_tests_name("dump", tests, NULL, NULL);

	/* Every case again, the records checked on two threads however
	 * small the dump (test_split_index sets its own). */
	lt_dump_threads = 1;
	failed += cmocka_run_group_tests_name("dump, records checked on two "
					      "threads", tests, NULL, NULL);
	return failed;
}
