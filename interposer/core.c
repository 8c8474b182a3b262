/*
 * The shim's life cycle and recording: start-up, per-thread state, the
 * records for each event, thread exit, fork, exec, the end of the process
 * (exit, _exit, a fatal signal) and snapshots.  Never exits, never blocks
 * the host for long, never lets a failure reach the program: lt_disable()
 * turns recording off and the wrappers keep forwarding.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "shim.h"

_Atomic int lt_state = LT_UNINIT;
__thread struct lt_thread lt_self __attribute__((tls_model("initial-exec")));

/* Records written by a thread past its exit go out one chunk at a time. */
static __thread uint8_t direct_scratch[sizeof(struct lt_rec_stack) +
				       LT_MAX_DEPTH * 8 + 64]
	__attribute__((tls_model("initial-exec"), aligned(8)));

static _Atomic uint32_t next_serial = 2;   /* 1 is the main thread */
static pthread_key_t exit_key;
static pid_t traced_pid;
static uint32_t process_seq;               /* chunks of stream 0 */
static _Atomic uint32_t snapshots;

/* ---- start-up ----------------------------------------------------------- */

int lt_clock_kind = LT_CLOCK_MONOTONIC;

void lt_clock_init(void)
{
#if defined(__x86_64__)
	char src[32] = "";
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		      O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, src, sizeof(src) - 1);

		src[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	/* The kernel only keeps "tsc" when the TSC is invariant and in step
	 * across CPUs, which is what ordering events across threads needs. */
	if (!strncmp(src, "tsc\n", 4))
		lt_clock_kind = LT_CLOCK_TSC;
#endif
}

/* LIBTRACE_FOLLOW=0: children must not inherit the preload.  Edits the
 * environment string in place; no allocation. */
static void drop_preload_from_env(void)
{
	extern char **environ;

	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "LD_PRELOAD=", 11))
			continue;
		char *src = *e + 11, *dst = src;
		while (*src) {
			size_t len = strcspn(src, ": ");
			const char *base = memrchr(src, '/', len);

			base = base ? base + 1 : src;
			if (strncmp(base, "libtrace", 8)) {
				if (dst != *e + 11)
					*dst++ = ':';
				memmove(dst, src, len);
				dst += len;
			}
			src += len;
			while (*src == ':' || *src == ' ')
				src++;
		}
		*dst = '\0';
	}
}

static void thread_exit_dtor(void *unused);
static void install_signal_handlers(void);

static void start_main_thread(void)
{
	lt_thread_begin(&lt_self, 1);
}

void lt_init(void)
{
	int expected = LT_UNINIT;

	if (!atomic_compare_exchange_strong(&lt_state, &expected, LT_STARTING)) {
		/* Another thread is starting the shim: wait for it, briefly. */
		while (atomic_load(&lt_state) == LT_STARTING && !lt_self.starting)
			sched_yield();
		return;
	}
	lt_self.starting = 1;
	if (lt_real_resolve() < 0) {
		atomic_store(&lt_state, LT_OFF);
		return;
	}
	lt_real_check_chunks();
	if (getauxval(AT_SECURE)) {     /* set-uid or set-gid: hands off */
		atomic_store(&lt_state, LT_OFF);
		return;
	}
	lt_options_load();
	if (!lt_opt.follow)
		drop_preload_from_env();
	lt_clock_init();
	lt_unwind_init();
	traced_pid = getpid();
	if (lt_stacks_init() < 0 || pthread_key_create(&exit_key, thread_exit_dtor)) {
		lt_log("cannot set up (out of memory); tracing disabled", "", "");
		atomic_store(&lt_state, LT_OFF);
		return;
	}
	lt_self.serial = 1;
	lt_sampled_init();
	if (lt_writer_open(0, NULL) < 0) {
		atomic_store(&lt_state, LT_OFF);
		return;
	}
	lt_unwind_main_stack();
	atomic_store(&lt_state, LT_ACTIVE);
	start_main_thread();
	lt_modules_refresh(true);
	install_signal_handlers();
	lt_self.starting = 0;
}

