/*
 * Unit tests for analyzer/symbols.c.  The fixtures are this binary (built
 * with -g) and the libc it runs on: expected names and lines come from the
 * source itself (__LINE__) and from eu-addr2line -i -f -C as the oracle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demangle.h"
#include "symbols.h"

#define MAX_FRAMES 16

/* ---- fixture code whose addresses the tests resolve ---------------------- */

static volatile uintptr_t captured_ra;
static volatile int captured_line;
static volatile int call_line_outer;
static volatile int call_line_inner;

/* Records where it was called from: a return address inside the caller. */
__attribute__((noinline)) static void capture(int line)
{
	captured_ra = (uintptr_t)__builtin_return_address(0);
	captured_line = line;
	__asm__ volatile("" ::: "memory");
}

/* The barrier after each call keeps it from becoming a tail call, which
 * would take the caller's frame (and its return address) away. */
__attribute__((noinline)) static void known_function(void)
{
	capture(__LINE__);
	__asm__ volatile("" ::: "memory");
}

static inline __attribute__((always_inline)) void inlined_leaf(void)
{
	capture(__LINE__);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void calls_inline(void)
{
	call_line_outer = __LINE__; inlined_leaf();
	__asm__ volatile("" ::: "memory");
}

static inline __attribute__((always_inline)) void inlined_middle(void)
{
	call_line_inner = __LINE__; inlined_leaf();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void calls_nested_inline(void)
{
	call_line_outer = __LINE__; inlined_middle();
	__asm__ volatile("" ::: "memory");
}

/* C with an asm label: DWARF has DW_AT_linkage_name "test_symbols_label",
 * as glibc's qsort has "__GI_qsort"; the source name is what users know. */
void asm_labelled(void) __asm__("test_symbols_label");
__attribute__((noinline)) void asm_labelled(void)
{
	capture(__LINE__);
	__asm__ volatile("" ::: "memory");
}

/* ---- the ELF objects of this process --------------------------------- */

struct object {
	uintptr_t addr;         /* in: an address inside it */
	char path[PATH_MAX];
	uint64_t bias, lo, hi;
	uint8_t build_id[64];
	size_t build_id_len;
	bool found;
};

static size_t note_build_id(const struct dl_phdr_info *info, uint8_t *out,
			    size_t max)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof(*n);
			const uint8_t *desc = name + ((n->n_namesz + 3) & ~3u);
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0 && n->n_descsz <= max) {
				memcpy(out, desc, n->n_descsz);
				return n->n_descsz;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

static int find_object_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct object *o = arg;
	uint64_t lo = UINT64_MAX, hi = 0;
	(void)size;
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
	if (o->addr < lo || o->addr >= hi)
		return 0;
	o->lo = lo;
	o->hi = hi;
	o->bias = info->dlpi_addr;
	if (info->dlpi_name && info->dlpi_name[0]) {
		snprintf(o->path, sizeof(o->path), "%s", info->dlpi_name);
	} else {
		ssize_t n = readlink("/proc/self/exe", o->path, sizeof(o->path) - 1);
		o->path[n > 0 ? n : 0] = '\0';
	}
	o->build_id_len = note_build_id(info, o->build_id, sizeof(o->build_id));
	o->found = true;
	return 1;
}

static struct object object_of(uintptr_t addr)
{
	struct object o;
	memset(&o, 0, sizeof(o));
	o.addr = addr;
	dl_iterate_phdr(find_object_cb, &o);
	assert_true(o.found);
	assert_true(o.path[0] != '\0');
	assert_true(o.build_id_len > 0);
	return o;
}

static struct lt_symbolizer *symbolizer_for(const struct object *o)
{
	struct lt_symbolizer *sym = lt_sym_new();
	assert_non_null(sym);
	assert_int_equal(lt_sym_add_module(sym, o->path, o->bias, o->lo, o->hi,
					   o->build_id, o->build_id_len, 1), 0);
	return sym;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void assert_frame(const struct lt_sym_frame *f, const char *function,
			 int line, bool inlined)
{
	assert_non_null(f->function);
	assert_string_equal(f->function, function);
	assert_non_null(f->file);
	if (!ends_with(f->file, "test_symbols.c"))
		fail_msg("file is %s", f->file);
	assert_int_equal(f->line, line);
	assert_int_equal(f->inlined, inlined);
}

/* ---- the oracle -------------------------------------------------------- */

/* eu-addr2line's "file:line[:column]" against ours "file:line". */
static bool same_place(const char *theirs, const char *ours)
{
	size_t n = strlen(ours);
	if (strncmp(theirs, ours, n) != 0)
		return false;
	if (theirs[n] == '\0')
		return true;
	return theirs[n] == ':' && theirs[n + 1] &&
	       strspn(theirs + n + 1, "0123456789") == strlen(theirs + n + 1);
}

/* The function eu-addr2line names: its first line reads "f inlined at
 * file:line in g" when the address is inlined; and it prefers C asm labels
 * such as glibc's "__GI_qsort", which we deliberately do not. */
static const char *their_function(char *line)
{
	char *cut = strstr(line, " inlined at ");
	if (cut)
		*cut = '\0';
	return strncmp(line, "__GI_", 5) == 0 ? line + 5 : line;
}

/*
 * Compares frames with what eu-addr2line --relative -i -f -C prints for
 * the same file offset: a function line then a file:line line per frame.
 * Skips the test when eu-addr2line (Debian: elfutils) is not installed.
 */
static bool matches_addr2line(const char *path, uint64_t offset,
			      const struct lt_sym_frame *frames, int n)
{
	if (system("command -v eu-addr2line >/dev/null 2>&1") != 0) {
		print_message("eu-addr2line not installed (Debian: elfutils)\n");
		skip();
	}
	char cmd[PATH_MAX + 128];
	snprintf(cmd, sizeof(cmd),
		 "eu-addr2line --relative -i -f -C -e '%s' 0x%" PRIx64,
		 path, offset);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[2][4096];
	int i = 0;
	bool same = true;
	while (fgets(line[0], sizeof(line[0]), p) &&
	       fgets(line[1], sizeof(line[1]), p)) {
		line[0][strcspn(line[0], "\n")] = '\0';
		line[1][strcspn(line[1], "\n")] = '\0';
		const char *fn = their_function(line[0]);
		if (i == 0 && strcmp(line[1], "??:0") == 0 && n > 0 &&
		    frames[0].file) {
			/* elfutils 0.188 finds no CU without .debug_aranges
			 * (clang omits it); we do, so there is no oracle. */
			print_message("eu-addr2line finds no line for 0x%" PRIx64
				      " in %s; oracle not used\n", offset, path);
			pclose(p);
			return true;
		}
		char ours[4096] = "(no frame)";
		const char *our_fn = "(no frame)";
		if (i < n) {
			snprintf(ours, sizeof(ours), "%s:%d",
				 frames[i].file ? frames[i].file : "??",
				 frames[i].line);
			our_fn = frames[i].function ? frames[i].function : "??";
		}
		if (i >= n || strcmp(fn, our_fn) != 0 ||
		    !same_place(line[1], ours)) {
			print_error("frame %d: eu-addr2line says %s at %s, "
				    "we say %s at %s\n", i, fn, line[1],
				    our_fn, ours);
			same = false;
		}
		i++;
	}
	/* Its exit status is 1 whenever there is no DWARF for -i to walk. */
	assert_int_not_equal(pclose(p), -1);
	if (i != n) {
		print_error("eu-addr2line gave %d frames, we gave %d\n", i, n);
		same = false;
	}
	return same;
}

/* ---- tests ----------------------------------------------------------- */

static void test_function_entry(void **state)
{
	(void)state;
	uintptr_t addr = (uintptr_t)&known_function;
	struct object self = object_of(addr);
	struct lt_symbolizer *sym = symbolizer_for(&self);
	struct lt_sym_frame f[MAX_FRAMES];

	int n = lt_sym_resolve(sym, addr, false, 0, f, MAX_FRAMES);
	assert_int_equal(n, 1);
	assert_non_null(f[0].function);
	assert_string_equal(f[0].function, "known_function");
	assert_true(f[0].line > 0);
	assert_string_equal(f[0].module, self.path);
	assert_int_equal(f[0].offset, addr - self.bias);
	assert_false(f[0].inlined);
	assert_false(lt_sym_is_allocator_frame(&f[0]));
	assert_true(matches_addr2line(self.path, addr - self.bias, f, n));
	assert_string_equal(lt_sym_warnings(sym), "");
	lt_sym_free(sym);
}

static void test_return_address_line(void **state)
{
	(void)state;
	known_function();
	uintptr_t ra = captured_ra;
	struct object self = object_of(ra);
	struct lt_symbolizer *sym = symbolizer_for(&self);
	struct lt_sym_frame f[MAX_FRAMES];

	int n = lt_sym_resolve(sym, ra, true, 0, f, MAX_FRAMES);
	assert_int_equal(n, 1);
	assert_frame(&f[0], "known_function", captured_line, false);
	/* The frame reports the recorded address, not the looked-up one. */
	assert_int_equal(f[0].offset, ra - self.bias);
	assert_true(matches_addr2line(self.path, ra - 1 - self.bias, f, n));

	/* A second lookup comes from the cache and says the same. */
	struct lt_sym_frame again[MAX_FRAMES];
	assert_int_equal(lt_sym_resolve(sym, ra, true, 0, again, MAX_FRAMES), 1);
	assert_ptr_equal(again[0].function, f[0].function);
	assert_ptr_equal(again[0].file, f[0].file);
	assert_int_equal(again[0].line, f[0].line);
	lt_sym_free(sym);
}

static void test_inlined_frame(void **state)
{
	(void)state;
	calls_inline();
	uintptr_t ra = captured_ra;
	int leaf_line = captured_line;
	struct object self = object_of(ra);
	struct lt_symbolizer *sym = symbolizer_for(&self);
	struct lt_sym_frame f[MAX_FRAMES];

	int n = lt_sym_resolve(sym, ra, true, 0, f, MAX_FRAMES);
	assert_int_equal(n, 2);
	assert_frame(&f[0], "inlined_leaf", leaf_line, true);
	assert_frame(&f[1], "calls_inline", call_line_outer, false);
	assert_true(matches_addr2line(self.path, ra - 1 - self.bias, f, n));

	char buf[256];
	lt_sym_format(&f[1], buf, sizeof(buf));
	char want[64];
	snprintf(want, sizeof(want), "test_symbols.c:%d)", call_line_outer);
	assert_true(strncmp(buf, "calls_inline (", 14) == 0);
	assert_true(ends_with(buf, want));

	/* max cuts the chain at the innermost frames. */
	assert_int_equal(lt_sym_resolve(sym, ra, true, 0, f, 1), 1);
	assert_string_equal(f[0].function, "inlined_leaf");
	assert_int_equal(lt_sym_resolve(sym, ra, true, 0, f, 0), 0);
	lt_sym_free(sym);
}

static void test_nested_inlined_frames(void **state)
{
	(void)state;
	calls_nested_inline();
	uintptr_t ra = captured_ra;
	struct object self = object_of(ra);
	struct lt_symbolizer *sym = symbolizer_for(&self);
	struct lt_sym_frame f[MAX_FRAMES];

	int n = lt_sym_resolve(sym, ra, true, 0, f, MAX_FRAMES);
	assert_int_equal(n, 3);
	assert_frame(&f[0], "inlined_leaf", captured_line, true);
	assert_frame(&f[1], "inlined_middle", call_line_inner, true);
	assert_frame(&f[2], "calls_nested_inline", call_line_outer, false);
	assert_true(matches_addr2line(self.path, ra - 1 - self.bias, f, n));
	lt_sym_free(sym);
}

static void test_asm_label(void **state)
{
	(void)state;
	uintptr_t addr = (uintptr_t)&asm_labelled;
	struct object self = object_of(addr);
	struct lt_symbolizer *sym = symbolizer_for(&self);
	struct lt_sym_frame f[MAX_FRAMES];

	assert_int_equal(lt_sym_resolve(sym, addr, false, 0, f, MAX_FRAMES), 1);
	assert_non_null(f[0].function);
	assert_string_equal(f[0].function, "asm_labelled");
	lt_sym_free(sym);
}

static void test_libc_function(void **state)
{
	(void)state;
	uintptr_t addr = (uintptr_t)&div;
	struct object libc = object_of(addr);
	struct lt_symbolizer *sym = symbolizer_for(&libc);
	struct lt_sym_frame f[MAX_FRAMES];

	int n = lt_sym_resolve(sym, addr, false, 0, f, MAX_FRAMES);
	assert_true(n >= 1);
	assert_non_null(f[n - 1].function);
	assert_string_equal(f[n - 1].function, "div");
	assert_true(lt_sym_is_allocator_frame(&f[n - 1]) ==
		    (strncmp(strrchr(libc.path, '/') + 1, "libc.so", 7) == 0));
	/* The C library is named from its symbol table only, even with
	 * libc6-dbg installed: one frame, no source line, no DWARF opened. */
	assert_int_equal(n, 1);
	assert_null(f[0].file);
	assert_int_equal(f[0].line, 0);
	assert_string_equal(lt_sym_warnings(sym), "");
	lt_sym_free(sym);
}

/* ---- scratch files: one directory per test, removed by its teardown,
 * so a failing test leaves nothing behind ------------------------------ */

static char scratch_dir[64];

/* path of name inside this test's scratch directory (made on first use) */
static void scratch_path(const char *name, char path[PATH_MAX])
{
	if (!scratch_dir[0]) {
		snprintf(scratch_dir, sizeof(scratch_dir),
			 "/tmp/test_symbols.XXXXXX");
		assert_non_null(mkdtemp(scratch_dir));
	}
	snprintf(path, PATH_MAX, "%s/%s", scratch_dir, name);
}

static int remove_scratch(void **state)
{
	(void)state;
	if (scratch_dir[0]) {
		char cmd[sizeof(scratch_dir) + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch_dir);
		scratch_dir[0] = '\0';
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(data, 1, len, out), len);
	assert_int_equal(fclose(out), 0);
}

/* src written to name.ext in the scratch directory and built with
 * "cc flags" into name.so (so_path); false when cc cannot (the caller
 * skips). */
static bool scratch_library(const char *name, const char *ext, const char *src,
			    const char *flags, char so_path[PATH_MAX])
{
	char file[64], src_path[PATH_MAX], cmd[3 * PATH_MAX];

	snprintf(file, sizeof(file), "%s.%s", name, ext);
	scratch_path(file, src_path);
	snprintf(file, sizeof(file), "%s.so", name);
	scratch_path(file, so_path);
	write_file(src_path, src, strlen(src));
	snprintf(cmd, sizeof(cmd), "cc %s -shared -o '%s' '%s'", flags, so_path, src_path);
	return system(cmd) == 0;
}

/* Fails unless the symbolizer's index names n samples of path's symbols
 * (every address of their span for n 0) as libdw does. */
static void assert_names_match_libdw(const char *path, unsigned n)
{
	uint64_t first = 0;
	long bad = lt_sym_check_names(path, n, &first);

	if (bad < 0)
		fail_msg("%s: no symbol index to compare", path);
	if (bad != 0)
		fail_msg("%s: %ld names differ from libdw's, first at 0x%llx",
			 path, bad, (unsigned long long)first);
}

/* The whole file; *len gets its size. */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *in = fopen(path, "rb");
	assert_non_null(in);
	assert_int_equal(fseek(in, 0, SEEK_END), 0);
	long size = ftell(in);
	assert_true(size > 0);
	rewind(in);
	uint8_t *data = malloc((size_t)size);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, in), (size_t)size);
	fclose(in);
	*len = (size_t)size;
	return data;
}

