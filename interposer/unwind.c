/*
 * The one file that includes libunwind.h: captures the caller's stack as
 * return addresses.  unw_backtrace with libunwind's per-thread cache is the
 * fast path; it must not call malloc (the recursion guard catches it if a
 * libunwind version does).
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "shim.h"

/*
 * unw_backtrace's fast path keeps a frame cache per thread, which libunwind
 * maps and fills on the thread's first call: about 256 KiB, whatever the
 * caching policy (256 threads that each call it once: 3.3 MB resident
 * without the call, 70 MB with it).  So at most FAST_THREADS threads at a
 * time use it, 8 MiB, a quarter of what the resident-set target lets the
 * shim add; the others step frame by frame, quietly (one signal-mask
 * change for the walk), which maps nothing.  The frames are the same:
 * unw_backtrace steps the same way where its cache cannot help.  Stepping
 * is slow, every step looking up its code's unwind table (with every
 * thread stepping: the bench's CPython job +55% -> +86%, cppcheck +287% ->
 * +2239%), but a stack is unwound only when the stack cache misses, so a
 * thread that keeps running the same code steps rarely.  (128 threads
 * each running 256 call paths, tests/shim/threadpaths.c: 8 MiB less
 * resident with 32 than with 64.  Such a program of 48 threads making
 * 100,000 allocations each ran +171% with 64 and +224% with 32, until the
 * stack cache judged thrashing sooner; then +171%, heaptrack +1254%.)
 *
 * The target's allowance grows with the program (1.2 times untraced), and
 * so may the fast path: one thread more for every FAST_RSS_KIB the process
 * has held, a sixteenth of it in frame caches.  A thread that steps asks
 * again every FAST_RETRY stepped unwinds, so that threads started before
 * the program grew get there too.
 */
#define FAST_THREADS     32u
#define FAST_THREADS_MAX 256u
#define FAST_RSS_KIB     (4u << 10)
#define FAST_RETRY       256u

static _Atomic uint32_t fast_threads;
/* 0 undecided, 1 fast, 2 stepping, 3 stepping to the thread's end */
static __thread uint8_t unwind_mode;
static __thread uint32_t stepped;       /* since the thread last asked */

/* How many threads may be on the fast path, by the peak resident set so
 * far (a system call: asked for only past FAST_THREADS). */
static uint32_t fast_cap(void)
{
	struct rusage ru;
	uint64_t n;

	if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss <= 0)
		return FAST_THREADS;
	n = (uint64_t)ru.ru_maxrss / FAST_RSS_KIB;
	return n < FAST_THREADS ? FAST_THREADS : n > FAST_THREADS_MAX ? FAST_THREADS_MAX :
	       (uint32_t)n;
}

static bool fast_place(void)
{
	return lt_place_take(&fast_threads, FAST_THREADS) ||
	       lt_place_take(&fast_threads, fast_cap());
}

/*
 * A fork while another thread is inside libunwind leaves the child with
 * libunwind's global lock taken by a thread that does not exist there, and
 * the child's first unwind waits forever (tests/stress/fork_stress: its
 * first child, in unw_backtrace, about one run in a few hundred).  Every
 * unwind counts itself in; fork announces itself, waits until none is
 * under way, and holds new ones back until it returns.  Either the
 * unwinder sees the announcement or fork sees the count (both sequentially
 * consistent).  The wait is bounded: a signal handler that forks may have
 * interrupted an unwind on its own thread.
 */
static _Atomic unsigned unwinders;
static _Atomic bool forking;

#define FORK_WAIT_NS (100u * 1000 * 1000)

/*
 * Returns errno, which unwind_leave() puts back: libunwind's memory checks
 * leave EAGAIN there (an empty pipe read), and a successful malloc must
 * not change what the program's last failing call said
 * (tests/faults: errno).
 */
static int unwind_enter(void)
{
	int saved = errno;

	for (;;) {
		while (atomic_load_explicit(&forking, memory_order_acquire))
			sched_yield();
		atomic_fetch_add(&unwinders, 1);
		if (!atomic_load(&forking))
			return saved;
		atomic_fetch_sub(&unwinders, 1);
	}
}

static void unwind_leave(int saved)
{
	atomic_fetch_sub_explicit(&unwinders, 1, memory_order_release);
	errno = saved;
}

