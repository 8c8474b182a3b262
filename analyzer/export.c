/*
 * The shared half of the exports: one replay with the heap observer, the
 * symbolized and interned stacks of every site, the numbers as the report
 * states them, and the dispatch to one exporter.  Must not decide anything
 * a report would show differently.
 */
#include "export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "symbols.h"

struct frame_key {
	struct lt_xframe pub;
	uint32_t id;
	char *key;              /* name \x1f file, owns the strings */
	UT_hash_handle hh;
};

struct lt_export_priv {
	struct frame_key *by_key;
	struct frame_key **keys;        /* by id */
	size_t cap;
	char text[1024];
};

static const char *const format_names[] = {
	[LT_EXPORT_PPROF] = "pprof", [LT_EXPORT_COLLAPSED] = "collapsed",
	[LT_EXPORT_SPEEDSCOPE] = "speedscope", [LT_EXPORT_MASSIF] = "massif",
	[LT_EXPORT_CHROME] = "chrome", [LT_EXPORT_JSON] = "json",
};

static const char *const value_names[] = {
	[LT_VALUE_CALLS] = "calls", [LT_VALUE_BYTES] = "bytes",
	[LT_VALUE_LEAKED] = "leaked", [LT_VALUE_TEMPORARY] = "temporary",
};

int lt_export_format_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(*format_names); i++)
		if (format_names[i] && !strcmp(name, format_names[i]))
			return (int)i;
	return -1;
}

int lt_export_value_parse(const char *name)
{
	for (int i = 0; i < LT_VALUE_COUNT; i++)
		if (!strcmp(name, value_names[i]))
			return i;
	return -1;
}

const char *lt_export_value_name(enum lt_export_value v)
{
	return v < LT_VALUE_COUNT ? value_names[v] : "?";
}

/* The report's rounding of an estimate (report.c est_u64). */
static uint64_t est_u64(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 18446744073709549568.0)
		return UINT64_MAX;
	return (uint64_t)(x + 0.5);
}

double lt_export_seconds(const struct lt_export *x, uint64_t ticks)
{
	double s = lt_model_seconds(x->m, ticks);

	return s > 0 ? s : 0;
}

double lt_export_duration(const struct lt_export *x)
{
	const struct lt_dump *d = x->dump;
	uint64_t end_ns = d->trailer ? d->trailer->mono_ns : d->pair_mono_ns;

	if (end_ns > d->hdr->start_mono_ns)
		return (double)(end_ns - d->hdr->start_mono_ns) * 1e-9;
	return lt_export_seconds(x, x->m->end_ticks);
}

const char *lt_export_frame_text(struct lt_export *x,
				 const struct lt_report_frame *f)
{
	return lt_sym_format(&f->f, x->priv->text, sizeof(x->priv->text));
}

/* The name a flame graph shows for a frame: the function, else where the
 * code is. */
static const char *frame_name(struct lt_export *x, const struct lt_sym_frame *f)
{
	struct lt_sym_frame bare = *f;

	if (f->function)
		return f->function;
	bare.file = NULL;
	bare.line = 0;
	return lt_sym_format(&bare, x->priv->text, sizeof(x->priv->text));
}

/* The id of the frame (name, file), interned on first sight; -1 when out
 * of memory. */
static long intern_frame(struct lt_export *x, const char *name,
			 const char *file, const char *module, int line)
{
	struct lt_export_priv *p = x->priv;
	struct frame_key *k;
	size_t nlen = strlen(name), flen = file ? strlen(file) : 0;
	size_t klen = nlen + 1 + flen;
	char probe[512];
	/* One block: the key "name\x1ffile", then name and file alone.  A
	 * short key is looked up from the stack: most lookups find it. */
	char *key = 2 * (klen + 1) <= sizeof(probe) ? probe :
		    malloc(2 * (klen + 1));

	if (!key)
		return -1;
	memcpy(key, name, nlen);
	key[nlen] = '\x1f';
	memcpy(key + nlen + 1, file ? file : "", flen);
	key[klen] = '\0';
	HASH_FIND(hh, p->by_key, key, klen, k);
	if (k) {
		if (key != probe)
			free(key);
		return k->id;
	}
	if (key == probe) {
		key = malloc(2 * (klen + 1));
		if (!key)
			return -1;
		memcpy(key, probe, klen + 1);
	}
	if (x->nframes == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 256;
		void *v = realloc(p->keys, ncap * sizeof(*p->keys));
		void *w = v ? realloc(x->frames, ncap * sizeof(*x->frames)) : NULL;
		if (v)
			p->keys = v;
		if (w)
			x->frames = w;
		if (!v || !w) {
			free(key);
			return -1;
		}
		p->cap = ncap;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		free(key);
		return -1;
	}
	memcpy(key + klen + 1, key, klen + 1);
	key[klen + 1 + nlen] = '\0';
	k->key = key;
	k->pub.name = key + klen + 1;
	k->pub.file = file ? key + klen + 1 + nlen + 1 : NULL;
	k->pub.module = module;         /* the symbolizer's: lives as long */
	k->pub.line = line;
	k->id = (uint32_t)x->nframes;
	if (LT_HASH_ADD(p->by_key, key[0], klen, k) < 0) {
		free(key);
		free(k);
		return -1;
	}
	p->keys[x->nframes] = k;
	x->frames[x->nframes] = k->pub;
	return (long)x->nframes++;
}

