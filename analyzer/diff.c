/*
 * Run-to-run comparison: totals and sites of two sides matched by their
 * function chains, sorted by growth, as text or JSON.  The ratchet of
 * `libtrace check` reads the same struct lt_diff.  Prints only to the FILE
 * it is given and returns errors; never exits.
 */
#include "diff.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "symbols.h"

double lt_site_calls(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_calls : (double)s->calls;
}

double lt_site_bytes(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_bytes : (double)s->bytes;
}

double lt_site_leaked_bytes(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_leaked_bytes : (double)s->leaked_bytes;
}

double lt_site_leaked_blocks(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_leaked_blocks : (double)s->leaked_blocks;
}

double lt_growth(double old, double new)
{
	if (old == 0)
		return new == 0 ? 0 : __builtin_inf();
	return (new - old) / old;
}

void lt_side_totals(const struct lt_side *s, struct lt_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < s->n; i++) {
		const struct lt_totals *x = &s->models[i]->totals;
		t->allocations += x->allocations;
		t->frees += x->frees;
		t->reallocs += x->reallocs;
		t->bytes_allocated += x->bytes_allocated;
		t->leaked_blocks += x->leaked_blocks;
		t->leaked_bytes += x->leaked_bytes;
		t->temporary += x->temporary;
		t->threads_created += x->threads_created;
		t->threads_joined += x->threads_joined;
		t->threads_detached += x->threads_detached;
		t->threads_leaked += x->threads_leaked;
		t->threads_running_at_exit += x->threads_running_at_exit;
		if (x->peak_bytes > t->peak_bytes)
			t->peak_bytes = x->peak_bytes;
		if (x->peak_threads > t->peak_threads)
			t->peak_threads = x->peak_threads;
	}
}

void lt_print_stack(FILE *out, struct lt_symbolizer *sym,
		    const struct lt_site *s, unsigned max_frames,
		    const char *indent)
{
	struct lt_report_frame *v;
	char buf[1024];
	size_t n;

	if (s->stack_id == LT_STACK_NONE) {
		fprintf(out, "%s(no stack recorded)\n", indent);
		return;
	}
	if (!s->frames) {
		fprintf(out, "%s(stack %u is not in the dump)\n", indent,
			s->stack_id);
		return;
	}
	if (lt_report_site_frames(sym, s, &v, &n) < 0) {
		fprintf(out, "%s(out of memory symbolizing)\n", indent);
		return;
	}
	for (size_t i = 0; i < n && i < max_frames; i++)
		fprintf(out, "%s%s%s\n", indent,
			lt_sym_format(&v[i].f, buf, sizeof(buf)),
			v[i].f.inlined ? " [inlined]" : "");
	if (n > max_frames)
		fprintf(out, "%s...\n", indent);
	free(v);
}

/* ---- keys ------------------------------------------------------------------ */

/* The function chain of s: "f <- g <- main"; malloc'd, NULL when out of
 * memory. */
static char *site_key(struct lt_symbolizer *sym, const struct lt_site *s)
{
	struct lt_report_frame *v;
	char *key = NULL;
	size_t n, len = 0;
	FILE *f;

	if (!s->frames)
		return strdup(s->stack_id == LT_STACK_NONE ? "(no stack)" :
			      "(stack not in the dump)");
	if (lt_report_site_frames(sym, s, &v, &n) < 0)
		return NULL;
	f = open_memstream(&key, &len);
	if (!f) {
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct lt_sym_frame *fr = &v[i].f;
		const char *mod = fr->module ? strrchr(fr->module, '/') : NULL;

		if (i)
			fputs(" <- ", f);
		if (fr->function)
			fputs(fr->function, f);
		else if (fr->module)
			fprintf(f, "%s+0x%" PRIx64, mod ? mod + 1 : fr->module,
				fr->offset);
		else
			fprintf(f, "0x%" PRIx64, v[i].addr);
	}
	if (n == 0)
		fputs("(no frames)", f);
	free(v);
	if (fclose(f) != 0) {
		free(key);
		return NULL;
	}
	return key;
}

struct entry {
	char *key;
	bool new_side;
	struct lt_diff_nums nums;
	const struct lt_site *site;
	struct lt_symbolizer *sym;
};

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	return (int)a->new_side - (int)b->new_side;
}

