/*
 * Ground truth for the samples: each sample counts the allocation calls, frees
 * and threads it makes itself, as it makes them, and writes the totals the
 * analyzer must report to $LT_GROUND_TRUTH as one JSON object.  Nothing here
 * may allocate or touch stdio, or it would add to what it counts.
 *
 * A sample calls malloc & co. itself, at the call site the report should
 * name, then tells this file what it did:
 *     p = malloc(64);  struct gt_tok t = gt_alloc(64);  ...  free(p); gt_free(64, t);
 * The counting rules are PRODUCT.md's "Machine-readable summary".
 */
#ifndef SAMPLES_GROUNDTRUTH_H
#define SAMPLES_GROUNDTRUTH_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>      /* snprintf only: into a caller's buffer, no FILE */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Which totals a sample can not know exactly; the rest it writes. */
enum gt_unknown {
	GT_NO_PEAK_BYTES = 1u << 0,  /* threads allocate concurrently */
	GT_NO_TEMPORARY  = 1u << 1,  /* realloc chains: the rule is not exact */
	GT_NO_PEAK_THREADS = 1u << 2, /* thread concurrency depends on timing */
};

struct gt_state {
	const char      *sample;
	int              argc;
	char           **argv;
	int              skeleton;       /* LT_SKELETON=1: threads only, see README */
	_Atomic unsigned unknown;        /* enum gt_unknown; threads set bits */
	_Atomic int64_t  allocations, frees, reallocs, bytes_allocated;
	_Atomic int64_t  live_blocks, live_bytes, peak_bytes, temporary;
	_Atomic int64_t  threads_created, threads_joined, threads_detached;
	int64_t          threads_leaked, threads_running_at_exit, peak_threads;
	_Atomic uint32_t next_thread;
};

static struct gt_state gt = { .peak_threads = 1 };

/* Blocks a sample leaves allocated on purpose, by the function that
 * allocated them (the innermost frame the report should name). */
struct gt_leak_site {
	const char *function;
	int64_t     blocks, bytes;
};
static struct gt_leak_site gt_leak_sites[8];

/* Call where a block that will never be freed was allocated. */
static inline void gt_leak_from(const char *function, uint64_t bytes)
{
	for (size_t i = 0; i < sizeof(gt_leak_sites) / sizeof(gt_leak_sites[0]); i++) {
		struct gt_leak_site *s = &gt_leak_sites[i];

		if (!s->function)
			s->function = function;
		if (strcmp(s->function, function) == 0) {
			s->blocks++;
			s->bytes += (int64_t)bytes;
			return;
		}
	}
}

/*
 * "temporary" is decided per thread: a block is temporary when the thread
 * that allocated it frees it with at most one other allocation call of that
 * thread in between.  A token remembers where in its thread's sequence of
 * allocation calls a block was made.
 */
struct gt_tok {
	uint32_t thread;
	uint64_t serial;
};

static __thread uint32_t gt_thread_id;
static __thread uint64_t gt_thread_allocs;

static inline uint32_t gt_thread(void)
{
	if (!gt_thread_id)
		gt_thread_id = atomic_fetch_add(&gt.next_thread, 1) + 1;
	return gt_thread_id;
}

/* Call once, first thing in main. */
static inline void gt_init(const char *sample, int argc, char **argv, unsigned unknown)
{
	const char *sk = getenv("LT_SKELETON");

	gt.sample = sample;
	gt.argc = argc;
	gt.argv = argv;
	gt.unknown = unknown;
	gt.skeleton = sk && strcmp(sk, "1") == 0;
	gt_thread();
}

/* In a forked child: count afresh, for the child's own dump.  Threads other
 * than the forking one do not exist in the child. */
