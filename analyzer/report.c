/*
 * The report: summary, top sites by calls and by bytes, leaks by stack,
 * symbolized through symbols.h; or the same as one JSON object.  Prints
 * only to the FILE it is given and returns errors; it decides what matters
 * (sort orders, folding allocator frames), never what the numbers are.
 */
#include "report.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "symbols.h"

/* ---- stacks ---------------------------------------------------------------- */

struct frames {
	struct lt_report_frame *v;
	size_t n, cap;
	size_t folded;      /* allocator and shim frames left out */
	bool more;          /* stopped at the limit with frames left */
};

static int push_frame(struct frames *fs, const struct lt_sym_frame *f,
		      uint64_t addr)
{
	if (fs->n == fs->cap) {
		size_t ncap = fs->cap ? fs->cap * 2 : 16;
		void *p = realloc(fs->v, ncap * sizeof(*fs->v));
		if (!p)
			return -1;
		fs->v = p;
		fs->cap = ncap;
	}
	fs->v[fs->n++] = (struct lt_report_frame){ .f = *f, .addr = addr };
	return 0;
}

/* The shim's own frames (its thread trampoline) mean nothing to a user,
 * wherever they are in a stack. */
static bool is_shim_frame(const struct lt_sym_frame *f)
{
	const char *base;

	if (!f->module)
		return false;
	base = strrchr(f->module, '/');
	base = base ? base + 1 : f->module;
	return strncmp(base, "libtrace.so", 11) == 0;
}

/* Frames every thread has at its bottom: process and thread start-up in
 * libc.  They say nothing about where the program allocated. */
static bool is_startup_frame(const struct lt_sym_frame *f)
{
	static const char *const names[] = {
		"_start", "__libc_start_main", "__libc_start_main_impl",
		"__libc_start_call_main", "start_thread", "clone", "clone3",
		"__clone", "__clone3", "__clone_internal",
	};

	if (!f->function)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(f->function, names[i]))
			return true;
	return false;
}

/*
 * The source frames of a site's stack, innermost first, with inlined
 * frames expanded and the leading allocator frames (malloc wrappers,
 * operator new, libc) folded so that the first frame is the caller's own
 * code.  A stack that is all allocator is shown whole.  At most limit
 * frames.
 */
static int collect_frames(struct lt_symbolizer *sym, const struct lt_site *s,
			  size_t limit, struct frames *fs)
{
	struct lt_sym_frame tmp[32];
	bool folding = true;
	size_t folded = 0;

	memset(fs, 0, sizeof(*fs));
	for (uint32_t i = 0; s->frames && i < s->nframes; i++) {
		int n = lt_sym_resolve(sym, s->frames[i], true, s->first_ticks,
				       tmp, (int)(sizeof(tmp) / sizeof(tmp[0])));
		for (int k = 0; k < n; k++) {
			if (folding && lt_sym_is_allocator_frame(&tmp[k])) {
				folded++;
				continue;
			}
			folding = false;
			if (is_shim_frame(&tmp[k]) || is_startup_frame(&tmp[k])) {
				folded++;
				continue;
			}
			if (fs->n >= limit) {
				fs->more = true;
				goto out;
			}
			if (push_frame(fs, &tmp[k], s->frames[i]) < 0)
				return -1;
			/* Below main there is only libc's start-up. */
			if (tmp[k].function && !strcmp(tmp[k].function, "main"))
				goto out;
		}
	}
out:
	if (folding && folded) {
		/* Nothing but allocator frames: show them rather than none. */
		for (uint32_t i = 0; i < s->nframes && fs->n < limit; i++) {
			int n = lt_sym_resolve(sym, s->frames[i], true,
					       s->first_ticks, tmp, 32);
			for (int k = 0; k < n && fs->n < limit; k++)
				if (push_frame(fs, &tmp[k], s->frames[i]) < 0)
					return -1;
		}
		folded = 0;
	}
	fs->folded = folded;
	return 0;
}