/* Writes a copy of o's file with its build-id bytes inverted, so neither
 * the build-id nor .gnu_debuglink can lead to debug info for it.  Its new
 * build-id goes to id. */
static void copy_without_debuginfo(const struct object *o, uint8_t *id,
				   char path[PATH_MAX])
{
	size_t size;
	uint8_t *data = read_file(o->path, &size);
	uint8_t *note = memmem(data, size, o->build_id, o->build_id_len);
	assert_non_null(note);
	for (size_t i = 0; i < o->build_id_len; i++)
		id[i] = note[i] ^= 0xff;
	scratch_path("libc-copy.so.6", path);
	write_file(path, data, size);
	free(data);
}

/* Runs "cp SELF copy && COMMANDS" in the scratch directory; the copy's
 * path goes to path.  Skips the test when objcopy (Debian: binutils) is
 * missing. */
static void doctored_copy(const char *self, const char *commands,
			  char path[PATH_MAX])
{
	if (system("command -v objcopy >/dev/null 2>&1") != 0) {
		print_message("objcopy not installed (Debian: binutils)\n");
		skip();
	}
	scratch_path("copy", path);
	char cmd[4 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "cd '%s' && cp '%s' copy && %s", scratch_dir,
		 self, commands);
	assert_int_equal(system(cmd), 0);
}

