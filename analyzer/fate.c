/*
 * The observer of fate.h: a table of live blocks (with the stack pointer of
 * the call that made each), a per-thread record of how high each thread's
 * stack pointer went since any past event, and per-site counts of release
 * facts.  Runs once per replayed record: every step is O(1) or O(log n),
 * and it never keeps an event.
 */
#include "fate.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "ptrtable.h"

/* ---- live blocks: open addressing, linear probing ---------------------- */

struct fblock {
	uint64_t ptr;              /* 0 = empty slot */
	uint64_t sp;               /* of the allocating call; 0 unknown */
	uint64_t ev;               /* the thread's event number then */
	uint64_t size;
	struct lt_site_fate *sf;
	struct site_thread *st;    /* its site's count on its thread */
	uint32_t thread;
	uint32_t chain;            /* index + 1 into chains; 0 none */
};

static inline uint64_t fblock_key(const struct fblock *b)
{
	return b->ptr;
}

LT_PTR_TABLE(ftable, struct fblock, fblock_key)

/* ---- realloc chains ---------------------------------------------------- */

/* A block that realloc moved on at least once: where the chain began, and
 * how it grew. */
struct chain {
	struct lt_site_fate *origin;
	uint64_t origin_sp, origin_ev, origin_size;
	uint32_t origin_thread;
	uint32_t next_free;        /* free list link, index + 1 */
	uint64_t growth_steps, small_steps;
};

/* ---- threads ----------------------------------------------------------- */

/*
 * The highest stack pointer of the thread's events after a given event
 * number is a range maximum over its past; this keeps only the events no
 * later event rose above: event numbers ascending, stack pointers strictly
 * descending.  The answer for "after e" is the first entry past e.  Its
 * length is bounded by the stack's depth in 16-byte steps.
 */
struct mark {
	uint64_t ev, sp;
};

/* A realloc's release half, waiting for its acquisition half. */
struct pending {
	bool valid;
	struct fblock old;
};

struct fthread {
	uint32_t serial;
	uint64_t events;
	struct mark *marks;
	size_t nmarks, cap;
	struct pending pending;
	UT_hash_handle hh;
};

/* How many of a site's blocks one thread holds now. */
struct site_thread {
	struct {
		const struct lt_site_fate *sf;
		uint32_t thread;
	} key;
	uint64_t live;
	UT_hash_handle hh;
};

/* ---- the observer -------------------------------------------------------- */

struct site_entry {
	struct lt_site_fate pub;
	const struct lt_site *key;
	UT_hash_handle hh;
};

struct lt_fates {
	struct ftable live;
	struct site_entry *sites;       /* uthash by site pointer */
	struct site_entry *last_site;
	struct site_thread *site_threads;   /* uthash by (site, thread) */
	struct fthread *threads;        /* uthash by serial */
	struct fthread *last_thread;
	struct chain *chains;
	size_t nchains, chain_cap;
	uint32_t chain_free;            /* index + 1 of a free chain */
	struct lt_model weight_model;   /* only for lt_model_weight() */
	bool oom;
};

struct lt_fates *lt_fates_new(const struct lt_dump *d)
{
	struct lt_fates *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->weight_model.sampled = (d->hdr->flags & LT_HDR_SAMPLED) &&
				  d->hdr->sample_interval;
	f->weight_model.sample_interval = f->weight_model.sampled ?
					  d->hdr->sample_interval : 0;
	f->weight_model.sample_large = f->weight_model.sampled &&
				       (d->hdr->flags & LT_HDR_SAMPLE_LARGE);
	/* A hint: if the room cannot be had now, the table grows later. */
	(void)ftable_reserve(&f->live, d->live_bound);
	return f;
}

void lt_fates_free(struct lt_fates *f)
{
	struct site_entry *s, *stmp;
	struct fthread *t, *ttmp;

	if (!f)
		return;
	HASH_ITER(hh, f->sites, s, stmp) {
		HASH_DEL(f->sites, s);
		free(s->pub.v);
		free(s);
	}
	{
		struct site_thread *st, *sttmp;
		HASH_ITER(hh, f->site_threads, st, sttmp) {
			HASH_DEL(f->site_threads, st);
			free(st);
		}
	}
	HASH_ITER(hh, f->threads, t, ttmp) {
		HASH_DEL(f->threads, t);
		free(t->marks);
		free(t);
	}
	ftable_free(&f->live);
	free(f->chains);
	free(f);
}

