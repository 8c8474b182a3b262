/*
 * `libtrace top`: allocation sites ranked by calls, bytes or temporaries,
 * each with its numbers, its escape classes and the evidence for each, and
 * one plain suggestion.  Decides no class itself (classify.c does); it
 * words them.  Writes only to the FILE it is given.
 */
#include "cmd_sites.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "diff.h"

/* One class of one site, worded. */
struct shown_class {
	const char *name;          /* JSON "class" */
	const char *title;         /* text */
	int level;                 /* escapes-to-caller: 1.., 0 unknown */
	double blocks;             /* -1: not a count of blocks */
	char evidence[384];
};

#define MAX_SHOWN (LT_CLASS_LEVELS + 12)

struct ranked {
	const struct lt_site *s;
	struct lt_site_classes c;
};

/* "s" unless the count as shown is exactly one. */
static const char *plural(const char *shown)
{
	return strcmp(shown, "1") == 0 ? "" : "s";
}

static const char *name_or(const char *name, const char *fallback)
{
	return name && *name ? name : fallback;
}

static void add(struct shown_class *v, size_t *n, const char *name,
		const char *title, int level, double blocks, const char *fmt,
		...) __attribute__((format(printf, 7, 8)));

static void add(struct shown_class *v, size_t *n, const char *name,
		const char *title, int level, double blocks, const char *fmt,
		...)
{
	va_list ap;

	if (*n >= MAX_SHOWN)
		return;
	v[*n] = (struct shown_class){
		.name = name, .title = title, .level = level, .blocks = blocks,
	};
	va_start(ap, fmt);
	vsnprintf(v[*n].evidence, sizeof(v[*n].evidence), fmt, ap);
	va_end(ap);
	(*n)++;
}

/* The most blocks of the site live at once (estimated when sampled: the
 * site has one size, so one weight). */
static double peak_live(const struct lt_model *m, const struct lt_site_classes *c)
{
	return (double)c->peak_live_blocks *
	       lt_model_weight(m, c->site->min_size);
}

/* The classes of one site, in a fixed order, with their evidence. */
static size_t word_classes(const struct lt_model *m,
			   const struct lt_site_classes *c,
			   struct shown_class *v)
{
	const struct lt_site *s = c->site;
	const struct lt_site_fate *sf = c->fate;
	const char *fn = name_or(c->function, "the allocating function");
	char a[LT_FMT_BUF], b[LT_FMT_BUF], x[LT_FMT_BUF], y[LT_FMT_BUF];
	size_t n = 0;