__attribute__((constructor)) static void lt_constructor(void)
{
	if (atomic_load(&lt_state) == LT_UNINIT)
		lt_init();
}

__attribute__((destructor)) static void lt_destructor(void)
{
	lt_finish(LT_END_EXIT, 0);
}

void lt_disable(const char *reason, const char *detail)
{
	int s = atomic_exchange(&lt_state, LT_OFF);

	if (s != LT_OFF)
		lt_log(reason, detail, "; tracing disabled, the program runs on");
}

/* ---- recording ------------------------------------------------------------ */

void *lt_reserve_slow(struct lt_thread *t, size_t len, bool aligned)
{
	if (lt_unlikely(!t->buf)) {
		if (t->exited) {
			lt_assert(len <= sizeof(direct_scratch));
			return direct_scratch;
		}
		lt_thread_begin(t, 0);
		if (!t->buf)
			return NULL;
	}
	struct lt_buf *b = t->buf;
	uint32_t head = atomic_load_explicit(&b->head, memory_order_relaxed);
	uint32_t at = aligned ? lt_align8(head) : head;

	if (lt_unlikely(at + len > b->limit)) {
		lt_buf_flush(b, true);   /* rewinds head, and the coded state */
		lt_buf_filled(b);
		head = at = 0;
	}
	memset(b->data + head, 0, at - head);
	return b->data + at;
}

/* Past the thread's exit: write through, and hand the counts over now,
 * since this thread's TLS dies with it. */
void lt_commit_direct(struct lt_thread *t, size_t len)
{
	lt_writer_direct(t->serial, &t->direct_seq, direct_scratch, len);
	lt_writer_add_retired(&t->direct_counts);
	memset(&t->direct_counts, 0, sizeof(t->direct_counts));
}

LT_NOINLINE uint32_t lt_capture_depth(struct lt_thread *t, void *ret, uint32_t depth)
{
	uint64_t frames[LT_MAX_DEPTH];
	uint32_t n;

	(void)t;
	if (depth > lt_opt.depth)
		depth = lt_opt.depth;
	if (!depth)
		return LT_STACK_NONE;
	if (depth == 1) {
		/* The call site alone needs no unwinding. */
		frames[0] = (uint64_t)(uintptr_t)ret;
		n = 1;
	} else {
		n = lt_unwind(ret, frames, depth);
	}
	if (!n)
		return LT_STACK_NONE;
	return lt_stacks_intern(frames, n);
}

static uint64_t next_random(struct lt_thread *t)
{
	if (!t->rng)
		t->rng = lt_ticks() ^ ((uint64_t)t->serial << 32) ^ 0x9e3779b97f4a7c15ull;
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dull;
}

/* Poisson sampling by bytes, as jemalloc and Go do: the distance to the
 * next sampled byte is exponential with the configured mean. */
static void sample_draw(struct lt_thread *t)
{
	double u = (double)((next_random(t) >> 11) + 1) / 9007199254740993.0;
	t->sample_left = (int64_t)(-__builtin_log(u) * (double)lt_opt.sample) + 1;
}

bool lt_sample_next(struct lt_thread *t)
{
	sample_draw(t);
	return true;
}

/* ---- threads -------------------------------------------------------------- */

uint32_t lt_thread_new_serial(void)
{
	return atomic_fetch_add(&next_serial, 1);
}

void lt_thread_begin(struct lt_thread *t, uint32_t serial)
{
	if (t->buf || atomic_load(&lt_state) != LT_ACTIVE)
		return;
	if (!serial)
		serial = t->serial ? t->serial : lt_thread_new_serial();
	t->serial = serial;
	t->buf = lt_buf_acquire(serial);
	if (!t->buf) {
		lt_disable("out of memory for a thread buffer", "");
		return;
	}
	pthread_setspecific(exit_key, (void *)1);
	/* The first distance is drawn too: starting at 0 would record every
	 * thread's first allocation, at a weight of up to the whole interval. */
	if (lt_opt.sample && t->sample_left == 0)
		sample_draw(t);

	struct lt_rec_thread_start *r = lt_reserve(t, sizeof(*r));
	r->head = (struct lt_rec_head){ LT_REC_THREAD_START, 0, sizeof(*r), (uint32_t)gettid() };
	r->ticks = lt_ticks();
	r->pthread = (uint64_t)pthread_self();
	lt_commit(t, sizeof(*r));
}

