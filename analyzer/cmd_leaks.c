/*
 * `libtrace leaks`: blocks never freed, grouped by allocation stack,
 * largest first, with LeakSanitizer's suppression format: `leak:PATTERN`
 * lines matched against every frame's function, source file and module
 * (`*` any run of characters, `^` and `$` anchors, a substring otherwise),
 * `#` comments.  Writes only to the FILE it is given; a bad suppressions
 * file is an error naming its line.
 */
#include "cmd_sites.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "diff.h"
#include "report.h"

struct suppression {
	char *pattern;
	unsigned line;
	double blocks, bytes;
	size_t stacks;
};

struct suppressions {
	struct suppression *v;
	size_t n;
};

static void suppressions_free(struct suppressions *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].pattern);
	free(s->v);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int suppressions_read(const char *path, struct suppressions *out,
			     struct lt_err *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned no = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!f)
		return lt_err_set(err, "%s: cannot open the suppressions: %s",
				  path, strerror(errno));
	while (getline(&line, &cap, f) >= 0) {
		char *s = line, *hash, *pat;
		void *v;

		no++;
		if ((hash = strchr(s, '#')))
			*hash = '\0';
		s = trim(s);
		if (!*s)
			continue;
		if (strncmp(s, "leak:", 5) != 0) {
			rc = lt_err_set(err, "%s:%u: expected \"leak:PATTERN\" "
					"(LeakSanitizer's format), not \"%.60s\"",
					path, no, s);
			break;
		}
		pat = trim(s + 5);
		if (!*pat) {
			rc = lt_err_set(err, "%s:%u: \"leak:\" needs a pattern",
					path, no);
			break;
		}
		v = realloc(out->v, (out->n + 1) * sizeof(*out->v));
		if (!v || !(pat = strdup(pat))) {
			if (v)
				out->v = v;
			rc = lt_err_set(err, "%s: out of memory", path);
			break;
		}
		out->v = v;
		out->v[out->n++] = (struct suppression){ .pattern = pat,
							 .line = no };
	}
	if (!rc && ferror(f))
		rc = lt_err_set(err, "%s: read error", path);
	free(line);
	fclose(f);
	if (rc)
		suppressions_free(out);
	return rc;
}

/* The first occurrence of needle[0..len) in hay, or NULL. */
static const char *find_n(const char *hay, const char *needle, size_t len)
{
	if (len == 0)
		return hay;
	for (; *hay; hay++)
		if (!strncmp(hay, needle, len))
			return hay;
	return NULL;
}

/* sanitizer_common's TemplateMatch: '*' any run, '^' start, '$' end,
 * otherwise the pieces are found in order anywhere. */
static bool template_match(const char *templ, const char *str)
{
	bool start = false, asterisk = false;

	if (!str || !*str)
		return false;
	if (*templ == '^') {
		start = true;
		templ++;
	}
	while (*templ) {
		const char *star, *dollar, *end, *at;
		size_t len;

		if (*templ == '*') {
			templ++;
			start = false;
			asterisk = true;
			continue;
		}
		if (*templ == '$')
			return *str == '\0' || asterisk;
		if (!*str)
			return false;
		star = strchr(templ, '*');
		dollar = strchr(templ, '$');
		end = star && (!dollar || star < dollar) ? star : dollar;
		len = end ? (size_t)(end - templ) : strlen(templ);
		at = find_n(str, templ, len);
		if (!at || (start && at != str))
			return false;
		str = at + len;
		templ += len;
		start = false;
		asterisk = false;
	}
	return true;
}

/* The suppression matching any frame of s (function, file, module), or
 * NULL.  Every frame counts, the folded allocator frames too, as in LSan. */
static struct suppression *suppressed_by(struct lt_symbolizer *sym,
					 const struct lt_site *s,
					 struct suppressions *sup)
{
	struct lt_sym_frame tmp[32];