void lt_unwind_fork_prepare(void)
{
	uint64_t deadline = lt_mono_ns() + FORK_WAIT_NS;

	atomic_store(&forking, true);
	while (atomic_load(&unwinders) && lt_mono_ns() < deadline)
		sched_yield();
}

void lt_unwind_fork_parent(void)
{
	atomic_store_explicit(&forking, false, memory_order_release);
}

void lt_unwind_fork_child(void)
{
	/* Only the forking thread lives on, and it was not unwinding. */
	atomic_store(&unwinders, 0);
	atomic_store(&fast_threads, unwind_mode == 1 ? 1u : 0u);
	atomic_store_explicit(&forking, false, memory_order_release);
}

/* Whether code at addr belongs to libunwind itself. */
bool lt_unwind_owns(const void *addr)
{
	Dl_info mine, theirs;

	return dladdr((const void *)unw_backtrace, &mine) && dladdr(addr, &theirs) &&
	       mine.dli_fbase == theirs.dli_fbase;
}

/* ---- libunwind's memory checks ------------------------------------------ */

/*
 * Debian builds libunwind with conservative checks: a step checks every
 * word it reads, and a page that is not among the last four checked (in
 * the whole process) costs three system calls: mincore, a read of an
 * empty pipe and a write of the word to it.  A stack deeper than four
 * pages misses on every page of every walk: traced clang -O2 made 62,800
 * checks, 188,000 system calls, a fifth of its overhead.  A page between
 * the stack pointer and the end of the thread's own stack is mapped and
 * readable, so the shim answers the check for such a page itself: it
 * points libunwind's own calls of mincore, read and syscall (its PLT
 * slots, not the program's) here, and a mincore of such a page is answered
 * without a system call, and so are the pipe read and write that follow
 * it.  Anything else goes on to libc as before.  The stack's bounds come
 * from what glibc was asked for, not pthread_getattr_np(), which
 * allocates: the shim's own calls must not reach the allocator.  (A page
 * the program itself made unreadable inside its thread's stack would be
 * answered readable: mincore cannot tell, the pipe write would have.
 * glibc makes none; a guard below a given stack is never answered for.)
 */
static __thread uint64_t own_lo, own_hi;       /* the thread's stack, or 0 */
static __thread uint8_t answered;              /* 2: the pipe read is next, 1: the write */
static _Atomic int check_pipe[2] = { -1, -1 };

/* own_lo lies this far above the lowest the stack is reckoned to reach:
 * what glibc keeps at the top of a thread's block, and rounding, cannot
 * put it below the stack.  Calls from the last 64 KiB are not answered. */
#define OWN_MARGIN (64u << 10)

/* Where the main thread's stack started: ld.so's. */
extern void *__libc_stack_end;

/* The main thread's stack: the kernel grows it down to its limit from
 * where it started, one mapping.  Called on it. */
void lt_unwind_main_stack(void)
{
	struct rlimit rl;
	uint64_t hi = ((uint64_t)(uintptr_t)__libc_stack_end | 4095) + 1;
	uint64_t span = 64u << 20;

	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < span)
		span = rl.rlim_cur;
	if (span > OWN_MARGIN && hi > span) {
		own_lo = hi - span + OWN_MARGIN;
		own_hi = hi;
	}
}

/*
 * glibc maps a thread's whole block at once: the stack size asked for and
 * the guard below it, and the thread's descriptor and static TLS at the
 * top.  So the block reaches from the descriptor down by at least the size
 * less a few KiB, which the margin covers; the guard is taken off as well,
 * for glibcs that carved it out of the size.  A stack the program gave
 * (pthread_attr_setstack, or setstackaddr, whose size is not the
 * buffer's) is never answered for.  Reads glibc's default size without
 * pthread_getattr_default_np(), which copies (allocates) a default cpuset.
 */
uint32_t lt_unwind_stack_pages(const pthread_attr_t *attr)
{
	pthread_attr_t dflt;
	size_t size = 0, guard = 0;
	void *given = NULL;

	if (!attr) {
		if (pthread_attr_init(&dflt) != 0)
			return 0;
		pthread_attr_getstacksize(&dflt, &size);   /* glibc's default */
		pthread_attr_getguardsize(&dflt, &guard);
		pthread_attr_destroy(&dflt);
	} else {
		/* A given stack's lowest address, a user-space one; for a stack
		 * not given glibc answers 0 or 0 less the size. */
		if (pthread_attr_getstack(attr, &given, &size) != 0 ||
		    (given && (intptr_t)given > 0))
			return 0;
		pthread_attr_getstacksize(attr, &size);
		pthread_attr_getguardsize(attr, &guard);
	}
	uint64_t pages = size > guard ? (size - guard) >> 12 : 0;

	return pages > UINT32_MAX ? 0 : (uint32_t)pages;
}

