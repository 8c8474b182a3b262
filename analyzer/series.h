/*
 * Heap size over time and who held the heap at its peak, built as the model
 * replays (an lt_heap_fn observer).  Memory is bounded: a fixed number of
 * time buckets whose width doubles when the run outlasts them, and one
 * entry per allocation site.  Never keeps an event.
 */
#ifndef LT_ANALYZER_SERIES_H
#define LT_ANALYZER_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dump.h"
#include "model.h"

#define LT_SERIES_BUCKETS 1024

/* One time bucket: the live heap went between lo and hi in it, and was
 * last when it ended.  Estimated bytes in a sampled dump. */
struct lt_series_bucket {
	double lo, hi, last;
};

/* What one site held at the moment of the heap's peak. */
struct lt_series_site {
	const struct lt_site *site;
	double bytes, blocks;        /* at the peak */
	double live_bytes, live_blocks;   /* now (at the end: leaked) */
};

struct lt_series {
	bool sampled;                /* values are sampling estimates */
	uint64_t start, width;       /* bucket i: [start + i*width, +width) */
	size_t n;                    /* buckets in use */
	struct lt_series_bucket b[LT_SERIES_BUCKETS];
	double live, peak;
	uint64_t peak_ticks;
	uint64_t changes;            /* events observed */
	struct lt_series_priv *priv;
	bool oom;
};

/*
 * A series for the dump d, expecting the run to cover roughly [start,
 * end) in ticks (the width adapts if it does not).  Returns NULL when out
 * of memory.
 */
struct lt_series *lt_series_new(const struct lt_dump *d);
void lt_series_free(struct lt_series *s);

/* The observer to put in struct lt_model_hooks, with the series as ctx. */
lt_heap_fn lt_series_observe;

/*
 * After the replay: the sites that held bytes at the peak, largest first
 * (*out is owned by the series).  Returns 0, or -1 when out of memory.
 */
int lt_series_peak_sites(struct lt_series *s,
			 const struct lt_series_site ***out, size_t *n);

/* The time at the start of bucket i, in ticks. */
uint64_t lt_series_ticks(const struct lt_series *s, size_t i);

#endif /* LT_ANALYZER_SERIES_H */
