/*
 * A reference counter for the integration tests, independent of libtrace:
 * preloaded into a sample, it counts every malloc-family call by PRODUCT.md's
 * rules and, at exit, writes the totals to $REFCOUNT_OUT.PID as JSON.  It
 * tells apart calls made by the main executable ("own") from calls made by
 * libc, the dynamic loader and other libraries ("foreign"), which is how the
 * suite measures what glibc adds to a trace.  A forked child counts from the
 * fork.  Never allocates through malloc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_reallocarray)(void *, size_t, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

/* dlsym's own calloc, before the real one is known. */
static char boot[16384] __attribute__((aligned(16)));
static size_t boot_used;

struct totals {
	int64_t allocations, frees, reallocs, bytes_allocated, temporary;
	int64_t live_blocks, live_bytes, peak_bytes;
};

/* One live block: its size, its thread and its place in that thread's calls. */
struct block {
	uintptr_t ptr;
	uint64_t  size;
	uint32_t  thread;
	uint32_t  foreign;
	uint64_t  serial;
};

#define TABLE_SLOTS (1u << 21)
static struct block *table;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct totals own, foreign;
static uintptr_t exe_lo, exe_hi;
static _Atomic uint32_t next_thread;
static __thread uint32_t thread_id;
static __thread uint64_t thread_allocs;
/* > 0 inside a real allocator call: glibc's reallocarray calls realloc
 * through the PLT, and that inner call is not the program's. */
static __thread int inside;

static int find_exe(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	/* The first object is the main executable. */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (!exe_lo || lo < exe_lo)
			exe_lo = lo;
		if (hi > exe_hi)
			exe_hi = hi;
	}
	return 1;
}

/* A fork while another thread holds the lock would leave the child's copy
 * locked for ever: hold it across the fork. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&lock);
}

/* A forked child counts afresh, as libtrace's child dump does: what it
 * inherited was the parent's. */
static void fork_child(void)
{
	memset(&own, 0, sizeof(own));
	memset(&foreign, 0, sizeof(foreign));
	munmap(table, sizeof(struct block) * TABLE_SLOTS);
	table = mmap(NULL, sizeof(struct block) * TABLE_SLOTS, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (table == MAP_FAILED)
		_exit(99);
	pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void refcount_init(void)
{
	if (real_malloc)
		return;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	table = mmap(NULL, sizeof(struct block) * TABLE_SLOTS, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (table == MAP_FAILED)
		_exit(99);
	dl_iterate_phdr(find_exe, NULL);
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_reallocarray = dlsym(RTLD_NEXT, "reallocarray");
	real_free = dlsym(RTLD_NEXT, "free");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_valloc = dlsym(RTLD_NEXT, "valloc");
	real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
}

static size_t slot_of(uintptr_t p)
{
	return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 43) & (TABLE_SLOTS - 1);
}

static struct totals *who(void *ret)
{
	uintptr_t r = (uintptr_t)ret;

	return r >= exe_lo && r < exe_hi ? &own : &foreign;
}

static uint32_t self_id(void)
{
	if (!thread_id)
		thread_id = atomic_fetch_add(&next_thread, 1) + 1;
	return thread_id;
}

static void note_alloc(void *p, uint64_t size, void *ret, int is_realloc)
{
	struct totals *t = who(ret);
	size_t i;

	if (!p || !table || inside)
		return;
	pthread_mutex_lock(&lock);
	t->allocations++;
	t->reallocs += is_realloc;
	t->bytes_allocated += (int64_t)size;
	t->live_blocks++;
	t->live_bytes += (int64_t)size;
	if (t->live_bytes > t->peak_bytes)
		t->peak_bytes = t->live_bytes;
	for (i = slot_of((uintptr_t)p); table[i].ptr; i = (i + 1) & (TABLE_SLOTS - 1))
		;
	table[i] = (struct block){ (uintptr_t)p, size, self_id(), t == &foreign,
				   ++thread_allocs };
	pthread_mutex_unlock(&lock);
}

/* Removes p from the table into *out; returns 0 when p is not in it. */
static int take(void *p, struct block *out)
{
	size_t i, j;

	if (!p || !table || inside)
		return 0;
	pthread_mutex_lock(&lock);
	for (i = slot_of((uintptr_t)p); table[i].ptr && table[i].ptr != (uintptr_t)p;
	     i = (i + 1) & (TABLE_SLOTS - 1))
		;
	if (!table[i].ptr) {
		pthread_mutex_unlock(&lock);
		return 0;
	}
	*out = table[i];
	/* Backward-shift deletion keeps probe chains whole. */
	table[i].ptr = 0;
	for (j = (i + 1) & (TABLE_SLOTS - 1); table[j].ptr; j = (j + 1) & (TABLE_SLOTS - 1)) {
		size_t home = slot_of(table[j].ptr);

		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			table[i] = table[j];
			table[j].ptr = 0;
			i = j;
		}
	}
	pthread_mutex_unlock(&lock);
	return 1;
}

static void put_back(const struct block *b)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = slot_of(b->ptr); table[i].ptr; i = (i + 1) & (TABLE_SLOTS - 1))
		;
	table[i] = *b;
	pthread_mutex_unlock(&lock);
}

