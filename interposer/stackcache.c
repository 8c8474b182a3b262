/*
 * A per-thread cache of call stacks, validated against the stack itself.
 * Hot paths call malloc from the same call site at the same stack depth
 * again and again; when the return address, the caller's stack pointer and
 * every saved return address on the stack are what they were, the stack is
 * the same and need not be unwound again.  An entry remembers where each
 * return address lives, so checking it is a handful of loads (and a
 * weighted sum of what they read, below).  Per thread,
 * so no locks; never allocates with malloc.
 *
 * Where the return addresses live comes from frame sizes: for a return
 * address ip, the distance from the stack pointer just after the call
 * returns there up to the slot holding that frame's own return address.
 * Sizes are learned once per ip from an exact, step-by-step unwind (slow:
 * each step takes libunwind's global lock inside sigprocmask calls; see
 * lt_unwind_init), down
 * to the deepest frame whose size is not known yet, and kept in one
 * process-wide table; after that a new stack costs one unw_backtrace and a
 * load per frame.  A function whose frame size varies
 * (alloca, stack realignment, a signal trampoline) is caught when the word
 * at its predicted slot is not the return address the unwind found; it is
 * marked variable, and stacks through it are checked through its frame
 * pointer (last paragraph) or unwound every time.
 *
 * A key (return address, stack pointer and, in a cache that grew, the
 * caller's return address) picks a set of four stacks.  Where more than
 * that come through one key in turn and the cache thrashes, stacks of its
 * set go to a second set, picked by return addresses further up the stack
 * (deep_set).
 *
 * A thread the shim started knows where its stack ends (lt_stack_top), and
 * its entries are keyed by the distance from there instead of by address:
 * threads running the same code hold the same return addresses at the same
 * distances, so a short-lived thread hits on what the buffer's previous
 * owners cached, where it would otherwise unwind every stack once (each
 * first unwind on a new stack costs libunwind system calls to validate the
 * memory it reads, and a trace cache mapped and unmapped per thread).
 * Every hit still reads back each return address it predicts.
 *
 * A frame whose size varies cannot be predicted from its size, but where
 * it keeps a frame pointer (alloca does, and so do a JIT's frames: V8 calls
 * into C++ through builtins whose frames vary with the arguments and the
 * stack's alignment), its rbp says where it ends.  The entry then also says
 * where the frames below saved that rbp, and a hit checks that the rbp
 * found there puts the frame's return address where the entry has it (see
 * predict_slots).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "shim.h"

#define CACHE_WAYS      4     /* stacks a set holds */
#define CACHE_DEPTH     64    /* deeper stacks are unwound every time */
#define CACHE_SETS_MIN  256   /* per kind, to start with: 417 KiB mapped */
#define CACHE_SETS_MAX  4096  /* grown to when a thread misses often: 4.5 MiB */
#define CACHE_WINDOW    65536 /* lookups between two looks at the miss rate */
#define CACHE_FP        18    /* frames of varying size a cached stack may cross */
#define CACHE_DEEP_MAX  8     /* return addresses further up that pick a second set */
/* A call whose stack pointer lies further than this from the highest slot an
 * exact unwind found on the thread (hi) runs on another stack (a coroutine's,
 * a signal stack): its slots are never predicted or cached, so that a frame
 * size not yet known to vary cannot send a read past that stack's end. */
#define STACK_SPAN      (16u << 20)

/*
 * A set is four tags in one cache line.  A tag names its way's entry in a
 * pool of 64-byte units that fills from the front, an entry taking as
 * many units as its stack has frames for: a thread touches the memory of
 * the stacks it has, not of every set their keys hash to.  (128 threads
 * of 256 stacks each, tests/shim/threadpaths.c: 27-29 MiB of caches
 * resident with entries of 216 bytes in the sets, 8 MiB with the pool.)
 */
struct cache_tag {
	uint64_t ret;                          /* | (first unit + 1) << 48 */
	uint64_t key;                          /* sp or stack_top - sp, | depth << 56 */
};

#define TAG_IP       ((1ull << 48) - 1)
#define TAG_DEPTH(d) ((uint64_t)(d) << 56)

struct cache_entry {
	/* fs_epoch when it was made << 32 | the buffer's cache_gen then, or
	 * fs_epoch << 32 for a thread with a stack_top (any such owner may
	 * use it).  On a free list: the next entry's first unit + 1, or 0. */
	uint64_t stamp;
	uint64_t sum;                          /* stack_sum() of its frames */
	uint32_t near;                         /* the same of its first SUM_NEAR */
	uint32_t id;                           /* the interned stack's */
	uint8_t  n;                            /* frames in the stack */
	uint8_t  nfp;                          /* frames checked by rbp */
	uint8_t  units;                        /* the entry's size */
	uint8_t  unused;
	/* n slots, frames[i] at sp + 8 * slots[i] - 8; then nfp bytes
	 * fp_frame and nfp bytes fp_below: frame fp_frame[k]'s size varies,
	 * its rbp was saved fp_below[k] words below its slot, and its return
	 * address (the next slot) lies 8 bytes above where that points. */
	uint16_t slots[];
};

