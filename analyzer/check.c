/*
 * `libtrace check`: evaluates every limit of a budget, and the ratchet
 * against a baseline, over replayed dumps; prints each result like a test
 * failure (the limit, the actual value, the stacks responsible) and
 * collects them as JUnit test cases.  Decides pass or fail, never the
 * numbers (those are the model's); never exits, never writes to stderr.
 */
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>     /* isfinite only: the build links no libm */
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "hash.h"
#include "junit.h"
#include "model.h"
#include "report.h"
#include "symbols.h"

/* ---- who holds the heap at its peak -------------------------------------- */

/* One stack's share of a tracked heap. */
struct holder {
	uint32_t stack_id;
	double live, at_peak;
	uint64_t last;           /* tracker->changes when live last moved */
	UT_hash_handle hh;
};

/*
 * The live bytes of a set of stacks over the replay, their peak, and what
 * each stack held then.  A stack that has not changed since the latest
 * peak still holds what it held then, so that is recorded lazily, just
 * before its next change and at the end: no pass over every stack at each
 * new peak.
 */
struct tracker {
	const uint32_t *match;   /* sorted stack ids; NULL: every stack */
	size_t nmatch;
	bool sampled;            /* amounts are weighted estimates */
	double live, peak;
	uint64_t changes, peak_change;
	struct holder *holders;
	bool oom;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void track(struct tracker *t, uint32_t stack, double amount)
{
	struct holder *h;

	if (t->match && !bsearch(&stack, t->match, t->nmatch, sizeof(*t->match),
				 cmp_u32))
		return;
	HASH_FIND(hh, t->holders, &stack, sizeof(stack), h);
	if (!h) {
		if (!(h = calloc(1, sizeof(*h)))) {
			t->oom = true;
			return;
		}
		h->stack_id = stack;
		if (LT_HASH_ADD(t->holders, stack_id, sizeof(h->stack_id), h) < 0) {
			free(h);
			t->oom = true;
			return;
		}
	}
	if (h->last <= t->peak_change)
		h->at_peak = h->live;
	h->live += amount;
	h->last = ++t->changes;
	t->live += amount;
	if (t->live > t->peak) {
		t->peak = t->live;
		t->peak_change = t->changes;
	}
}

static void tracker_finish(struct tracker *t)
{
	for (struct holder *h = t->holders; h; h = h->hh.next)
		if (h->last <= t->peak_change)
			h->at_peak = h->live;
}

static void tracker_free(struct tracker *t)
{
	struct holder *h, *tmp;

	HASH_ITER(hh, t->holders, h, tmp) {
		HASH_DEL(t->holders, h);
		free(h);
	}
}

struct trackers {
	struct tracker **v;
	size_t n;
};

static void on_heap(void *ctx, uint64_t ticks, const struct lt_site *site,
		    uint64_t size, double weight, int delta)
{
	struct trackers *ts = ctx;

	(void)ticks;
	for (size_t i = 0; i < ts->n; i++) {
		double amount = ts->v[i]->sampled ? weight * (double)size :
						    (double)size;
		track(ts->v[i], site->stack_id, delta > 0 ? amount : -amount);
	}
}

/* ---- dumps ----------------------------------------------------------------- */

struct site_ref {
	uint32_t stack_id;
	const struct lt_site *site;
};

struct run {
	const char *path;
	struct lt_dump *d;
	struct lt_model *m;
	struct lt_symbolizer *sym;
	struct tracker heap;            /* every stack: who holds the peak */
	struct site_ref *by_stack;      /* sorted by stack id */
	size_t nby_stack;
	bool used;                      /* baselines: paired already */
};

static int cmp_ref(const void *a, const void *b)
{
	return cmp_u32(&((const struct site_ref *)a)->stack_id,
		       &((const struct site_ref *)b)->stack_id);
}

static const struct lt_site *site_of(const struct run *r, uint32_t stack)
{
	struct site_ref key = { .stack_id = stack }, *f;

	f = bsearch(&key, r->by_stack, r->nby_stack, sizeof(key), cmp_ref);
	return f ? f->site : NULL;
}

static int load_run(const char *path, struct run *r, struct lt_err *err)
{
	struct tracker *one[1] = { &r->heap };
	struct trackers ts = { one, 1 };
	struct lt_model_hooks hooks = { .heap = on_heap, .heap_ctx = &ts };

	memset(r, 0, sizeof(*r));
	r->path = path;
	if (lt_dump_open(path, &r->d, err) < 0)
		return -1;
	r->heap.sampled = (r->d->hdr->flags & LT_HDR_SAMPLED) &&
			  r->d->hdr->sample_interval;
	if (lt_model_build_hooked(r->d, &hooks, &r->m, err) < 0)
		return -1;
	tracker_finish(&r->heap);
	if (r->heap.oom || !(r->sym = lt_report_symbolizer(r->m)))
		return lt_err_set(err, "%s: out of memory", path);
	r->by_stack = malloc((r->m->nsites + 1) * sizeof(*r->by_stack));
	if (!r->by_stack)
		return lt_err_set(err, "%s: out of memory", path);
	for (size_t i = 0; i < r->m->nsites; i++)
		r->by_stack[r->nby_stack++] = (struct site_ref){
			r->m->sites[i]->stack_id, r->m->sites[i] };
	qsort(r->by_stack, r->nby_stack, sizeof(*r->by_stack), cmp_ref);
	return 0;
}

static void free_run(struct run *r)
{
	tracker_free(&r->heap);
	free(r->by_stack);
	lt_sym_free(r->sym);
	lt_model_free(r->m);
	lt_dump_close(r->d);
}

/* The program's file name, for pairing dumps with baselines. */
static void exe_name(const struct run *r, char *buf, size_t len)
{
	const char *e = r->d->exe, *slash;
	size_t n = r->d->exe_len;

	slash = memrchr(e, '/', n);
	if (slash) {
		n -= (size_t)(slash + 1 - e);
		e = slash + 1;
	}
	snprintf(buf, len, "%.*s", (int)n, e);
}

/* ---- matching -------------------------------------------------------------- */

/* Does any frame of the stack (inlined frames included) match l? */
static bool stack_matches(struct run *r, const struct lt_site *s,
			  const struct lt_limit *l)
{
	struct lt_sym_frame tmp[32];

	for (uint32_t i = 0; s && s->frames && i < s->nframes; i++) {
		int n = lt_sym_resolve(r->sym, s->frames[i], true, s->first_ticks,
				       tmp, 32);
		for (int k = 0; k < n; k++)
			if (lt_limit_matches(l, tmp[k].function, tmp[k].file,
					     tmp[k].line))
				return true;
	}
	return false;
}

/* The function at a start routine's address, for matching and showing. */
static bool routine_frame(struct run *r, uint64_t addr, uint64_t ticks,
			  struct lt_sym_frame *out)
{
	struct lt_sym_frame tmp[32];
	int n;

