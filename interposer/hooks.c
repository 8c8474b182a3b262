/*
 * The one file that defines libc's names: the malloc family, the pthread
 * thread life cycle, fork, the exec family, dlopen/dlclose and _exit.  Each
 * wrapper forwards to the real function and records around it; when
 * recording is off, re-entered or not yet possible, it only forwards.
 * Clock rule: read before a block is released, after one is acquired.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define RET_ADDR() __builtin_return_address(0)
/* The caller's stack pointer just before its call instruction: the
 * canonical frame address, which needs no frame pointer (this file is built
 * without them, so that malloc's and free's counting paths set up none). */
#define CALLER_SP() ((uint64_t)(uintptr_t)__builtin_dwarf_cfa())

static inline bool recording(const struct lt_thread *t)
{
	return lt_likely(atomic_load_explicit(&lt_state, memory_order_relaxed) == LT_ACTIVE) &&
	       lt_likely(!t->guard);
}

/* An event seen but not recordable (re-entered from a signal handler or
 * from code the shim itself called): counted, so the dump can say so. */
static void lost(struct lt_thread *t, uint64_t allocs, uint64_t frees, uint64_t bytes)
{
	if (atomic_load_explicit(&lt_state, memory_order_relaxed) != LT_ACTIVE || !t->buf)
		return;
	struct lt_counts *c = &t->buf->counts;
	c->allocs += allocs;
	c->frees += frees;
	c->bytes += bytes;
	c->lost_allocs += allocs;
	c->lost_frees += frees;
	c->lost_bytes += bytes;
}

/* Before the shim has its real pointers: start it, or (inside start-up,
 * for dlsym's own needs) answer from the bootstrap pool. */
static bool not_ready(struct lt_thread *t)
{
	if (lt_likely(lt_real.free != NULL))
		return false;
	if (atomic_load(&lt_state) == LT_UNINIT)
		lt_init();
	return lt_real.free == NULL || t->starting;
}

/* Wrappers with nothing of their own to answer before start-up (dlopen,
 * exec, _exit...) may be the first call into the shim, from a library
 * constructor that runs before the shim's: start it, or say why not. */
static void ensure_started(void)
{
	if (lt_unlikely(lt_real.free == NULL) && atomic_load(&lt_state) == LT_UNINIT)
		lt_init();
}
#define REAL(name) (ensure_started(), lt_real.name != NULL)

/* The guard covers only the shim's own work, never the real call: libc
 * allocates on the program's behalf inside pthread_create, dlopen and the
 * like, and those allocations are the program's to account for. */
static struct lt_counts *enter(struct lt_thread *t)
{
	t->guard++;
	if (lt_unlikely(t->buf == NULL) && !t->exited)
		lt_thread_begin(t, 0);
	return lt_counts_of(t);
}

/* Live bytes for lt_stats(): plain per-thread counters, no shared state. */
static inline void live_add(struct lt_counts *c, int64_t usable)
{
	c->live += usable;
	if (c->live > c->live_peak)
		c->live_peak = c->live;
}

/* The record of an allocation already counted; the caller holds the guard. */
static inline __attribute__((always_inline)) void
write_alloc(struct lt_thread *t, uint8_t fn, void *p, uint64_t size, void *ret,
	    uint64_t sp)
{
	uint64_t ticks = lt_ticks();
	uint32_t stack = lt_capture_cached(t, LT_CACHE_ALLOC, ret, sp, LT_MAX_DEPTH);
	uint8_t *r = lt_reserve_coded(t);
	struct lt_code_state fresh;

	if (lt_opt.sample)
		lt_sampled_add(p);
	if (r)
		lt_commit_coded(t, lt_code_alloc(r, lt_code_state_of(t, &fresh), fn,
						 stack, ticks, (uint64_t)(uintptr_t)p,
						 size, sp));
}

/* Inlined into each wrapper: a call here would save and restore registers
 * on every event (about 25 instructions of 340 at call depth 8). */
static inline __attribute__((always_inline)) void
record_alloc(struct lt_thread *t, uint8_t fn, void *p, uint64_t size, void *ret,
	     uint64_t sp)
{
	struct lt_counts *c = enter(t);

	c->allocs++;
	c->bytes += size;
	live_add(c, lt_usable(p));
	if (fn == LT_FN_REALLOC || fn == LT_FN_REALLOCARRAY)
		c->reallocs++;
	if (lt_sampled(t, size))
		write_alloc(t, fn, p, size, ret, sp);
	t->guard--;
}