/*
 * A hit checks the words at an entry's slots by their sum, each times its
 * slot's multiplier, against the same sum of the stack's frames: neither
 * the entry nor the interned stack (stacks.c) keeps the frames themselves,
 * so a hit reads only the entry and the live stack, and the memory a
 * process holds for its stacks does not grow with their depth.  The
 * multipliers are odd, so a stack that differs in one return address
 * always fails; one that differs in two or more passes only where the
 * 64-bit sums of the differences times multipliers that look random come
 * out equal, about 1 in 2^64.  splitmix64's finaliser of the index makes
 * them.
 *
 * Where several stacks share a key (an allocation wrapper's callers), the
 * ways that are not the stack are told apart first by the low half of
 * the sum of the SUM_NEAR frames nearest the call, where they differ: the
 * old check, frame by frame, stopped at the first that differed.  (The
 * micro-benchmark's four paths through one call site at depth 32, 9
 * interleaved rounds: 49 ns a call added frame by frame, 67 summing all of
 * every way's frames, 58 so.)
 */
#define SUM_NEAR    4
#define MIX1(z)     (((z) ^ ((z) >> 30)) * 0xbf58476d1ce4e5b9ull)
#define MIX2(z)     (((z) ^ ((z) >> 27)) * 0x94d049bb133111ebull)
#define MIX3(z)     ((z) ^ ((z) >> 31))
#define MUL(i)      (MIX3(MIX2(MIX1(((i) + 1) * 0x9e3779b97f4a7c15ull))) | 1)
#define MUL4(i)     MUL(i), MUL((i) + 1), MUL((i) + 2), MUL((i) + 3)
#define MUL16(i)    MUL4(i), MUL4((i) + 4), MUL4((i) + 8), MUL4((i) + 12)

static const uint64_t slot_mul[CACHE_DEPTH] = { MUL16(0), MUL16(16), MUL16(32), MUL16(48) };
_Static_assert(CACHE_DEPTH == 64, "slot_mul has a multiplier for every frame");

static inline uint64_t stack_sum(const uint64_t *frames, uint32_t n)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < n; i++)
		sum += frames[i] * slot_mul[i];
	return sum;
}

#define UNIT       64u
#define UNITS_MAX  3u

struct cache_unit {
	_Alignas(UNIT) uint8_t bytes[UNIT];
};

static inline unsigned entry_units(uint32_t n, uint32_t nfp)
{
	return (unsigned)(offsetof(struct cache_entry, slots) + 2 * n + 2 * nfp + UNIT - 1) / UNIT;
}
_Static_assert(offsetof(struct cache_entry, slots) + 2 * CACHE_DEPTH + 2 * CACHE_FP <=
	       UNITS_MAX * UNIT, "the largest entry fits UNITS_MAX units");

static inline const uint8_t *fp_frame(const struct cache_entry *e)
{
	return (const uint8_t *)(e->slots + e->n);
}

static inline const uint8_t *fp_below(const struct cache_entry *e)
{
	return fp_frame(e) + e->nfp;
}

struct lt_stack_cache {
	uint32_t sets;
	uint32_t lookups, misses;              /* in the current window */
	uint32_t used, cap;                    /* units of the pool taken, and in all */
	uint32_t free_units[UNITS_MAX + 1];    /* by size: first unit + 1, or 0 */
	/* The highest slot an exact unwind found on the owner's stack, + 8:
	 * predicted slots above it are not read (they might not be mapped). */
	uint32_t hi_gen;
	uint64_t hi;
	size_t   bytes;                        /* of the mapping */
	uint8_t *victim;                       /* the way replaced next */
	uint8_t *deep;                         /* see deep_set() */
	struct cache_tag *tags;
	struct cache_unit *pool;
};

/* One mapping: this header, then victim[2][sets], deep[2][sets],
 * tags[2][sets][WAYS], and the pool: the most every way's entry can take,
 * UNITS_MAX units, but no more than a tag can name (two a way, in a cache
 * of CACHE_SETS_MAX). */
static struct lt_stack_cache *cache_new(uint32_t sets)
{
	size_t bytemap = ((size_t)2 * sets + 63) & ~(size_t)63;
	size_t ways = (size_t)2 * sets * CACHE_WAYS;
	size_t units = ways * UNITS_MAX < UINT16_MAX ? ways * UNITS_MAX : UINT16_MAX;
	size_t head = (sizeof(struct lt_stack_cache) + UNIT - 1) & ~(size_t)(UNIT - 1);
	size_t bytes = head + 2 * bytemap + ways * sizeof(struct cache_tag) +
		       units * sizeof(struct cache_unit);
	struct lt_stack_cache *c = lt_os_map(bytes);

	if (!c)
		return NULL;
	c->sets = sets;
	c->cap = (uint32_t)units;
	c->bytes = bytes;
	c->victim = (uint8_t *)c + head;
	c->deep = c->victim + bytemap;
	c->tags = (struct cache_tag *)(c->deep + bytemap);
	c->pool = (struct cache_unit *)(c->tags + ways);
	return c;
}

static inline struct cache_tag *set_ways(struct lt_stack_cache *c, int kind, unsigned set)
{
	return &c->tags[((size_t)kind * c->sets + set) * CACHE_WAYS];
}

/* The way of a set that takes the next stack filed there, in turn. */
static inline struct cache_tag *victim_way(struct lt_stack_cache *c, int kind, unsigned set)
{
	return &set_ways(c, kind, set)[c->victim[(size_t)kind * c->sets + set]++ % CACHE_WAYS];
}

static inline struct cache_entry *unit_entry(const struct lt_stack_cache *c, uint64_t at)
{
	return (struct cache_entry *)&c->pool[at - 1];
}

/* The entry a filled tag names. */
static inline struct cache_entry *entry_of(const struct lt_stack_cache *c,
					   const struct cache_tag *t)
{
	return unit_entry(c, t->ret >> 48);
}

/* An entry of at least units units (its first + 1): a free one of that
 * size or larger, else one from the front; 0 when there is none. */
