/*
 * The module map: every loaded ELF object with its load bias, address span
 * and GNU build-id, so the analyzer can symbolize offline.  Rescanned after
 * dlopen/dlclose; only changes are written.  No malloc: the list of known
 * modules lives in the arena.
 */
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define MAX_MODULES 4096

struct known {
	uint64_t bias;
	uint64_t lo;
	uint32_t seen;    /* scan generation that last saw it */
};

static struct known *known;
static uint32_t known_count;
static uint32_t scan_gen;
static atomic_flag scan_lock = ATOMIC_FLAG_INIT;
static char exe_path[1024];

const char *lt_exe_path(void)
{
	if (!exe_path[0]) {
		ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);

		exe_path[n > 0 ? n : 0] = '\0';
	}
	return exe_path;
}

static size_t find_build_id(const struct dl_phdr_info *info, const uint8_t **id)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			size_t name = (nh->n_namesz + 3) & ~3u;
			size_t desc = (nh->n_descsz + 3) & ~3u;
			const uint8_t *d = p + sizeof(*nh) + name;

			if (d + nh->n_descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(p + sizeof(*nh), "GNU", 4)) {
				*id = d;
				return nh->n_descsz;
			}
			p = d + desc;
		}
	}
	return 0;
}

static void emit_module(const struct dl_phdr_info *info, const char *path,
			uint64_t lo, uint64_t hi, bool main_exe)
{
	const uint8_t *id = NULL;
	size_t id_len = find_build_id(info, &id);
	size_t path_len = strlen(path);

	if (path_len > 4000)
		path_len = 4000;
	if (id_len > 64)
		id_len = 64;
	size_t len = (sizeof(struct lt_rec_module) + path_len + id_len + 7) & ~(size_t)7;
	struct lt_rec_module *r = lt_reserve(&lt_self, len);
	if (!r)
		return;
	memset(r, 0, len);
	r->head = (struct lt_rec_head){ LT_REC_MODULE, 0, (uint16_t)len, main_exe };
	r->ticks = lt_ticks();
	r->bias = info->dlpi_addr;
	r->lo = lo;
	r->hi = hi;
	r->path_len = (uint16_t)path_len;
	r->build_id_len = (uint16_t)id_len;
	memcpy(r + 1, path, path_len);
	if (id_len)
		memcpy((char *)(r + 1) + path_len, id, id_len);
	lt_commit(&lt_self, len);
}

static int scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	bool all = *(bool *)arg;
	const char *name = info->dlpi_name;
	bool main_exe = !name || !name[0];
	uint64_t lo = UINT64_MAX, hi = 0;

	(void)size;
	if (main_exe)
		name = lt_exe_path();
	else if (name[0] != '/')
		return 0;   /* the vDSO and friends: nothing on disk to read */

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (hi == 0)
		return 0;

	for (uint32_t i = 0; i < known_count; i++) {
		if (known[i].bias == info->dlpi_addr && known[i].lo == lo) {
			known[i].seen = scan_gen;
			if (!all)
				return 0;
			emit_module(info, name, lo, hi, main_exe);
			return 0;
		}
	}
	if (known_count < MAX_MODULES)
		known[known_count++] = (struct known){ info->dlpi_addr, lo, scan_gen };
	emit_module(info, name, lo, hi, main_exe);
	return 0;
}

void lt_modules_refresh(bool all)
{
	while (atomic_flag_test_and_set_explicit(&scan_lock, memory_order_acquire))
		;
	if (!known)
		known = lt_arena_alloc(sizeof(*known) * MAX_MODULES);
	if (known) {
		scan_gen++;
		dl_iterate_phdr(scan_one, &all);
		for (uint32_t i = 0; i < known_count;) {
			if (known[i].seen == scan_gen) {
				i++;
				continue;
			}
			struct lt_rec_module_unload *r = lt_reserve(&lt_self, sizeof(*r));
			if (r) {
				r->head = (struct lt_rec_head){ LT_REC_MODULE_UNLOAD, 0, sizeof(*r), 0 };
				r->ticks = lt_ticks();
				r->bias = known[i].bias;
				lt_commit(&lt_self, sizeof(*r));
			}
			known[i] = known[--known_count];
		}
	}
	atomic_flag_clear_explicit(&scan_lock, memory_order_release);
}

void lt_modules_after_fork(void)
{
	/* The child rescans everything; a scan another thread was in the
	 * middle of at fork is forgotten with its lock. */
	known_count = 0;
	atomic_flag_clear(&scan_lock);
}