/* A symbolizer whose one module is a doctored copy (doctored_copy) of the
 * object that holds ra, where that object is mapped; its path to path. */
static struct lt_symbolizer *symbolize_copy(uintptr_t ra, const char *commands,
					    char path[PATH_MAX])
{
	struct object self = object_of(ra);
	struct lt_symbolizer *sym;

	doctored_copy(self.path, commands, path);
	sym = lt_sym_new();
	assert_non_null(sym);
	assert_int_equal(lt_sym_add_module(sym, path, self.bias, self.lo, self.hi,
					   self.build_id, self.build_id_len, 1), 0);
	return sym;
}

/* Debug info split off into copy.debug beside the stripped file, found
 * through .gnu_debuglink (no /usr/lib/debug/.build-id entry exists for
 * this binary, so that is the only way to it). */
static void test_gnu_debuglink(void **state)
{
	(void)state;
	known_function();
	uintptr_t ra = captured_ra;
	char path[PATH_MAX];
	struct lt_symbolizer *sym = symbolize_copy(ra,
		"objcopy --only-keep-debug copy copy.debug && "
		"objcopy --strip-debug --add-gnu-debuglink=copy.debug copy", path);
	struct lt_sym_frame f[MAX_FRAMES];
	assert_int_equal(lt_sym_resolve(sym, ra, true, 0, f, MAX_FRAMES), 1);
	assert_frame(&f[0], "known_function", captured_line, false);
	assert_string_equal(f[0].module, path);
	assert_string_equal(lt_sym_warnings(sym), "");
	lt_sym_free(sym);
}

