/*
 * The libtrace dump format: the one definition shared by the writer (the
 * interposer) and the reader (the analyzer).  Fixed-width little-endian
 * records, every size checked at compile time, (from version 3) the coded
 * form of the three records every allocation writes, and (from version 4)
 * chunks compressed with LZ4.  Any change to a
 * layout or a meaning bumps LT_DUMP_VERSION; docs/FORMAT.md describes it for
 * people.
 */
#ifndef LIBTRACE_DUMP_H
#define LIBTRACE_DUMP_H

#include <stdint.h>
#include <string.h>

#define LT_DUMP_MAGIC      "LTDUMP\x1a\n"   /* 8 bytes, no NUL needed */
#define LT_DUMP_MAGIC_LEN  8
#define LT_DUMP_VERSION    4
#define LT_DUMP_VERSION_FIXED 2     /* no coded records; still read */
#define LT_DUMP_VERSION_CODED 3     /* no compressed chunks; still read */

/*
 * File = header, then chunks until end of file.  The header's variable part
 * (executable path, command line, parent dump path) follows the fixed part;
 * header_size covers both and is a multiple of 8.
 */
enum lt_clock {
	LT_CLOCK_MONOTONIC = 1,   /* ticks are CLOCK_MONOTONIC nanoseconds */
	LT_CLOCK_TSC       = 2,   /* ticks are invariant TSC cycles */
};

enum lt_header_flags {
	LT_HDR_FORKED  = 1u << 0, /* this process was forked from a traced one */
	LT_HDR_SAMPLED = 1u << 1, /* allocations are Poisson-sampled by bytes */
	LT_HDR_SAMPLE_LARGE = 1u << 2, /* with SAMPLED: every block of at least
					* sample_interval bytes is recorded */
};

struct lt_file_header {
	char     magic[LT_DUMP_MAGIC_LEN];
	uint32_t version;
	uint32_t header_size;        /* fixed part + strings, padded to 8 */
	uint32_t pid;
	uint32_t ppid;
	uint32_t clock;              /* enum lt_clock */
	uint32_t flags;              /* enum lt_header_flags */
	uint64_t start_realtime_ns;  /* CLOCK_REALTIME at start, for people */
	uint64_t start_ticks;        /* the clock of every record, at start */
	uint64_t start_mono_ns;      /* CLOCK_MONOTONIC at start_ticks */
	uint64_t sample_interval;    /* mean bytes between samples; 0 = exact */
	uint32_t max_depth;          /* LIBTRACE_DEPTH in force */
	uint32_t main_thread;        /* serial of the thread that runs main() */
	uint32_t exe_len;            /* bytes of executable path, no NUL */
	uint32_t cmdline_len;        /* bytes of argv, each NUL-terminated */
	uint32_t parent_dump_len;    /* LT_HDR_FORKED: the parent's dump path */
	uint32_t reserved;
	/* char exe[exe_len], cmdline[cmdline_len], parent_dump[...], pad to 8 */
};
_Static_assert(sizeof(struct lt_file_header) == 88, "lt_file_header layout");

/*
 * A chunk is one thread's records, written with a single write(2).  Chunks
 * of one thread appear in the file in order (seq counts them per thread);
 * chunks of different threads interleave freely.  A reader orders events
 * across threads by their ticks.  The file ends at the last complete chunk;
 * a clean run ends with a chunk holding only an LT_REC_TRAILER.
 */
#define LT_CHUNK_MAGIC 0x4b43544cu   /* "LTCK" */
/* Version 3: a chunk whose coded records go on from the state the same
 * thread's previous chunk ended in (see struct lt_code_state). */
#define LT_CHUNK_MAGIC_CONT 0x4343544cu   /* "LTCC" */
/* Version 4: the payload is a struct lt_chunk_lz4, then an LZ4 block of
 * block_size bytes, then zeros up to a multiple of 8.  The block holds what
 * the payload of an LTCK or LTCC chunk would, but for the zeros that end it
 * short of a multiple of 8: raw_size bytes, which rounded up to 8 are the
 * payload. */
