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
#include <string.h>

#include <libtrace/dump.h>

#include "fmt.h"

/* One complete chunk, as found in the file. */
struct lt_dump_chunk {
	uint64_t offset;     /* of its struct lt_chunk_header */
	uint64_t ticks;      /* the header's: after its last record */
	uint64_t first_ticks;  /* of its first record with a time
				* (lt_dump_rec_ticks); UINT64_MAX: none */
	uint32_t thread;
	uint32_t seq;
	uint32_t size;       /* payload bytes, validated */
	int32_t  net;        /* blocks acquired minus released in it */
	int32_t  rise;       /* the most net reached at any record, >= 0 */
	bool     cont;       /* LT_CHUNK_MAGIC_CONT: code goes on from the last */
	bool     first_coded;  /* first_ticks came from a coded record */
	bool     lz4;        /* version 4: an LZ4 block in the file */
	uint32_t file_size;  /* version 4: its payload's bytes in the file */
	uint64_t file_offset;  /* version 4: its header's offset in the file */
	/* The coded records' state at its start (dump.h), once lt_dump_open
	 * has put each thread's chunks in order. */
	struct lt_code_state code;
};

/* A coded record (version 3) decoded into its fixed layout. */
union lt_rec_event {
	struct lt_rec_head head;
	struct lt_rec_alloc alloc;
	struct lt_rec_free free;
	struct lt_rec_realloc realloc;
};

/* A THREAD_CREATE or THREAD_START record, found by the index pass so that
 * a reader needing thread births first does not read the dump twice (nor
 * fault in a page of every thread's first chunk again: what it needs is
 * copied here). */
struct lt_dump_thread_rec {
	const struct lt_rec_head *rec;   /* inside the mapping */
	uint32_t thread;     /* serial of the stream it is in */
	uint8_t type;        /* LT_REC_THREAD_CREATE or LT_REC_THREAD_START */
	uint64_t ticks;
	uint64_t value;      /* CREATE: the child's serial; START: pthread_t */
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
	/* Version 4: base is the image of the dump with every chunk as it
	 * would be uncompressed, in a memfd (so that lt_dump_release can drop
	 * its pages); len is its length.  While the index pass fills it in,
	 * file is the file's mapping. */
	const uint8_t *file;
	size_t file_len;
	size_t map_len;                      /* of base, to unmap */
	int image_fd;                        /* the memfd while it is filled */
	bool image_anon;                     /* no memfd: pages kept */
	const struct lt_file_header *hdr;    /* validated, inside the mapping */
	const char *exe, *cmdline, *parent_dump;   /* not NUL-terminated */
	uint32_t exe_len, cmdline_len, parent_dump_len;

	struct lt_dump_chunk *chunks;
	size_t nchunks;
	struct lt_dump_stream *streams;      /* sorted by thread serial */
	size_t nstreams;
	uint32_t *stream_chunks;             /* backing store of streams */
	struct lt_dump_thread_rec *thread_recs;   /* in file order */
	size_t nthread_recs;

	uint64_t data_end;       /* end of the last complete chunk */
	bool truncated;          /* partial last chunk or no final trailer */
	char truncation[256];    /* why, in words, when truncated */
	const struct lt_rec_trailer *trailer;   /* the final one, or NULL */
	bool coded;              /* version 3: chunks may hold coded records */
	bool compressed;         /* version 4: and be LZ4 blocks in the file */

