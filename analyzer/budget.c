/*
 * The budget file parser (grammar in budget.h).  Every line is either
 * understood completely or rejected with its line number and what was
 * expected; it never guesses.  Never reads dumps, never prints.
 */
#include "budget.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	const char *measure;
	bool bytes;
} kinds[LT_LIMIT_NKINDS] = {
	[LT_LIMIT_ALLOCS]          = { "max_allocs", "allocations", false },
	[LT_LIMIT_REALLOCS]        = { "max_reallocs", "reallocs", false },
	[LT_LIMIT_BYTES]           = { "max_bytes", "bytes allocated", true },
	[LT_LIMIT_PEAK]            = { "max_peak", "peak heap", true },
	[LT_LIMIT_LEAKED_BYTES]    = { "max_leaked_bytes", "leaked bytes", true },
	[LT_LIMIT_LEAKED_BLOCKS]   = { "max_leaked_blocks", "leaked blocks", false },
	[LT_LIMIT_THREADS]         = { "max_threads", "peak threads", false },
	[LT_LIMIT_THREAD_LEAKS]    = { "max_thread_leaks", "leaked threads", false },
	[LT_LIMIT_RUNNING_AT_EXIT] = { "max_running_at_exit",
				       "threads running at exit", false },
};

const char *lt_limit_name(enum lt_limit_kind k)
{
	return k < LT_LIMIT_NKINDS ? kinds[k].name : "?";
}

const char *lt_limit_measure(enum lt_limit_kind k)
{
	return k < LT_LIMIT_NKINDS ? kinds[k].measure : "?";
}

bool lt_limit_is_bytes(enum lt_limit_kind k)
{
	return k < LT_LIMIT_NKINDS && kinds[k].bytes;
}

/* ---- values ---------------------------------------------------------------- */

struct unit {
	const char *name;
	uint64_t mul;
};

/* GNU coreutils' units: K, KiB = 1024; KB, kB = 1000. */
static const struct unit size_units[] = {
	{ "B", 1 },
	{ "K", 1ull << 10 }, { "KiB", 1ull << 10 }, { "k", 1ull << 10 },
	{ "M", 1ull << 20 }, { "MiB", 1ull << 20 },
	{ "G", 1ull << 30 }, { "GiB", 1ull << 30 },
	{ "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	{ "KB", 1000 }, { "kB", 1000 },
	{ "MB", 1000000 }, { "GB", 1000000000 }, { "TB", 1000000000000ull },
};

static const struct unit count_units[] = {
	{ "k", 1000 }, { "K", 1000 }, { "M", 1000000 }, { "G", 1000000000 },
};

static const struct unit *find_unit(const struct unit *v, size_t n,
				    const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, s))
			return &v[i];
	/* "mib", "KIB": the IEC names are unambiguous in any case. */
	if (v == size_units && strlen(s) == 3 && tolower((unsigned char)s[1]) == 'i' &&
	    tolower((unsigned char)s[2]) == 'b')
		for (size_t i = 0; i < n; i++)
			if (!strcasecmp(v[i].name, s))
				return &v[i];
	return NULL;
}

static bool is_size_unit(const char *s)
{
	return find_unit(size_units, sizeof(size_units) / sizeof(size_units[0]),
			 s) != NULL && strcmp(s, "k") && strcmp(s, "K") &&
	       strcmp(s, "M") && strcmp(s, "G");
}

int lt_budget_parse_value(const char *s, bool bytes, uint64_t *out,
			  struct lt_err *err)
{
	const char *what = bytes ? "a size like 64 MiB, 4096 or 1.5 KiB" :
				   "a count like 20000, 20,000 or 20k";
	uint64_t whole = 0, frac_num = 0, frac_den = 1, mul = 1;
	const char *p = s;
	char unit[16];
	size_t un = 0;
	bool digits = false;