static void emit_lost(struct lt_thread *t)
{
	struct lt_counts *c = lt_counts_of(t);
	uint64_t now[3] = { c->lost_allocs, c->lost_frees, c->lost_bytes };

	if (now[0] == t->lost_said[0] && now[1] == t->lost_said[1])
		return;
	struct lt_rec_lost *r = lt_reserve(t, sizeof(*r));
	if (!r)
		return;
	r->head = (struct lt_rec_head){ LT_REC_LOST, 0, sizeof(*r), 0 };
	r->ticks = lt_ticks();
	r->allocs = now[0] - t->lost_said[0];
	r->frees = now[1] - t->lost_said[1];
	r->bytes = now[2] - t->lost_said[2];
	memcpy(t->lost_said, now, sizeof(now));
	lt_commit(t, sizeof(*r));
}

/* Runs at every thread's end, whether it returned, called pthread_exit or
 * was cancelled.  Later destructors may still free: those records go out
 * directly (lt_commit's slow branch). */
static void thread_exit_dtor(void *unused)
{
	struct lt_thread *t = &lt_self;

	(void)unused;
	if (!t->buf || t->exited || atomic_load(&lt_state) != LT_ACTIVE)
		return;
	t->guard++;
	emit_lost(t);
	struct lt_rec_thread_exit *r = lt_reserve(t, sizeof(*r));
	r->head = (struct lt_rec_head){ LT_REC_THREAD_EXIT,
		t->exit_how ? t->exit_how : LT_EXIT_CANCEL, sizeof(*r), 0 };
	r->ticks = lt_ticks();
	lt_commit(t, sizeof(*r));
	t->exited = 1;
	memset(&t->direct_counts, 0, sizeof(t->direct_counts));
	lt_buf_release(t->buf, &t->direct_seq);
	t->buf = NULL;
	lt_unwind_thread_exit();
	t->guard--;
}

/* ---- the end -------------------------------------------------------------- */

static char *fmt_count(char *end, uint64_t v)
{
	int digits = 0;

	*--end = '\0';
	do {
		if (digits && digits % 3 == 0)
			*--end = ',';
		*--end = (char)('0' + v % 10);
		v /= 10;
		digits++;
	} while (v);
	return end;
}

static void write_trailer(enum lt_end_reason why, int code)
{
	struct lt_counts c;
	struct lt_rec_trailer r = {
		.head = { LT_REC_TRAILER, (uint8_t)why, sizeof(r), (uint32_t)code },
	};

	lt_writer_sum(&c);
	r.ticks = lt_ticks();
	r.mono_ns = lt_mono_ns();
	r.allocations = c.allocs;
	r.frees = c.frees;
	r.reallocs = c.reallocs;
	r.bytes_allocated = c.bytes;
	r.threads_created = c.threads;
	r.lost_events = c.lost_allocs + c.lost_frees;
	r.stacks = lt_stacks_defined();
	r.chunks = lt_writer_chunks();
	lt_writer_direct(0, &process_seq, &r, sizeof(r));

	if (!lt_opt.quiet && why != LT_END_EXEC) {
		char line[256], num[32];
		size_t n = 0;
		const char *parts[] = {
			fmt_count(num + sizeof(num), c.allocs), " allocations, ", NULL,
			" frees, ", NULL, " threads" };

		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			char tmp[32];
			const char *s = parts[i];

			if (i == 2)
				s = fmt_count(tmp + sizeof(tmp), c.frees);
			else if (i == 4)
				s = fmt_count(tmp + sizeof(tmp), c.threads);
			while (*s && n < sizeof(line) - 1)
				line[n++] = *s++;
		}
		line[n] = '\0';
		lt_log("wrote ", lt_writer_path(), "");
		lt_log("  ", line, r.lost_events ? " (some events lost: see the report)" : "");
	}
}