	uint64_t records;        /* records seen by the index pass */
	/* The most blocks live at once, bounded from above going by chunk
	 * times (see live_bound(): a hint, which records a flush wrote late
	 * can exceed); the replay sizes its table by it. */
	uint64_t live_bound;
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

/* Whether lt_dump_open checks records on a second thread: -1 (the
 * default) for a dump of 16 MiB or more when lt_dump_spare_cpu(), 0
 * never, 1 always.  For tests: the result is the same either way. */
extern int lt_dump_threads;
/* Whether a version 4 dump's image goes in a memfd (true, the default) or
 * in memory of the analyzer's own, as where memfd_create fails (tests). */
extern bool lt_dump_memfd;

/* Whether a second thread would find a CPU of its own now: this process
 * may run on two or more, and fewer other tasks are running than it has
 * CPUs (/proc/loadavg; dump.c says why one more than would leave a CPU
 * idle).  _in decides from a CPU count and that file's text. */
bool lt_dump_spare_cpu(void);
bool lt_dump_spare_cpu_in(int cpus, const char *loadavg);

/* Unmap and free; NULL is fine. */
void lt_dump_close(struct lt_dump *d);

/* The lowercase name of a record type ("alloc", "thread_join"), or
 * "unknown". */
const char *lt_dump_rec_name(unsigned type);

/*
 * Drop the mapping's whole pages within bytes [from, upto) from this process's
 * resident set.  The mapping stays valid (pages fault back in from the
 * file when read again), so pointers into it, such as stack frames, keep
 * working; this only keeps RSS from growing with the file.
 */
void lt_dump_release(const struct lt_dump *d, uint64_t from, uint64_t upto);

/*
 * The time a record happened at, for the records that have one: the
 * release of a realloc's old block (ticks_before) for a realloc.  false for
 * stacks, modules, lost counts and the like, which need no order.
 */
static inline bool lt_dump_rec_ticks(const struct lt_rec_head *h, uint64_t *ticks)
{
	switch (h->type) {
	case LT_REC_ALLOC:
	case LT_REC_FREE:
	case LT_REC_THREAD_CREATE:
	case LT_REC_THREAD_START:
	case LT_REC_THREAD_EXIT:
	case LT_REC_THREAD_JOIN:
	case LT_REC_THREAD_DETACH:
	case LT_REC_THREAD_CANCEL:
	case LT_REC_THREAD_NAME:
	case LT_REC_FORK:
	case LT_REC_EXEC:
	case LT_REC_SNAPSHOT:
		/* Every one of these has ticks right after its head. */
		*ticks = ((const uint64_t *)h)[1];
		return true;
	case LT_REC_REALLOC:
		*ticks = ((const struct lt_rec_realloc *)h)->ticks_before;
		return true;
	default:
		return false;
	}
}

/* The time of the first record with one in stream s, or 0 when it has
 * none: where it joins a merge by time. */
uint64_t lt_dump_stream_first_ticks(const struct lt_dump *d,
				    const struct lt_dump_stream *s);

/* ---- coded records (version 3; include/libtrace/dump.h) ---------------- */

/* Bytes a decoder may read past a record's start: the longest record and
 * the rest of its last field's 8-byte load. */
#define LT_DUMP_CODED_READ (LT_CODED_MAX + 7)

/*
 * The length of the coded record at p (whose first byte has LT_CODED_BIT),
 * with lens its fields' byte counts; 0 when it is not a record this reader
 * knows (a fourth kind, length bits for fields its kind lacks, a stack id
 * wider than 4 bytes) or runs past end.
 */
static inline size_t lt_dump_coded_len(const uint8_t *p, const uint8_t *end, uint32_t *lens_out)
{
	size_t have = (size_t)(end - p), len;
	uint32_t l;

	switch ((p[0] >> LT_CODED_KIND_SHIFT) & 3) {
	case LT_CODED_ALLOC:
	case LT_CODED_FREE:
		if (have < 3)
			return 0;
		l = p[1] | (uint32_t)p[2] << 8;
		len = 3 + 4 + (l & 7) + (l >> 3 & 7) + (l >> 6 & 7) + (l >> 9 & 7);
		if ((p[0] >> LT_CODED_KIND_SHIFT & 3) == LT_CODED_FREE)
			len += l >> 12 ? 64 : 0;   /* bits of a fifth field */
		else
			len += 1 + (l >> 12 & 7) + (l >> 15 ? 64 : 0);
		break;
	case LT_CODED_REALLOC:
		if (have < 4)
			return 0;
		l = p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16;
		len = 4 + 7 + (l & 7) + (l >> 3 & 7) + (l >> 6 & 7) + (l >> 9 & 7) +
		      (l >> 12 & 7) + (l >> 15 & 7) + (l >> 18 & 7) +
		      (l >> 21 ? 64 : 0);
		break;
	default:
		return 0;
	}
	/* Spare length bits make the record longer than LT_CODED_MAX. */
	if (len > LT_CODED_MAX || (l & 7) > 3 || len > have)
		return 0;
	*lens_out = l;
	return len;
}

/* Field i of lens at *q, moving *q past it: one 8-byte load, masked. */
static inline uint64_t lt_dump_field(const uint8_t **q, uint32_t lens, unsigned i)
{
	static const uint64_t mask[8] = {
		0xffull, 0xffffull, 0xffffffull, 0xffffffffull, 0xffffffffffull,
		0xffffffffffffull, 0xffffffffffffffull, ~0ull,
	};
	unsigned k = (lens >> (3 * i)) & 7;
	uint64_t v;

	memcpy(&v, *q, sizeof(v));
	*q += k + 1;
	return v & mask[k];
}

/*
 * Decodes the coded record at p into ev, moving the state s on.  Returns
 * its length, or 0 as lt_dump_coded_len.  Near the chunk's end it decodes
 * from a copy, so that every field is one load.
 */
static inline size_t lt_dump_decode(const uint8_t *p, const uint8_t *end,
				    struct lt_code_state *s, union lt_rec_event *ev)
{
	uint8_t tail[LT_DUMP_CODED_READ];
	size_t have = (size_t)(end - p);
	const uint8_t *q, *start;
	uint8_t fn = p[0] & LT_CODED_FN_MASK;
	uint32_t lens;