static int collect(const struct lt_side *side, bool new_side,
		   struct entry **v, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < side->n; i++) {
		const struct lt_model *m = side->models[i];
		for (size_t k = 0; k < m->nsites; k++) {
			const struct lt_site *s = m->sites[k];
			struct entry *e;
			if (s->calls == 0 && s->leaked_blocks == 0)
				continue;   /* a thread's or a free's stack */
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 256;
				void *p = realloc(*v, nc * sizeof(**v));
				if (!p)
					return -1;
				*v = p;
				*cap = nc;
			}
			e = &(*v)[*n];
			*e = (struct entry){
				.key = site_key(side->syms[i], s),
				.new_side = new_side,
				.nums = { lt_site_calls(m, s), lt_site_bytes(m, s),
					  lt_site_leaked_bytes(m, s) },
				.site = s, .sym = side->syms[i],
			};
			if (!e->key)
				return -1;
			(*n)++;
		}
	}
	return 0;
}

static enum lt_diff_order sort_order;

static int cmp_growth(const void *pa, const void *pb)
{
	const struct lt_diff_site *a = pa, *b = pb;
	double ca = a->new.calls - a->old.calls, cb = b->new.calls - b->old.calls;
	double ba = a->new.bytes - a->old.bytes, bb = b->new.bytes - b->old.bytes;
	double x1 = sort_order == LT_DIFF_BY_CALLS ? ca : ba;
	double y1 = sort_order == LT_DIFF_BY_CALLS ? cb : bb;
	double x2 = sort_order == LT_DIFF_BY_CALLS ? ba : ca;
	double y2 = sort_order == LT_DIFF_BY_CALLS ? bb : cb;

	if (x1 != y1)
		return x1 > y1 ? -1 : 1;
	if (x2 != y2)
		return x2 > y2 ? -1 : 1;
	return strcmp(a->key, b->key);
}

int lt_diff_build(const struct lt_side *old, const struct lt_side *new,
		  enum lt_diff_order order, struct lt_diff **out,
		  struct lt_err *err)
{
	struct lt_diff *d = calloc(1, sizeof(*d));
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	double best_calls = -1;

	*out = NULL;
	if (!d || collect(old, false, &v, &n, &cap) < 0 ||
	    collect(new, true, &v, &n, &cap) < 0)
		goto oom;
	lt_side_totals(old, &d->old_totals);
	lt_side_totals(new, &d->new_totals);
	d->sampled = old->sampled || new->sampled;
	if (n)
		qsort(v, n, sizeof(*v), cmp_entry);
	d->sites = calloc(n ? n : 1, sizeof(*d->sites));
	if (!d->sites)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct lt_diff_site *ds;
		struct lt_diff_nums *to;

		if (d->nsites && !strcmp(d->sites[d->nsites - 1].key, v[i].key)) {
			ds = &d->sites[d->nsites - 1];
			free(v[i].key);
		} else {
			ds = &d->sites[d->nsites++];
			ds->key = v[i].key;
			best_calls = -1;
		}
		v[i].key = NULL;
		to = v[i].new_side ? &ds->new : &ds->old;
		to->calls += v[i].nums.calls;
		to->bytes += v[i].nums.bytes;
		to->leaked_bytes += v[i].nums.leaked_bytes;
		/* Show the new run's stack when there is one (entries of a
		 * key come old side first), the one with the most calls. */
		if ((v[i].new_side && !ds->in_new) || v[i].nums.calls > best_calls) {
			best_calls = v[i].nums.calls;
			ds->site = v[i].site;
			ds->sym = v[i].sym;
		}
		if (v[i].new_side)
			ds->in_new = true;
		else
			ds->in_old = true;
	}
	free(v);
	sort_order = order;
	qsort(d->sites, d->nsites, sizeof(*d->sites), cmp_growth);
	*out = d;
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
	lt_diff_free(d);
	return lt_err_set(err, "out of memory comparing the runs");
}

void lt_diff_free(struct lt_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nsites; i++)
		free(d->sites[i].key);
	free(d->sites);
	free(d);
}

/* ---- text ------------------------------------------------------------------ */