static uint64_t pool_take(struct lt_stack_cache *c, unsigned units)
{
	uint64_t at;

	for (unsigned u = units; u <= UNITS_MAX; u++) {
		if ((at = c->free_units[u])) {
			c->free_units[u] = (uint32_t)unit_entry(c, at)->stamp;
			return at;
		}
	}
	if (c->cap - c->used < units)
		return 0;
	at = c->used + 1;
	c->used += units;
	unit_entry(c, at)->units = (uint8_t)units;
	return at;
}

static void pool_give(struct lt_stack_cache *c, uint64_t at)
{
	struct cache_entry *e = unit_entry(c, at);

	e->stamp = c->free_units[e->units];
	c->free_units[e->units] = (uint32_t)at;
}

/* The pool ran out (its free entries are all too small): start empty. */
static void cache_clear(struct lt_stack_cache *c)
{
	memset(c->victim, 0, (uint8_t *)c->pool - c->victim);
	memset(c->free_units, 0, sizeof(c->free_units));
	c->used = 0;
}

/*
 * A thread whose stacks do not fit (a compiler: thousands of distinct deep
 * stacks behind one allocation wrapper) misses more than one lookup in
 * eight: its cache grows, up to CACHE_SETS_MAX, and starts empty.  Threads
 * that hit keep the small one.
 */
static void cache_review(struct lt_buf *b)
{
	struct lt_stack_cache *old = b->cache;

	if (old->misses > CACHE_WINDOW / 8 && old->sets < CACHE_SETS_MAX) {
		struct lt_stack_cache *c = cache_new(old->sets * 4);

		if (c) {
			c->hi = old->hi;
			c->hi_gen = old->hi_gen;
			b->cache = c;
			munmap(old, old->bytes);
			return;
		}
	}
	old->lookups = old->misses = 0;
}

/* ---- per ip: frame size and frame pointer, insert-only, lock-free ------- */

#define FS_BITS      18                 /* 2 MiB of address space */
#define FS_PROBES    16
#define FS_VARIABLE  0xffffu            /* size in 8-byte words, or this */
/* Size not known, but stacks were seen to end at this ip (_start, clone3):
 * the outermost frame, whose size is never learned, is not new code. */
#define FS_END       0xfffeu
#define FS_IP_MASK   ((1ull << 48) - 1)
/*
 * What the frame pointer tells about ip, kept in the same table under ip
 * with bit 47 set (an ip with it set, outside the usual 47-bit user space,
 * is never learned).  The low byte says where the function that ip
 * returns into, at that ip, keeps its caller's rbp: FI_SAVE_NONE when the
 * walk could not tell, FI_KEPT when it leaves rbp alone, else how many
 * words below its own return address it saved it.  FI_FP_OK: its frame
 * size varies, and its return address is at its rbp + 8 (a frame pointer);
 * FI_FP_BAD: it varies and is not (a frame realigned through another
 * register).
 */
#define FI_KEY       (1ull << 47)
#define FI_SAVE      0xffu
#define FI_SAVE_NONE 0xfeu
#define FI_KEPT      0xffu
#define FI_FP_OK     0x100u
#define FI_FP_BAD    0x200u

static _Atomic(_Atomic uint64_t *) frame_sizes;
/* Set when an ip found no room: from then on unknown ips are not learned
 * (each attempt would step through libunwind's lock again), their stacks
 * are unwound every time. */
static _Atomic bool fs_full;
/* Bumped each time a frame size is found to vary (or a frame pointer not
 * to be one, or a saved rbp in two places).  A stack cached before then
 * may run through that frame at the size it had once: the memory above a
 * frame that grew still holds what the old layout left there (an alloca
 * block is not cleared), so checking its slots can pass.  Such entries go,
 * and stacks through the frame are checked another way, or unwound.  Also
 * bumped in a forked child (lt_stack_cache_new_dump). */
static _Atomic uint32_t fs_epoch;

/* In a forked child's new dump no stack is defined yet, and a hit gives
 * an id without asking: so every entry made before goes stale, and each
 * stack is unwound and defined again (with the frames the unwind found)
 * the first time. */
void lt_stack_cache_new_dump(void)
{
	atomic_fetch_add_explicit(&fs_epoch, 1, memory_order_relaxed);
}

static _Atomic uint64_t *fs_table(void)
{
	_Atomic uint64_t *t = atomic_load_explicit(&frame_sizes, memory_order_acquire);

	if (lt_likely(t))
		return t;
	_Atomic uint64_t *mine = lt_os_map(sizeof(uint64_t) << FS_BITS), *none = NULL;
	if (!mine)
		return NULL;
	if (atomic_compare_exchange_strong(&frame_sizes, &none, mine))
		return mine;
	munmap((void *)mine, sizeof(uint64_t) << FS_BITS);
	return none;
}

static inline unsigned fs_slot(uint64_t ip)
{
	return (unsigned)((ip * 0x9e3779b97f4a7c15ull) >> (64 - FS_BITS));
}

/* What the table holds for key, or 0. */
static unsigned fs_lookup(_Atomic uint64_t *t, uint64_t key)
{
	unsigned h = fs_slot(key);

	for (unsigned i = 0; i < FS_PROBES; i++) {
		uint64_t v = atomic_load_explicit(&t[(h + i) & ((1u << FS_BITS) - 1)],
						  memory_order_relaxed);
		if (!v)
			return 0;
		if ((v & FS_IP_MASK) == key)
			return (unsigned)(v >> 48);
	}
	return 0;
}

/* The size for ip in words, FS_VARIABLE, FS_END, or 0 when not known yet. */
static inline unsigned fs_get_raw(_Atomic uint64_t *t, uint64_t ip)
{
	return ip & FI_KEY ? 0 : fs_lookup(t, ip);
}