	lt_fmt_count_f(b, c->calls);
	if (c->temporary >= 0.5)
		add(v, &n, "temporary", "temporary", 0, c->temporary,
		    "%s of %s block%s freed before their thread allocated "
		    "twice more", lt_fmt_count_f(a, c->temporary), b, plural(b));
	if (c->frame_local >= 0.5) {
		if (c->local_by_callee && c->local_freer)
			add(v, &n, "frame-local", "frame-local", 0,
			    c->frame_local, "%s of %s block%s freed by %s, a "
			    "callee of %s, while %s's frame was live",
			    lt_fmt_count_f(a, c->frame_local), b, plural(b),
			    c->local_freer, fn, fn);
		else
			add(v, &n, "frame-local", "frame-local", 0,
			    c->frame_local, "%s of %s block%s freed in %s "
			    "while its frame was live (does not escape)",
			    lt_fmt_count_f(a, c->frame_local), b, plural(b), fn);
	}
	if (c->stack_candidate)
		add(v, &n, "stack-candidate", "stack candidate", 0, -1,
		    "size always %s and every block freed in %s's frame: "
		    "it fits a local array", lt_fmt_bytes(a, s->min_size), fn);
	if (c->pool_candidate)
		add(v, &n, "pool-candidate", "pool candidate", 0, -1,
		    "%s calls of one size (%s), at most %s live at once: "
		    "each block could be reused %s times",
		    lt_fmt_count_f(a, c->calls), lt_fmt_bytes(x, s->min_size),
		    lt_fmt_count_f(y, peak_live(m, c)),
		    lt_fmt_count_f(b, (double)s->calls /
				   (double)(c->peak_live_blocks ?
					    c->peak_live_blocks : 1)));
	lt_fmt_count_f(b, c->calls);
	for (int k = 1; k <= LT_CLASS_LEVELS; k++) {
		if (c->escapes[k] < 0.5)
			continue;
		add(v, &n, "escapes-to-caller", "escapes to caller", k,
		    c->escapes[k], "%s of %s block%s freed in %s, %d frame%s "
		    "up%s (level %d): they outlive %s",
		    lt_fmt_count_f(a, c->escapes[k]), b, plural(b),
		    name_or(c->level_function[k], "a caller"), k,
		    k == 1 ? "" : "s", k == LT_CLASS_LEVELS ? " or more" : "",
		    k, fn);
	}
	if (c->escapes_far >= 0.5)
		add(v, &n, "escapes-to-caller", "escapes to caller", 0,
		    c->escapes_far, "%s of %s block%s freed after %s returned, "
		    "by code whose free site does not reach the allocating "
		    "stack (level 1 or more)",
		    lt_fmt_count_f(a, c->escapes_far), b, plural(b), fn);
	if (c->after_main >= 0.5)
		add(v, &n, "escapes-to-caller", "escapes to caller", 0,
		    c->after_main, "%s of %s block%s freed after %s returned "
		    "(exit handlers, destructors)",
		    lt_fmt_count_f(a, c->after_main), b, plural(b),
		    !strcmp(c->function, "main") ? "main" :
		    "main (or the thread's start routine)");
	if (c->thread >= 0.5)
		add(v, &n, "escapes-to-thread", "escapes to another thread", 0,
		    c->thread, "%s of %s block%s freed by another thread%s%s "
		    "(ownership moved)", lt_fmt_count_f(a, c->thread), b, plural(b),
		    c->thread_freer ? ", in " : "",
		    c->thread_freer ? c->thread_freer : "");
	if (c->leaked >= 0.5)
		add(v, &n, "leaked", "leaked", 0, c->leaked,
		    "%s of %s block%s never freed%s",
		    lt_fmt_count_f(a, c->leaked), b, plural(b),
		    m->dump->truncated ? " (before the dump ends)" : "");
	if (c->additive && sf) {
		char steps[2 * LT_FMT_BUF + 4], z[LT_FMT_BUF], w[LT_FMT_BUF];
		if (sf->step_min == sf->step_max)
			snprintf(steps, sizeof(steps), "+%s",
				 lt_fmt_bytes(x, sf->step_min));
		else
			snprintf(steps, sizeof(steps), "+%s..+%s",
				 lt_fmt_bytes(x, sf->step_min),
				 lt_fmt_bytes(y, sf->step_max));
		lt_fmt_count(a, sf->additive_chains);
		add(v, &n, "realloc-additive", "realloc growth (additive)", 0,
		    -1, "%s chain%s grew here by %s at a time (each step at "
		    "most 1/8 of the block), up to %s after %s growth steps: "
		    "every step may copy the whole block, O(n^2) in all",
		    a, plural(a), steps, lt_fmt_bytes(z, sf->max_size_grown),
		    lt_fmt_count(w, sf->longest_chain));
	}
	return n;
}

/* What was not decided, and why, in one line; "" when nothing. */
static void word_undecided(const struct lt_site_classes *c, char *buf,
			   size_t len)
{
	char a[LT_FMT_BUF];
	size_t at = 0;
	const char *fn = name_or(c->function, "the allocating function");

	buf[0] = '\0';
#define PART(cond, ...) do {                                            \
	if ((cond) && at < len) {                                       \
		at += (size_t)snprintf(buf + at, len - at, "%s",        \
				       at ? "; " : "");                 \
		if (at < len)                                           \
			at += (size_t)snprintf(buf + at, len - at,      \
					       __VA_ARGS__);            \
	}                                                               \
} while (0)
	PART(c->ambiguous >= 0.5, "%s freed on a line of %s above its "
	     "allocation: by a later turn of a loop or a later call, not "
	     "told apart", lt_fmt_count_f(a, c->ambiguous), fn);
	PART(c->undecided >= 0.5, "%s freed where the free site's frames do "
	     "not reach the allocating stack (a deeper LIBTRACE_FREE_DEPTH "
	     "may tell)", lt_fmt_count_f(a, c->undecided));
	PART(c->no_free_site >= 0.5, "%s freed with no free-site stack "
	     "(LIBTRACE_FREE_DEPTH=0)", lt_fmt_count_f(a, c->no_free_site));
	PART(c->overflow >= 0.5, "%s with too many distinct free sites to "
	     "keep", lt_fmt_count_f(a, c->overflow));
