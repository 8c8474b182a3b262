/*
 * Text formatting for the analyzer: sizes with binary units, counts with
 * thousands separators, durations, JSON string escaping, and the error
 * message carrier.  Pure functions over caller buffers; never writes to
 * stderr and never exits.
 */
#ifndef LT_ANALYZER_FMT_H
#define LT_ANALYZER_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Large enough for every lt_fmt_* result below. */
#define LT_FMT_BUF 48

/*
 * An error travelling up to main(): library code fills it and returns a
 * negative value; main prints msg and decides the exit code.
 */
struct lt_err {
	char msg[512];
};

/* printf into err->msg (truncating); returns -1 so callers can
 * "return lt_err_set(err, ...)". err may be NULL. */
int lt_err_set(struct lt_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "0 B", "1023 B", "1.0 KiB", "12.3 MiB", "123 GiB"; returns buf. */
const char *lt_fmt_bytes(char buf[LT_FMT_BUF], uint64_t bytes);

/* Same for an estimate (sampled dumps); rounds to whole bytes first. */
const char *lt_fmt_bytes_f(char buf[LT_FMT_BUF], double bytes);

/* "1,234,567"; returns buf. */
const char *lt_fmt_count(char buf[LT_FMT_BUF], uint64_t n);

/* An estimate rounded to the nearest integer, then as lt_fmt_count. */
const char *lt_fmt_count_f(char buf[LT_FMT_BUF], double n);

/* "850 ns", "12.3 us", "4.56 ms", "2.31 s", "3 min 12 s", "2 h 05 min";
 * a negative or non-finite value gives "?".  Returns buf. */
const char *lt_fmt_duration(char buf[LT_FMT_BUF], double seconds);

/* part/whole as "12.3%" ("-" when whole is 0); returns buf. */
const char *lt_fmt_percent(char buf[LT_FMT_BUF], double part, double whole);

/*
 * Write s[0..len) as a quoted JSON string: control characters escaped,
 * valid UTF-8 passed through, each invalid byte as U+FFFD, so any byte
 * string (paths, symbol names) yields valid JSON.  Returns 0 or -1 on a
 * write error.
 */
int lt_json_string(FILE *out, const char *s, size_t len);

/* lt_json_string for a NUL-terminated string; NULL prints null. */
int lt_json_cstr(FILE *out, const char *s);

#endif /* LT_ANALYZER_FMT_H */