/* A release a sampled run does not write: counted for the trailer only. */
static void count_free(struct lt_thread *t, int64_t usable)
{
	struct lt_counts *c = enter(t);

	c->frees++;
	c->live -= usable;
	t->guard--;
}

/* ticks was read before anything else, so the clock rule holds even though
 * the free site's stack is captured here, before the real free. */
static inline __attribute__((always_inline)) void
record_free(struct lt_thread *t, uint8_t fn, void *p, uint64_t ticks, void *ret,
	    uint64_t sp, int64_t usable)
{
	struct lt_counts *c = enter(t);

	c->frees++;
	c->live -= usable;
	uint32_t stack = lt_capture_cached(t, LT_CACHE_FREE, ret, sp, lt_opt.free_depth);
	uint8_t *r = lt_reserve_coded(t);
	struct lt_code_state fresh;

	if (r)
		lt_commit_coded(t, lt_code_free(r, lt_code_state_of(t, &fresh), fn,
						stack, ticks, (uint64_t)(uintptr_t)p, sp));
	t->guard--;
}

/* LIBTRACE_SAMPLE: a free its page's hint sent to the full path.  Few
 * blocks were sampled, and their records are written out of line. */
static __attribute__((noinline)) void
sampled_write_free(struct lt_thread *t, void *p, void *ret, uint64_t sp)
{
	uint64_t ticks = lt_ticks_release();

	record_free(t, LT_FN_FREE, p, ticks, ret, sp, lt_usable(p));
}

static void sampled_free(struct lt_thread *t, void *p, void *ret, uint64_t sp)
{
	if (lt_sampled_take(p)) {
		sampled_write_free(t, p, ret, sp);
	} else {
		struct lt_counts *c = &t->buf->counts;

		c->frees++;
		c->live -= lt_usable(p);
	}
	lt_real.free(p);
}

/* ---- the malloc family ------------------------------------------------------ */

static __attribute__((noinline)) void *
traced_malloc(struct lt_thread *t, size_t size, void *ret, uint64_t sp)
{
	void *p;

	if (lt_unlikely(not_ready(t)))
		return lt_real.malloc && !t->starting ? lt_real.malloc(size) : lt_boot_alloc(size);
	if (!recording(t)) {
		p = lt_real.malloc(size);
		if (p && t->guard)
			lost(t, 1, 0, size);
		return p;
	}
	p = lt_real.malloc(size);
	if (p)
		record_alloc(t, LT_FN_MALLOC, p, size, ret, sp);
	return p;
}

/*
 * The counting paths.  With LIBTRACE_SAMPLE, a block below the interval
 * whose bytes do not run the thread's countdown out is only counted, and a
 * block whose page no sampled block is on is only counted when freed.
 * Whether a call takes this path is decided before the real call, so that
 * everything else (a sample, a thread not yet begun, re-entry, exact runs)
 * is one tail call to the full path.  Every instruction here is paid on
 * every call of a sampled run (LIBTRACE_SAMPLE's budget is 5%).
 */

/*
 * The counting paths' question of the thread: begun (it has a buffer) and
 * not inside the shim.  Not the recording state, which would cost a load
 * and a compare more on every call: a thread has a buffer only once
 * recording started, buffers are never handed back to the system, and
 * what is counted after recording stopped is in no dump.
 */
static inline bool counting(const struct lt_thread *t)
{
	return lt_likely(t->buf != NULL) && lt_likely(!t->guard);
}

/* A chunk header's usable bytes, unless the chunk is mmapped (whose
 * header counts differently: lt_chunk_usable). */
#define HEAD_MMAPPED(head) ((head) & 2)
#define HEAD_USABLE(head) ((int64_t)((head) & ~(size_t)7) - 8)

/*
 * What malloc's and realloc's counting paths count for a block acquired.
 * Inlined into one function per allocator (glibc, whose usable size is
 * read off the chunk header, and any other, whose malloc_usable_size is
 * called), so that glibc's saves no registers for that call.
 */
