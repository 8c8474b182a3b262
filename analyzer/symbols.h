/*
 * Symbolization: turns code addresses recorded in a dump into
 * "function (file:line)", with inlined frames and demangled C++ names,
 * through elfutils libdw.  Never aborts on bad debug info: an address it
 * cannot resolve comes back as "module+0xoffset" or "0xaddress".
 */
#ifndef LT_ANALYZER_SYMBOLS_H
#define LT_ANALYZER_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lt_symbolizer;

/* One source-level frame.  Strings belong to the symbolizer and live until
 * lt_sym_free(); any of function/file may be NULL when unknown. */
struct lt_sym_frame {
	const char *function;   /* demangled; NULL if no symbol at all */
	const char *file;       /* source file as recorded in DWARF */
	int         line;       /* 0 when unknown */
	const char *module;     /* path of the ELF object, NULL if none */
	uint64_t    offset;     /* address - module bias (for module+0x...) */
	bool        inlined;    /* this frame was inlined into the next one */
};

/* Returns a new symbolizer, or NULL when out of memory. */
struct lt_symbolizer *lt_sym_new(void);
void lt_sym_free(struct lt_symbolizer *sym);

/*
 * Tell the symbolizer that the ELF file at path was mapped with load bias
 * bias over [lo, hi) from time load_ticks on.  build_id (may be NULL/0) is
 * compared with the file on disk; on mismatch the module resolves only to
 * module+offset and lt_sym_warnings() says why.  Returns 0, or -errno.
 */
int lt_sym_add_module(struct lt_symbolizer *sym, const char *path,
		      uint64_t bias, uint64_t lo, uint64_t hi,
		      const uint8_t *build_id, size_t build_id_len,
		      uint64_t load_ticks);

/* The module loaded at bias was unloaded at unload_ticks. */
void lt_sym_unload_module(struct lt_symbolizer *sym, uint64_t bias,
			  uint64_t unload_ticks);

/*
 * Resolve one address.  return_address: addr is a return address (every
 * stack frame but a signal frame), so the call instruction at addr - 1 is
 * looked up.  ticks picks the module mapped there at that time (0: the most
 * recent).  Fills out[] innermost first: inlined frames, then the frame of
 * the function that contains them; returns how many (at least 1 when
 * max >= 1).  Results are cached per address.
 */
int lt_sym_resolve(struct lt_symbolizer *sym, uint64_t addr,
		   bool return_address, uint64_t ticks,
		   struct lt_sym_frame *out, int max);

/*
 * Format one frame as "function (file:line)", "function (module)",
 * or "module+0x1a2b" into buf; returns buf.
 */
const char *lt_sym_format(const struct lt_sym_frame *f, char *buf, size_t len);

/*
 * True when the frame belongs to the allocator or to libtrace itself and
 * should be folded away so the first frame shown is the caller's own code:
 * malloc-family wrappers, operator new/delete, strdup/strndup, and functions
 * inside libc, libstdc++ and libtrace.so.
 */
bool lt_sym_is_allocator_frame(const struct lt_sym_frame *f);

/* Warnings collected so far (missing files, build-id mismatches), one per
 * line, or "" when none.  Owned by the symbolizer. */
const char *lt_sym_warnings(const struct lt_symbolizer *sym);

/*
 * For tests: name about 6 * n addresses of the ELF file at path (around
 * its symbols' starts, middles and ends, and spread over their span) both
 * with the symbolizer's own symbol index and with libdw's
 * dwfl_module_addrname(), which the index stands in for; n = 0 names
 * every address of the span instead (for small files).  Returns how many
 * names differ (the first such address in *first_bad), or -1 when the file
 * cannot be read or no index could be built from it.
 */
long lt_sym_check_names(const char *path, unsigned n, uint64_t *first_bad);

/*
 * For tests: resolve n addresses spread over the code of the ELF file at
 * path (frames with file:line and inlined callers) both through the
 * symbolizer's per-CU scope index and through libdw's dwarf_getscopes(),
 * which the index stands in for.  Returns how many differ (the first in
 * *first_bad), or -1 when the file cannot be read; *inlined counts the
 * addresses that had an inlined frame.
 */
long lt_sym_check_inlines(const char *path, unsigned n, uint64_t *first_bad,
			  long *inlined);

#endif /* LT_ANALYZER_SYMBOLS_H */