	if (!sup->n || !s->frames)
		return NULL;
	for (uint32_t i = 0; i < s->nframes; i++) {
		int n = lt_sym_resolve(sym, s->frames[i], true, s->first_ticks,
				       tmp, 32);
		for (int k = 0; k < n; k++) {
			if (lt_report_hidden_frame(&tmp[k]))
				continue;
			for (size_t j = 0; j < sup->n; j++) {
				const char *p = sup->v[j].pattern;
				if (template_match(p, tmp[k].function) ||
				    template_match(p, tmp[k].file) ||
				    template_match(p, tmp[k].module))
					return &sup->v[j];
			}
		}
	}
	return NULL;
}

static double leaked_bytes(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_leaked_bytes : (double)s->leaked_bytes;
}

static double leaked_blocks(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_leaked_blocks : (double)s->leaked_blocks;
}

static const struct lt_model *sort_model;

static int cmp_leaks(const void *pa, const void *pb)
{
	const struct lt_site *a = *(const struct lt_site *const *)pa;
	const struct lt_site *b = *(const struct lt_site *const *)pb;
	double x = leaked_bytes(sort_model, a), y = leaked_bytes(sort_model, b);

	if (x != y)
		return x > y ? -1 : 1;
	x = leaked_blocks(sort_model, a);
	y = leaked_blocks(sort_model, b);
	if (x != y)
		return x > y ? -1 : 1;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

static uint64_t round_u64(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 18446744073709549568.0)
		return UINT64_MAX;
	return (uint64_t)(x + 0.5);
}

static const char *plural(const char *shown)
{
	return strcmp(shown, "1") == 0 ? "" : "s";
}

int lt_leaks_path(FILE *out, const char *path, const struct lt_sites_opts *opts,
		  struct lt_err *err)
{
	struct lt_sites_opts o = *opts;
	struct suppressions sup = { 0 };
	struct lt_sites_run r;
	const struct lt_site **v = NULL;
	struct suppression **by = NULL;
	struct lt_classifier *cl = NULL;
	bool *runtime = NULL;
	size_t nv = 0, nleak = 0, nsup = 0, nrun = 0, shown;
	double bytes = 0, blocks = 0, sbytes = 0, sblocks = 0;
	double rbytes = 0, rblocks = 0;
	const char *est;
	char a[LT_FMT_BUF], b[LT_FMT_BUF], fn[256];
	int rc = 0;

	if (!o.frames)
		o.frames = 8;
	if (o.suppressions && suppressions_read(o.suppressions, &sup, err) < 0)
		return -1;
	if (lt_sites_open(path, false, false, &o, &r, err) < 0) {
		suppressions_free(&sup);
		return -1;
	}
	v = malloc((r.m->nsites + 1) * sizeof(*v));
	by = calloc(r.m->nsites + 1, sizeof(*by));
	runtime = calloc(r.m->nsites + 1, sizeof(*runtime));
	cl = lt_classifier_new(r.m, NULL, r.sym);
	if (!v || !by || !runtime || !cl) {
		rc = lt_err_set(err, "%s: out of memory", path);
		goto out;
	}
	for (size_t i = 0; i < r.m->nsites; i++)
		if (r.m->sites[i]->leaked_blocks)
			v[nv++] = r.m->sites[i];
	sort_model = r.m;
	qsort(v, nv, sizeof(*v), cmp_leaks);
	sort_model = NULL;
	/* by[i] says what suppressed v[i]; runtime[i] that the C or C++
	 * runtime keeps it for itself (not counted as the program's). */
	for (size_t i = 0; i < nv; i++) {
		by[i] = suppressed_by(r.sym, v[i], &sup);
		runtime[i] = !by[i] && lt_classify_runtime_owned(cl, v[i]);
		if (runtime[i]) {
			rblocks += leaked_blocks(r.m, v[i]);
			rbytes += leaked_bytes(r.m, v[i]);
			nrun++;
		} else if (by[i]) {
			by[i]->blocks += leaked_blocks(r.m, v[i]);
			by[i]->bytes += leaked_bytes(r.m, v[i]);
			by[i]->stacks++;
			sblocks += leaked_blocks(r.m, v[i]);
			sbytes += leaked_bytes(r.m, v[i]);
			nsup++;
		} else {
			blocks += leaked_blocks(r.m, v[i]);
			bytes += leaked_bytes(r.m, v[i]);
			nleak++;
		}
	}
	shown = o.top && o.top < nleak ? o.top : nleak;
	est = r.m->sampled ? "~" : "";