/* Whether libdebuginfod is in the process, asked of the C library's dlopen
 * (the analyzer's own refuses it without a server). */
static bool debuginfod_loaded(void)
{
	void *next = dlsym(RTLD_NEXT, "dlopen");
	void *(*real)(const char *, int);
	void *h;

	assert_non_null(next);
	memcpy(&real, &next, sizeof(real));
	h = real("libdebuginfod.so.1", RTLD_LAZY | RTLD_NOLOAD);
	if (h)
		dlclose(h);
	return h != NULL;
}

/* A file whose debug information is nowhere on disk is looked for no
 * further without a debuginfod server: libdwfl's last step would load the
 * client and libcurl's thirty libraries for an answer of ENOSYS.  With a
 * server named, the library is loaded as asked. */
static void test_no_debuginfod_without_server(void **state)
{
	(void)state;
	known_function();
	uintptr_t ra = captured_ra;
	char path[PATH_MAX];

	unsetenv("DEBUGINFOD_URLS");
	assert_false(debuginfod_loaded());
	struct lt_symbolizer *sym = symbolize_copy(ra, "objcopy --strip-debug copy", path);
	struct lt_sym_frame f[MAX_FRAMES];
	assert_int_equal(lt_sym_resolve(sym, ra, true, 0, f, MAX_FRAMES), 1);
	assert_string_equal(f[0].function, "known_function");
	assert_null(f[0].file);   /* the line table went with the debug info */
	assert_false(debuginfod_loaded());
	lt_sym_free(sym);

	setenv("DEBUGINFOD_URLS", "", 1);
	assert_null(dlopen("libdebuginfod.so.1", RTLD_LAZY));
	setenv("DEBUGINFOD_URLS", "http://127.0.0.1:1", 1);
	void *h = dlopen("libdebuginfod.so.1", RTLD_LAZY);
	unsetenv("DEBUGINFOD_URLS");
	if (!h) {
		print_message("libdebuginfod.so.1 not installed (Debian: libdebuginfod1)\n");
		skip();
	}
	assert_true(debuginfod_loaded());
	dlclose(h);
}

/* Without .debug_aranges (clang does not emit it) libdwfl 0.188 finds no
 * CU for any address; the symbolizer falls back to the CUs' own ranges. */
static void test_no_aranges(void **state)
{
	(void)state;
	calls_nested_inline();
	uintptr_t ra = captured_ra;
	int leaf_line = captured_line;
	char path[PATH_MAX];
	struct lt_symbolizer *sym = symbolize_copy(ra,
		"objcopy --remove-section=.debug_aranges copy", path);
	struct lt_sym_frame f[MAX_FRAMES];
	assert_int_equal(lt_sym_resolve(sym, ra, true, 0, f, MAX_FRAMES), 3);
	assert_frame(&f[0], "inlined_leaf", leaf_line, true);
	assert_frame(&f[1], "inlined_middle", call_line_inner, true);
	assert_frame(&f[2], "calls_nested_inline", call_line_outer, false);

	known_function();
	assert_int_equal(lt_sym_resolve(sym, captured_ra, true, 0, f,
					MAX_FRAMES), 1);
	assert_frame(&f[0], "known_function", captured_line, false);
	lt_sym_free(sym);
}

static void test_dynsym_only(void **state)
{
	(void)state;
	uintptr_t addr = (uintptr_t)&div;
	struct object libc = object_of(addr);
	uint8_t id[64];
	char copy[PATH_MAX];
	copy_without_debuginfo(&libc, id, copy);
	struct lt_symbolizer *sym = lt_sym_new();
	assert_non_null(sym);
	assert_int_equal(lt_sym_add_module(sym, copy, libc.bias, libc.lo, libc.hi,
					   id, libc.build_id_len, 1), 0);
	struct lt_sym_frame f[MAX_FRAMES];

	int n = lt_sym_resolve(sym, addr, false, 0, f, MAX_FRAMES);
	assert_int_equal(n, 1);
	assert_non_null(f[0].function);
	assert_string_equal(f[0].function, "div");
	assert_null(f[0].file);
	assert_int_equal(f[0].line, 0);
	char buf[128];
	assert_string_equal(lt_sym_format(&f[0], buf, sizeof(buf)),
			    "div (libc-copy.so.6)");
	assert_true(matches_addr2line(copy, addr - libc.bias, f, n));
	assert_string_equal(lt_sym_warnings(sym), "");
	lt_sym_free(sym);
}

/* The symbolizer names functions from its own copy of the symbol table;
 * it must say what libdw's dwfl_module_addrname says, address for address:
 * libc (.dynsym, and .symtab when libc6-dbg is there), this test program
 * (.symtab with local functions) and libdw itself (a large .dynsym). */
static void test_names_match_libdw(void **state)
{
	(void)state;
	uintptr_t where[] = { (uintptr_t)&div, (uintptr_t)&test_names_match_libdw,
			      (uintptr_t)&dwfl_module_addrname };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		assert_names_match_libdw(object_of(where[i]).path, 500);
}

/* A stripped executable with 29,000 dynamic symbols and no sizeless one
 * in its code: names come from the copy, gaps between functions without
 * asking libdw (4 ms a question there), and all must match libdw's.  gcc
 * is a build dependency, so its cc1 is on every machine that builds this.
 * (cc1's gaps have no name either way; the label test below is the one
 * where the shortcut can be wrong.) */
static void test_names_match_libdw_cc1(void **state)
{
	static const char *const cc1[] = {
		"/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
		"/usr/libexec/gcc/x86_64-linux-gnu/12/cc1",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cc1) / sizeof(cc1[0]); i++) {
		if (access(cc1[i], R_OK) != 0)
			continue;
		assert_names_match_libdw(cc1[i], 40);
		return;
	}
	skip();
}

/* Where the lowest sizeless symbol is a local assembly label in the code,
 * a gap above it takes libdw's answer (the label) and a gap below it has
 * no name: the shortcut must count local symbols as well as globals. */