	if (!addr)
		return false;
	n = lt_sym_resolve(r->sym, addr, false, ticks, tmp, 32);
	if (n <= 0)
		return false;
	*out = tmp[n - 1];
	return true;
}

/*
 * Blocks the C library allocates for itself and keeps past exit, reusing or
 * reclaiming them on its own: a thread's TLS vector (kept with its cached
 * stack), stdio buffers, libgcc_s loaded for thread exit.  valgrind calls
 * them "still reachable"; they are not the program's leaks, so leak
 * limits leave them out (and say so).
 */
static bool runtime_owned(struct run *r, const struct lt_site *s)
{
	static const char *const names[] = {
		"_dl_allocate_tls", "_dl_allocate_tls_init", "allocate_dtv",
		"_dl_resize_dtv", "_dl_update_slotinfo", "_IO_file_doallocate",
		"__libc_unwind_link_get",
	};
	struct lt_sym_frame tmp[32];

	for (uint32_t i = 0; s->frames && i < s->nframes; i++) {
		int n = lt_sym_resolve(r->sym, s->frames[i], true, s->first_ticks,
				       tmp, 32);
		for (int k = 0; k < n; k++) {
			const char *mod = tmp[k].module ?
				strrchr(tmp[k].module, '/') : NULL;
			mod = mod ? mod + 1 : tmp[k].module;
			if (!tmp[k].function || !mod ||
			    (strncmp(mod, "libc.so", 7) && strncmp(mod, "ld-", 3)))
				continue;
			for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
				if (!strcmp(tmp[k].function, names[j]))
					return true;
		}
	}
	return false;
}

static bool thread_matches(struct run *r, const struct lt_thread *t,
			   const struct lt_limit *l)
{
	struct lt_sym_frame f;

	if (stack_matches(r, site_of(r, t->create_stack), l))
		return true;
	return routine_frame(r, t->start_routine, t->create_ticks, &f) &&
	       lt_limit_matches(l, f.function, f.file, f.line);
}

/* ---- what a limit measures ------------------------------------------------- */

static bool is_thread_kind(enum lt_limit_kind k)
{
	return k == LT_LIMIT_THREADS || k == LT_LIMIT_THREAD_LEAKS ||
	       k == LT_LIMIT_RUNNING_AT_EXIT;
}

/* Per-site measure of an allocation limit (not PEAK: see the trackers). */
static double site_measure(const struct lt_model *m, const struct lt_site *s,
			   enum lt_limit_kind k)
{
	switch (k) {
	case LT_LIMIT_ALLOCS:
		return lt_site_calls(m, s);
	case LT_LIMIT_REALLOCS:
		return m->sampled && s->calls ?
		       (double)s->reallocs * s->est_calls / (double)s->calls :
		       (double)s->reallocs;
	case LT_LIMIT_BYTES:
		return lt_site_bytes(m, s);
	case LT_LIMIT_LEAKED_BYTES:
		return lt_site_leaked_bytes(m, s);
	case LT_LIMIT_LEAKED_BLOCKS:
		return lt_site_leaked_blocks(m, s);
	default:
		return 0;
	}
}

static bool thread_leaked(const struct lt_thread *t)
{
	return !t->is_main && t->exited && !t->joined && !t->detached;
}

static bool thread_running(const struct lt_thread *t)
{
	return !t->is_main && !t->exited && !t->joined && !t->detached;
}

static uint64_t thread_begin(const struct lt_thread *t)
{
	return t->created ? t->create_ticks : t->start_ticks;
}

static uint64_t thread_end(const struct lt_thread *t)
{
	return t->exited ? t->exit_ticks : UINT64_MAX;
}

struct tick_event {
	uint64_t ticks;
	int delta;
};

static int cmp_tick(const void *pa, const void *pb)
{
	const struct tick_event *a = pa, *b = pb;

	if (a->ticks != b->ticks)
		return a->ticks < b->ticks ? -1 : 1;
	return a->delta - b->delta;   /* an exit before a start at one tick */
}

/* Most of the selected threads alive at once, and the first moment of
 * it; *when is 0 when none.  Returns -1 when out of memory. */
static int thread_peak(const struct lt_model *m, const bool *selected,
		       uint64_t *peak, uint64_t *when)
{
	struct tick_event *ev = malloc((2 * m->nthreads + 1) * sizeof(*ev));
	size_t n = 0;
	uint64_t alive = 0;

	*peak = 0;
	*when = 0;
	if (!ev)
		return -1;
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct lt_thread *t = m->threads[i];
		if (!selected[i] || (!t->created && !t->started))
			continue;
		ev[n++] = (struct tick_event){ thread_begin(t), 1 };
		if (t->exited)
			ev[n++] = (struct tick_event){ thread_end(t), -1 };
	}
	qsort(ev, n, sizeof(*ev), cmp_tick);
	for (size_t i = 0; i < n; i++) {
		alive += (uint64_t)(int64_t)ev[i].delta;
		if (alive > *peak) {
			*peak = alive;
			*when = ev[i].ticks;
		}
	}
	free(ev);
	return 0;
}

