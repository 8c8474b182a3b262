/*
 * The one file that calls dlsym: finds the next definition of every function
 * the shim wraps.  While it runs, dlsym's own calloc is answered from a small
 * static pool, which free() recognises and never hands to the allocator.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <string.h>

#include "shim.h"

struct lt_real lt_real;

char lt_boot_pool[LT_BOOT_POOL_BYTES] __attribute__((aligned(16)));
#define boot_pool lt_boot_pool
#define BOOT_POOL_BYTES LT_BOOT_POOL_BYTES
static _Atomic size_t boot_used;

/* Each pool block is preceded by 16 bytes holding its size. */
void *lt_boot_alloc(size_t size)
{
	size_t need = ((size + 15) & ~(size_t)15) + 16;
	size_t off = atomic_fetch_add(&boot_used, need);

	if (off + need > BOOT_POOL_BYTES)
		return NULL;
	*(size_t *)(boot_pool + off) = size;
	return boot_pool + off + 16;
}

size_t lt_boot_size(const void *p)
{
	return *(const size_t *)((const char *)p - 16);
}

static const struct real_sym {
	const char *name;
	size_t      offset;
	bool        required;
} real_syms[] = {
#define SYM(field, name, req) { name, offsetof(struct lt_real, field), req }
	SYM(malloc, "malloc", true),
	SYM(calloc, "calloc", true),
	SYM(realloc, "realloc", true),
	SYM(free, "free", true),
	SYM(posix_memalign, "posix_memalign", false),
	SYM(aligned_alloc, "aligned_alloc", false),
	SYM(memalign, "memalign", false),
	SYM(valloc, "valloc", false),
	SYM(pvalloc, "pvalloc", false),
	SYM(pthread_create, "pthread_create", true),
	SYM(pthread_exit, "pthread_exit", true),
	SYM(pthread_join, "pthread_join", true),
	SYM(pthread_tryjoin_np, "pthread_tryjoin_np", false),
	SYM(pthread_timedjoin_np, "pthread_timedjoin_np", false),
	SYM(pthread_detach, "pthread_detach", true),
	SYM(pthread_cancel, "pthread_cancel", true),
	SYM(pthread_setname_np, "pthread_setname_np", false),
	SYM(fork, "fork", true),
	SYM(execve, "execve", true),
	SYM(execv, "execv", true),
	SYM(execvp, "execvp", true),
	SYM(execvpe, "execvpe", false),
	SYM(fexecve, "fexecve", false),
	SYM(dlopen, "dlopen", true),
	SYM(dlclose, "dlclose", true),
	SYM(sigaction, "sigaction", true),
	SYM(prctl, "prctl", true),
	SYM(exit_, "_exit", true),
	SYM(Exit_, "_Exit", true),
	SYM(mincore, "mincore", false),
	SYM(read, "read", false),
	SYM(syscall, "syscall", false),
#undef SYM
};

int lt_real_resolve(void)
{
	int rc = 0;

	/* All of them even when one is missing: the wrappers keep forwarding
	 * to whatever exists after tracing is off. */
	for (size_t i = 0; i < sizeof(real_syms) / sizeof(real_syms[0]); i++) {
		void *fn = dlsym(RTLD_NEXT, real_syms[i].name);

		if (!fn && real_syms[i].required) {
			lt_log("cannot find the real ", real_syms[i].name, "; tracing disabled");
			rc = -ENOENT;
		}
		memcpy((char *)&lt_real + real_syms[i].offset, &fn, sizeof(fn));
	}
	return rc;
}

bool lt_glibc_chunks;

/* The load address of the object whose segments hold each address, in one
 * walk of the loaded objects (dladdr would also look for the nearest
 * symbol: about 170,000 instructions a call in libc). */
#define OWNED 6
struct owners {
	const void *addr[OWNED];
	uintptr_t base[OWNED];
	bool found[OWNED];
};

static int find_owners(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct owners *o = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		for (int k = 0; k < OWNED; k++) {
			if ((uintptr_t)o->addr[k] - lo < ph->p_memsz) {
				o->base[k] = info->dlpi_addr;
				o->found[k] = true;
			}
		}
	}
	return 0;
}

/* Whether malloc, free, calloc, realloc and malloc_usable_size all come
 * from the object that defines gnu_get_libc_version: glibc's, not
 * jemalloc's or libc_malloc_debug's. */
static bool allocator_is_glibc(void)
{
	struct owners o = { .addr = {
		(void *)gnu_get_libc_version,
		(void *)lt_real.malloc, (void *)lt_real.free, (void *)lt_real.calloc,
		(void *)lt_real.realloc, dlsym(RTLD_DEFAULT, "malloc_usable_size"),
	} };

	dl_iterate_phdr(find_owners, &o);
	for (int k = 0; k < OWNED; k++)
		if (!o.addr[k] || !o.found[k] || o.base[k] != o.base[0])
			return false;
	return true;
}

/*
 * Blocks from glibc's tcache, bins and top chunk, and one mmapped block.
 * The mmapped one is above DEFAULT_MMAP_THRESHOLD_MAX (32 MiB): freeing an
 * mmapped chunk below that raises the program's mmap and trim thresholds
 * for good, and the check must leave the allocator as it found it.  Its
 * pages are never touched (no calloc of it, which could memset it if the
 * program's thresholds put it on the heap).
 */
static const size_t check_sizes[] = { 1, 24, 25, 100, 1000, 5000, 70000 };
#define CHECK_MMAPPED (33u << 20)

static bool chunk_agrees(void *p)
{
	bool same = !p || lt_chunk_usable(p) == (int64_t)malloc_usable_size(p);

	lt_real.free(p);
	return same;
}

void lt_real_check_chunks(void)
{
	bool ok = allocator_is_glibc();

	for (size_t i = 0; ok && i < sizeof(check_sizes) / sizeof(check_sizes[0]); i++) {
		ok = chunk_agrees(lt_real.malloc(check_sizes[i])) &&
		     chunk_agrees(lt_real.calloc(1, check_sizes[i])) &&
		     (!lt_real.memalign || chunk_agrees(lt_real.memalign(256, check_sizes[i])));
	}
	ok = ok && chunk_agrees(lt_real.malloc(CHECK_MMAPPED)) &&
	     (!lt_real.memalign || chunk_agrees(lt_real.memalign(4096, CHECK_MMAPPED)));
	lt_glibc_chunks = ok;
}