static _Atomic int finished;
/* The fatal signal's context, so the crashing thread's live stack starts at
 * the faulting instruction. */
static void *end_context;

/*
 * pthread_create wrappers between the real call and their record.  A new
 * thread can end the process (exit, a fatal signal) before its creator has
 * recorded creating it; the end waits for that record, briefly (50 ms at
 * most: never a deadlock), so the dump counts the thread.
 */
static _Atomic int creates_in_flight;

void lt_create_begin(void)
{
	atomic_fetch_add(&creates_in_flight, 1);
}

void lt_create_end(void)
{
	atomic_fetch_sub(&creates_in_flight, 1);
}

static void wait_for_creates(void)
{
	struct timespec nap = { 0, 100 * 1000 };

	for (int i = 0; i < 500 && atomic_load(&creates_in_flight) > 0; i++)
		nanosleep(&nap, NULL);
}

void lt_finish(enum lt_end_reason why, int code)
{
	int expected = LT_ACTIVE;

	if (getpid() != traced_pid)   /* a vfork child borrowing our memory */
		return;
	if (atomic_load(&lt_state) == LT_ACTIVE)
		wait_for_creates();
	if (!atomic_compare_exchange_strong(&lt_state, &expected, LT_DRAINING))
		return;
	struct lt_thread *t = &lt_self;
	/* A thread interrupted inside its own recording cannot add to its
	 * buffer now; everyone else's buffer is written out as it stands. */
	if (!t->guard && t->buf) {
		emit_lost(t);
		lt_buf_flush(t->buf, true);
	}
	if (why != LT_END_EXEC)
		lt_live_stacks(0, end_context, &process_seq);
	lt_writer_flush_all();
	write_trailer(why, code);
	if (why == LT_END_EXEC) {
		atomic_store(&lt_state, LT_ACTIVE);
		return;
	}
	atomic_store(&finished, 1);
	lt_writer_close();
	atomic_store(&lt_state, LT_OFF);
}

void lt_before_exec(const char *path)
{
	struct lt_thread *t = &lt_self;

	if (atomic_load(&lt_state) != LT_ACTIVE || getpid() != traced_pid)
		return;
	size_t plen = strnlen(path ? path : "", 4000);
	size_t len = (sizeof(struct lt_rec_exec) + plen + 1 + 7) & ~(size_t)7;
	t->guard++;
	struct lt_rec_exec *r = lt_reserve(t, len);
	if (r) {
		memset(r, 0, len);
		r->head = (struct lt_rec_head){ LT_REC_EXEC, 0, (uint16_t)len, 0 };
		r->ticks = lt_ticks();
		memcpy(r + 1, path, plen);
		lt_commit(t, len);
	}
	t->guard--;
	lt_finish(LT_END_EXEC, 0);
}

void lt_after_exec_failed(void)
{
	/* Nothing to undo: the trailer just written is superseded by the
	 * records that follow it, and by the final one. */
}

/* ---- fork ----------------------------------------------------------------- */

void lt_fork_parent(pid_t child)
{
	struct lt_thread *t = &lt_self;

	t->guard++;
	struct lt_rec_fork *r = lt_reserve(t, sizeof(*r));
	if (r) {
		r->head = (struct lt_rec_head){ LT_REC_FORK, 0, sizeof(*r), (uint32_t)child };
		r->ticks = lt_ticks();
		lt_commit(t, sizeof(*r));
	}
	t->guard--;
}

