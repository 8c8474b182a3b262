/*
 * Text formatting for the analyzer: units, separators, durations, JSON
 * strings.  Works only on caller buffers and the FILE it is given; never
 * allocates, never writes to stderr.
 */
#include "fmt.h"

#include <math.h>     /* isfinite only: the build links no libm */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

int lt_err_set(struct lt_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* floor(x + 0.5) for x >= 0, without libm. */
static double round_half_up(double x)
{
	if (x >= 9007199254740992.0)   /* 2^53: every such double is whole */
		return x;
	return (double)(uint64_t)(x + 0.5);
}

/* One decimal while it still carries information, none from 100 up. */
static int unit_decimals(double x)
{
	return x < 99.95 ? 1 : 0;
}

const char *lt_fmt_bytes_f(char buf[LT_FMT_BUF], double bytes)
{
	static const char *const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
	};
	const int nunits = (int)(sizeof(units) / sizeof(units[0]));

	if (!isfinite(bytes) || bytes < 0)
		bytes = 0;
	bytes = round_half_up(bytes);
	if (bytes < 1024) {
		snprintf(buf, LT_FMT_BUF, "%.0f B", bytes);
		return buf;
	}
	double scale = 1.0;
	for (int i = 1; i < nunits; i++) {
		scale *= 1024.0;
		double x = bytes / scale;
		int dec = unit_decimals(x);
		/* 1023.97 KiB would print as "1024 KiB": that is 1.0 MiB. */
		double shown = dec ? round_half_up(x * 10) / 10 : round_half_up(x);
		if (shown < 1024 || i == nunits - 1) {
			snprintf(buf, LT_FMT_BUF, "%.*f %s", dec, x, units[i]);
			return buf;
		}
	}
	return buf; /* not reached: the last unit always returns */
}

const char *lt_fmt_bytes(char buf[LT_FMT_BUF], uint64_t bytes)
{
	if (bytes < 1024) {
		snprintf(buf, LT_FMT_BUF, "%u B", (unsigned)bytes);
		return buf;
	}
	return lt_fmt_bytes_f(buf, (double)bytes);
}

const char *lt_fmt_count(char buf[LT_FMT_BUF], uint64_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
	char *p = buf;

	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			*p++ = ',';
		*p++ = digits[i];
	}
	*p = '\0';
	return buf;
}

const char *lt_fmt_count_f(char buf[LT_FMT_BUF], double n)
{
	if (!isfinite(n) || n < 0)
		n = 0;
	if (n >= 18446744073709549568.0)   /* the largest double below 2^64 */
		return lt_fmt_count(buf, UINT64_MAX);
	return lt_fmt_count(buf, (uint64_t)round_half_up(n));
}

/* Three significant digits for values in [1, 1000). */
static void fmt_3sig(char buf[LT_FMT_BUF], double x, const char *unit)
{
	int dec = x < 9.995 ? 2 : x < 99.95 ? 1 : 0;
	snprintf(buf, LT_FMT_BUF, "%.*f %s", dec, x, unit);
}

const char *lt_fmt_duration(char buf[LT_FMT_BUF], double s)
{
	if (!isfinite(s) || s < 0) {
		snprintf(buf, LT_FMT_BUF, "?");
	} else if (s < 999.5e-9) {
		snprintf(buf, LT_FMT_BUF, "%.0f ns", s * 1e9);
	} else if (s < 999.5e-6) {
		fmt_3sig(buf, s * 1e6, "us");
	} else if (s < 999.5e-3) {
		fmt_3sig(buf, s * 1e3, "ms");
	} else if (s < 59.995) {
		fmt_3sig(buf, s, "s");
	} else if (s < 3599.5) {
		unsigned long t = (unsigned long)round_half_up(s);
		snprintf(buf, LT_FMT_BUF, "%lu min %02lu s", t / 60, t % 60);
	} else {
		double mins = s / 60 < 1e18 ? s / 60 : 1e18;
		unsigned long long t = (unsigned long long)round_half_up(mins);
		snprintf(buf, LT_FMT_BUF, "%llu h %02llu min", t / 60, t % 60);
	}
	return buf;
}

const char *lt_fmt_percent(char buf[LT_FMT_BUF], double part, double whole)
{
	if (!(whole > 0) || !isfinite(part)) {
		snprintf(buf, LT_FMT_BUF, "-");
		return buf;
	}
	snprintf(buf, LT_FMT_BUF, "%.1f%%", 100.0 * part / whole);
	return buf;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;   /* overlong */
		if (c == 0xed)
			hi = 0x9f;   /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;   /* beyond U+10FFFF */
	} else {
		return 0;
	}
	if (avail < need)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

int lt_json_string(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	if (putc('"', out) == EOF)
		return -1;
	while (i < len) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': fputs("\\n", out); break;
			case '\t': fputs("\\t", out); break;
			case '\r': fputs("\\r", out); break;
			case '\b': fputs("\\b", out); break;
			case '\f': fputs("\\f", out); break;
			default:   fprintf(out, "\\u%04x", c); break;
			}
			i++;
		} else {
			size_t n = utf8_seq_len(s + i, len - i);
			if (n == 0) {
				fputs("\\ufffd", out);
				i++;
			} else {
				fwrite(s + i, 1, n, out);
				i += n;
			}
		}
	}
	if (putc('"', out) == EOF || ferror(out))
		return -1;
	return 0;
}

int lt_json_cstr(FILE *out, const char *s)
{
	if (!s)
		return fputs("null", out) == EOF ? -1 : 0;
	return lt_json_string(out, s, strlen(s));
}