static struct site_entry *site_of(struct lt_fates *f, const struct lt_site *s)
{
	struct site_entry *e = f->last_site;

	if (e && e->key == s)
		return e;
	HASH_FIND_PTR(f->sites, &s, e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return NULL;
		e->key = s;
		e->pub.site = s;
		if (LT_HASH_ADD(f->sites, key, sizeof(e->key), e) < 0) {
			free(e);
			return NULL;
		}
	}
	f->last_site = e;
	return e;
}

static struct fthread *thread_of(struct lt_fates *f, uint32_t serial)
{
	struct fthread *t = f->last_thread;

	if (t && t->serial == serial)
		return t;
	HASH_FIND(hh, f->threads, &serial, sizeof(serial), t);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		t->serial = serial;
		if (LT_HASH_ADD(f->threads, serial, sizeof(serial), t) < 0) {
			free(t);
			return NULL;
		}
	}
	f->last_thread = t;
	return t;
}

/* The highest stack pointer of the thread's events numbered above ev;
 * false when there were none. */
static bool highest_since(const struct fthread *t, uint64_t ev, uint64_t *sp)
{
	size_t lo = 0, hi = t->nmarks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->marks[mid].ev <= ev)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->nmarks)
		return false;
	*sp = t->marks[lo].sp;
	return true;
}

static void push_mark(struct lt_fates *f, struct fthread *t, uint64_t ev,
		      uint64_t sp)
{
	if (!sp)
		return;
	while (t->nmarks && t->marks[t->nmarks - 1].sp <= sp)
		t->nmarks--;
	if (t->nmarks == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		void *v = realloc(t->marks, ncap * sizeof(*t->marks));
		if (!v) {
			f->oom = true;
			return;
		}
		t->marks = v;
		t->cap = ncap;
	}
	t->marks[t->nmarks++] = (struct mark){ ev, sp };
}

static void count_fate(struct lt_fates *f, struct lt_site_fate *sf,
		       const struct lt_fate_key *k, uint64_t size)
{
	double w = lt_model_weight(&f->weight_model, size);

	for (size_t i = 0; i < sf->n; i++) {
		struct lt_fate_count *c = &sf->v[i];
		if (!memcmp(&c->key, k, sizeof(*k))) {
			c->blocks++;
			c->bytes += size;
			c->est_blocks += w;
			return;
		}
	}
	if (sf->n == LT_FATE_MAX_KEYS) {
		sf->overflow++;
		sf->est_overflow += w;
		return;
	}
	if (sf->n == sf->cap) {
		size_t ncap = sf->cap ? sf->cap * 2 : 4;
		void *v = realloc(sf->v, ncap * sizeof(*sf->v));
		if (!v) {
			f->oom = true;
			return;
		}
		sf->v = v;
		sf->cap = ncap;
	}
	sf->v[sf->n++] = (struct lt_fate_count){
		.key = *k, .blocks = 1, .bytes = size, .est_blocks = w,
	};
}

/*
 * The facts of releasing a block that was acquired by thread a_thread with
 * stack pointer a_sp at its event number a_ev, released now by thread t
 * (its current event not yet counted) from stack with stack pointer sp.
 */
static struct lt_fate_key release_key(const struct fthread *t, uint32_t a_thread,
				      uint64_t a_sp, uint64_t a_ev,
				      uint32_t stack, uint64_t sp, bool by_realloc)
{
	struct lt_fate_key k = { .stack = stack, .kind = LT_FATE_FREED };
	uint64_t high;

	if (by_realloc)
		k.flags |= LT_FATE_BY_REALLOC;
	if (a_thread != t->serial) {
		k.kind = LT_FATE_THREAD;
		return k;
	}
	if (!a_sp || !sp) {
		k.flags |= LT_FATE_NO_SP;
		return k;
	}
	k.sp_cmp = sp > a_sp ? 1 : sp < a_sp ? -1 : 0;
	if (highest_since(t, a_ev, &high)) {
		if (high > a_sp)
			k.flags |= LT_FATE_W_ABOVE_ALLOC;
		if (high > sp)
			k.flags |= LT_FATE_W_ABOVE_FREE;
	}
	return k;
}

