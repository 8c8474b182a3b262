/*
 * The dump reader: maps a dump read-only, validates its header and every
 * record, and indexes its complete chunks so that each thread's stream can
 * be walked in order.  Never trusts a size field beyond the file's real
 * length and never loads events into memory: memory grows with the number
 * of chunks only.
 */
#ifndef LT_ANALYZER_DUMP_H
#define LT_ANALYZER_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libtrace/dump.h>

#include "fmt.h"

/* One complete chunk, as found in the file. */
struct lt_dump_chunk {
	uint64_t offset;     /* of its struct lt_chunk_header */
	uint32_t thread;
	uint32_t seq;
	uint32_t size;       /* payload bytes, validated */
};

/* One thread's chunks in file order: the stream the merge consumes. */
struct lt_dump_stream {
	uint32_t thread;
	uint32_t nchunks;
	const uint32_t *chunks;  /* indices into lt_dump.chunks */
};

struct lt_dump {
	char *path;                          /* as given, for messages */
	const uint8_t *base;                 /* the read-only mapping */
	size_t len;                          /* the file's real length */
	const struct lt_file_header *hdr;    /* validated, inside the mapping */
	const char *exe, *cmdline, *parent_dump;   /* not NUL-terminated */
	uint32_t exe_len, cmdline_len, parent_dump_len;

	struct lt_dump_chunk *chunks;
	size_t nchunks;
	struct lt_dump_stream *streams;      /* sorted by thread serial */
	size_t nstreams;
	uint32_t *stream_chunks;             /* backing store of streams */

	uint64_t data_end;       /* end of the last complete chunk */
	bool truncated;          /* partial last chunk or no final trailer */
	char truncation[256];    /* why, in words, when truncated */
	const struct lt_rec_trailer *trailer;   /* the final one, or NULL */

	uint64_t records;        /* records seen by the index pass */
	uint64_t unknown_records;
	uint64_t seq_gaps;       /* chunks missing, going by seq numbers */
	uint64_t pair_ticks, pair_mono_ns;   /* latest chunk clock pair */
};

/*
 * Map and index the dump at path.  On success returns 0 and *out; on bad
 * input returns -1 with a message naming the file, the byte offset and
 * what was expected ("app.4711.lt: record at byte 81920 is truncated
 * (need 24 bytes, have 7)").  A truncated dump is a success.
 */
int lt_dump_open(const char *path, struct lt_dump **out, struct lt_err *err);

/* Unmap and free; NULL is fine. */
void lt_dump_close(struct lt_dump *d);

/* The lowercase name of a record type ("alloc", "thread_join"), or
 * "unknown". */
const char *lt_dump_rec_name(unsigned type);

/*
 * Check the record at byte off of the mapping, where the chunk payload
 * holding it ends at byte end: size at least 8, a multiple of 8, within
 * the chunk, and at least as large as its type's fixed layout.  Returns 0,
 * or -1 with a message.
 */
int lt_dump_check_record(const struct lt_dump *d, uint64_t off, uint64_t end,
			 struct lt_err *err);

/*
 * Drop the mapping's whole pages within bytes [from, upto) from this process's
 * resident set.  The mapping stays valid (pages fault back in from the
 * file when read again), so pointers into it, such as stack frames, keep
 * working; this only keeps RSS from growing with the file.
 */
void lt_dump_release(const struct lt_dump *d, uint64_t from, uint64_t upto);

/* Walks one stream's records in order. */
struct lt_dump_cursor {
	const struct lt_dump *dump;
	const struct lt_dump_stream *stream;
	uint32_t next_chunk;     /* index into stream->chunks */
	uint64_t off, end;       /* next record, end of the current chunk */
	uint64_t bytes_done;     /* payload bytes of chunks finished so far */
};

void lt_dump_cursor_init(struct lt_dump_cursor *c, const struct lt_dump *d,
			 const struct lt_dump_stream *s);

/*
 * The next record of the stream (validated by lt_dump_open), or NULL at
 * its end.  *offset, if not NULL, receives the record's byte offset.
 */
const struct lt_rec_head *lt_dump_cursor_next(struct lt_dump_cursor *c,
					      uint64_t *offset);

#endif /* LT_ANALYZER_DUMP_H */