static inline __attribute__((always_inline)) void
count_acquired(void *p, size_t size, bool resized, int64_t old_usable, bool glibc)
{
	struct lt_thread *t = &lt_self;
	struct lt_counts *c = &t->buf->counts;
	int64_t usable;

	if (glibc) {
		size_t head = ((const size_t *)p)[-1];

		usable = lt_likely(!HEAD_MMAPPED(head)) ? HEAD_USABLE(head) : lt_chunk_usable(p);
	} else {
		usable = (int64_t)malloc_usable_size(p);
	}
	t->sample_left -= (int64_t)size;
	c->allocs++;
	if (resized)
		c->reallocs++;
	c->bytes += size;
	c->live -= old_usable;
	live_add(c, usable);
}

/* Apart from malloc so that the full path, and every exact run, saves
 * none of the registers these need across the real call. */
static __attribute__((noinline)) void *count_malloc(size_t size)
{
	void *p = lt_real.malloc(size);

	if (lt_likely(p != NULL))
		count_acquired(p, size, false, 0, true);
	return p;
}

static __attribute__((noinline)) void *count_malloc_other(size_t size)
{
	void *p = lt_real.malloc(size);

	if (lt_likely(p != NULL))
		count_acquired(p, size, false, 0, false);
	return p;
}

/* One or the other, chosen once: a jump through it costs the counting
 * path less than asking which allocator on every call. */
static void *(*count_malloc_fn)(size_t) = count_malloc;

void lt_hooks_count_init(void)
{
	if (!lt_glibc_chunks)
		count_malloc_fn = count_malloc_other;
}

LT_EXPORT void *malloc(size_t size)
{
	struct lt_thread *t = &lt_self;

	/* size < lt_count_below, so the conversion is exact. */
	if (lt_unlikely(size >= lt_count_below) || lt_unlikely(t->sample_left <= (int64_t)size) ||
	    !counting(t))
		return traced_malloc(t, size, RET_ADDR(), CALLER_SP());
	return count_malloc_fn(size);
}

LT_EXPORT void *calloc(size_t n, size_t size)
{
	struct lt_thread *t = &lt_self;
	void *p;

	if (lt_unlikely(not_ready(t))) {
		if (lt_real.calloc && !t->starting)
			return lt_real.calloc(n, size);
		/* dlsym's own calloc: static, already zero. */
		return size && n > SIZE_MAX / size ? NULL : lt_boot_alloc(n * size);
	}
	if (!recording(t)) {
		p = lt_real.calloc(n, size);
		if (p && t->guard)
			lost(t, 1, 0, (uint64_t)n * size);
		return p;
	}
	p = lt_real.calloc(n, size);
	if (p)
		record_alloc(t, LT_FN_CALLOC, p, (uint64_t)n * size, RET_ADDR(), CALLER_SP());
	return p;
}

static __attribute__((noinline)) void
traced_free(struct lt_thread *t, void *p, void *ret, uint64_t sp)
{
	if (lt_unlikely(not_ready(t)))
		return;   /* nothing real was handed out before start-up */
	if (!recording(t)) {
		if (t->guard)
			lost(t, 0, 1, 0);
		lt_real.free(p);
		return;
	}
	if (lt_opt.sample && !lt_sampled_take(p)) {
		count_free(t, lt_usable(p));
		lt_real.free(p);
		return;
	}
	record_free(t, LT_FN_FREE, p, lt_ticks_release(), ret, sp, lt_usable(p));
	lt_real.free(p);
}

static __attribute__((noinline)) void
free_full(struct lt_thread *t, void *p, void *ret, uint64_t sp)
{
	if (!p || lt_unlikely(lt_boot_owns(p)))
		return;
	if (!lt_opt.sample || lt_unlikely(t->buf == NULL) || !recording(t))
		traced_free(t, p, ret, sp);
	else
		sampled_free(t, p, ret, sp);
}

LT_EXPORT void free(void *p)
{
	struct lt_thread *t = &lt_self;

	/* NULL's page and the start-up pool's have their hints set for good;
	 * over another allocator every page's is (lt_sampled_init). */
	if (lt_likely(!lt_sampled_maybe(p)) && counting(t)) {
		size_t head = ((const size_t *)p)[-1];

		if (lt_likely(!HEAD_MMAPPED(head))) {
			struct lt_counts *c = &t->buf->counts;

			c->frees++;
			c->live -= HEAD_USABLE(head);
			lt_real.free(p);
			return;
		}
	}
	free_full(t, p, RET_ADDR(), CALLER_SP());
}