/* The size for ip in words, FS_VARIABLE, or 0 when not known yet. */
static inline unsigned fs_get(_Atomic uint64_t *t, uint64_t ip)
{
	unsigned words = fs_get_raw(t, ip);

	return words == FS_END ? 0 : words;
}

/* What key should hold once want is merged into have (0: nothing yet). */
typedef unsigned (*fs_merge_fn)(unsigned have, unsigned want);

/* FS_VARIABLE wins over any size already there, and any size over
 * FS_END; otherwise the first size stays. */
static unsigned fs_merge_size(unsigned have, unsigned want)
{
	if (have == FS_VARIABLE || want == FS_VARIABLE)
		return FS_VARIABLE;
	return !have || have == FS_END ? want : have;
}

static unsigned fs_merge_fp(unsigned have, unsigned want)
{
	unsigned save = have & FI_SAVE, fp = (have | want) & (FI_FP_OK | FI_FP_BAD);

	if (!save)
		save = want & FI_SAVE;
	else if ((want & FI_SAVE) && (want & FI_SAVE) != save)
		save = FI_SAVE_NONE;            /* two answers: neither */
	return save | (fp & FI_FP_BAD ? FI_FP_BAD : fp);
}

/* Whether an entry cached before the change from have to now may be
 * wrong (see fs_epoch): it relied on a size, a frame pointer or a saved
 * rbp that no longer holds. */
static bool fs_narrows(fs_merge_fn merge, unsigned have, unsigned now)
{
	if (merge == fs_merge_size)
		return now == FS_VARIABLE;
	return ((now & FI_FP_BAD) && (have & FI_FP_OK)) ||
	       ((now & FI_SAVE) == FI_SAVE_NONE && (have & FI_SAVE) &&
		(have & FI_SAVE) != FI_SAVE_NONE);
}

static void fs_merge(_Atomic uint64_t *t, uint64_t key, unsigned want, fs_merge_fn merge)
{
	unsigned h = fs_slot(key);

	if (!key || key > FS_IP_MASK || !want)
		return;
	for (unsigned i = 0; i < FS_PROBES; i++) {
		_Atomic uint64_t *e = &t[(h + i) & ((1u << FS_BITS) - 1)];
		uint64_t v = atomic_load_explicit(e, memory_order_relaxed);

		for (;;) {
			if (v && (v & FS_IP_MASK) != key)
				break;                  /* someone else's: probe on */
			unsigned have = v ? (unsigned)(v >> 48) : 0;
			unsigned now = merge(have, want);

			if (now == have)
				return;
			if (atomic_compare_exchange_weak(e, &v, key | (uint64_t)now << 48)) {
				if (fs_narrows(merge, have, now))
					atomic_fetch_add_explicit(&fs_epoch, 1,
								  memory_order_relaxed);
				return;
			}
		}
	}
	atomic_store_explicit(&fs_full, true, memory_order_relaxed);
}

/* Records ip's size in words, FS_VARIABLE or FS_END. */
static inline void fs_put(_Atomic uint64_t *t, uint64_t ip, unsigned words)
{
	if (!(ip & FI_KEY))
		fs_merge(t, ip, words, fs_merge_size);
}

static inline unsigned fi_get(_Atomic uint64_t *t, uint64_t ip)
{
	return ip & FI_KEY ? 0 : fs_lookup(t, ip | FI_KEY);
}

static inline void fi_put(_Atomic uint64_t *t, uint64_t ip, unsigned info)
{
	if (!(ip & FI_KEY))
		fs_merge(t, ip | FI_KEY, info, fs_merge_fp);
}

/* The return address in the caller's frame, from ret's frame size; 0 when
 * the size is not known (or varies) or the slot lies above hi. */
static inline uint64_t caller_of(_Atomic uint64_t *fs, uint64_t hi, uint64_t ret,
				 uint64_t sp)
{
	unsigned words = fs_get(fs, ret);
	uint64_t s = sp - sizeof(uint64_t) + (uint64_t)words * sizeof(uint64_t);

	if (!words || words == FS_VARIABLE || s + sizeof(uint64_t) > hi)
		return 0;
	return *(const volatile uint64_t *)(uintptr_t)s;
}

/* Whether the stack above a call holds code not seen before: read through
 * the frame sizes, a frame of unknown size among the first depth, or a
 * stack deeper than this thread's ever was (a slot above hi).  The
 * outermost frame's size is never learned: its slot is the one just below
 * hi, or its ip is marked FS_END.  (On the main thread hi can lie above
 * where stacks end: an ELF constructor runs from the loader's frame, higher
 * up than _start's.  On a thread the shim started, hi is the stack's end.
 * Without the mark, every miss there took the quiet path's two system
 * calls: 640,000 of them in a cppcheck run.) */
static bool new_code(_Atomic uint64_t *fs, uint64_t hi, uint64_t ret, uint64_t sp,
		     uint32_t depth)
{
	uint64_t s = sp - sizeof(uint64_t), ip = ret;

	for (uint32_t i = 0; i + 1 < depth; i++) {
		unsigned words = fs_get_raw(fs, ip);

		if (!words)
			return true;
		if (words == FS_VARIABLE || words == FS_END)
			return false;
		s += (uint64_t)words * sizeof(uint64_t);
		if (s + sizeof(uint64_t) > hi)
			return true;
		if (s + sizeof(uint64_t) == hi)
			return false;
		ip = *(const volatile uint64_t *)(uintptr_t)s;
	}
	return false;
}