	if (__builtin_expect(have < LT_DUMP_CODED_READ, 0)) {
		if (!lt_dump_coded_len(p, end, &lens))
			return 0;
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p, have);
		p = tail;
	}
	start = p;
	switch ((p[0] >> LT_CODED_KIND_SHIFT) & 3) {
	case LT_CODED_ALLOC: {
		struct lt_rec_alloc *r = &ev->alloc;

		lens = p[1] | (uint32_t)p[2] << 8;
		if (lens >> 15 || (lens & 7) > 3)
			return 0;
		q = p + 3;
		r->head = (struct lt_rec_head){ LT_REC_ALLOC, fn, sizeof(*r),
						(uint32_t)lt_dump_field(&q, lens, 0) };
		r->ticks = s->ticks + lt_unzigzag(lt_dump_field(&q, lens, 1));
		r->ptr = s->ptr + lt_unzigzag(lt_dump_field(&q, lens, 2));
		r->size = lt_dump_field(&q, lens, 3);
		r->sp = s->sp + lt_unzigzag(lt_dump_field(&q, lens, 4));
		*s = (struct lt_code_state){ r->ticks, r->ptr, r->sp };
		break;
	}
	case LT_CODED_FREE: {
		struct lt_rec_free *r = &ev->free;

		lens = p[1] | (uint32_t)p[2] << 8;
		if (lens >> 12 || (lens & 7) > 3)
			return 0;
		q = p + 3;
		r->head = (struct lt_rec_head){ LT_REC_FREE, fn, sizeof(*r),
						(uint32_t)lt_dump_field(&q, lens, 0) };
		r->ticks = s->ticks + lt_unzigzag(lt_dump_field(&q, lens, 1));
		r->ptr = s->ptr + lt_unzigzag(lt_dump_field(&q, lens, 2));
		r->sp = s->sp + lt_unzigzag(lt_dump_field(&q, lens, 3));
		*s = (struct lt_code_state){ r->ticks, r->ptr, r->sp };
		break;
	}
	case LT_CODED_REALLOC: {
		struct lt_rec_realloc *r = &ev->realloc;

		lens = p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16;
		if (lens >> 21 || (lens & 7) > 3)
			return 0;
		q = p + 4;
		r->head = (struct lt_rec_head){ LT_REC_REALLOC, fn, sizeof(*r),
						(uint32_t)lt_dump_field(&q, lens, 0) };
		r->ticks_before = s->ticks + lt_unzigzag(lt_dump_field(&q, lens, 1));
		r->ticks = r->ticks_before + lt_dump_field(&q, lens, 2);
		r->old_ptr = s->ptr + lt_unzigzag(lt_dump_field(&q, lens, 3));
		r->new_ptr = r->old_ptr + lt_unzigzag(lt_dump_field(&q, lens, 4));
		r->size = lt_dump_field(&q, lens, 5);
		r->sp = s->sp + lt_unzigzag(lt_dump_field(&q, lens, 6));
		*s = (struct lt_code_state){ r->ticks, r->new_ptr, r->sp };
		break;
	}
	default:
		return 0;
	}
	return (size_t)(q - start);
}