static uint64_t site_value(const struct lt_model *m, const struct lt_site *s,
			   enum lt_export_value v)
{
	bool e = m->sampled;

	switch (v) {
	case LT_VALUE_CALLS:     return e ? est_u64(s->est_calls) : s->calls;
	case LT_VALUE_BYTES:     return e ? est_u64(s->est_bytes) : s->bytes;
	case LT_VALUE_LEAKED:    return e ? est_u64(s->est_leaked_bytes) :
					    s->leaked_bytes;
	case LT_VALUE_TEMPORARY: return e ? est_u64(s->est_temporary) :
					    s->temporary;
	default:                 return 0;
	}
}

static int cmp_xsite(const void *pa, const void *pb)
{
	const struct lt_xsite *a = pa, *b = pb;

	if (a->v[LT_VALUE_CALLS] != b->v[LT_VALUE_CALLS])
		return a->v[LT_VALUE_CALLS] > b->v[LT_VALUE_CALLS] ? -1 : 1;
	if (a->v[LT_VALUE_BYTES] != b->v[LT_VALUE_BYTES])
		return a->v[LT_VALUE_BYTES] > b->v[LT_VALUE_BYTES] ? -1 : 1;
	return a->site->stack_id < b->site->stack_id ? -1 :
	       a->site->stack_id > b->site->stack_id;
}

static int build_site(struct lt_export *x, struct lt_xsite *xs)
{
	const struct lt_site *s = xs->site;
	const struct lt_model *m = x->m;

	for (int v = 0; v < LT_VALUE_COUNT; v++) {
		xs->v[v] = site_value(m, s, v);
		x->total[v] += xs->v[v];
	}
	xs->leaked_blocks = m->sampled ? est_u64(s->est_leaked_blocks) :
					 s->leaked_blocks;
	if (lt_report_site_frames(x->sym, s, &xs->rf, &xs->nrf) < 0)
		return -1;
	xs->fid = malloc((xs->nrf ? xs->nrf : 1) * sizeof(*xs->fid));
	if (!xs->fid)
		return -1;
	for (size_t i = 0; i < xs->nrf; i++) {
		const struct lt_sym_frame *f = &xs->rf[i].f;
		long id = intern_frame(x, frame_name(x, f), f->file, f->module,
				       f->line);
		if (id < 0)
			return -1;
		xs->fid[xs->nfid++] = (uint32_t)id;
	}
	if (xs->nfid == 0) {
		long id = intern_frame(x, s->stack_id == LT_STACK_NONE ?
				       "(no stack recorded)" :
				       "(stack not in the dump)", NULL, NULL, 0);
		if (id < 0)
			return -1;
		xs->fid[xs->nfid++] = (uint32_t)id;
	}
	return 0;
}

/* A site's place in x->sites. */
struct site_pos {
	const struct lt_site *site;
	size_t i;
};

static int cmp_site_pos(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct site_pos *)a)->site;
	uintptr_t y = (uintptr_t)((const struct site_pos *)b)->site;

	return x < y ? -1 : x > y;
}