/* realloc and reallocarray share this; bytes = nmemb * size, checked by the
 * caller.  reallocarray is never forwarded as such: glibc's calls realloc
 * through the PLT, which would reach this shim a second time. */
static void *do_realloc(struct lt_thread *t, uint8_t fn, void *old, size_t bytes,
			void *ret, uint64_t sp)
{
	void *p;

	if (lt_unlikely(old && lt_boot_owns(old))) {
		/* A start-up block grows: move it to the real allocator. */
		size_t have = lt_boot_size(old);

		p = malloc(bytes);
		if (p)
			memcpy(p, old, have < bytes ? have : bytes);
		return p;
	}
	if (!recording(t)) {
		p = lt_real.realloc(old, bytes);
		if (t->guard && (p || (old && !bytes)))
			lost(t, p ? 1 : 0, old ? 1 : 0, p ? bytes : 0);
		return p;
	}
	int64_t old_usable = old ? lt_usable(old) : 0;
	uint64_t before = lt_ticks_release();
	p = lt_real.realloc(old, bytes);
	if (!old) {
		if (p)
			record_alloc(t, fn, p, bytes, ret, sp);
	} else if (p) {
		struct lt_counts *c = enter(t);

		c->allocs++;
		c->reallocs++;
		c->bytes += bytes;
		c->live -= old_usable;
		live_add(c, lt_usable(p));
		if (lt_sampled(t, bytes)) {
			uint64_t ticks = lt_ticks();
			uint32_t stack = lt_capture_cached(t, LT_CACHE_ALLOC, ret, sp, LT_MAX_DEPTH);
			uint8_t *r = lt_reserve_coded(t);
			struct lt_code_state fresh;

			if (lt_opt.sample) {
				lt_sampled_take(old);
				lt_sampled_add(p);
			}
			if (r)
				lt_commit_coded(t, lt_code_realloc(r, lt_code_state_of(t, &fresh),
						fn, stack, before, ticks,
						(uint64_t)(uintptr_t)old,
						(uint64_t)(uintptr_t)p, bytes, sp));
		} else {
			/* Not sampled: the old block still goes away.  Sampled dumps
			 * take their totals from the trailer, so this free is not
			 * double-counted there.  Only a recorded block's release
			 * is written. */
			uint8_t *r = lt_sampled_take(old) ? lt_reserve_coded(t) : NULL;
			struct lt_code_state fresh;

			if (r)
				lt_commit_coded(t, lt_code_free(r, lt_code_state_of(t, &fresh),
						fn, LT_STACK_NONE, before,
						(uint64_t)(uintptr_t)old, sp));
		}
		t->guard--;
	} else if (!bytes) {
		/* realloc(p, 0) freed p and returned NULL (glibc). */
		if (lt_opt.sample && !lt_sampled_take(old))
			count_free(t, old_usable);
		else
			record_free(t, fn, old, before, ret, sp, old_usable);
	}
	return p;
}

static __attribute__((noinline)) void *
realloc_full(struct lt_thread *t, void *old, size_t size, void *ret, uint64_t sp)
{
	if (lt_unlikely(not_ready(t))) {
		if (lt_real.realloc && !t->starting && !(old && lt_boot_owns(old)))
			return lt_real.realloc(old, size);
		void *p = lt_boot_alloc(size);
		if (p && old)
			memcpy(p, old, lt_boot_size(old) < size ? lt_boot_size(old) : size);
		return p;
	}
	return do_realloc(t, LT_FN_REALLOC, old, size, ret, sp);
}

/* realloc's counting path: a new block, or an unsampled heap block
 * resized, to a size that leaves the countdown running; counted as
 * do_realloc counts it.  Apart from realloc as count_malloc is.  NULL:
 * the block is as it was (size > 0 or old NULL). */
static __attribute__((noinline)) void *
count_realloc(void *old, size_t size, int64_t old_usable)
{
	void *p = lt_real.realloc(old, size);

	if (lt_likely(p != NULL))
		count_acquired(p, size, true, old_usable, true);
	return p;
}

/* Over another allocator only realloc(NULL, size) counts here: its
 * blocks' pages all have their hints set. */
