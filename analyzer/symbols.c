/*
 * Symbolization through elfutils libdwfl: one offline Dwfl per ELF file,
 * opened on first use, results cached per (module, address).  Must never
 * abort or print on bad or missing debug info: what it cannot resolve
 * degrades to "module+0xoffset" and the reason goes to the warnings text.
 */
#include "symbols.h"
#include "demangle.h"
#include "hash.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libstdc++'s demangler (extern "C"); the analyzer links -lstdc++. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len,
			    int *status);

/* Deeper inline chains than this are cut at the innermost frames. */
#define MAX_FRAMES 32

/* Paths longer than this are shown by their last two components. */
#define LONG_PATH 60

enum file_state {
	FILE_CHECKED,   /* readable ELF, Dwfl not opened yet */
	FILE_READY,     /* Dwfl opened, dwmod usable */
	FILE_MISSING,   /* cannot open */
	FILE_NOT_ELF,   /* opened, but libelf rejects it */
	FILE_BROKEN,    /* libdwfl could not report it */
};

/* Where a compilation unit's code lies, in Dwfl addresses. */
struct cu_range {
	Dwarf_Addr lo, hi;
	Dwarf_Addr bias;        /* Dwfl address - DWARF address */
	Dwarf_Die *cu;          /* owned by the Dwfl */
};

/* A symbol dwfl_module_addrname may answer with (see sym_name); the
 * sizeless ones (size 0) matter only where they start exactly. */
struct sym_entry {
	uint64_t value, size;
	const char *name;        /* libdw's string, alive with the Dwfl */
	int binding;             /* higher is preferred, as libdw ranks it */
	bool special;            /* section index SHN_ABS and the like */
};

/* An SHF_ALLOC section, as libdw's find_section sees it (derelocate.c). */
struct sec_range {
	uint64_t start, end;     /* Dwfl addresses; end is one past */
	size_t ndx;
};

/* One file on disk, shared by every module mapped from it. */
struct elf_file {
	UT_hash_handle hh;
	enum file_state state;
	Dwfl *dwfl;
	Dwfl_Module *dwmod;
	struct cu_range *cu_ranges;     /* built on first addrdie miss */
	struct cu_index *cu_indexes;    /* by CU, built on first use */
	size_t ncu_ranges;
	bool cu_ranges_built;
	struct sym_entry *syms;         /* globals, then locals, each in
					 * table order; built on first use */
	size_t nsyms, nglobal_syms;
	uint32_t *order;                /* syms[] by start, then index */
	uint64_t *reach;                /* furthest end of order[0..k], huge
					 * symbols left out */
	uint32_t *huge;                 /* the sized symbols of SYM_HUGE or
					 * more, in index order */
	size_t nhuge;
	uint64_t *bounds;               /* sorted: every symbol's start and
					 * end, every section's */
	const char **gap_names;         /* libdw's answer between bounds */
	bool *gap_known;
	size_t nbounds;
	struct sec_range *secs;         /* by start, end, index */
	size_t nsecs;
	bool gaps_computed;             /* gap_label() answers, not libdw */
	uint64_t first_sizeless;        /* lowest start of a sizeless symbol */
	bool syms_built, syms_usable;
	uint8_t *disk_id;
	size_t disk_id_len;
	bool warned_mismatch;
	char path[];            /* hash key */
};

/* One mapping of a file during the traced run. */
struct module {
	struct elf_file *file;
	uint64_t id;            /* 1-based; 0 in a cache key means "none" */
	uint64_t bias, lo, hi;
	uint64_t load_ticks, unload_ticks;
	bool unloaded;
	bool id_differs;        /* traced build-id is not the file's */
};

struct resolve_key {
	uint64_t module_id;
	uint64_t addr;
	uint64_t return_address;
};

struct resolved {
	UT_hash_handle hh;
	struct resolve_key key;
	int nframes;
	struct lt_sym_frame frames[];
};

/* Every string handed out lives here until lt_sym_free(). */
struct interned {
	UT_hash_handle hh;
	char s[];
};

struct lt_symbolizer {
	struct module **modules;
	size_t nmodules, modules_cap;
	struct elf_file *files;
	struct resolved *cache;
	struct interned *strings;
	char *warnings;
	size_t warnings_len, warnings_cap;
};

/*
 * libdwfl's standard search asks debuginfod last, for every file whose
 * debug information is not on disk, and dlopens the client library for
 * it, which takes in libcurl and some thirty more: 6-9 ms, a fifth of the
 * report of a git run, when a server is not even named (DEBUGINFOD_URLS
 * unset or empty), in which case the client answers ENOSYS without
 * looking, not even in its cache.  This definition, which the linker
 * exports from the executable for libdw's calls, refuses that library
 * then, and libdwfl goes on as when it is not installed.  Every other
 * call goes to the C library's dlopen.
 */
void *dlopen(const char *file, int mode)
{
	static void *(*real)(const char *, int);
	const char *urls;

	if (file && !strcmp(file, "libdebuginfod.so.1") &&
	    (!(urls = getenv("DEBUGINFOD_URLS")) || !urls[0]))
		return NULL;
	if (!real) {
		void *next = dlsym(RTLD_NEXT, "dlopen");

		memcpy(&real, &next, sizeof(real));
	}
	return real ? real(file, mode) : NULL;
}

/* Separate debug info by build-id under /usr/lib/debug/.build-id, then
 * by .gnu_debuglink next to the file, in .debug/ and under /usr/lib/debug. */
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = NULL,
};