/* A taken block's end; is_free: free(), or realloc(p, 0) that freed p. */
static void note_release(const struct block *b, int is_free)
{
	struct totals *t = b->foreign ? &foreign : &own;

	pthread_mutex_lock(&lock);
	t->frees += is_free;
	t->live_blocks--;
	t->live_bytes -= (int64_t)b->size;
	if (is_free && b->thread == self_id() && thread_allocs - b->serial <= 1)
		t->temporary++;
	pthread_mutex_unlock(&lock);
}

#define RET __builtin_return_address(0)

EXPORT void *malloc(size_t n)
{
	if (!real_malloc)
		refcount_init();
	inside++;
	void *p = real_malloc(n);
	inside--;
	note_alloc(p, n, RET, 0);
	return p;
}

EXPORT void *calloc(size_t n, size_t m)
{
	if (!real_calloc) {
		/* dlsym in refcount_init asks for memory before calloc is known. */
		size_t need = (n * m + 15) & ~(size_t)15;

		if (boot_used + need > sizeof(boot))
			return NULL;
		boot_used += need;
		return memset(boot + boot_used - need, 0, need);
	}
	inside++;
	void *p = real_calloc(n, m);
	inside--;
	note_alloc(p, (uint64_t)n * m, RET, 0);
	return p;
}

EXPORT void *realloc(void *old, size_t n)
{
	if (!real_realloc)
		refcount_init();
	struct block b;
	int had = take(old, &b);   /* before: once released, old may be reused */

	inside++;
	void *p = real_realloc(old, n);
	inside--;
	if (p || n == 0) {
		if (had)
			note_release(&b, p == NULL);
		note_alloc(p, n, RET, 1);
	} else if (had) {
		put_back(&b);
	}
	return p;
}

EXPORT void *reallocarray(void *old, size_t n, size_t m)
{
	if (!real_reallocarray)
		refcount_init();
	struct block b;
	int had = take(old, &b);

	inside++;
	void *p = real_reallocarray(old, n, m);
	inside--;
	if (p) {
		if (had)
			note_release(&b, 0);
		note_alloc(p, (uint64_t)n * m, RET, 1);
	} else if (had) {
		put_back(&b);
	}
	return p;
}

EXPORT void free(void *p)
{
	if ((char *)p >= boot && (char *)p < boot + sizeof(boot))
		return;
	if (!real_free)
		refcount_init();
	struct block b;

	if (take(p, &b))
		note_release(&b, 1);
	inside++;
	real_free(p);
	inside--;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (!real_posix_memalign)
		refcount_init();
	inside++;
	int rc = real_posix_memalign(out, align, n);
	inside--;
	if (rc == 0)
		note_alloc(*out, n, RET, 0);
	return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (!real_aligned_alloc)
		refcount_init();
	inside++;
	void *p = real_aligned_alloc(align, n);
	inside--;
	note_alloc(p, n, RET, 0);
	return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
	if (!real_memalign)
		refcount_init();
	inside++;
	void *p = real_memalign(align, n);
	inside--;
	note_alloc(p, n, RET, 0);
	return p;
}

EXPORT void *valloc(size_t n)
{
	if (!real_valloc)
		refcount_init();
	inside++;
	void *p = real_valloc(n);
	inside--;
	note_alloc(p, n, RET, 0);
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	if (!real_pvalloc)
		refcount_init();
	inside++;
	void *p = real_pvalloc(n);
	inside--;
	note_alloc(p, n, RET, 0);
	return p;
}

static int put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < cap - *len)
		*len += (size_t)n;
	return n;
}

static void put_totals(char *buf, size_t cap, size_t *len, const char *name,
		       const struct totals *t)
{
	put(buf, cap, len,
	    "  \"%s\": {\"allocations\": %lld, \"frees\": %lld, \"reallocs\": %lld, "
	    "\"bytes_allocated\": %lld, \"peak_bytes\": %lld, \"leaked_blocks\": %lld, "
	    "\"leaked_bytes\": %lld, \"temporary\": %lld}",
	    name, (long long)t->allocations, (long long)t->frees, (long long)t->reallocs,
	    (long long)t->bytes_allocated, (long long)t->peak_bytes,
	    (long long)t->live_blocks, (long long)t->live_bytes, (long long)t->temporary);
}

__attribute__((destructor)) static void refcount_write(void)
{
	const char *base = getenv("REFCOUNT_OUT");
	char path[4096], buf[2048];
	size_t len = 0;
	int fd;

	if (!base || !*base)
		return;
	snprintf(path, sizeof(path), "%s.%d", base, (int)getpid());
	pthread_mutex_lock(&lock);
	put(buf, sizeof(buf), &len, "{\n");
	put_totals(buf, sizeof(buf), &len, "own", &own);
	put(buf, sizeof(buf), &len, ",\n");
	put_totals(buf, sizeof(buf), &len, "foreign", &foreign);
	put(buf, sizeof(buf), &len, "\n}\n");
	pthread_mutex_unlock(&lock);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
}