static const struct total_row {
	const char *name, *label;
	size_t off;
	bool bytes;
} total_rows[] = {
#define ROW(f, label, bytes) { #f, label, offsetof(struct lt_totals, f), bytes }
	ROW(allocations, "allocations", false),
	ROW(frees, "frees", false),
	ROW(reallocs, "reallocs", false),
	ROW(bytes_allocated, "bytes allocated", true),
	ROW(peak_bytes, "peak heap", true),
	ROW(leaked_blocks, "leaked blocks", false),
	ROW(leaked_bytes, "leaked bytes", true),
	ROW(temporary, "temporary", false),
	ROW(threads_created, "threads created", false),
	ROW(peak_threads, "peak threads", false),
	ROW(threads_leaked, "threads leaked", false),
	ROW(threads_running_at_exit, "running at exit", false),
#undef ROW
};

static uint64_t total_of(const struct lt_totals *t, const struct total_row *r)
{
	return *(const uint64_t *)(const void *)((const char *)t + r->off);
}

static const char *fmt_value(char buf[LT_FMT_BUF], double v, bool bytes)
{
	return bytes ? lt_fmt_bytes_f(buf, v) : lt_fmt_count_f(buf, v);
}

/* "+1,234", "-5.0 KiB", "0" */
static const char *fmt_change(char buf[LT_FMT_BUF], double d, bool bytes)
{
	char tmp[LT_FMT_BUF];

	if (d == 0 || (d > -0.5 && d < 0.5))
		return strcpy(buf, "0");
	fmt_value(tmp, d < 0 ? -d : d, bytes);
	snprintf(buf, LT_FMT_BUF, "%c%.46s", d < 0 ? '-' : '+', tmp);
	return buf;
}

/* " (+12.5%)", " (new)", "" */
static const char *fmt_growth(char buf[LT_FMT_BUF], double old, double new)
{
	double g = lt_growth(old, new);

	if (old == new)
		buf[0] = '\0';
	else if (old == 0)
		snprintf(buf, LT_FMT_BUF, " (new)");
	else
		snprintf(buf, LT_FMT_BUF, " (%+.1f%%)", g * 100);
	return buf;
}

static void print_site(FILE *out, const struct lt_diff_site *s, size_t rank,
		       const struct lt_diff_opts *o)
{
	char a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF];

	fprintf(out, "  #%zu  %s calls (%s -> %s", rank,
		fmt_change(a, s->new.calls - s->old.calls, false),
		lt_fmt_count_f(b, s->old.calls), lt_fmt_count_f(c, s->new.calls));
	if (s->old.calls > 0 && s->old.calls != s->new.calls)
		fprintf(out, ", %+.1f%%", lt_growth(s->old.calls, s->new.calls) * 100);
	fprintf(out, "), ");
	fprintf(out, "%s (%s -> %s)", fmt_change(a, s->new.bytes - s->old.bytes, true),
		lt_fmt_bytes_f(b, s->old.bytes), lt_fmt_bytes_f(c, s->new.bytes));
	if (s->old.leaked_bytes != s->new.leaked_bytes)
		fprintf(out, ", leaked %s -> %s", lt_fmt_bytes_f(b, s->old.leaked_bytes),
			lt_fmt_bytes_f(c, s->new.leaked_bytes));
	fprintf(out, "%s\n", !s->in_old ? " [new site]" :
		!s->in_new ? " [gone]" : "");
	lt_print_stack(out, s->sym, s->site, o->frames, "        ");
}

static bool changed(const struct lt_diff_site *s)
{
	return s->old.calls != s->new.calls || s->old.bytes != s->new.bytes ||
	       s->old.leaked_bytes != s->new.leaked_bytes;
}

/* +1 grew, -1 shrank, 0 neither, in the sort's terms: the ordering
 * measure first, the other one on a tie. */
static int direction(const struct lt_diff_site *s, enum lt_diff_order o)
{
	double dc = s->new.calls - s->old.calls, db = s->new.bytes - s->old.bytes;
	double x = o == LT_DIFF_BY_CALLS ? dc : db;
	double y = o == LT_DIFF_BY_CALLS ? db : dc;

	if (x != 0)
		return x > 0 ? 1 : -1;
	if (y != 0)
		return y > 0 ? 1 : -1;
	return 0;
}

