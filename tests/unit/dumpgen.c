/*
 * Synthetic dump writer for unit tests: lays records out exactly as
 * include/libtrace/dump.h defines them, into a growing memory buffer.
 * Test-only; a failed allocation aborts the test run, which is fine here.
 */
#include "dumpgen.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lz4.h>

#define GEN_MAX_THREADS 64

bool lt_gen_coded_default;
bool lt_gen_lz4_default;

struct lt_gen {
	uint8_t *buf;
	size_t len, cap;
	size_t chunk_at;           /* offset of the open chunk header, or 0 */
	bool coded;                /* version 3, events as coded records */
	bool lz4;                  /* version 4, every chunk compressed */
	struct lt_code_state code; /* the open chunk's */
	uint32_t next_seq[GEN_MAX_THREADS];
	struct lt_gen_counts counts;
};

static void *grow(struct lt_gen *g, size_t n)
{
	void *p;

	if (g->len + n > g->cap) {
		size_t ncap = g->cap ? g->cap : 4096;
		while (ncap < g->len + n)
			ncap *= 2;
		g->buf = realloc(g->buf, ncap);
		if (!g->buf)
			abort();
		g->cap = ncap;
	}
	p = g->buf + g->len;
	memset(p, 0, n);
	g->len += n;
	return p;
}

struct lt_gen *lt_gen_new(uint32_t flags, uint64_t sample_interval)
{
	static const char exe[] = "/usr/bin/golden";
	static const char argv[] = "golden\0--flag";   /* two NULs in all */
	struct lt_gen *g = calloc(1, sizeof(*g));
	struct lt_file_header *h;
	size_t strings = (sizeof(exe) - 1) + sizeof(argv);
	size_t hsize = (sizeof(*h) + strings + 7) & ~(size_t)7;

	if (!g)
		return NULL;
	g->coded = lt_gen_coded_default;
	g->lz4 = lt_gen_lz4_default;
	h = grow(g, hsize);
	memcpy(h->magic, LT_DUMP_MAGIC, LT_DUMP_MAGIC_LEN);
	h->version = g->lz4 ? LT_DUMP_VERSION : g->coded ? LT_DUMP_VERSION_CODED :
		     LT_DUMP_VERSION_FIXED;
	h->header_size = (uint32_t)hsize;
	h->pid = 4711;
	h->ppid = 1;
	h->clock = LT_CLOCK_MONOTONIC;
	h->flags = flags;
	h->start_realtime_ns = 1790000000000000000ull;
	h->start_ticks = 1000;
	h->start_mono_ns = 1000;
	h->sample_interval = sample_interval;
	h->max_depth = 64;
	h->main_thread = 1;
	h->exe_len = sizeof(exe) - 1;
	h->cmdline_len = sizeof(argv);
	memcpy((char *)(h + 1), exe, sizeof(exe) - 1);
	memcpy((char *)(h + 1) + sizeof(exe) - 1, argv, sizeof(argv));
	return g;
}

void lt_gen_free(struct lt_gen *g)
{
	if (g) {
		free(g->buf);
		free(g);
	}
}

void lt_gen_chunk(struct lt_gen *g, uint32_t thread)
{
	struct lt_chunk_header *ch;

	lt_gen_chunk_end(g);
	g->chunk_at = g->len;
	ch = grow(g, sizeof(*ch));
	ch->magic = LT_CHUNK_MAGIC;
	ch->thread = thread;
	ch->seq = thread < GEN_MAX_THREADS ? g->next_seq[thread]++ : 0;
	g->code = (struct lt_code_state){ 0 };
}

void lt_gen_chunk_cont(struct lt_gen *g, uint32_t thread)
{
	struct lt_code_state code = g->code;

	lt_gen_chunk(g, thread);
	((struct lt_chunk_header *)(g->buf + g->chunk_at))->magic = LT_CHUNK_MAGIC_CONT;
	g->code = code;
}

/* Zero bytes up to a multiple of 8, as the shim pads. */
static void pad8(struct lt_gen *g)
{
	if (g->chunk_at && g->len % 8)
		grow(g, 8 - g->len % 8);
}