#undef PART
}

/* Fewer calls than this and a site is not a hot path: no advice to
 * reuse or pool, which pays only when repeated. */
#define HOT_CALLS 100

/* One plain sentence: what to do about this site, or why nothing. */
static void suggest(const struct lt_model *m, const struct lt_site_classes *c,
		    char *buf, size_t len)
{
	const struct lt_site *s = c->site;
	const struct lt_site_fate *sf = c->fate;
	const char *fn = name_or(c->function, "this function");
	char a[LT_FMT_BUF], b[LT_FMT_BUF];
	double escaped = 0;
	int top_level = 0;

	for (int k = 1; k <= LT_CLASS_LEVELS; k++) {
		escaped += c->escapes[k];
		if (c->escapes[k] > (top_level ? c->escapes[top_level] : 0))
			top_level = k;
	}
	if (c->additive && sf) {
		snprintf(buf, len, "%s grows a block by a few bytes at a time, "
			 "so each realloc may copy all of it (quadratic): grow "
			 "the capacity geometrically (double it) and keep the "
			 "length apart, the strings.Builder way.", fn);
	} else if (c->stack_candidate) {
		snprintf(buf, len, "Every block is %s and never outlives %s: "
			 "use a local array (char buf[%" PRIu64 "]) instead of "
			 "malloc and free on this path.",
			 lt_fmt_bytes(a, s->min_size), fn, s->min_size);
	} else if (c->runtime_owned && c->leaked >= 0.5) {
		snprintf(buf, len, "The C library allocated this for itself "
			 "(a thread's TLS block or a stdio buffer) and reuses "
			 "or reclaims it: nothing to free.");
	} else if (c->leaked >= 0.5 && c->leaked >= 0.5 * c->calls) {
		if (strchr(fn, '+') || strchr(fn, ' '))
			snprintf(buf, len, "These blocks are never freed: free "
				 "them when their owner is done, or, if they "
				 "must live until exit, say so with a `leak:` "
				 "line naming the function or module in a "
				 "suppressions file.");
		else
			snprintf(buf, len, "These blocks are never freed: free "
				 "them when their owner is done, or, if they "
				 "must live until exit, say so with `leak:%s` in "
				 "a suppressions file.", fn);
	} else if (c->pool_candidate) {
		char d[LT_FMT_BUF];
		snprintf(buf, len, "%s blocks of one size (%s) churn through "
			 "malloc with at most %s live at once: keep freed ones "
			 "on a free list (a pool) and reuse them.",
			 lt_fmt_count_f(a, c->calls),
			 lt_fmt_bytes(b, s->min_size),
			 lt_fmt_count_f(d, peak_live(m, c)));
	} else if (c->ambiguous >= 0.5 * c->calls) {
		snprintf(buf, len, "Each block lives until a later call of %s "
			 "(or a later turn of its loop) frees it: if one is "
			 "kept at a time, reuse one buffer in place instead of "
			 "freeing and allocating again.", fn);
	} else if (c->calls < HOT_CALLS) {
		lt_fmt_count_f(a, c->calls);
		snprintf(buf, len, "Allocated %s time%s in this run: not a hot "
			 "path, nothing to change.", a, plural(a));
	} else if (escaped >= 0.5 && escaped >= c->thread &&
		   escaped >= c->frame_local && top_level) {
		const char *owner = name_or(c->level_function[top_level],
					    "the caller");
		if (top_level == 1 && c->temporary >= 0.5 * c->calls)
			snprintf(buf, len, "%s returns the block and %s frees "
				 "it right away: let %s pass in the buffer "
				 "(its own local array) so nothing is "
				 "allocated.", fn, owner, owner);
		else
			snprintf(buf, len, "The block outlives %s and dies in "
				 "%s, %d frame%s up: if %s only needs it "
				 "briefly, let %s own the storage and pass "
				 "it down.", fn, owner, top_level,
				 top_level == 1 ? "" : "s", owner, owner);
	} else if (c->thread >= 0.5 && c->thread >= c->frame_local) {
		snprintf(buf, len, "Ownership moves to another thread: that "
			 "is what the handoff is for; if it is hot, send items "
			 "in batches so fewer blocks cross.");
	} else if (c->frame_local >= 0.5 && c->frame_local >= 0.5 * c->calls) {
		if (c->chained >= 0.5 || s->reallocs)
			snprintf(buf, len, "%s resizes the block with realloc "
				 "and frees it before returning: if its final "
				 "size has a small bound, one local array of "
				 "that size avoids every call.", fn);
		else if (s->min_size != s->max_size)
			snprintf(buf, len, "The block never outlives %s: if "
				 "its size (%s..%s) has a small bound, a local "
				 "array avoids the malloc; else reuse one "
				 "buffer across calls.", fn,
				 lt_fmt_bytes(a, s->min_size),
				 lt_fmt_bytes(b, s->max_size));
		else if (s->min_size > LT_STACK_MAX_SIZE)
			snprintf(buf, len, "The block never outlives %s but is "
				 "%s, large for the stack: keep one buffer and "
				 "reuse it across calls.", fn,
				 lt_fmt_bytes(a, s->min_size));
		else
			snprintf(buf, len, "Most blocks never outlive %s: use a "
				 "local array on the paths where the block does "
				 "not escape.", fn);
	} else {
		snprintf(buf, len, "Nothing to change found from this run: "
			 "ask why %s allocates %s times if this path is hot.",
			 fn, lt_fmt_count_f(a, c->calls));
	}
}