static __attribute__((noinline)) void *count_realloc_other(size_t size)
{
	void *p = lt_real.realloc(NULL, size);

	if (lt_likely(p != NULL))
		count_acquired(p, size, true, 0, false);
	return p;
}

LT_EXPORT void *realloc(void *old, size_t size)
{
	struct lt_thread *t = &lt_self;
	int64_t old_usable = 0;

	if (lt_unlikely(size >= lt_count_below) || lt_unlikely(t->sample_left <= (int64_t)size) ||
	    !counting(t))
		goto full;
	if (old) {
		/* size 0 frees; the start-up pool's pages have their hints
		 * set, and every page's over another allocator, so a block
		 * that gets past them has a glibc chunk header. */
		if (lt_unlikely(size == 0) || lt_unlikely(lt_sampled_maybe(old)))
			goto full;
		size_t head = ((const size_t *)old)[-1];

		if (lt_unlikely(HEAD_MMAPPED(head)))
			goto full;
		old_usable = HEAD_USABLE(head);
	} else if (lt_unlikely(!lt_glibc_chunks)) {
		return count_realloc_other(size);
	}
	return count_realloc(old, size, old_usable);
full:
	return realloc_full(t, old, size, RET_ADDR(), CALLER_SP());
}

LT_EXPORT void *reallocarray(void *old, size_t nmemb, size_t size)
{
	struct lt_thread *t = &lt_self;

	if (nmemb && size > SIZE_MAX / nmemb) {
		errno = ENOMEM;
		return NULL;
	}
	if (lt_unlikely(not_ready(t)))
		return realloc(old, nmemb * size);
	return do_realloc(t, LT_FN_REALLOCARRAY, old, nmemb * size, RET_ADDR(), CALLER_SP());
}

/* The aligned allocators differ only in how they call the real one. */
#define ALIGNED_WRAPPER(decl, fn_id, call, bytes)                            \
	decl                                                                 \
	{                                                                    \
		struct lt_thread *t = &lt_self;                              \
		void *p;                                                     \
		if (lt_unlikely(not_ready(t)))                               \
			return NULL;                                         \
		if (!recording(t)) {                                         \
			p = call;                                            \
			if (p && t->guard)                                   \
				lost(t, 1, 0, bytes);                        \
			return p;                                            \
		}                                                            \
		p = call;                                                    \
		if (p)                                                       \
			record_alloc(t, fn_id, p, bytes, RET_ADDR(), CALLER_SP());        \
		return p;                                                    \
	}

ALIGNED_WRAPPER(LT_EXPORT void *aligned_alloc(size_t align, size_t size),
		LT_FN_ALIGNED_ALLOC, lt_real.aligned_alloc(align, size), size)
ALIGNED_WRAPPER(LT_EXPORT void *memalign(size_t align, size_t size),
		LT_FN_MEMALIGN, lt_real.memalign(align, size), size)
ALIGNED_WRAPPER(LT_EXPORT void *valloc(size_t size),
		LT_FN_VALLOC, lt_real.valloc(size), size)
ALIGNED_WRAPPER(LT_EXPORT void *pvalloc(size_t size),
		LT_FN_PVALLOC, lt_real.pvalloc(size), size)

LT_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	struct lt_thread *t = &lt_self;
	int rc;

	if (lt_unlikely(not_ready(t)))
		return ENOMEM;
	if (!recording(t)) {
		rc = lt_real.posix_memalign(out, align, size);
		if (!rc && t->guard)
			lost(t, 1, 0, size);
		return rc;
	}
	rc = lt_real.posix_memalign(out, align, size);
	if (!rc)
		record_alloc(t, LT_FN_POSIX_MEMALIGN, *out, size, RET_ADDR(), CALLER_SP());
	return rc;
}

/* ---- threads ---------------------------------------------------------------- */

/* 24 bytes, which tests/programs/check.py allows for: refcount sees them. */
struct start_args {
	void *(*start)(void *);
	void *arg;
	uint32_t serial;
	uint32_t stack_pages;   /* its attributes' stack size less the guard, in pages */
};

static void *thread_trampoline(void *p)
{
	struct start_args a = *(struct start_args *)p;
	struct lt_thread *t = &lt_self;

	lt_real.free(p);
	t->guard++;
	lt_thread_begin(t, a.serial);
	uint64_t top = lt_stack_top();
	if (t->buf)
		t->buf->stack_top = top;
	lt_unwind_thread_stack(top, (uint64_t)a.stack_pages << 12);
	t->guard--;
	void *ret = a.start(a.arg);
	t->exit_how = LT_EXIT_RETURN;
	return ret;
}