#define LT_CHUNK_MAGIC_LZ4     0x4b5a544cu   /* "LTZK" */
#define LT_CHUNK_MAGIC_LZ4CONT 0x435a544cu   /* "LTZC" */
#define LT_CHUNK_MAX   (1u << 20)    /* payload bytes; larger is corrupt */

struct lt_chunk_header {
	uint32_t magic;
	uint32_t size;        /* payload bytes after this header, multiple of 8 */
	uint32_t thread;      /* serial of the thread whose records these are */
	uint32_t seq;         /* this thread's chunk number, from 0 */
	uint64_t ticks;       /* clock pair taken when the chunk was written, */
	uint64_t mono_ns;     /* so a reader can convert ticks to seconds */
};
_Static_assert(sizeof(struct lt_chunk_header) == 32, "lt_chunk_header layout");

struct lt_chunk_lz4 {
	uint32_t raw_size;    /* bytes the block holds, at most LT_CHUNK_MAX */
	uint32_t block_size;  /* bytes of the block that follows */
};
_Static_assert(sizeof(struct lt_chunk_lz4) == 8, "lt_chunk_lz4 layout");

/*
 * Every record starts with this 8-byte head; size (a multiple of 8) lets a
 * reader skip a type it does not know.  aux is type-specific.
 */
enum lt_rec_type {
	LT_REC_ALLOC         = 1,
	LT_REC_FREE          = 2,
	LT_REC_REALLOC       = 3,
	LT_REC_STACK         = 4,
	LT_REC_MODULE        = 5,
	LT_REC_MODULE_UNLOAD = 6,
	LT_REC_THREAD_CREATE = 7,
	LT_REC_THREAD_START  = 8,
	LT_REC_THREAD_EXIT   = 9,
	LT_REC_THREAD_JOIN   = 10,
	LT_REC_THREAD_DETACH = 11,
	LT_REC_THREAD_CANCEL = 12,
	LT_REC_THREAD_NAME   = 13,
	LT_REC_FORK          = 14,
	LT_REC_EXEC          = 15,
	LT_REC_TRAILER       = 16,
	LT_REC_LOST          = 17,
	LT_REC_SNAPSHOT      = 18,
	LT_REC_THREAD_STACK  = 19,
};

/* Which function made an allocation or free (lt_rec_head.flags). */
enum lt_alloc_fn {
	LT_FN_MALLOC = 1,
	LT_FN_CALLOC,
	LT_FN_REALLOC,
	LT_FN_REALLOCARRAY,
	LT_FN_POSIX_MEMALIGN,
	LT_FN_ALIGNED_ALLOC,
	LT_FN_MEMALIGN,
	LT_FN_VALLOC,
	LT_FN_PVALLOC,
	LT_FN_FREE,
};

struct lt_rec_head {
	uint8_t  type;
	uint8_t  flags;
	uint16_t size;
	uint32_t aux;
};
_Static_assert(sizeof(struct lt_rec_head) == 8, "lt_rec_head layout");

/* Stack id 0 means "no stack captured" (unwinding failed or was skipped). */
#define LT_STACK_NONE 0u

/*
 * head.flags = enum lt_alloc_fn, head.aux = stack id.  realloc(NULL, n) and
 * reallocarray(NULL, ...) are recorded here with flags LT_FN_REALLOC or
 * LT_FN_REALLOCARRAY: they count as allocations and as reallocs.
 */
struct lt_rec_alloc {
	struct lt_rec_head head;
	uint64_t ticks;      /* after the allocator returned */
	uint64_t ptr;
	uint64_t size;       /* bytes asked for (nmemb * size for calloc) */
	uint64_t sp;         /* the caller's stack pointer at the call */
};
_Static_assert(sizeof(struct lt_rec_alloc) == 40, "lt_rec_alloc layout");