static inline unsigned set_of(uint64_t ret, uint64_t caller, uint64_t sp, uint32_t sets)
{
	uint64_t h = (ret ^ caller * 0xc2b2ae3d27d4eb4full ^ (sp << 7)) * 0x9e3779b97f4a7c15ull;

	return (unsigned)(h >> 40) & (sets - 1);
}

/* The return addresses of the first n frames above a call (frames[1] to
 * frames[n] of its stack), read through the frame sizes as caller_of reads
 * the first, mixed into one word; the walk stops early at a frame whose
 * size is not known or varies, or at hi. */
static uint64_t callers_mix(_Atomic uint64_t *fs, uint64_t hi, uint64_t ret,
			    uint64_t sp, unsigned n)
{
	uint64_t s = sp - sizeof(uint64_t), ip = ret, mix = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned words = fs_get(fs, ip);

		s += (uint64_t)words * sizeof(uint64_t);
		if (!words || words == FS_VARIABLE || s + sizeof(uint64_t) > hi)
			break;
		ip = *(const volatile uint64_t *)(uintptr_t)s;
		mix = (mix + ip) * 0x9e3779b97f4a7c15ull;
	}
	return mix;
}

/*
 * A key is (ret, sp), and in a grown cache the caller's return address
 * too; its home set holds four of the stacks behind it.  An allocation
 * wrapper in varied code (operator new under a container's growth, say)
 * has more than four behind one key, and taken in turn they miss every
 * time: a program running 256 call paths through one wrapper on each of 8
 * threads missed 47% of its lookups.  So when a key that holds half of a
 * full set misses there once more, the stacks of its home that do not fit
 * go to a second set, picked by return addresses further up:
 * deep[home] of them, past those that picked the home.  One that crowds
 * that set too takes one more.  A stack in the home set is found without
 * reading them.
 */
static unsigned deep_set(struct lt_stack_cache *c, _Atomic uint64_t *fs, uint64_t hi,
			 unsigned more, uint64_t r, uint64_t sp, uint64_t key)
{
	more += c->sets > CACHE_SETS_MIN;   /* the caller, already in home */
	return set_of(r, callers_mix(fs, hi, r, sp, more), key, c->sets);
}

/* Whether the cache misses often enough that a second set is worth its
 * price on every lookup that goes there: a walk through the frame sizes,
 * and the home set's ways checked in vain.  (cppcheck, missing 3-15% of
 * its lookups in a window, went from +243% to +267% and +288% with every
 * key allowed deeper, though it missed a third less: its misses are
 * unw_backtrace calls that libunwind's cache answers.  The program above
 * missed 47%.)  Judged after 1,024 lookups, not 4,096: a thread that has
 * to step through libunwind for every miss (past FAST_THREADS) pays for
 * each one before that (tests/shim/threadpaths.c, 3 runs: 1.1-1.6 s,
 * then 0.53-0.58 s). */
static inline bool thrashing(const struct lt_stack_cache *c)
{
	return c->lookups >= 1024 && c->misses > c->lookups / 4;
}

/* Whether t names a stack of this key (current or not); kd is the key
 * with the depth asked for. */
static inline bool same_key(const struct cache_tag *t, uint64_t r, uint64_t kd)
{
	return (t->ret & TAG_IP) == r && t->key == kd;
}

/* Whether t names nothing cached since stamp. */
static inline bool stale(const struct lt_stack_cache *c, const struct cache_tag *t,
			 uint64_t stamp)
{
	return !t->ret || entry_of(c, t)->stamp != stamp;
}

/* A stale way of a set, or NULL. */
static struct cache_tag *stale_way(const struct lt_stack_cache *c, struct cache_tag *ways,
				   uint64_t stamp)
{
	for (unsigned w = 0; w < CACHE_WAYS; w++)
		if (stale(c, &ways[w], stamp))
			return &ways[w];
	return NULL;
}

/* Whether a set is full of stacks cached since stamp, and half of them or
 * more are this key's. */
static bool key_crowds(const struct lt_stack_cache *c, const struct cache_tag *ways,
		       uint64_t r, uint64_t kd, uint64_t stamp)
{
	unsigned mine = 0;

	for (unsigned w = 0; w < CACHE_WAYS; w++) {
		if (stale(c, &ways[w], stamp))
			return false;
		mine += same_key(&ways[w], r, kd);
	}
	return mine >= CACHE_WAYS / 2;
}

/* Whether the stack above a call at sp is e's: the return addresses where
 * e says they are, by their weighted sum, and each frame of varying size
 * ending where e says.  (Its
 * slots lie below the stack's end: they did where e was made, at the same
 * distance from it.) */
static inline __attribute__((always_inline)) bool
still_valid(const struct cache_entry *e, uint64_t r, uint64_t sp)
{
	/* Frame 0 is the return address the tag matched: in the sum too,
	 * so that a hit rests on what the entry holds alone. */
	uint64_t sum = r * slot_mul[0];
	uint32_t i = 1, n = e->n, near = n < SUM_NEAR ? n : SUM_NEAR;

	for (; i < near; i++)
		sum += *(const volatile uint64_t *)(uintptr_t)(sp + 8 * (uint64_t)e->slots[i] - 8) *
		       slot_mul[i];
	if ((uint32_t)sum != e->near)
		return false;
	for (; i < n; i++)
		sum += *(const volatile uint64_t *)(uintptr_t)(sp + 8 * (uint64_t)e->slots[i] - 8) *
		       slot_mul[i];
	if (sum != e->sum)
		return false;
	for (uint32_t k = 0; k < e->nfp; k++) {
		uint32_t f = fp_frame(e)[k];
		uint64_t at = sp + 8 * ((uint64_t)e->slots[f] - fp_below(e)[k]) - 8;

		if (*(const volatile uint64_t *)(uintptr_t)at != sp + 8 * (uint64_t)e->slots[f + 1] - 16)
			return false;
	}
	return true;
}