static void print_stack(FILE *out, struct lt_symbolizer *sym,
			const struct lt_site *s, unsigned max_frames,
			const char *indent)
{
	struct frames fs;
	char buf[1024];

	if (s->stack_id == LT_STACK_NONE) {
		fprintf(out, "%s(no stack recorded)\n", indent);
		return;
	}
	if (!s->frames) {
		fprintf(out, "%s(stack %u is not in the dump)\n", indent,
			s->stack_id);
		return;
	}
	if (collect_frames(sym, s, max_frames, &fs) < 0) {
		fprintf(out, "%s(out of memory symbolizing)\n", indent);
		free(fs.v);
		return;
	}
	for (size_t i = 0; i < fs.n; i++)
		fprintf(out, "%s%s%s\n", indent,
			lt_sym_format(&fs.v[i].f, buf, sizeof(buf)),
			fs.v[i].f.inlined ? " [inlined]" : "");
	if (fs.more)
		fprintf(out, "%s...\n", indent);
	free(fs.v);
}

int lt_report_site_frames(struct lt_symbolizer *sym, const struct lt_site *s,
			  struct lt_report_frame **out, size_t *n)
{
	struct frames fs;

	*out = NULL;
	*n = 0;
	if (!s->frames)
		return 0;
	if (collect_frames(sym, s, SIZE_MAX, &fs) < 0) {
		free(fs.v);
		return -1;
	}
	*out = fs.v;
	*n = fs.n;
	return 0;
}

bool lt_report_hidden_frame(const struct lt_sym_frame *f)
{
	return is_shim_frame(f) || is_startup_frame(f);
}

/* ---- ordering -------------------------------------------------------------- */

static double site_calls(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_calls : (double)s->calls;
}

static double site_bytes(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_bytes : (double)s->bytes;
}

static double site_leaked_bytes(const struct lt_model *m,
				const struct lt_site *s)
{
	return m->sampled ? s->est_leaked_bytes : (double)s->leaked_bytes;
}

static double site_leaked_blocks(const struct lt_model *m,
				 const struct lt_site *s)
{
	return m->sampled ? s->est_leaked_blocks : (double)s->leaked_blocks;
}

static double site_temporary(const struct lt_model *m, const struct lt_site *s)
{
	return m->sampled ? s->est_temporary : (double)s->temporary;
}

enum order { BY_CALLS, BY_BYTES, BY_LEAKED };

/* qsort has no context argument: the sort is single-threaded. */
static const struct lt_model *sort_model;
static enum order sort_order;

static int cmp_double_desc(double a, double b)
{
	return a > b ? -1 : a < b;
}

static int cmp_sites(const void *pa, const void *pb)
{
	const struct lt_site *a = *(const struct lt_site *const *)pa;
	const struct lt_site *b = *(const struct lt_site *const *)pb;
	const struct lt_model *m = sort_model;
	int c = 0;

	switch (sort_order) {
	case BY_CALLS:
		c = cmp_double_desc(site_calls(m, a), site_calls(m, b));
		if (!c)
			c = cmp_double_desc(site_bytes(m, a), site_bytes(m, b));
		break;
	case BY_BYTES:
		c = cmp_double_desc(site_bytes(m, a), site_bytes(m, b));
		if (!c)
			c = cmp_double_desc(site_calls(m, a), site_calls(m, b));
		break;
	case BY_LEAKED:
		c = cmp_double_desc(site_leaked_bytes(m, a),
				    site_leaked_bytes(m, b));
		if (!c)
			c = cmp_double_desc(site_leaked_blocks(m, a),
					    site_leaked_blocks(m, b));
		break;
	}
	if (!c)
		c = a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
	return c;
}

/* Whether a goes after b: the heap below keeps its worst on top. */
static bool worse(const struct lt_site *a, const struct lt_site *b)
{
	return cmp_sites(&a, &b) > 0;
}

static void sift_down(const struct lt_site **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		const struct lt_site *tmp;

		if (l < n && worse(h[l], h[w]))
			w = l;
		if (r < n && worse(h[r], h[w]))
			w = r;
		if (w == i)
			return;
		tmp = h[i];
		h[i] = h[w];
		h[w] = tmp;
		i = w;
	}
}