/*
 * head.flags = LT_FN_FREE, head.aux = the free site's stack id: a shallow
 * stack (LT_FREE_DEPTH frames at most) whose frames[0] is the caller of
 * free.  With sp, it tells whether the allocating frame was still live when
 * the block was freed, or how many frames up it was freed.  Only
 * free(non-NULL) is recorded.
 */
#define LT_FREE_DEPTH 16
struct lt_rec_free {
	struct lt_rec_head head;
	uint64_t ticks;      /* before the allocator was called */
	uint64_t ptr;
	uint64_t sp;         /* the caller's stack pointer at the call */
};
_Static_assert(sizeof(struct lt_rec_free) == 32, "lt_rec_free layout");

/*
 * realloc and reallocarray with a non-NULL old pointer that returned a block
 * (head.flags = LT_FN_REALLOC or LT_FN_REALLOCARRAY, head.aux = stack id).
 * old_ptr is released at ticks_before, new_ptr acquired at ticks: another
 * thread may reuse old_ptr, or have just freed new_ptr, in between.
 * realloc(NULL, n) is recorded as LT_REC_ALLOC; realloc(p, 0) that frees p and
 * returns NULL as LT_REC_FREE with flags = LT_FN_REALLOC.
 */
struct lt_rec_realloc {
	struct lt_rec_head head;
	uint64_t ticks_before;
	uint64_t ticks;
	uint64_t old_ptr;
	uint64_t new_ptr;
	uint64_t size;
	uint64_t sp;         /* the caller's stack pointer at the call */
};
_Static_assert(sizeof(struct lt_rec_realloc) == 56, "lt_rec_realloc layout");

/*
 * head.aux = stack id, defined once per dump before (in its own thread's
 * stream) any record of that thread uses it; other threads may use the id
 * earlier in the file.  frames[] are return addresses, innermost first,
 * (head.size - 8) / 8 of them.  frames[0] is the caller of the intercepted
 * function.
 */
struct lt_rec_stack {
	struct lt_rec_head head;
	uint64_t frames[];
};
_Static_assert(sizeof(struct lt_rec_stack) == 8, "lt_rec_stack layout");

/*
 * A loaded ELF object: bias is dlpi_addr, [lo, hi) the span of its PT_LOAD
 * segments.  Followed by path[path_len] then build_id[build_id_len], padded
 * to 8.  head.aux = 1 for the main executable.
 */
struct lt_rec_module {
	struct lt_rec_head head;
	uint64_t ticks;
	uint64_t bias;
	uint64_t lo;
	uint64_t hi;
	uint16_t path_len;
	uint16_t build_id_len;
	uint32_t reserved;
};
_Static_assert(sizeof(struct lt_rec_module) == 48, "lt_rec_module layout");

struct lt_rec_module_unload {
	struct lt_rec_head head;
	uint64_t ticks;
	uint64_t bias;
};
_Static_assert(sizeof(struct lt_rec_module_unload) == 24, "unload layout");

enum lt_thread_create_flags {
	LT_CREATE_DETACHED = 1u << 0,   /* created with a detached attribute */
};

/* In the creating thread's stream; head.aux = creating stack id. */
struct lt_rec_thread_create {
	struct lt_rec_head head;
	uint64_t ticks;          /* before pthread_create ran */
	uint64_t child;          /* serial the new thread will carry */
	uint64_t start_routine;  /* address of the start function */
};
_Static_assert(sizeof(struct lt_rec_thread_create) == 32, "create layout");

/* First record of a new thread's stream; head.aux = kernel tid. */
struct lt_rec_thread_start {
	struct lt_rec_head head;
	uint64_t ticks;
	uint64_t pthread;        /* pthread_self(), which later joins name */
};
_Static_assert(sizeof(struct lt_rec_thread_start) == 24, "start layout");

enum lt_thread_exit_how {
	LT_EXIT_RETURN   = 1,    /* the start routine returned */
	LT_EXIT_PTHREAD  = 2,    /* pthread_exit */
	LT_EXIT_CANCEL   = 3,    /* cancelled, or ended some other way */
};