/* The stack behind key in ways that still holds, or NULL. */
static inline const struct cache_entry *
find_way(const struct lt_stack_cache *c, const struct cache_tag *ways, uint64_t r,
	 uint64_t kd, uint64_t stamp, uint64_t sp)
{
	for (unsigned w = 0; w < CACHE_WAYS; w++) {
		if (!same_key(&ways[w], r, kd))
			continue;
		const struct cache_entry *e = entry_of(c, &ways[w]);

		if (e->stamp == stamp && still_valid(e, r, sp))
			return e;
	}
	return NULL;
}

/* Where a hit must find the rbp of each frame whose size varies. */
struct fp_checks {
	uint32_t n;
	uint8_t  frame[CACHE_FP];
	uint8_t  below[CACHE_FP];               /* words below slots[frame] */
};

/*
 * Where frame v's rbp was saved: by the nearest callee that did not leave
 * rbp alone, at the place its own frame keeps it.  0 when that is not
 * known yet (learn it), 1 when nothing below saved it (it is still in the
 * register when the shim is called, or the walk could not tell), else the
 * address.
 */
static uint64_t fp_saved_at(_Atomic uint64_t *fs, const uint64_t *frames, uint32_t v,
			    const uint64_t *slots)
{
	for (uint32_t j = v; j-- > 0;) {
		unsigned save = fi_get(fs, frames[j]) & FI_SAVE;

		if (!save)
			return 0;
		if (save == FI_SAVE_NONE)
			return 1;
		if (save != FI_KEPT)
			return slots[j + 1] - (uint64_t)save * sizeof(uint64_t);
	}
	return 1;
}

/*
 * Slots of frames[0..n) for a stack whose call has stack pointer sp: 1 when
 * every slot is known and holds the frame unwound, 0 when something is not
 * known yet (a walk over the first *need frames would learn it), -1 when
 * the stack cannot be cached.
 *
 * A slot lies its callee's frame size above the callee's.  Above a frame
 * whose size varies, it lies at that frame's rbp + 8, where the frame is
 * known to keep a frame pointer (FI_FP_OK), and fp says where a hit finds
 * that rbp again.  Frame 0's rbp was saved by the shim, if at all: a stack
 * whose frame 0 varies is not cached.
 */
static int predict_slots(_Atomic uint64_t *fs, uint64_t hi, uint64_t sp,
			 const uint64_t *frames, uint32_t n, uint64_t *slots,
			 struct fp_checks *fp, uint32_t *need)
{
	uint64_t s = sp - sizeof(uint64_t);

	slots[0] = s;
	fp->n = 0;
	for (uint32_t i = 1; i < n; i++) {
		uint32_t v = i - 1;
		unsigned words = fs_get(fs, frames[v]);

		*need = i + 1;
		if (!words)
			return 0;
		if (words != FS_VARIABLE) {
			s += (uint64_t)words * sizeof(uint64_t);
		} else {
			unsigned info = fi_get(fs, frames[v]);

			if (v == 0 || (info & FI_FP_BAD) || fp->n == CACHE_FP)
				return -1;
			uint64_t at = info & FI_FP_OK ? fp_saved_at(fs, frames, v, slots) : 0;

			if (at <= 1)
				return at ? -1 : 0;
			if (at < sp || slots[v] - at > (uint64_t)UINT8_MAX * sizeof(uint64_t))
				return -1;
			uint64_t rbp = *(const volatile uint64_t *)(uintptr_t)at;

			if (rbp % sizeof(uint64_t) || rbp <= s)
				return -1;
			if (rbp >= hi) {
				*need = n;      /* deeper than this thread was walked */
				return 0;
			}
			fp->frame[fp->n] = (uint8_t)v;
			fp->below[fp->n++] = (uint8_t)((slots[v] - at) / sizeof(uint64_t));
			s = rbp + sizeof(uint64_t);
		}
		if (s + sizeof(uint64_t) > hi) {
			*need = n;
			return 0;
		}
		if (*(const volatile uint64_t *)(uintptr_t)s != frames[i]) {
			if (words != FS_VARIABLE)
				fs_put(fs, frames[v], FS_VARIABLE);
			else
				fi_put(fs, frames[v], FI_FP_BAD);
			return -1;
		}
		slots[i] = s;
	}
	return 1;
}

/*
 * Steps through the first n frames of this stack and records, for every ip
 * but the last, its frame size and what its frame pointer tells (FI_*);
 * fills slots[0..n).  false when the walk disagrees with frames or met a
 * signal frame.
 */