/* A thread the shim started, on its own stack, usable bytes of it below
 * stack_top (its descriptor).  Called on the thread; nothing is answered
 * where stack_top is not known. */
void lt_unwind_thread_stack(uint64_t stack_top, uint64_t usable)
{
	if (stack_top && usable > 2 * OWN_MARGIN && stack_top > usable) {
		own_lo = stack_top - usable + OWN_MARGIN;
		own_hi = stack_top;
	}
}

/* libunwind made its pipe (hooks.c: pipe2). */
void lt_unwind_pipe(const int fds[2])
{
	atomic_store_explicit(&check_pipe[0], fds[0], memory_order_relaxed);
	atomic_store_explicit(&check_pipe[1], fds[1], memory_order_relaxed);
}

static int check_mincore(void *addr, size_t len, unsigned char *vec)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;
	uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0) & ~(uint64_t)4095;

	if (sp >= own_lo && sp < own_hi && a >= sp && a < own_hi && len && len <= own_hi - a &&
	    atomic_load_explicit(&check_pipe[1], memory_order_relaxed) >= 0) {
		memset(vec, 1, (len + 4095) / 4096);
		answered = 2;
		return 0;
	}
	answered = 0;
	return lt_real.mincore(addr, len, vec);
}

static ssize_t check_read(int fd, void *buf, size_t n)
{
	if (answered == 2 && fd == atomic_load_explicit(&check_pipe[0], memory_order_relaxed)) {
		answered = 1;
		errno = EAGAIN;         /* the pipe is empty */
		return -1;
	}
	answered = 0;
	return lt_real.read(fd, buf, n);
}

/* As glibc's syscall: six words of arguments, whatever the call takes. */
static long check_syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (answered == 1 && nr == SYS_write &&
	    a[0] == atomic_load_explicit(&check_pipe[1], memory_order_relaxed)) {
		answered = 0;
		return 1;               /* the word was readable */
	}
	answered = 0;
	return lt_real.syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static const struct {
	const char *name;
	void *fn;
} checks[] = {
	{ "mincore", (void *)check_mincore },
	{ "read", (void *)check_read },
	{ "syscall", (void *)check_syscall },
};

/* The in-memory dynamic section holds addresses (glibc relocates it) or,
 * elsewhere, offsets from the object's base. */
static uintptr_t dyn_addr(uintptr_t base, uintptr_t v)
{
	return v && v < base ? base + v : v;
}

/* For the object that defines unw_backtrace (arg): its PLT slots of the
 * three calls above point at the shim's, unless they are read-only after
 * relocation (RELRO with immediate binding), when nothing changes. */
static int point_checks(struct dl_phdr_info *info, size_t size, void *arg)
{
	const ElfW(Phdr) *dyn = NULL, *relro = NULL;
	uintptr_t base = info->dlpi_addr, want = (uintptr_t)arg;
	uintptr_t jmprel = 0, symtab = 0, strtab = 0;
	size_t pltrelsz = 0;
	bool mine = false;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && want - (base + ph->p_vaddr) < ph->p_memsz)
			mine = true;
		else if (ph->p_type == PT_DYNAMIC)
			dyn = ph;
		else if (ph->p_type == PT_GNU_RELRO)
			relro = ph;
	}
	if (!mine)
		return 0;
	/* A program with its own copy of libunwind inside: leave it alone. */
	if (!dyn || !info->dlpi_name || !strstr(info->dlpi_name, "libunwind"))
		return 1;
	for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)(base + dyn->p_vaddr); d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_PLTREL && d->d_un.d_val != DT_RELA)
			return 1;
		if (d->d_tag == DT_JMPREL)
			jmprel = dyn_addr(base, d->d_un.d_ptr);
		else if (d->d_tag == DT_PLTRELSZ)
			pltrelsz = d->d_un.d_val;
		else if (d->d_tag == DT_SYMTAB)
			symtab = dyn_addr(base, d->d_un.d_ptr);
		else if (d->d_tag == DT_STRTAB)
			strtab = dyn_addr(base, d->d_un.d_ptr);
	}
	if (!jmprel || !symtab || !strtab)
		return 1;
	for (size_t k = 0; k < pltrelsz / sizeof(ElfW(Rela)); k++) {
		const ElfW(Rela) *r = (const ElfW(Rela) *)jmprel + k;
		uintptr_t slot = base + r->r_offset;

		if (ELF64_R_TYPE(r->r_info) != R_X86_64_JUMP_SLOT ||
		    (relro && slot - (base + relro->p_vaddr) < relro->p_memsz))
			continue;
		const char *name = (const char *)strtab +
				   ((const ElfW(Sym) *)symtab)[ELF64_R_SYM(r->r_info)].st_name;

		for (size_t c = 0; c < sizeof(checks) / sizeof(checks[0]); c++)
			if (!strcmp(name, checks[c].name))
				__atomic_store_n((void **)slot, checks[c].fn, __ATOMIC_RELEASE);
	}
	return 1;
}