static void test_names_match_libdw_label(void **state)
{
	static const char src[] =
		"\t.text\n"
		"\t.globl sized_one\n\t.type sized_one, @function\n"
		"sized_one:\n\tret\n\t.size sized_one, .-sized_one\n"
		"\t.skip 64, 0x90\n"
		"local_label:\n\tnop\n\t.skip 64, 0x90\n"
		"\t.globl sized_two\n\t.type sized_two, @function\n"
		"sized_two:\n\tret\n\t.size sized_two, .-sized_two\n"
		"\t.skip 64, 0x90\n";
	char so_path[PATH_MAX];

	(void)state;
	if (!scratch_library("label", "s", src, "-nostdlib", so_path))
		skip();
	assert_names_match_libdw(so_path, 6);
}

/* Sets st_name to 0 (the empty name) for the symbols of path named name. */
static void blank_symbol_name(const char *path, const char *name)
{
	int fd = open(path, O_RDWR);
	Elf *elf;
	Elf_Scn *scn = NULL;
	int blanked = 0;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_RDWR, NULL);
	assert_non_null(elf);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		assert_non_null(data);
		for (size_t i = 0; sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(data, (int)i, &sym) ||
			    !(n = elf_strptr(elf, sh.sh_link, sym.st_name)) || strcmp(n, name))
				continue;
			sym.st_name = 0;
			assert_true(gelf_update_sym(data, (int)i, &sym));
			blanked++;
		}
		elf_flagdata(data, ELF_C_SET, ELF_F_DIRTY);
	}
	assert_true(blanked > 0);
	elf_flagelf(elf, ELF_C_SET, ELF_F_LAYOUT);
	assert_true(elf_update(elf, ELF_C_WRITE) >= 0);
	elf_end(elf);
	close(fd);
}

/* A sized function whose symbol has an empty name: libdw skips it and
 * names its addresses by the symbols around it, and so must the index. */
static void test_names_match_libdw_empty_name(void **state)
{
	static const char src[] =
		"\t.text\n"
		"\t.globl before\n\t.type before, @function\n"
		"before:\n\tret\n\t.skip 31, 0x90\n"
		"\t.globl blank_me\n\t.type blank_me, @function\n"
		"blank_me:\n\tret\n\t.skip 63, 0x90\n\t.size blank_me, .-blank_me\n"
		"\t.globl after\n\t.type after, @function\n"
		"after:\n\tret\n\t.size after, .-after\n"
		"\t.skip 64, 0x90\n";
	char so_path[PATH_MAX];

	(void)state;
	if (!scratch_library("empty_name", "s", src, "-nostdlib", so_path))
		skip();
	blank_symbol_name(so_path, "blank_me");
	assert_names_match_libdw(so_path, 0);
}

/*
 * Every address of a small library, named by the index and by libdw: sized
 * symbols nested in others, aliases of one start with other sizes and
 * bindings, a huge one (kept apart by the index) with small ones inside,
 * global and local labels alone, together and inside a function, labels
 * in the data, an absolute symbol, and gaps after each.
 */
static void test_names_match_libdw_every_address(void **state)
{
	static const char src[] =
		"\t.text\n"
		"\t.globl g_sized1\n"
		"\t.type g_sized1, @function\n"
		"g_sized1:\n"
		"\tret\n"
		"\t.skip 31, 0x90\n"
		"\t.size g_sized1, .-g_sized1\n"
		"\t.skip 16, 0x90\n"
		"\t.globl glob_label\n"
		"glob_label:\n"
		"\t.skip 16, 0x90\n"
		"loc_label:\n"
		"\t.skip 16, 0x90\n"
		"\t.globl g_outer\n"
		"\t.type g_outer, @function\n"
		"g_outer:\n"
		"\tnop\n"
		"inner_label:\n"
		"\tnop\n"
		"\t.globl g_inner\n"
		"\t.type g_inner, @function\n"
		"g_inner:\n"
		"\t.skip 8, 0x90\n"
		"\t.size g_inner, .-g_inner\n"
		"\t.skip 16, 0x90\n"
		"\t.size g_outer, .-g_outer\n"
		"\t.weak w_alias\n"
		"\t.type w_alias, @function\n"
		"\t.set w_alias, g_outer\n"
		"\t.size w_alias, 8\n"
		"\t.local l_alias\n"
		"\t.type l_alias, @function\n"
		"\t.set l_alias, g_outer\n"
		"\t.size l_alias, 4\n"
		"\t.skip 16, 0x90\n"
		"\t.globl two_a\n"
		"two_a:\n"
		"\t.globl two_b\n"
		"two_b:\n"
		"loc_two:\n"
		"\t.skip 16, 0x90\n"
		"\t.type l_sized, @function\n"
		"l_sized:\n"
		"\t.skip 16, 0x90\n"
		"\t.size l_sized, .-l_sized\n"
		"after_local:\n"
		"\t.skip 16, 0x90\n"
		"\t.globl big\n"
		"\t.type big, @object\n"
		"big:\n"
		"\t.skip 70000, 0x90\n"
		"\t.size big, .-big\n"
		"\t.globl in_big\n"
		"\t.type in_big, @function\n"
		"\t.set in_big, big + 100\n"
		"\t.size in_big, 32\n"
		"\t.type l_in_big, @function\n"
		"\t.set l_in_big, big + 5000\n"
		"\t.size l_in_big, 64\n"
		"\t.set l_label_in_big, big + 6000\n"
		"\t.size l_label_in_big, 0\n"
		"\t.skip 16, 0x90\n"
		"\t.globl end_label\n"
		"end_label:\n"
		"\t.skip 16, 0x90\n"
		"\t.data\n"
		"\t.globl d_label\n"
		"d_label:\n"
		"\t.quad 0\n"
		"\t.globl d_obj\n"
		"\t.type d_obj, @object\n"
		"d_obj:\n"
		"\t.quad 1\n"
		"\t.size d_obj, 8\n"
		"\t.quad 2\n"
		"d_local:\n"
		"\t.quad 3\n"
		"\t.globl abs_sym\n"
		"\t.set abs_sym, 0x1234\n";
	char so_path[PATH_MAX];

	(void)state;
	if (!scratch_library("every", "s", src, "-nostdlib", so_path))
		skip();
	assert_names_match_libdw(so_path, 0);
}