/*
 * Puts the first top of v[0..k) in cmp_sites' order into v[0..top), in
 * that order.  A program of deep and varied stacks has 100,000 sites and
 * more (cc1plus on one C++ file: 98,000), and a report shows ten of them
 * in each of three orders: sorting them all took a sixth of that report's
 * instructions.  So a heap of the best top met so far, worst on top, then
 * a sort of those; cmp_sites is a total order, so the answer is the one a
 * full sort gives.
 */
static void sort_top(const struct lt_site **v, size_t k, size_t top)
{
	if (top >= k / 4) {
		qsort(v, k, sizeof(*v), cmp_sites);
		return;
	}
	if (top == 0)
		return;
	for (size_t i = top / 2; i-- > 0;)
		sift_down(v, top, i);
	for (size_t i = top; i < k; i++) {
		if (worse(v[i], v[0]))
			continue;
		v[0] = v[i];
		sift_down(v, top, 0);
	}
	qsort(v, top, sizeof(*v), cmp_sites);
}

/* The first top sites in order that have something to show; a malloc'd
 * array (caller frees) or NULL when out of memory.  *found: how many have
 * something to show (may be NULL). */
static const struct lt_site **ranked(const struct lt_model *m, enum order o,
				     size_t top, size_t *n, size_t *found)
{
	const struct lt_site **v = malloc((m->nsites + 1) * sizeof(*v));
	size_t k = 0;

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->nsites; i++) {
		const struct lt_site *s = m->sites[i];
		if (o == BY_LEAKED ? s->leaked_blocks > 0 : s->calls > 0)
			v[k++] = s;
	}
	sort_model = m;
	sort_order = o;
	sort_top(v, k, top);
	sort_model = NULL;
	*n = k < top ? k : top;
	if (found)
		*found = k;
	return v;
}

/* "s" unless the count as shown is exactly one. */
static const char *plural(const char *shown)
{
	return strcmp(shown, "1") == 0 ? "" : "s";
}

/* ---- text ------------------------------------------------------------------ */

static const char *end_reason(const struct lt_model *m, char *buf, size_t len)
{
	const struct lt_rec_trailer *tr = m->dump->trailer;

	if (!tr) {
		snprintf(buf, len, "unknown (the dump is truncated)");
		return buf;
	}
	switch (tr->head.flags) {
	case LT_END_EXIT:
		snprintf(buf, len, "exit(%u)", tr->head.aux);
		break;
	case LT_END_UEXIT:
		snprintf(buf, len, "_exit(%u)", tr->head.aux);
		break;
	case LT_END_SIGNAL:
		snprintf(buf, len, "killed by signal %u (%s)", tr->head.aux,
			 tr->head.aux < 65 ? strsignal((int)tr->head.aux) : "?");
		break;
	case LT_END_EXEC:
		snprintf(buf, len, "exec'd another program");
		break;
	case LT_END_ERROR:
		snprintf(buf, len, "tracing stopped on a shim error");
		break;
	default:
		snprintf(buf, len, "unknown reason %u", tr->head.flags);
		break;
	}
	return buf;
}

static void print_argv(FILE *out, const struct lt_dump *d)
{
	size_t i = 0;

	/* argv is NUL-separated; show it the way a shell user typed it. */
	while (i < d->cmdline_len) {
		const char *arg = d->cmdline + i;
		size_t n = strnlen(arg, d->cmdline_len - i);
		fprintf(out, "%s%.*s", i ? " " : "", (int)n, arg);
		i += n + 1;
	}
	if (d->cmdline_len == 0)
		fprintf(out, "%.*s", (int)d->exe_len, d->exe);
}

/* The run's length: the trailer's or the last chunk's monotonic clock when
 * the dump has one, else its ticks converted. */
static double run_seconds(const struct lt_model *m)
{
	const struct lt_dump *d = m->dump;
	uint64_t end_ns = d->trailer ? d->trailer->mono_ns : d->pair_mono_ns;

	if (end_ns > d->hdr->start_mono_ns)
		return (double)(end_ns - d->hdr->start_mono_ns) * 1e-9;
	return lt_model_seconds(m, m->end_ticks);
}

