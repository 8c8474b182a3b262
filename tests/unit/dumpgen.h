/*
 * Synthetic dump writer for the unit tests only: builds a dump in memory
 * record by record (or byte by byte, for hostile input) and writes it to a
 * file.  Never linked into the shim or the analyzer.
 */
#ifndef LT_TESTS_DUMPGEN_H
#define LT_TESTS_DUMPGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libtrace/dump.h>

struct lt_gen;

/* Generators made while this is true write version 3 dumps whose ALLOC,
 * FREE and REALLOC records are coded (include/libtrace/dump.h) through the
 * shim's own encoder; otherwise version 2, every record fixed. */
extern bool lt_gen_coded_default;
/* And while this is true, version 4 dumps with every chunk compressed. */
extern bool lt_gen_lz4_default;

/* What the generator counted, as the shim would put in a trailer. */
struct lt_gen_counts {
	uint64_t allocations, frees, reallocs, bytes_allocated;
	uint64_t threads_created, lost_events, stacks, chunks;
};

/* New generator with a header: clock MONOTONIC, main thread 1, start
 * ticks 1000.  flags/sample_interval as in struct lt_file_header.
 * Returns NULL when out of memory. */
struct lt_gen *lt_gen_new(uint32_t flags, uint64_t sample_interval);
void lt_gen_free(struct lt_gen *g);

/* Start a chunk of thread's records (seq counted per thread); every
 * record call below appends to the open chunk. */
void lt_gen_chunk(struct lt_gen *g, uint32_t thread);
void lt_gen_chunk_end(struct lt_gen *g);
/* A chunk of thread's whose coded records go on from the state the last
 * chunk (of whatever thread) ended in (LT_CHUNK_MAGIC_CONT). */
void lt_gen_chunk_cont(struct lt_gen *g, uint32_t thread);
/* Chunks ended from now on compressed (in a version 4 dump) or not. */
void lt_gen_set_lz4(struct lt_gen *g, bool on);
/* The open chunk's header time (0 unless set: the shim's is its write). */
void lt_gen_chunk_ticks(struct lt_gen *g, uint64_t ticks);

void lt_gen_alloc(struct lt_gen *g, enum lt_alloc_fn fn, uint32_t stack,
		  uint64_t ticks, uint64_t ptr, uint64_t size);
void lt_gen_free_rec(struct lt_gen *g, enum lt_alloc_fn fn, uint64_t ticks,
		     uint64_t ptr);
void lt_gen_realloc(struct lt_gen *g, uint32_t stack, uint64_t ticks_before,
		    uint64_t ticks, uint64_t old_ptr, uint64_t new_ptr,
		    uint64_t size);
/* The same three with the caller's stack pointer; a free with its free
 * site's stack id (format v2). */
void lt_gen_alloc_sp(struct lt_gen *g, enum lt_alloc_fn fn, uint32_t stack,
		     uint64_t ticks, uint64_t ptr, uint64_t size, uint64_t sp);
void lt_gen_free_site(struct lt_gen *g, uint64_t ticks, uint64_t ptr,
		      uint32_t stack, uint64_t sp);
void lt_gen_realloc_sp(struct lt_gen *g, uint32_t stack, uint64_t ticks_before,
		       uint64_t ticks, uint64_t old_ptr, uint64_t new_ptr,
		       uint64_t size, uint64_t sp);
void lt_gen_stack(struct lt_gen *g, uint32_t id, const uint64_t *frames,
		  unsigned n);
void lt_gen_module(struct lt_gen *g, uint64_t ticks, const char *path,
		   uint64_t bias, uint64_t lo, uint64_t hi, int main_exe);
void lt_gen_thread_create(struct lt_gen *g, uint32_t stack, uint64_t ticks,
			  uint32_t child, uint32_t flags);
/* The same with the start routine's address (the one above says 0x401000). */
void lt_gen_thread_create_fn(struct lt_gen *g, uint32_t stack, uint64_t ticks,
			     uint32_t child, uint32_t flags,
			     uint64_t start_routine);
void lt_gen_thread_start(struct lt_gen *g, uint64_t ticks, uint64_t pthread);
/* target 0: the thread whose chunk is open. */
void lt_gen_thread_name(struct lt_gen *g, uint64_t ticks, uint64_t target,
			const char *name);
void lt_gen_snapshot(struct lt_gen *g, uint64_t ticks, uint32_t number);
/* A live stack (goes in thread 0's chunk); tid is 5000 + thread. */
void lt_gen_thread_stack(struct lt_gen *g, uint64_t ticks, uint32_t thread,
			 uint32_t snapshot, uint8_t status,
			 const uint64_t *frames, unsigned n);
void lt_gen_thread_exit(struct lt_gen *g, uint64_t ticks);
/* type: LT_REC_THREAD_JOIN, _DETACH or _CANCEL */
void lt_gen_thread_op(struct lt_gen *g, enum lt_rec_type type, uint64_t ticks,
		      uint64_t target);
void lt_gen_lost(struct lt_gen *g, uint64_t ticks, uint64_t allocs,
		 uint64_t frees, uint64_t bytes);
/* Append raw bytes to the file (hostile input), outside any record. */
void lt_gen_raw(struct lt_gen *g, const void *p, size_t len);

/* A chunk of thread 0 holding the trailer with the counts so far (or
 * *override when not NULL).  Closes an open chunk first. */
void lt_gen_trailer(struct lt_gen *g, uint64_t ticks,
		    const struct lt_gen_counts *override);

const struct lt_gen_counts *lt_gen_counts(const struct lt_gen *g);

/* The bytes so far (an open chunk is included as it stands). */
const uint8_t *lt_gen_data(const struct lt_gen *g, size_t *len);

/* Write the first len bytes (SIZE_MAX: all) to path; returns 0 or -1. */
int lt_gen_write(const struct lt_gen *g, const char *path, size_t len);

/* A fresh temporary file name for a test dump (caller frees); the file
 * exists, empty. */
char *lt_gen_tmpname(void);

/* Writes the golden dump that tests/data/golden-v1.lt holds. */
struct lt_gen *lt_gen_golden(void);

#endif /* LT_TESTS_DUMPGEN_H */