/*
 * Inline chains come from a per-CU index of scopes, standing in for libdw's
 * dwarf_getscopes() walk of the whole CU: both must give the same frames
 * (function, file, line, inlined) at thousands of addresses of this test
 * program and of a library with inlining nested three deep, lexical blocks
 * and a function split into hot and cold parts.
 */
static void test_inline_chains_match_libdw(void **state)
{
	static const char src[] =
		"#include <stdlib.h>\n"
		"static inline int leaf(int x) { return x * 3 + 1; }\n"
		"static inline int mid(int x) { int s = 0; for (int i = 0; i < x; i++) { int t = leaf(i); s += t; } return s; }\n"
		"static inline int top(int x) { return mid(x) + mid(x + 1); }\n"
		"__attribute__((cold, noinline)) void rare(void) { abort(); }\n"
		"int api(int x) { if (x < 0) rare(); { int y = top(x); return y + leaf(y); } }\n"
		"int api2(int x) { return top(x) * 2; }\n";
	char self[PATH_MAX], so_path[PATH_MAX];
	const char *paths[2] = { self, so_path };
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)state;
	assert_true(len > 0);
	self[len] = 0;
	if (!scratch_library("inl", "c", src, "-O2 -g -fPIC", so_path))
		skip();
	for (int i = 0; i < 2; i++) {
		uint64_t first = 0;
		long inlined = 0;
		const char *path = paths[i];
		long bad = lt_sym_check_inlines(path, i == 0 ? 2000 : 400, &first, &inlined);
		if (bad < 0)
			fail_msg("%s: nothing to compare", path);
		if (bad != 0)
			fail_msg("%s: %ld chains differ from libdw's, first at 0x%llx",
				 path, bad, (unsigned long long)first);
		if (inlined == 0)
			fail_msg("%s: no address had an inlined frame", path);
	}
}

static void test_build_id_mismatch(void **state)
{
	(void)state;
	uintptr_t addr = (uintptr_t)&known_function;
	struct object self = object_of(addr);
	self.build_id[0] ^= 0x5a;
	struct lt_symbolizer *sym = symbolizer_for(&self);
	/* The same stale file mapped twice still warns once. */
	assert_int_equal(lt_sym_add_module(sym, self.path, self.bias, self.lo,
					   self.hi, self.build_id,
					   self.build_id_len, 2), 0);
	struct lt_sym_frame f[MAX_FRAMES];

	int n = lt_sym_resolve(sym, addr, false, 0, f, MAX_FRAMES);
	assert_int_equal(n, 1);
	assert_null(f[0].function);
	assert_null(f[0].file);
	assert_string_equal(f[0].module, self.path);
	assert_int_equal(f[0].offset, addr - self.bias);

	char want[PATH_MAX + 128], buf[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s: build-id differs from the traced run "
		 "(file changed since?); frames shown as offsets\n", self.path);
	assert_string_equal(lt_sym_warnings(sym), want);
	snprintf(want, sizeof(want), "%s+0x%" PRIx64, strrchr(self.path, '/') + 1,
		 (uint64_t)(addr - self.bias));
	assert_string_equal(lt_sym_format(&f[0], buf, sizeof(buf)), want);
	lt_sym_free(sym);
}

static void test_missing_file(void **state)
{
	(void)state;
	static const char path[] = "/nonexistent/dir/libgone.so.1";
	static const uint8_t id[] = { 1, 2, 3, 4 };
	struct lt_symbolizer *sym = lt_sym_new();
	assert_non_null(sym);
	assert_int_equal(lt_sym_add_module(sym, path, 0x700000000000,
					   0x700000000000, 0x700000100000,
					   id, sizeof(id), 5), 0);
	assert_int_equal(lt_sym_add_module(sym, path, 0x710000000000,
					   0x710000000000, 0x710000100000,
					   NULL, 0, 6), 0);
	struct lt_sym_frame f[MAX_FRAMES];

	int n = lt_sym_resolve(sym, 0x700000001a2b, false, 0, f, MAX_FRAMES);
	assert_int_equal(n, 1);
	assert_null(f[0].function);
	assert_string_equal(f[0].module, path);
	assert_int_equal(f[0].offset, 0x1a2b);
	char buf[64];
	assert_string_equal(lt_sym_format(&f[0], buf, sizeof(buf)),
			    "libgone.so.1+0x1a2b");
	n = lt_sym_resolve(sym, 0x710000000010, true, 0, f, MAX_FRAMES);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].offset, 0x10);
	assert_string_equal(lt_sym_warnings(sym),
			    "/nonexistent/dir/libgone.so.1: cannot open (No such "
			    "file or directory); frames shown as offsets\n");
	lt_sym_free(sym);
}

static void test_not_elf_and_truncated(void **state)
{
	(void)state;
	char text[PATH_MAX], cut[PATH_MAX];
	scratch_path("text", text);
	write_file(text, "not an ELF file\n", 16);

	/* The first 4 KiB of this binary: a valid header, sections cut off. */
	uintptr_t addr = (uintptr_t)&known_function;
	struct object self = object_of(addr);
	size_t size;
	uint8_t *data = read_file(self.path, &size);
	scratch_path("cut", cut);
	write_file(cut, data, size < 4096 ? size : 4096);
	free(data);

	struct lt_symbolizer *sym = lt_sym_new();
	assert_non_null(sym);
	assert_int_equal(lt_sym_add_module(sym, text, 0x1000, 0x1000, 0x2000,
					   NULL, 0, 1), 0);
	assert_int_equal(lt_sym_add_module(sym, cut, self.bias, self.lo, self.hi,
					   NULL, 0, 1), 0);
	struct lt_sym_frame f[MAX_FRAMES];
	assert_int_equal(lt_sym_resolve(sym, 0x1800, false, 0, f, MAX_FRAMES), 1);
	assert_null(f[0].function);
	assert_int_equal(f[0].offset, 0x800);
	assert_true(lt_sym_resolve(sym, addr, false, 0, f, MAX_FRAMES) >= 1);
	assert_string_equal(f[0].module, cut);
	assert_non_null(strstr(lt_sym_warnings(sym), ": not an ELF file ("));
	lt_sym_free(sym);
}