static void print_summary(FILE *out, const struct lt_model *m)
{
	const struct lt_dump *d = m->dump;
	const struct lt_totals *t = &m->totals;
	const char *est = m->sampled ? "~" : "";
	char a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF], e[LT_FMT_BUF];
	char when[64] = "?", reason[128];
	time_t secs = (time_t)(d->hdr->start_realtime_ns / 1000000000u);
	struct tm tm;

	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);

	fprintf(out, "libtrace report: %s\n", d->path);
	fprintf(out, "  program     ");
	print_argv(out, d);
	fprintf(out, "\n  process     pid %u, parent %u", d->hdr->pid,
		d->hdr->ppid);
	if (d->hdr->flags & LT_HDR_FORKED)
		fprintf(out, ", forked from a traced parent (%.*s)",
			(int)d->parent_dump_len, d->parent_dump);
	fprintf(out, "\n  run         started %s, ran %s, ended: %s\n", when,
		lt_fmt_duration(a, run_seconds(m)),
		end_reason(m, reason, sizeof(reason)));
	if (m->sampled)
		fprintf(out, "  sampling    one sample per %s allocated on "
			"average: numbers marked ~ are estimates\n",
			lt_fmt_bytes(a, m->sample_interval));
	fprintf(out, "\n");

	fprintf(out, "  allocations %s%s calls, %s%s (%s reallocs, %s%s "
		"temporary)\n", est, lt_fmt_count(a, t->allocations), est,
		lt_fmt_bytes(b, t->bytes_allocated),
		lt_fmt_count(c, t->reallocs), est,
		lt_fmt_count(e, t->temporary));
	fprintf(out, "  frees       %s%s\n", est, lt_fmt_count(a, t->frees));
	fprintf(out, "  peak heap   %s%s", est, lt_fmt_bytes(a, t->peak_bytes));
	if (!m->sampled && t->peak_bytes)
		fprintf(out, " at %s", lt_fmt_duration(b,
			lt_model_seconds(m, m->peak_ticks)));
	lt_fmt_count(b, t->leaked_blocks);
	fprintf(out, "\n  leaked      %s%s in %s%s block%s\n", est,
		lt_fmt_bytes(a, t->leaked_bytes), est, b, plural(b));
	fprintf(out, "  threads     %s created, peak %s running (main "
		"included), %s joined, %s detached\n",
		lt_fmt_count(a, t->threads_created),
		lt_fmt_count(b, t->peak_threads),
		lt_fmt_count(c, t->threads_joined),
		lt_fmt_count(e, t->threads_detached));
	if (t->threads_leaked || t->threads_running_at_exit)
		fprintf(out, "              %s leaked (finished, never joined "
			"or detached), %s running at exit\n",
			lt_fmt_count(a, t->threads_leaked),
			lt_fmt_count(b, t->threads_running_at_exit));
	if (m->forks || m->execs)
		fprintf(out, "  processes   %s fork(s), %s exec(s)\n",
			lt_fmt_count(a, m->forks), lt_fmt_count(b, m->execs));

	if (d->truncated || m->lost.allocs || m->lost.frees || m->nwarnings)
		fprintf(out, "\n");
	if (d->truncated && run_seconds(m) >= 0)
		fprintf(out, "  warning: the dump is truncated (%s); the "
			"numbers cover the run up to %s\n", d->truncation,
			lt_fmt_duration(a, run_seconds(m)));
	else if (d->truncated)
		fprintf(out, "  warning: the dump is truncated (%s); the "
			"numbers cover the run up to where it ends\n",
			d->truncation);
	if (m->lost.allocs || m->lost.frees)
		fprintf(out, "  warning: %s allocations and %s frees (%s) "
			"happened where they could not be recorded; the "
			"numbers above are not exact\n",
			lt_fmt_count(a, m->lost.allocs),
			lt_fmt_count(b, m->lost.frees),
			lt_fmt_bytes(c, m->lost.bytes));
	for (size_t i = 0; i < m->nwarnings; i++)
		fprintf(out, "  warning: %s\n", m->warnings[i]);
}