	if (o.json) {
		size_t k = 0;
		fprintf(out, "{\n");
		lt_sites_json_head(out, r.m);
		fprintf(out, ",\n  \"leaked_bytes\": %" PRIu64 ",\n  "
			"\"leaked_blocks\": %" PRIu64 ",\n  \"stacks\": %zu,\n  "
			"\"suppressed_bytes\": %" PRIu64 ",\n  "
			"\"suppressed_blocks\": %" PRIu64 ",\n  "
			"\"runtime_bytes\": %" PRIu64 ",\n  "
			"\"runtime_blocks\": %" PRIu64 ",\n  \"leaks\": [",
			round_u64(bytes), round_u64(blocks), nleak,
			round_u64(sbytes), round_u64(sblocks),
			round_u64(rbytes), round_u64(rblocks));
		for (size_t i = 0; i < nv && k < shown; i++) {
			if (by[i] || runtime[i])
				continue;
			fprintf(out, "%s\n    {\"rank\": %zu, \"stack_id\": %u, "
				"\"function\": ", k ? "," : "", k + 1,
				v[i]->stack_id);
			lt_json_cstr(out, lt_sites_function(r.sym, v[i], fn,
							    sizeof(fn)));
			fprintf(out, ", \"bytes\": %" PRIu64 ", \"blocks\": %"
				PRIu64 ", ", round_u64(leaked_bytes(r.m, v[i])),
				round_u64(leaked_blocks(r.m, v[i])));
			lt_sites_json_frames(out, r.sym, v[i]);
			fprintf(out, "}");
			k++;
		}
		fprintf(out, "%s],\n  \"runtime\": [", k ? "\n  " : "");
		k = 0;
		for (size_t i = 0; i < nv; i++) {
			if (!runtime[i])
				continue;
			fprintf(out, "%s\n    {\"stack_id\": %u, \"function\": ",
				k++ ? "," : "", v[i]->stack_id);
			lt_json_cstr(out, lt_sites_function(r.sym, v[i], fn,
							    sizeof(fn)));
			fprintf(out, ", \"bytes\": %" PRIu64 ", \"blocks\": %"
				PRIu64 ", ", round_u64(leaked_bytes(r.m, v[i])),
				round_u64(leaked_blocks(r.m, v[i])));
			lt_sites_json_frames(out, r.sym, v[i]);
			fprintf(out, "}");
		}
		fprintf(out, "%s],\n  \"suppressed\": [", k ? "\n  " : "");
		k = 0;
		for (size_t i = 0; i < nv; i++) {
			if (!by[i])
				continue;
			fprintf(out, "%s\n    {\"stack_id\": %u, \"function\": ",
				k++ ? "," : "", v[i]->stack_id);
			lt_json_cstr(out, lt_sites_function(r.sym, v[i], fn,
							    sizeof(fn)));
			fprintf(out, ", \"bytes\": %" PRIu64 ", \"blocks\": %"
				PRIu64 ", \"suppression\": ",
				round_u64(leaked_bytes(r.m, v[i])),
				round_u64(leaked_blocks(r.m, v[i])));
			lt_json_cstr(out, by[i]->pattern);
			fprintf(out, "}");
		}
		fprintf(out, "%s],\n  \"suppressions\": [", k ? "\n  " : "");
		for (size_t i = 0; i < sup.n; i++) {
			fprintf(out, "%s\n    {\"pattern\": ", i ? "," : "");
			lt_json_cstr(out, sup.v[i].pattern);
			fprintf(out, ", \"line\": %u, \"stacks\": %zu, "
				"\"blocks\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
				sup.v[i].line, sup.v[i].stacks,
				round_u64(sup.v[i].blocks),
				round_u64(sup.v[i].bytes));
		}
		fprintf(out, "%s]\n}\n", sup.n ? "\n  " : "");
	} else {
		size_t k = 0;
		fprintf(out, "libtrace leaks: %s\n", r.m->dump->path);
		if (r.m->dump->truncated)
			fprintf(out, "  warning: the dump is truncated (%s): "
				"blocks live where it ends count as leaked\n",
				r.m->dump->truncation);
		if (nleak == 0) {
			fprintf(out, "  No leaks: every block was freed%s%s.\n",
				nrun ? " or is the runtime's own" : "",
				nsup ? ", or its leak is suppressed" : "");
		} else {
			lt_fmt_count_f(b, blocks);
			fprintf(out, "  %s%s leaked in %s%s block%s from %zu "
				"stack%s, largest first\n", est,
				lt_fmt_bytes_f(a, bytes), est, b, plural(b),
				nleak, nleak == 1 ? "" : "s");
		}
		for (size_t i = 0; i < nv && k < shown; i++) {
			if (by[i] || runtime[i])
				continue;
			lt_fmt_count_f(b, leaked_blocks(r.m, v[i]));
			fprintf(out, "\n#%zu  %s%s in %s%s block%s\n", ++k, est,
				lt_fmt_bytes_f(a, leaked_bytes(r.m, v[i])),
				est, b, plural(b));
			lt_print_stack(out, r.sym, v[i], o.frames, "      ");
		}
		if (nleak > shown)
			fprintf(out, "\n... and %zu more stack%s (--top)\n",
				nleak - shown, nleak - shown == 1 ? "" : "s");
		if (nrun) {
			lt_fmt_count_f(b, rblocks);
			fprintf(out, "\nKept by the C and C++ runtimes for "
				"themselves (thread TLS, stdio buffers, "
				"libstdc++'s exception pool), not counted above: "
				"%s%s in %s%s block%s\n", est,
				lt_fmt_bytes_f(a, rbytes), est, b, plural(b));
			for (size_t i = 0; i < nv; i++) {
				if (!runtime[i])
					continue;
				lt_fmt_count_f(b, leaked_blocks(r.m, v[i]));
				fprintf(out, "  %s%s in %s%s block%s\n", est,
					lt_fmt_bytes_f(a, leaked_bytes(r.m, v[i])),
					est, b, plural(b));
				lt_print_stack(out, r.sym, v[i], o.frames,
					       "      ");
			}
		}
		if (sup.n) {
			lt_fmt_count_f(b, sblocks);
			fprintf(out, "\nSuppressions used (%s): %s%s in %s%s "
				"block%s from %zu stack%s\n", o.suppressions,
				est, lt_fmt_bytes_f(a, sbytes), est, b,
				plural(b), nsup, nsup == 1 ? "" : "s");
			for (size_t i = 0; i < sup.n; i++) {
				lt_fmt_count_f(b, sup.v[i].blocks);
				fprintf(out, "  leak:%-30s %s block%s, %s (line "
					"%u)\n", sup.v[i].pattern, b, plural(b),
					lt_fmt_bytes_f(a, sup.v[i].bytes),
					sup.v[i].line);
			}
		}
	}
	if (fflush(out) != 0 || ferror(out))
		rc = lt_err_set(err, "cannot write the report: output error");
out:
	lt_classifier_free(cl);
	free(runtime);
	free(by);
	free(v);
	suppressions_free(&sup);
	lt_sites_close(&r);
	return rc;
}