static inline void gt_forked(void)
{
	atomic_store(&gt.allocations, 0);
	atomic_store(&gt.frees, 0);
	atomic_store(&gt.reallocs, 0);
	atomic_store(&gt.bytes_allocated, 0);
	atomic_store(&gt.live_blocks, 0);
	atomic_store(&gt.live_bytes, 0);
	atomic_store(&gt.peak_bytes, 0);
	atomic_store(&gt.temporary, 0);
	atomic_store(&gt.threads_created, 0);
	atomic_store(&gt.threads_joined, 0);
	atomic_store(&gt.threads_detached, 0);
	gt.threads_leaked = 0;
	gt.threads_running_at_exit = 0;
	gt.peak_threads = 1;
	memset(gt_leak_sites, 0, sizeof(gt_leak_sites));
}

static inline void gt_live(int64_t blocks, int64_t bytes)
{
	int64_t now, peak;

	atomic_fetch_add(&gt.live_blocks, blocks);
	now = atomic_fetch_add(&gt.live_bytes, bytes) + bytes;
	peak = atomic_load(&gt.peak_bytes);
	while (now > peak && !atomic_compare_exchange_weak(&gt.peak_bytes, &peak, now))
		;
}

static inline struct gt_tok gt_count_alloc(uint64_t bytes)
{
	struct gt_tok t = { gt_thread(), ++gt_thread_allocs };

	atomic_fetch_add(&gt.allocations, 1);
	atomic_fetch_add(&gt.bytes_allocated, (int64_t)bytes);
	gt_live(1, (int64_t)bytes);
	return t;
}

/* After a successful malloc, calloc (bytes = nmemb * size), posix_memalign,
 * aligned_alloc, memalign, valloc or pvalloc (bytes = the size asked for). */
static inline struct gt_tok gt_alloc(uint64_t bytes)
{
	return gt_count_alloc(bytes);
}

/* After realloc(NULL, n) or reallocarray(NULL, ...) returned a block. */
static inline struct gt_tok gt_realloc_new(uint64_t bytes)
{
	gt.unknown |= GT_NO_TEMPORARY;
	atomic_fetch_add(&gt.reallocs, 1);
	return gt_count_alloc(bytes);
}

/* After realloc(p, n) or reallocarray(p, ...) with p != NULL returned a
 * block: one allocation and one realloc; old_bytes end, bytes begin. */
static inline struct gt_tok gt_realloc(uint64_t old_bytes, uint64_t bytes)
{
	gt.unknown |= GT_NO_TEMPORARY;
	atomic_fetch_add(&gt.reallocs, 1);
	gt_live(-1, -(int64_t)old_bytes);
	return gt_count_alloc(bytes);
}

/* After free(p) with p != NULL, or realloc(p, 0) that freed p and returned
 * NULL (a release, and not an allocation: see samples/README.md). */
static inline void gt_free(uint64_t bytes, struct gt_tok t)
{
	atomic_fetch_add(&gt.frees, 1);
	gt_live(-1, -(int64_t)bytes);
	if (t.thread == gt_thread() && gt_thread_allocs - t.serial <= 1)
		atomic_fetch_add(&gt.temporary, 1);
}

static inline void gt_thread_created(void)  { atomic_fetch_add(&gt.threads_created, 1); }
static inline void gt_thread_joined(void)   { atomic_fetch_add(&gt.threads_joined, 1); }
static inline void gt_thread_detached(void) { atomic_fetch_add(&gt.threads_detached, 1); }

/* printf to stdout through one write(2): samples never use stdio streams,
 * whose buffers glibc mallocs and never frees. */
__attribute__((format(printf, 1, 2)))
static inline void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	for (int off = 0; n > 0 && off < n;) {
		ssize_t w = write(1, line + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (int)w;
	}
}