/* The open chunk's payload, its first raw bytes, as an LZ4 block after
 * its sizes, and zeros (LT_CHUNK_MAGIC_LZ4 or _LZ4CONT), as the shim
 * writes it. */
static void compress_chunk(struct lt_gen *g, size_t raw)
{
	size_t at = g->chunk_at + sizeof(struct lt_chunk_header);
	int cap = LZ4_compressBound((int)raw), n;
	char *out = malloc((size_t)cap);
	struct lt_chunk_header *ch;
	struct lt_chunk_lz4 z;

	if (!out)
		abort();
	n = LZ4_compress_default((const char *)g->buf + at, out, (int)raw, cap);
	if (n <= 0)
		abort();
	z.raw_size = (uint32_t)raw;
	z.block_size = (uint32_t)n;
	g->len = at;
	memcpy(grow(g, sizeof(z)), &z, sizeof(z));
	memcpy(grow(g, (size_t)n), out, (size_t)n);
	free(out);
	pad8(g);
	ch = (struct lt_chunk_header *)(g->buf + g->chunk_at);
	ch->magic = ch->magic == LT_CHUNK_MAGIC_CONT ? LT_CHUNK_MAGIC_LZ4CONT
						     : LT_CHUNK_MAGIC_LZ4;
	ch->size = (uint32_t)(g->len - at);
}

void lt_gen_chunk_end(struct lt_gen *g)
{
	struct lt_chunk_header *ch;

	size_t unpadded;

	if (!g->chunk_at)
		return;
	unpadded = g->len - g->chunk_at - sizeof(*ch);
	pad8(g);
	ch = (struct lt_chunk_header *)(g->buf + g->chunk_at);
	ch->size = (uint32_t)(g->len - g->chunk_at - sizeof(*ch));
	if (g->lz4)   /* as the shim, without the zeros that pad it */
		compress_chunk(g, unpadded);
	g->chunk_at = 0;
	g->counts.chunks++;
}

void lt_gen_set_lz4(struct lt_gen *g, bool on)
{
	g->lz4 = on;
}

void lt_gen_chunk_ticks(struct lt_gen *g, uint64_t ticks)
{
	if (g->chunk_at)
		((struct lt_chunk_header *)(g->buf + g->chunk_at))->ticks = ticks;
}

/* A record of n bytes (a multiple of 8) with its head filled in. */
static void *rec(struct lt_gen *g, enum lt_rec_type type, uint8_t flags,
		 uint32_t aux, size_t n)
{
	struct lt_rec_head *h;

	pad8(g);
	h = grow(g, n);
	h->type = (uint8_t)type;
	h->flags = flags;
	h->size = (uint16_t)n;
	h->aux = aux;
	return h;
}

/* Where the shim's encoder writes the next coded record: LT_CODED_MAX
 * bytes of room (it may touch them all), given back at once; the caller
 * adds the record's length once the encoder returns it. */
static uint8_t *coded_room(struct lt_gen *g)
{
	uint8_t *p = grow(g, LT_CODED_MAX);

	g->len -= LT_CODED_MAX;
	return p;
}

static void gen_alloc(struct lt_gen *g, enum lt_alloc_fn fn, uint32_t stack,
		      uint64_t ticks, uint64_t ptr, uint64_t size, uint64_t sp)
{
	if (g->coded) {
		g->len += lt_code_alloc(coded_room(g), &g->code, (uint8_t)fn, stack,
					ticks, ptr, size, sp);
	} else {
		struct lt_rec_alloc *r = rec(g, LT_REC_ALLOC, (uint8_t)fn, stack,
					     sizeof(*r));
		r->ticks = ticks;
		r->ptr = ptr;
		r->size = size;
		r->sp = sp;
	}
	g->counts.allocations++;
	g->counts.bytes_allocated += size;
	if (fn == LT_FN_REALLOC || fn == LT_FN_REALLOCARRAY)
		g->counts.reallocs++;
}