static void print_text(FILE *out, const struct lt_diff *d,
		       const char *old_path, const char *new_path,
		       const struct lt_diff_opts *o)
{
	const char *by = o->order == LT_DIFF_BY_CALLS ? "calls" : "bytes";
	size_t grew = 0, shrank = 0, same = 0, added = 0, gone = 0, shown;
	char a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF], g[LT_FMT_BUF];

	fprintf(out, "libtrace diff: %s -> %s%s\n\n", old_path, new_path,
		d->sampled ? " (sampled: per-site numbers are estimates)" : "");
	fprintf(out, "  %-18s %14s %14s   %s\n", "totals", "old", "new", "change");
	for (size_t i = 0; i < sizeof(total_rows) / sizeof(total_rows[0]); i++) {
		const struct total_row *r = &total_rows[i];
		double ov = (double)total_of(&d->old_totals, r);
		double nv = (double)total_of(&d->new_totals, r);
		fprintf(out, "  %-18s %14s %14s   %s%s\n", r->label,
			fmt_value(a, ov, r->bytes), fmt_value(b, nv, r->bytes),
			fmt_change(c, nv - ov, r->bytes), fmt_growth(g, ov, nv));
	}
	for (size_t i = 0; i < d->nsites; i++) {
		const struct lt_diff_site *s = &d->sites[i];
		if (!s->in_old)
			added++;
		else if (!s->in_new)
			gone++;
		if (direction(s, o->order) > 0)
			grew++;
		else if (direction(s, o->order) < 0)
			shrank++;
		else
			same++;
	}
	if (grew) {
		shown = grew < o->top ? grew : o->top;
		fprintf(out, "\nSites that grew, by %s, largest first\n", by);
		for (size_t i = 0; i < shown; i++)
			print_site(out, &d->sites[i], i + 1, o);
		if (grew > shown)
			fprintf(out, "  ... and %zu more that grew (--top)\n",
				grew - shown);
	}
	if (shrank) {
		shown = shrank < o->top ? shrank : o->top;
		fprintf(out, "\nSites that shrank, by %s, largest first\n", by);
		for (size_t i = 0; i < shown; i++)
			print_site(out, &d->sites[d->nsites - 1 - i], i + 1, o);
		if (shrank > shown)
			fprintf(out, "  ... and %zu more that shrank (--top)\n",
				shrank - shown);
	}
	fprintf(out, "\n%zu site%s: %zu grew, %zu shrank, %zu unchanged in "
		"calls and bytes; %zu new, %zu gone\n", d->nsites, d->nsites == 1 ? "" : "s", grew,
		shrank, same, added, gone);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_num(FILE *out, double v)
{
	if (v >= 0 && v < 9007199254740992.0 && v == (double)(uint64_t)v)
		fprintf(out, "%" PRIu64, (uint64_t)v);
	else if (v < 0 && v > -9007199254740992.0 && v == (double)(int64_t)v)
		fprintf(out, "%" PRId64, (int64_t)v);
	else
		fprintf(out, "%.1f", v);
}

static void json_growth(FILE *out, double old, double new)
{
	double g = lt_growth(old, new);

	if (g == __builtin_inf())
		fputs("null", out);
	else
		fprintf(out, "%.6f", g);
}

static void json_nums(FILE *out, const char *name, const struct lt_diff_nums *n)
{
	fprintf(out, "\"%s\": {\"calls\": ", name);
	json_num(out, n->calls);
	fputs(", \"bytes\": ", out);
	json_num(out, n->bytes);
	fputs(", \"leaked_bytes\": ", out);
	json_num(out, n->leaked_bytes);
	fputs("}", out);
}

static void json_frames(FILE *out, struct lt_symbolizer *sym,
			const struct lt_site *s)
{
	struct lt_report_frame *v = NULL;
	size_t n = 0;

	fputs("\"frames\": [", out);
	if (s->frames && lt_report_site_frames(sym, s, &v, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			fprintf(out, "%s{\"function\": ", i ? ", " : "");
			lt_json_cstr(out, v[i].f.function);
			fputs(", \"file\": ", out);
			lt_json_cstr(out, v[i].f.file);
			fprintf(out, ", \"line\": %d}", v[i].f.line);
		}
	}
	free(v);
	fputs("]", out);
}