static void record_thread_op(struct lt_thread *t, uint8_t type, uint8_t how,
			     uint64_t ticks, pthread_t target)
{
	struct lt_rec_thread_op *r = lt_reserve(t, sizeof(*r));

	if (!r)
		return;
	r->head = (struct lt_rec_head){ type, how, sizeof(*r), 0 };
	r->ticks = ticks;
	r->target = (uint64_t)target;
	lt_commit(t, sizeof(*r));
}

LT_EXPORT int pthread_create(pthread_t *restrict th, const pthread_attr_t *restrict attr,
			     void *(*start)(void *), void *restrict arg)
{
	struct lt_thread *t = &lt_self;

	if (lt_unlikely(not_ready(t)) || !recording(t))
		return lt_real.pthread_create(th, attr, start, arg);

	struct start_args *a = lt_real.malloc(sizeof(*a));
	if (!a)
		return lt_real.pthread_create(th, attr, start, arg);
	int detached = PTHREAD_CREATE_JOINABLE;
	if (attr)
		pthread_attr_getdetachstate(attr, &detached);
	uint32_t child = lt_thread_new_serial();
	*a = (struct start_args){ start, arg, child, lt_unwind_stack_pages(attr) };
	enter(t);
	uint32_t stack = lt_capture(t, RET_ADDR());
	t->guard--;
	uint64_t before = lt_ticks();
	lt_create_begin();
	/* Not guarded: libc allocates the new thread's TLS for the program. */
	int rc = lt_real.pthread_create(th, attr, thread_trampoline, a);
	if (rc) {
		lt_real.free(a);
	} else {
		struct lt_rec_thread_create *r;

		enter(t)->threads++;
		r = lt_reserve(t, sizeof(*r));
		if (r) {
			r->head = (struct lt_rec_head){ LT_REC_THREAD_CREATE,
				detached == PTHREAD_CREATE_DETACHED ? LT_CREATE_DETACHED : 0,
				sizeof(*r), stack };
			r->ticks = before;
			r->child = child;   /* a belongs to the child now */
			r->start_routine = (uint64_t)(uintptr_t)start;
			lt_commit(t, sizeof(*r));
		}
		t->guard--;
	}
	lt_create_end();
	return rc;
}

LT_EXPORT void pthread_exit(void *ret)
{
	if (!REAL(pthread_exit))
		syscall(SYS_exit, 0);   /* no libc to unwind with: end the thread */
	lt_self.exit_how = LT_EXIT_PTHREAD;
	lt_real.pthread_exit(ret);
}

#define JOIN_WRAPPER(decl, how, call)                                        \
	decl                                                                 \
	{                                                                    \
		struct lt_thread *t = &lt_self;                              \
		if (lt_unlikely(not_ready(t)) || !recording(t))              \
			return call;                                         \
		uint64_t before = lt_ticks();                                \
		int rc = call;                                               \
		if (rc == 0 && recording(t)) {                               \
			t->guard++;                                          \
			record_thread_op(t, LT_REC_THREAD_JOIN, how, before, th); \
			t->guard--;                                          \
		}                                                            \
		return rc;                                                   \
	}

JOIN_WRAPPER(LT_EXPORT int pthread_join(pthread_t th, void **ret),
	     LT_JOIN_JOIN, lt_real.pthread_join(th, ret))
JOIN_WRAPPER(LT_EXPORT int pthread_tryjoin_np(pthread_t th, void **ret),
	     LT_JOIN_TRY, lt_real.pthread_tryjoin_np(th, ret))
JOIN_WRAPPER(LT_EXPORT int pthread_timedjoin_np(pthread_t th, void **ret,
						 const struct timespec *abstime),
	     LT_JOIN_TIMED, lt_real.pthread_timedjoin_np(th, ret, abstime))

LT_EXPORT int pthread_detach(pthread_t th)
{
	struct lt_thread *t = &lt_self;

	if (lt_unlikely(not_ready(t)) || !recording(t))
		return lt_real.pthread_detach(th);
	uint64_t before = lt_ticks();
	int rc = lt_real.pthread_detach(th);
	if (rc == 0 && recording(t)) {
		t->guard++;
		record_thread_op(t, LT_REC_THREAD_DETACH, 0, before, th);
		t->guard--;
	}
	return rc;
}