static void gen_free(struct lt_gen *g, enum lt_alloc_fn fn, uint32_t stack,
		     uint64_t ticks, uint64_t ptr, uint64_t sp)
{
	if (g->coded) {
		g->len += lt_code_free(coded_room(g), &g->code, (uint8_t)fn, stack,
				       ticks, ptr, sp);
	} else {
		struct lt_rec_free *r = rec(g, LT_REC_FREE, (uint8_t)fn, stack,
					    sizeof(*r));
		r->ticks = ticks;
		r->ptr = ptr;
		r->sp = sp;
	}
	g->counts.frees++;
}

static void gen_realloc(struct lt_gen *g, uint32_t stack, uint64_t ticks_before,
			uint64_t ticks, uint64_t old_ptr, uint64_t new_ptr,
			uint64_t size, uint64_t sp)
{
	if (g->coded) {
		g->len += lt_code_realloc(coded_room(g), &g->code, LT_FN_REALLOC,
					  stack, ticks_before, ticks, old_ptr,
					  new_ptr, size, sp);
	} else {
		struct lt_rec_realloc *r = rec(g, LT_REC_REALLOC, LT_FN_REALLOC,
					       stack, sizeof(*r));
		r->ticks_before = ticks_before;
		r->ticks = ticks;
		r->old_ptr = old_ptr;
		r->new_ptr = new_ptr;
		r->size = size;
		r->sp = sp;
	}
	g->counts.allocations++;
	g->counts.reallocs++;
	g->counts.bytes_allocated += size;
}

void lt_gen_alloc(struct lt_gen *g, enum lt_alloc_fn fn, uint32_t stack,
		  uint64_t ticks, uint64_t ptr, uint64_t size)
{
	gen_alloc(g, fn, stack, ticks, ptr, size, 0);
}

void lt_gen_free_rec(struct lt_gen *g, enum lt_alloc_fn fn, uint64_t ticks,
		     uint64_t ptr)
{
	gen_free(g, fn, 0, ticks, ptr, 0);
}

void lt_gen_realloc(struct lt_gen *g, uint32_t stack, uint64_t ticks_before,
		    uint64_t ticks, uint64_t old_ptr, uint64_t new_ptr,
		    uint64_t size)
{
	gen_realloc(g, stack, ticks_before, ticks, old_ptr, new_ptr, size, 0);
}

void lt_gen_alloc_sp(struct lt_gen *g, enum lt_alloc_fn fn, uint32_t stack,
		     uint64_t ticks, uint64_t ptr, uint64_t size, uint64_t sp)
{
	gen_alloc(g, fn, stack, ticks, ptr, size, sp);
}

void lt_gen_free_site(struct lt_gen *g, uint64_t ticks, uint64_t ptr,
		      uint32_t stack, uint64_t sp)
{
	gen_free(g, LT_FN_FREE, stack, ticks, ptr, sp);
}

void lt_gen_realloc_sp(struct lt_gen *g, uint32_t stack, uint64_t ticks_before,
		       uint64_t ticks, uint64_t old_ptr, uint64_t new_ptr,
		       uint64_t size, uint64_t sp)
{
	gen_realloc(g, stack, ticks_before, ticks, old_ptr, new_ptr, size, sp);
}

void lt_gen_stack(struct lt_gen *g, uint32_t id, const uint64_t *frames,
		  unsigned n)
{
	struct lt_rec_stack *r = rec(g, LT_REC_STACK, 0, id, 8 + 8 * (size_t)n);
	memcpy(r->frames, frames, 8 * (size_t)n);
	g->counts.stacks++;
}

void lt_gen_module(struct lt_gen *g, uint64_t ticks, const char *path,
		   uint64_t bias, uint64_t lo, uint64_t hi, int main_exe)
{
	static const uint8_t build_id[4] = { 0xde, 0xad, 0xbe, 0xef };
	size_t plen = strlen(path);
	size_t n = (sizeof(struct lt_rec_module) + plen + sizeof(build_id) + 7)
		   & ~(size_t)7;
	struct lt_rec_module *r = rec(g, LT_REC_MODULE, 0, main_exe ? 1 : 0, n);

	r->ticks = ticks;
	r->bias = bias;
	r->lo = lo;
	r->hi = hi;
	r->path_len = (uint16_t)plen;
	r->build_id_len = sizeof(build_id);
	memcpy((char *)(r + 1), path, plen);
	memcpy((char *)(r + 1) + plen, build_id, sizeof(build_id));
}

