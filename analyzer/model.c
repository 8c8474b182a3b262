/*
 * Replays a dump: a k-way merge of the per-thread streams by ticks (on a
 * second thread for a big dump) into a live-block table, per-site and
 * per-thread state and the totals.  Must never keep events after replaying
 * them and never trust a record to be consistent with the others (unknown
 * addresses, reused pthread_t values, stacks defined after use are all
 * normal).
 */
#include "model.h"

#include <math.h>     /* isfinite only: the build links no libm */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "ptrtable.h"

/* ---- live blocks: open addressing, linear probing --------------------- */

/*
 * This table is what grows with a leaky program, and the replay's time
 * goes into probing it.  The bench's CPython job has up to 494,000 blocks
 * live at once.  At 32 bytes a slot its table took 32 MiB, and its report
 * about 0.4 s in 59 MB; at 24 bytes, 24 MiB and 0.3 s in 47 MB.  Sized up
 * front from the dump's live bound instead of doubling from 1,024 slots,
 * it was 17 MiB and the report took 38 MB: doubling had also zeroed 24 MiB
 * of smaller tables.  At 16 bytes the Perl dump's report went 96 -> 82 ms.
 *
 * Packed, a slot is 16 bytes: the address, and the block's size, site and
 * the thread that acquired it (the temporary rule's question, see
 * release()) in 28, 20 and 16 bits.  A program that keeps 4 million
 * blocks live needs 96 MiB of that at two thirds full, and its report
 * took more memory than heaptrack_print (101 MB against 57).  So a table
 * that would pass LIVE_COMPACT_MIN is compact instead: 8 bytes a slot,
 * the address shifted right by three in the low 44 bits and the block's
 * kind in the top 20.  A kind is a size, a site and a thread, kept once
 * with a count of its live blocks: a program's live blocks come in far
 * fewer kinds than blocks (those 4 million, of 48 sizes from one site and
 * thread, are 48 kinds).  A kind whose blocks are all gone stays known,
 * ready for the next block like it, until the ids run out or most known
 * kinds are such; then they are swept.  Kinds cost time where blocks of a
 * size and site come from thousands of threads (20,000 short-lived threads
 * of random sizes: 18% more instructions in the report), and smaller
 * tables gain nothing from them, so they stay packed.
 *
 * A block whose fields do not fit (a size of 256 MiB or more, the
 * 1,048,577th site, the 65,537th thread; in a compact table, an address
 * that is not 8-byte aligned or is 2^47 or more, or the 2^20th kind live
 * at once) is kept aside instead, in a hash by address, not in the table.
 * A damaged dump can make that every block; the replay is only slower.
 */
#ifndef LIVE_SIZE_BITS        /* test_model_narrow builds them narrow */
#define LIVE_SIZE_BITS   28
#define LIVE_SITE_BITS   20
#define LIVE_THREAD_BITS 16
#endif
_Static_assert(LIVE_SIZE_BITS + LIVE_SITE_BITS + LIVE_THREAD_BITS <= 64 &&
	       LIVE_SITE_BITS < 32 && LIVE_THREAD_BITS < 32,
	       "a packed block's fields fit in its 64 bits");

struct packed_block {
	uint64_t ptr;            /* 0 = empty slot */
	uint64_t packed;         /* size | site << 28 | thread << 48 */
};

static inline uint64_t packed_block_key(const struct packed_block *b)
{
	return b->ptr;
}

LT_PTR_TABLE(packed_table, struct packed_block, packed_block_key)

#define LIVE_ADDR_BITS   44
#ifndef LIVE_KIND_BITS        /* test_model_compact builds it narrow */
#define LIVE_KIND_BITS   20
#endif
_Static_assert(LIVE_ADDR_BITS + LIVE_KIND_BITS <= 64 && LIVE_KIND_BITS < 32,
	       "a compact block's address and kind fit in its 64 bits");
#define LIVE_ADDR_MASK   ((1ull << LIVE_ADDR_BITS) - 1)
#define LIVE_KIND_SHIFT  (64 - LIVE_KIND_BITS)     /* the top bits */
#define LIVE_KINDS       (1u << LIVE_KIND_BITS)

struct compact_block {
	uint64_t word;           /* ptr >> 3 | kind << 44; 0 = empty slot */
};

static inline uint64_t compact_block_key(const struct compact_block *b)
{
	return (b->word & LIVE_ADDR_MASK) << 3;
}

LT_PTR_TABLE(compact_table, struct compact_block, compact_block_key)

/* Bytes of packed table (two thirds full at the dump's live bound) past
 * which the table is compact: past the 16 MiB that ptrtable.h's reserve
 * may spend on room, where probes wait on memory. */
#ifndef LIVE_COMPACT_MIN      /* test_model_compact makes every one compact */
#define LIVE_COMPACT_MIN (16u << 20)
#endif

/* A block's fields. */
struct block_info {
	uint64_t size;
	uint32_t site;           /* index into priv->site_vec */
	uint32_t thread;         /* thread_entry.index of its acquirer */
};

#define KIND_KNOWN   UINT32_MAX        /* live_kind.next: not free */
#define KIND_END     (UINT32_MAX - 1)  /* the free list's end */
#define KIND_NONE    UINT32_MAX        /* kind_get: keep the block aside */
#define KIND_OOM     (UINT32_MAX - 1)  /* kind_get: out of memory */

struct live_kind {
	struct block_info info;
	uint32_t blocks;         /* live blocks of this kind */
	uint32_t next;           /* KIND_KNOWN, or the next free id */
};

/* Known kinds by their fields: ids + 1, 0 in an empty slot; at most half
 * full. */
struct kind_index {
	uint32_t *slots;
	size_t mask;             /* slots - 1: a power of two, less one */
	size_t count;
};

/* Sweep the kinds with no blocks once there are this many and they are
 * most of the known ones. */
#ifndef KIND_SWEEP_MIN
#define KIND_SWEEP_MIN   4096
#endif

struct aside_block {
	uint64_t ptr;
	struct block_info info;
	UT_hash_handle hh;
};

/* Where a live block is: its slot in the table, or its entry aside.  For
 * an address not in the table, the slot where it would go (its gap) while
 * the table does not change: taking a block out of the aside hash leaves
 * it valid. */
struct block_ref {
	struct packed_block *packed, *packed_gap;
	struct compact_block *compact, *compact_gap;
	struct aside_block *aside;
};

/* ---- sites, threads ----------------------------------------------------- */

struct site_entry {
	struct lt_site site;
	uint32_t index;          /* in priv->site_vec */
	uint32_t kind;           /* its last block's, a hint; or KIND_NONE */
	UT_hash_handle hh;
};

struct thread_entry {
	struct lt_thread t;
	uint32_t index;          /* in the order first met, from 0 */
	uint64_t recent[2];      /* the addresses its last two acquisitions
				  * returned (0 for a failed one) */
	uint64_t birth;          /* ticks from which it carries its pthread_t */
	bool alive;
	bool has_birth;
	UT_hash_handle hh;
};

/* Every thread that ever carried one pthread_t value, by birth. */
struct pthread_entry {
	uint64_t pthread;
	struct thread_entry **threads;
	size_t n, cap;
	size_t done;             /* threads[0..done) are joined, or detached
				  * and exited: for good */
	UT_hash_handle hh;
};

/* ---- the merge ---------------------------------------------------------- */

enum ev_class { EV_RELEASE = 0, EV_OTHER = 1 };

struct stream {
	struct lt_dump_cursor cur;
	struct thread_entry *thread;
	uint32_t serial;                 /* thread's, read by the merge */
	const struct lt_rec_head *rec;   /* record of the head event */
	uint64_t ticks;                  /* of the head event */
	uint64_t last_ticks;
	uint8_t klass;                   /* enum ev_class */
	uint8_t phase;                   /* realloc: 0 release, 1 acquire */
	uint64_t start;                  /* its first event's time, at most */
};

/*
 * What the merge hands the replay: an event, or a record that needs no
 * order, met on the way to one.  An allocation, free or realloc half comes
 * with all that its replay and the record hook need, and without its
 * record: a coded record lives in its stream's cursor only until the next
 * is decoded, and the replay runs batches behind.
 */
enum step_kind { STEP_EVENT, STEP_UNTIMED };

struct step {
	union {
		const struct lt_rec_head *rec;   /* not an allocation event */
		uint64_t sp;                     /* an allocation event's */
	};
	struct thread_entry *thread;
	uint64_t ticks;       /* EVENT: the event's; UNTIMED: the stream's last */
	uint64_t ptr;         /* the block acquired or released */
	uint64_t size;        /* acquired */
	uint32_t stack;
	uint8_t type;         /* the record's type */
	uint8_t fn;           /* its head.flags */
	uint8_t kind;         /* enum step_kind */
	uint8_t phase;        /* of a realloc: 0 the release, 1 the acquisition */
};

/* The shim numbers stacks from 1 up, so an array holds the sites of ids
 * below this, and a miss there is a new site; ids past it (only a damaged
 * or hostile dump has them) use the hash.  (When the hash held them all,
 * its chain walks for each new site's miss, over 98,000 sites of cc1plus
 * on one C++ file, were a tenth of that report's time.) */
#define SITE_BY_ID_MAX (1u << 20)