static int build_sites(struct lt_export *x)
{
	const struct lt_model *m = x->m;
	const struct lt_series_site **peak;
	struct site_pos *pos;
	size_t npeak;

	x->sites = calloc(m->nsites + 1, sizeof(*x->sites));
	if (!x->sites)
		return -1;
	for (size_t i = 0; i < m->nsites; i++) {
		if (m->sites[i]->calls == 0)
			continue;   /* a stack record no allocation used */
		x->sites[x->nsites].site = m->sites[i];
		if (build_site(x, &x->sites[x->nsites++]) < 0)
			return -1;
	}
	qsort(x->sites, x->nsites, sizeof(*x->sites), cmp_xsite);
	if (lt_series_peak_sites(x->series, &peak, &npeak) < 0)
		return -1;
	/* Thousands of sites may hold the peak (cc1plus: a scan of its
	 * 98,000 sites for each was 1.5 s of pprof export's 3.5): found by
	 * address instead. */
	pos = malloc((x->nsites + 1) * sizeof(*pos));
	if (!pos)
		return -1;
	for (size_t j = 0; j < x->nsites; j++)
		pos[j] = (struct site_pos){ x->sites[j].site, j };
	qsort(pos, x->nsites, sizeof(*pos), cmp_site_pos);
	for (size_t i = 0; i < npeak; i++) {
		struct site_pos key = { peak[i]->site, 0 }, *at;

		at = bsearch(&key, pos, x->nsites, sizeof(*pos), cmp_site_pos);
		if (at) {
			x->sites[at->i].peak_bytes = est_u64(peak[i]->bytes);
			x->sites[at->i].peak_blocks = est_u64(peak[i]->blocks);
		}
	}
	free(pos);
	return 0;
}

struct lt_threads *lt_export_threads(struct lt_export *x)
{
	struct lt_threads_opts o = { 0 };
	struct lt_err err;

	if (!x->threads && lt_threads_build(x->m, &o, &x->threads, &err) < 0)
		x->threads = NULL;
	return x->threads;
}

static void export_free(struct lt_export *x)
{
	struct frame_key *k, *tmp;

	for (size_t i = 0; i < x->nsites; i++) {
		free(x->sites[i].rf);
		free(x->sites[i].fid);
	}
	free(x->sites);
	if (x->priv) {
		HASH_ITER(hh, x->priv->by_key, k, tmp) {
			HASH_DEL(x->priv->by_key, k);
			free(k->key);
			free(k);
		}
		free(x->priv->keys);
	}
	free(x->priv);
	free(x->frames);
	lt_threads_free(x->threads);
	lt_sym_free(x->sym);
	lt_series_free(x->series);
}

int lt_export_path(FILE *out, const char *path,
		   const struct lt_export_opts *o, bool *sampled,
		   struct lt_err *err)
{
	static int (*const exporters[])(FILE *, struct lt_export *,
					const struct lt_export_opts *,
					struct lt_err *) = {
		[LT_EXPORT_PPROF] = lt_export_pprof,
		[LT_EXPORT_COLLAPSED] = lt_export_collapsed,
		[LT_EXPORT_SPEEDSCOPE] = lt_export_speedscope,
		[LT_EXPORT_MASSIF] = lt_export_massif,
		[LT_EXPORT_CHROME] = lt_export_chrome,
		[LT_EXPORT_JSON] = lt_export_json,
		[LT_EXPORT_HTML] = lt_export_html,
	};
	struct lt_export x = { .path = path };
	struct lt_dump *d = NULL;
	struct lt_model *m = NULL;
	struct lt_model_hooks hooks = {
		.progress = o->progress, .progress_ctx = o->progress_ctx,
		.heap = lt_series_observe,
	};
	int rc = -1;

	*sampled = false;
	if (lt_dump_open(path, &d, err) < 0)
		return -1;
	x.dump = d;
	x.series = lt_series_new(d);
	x.priv = calloc(1, sizeof(*x.priv));
	if (!x.series || !x.priv) {
		lt_err_set(err, "%s: out of memory", path);
		goto out;
	}
	hooks.heap_ctx = x.series;
	if (lt_model_build_hooked(d, &hooks, &m, err) < 0)
		goto out;
	x.m = m;
	*sampled = m->sampled;
	x.sym = lt_report_symbolizer(m);
	if (!x.sym || x.series->oom || build_sites(&x) < 0) {
		lt_err_set(err, "%s: out of memory", path);
		goto out;
	}
	rc = exporters[o->format](out, &x, o, err);
	if (rc == 0 && (fflush(out) != 0 || ferror(out)))
		rc = lt_err_set(err, "cannot write the export: output error");
out:
	export_free(&x);
	lt_model_free(m);
	lt_dump_close(d);
	return rc;
}
