/*
 * Per-thread buffers and the dump file.  A thread appends records to its own
 * buffer with plain stores and no lock; a full buffer becomes one chunk,
 * written with a single writev(2) on an O_APPEND descriptor, so chunks never
 * interleave.  Only the consumer side (whoever writes a buffer out) takes a
 * per-buffer flag.  Must never block the host for long or write to stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <lz4.h>

#include "shim.h"

static int dump_fd = -1;
static dev_t dump_dev;
static ino_t dump_ino;
static char dump_path[1024];
static _Atomic uint64_t chunks_written;

static _Atomic(struct lt_buf *) all_bufs;
static _Atomic uint32_t bufs_grown;     /* buffers at LT_BUF_BYTES */
static _Atomic uint64_t free_top;       /* tag << 48 | pointer */
static struct lt_counts retired;        /* threads gone; under retired_lock */
static atomic_flag retired_lock = ATOMIC_FLAG_INIT;

#define PTR_MASK ((1ull << 48) - 1)

const char *lt_writer_path(void)
{
	return dump_path;
}

uint64_t lt_writer_chunks(void)
{
	return atomic_load(&chunks_written);
}

/* Write all of it, retrying on EINTR and short writes.  0 or -errno. */
static int write_all(const struct iovec *iov_in, int n)
{
	struct iovec iov[6];
	int saved = errno, rc = 0;

	lt_assert(n <= 6);
	memcpy(iov, iov_in, sizeof(iov[0]) * (size_t)n);
	while (n > 0) {
		ssize_t w = writev(dump_fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		while (n > 0 && (size_t)w >= iov[0].iov_len) {
			w -= (ssize_t)iov[0].iov_len;
			memmove(iov, iov + 1, sizeof(iov[0]) * (size_t)--n);
		}
		if (n > 0) {
			iov[0].iov_base = (char *)iov[0].iov_base + w;
			iov[0].iov_len -= (size_t)w;
		}
	}
	errno = saved;
	return rc;
}

/* ---- compression ---------------------------------------------------------- */

/*
 * With LIBTRACE_COMPRESS=1, chunks go out compressed with LZ4 by the
 * thread that writes them.  That thread takes one of ZSLOTS
 * compression states without waiting; when every one is taken, or the
 * block would not be smaller, the chunk goes out as it is: a reader takes
 * either.  A state's memory (its 16 KiB table, room for a chunk with its
 * lead zeros, and for the block) is mapped here on first use, so LZ4
 * never calls malloc, nor the shim.
 */
#define ZSLOTS 4
#define ZIN_CAP (LT_BUF_BYTES + 8)   /* the largest chunk, with its lead */

struct zslot {
	atomic_flag busy;
	bool broken;        /* its memory could not be had */
	void *state;        /* LZ4_sizeofState() bytes */
	uint8_t *in;        /* a chunk after its lead zeros */
	struct lt_chunk_lz4 *out;   /* the block after its prefix */
	int out_cap;
};
static struct zslot zslots[ZSLOTS];

static bool zslot_ready(struct zslot *z)
{
	size_t st, cap;
	uint8_t *mem;

	if (z->state || z->broken)
		return z->state;
	z->broken = true;
	st = ((size_t)LZ4_sizeofState() + 63) & ~(size_t)63;
	cap = sizeof(*z->out) + (size_t)LZ4_compressBound(ZIN_CAP);
	mem = lt_os_map(st + ZIN_CAP + cap);
	if (!mem)
		return false;
	z->state = mem;
	z->in = mem + st;
	z->out = (struct lt_chunk_lz4 *)(z->in + ZIN_CAP);
	z->out_cap = LZ4_compressBound(ZIN_CAP);
	z->broken = false;
	return true;
}

static struct zslot *zslot_take(void)
{
	if (!lt_opt.compress)
		return NULL;
	for (int i = 0; i < ZSLOTS; i++) {
		struct zslot *z = &zslots[i];

		if (atomic_flag_test_and_set_explicit(&z->busy, memory_order_acquire))
			continue;
		if (zslot_ready(z))
			return z;
		atomic_flag_clear_explicit(&z->busy, memory_order_release);
	}
	return NULL;
}

static void zslot_give(struct zslot *z)
{
	if (z)
		atomic_flag_clear_explicit(&z->busy, memory_order_release);
}

/* The prefix and block of lead zeros and len bytes from p in z->out, and
 * their length; or 0 where they would not be smaller than those bytes.
 * Without lead zeros (a buffer written from its start) p is compressed
 * where it is. */
static size_t compress_chunk(struct zslot *z, const void *p, size_t len,
			     size_t lead)
{
	size_t n = lead + len;
	int out;

	if (n > ZIN_CAP)
		return 0;
	if (lead) {
		memset(z->in, 0, lead);
		memcpy(z->in + lead, p, len);
		p = z->in;
	}
	out = LZ4_compress_fast_extState(z->state, p, (char *)(z->out + 1),
					 (int)n, z->out_cap, 1);
	if (out <= 0 || sizeof(*z->out) + (size_t)out + 8 > n)
		return 0;
	z->out->raw_size = (uint32_t)n;
	z->out->block_size = (uint32_t)out;
	return sizeof(*z->out) + (size_t)out;
}

/*
 * One chunk of len bytes from p, which sit at offset `at` of their buffer:
 * zero bytes before them (at % 8 of them) and after keep every fixed record
 * at a multiple of 8 and the chunk a multiple of 8 long.  A chunk that does
 * not start at its buffer's beginning continues the coded state of the
 * previous one (LT_CHUNK_MAGIC_CONT).  Compressed (LT_CHUNK_MAGIC_LZ4,
 * _LZ4CONT), the lead zeros and those bytes are one LZ4 block after its
 * struct lt_chunk_lz4, and zeros pad the block instead.
 */
static void write_chunk(uint32_t thread, uint32_t seq, const void *p, size_t len,
			uint32_t at)
{
	static const uint8_t zeros[8];
	size_t lead = at & 7, pad = (8 - ((lead + len) & 7)) & 7, zlen = 0;
	struct zslot *z = NULL;
	struct lt_chunk_header ch = {
		.magic = at ? LT_CHUNK_MAGIC_CONT : LT_CHUNK_MAGIC,
		.size = (uint32_t)(lead + len + pad),
		.thread = thread,
		.seq = seq,
	};
	struct iovec iov[4] = {
		{ &ch, sizeof(ch) },
		{ (void *)zeros, lead },
		{ (void *)p, len },
		{ (void *)zeros, pad },
	};
	int rc;

	if (dump_fd < 0 || atomic_load_explicit(&lt_state, memory_order_relaxed) == LT_OFF)
		return;
	/* Programs that close every descriptor (daemons) may have closed ours
	 * and opened something else on its number: never write into that. */
	struct stat st;
	if (fstat(dump_fd, &st) || st.st_dev != dump_dev || st.st_ino != dump_ino) {
		dump_fd = -1;
		lt_disable("the dump's file descriptor was closed by the program", "");
		return;
	}
	if ((z = zslot_take()) && (zlen = compress_chunk(z, p, len, lead))) {
		ch.magic = at ? LT_CHUNK_MAGIC_LZ4CONT : LT_CHUNK_MAGIC_LZ4;
		iov[1] = (struct iovec){ z->out, zlen };
		iov[2] = (struct iovec){ (void *)zeros, (8 - (zlen & 7)) & 7 };
		iov[3] = (struct iovec){ NULL, 0 };
		ch.size = (uint32_t)(iov[1].iov_len + iov[2].iov_len);
	}
	/* Taken last, so that a chunk's clock pair is no older than its
	 * records. */
	ch.ticks = lt_ticks();
	ch.mono_ns = lt_mono_ns();
	rc = write_all(iov, 4);
	zslot_give(z);
	if (rc < 0) {
		lt_disable("cannot write the dump: ", strerrordesc_np(-rc));
		return;
	}
	atomic_fetch_add_explicit(&chunks_written, 1, memory_order_relaxed);
}

void lt_writer_direct(uint32_t thread, uint32_t *seq, const void *p, size_t len)
{
	write_chunk(thread, (*seq)++, p, len, 0);
}

/* Take b's consumer flag; give up after a bounded wait (a fatal signal may
 * have interrupted the very thread that holds it).  The bound is time, not
 * spins: with busy threads on every CPU one sched_yield can take a whole
 * time slice, and 20,000 of them kept a SIGTERMed program alive a minute. */
#define CONSUMER_WAIT_NS (50u * 1000 * 1000)

static bool consumer_lock(struct lt_buf *b, bool patient)
{
	uint64_t deadline = 0;

	for (unsigned spins = 0; ; spins++) {
		int expected = 0;

		if (atomic_compare_exchange_weak_explicit(&b->consumer, &expected, 1,
				memory_order_acquire, memory_order_relaxed))
			return true;
		if (spins > 64) {
			if (!patient) {
				uint64_t now = lt_mono_ns();

				if (!deadline)
					deadline = now + CONSUMER_WAIT_NS;
				else if (now > deadline)
					return false;
			}
			sched_yield();
		}
	}
}

static void consumer_unlock(struct lt_buf *b)
{
	atomic_store_explicit(&b->consumer, 0, memory_order_release);
}

/* Back to empty: the next chunk starts at offset 0, its coded state at
 * zero.  The producer's alone (or in a child just forked, with no other
 * thread left). */
static void rewind_buf(struct lt_buf *b)
{
	b->tail = 0;
	b->code = (struct lt_code_state){ 0 };
	atomic_store_explicit(&b->head, 0, memory_order_release);
}

/*
 * No signal is handled on this thread while it holds b's flag.  A fatal
 * one would end the process from its handler, which finds the flag taken
 * and writes the dump's end without this chunk: the events are counted in
 * the trailer but never written, a whole buffer of them (1 run in 30 of
 * the faults test's busy 4-thread program killed by SIGTERM).  Blocked, the
 * signal goes to another thread, which waits for the flag, or waits here
 * until the chunk is out: two system calls a chunk (16 or 254 KiB).
 */
void lt_buf_flush(struct lt_buf *b, bool owner)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (consumer_lock(b, owner)) {
		uint32_t head = atomic_load_explicit(&b->head, memory_order_acquire);

		if (head > b->tail) {
			write_chunk(b->thread, b->seq++, b->data + b->tail,
				    head - b->tail, b->tail);
			b->tail = head;
		}
		/* Only the producer rewinds, so no one else reads past a
		 * moving head. */
		if (owner)
			rewind_buf(b);
		consumer_unlock(b);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void lt_buf_filled(struct lt_buf *b)
{
	if (b->limit != LT_BUF_BYTES && lt_place_take(&bufs_grown, LT_BUF_GROWN))
		b->limit = LT_BUF_BYTES;
}

/* Write out what b has committed if its flag is free right now; never
 * waits and never rewinds (its owner does that). */
static void flush_if_free(struct lt_buf *b)
{
	int expected = 0;

	if (!atomic_compare_exchange_strong_explicit(&b->consumer, &expected, 1,
			memory_order_acquire, memory_order_relaxed))
		return;
	uint32_t head = atomic_load_explicit(&b->head, memory_order_acquire);

	if (head > b->tail) {
		write_chunk(b->thread, b->seq++, b->data + b->tail, head - b->tail,
			    b->tail);
		b->tail = head;
	}
	consumer_unlock(b);
}

void lt_writer_flush_all(void)
{
	/* A caller interrupted inside its own recording (a signal handler) may
	 * hold its own buffer's flag: that buffer is written only if its flag
	 * is free at once, never waited for.  What it committed is whole. */
	struct lt_buf *mine = lt_self.guard ? lt_self.buf : NULL;

	for (struct lt_buf *b = atomic_load(&all_bufs); b; b = b->next_all) {
		if (b == mine)
			flush_if_free(b);
		else if (atomic_load(&b->owned))
			lt_buf_flush(b, false);
	}
}

struct lt_buf *lt_writer_buffers(void)
{
	return atomic_load(&all_bufs);
}

struct lt_buf *lt_buf_acquire(uint32_t thread)
{
	struct lt_buf *b = NULL;
	uint64_t top = atomic_load(&free_top);

	while (top & PTR_MASK) {
		struct lt_buf *cand = (struct lt_buf *)(uintptr_t)(top & PTR_MASK);
		uint64_t next = ((top >> 48) + 1) << 48 |
				((uint64_t)(uintptr_t)cand->next_free & PTR_MASK);

		if (atomic_compare_exchange_weak(&free_top, &top, next)) {
			b = cand;
			break;
		}
	}
	if (!b) {
		b = lt_os_map(sizeof(*b));
		if (!b)
			return NULL;
		b->limit = LT_BUF_SMALL;   /* a reused buffer keeps its size */
		struct lt_buf *head = atomic_load(&all_bufs);
		do
			b->next_all = head;
		while (!atomic_compare_exchange_weak(&all_bufs, &head, b));
	}
	b->thread = thread;
	b->tid = (uint32_t)gettid();
	/* Another thread's stack: its cached slots mean nothing.  (0 is left
	 * for entries any thread with a stack_top may use.) */
	if (++b->cache_gen == 0)
		b->cache_gen = 1;
	b->stack_top = 0; /* until the thread's trampoline says */
	b->seq = 0;
	memset(&b->counts, 0, sizeof(b->counts));
	rewind_buf(b);
	atomic_store(&b->owned, 1);
	return b;
}

void lt_writer_add_retired(const struct lt_counts *c)
{
	while (atomic_flag_test_and_set_explicit(&retired_lock, memory_order_acquire))
		;
	retired.allocs += c->allocs;
	retired.frees += c->frees;
	retired.reallocs += c->reallocs;
	retired.bytes += c->bytes;
	retired.threads += c->threads;
	retired.lost_allocs += c->lost_allocs;
	retired.lost_frees += c->lost_frees;
	retired.lost_bytes += c->lost_bytes;
	retired.live += c->live;
	retired.live_peak += c->live_peak;
	atomic_flag_clear_explicit(&retired_lock, memory_order_release);
}

/* The owner writes out what is left and gives the buffer back. */
void lt_buf_release(struct lt_buf *b, uint32_t *seq_out)
{
	lt_buf_flush(b, true);
	consumer_lock(b, true);
	*seq_out = b->seq;
	lt_writer_add_retired(&b->counts);
	atomic_store(&b->owned, 0);
	consumer_unlock(b);

	uint64_t top = atomic_load(&free_top);
	uint64_t mine;
	do {
		b->next_free = (struct lt_buf *)(uintptr_t)(top & PTR_MASK);
		mine = ((top >> 48) + 1) << 48 | ((uint64_t)(uintptr_t)b & PTR_MASK);
	} while (!atomic_compare_exchange_weak(&free_top, &top, mine));
}

void lt_writer_sum(struct lt_counts *out)
{
	while (atomic_flag_test_and_set_explicit(&retired_lock, memory_order_acquire))
		;
	*out = retired;
	atomic_flag_clear_explicit(&retired_lock, memory_order_release);
	for (struct lt_buf *b = atomic_load(&all_bufs); b; b = b->next_all) {
		if (!atomic_load(&b->owned))
			continue;
		out->allocs += b->counts.allocs;
		out->frees += b->counts.frees;
		out->reallocs += b->counts.reallocs;
		out->bytes += b->counts.bytes;
		out->threads += b->counts.threads;
		out->lost_allocs += b->counts.lost_allocs;
		out->lost_frees += b->counts.lost_frees;
		out->lost_bytes += b->counts.lost_bytes;
		out->live += b->counts.live;
		out->live_peak += b->counts.live_peak;
	}
}

void lt_writer_after_fork(struct lt_buf *keep)
{
	/* The other threads are gone in the child: their buffers (holding the
	 * parent's events, which the parent writes) become free, and any
	 * consumer flag a vanished thread held is dropped. */
	atomic_store(&free_top, 0);
	memset(&retired, 0, sizeof(retired));
	atomic_flag_clear(&retired_lock);
	atomic_store(&chunks_written, 0);
	for (int i = 0; i < ZSLOTS; i++)
		atomic_flag_clear(&zslots[i].busy);
	for (struct lt_buf *b = atomic_load(&all_bufs); b; b = b->next_all) {
		atomic_store(&b->consumer, 0);
		rewind_buf(b);
		b->seq = 0;
		memset(&b->counts, 0, sizeof(b->counts));
		if (b == keep) {
			b->tid = (uint32_t)gettid();
			continue;
		}
		atomic_store(&b->owned, 0);
		b->next_free = (struct lt_buf *)(uintptr_t)(atomic_load(&free_top) & PTR_MASK);
		atomic_store(&free_top, (uint64_t)(uintptr_t)b);
	}
	if (dump_fd >= 0)
		close(dump_fd);
	dump_fd = -1;
}

/* ---- opening the dump ------------------------------------------------------ */

static size_t append(char *dst, size_t n, size_t cap, const char *s)
{
	while (*s && n + 1 < cap)
		dst[n++] = *s++;
	dst[n] = '\0';
	return n;
}

static void expand_template(char *out, size_t cap, const char *tmpl)
{
	char num[24];
	size_t n = 0;
	const char *exe = lt_exe_path();
	const char *base = strrchr(exe, '/');

	base = base ? base + 1 : exe;
	out[0] = '\0';
	for (const char *p = tmpl; *p && n + 1 < cap; p++) {
		if (*p != '%' || !p[1]) {
			out[n++] = *p;
			out[n] = '\0';
			continue;
		}
		switch (*++p) {
		case 'p':
			n = append(out, n, cap, lt_fmt_u64(num + sizeof(num), (uint64_t)getpid()));
			break;
		case 'e':
			n = append(out, n, cap, *base ? base : "unknown");
			break;
		case 'h': {
			struct utsname u;

			n = append(out, n, cap, uname(&u) == 0 ? u.nodename : "unknown");
			break;
		}
		case '%':
			n = append(out, n, cap, "%");
			break;
		default: {
			char two[3] = { '%', *p, '\0' };

			n = append(out, n, cap, two);
		}
		}
	}
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -1;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return (ssize_t)n;
}

static void note_run_log(void)
{
	char line[1100], num[24];
	size_t n = 0;

	if (!lt_opt.run_log[0])
		return;
	int fd = open(lt_opt.run_log, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	n = append(line, n, sizeof(line) - 1, lt_fmt_u64(num + sizeof(num), (uint64_t)getpid()));
	n = append(line, n, sizeof(line) - 1, " ");
	n = append(line, n, sizeof(line) - 1, dump_path);
	line[n++] = '\n';
	while (write(fd, line, n) < 0 && errno == EINTR)
		;
	close(fd);
}

int lt_writer_open(uint32_t flags, const char *parent_dump)
{
	static char cmdline[8192];
	char path[sizeof(dump_path)];
	int fd = -1;

	expand_template(path, sizeof(path) - 8, lt_opt.output);
	/* Never clobber, never follow a planted link: a taken name gets a
	 * numeric suffix (an exec'd image of the same name and pid). */
	for (int i = 0; i < 100; i++) {
		char try[sizeof(path)], num[24];

		memcpy(try, path, sizeof(path));
		if (i) {
			/* app.42.lt -> app.42.1.lt, so *.lt still finds it. */
			size_t n = strlen(try);
			bool ext = n > 3 && !strcmp(try + n - 3, ".lt");

			n = append(try, ext ? n - 3 : n, sizeof(try), ".");
			n = append(try, n, sizeof(try), lt_fmt_u64(num + sizeof(num), (uint64_t)i));
			if (ext)
				append(try, n, sizeof(try), ".lt");
		}
		fd = open(try, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			memcpy(dump_path, try, sizeof(try));
			break;
		}
		if (errno != EEXIST) {
			int e = errno;
			char why[160];
			size_t n = append(why, 0, sizeof(why), ": ");

			/* One line, as every shim failure. */
			n = append(why, n, sizeof(why), e == ENOENT ? "no such directory" :
				   strerrordesc_np(e) ? strerrordesc_np(e) : "open failed");
			append(why, n, sizeof(why), "; tracing disabled, the program runs on untraced");
			lt_log("cannot create ", try, why);
			return -e;
		}
	}
	if (fd < 0) {
		lt_log("cannot create ", path, ": too many dumps of that name");
		return -EEXIST;
	}
	/* Out of the way of programs that expect low descriptor numbers. */
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 512);
	if (high >= 0) {
		close(fd);
		fd = high;
	}
	struct stat st;
	fstat(fd, &st);
	dump_dev = st.st_dev;
	dump_ino = st.st_ino;
	dump_fd = fd;

	ssize_t clen = read_file("/proc/self/cmdline", cmdline, sizeof(cmdline));
	const char *exe = lt_exe_path();
	size_t plen = parent_dump ? strlen(parent_dump) : 0;
	struct lt_file_header h = {
		.version = LT_DUMP_VERSION,
		.pid = (uint32_t)getpid(),
		.ppid = (uint32_t)getppid(),
		.clock = (uint32_t)lt_clock_kind,
		.flags = flags | (lt_opt.sample ? LT_HDR_SAMPLED | LT_HDR_SAMPLE_LARGE : 0),
		.sample_interval = lt_opt.sample,
		.max_depth = lt_opt.depth,
		.main_thread = lt_self.serial,
		.exe_len = (uint32_t)strlen(exe),
		.cmdline_len = clen > 0 ? (uint32_t)clen : 0,
		.parent_dump_len = (uint32_t)plen,
	};
	struct timespec rt;

	memcpy(h.magic, LT_DUMP_MAGIC, LT_DUMP_MAGIC_LEN);
	clock_gettime(CLOCK_REALTIME, &rt);
	h.start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	h.start_ticks = lt_ticks();
	h.start_mono_ns = lt_mono_ns();
	size_t strings = h.exe_len + h.cmdline_len + h.parent_dump_len;
	size_t pad = (8 - (sizeof(h) + strings) % 8) % 8;
	static const char zeros[8];
	h.header_size = (uint32_t)(sizeof(h) + strings + pad);

	struct iovec iov[5] = {
		{ &h, sizeof(h) },
		{ (void *)exe, h.exe_len },
		{ cmdline, h.cmdline_len },
		{ (void *)parent_dump, plen },
		{ (void *)zeros, pad },
	};
	int rc = write_all(iov, 5);
	if (rc < 0) {
		lt_log("cannot write ", dump_path, ": write failed; tracing disabled");
		close(fd);
		unlink(dump_path);   /* not even a header: nothing to read */
		dump_fd = -1;
		return rc;
	}
	note_run_log();
	if (!lt_opt.quiet)
		lt_log("writing ", dump_path, "");
	return 0;
}

void lt_writer_close(void)
{
	if (dump_fd >= 0)
		close(dump_fd);
	dump_fd = -1;
}