LT_EXPORT int pthread_cancel(pthread_t th)
{
	struct lt_thread *t = &lt_self;

	if (lt_unlikely(not_ready(t)) || !recording(t))
		return lt_real.pthread_cancel(th);
	uint64_t before = lt_ticks();
	int rc = lt_real.pthread_cancel(th);
	if (rc == 0 && recording(t)) {
		t->guard++;
		record_thread_op(t, LT_REC_THREAD_CANCEL, 0, before, th);
		t->guard--;
	}
	return rc;
}

static void record_name(struct lt_thread *t, uint64_t target, const char *name)
{
	t->guard++;
	struct lt_rec_thread_name *r = lt_reserve(t, sizeof(*r));
	if (r) {
		memset(r, 0, sizeof(*r));
		r->head = (struct lt_rec_head){ LT_REC_THREAD_NAME, 0, sizeof(*r), 0 };
		r->ticks = lt_ticks();
		r->target = target;
		strncpy(r->name, name, sizeof(r->name) - 1);
		lt_commit(t, sizeof(*r));
	}
	t->guard--;
}

LT_EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
	struct lt_thread *t = &lt_self;

	if (lt_unlikely(not_ready(t)) || !lt_real.pthread_setname_np)
		return ENOSYS;
	int rc = lt_real.pthread_setname_np(th, name);
	if (rc == 0 && recording(t))
		record_name(t, pthread_equal(th, pthread_self()) ? 0 : (uint64_t)th, name);
	return rc;
}

/* prctl takes up to four more arguments; passing all four is how glibc's
 * own callers and the kernel see it. */
LT_EXPORT int prctl(int option, ...)
{
	struct lt_thread *t = &lt_self;
	unsigned long a[4];
	va_list ap;

	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (lt_unlikely(not_ready(t)) && !lt_real.prctl) {
		errno = ENOSYS;
		return -1;
	}
	int rc = lt_real.prctl(option, a[0], a[1], a[2], a[3]);
	if (rc == 0 && option == PR_SET_NAME && a[0] && recording(t))
		record_name(t, 0, (const char *)a[0]);
	return rc;
}

/* ---- libunwind's validation pipe ---------------------------------------------- */

/*
 * libunwind 1.6 checks addresses while stepping by writing a byte of them
 * to a pipe it opens on the lowest free descriptors.  A daemon that closes
 * every descriptor and opens its own files on those numbers would then
 * have libunwind read and write its files, and close them to make a new
 * pipe.  The pipe libunwind asks for is moved up out of the program's way
 * (the dump's descriptor sits at 512 and up, this at 960 and up); every
 * other caller gets pipe2 untouched.
 */
#define LT_UNWIND_PIPE_FD 960

LT_EXPORT int pipe2(int fds[2], int flags)
{
	int rc = (int)syscall(SYS_pipe2, fds, flags);

	if (rc == 0 && lt_unwind_owns(RET_ADDR())) {
		for (int i = 0; i < 2; i++) {
			int high = fcntl(fds[i], F_DUPFD_CLOEXEC, LT_UNWIND_PIPE_FD);

			if (high >= 0) {
				close(fds[i]);
				fds[i] = high;
			}
		}
		lt_unwind_pipe(fds);
	}
	return rc;
}

/* ---- processes ---------------------------------------------------------------- */

LT_EXPORT pid_t fork(void)
{
	struct lt_thread *t = &lt_self;

	if (lt_unlikely(not_ready(t)))
		return lt_real.fork ? lt_real.fork() : -1;
	bool traced = recording(t);

	lt_unwind_fork_prepare();
	pid_t pid = lt_real.fork();

	if (pid == 0)
		lt_unwind_fork_child();
	else
		lt_unwind_fork_parent();
	if (pid == 0 && traced)
		lt_fork_child();
	else if (pid > 0 && traced)
		lt_fork_parent(pid);
	return pid;
}

LT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	if (!REAL(execve)) {
		errno = ENOSYS;
		return -1;
	}
	lt_before_exec(path);
	int rc = lt_real.execve(path, argv, envp);
	lt_after_exec_failed();
	return rc;
}