/* ---- ranking ------------------------------------------------------------ */

static double order_value(const struct lt_model *m, const struct lt_site *s,
			  enum lt_top_order o)
{
	switch (o) {
	case LT_TOP_BY_BYTES:
		return lt_site_bytes(m, s);
	case LT_TOP_BY_TEMPORARY:
		return m->sampled ? s->est_temporary : (double)s->temporary;
	case LT_TOP_BY_CALLS:
	default:
		return lt_site_calls(m, s);
	}
}

/* qsort has no context argument: the sort is single-threaded. */
static const struct lt_model *sort_model;
static enum lt_top_order sort_order;

static int cmp_sites(const void *pa, const void *pb)
{
	const struct lt_site *a = *(const struct lt_site *const *)pa;
	const struct lt_site *b = *(const struct lt_site *const *)pb;
	double x = order_value(sort_model, a, sort_order);
	double y = order_value(sort_model, b, sort_order);

	if (x != y)
		return x > y ? -1 : 1;
	x = lt_site_calls(sort_model, a);
	y = lt_site_calls(sort_model, b);
	if (x != y)
		return x > y ? -1 : 1;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

static const char *order_name(enum lt_top_order o)
{
	return o == LT_TOP_BY_BYTES ? "bytes" :
	       o == LT_TOP_BY_TEMPORARY ? "temporary" : "calls";
}

/* ---- output -------------------------------------------------------------- */

static void print_text(FILE *out, const struct lt_sites_run *r,
		       const struct lt_sites_opts *o, struct ranked *v,
		       size_t n, size_t all, double all_calls, bool free_sites)
{
	const struct lt_model *m = r->m;
	const char *est = m->sampled ? "~" : "";
	double secs = lt_sites_seconds(m);
	char a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF], d[LT_FMT_BUF];
	char text[1024];

	fprintf(out, "libtrace top: %s\n", m->dump->path);
	fprintf(out, "  %s%s allocation calls from %zu site%s in %s, ranked "
		"by %s%s\n", est, lt_fmt_count_f(a, all_calls), all,
		all == 1 ? "" : "s", lt_fmt_duration(b, secs),
		order_name(o->order),
		m->sampled ? " (sampled: numbers marked ~ are estimates)" : "");
	if (m->dump->truncated)
		fprintf(out, "  warning: the dump is truncated (%s); blocks "
			"live where it ends count as leaked\n",
			m->dump->truncation);
	if (!free_sites)
		fprintf(out, "  note: the dump holds no free-site stacks "
			"(LIBTRACE_FREE_DEPTH=0): only \"another thread\", "
			"\"leaked\" and realloc growth can be told\n");
	if (n == 0) {
		fprintf(out, "\nNo allocations recorded.\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct lt_site *s = v[i].s;
		struct shown_class cl[MAX_SHOWN];
		size_t ncl = word_classes(m, &v[i].c, cl);
		double calls = lt_site_calls(m, s);

		lt_fmt_count_f(a, calls);
		fprintf(out, "\n#%zu  %s%s call%s (%s of all), %s%s, ", i + 1,
			est, a, plural(a), lt_fmt_percent(b, calls, all_calls),
			est, lt_fmt_bytes_f(c, lt_site_bytes(m, s)));
		if (s->min_size == s->max_size)
			fprintf(out, "size %s", lt_fmt_bytes(d, s->min_size));
		else
			fprintf(out, "sizes %s..%s", lt_fmt_bytes(c, s->min_size),
				lt_fmt_bytes(d, s->max_size));
		if (secs > 0)
			fprintf(out, ", %s%s/s", est,
				lt_fmt_count_f(a, calls / secs));
		fprintf(out, "\n");
		lt_print_stack(out, r->sym, s, o->frames, "      ");
		for (size_t k = 0; k < ncl; k++) {
			char title[64];
			if (cl[k].level)
				snprintf(title, sizeof(title), "%s (level %d)",
					 cl[k].title, cl[k].level);
			else
				snprintf(title, sizeof(title), "%s", cl[k].title);
			fprintf(out, "    %-28s %s\n", title, cl[k].evidence);
		}
		if (v[i].c.moved >= 0.5)
			fprintf(out, "    %-28s %s of %s blocks grown or shrunk "
				"again by a later realloc (their chain's end "
				"is counted where it began)\n", "realloc'd on",
				lt_fmt_count_f(a, v[i].c.moved),
				lt_fmt_count_f(b, v[i].c.calls));
		word_undecided(&v[i].c, text, sizeof(text));
		if (*text)
			fprintf(out, "    %-28s %s\n", "undecided", text);
		suggest(m, &v[i].c, text, sizeof(text));
		fprintf(out, "    -> %s\n", text);
	}
	if (all > n)
		fprintf(out, "\n... and %zu more site%s (--top)\n", all - n,
			all - n == 1 ? "" : "s");
}

static uint64_t round_u64(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 18446744073709549568.0)
		return UINT64_MAX;
	return (uint64_t)(x + 0.5);
}