/* ---- culprits -------------------------------------------------------------- */

/* An allocation site, or a group of threads from one creating stack and
 * start routine, with its share of a limit's measure. */
struct culprit {
	struct run *r;
	const struct lt_site *site;       /* NULL: no stack */
	uint32_t create_stack;            /* threads */
	uint64_t start_routine, ticks;    /* threads */
	bool thread;
	double value;
};

struct culprits {
	struct culprit *v;
	size_t n, cap;
	bool oom;
};

static void add_culprit(struct culprits *c, const struct culprit *x)
{
	if (x->value <= 0)
		return;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		void *p = realloc(c->v, nc * sizeof(*c->v));
		if (!p) {
			c->oom = true;
			return;
		}
		c->v = p;
		c->cap = nc;
	}
	c->v[c->n++] = *x;
}

/* Threads are counted into groups by creating stack and start routine. */
static void add_thread(struct culprits *c, struct run *r,
		       const struct lt_thread *t)
{
	for (size_t i = 0; i < c->n; i++) {
		struct culprit *x = &c->v[i];
		if (x->thread && x->r == r && x->create_stack == t->create_stack &&
		    x->start_routine == t->start_routine) {
			x->value++;
			return;
		}
	}
	add_culprit(c, &(struct culprit){
		.r = r, .site = site_of(r, t->create_stack),
		.create_stack = t->create_stack,
		.start_routine = t->start_routine, .ticks = t->create_ticks,
		.thread = true, .value = 1,
	});
}

static int cmp_culprit(const void *pa, const void *pb)
{
	const struct culprit *a = pa, *b = pb;

	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	/* Compared, not subtracted: stack ids span all of uint32_t. */
	int64_t x = a->site ? (int64_t)a->site->stack_id : -1;
	int64_t y = b->site ? (int64_t)b->site->stack_id : -1;
	return x < y ? -1 : x > y;
}

/* ---- evaluating one limit -------------------------------------------------- */

struct group {
	struct run **runs;
	size_t n;
};

struct outcome {
	double actual;
	bool failed, estimated;
	size_t matched;              /* site limits: stacks or threads matched */
	double runtime_blocks, runtime_bytes;   /* left out: runtime_owned() */
	struct culprits culprits;
};

static bool group_sampled(const struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->runs[i]->m->sampled)
			return true;
	return false;
}

static uint64_t whole_run_value(const struct lt_totals *t, enum lt_limit_kind k)
{
	switch (k) {
	case LT_LIMIT_ALLOCS:          return t->allocations;
	case LT_LIMIT_REALLOCS:        return t->reallocs;
	case LT_LIMIT_BYTES:           return t->bytes_allocated;
	case LT_LIMIT_PEAK:            return t->peak_bytes;
	case LT_LIMIT_LEAKED_BYTES:    return t->leaked_bytes;
	case LT_LIMIT_LEAKED_BLOCKS:   return t->leaked_blocks;
	case LT_LIMIT_THREADS:         return t->peak_threads;
	case LT_LIMIT_THREAD_LEAKS:    return t->threads_leaked;
	case LT_LIMIT_RUNNING_AT_EXIT: return t->threads_running_at_exit;
	default:                       return 0;
	}
}