struct gt_json {
	char   buf[8192];
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static inline void gt_put(struct gt_json *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->len >= sizeof(j->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(j->buf + j->len, sizeof(j->buf) - j->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		j->len += (size_t)n;
}

static inline void gt_put_string(struct gt_json *j, const char *s)
{
	gt_put(j, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			gt_put(j, "\\%c", c);
		else if (c < 0x20)
			gt_put(j, "\\u%04x", c);
		else
			gt_put(j, "%c", c);
	}
	gt_put(j, "\"");
}

static inline void gt_put_field(struct gt_json *j, const char *name, int64_t v, int *first)
{
	gt_put(j, "%s\n    \"%s\": %lld", *first ? "" : ",", name, (long long)v);
	*first = 0;
}

/* Write the JSON text to path (created or truncated); 0 or -1. */
static inline int gt_json_save(const struct gt_json *j, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	for (size_t off = 0; off < j->len;) {
		ssize_t w = write(fd, j->buf + off, j->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd);
}

/*
 * Write the ground truth now, before whatever ends the process.  The file is
 * $LT_GROUND_TRUTH, or $LT_GROUND_TRUTH.PID.ROLE when role is not NULL (for
 * samples with several processes).  Returns 0, or -1 when it could not.
 */
static inline int gt_write(const char *role)
{
	const char *base = getenv("LT_GROUND_TRUTH");
	static struct gt_json j;   /* 8 KiB: too big for a thread's stack budget */
	char path[4096];
	int first = 1;

	if (!base || !*base)
		return 0;
	if (role)
		snprintf(path, sizeof(path), "%s.%d.%s", base, (int)getpid(), role);
	else
		snprintf(path, sizeof(path), "%s", base);

	j.len = 0;
	gt_put(&j, "{\n  \"sample\": ");
	gt_put_string(&j, gt.sample);
	gt_put(&j, ",\n  \"role\": ");
	gt_put_string(&j, role ? role : "main");
	gt_put(&j, ",\n  \"pid\": %d,\n  \"skeleton\": %s,\n  \"argv\": [",
	       (int)getpid(), gt.skeleton ? "true" : "false");
	for (int i = 0; i < gt.argc; i++) {
		gt_put(&j, i ? ", " : "");
		gt_put_string(&j, gt.argv[i]);
	}
	gt_put(&j, "],\n  \"totals\": {");
	gt_put_field(&j, "allocations", gt.allocations, &first);
	gt_put_field(&j, "frees", gt.frees, &first);
	gt_put_field(&j, "reallocs", gt.reallocs, &first);
	gt_put_field(&j, "bytes_allocated", gt.bytes_allocated, &first);
	if (!(gt.unknown & GT_NO_PEAK_BYTES))
		gt_put_field(&j, "peak_bytes", gt.peak_bytes, &first);
	gt_put_field(&j, "leaked_blocks", gt.live_blocks, &first);
	gt_put_field(&j, "leaked_bytes", gt.live_bytes, &first);
	if (!(gt.unknown & GT_NO_TEMPORARY))
		gt_put_field(&j, "temporary", gt.temporary, &first);
	gt_put_field(&j, "threads_created", gt.threads_created, &first);
	gt_put_field(&j, "threads_joined", gt.threads_joined, &first);
	gt_put_field(&j, "threads_detached", gt.threads_detached, &first);
	gt_put_field(&j, "threads_leaked", gt.threads_leaked, &first);
	gt_put_field(&j, "threads_running_at_exit", gt.threads_running_at_exit, &first);
	if (!(gt.unknown & GT_NO_PEAK_THREADS))
		gt_put_field(&j, "peak_threads", gt.peak_threads, &first);
	gt_put(&j, "\n  }");
	if (gt_leak_sites[0].function) {
		gt_put(&j, ",\n  \"leaks_by_function\": {");
		for (size_t i = 0; i < sizeof(gt_leak_sites) / sizeof(gt_leak_sites[0]) &&
				   gt_leak_sites[i].function; i++) {
			gt_put(&j, "%s\n    ", i ? "," : "");
			gt_put_string(&j, gt_leak_sites[i].function);
			gt_put(&j, ": {\"blocks\": %lld, \"bytes\": %lld}",
			       (long long)gt_leak_sites[i].blocks, (long long)gt_leak_sites[i].bytes);
		}
		gt_put(&j, "\n  }");
	}
	gt_put(&j, "\n}\n");

	return gt_json_save(&j, path);
}

#endif /* SAMPLES_GROUNDTRUTH_H */