/* Overwrites stretches of a copy of this binary, where its DWARF lives,
 * and resolves through the wreckage: any answer will do, a crash will not. */
static void test_corrupt_debug_info(void **state)
{
	(void)state;
	uintptr_t addrs[] = {
		(uintptr_t)&known_function, (uintptr_t)&calls_inline,
		(uintptr_t)&calls_nested_inline, (uintptr_t)&capture,
	};
	struct object self = object_of(addrs[0]);
	size_t size;
	uint8_t *data = read_file(self.path, &size);

	unsigned seed = 12345;
	for (int round = 0; round < 20; round++) {
		uint8_t *copy = malloc(size);
		assert_non_null(copy);
		memcpy(copy, data, size);
		for (int k = 0; k < 8; k++) {
			/* Skip the loaded part so the file still maps. */
			size_t at = size / 3 +
				    (size_t)rand_r(&seed) % (size * 2 / 3 - 64);
			for (int b = 0; b < 64; b++)
				copy[at + b] = (uint8_t)rand_r(&seed);
		}
		char name[PATH_MAX], base[32];
		snprintf(base, sizeof(base), "corrupt-%d", round);
		scratch_path(base, name);
		write_file(name, copy, size);
		free(copy);

		struct lt_symbolizer *sym = lt_sym_new();
		assert_non_null(sym);
		assert_int_equal(lt_sym_add_module(sym, name, self.bias, self.lo,
						   self.hi, NULL, 0, 1), 0);
		for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
			struct lt_sym_frame f[MAX_FRAMES];
			char buf[512];
			int n = lt_sym_resolve(sym, addrs[i], false, 0, f, MAX_FRAMES);
			assert_true(n >= 1 && n <= MAX_FRAMES);
			for (int j = 0; j < n; j++)
				lt_sym_format(&f[j], buf, sizeof(buf));
		}
		lt_sym_free(sym);
	}
	free(data);
}

/* Two modules over the same addresses at different times. */
static void test_ticks_pick_module(void **state)
{
	(void)state;
	uintptr_t addr = (uintptr_t)&known_function;
	struct object self = object_of(addr);
	struct lt_symbolizer *sym = lt_sym_new();
	assert_non_null(sym);
	assert_int_equal(lt_sym_add_module(sym, self.path, self.bias, self.lo,
					   self.hi, self.build_id,
					   self.build_id_len, 10), 0);
	lt_sym_unload_module(sym, self.bias, 20);
	assert_int_equal(lt_sym_add_module(sym, "/nonexistent/later.so", self.bias,
					   self.lo, self.hi, NULL, 0, 20), 0);
	struct lt_sym_frame f[MAX_FRAMES];

	assert_int_equal(lt_sym_resolve(sym, addr, false, 15, f, MAX_FRAMES), 1);
	assert_string_equal(f[0].module, self.path);
	assert_string_equal(f[0].function, "known_function");

	assert_int_equal(lt_sym_resolve(sym, addr, false, 35, f, MAX_FRAMES), 1);
	assert_string_equal(f[0].module, "/nonexistent/later.so");
	assert_null(f[0].function);

	/* Unloaded at 20 and the other loaded at 20: ticks 20 is the later's. */
	assert_int_equal(lt_sym_resolve(sym, addr, false, 20, f, MAX_FRAMES), 1);
	assert_string_equal(f[0].module, "/nonexistent/later.so");

	assert_int_equal(lt_sym_resolve(sym, addr, false, 0, f, MAX_FRAMES), 1);
	assert_string_equal(f[0].module, "/nonexistent/later.so");

	/* Before any load (a constructor running inside dlopen): the nearest. */
	assert_int_equal(lt_sym_resolve(sym, addr, false, 3, f, MAX_FRAMES), 1);
	assert_string_equal(f[0].module, self.path);

	/* Outside every module. */
	assert_int_equal(lt_sym_resolve(sym, 0x10, true, 15, f, MAX_FRAMES), 1);
	assert_null(f[0].module);
	assert_null(f[0].function);
	char buf[32];
	assert_string_equal(lt_sym_format(&f[0], buf, sizeof(buf)), "0x10");
	lt_sym_free(sym);
}

/* The report adds every module of the dump first, then every unload:
 * an unload must find the mapping that was live then, not the last added. */
static void test_unload_after_all_loads(void **state)
{
	(void)state;
	uintptr_t addr = (uintptr_t)&known_function;
	struct object self = object_of(addr);
	struct lt_symbolizer *sym = lt_sym_new();
	assert_non_null(sym);
	assert_int_equal(lt_sym_add_module(sym, self.path, self.bias, self.lo,
					   self.hi, self.build_id,
					   self.build_id_len, 10), 0);
	assert_int_equal(lt_sym_add_module(sym, "/nonexistent/second.so",
					   self.bias, self.lo, self.hi, NULL, 0,
					   30), 0);
	assert_int_equal(lt_sym_add_module(sym, "/nonexistent/third.so",
					   self.bias, self.lo, self.hi, NULL, 0,
					   50), 0);
	lt_sym_unload_module(sym, self.bias, 40);
	lt_sym_unload_module(sym, self.bias, 20);
	struct lt_sym_frame f[MAX_FRAMES];

	static const struct {
		uint64_t ticks;
		const char *module;
	} at[] = {
		{ 15, NULL }, { 35, "/nonexistent/second.so" },
		{ 55, "/nonexistent/third.so" }, { 0, "/nonexistent/third.so" },
	};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(lt_sym_resolve(sym, addr, false, at[i].ticks, f,
						MAX_FRAMES), 1);
		assert_string_equal(f[0].module, at[i].module ? at[i].module
							       : self.path);
	}
	lt_sym_free(sym);
}

static void test_demangle(void **state)
{
	(void)state;
	char *s = lt_sym_demangle("_ZN3foo3barEi");
	assert_non_null(s);
	assert_string_equal(s, "foo::bar(int)");
	free(s);
	s = lt_sym_demangle("_Znwm");
	assert_non_null(s);
	assert_string_equal(s, "operator new(unsigned long)");
	free(s);
	s = lt_sym_demangle("_ZN3foo3barEi.cold");
	assert_non_null(s);
	assert_string_equal(s, "foo::bar(int) [clone .cold]");
	free(s);
	assert_null(lt_sym_demangle("malloc"));
	assert_null(lt_sym_demangle("_Z"));
	assert_null(lt_sym_demangle("_Zgarbage!"));
	assert_null(lt_sym_demangle(NULL));
}