static void print_size_range(FILE *out, const struct lt_site *s)
{
	char a[LT_FMT_BUF], b[LT_FMT_BUF];

	if (s->min_size == s->max_size)
		fprintf(out, "size %s", lt_fmt_bytes(a, s->min_size));
	else
		fprintf(out, "sizes %s..%s", lt_fmt_bytes(a, s->min_size),
			lt_fmt_bytes(b, s->max_size));
}

static int print_sites(FILE *out, const struct lt_model *m,
		       struct lt_symbolizer *sym, enum order o,
		       const struct lt_report_opts *opts)
{
	const char *est = m->sampled ? "~" : "";
	double secs = run_seconds(m), all_calls = 0;
	char a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF], e[LT_FMT_BUF];
	size_t n;
	const struct lt_site **v = ranked(m, o, opts->top, &n, NULL);

	if (!v)
		return -1;
	for (size_t i = 0; i < m->nsites; i++)
		all_calls += site_calls(m, m->sites[i]);
	if (n == 0) {
		/* Said once, not under two empty headings. */
		if (o == BY_CALLS)
			fprintf(out, "\nNo allocations recorded.\n");
		free(v);
		return 0;
	}
	fprintf(out, "\nTop %zu allocation sites by %s%s\n", n,
		o == BY_CALLS ? "calls" : "bytes",
		m->sampled ? " (sampled, estimated)" : "");
	for (size_t i = 0; i < n; i++) {
		const struct lt_site *s = v[i];
		double calls = site_calls(m, s);
		lt_fmt_count_f(a, calls);
		fprintf(out, "  #%zu  %s%s call%s (%s), %s%s, ", i + 1, est,
			a, plural(a),
			lt_fmt_percent(b, calls, all_calls), est,
			lt_fmt_bytes_f(c, site_bytes(m, s)));
		print_size_range(out, s);
		if (s->temporary)
			fprintf(out, ", %s%s temporary", est,
				lt_fmt_count_f(e, site_temporary(m, s)));
		if (secs > 0)
			fprintf(out, ", %s%s/s", est,
				lt_fmt_count_f(a, calls / secs));
		fprintf(out, "\n");
		print_stack(out, sym, s, opts->frames, "        ");
	}
	free(v);
	return 0;
}

static int print_leaks(FILE *out, const struct lt_model *m,
		       struct lt_symbolizer *sym,
		       const struct lt_report_opts *opts)
{
	const char *est = m->sampled ? "~" : "";
	char a[LT_FMT_BUF], b[LT_FMT_BUF];
	size_t n, all;
	const struct lt_site **v = ranked(m, BY_LEAKED, opts->top, &n, &all);

	if (!v)
		return -1;
	if (all == 0) {
		fprintf(out, "\nNo leaks: every block was freed%s\n",
			m->dump->truncated ? " (up to where the dump ends)" : "");
		free(v);
		return 0;
	}
	lt_fmt_count(b, m->totals.leaked_blocks);
	fprintf(out, "\nLeaks: %s%s in %s%s block%s from %zu stack%s, largest "
		"first%s\n", est, lt_fmt_bytes(a, m->totals.leaked_bytes), est,
		b, plural(b), all, all == 1 ? "" : "s",
		m->dump->truncated ? " (still live where the dump ends)" : "");
	for (size_t i = 0; i < n; i++) {
		const struct lt_site *s = v[i];
		lt_fmt_count_f(b, site_leaked_blocks(m, s));
		fprintf(out, "  #%zu  %s%s in %s%s block%s\n", i + 1, est,
			lt_fmt_bytes_f(a, site_leaked_bytes(m, s)), est, b,
			plural(b));
		print_stack(out, sym, s, opts->frames, "        ");
	}
	if (all > n)
		fprintf(out, "  ... and %zu more stacks (--top)\n", all - n);
	free(v);
	return 0;
}