/* head.flags = enum lt_thread_exit_how */
struct lt_rec_thread_exit {
	struct lt_rec_head head;
	uint64_t ticks;
};
_Static_assert(sizeof(struct lt_rec_thread_exit) == 16, "exit layout");

enum lt_join_how {
	LT_JOIN_JOIN = 1,
	LT_JOIN_TRY,
	LT_JOIN_TIMED,
};

/*
 * JOIN (head.flags = enum lt_join_how), DETACH and CANCEL name their target
 * by pthread_t.  ticks is taken before the call, while the target cannot yet
 * have been reclaimed, so a reader resolves target against the thread that
 * carried that pthread_t at ticks.  JOIN and DETACH are recorded only when
 * the call succeeded.
 */
struct lt_rec_thread_op {
	struct lt_rec_head head;
	uint64_t ticks;
	uint64_t target;
};
_Static_assert(sizeof(struct lt_rec_thread_op) == 24, "thread op layout");

/* A thread's name was set: target is its pthread_t (0: the stream's own
 * thread).  name is NUL-padded, at most 15 characters. */
struct lt_rec_thread_name {
	struct lt_rec_head head;
	uint64_t ticks;
	uint64_t target;
	char     name[16];
};
_Static_assert(sizeof(struct lt_rec_thread_name) == 40, "name layout");

/* In the forking thread's stream, after a successful fork; aux = child pid. */
struct lt_rec_fork {
	struct lt_rec_head head;
	uint64_t ticks;
};
_Static_assert(sizeof(struct lt_rec_fork) == 16, "fork layout");

/* An exec about to happen; path[head.size - 16] follows, NUL-padded. */
struct lt_rec_exec {
	struct lt_rec_head head;
	uint64_t ticks;
};
_Static_assert(sizeof(struct lt_rec_exec) == 16, "exec layout");

/*
 * Events the shim saw but could not record (re-entered from a signal
 * handler, or after recording stopped), in the stream of the thread that
 * lost them.  The counts are exact; the events are not in the dump.
 */
struct lt_rec_lost {
	struct lt_rec_head head;
	uint64_t ticks;
	uint64_t allocs;
	uint64_t frees;
	uint64_t bytes;
};
_Static_assert(sizeof(struct lt_rec_lost) == 40, "lost layout");

/*
 * A snapshot was asked for (LIBTRACE_SNAPSHOT_SIGNAL): every thread's buffer
 * was written out right after this record, so the live heap at ticks is
 * what a reader has rebuilt up to here.  head.aux = snapshot number from 1.
 */
struct lt_rec_snapshot {
	struct lt_rec_head head;
	uint64_t ticks;
};
_Static_assert(sizeof(struct lt_rec_snapshot) == 16, "snapshot layout");

enum lt_thread_stack_status {
	LT_TSTACK_OK          = 0,
	LT_TSTACK_UNAVAILABLE = 1,   /* the thread did not answer in time (it
				      * blocks the signal, or is stopped) */
	LT_TSTACK_BUSY        = 2,   /* it was inside libtrace itself */
};

/*
 * The current stack of one live thread, at a snapshot (snapshot = its
 * number, from 1) or at the end of the process (snapshot = 0): what the
 * thread is blocked on.  Written in stream 0.  head.flags = enum
 * lt_thread_stack_status; frames[] innermost first, (head.size - 32) / 8 of
 * them; frames[0] is the interrupted instruction itself (not a return
 * address), the rest are return addresses.
 */
struct lt_rec_thread_stack {
	struct lt_rec_head head;
	uint64_t ticks;
	uint32_t thread;         /* serial */
	uint32_t snapshot;
	uint32_t tid;            /* kernel thread id */
	uint32_t reserved;
	uint64_t frames[];
};
_Static_assert(sizeof(struct lt_rec_thread_stack) == 32, "thread stack layout");