	if (*p == '-')
		return lt_err_set(err, "a limit cannot be negative");
	if (*p == '+')
		p++;
	for (; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			uint64_t d = (uint64_t)(*p - '0');
			if (whole > (UINT64_MAX - d) / 10)
				return lt_err_set(err, "'%s' is too large", s);
			whole = whole * 10 + d;
			digits = true;
		} else if ((*p == ',' || *p == '_') && digits &&
			   isdigit((unsigned char)p[1])) {
			continue;   /* 20,000 and 20_000 */
		} else {
			break;
		}
	}
	if (!digits)
		return lt_err_set(err, "expected %s", what);
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return lt_err_set(err, "expected digits after the "
					  "decimal point in '%s'", s);
		for (; isdigit((unsigned char)*p); p++) {
			if (frac_den >= 1000000000000ull)
				continue;   /* finer than any unit */
			frac_num = frac_num * 10 + (uint64_t)(*p - '0');
			frac_den *= 10;
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && !isspace((unsigned char)*p) && un + 1 < sizeof(unit))
		unit[un++] = *p++;
	unit[un] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p || (un && un + 1 >= sizeof(unit)) || (*unit == '%'))
		goto bad;
	if (un) {
		const struct unit *u = bytes ?
			find_unit(size_units, sizeof(size_units) /
				  sizeof(size_units[0]), unit) :
			find_unit(count_units, sizeof(count_units) /
				  sizeof(count_units[0]), unit);
		if (!u) {
			if (!bytes && is_size_unit(unit))
				return lt_err_set(err, "'%s' is a unit of bytes, "
						  "but this limit counts; "
						  "expected %s", unit, what);
			if (bytes)
				return lt_err_set(err, "unknown unit '%s' (use "
						  "B, KiB, MiB, GiB, or KB, MB, "
						  "GB for powers of 1000)",
						  unit);
			goto bad;
		}
		mul = u->mul;
	}
	if (whole > UINT64_MAX / mul)
		return lt_err_set(err, "'%s' is too large", s);
	whole *= mul;
	if (frac_num) {
		/* The fraction of the unit, in whole bytes or calls. */
		unsigned __int128 f = (unsigned __int128)frac_num * mul;
		if (f % frac_den && (!bytes || mul == 1))
			return lt_err_set(err, bytes ? "'%s' is not a whole "
					  "number of bytes" : "'%s': a count "
					  "must be a whole number", s);
		f = (f + frac_den / 2) / frac_den;
		if (whole + (uint64_t)f < whole)
			return lt_err_set(err, "'%s' is too large", s);
		whole += (uint64_t)f;
	}
	*out = whole;
	return 0;
bad:
	if (*unit == '%')
		return lt_err_set(err, "a percentage is not a limit (growth "
				  "against a baseline is --max-increase); "
				  "expected %s", what);
	return lt_err_set(err, "expected %s, got '%s'", what, s);
}

/* ---- lines ----------------------------------------------------------------- */

struct cursor {
	const char *path;
	unsigned line;
	char *s;            /* the line, comment and trailing space removed */
	struct lt_err *err;
};

static int line_error(struct cursor *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int line_error(struct cursor *c, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return lt_err_set(c->err, "%s:%u: %s", c->path, c->line, what);
}

static bool is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

static int find_kind(const char *name, size_t n)
{
	for (int k = 0; k < LT_LIMIT_NKINDS; k++)
		if (strlen(kinds[k].name) == n && !strncmp(kinds[k].name, name, n))
			return k;
	return -1;
}

/* Levenshtein distance, capped: for "did you mean". */
static size_t distance(const char *a, size_t na, const char *b)
{
	size_t nb = strlen(b), row[64], prev;

	if (na >= 63 || nb >= 63)
		return 99;
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t cur = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) ==
				      tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[nb];
}