static void print_oneline(FILE *out, const struct lt_model *m)
{
	const struct lt_totals *t = &m->totals;
	const char *est = m->sampled ? "~" : "";
	char allocs[LT_FMT_BUF], bytes[LT_FMT_BUF], peak[LT_FMT_BUF];
	char leaked[LT_FMT_BUF], blocks[LT_FMT_BUF], threads[LT_FMT_BUF];

	fprintf(out, "%s: pid %u, %s%s allocations (%s%s), peak %s%s, "
		"leaked %s%s in %s%s blocks, %s threads created%s%s\n",
		m->dump->path, m->dump->hdr->pid, est,
		lt_fmt_count(allocs, t->allocations), est,
		lt_fmt_bytes(bytes, t->bytes_allocated), est,
		lt_fmt_bytes(peak, t->peak_bytes), est,
		lt_fmt_bytes(leaked, t->leaked_bytes), est,
		lt_fmt_count(blocks, t->leaked_blocks),
		lt_fmt_count(threads, t->threads_created),
		m->dump->truncated ? " [truncated]" : "",
		m->lost.allocs || m->lost.frees ? " [lost events]" : "");
}

/* ---- JSON ------------------------------------------------------------------ */

static uint64_t est_u64(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 18446744073709549568.0)
		return UINT64_MAX;
	return (uint64_t)(x + 0.5);
}

static void json_frames(FILE *out, struct lt_symbolizer *sym,
			const struct lt_site *s)
{
	struct frames fs;

	fprintf(out, "\"frames\": [");
	if (s->frames && collect_frames(sym, s, SIZE_MAX, &fs) == 0) {
		for (size_t i = 0; i < fs.n; i++) {
			const struct lt_sym_frame *f = &fs.v[i].f;
			fprintf(out, "%s{\"address\": \"0x%" PRIx64 "\", "
				"\"function\": ", i ? ", " : "", fs.v[i].addr);
			lt_json_cstr(out, f->function);
			fprintf(out, ", \"file\": ");
			lt_json_cstr(out, f->file);
			fprintf(out, ", \"line\": %d, \"module\": ", f->line);
			lt_json_cstr(out, f->module);
			fprintf(out, ", \"offset\": %" PRIu64 ", \"inlined\": %s}",
				f->offset, f->inlined ? "true" : "false");
		}
		fprintf(out, "], \"folded_frames\": %zu", fs.folded);
		free(fs.v);
	} else {
		fprintf(out, "], \"folded_frames\": 0");
	}
}

static int json_sites(FILE *out, const struct lt_model *m,
		      struct lt_symbolizer *sym, enum order o, size_t top,
		      const char *name)
{
	double all_calls = 0;
	size_t n;
	const struct lt_site **v = ranked(m, o, top, &n, NULL);

	if (!v)
		return -1;
	for (size_t i = 0; i < m->nsites; i++)
		all_calls += site_calls(m, m->sites[i]);
	fprintf(out, ",\n  \"%s\": [", name);
	for (size_t i = 0; i < n; i++) {
		const struct lt_site *s = v[i];
		fprintf(out, "%s\n    {\"stack_id\": %u, ", i ? "," : "",
			s->stack_id);
		if (o == BY_LEAKED) {
			fprintf(out, "\"blocks\": %" PRIu64 ", \"bytes\": %"
				PRIu64 ", ",
				est_u64(site_leaked_blocks(m, s)),
				est_u64(site_leaked_bytes(m, s)));
		} else {
			fprintf(out, "\"calls\": %" PRIu64 ", \"bytes\": %"
				PRIu64 ", \"share_of_calls\": %.6f, "
				"\"min_size\": %" PRIu64 ", \"max_size\": %"
				PRIu64 ", \"temporary\": %" PRIu64
				", \"reallocs\": %" PRIu64
				", \"leaked_blocks\": %" PRIu64
				", \"leaked_bytes\": %" PRIu64 ", ",
				est_u64(site_calls(m, s)),
				est_u64(site_bytes(m, s)),
				all_calls > 0 ? site_calls(m, s) / all_calls : 0,
				s->min_size, s->max_size,
				est_u64(site_temporary(m, s)), s->reallocs,
				est_u64(site_leaked_blocks(m, s)),
				est_u64(site_leaked_bytes(m, s)));
		}
		json_frames(out, sym, s);
		fprintf(out, "}");
	}
	fprintf(out, "%s]", n ? "\n  " : "");
	free(v);
	return 0;
}