static void print_json(FILE *out, const struct lt_diff *d,
		       const char *old_path, const char *new_path)
{
	size_t same = 0, k = 0;

	fputs("{\n  \"old\": ", out);
	lt_json_cstr(out, old_path);
	fputs(",\n  \"new\": ", out);
	lt_json_cstr(out, new_path);
	fprintf(out, ",\n  \"sampled\": %s,\n  \"totals\": {",
		d->sampled ? "true" : "false");
	for (size_t i = 0; i < sizeof(total_rows) / sizeof(total_rows[0]); i++) {
		const struct total_row *r = &total_rows[i];
		uint64_t ov = total_of(&d->old_totals, r);
		uint64_t nv = total_of(&d->new_totals, r);
		fprintf(out, "%s\n    \"%s\": {\"old\": %" PRIu64 ", \"new\": %"
			PRIu64 ", \"change\": ", i ? "," : "", r->name, ov, nv);
		json_num(out, (double)nv - (double)ov);
		fputs(", \"growth\": ", out);
		json_growth(out, (double)ov, (double)nv);
		fputs("}", out);
	}
	fputs("\n  },\n  \"sites\": [", out);
	for (size_t i = 0; i < d->nsites; i++) {
		const struct lt_diff_site *s = &d->sites[i];
		struct lt_diff_nums ch = {
			s->new.calls - s->old.calls, s->new.bytes - s->old.bytes,
			s->new.leaked_bytes - s->old.leaked_bytes,
		};
		if (!changed(s)) {
			same++;
			continue;
		}
		fprintf(out, "%s\n    {\"key\": ", k++ ? "," : "");
		lt_json_cstr(out, s->key);
		fprintf(out, ", \"status\": \"%s\", ", !s->in_old ? "new" :
			!s->in_new ? "gone" : "changed");
		json_nums(out, "old", &s->old);
		fputs(", ", out);
		json_nums(out, "new", &s->new);
		fputs(", ", out);
		json_nums(out, "change", &ch);
		fputs(", \"growth_calls\": ", out);
		json_growth(out, s->old.calls, s->new.calls);
		fputs(", \"growth_bytes\": ", out);
		json_growth(out, s->old.bytes, s->new.bytes);
		fputs(", ", out);
		json_frames(out, s->sym, s->site);
		fputs("}", out);
	}
	fprintf(out, "%s],\n  \"unchanged_sites\": %zu\n}\n", k ? "\n  " : "",
		same);
}

/* ---- entry point ----------------------------------------------------------- */

struct loaded {
	struct lt_dump *d;
	const struct lt_model *m;
	struct lt_symbolizer *sym;
};

static int load(const char *path, struct loaded *l, struct lt_err *err)
{
	struct lt_model *m;

	memset(l, 0, sizeof(*l));
	if (lt_dump_open(path, &l->d, err) < 0)
		return -1;
	if (lt_model_build(l->d, NULL, NULL, &m, err) < 0)
		return -1;
	l->m = m;
	if (!(l->sym = lt_report_symbolizer(m)))
		return lt_err_set(err, "%s: out of memory", path);
	return 0;
}

static void unload(struct loaded *l)
{
	lt_sym_free(l->sym);
	lt_model_free((struct lt_model *)l->m);
	lt_dump_close(l->d);
}

int lt_diff_paths(FILE *out, const char *old_path, const char *new_path,
		  const struct lt_diff_opts *opts, struct lt_err *err)
{
	struct lt_diff_opts o = *opts;
	struct loaded a, b;
	struct lt_side sa = { &a.m, &a.sym, 1, false };
	struct lt_side sb = { &b.m, &b.sym, 1, false };
	struct lt_diff *d = NULL;
	int rc = -1;

	if (!o.top)
		o.top = 10;
	if (!o.frames)
		o.frames = 6;
	memset(&b, 0, sizeof(b));
	if (load(old_path, &a, err) < 0 || load(new_path, &b, err) < 0)
		goto out;
	sa.sampled = a.m->sampled;
	sb.sampled = b.m->sampled;
	if (lt_diff_build(&sa, &sb, o.order, &d, err) < 0)
		goto out;
	if (o.json)
		print_json(out, d, old_path, new_path);
	else
		print_text(out, d, old_path, new_path, &o);
	rc = 0;
	if (fflush(out) != 0 || ferror(out))
		rc = lt_err_set(err, "cannot write the diff: output error");
out:
	lt_diff_free(d);
	unload(&a);
	unload(&b);
	return rc;
}
