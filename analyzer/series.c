/*
 * The heap observer of series.h.  Who held the peak is found without
 * copying anything at each new peak: a site's value is saved lazily, the
 * first time it changes after a peak (until then its current value is its
 * value at the peak).  Must stay cheap: it runs once per replayed event.
 */
#include "series.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct site_state {
	struct lt_series_site pub;
	const struct lt_site *key;
	uint64_t stamp;              /* the peak epoch pub.bytes belongs to */
	UT_hash_handle hh;
};

struct lt_series_priv {
	struct site_state *sites;    /* uthash by site pointer */
	struct site_state *last;     /* one-entry cache: runs of one site */
	uint64_t epoch;              /* new peaks so far */
	const struct lt_series_site **ranked;
	size_t nranked;
};

struct lt_series *lt_series_new(const struct lt_dump *d)
{
	struct lt_series *s = calloc(1, sizeof(*s));
	uint64_t start = d->hdr->start_ticks, end = d->pair_ticks;

	if (!s || !(s->priv = calloc(1, sizeof(*s->priv)))) {
		free(s);
		return NULL;
	}
	if (d->trailer && d->trailer->ticks > end)
		end = d->trailer->ticks;
	s->sampled = (d->hdr->flags & LT_HDR_SAMPLED) && d->hdr->sample_interval;
	s->start = start;
	s->width = end > start ? (end - start) / LT_SERIES_BUCKETS + 1 : 1;
	return s;
}

void lt_series_free(struct lt_series *s)
{
	struct site_state *e, *tmp;

	if (!s)
		return;
	HASH_ITER(hh, s->priv->sites, e, tmp) {
		HASH_DEL(s->priv->sites, e);
		free(e);
	}
	free(s->priv->ranked);
	free(s->priv);
	free(s);
}

uint64_t lt_series_ticks(const struct lt_series *s, size_t i)
{
	return s->start + (uint64_t)i * s->width;
}

/* Twice the width, half the buckets: merge neighbours. */
static void coarsen(struct lt_series *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i += 2) {
		struct lt_series_bucket b = s->b[i];
		if (i + 1 < s->n) {
			const struct lt_series_bucket *c = &s->b[i + 1];
			if (c->lo < b.lo)
				b.lo = c->lo;
			if (c->hi > b.hi)
				b.hi = c->hi;
			b.last = c->last;
		}
		s->b[n++] = b;
	}
	s->n = n;
	s->width *= 2;
}

/* The bucket for ticks, opening it (and any empty ones before it, flat at
 * the level carried over) at the current level. */
static struct lt_series_bucket *bucket_at(struct lt_series *s, uint64_t ticks)
{
	uint64_t i = ticks > s->start ? (ticks - s->start) / s->width : 0;

	while (i >= LT_SERIES_BUCKETS) {
		coarsen(s);
		i = ticks > s->start ? (ticks - s->start) / s->width : 0;
	}
	if (i + 1 < s->n)
		i = s->n - 1;   /* a record that sorts a little behind */
	while (s->n <= i)
		s->b[s->n++] = (struct lt_series_bucket){
			.lo = s->live, .hi = s->live, .last = s->live,
		};
	return &s->b[i];
}

static struct site_state *state_of(struct lt_series *s,
				   const struct lt_site *site)
{
	struct lt_series_priv *p = s->priv;
	struct site_state *e = p->last;

	if (e && e->key == site)
		return e;
	HASH_FIND_PTR(p->sites, &site, e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return NULL;
		e->key = site;
		e->pub.site = site;
		e->stamp = p->epoch;
		if (LT_HASH_ADD(p->sites, key, sizeof(e->key), e) < 0) {
			free(e);
			return NULL;
		}
	}
	p->last = e;
	return e;
}

void lt_series_observe(void *ctx, uint64_t ticks, const struct lt_site *site,
		       uint64_t size, double weight, int delta)
{
	struct lt_series *s = ctx;
	struct lt_series_priv *p = s->priv;
	struct site_state *e = state_of(s, site);
	struct lt_series_bucket *b;
	double w = s->sampled ? weight : 1.0;
	double bytes = w * (double)size * delta;

	s->changes++;
	if (!e) {
		s->oom = true;
		return;
	}
	/* Unchanged since the last peak until now: what it holds is what it
	 * held then. */
	if (e->stamp != p->epoch) {
		e->pub.bytes = e->pub.live_bytes;
		e->pub.blocks = e->pub.live_blocks;
		e->stamp = p->epoch;
	}
	e->pub.live_bytes += bytes;
	e->pub.live_blocks += w * delta;

	b = bucket_at(s, ticks);
	/* Summed as the model sums it, so the peak is the report's peak. */
	s->live += bytes;
	if (s->live < b->lo)
		b->lo = s->live;
	if (s->live > b->hi)
		b->hi = s->live;
	b->last = s->live;
	/* As the model decides it: a strictly larger live heap, after an
	 * acquisition. */
	if (delta > 0 && s->live > s->peak) {
		s->peak = s->live;
		s->peak_ticks = ticks;
		p->epoch++;
	}
}

static int cmp_peak_desc(const void *pa, const void *pb)
{
	const struct lt_series_site *a = *(const struct lt_series_site *const *)pa;
	const struct lt_series_site *b = *(const struct lt_series_site *const *)pb;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return a->site->stack_id < b->site->stack_id ? -1 :
	       a->site->stack_id > b->site->stack_id;
}

int lt_series_peak_sites(struct lt_series *s,
			 const struct lt_series_site ***out, size_t *n)
{
	struct lt_series_priv *p = s->priv;
	size_t k = 0;

	if (!p->ranked) {
		p->ranked = malloc((HASH_COUNT(p->sites) + 1) *
				   sizeof(*p->ranked));
		if (!p->ranked)
			return -1;
		for (struct site_state *e = p->sites; e; e = e->hh.next) {
			if (e->stamp != p->epoch) {
				e->pub.bytes = e->pub.live_bytes;
				e->pub.blocks = e->pub.live_blocks;
				e->stamp = p->epoch;
			}
			if (e->pub.bytes >= 0.5)
				p->ranked[k++] = &e->pub;
		}
		p->nranked = k;
		qsort(p->ranked, k, sizeof(*p->ranked), cmp_peak_desc);
	}
	*out = p->ranked;
	*n = p->nranked;
	return 0;
}