static void print_json(FILE *out, const struct lt_model *m,
		       struct lt_symbolizer *sym,
		       const struct lt_report_opts *opts)
{
	const struct lt_dump *d = m->dump;
	const struct lt_totals *t = &m->totals;
	const struct lt_anomalies *an = &m->anomalies;
	const struct lt_rec_trailer *tr = d->trailer;
	size_t i = 0;

	fprintf(out, "{\n  \"dump\": {\"path\": ");
	lt_json_cstr(out, d->path);
	fprintf(out, ", \"pid\": %u, \"ppid\": %u, \"forked\": %s, "
		"\"exe\": ", d->hdr->pid, d->hdr->ppid,
		d->hdr->flags & LT_HDR_FORKED ? "true" : "false");
	lt_json_string(out, d->exe, d->exe_len);
	fprintf(out, ", \"argv\": [");
	while (i < d->cmdline_len) {
		size_t n = strnlen(d->cmdline + i, d->cmdline_len - i);
		fprintf(out, "%s", i ? ", " : "");
		lt_json_string(out, d->cmdline + i, n);
		i += n + 1;
	}
	fprintf(out, "], \"parent_dump\": ");
	if (d->hdr->flags & LT_HDR_FORKED)
		lt_json_string(out, d->parent_dump, d->parent_dump_len);
	else
		fprintf(out, "null");
	fprintf(out, ", \"start_realtime_ns\": %" PRIu64
		", \"duration_seconds\": %.9f, \"end\": ",
		d->hdr->start_realtime_ns, run_seconds(m));
	if (tr) {
		static const char *const reasons[] = {
			[LT_END_EXIT] = "exit", [LT_END_UEXIT] = "_exit",
			[LT_END_SIGNAL] = "signal", [LT_END_EXEC] = "exec",
			[LT_END_ERROR] = "error",
		};
		const char *r = tr->head.flags < 6 && reasons[tr->head.flags] ?
				reasons[tr->head.flags] : "unknown";
		fprintf(out, "{\"reason\": \"%s\", \"status\": %u}", r,
			tr->head.aux);
	} else {
		fprintf(out, "null");
	}
	fprintf(out, ", \"sample_interval\": %" PRIu64 ", \"chunks\": %zu, "
		"\"threads_seen\": %zu},\n", m->sample_interval, d->nchunks,
		m->nthreads);

	fprintf(out, "  \"truncated\": %s,\n", d->truncated ? "true" : "false");
	if (d->truncated) {
		fprintf(out, "  \"truncation\": ");
		lt_json_cstr(out, d->truncation);
		fprintf(out, ",\n");
	}
	fprintf(out, "  \"sampled\": %s,\n", m->sampled ? "true" : "false");
	fprintf(out, "  \"totals\": {\"allocations\": %" PRIu64
		", \"frees\": %" PRIu64 ", \"reallocs\": %" PRIu64
		", \"bytes_allocated\": %" PRIu64 ", \"peak_bytes\": %" PRIu64
		", \"leaked_blocks\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
		", \"temporary\": %" PRIu64 ", \"threads_created\": %" PRIu64
		", \"threads_joined\": %" PRIu64
		", \"threads_detached\": %" PRIu64
		", \"threads_leaked\": %" PRIu64
		", \"threads_running_at_exit\": %" PRIu64
		", \"peak_threads\": %" PRIu64 "},\n",
		t->allocations, t->frees, t->reallocs, t->bytes_allocated,
		t->peak_bytes, t->leaked_blocks, t->leaked_bytes, t->temporary,
		t->threads_created, t->threads_joined, t->threads_detached,
		t->threads_leaked, t->threads_running_at_exit, t->peak_threads);
	fprintf(out, "  \"lost\": {\"allocations\": %" PRIu64 ", \"frees\": %"
		PRIu64 ", \"bytes\": %" PRIu64 "},\n", m->lost.allocs,
		m->lost.frees, m->lost.bytes);
	fprintf(out, "  \"anomalies\": {\"frees_untracked\": %" PRIu64
		", \"ordering\": %" PRIu64 ", \"targets_unknown\": %" PRIu64
		", \"stacks_undefined\": %" PRIu64 "},\n", an->frees_untracked,
		an->ordering, an->targets_unknown, an->stacks_undefined);
	fprintf(out, "  \"warnings\": [");
	for (size_t k = 0; k < m->nwarnings; k++) {
		fprintf(out, "%s", k ? ", " : "");
		lt_json_cstr(out, m->warnings[k]);
	}
	fprintf(out, "]");
	json_sites(out, m, sym, BY_CALLS, opts->top, "sites_by_calls");
	json_sites(out, m, sym, BY_BYTES, opts->top, "sites_by_bytes");
	json_sites(out, m, sym, BY_LEAKED, opts->top, "leaks");
	fprintf(out, "\n}\n");
}