struct lt_model_priv {
	struct packed_table live;        /* unless compact */
	struct compact_table clive;      /* if compact */
	bool compact;
	struct live_kind *kinds;         /* by id, nkinds handed out */
	size_t nkinds, kinds_cap;
	uint32_t free_kind;              /* first free id, or KIND_END */
	size_t dormant;                  /* known kinds with no block */
	struct kind_index kind_index;
	struct aside_block *aside;       /* uthash by ptr: blocks not in live */
	uint32_t nthreads;               /* thread_entry.index of the next */
	struct site_entry *sites;        /* uthash by stack id, the others */
	struct site_entry **site_vec;
	size_t nsite_vec, site_cap;
	struct site_entry **site_by_id;  /* ids below SITE_BY_ID_MAX */
	size_t site_by_id_cap;
	struct thread_entry *threads;    /* uthash by serial */
	struct pthread_entry *pthreads;  /* uthash by pthread_t */
	struct stream *streams;          /* the merge's until it is done */
	struct pipe *pipe;               /* from the merge to the replay */
	size_t module_cap, unload_cap;
	uint64_t live_bytes;
	double live_est, peak_est;
	uint64_t alive_threads;
	struct lt_model_hooks hooks;
	uint64_t now;                    /* ticks of the event being replayed */
	bool oom;
};