/* Which stacks of r match l, sorted: for a site tracker. */
static uint32_t *matching_stacks(struct run *r, const struct lt_limit *l,
				 size_t *n)
{
	uint32_t *v = malloc((r->m->nsites + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < r->m->nsites; i++)
		if (stack_matches(r, r->m->sites[i], l))
			v[(*n)++] = r->m->sites[i]->stack_id;
	qsort(v, *n, sizeof(*v), cmp_u32);
	return v;
}

/* A site's own peak: replay r again, tracking only the matching stacks. */
static int site_peak(struct run *r, const struct lt_limit *l,
		     struct outcome *o, double *best, struct lt_err *err)
{
	struct tracker t = { .sampled = r->heap.sampled };
	struct tracker *one[1] = { &t };
	struct trackers ts = { one, 1 };
	struct lt_model_hooks hooks = { .heap = on_heap, .heap_ctx = &ts };
	uint32_t *match = matching_stacks(r, l, &t.nmatch);
	struct lt_model *again = NULL;
	int rc = 0;

	if (!match)
		return lt_err_set(err, "out of memory");
	t.match = match;
	o->matched += t.nmatch;
	if (t.nmatch && lt_model_build_hooked(r->d, &hooks, &again, err) < 0) {
		free(match);
		return -1;
	}
	tracker_finish(&t);
	if (t.oom) {
		rc = lt_err_set(err, "out of memory");
	} else if (t.peak > *best) {
		*best = t.peak;
		o->culprits.n = 0;
		for (struct holder *h = t.holders; h; h = h->hh.next)
			add_culprit(&o->culprits, &(struct culprit){
				.r = r, .site = site_of(r, h->stack_id),
				.value = h->at_peak });
	}
	lt_model_free(again);
	tracker_free(&t);
	free(match);
	return rc;
}

static int evaluate(const struct group *g, const struct lt_limit *l,
		    struct outcome *o, struct lt_err *err)
{
	enum lt_limit_kind k = l->kind;
	double best = 0;

	memset(o, 0, sizeof(*o));
	o->estimated = group_sampled(g) && !is_thread_kind(k);
	if (!l->site) {
		struct lt_totals t;
		struct lt_model **ms = malloc((g->n + 1) * sizeof(*ms));
		struct lt_side side = { (const struct lt_model **)ms, NULL, g->n,
					false };
		if (!ms)
			return lt_err_set(err, "out of memory");
		for (size_t i = 0; i < g->n; i++)
			ms[i] = g->runs[i]->m;
		lt_side_totals(&side, &t);
		free(ms);
		o->actual = (double)whole_run_value(&t, k);
		/* Allocation counts and bytes of a sampled dump are exact
		 * (the shim's own totals); the rest are estimates. */
		if (k == LT_LIMIT_ALLOCS || k == LT_LIMIT_REALLOCS ||
		    k == LT_LIMIT_BYTES)
			o->estimated = false;
	}
	for (size_t i = 0; i < g->n; i++) {
		struct run *r = g->runs[i];
		const struct lt_model *m = r->m;

		if (k == LT_LIMIT_PEAK) {
			if (l->site) {
				if (site_peak(r, l, o, &best, err) < 0)
					return -1;
				continue;
			}
			if ((double)m->totals.peak_bytes <= best)
				continue;
			best = (double)m->totals.peak_bytes;
			o->culprits.n = 0;
			for (struct holder *h = r->heap.holders; h; h = h->hh.next)
				add_culprit(&o->culprits, &(struct culprit){
					.r = r, .site = site_of(r, h->stack_id),
					.value = h->at_peak });
			continue;
		}
		if (!is_thread_kind(k)) {
			bool leaks = k == LT_LIMIT_LEAKED_BYTES ||
				     k == LT_LIMIT_LEAKED_BLOCKS;
			for (size_t s = 0; s < m->nsites; s++) {
				const struct lt_site *site = m->sites[s];
				double v = site_measure(m, site, k);
				if (leaks && site->leaked_blocks &&
				    runtime_owned(r, site)) {
					o->runtime_blocks +=
						lt_site_leaked_blocks(m, site);
					o->runtime_bytes +=
						lt_site_leaked_bytes(m, site);
					if (!l->site)
						o->actual -= v;
					continue;
				}
				if (l->site) {
					if (site->calls == 0 ||
					    !stack_matches(r, site, l))
						continue;
					o->matched++;
					o->actual += v;
				}
				add_culprit(&o->culprits, &(struct culprit){
					.r = r, .site = site, .value = v });
			}
			continue;
		}

		/* Threads. */
		bool *sel = calloc(m->nthreads + 1, sizeof(*sel));
		uint64_t peak, when;
		if (!sel)
			return lt_err_set(err, "out of memory");
		for (size_t t = 0; t < m->nthreads; t++) {
			const struct lt_thread *th = m->threads[t];
			if (l->site)
				sel[t] = !th->is_main && thread_matches(r, th, l);
			else
				sel[t] = k == LT_LIMIT_THREADS || !th->is_main;
			o->matched += sel[t];
		}
		if (k == LT_LIMIT_THREADS) {
			if (thread_peak(m, sel, &peak, &when) < 0) {
				free(sel);
				return lt_err_set(err, "out of memory");
			}
			if (l->site && (double)peak > o->actual)
				o->actual = (double)peak;
			if ((double)peak > best) {
				best = (double)peak;
				o->culprits.n = 0;
				for (size_t t = 0; t < m->nthreads; t++) {
					const struct lt_thread *th = m->threads[t];
					if (sel[t] && !th->is_main &&
					    thread_begin(th) <= when &&
					    thread_end(th) > when)
						add_thread(&o->culprits, r, th);
				}
			}
		} else {
			for (size_t t = 0; t < m->nthreads; t++) {
				const struct lt_thread *th = m->threads[t];
				bool bad = k == LT_LIMIT_THREAD_LEAKS ?
					   thread_leaked(th) : thread_running(th);
				if (!sel[t] || !bad)
					continue;
				add_thread(&o->culprits, r, th);
				if (l->site)
					o->actual++;
			}
		}
		free(sel);
	}
	if (l->site && k == LT_LIMIT_PEAK)
		o->actual = best;
	if (o->actual < 0)
		o->actual = 0;
	if (o->culprits.oom)
		return lt_err_set(err, "out of memory");
	if (o->culprits.n)
		qsort(o->culprits.v, o->culprits.n, sizeof(*o->culprits.v),
		      cmp_culprit);
	/* Round an estimate; one past 2^64 (hostile sizes) stays as it is,
	 * converting it would be undefined. */
	if (o->estimated && o->actual >= 0 && o->actual < 18446744073709549568.0)
		o->actual = (double)(uint64_t)(o->actual + 0.5);
	o->failed = o->actual > (double)l->value;
	return 0;
}

/* ---- printing -------------------------------------------------------------- */

/* "4.8 KiB (4,904 bytes)" or "20,000" */
static const char *fmt_measure(char *buf, size_t len, double v, bool bytes)
{
	char a[LT_FMT_BUF], b[LT_FMT_BUF];

	if (!bytes) {
		snprintf(buf, len, "%s", lt_fmt_count_f(a, v));
	} else if (v < 1024) {
		snprintf(buf, len, "%s", lt_fmt_bytes_f(a, v));
	} else {
		snprintf(buf, len, "%s (%s bytes)", lt_fmt_bytes_f(a, v),
			 lt_fmt_count_f(b, v));
	}
	return buf;
}

static const char *unit_word(enum lt_limit_kind k, double v)
{
	bool one = v > 0.5 && v < 1.5;

	switch (k) {
	case LT_LIMIT_ALLOCS:          return one ? "allocation" : "allocations";
	case LT_LIMIT_REALLOCS:        return one ? "realloc" : "reallocs";
	case LT_LIMIT_LEAKED_BLOCKS:   return one ? "leaked block" : "leaked blocks";
	case LT_LIMIT_THREADS:         return one ? "thread alive" : "threads alive";
	case LT_LIMIT_THREAD_LEAKS:    return one ? "leaked thread" : "leaked threads";
	case LT_LIMIT_RUNNING_AT_EXIT: return one ? "thread running at exit" :
					      "threads running at exit";
	case LT_LIMIT_PEAK:            return "held at the peak";
	case LT_LIMIT_BYTES:           return "allocated";
	case LT_LIMIT_LEAKED_BYTES:    return "leaked";
	default:                       return "";
	}
}

static void print_culprit(FILE *out, const struct culprit *c, size_t rank,
			  double total, const struct lt_limit *l, bool many,
			  unsigned frames)
{
	char a[96], b[LT_FMT_BUF], rbuf[1024];
	struct lt_sym_frame f;
	bool bytes = lt_limit_is_bytes(l->kind);

	fprintf(out, "        #%zu  %s %s (%s)", rank,
		fmt_measure(a, sizeof(a), c->value, bytes),
		unit_word(l->kind, c->value),
		lt_fmt_percent(b, c->value, total));
	if (many)
		fprintf(out, " in %s", c->r->path);
	if (!c->thread) {
		fputc('\n', out);
		if (c->site)
			lt_print_stack(out, c->r->sym, c->site, frames,
				       "              ");
		else
			fprintf(out, "              (no stack recorded)\n");
		return;
	}
	if (routine_frame(c->r, c->start_routine, c->ticks, &f))
		fprintf(out, ", start routine %s",
			lt_sym_format(&f, rbuf, sizeof(rbuf)));
	fprintf(out, ", created at:\n");
	if (c->site)
		lt_print_stack(out, c->r->sym, c->site, frames,
			       "              ");
	else
		fprintf(out, "              (creating stack not recorded)\n");
}

/* "allocations", "bytes allocated through parse_*" */
static void measure_label(char *buf, size_t len, const struct lt_limit *l)
{
	if (!l->site)
		snprintf(buf, len, "%s", lt_limit_measure(l->kind));
	else if (is_thread_kind(l->kind))
		snprintf(buf, len, "%s of threads created through %s",
			 lt_limit_measure(l->kind), l->site);
	else if (l->kind == LT_LIMIT_PEAK)
		snprintf(buf, len, "peak of the heap held by stacks through %s",
			 l->site);
	else
		snprintf(buf, len, "%s through %s", lt_limit_measure(l->kind),
			 l->site);
}

static void print_runtime(FILE *f, const struct outcome *o)
{
	char a[LT_FMT_BUF], b[LT_FMT_BUF];

	lt_fmt_count_f(b, o->runtime_blocks);
	fprintf(f, "      not counted: %s in %s block%s the C library keeps "
		"for itself (thread TLS vectors, stdio buffers; `libtrace "
		"report` lists them)\n", lt_fmt_bytes_f(a, o->runtime_bytes), b,
		strcmp(b, "1") ? "s" : "");
}

struct ctx {
	FILE *out;
	const struct lt_check_opts *o;
	struct lt_junit_suite *suite;
	char *classname;
	size_t checks, failed;
	bool many;                  /* more than one dump in the group */
};

/* Print text (a malloc'd buffer) and hand it to the JUnit suite. */
static int emit(struct ctx *x, const char *name, bool failed, char *message,
		char *text)
{
	fputs(text, x->out);
	x->checks++;
	x->failed += failed;
	if (!x->suite) {
		free(message);
		free(text);
		return 0;
	}
	return lt_junit_add(x->suite, strdup(name), strdup(x->classname),
			    failed, message, text);
}

static int report_limit(struct ctx *x, const struct group *g,
			const struct lt_budget *b, const struct lt_limit *l,
			struct lt_err *err)
{
	struct outcome o;
	char label[1200], actual[96], limit[96], over[96], name[1400];
	char *text = NULL, *message = NULL;
	size_t len = 0;
	bool bytes = lt_limit_is_bytes(l->kind);
	unsigned top = x->o->top ? x->o->top : 3;
	FILE *f;
	int rc;

	if (evaluate(g, l, &o, err) < 0) {
		free(o.culprits.v);
		return -1;
	}
	measure_label(label, sizeof(label), l);
	fmt_measure(actual, sizeof(actual), o.actual, bytes);
	fmt_measure(limit, sizeof(limit), (double)l->value, bytes);
	snprintf(name, sizeof(name), "%s:%u: %s", b->path, l->line, l->text);
	if (!(f = open_memstream(&text, &len))) {
		free(o.culprits.v);
		return lt_err_set(err, "out of memory");
	}
	if (!o.failed) {
		fprintf(f, "ok    %s\n      %s: %s%s, limit %s\n", name, label,
			o.estimated ? "~" : "", actual, limit);
		if (o.runtime_blocks > 0)
			print_runtime(f, &o);
		if (l->site && o.matched == 0)
			fprintf(f, "      note: no %s has a frame matching '%s' "
				"(is the name right?)\n",
				is_thread_kind(l->kind) ? "thread's creating "
				"stack or start routine" : "allocation stack",
				l->site);
	} else {
		double excess = o.actual - (double)l->value;
		fmt_measure(over, sizeof(over), excess, bytes);
		fprintf(f, "FAIL  %s\n      %s: %s%s, limit %s: %s over",
			name, label, o.estimated ? "~" : "", actual, limit, over);
		if (l->value)
			fprintf(f, " (%+.1f%%)", excess * 100 / (double)l->value);
		fputc('\n', f);
		if (o.estimated)
			fprintf(f, "      (estimated: the dump is sampled)\n");
		if (o.runtime_blocks > 0)
			print_runtime(f, &o);
		if (o.culprits.n) {
			size_t shown = o.culprits.n < top ? o.culprits.n : top;
			double total = 0;
			for (size_t i = 0; i < o.culprits.n; i++)
				total += o.culprits.v[i].value;
			fprintf(f, "      top %s responsible, of %zu:\n",
				shown == 1 ? "stack" : "stacks", o.culprits.n);
			for (size_t i = 0; i < shown; i++)
				print_culprit(f, &o.culprits.v[i], i + 1, total,
					      l, x->many, x->o->frames);
		}
		if (asprintf(&message, "%s: %s%s, limit %s (%s)", label,
			     o.estimated ? "~" : "", actual, limit, name) < 0)
			message = NULL;
	}
	free(o.culprits.v);
	if (fclose(f) != 0 || !text || (o.failed && !message)) {
		free(text);
		free(message);
		return lt_err_set(err, "out of memory");
	}
	rc = emit(x, name, o.failed, message, o.failed ? text : strdup(text));
	if (!o.failed)
		free(text);
	if (rc < 0)
		return lt_err_set(err, "out of memory");
	return 0;
}

/* ---- the ratchet ----------------------------------------------------------- */

static const struct ratchet_row {
	const char *label;
	size_t off;
	bool bytes;
	int culprits;                /* 0 none, 1 calls, 2 bytes, 3 leaked */
} ratchet_rows[] = {
#define ROW(f, label, bytes, c) { label, offsetof(struct lt_totals, f), bytes, c }
	ROW(allocations, "allocations", false, 1),
	ROW(bytes_allocated, "bytes allocated", true, 2),
	ROW(peak_bytes, "peak heap", true, 0),
	ROW(leaked_blocks, "leaked blocks", false, 3),
	ROW(leaked_bytes, "leaked bytes", true, 3),
	ROW(threads_created, "threads created", false, 0),
	ROW(peak_threads, "peak threads", false, 0),
	ROW(threads_leaked, "leaked threads", false, 0),
	ROW(threads_running_at_exit, "threads running at exit", false, 0),
#undef ROW
};

static double row_value(const struct lt_totals *t, const struct ratchet_row *r)
{
	return (double)*(const uint64_t *)(const void *)((const char *)t + r->off);
}

static double grown(const struct lt_diff_site *s, int which)
{
	switch (which) {
	case 1: return s->new.calls - s->old.calls;
	case 2: return s->new.bytes - s->old.bytes;
	default: return s->new.leaked_bytes - s->old.leaked_bytes;
	}
}

static double side_value(const struct lt_diff_nums *n, int which)
{
	return which == 1 ? n->calls : which == 2 ? n->bytes : n->leaked_bytes;
}

/* The k sites that grew most in measure which, into idx; returns how many. */
static size_t top_growth(const struct lt_diff *d, int which, size_t *idx,
			 size_t k)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nsites; i++) {
		double gi = grown(&d->sites[i], which);
		size_t j;
		if (gi <= 0)
			continue;
		for (j = n; j > 0 && grown(&d->sites[idx[j - 1]], which) < gi; j--)
			if (j < k)
				idx[j] = idx[j - 1];
		if (j < k) {
			idx[j] = i;
			if (n < k)
				n++;
		}
	}
	return n;
}