/* Debian's libunwind 1.6 is built without __thread and turns this into
 * UNW_CACHE_GLOBAL: every unw_step then takes a mutex inside a sigprocmask
 * pair, and most steps two more pairs (its memory pool, dl_iterate_phdr).
 * The stack cache steps as little as it can for that reason, and its
 * learning walks are quiet (below). */
void lt_unwind_init(void)
{
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	if (lt_real.mincore && lt_real.read && lt_real.syscall)
		dl_iterate_phdr(point_checks, (void *)(uintptr_t)unw_backtrace);
}

/*
 * A quiet walk blocks every signal once, for the whole walk, where
 * libunwind would block and restore them around each lock it takes: a
 * learning walk of 19 sigprocmask calls on average (clang -O2, 10,500
 * walks) becomes 2.  While a thread is quiet nothing but the walk runs on
 * it, no handler can, and every mask change libunwind asks for would leave
 * the mask as it is (all blocked): sigprocmask answers them without a
 * system call.  Everyone else's sigprocmask is glibc's (pthread_sigmask,
 * which sigprocmask is in glibc since 2.32).
 */
static __thread bool quiet;
static __thread unsigned quiet_depth;
static __thread sigset_t quiet_saved;

void lt_unwind_quiet_begin(void)
{
	sigset_t all;

	sigfillset(&all);
	if (quiet_depth++ == 0 && pthread_sigmask(SIG_SETMASK, &all, &quiet_saved) == 0)
		quiet = true;
}

void lt_unwind_quiet_end(void)
{
	if (--quiet_depth == 0 && quiet) {
		quiet = false;
		pthread_sigmask(SIG_SETMASK, &quiet_saved, NULL);
	}
}

LT_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int rc;

	if (quiet) {
		if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK && set) {
			errno = EINVAL;
			return -1;
		}
		if (old)
			sigfillset(old);
		return 0;
	}
	rc = pthread_sigmask(how, set, old);
	if (rc) {
		errno = rc;
		return -1;
	}
	return 0;
}

/* unw_backtrace's walk without its cache.  Not inlined: its own frame
 * stands where unw_backtrace's would, so callers skip the same frames. */
static __attribute__((noinline)) int step_backtrace(void **raw, int max)
{
	unw_cursor_t cursor;
	unw_context_t here;
	int n = 0;

	lt_unwind_quiet_begin();
	unw_getcontext(&here);
	if (unw_init_local(&cursor, &here) >= 0) {
		do {
			unw_word_t ip;

			if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || !ip)
				break;
			raw[n++] = (void *)(uintptr_t)ip;
		} while (n < max && unw_step(&cursor) > 0);
	}
	lt_unwind_quiet_end();
	return n;
}

static inline int backtrace_raw(void **raw, int max)
{
	if (lt_unlikely(unwind_mode != 1)) {
		if (unwind_mode == 0 || (unwind_mode == 2 && ++stepped == FAST_RETRY)) {
			stepped = 0;
			unwind_mode = fast_place() ? 1 : 2;
		}
		if (unwind_mode != 1)
			return step_backtrace(raw, max);
	}
	return unw_backtrace(raw, max);
}

/* The thread is ending: its place on the fast path goes to another (and
 * anything it still unwinds steps). */
void lt_unwind_thread_exit(void)
{
	if (unwind_mode == 1)
		atomic_fetch_sub(&fast_threads, 1);
	unwind_mode = 3;
}

/* The frames from ret up, or 0 when ret is not among the first few return
 * addresses libunwind found (the wrapper was reshaped by the compiler). */