static int unknown_limit(struct cursor *c, const char *name, size_t n,
			 const char *expected)
{
	char all[400] = "";
	size_t best = 99;
	int guess = -1;

	for (int k = 0; k < LT_LIMIT_NKINDS; k++) {
		size_t d = distance(name, n, kinds[k].name);
		if (d < best) {
			best = d;
			guess = k;
		}
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s",
			 k ? ", " : "", kinds[k].name);
	}
	if (guess >= 0 && best <= 3)
		return line_error(c, "unknown limit '%.*s' (did you mean '%s'?); "
				  "expected '%s', got '%s'", (int)n, name,
				  kinds[guess].name, expected, c->s);
	return line_error(c, "unknown limit '%.*s' in '%s'; the limits are %s",
			  (int)n, name, c->s, all);
}

/* "NAME = VALUE" at p (a whole-run limit, or what follows a site pattern).
 * expected_prefix is "" or "site PATTERN ". */
static int parse_assignment(struct cursor *c, const char *p,
			    const char *expected_prefix, struct lt_limit *l)
{
	const char *name = p, *value;
	char expected[300], verr_text[600];
	struct lt_err verr;
	size_t n = 0;
	int k;

	while (is_name_char(name[n]))
		n++;
	k = find_kind(name, n);
	snprintf(expected, sizeof(expected), "%s%s = %s", expected_prefix,
		 k >= 0 ? kinds[k].name : "max_allocs",
		 k >= 0 && kinds[k].bytes ? "SIZE" : "N");
	if (n == 0)
		return line_error(c, "expected '%s', got '%s'", expected, c->s);
	if (k < 0) {
		/* "parse_header max_allocs = 100": a site without 'site'. */
		const char *q = name + n;
		while (*q == ' ' || *q == '\t')
			q++;
		size_t m = 0;
		while (is_name_char(q[m]))
			m++;
		if (!*expected_prefix && name[n] && (name[n] == ' ' ||
		    name[n] == '\t') && find_kind(q, m) >= 0)
			return line_error(c, "expected 'site %.*s %.*s = N' (a "
					  "limit on a site starts with 'site'), "
					  "got '%s'", (int)n, name, (int)m, q,
					  c->s);
		return unknown_limit(c, name, n, expected);
	}
	p = name + n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=')
		return line_error(c, "expected '%s', got '%s'", expected, c->s);
	value = p + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (!*value)
		return line_error(c, "expected '%s', got '%s' (no value after "
				  "'=')", expected, c->s);
	if (lt_budget_parse_value(value, kinds[k].bytes, &l->value, &verr) < 0) {
		snprintf(verr_text, sizeof(verr_text), "%s", verr.msg);
		return line_error(c, "%s: %s", kinds[k].name, verr_text);
	}
	l->kind = (enum lt_limit_kind)k;
	return 0;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* '[' without its ']' makes fnmatch match nothing, silently. */
static bool glob_ok(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			const char *q = p + 1;
			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			q = strchr(q, ']');
			if (!q)
				return false;
			p = q;
		}
	}
	return true;
}

static int set_pattern(struct cursor *c, struct lt_limit *l, const char *pat)
{
	const char *colon = strrchr(pat, ':');

	if (!*pat)
		return line_error(c, "expected 'site PATTERN max_allocs = N' with "
				  "a function, FILE:LINE or glob as PATTERN, "
				  "got an empty pattern in '%s'", c->s);
	if (!(l->site = strdup(pat)))
		return lt_err_set(c->err, "out of memory");
	if (colon && colon[1] && strspn(colon + 1, "0123456789") ==
	    strlen(colon + 1) && colon > pat && colon[-1] != ':') {
		unsigned long line;
		errno = 0;
		line = strtoul(colon + 1, NULL, 10);
		if (errno || line == 0 || line > 10000000)
			return line_error(c, "'%s': line %s is not a line "
					  "number (lines count from 1)", pat,
					  colon + 1);
		l->pattern_kind = LT_PAT_FILE_LINE;
		l->file_line = (unsigned)line;
		if (!(l->file = strndup(pat, (size_t)(colon - pat))))
			return lt_err_set(c->err, "out of memory");
		if (has_glob(l->file) && !glob_ok(l->file))
			return line_error(c, "'%s': '[' without its ']' in the "
					  "file name", pat);
		return 0;
	}
	if (colon && colon[1] == '\0')
		return line_error(c, "'%s': expected FILE:LINE, a line number "
				  "after ':'", pat);
	if (has_glob(pat)) {
		if (!glob_ok(pat))
			return line_error(c, "'%s': '[' without its ']' (a glob "
					  "would match nothing)", pat);
		l->pattern_kind = LT_PAT_GLOB;
	} else {
		l->pattern_kind = LT_PAT_FUNCTION;
	}
	return 0;
}