static void print_grown(FILE *f, const struct lt_diff_site *s, size_t rank,
			int which, unsigned frames)
{
	char a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF];
	bool bytes = which != 1;
	double o = side_value(&s->old, which), n = side_value(&s->new, which);

	fprintf(f, "        #%zu  %s -> %s %s (+%s", rank,
		bytes ? lt_fmt_bytes_f(a, o) : lt_fmt_count_f(a, o),
		bytes ? lt_fmt_bytes_f(b, n) : lt_fmt_count_f(b, n),
		which == 1 ? "calls" : which == 2 ? "allocated" : "leaked",
		bytes ? lt_fmt_bytes_f(c, n - o) : lt_fmt_count_f(c, n - o));
	if (o > 0)
		fprintf(f, ", %+.1f%%", lt_growth(o, n) * 100);
	fprintf(f, ")%s\n", s->in_old ? "" : " [new site]");
	lt_print_stack(f, s->sym, s->site, frames, "              ");
}

static int report_ratchet(struct ctx *x, const struct group *g,
			  const struct group *base, struct lt_err *err)
{
	struct lt_model **ms = malloc((g->n + base->n + 1) * sizeof(*ms));
	struct lt_symbolizer **ss = malloc((g->n + base->n + 1) * sizeof(*ss));
	struct lt_side old = { 0 }, new = { 0 };
	struct lt_diff *d = NULL;
	double allow = x->o->max_increase;
	unsigned top = x->o->top ? x->o->top : 3;
	char pct[32];
	int rc = -1;

	if (!ms || !ss) {
		lt_err_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < base->n; i++) {
		ms[i] = base->runs[i]->m;
		ss[i] = base->runs[i]->sym;
		old.sampled |= ms[i]->sampled;
	}
	for (size_t i = 0; i < g->n; i++) {
		ms[base->n + i] = g->runs[i]->m;
		ss[base->n + i] = g->runs[i]->sym;
		new.sampled |= g->runs[i]->m->sampled;
	}
	old = (struct lt_side){ (const struct lt_model **)ms, ss, base->n,
				old.sampled };
	new = (struct lt_side){ (const struct lt_model **)ms + base->n,
				ss + base->n, g->n, new.sampled };
	if (lt_diff_build(&old, &new, LT_DIFF_BY_CALLS, &d, err) < 0)
		goto out;
	snprintf(pct, sizeof(pct), "%.4g%%", allow * 100);

	for (size_t i = 0; i < sizeof(ratchet_rows) / sizeof(ratchet_rows[0]); i++) {
		const struct ratchet_row *row = &ratchet_rows[i];
		double ov = row_value(&d->old_totals, row);
		double nv = row_value(&d->new_totals, row);
		double gr = lt_growth(ov, nv);
		bool failed = gr > allow + 1e-12;
		char a[96], b[96], name[200], *text = NULL, *message = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (!f) {
			lt_err_set(err, "out of memory");
			goto out;
		}
		snprintf(name, sizeof(name), "baseline: %s (max increase %s)",
			 row->label, pct);
		fmt_measure(a, sizeof(a), ov, row->bytes);
		fmt_measure(b, sizeof(b), nv, row->bytes);
		fprintf(f, "%s  %s\n      %s: %s -> %s", failed ? "FAIL" : "ok  ",
			name, row->label, a, b);
		if (ov > 0 && nv != ov)
			fprintf(f, " (%+.1f%%)", gr * 100);
		else if (ov == 0 && nv > 0)
			fprintf(f, " (up from none)");
		fputc('\n', f);
		if (failed && row->culprits) {
			size_t idx[16], k = top < 16 ? top : 16;
			k = top_growth(d, row->culprits, idx, k);
			if (k)
				fprintf(f, "      sites that grew most:\n");
			for (size_t j = 0; j < k; j++)
				print_grown(f, &d->sites[idx[j]], j + 1,
					    row->culprits, x->o->frames);
		}
		if (failed && asprintf(&message, "%s grew from %s to %s, more "
				       "than %s", row->label, a, b, pct) < 0)
			message = NULL;
		if (fclose(f) != 0 || !text || (failed && !message)) {
			free(text);
			free(message);
			lt_err_set(err, "out of memory");
			goto out;
		}
		if (emit(x, name, failed, message, text) < 0) {
			lt_err_set(err, "out of memory");
			goto out;
		}
	}

	/* Sites present in both runs, each measure on its own. */
	for (int which = 1; which <= 2; which++) {
		char name[200], *text = NULL, *message = NULL;
		size_t len = 0, nfail = 0, nnew = 0;
		FILE *f = open_memstream(&text, &len);

		if (!f) {
			lt_err_set(err, "out of memory");
			goto out;
		}
		snprintf(name, sizeof(name), "baseline: %s of each site (max "
			 "increase %s)", which == 1 ? "calls" : "bytes", pct);
		for (size_t i = 0; i < d->nsites; i++) {
			const struct lt_diff_site *s = &d->sites[i];
			nnew += !s->in_old && s->in_new;
			nfail += s->in_old && s->in_new &&
				 lt_growth(side_value(&s->old, which),
					   side_value(&s->new, which)) >
				 allow + 1e-12;
		}
		fprintf(f, "%s  %s\n", nfail ? "FAIL" : "ok  ", name);
		if (nfail)
			fprintf(f, "      %zu site%s grew by more than %s in %s:\n",
				nfail, nfail == 1 ? "" : "s", pct,
				which == 1 ? "calls" : "bytes");
		else
			fprintf(f, "      no site in both runs grew by more than "
				"%s in %s\n", pct, which == 1 ? "calls" : "bytes");
		for (size_t i = 0, rank = 0; i < d->nsites; i++) {
			const struct lt_diff_site *s = &d->sites[i];
			if (s->in_old && s->in_new &&
			    lt_growth(side_value(&s->old, which),
				      side_value(&s->new, which)) > allow + 1e-12)
				print_grown(f, s, ++rank, which, x->o->frames);
		}
		if (nnew)
			fprintf(f, "      note: %zu site%s new in this run (in the "
				"totals above, not compared one by one)\n", nnew,
				nnew == 1 ? " is" : "s are");
		if (nfail && asprintf(&message, "%zu site%s grew by more than %s "
				      "in %s", nfail, nfail == 1 ? "" : "s",
				      pct, which == 1 ? "calls" : "bytes") < 0)
			message = NULL;
		if (fclose(f) != 0 || !text || (nfail && !message)) {
			free(text);
			free(message);
			lt_err_set(err, "out of memory");
			goto out;
		}
		if (emit(x, name, nfail > 0, message, text) < 0) {
			lt_err_set(err, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	lt_diff_free(d);
	free(ms);
	free(ss);
	return rc;
}

/* ---- entry point ----------------------------------------------------------- */

double lt_check_parse_percent(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -1;
	while (*end == ' ')
		end++;
	if (*end == '%')
		end++;
	return *end ? -1 : v / 100;
}

static void print_header(struct ctx *x, const struct group *g,
			 const struct group *base)
{
	const struct lt_check_opts *o = x->o;

	fprintf(x->out, "libtrace check:");
	if (o->budget)
		fprintf(x->out, " %s (%zu limit%s)", o->budget->path,
			o->budget->nlimits, o->budget->nlimits == 1 ? "" : "s");
	if (o->nbaselines)
		fprintf(x->out, "%s baseline %s%s (max increase %.4g%%)",
			o->budget ? "," : "", base->n ? base->runs[0]->path :
			"(none for this program)", base->n > 1 ? " ..." : "",
			o->max_increase * 100);
	fprintf(x->out, "\n  %s:", g->n == 1 ? "dump" : "dumps");
	for (size_t i = 0; i < g->n; i++)
		fprintf(x->out, " %s", g->runs[i]->path);
	fputc('\n', x->out);
	for (size_t i = 0; i < g->n; i++) {
		const struct run *r = g->runs[i];
		if (r->d->truncated)
			fprintf(x->out, "  note: %s is truncated (%s): its numbers "
				"cover the run up to where it ends, and blocks "
				"live there count as leaked\n", r->path,
				r->d->truncation);
		if (r->m->sampled)
			fprintf(x->out, "  note: %s is sampled: per-site numbers, "
				"peaks and leaks are estimates (marked ~)\n",
				r->path);
	}
	fputc('\n', x->out);
}

static int check_group(struct ctx *x, const struct group *g,
		       const struct group *base, struct lt_err *err)
{
	const struct lt_budget *b = x->o->budget;

	x->many = g->n > 1;
	print_header(x, g, base);
	for (size_t i = 0; b && i < b->nlimits; i++)
		if (report_limit(x, g, b, &b->limits[i], err) < 0)
			return -1;
	if (x->o->nbaselines && base->n &&
	    report_ratchet(x, g, base, err) < 0)
		return -1;
	if (x->o->nbaselines && !base->n)
		fprintf(x->out, "note: no baseline dump is of the same program; "
			"the ratchet was not applied\n");
	return 0;
}

/* Baselines of the same program as r, the k-th of its name to the k-th. */
static void pair_baseline(struct run *r, struct run *bases, size_t nbases,
			  struct group *out)
{
	char want[256], have[256];

	exe_name(r, want, sizeof(want));
	out->n = 0;
	for (size_t i = 0; i < nbases; i++) {
		if (bases[i].used)
			continue;
		exe_name(&bases[i], have, sizeof(have));
		if (!strcmp(want, have)) {
			bases[i].used = true;
			out->runs[out->n++] = &bases[i];
			return;
		}
	}
}

static char *suite_classname(const struct run *r)
{
	char exe[256], *s;

	if (!r)
		return strdup("libtrace.check");
	exe_name(r, exe, sizeof(exe));
	for (char *p = exe; *p; p++)
		if (*p == '.' || *p == ' ')
			*p = '_';
	if (asprintf(&s, "libtrace.check.%s", exe) < 0)
		return NULL;
	return s;
}

int lt_check_paths(FILE *out, const char *const *dumps, size_t n,
		   const struct lt_check_opts *o, size_t *failed,
		   struct lt_err *err)
{
	struct run *runs = calloc(n + 1, sizeof(*runs));
	struct run *bases = calloc(o->nbaselines + 1, sizeof(*bases));
	struct run **all = calloc(n + 1, sizeof(*all));
	struct run **ball = calloc(o->nbaselines + 1, sizeof(*ball));
	size_t nsuites = o->per_dump ? n : 1, loaded = 0, bloaded = 0;
	struct lt_junit_suite *suites = calloc(nsuites + 1, sizeof(*suites));
	struct ctx x = { .out = out, .o = o };
	struct lt_check_opts opts = *o;
	int rc = -1;

	*failed = 0;
	if (!opts.frames)
		opts.frames = 8;
	x.o = &opts;
	if (!runs || !bases || !all || !ball || !suites) {
		lt_err_set(err, "out of memory");
		goto out;
	}
	for (; loaded < n; loaded++) {
		if (load_run(dumps[loaded], &runs[loaded], err) < 0) {
			free_run(&runs[loaded]);
			goto out;
		}
		all[loaded] = &runs[loaded];
	}
	for (; bloaded < o->nbaselines; bloaded++) {
		if (load_run(o->baselines[bloaded], &bases[bloaded], err) < 0) {
			free_run(&bases[bloaded]);
			goto out;
		}
		ball[bloaded] = &bases[bloaded];
	}

	for (size_t i = 0; i < nsuites; i++) {
		struct group g = { all, n }, base = { ball, o->nbaselines };
		struct run *pair[1];
		const char *bname = o->budget ? o->budget->path : "baseline";

		if (o->per_dump) {
			g = (struct group){ &all[i], 1 };
			base = (struct group){ pair, 0 };
			pair_baseline(all[i], bases, o->nbaselines, &base);
			if (i)
				fputc('\n', out);
		}
		x.suite = o->junit ? &suites[i] : NULL;
		if (x.suite &&
		    (asprintf(&suites[i].name, o->per_dump ? "%s: %s" : "%s",
			      bname, all[i]->path) < 0 ||
		     !(x.classname = suite_classname(o->per_dump ? all[i] : NULL)))) {
			suites[i].name = NULL;
			lt_err_set(err, "out of memory");
			goto out;
		}
		if (!x.classname && !(x.classname = strdup("libtrace.check"))) {
			lt_err_set(err, "out of memory");
			goto out;
		}
		rc = check_group(&x, &g, &base, err);
		free(x.classname);
		x.classname = NULL;
		if (rc < 0)
			goto out;
		rc = -1;
	}
	if (x.failed)
		fprintf(out, "\nlibtrace check: FAILED: %zu of %zu checks failed\n",
			x.failed, x.checks);
	else if (x.checks == 1)
		fprintf(out, "\nlibtrace check: ok: the one check passed\n");
	else
		fprintf(out, "\nlibtrace check: ok: all %zu checks passed\n",
			x.checks);
	if (fflush(out) != 0 || ferror(out)) {
		lt_err_set(err, "cannot write to standard output");
		goto out;
	}
	if (o->junit && lt_junit_write(o->junit, suites, nsuites, err) < 0)
		goto out;
	*failed = x.failed;
	rc = 0;
out:
	for (size_t i = 0; i < loaded; i++)
		free_run(&runs[i]);
	for (size_t i = 0; i < bloaded; i++)
		free_run(&bases[i]);
	for (size_t i = 0; suites && i < nsuites; i++)
		lt_junit_suite_clear(&suites[i]);
	free(suites);
	free(runs);
	free(bases);
	free(all);
	free(ball);
	return rc;
}
