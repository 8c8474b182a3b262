/*
 * `libtrace html`: one self-contained page (html_page.c) with the dump's
 * data embedded as JSON.  What could grow with the run is bounded here,
 * before the browser sees it: the flame graph's call tree is cut to its
 * largest MAX_NODES nodes, the heap series is the observer's fixed number
 * of buckets, the timeline shows at most MAX_THREADS threads, the tables
 * their top rows.  Never emits "</" inside the script (a page injection).
 */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "html_page.h"
#include "symbols.h"

#define MAX_NODES    20000
#define MAX_THREADS  2000
#define TOP_ROWS     50
#define STACK_LINES  8

struct node_key {
	uint32_t parent, frame;
};

struct node {
	struct node_key key;
	uint64_t v[LT_VALUE_COUNT];
	double share;               /* largest share of any value */
	uint32_t index, kept;       /* kept: new index + 1, 0 if cut */
	UT_hash_handle hh;
};

struct tree {
	struct node **v;
	size_t n, cap;
	struct node *by_key;
};

static struct node *tree_child(struct tree *t, uint32_t parent, uint32_t frame)
{
	struct node_key k = { parent, frame };
	struct node *n;

	HASH_FIND(hh, t->by_key, &k, sizeof(k), n);
	if (n)
		return n;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 1024;
		void *p = realloc(t->v, ncap * sizeof(*t->v));
		if (!p)
			return NULL;
		t->v = p;
		t->cap = ncap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->key = k;
	n->index = (uint32_t)t->n;
	if (LT_HASH_ADD(t->by_key, key, sizeof(k), n) < 0) {
		free(n);
		return NULL;
	}
	t->v[t->n++] = n;
	return n;
}

static void tree_free(struct tree *t)
{
	struct node *n, *tmp;

	HASH_ITER(hh, t->by_key, n, tmp) {
		HASH_DEL(t->by_key, n);
		free(n);
	}
	free(t->v);
}

/* Root first, every parent before its children: the page relies on it. */
static int tree_build(struct lt_export *x, struct tree *t)
{
	struct node *root = tree_child(t, UINT32_MAX, UINT32_MAX);

	if (!root)
		return -1;
	for (size_t i = 0; i < x->nsites; i++) {
		const struct lt_xsite *s = &x->sites[i];
		struct node *n = root;
		for (int v = 0; v < LT_VALUE_COUNT; v++)
			root->v[v] += s->v[v];
		for (size_t k = s->nfid; k-- > 0;) {
			n = tree_child(t, n->index, s->fid[k]);
			if (!n)
				return -1;
			for (int v = 0; v < LT_VALUE_COUNT; v++)
				n->v[v] += s->v[v];
		}
	}
	return 0;
}

static int cmp_share(const void *pa, const void *pb)
{
	const struct node *a = *(struct node *const *)pa;
	const struct node *b = *(struct node *const *)pb;

	if (a->share != b->share)
		return a->share > b->share ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Keep the MAX_NODES nodes with the largest share.  A node's values are
 * sums over its subtree, so a parent's share is never below its child's
 * and the kept nodes stay one connected tree.  Returns how many were
 * kept, or -1 when out of memory. */
static long tree_cut(struct lt_export *x, struct tree *t)
{
	struct node **order;
	size_t keep = t->n < MAX_NODES ? t->n : MAX_NODES, k = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct node *n = t->v[i];
		n->share = 0;
		for (int v = 0; v < LT_VALUE_COUNT; v++)
			if (x->total[v] && (double)n->v[v] / (double)x->total[v] >
			    n->share)
				n->share = (double)n->v[v] / (double)x->total[v];
		n->kept = 0;
	}
	t->v[0]->share = 2;   /* the root, even of an empty run */
	order = malloc((t->n + 1) * sizeof(*order));
	if (!order)
		return -1;
	memcpy(order, t->v, t->n * sizeof(*order));
	qsort(order, t->n, sizeof(*order), cmp_share);
	for (size_t i = 0; i < keep; i++)
		order[i]->kept = 1;
	free(order);
	/* New indices in the old order: parents still come first. */
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->kept)
			t->v[i]->kept = (uint32_t)++k;
	return (long)k;
}

/* ---- the data ---------------------------------------------------------- */

static const struct lt_export *rank_x;
static enum { BY_BYTES, BY_LEAKED, BY_PEAK } rank_by;

static uint64_t rank_value(const struct lt_xsite *s)
{
	switch (rank_by) {
	case BY_BYTES:  return s->v[LT_VALUE_BYTES];
	case BY_LEAKED: return s->v[LT_VALUE_LEAKED];
	default:        return s->peak_bytes;
	}
}