/* "site PATTERN NAME = VALUE", p just past "site". */
static int parse_site(struct cursor *c, const char *p, struct lt_limit *l)
{
	char pat[1024], prefix[1100];
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return line_error(c, "expected 'site PATTERN max_allocs = N', got "
				  "'%s' (no pattern)", c->s);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			if (n + 1 >= sizeof(pat))
				return line_error(c, "pattern too long");
			pat[n++] = *p;
		}
		if (*p != '"')
			return line_error(c, "the pattern's closing '\"' is "
					  "missing in '%s'", c->s);
		p++;
		if (*p && *p != ' ' && *p != '\t')
			return line_error(c, "expected a space after the "
					  "quoted pattern, got '%s'", c->s);
	} else {
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '=')
				break;
			if (n + 1 >= sizeof(pat))
				return line_error(c, "pattern too long");
			pat[n++] = *p++;
		}
	}
	pat[n] = '\0';
	if (find_kind(pat, n) >= 0)
		return line_error(c, "expected 'site PATTERN %s = N', got '%s' "
				  "(no pattern)", pat, c->s);
	if (set_pattern(c, l, pat) < 0)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	snprintf(prefix, sizeof(prefix), "site %s ", pat);
	if (!*p)
		return line_error(c, "expected 'site %s max_allocs = N', got "
				  "'%s' (no limit)", pat, c->s);
	return parse_assignment(c, p, prefix, l);
}

/* Cut the comment (a '#' outside quotes) and surrounding space. */
static void clean_line(char *s)
{
	bool quoted = false;
	char *e;

	for (char *p = s; *p; p++) {
		if (*p == '\\' && quoted && p[1]) {
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (*p == '#' && !quoted) {
			*p = '\0';
			break;
		}
	}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
}

static bool same_limit(const struct lt_limit *a, const struct lt_limit *b)
{
	if (a->kind != b->kind || !a->site != !b->site)
		return false;
	return !a->site || !strcmp(a->site, b->site);
}

static int parse_line(struct cursor *c, struct lt_budget *b)
{
	char *p = c->s;
	struct lt_limit l = { .line = c->line }, *v;

	while (*p == ' ' || *p == '\t')
		p++;
	c->s = p;
	if (!*p)
		return 0;
	if (!strncmp(p, "site", 4) && (p[4] == ' ' || p[4] == '\t' ||
	    p[4] == '"' || !p[4])) {
		if (parse_site(c, p + 4, &l) < 0)
			goto fail;
	} else if (parse_assignment(c, p, "", &l) < 0) {
		goto fail;
	}
	for (size_t i = 0; i < b->nlimits; i++) {
		if (!same_limit(&b->limits[i], &l))
			continue;
		if (l.site)
			line_error(c, "%s for site '%s' is set twice (first on "
				   "line %u)", kinds[l.kind].name, l.site,
				   b->limits[i].line);
		else
			line_error(c, "%s is set twice (first on line %u)",
				   kinds[l.kind].name, b->limits[i].line);
		goto fail;
	}
	if (!(l.text = strdup(p)))
		goto oom;
	v = realloc(b->limits, (b->nlimits + 1) * sizeof(*v));
	if (!v)
		goto oom;
	b->limits = v;
	b->limits[b->nlimits++] = l;
	return 0;
oom:
	lt_err_set(c->err, "out of memory");
fail:
	free(l.text);
	free(l.site);
	free(l.file);
	return -1;
}

int lt_budget_parse(const char *path, const char *text, size_t len,
		    struct lt_budget **out, struct lt_err *err)
{
	struct lt_budget *b = calloc(1, sizeof(*b));
	struct cursor c = { .path = path, .err = err };
	size_t off = 0;

	*out = NULL;
	if (!b || !(b->path = strdup(path))) {
		free(b);
		return lt_err_set(err, "out of memory");
	}
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		off = 3;   /* a UTF-8 byte-order mark */
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		char *line;

		c.line++;
		if (memchr(text + off, '\0', n)) {
			lt_err_set(err, "%s:%u: a NUL byte: this is not a text "
				   "file", path, c.line);
			goto fail;
		}
		if (!(line = strndup(text + off, n))) {
			lt_err_set(err, "out of memory");
			goto fail;
		}
		clean_line(line);
		c.s = line;
		if (parse_line(&c, b) < 0) {
			free(line);
			goto fail;
		}
		free(line);
		off += n + 1;
	}
	if (b->nlimits == 0) {
		lt_err_set(err, "%s: no limits: a budget sets at least one, "
			   "like 'max_allocs = 20000'", path);
		goto fail;
	}
	*out = b;
	return 0;
fail:
	lt_budget_free(b);
	return -1;
}