LT_EXPORT int execv(const char *path, char *const argv[])
{
	if (!REAL(execv)) {
		errno = ENOSYS;
		return -1;
	}
	lt_before_exec(path);
	int rc = lt_real.execv(path, argv);
	lt_after_exec_failed();
	return rc;
}

LT_EXPORT int execvp(const char *file, char *const argv[])
{
	if (!REAL(execvp)) {
		errno = ENOSYS;
		return -1;
	}
	lt_before_exec(file);
	int rc = lt_real.execvp(file, argv);
	lt_after_exec_failed();
	return rc;
}

LT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (!REAL(execvpe)) {
		errno = ENOSYS;
		return -1;
	}
	lt_before_exec(file);
	int rc = lt_real.execvpe(file, argv, envp);
	lt_after_exec_failed();
	return rc;
}

LT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (!REAL(fexecve)) {
		errno = ENOSYS;
		return -1;
	}
	lt_before_exec("(fexecve)");
	int rc = lt_real.fexecve(fd, argv, envp);
	lt_after_exec_failed();
	return rc;
}

/* execl and friends: collect the variadic arguments into an argv on the
 * stack (no malloc: the shim may be tracing this very call's caller). */
#define MAX_EXECL_ARGS 4096

static int collect_args(const char *arg0, va_list ap, char **argv, char ***envp)
{
	int n = 0;

	argv[n++] = (char *)arg0;
	while (argv[n - 1]) {
		if (n == MAX_EXECL_ARGS) {
			errno = E2BIG;
			return -1;
		}
		argv[n++] = va_arg(ap, char *);
	}
	if (envp)
		*envp = va_arg(ap, char **);
	return 0;
}

LT_EXPORT int execl(const char *path, const char *arg, ...)
{
	char *argv[MAX_EXECL_ARGS];
	va_list ap;

	va_start(ap, arg);
	int rc = collect_args(arg, ap, argv, NULL);
	va_end(ap);
	return rc ? rc : execv(path, argv);
}

LT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *argv[MAX_EXECL_ARGS];
	va_list ap;

	va_start(ap, arg);
	int rc = collect_args(arg, ap, argv, NULL);
	va_end(ap);
	return rc ? rc : execvp(file, argv);
}

LT_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *argv[MAX_EXECL_ARGS];
	char **envp;
	va_list ap;

	va_start(ap, arg);
	int rc = collect_args(arg, ap, argv, &envp);
	va_end(ap);
	return rc ? rc : execve(path, argv, envp);
}

LT_EXPORT void _exit(int status)
{
	if (!REAL(exit_))
		syscall(SYS_exit_group, status);
	lt_finish(LT_END_UEXIT, status);
	lt_real.exit_(status);
}

LT_EXPORT void _Exit(int status)
{
	if (!REAL(Exit_))
		syscall(SYS_exit_group, status);
	lt_finish(LT_END_UEXIT, status);
	lt_real.Exit_(status);
}

/* ---- signals ---------------------------------------------------------------- */

LT_EXPORT int sigaction(int sig, const struct sigaction *restrict act,
			struct sigaction *restrict old)
{
	if (lt_unlikely(not_ready(&lt_self)) && !lt_real.sigaction) {
		errno = ENOSYS;
		return -1;
	}
	return lt_sigaction(sig, act, old);
}

/* glibc's signal() has BSD semantics and calls its own sigaction inside,
 * past this shim: rebuild it on the wrapper above. */
LT_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act, old;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (sig > 0 && sig < NSIG)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = SA_RESTART;
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* ---- modules ---------------------------------------------------------------- */

LT_EXPORT void *dlopen(const char *file, int mode)
{
	struct lt_thread *t = &lt_self;
	void *h;

	if (!REAL(dlopen))
		return NULL;
	h = lt_real.dlopen(file, mode);

	if (h && recording(t)) {
		t->guard++;
		lt_modules_refresh(false);
		t->guard--;
	}
	return h;
}

LT_EXPORT int dlclose(void *handle)
{
	struct lt_thread *t = &lt_self;
	int rc;

	if (!REAL(dlclose))
		return -1;
	rc = lt_real.dlclose(handle);

	if (rc == 0 && recording(t)) {
		t->guard++;
		lt_modules_refresh(false);
		t->guard--;
	}
	return rc;
}