enum lt_end_reason {
	LT_END_EXIT   = 1,   /* exit() or return from main */
	LT_END_UEXIT  = 2,   /* _exit() or _Exit() */
	LT_END_SIGNAL = 3,   /* killed by a fatal signal (aux = signal number) */
	LT_END_EXEC   = 4,   /* exec'd another image; superseded if exec fails */
	LT_END_ERROR  = 5,   /* the shim disabled itself; see lt_disable */
};

/*
 * The last record of a complete dump, alone in the last chunk (thread 0).
 * head.flags = enum lt_end_reason, head.aux = signal or exit status.  The
 * totals are the shim's own counters, so a reader can check that the
 * stream it decoded is whole.
 */
struct lt_rec_trailer {
	struct lt_rec_head head;
	uint64_t ticks;
	uint64_t mono_ns;
	uint64_t allocations;   /* as the report's totals.allocations */
	uint64_t frees;
	uint64_t reallocs;
	uint64_t bytes_allocated;
	uint64_t threads_created;
	uint64_t lost_events;   /* sum of all LT_REC_LOST allocs + frees */
	uint64_t stacks;        /* distinct stacks defined */
	uint64_t chunks;        /* chunks written before this one */
};
_Static_assert(sizeof(struct lt_rec_trailer) == 88, "trailer layout");

/*
 * Coded records (version 3).  Inside a chunk, a byte 0x00 is padding; a
 * byte with the top bit set starts a coded ALLOC, FREE or REALLOC; any other
 * byte starts a fixed record as above, at a chunk offset that is a multiple
 * of 8.  A coded record is
 *
 *   tag      1 byte: LT_CODED_BIT | kind << 5 | head.flags (enum lt_alloc_fn)
 *   lengths  2 bytes (ALLOC, FREE) or 3 (REALLOC), little-endian: 3 bits a
 *            field, field i's byte count minus 1 at bit 3 * i; bits past
 *            the last field are zero
 *   fields   each little-endian, in that many bytes (the stack id in at
 *            most 4; the shim writes as few as a value needs)
 *
 * ALLOC:   stack id, Z(ticks), Z(ptr), size, Z(sp)
 * FREE:    stack id, Z(ticks), Z(ptr), Z(sp)
 * REALLOC: stack id, Z(ticks_before), ticks - ticks_before, Z(old_ptr),
 *          new_ptr - old_ptr (zigzag), size, Z(sp)
 *
 * where Z(x) is x minus the state's x, zigzag-coded (so that small negative
 * differences are small), all modulo 2^64.  Each record then sets the state
 * to its ticks, its pointer (REALLOC: new_ptr and ticks) and its sp.  The
 * state is all zero at the start of a chunk with LT_CHUNK_MAGIC; a chunk
 * with LT_CHUNK_MAGIC_CONT starts from the state the thread's previous
 * chunk ended in.  Fixed records neither use nor change it.
 */
#define LT_CODED_BIT        0x80u
#define LT_CODED_KIND_SHIFT 5
#define LT_CODED_FN_MASK    0x1fu
enum lt_coded_kind {
	LT_CODED_ALLOC   = 0,
	LT_CODED_FREE    = 1,
	LT_CODED_REALLOC = 2,
};
/* The most bytes a coded record takes: tag, 3 bytes of lengths, 7 fields. */
#define LT_CODED_MAX (1 + 3 + 7 * 8)

struct lt_code_state {
	uint64_t ticks;
	uint64_t ptr;
	uint64_t sp;
};

static inline uint64_t lt_zigzag(uint64_t d)
{
	return d << 1 ^ (uint64_t)((int64_t)d >> 63);
}

static inline uint64_t lt_unzigzag(uint64_t z)
{
	return z >> 1 ^ (0 - (z & 1));
}

/*
 * The encoders, the shim's (and the unit tests').  Each writes a coded
 * record at out, which must have LT_CODED_MAX bytes of room: a field is
 * stored as 8 bytes and the cursor moves on by as many as it needs, with no
 * branch on its value.  They return the record's length.
 */