static void site_released(const struct fblock *b)
{
	if (b->sf->live_blocks)
		b->sf->live_blocks--;
	if (b->st && b->st->live)
		b->st->live--;
}

static struct site_thread *site_thread_of(struct lt_fates *f,
					  struct lt_site_fate *sf,
					  uint32_t thread)
{
	struct site_thread k, *st;

	memset(&k, 0, sizeof(k));
	k.key.sf = sf;
	k.key.thread = thread;
	HASH_FIND(hh, f->site_threads, &k.key, sizeof(k.key), st);
	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->key = k.key;
	if (LT_HASH_ADD(f->site_threads, key, sizeof(st->key), st) < 0) {
		free(st);
		return NULL;
	}
	return st;
}

/* The end of a block: its own fate, and, when realloc had moved its chain
 * on from a first block, that first block's fate too. */
static void block_ends(struct lt_fates *f, struct fthread *t,
		       const struct fblock *b, uint32_t stack, uint64_t sp,
		       bool by_realloc)
{
	struct lt_fate_key k = release_key(t, b->thread, b->sp, b->ev, stack,
					   sp, by_realloc);

	count_fate(f, b->sf, &k, b->size);
	if (b->chain) {
		struct chain *c = &f->chains[b->chain - 1];
		k = release_key(t, c->origin_thread, c->origin_sp, c->origin_ev,
				stack, sp, by_realloc);
		k.flags |= LT_FATE_CHAIN;
		count_fate(f, c->origin, &k, c->origin_size);
		c->next_free = f->chain_free;
		f->chain_free = b->chain;
	}
}

static uint32_t new_chain(struct lt_fates *f, const struct fblock *first)
{
	struct chain *c;
	uint32_t id;

	if (f->chain_free) {
		id = f->chain_free;
		f->chain_free = f->chains[id - 1].next_free;
	} else {
		if (f->nchains == f->chain_cap) {
			size_t ncap = f->chain_cap ? f->chain_cap * 2 : 64;
			void *v;
			if (ncap > UINT32_MAX - 1) {
				f->oom = true;
				return 0;
			}
			v = realloc(f->chains, ncap * sizeof(*f->chains));
			if (!v) {
				f->oom = true;
				return 0;
			}
			f->chains = v;
			f->chain_cap = ncap;
		}
		id = (uint32_t)++f->nchains;
	}
	c = &f->chains[id - 1];
	*c = (struct chain){
		.origin = first->sf, .origin_sp = first->sp,
		.origin_ev = first->ev, .origin_size = first->size,
		.origin_thread = first->thread,
	};
	return id;
}

/* A realloc moved old on to a block of size bytes at site sf: one growth
 * step of its chain, perhaps an additive one. */
static void grow(struct chain *c, struct lt_site_fate *sf, uint64_t old,
		 uint64_t size)
{
	uint64_t step;

	if (size <= old)
		return;
	step = size - old;
	c->growth_steps++;
	sf->growth_steps++;
	/* new <= 1.125 * old, without overflow */
	if (old && step <= old / 8)
		c->small_steps++;
	else
		return;
	if (c->small_steps < LT_FATE_SMALL_STEPS)
		return;
	if (c->small_steps == LT_FATE_SMALL_STEPS)
		sf->additive_chains++;
	if (!sf->additive_steps || step < sf->step_min)
		sf->step_min = step;
	if (step > sf->step_max)
		sf->step_max = step;
	sf->additive_steps++;
	if (c->growth_steps > sf->longest_chain)
		sf->longest_chain = c->growth_steps;
	if (size > sf->max_size_grown)
		sf->max_size_grown = size;
}