static bool walk_slots(_Atomic uint64_t *fs, struct lt_stack_cache *cache, uint32_t gen,
		       void *ret, uint64_t sp, const uint64_t *frames, uint32_t n,
		       uint64_t *slots)
{
	uint64_t walked[CACHE_DEPTH], fp[CACHE_DEPTH], at[CACHE_DEPTH], sig;

	lt_unwind_quiet_begin();
	uint32_t got = lt_unwind_slots(ret, walked, slots, fp, at, &sig, n);
	lt_unwind_quiet_end();

	if (got != n || slots[0] + sizeof(uint64_t) != sp ||
	    memcmp(walked, frames, n * sizeof(uint64_t)) != 0)
		return false;
	for (uint32_t i = 0; i + 1 < n; i++) {
		uint64_t size = slots[i + 1] - slots[i];
		unsigned had = fs_get(fs, frames[i]);

		/* Past a signal frame, the return address was read from the
		 * context the kernel saved: slot i is no slot. */
		if (i && (sig >> (i - 1) & 1))
			continue;

		if (slots[i + 1] <= slots[i] || size % sizeof(uint64_t) ||
		    size / sizeof(uint64_t) >= FS_END || (sig >> i & 1) ||
		    (had && had != size / sizeof(uint64_t)))
			fs_put(fs, frames[i], FS_VARIABLE);
		else
			fs_put(fs, frames[i], (unsigned)(size / sizeof(uint64_t)));
		if (sig)
			continue;
		/* at[i + 1] is where frame i's caller's rbp was: in frame i,
		 * or where it was for frame i too (frame i left rbp alone). */
		uint64_t a = at[i + 1], below = (slots[i + 1] - a) / sizeof(uint64_t);
		unsigned info = FI_SAVE_NONE;

		if (a >= slots[i] + sizeof(uint64_t) && a < slots[i + 1] &&
		    a % sizeof(uint64_t) == 0 && below < FI_SAVE_NONE)
			info = (unsigned)below;
		else if (a && a == at[i])
			info = FI_KEPT;

		/* A frame of varying size: is its rbp a frame pointer? */
		if (fs_get(fs, frames[i]) == FS_VARIABLE)
			info |= fp[i] + sizeof(uint64_t) == slots[i + 1] ? FI_FP_OK : FI_FP_BAD;
		fi_put(fs, frames[i], info);
	}
	if (sig)
		return false;           /* the slots past it are in the context */
	if (cache->hi_gen != gen || cache->hi < slots[n - 1] + sizeof(uint64_t)) {
		cache->hi = slots[n - 1] + sizeof(uint64_t);
		cache->hi_gen = gen;
	}
	return true;
}

/*
 * The slots of this stack, learning what predict_slots lacked.  Each step
 * costs libunwind's global lock and its sigprocmask calls, so when only
 * frames near the top are new (a new call site under known callers), the
 * walk stops at the first need frames and the rest is predicted, each slot
 * checked as usual.  1 when the stack can be cached, else -1.
 */
static int learn_slots(_Atomic uint64_t *fs, struct lt_stack_cache *cache, uint32_t gen,
		       uint64_t top, void *ret, uint64_t sp, const uint64_t *frames,
		       uint32_t n, uint64_t *slots, struct fp_checks *fp, uint32_t need)
{
	/* One walk as deep as the deepest frame predict_slots would stop at,
	 * not only the first. */
	for (uint32_t i = n - 1; i-- > 0 && i + 2 > need;) {
		unsigned words = fs_get(fs, frames[i]);

		if (!words || (words == FS_VARIABLE &&
			       !(fi_get(fs, frames[i]) & (FI_FP_OK | FI_FP_BAD)))) {
			need = i + 2;
			break;
		}
	}
	for (;;) {
		bool all = need >= n;

		if (!walk_slots(fs, cache, gen, ret, sp, frames, all ? n : need, slots))
			return -1;
		int known = predict_slots(fs, top ? top : cache->hi_gen == gen ? cache->hi : 0,
					  sp, frames, n, slots, fp, &need);
		if (known || all)
			return known > 0 ? 1 : -1;
		/* Deeper than this thread's stack was ever walked: all of it. */
		need = n;
	}
}

/*
 * glibc keeps a thread's descriptor, what pthread_self() points at, at the
 * top of the thread's stack block, its static TLS just below, and the stack
 * below that, all in one mapping (glibc's own, or the block given with
 * pthread_attr_setstack): from any frame of the thread up to the descriptor
 * is mapped.  The main thread's descriptor is not on its stack; nor, then,
 * above its frames within STACK_SPAN.
 */
uint64_t lt_stack_top(void)
{
	uint64_t top = (uint64_t)(uintptr_t)pthread_self();
	uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);

	return top > here && top - here <= STACK_SPAN ? top : 0;
}