/* ---- entry points ---------------------------------------------------------- */

struct lt_symbolizer *lt_report_symbolizer(const struct lt_model *m)
{
	struct lt_symbolizer *sym = lt_sym_new();

	if (!sym)
		return NULL;
	for (size_t i = 0; i < m->nmodules; i++) {
		const struct lt_module *mod = &m->modules[i];
		/* A module that cannot be opened still resolves to
		 * module+offset; its warning is in lt_sym_warnings(). */
		lt_sym_add_module(sym, mod->path, mod->bias, mod->lo, mod->hi,
				  mod->build_id, mod->build_id_len, mod->ticks);
	}
	for (size_t i = 0; i < m->nunloads; i++)
		lt_sym_unload_module(sym, m->unloads[i].bias,
				     m->unloads[i].ticks);
	return sym;
}

int lt_report_model(FILE *out, const struct lt_model *m,
		    const struct lt_report_opts *o, struct lt_err *err)
{
	struct lt_report_opts opts = *o;
	struct lt_symbolizer *sym = NULL;
	int rc = 0;

	if (!opts.top)
		opts.top = 10;
	if (!opts.frames)
		opts.frames = 8;
	if (opts.mode == LT_REPORT_ONELINE) {
		print_oneline(out, m);
		goto done;
	}
	sym = lt_report_symbolizer(m);
	if (!sym)
		return lt_err_set(err, "%s: out of memory", m->dump->path);
	if (opts.mode == LT_REPORT_JSON) {
		print_json(out, m, sym, &opts);
	} else {
		const char *w;
		print_summary(out, m);
		if (print_sites(out, m, sym, BY_CALLS, &opts) < 0 ||
		    print_sites(out, m, sym, BY_BYTES, &opts) < 0 ||
		    print_leaks(out, m, sym, &opts) < 0)
			rc = lt_err_set(err, "%s: out of memory", m->dump->path);
		w = lt_sym_warnings(sym);
		if (*w) {
			fprintf(out, "\nSymbol notes:\n");
			for (const char *p = w; *p;) {
				size_t n = strcspn(p, "\n");
				fprintf(out, "  %.*s\n", (int)n, p);
				p += n + (p[n] == '\n');
			}
		}
	}
	lt_sym_free(sym);
done:
	if (fflush(out) != 0 || ferror(out))
		rc = lt_err_set(err, "cannot write the report: output error");
	return rc;
}

int lt_report_path(FILE *out, const char *path,
		   const struct lt_report_opts *opts, struct lt_err *err)
{
	struct lt_dump *d;
	struct lt_model *m;
	int rc;

	if (lt_dump_open(path, &d, err) < 0)
		return -1;
	if (lt_model_build(d, opts->progress, opts->progress_ctx, &m, err) < 0) {
		lt_dump_close(d);
		return -1;
	}
	rc = lt_report_model(out, m, opts, err);
	lt_model_free(m);
	lt_dump_close(d);
	return rc;
}
