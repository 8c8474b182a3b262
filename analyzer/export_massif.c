/*
 * `libtrace export --format massif`: valgrind's massif.out, as ms_print
 * and massif-visualizer read it.  Snapshots follow the heap over time;
 * two are detailed: the peak ("heap_tree=peak") and the end of the run,
 * each a tree from the allocation down through its callers, as massif
 * draws it.  Sizes are what was asked for (no allocator overhead: extra
 * and stacks are 0); time is milliseconds of the run.
 */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Snapshots besides the detailed ones; massif's own default is 100. */
#define SNAPSHOTS 60

/* A node of the inverted tree: one frame, reached from its callee. */
struct node {
	char *text;
	uint64_t bytes;
	struct node **kids;
	size_t nkids, cap;
};

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

static struct node *child(struct node *n, const char *text)
{
	struct node *c;

	for (size_t i = 0; i < n->nkids; i++)
		if (!strcmp(n->kids[i]->text, text))
			return n->kids[i];
	if (n->nkids == n->cap) {
		size_t ncap = n->cap ? n->cap * 2 : 4;
		void *v = realloc(n->kids, ncap * sizeof(*n->kids));
		if (!v)
			return NULL;
		n->kids = v;
		n->cap = ncap;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->text = strdup(text))) {
		free(c);
		return NULL;
	}
	/* ms_print takes '#' for a comment. */
	for (char *p = c->text; *p; p++)
		if (*p == '#' || *p == '\n')
			*p = '_';
	n->kids[n->nkids++] = c;
	return c;
}

static int cmp_node(const void *pa, const void *pb)
{
	const struct node *a = *(struct node *const *)pa;
	const struct node *b = *(struct node *const *)pb;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return strcmp(a->text, b->text);
}

static void print_node(FILE *out, struct node *n, unsigned depth)
{
	if (n->nkids)   /* qsort's array may not be NULL, even empty */
		qsort(n->kids, n->nkids, sizeof(*n->kids), cmp_node);
	fprintf(out, "%*sn%zu: %" PRIu64 " %s\n", (int)depth, "", n->nkids,
		n->bytes, n->text);
	for (size_t i = 0; i < n->nkids; i++)
		print_node(out, n->kids[i], depth + 1);
}

/* The tree of what each site held (peak: at the peak, else at the end);
 * NULL when out of memory. */
static struct node *tree(struct lt_export *x, bool peak)
{
	struct node *root = calloc(1, sizeof(*root));
	char text[1100];

	if (!root || !(root->text = strdup("(heap allocation functions) "
					   "malloc/new/new[], --alloc-fns, etc."))) {
		free(root);
		return NULL;
	}
	for (size_t i = 0; i < x->nsites; i++) {
		const struct lt_xsite *s = &x->sites[i];
		uint64_t b = peak ? s->peak_bytes : s->v[LT_VALUE_LEAKED];
		struct node *n = root;

		if (!b)
			continue;
		root->bytes += b;
		for (size_t k = 0; k < s->nrf || (k == 0 && !s->nrf); k++) {
			if (s->nrf)
				snprintf(text, sizeof(text), "0x%" PRIx64 ": %s",
					 s->rf[k].addr,
					 lt_export_frame_text(x, &s->rf[k]));
			else
				snprintf(text, sizeof(text), "0x0: %s",
					 x->frames[s->fid[0]].name);
			n = child(n, text);
			if (!n) {
				node_free(root);
				return NULL;
			}
			n->bytes += b;
		}
	}
	return root;
}

static void snapshot(FILE *out, unsigned *num, double ms, uint64_t bytes,
		     const char *kind, struct node *t)
{
	fprintf(out, "#-----------\nsnapshot=%u\n#-----------\n"
		"time=%.3f\nmem_heap_B=%" PRIu64 "\nmem_heap_extra_B=0\n"
		"mem_stacks_B=0\nheap_tree=%s\n", (*num)++, ms, bytes, kind);
	if (t)
		print_node(out, t, 0);
}

static uint64_t round_bytes(double b)
{
	if (!(b > 0))
		return 0;
	/* An estimate may pass 2^64: converting it would be undefined. */
	return b >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)(b + 0.5);
}

int lt_export_massif(FILE *out, struct lt_export *x,
		     const struct lt_export_opts *o, struct lt_err *err)
{
	const struct lt_dump *d = x->dump;
	const struct lt_series *se = x->series;
	struct node *at_peak = tree(x, true), *at_end = tree(x, false);
	size_t stride = se->n / SNAPSHOTS + 1;
	double peak_ms = lt_export_seconds(x, se->peak_ticks) * 1e3;
	double end_ms = lt_export_duration(x) * 1e3, last_ms = 0;
	bool peak_done = se->peak <= 0;
	unsigned num = 0;

	(void)o;
	if (!at_peak || !at_end) {
		if (at_peak)
			node_free(at_peak);
		if (at_end)
			node_free(at_end);
		return lt_err_set(err, "%s: out of memory", x->path);
	}
	fprintf(out, "desc: libtrace export of %s%s\ncmd: ", x->path,
		x->m->sampled ? " (" LT_EXPORT_SAMPLED_NOTE ")" : "");
	for (uint32_t i = 0; i < d->cmdline_len; i++)
		fputc(d->cmdline[i] ? d->cmdline[i] == '\n' ? ' ' :
		      d->cmdline[i] : (i + 1 < d->cmdline_len ? ' ' : '\n'), out);
	if (!d->cmdline_len)
		fprintf(out, "%.*s\n", (int)d->exe_len, d->exe);
	fprintf(out, "time_unit: ms\n");
	snapshot(out, &num, 0, 0, "empty", NULL);
	for (size_t i = 0; i < se->n; i += stride) {
		size_t last = i + stride - 1 < se->n ? i + stride - 1 : se->n - 1;
		double ms = lt_export_seconds(x, lt_series_ticks(se, last + 1)) * 1e3;
		if (ms > end_ms)
			ms = end_ms;
		if (!peak_done && peak_ms <= ms) {
			snapshot(out, &num, peak_ms, round_bytes(se->peak), "peak",
				 at_peak);
			peak_done = true;
		}
		if (ms < last_ms || (ms == peak_ms && peak_done))
			continue;
		snapshot(out, &num, ms, round_bytes(se->b[last].last), "empty",
			 NULL);
		last_ms = ms;
	}
	if (!peak_done)
		snapshot(out, &num, peak_ms, round_bytes(se->peak), "peak",
			 at_peak);
	snapshot(out, &num, end_ms > peak_ms ? end_ms : peak_ms,
		 x->m->totals.leaked_bytes, "detailed", at_end);
	node_free(at_peak);
	node_free(at_end);
	return 0;
}