void lt_fork_child(void)
{
	char parent[1024];
	struct lt_thread *t = &lt_self;

	traced_pid = getpid();
	atomic_store(&creates_in_flight, 0);   /* the parent's, not ours */
	lt_arena_after_fork();
	lt_modules_after_fork();
	lt_live_after_fork();
	strncpy(parent, lt_writer_path(), sizeof(parent) - 1);
	parent[sizeof(parent) - 1] = '\0';
	lt_writer_after_fork(t->buf);
	if (!lt_opt.follow) {
		atomic_store(&lt_state, LT_OFF);
		return;
	}
	lt_stacks_new_dump();
	lt_stack_cache_new_dump();
	t->guard++;
	struct lt_buf *keep = t->buf;
	if (lt_writer_open(LT_HDR_FORKED, parent) < 0) {
		atomic_store(&lt_state, LT_OFF);
		t->guard--;
		return;
	}
	/* The forking thread goes on as the child's main thread, same serial. */
	if (keep) {
		struct lt_rec_thread_start *r = lt_reserve(t, sizeof(*r));
		r->head = (struct lt_rec_head){ LT_REC_THREAD_START, 0, sizeof(*r), (uint32_t)gettid() };
		r->ticks = lt_ticks();
		r->pthread = (uint64_t)pthread_self();
		lt_commit(t, sizeof(*r));
	}
	lt_modules_refresh(true);
	t->guard--;
}

/* ---- signals -------------------------------------------------------------- */

static const int fatal_signals[] = {
	SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS,
	SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGXCPU, SIGXFSZ,
	SIGALRM, SIGUSR1, SIGUSR2,
};

static void on_fatal_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)si;
	end_context = uc;
	lt_finish(LT_END_SIGNAL, sig);
	/* SA_RESETHAND put the default action back; the signal stays blocked
	 * until we return, then kills the process as it would have. */
	raise(sig);
	errno = saved;
}

static void on_snapshot_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)sig;
	(void)si;
	lt_snapshot(uc);
	errno = saved;
}

void lt_snapshot(void *uc)
{
	struct lt_thread *t = &lt_self;

	if (atomic_load(&lt_state) != LT_ACTIVE)
		return;
	uint32_t number = atomic_fetch_add(&snapshots, 1) + 1;
	struct lt_rec_snapshot r = {
		.head = { LT_REC_SNAPSHOT, 0, sizeof(r), number },
		.ticks = lt_ticks(),
	};
	lt_live_stacks(number, uc, &process_seq);
	/* Our own buffer only when the signal did not land inside it. */
	if (!t->guard && t->buf)
		lt_buf_flush(t->buf, true);
	lt_writer_flush_all();
	lt_writer_direct(0, &process_seq, &r, sizeof(r));
}

/* Signals where the shim's handler stands in for the default action. */
static _Atomic uint8_t stands_in[NSIG];

static bool covered(int sig)
{
	if (sig <= 0 || sig >= NSIG || sig == lt_opt.snapshot_signal)
		return false;
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		if (fatal_signals[i] == sig)
			return true;
	return false;
}

static int stand_in(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	int rc = lt_real.sigaction(sig, &sa, NULL);
	if (rc == 0)
		atomic_store(&stands_in[sig], 1);
	return rc;
}

int lt_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!covered(sig) || !lt_real.sigaction)
		return lt_real.sigaction(sig, act, old);

	struct sigaction prev;
	int rc = lt_real.sigaction(sig, NULL, &prev);
	if (rc)
		return rc;
	if (atomic_load(&stands_in[sig]) && (prev.sa_flags & SA_SIGINFO) &&
	    prev.sa_sigaction == on_fatal_signal) {
		memset(&prev, 0, sizeof(prev));
		prev.sa_handler = SIG_DFL;
	}
	if (act) {
		bool to_default = act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO);

		if (to_default && atomic_load(&lt_state) == LT_ACTIVE)
			rc = stand_in(sig);
		else {
			atomic_store(&stands_in[sig], 0);
			rc = lt_real.sigaction(sig, act, NULL);
		}
	}
	if (!rc && old)
		*old = prev;
	return rc;
}

static void install_signal_handlers(void)
{
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction old;
		int sig = fatal_signals[i];

		/* Only where the program left the default: its own handlers and
		 * ignored signals are never touched. */
		if (!covered(sig) || lt_real.sigaction(sig, NULL, &old) ||
		    old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
			continue;
		stand_in(sig);
	}
	if (lt_opt.snapshot_signal) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_snapshot_signal;
		sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		lt_real.sigaction(lt_opt.snapshot_signal, &sa, NULL);
	}
}