int lt_stack_cached(struct lt_buf *b, int kind, void *ret, uint64_t sp,
		    uint32_t depth, uint32_t *id)
{
	uint64_t frames[CACHE_DEPTH], slots[CACHE_DEPTH];
	uint64_t r = (uint64_t)(uintptr_t)ret;

	if (depth > CACHE_DEPTH)
		return -1;
	if (lt_unlikely(!b->cache)) {
		b->cache = cache_new(CACHE_SETS_MIN);
		if (!b->cache)
			return -1;
	}
	if (lt_unlikely(++b->cache->lookups == CACHE_WINDOW))
		cache_review(b);
	_Atomic uint64_t *fs = fs_table();
	if (!fs)
		return -1;
	/* On a thread the shim started, the stack's end bounds every read;
	 * a call on another stack (a signal stack, a coroutine's) is never
	 * cached.  Elsewhere the highest slot unwound so far does. */
	uint64_t top = b->stack_top, hi, key, stamp;
	if (top) {
		if (sp >= top || top - sp > STACK_SPAN)
			return -1;
		hi = top;
		key = top - sp;
		stamp = 0;
	} else {
		hi = b->cache->hi_gen == b->cache_gen ? b->cache->hi : 0;
		if (hi && (sp <= hi ? hi - sp : sp - hi) > STACK_SPAN)
			return -1;
		key = sp;
		stamp = b->cache_gen;
	}
	/* An r or key past TAG_IP (user space past 48 bits) is never filed,
	 * so no tag matches it; a key stays below 2^56, under the depth. */
	uint64_t kd = key | TAG_DEPTH(depth);
	stamp |= (uint64_t)atomic_load_explicit(&fs_epoch, memory_order_relaxed) << 32;
	/* Allocation wrappers make one (ret, sp) the door to many stacks: in a
	 * cache that had to grow, the caller's return address, when the frame
	 * size says where it is, picks the set too, and so do return addresses
	 * above it where that was not enough (deep_set).  (A small cache does
	 * not pay for looking them up on every hit.) */
	struct lt_stack_cache *cache = b->cache;
	bool by_caller = cache->sets > CACHE_SETS_MIN;
	uint64_t caller = by_caller ? caller_of(fs, hi, r, sp) : 0;
	unsigned set = set_of(r, caller, key, cache->sets);
	const struct cache_entry *hit = find_way(cache, set_ways(cache, kind, set), r, kd,
						 stamp, sp);
	unsigned more = hit ? 0 : cache->deep[(size_t)kind * cache->sets + set];

	if (more)
		hit = find_way(cache, set_ways(cache, kind,
					       deep_set(cache, fs, hi, more, r, sp, key)),
			       r, kd, stamp, sp);
	if (hit) {
		/* Made in this dump (lt_stack_cache_new_dump), where the
		 * stack was defined when it was. */
		*id = hit->id;
		return 0;
	}
	cache->misses++;

	/* Where the stack holds new code, libunwind's own cache misses too and
	 * a learning walk follows: both run quiet (one mask change, not one
	 * per libunwind lock). */
	bool quiet = new_code(fs, hi, r, sp, depth);
	uint32_t sid = LT_STACK_NONE;
	uint32_t n;
	int rc = 0;

	if (quiet)
		lt_unwind_quiet_begin();
	n = lt_unwind_exact(ret, frames, depth);
	if (!n) {
		rc = -1;
		goto out;
	}
	if (n < depth)
		fs_put(fs, frames[n - 1], FS_END);   /* the stack ends there */
	sid = lt_stacks_intern(frames, n);
	if (sid == LT_STACK_NONE) {
		*id = LT_STACK_NONE;
		goto out;
	}
	struct fp_checks fp;
	uint32_t need = n;
	int known = predict_slots(fs, hi, sp, frames, n, slots, &fp, &need);

	if (known == 0 && atomic_load_explicit(&fs_full, memory_order_relaxed))
		known = -1;
	if (known == 0)
		known = learn_slots(fs, cache, b->cache_gen, b->stack_top, ret, sp,
				    frames, n, slots, &fp, need);
	if (known > 0 && (n < 2 || (slots[n - 1] + 8 - sp) / 8 <= UINT16_MAX) &&
	    r <= TAG_IP && key <= TAG_IP) {
		/* Next time the frame sizes will be known: file it where
		 * they lead (and the walk may have raised hi). */
		struct cache_tag *t = NULL;
		unsigned home;
		uint8_t *deep;

		if (by_caller && n >= 2)
			caller = frames[1];
		if (!top)
			hi = cache->hi_gen == b->cache_gen ? cache->hi : 0;
		home = set_of(r, caller, key, cache->sets);
		deep = &cache->deep[(size_t)kind * cache->sets + home];
		/* A home that sends stacks on still takes them where its
		 * own have gone stale (a new fs_epoch, a new owner). */
		if (*deep)
			t = stale_way(cache, set_ways(cache, kind, home), stamp);
		if (!t) {
			set = *deep ? deep_set(cache, fs, hi, *deep, r, sp, key) : home;
			if (*deep < CACHE_DEEP_MAX && thrashing(cache) &&
			    key_crowds(cache, set_ways(cache, kind, set), r, kd, stamp)) {
				++*deep;
				set = deep_set(cache, fs, hi, *deep, r, sp, key);
			}
			t = victim_way(cache, kind, set);
		}
		/* A way keeps its entry's units for a stack that fits them.
		 * The tag names nothing while its entry changes: a fork by
		 * another thread meanwhile leaves the child's copy of this
		 * cache (a thread there may take it over) an empty way, not
		 * a key naming another stack, or units on a free list. */
		unsigned units = entry_units(n, fp.n);
		uint64_t at = t->ret >> 48;

		t->ret = 0;
		atomic_signal_fence(memory_order_seq_cst);
		if (at && unit_entry(cache, at)->units < units) {
			pool_give(cache, at);
			at = 0;
		}
		if (!at && !(at = pool_take(cache, units))) {
			cache_clear(cache);     /* home is no longer deep */
			t = victim_way(cache, kind, home);
			at = pool_take(cache, units);
		}
		struct cache_entry *c = unit_entry(cache, at);

		c->n = (uint8_t)n;
		c->stamp = stamp;
		c->sum = stack_sum(frames, n);
		c->near = (uint32_t)stack_sum(frames, n < SUM_NEAR ? n : SUM_NEAR);
		c->id = sid;
		c->slots[0] = 0;        /* frames[0] is ret, in the sum as r */
		for (uint32_t i = 1; i < n; i++)
			c->slots[i] = (uint16_t)((slots[i] + 8 - sp) / 8);
		c->nfp = (uint8_t)fp.n;
		uint8_t *fp_at = (uint8_t *)(c->slots + n);   /* fp_frame(c) */

		memcpy(fp_at, fp.frame, fp.n);
		memcpy(fp_at + fp.n, fp.below, fp.n);
		t->key = kd;
		atomic_signal_fence(memory_order_seq_cst);
		t->ret = r | at << 48;  /* last: the way is filled */
	}
	*id = sid;
out:
	if (quiet)
		lt_unwind_quiet_end();
	return rc;
}