static void warn(struct lt_model *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct lt_model *m, const char *fmt, ...)
{
	char *s = NULL, **v;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	v = s ? realloc(m->warnings, (m->nwarnings + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(s);
		m->priv->oom = true;
		return;
	}
	m->warnings = v;
	m->warnings[m->nwarnings++] = s;
}

/*
 * 1 - exp(-x) for x >= 0, accurate to a few ulp, without libm (the
 * analyzer links none).  Small x by its series, so that tiny blocks in a
 * coarse sampling keep their huge weights exact; larger x by halving the
 * argument until the series converges fast, then squaring back up.
 */
static double one_minus_exp_neg(double x)
{
	double term = 1.0, sum = 1.0, e;
	int halvings = 0;

	if (x > 50)
		return 1.0;
	if (x < 1e-4)
		return x * (1 - x / 2 * (1 - x / 3 * (1 - x / 4)));
	while (x > 0.125) {
		x /= 2;
		halvings++;
	}
	for (int k = 1; k < 16; k++) {
		term *= -x / k;
		sum += term;
	}
	e = sum;                        /* exp(-x) of the reduced x */
	while (halvings-- > 0)
		e *= e;
	return 1.0 - e;
}

double lt_model_weight(const struct lt_model *m, uint64_t size)
{
	double r = (double)m->sample_interval;

	if (!m->sampled || r <= 0 || (m->sample_large && size >= m->sample_interval))
		return 1.0;
	if (size == 0)
		size = 1;
	return 1.0 / one_minus_exp_neg((double)size / r);
}

double lt_model_seconds(const struct lt_model *m, uint64_t ticks)
{
	if (m->ns_per_tick <= 0)
		return -1.0;
	if (ticks < m->start_ticks)
		return 0.0;
	return (double)(ticks - m->start_ticks) * m->ns_per_tick * 1e-9;
}

static struct site_entry *get_site(struct lt_model *m, uint32_t stack_id,
				   uint64_t ticks)
{
	struct lt_model_priv *p = m->priv;
	struct site_entry *s;

	if (stack_id < SITE_BY_ID_MAX) {
		if (stack_id < p->site_by_id_cap && p->site_by_id[stack_id])
			return p->site_by_id[stack_id];
		if (stack_id >= p->site_by_id_cap) {
			size_t ncap = p->site_by_id_cap ? p->site_by_id_cap : 1024;
			void *v;

			while (ncap <= stack_id)
				ncap *= 2;
			v = realloc(p->site_by_id, ncap * sizeof(*p->site_by_id));
			if (!v)
				goto oom;
			memset((struct site_entry **)v + p->site_by_id_cap, 0,
			       (ncap - p->site_by_id_cap) * sizeof(*p->site_by_id));
			p->site_by_id = v;
			p->site_by_id_cap = ncap;
		}
	} else {
		HASH_FIND(hh, p->sites, &stack_id, sizeof(stack_id), s);
		if (s)
			return s;
	}
	if (p->nsite_vec == p->site_cap) {
		size_t ncap = p->site_cap ? p->site_cap * 2 : 256;
		void *v = realloc(p->site_vec, ncap * sizeof(*p->site_vec));
		if (!v)
			goto oom;
		p->site_vec = v;
		p->site_cap = ncap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	s->site.stack_id = stack_id;
	s->site.first_ticks = ticks;
	s->site.min_size = UINT64_MAX;
	s->index = (uint32_t)p->nsite_vec;
	s->kind = KIND_NONE;
	if (stack_id < SITE_BY_ID_MAX) {
		p->site_by_id[stack_id] = s;
	} else if (LT_HASH_ADD(p->sites, site.stack_id, sizeof(stack_id), s) < 0) {
		free(s);
		goto oom;
	}
	p->site_vec[p->nsite_vec++] = s;
	return s;
oom:
	p->oom = true;
	return NULL;
}

static struct thread_entry *get_thread(struct lt_model *m, uint32_t serial)
{
	struct lt_model_priv *p = m->priv;
	struct thread_entry *t;

	HASH_FIND(hh, p->threads, &serial, sizeof(serial), t);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t) {
		p->oom = true;
		return NULL;
	}
	t->t.serial = serial;
	t->t.is_main = serial == m->dump->hdr->main_thread;
	t->index = p->nthreads++;
	if (LT_HASH_ADD(p->threads, t.serial, sizeof(serial), t) < 0) {
		free(t);
		p->oom = true;
		return NULL;
	}
	return t;
}

/* ---- pthread_t resolution ---------------------------------------------- */

/*
 * A thread carries its pthread_t from its CREATE (the creator holds the
 * value from then on) or, without one, from its START.  Birth ticks come
 * from a pre-pass, because a JOIN can sort before the START of the thread
 * it joins when the creator joins at once and the thread starts late.
 */
static void note_birth(struct thread_entry *t, uint64_t ticks, bool from_create)
{
	if (!t->has_birth || from_create) {
		t->birth = ticks;
		t->has_birth = true;
	}
}

static int cmp_birth(const void *a, const void *b)
{
	const struct thread_entry *x = *(struct thread_entry *const *)a;
	const struct thread_entry *y = *(struct thread_entry *const *)b;

	if (x->birth != y->birth)
		return x->birth < y->birth ? -1 : 1;
	return x->t.serial < y->t.serial ? -1 : x->t.serial > y->t.serial;
}

static int prepass_threads(struct lt_model *m)
{
	const struct lt_dump *d = m->dump;
	struct lt_model_priv *p = m->priv;

	/* lt_dump_open found the CREATE and START records, in file order. */
	for (size_t i = 0; i < d->nthread_recs; i++) {
		const struct lt_dump_thread_rec *r = &d->thread_recs[i];
		struct thread_entry *self = get_thread(m, r->thread);

		if (!self)
			return -1;
		if (r->type == LT_REC_THREAD_CREATE) {
			struct thread_entry *t;
			if (r->value > UINT32_MAX)
				continue;
			t = get_thread(m, (uint32_t)r->value);
			if (!t)
				return -1;
			note_birth(t, r->ticks, true);
		} else {
			self->t.pthread = r->value;
			note_birth(self, r->ticks, false);
		}
	}

	/* Index every thread that announced a pthread_t by that value. */
	for (struct thread_entry *t = p->threads; t; t = t->hh.next) {
		struct pthread_entry *pe;
		void *v;

		if (!t->t.pthread)
			continue;
		/* The main thread had its pthread_t before tracing began. */
		if (t->t.is_main) {
			t->birth = 0;
			t->has_birth = true;
		}
		if (!t->has_birth)
			continue;
		HASH_FIND(hh, p->pthreads, &t->t.pthread, sizeof(uint64_t), pe);
		if (!pe) {
			pe = calloc(1, sizeof(*pe));
			if (!pe)
				return -1;
			pe->pthread = t->t.pthread;
			if (LT_HASH_ADD(p->pthreads, pthread, sizeof(uint64_t),
					pe) < 0) {
				free(pe);
				return -1;
			}
		}
		if (pe->n == pe->cap) {
			size_t ncap = pe->cap ? 2 * pe->cap : 4;
			v = realloc(pe->threads, ncap * sizeof(*pe->threads));
			if (!v)
				return -1;
			pe->threads = v;
			pe->cap = ncap;
		}
		pe->threads[pe->n++] = t;
	}
	for (struct pthread_entry *pe = p->pthreads; pe; pe = pe->hh.next)
		qsort(pe->threads, pe->n, sizeof(*pe->threads), cmp_birth);
	return 0;
}

/*
 * The thread that carried pthread value at ticks.  Its holders took it in
 * turn, each reclaimed (joined, or detached and exited) before the next
 * could get it, so the target is the earliest-born holder not yet
 * reclaimed.  "Latest born before ticks" is not enough: a creator reads
 * its clock before pthread_create, so a thread about to receive the value
 * can look born while the previous holder is still being joined.
 * for_join: JOIN and DETACH, which a detached thread cannot take.  NULL
 * when no holder was born by ticks.
 */
static struct thread_entry *resolve_pthread(struct lt_model *m,
					    uint64_t pthread, uint64_t ticks,
					    bool for_join)
{
	struct pthread_entry *pe;
	size_t lo = 0, born;

	HASH_FIND(hh, m->priv->pthreads, &pthread, sizeof(pthread), pe);
	if (!pe)
		return NULL;
	/* threads[0..born) were born by ticks. */
	for (born = pe->n; lo < born;) {
		size_t mid = lo + (born - lo) / 2;

		if (pe->threads[mid]->birth <= ticks)
			lo = mid + 1;
		else
			born = mid;
	}
	if (!born)
		return NULL;
	/* Reclaimed for good stays so: a program that starts and joins
	 * thousands of threads reuses a few pthread_t values, and each
	 * question would otherwise walk every earlier holder. */
	while (pe->done < pe->n && (pe->threads[pe->done]->t.joined ||
				    (pe->threads[pe->done]->t.detached &&
				     pe->threads[pe->done]->t.exited)))
		pe->done++;
	for (size_t i = pe->done; i < born; i++) {
		struct thread_entry *t = pe->threads[i];

		if (!t->t.joined && !(t->t.detached && (for_join || t->t.exited)))
			return t;
	}
	/* All reclaimed: a second join of one thread, or lost records. */
	return pe->threads[born - 1];
}

/* ---- replay -------------------------------------------------------------- */

/* Sizes, sites and threads are all small numbers: mixed apart from each
 * other, then folded so that the low bits depend on every input bit. */
static size_t kind_hash(const struct block_info *in)
{
	uint64_t h = in->size * 0x9e3779b97f4a7c15ull ^
		     ((uint64_t)in->site << 32 | in->thread) * 0xc2b2ae3d27d4eb4full;

	h ^= h >> 32;
	h *= 0x94d049bb133111ebull;
	return (size_t)(h ^ h >> 29);
}

static void kind_index_put(struct kind_index *x, const struct live_kind *kinds,
			   uint32_t id)
{
	size_t i;

	for (i = kind_hash(&kinds[id].info) & x->mask; x->slots[i];
	     i = (i + 1) & x->mask)
		;
	x->slots[i] = id + 1;
	x->count++;
}

/*
 * Indexes the known kinds again in cap slots (a power of two); with sweep,
 * only those with blocks, the others going to the free list.  -1 when out
 * of memory, the index unchanged.
 */
static int kind_reindex(struct lt_model_priv *p, size_t cap, bool sweep)
{
	struct kind_index x = { calloc(cap, sizeof(*x.slots)), cap - 1, 0 };

	if (!x.slots)
		return -1;
	for (size_t id = 0; id < p->nkinds; id++) {
		struct live_kind *k = &p->kinds[id];

		if (k->next != KIND_KNOWN)
			continue;
		if (sweep && k->blocks == 0) {
			k->next = p->free_kind;
			p->free_kind = (uint32_t)id;
			continue;
		}
		kind_index_put(&x, p->kinds, (uint32_t)id);
	}
	if (sweep)
		p->dormant = 0;
	free(p->kind_index.slots);
	p->kind_index = x;
	return 0;
}

/* An id for a new kind: KIND_NONE when all are taken, KIND_OOM. */
static uint32_t kind_new(struct lt_model_priv *p)
{
	struct kind_index *x = &p->kind_index;
	uint32_t id;

	if (p->dormant >= KIND_SWEEP_MIN && p->dormant * 2 > x->count &&
	    kind_reindex(p, x->mask + 1, true) < 0)
		return KIND_OOM;
	if (p->free_kind == KIND_END && p->nkinds == LIVE_KINDS) {
		if (p->dormant == 0)
			return KIND_NONE;
		if (kind_reindex(p, x->mask + 1, true) < 0)
			return KIND_OOM;
	}
	if (p->free_kind != KIND_END) {
		id = p->free_kind;
		p->free_kind = p->kinds[id].next;
		return id;
	}
	if (p->nkinds == p->kinds_cap) {
		size_t cap = p->kinds_cap ? p->kinds_cap * 2 : 256;
		struct live_kind *k = realloc(p->kinds, cap * sizeof(*k));

		if (!k)
			return KIND_OOM;
		p->kinds = k;
		p->kinds_cap = cap;
	}
	return (uint32_t)p->nkinds++;
}

/* The kind of a new block: counted, made known if it was not; or
 * KIND_NONE, KIND_OOM.  *hint is a kind to try first (its site's last),
 * and becomes the one returned. */
static uint32_t kind_get(struct lt_model_priv *p, const struct block_info *in,
			 uint32_t *hint)
{
	struct kind_index *x = &p->kind_index;
	struct live_kind *k;
	uint32_t id;

	if (*hint < p->nkinds) {
		k = &p->kinds[*hint];
		if (k->next == KIND_KNOWN && k->info.size == in->size &&
		    k->info.site == in->site && k->info.thread == in->thread) {
			if (k->blocks++ == 0)
				p->dormant--;
			return *hint;
		}
	}
	if (x->slots) {
		for (size_t i = kind_hash(in) & x->mask; x->slots[i];
		     i = (i + 1) & x->mask) {
			k = &p->kinds[x->slots[i] - 1];
			if (k->info.size == in->size && k->info.site == in->site &&
			    k->info.thread == in->thread) {
				if (k->blocks++ == 0)
					p->dormant--;
				return *hint = x->slots[i] - 1;
			}
		}
	}
	if ((x->count + 1) * 2 > x->mask + 1 &&
	    kind_reindex(p, x->slots ? (x->mask + 1) * 2 : 256, false) < 0)
		return KIND_OOM;
	id = kind_new(p);
	if (id == KIND_NONE || id == KIND_OOM)
		return id;
	k = &p->kinds[id];
	k->info = *in;
	k->blocks = 1;
	k->next = KIND_KNOWN;
	kind_index_put(x, p->kinds, id);
	return *hint = id;
}

/* Finds the block live at ptr (not 0); false when there is none. */
static inline __attribute__((always_inline)) bool
block_find(struct lt_model_priv *p, uint64_t ptr, struct block_ref *r)
{
	*r = (struct block_ref){ 0 };
	if (p->compact) {
		if (p->clive.slots) {
			r->compact = compact_table_probe(&p->clive, ptr);
			if (r->compact->word)
				return true;
			r->compact_gap = r->compact;
			r->compact = NULL;
		}
	} else if (p->live.slots) {
		r->packed = packed_table_probe(&p->live, ptr);
		if (r->packed->ptr)
			return true;
		r->packed_gap = r->packed;
		r->packed = NULL;
	}
	if (p->aside)
		HASH_FIND(hh, p->aside, &ptr, sizeof(ptr), r->aside);
	return r->aside != NULL;
}

static inline struct block_info unpack(uint64_t packed)
{
	return (struct block_info){
		.size = packed & ((1ull << LIVE_SIZE_BITS) - 1),
		.site = (uint32_t)(packed >> LIVE_SIZE_BITS) &
			((1u << LIVE_SITE_BITS) - 1),
		.thread = (uint32_t)(packed >> (LIVE_SIZE_BITS + LIVE_SITE_BITS)) &
			  ((1u << LIVE_THREAD_BITS) - 1),
	};
}

static inline __attribute__((always_inline)) struct block_info
block_info(const struct lt_model_priv *p, const struct block_ref *r)
{
	if (r->packed)
		return unpack(r->packed->packed);
	if (r->compact)
		return p->kinds[r->compact->word >> LIVE_KIND_SHIFT].info;
	return r->aside->info;
}

/* Into the table if its fields fit: 1, or 0 when they do not, -1 when out
 * of memory.  hint: as for kind_get; at: block_find's answer for ptr. */
static inline int block_add_slot(struct lt_model_priv *p, uint64_t ptr,
				 const struct block_info *in, uint32_t *hint,
				 const struct block_ref *at)
{
	if (!p->compact) {
		if (in->size >= (1ull << LIVE_SIZE_BITS) ||
		    in->site >= (1u << LIVE_SITE_BITS) ||
		    in->thread >= (1u << LIVE_THREAD_BITS))
			return 0;
		struct packed_block b = {
			ptr, in->size | (uint64_t)in->site << LIVE_SIZE_BITS |
			     (uint64_t)in->thread << (LIVE_SIZE_BITS + LIVE_SITE_BITS)
		};
		if (at->packed_gap)
			return packed_table_put(&p->live, at->packed_gap, &b) == 0 ? 1 : -1;
		return packed_table_insert(&p->live, &b) == 0 ? 1 : -1;
	}
	if ((ptr & 7) != 0 || (ptr >> 3) > LIVE_ADDR_MASK)
		return 0;

	uint32_t id = kind_get(p, in, hint);
	struct compact_block b;

	if (id == KIND_OOM)
		return -1;
	if (id == KIND_NONE)
		return 0;
	b.word = ptr >> 3 | (uint64_t)id << LIVE_KIND_SHIFT;
	if (at->compact_gap ? compact_table_put(&p->clive, at->compact_gap, &b) == 0 :
			      compact_table_insert(&p->clive, &b) == 0)
		return 1;
	if (--p->kinds[id].blocks == 0)
		p->dormant++;
	return -1;
}

/* Makes ptr, which is not live, a live block; -1 when out of memory.
 * hint and at: as for block_add_slot. */
static int block_add(struct lt_model_priv *p, uint64_t ptr,
		     const struct block_info *in, uint32_t *hint,
		     const struct block_ref *at)
{
	struct aside_block *e;
	int rc = block_add_slot(p, ptr, in, hint, at);

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	e = malloc(sizeof(*e));
	if (!e)
		return -1;
	e->ptr = ptr;
	e->info = *in;
	if (LT_HASH_ADD(p->aside, ptr, sizeof(e->ptr), e) < 0) {
		free(e);
		return -1;
	}
	return 0;
}

/* Takes the block out of the table or the aside hash. */
static void block_remove(struct lt_model_priv *p, const struct block_ref *r)
{
	if (r->packed) {
		packed_table_remove(&p->live, r->packed);
	} else if (r->compact) {
		struct live_kind *k = &p->kinds[r->compact->word >> LIVE_KIND_SHIFT];

		if (--k->blocks == 0)
			p->dormant++;
		compact_table_remove(&p->clive, r->compact);
	} else {
		HASH_DEL(p->aside, r->aside);
		free(r->aside);
	}
}

static void thread_alive(struct lt_model *m, struct thread_entry *t)
{
	struct lt_model_priv *p = m->priv;

	if (t->alive || t->t.exited)
		return;
	t->alive = true;
	p->alive_threads++;
	if (p->alive_threads > m->decoded.peak_threads)
		m->decoded.peak_threads = p->alive_threads;
}

/* Returns the site credited, NULL when out of memory. */
static const struct lt_site *acquire(struct lt_model *m, struct thread_entry *t,
				     uint32_t stack, uint64_t ticks,
				     uint64_t ptr, uint64_t size,
				     bool realloc_fn)
{
	struct lt_model_priv *p = m->priv;
	struct site_entry *s;
	struct block_ref old;
	/* An exact dump's estimates are its counts: finish() copies them,
	 * and the replay does no floating point for it. */
	bool est = m->sampled;
	double w = est ? lt_model_weight(m, size) : 1.0;

	m->decoded.allocations++;
	m->decoded.bytes_allocated += size;
	if (realloc_fn)
		m->decoded.reallocs++;
	s = get_site(m, stack, ticks);
	if (!s)
		return NULL;
	/* A site made by its STACK record has no time yet: the first
	 * allocation's picks the module map its frames resolve against. */
	if (s->site.calls == 0)
		s->site.first_ticks = ticks;
	s->site.calls++;
	s->site.bytes += size;
	if (est) {
		s->site.est_calls += w;
		s->site.est_bytes += w * (double)size;
	}
	if (size < s->site.min_size)
		s->site.min_size = size;
	if (size > s->site.max_size)
		s->site.max_size = size;
	if (realloc_fn)
		s->site.reallocs++;

	/* Every acquisition counts for the temporary rule, a failed one
	 * too: it stands between the two around it. */
	t->t.allocs++;
	t->recent[1] = t->recent[0];
	t->recent[0] = ptr;
	if (ptr == 0) {
		m->anomalies.null_pointers++;
		return &s->site;
	}
	if (block_find(p, ptr, &old)) {
		/* A free we never saw, or streams out of order: the newer
		 * block is the one that exists now. */
		struct block_info was = block_info(p, &old);
		uint64_t old_size = was.size;
		m->anomalies.ordering++;
		if (p->hooks.heap)
			p->hooks.heap(p->hooks.heap_ctx, ticks,
				      &p->site_vec[was.site]->site, old_size,
				      lt_model_weight(m, old_size), -1);
		p->live_bytes -= old_size;
		if (est)
			p->live_est -= lt_model_weight(m, old_size) * (double)old_size;
		block_remove(p, &old);
	}
	if (block_add(p, ptr, &(struct block_info){ size, s->index, t->index },
		      &s->kind, &old) < 0) {
		p->oom = true;
		return &s->site;
	}
	p->live_bytes += size;
	if (p->hooks.heap)
		p->hooks.heap(p->hooks.heap_ctx, ticks, &s->site, size, w, 1);
	if (p->live_bytes > m->decoded.peak_bytes) {
		m->decoded.peak_bytes = p->live_bytes;
		m->peak_ticks = ticks;
	}
	if (est) {
		p->live_est += w * (double)size;
		if (p->live_est > p->peak_est)
			p->peak_est = p->live_est;
	}
	return &s->site;
}

static void release(struct lt_model *m, struct thread_entry *t, uint64_t ptr)
{
	struct lt_model_priv *p = m->priv;
	struct block_ref b;
	struct block_info in;
	double w;

	if (!block_find(p, ptr, &b)) {
		m->anomalies.frees_untracked++;
		return;
	}
	in = block_info(p, &b);
	w = m->sampled ? lt_model_weight(m, in.size) : 1.0;
	/*
	 * Temporary: freed by the thread that allocated it with at most one
	 * other allocation of that thread in between, so one of its last
	 * two.  The block live at ptr is the latest acquisition of ptr (a
	 * later one would have replaced it), so when its thread's last two
	 * include ptr, one of them is this block.
	 */
	if (in.thread == t->index && (ptr == t->recent[0] || ptr == t->recent[1])) {
		struct site_entry *s = p->site_vec[in.site];
		s->site.temporary++;
		if (m->sampled)
			s->site.est_temporary += w;
		m->decoded.temporary++;
	}
	if (p->hooks.heap)
		p->hooks.heap(p->hooks.heap_ctx, p->now,
			      &p->site_vec[in.site]->site, in.size, w, -1);
	p->live_bytes -= in.size;
	if (m->sampled)
		p->live_est -= w * (double)in.size;
	block_remove(p, &b);
}

static void thread_op(struct lt_model *m, struct thread_entry *self,
		      const struct lt_rec_head *h)
{
	const struct lt_rec_thread_op *r = (const void *)h;
	struct thread_entry *t = resolve_pthread(m, r->target, r->ticks,
						 h->type != LT_REC_THREAD_CANCEL);

	(void)self;
	if (!t) {
		m->anomalies.targets_unknown++;
		return;
	}
	switch (h->type) {
	case LT_REC_THREAD_JOIN:   t->t.joined = true; break;
	case LT_REC_THREAD_DETACH: t->t.detached = true; break;
	case LT_REC_THREAD_CANCEL: t->t.cancelled = true; break;
	}
}

/* An allocation event's step to its record hook. */
static void observe(const struct lt_model_priv *p, const struct step *st,
		    const struct lt_site *site)
{
	struct lt_event ev = {
		.ptr = st->ptr,
		.size = st->size,
		.sp = st->sp,
		.stack = st->stack,
		.type = st->type,
		.phase = st->type == LT_REC_REALLOC ? st->phase : 0,
	};

	p->hooks.record(p->hooks.record_ctx, st->thread->t.serial, &ev, site);
}

/* A timed record other than an allocation event: thread lifecycle,
 * fork, exec, snapshot. */
static void replay_record(struct lt_model *m, struct thread_entry *self,
			  const struct lt_rec_head *h)
{
	switch (h->type) {
	case LT_REC_THREAD_CREATE: {
		const struct lt_rec_thread_create *r = (const void *)h;
		struct thread_entry *t;
		m->decoded.threads_created++;
		if (r->child > UINT32_MAX || !(t = get_thread(m, (uint32_t)r->child)))
			break;
		t->t.created = true;
		t->t.creator = self->t.serial;
		t->t.create_stack = h->aux;
		t->t.create_ticks = r->ticks;
		t->t.start_routine = r->start_routine;
		if (h->flags & LT_CREATE_DETACHED)
			t->t.detached = true;
		thread_alive(m, t);
		break;
	}
	case LT_REC_THREAD_START: {
		const struct lt_rec_thread_start *r = (const void *)h;
		self->t.started = true;
		self->t.start_ticks = r->ticks;
		self->t.tid = h->aux;
		self->t.pthread = r->pthread;
		thread_alive(m, self);
		break;
	}
	case LT_REC_THREAD_EXIT: {
		const struct lt_rec_thread_exit *r = (const void *)h;
		self->t.exited = true;
		self->t.exit_ticks = r->ticks;
		self->t.exit_how = h->flags;
		if (self->alive) {
			self->alive = false;
			m->priv->alive_threads--;
		}
		break;
	}
	case LT_REC_THREAD_JOIN:
	case LT_REC_THREAD_DETACH:
	case LT_REC_THREAD_CANCEL:
		thread_op(m, self, h);
		break;
	case LT_REC_THREAD_NAME: {
		const struct lt_rec_thread_name *r = (const void *)h;
		struct thread_entry *t = r->target ?
			resolve_pthread(m, r->target, r->ticks, false) : self;
		if (!t) {
			m->anomalies.targets_unknown++;
			break;
		}
		memcpy(t->t.name, r->name, sizeof(r->name));
		t->t.name[sizeof(t->t.name) - 1] = '\0';
		break;
	}
	case LT_REC_FORK:     m->forks++; break;
	case LT_REC_EXEC:     m->execs++; break;
	case LT_REC_SNAPSHOT: m->snapshots++; break;
	}
}

static void replay(struct lt_model *m, const struct step *st)
{
	struct lt_model_priv *p = m->priv;
	struct thread_entry *self = st->thread;
	const struct lt_site *site = NULL;

	m->events++;
	p->now = st->ticks;
	switch (st->type) {
	case LT_REC_ALLOC:
		site = acquire(m, self, st->stack, st->ticks, st->ptr, st->size,
			       st->fn == LT_FN_REALLOC ||
			       st->fn == LT_FN_REALLOCARRAY);
		break;
	case LT_REC_FREE:
		m->decoded.frees++;
		release(m, self, st->ptr);
		break;
	case LT_REC_REALLOC:
		if (st->phase == 0)
			release(m, self, st->ptr);
		else
			site = acquire(m, self, st->stack, st->ticks, st->ptr,
				       st->size, true);
		break;
	default:
		replay_record(m, self, st->rec);
		return;
	}
	if (p->hooks.record)
		observe(p, st, site);
}

static void add_module(struct lt_model *m, const struct lt_rec_module *r)
{
	struct lt_model_priv *p = m->priv;
	struct lt_module *mod;
	const char *strings = (const char *)(r + 1);

	if (m->nmodules == p->module_cap) {
		size_t ncap = p->module_cap ? p->module_cap * 2 : 32;
		void *v = realloc(m->modules, ncap * sizeof(*m->modules));
		if (!v) {
			p->oom = true;
			return;
		}
		m->modules = v;
		p->module_cap = ncap;
	}
	mod = &m->modules[m->nmodules];
	*mod = (struct lt_module){
		.bias = r->bias, .lo = r->lo, .hi = r->hi, .ticks = r->ticks,
		.main_exe = r->head.aux == 1,
		.build_id_len = r->build_id_len,
	};
	mod->path = strndup(strings, r->path_len);
	mod->build_id = malloc(r->build_id_len ? r->build_id_len : 1);
	if (!mod->path || !mod->build_id) {
		free(mod->path);
		free(mod->build_id);
		p->oom = true;
		return;
	}
	memcpy(mod->build_id, strings + r->path_len, r->build_id_len);
	m->nmodules++;
}

static void add_unload(struct lt_model *m, const struct lt_rec_module_unload *r)
{
	struct lt_model_priv *p = m->priv;

	if (m->nunloads == p->unload_cap) {
		size_t ncap = p->unload_cap ? p->unload_cap * 2 : 16;
		void *v = realloc(m->unloads, ncap * sizeof(*m->unloads));
		if (!v) {
			p->oom = true;
			return;
		}
		m->unloads = v;
		p->unload_cap = ncap;
	}
	m->unloads[m->nunloads++] = (struct lt_module_unload){
		.bias = r->bias, .ticks = r->ticks,
	};
}

/* Records that need no ordering: stack ids are opaque until the end,
 * modules are kept by time, counters only add. */
static void take_untimed(struct lt_model *m, const struct lt_rec_head *h,
			 uint64_t last_ticks)
{
	switch (h->type) {
	case LT_REC_STACK: {
		const struct lt_rec_stack *r = (const void *)h;
		struct site_entry *site = get_site(m, h->aux, last_ticks);
		m->stack_records++;
		if (!site)
			break;
		if (site->site.frames) {
			m->anomalies.stacks_redefined++;
			break;
		}
		site->site.frames = r->frames;
		site->site.nframes = (h->size - sizeof(*r)) / 8;
		break;
	}
	case LT_REC_MODULE:
		add_module(m, (const void *)h);
		break;
	case LT_REC_MODULE_UNLOAD:
		add_unload(m, (const void *)h);
		break;
	case LT_REC_LOST: {
		const struct lt_rec_lost *r = (const void *)h;
		m->lost.allocs += r->allocs;
		m->lost.frees += r->frees;
		m->lost.bytes += r->bytes;
		break;
	}
	default:
		break;   /* trailers (dump.c found the final one), unknown types */
	}
}

/*
 * The merge and the replay run as a pipeline.  The merge (each stream's
 * cursor, and the heap that orders their heads) fills batches of steps;
 * the replay takes them in the same order on the calling thread, while a
 * second thread merges ahead.  Without that thread (a small dump, one CPU)
 * each batch is replayed as soon as it fills: the same steps in the same
 * order, so every result is the same either way.
 */
#define PIPE_BATCH   4096     /* steps: 192 KiB, about 100 us of replay */
#define PIPE_BATCHES 4

/* Whether the merge streams its steps past the cache (put_step). */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define STREAM_STEPS 1
#else
#define STREAM_STEPS 0
#endif

/*
 * The merge works from here alone, and the replay never writes what the
 * merge reads at every step: on a dump of four threads, a merge that read
 * the model's state beside the replay's counters took half as long again
 * as no second thread at all, its cache lines going back and forth.  What
 * one side writes often is kept 64 bytes from what the other reads (the
 * pads; malloc aligns to 16 only).
 */
#define CACHE_PAD(name) char name[64]

struct pipe {
	/* Written by the merge alone (the replay reads fill[b] once a batch). */
	struct step *steps;       /* PIPE_BATCHES batches, or one in turn */
	size_t batch;             /* steps a batch */
	struct lt_model *m;       /* for the replay, when it is in turn */
	const struct lt_dump *dump;
	struct stream *streams;   /* = priv->streams */
	struct stream **heap;     /* the streams under way, by head */
	size_t nheap;
	/* Streams the merge's time has not reached, by start from
	 * pending[next], not read yet: a program that ran thousands of
	 * threads one after another keeps only the few running at once in
	 * the heap, and only their chunks in memory. */
	struct stream **pending;
	size_t npending, next;
	uint64_t ticks_backwards; /* added to the model's when done */
	size_t n;                 /* steps in the batch being filled */
	size_t made_local;        /* batches handed over */
	size_t fill[PIPE_BATCHES];
	bool threaded;
	bool quit;                /* the replay has stopped: stop merging */
	lt_progress_fn *progress;
	void *progress_ctx;
	CACHE_PAD(pad1);
	/* Written by the merge once a batch. */
	atomic_size_t made;
	atomic_bool done;         /* the merge has handed over its last batch */
	CACHE_PAD(pad2);
	/* Written by the replay once a batch. */
	atomic_size_t taken;
	atomic_bool stopped;      /* the replay ran out of memory */
	CACHE_PAD(pad3);
	atomic_int sleepers;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void consume(struct lt_model *m, const struct step *st, size_t n);

/* Zeroed n * size bytes on lines of their own: nothing the other thread
 * writes lies on the same cache line.  Freed with free(). */
static void *aligned_calloc(size_t n, size_t size)
{
	size_t bytes;
	void *v;

	if (size && n > (SIZE_MAX - 63) / size)
		return NULL;
	bytes = (n * size + 63) & ~(size_t)63;
	v = aligned_alloc(64, bytes ? bytes : 64);
	if (v)
		memset(v, 0, bytes);
	return v;
}

static int pipe_init(struct pipe *q)
{
	if (pthread_mutex_init(&q->lock, NULL) != 0)
		return -1;
	if (pthread_cond_init(&q->cond, NULL) != 0) {
		pthread_mutex_destroy(&q->lock);
		return -1;
	}
	return 0;
}

static void pipe_destroy(struct pipe *q)
{
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spins a moment, then sleeps until the other side has moved: a batch is
 * about 100 us of work on either side, and a side that spins longer takes
 * CPU time from the other when they share one.  (On the CPython dump,
 * 4,096 spins cost 0.14-0.16 s of CPU and 32 spins 0.12-0.13, in the same
 * 0.10 s.)  Every access to made, taken,
 * done, stopped and sleepers is sequentially consistent: a side that
 * moves and then finds no sleeper was seen by the sleeper's own check. */
static void pipe_wait(struct pipe *q, bool (*ready)(struct pipe *))
{
	for (unsigned i = 0; i < 32; i++) {
		if (ready(q))
			return;
		cpu_relax();
	}
	pthread_mutex_lock(&q->lock);
	atomic_fetch_add(&q->sleepers, 1);
	while (!ready(q))
		pthread_cond_wait(&q->cond, &q->lock);
	atomic_fetch_sub(&q->sleepers, 1);
	pthread_mutex_unlock(&q->lock);
}

static void pipe_wake(struct pipe *q)
{
	if (atomic_load(&q->sleepers) == 0)
		return;
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static bool has_room(struct pipe *q)
{
	return atomic_load(&q->made) - atomic_load(&q->taken) < PIPE_BATCHES ||
	       atomic_load(&q->stopped);
}

static bool has_batch(struct pipe *q)
{
	return atomic_load(&q->taken) != atomic_load(&q->made) ||
	       atomic_load(&q->done);
}

/* The batch being filled goes to the replay. */
static void pipe_flush(struct pipe *q, bool last)
{
	size_t b = q->made_local % PIPE_BATCHES;

	if (!q->threaded) {
		consume(q->m, q->steps, q->n);
		q->n = 0;
		q->quit = q->m->priv->oom;
		return;
	}
	if (q->n) {
		q->fill[b] = q->n;
		q->n = 0;
#if STREAM_STEPS
		__builtin_ia32_sfence();   /* the streamed steps, before made */
#endif
		atomic_store(&q->made, ++q->made_local);
	}
	if (last)
		atomic_store(&q->done, true);
	pipe_wake(q);
	if (!last) {
		pipe_wait(q, has_room);
		q->quit = atomic_load(&q->stopped);
	}
}

/*
 * A step for the replay's CPU, stored past the caches (x86's movnti, write
 * combined where the steps fill a line), so that the replay reads it from
 * memory.  With plain stores the merge waited to take back each line the
 * replay had read from that place in the ring, the same line going
 * between the two CPUs' caches twice: 92% of the samples in produce() fell
 * on one store (perf, the 4-million-block heap's report).  Streamed,
 * reports took a fifth to a third less time: the bench's CPython job 0.28
 * -> 0.22 s, sqlite3 0.20 -> 0.13 s, cppcheck 0.70 -> 0.47 s (9
 * interleaved runs).  The batch is published after an sfence
 * (pipe_flush).  Replayed in turn, steps stay in the cache; and sanitized
 * builds store them plainly, since ASan and TSan (under gcc) do not see
 * movnti's stores, and the ring's protocol is what TSan checks here.
 */
static inline void put_step(struct step *dst, const struct step *src)
{
#if STREAM_STEPS
	long long w[sizeof(*src) / sizeof(long long)];
	long long *to = (long long *)(void *)dst;

	memcpy(w, src, sizeof(w));
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		__builtin_ia32_movnti64(to + i, w[i]);
#else
	*dst = *src;
#endif
}

static inline void emit(struct pipe *q, enum step_kind kind,
			struct thread_entry *t, const struct lt_rec_head *h,
			uint64_t ticks, uint8_t phase)
{
	size_t at = q->made_local % PIPE_BATCHES * q->batch + q->n++;
	struct step st = {
		.thread = t,
		.ticks = ticks,
		.stack = h->aux,
		.type = h->type,
		.fn = h->flags,
		.kind = (uint8_t)kind,
		.phase = phase,
	};

	switch (kind == STEP_EVENT ? h->type : 0) {
	case LT_REC_ALLOC: {
		const struct lt_rec_alloc *r = (const void *)h;
		st.ptr = r->ptr;
		st.size = r->size;
		st.sp = r->sp;
		break;
	}
	case LT_REC_FREE: {
		const struct lt_rec_free *r = (const void *)h;
		st.ptr = r->ptr;
		st.sp = r->sp;
		break;
	}
	case LT_REC_REALLOC: {
		const struct lt_rec_realloc *r = (const void *)h;
		st.ptr = phase ? r->new_ptr : r->old_ptr;
		st.size = r->size;
		st.sp = r->sp;
		break;
	}
	default:
		st.rec = h;
		break;
	}
	if (q->threaded)
		put_step(&q->steps[at], &st);
	else
		q->steps[at] = st;
	if (q->n == q->batch)
		pipe_flush(q, false);
}

/* The calling thread's side: replays batches until the merge is done. */
static void pipe_consume(struct pipe *q)
{
	struct lt_model *m = q->m;
	size_t taken = 0;

	for (;;) {
		size_t b = taken % PIPE_BATCHES;

		pipe_wait(q, has_batch);
		if (taken == atomic_load(&q->made))
			break;   /* done, and every batch replayed */
		consume(m, &q->steps[b * q->batch], q->fill[b]);
		atomic_store(&q->taken, ++taken);
		if (m->priv->oom)
			atomic_store(&q->stopped, true);
		pipe_wake(q);
		if (m->priv->oom)
			break;
	}
}

/* Move s to its next event; false at the end of its stream.  The records
 * it passes that need no order go to the replay as they are met. */
static bool stream_advance(struct pipe *q, struct stream *s)
{
	const struct lt_rec_head *h;
	uint64_t ticks;

	if (s->rec && s->rec->type == LT_REC_REALLOC && s->phase == 0) {
		s->phase = 1;
		s->ticks = ((const struct lt_rec_realloc *)s->rec)->ticks;
		s->klass = EV_OTHER;
		goto check_order;
	}
	for (;;) {
		h = lt_dump_cursor_next(&s->cur, NULL);
		if (!h) {
			s->rec = NULL;
			return false;
		}
		if (lt_dump_rec_ticks(h, &ticks))
			break;
		emit(q, STEP_UNTIMED, s->thread, h, s->last_ticks, 0);
	}
	s->rec = h;
	s->phase = 0;
	s->ticks = ticks;
	s->klass = (h->type == LT_REC_FREE || h->type == LT_REC_REALLOC ||
		    h->type == LT_REC_THREAD_EXIT) ? EV_RELEASE : EV_OTHER;
check_order:
	/* CREATE, JOIN, DETACH and CANCEL read the clock before their call
	 * and are written after it, behind what the call itself did. */
	if (s->rec->type >= LT_REC_THREAD_CREATE &&
	    s->rec->type <= LT_REC_THREAD_CANCEL &&
	    s->rec->type != LT_REC_THREAD_START &&
	    s->rec->type != LT_REC_THREAD_EXIT)
		return true;
	if (s->ticks < s->last_ticks)
		q->ticks_backwards++;
	else
		s->last_ticks = s->ticks;
	return true;
}

/* Merge order: ticks, then releases first, then thread serial. */
static bool before(const struct stream *a, const struct stream *b)
{
	if (a->ticks != b->ticks)
		return a->ticks < b->ticks;
	if (a->klass != b->klass)
		return a->klass < b->klass;
	return a->serial < b->serial;
}

static void heap_down(struct stream **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		struct stream *tmp;
		if (l < n && before(h[l], h[min]))
			min = l;
		if (r < n && before(h[r], h[min]))
			min = r;
		if (min == i)
			return;
		tmp = h[i];
		h[i] = h[min];
		h[min] = tmp;
		i = min;
	}
}

/* Put s in the heap's free place n, then up to its own. */
static void heap_push(struct stream **h, size_t n, struct stream *s)
{
	while (n > 0 && before(s, h[(n - 1) / 2])) {
		h[n] = h[(n - 1) / 2];
		n = (n - 1) / 2;
	}
	h[n] = s;
}

static int cmp_start(const void *a, const void *b)
{
	const struct stream *x = *(struct stream *const *)a;
	const struct stream *y = *(struct stream *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static uint64_t bytes_done(const struct pipe *q)
{
	uint64_t done = 0;

	for (size_t i = 0; i < q->dump->nstreams; i++)
		done += q->streams[i].cur.bytes_done;
	return done;
}

/*
 * Every stream has read past the lowest offset any of them is at: drop the
 * pages below it from the resident set, so that replaying a large dump
 * costs memory for its live state, not for the bytes already replayed.
 * (The replay, a few batches behind, may fault a page back in; it reads
 * the same bytes from the file.)  Returns the new low-water mark.
 */
static uint64_t release_consumed(const struct pipe *q, uint64_t released)
{
	uint64_t low = q->dump->len;

	for (size_t i = 0; i < q->nheap; i++) {
		const struct lt_dump_cursor *c = &q->heap[i]->cur;
		uint64_t at = c->rd.end ? c->rd.off : q->dump->len;
		if (at < low)
			low = at;
	}
	/* A stream not read yet starts at its first chunk. */
	for (size_t i = q->next; i < q->npending; i++) {
		const struct lt_dump_stream *ds = q->pending[i]->cur.stream;
		uint64_t at = ds->nchunks ? q->dump->chunks[ds->chunks[0]].offset :
			      q->dump->len;
		if (at < low)
			low = at;
	}
	if (low > released)
		lt_dump_release(q->dump, released, low);
	return low > released ? low : released;
}

/* The merge: every stream's records in order, as steps for the replay. */
static void produce(struct pipe *q)
{
	const struct lt_dump *d = q->dump;
	uint64_t total = d->data_end - d->hdr->header_size;
	uint64_t released = 0, events = 0;

	for (size_t i = 0; i < d->nstreams; i++) {
		struct stream *s = &q->streams[i];
		s->start = lt_dump_stream_first_ticks(d, &d->streams[i]);
		q->pending[q->npending++] = s;
	}
	qsort(q->pending, q->npending, sizeof(*q->pending), cmp_start);

	for (;;) {
		/* A stream starts no earlier than its start: it joins before
		 * the merge passes that time, and the heap orders it. */
		while (q->next < q->npending && !q->quit &&
		       (q->nheap == 0 || q->pending[q->next]->start <= q->heap[0]->ticks)) {
			struct stream *s = q->pending[q->next++];
			if (stream_advance(q, s))
				heap_push(q->heap, q->nheap++, s);
		}
		if (q->nheap == 0 || q->quit)
			break;
		struct stream *s = q->heap[0];
		emit(q, STEP_EVENT, s->thread, s->rec, s->ticks, s->phase);
		if (!stream_advance(q, s))
			q->heap[0] = q->heap[--q->nheap];
		heap_down(q->heap, q->nheap, 0);
		if ((++events & 0xffff) == 0) {
			if (q->progress)
				q->progress(q->progress_ctx, bytes_done(q), total);
			released = release_consumed(q, released);
		}
	}
	pipe_flush(q, true);
}

static void *producer_main(void *arg)
{
	produce(arg);
	return NULL;
}

/*
 * The replay is bound by memory latency: each allocation and free probes
 * the live table at a random slot, in a table far larger than the caches.
 * It asks for the slot of the event this many steps ahead, so that the
 * misses overlap.  On the bench's CPython dump (then 24 MiB of table;
 * 17 MiB since the table is sized by lt_dump.live_bound) 8 or 16 ahead
 * took 0.21-0.22 s, 32 and 48 0.23-0.24 s: an event takes about 70 ns, so
 * a few events cover a miss, and asking much earlier only lets the line go
 * before it is used.  It asks for the lines holding the next 24 or 16
 * slots, packed or compact: a free's removal shifts the rest of the probe
 * run back, and an insert walks to its end.  Packed, with the home slot's
 * line alone the replay waited on the next ones; with two lines the Perl
 * dump's report took 0.122 -> 0.109 s, with three 0.105 s, with four no
 * better (15 interleaved runs, medians).  Compact, a third line made the
 * 4-million-block dump's report slower (the misses it asked for queued
 * behind each other), and one line alone took 234 ms instead of 221 (11
 * interleaved runs).
 */
#define PREFETCH_AHEAD 16
#define PREFETCH_MIN_BYTES (768u << 10)  /* of table: most of L2 */

static inline void prefetch_ptr(const struct lt_model_priv *p, uint64_t ptr)
{
	const char *home = p->compact ?
		(const char *)&p->clive.slots[compact_table_hash(&p->clive, ptr)] :
		(const char *)&p->live.slots[packed_table_hash(&p->live, ptr)];

	/* Past the end of the table only near its last slot; a prefetch
	 * never faults. */
	for (int line = 0; line < (p->compact ? 2 : 3); line++)
		__builtin_prefetch(home + 64 * line, 1);
	if (p->hooks.prefetch)
		p->hooks.prefetch(p->hooks.record_ctx, ptr);
}

static void prefetch_step(const struct lt_model_priv *p, const struct step *st)
{
	if (st->kind == STEP_EVENT && (st->type == LT_REC_ALLOC ||
				       st->type == LT_REC_FREE ||
				       st->type == LT_REC_REALLOC))
		prefetch_ptr(p, st->ptr);
}

/*
 * An acquisition also updates its site's counts, and a program of deep
 * and varied stacks has 100,000 sites and more, 19 MB of them for
 * cc1plus on one C++ file: asked for in two steps, the site's place in
 * site_by_id with the slot, the site itself half as far ahead, once that
 * place has come in.
 */
static inline bool acquires(const struct step *st)
{
	return st->kind == STEP_EVENT &&
	       (st->type == LT_REC_ALLOC || st->type == LT_REC_REALLOC);
}

static void prefetch_site_id(const struct lt_model_priv *p, const struct step *st)
{
	if (acquires(st) && st->stack < p->site_by_id_cap)
		__builtin_prefetch(&p->site_by_id[st->stack]);
}

static void prefetch_site(const struct lt_model_priv *p, const struct step *st)
{
	const struct site_entry *s;

	if (acquires(st) && st->stack < p->site_by_id_cap &&
	    (s = p->site_by_id[st->stack])) {
		__builtin_prefetch(&s->site.calls, 1);
		__builtin_prefetch(&s->site.est_calls, 1);
	}
}

/* The replay of one batch, in the merge's order. */
static void consume(struct lt_model *m, const struct step *st, size_t n)
{
	struct lt_model_priv *p = m->priv;
	/* A table that fits in the caches needs no help. */
	bool ahead = p->compact ?
		p->clive.cap * sizeof(*p->clive.slots) >= PREFETCH_MIN_BYTES :
		p->live.cap * sizeof(*p->live.slots) >= PREFETCH_MIN_BYTES;
	bool sites_ahead =
		p->nsite_vec * sizeof(struct site_entry) >= PREFETCH_MIN_BYTES;

	for (size_t i = 0; i < n && !p->oom; i++) {
		if (i + PREFETCH_AHEAD < n) {
			if (ahead)
				prefetch_step(p, &st[i + PREFETCH_AHEAD]);
			if (sites_ahead)
				prefetch_site_id(p, &st[i + PREFETCH_AHEAD]);
		}
		if (sites_ahead && i + PREFETCH_AHEAD / 2 < n)
			prefetch_site(p, &st[i + PREFETCH_AHEAD / 2]);
		if (st[i].kind == STEP_EVENT)
			replay(m, &st[i]);
		else
			take_untimed(m, st[i].rec, st[i].ticks);
	}
}

/*
 * Worth a second thread: enough records to cover its start (about 50 us)
 * many times over, and a second CPU to run it on; where there is none,
 * or it is busy, the two take turns on one.  lt_model_threads overrides
 * (tests).
 */
#define PIPE_MIN_RECORDS (1u << 16)
int lt_model_threads = -1;

static bool want_thread(const struct lt_dump *d)
{
	if (lt_model_threads >= 0)
		return lt_model_threads > 0;
	return d->records >= PIPE_MIN_RECORDS && lt_dump_spare_cpu();
}

static int merge(struct lt_model *m, lt_progress_fn *progress, void *ctx)
{
	const struct lt_dump *d = m->dump;
	struct lt_model_priv *p = m->priv;
	uint64_t total = d->data_end - d->hdr->header_size;
	bool threads = want_thread(d);
	struct pipe *q;
	sigset_t all, old;
	pthread_t producer;
	int rc;

	if (d->nstreams == 0)
		return 0;
	q = p->pipe = aligned_calloc(1, sizeof(*q));
	p->streams = aligned_calloc(d->nstreams, sizeof(*p->streams));
	if (!q || !p->streams ||
	    !(q->heap = aligned_calloc(d->nstreams, sizeof(*q->heap))) ||
	    !(q->pending = aligned_calloc(d->nstreams, sizeof(*q->pending))))
		return -1;
	/* Replayed in turn, a batch need not outsize the dump. */
	q->batch = threads || d->records > PIPE_BATCH ? PIPE_BATCH :
		   d->records < 64 ? 64 : d->records;
	q->steps = aligned_alloc(64, ((threads ? PIPE_BATCHES : 1) * q->batch *
				      sizeof(*q->steps) + 63) & ~(size_t)63);
	if (!q->steps)
		return -1;
	q->m = m;
	q->dump = d;
	q->streams = p->streams;
	q->progress = progress;
	q->progress_ctx = ctx;
	/* A hint: if the room cannot be had now, the table grows later. */
	p->compact = d->live_bound + 1 > LIVE_COMPACT_MIN / 24;  /* 16 B, 2/3 full */
	if (p->compact)
		(void)compact_table_reserve(&p->clive, d->live_bound);
	else
		(void)packed_table_reserve(&p->live, d->live_bound);
	for (size_t i = 0; i < d->nstreams; i++) {
		struct stream *s = &p->streams[i];
		lt_dump_cursor_init(&s->cur, d, &d->streams[i]);
		s->thread = get_thread(m, d->streams[i].thread);
		if (!s->thread)
			return -1;
		s->serial = s->thread->t.serial;
	}

	if (threads && pipe_init(q) == 0) {
		/* Signals stay with the calling thread. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		q->threaded = true;   /* before the thread reads it */
		rc = pthread_create(&producer, NULL, producer_main, q);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc == 0) {
			pipe_consume(q);
			pthread_join(producer, NULL);
		} else {
			q->threaded = false;
		}
		pipe_destroy(q);
	}
	if (!q->threaded)
		produce(q);   /* each batch is replayed as it fills */
	m->anomalies.ticks_backwards += q->ticks_backwards;
	if (progress)
		progress(ctx, total, total);
	return p->oom ? -1 : 0;
}

/* ---- results ------------------------------------------------------------ */

static int cmp_thread_serial(const void *a, const void *b)
{
	const struct lt_thread *x = *(struct lt_thread *const *)a;
	const struct lt_thread *y = *(struct lt_thread *const *)b;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static uint64_t round_est(double x)
{
	if (!(x > 0) || !isfinite(x))
		return 0;
	return x >= 1.8e19 ? UINT64_MAX : (uint64_t)(x + 0.5);
}

/* A block still live at the end, counted leaked; est[0] and est[1] sum
 * the estimated blocks and bytes. */
static void leaked(struct lt_model *m, const struct block_info *in,
		   double est[2])
{
	struct lt_site *s = &m->priv->site_vec[in->site]->site;
	double w = lt_model_weight(m, in->size);

	s->leaked_blocks++;
	s->leaked_bytes += in->size;
	s->est_leaked_blocks += w;
	s->est_leaked_bytes += w * (double)in->size;
	m->decoded.leaked_blocks++;
	m->decoded.leaked_bytes += in->size;
	est[0] += w;
	est[1] += w * (double)in->size;
}

static int finish(struct lt_model *m)
{
	struct lt_model_priv *p = m->priv;
	const struct lt_dump *d = m->dump;
	const struct lt_rec_trailer *tr = d->trailer;
	struct lt_totals *dec = &m->decoded;
	double est[2] = { 0, 0 };    /* leaked blocks and bytes, estimated */
	double temp_est = 0;
	size_t n = 0;

	/* What is still live is leaked. */
	for (size_t i = 0; p->live.slots && i < p->live.cap; i++)
		if (p->live.slots[i].ptr) {
			struct block_info in = unpack(p->live.slots[i].packed);
			leaked(m, &in, est);
		}
	for (size_t i = 0; p->clive.slots && i < p->clive.cap; i++)
		if (p->clive.slots[i].word)
			leaked(m, &p->kinds[p->clive.slots[i].word >> LIVE_KIND_SHIFT].info,
			       est);
	for (struct aside_block *e = p->aside; e; e = e->hh.next)
		leaked(m, &e->info, est);

	m->sites = malloc((p->nsite_vec ? p->nsite_vec : 1) * sizeof(*m->sites));
	if (!m->sites)
		return -1;
	for (size_t i = 0; i < p->nsite_vec; i++) {
		struct lt_site *s = &p->site_vec[i]->site;
		if (s->calls == 0)
			s->min_size = 0;
		if (s->stack_id != LT_STACK_NONE && !s->frames && s->calls)
			m->anomalies.stacks_undefined++;
		if (!m->sampled) {
			s->est_calls = (double)s->calls;
			s->est_bytes = (double)s->bytes;
			s->est_temporary = (double)s->temporary;
		}
		temp_est += s->est_temporary;
		m->sites[m->nsites++] = s;
	}

	m->threads = malloc((HASH_COUNT(p->threads) + 1) * sizeof(*m->threads));
	if (!m->threads)
		return -1;
	for (struct thread_entry *t = p->threads; t; t = t->hh.next) {
		struct lt_thread *th = &t->t;
		/* Serial 0 is the process itself, not a thread. */
		if (th->serial == 0)
			continue;
		if (!th->created && !th->started && !th->is_main)
			continue;   /* only named by a record, never seen */
		m->threads[n++] = th;
		if (th->joined)
			dec->threads_joined++;
		if (th->detached)
			dec->threads_detached++;
		if (th->is_main)
			continue;
		if (th->exited && !th->joined && !th->detached)
			dec->threads_leaked++;
		if (!th->exited && !th->joined && !th->detached)
			dec->threads_running_at_exit++;
	}
	m->nthreads = n;
	qsort(m->threads, n, sizeof(*m->threads), cmp_thread_serial);

	m->totals = *dec;
	if (m->sampled) {
		m->totals.peak_bytes = round_est(p->peak_est);
		m->totals.leaked_blocks = round_est(est[0]);
		m->totals.leaked_bytes = round_est(est[1]);
		m->totals.temporary = round_est(temp_est);
		if (tr) {
			m->totals.allocations = tr->allocations;
			m->totals.frees = tr->frees;
			m->totals.reallocs = tr->reallocs;
			m->totals.bytes_allocated = tr->bytes_allocated;
		} else {
			double calls = 0, bytes = 0;
			for (size_t i = 0; i < m->nsites; i++) {
				calls += m->sites[i]->est_calls;
				bytes += m->sites[i]->est_bytes;
			}
			m->totals.allocations = round_est(calls);
			m->totals.bytes_allocated = round_est(bytes);
		}
	}
	return 0;
}

static void check_trailer(struct lt_model *m)
{
	const struct lt_rec_trailer *tr = m->dump->trailer;
	const struct lt_totals *dec = &m->decoded;
	struct {
		const char *what;
		uint64_t trailer, decoded;
		bool exact_only;
	} cmp[] = {
		{ "allocations", tr ? tr->allocations : 0,
		  dec->allocations + m->lost.allocs, true },
		{ "frees", tr ? tr->frees : 0, dec->frees + m->lost.frees, true },
		{ "bytes allocated", tr ? tr->bytes_allocated : 0,
		  dec->bytes_allocated + m->lost.bytes, true },
		{ "reallocs", tr ? tr->reallocs : 0, dec->reallocs, true },
		{ "threads created", tr ? tr->threads_created : 0,
		  dec->threads_created, false },
		{ "lost events", tr ? tr->lost_events : 0,
		  m->lost.allocs + m->lost.frees, false },
		{ "stacks", tr ? tr->stacks : 0, m->stack_records, false },
		{ "chunks", tr ? tr->chunks : 0,
		  m->dump->nchunks ? m->dump->nchunks - 1 : 0, false },
	};

	if (!tr)
		return;
	for (size_t i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++) {
		if (cmp[i].exact_only && m->sampled)
			continue;
		/* Lost events have no realloc breakdown. */
		if (cmp[i].trailer == cmp[i].decoded ||
		    (!strcmp(cmp[i].what, "reallocs") && m->lost.allocs &&
		     cmp[i].decoded <= cmp[i].trailer))
			continue;
		warn(m, "the trailer counts %llu %s but the dump holds %llu: "
		     "the dump is damaged or incomplete",
		     (unsigned long long)cmp[i].trailer, cmp[i].what,
		     (unsigned long long)cmp[i].decoded);
	}
}

static void set_clock(struct lt_model *m)
{
	const struct lt_dump *d = m->dump;
	const struct lt_file_header *h = d->hdr;
	uint64_t pt = d->pair_ticks, pm = d->pair_mono_ns;

	m->start_ticks = h->start_ticks;
	if (h->clock == LT_CLOCK_MONOTONIC) {
		m->ns_per_tick = 1.0;
		return;
	}
	if (d->trailer && d->trailer->mono_ns > pm) {
		pt = d->trailer->ticks;
		pm = d->trailer->mono_ns;
	}
	if (pt > h->start_ticks && pm > h->start_mono_ns)
		m->ns_per_tick = (double)(pm - h->start_mono_ns) /
				 (double)(pt - h->start_ticks);
}

static void note_warnings(struct lt_model *m)
{
	const struct lt_dump *d = m->dump;
	const struct lt_anomalies *a = &m->anomalies;

	if (d->seq_gaps)
		warn(m, "%llu chunk(s) missing going by sequence numbers",
		     (unsigned long long)d->seq_gaps);
	if (a->ordering)
		warn(m, "%llu allocation(s) returned an address that was "
		     "still live (a free is missing or out of order)",
		     (unsigned long long)a->ordering);
	if (a->frees_untracked && !m->sampled)
		warn(m, "%llu free(s) of blocks allocated before tracing "
		     "began (or before fork) were not counted against any site",
		     (unsigned long long)a->frees_untracked);
	if (a->targets_unknown)
		warn(m, "%llu join/detach/cancel/name record(s) named a "
		     "thread this dump does not know",
		     (unsigned long long)a->targets_unknown);
	if (a->stacks_undefined)
		warn(m, "%llu stack id(s) used but never defined",
		     (unsigned long long)a->stacks_undefined);
	if (a->stacks_redefined)
		warn(m, "%llu stack id(s) defined more than once",
		     (unsigned long long)a->stacks_redefined);
	if (a->ticks_backwards)
		warn(m, "a thread's clock went backwards %llu time(s)",
		     (unsigned long long)a->ticks_backwards);
	if (a->null_pointers)
		warn(m, "%llu allocation(s) recorded at address 0",
		     (unsigned long long)a->null_pointers);
	if (d->unknown_records)
		warn(m, "%llu record(s) of unknown type skipped",
		     (unsigned long long)d->unknown_records);
}

int lt_model_build(const struct lt_dump *d, lt_progress_fn *progress,
		   void *progress_ctx, struct lt_model **out,
		   struct lt_err *err)
{
	struct lt_model_hooks hooks = {
		.progress = progress, .progress_ctx = progress_ctx,
	};

	return lt_model_build_hooked(d, &hooks, out, err);
}

int lt_model_build_hooked(const struct lt_dump *d,
			  const struct lt_model_hooks *hooks,
			  struct lt_model **out, struct lt_err *err)
{
	struct lt_model *m = calloc(1, sizeof(*m));
	struct thread_entry *main_thread;
	uint64_t last = 0;

	*out = NULL;
	if (!m || !(m->priv = calloc(1, sizeof(*m->priv)))) {
		free(m);
		return lt_err_set(err, "%s: out of memory", d->path);
	}
	m->dump = d;
	m->priv->hooks = *hooks;
	m->priv->free_kind = KIND_END;
	m->sampled = (d->hdr->flags & LT_HDR_SAMPLED) && d->hdr->sample_interval;
	m->sample_interval = m->sampled ? d->hdr->sample_interval : 0;
	m->sample_large = m->sampled && (d->hdr->flags & LT_HDR_SAMPLE_LARGE);
	set_clock(m);

	if (prepass_threads(m) < 0)
		goto oom;
	main_thread = get_thread(m, d->hdr->main_thread);
	if (!main_thread)
		goto oom;
	main_thread->t.started = true;
	main_thread->t.start_ticks = d->hdr->start_ticks;
	thread_alive(m, main_thread);

	if (merge(m, hooks->progress, hooks->progress_ctx) < 0 || finish(m) < 0)
		goto oom;

	for (size_t i = 0; m->priv->streams && i < d->nstreams; i++)
		if (m->priv->streams[i].last_ticks > last)
			last = m->priv->streams[i].last_ticks;
	m->end_ticks = d->trailer && d->trailer->ticks > last ?
		       d->trailer->ticks : last;
	if (m->end_ticks < m->start_ticks)
		m->end_ticks = m->start_ticks;

	check_trailer(m);
	note_warnings(m);
	if (m->priv->oom)
		goto oom;
	*out = m;
	return 0;
oom:
	lt_model_free(m);
	return lt_err_set(err, "%s: out of memory replaying the dump", d->path);
}

void lt_model_free(struct lt_model *m)
{
	struct lt_model_priv *p;

	if (!m)
		return;
	p = m->priv;
	if (p) {
		struct thread_entry *t, *ttmp;
		struct pthread_entry *pe, *ptmp;
		struct aside_block *e, *etmp;

		/* Every site is in site_vec, some in the hash too. */
		HASH_CLEAR(hh, p->sites);
		for (size_t i = 0; i < p->nsite_vec; i++)
			free(p->site_vec[i]);
		HASH_ITER(hh, p->threads, t, ttmp) {
			HASH_DEL(p->threads, t);
			free(t);
		}
		HASH_ITER(hh, p->pthreads, pe, ptmp) {
			HASH_DEL(p->pthreads, pe);
			free(pe->threads);
			free(pe);
		}
		HASH_ITER(hh, p->aside, e, etmp) {
			HASH_DEL(p->aside, e);
			free(e);
		}
		packed_table_free(&p->live);
		compact_table_free(&p->clive);
		free(p->kinds);
		free(p->kind_index.slots);
		free(p->site_vec);
		free(p->site_by_id);
		free(p->streams);
		if (p->pipe) {
			free(p->pipe->heap);
			free(p->pipe->pending);
			free(p->pipe->steps);
		}
		free(p->pipe);
		free(p);
	}
	for (size_t i = 0; i < m->nmodules; i++) {
		free(m->modules[i].path);
		free(m->modules[i].build_id);
	}
	for (size_t i = 0; i < m->nwarnings; i++)
		free(m->warnings[i]);
	free(m->warnings);
	free(m->modules);
	free(m->unloads);
	free(m->sites);
	free(m->threads);
	free(m);
}