static int cmp_rank(const void *pa, const void *pb)
{
	const struct lt_xsite *a = &rank_x->sites[*(const size_t *)pa];
	const struct lt_xsite *b = &rank_x->sites[*(const size_t *)pb];
	uint64_t va = rank_value(a), vb = rank_value(b);

	if (va != vb)
		return va > vb ? -1 : 1;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

/* The top rows by one value, as indices into x->sites; sites the page
 * lists are flagged in used[]. */
static void top_rows(FILE *out, const char *name, struct lt_export *x,
		     size_t *idx, int by, bool *used)
{
	size_t n = 0;

	for (size_t i = 0; i < x->nsites; i++)
		idx[i] = i;
	if (by >= 0) {
		rank_x = x;
		rank_by = by;
		qsort(idx, x->nsites, sizeof(*idx), cmp_rank);
	}
	fprintf(out, ",\n\"%s\": [", name);
	for (size_t i = 0; i < x->nsites && n < TOP_ROWS; i++) {
		const struct lt_xsite *s = &x->sites[idx[i]];
		uint64_t v = by < 0 ? s->v[LT_VALUE_CALLS] :
			     (rank_x = x, rank_by = by, rank_value(s));
		if (!v)
			break;
		fprintf(out, "%s%zu", n ? "," : "", idx[i]);
		used[idx[i]] = true;
		n++;
	}
	fprintf(out, "]");
}

static void site_json(FILE *out, struct lt_export *x, size_t i, bool used)
{
	const struct lt_xsite *s = &x->sites[i];
	char line[1100];

	if (!used) {
		fprintf(out, "0");   /* never shown: keep the page small */
		return;
	}
	fprintf(out, "{\"calls\": %" PRIu64 ", \"bytes\": %" PRIu64
		", \"temporary\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
		", \"leaked_blocks\": %" PRIu64 ", \"min\": %" PRIu64
		", \"max\": %" PRIu64 ", \"peak_bytes\": %" PRIu64
		", \"more\": %s, \"lines\": [", s->v[LT_VALUE_CALLS],
		s->v[LT_VALUE_BYTES], s->v[LT_VALUE_TEMPORARY],
		s->v[LT_VALUE_LEAKED], s->leaked_blocks, s->site->min_size,
		s->site->max_size, s->peak_bytes,
		s->nrf > STACK_LINES ? "true" : "false");
	for (size_t k = 0; k < s->nrf && k < STACK_LINES; k++) {
		snprintf(line, sizeof(line), "%s%s",
			 lt_export_frame_text(x, &s->rf[k]),
			 s->rf[k].f.inlined ? " [inlined]" : "");
		fprintf(out, "%s", k ? ", " : "");
		lt_json_cstr(out, line);
	}
	if (!s->nrf)
		lt_json_cstr(out, x->frames[s->fid[0]].name);
	fprintf(out, "]}");
}

static void thread_sites(FILE *out, struct lt_export *x)
{
	struct lt_threads *th = lt_export_threads(x);
	char title[1200], routine[512];

	fprintf(out, ",\n\"tsites\": [");
	for (size_t i = 0; th && i < th->nsites; i++) {
		const struct lt_tsite *s = th->sites[i];
		struct lt_sym_frame f;
		struct lt_report_frame *cf = NULL;
		size_t ncf = 0;

		snprintf(routine, sizeof(routine), "?");
		if (s->start_routine &&
		    lt_sym_resolve(x->sym, s->start_routine, false,
				   s->first_ticks, &f, 1) > 0 && f.function)
			snprintf(routine, sizeof(routine), "%s", f.function);
		/* Creation stacks are sites too, mostly without allocations. */
		for (size_t k = 0; k < x->m->nsites && !cf; k++)
			if (x->m->sites[k]->stack_id == s->stack_id &&
			    lt_report_site_frames(x->sym, x->m->sites[k], &cf,
						  &ncf) < 0)
				break;
		snprintf(title, sizeof(title), "%s, created in %s", routine,
			 ncf ? lt_export_frame_text(x, &cf[0]) :
			 "(creation stack not recorded)");
		free(cf);
		fprintf(out, "%s\n {\"title\": ", i ? "," : "");
		lt_json_cstr(out, title);
		fprintf(out, ", \"created\": %" PRIu64 ", \"joined\": %" PRIu64
			", \"detached\": %" PRIu64 ", \"leaked\": %" PRIu64
			", \"running_at_exit\": %" PRIu64 ", \"peak\": %" PRIu64
			", \"fanout\": %s, \"allocations\": %.0f}", s->created,
			s->joined, s->detached, s->leaked, s->running_at_exit,
			s->peak, s->fanout ? "true" : "false", s->allocations);
	}
	fprintf(out, "]");
}

/* The page's data object; 0, or -1 when out of memory. */
static int data(FILE *out, struct lt_export *x)
{
	const struct lt_model *m = x->m;
	struct tree t = { 0 };
	size_t nthreads = m->nthreads < MAX_THREADS ? m->nthreads : MAX_THREADS;
	size_t *idx = malloc((x->nsites + 1) * sizeof(*idx));
	bool *used = calloc(x->nsites + 1, sizeof(*used));
	uint32_t *frame_new = calloc(x->nframes + 1, sizeof(*frame_new));
	uint32_t nframes = 0;
	long kept;
	bool first;
	int rc = -1;

	if (!idx || !used || !frame_new || tree_build(x, &t) < 0 ||
	    (kept = tree_cut(x, &t)) < 0)
		goto out;

	fprintf(out, "{\"head\": {");
	lt_export_json_head(out, x);
	fprintf(out, "},\n\"frames\": [");
	for (size_t i = 1; i < t.n; i++) {
		const struct node *n = t.v[i];
		if (!n->kept || frame_new[n->key.frame])
			continue;
		frame_new[n->key.frame] = ++nframes;
		fprintf(out, "%s[", nframes > 1 ? ",\n" : "");
		lt_json_cstr(out, x->frames[n->key.frame].name);
		fprintf(out, ",");
		lt_json_cstr(out, x->frames[n->key.frame].file);
		fprintf(out, "]");
	}
	fprintf(out, "],\n\"tree\": {\"merged\": %zu, \"frame\": [",
		t.n - (size_t)kept);
	first = true;
	for (size_t i = 0; i < t.n; i++)
		if (t.v[i]->kept) {
			fprintf(out, "%s%d", first ? "" : ",", i ?
				(int)frame_new[t.v[i]->key.frame] - 1 : -1);
			first = false;
		}
	fprintf(out, "],\n \"parent\": [");
	first = true;
	for (size_t i = 0; i < t.n; i++)
		if (t.v[i]->kept) {
			fprintf(out, "%s%d", first ? "" : ",", i ?
				(int)t.v[t.v[i]->key.parent]->kept - 1 : -1);
			first = false;
		}
	fprintf(out, "],\n \"v\": [");
	for (int v = 0; v < LT_VALUE_COUNT; v++) {
		fprintf(out, "%s[", v ? ",\n  " : "");
		first = true;
		for (size_t i = 0; i < t.n; i++)
			if (t.v[i]->kept) {
				fprintf(out, "%s%" PRIu64, first ? "" : ",",
					t.v[i]->v[v]);
				first = false;
			}
		fprintf(out, "]");
	}
	fprintf(out, "]},\n\"heap\": ");
	lt_export_json_heap(out, x);
	fprintf(out, ",\n\"threads\": {\"total\": %zu, \"list\": [", m->nthreads);
	for (size_t i = 0; i < nthreads; i++) {
		fprintf(out, "%s\n ", i ? "," : "");
		lt_export_json_thread(out, x, m->threads[i]);
	}
	fprintf(out, "]}");
	thread_sites(out, x);
	top_rows(out, "top_calls", x, idx, -1, used);
	top_rows(out, "top_bytes", x, idx, BY_BYTES, used);
	top_rows(out, "leaks", x, idx, BY_LEAKED, used);
	top_rows(out, "peak", x, idx, BY_PEAK, used);
	fprintf(out, ",\n\"sites\": [");
	for (size_t i = 0; i < x->nsites; i++) {
		fprintf(out, "%s", i ? ",\n" : "");
		site_json(out, x, i, used[i]);
	}
	fprintf(out, "]}\n");
	rc = 0;
out:
	tree_free(&t);
	free(idx);
	free(used);
	free(frame_new);
	return rc;
}

int lt_export_html(FILE *out, struct lt_export *x,
		   const struct lt_export_opts *o, struct lt_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int rc;

	(void)o;
	if (!mem)
		return lt_err_set(err, "%s: out of memory", x->path);
	rc = data(mem, x);
	if (fclose(mem) != 0 || rc < 0) {
		free(buf);
		return lt_err_set(err, "%s: out of memory", x->path);
	}
	fputs(lt_html_before_data, out);
	/* Inside <script>, "</" could end it early: JSON allows "<\/". */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '<' && i + 1 < len && buf[i + 1] == '/')
			fputs("<\\", out);
		else
			fputc(buf[i], out);
	}
	fputs(lt_html_after_data, out);
	free(buf);
	return 0;
}