static void print_json(FILE *out, const struct lt_sites_run *r,
		       const struct lt_sites_opts *o, struct ranked *v,
		       size_t n, size_t all, double all_calls, bool free_sites)
{
	const struct lt_model *m = r->m;
	double secs = lt_sites_seconds(m);
	char text[1024];

	fprintf(out, "{\n");
	lt_sites_json_head(out, m);
	fprintf(out, ",\n  \"order\": \"%s\",\n  \"free_sites\": %s,\n  "
		"\"total_calls\": %" PRIu64 ",\n  \"sites_total\": %zu,\n  "
		"\"sites\": [", order_name(o->order),
		free_sites ? "true" : "false", round_u64(all_calls), all);
	for (size_t i = 0; i < n; i++) {
		const struct lt_site *s = v[i].s;
		const struct lt_site_classes *c = &v[i].c;
		struct shown_class cl[MAX_SHOWN];
		size_t ncl = word_classes(m, c, cl);
		double calls = lt_site_calls(m, s), escaped = 0;

		fprintf(out, "%s\n    {\"rank\": %zu, \"stack_id\": %u, "
			"\"function\": ", i ? "," : "", i + 1, s->stack_id);
		lt_json_cstr(out, c->function[0] ? c->function : NULL);
		fprintf(out, ", \"calls\": %" PRIu64 ", \"bytes\": %" PRIu64
			", \"calls_per_second\": %.3f, \"share_of_calls\": %.6f"
			", \"min_size\": %" PRIu64 ", \"max_size\": %" PRIu64
			", \"temporary\": %" PRIu64 ", \"reallocs\": %" PRIu64
			", \"peak_live_blocks\": %" PRIu64 ",\n     ",
			round_u64(calls), round_u64(lt_site_bytes(m, s)),
			secs > 0 ? calls / secs : 0.0,
			all_calls > 0 ? calls / all_calls : 0.0,
			s->min_size, s->max_size, round_u64(c->temporary),
			s->reallocs, c->peak_live_blocks);
		lt_sites_json_frames(out, r->sym, s);
		fprintf(out, ",\n     \"classes\": [");
		for (size_t k = 0; k < ncl; k++) {
			fprintf(out, "%s\n       {\"class\": \"%s\"",
				k ? "," : "", cl[k].name);
			if (!strcmp(cl[k].name, "escapes-to-caller")) {
				if (cl[k].level)
					fprintf(out, ", \"level\": %d", cl[k].level);
				else
					fprintf(out, ", \"level\": null");
			}
			if (cl[k].blocks >= 0)
				fprintf(out, ", \"blocks\": %" PRIu64,
					round_u64(cl[k].blocks));
			fprintf(out, ", \"evidence\": ");
			lt_json_cstr(out, cl[k].evidence);
			fprintf(out, "}");
		}
		fprintf(out, "%s],\n     \"fates\": {\"frame_local\": %" PRIu64
			", \"escapes\": {", ncl ? "\n     " : "",
			round_u64(c->frame_local));
		for (int k = 1, first = 1; k <= LT_CLASS_LEVELS; k++) {
			escaped += c->escapes[k];
			if (c->escapes[k] < 0.5)
				continue;
			fprintf(out, "%s\"%d\": %" PRIu64, first ? "" : ", ", k,
				round_u64(c->escapes[k]));
			first = 0;
		}
		fprintf(out, "}, \"escapes_level_unknown\": %" PRIu64
			", \"after_main\": %" PRIu64 ", \"other_thread\": %"
			PRIu64 ", \"leaked\": %" PRIu64 ", \"reallocated\": %"
			PRIu64 ", \"ambiguous\": %" PRIu64 ", \"undecided\": %"
			PRIu64 ", \"no_free_site\": %" PRIu64 "}",
			round_u64(c->escapes_far), round_u64(c->after_main),
			round_u64(c->thread), round_u64(c->leaked),
			round_u64(c->moved), round_u64(c->ambiguous),
			round_u64(c->undecided + c->overflow),
			round_u64(c->no_free_site));
		if (c->fate && c->fate->growth_steps)
			fprintf(out, ",\n     \"realloc_growth\": {\"growth_steps\": "
				"%" PRIu64 ", \"additive_steps\": %" PRIu64
				", \"additive_chains\": %" PRIu64
				", \"longest_chain\": %" PRIu64
				", \"step_min\": %" PRIu64 ", \"step_max\": %"
				PRIu64 "}", c->fate->growth_steps,
				c->fate->additive_steps, c->fate->additive_chains,
				c->fate->longest_chain, c->fate->step_min,
				c->fate->step_max);
		suggest(m, c, text, sizeof(text));
		fprintf(out, ",\n     \"suggestion\": ");
		lt_json_cstr(out, text);
		fprintf(out, "}");
		(void)escaped;
	}
	fprintf(out, "%s]\n}\n", n ? "\n  " : "");
}