uint32_t lt_unwind_exact(void *ret, uint64_t *frames, uint32_t max)
{
	void *raw[LT_MAX_DEPTH + 8];

	int saved = unwind_enter();
	int n = backtrace_raw(raw, (int)(max + 8));
	unwind_leave(saved);

	/* Skip the shim's own frames: start at the intercepted call's return
	 * address, which the wrapper passed in. */
	for (int i = 0; i < n && i < 8; i++) {
		if (raw[i] != ret)
			continue;
		uint32_t count = 0;
		for (int j = i; j < n && count < max; j++)
			frames[count++] = (uint64_t)(uintptr_t)raw[j];
		return count;
	}
	return 0;
}

uint32_t lt_unwind(void *ret, uint64_t *frames, uint32_t max)
{
	uint32_t n = lt_unwind_exact(ret, frames, max);

	if (n || max < 2)
		return n;
	/* The compiler reshaped the wrapper: fall back to the usual depth of
	 * wrapper -> lt_capture -> lt_unwind, with ret in front. */
	void *raw[LT_MAX_DEPTH + 8];

	int saved = unwind_enter();
	int got = backtrace_raw(raw, (int)(max + 8));
	unwind_leave(saved);
	uint32_t count = 1;

	frames[0] = (uint64_t)(uintptr_t)ret;
	for (int i = 4; i < got && count < max; i++)
		frames[count++] = (uint64_t)(uintptr_t)raw[i];
	return count;
}

/*
 * The stack of the current thread from a signal handler's ucontext (the
 * interrupted instruction first), or from the caller when uc is NULL.
 * Slower than lt_unwind; for live stacks, never on the per-event path.
 */
uint32_t lt_unwind_context(void *uc, uint64_t *frames, uint32_t max)
{
	unw_cursor_t cursor;
	unw_context_t here;
	uint32_t n = 0;
	int rc;

	int saved = unwind_enter();
	if (uc) {
		rc = unw_init_local2(&cursor, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME);
	} else {
		unw_getcontext(&here);
		rc = unw_init_local(&cursor, &here);
	}
	if (rc >= 0) {
		do {
			unw_word_t ip;

			if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || !ip)
				break;
			frames[n++] = ip;
		} while (n < max && unw_step(&cursor) > 0);
	}
	unwind_leave(saved);
	return n;
}

uint32_t lt_unwind_slots(void *ret, uint64_t *frames, uint64_t *slots,
			 uint64_t *fp, uint64_t *fp_at, uint64_t *signal_frames,
			 uint32_t max)
{
	unw_cursor_t cursor;
	unw_context_t here;
	uint32_t n = 0;
	int skipped = 0;

	*signal_frames = 0;
	int saved = unwind_enter();
	unw_getcontext(&here);
	if (unw_init_local(&cursor, &here) < 0)
		goto out;
	/* Step over the shim's own frames to the one that returns to ret. */
	for (;;) {
		unw_word_t ip;

		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || skipped++ > 8)
			goto out;
		if (ip == (unw_word_t)(uintptr_t)ret)
			break;
		if (unw_step(&cursor) <= 0)
			goto out;
	}
	do {
		unw_word_t ip, rbp;
		unw_save_loc_t at, fp_loc;

		/* The slot is where ip was read from: the word the call pushed.
		 * (Not the stack pointer less 8: where a frame without unwind
		 * information was stepped over through its frame pointer,
		 * unw_step's stack pointer is the previous one plus 16,
		 * whatever the frame's size.)  Local unwinding keeps every
		 * register in memory: a callee's save slot, or the context
		 * unw_getcontext filled in here. */
		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || !ip ||
		    unw_get_save_loc(&cursor, UNW_X86_64_RIP, &at) < 0 ||
		    at.type != UNW_SLT_MEMORY)
			break;
		if (n < 64 && unw_is_signal_frame(&cursor) > 0)
			*signal_frames |= 1ull << n;
		frames[n] = ip;
		slots[n] = at.u.addr;
		fp[n] = unw_get_reg(&cursor, UNW_X86_64_RBP, &rbp) == 0 ? rbp : 0;
		fp_at[n] = unw_get_save_loc(&cursor, UNW_X86_64_RBP, &fp_loc) == 0 &&
			   fp_loc.type == UNW_SLT_MEMORY ? fp_loc.u.addr : 0;
		n++;
	} while (n < max && unw_step(&cursor) > 0);
out:
	unwind_leave(saved);
	return n;
}