static inline uint8_t *lt_code_put(uint8_t *p, uint64_t v, uint32_t *lens,
				   unsigned field)
{
	/* The bytes v needs, 1 to 8, less one: its top bit's index (63 ^ clz,
	 * one bsr) / 8, with at least one bit. */
	unsigned k = (unsigned)(63 ^ __builtin_clzll(v | 1)) >> 3;

	memcpy(p, &v, sizeof(v));
	*lens |= k << (3 * field);
	return p + k + 1;
}

static inline size_t lt_code_alloc(uint8_t *out, struct lt_code_state *s,
				   uint8_t fn, uint32_t stack, uint64_t ticks,
				   uint64_t ptr, uint64_t size, uint64_t sp)
{
	uint8_t *p = out + 3;
	uint32_t lens = 0;

	p = lt_code_put(p, stack, &lens, 0);
	p = lt_code_put(p, lt_zigzag(ticks - s->ticks), &lens, 1);
	p = lt_code_put(p, lt_zigzag(ptr - s->ptr), &lens, 2);
	p = lt_code_put(p, size, &lens, 3);
	p = lt_code_put(p, lt_zigzag(sp - s->sp), &lens, 4);
	*s = (struct lt_code_state){ ticks, ptr, sp };
	out[0] = (uint8_t)(LT_CODED_BIT | LT_CODED_ALLOC << LT_CODED_KIND_SHIFT | fn);
	out[1] = (uint8_t)lens;
	out[2] = (uint8_t)(lens >> 8);
	return (size_t)(p - out);
}

static inline size_t lt_code_free(uint8_t *out, struct lt_code_state *s,
				  uint8_t fn, uint32_t stack, uint64_t ticks,
				  uint64_t ptr, uint64_t sp)
{
	uint8_t *p = out + 3;
	uint32_t lens = 0;

	p = lt_code_put(p, stack, &lens, 0);
	p = lt_code_put(p, lt_zigzag(ticks - s->ticks), &lens, 1);
	p = lt_code_put(p, lt_zigzag(ptr - s->ptr), &lens, 2);
	p = lt_code_put(p, lt_zigzag(sp - s->sp), &lens, 3);
	*s = (struct lt_code_state){ ticks, ptr, sp };
	out[0] = (uint8_t)(LT_CODED_BIT | LT_CODED_FREE << LT_CODED_KIND_SHIFT | fn);
	out[1] = (uint8_t)lens;
	out[2] = (uint8_t)(lens >> 8);
	return (size_t)(p - out);
}

static inline size_t lt_code_realloc(uint8_t *out, struct lt_code_state *s,
				     uint8_t fn, uint32_t stack,
				     uint64_t ticks_before, uint64_t ticks,
				     uint64_t old_ptr, uint64_t new_ptr,
				     uint64_t size, uint64_t sp)
{
	uint8_t *p = out + 4;
	uint32_t lens = 0;

	p = lt_code_put(p, stack, &lens, 0);
	p = lt_code_put(p, lt_zigzag(ticks_before - s->ticks), &lens, 1);
	p = lt_code_put(p, ticks - ticks_before, &lens, 2);
	p = lt_code_put(p, lt_zigzag(old_ptr - s->ptr), &lens, 3);
	p = lt_code_put(p, lt_zigzag(new_ptr - old_ptr), &lens, 4);
	p = lt_code_put(p, size, &lens, 5);
	p = lt_code_put(p, lt_zigzag(sp - s->sp), &lens, 6);
	*s = (struct lt_code_state){ ticks, new_ptr, sp };
	out[0] = (uint8_t)(LT_CODED_BIT | LT_CODED_REALLOC << LT_CODED_KIND_SHIFT | fn);
	out[1] = (uint8_t)lens;
	out[2] = (uint8_t)(lens >> 8);
	out[3] = (uint8_t)(lens >> 16);
	return (size_t)(p - out);
}

#endif /* LIBTRACE_DUMP_H */