int lt_budget_load(const char *path, struct lt_budget **out,
		   struct lt_err *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	if (!f)
		return lt_err_set(err, "%s: %s", path, strerror(errno));
	for (;;) {
		if (len == cap) {
			char *t;
			if (cap >= (64u << 20)) {
				fclose(f);
				free(text);
				return lt_err_set(err, "%s: larger than 64 MiB: "
						  "not a budget file", path);
			}
			cap = cap ? cap * 2 : 4096;
			if (!(t = realloc(text, cap))) {
				fclose(f);
				free(text);
				return lt_err_set(err, "out of memory");
			}
			text = t;
		}
		size_t got = fread(text + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = lt_err_set(err, "%s: cannot read: %s", path,
				strerror(errno));
	} else {
		rc = lt_budget_parse(path, text ? text : "", len, out, err);
	}
	fclose(f);
	free(text);
	return rc;
}

void lt_budget_free(struct lt_budget *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nlimits; i++) {
		free(b->limits[i].text);
		free(b->limits[i].site);
		free(b->limits[i].file);
	}
	free(b->limits);
	free(b->path);
	free(b);
}

/* ---- matching -------------------------------------------------------------- */

/* "ns::f(int) const" also answers to "ns::f". */
static bool name_matches(const char *pat, const char *fn, bool glob)
{
	const char *paren;
	char base[512];

	if (glob ? fnmatch(pat, fn, 0) == 0 : strcmp(pat, fn) == 0)
		return true;
	paren = strchr(fn, '(');
	if (!paren || paren == fn || (size_t)(paren - fn) >= sizeof(base))
		return false;
	memcpy(base, fn, (size_t)(paren - fn));
	base[paren - fn] = '\0';
	return glob ? fnmatch(pat, base, 0) == 0 : strcmp(pat, base) == 0;
}

static bool file_matches(const char *pat, const char *file)
{
	size_t np = strlen(pat), nf = strlen(file);

	if (has_glob(pat)) {
		char any[1100];
		if (fnmatch(pat, file, 0) == 0)
			return true;
		snprintf(any, sizeof(any), "*/%s", pat);
		return fnmatch(any, file, 0) == 0;
	}
	if (np > nf)
		return false;
	if (np == nf)
		return !strcmp(pat, file);
	return file[nf - np - 1] == '/' && !strcmp(file + nf - np, pat);
}

bool lt_limit_matches(const struct lt_limit *l, const char *function,
		      const char *file, int line)
{
	switch (l->pattern_kind) {
	case LT_PAT_FUNCTION:
		return function && name_matches(l->site, function, false);
	case LT_PAT_GLOB:
		return function && name_matches(l->site, function, true);
	case LT_PAT_FILE_LINE:
		return file && line > 0 && (unsigned)line == l->file_line &&
		       file_matches(l->file, file);
	}
	return false;
}