static void acquire(struct lt_fates *f, struct fthread *t, uint64_t ptr,
		    uint64_t size, uint64_t sp, const struct lt_site *site,
		    const struct fblock *moved_from)
{
	struct site_entry *e = site ? site_of(f, site) : NULL;
	struct fblock b, *old;

	if (!e) {
		if (site)
			f->oom = true;
		return;
	}
	if (!ptr)
		return;
	b = (struct fblock){
		.ptr = ptr, .sp = sp, .ev = t->events, .size = size,
		.sf = &e->pub, .thread = t->serial,
		.st = site_thread_of(f, &e->pub, t->serial),
	};
	if (!b.st)
		f->oom = true;
	if (++e->pub.live_blocks > e->pub.peak_live_blocks)
		e->pub.peak_live_blocks = e->pub.live_blocks;
	if (b.st && ++b.st->live > e->pub.peak_live_per_thread)
		e->pub.peak_live_per_thread = b.st->live;
	if (moved_from) {
		b.chain = moved_from->chain ? moved_from->chain
					    : new_chain(f, moved_from);
		if (b.chain)
			grow(&f->chains[b.chain - 1], &e->pub,
			     moved_from->size, size);
	}
	old = ftable_find(&f->live, ptr);
	if (old) {
		/* A release we never saw: the model counts the anomaly. */
		site_released(old);
		if (old->chain) {
			f->chains[old->chain - 1].next_free = f->chain_free;
			f->chain_free = old->chain;
		}
		ftable_remove(&f->live, old);
	}
	if (ftable_insert(&f->live, &b) < 0)
		f->oom = true;
}

void lt_fates_prefetch(void *ctx, uint64_t ptr)
{
	const struct lt_fates *f = ctx;

	if (f->live.slots)
		__builtin_prefetch(&f->live.slots[ftable_hash(&f->live, ptr)], 1);
}

void lt_fates_observe(void *ctx, uint32_t thread, const struct lt_event *ev,
		      const struct lt_site *site)
{
	struct lt_fates *f = ctx;
	struct fthread *t = thread_of(f, thread);
	struct fblock *b;

	if (!t) {
		f->oom = true;
		return;
	}
	t->events++;
	switch (ev->type) {
	case LT_REC_ALLOC:
		acquire(f, t, ev->ptr, ev->size, ev->sp, site, NULL);
		break;
	case LT_REC_FREE:
		b = ftable_find(&f->live, ev->ptr);
		if (b) {
			site_released(b);
			/* realloc(p, 0) that freed p is a free, with the
			 * free site's shallow stack. */
			block_ends(f, t, b, ev->stack, ev->sp, false);
			ftable_remove(&f->live, b);
		}
		break;
	case LT_REC_REALLOC:
		if (ev->phase == 0) {
			t->pending.valid = false;
			b = ftable_find(&f->live, ev->ptr);
			if (b) {
				site_released(b);
				/* The first block of a chain waits for the
				 * chain's end; later ones were moved on. */
				if (b->chain) {
					struct lt_fate_key k = release_key(
						t, b->thread, b->sp, b->ev,
						ev->stack, ev->sp, true);
					k.kind = LT_FATE_MOVED;
					count_fate(f, b->sf, &k, b->size);
				}
				t->pending.valid = true;
				t->pending.old = *b;
				ftable_remove(&f->live, b);
			}
		} else {
			acquire(f, t, ev->ptr, ev->size, ev->sp, site,
				t->pending.valid ? &t->pending.old : NULL);
			t->pending.valid = false;
		}
		break;
	default:
		return;
	}
	push_mark(f, t, t->events, ev->sp);
}

int lt_fates_finish(struct lt_fates *f)
{
	for (size_t i = 0; f->live.slots && i < f->live.cap; i++) {
		const struct fblock *b = &f->live.slots[i];
		struct lt_fate_key k = { .kind = LT_FATE_LEAKED };
		if (!b->ptr)
			continue;
		count_fate(f, b->sf, &k, b->size);
		if (b->chain) {
			const struct chain *c = &f->chains[b->chain - 1];
			k.flags = LT_FATE_CHAIN;
			count_fate(f, c->origin, &k, c->origin_size);
		}
	}
	return f->oom ? -1 : 0;
}

const struct lt_site_fate *lt_fates_site(const struct lt_fates *f,
					 const struct lt_site *s)
{
	struct site_entry *e;

	HASH_FIND_PTR(f->sites, &s, e);
	return e ? &e->pub : NULL;
}
