/*
 * Internal interface of the interposer, grouped by the file that owns each
 * part.  Everything here runs inside someone else's process: no malloc, no
 * stdio, no exit; errors go to lt_disable().
 */
#ifndef LT_SHIM_H
#define LT_SHIM_H

#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "libtrace/dump.h"

#define LT_HIDDEN   __attribute__((visibility("hidden")))
#define LT_EXPORT   __attribute__((visibility("default")))
#define LT_NOINLINE __attribute__((noinline))
#define lt_likely(x)   __builtin_expect(!!(x), 1)
#define lt_unlikely(x) __builtin_expect(!!(x), 0)

/* "Cannot happen" checks: one line through write(2), then abort. */
#define lt_assert(cond) \
	do { if (lt_unlikely(!(cond))) lt_assert_fail(#cond, __FILE__, __LINE__); } while (0)
LT_HIDDEN void lt_assert_fail(const char *what, const char *file, int line)
	__attribute__((noreturn));

/* ---- options.c: LIBTRACE_* read once, from one table ---------------------- */
struct lt_options {
	char     output[512];       /* LIBTRACE_OUTPUT template */
	uint32_t depth;             /* LIBTRACE_DEPTH, 1..LT_MAX_DEPTH */
	uint32_t free_depth;        /* LIBTRACE_FREE_DEPTH, 0..LT_FREE_DEPTH */
	uint64_t sample;            /* LIBTRACE_SAMPLE mean bytes, 0 = exact */
	bool     follow;            /* LIBTRACE_FOLLOW */
	int      snapshot_signal;   /* LIBTRACE_SNAPSHOT_SIGNAL, 0 = off */
	bool     quiet;             /* LIBTRACE_QUIET */
	bool     compress;          /* LIBTRACE_COMPRESS: LZ4 chunks */
	char     run_log[512];      /* LIBTRACE_RUN_LOG (set by `libtrace run`) */
};
#define LT_MAX_DEPTH 256
LT_HIDDEN extern struct lt_options lt_opt;
/* Returns 0, or -EINVAL with the offending variable named through lt_log. */
LT_HIDDEN int lt_options_load(void);

/* ---- log.c: the one place that writes to stderr --------------------------- */
LT_HIDDEN void lt_log(const char *a, const char *b, const char *c);
LT_HIDDEN char *lt_fmt_u64(char *end, uint64_t v);  /* digits ending at end */

/* ---- clock.h -------------------------------------------------------------- */
#include "clock.h"

/* ---- arena.c: memory that never comes from malloc ------------------------- */
/* Returns zeroed memory of size bytes from a private mmap, or NULL. */
LT_HIDDEN void *lt_arena_alloc(size_t size);
LT_HIDDEN void *lt_os_map(size_t size);     /* MAP_NORESERVE, or NULL */
/* In a forked child: a lock another thread held at fork is dropped. */
LT_HIDDEN void lt_arena_after_fork(void);

/* ---- real.c: the one file that calls dlsym -------------------------------- */
struct lt_real {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void  (*free)(void *);
	int   (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	int   (*pthread_create)(void *, const void *, void *(*)(void *), void *);
	void  (*pthread_exit)(void *) __attribute__((noreturn));
	int   (*pthread_join)(unsigned long, void **);
	int   (*pthread_tryjoin_np)(unsigned long, void **);
	int   (*pthread_timedjoin_np)(unsigned long, void **, const void *);
	int   (*pthread_detach)(unsigned long);
	int   (*pthread_cancel)(unsigned long);
	int   (*pthread_setname_np)(unsigned long, const char *);
	pid_t (*fork)(void);
	int   (*execve)(const char *, char *const[], char *const[]);
	int   (*execv)(const char *, char *const[]);
	int   (*execvp)(const char *, char *const[]);
	int   (*execvpe)(const char *, char *const[], char *const[]);
	int   (*fexecve)(int, char *const[], char *const[]);
	void *(*dlopen)(const char *, int);
	int   (*dlclose)(void *);
	int   (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int   (*prctl)(int, unsigned long, unsigned long, unsigned long, unsigned long);
	void  (*exit_)(int) __attribute__((noreturn));
	void  (*Exit_)(int) __attribute__((noreturn));
	int   (*mincore)(void *, size_t, unsigned char *);   /* for libunwind's calls */
	ssize_t (*read)(int, void *, size_t);
	long  (*syscall)(long, ...);
};
LT_HIDDEN extern struct lt_real lt_real;
/* Resolves every pointer above; 0 or -ENOENT (a missing one is named). */
LT_HIDDEN int lt_real_resolve(void);
/*
 * malloc_usable_size(p) for lt_stats()'s live bytes, without the call when
 * the real allocator is glibc's: its chunk header, the word before p, holds
 * the chunk's size with flags in the low three bits, and a block is the
 * chunk less that word (less two for an mmapped chunk, flag 2).  Set by
 * lt_real_check_chunks() only after it compared both answers on blocks of
 * every kind; otherwise (jemalloc, libc_malloc_debug...) the call.
 */
LT_HIDDEN extern bool lt_glibc_chunks;
LT_HIDDEN void lt_real_check_chunks(void);
static inline int64_t lt_chunk_usable(const void *p)
{
	size_t head = ((const size_t *)p)[-1];

	return (int64_t)((head & ~(size_t)7) - 8 - ((head & 2) << 2));
}
static inline int64_t lt_usable(void *p)
{
	if (__builtin_expect(lt_glibc_chunks, 1))
		return lt_chunk_usable(p);
	return (int64_t)malloc_usable_size(p);
}
/* The bootstrap pool that answers dlsym's own calloc during resolution. */
LT_HIDDEN void *lt_boot_alloc(size_t size);
#define LT_BOOT_POOL_BYTES (64u * 1024)
LT_HIDDEN extern char lt_boot_pool[LT_BOOT_POOL_BYTES];
/* Whether p came from the start-up pool (checked on every free). */
static inline bool lt_boot_owns(const void *p)
{
	return (const char *)p >= lt_boot_pool &&
	       (const char *)p < lt_boot_pool + LT_BOOT_POOL_BYTES;
}
LT_HIDDEN size_t lt_boot_size(const void *p);

/* One of cap places, counted in *taken: true if the caller got one. */
static inline bool lt_place_take(_Atomic uint32_t *taken, uint32_t cap)
{
	uint32_t n = atomic_load_explicit(taken, memory_order_relaxed);

	while (n < cap)
		if (atomic_compare_exchange_weak(taken, &n, n + 1))
			return true;
	return false;
}

/* ---- writer.c: per-thread buffers, chunks, the dump file ------------------ */
/*
 * A thread's buffer, one chunk when full.  The kernel's cost of a buffered
 * write falls with its size (ext4, 435 MB from /dev/zero by dd: 0.15-0.17 s
 * of system time in 62 KiB writes, 0.10 s in 248 KiB, 0.08 s in 1 MiB): at
 * 62 KiB the writes were 11% of a traced cppcheck run.  254 KiB cut the
 * overhead of the bench's CPython job from +61% to +50% and of a bash loop
 * from +193% to +172%.  But 64 threads that each fill theirs then hold
 * 12 MiB more (a program of 64 busy threads: 25 -> 37 MB resident), so a
 * buffer starts at LT_BUF_SMALL and only the first LT_BUF_GROWN buffers to
 * fill up grow to LT_BUF_BYTES: at most 3 MiB more, for the threads that
 * write most.  Pages are touched only as far as a buffer is filled.  Coded
 * records (format 3) made events a third of their size, and the others
 * start at 16 KiB (about 1,400 events): 256 busy threads held 44 MB
 * resident with 62 KiB, 37 MB with 30 KiB and 34 MB with 16 KiB (3.6 MB
 * untraced), in the same time.
 */
#define LT_BUF_BYTES (254u * 1024)
#define LT_BUF_SMALL (16u * 1024)
#define LT_BUF_GROWN 16
#define LT_LIVE_DEPTH 64

struct lt_counts {
	uint64_t allocs, frees, reallocs, bytes, threads;
	uint64_t lost_allocs, lost_frees, lost_bytes;
	/* Usable bytes (malloc_usable_size) of the blocks this thread
	 * acquired minus those it released, and the most that reached; for
	 * lt_stats() in api.c.  Negative for a thread that frees what others
	 * allocated: only the sum over threads means live bytes. */
	int64_t live, live_peak;
};

struct lt_buf {
	_Atomic uint32_t head;      /* bytes the producer committed */
	uint32_t         limit;     /* its size now: LT_BUF_SMALL or _BYTES */
	uint32_t         tail;      /* bytes written out (consumer lock held) */
	_Atomic int      consumer;  /* 1 while someone writes this buffer out */
	_Atomic int      owned;     /* 1 while a thread records into it */
	uint32_t         thread;    /* serial of the owning thread */
	uint32_t         seq;       /* chunks written for that thread */
	/* The coded records' state (dump.h) at head: the owner's alone, set
	 * to zero wherever head goes back to 0, so that a chunk of the buffer
	 * from offset 0 starts from zero and one from further on continues. */
	struct lt_code_state code;
	struct lt_counts counts;    /* the owner's events, for the trailer */
	uint32_t         tid;       /* the owner's kernel thread id */
	_Atomic uint32_t live_ask;  /* live-stack request generation */
	_Atomic uint32_t live_done; /* the generation live_frames answer */
	uint32_t         live_thread, live_tid;   /* whom live_ask asked */
	uint32_t         live_n;
	uint64_t         live_frames[LT_LIVE_DEPTH];
	struct lt_stack_cache *cache;  /* the owner's, mapped on first use */
	uint32_t         cache_gen;     /* bumped for each new owner */
	/* Where the owner's stack ends, when the shim started the thread: the
	 * whole of [sp, stack_top) is its stack, and the cache keys stacks by
	 * their distance from here (0: unknown, by address and owner). */
	uint64_t         stack_top;
	struct lt_buf   *next_all;  /* every buffer ever made, never unlinked */
	struct lt_buf   *next_free;
	uint8_t          data[LT_BUF_BYTES] __attribute__((aligned(8)));
};

/* Open the dump named by the template; 0 or -errno (already logged). */
LT_HIDDEN int lt_writer_open(uint32_t flags, const char *parent_dump);
LT_HIDDEN const char *lt_writer_path(void);
LT_HIDDEN struct lt_buf *lt_buf_acquire(uint32_t thread);
LT_HIDDEN void lt_buf_release(struct lt_buf *b, uint32_t *seq_out);
/* Write out what b holds.  owner: the caller is b's producer. */
LT_HIDDEN void lt_buf_flush(struct lt_buf *b, bool owner);
/* b filled up: its owner may make it LT_BUF_BYTES long (see there). */
LT_HIDDEN void lt_buf_filled(struct lt_buf *b);
/* Write every buffer out (exit, exec, snapshot, fatal signal). */
LT_HIDDEN void lt_writer_flush_all(void);
/* Write one chunk directly (threads past their exit, the trailer). */
LT_HIDDEN void lt_writer_direct(uint32_t thread, uint32_t *seq, const void *p,
				size_t len);
LT_HIDDEN void lt_writer_sum(struct lt_counts *out);
LT_HIDDEN void lt_writer_add_retired(const struct lt_counts *c);
LT_HIDDEN uint64_t lt_writer_chunks(void);
LT_HIDDEN void lt_writer_close(void);
/* In a forked child: forget the parent's buffers and file. */
LT_HIDDEN void lt_writer_after_fork(struct lt_buf *keep);
/* Every buffer ever made (live ones have owned set), for live stacks. */
LT_HIDDEN struct lt_buf *lt_writer_buffers(void);

/* ---- stacks.c: the process-wide table of interned stacks ------------------ */
LT_HIDDEN int lt_stacks_init(void);
/* Returns the id of frames[0..n), defining it in the calling thread's
 * stream when this dump has not seen it yet; LT_STACK_NONE when the table
 * is full. */
LT_HIDDEN uint32_t lt_stacks_intern(const uint64_t *frames, uint32_t n);
/* After fork: ids are re-emitted.  The caller must also make the stack
 * cache's entries stale (lt_stack_cache_new_dump), whose hits give ids
 * without asking. */
LT_HIDDEN void lt_stacks_new_dump(void);
LT_HIDDEN uint64_t lt_stacks_defined(void);

/* ---- unwind.c: the one file that includes libunwind.h --------------------- */
LT_HIDDEN void lt_unwind_init(void);
LT_HIDDEN bool lt_unwind_owns(const void *addr);
/* Record the calling thread's stack, for libunwind's memory checks: the
 * main thread's, or one the shim started (its attributes' sizes). */
LT_HIDDEN void lt_unwind_main_stack(void);
LT_HIDDEN void lt_unwind_thread_stack(uint64_t stack_top, uint64_t usable);
/* What a thread created with attr will have of its stack block, less the
 * guard, in pages; 0 when that is not known (a stack the program gave). */
LT_HIDDEN uint32_t lt_unwind_stack_pages(const pthread_attr_t *attr);
/* The pipe libunwind checks memory with. */
LT_HIDDEN void lt_unwind_pipe(const int fds[2]);
/* Fills frames[] with the return addresses above the frame whose return
 * address is ret (the intercepted call's caller first); returns how many. */
LT_HIDDEN uint32_t lt_unwind(void *ret, uint64_t *frames, uint32_t max);
/* The same, but 0 when ret is not where the wrapper said (no guessing). */
LT_HIDDEN uint32_t lt_unwind_exact(void *ret, uint64_t *frames, uint32_t max);
LT_HIDDEN uint32_t lt_unwind_context(void *uc, uint64_t *frames, uint32_t max);
/* Like lt_unwind, step by step: also gives, for every frame, the stack
 * address that holds its return address, its rbp and the address that
 * holds that (0 if none), and sets bit i of *signal_frames when frame i is
 * a signal trampoline; 0 if it cannot.  Slow (libunwind's global cache
 * lock, two sigprocmask calls a step unless quiet): for learning only. */
LT_HIDDEN uint32_t lt_unwind_slots(void *ret, uint64_t *frames, uint64_t *slots,
				   uint64_t *fp, uint64_t *fp_at, uint64_t *signal_frames,
				   uint32_t max);
/* From a thread's exit: it gives up its place on the fast path. */
LT_HIDDEN void lt_unwind_thread_exit(void);
/* Between these, every signal stays blocked and libunwind's own mask
 * changes cost no system call; nothing but unwinding may run in between. */
LT_HIDDEN void lt_unwind_quiet_begin(void);
LT_HIDDEN void lt_unwind_quiet_end(void);
/* Around fork: no unwind is under way in another thread when it happens
 * (libunwind's lock would stay taken in the child). */
LT_HIDDEN void lt_unwind_fork_prepare(void);
LT_HIDDEN void lt_unwind_fork_parent(void);
LT_HIDDEN void lt_unwind_fork_child(void);

/* ---- stackcache.c: per-thread cache of validated stacks ------------------- */
/* The id of the stack above a call whose return address is ret and whose
 * caller's stack pointer was sp, at most depth frames: from the calling
 * thread's cache when every return-address slot on the stack still holds
 * what it held when the entry was made, else by unwinding.  0 with *id set,
 * or -1 when the stack cannot be cached (the caller unwinds as usual). */
LT_HIDDEN int lt_stack_cached(struct lt_buf *b, int kind, void *ret, uint64_t sp,
			      uint32_t depth, uint32_t *id);
/* After lt_stacks_new_dump(): every cached stack goes stale. */
LT_HIDDEN void lt_stack_cache_new_dump(void);
#define LT_CACHE_ALLOC 0
#define LT_CACHE_FREE  1
/* The end of the calling thread's stack, called first thing on a thread the
 * shim started (lt_buf.stack_top); 0 when it cannot be known. */
LT_HIDDEN uint64_t lt_stack_top(void);

/* ---- livestacks.c: what every live thread is doing ------------------------ */
/* Write an LT_REC_THREAD_STACK for every live thread into stream 0 (through
 * lt_writer_direct); uc is the caller's own signal context, or NULL. */
LT_HIDDEN void lt_live_stacks(uint32_t snapshot, void *uc, uint32_t *seq);
LT_HIDDEN void lt_live_after_fork(void);

/* ---- modules.c: the module map -------------------------------------------- */
/* Emit LT_REC_MODULE / LT_REC_MODULE_UNLOAD for what changed since the last
 * call (everything, when all is true). */
LT_HIDDEN void lt_modules_refresh(bool all);
LT_HIDDEN const char *lt_exe_path(void);
LT_HIDDEN void lt_modules_after_fork(void);

/* ---- core.c: thread state, life cycle, recording -------------------------- */
/* DRAINING: the process is ending; wrappers forward, the writer still writes. */
enum lt_state { LT_UNINIT, LT_STARTING, LT_ACTIVE, LT_DRAINING, LT_OFF };
LT_HIDDEN extern _Atomic int lt_state;

struct lt_thread {
	struct lt_buf *buf;
	uint32_t serial;        /* 0 until the thread first records */
	uint32_t direct_seq;    /* chunk seq once the buffer is given back */
	int      guard;         /* > 0 while inside the shim's recording */
	uint8_t  exited;        /* thread-exit recorded; records go direct */
	uint8_t  exit_how;      /* enum lt_thread_exit_how, set by wrappers */
	uint8_t  starting;      /* this thread is running lt_init */
	int64_t  sample_left;   /* bytes until the next sample */
	uint64_t lost_said[3];  /* lost allocs, frees, bytes already recorded */
	uint64_t rng;
	struct lt_counts direct_counts;
};
LT_HIDDEN extern __thread struct lt_thread lt_self;

LT_HIDDEN void lt_init(void);
LT_HIDDEN void lt_disable(const char *reason, const char *detail);
/* Reserve len bytes in the calling thread's stream; commit after filling.
 * Returns NULL when recording is off for this thread.  A fixed record
 * starts at a multiple of 8 (lt_reserve zeroes the padding before it); a
 * coded one anywhere (lt_reserve_coded, LT_CODED_MAX bytes; lt_commit_coded
 * with what it took).  The common case (a buffer with room) is inline; the
 * rest is in core.c. */
LT_HIDDEN void *lt_reserve_slow(struct lt_thread *t, size_t len, bool aligned);
LT_HIDDEN void lt_commit_direct(struct lt_thread *t, size_t len);

static inline uint32_t lt_align8(uint32_t n)
{
	return (n + 7) & ~7u;
}

static inline void *lt_reserve(struct lt_thread *t, size_t len)
{
	struct lt_buf *b = t->buf;

	if (lt_likely(b != NULL)) {
		uint32_t head = atomic_load_explicit(&b->head, memory_order_relaxed);
		uint32_t at = lt_align8(head);

		if (lt_likely(at + len <= b->limit)) {
			uint64_t zero = 0;

			/* len >= 8, so this stays before the record's end. */
			memcpy(b->data + head, &zero, sizeof(zero));
			return b->data + at;
		}
	}
	return lt_reserve_slow(t, len, true);
}

static inline void lt_commit(struct lt_thread *t, size_t len)
{
	struct lt_buf *b = t->buf;

	if (lt_likely(b != NULL)) {
		uint32_t head = atomic_load_explicit(&b->head, memory_order_relaxed);

		atomic_store_explicit(&b->head, lt_align8(head) + (uint32_t)len,
				      memory_order_release);
		return;
	}
	lt_commit_direct(t, len);
}

static inline uint8_t *lt_reserve_coded(struct lt_thread *t)
{
	struct lt_buf *b = t->buf;

	if (lt_likely(b != NULL)) {
		uint32_t head = atomic_load_explicit(&b->head, memory_order_relaxed);

		if (lt_likely(head + LT_CODED_MAX <= b->limit))
			return b->data + head;
	}
	return lt_reserve_slow(t, LT_CODED_MAX, false);
}

static inline void lt_commit_coded(struct lt_thread *t, size_t len)
{
	struct lt_buf *b = t->buf;

	if (lt_likely(b != NULL)) {
		uint32_t head = atomic_load_explicit(&b->head, memory_order_relaxed);

		atomic_store_explicit(&b->head, head + (uint32_t)len, memory_order_release);
		return;
	}
	lt_commit_direct(t, len);
}

/* The state for a thread's next coded record: its buffer's, or, past the
 * thread's exit (a chunk a record), a fresh one. */
static inline struct lt_code_state *lt_code_state_of(struct lt_thread *t,
						     struct lt_code_state *fresh)
{
	if (lt_likely(t->buf != NULL))
		return &t->buf->code;
	*fresh = (struct lt_code_state){ 0 };
	return fresh;
}

static inline struct lt_counts *lt_counts_of(struct lt_thread *t)
{
	return t->buf ? &t->buf->counts : &t->direct_counts;
}
/* Interned id of the stack above the intercepted call (ret is its return
 * address), at most depth frames; LT_STACK_NONE when it cannot be had. */
LT_HIDDEN uint32_t lt_capture_depth(struct lt_thread *t, void *ret, uint32_t depth);
#define lt_capture(t, ret) lt_capture_depth((t), (ret), LT_MAX_DEPTH)
/* The same through the thread's stack cache; sp is the caller's stack
 * pointer at the call (kind: LT_CACHE_ALLOC or LT_CACHE_FREE).  Inline:
 * every recorded event comes here. */
static inline uint32_t lt_capture_cached(struct lt_thread *t, int kind, void *ret,
					 uint64_t sp, uint32_t depth)
{
	uint32_t id;

	if (depth > lt_opt.depth)
		depth = lt_opt.depth;
	if (depth > 1 && t->buf && lt_stack_cached(t->buf, kind, ret, sp, depth, &id) == 0)
		return id;
	return lt_capture_depth(t, ret, depth);
}
/* Draws the thread's next sampling distance; returns true. */
LT_HIDDEN bool lt_sample_next(struct lt_thread *t);
/*
 * Whether to record an allocation of size bytes: always without
 * LIBTRACE_SAMPLE; else when the thread's byte countdown runs out.  A
 * block of at least the interval is always recorded (weight 1), outside
 * the countdown: the smaller blocks keep their Poisson odds, and the large
 * ones, few by construction, no longer swing an estimate by megabytes.
 */
static inline bool lt_sampled(struct lt_thread *t, uint64_t size)
{
	if (lt_likely(!lt_opt.sample) || size >= lt_opt.sample)
		return true;
	t->sample_left -= (int64_t)size;
	return t->sample_left > 0 ? false : lt_sample_next(t);
}
/* sampled.c: with LIBTRACE_SAMPLE, the recorded blocks still live.  add
 * before the block is handed out; take says whether a release must be
 * written (true also once the set is full: then every release is). */
LT_HIDDEN void lt_sampled_add(void *ptr);
LT_HIDDEN bool lt_sampled_take(void *ptr);
/*
 * malloc and realloc only count a block smaller than this (unless the
 * countdown runs out): the sampling interval with LIBTRACE_SAMPLE, else 0,
 * which closes their counting paths.
 */
LT_HIDDEN extern uint64_t lt_count_below;
/*
 * free's first question, and realloc's of its old block: false means
 * certainly not a sampled block (see sampled.c), and the block is only
 * counted.  A counter per page; every counter says "maybe" (255, which
 * never moves) in a table that closes the counting path: until start-up,
 * in an exact run, over another allocator than glibc's, and once the set
 * overflowed.
 */
#define LT_HINT_BITS 15
LT_HIDDEN extern _Atomic(const _Atomic uint8_t *) lt_free_hints;
static inline bool lt_sampled_maybe(const void *ptr)
{
	uint64_t page = (uint64_t)(uintptr_t)ptr >> 12;
	const _Atomic uint8_t *hints = atomic_load_explicit(&lt_free_hints, memory_order_acquire);

	return atomic_load_explicit(&hints[page & ((1u << LT_HINT_BITS) - 1)],
				    memory_order_relaxed) != 0;
}
/* Opens the counting paths (lt_count_below, lt_free_hints) when the options
 * and the allocator allow, before recording starts. */
LT_HIDDEN void lt_sampled_init(void);
/* hooks.c: picks malloc's counting path for the allocator found. */
LT_HIDDEN void lt_hooks_count_init(void);
LT_HIDDEN void lt_thread_begin(struct lt_thread *t, uint32_t serial);
LT_HIDDEN uint32_t lt_thread_new_serial(void);
LT_HIDDEN void lt_finish(enum lt_end_reason why, int code);
/* Around a pthread_create wrapper's real call and its record. */
LT_HIDDEN void lt_create_begin(void);
LT_HIDDEN void lt_create_end(void);
LT_HIDDEN void lt_before_exec(const char *path);
LT_HIDDEN void lt_after_exec_failed(void);
LT_HIDDEN void lt_fork_parent(pid_t child);
LT_HIDDEN void lt_fork_child(void);
LT_HIDDEN void lt_snapshot(void *uc);
/* sigaction as the program sees it: where the shim's end-of-process handler
 * stands in for the default action, the program is shown SIG_DFL. */
LT_HIDDEN int lt_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

#endif /* LT_SHIM_H */