static void test_format(void **state)
{
	(void)state;
	char buf[128];
	struct lt_sym_frame f = {
		.function = "parse_config", .file = "src/config.c", .line = 42,
		.module = "/usr/bin/app", .offset = 0x1a2b,
	};
	assert_string_equal(lt_sym_format(&f, buf, sizeof(buf)),
			    "parse_config (src/config.c:42)");

	f.file = "/home/someone/projects/a-rather-long-directory-name/src/config.c";
	assert_string_equal(lt_sym_format(&f, buf, sizeof(buf)),
			    "parse_config (src/config.c:42)");
	f.file = "/usr/src/app/config.c";
	assert_string_equal(lt_sym_format(&f, buf, sizeof(buf)),
			    "parse_config (/usr/src/app/config.c:42)");

	f.line = 0;
	assert_string_equal(lt_sym_format(&f, buf, sizeof(buf)),
			    "parse_config (app)");
	f.file = NULL;
	f.line = 7;
	assert_string_equal(lt_sym_format(&f, buf, sizeof(buf)),
			    "parse_config (app)");
	f.function = NULL;
	assert_string_equal(lt_sym_format(&f, buf, sizeof(buf)), "app+0x1a2b");
	f.module = NULL;
	assert_string_equal(lt_sym_format(&f, buf, sizeof(buf)), "0x1a2b");

	/* Truncates, never overflows. */
	f.function = "parse_config";
	f.module = "/usr/bin/app";
	memset(buf, 'x', sizeof(buf));
	lt_sym_format(&f, buf, 6);
	assert_string_equal(buf, "parse");
	assert_int_equal(buf[6], 'x');
	assert_string_equal(lt_sym_format(NULL, buf, sizeof(buf)), "??");
	assert_string_equal(lt_sym_format(&f, NULL, 10), "");
}

static void test_allocator_frames(void **state)
{
	(void)state;
	static const struct {
		const char *function;
		const char *module;
		bool folded;
	} cases[] = {
		{ "malloc", "/usr/bin/app", true },
		{ "calloc", NULL, true },
		{ "posix_memalign", NULL, true },
		{ "strdup", NULL, true },
		{ "strndup", NULL, true },
		{ "asprintf", NULL, true },
		{ "getline", NULL, true },
		{ "open_memstream", NULL, true },
		{ "realpath", NULL, true },
		{ "operator new(unsigned long)", NULL, true },
		{ "operator new[](unsigned long)", NULL, true },
		{ "operator delete(void*, unsigned long)", NULL, true },
		{ "operator delete[](void*)", NULL, true },
		{ "div", "/lib/x86_64-linux-gnu/libc.so.6", true },
		{ NULL, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", true },
		{ "lt_record", "/opt/libtrace/lib/libtrace.so", true },
		{ NULL, "/lib64/ld-linux-x86-64.so.2", true },
		{ "main", "/usr/bin/app", false },
		{ "mallocate_things", "/usr/bin/app", false },
		{ "EVP_foo", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", false },
		{ "operator_news", NULL, false },
		{ NULL, NULL, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lt_sym_frame f = {
			.function = cases[i].function, .module = cases[i].module,
		};
		if (lt_sym_is_allocator_frame(&f) != cases[i].folded)
			fail_msg("%s in %s: expected %s", cases[i].function,
				 cases[i].module, cases[i].folded ? "folded" : "kept");
	}
	assert_false(lt_sym_is_allocator_frame(NULL));
}

static void test_null_arguments(void **state)
{
	(void)state;
	struct lt_sym_frame f[2];
	lt_sym_free(NULL);
	lt_sym_unload_module(NULL, 0, 0);
	assert_string_equal(lt_sym_warnings(NULL), "");
	assert_int_equal(lt_sym_add_module(NULL, "/bin/sh", 0, 0, 1, NULL, 0, 0),
			 -EINVAL);
	assert_int_equal(lt_sym_resolve(NULL, 0x1234, false, 0, f, 2), 1);
	assert_null(f[0].module);
	assert_int_equal(f[0].offset, 0x1234);

	struct lt_symbolizer *sym = lt_sym_new();
	assert_non_null(sym);
	assert_int_equal(lt_sym_add_module(sym, NULL, 0, 0, 1, NULL, 0, 0), -EINVAL);
	assert_int_equal(lt_sym_add_module(sym, "/bin/sh", 0, 2, 1, NULL, 0, 0),
			 -EINVAL);
	assert_int_equal(lt_sym_resolve(sym, 0x1234, false, 0, NULL, 2), 0);
	assert_int_equal(lt_sym_resolve(sym, 0x1234, false, 0, f, 0), 0);
	lt_sym_unload_module(sym, 0xdead, 1);
	assert_string_equal(lt_sym_warnings(sym), "");
	lt_sym_free(sym);
}

#define TEST(t) cmocka_unit_test_teardown(t, remove_scratch)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_function_entry),
		TEST(test_return_address_line),
		TEST(test_inlined_frame),
		TEST(test_nested_inlined_frames),
		TEST(test_asm_label),
		TEST(test_libc_function),
		TEST(test_gnu_debuglink),
		TEST(test_no_debuginfod_without_server),
		TEST(test_no_aranges),
		TEST(test_dynsym_only),
		TEST(test_names_match_libdw),
		TEST(test_names_match_libdw_cc1),
		TEST(test_names_match_libdw_label),
		TEST(test_names_match_libdw_empty_name),
		TEST(test_names_match_libdw_every_address),
		TEST(test_inline_chains_match_libdw),
		TEST(test_build_id_mismatch),
		TEST(test_missing_file),
		TEST(test_not_elf_and_truncated),
		TEST(test_corrupt_debug_info),
		TEST(test_ticks_pick_module),
		TEST(test_unload_after_all_loads),
		TEST(test_demangle),
		TEST(test_format),
		TEST(test_allocator_frames),
		TEST(test_null_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