/*
 * Reads one chunk's records in order; a coded record comes out decoded,
 * in ev, valid until the next call.  Only for chunks of a dump that
 * lt_dump_open accepted.
 */
struct lt_dump_chunk_rd {
	const struct lt_dump *dump;
	uint64_t off, end;
	struct lt_code_state code;
	union lt_rec_event ev;
	bool broken;             /* met a record that does not fit */
};

void lt_dump_chunk_rd_init(struct lt_dump_chunk_rd *r, const struct lt_dump *d,
			   const struct lt_dump_chunk *c);
/* The next record, or NULL at the chunk's end; *offset, if not NULL,
 * receives its byte offset. */
const struct lt_rec_head *lt_dump_chunk_rd_next(struct lt_dump_chunk_rd *r,
						uint64_t *offset);

/* Walks one stream's records in order.  The record returned stays valid
 * until the next call on the same cursor (a fixed one for as long as the
 * dump is open). */
struct lt_dump_cursor {
	const struct lt_dump_stream *stream;
	uint32_t next_chunk;     /* index into stream->chunks */
	uint64_t bytes_done;     /* payload bytes of chunks finished so far */
	struct lt_dump_chunk_rd rd;   /* rd.off, rd.end: the current chunk */
};

void lt_dump_cursor_init(struct lt_dump_cursor *c, const struct lt_dump *d,
			 const struct lt_dump_stream *s);

/*
 * The next record of the stream (validated by lt_dump_open), or NULL at
 * its end.  *offset, if not NULL, receives the record's byte offset.
 */
const struct lt_rec_head *lt_dump_cursor_next_slow(struct lt_dump_cursor *c,
						   uint64_t *offset);

static inline const struct lt_rec_head *
lt_dump_cursor_next(struct lt_dump_cursor *c, uint64_t *offset)
{
	struct lt_dump_chunk_rd *r = &c->rd;
	const struct lt_rec_head *h;
	const uint8_t *p;
	size_t len;

	/* The common steps, inside the current chunk: a coded record with a
	 * whole record's reach left, or a fixed one; lt_dump_open checked
	 * every record, so a record that does not fit is never seen here
	 * unless the cursor was built over something else (the slow path
	 * says so and ends the stream).  Padding, a chunk's end and the rest
	 * go the slow way. */
	if (r->off >= r->end || r->end - r->off < LT_DUMP_CODED_READ)
		return lt_dump_cursor_next_slow(c, offset);
	p = r->dump->base + r->off;
	if ((*p & LT_CODED_BIT) && r->dump->coded) {
		len = lt_dump_decode(p, r->dump->base + r->end, &r->code, &r->ev);
		if (!len)
			return lt_dump_cursor_next_slow(c, offset);
		h = &r->ev.head;
	} else {
		if (*p == 0)
			return lt_dump_cursor_next_slow(c, offset);
		h = (const struct lt_rec_head *)p;
		if (h->size < sizeof(*h) || h->size > r->end - r->off)
			return lt_dump_cursor_next_slow(c, offset);
		len = h->size;
	}
	if (offset)
		*offset = r->off;
	r->off += len;
	c->bytes_done += len;
	return h;
}

#endif /* LT_ANALYZER_DUMP_H */
