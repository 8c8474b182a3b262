/*
 * C++ name demangling for the symbolizer, exposed only so its unit test can
 * reach it.  Implemented in symbols.c; nothing else should need it.
 */
#ifndef LT_ANALYZER_DEMANGLE_H
#define LT_ANALYZER_DEMANGLE_H

/*
 * Returns a malloc'd demangled copy of an Itanium-ABI name ("_Z..."), or
 * NULL when name is NULL, is not mangled, or does not demangle.
 */
char *lt_sym_demangle(const char *name);

#endif /* LT_ANALYZER_DEMANGLE_H */