void lt_gen_thread_create(struct lt_gen *g, uint32_t stack, uint64_t ticks,
			  uint32_t child, uint32_t flags)
{
	struct lt_rec_thread_create *r = rec(g, LT_REC_THREAD_CREATE,
					     (uint8_t)flags, stack, sizeof(*r));
	r->ticks = ticks;
	r->child = child;
	r->start_routine = 0x401000;
	g->counts.threads_created++;
}

void lt_gen_thread_create_fn(struct lt_gen *g, uint32_t stack, uint64_t ticks,
			     uint32_t child, uint32_t flags,
			     uint64_t start_routine)
{
	lt_gen_thread_create(g, stack, ticks, child, flags);
	((struct lt_rec_thread_create *)(g->buf + g->len) - 1)->start_routine =
		start_routine;
}

void lt_gen_thread_name(struct lt_gen *g, uint64_t ticks, uint64_t target,
			const char *name)
{
	struct lt_rec_thread_name *r = rec(g, LT_REC_THREAD_NAME, 0, 0,
					   sizeof(*r));
	r->ticks = ticks;
	r->target = target;
	memset(r->name, 0, sizeof(r->name));
	strncpy(r->name, name, sizeof(r->name) - 1);
}

void lt_gen_snapshot(struct lt_gen *g, uint64_t ticks, uint32_t number)
{
	struct lt_rec_snapshot *r = rec(g, LT_REC_SNAPSHOT, 0, number,
					sizeof(*r));
	r->ticks = ticks;
}

void lt_gen_thread_stack(struct lt_gen *g, uint64_t ticks, uint32_t thread,
			 uint32_t snapshot, uint8_t status,
			 const uint64_t *frames, unsigned n)
{
	struct lt_rec_thread_stack *r = rec(g, LT_REC_THREAD_STACK, status, 0,
					    sizeof(*r) + 8 * (size_t)n);
	r->ticks = ticks;
	r->thread = thread;
	r->snapshot = snapshot;
	r->tid = 5000 + thread;
	r->reserved = 0;
	if (n)
		memcpy(r->frames, frames, 8 * (size_t)n);
}

void lt_gen_thread_start(struct lt_gen *g, uint64_t ticks, uint64_t pthread)
{
	struct lt_rec_thread_start *r = rec(g, LT_REC_THREAD_START, 0, 4712,
					    sizeof(*r));
	r->ticks = ticks;
	r->pthread = pthread;
}

void lt_gen_thread_exit(struct lt_gen *g, uint64_t ticks)
{
	struct lt_rec_thread_exit *r = rec(g, LT_REC_THREAD_EXIT,
					   LT_EXIT_RETURN, 0, sizeof(*r));
	r->ticks = ticks;
}

void lt_gen_thread_op(struct lt_gen *g, enum lt_rec_type type, uint64_t ticks,
		      uint64_t target)
{
	uint8_t flags = type == LT_REC_THREAD_JOIN ? LT_JOIN_JOIN : 0;
	struct lt_rec_thread_op *r = rec(g, type, flags, 0, sizeof(*r));

	r->ticks = ticks;
	r->target = target;
}

void lt_gen_lost(struct lt_gen *g, uint64_t ticks, uint64_t allocs,
		 uint64_t frees, uint64_t bytes)
{
	struct lt_rec_lost *r = rec(g, LT_REC_LOST, 0, 0, sizeof(*r));

	r->ticks = ticks;
	r->allocs = allocs;
	r->frees = frees;
	r->bytes = bytes;
	g->counts.lost_events += allocs + frees;
	g->counts.allocations += allocs;
	g->counts.frees += frees;
	g->counts.bytes_allocated += bytes;
}