int lt_top_path(FILE *out, const char *path, const struct lt_sites_opts *opts,
		struct lt_err *err)
{
	struct lt_sites_opts o = *opts;
	struct lt_sites_run r;
	struct lt_classifier *cl = NULL;
	const struct lt_site **v = NULL;
	struct ranked *rk = NULL;
	size_t all = 0, n;
	double all_calls = 0;
	int rc = 0;

	if (!o.top)
		o.top = 10;
	if (!o.frames)
		o.frames = 8;
	if (lt_sites_open(path, true, false, &o, &r, err) < 0)
		return -1;
	cl = lt_classifier_new(r.m, r.fates, r.sym);
	v = malloc((r.m->nsites + 1) * sizeof(*v));
	if (!cl || !v) {
		rc = lt_err_set(err, "%s: out of memory", path);
		goto out;
	}
	for (size_t i = 0; i < r.m->nsites; i++) {
		const struct lt_site *s = r.m->sites[i];
		if (!s->calls)
			continue;
		v[all++] = s;
		all_calls += lt_site_calls(r.m, s);
	}
	sort_model = r.m;
	sort_order = o.order;
	qsort(v, all, sizeof(*v), cmp_sites);
	sort_model = NULL;
	n = all < o.top ? all : o.top;
	rk = calloc(n + 1, sizeof(*rk));
	if (!rk) {
		rc = lt_err_set(err, "%s: out of memory", path);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rk[i].s = v[i];
		if (lt_classify_site(cl, v[i], &rk[i].c) < 0) {
			rc = lt_err_set(err, "%s: out of memory", path);
			goto out;
		}
	}
	if (o.json)
		print_json(out, &r, &o, rk, n, all, all_calls,
			   lt_classifier_has_free_sites(cl));
	else
		print_text(out, &r, &o, rk, n, all, all_calls,
			   lt_classifier_has_free_sites(cl));
	if (fflush(out) != 0 || ferror(out))
		rc = lt_err_set(err, "cannot write the report: output error");
out:
	free(rk);
	free(v);
	lt_classifier_free(cl);
	lt_sites_close(&r);
	return rc;
}
