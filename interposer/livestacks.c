/*
 * Live stacks: what every thread is doing at a snapshot or at the end of
 * the process (the goroutine profile for C).  Each thread is asked with a
 * signal to unwind itself into a slot of its own buffer; the asking thread
 * writes the records.  Bounded in time: a thread that does not answer (it
 * blocks the signal, or is stopped) is written as unavailable, never waited
 * for.  Never uses a signal the program handles itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define LIVE_SIGNAL (SIGRTMAX - 7)
#define LIVE_WAIT_NS (200u * 1000 * 1000)   /* for all threads together */

static _Atomic uint32_t live_gen;
static atomic_flag live_busy = ATOMIC_FLAG_INIT;

static void on_live_signal(int sig, siginfo_t *si, void *uc)
{
	struct lt_buf *b = lt_self.buf;
	int saved = errno;

	(void)sig;
	(void)si;
	if (b) {
		uint32_t gen = atomic_load(&b->live_ask);

		if (gen && atomic_load(&b->live_done) != gen) {
			b->live_n = lt_unwind_context(uc, b->live_frames, LT_LIVE_DEPTH);
			atomic_store_explicit(&b->live_done, gen, memory_order_release);
		}
	}
	errno = saved;
}

/* Our handler on LIVE_SIGNAL, unless the program has one there. */
static bool claim_signal(void)
{
	struct sigaction old, sa;

	if (lt_real.sigaction(LIVE_SIGNAL, NULL, &old))
		return false;
	if (old.sa_flags & SA_SIGINFO)
		return old.sa_sigaction == on_live_signal;
	if (old.sa_handler != SIG_DFL)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_live_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	return lt_real.sigaction(LIVE_SIGNAL, &sa, NULL) == 0;
}

/*
 * Whether thread tid blocks sig now (SigBlk in /proc/self/task/TID/status).
 * Such a thread cannot answer: it is written as unavailable at once instead
 * of being waited for (xz, for one, blocks every signal in its workers).
 * false when it cannot tell.
 */
static bool blocks_signal(pid_t tid, int sig)
{
	char path[64] = "/proc/self/task/", num[24], buf[2048];
	const char *digits = lt_fmt_u64(num + sizeof(num), (uint64_t)tid);
	size_t n = strlen(path);

	memcpy(path + n, digits, strlen(digits));
	n += strlen(digits);
	memcpy(path + n, "/status", sizeof("/status"));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return false;
	buf[got] = '\0';
	const char *line = strstr(buf, "\nSigBlk:");
	if (!line)
		return false;
	line += sizeof("\nSigBlk:") - 1;
	while (*line == ' ' || *line == '\t')
		line++;
	/* Hex digits, the highest signal first: bit sig-1 of the mask. */
	size_t len = strspn(line, "0123456789abcdef");
	unsigned bit = (unsigned)sig - 1;
	if (bit / 4 >= len)
		return false;
	char c = line[len - 1 - bit / 4];
	unsigned v = (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
	return v >> (bit % 4) & 1;
}

static void emit(uint32_t thread, uint32_t tid, uint32_t snapshot, uint8_t status,
		 const uint64_t *frames, uint32_t n, uint32_t *seq)
{
	uint8_t rec[sizeof(struct lt_rec_thread_stack) + LT_LIVE_DEPTH * 8]
		__attribute__((aligned(8)));
	struct lt_rec_thread_stack *r = (struct lt_rec_thread_stack *)rec;
	size_t len = sizeof(*r) + n * sizeof(uint64_t);

	r->head = (struct lt_rec_head){ LT_REC_THREAD_STACK, status, (uint16_t)len, 0 };
	r->ticks = lt_ticks();
	r->thread = thread;
	r->snapshot = snapshot;
	r->tid = tid;
	r->reserved = 0;
	memcpy(r->frames, frames, n * sizeof(uint64_t));
	lt_writer_direct(0, seq, rec, len);
}

void lt_live_stacks(uint32_t snapshot, void *uc, uint32_t *seq)
{
	struct lt_buf *self = lt_self.buf;
	uint64_t frames[LT_LIVE_DEPTH];
	pid_t pid = getpid();

	if (atomic_flag_test_and_set(&live_busy))
		return;
	uint32_t gen = atomic_fetch_add(&live_gen, 1) + 1;
	bool can_ask = claim_signal();
	uint32_t asked = 0;

	/* A thread may end while we wait: who was asked is kept with the
	 * buffer, and its answer counts even if the buffer is given back. */
	for (struct lt_buf *b = lt_writer_buffers(); b; b = b->next_all) {
		if (!atomic_load(&b->owned) || b == self)
			continue;
		b->live_thread = b->thread;
		b->live_tid = b->tid;
		atomic_store(&b->live_ask, gen);
		if (can_ask && !blocks_signal(b->tid, LIVE_SIGNAL) &&
		    syscall(SYS_tgkill, pid, b->tid, LIVE_SIGNAL) == 0)
			asked++;
	}

	/* The asking thread answers for itself. */
	if (self) {
		uint32_t n = lt_unwind_context(uc, frames, LT_LIVE_DEPTH);
		emit(self->thread, self->tid, snapshot, LT_TSTACK_OK, frames, n, seq);
	}

	struct timespec start, now, nap = { 0, 1000 * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		uint32_t answered = 0;

		for (struct lt_buf *b = lt_writer_buffers(); b; b = b->next_all)
			if (atomic_load_explicit(&b->live_done, memory_order_acquire) == gen)
				answered++;
		if (answered >= asked)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((uint64_t)(now.tv_sec - start.tv_sec) * 1000000000u +
		    (uint64_t)now.tv_nsec - (uint64_t)start.tv_nsec > LIVE_WAIT_NS)
			break;
		nanosleep(&nap, NULL);
	}

	for (struct lt_buf *b = lt_writer_buffers(); b; b = b->next_all) {
		if (atomic_load(&b->live_ask) != gen)
			continue;
		if (atomic_load_explicit(&b->live_done, memory_order_acquire) == gen)
			emit(b->live_thread, b->live_tid, snapshot, LT_TSTACK_OK,
			     b->live_frames, b->live_n, seq);
		else if (atomic_load(&b->owned))
			emit(b->live_thread, b->live_tid, snapshot, LT_TSTACK_UNAVAILABLE,
			     NULL, 0, seq);
		/* Not owned and no answer: it ended before it could. */
	}
	atomic_flag_clear(&live_busy);
}

void lt_live_after_fork(void)
{
	/* A capture another thread was running at fork is not the child's. */
	atomic_flag_clear(&live_busy);
}