char *lt_sym_demangle(const char *name)
{
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	int status = -1;
	char *out = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Returns the symbolizer's copy of s, or NULL for NULL s or out of memory
 * (the frame then just lacks that detail). */
static const char *intern(struct lt_symbolizer *sym, const char *s)
{
	if (!s)
		return NULL;
	size_t len = strlen(s);
	struct interned *it;
	HASH_FIND(hh, sym->strings, s, len, it);
	if (it)
		return it->s;
	it = malloc(sizeof(*it) + len + 1);
	if (!it)
		return NULL;
	memcpy(it->s, s, len + 1);
	if (LT_HASH_ADD(sym->strings, s, len, it) != 0) {
		free(it);
		return NULL;
	}
	return it->s;
}

/* A mangled name is interned demangled, anything else as it is. */
static const char *intern_function(struct lt_symbolizer *sym, const char *name)
{
	char *demangled = lt_sym_demangle(name);
	const char *out = intern(sym, demangled ? demangled : name);
	free(demangled);
	return out;
}

/* Appends one line; out of memory loses the warning, nothing else. */
__attribute__((format(printf, 2, 3)))
static void warn(struct lt_symbolizer *sym, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t need = sym->warnings_len + (size_t)n + 2;
	if (need > sym->warnings_cap) {
		size_t cap = sym->warnings_cap ? sym->warnings_cap : 256;
		while (cap < need)
			cap *= 2;
		char *grown = realloc(sym->warnings, cap);
		if (!grown)
			return;
		sym->warnings = grown;
		sym->warnings_cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(sym->warnings + sym->warnings_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sym->warnings_len += (size_t)n;
	sym->warnings[sym->warnings_len++] = '\n';
	sym->warnings[sym->warnings_len] = '\0';
}

struct lt_symbolizer *lt_sym_new(void)
{
	/* libelf refuses every call until told which ELF version we speak. */
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	return calloc(1, sizeof(struct lt_symbolizer));
}

static void cu_indexes_free(struct elf_file *f);

void lt_sym_free(struct lt_symbolizer *sym)
{
	if (!sym)
		return;
	struct resolved *r, *rtmp;
	HASH_ITER(hh, sym->cache, r, rtmp) {
		HASH_DEL(sym->cache, r);
		free(r);
	}
	struct elf_file *f, *ftmp;
	HASH_ITER(hh, sym->files, f, ftmp) {
		HASH_DEL(sym->files, f);
		if (f->dwfl)
			dwfl_end(f->dwfl);
		free(f->cu_ranges);
		cu_indexes_free(f);
		free(f->syms);
		free(f->order);
		free(f->reach);
		free(f->huge);
		free(f->bounds);
		free(f->secs);
		free(f->gap_names);
		free(f->gap_known);
		free(f->disk_id);
		free(f);
	}
	struct interned *s, *stmp;
	HASH_ITER(hh, sym->strings, s, stmp) {
		HASH_DEL(sym->strings, s);
		free(s);
	}
	for (size_t i = 0; i < sym->nmodules; i++)
		free(sym->modules[i]);
	free(sym->modules);
	free(sym->warnings);
	free(sym);
}

/* Reads the on-disk build-id now, so a mismatch is known (and warned
 * about) as soon as the module is added; debug info waits for first use. */
static void check_file(struct lt_symbolizer *sym, struct elf_file *f)
{
	/* The path comes from the dump, which is untrusted: never block
	 * opening it (a FIFO, a terminal) and read only regular files. */
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0) {
		f->state = FILE_MISSING;
		warn(sym, "%s: cannot open (%s); frames shown as offsets",
		     f->path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		f->state = FILE_NOT_ELF;
		warn(sym, "%s: not a regular file; frames shown as offsets",
		     f->path);
		close(fd);
		return;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		f->state = FILE_NOT_ELF;
		warn(sym, "%s: not an ELF file (%s); frames shown as offsets",
		     f->path, elf_errmsg(-1));
	} else {
		f->state = FILE_CHECKED;
		const void *id = NULL;
		ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
		if (len > 0 && id) {
			f->disk_id = malloc((size_t)len);
			if (f->disk_id) {
				memcpy(f->disk_id, id, (size_t)len);
				f->disk_id_len = (size_t)len;
			}
		}
	}
	elf_end(elf);
	close(fd);
}

/* The file is reported at bias 0, so lookups use addresses minus the
 * traced bias; one Dwfl then serves every mapping of the file. */
static void open_dwfl(struct lt_symbolizer *sym, struct elf_file *f)
{
	f->state = FILE_BROKEN;
	f->dwfl = dwfl_begin(&offline_callbacks);
	if (!f->dwfl) {
		warn(sym, "%s: cannot start libdwfl (%s); frames shown as offsets",
		     f->path, dwfl_errmsg(-1));
		return;
	}
	dwfl_report_begin(f->dwfl);
	f->dwmod = dwfl_report_elf(f->dwfl, base_name(f->path), f->path, -1,
				   0, false);
	if (dwfl_report_end(f->dwfl, NULL, NULL) != 0 || !f->dwmod) {
		warn(sym, "%s: cannot read symbols (%s); frames shown as offsets",
		     f->path, dwfl_errmsg(-1));
		f->dwmod = NULL;
		return;
	}
	f->state = FILE_READY;
}

static struct elf_file *get_file(struct lt_symbolizer *sym, const char *path)
{
	size_t len = strlen(path);
	struct elf_file *f;
	HASH_FIND(hh, sym->files, path, len, f);
	if (f)
		return f;
	f = calloc(1, sizeof(*f) + len + 1);
	if (!f)
		return NULL;
	memcpy(f->path, path, len + 1);
	if (LT_HASH_ADD(sym->files, path, len, f) != 0) {
		free(f);
		return NULL;
	}
	check_file(sym, f);
	return f;
}

int lt_sym_add_module(struct lt_symbolizer *sym, const char *path,
		      uint64_t bias, uint64_t lo, uint64_t hi,
		      const uint8_t *build_id, size_t build_id_len,
		      uint64_t load_ticks)
{
	if (!sym || !path || hi < lo)
		return -EINVAL;
	if (sym->nmodules == sym->modules_cap) {
		size_t cap = sym->modules_cap ? sym->modules_cap * 2 : 16;
		struct module **grown = realloc(sym->modules,
						cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		sym->modules = grown;
		sym->modules_cap = cap;
	}
	struct module *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->file = get_file(sym, path);
	if (!m->file) {
		free(m);
		return -ENOMEM;
	}
	m->id = sym->nmodules + 1;
	m->bias = bias;
	m->lo = lo;
	m->hi = hi;
	m->load_ticks = load_ticks;

	struct elf_file *f = m->file;
	if (build_id && build_id_len > 0 && f->state == FILE_CHECKED &&
	    (f->disk_id_len != build_id_len ||
	     memcmp(f->disk_id, build_id, build_id_len) != 0)) {
		m->id_differs = true;
		if (!f->warned_mismatch) {
			f->warned_mismatch = true;
			warn(sym, "%s: build-id differs from the traced run "
			     "(file changed since?); frames shown as offsets",
			     f->path);
		}
	}
	sym->modules[sym->nmodules++] = m;
	return 0;
}

/*
 * Callers may add every module first and unload afterwards, so the module
 * meant is the one at bias still mapped that was loaded last at or before
 * unload_ticks, not simply the last one added.
 */
void lt_sym_unload_module(struct lt_symbolizer *sym, uint64_t bias,
			  uint64_t unload_ticks)
{
	if (!sym)
		return;
	struct module *best = NULL;
	for (size_t i = 0; i < sym->nmodules; i++) {
		struct module *m = sym->modules[i];
		if (m->bias != bias || m->unloaded)
			continue;
		bool before = m->load_ticks <= unload_ticks;
		bool best_before = best && best->load_ticks <= unload_ticks;
		/* Prefer loaded-before; among those the latest, else the
		 * earliest loaded after (clock skew). */
		if (!best || (before && !best_before) ||
		    (before && best_before && m->load_ticks >= best->load_ticks) ||
		    (!before && !best_before && m->load_ticks < best->load_ticks))
			best = m;
	}
	if (best) {
		best->unloaded = true;
		best->unload_ticks = unload_ticks;
	}
}

/* How far ticks lies outside m's lifetime; 0 when m was mapped then. */
static uint64_t ticks_distance(const struct module *m, uint64_t ticks)
{
	if (ticks < m->load_ticks)
		return m->load_ticks - ticks;
	if (m->unloaded && ticks >= m->unload_ticks)
		return ticks - m->unload_ticks + 1;
	return 0;
}

/*
 * The module mapped over addr at ticks; 0 ticks picks the latest loaded.
 * When no lifetime contains ticks, the nearest one in time wins: a library
 * constructor allocates inside dlopen, before its load is recorded.
 */
static struct module *find_module(struct lt_symbolizer *sym, uint64_t addr,
				  uint64_t ticks)
{
	struct module *best = NULL;
	uint64_t best_score = 0;
	for (size_t i = 0; i < sym->nmodules; i++) {
		struct module *m = sym->modules[i];
		if (addr < m->lo || addr >= m->hi)
			continue;
		if (ticks == 0) {
			if (!best || m->load_ticks >= best_score) {
				best = m;
				best_score = m->load_ticks;
			}
		} else {
			uint64_t d = ticks_distance(m, ticks);
			if (!best || d <= best_score) {
				best = m;
				best_score = d;
			}
		}
	}
	return best;
}

/*
 * The C++ linkage name when there is one (it demangles to the qualified
 * name with parameters), else DW_AT_name, following DW_AT_abstract_origin
 * and DW_AT_specification.  eu-addr2line prefers any linkage name, but in
 * C that is only an asm label: glibc would show qsort as "__GI_qsort".
 */
static const char *die_function(struct lt_symbolizer *sym, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *linkage = dwarf_formstring(
		dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!linkage)
		linkage = dwarf_formstring(
			dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	const char *name = dwarf_formstring(
		dwarf_attr_integrate(die, DW_AT_name, &attr));
	if (linkage && (strncmp(linkage, "_Z", 2) == 0 || !name))
		name = linkage;
	return intern_function(sym, name);
}

static bool is_function_scope(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

static int cmp_cu_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Every CU's address ranges, sorted; on out of memory the table is just
 * shorter and some addresses lose their file:line. */
static void build_cu_ranges(struct elf_file *f)
{
	size_t cap = 0;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = NULL;

	f->cu_ranges_built = true;
	while ((cu = dwfl_module_nextcu(f->dwmod, cu, &bias)) != NULL) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t at = 0;
		while ((at = dwarf_ranges(cu, at, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			if (f->ncu_ranges == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct cu_range *grown = realloc(f->cu_ranges,
						ncap * sizeof(*grown));
				if (!grown)
					goto sort;
				f->cu_ranges = grown;
				cap = ncap;
			}
			f->cu_ranges[f->ncu_ranges++] = (struct cu_range){
				.lo = lo + bias, .hi = hi + bias,
				.bias = bias, .cu = cu,
			};
		}
	}
sort:
	if (f->ncu_ranges)
		qsort(f->cu_ranges, f->ncu_ranges, sizeof(f->cu_ranges[0]),
		      cmp_cu_range);
}

/*
 * The CU containing off.  libdwfl looks it up through .debug_aranges and,
 * in elfutils 0.188, finds nothing without that section, which clang does
 * not emit by default; then the CUs' own ranges decide.
 */
static Dwarf_Die *find_cu(struct elf_file *f, Dwarf_Addr off,
			  Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(f->dwmod, off, bias);
	if (cu)
		return cu;
	if (!f->cu_ranges_built)
		build_cu_ranges(f);
	size_t lo = 0, hi = f->ncu_ranges;
	while (lo < hi) {       /* first range starting above off */
		size_t mid = lo + (hi - lo) / 2;
		if (f->cu_ranges[mid].lo <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges may nest (a CU inside another's span): look back a little. */
	for (size_t i = lo, seen = 0; i-- > 0 && seen < 8; seen++) {
		const struct cu_range *r = &f->cu_ranges[i];
		if (off < r->hi) {
			*bias = r->bias;
			return r->cu;
		}
	}
	return NULL;
}

/* ---- the scopes at an address, without walking the CU each time ------- */

/*
 * dwarf_getscopes() and dwarf_getscopes_die() walk the whole CU for every
 * address: 7 million instructions each in a C++ CU full of the standard
 * library, a third of a report of a 4-thread C++ program built with -g.
 * A CU's top-level DIEs are listed here once with the span of their
 * ranges, and the DIEs libdw's walk would visit are put in a set once,
 * the first time an inlined instance needs its abstract origin found; the
 * answer is libdw's (libdw/dwarf_getscopes.c, libdw_visit_scopes.c,
 * elfutils 0.188).  Anything unusual (an imported unit, a DIE whose ranges
 * libdw cannot read) goes back to libdw.
 */
struct cu_top {
	Dwarf_Die die;
	Dwarf_Addr lo, hi;       /* the span of its ranges; lo > hi: unread */
};

struct cu_index {
	UT_hash_handle hh;
	void *key;               /* the CU DIE's addr */
	struct cu_top *top;      /* top-level DIEs with ranges, in DIE order */
	size_t ntop;
	uintptr_t *walked;       /* open-addressing set of DIE addrs */
	size_t walked_mask;
	bool walked_built, usable;
};

#define SCOPES_DEPTH 256

static bool lt_force_libdw_scopes;   /* for lt_sym_check_inlines */

static void cu_indexes_free(struct elf_file *f)
{
	struct cu_index *ci, *tmp;

	HASH_ITER(hh, f->cu_indexes, ci, tmp) {
		HASH_DEL(f->cu_indexes, ci);
		free(ci->top);
		free(ci->walked);
		free(ci);
	}
}

/* The DIEs libdw's scope walk descends into. */
static bool may_have_scopes(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit: case DW_TAG_module: case DW_TAG_lexical_block:
	case DW_TAG_with_stmt: case DW_TAG_catch_block: case DW_TAG_try_block:
	case DW_TAG_entry_point: case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram: case DW_TAG_namespace: case DW_TAG_class_type:
	case DW_TAG_structure_type:
		return true;
	default:
		return false;
	}
}

static struct cu_index *cu_index_of(struct elf_file *f, Dwarf_Die *cudie)
{
	struct cu_index *ci;
	Dwarf_Die child;
	size_t cap = 0;
	int rc;

	HASH_FIND(hh, f->cu_indexes, &cudie->addr, sizeof(ci->key), ci);
	if (ci)
		return ci;
	ci = calloc(1, sizeof(*ci));
	if (!ci)
		return NULL;
	ci->key = cudie->addr;
	ci->usable = true;
	for (rc = dwarf_child(cudie, &child); rc == 0; rc = dwarf_siblingof(&child, &child)) {
		Dwarf_Addr base, lo, hi, min = UINT64_MAX, max = 0;
		ptrdiff_t at = 0;

		if (dwarf_tag(&child) == DW_TAG_imported_unit) {
			ci->usable = false;
			break;
		}
		while ((at = dwarf_ranges(&child, at, &base, &lo, &hi)) > 0) {
			if (lo < min)
				min = lo;
			if (hi > max)
				max = hi;
		}
		if (at < 0) {
			min = 1;         /* unread: always asked */
			max = 0;
		} else if (min >= max) {
			continue;        /* no range: never holds an address */
		}
		if (ci->ntop == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			void *v = realloc(ci->top, ncap * sizeof(*ci->top));
			if (!v) {
				ci->usable = false;
				break;
			}
			ci->top = v;
			cap = ncap;
		}
		ci->top[ci->ntop++] = (struct cu_top){ child, min, max };
	}
	if (rc < 0)
		ci->usable = false;
	if (LT_HASH_ADD(f->cu_indexes, key, sizeof(ci->key), ci) != 0) {
		free(ci->top);
		free(ci);
		return NULL;
	}
	return ci;
}

static size_t walked_slot(const struct cu_index *ci, uintptr_t a)
{
	return (size_t)((a * 0x9e3779b97f4a7c15ull) >> 20) & ci->walked_mask;
}

static bool walked_add(struct cu_index *ci, uintptr_t a, size_t *count)
{
	if ((*count + 1) * 2 > ci->walked_mask + 1) {
		size_t ncap = (ci->walked_mask + 1) * 2;
		uintptr_t *old = ci->walked, *v = calloc(ncap, sizeof(*v));
		size_t omask = ci->walked_mask;

		if (!v)
			return false;
		ci->walked = v;
		ci->walked_mask = ncap - 1;
		for (size_t i = 0; i <= omask; i++)
			if (old[i]) {
				size_t j = walked_slot(ci, old[i]);
				while (v[j])
					j = (j + 1) & ci->walked_mask;
				v[j] = old[i];
			}
		free(old);
	}
	size_t j = walked_slot(ci, a);
	while (ci->walked[j] && ci->walked[j] != a)
		j = (j + 1) & ci->walked_mask;
	if (!ci->walked[j])
		(*count)++;
	ci->walked[j] = a;
	return true;
}

/* Every DIE libdw's walk from the CU visits: each child of the CU and of
 * every visited DIE it descends into.  false: use libdw. */
static bool build_walked(struct cu_index *ci, Dwarf_Die *cudie)
{
	Dwarf_Die stack[SCOPES_DEPTH];
	size_t depth = 0, count = 0;

	ci->walked_built = true;
	ci->walked_mask = 1023;
	ci->walked = calloc(ci->walked_mask + 1, sizeof(*ci->walked));
	if (!ci->walked || dwarf_child(cudie, &stack[0]) != 0)
		goto fail;
	depth = 1;
	while (depth > 0) {
		Dwarf_Die *d = &stack[depth - 1];
		int tag = dwarf_tag(d);

		if (tag == DW_TAG_imported_unit ||
		    !walked_add(ci, (uintptr_t)d->addr, &count))
			goto fail;
		if (may_have_scopes(tag) && depth < SCOPES_DEPTH) {
			int rc = dwarf_child(d, &stack[depth]);
			if (rc < 0)
				goto fail;
			if (rc == 0) {
				depth++;
				continue;
			}
		} else if (may_have_scopes(tag)) {
			goto fail;
		}
		/* Next sibling here, or of the nearest ancestor that has one. */
		for (;;) {
			int rc = dwarf_siblingof(&stack[depth - 1], &stack[depth - 1]);
			if (rc < 0)
				goto fail;
			if (rc == 0)
				break;
			if (--depth == 0)
				break;
		}
	}
	return true;
fail:
	ci->usable = false;
	return false;
}

static bool walked_has(const struct cu_index *ci, const void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	for (size_t j = walked_slot(ci, a); ci->walked[j]; j = (j + 1) & ci->walked_mask)
		if (ci->walked[j] == a)
			return true;
	return false;
}

/*
 * What dwarf_getscopes_die(&scopes[0]) gives after dwarf_getscopes(cudie,
 * pc, &scopes): the innermost DIE holding pc and its parents up to the CU,
 * in *chain (malloc'd).  0 where libdw finds no scope (or cannot find an
 * inlined instance's abstract origin in the CU, which makes it answer
 * none); -2 to ask libdw itself.
 */
static int scope_chain(struct elf_file *f, Dwarf_Die *cudie, Dwarf_Addr pc,
		       Dwarf_Die **chain)
{
	Dwarf_Die path[SCOPES_DEPTH];
	struct cu_index *ci;
	int n = 0, inlined = -1, r;

	if (lt_force_libdw_scopes || !(ci = cu_index_of(f, cudie)) || !ci->usable)
		return -2;
	for (size_t i = 0; i < ci->ntop && !n; i++) {
		const struct cu_top *t = &ci->top[i];

		if (t->lo <= t->hi && (pc < t->lo || pc >= t->hi))
			continue;
		r = dwarf_haspc((Dwarf_Die *)&t->die, pc);
		if (r < 0)
			return -2;
		if (r > 0)
			path[n++] = t->die;
	}
	if (!n)
		return 0;
	/* The first child holding pc, level by level, as libdw's walk. */
	while (may_have_scopes(dwarf_tag(&path[n - 1]))) {
		Dwarf_Die child;
		int rc = dwarf_child(&path[n - 1], &child);

		if (rc < 0)
			return -2;
		if (rc > 0)
			break;
		for (;;) {
			if (dwarf_tag(&child) == DW_TAG_imported_unit)
				return -2;
			r = dwarf_haspc(&child, pc);
			if (r < 0)
				return -2;
			if (r > 0)
				break;
			rc = dwarf_siblingof(&child, &child);
			if (rc < 0)
				return -2;
			if (rc > 0)
				break;
		}
		if (r <= 0)
			break;
		if (n == SCOPES_DEPTH)
			return -2;
		path[n++] = child;
	}
	for (int i = 0; i < n; i++)
		if (dwarf_tag(&path[i]) == DW_TAG_inlined_subroutine)
			inlined = i;
	if (inlined >= 0) {
		/* libdw then looks for the innermost instance's abstract
		 * origin in the CU, and answers none without it. */
		Dwarf_Attribute attr;
		Dwarf_Die origin;

		if (!dwarf_formref_die(dwarf_attr(&path[inlined], DW_AT_abstract_origin,
						  &attr), &origin))
			return 0;
		if (!ci->walked_built && !build_walked(ci, cudie))
			return -2;
		if (!ci->usable)
			return -2;
		if (!walked_has(ci, origin.addr))
			return 0;
	}
	*chain = malloc((size_t)(n + 1) * sizeof(**chain));
	if (!*chain)
		return -2;
	for (int i = 0; i < n; i++)
		(*chain)[i] = path[n - 1 - i];
	(*chain)[n] = *cudie;
	return n + 1;
}

/*
 * The inline chain at off, innermost first, as eu-addr2line -i prints it:
 * each inlined function at the line below it, then its caller at the
 * DW_AT_call_file/DW_AT_call_line of that inlined instance.  dwarf_getscopes
 * continues an inlined instance into its abstract definition, so the
 * lexical nesting comes from dwarf_getscopes_die on the innermost scope.
 * Returns the number of frames, 0 when DWARF says nothing about off.
 */
static int inline_chain(struct lt_symbolizer *sym, struct elf_file *f,
			Dwarf_Die *cudie,
			Dwarf_Addr dwbias, Dwarf_Addr off,
			const char *src, int line,
			const struct lt_sym_frame *base,
			struct lt_sym_frame *frames, int max)
{
	Dwarf_Die *chain = NULL;
	int nchain = scope_chain(f, cudie, off - dwbias, &chain);

	if (nchain == -2) {
		Dwarf_Die *scopes = NULL;
		int nscopes = dwarf_getscopes(cudie, off - dwbias, &scopes);
		if (nscopes <= 0) {
			free(scopes);
			return 0;
		}
		nchain = dwarf_getscopes_die(&scopes[0], &chain);
		free(scopes);
	}
	if (nchain <= 0) {
		free(chain);
		return 0;
	}

	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	if (dwarf_getsrcfiles(cudie, &files, &nfiles) != 0)
		files = NULL;

	int n = 0;
	for (int i = 0; i < nchain && n < max; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (!is_function_scope(tag))
			continue;
		struct lt_sym_frame *fr = &frames[n++];
		*fr = *base;
		fr->function = die_function(sym, &chain[i]);
		fr->file = intern(sym, src);
		fr->line = fr->file ? line : 0;
		fr->inlined = tag == DW_TAG_inlined_subroutine;
		if (!fr->inlined)
			break;

		Dwarf_Attribute attr;
		Dwarf_Word val;
		src = NULL;
		line = 0;
		if (files && dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_file,
							&attr), &val) == 0 &&
		    val < nfiles)
			src = dwarf_filesrc(files, val, NULL, NULL);
		if (dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_line, &attr),
				    &val) == 0 && val <= INT_MAX)
			line = (int)val;
	}
	if (n > 0)
		frames[n - 1].inlined = false;
	free(chain);
	return n;
}

/* ---- function names from the symbol table ------------------------------ */

/* libdw's rank of a binding: global over weak over local. */
static int binding_rank(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL: return 3;
	case STB_WEAK:   return 2;
	case STB_LOCAL:  return 1;
	default:         return 0;
	}
}

struct kv {
	uint64_t key, val;
};

static int cmp_kv(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->val < y->val ? -1 : x->val > y->val;
}

/*
 * Sort by key, keeping the order of equal keys: a radix sort, a byte a
 * pass, skipping the bytes every key shares (qsort on val breaks ties when
 * out of memory, so callers give vals in ascending order or do not care).
 * qsort of libLLVM's 120,000 symbol bounds took 8% of a report of clang.
 */
static void sort_kv(struct kv *a, size_t n)
{
	struct kv *tmp = n > 1 ? malloc(n * sizeof(*tmp)) : NULL;
	struct kv *src = a, *dst = tmp;
	uint64_t any = 0, all = ~0ull;

	if (n > 1 && !tmp) {
		qsort(a, n, sizeof(*a), cmp_kv);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		any |= a[i].key;
		all &= a[i].key;
	}
	for (unsigned shift = 0; n > 1 && shift < 64; shift += 8) {
		size_t at[256] = { 0 }, sum = 0;

		if (!(((any ^ all) >> shift) & 0xff))
			continue;
		for (size_t i = 0; i < n; i++)
			at[(src[i].key >> shift) & 0xff]++;
		for (unsigned b = 0; b < 256; b++) {
			size_t c = at[b];
			at[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[at[(src[i].key >> shift) & 0xff]++] = src[i];
		struct kv *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	free(tmp);
}

/*
 * Where no sized symbol holds an address, libdw's answer depends on which
 * symbols start at or below it, which end above it, and its section: all
 * the same between two consecutive starts, ends or section bounds.  Those
 * gaps are listed so that its answer is asked once per gap.
 */
static void build_bounds(struct elf_file *f, Elf *elf, GElf_Addr ebias)
{
	size_t nsections = 0, cap, n = 0, k = 0;
	Elf_Scn *scn = NULL;
	struct kv *all;

	if (elf_getshdrnum(elf, &nsections) < 0)
		nsections = 0;
	cap = 2 * f->nsyms + 2 * nsections + 1;
	all = malloc(cap * sizeof(*all));
	f->bounds = malloc(cap * sizeof(*f->bounds));
	if (!all || !f->bounds) {
		free(all);
		free(f->bounds);
		f->bounds = NULL;
		return;
	}
	for (size_t i = 0; i < f->nsyms; i++) {
		all[n++].key = f->syms[i].value;
		all[n++].key = f->syms[i].value + f->syms[i].size;
	}
	while ((scn = elf_nextscn(elf, scn)) != NULL && n + 3 <= cap) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		all[n++].key = sh.sh_addr + ebias;
		all[n++].key = sh.sh_addr + ebias + sh.sh_size;
	}
	all[n++].key = 0;
	for (size_t i = 0; i < n; i++)
		all[i].val = 0;
	sort_kv(all, n);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || all[i].key != f->bounds[k - 1])
			f->bounds[k++] = all[i].key;
	free(all);
	f->gap_names = calloc(k, sizeof(*f->gap_names));
	f->gap_known = calloc(k, sizeof(*f->gap_known));
	if (!f->gap_names || !f->gap_known) {
		free(f->bounds);
		f->bounds = NULL;
		return;
	}
	f->nbounds = k;
}

/*
 * A symbol holding addr starts at or below it; walking down from there by
 * start, none further down can hold it once reach[] (the furthest end
 * below) is at or below addr.  One huge symbol (a big table) would make
 * every walk go to the bottom, so those are kept apart and always looked
 * at.  Without the index (out of memory) the lookups scan every symbol.
 */
#define SYM_HUGE (64u << 10)

static void build_order(struct elf_file *f)
{
	struct kv *by = malloc(f->nsyms * sizeof(*by));
	uint64_t far = 0;

	f->order = malloc(f->nsyms * sizeof(*f->order));
	f->reach = malloc(f->nsyms * sizeof(*f->reach));
	f->huge = malloc(f->nsyms * sizeof(*f->huge));
	if (!by || !f->order || !f->reach || !f->huge || f->nsyms > UINT32_MAX) {
		free(f->order);
		free(f->reach);
		free(f->huge);
		f->order = NULL;
		f->reach = NULL;
		f->huge = NULL;
		free(by);
		return;
	}
	for (size_t i = 0; i < f->nsyms; i++) {
		by[i] = (struct kv){ f->syms[i].value, i };
		if (f->syms[i].size >= SYM_HUGE)
			f->huge[f->nhuge++] = (uint32_t)i;
	}
	sort_kv(by, f->nsyms);
	for (size_t k = 0; k < f->nsyms; k++) {
		const struct sym_entry *e = &f->syms[by[k].val];

		f->order[k] = (uint32_t)by[k].val;
		if (e->size < SYM_HUGE && e->value + e->size > far)
			far = e->value + e->size;
		f->reach[k] = far;
	}
	free(by);
}

/* The first position in order[] whose symbol starts above addr (after >
 * 0) or at or above it. */
static size_t order_bound(const struct elf_file *f, uint64_t addr, bool after)
{
	size_t lo = 0, hi = f->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t v = f->syms[f->order[mid]].value;

		if (v < addr || (after && v == addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_sec_range(const void *a, const void *b)
{
	const struct sec_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->ndx < y->ndx ? -1 : x->ndx > y->ndx;
}

/*
 * The SHF_ALLOC sections as libdw's cache_sections() lists them for a
 * loaded (not relocatable) file, sorted as it sorts them.  Where it fails
 * (no section names) it finds no section for any address, and so does
 * find_sec() with none listed.
 */
static void build_secs(struct elf_file *f, Elf *elf, GElf_Addr ebias)
{
	size_t shstrndx, n = 0, cap = 0;
	Elf_Scn *scn = NULL;
	struct sec_range *v = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		goto none;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			goto none;
		if (!(sh.sh_flags & SHF_ALLOC))
			continue;
		if (!elf_strptr(elf, shstrndx, sh.sh_name))
			goto none;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 32;
			void *p = realloc(v, ncap * sizeof(*v));
			if (!p)
				goto fail;
			v = p;
			cap = ncap;
		}
		v[n++] = (struct sec_range){
			.start = sh.sh_addr + ebias,
			.end = sh.sh_addr + ebias + sh.sh_size,
			.ndx = elf_ndxscn(scn),
		};
	}
	qsort(v, n, sizeof(*v), cmp_sec_range);
	f->secs = v;
	f->nsecs = n;
	f->gaps_computed = true;
	return;
none:
	f->gaps_computed = true;    /* no section at all, as libdw has it */
fail:
	free(v);
}

/* The index of the section libdw's find_section() puts addr in; 0
 * (SHN_UNDEF) for none.  A section's end counts as inside it unless the
 * next section starts there. */
static size_t find_sec(const struct elf_file *f, uint64_t addr)
{
	size_t l = 0, u = f->nsecs;

	while (l < u) {
		size_t i = (l + u) / 2;

		if (addr < f->secs[i].start) {
			u = i;
		} else if (addr > f->secs[i].end) {
			l = i + 1;
		} else {
			if (addr == f->secs[i].end && i + 1 < f->nsecs &&
			    addr == f->secs[i + 1].start)
				i++;
			return f->secs[i].ndx;
		}
	}
	return SHN_UNDEF;
}

/*
 * What dwfl_module_addrname() answers for addr where no sized symbol holds
 * it and no symbol starts exactly at it (libdwfl/dwfl_module_addrsym.c,
 * elfutils 0.188).  It visits the symbols in the order syms[] holds them,
 * raising a floor (min_label) to the end of each symbol starting at or
 * below addr, and keeps the last sizeless one that starts at or above the
 * floor so far and lies in addr's section by find_section(), if that one
 * is still at or above the final floor.  Every symbol raises the floor to
 * at least its own start, so the answer starts exactly at the final floor
 * M: the last sizeless symbol starting at M, in addr's section.  One of
 * SHN_ABS and the like matches only when it starts at addr.
 */
static const char *gap_label(const struct elf_file *f, uint64_t addr)
{
	uint64_t floor = 0;
	size_t where = find_sec(f, addr), k;

	k = order_bound(f, addr, true);
	if (k > 0)
		floor = f->reach[k - 1];
	for (size_t h = 0; h < f->nhuge; h++) {
		const struct sym_entry *e = &f->syms[f->huge[h]];

		if (e->value <= addr && e->value + e->size > floor)
			floor = e->value + e->size;
	}
	if (floor > addr)
		return NULL;
	/* Those starting at floor, the last in the table's order first. */
	for (k = order_bound(f, floor, true); k-- > 0;) {
		const struct sym_entry *e = &f->syms[f->order[k]];

		if (e->value != floor)
			break;
		if (e->size == 0 && !e->special && find_sec(f, floor) == where)
			return e->name;
	}
	return NULL;
}

/*
 * libdw's answer, remembered per gap: worked out by gap_label() for a
 * loaded file, asked of libdw for a relocatable one; a bound itself (where
 * a sizeless symbol may start exactly) is always asked.  Each question
 * reads the whole table: 4 ms on a stripped cc1, 3 ms on libLLVM, whose
 * 28 gaps in a clang run were 40% of its report.  Where no sized symbol
 * holds addr, libdw can only answer with a sizeless one that starts at or
 * below it: below the lowest of those the answer is none at once.
 */
static const char *gap_name(struct elf_file *f, uint64_t addr)
{
	size_t lo = 0, hi = f->nbounds;

	if (addr < f->first_sizeless)
		return NULL;
	if (!f->bounds)
		return dwfl_module_addrname(f->dwmod, addr);
	while (hi - lo > 1) {          /* the last bound <= addr; bounds[0] = 0 */
		size_t mid = lo + (hi - lo) / 2;
		if (f->bounds[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (f->bounds[lo] == addr)
		return dwfl_module_addrname(f->dwmod, addr);
	if (!f->gap_known[lo]) {
		f->gap_names[lo] = f->gaps_computed ? gap_label(f, addr) :
				   dwfl_module_addrname(f->dwmod, addr);
		f->gap_known[lo] = true;
	}
	return f->gap_names[lo];
}

/*
 * dwfl_module_addrname() reads every symbol of the table, through libelf,
 * on every call: about a millisecond for the 29,000 dynamic symbols of a
 * stripped cc1, which was half of the report of a gcc run.  The symbols it
 * can choose from are copied here once, in the order it visits them, and
 * sym_name() repeats its choice over the copy.
 *
 * Its choice skips empty names, and reading the first byte of each name
 * was most of this copy's time: libLLVM's 45,000 names lie apart in
 * megabytes of string table, a cache miss each.  So every name is asked
 * for as its symbol is copied and read NAME_AHEAD symbols later, and the
 * empty ones are dropped at the end of each pass.
 */
#define NAME_AHEAD 16

/* Drops the entries from..nsyms whose names are empty (NULL). */
static void drop_unnamed(struct elf_file *f, size_t from)
{
	size_t to = from;

	for (size_t i = from; i < f->nsyms; i++)
		if (f->syms[i].name)
			f->syms[to++] = f->syms[i];
	f->nsyms = to;
}

static void build_syms(struct elf_file *f)
{
	Dwfl_Module *mod = f->dwmod;
	int n = dwfl_module_getsymtab(mod);
	int first_global = dwfl_module_getsymtab_first_global(mod);
	GElf_Addr ebias;
	Elf *elf = dwfl_module_getelf(mod, &ebias);
	GElf_Ehdr ehdr;

	f->syms_built = true;
	f->first_sizeless = UINT64_MAX;
	if (n <= 1 || first_global < 0 || !elf || !gelf_getehdr(elf, &ehdr) ||
	    ehdr.e_machine == EM_PPC64)   /* function descriptors: libdw's way */
		return;
	f->syms = malloc((size_t)n * sizeof(*f->syms));
	if (!f->syms)
		return;
	for (int pass = 0; pass < 2; pass++) {
		int from = pass == 0 ? (first_global == 0 ? 1 : first_global) : 1;
		int to = pass == 0 ? n : first_global;
		size_t start = f->nsyms;

		for (int i = from; i < to; i++) {
			GElf_Sym s;
			GElf_Addr value;
			GElf_Word shndx;
			const char *name = dwfl_module_getsym_info(mod, i, &s, &value,
								   &shndx, NULL, NULL);
			int type = GELF_ST_TYPE(s.st_info);

			if (!name || s.st_shndx == SHN_UNDEF ||
			    type == STT_SECTION || type == STT_FILE ||
			    type == STT_TLS)
				continue;
			__builtin_prefetch(name);
			f->syms[f->nsyms++] = (struct sym_entry){
				.value = value, .size = s.st_size, .name = name,
				.binding = binding_rank(&s),
				.special = shndx >= SHN_LORESERVE,
			};
			if (f->nsyms - start > NAME_AHEAD) {
				struct sym_entry *e = &f->syms[f->nsyms - 1 - NAME_AHEAD];
				if (!e->name[0])
					e->name = NULL;
			}
		}
		for (size_t i = f->nsyms - start > NAME_AHEAD ? f->nsyms - NAME_AHEAD : start;
		     i < f->nsyms; i++)
			if (!f->syms[i].name[0])
				f->syms[i].name = NULL;
		drop_unnamed(f, start);
		if (pass == 0)
			f->nglobal_syms = f->nsyms;
	}
	for (size_t i = 0; i < f->nsyms; i++)
		if (f->syms[i].size == 0 && f->syms[i].value < f->first_sizeless)
			f->first_sizeless = f->syms[i].value;
	build_bounds(f, elf, ebias);
	build_order(f);
	if (f->order && ehdr.e_type != ET_REL)
		build_secs(f, elf, ebias);
	f->syms_usable = true;
}

static bool holds(const struct sym_entry *e, uint64_t addr)
{
	return e->size != 0 && e->value <= addr && addr - e->value < e->size;
}

/* libdw's choice between best so far and e, a sized symbol holding addr
 * that it visits next. */
static const struct sym_entry *prefer(const struct sym_entry *best,
				      const struct sym_entry *e)
{
	if (!best || best->value < e->value || best->binding < e->binding)
		return e;
	if (best->value == e->value &&
	    ((best->size > e->size && best->binding <= e->binding) ||
	     (best->size >= e->size && best->binding < e->binding)))
		return e;
	return best;
}

/* libdw's choice among the sized symbols of [from, to) that hold addr. */
static const struct sym_entry *closest_sym_scan(const struct elf_file *f,
						size_t from, size_t to,
						uint64_t addr)
{
	const struct sym_entry *best = NULL;

	for (size_t i = from; i < to; i++)
		if (holds(&f->syms[i], addr))
			best = prefer(best, &f->syms[i]);
	return best;
}

/* The same through the index: the few symbols that hold addr, taken in
 * the table's order as libdw visits them. */
static const struct sym_entry *closest_sym(const struct elf_file *f,
					   size_t from, size_t to, uint64_t addr)
{
	uint32_t held[32];
	size_t n = 0;
	const struct sym_entry *best = NULL;

	if (!f->order)
		return closest_sym_scan(f, from, to, addr);
	for (size_t k = order_bound(f, addr, true); k-- > 0 && f->reach[k] > addr;) {
		uint32_t i = f->order[k];

		if (i < from || i >= to || f->syms[i].size >= SYM_HUGE ||
		    !holds(&f->syms[i], addr))
			continue;
		if (n == sizeof(held) / sizeof(held[0]))
			return closest_sym_scan(f, from, to, addr);
		held[n++] = i;
	}
	for (size_t h = 0; h < f->nhuge; h++) {
		uint32_t i = f->huge[h];

		if (i < from || i >= to || !holds(&f->syms[i], addr))
			continue;
		if (n == sizeof(held) / sizeof(held[0]))
			return closest_sym_scan(f, from, to, addr);
		held[n++] = i;
	}
	for (size_t a = 1; a < n; a++)          /* a handful: insertion sort */
		for (size_t b = a; b > 0 && held[b - 1] > held[b]; b--) {
			uint32_t t = held[b];
			held[b] = held[b - 1];
			held[b - 1] = t;
		}
	for (size_t a = 0; a < n; a++)
		best = prefer(best, &f->syms[held[a]]);
	return best;
}

/* Whether a sizeless global starts exactly at addr. */
static bool sizeless_global_at(const struct elf_file *f, uint64_t addr)
{
	if (!f->order) {
		for (size_t i = 0; i < f->nglobal_syms; i++)
			if (f->syms[i].size == 0 && f->syms[i].value == addr)
				return true;
		return false;
	}
	for (size_t k = order_bound(f, addr, false);
	     k < f->nsyms && f->syms[f->order[k]].value == addr; k++)
		if (f->order[k] < f->nglobal_syms && f->syms[f->order[k]].size == 0)
			return true;
	return false;
}

/*
 * The name dwfl_module_addrname(f->dwmod, addr) gives.  It takes the
 * locals only when no global holds addr and no sizeless global starts
 * exactly at addr; when no sized symbol holds it, it weighs sizeless ones
 * (assembly labels) by section, and that answer is its own (gap_name).
 */
static const char *sym_name(struct elf_file *f, uint64_t addr)
{
	const struct sym_entry *e;

	if (!f->syms_built)
		build_syms(f);
	if (!f->syms_usable)
		return dwfl_module_addrname(f->dwmod, addr);
	e = closest_sym(f, 0, f->nglobal_syms, addr);
	if (e)
		return e->name;
	if (sizeless_global_at(f, addr))
		return dwfl_module_addrname(f->dwmod, addr);
	e = closest_sym(f, f->nglobal_syms, f->nsyms, addr);
	return e ? e->name : gap_name(f, addr);
}

/* Frames for off inside a readable file whose build-id matches. */
static int resolve_in_file(struct lt_symbolizer *sym, struct elf_file *f,
			   Dwarf_Addr off, const struct lt_sym_frame *base,
			   struct lt_sym_frame *frames, int max)
{
	Dwfl_Module *dwmod = f->dwmod;
	Dwarf_Addr dwbias = 0;
	Dwarf_Die *cudie = find_cu(f, off, &dwbias);

	const char *src = NULL;
	int line = 0;
	Dwfl_Line *dwline = dwfl_module_getsrc(dwmod, off);
	if (dwline) {
		Dwarf_Addr line_addr;
		src = dwfl_lineinfo(dwline, &line_addr, &line, NULL, NULL, NULL);
	} else if (cudie) {
		Dwarf_Line *dl = dwarf_getsrc_die(cudie, off - dwbias);
		if (dl) {
			src = dwarf_linesrc(dl, NULL, NULL);
			if (dwarf_lineno(dl, &line) != 0)
				line = 0;
		}
	}
	if (!src || line < 0)
		line = 0;

	int n = cudie ? inline_chain(sym, f, cudie, dwbias, off, src, line, base,
				     frames, max) : 0;
	if (n == 0) {
		frames[0] = *base;
		frames[0].file = intern(sym, src);
		frames[0].line = frames[0].file ? line : 0;
		n = 1;
	}
	/* The symbol table (.symtab, or .dynsym when stripped) names what
	 * DWARF does not: no CU, or a subprogram without a name. */
	if (!frames[n - 1].function)
		frames[n - 1].function =
			intern_function(sym, sym_name(f, off));
	return n;
}

/*
 * The C library and the dynamic loader are named from their symbol table
 * alone: reports fold their frames or show them by name (pthread_cond_wait),
 * and their DWARF, when libc6-dbg is installed, is compressed and costs
 * about 50 ms to open for a line nobody reads.
 */
static bool names_only(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-2.", 7) ||
	       !strncmp(base, "ld-linux", 8) || !strncmp(base, "ld-2.", 5);
}

static int resolve_uncached(struct lt_symbolizer *sym, struct module *m,
			    uint64_t addr, uint64_t lookup,
			    struct lt_sym_frame *frames, int max)
{
	struct lt_sym_frame base = {
		.module = m->file->path,
		.offset = addr - m->bias,
	};
	struct elf_file *f = m->file;
	if (f->state == FILE_CHECKED)
		open_dwfl(sym, f);
	if (f->state != FILE_READY || m->id_differs) {
		frames[0] = base;
		return 1;
	}
	if (names_only(f->path)) {
		frames[0] = base;
		frames[0].function = intern_function(sym,
			sym_name(f, lookup - m->bias));
		return 1;
	}
	return resolve_in_file(sym, f, lookup - m->bias, &base, frames, max);
}

int lt_sym_resolve(struct lt_symbolizer *sym, uint64_t addr,
		   bool return_address, uint64_t ticks,
		   struct lt_sym_frame *out, int max)
{
	if (!out || max <= 0)
		return 0;
	struct lt_sym_frame none = { .offset = addr };
	if (!sym) {
		out[0] = none;
		return 1;
	}
	/* A return address is one past the call: the call itself (and its
	 * line, and its inline chain) is at addr - 1. */
	uint64_t lookup = return_address && addr > 0 ? addr - 1 : addr;
	struct module *m = find_module(sym, lookup, ticks);
	if (!m) {
		out[0] = none;
		return 1;
	}

	struct resolve_key key;
	memset(&key, 0, sizeof(key));
	key.module_id = m->id;
	key.addr = addr;
	key.return_address = return_address;
	struct resolved *r;
	HASH_FIND(hh, sym->cache, &key, sizeof(key), r);
	if (!r) {
		struct lt_sym_frame frames[MAX_FRAMES];
		int n = resolve_uncached(sym, m, addr, lookup, frames, MAX_FRAMES);
		r = malloc(sizeof(*r) + (size_t)n * sizeof(frames[0]));
		if (!r) {
			/* Still answer; only the caching is lost. */
			n = n < max ? n : max;
			memcpy(out, frames, (size_t)n * sizeof(frames[0]));
			return n;
		}
		r->key = key;
		r->nframes = n;
		memcpy(r->frames, frames, (size_t)n * sizeof(frames[0]));
		if (LT_HASH_ADD(sym->cache, key, sizeof(key), r) != 0) {
			n = n < max ? n : max;
			memcpy(out, r->frames, (size_t)n * sizeof(frames[0]));
			free(r);
			return n;
		}
	}
	int n = r->nframes < max ? r->nframes : max;
	memcpy(out, r->frames, (size_t)n * sizeof(out[0]));
	return n;
}

/* "/long/absolute/path/to/src/file.c" -> "src/file.c"; else unchanged. */
static const char *short_path(const char *path)
{
	if (path[0] != '/' || strlen(path) <= LONG_PATH)
		return path;
	const char *last = strrchr(path, '/');
	const char *p = last;
	while (p > path && p[-1] != '/')
		p--;
	return p > path ? p : last + 1;
}

const char *lt_sym_format(const struct lt_sym_frame *f, char *buf, size_t len)
{
	if (!buf || len == 0)
		return buf ? buf : "";
	if (!f) {
		snprintf(buf, len, "??");
		return buf;
	}
	const char *mod = f->module ? base_name(f->module) : NULL;
	bool has_line = f->file && f->line > 0;

	if (f->function && has_line)
		snprintf(buf, len, "%s (%s:%d)", f->function,
			 short_path(f->file), f->line);
	else if (f->function && mod)
		snprintf(buf, len, "%s (%s)", f->function, mod);
	else if (f->function)
		snprintf(buf, len, "%s", f->function);
	else if (mod && has_line)
		snprintf(buf, len, "%s+0x%" PRIx64 " (%s:%d)", mod, f->offset,
			 short_path(f->file), f->line);
	else if (mod)
		snprintf(buf, len, "%s+0x%" PRIx64, mod, f->offset);
	else
		snprintf(buf, len, "0x%" PRIx64, f->offset);
	return buf;
}

/*
 * Functions that allocate on their caller's behalf: a stack ending in one
 * of them is charged to the frame that called it.  PREFIX entries match
 * demangled C++ names with any parameter list.
 */
enum match { EXACT, PREFIX };
static const struct {
	const char *name;
	enum match match;
} allocator_functions[] = {
	{ "malloc", EXACT },            { "calloc", EXACT },
	{ "realloc", EXACT },           { "reallocarray", EXACT },
	{ "free", EXACT },              { "cfree", EXACT },
	{ "memalign", EXACT },          { "aligned_alloc", EXACT },
	{ "posix_memalign", EXACT },    { "valloc", EXACT },
	{ "pvalloc", EXACT },
	{ "__libc_malloc", EXACT },     { "__libc_calloc", EXACT },
	{ "__libc_realloc", EXACT },    { "__libc_free", EXACT },
	{ "__libc_memalign", EXACT },   { "__libc_valloc", EXACT },
	{ "__libc_pvalloc", EXACT },
	{ "strdup", EXACT },            { "strndup", EXACT },
	{ "__strdup", EXACT },          { "__strndup", EXACT },
	{ "wcsdup", EXACT },
	{ "asprintf", EXACT },          { "vasprintf", EXACT },
	{ "__asprintf", EXACT },        { "__vasprintf", EXACT },
	{ "getline", EXACT },           { "getdelim", EXACT },
	{ "__getdelim", EXACT },
	{ "open_memstream", EXACT },    { "open_wmemstream", EXACT },
	{ "realpath", EXACT },          { "canonicalize_file_name", EXACT },
	{ "get_current_dir_name", EXACT }, { "getcwd", EXACT },
	{ "tempnam", EXACT },           { "scandir", EXACT },
	{ "scandirat", EXACT },         { "backtrace_symbols", EXACT },
	/* Wrappers programs put around malloc by long convention: gnulib,
	 * git and bash's x-functions, GLib, CPython's allocator layers. */
	{ "xmalloc", EXACT },           { "xcalloc", EXACT },
	{ "xrealloc", EXACT },          { "xreallocarray", EXACT },
	{ "xzalloc", EXACT },           { "xmallocz", EXACT },
	{ "xnmalloc", EXACT },          { "xstrdup", EXACT },
	{ "xstrndup", EXACT },          { "xmemdup", EXACT },
	{ "xmemdupz", EXACT },          { "sh_xmalloc", EXACT },
	{ "sh_xrealloc", EXACT },
	{ "g_malloc", EXACT },          { "g_malloc0", EXACT },
	{ "g_realloc", EXACT },         { "g_malloc_n", EXACT },
	{ "g_malloc0_n", EXACT },       { "g_realloc_n", EXACT },
	{ "g_try_malloc", EXACT },      { "g_try_malloc0", EXACT },
	{ "g_try_realloc", EXACT },     { "g_strdup", EXACT },
	{ "g_strndup", EXACT },         { "g_memdup", EXACT },
	{ "g_memdup2", EXACT },
	{ "PyMem_RawMalloc", EXACT },   { "PyMem_RawCalloc", EXACT },
	{ "PyMem_RawRealloc", EXACT },  { "_PyMem_RawMalloc", EXACT },
	{ "_PyMem_RawCalloc", EXACT },  { "_PyMem_RawRealloc", EXACT },
	{ "PyMem_Malloc", EXACT },      { "PyMem_Calloc", EXACT },
	{ "PyMem_Realloc", EXACT },     { "PyObject_Malloc", EXACT },
	{ "PyObject_Calloc", EXACT },   { "PyObject_Realloc", EXACT },
	{ "_PyObject_Malloc", EXACT },  { "_PyObject_Calloc", EXACT },
	{ "_PyObject_Realloc", EXACT },
	{ "operator new", PREFIX },     { "operator delete", PREFIX },
	{ "std::allocator<", PREFIX },
	{ "std::__new_allocator<", PREFIX },
	{ "__gnu_cxx::new_allocator<", PREFIX },
	{ "std::allocator_traits<", PREFIX },
};

/* Modules whose every frame is the allocator's or ours, by basename. */
static const char *const allocator_modules[] = {
	"libc.so", "libc-2.", "ld-linux", "ld-2.",
	"libstdc++.so", "libc++.so", "libc++abi.so",
	"libtrace.so",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool lt_sym_is_allocator_frame(const struct lt_sym_frame *f)
{
	if (!f)
		return false;
	if (f->module) {
		const char *mod = base_name(f->module);
		for (size_t i = 0; i < COUNT(allocator_modules); i++)
			if (strncmp(mod, allocator_modules[i],
				    strlen(allocator_modules[i])) == 0)
				return true;
	}
	if (f->function) {
		for (size_t i = 0; i < COUNT(allocator_functions); i++) {
			const char *name = allocator_functions[i].name;
			bool hit = allocator_functions[i].match == EXACT
				? strcmp(f->function, name) == 0
				: strncmp(f->function, name, strlen(name)) == 0;
			if (hit)
				return true;
		}
	}
	return false;
}

const char *lt_sym_warnings(const struct lt_symbolizer *sym)
{
	return sym && sym->warnings ? sym->warnings : "";
}

static bool same_name(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* For the checks below: path opened with its symbol index built, or NULL
 * (and *symp freed) when there is none to compare. */
static struct elf_file *check_open(const char *path, struct lt_symbolizer **symp)
{
	struct lt_symbolizer *sym = lt_sym_new();
	struct elf_file *f = sym ? get_file(sym, path) : NULL;

	if (f && f->state == FILE_CHECKED)
		open_dwfl(sym, f);
	if (f && f->state == FILE_READY)
		build_syms(f);
	if (!f || f->state != FILE_READY || !f->syms_usable || !f->nsyms) {
		lt_sym_free(sym);
		return NULL;
	}
	*symp = sym;
	return f;
}

/* The span of f's symbols (the sized ones only if asked). */
static void check_span(const struct elf_file *f, bool sized, uint64_t *lo,
		       uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (size_t i = 0; i < f->nsyms; i++) {
		if (sized && f->syms[i].size == 0)
			continue;
		if (f->syms[i].value < *lo)
			*lo = f->syms[i].value;
		if (f->syms[i].value + f->syms[i].size > *hi)
			*hi = f->syms[i].value + f->syms[i].size;
	}
}

long lt_sym_check_names(const char *path, unsigned n, uint64_t *first_bad)
{
	struct lt_symbolizer *sym;
	struct elf_file *f = check_open(path, &sym);
	uint64_t lo, hi;
	long bad = 0;

	/* No index, nothing compared: say so rather than pass. */
	if (!f)
		return -1;
	check_span(f, false, &lo, &hi);
	for (uint64_t a = lo ? lo - 1 : 0; n == 0 && a <= hi; a++) {
		if (same_name(sym_name(f, a), dwfl_module_addrname(f->dwmod, a)))
			continue;
		if (bad++ == 0 && first_bad)
			*first_bad = a;
	}
	for (unsigned i = 0; i < n && f->nsyms && hi > lo; i++) {
		const struct sym_entry *e = &f->syms[(size_t)i * f->nsyms / n];
		uint64_t at[6] = {
			e->value - 1, e->value, e->value + 1, e->value + e->size / 2,
			e->value + e->size - 1, lo + (hi - lo) / n * i + i % 7,
		};
		for (unsigned k = 0; k < 6; k++) {
			if (same_name(sym_name(f, at[k]),
				      dwfl_module_addrname(f->dwmod, at[k])))
				continue;
			if (bad++ == 0 && first_bad)
				*first_bad = at[k];
		}
	}
	lt_sym_free(sym);
	return bad;
}

static bool same_frames(const struct lt_sym_frame *a, int na,
			const struct lt_sym_frame *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (!same_name(a[i].function, b[i].function) ||
		    !same_name(a[i].file, b[i].file) || a[i].line != b[i].line ||
		    a[i].inlined != b[i].inlined)
			return false;
	return true;
}

long lt_sym_check_inlines(const char *path, unsigned n, uint64_t *first_bad,
			  long *inlined)
{
	struct lt_symbolizer *sym;
	struct elf_file *f = check_open(path, &sym);
	uint64_t lo, hi;
	long bad = 0;

	*inlined = 0;
	if (!f)
		return -1;
	check_span(f, true, &lo, &hi);
	for (unsigned i = 0; i < n && hi > lo; i++) {
		uint64_t a = lo + (hi - lo) / n * i + i % 13;
		struct lt_sym_frame base = { .module = f->path, .offset = a };
		struct lt_sym_frame x[MAX_FRAMES], y[MAX_FRAMES];
		int nx, ny;

		lt_force_libdw_scopes = false;
		nx = resolve_in_file(sym, f, a, &base, x, MAX_FRAMES);
		lt_force_libdw_scopes = true;
		ny = resolve_in_file(sym, f, a, &base, y, MAX_FRAMES);
		lt_force_libdw_scopes = false;
		if (nx > 1)
			(*inlined)++;
		if (same_frames(x, nx, y, ny))
			continue;
		if (bad++ == 0 && first_bad)
			*first_bad = a;
	}
	lt_sym_free(sym);
	return bad;
}