void lt_gen_raw(struct lt_gen *g, const void *p, size_t len)
{
	memcpy(grow(g, len), p, len);
}

void lt_gen_trailer(struct lt_gen *g, uint64_t ticks,
		    const struct lt_gen_counts *override)
{
	const struct lt_gen_counts *c;
	struct lt_rec_trailer *r;

	lt_gen_chunk_end(g);
	c = override ? override : &g->counts;
	{
		struct lt_gen_counts snap = *c;   /* chunks before this one */
		lt_gen_chunk(g, 0);
		r = rec(g, LT_REC_TRAILER, LT_END_EXIT, 0, sizeof(*r));
		r->ticks = ticks;
		r->mono_ns = ticks;
		r->allocations = snap.allocations;
		r->frees = snap.frees;
		r->reallocs = snap.reallocs;
		r->bytes_allocated = snap.bytes_allocated;
		r->threads_created = snap.threads_created;
		r->lost_events = snap.lost_events;
		r->stacks = snap.stacks;
		r->chunks = snap.chunks;
	}
	lt_gen_chunk_end(g);
}

const struct lt_gen_counts *lt_gen_counts(const struct lt_gen *g)
{
	return &g->counts;
}

const uint8_t *lt_gen_data(const struct lt_gen *g, size_t *len)
{
	*len = g->len;
	return g->buf;
}

int lt_gen_write(const struct lt_gen *g, const char *path, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -1;
	if (len > g->len)
		len = g->len;
	if (len && fwrite(g->buf, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

char *lt_gen_tmpname(void)
{
	const char *dir = getenv("TMPDIR");
	char *name;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if (asprintf(&name, "%s/lt-test-XXXXXX", dir) < 0)
		abort();
	fd = mkstemp(name);
	if (fd < 0)
		abort();
	close(fd);
	return name;
}

/*
 * The golden dump: two threads, a realloc, a join, a realloc(p, 0), two
 * leaks.  test_dump.c asserts the numbers this produces; change neither
 * without the other, and never without a format version bump.
 */
struct lt_gen *lt_gen_golden(void)
{
	static const uint64_t s1[] = { 0x401234, 0x401567, 0x401890 };
	static const uint64_t s2[] = { 0x402000, 0x401890 };
	static const uint64_t s3[] = { 0x403000, 0x401abc };
	struct lt_gen *g = lt_gen_new(0, 0);

	lt_gen_chunk(g, 1);
	lt_gen_module(g, 1001, "/usr/bin/golden", 0, 0x400000, 0x500000, 1);
	lt_gen_stack(g, 1, s1, 3);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 1100, 0x1000, 100);
	lt_gen_stack(g, 2, s2, 2);
	lt_gen_alloc(g, LT_FN_MALLOC, 2, 1200, 0x2000, 200);
	lt_gen_free_rec(g, LT_FN_FREE, 1300, 0x1000);
	lt_gen_realloc(g, 2, 1390, 1400, 0x2000, 0x3000, 300);
	lt_gen_thread_create(g, 1, 1500, 2, 0);

	lt_gen_chunk(g, 2);
	lt_gen_thread_start(g, 1600, 0xabc000);
	lt_gen_stack(g, 3, s3, 2);
	lt_gen_alloc(g, LT_FN_MALLOC, 3, 1700, 0x4000, 50);
	lt_gen_thread_exit(g, 1800);

	lt_gen_chunk(g, 1);
	lt_gen_thread_op(g, LT_REC_THREAD_JOIN, 1900, 0xabc000);
	lt_gen_alloc(g, LT_FN_CALLOC, 1, 2000, 0x5000, 1000);
	lt_gen_alloc(g, LT_FN_MALLOC, 1, 2050, 0x6000, 10);
	lt_gen_free_rec(g, LT_FN_REALLOC, 2060, 0x6000);
	lt_gen_free_rec(g, LT_FN_FREE, 2100, 0x3000);

	lt_gen_trailer(g, 2200, NULL);
	return g;
}
