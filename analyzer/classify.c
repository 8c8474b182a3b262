/*
 * The classifier of classify.h: matches each release's free-site stack
 * against its allocation's stack, frame by frame and stack pointer by stack
 * pointer, and maps the frame that was still live to the source frames the
 * report shows.  Never guesses: a release it cannot place is undecided.
 */
#include "classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define CHAIN_MAX 32     /* source frames of one address, inlined included */

struct lt_classifier {
	const struct lt_model *m;
	const struct lt_fates *fates;
	struct lt_symbolizer *sym;
	const struct lt_site **by_id;     /* every stack, sorted by id */
	size_t nby_id;
	bool free_sites;
};

static int cmp_stack_id(const void *pa, const void *pb)
{
	const struct lt_site *a = *(const struct lt_site *const *)pa;
	const struct lt_site *b = *(const struct lt_site *const *)pb;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

struct lt_classifier *lt_classifier_new(const struct lt_model *m,
					const struct lt_fates *f,
					struct lt_symbolizer *sym)
{
	struct lt_classifier *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->m = m;
	c->fates = f;
	c->sym = sym;
	c->by_id = malloc((m->nsites + 1) * sizeof(*c->by_id));
	if (!c->by_id) {
		free(c);
		return NULL;
	}
	for (size_t i = 0; i < m->nsites; i++)
		if (m->sites[i]->frames)
			c->by_id[c->nby_id++] = m->sites[i];
	qsort(c->by_id, c->nby_id, sizeof(*c->by_id), cmp_stack_id);
	/* Any free with a stack says the dump has free sites; so does a
	 * dump with no free at all. */
	c->free_sites = true;
	for (size_t i = 0; f && i < m->nsites; i++) {
		const struct lt_site_fate *sf = lt_fates_site(f, m->sites[i]);
		for (size_t k = 0; sf && k < sf->n; k++) {
			const struct lt_fate_key *key = &sf->v[k].key;
			if ((key->kind != LT_FATE_FREED &&
			     key->kind != LT_FATE_THREAD) ||
			    (key->flags & LT_FATE_BY_REALLOC))
				continue;
			if (key->stack)
				goto done;
			c->free_sites = false;
		}
	}
	return c;
done:
	c->free_sites = true;
	return c;
}

void lt_classifier_free(struct lt_classifier *c)
{
	if (!c)
		return;
	free(c->by_id);
	free(c);
}

bool lt_classifier_has_free_sites(const struct lt_classifier *c)
{
	return c->free_sites;
}

static const struct lt_site *stack_by_id(const struct lt_classifier *c,
					 uint32_t id)
{
	size_t lo = 0, hi = c->nby_id;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t v = c->by_id[mid]->stack_id;
		if (v == id)
			return c->by_id[mid];
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- the allocation's stack as source frames ---------------------------- */

struct aview {
	const uint64_t *addr;
	uint32_t n;                 /* physical frames */
	uint64_t ticks;
	struct lt_sym_frame *sf;    /* source frames, innermost first */
	bool *shown;
	size_t nsf;
	size_t *start, *len;        /* per physical frame: its source frames */
	size_t s0;                  /* the first frame the report shows */
	size_t main_at;             /* index of main, or SIZE_MAX */
};

static void aview_free(struct aview *v)
{
	free(v->sf);
	free(v->shown);
	free(v->start);
	free(v->len);
}

static bool is_main(const struct lt_sym_frame *f)
{
	return f->function && !strcmp(f->function, "main");
}

/* The same folding as the report's stacks (report.c collect_frames). */
static int aview_build(struct lt_classifier *c, const struct lt_site *s,
		       struct aview *v)
{
	struct lt_sym_frame tmp[CHAIN_MAX];
	size_t cap = 0;
	bool folding = true, past_main = false, any_shown = false;

	memset(v, 0, sizeof(*v));
	v->addr = s->frames;
	v->n = s->frames ? s->nframes : 0;
	v->ticks = s->first_ticks;
	v->main_at = SIZE_MAX;
	v->start = calloc(v->n + 1, sizeof(*v->start));
	v->len = calloc(v->n + 1, sizeof(*v->len));
	if (!v->start || !v->len)
		return -1;
	for (uint32_t i = 0; i < v->n; i++) {
		int n = lt_sym_resolve(c->sym, v->addr[i], true, v->ticks, tmp,
				       CHAIN_MAX);
		if (n < 1)
			n = 0;
		if (v->nsf + (size_t)n > cap) {
			size_t ncap = (cap ? cap * 2 : 64) + (size_t)n;
			void *a = realloc(v->sf, ncap * sizeof(*v->sf));
			void *b = a ? realloc(v->shown, ncap * sizeof(*v->shown))
				    : NULL;
			if (a)
				v->sf = a;
			if (!a || !b)
				return -1;
			v->shown = b;
			cap = ncap;
		}
		v->start[i] = v->nsf;
		v->len[i] = (size_t)n;
		for (int k = 0; k < n; k++) {
			size_t at = v->nsf++;
			v->sf[at] = tmp[k];
			v->shown[at] = false;
			if (past_main)
				continue;
			if (folding && lt_sym_is_allocator_frame(&tmp[k]))
				continue;
			folding = false;
			if (lt_report_hidden_frame(&tmp[k]))
				continue;
			v->shown[at] = true;
			if (!any_shown)
				v->s0 = at;
			any_shown = true;
			if (is_main(&tmp[k])) {
				v->main_at = at;
				past_main = true;
			}
		}
	}
	if (!any_shown) {
		/* All allocator: the report shows them whole. */
		for (size_t i = 0; i < v->nsf; i++)
			v->shown[i] = true;
		v->s0 = 0;
	}
	return 0;
}

/* The report's level of source frame t: 0 for the first frame shown, k for
 * the k-th shown frame above it; -1 past the last frame shown. */
static int level_of(const struct aview *v, size_t t)
{
	int level = 0;

	if (t <= v->s0)
		return 0;
	if (!v->shown[t] || (v->main_at != SIZE_MAX && t > v->main_at))
		return -1;
	for (size_t i = v->s0; i < t; i++)
		level += v->shown[i];
	return level;
}

/* The shown frame at level k, or NULL. */
static const struct lt_sym_frame *frame_at_level(const struct aview *v, int k)
{
	for (size_t i = v->s0; i < v->nsf; i++) {
		if (!v->shown[i])
			continue;
		if (k-- == 0)
			return &v->sf[i];
		if (v->main_at == i)
			break;
	}
	return NULL;
}

/* Modules of the C and C++ runtimes. */
static bool runtime_module(const char *module)
{
	static const char *const prefixes[] = {
		"libc.so", "ld-", "libstdc++.so", "libgcc_s.so", "libm.so",
		"libpthread.so", "libdl.so",
	};
	const char *base = module ? strrchr(module, '/') : NULL;

	base = base ? base + 1 : module;
	if (!base)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(base, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/*
 * Blocks the runtimes allocate for themselves and keep past exit, reusing
 * or reclaiming them on their own: a thread's TLS vector, stdio buffers,
 * libgcc_s loaded for thread exit (the list check.c's leak limits leave
 * out), and anything allocated with no frame of the program on the stack
 * (libstdc++'s emergency exception pool, made while libraries load).
 */
static bool runtime_frames(const struct lt_sym_frame *sf, size_t n)
{
	static const char *const names[] = {
		"_dl_allocate_tls", "_dl_allocate_tls_init", "allocate_dtv",
		"_dl_resize_dtv", "_dl_update_slotinfo", "_IO_file_doallocate",
		"__libc_unwind_link_get",
	};
	bool program = false;

	for (size_t i = 0; i < n; i++) {
		const struct lt_sym_frame *f = &sf[i];
		if (!runtime_module(f->module)) {
			if (!lt_report_hidden_frame(f))
				program = true;
			continue;
		}
		if (!f->function || !f->module ||
		    (!strstr(f->module, "libc.so") && !strstr(f->module, "/ld-")))
			continue;
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (!strcmp(f->function, names[j]))
				return true;
	}
	return n > 0 && !program;
}

static bool runtime_owned(const struct aview *v)
{
	return runtime_frames(v->sf, v->nsf);
}

bool lt_classify_runtime_owned(struct lt_classifier *c, const struct lt_site *s)
{
	struct aview a;
	bool owned;

	if (aview_build(c, s, &a) < 0) {
		aview_free(&a);
		return false;
	}
	owned = runtime_owned(&a);
	aview_free(&a);
	return owned;
}

/* The function of f, or its "module+0x..." text; "" when f is NULL. */
static void frame_name(const struct lt_sym_frame *f, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!f)
		return;
	if (f->function)
		snprintf(buf, len, "%s", f->function);
	else
		lt_sym_format(f, buf, len);
}

/* ---- matching a release ---------------------------------------------------- */

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The outermost source frame of a physical frame is its function. */
static bool same_function(const struct lt_sym_frame *a, int na,
			  const struct lt_sym_frame *b, int nb)
{
	if (na < 1 || nb < 1)
		return false;
	if (!same_str(a[na - 1].module, b[nb - 1].module))
		return false;
	if (!a[na - 1].function || !b[nb - 1].function)
		return true;   /* no symbols: the call-site match must do */
	return !strcmp(a[na - 1].function, b[nb - 1].function);
}

enum verdict_kind {
	V_LOCAL, V_ESCAPES, V_FAR, V_AFTER_MAIN, V_AMBIGUOUS, V_UNDECIDED,
};

struct verdict {
	enum verdict_kind kind;
	int level;
	const char *freer;         /* the function that called free (shown) */
	bool by_callee;
};

static bool sp_ok(const struct lt_fate_key *k, uint32_t frame, uint32_t j)
{
	if (k->flags & LT_FATE_NO_SP)
		return false;
	if (frame == 0)
		return (j == 1 ? k->sp_cmp <= 0 : k->sp_cmp < 0) &&
		       !(k->flags & LT_FATE_W_ABOVE_ALLOC);
	if (j == 1)
		return k->sp_cmp > 0 && !(k->flags & LT_FATE_W_ABOVE_FREE);
	return true;
}

/* The innermost frame of the free site that is the program's own. */
static const char *freer_of(struct lt_classifier *c, const struct lt_site *r,
			    uint64_t ticks)
{
	struct lt_sym_frame tmp[CHAIN_MAX];

	for (uint32_t i = 0; r && r->frames && i < r->nframes; i++) {
		int n = lt_sym_resolve(c->sym, r->frames[i], true, ticks, tmp,
				       CHAIN_MAX);
		for (int k = 0; k < n; k++)
			if (!lt_sym_is_allocator_frame(&tmp[k]) &&
			    !lt_report_hidden_frame(&tmp[k]))
				return tmp[k].function;
	}
	return NULL;
}

static struct verdict judge(struct lt_classifier *c, const struct aview *a,
			    const struct lt_site *r, const struct lt_fate_key *key)
{
	struct lt_sym_frame fa[CHAIN_MAX], fr[CHAIN_MAX];
	struct verdict v = { .kind = V_UNDECIDED };
	const uint64_t *R = r->frames;
	uint32_t nR = r->nframes, k = 0, j = 0;
	bool found = false;
	int na, nr, common;
	size_t target;
	const struct lt_sym_frame *at, *ft;

	v.freer = freer_of(c, r, a->ticks);
	/* Physical frame k of the allocation holds the free: r(j) = a(k+1)
	 * with equal frames above, r(j-1) in a(k)'s function. */
	for (k = 0; !found && a->n && k + 1 < a->n; k++) {
		for (j = 1; j < nR; j++) {
			bool same = true;
			if (R[j] != a->addr[k + 1])
				continue;
			for (uint32_t t = 1; j + t < nR && k + 1 + t < a->n; t++)
				if (R[j + t] != a->addr[k + 1 + t]) {
					same = false;
					break;
				}
			if (!same || !sp_ok(key, k, j))
				continue;
			na = lt_sym_resolve(c->sym, a->addr[k], true, a->ticks,
					    fa, CHAIN_MAX);
			nr = lt_sym_resolve(c->sym, R[j - 1], true, a->ticks,
					    fr, CHAIN_MAX);
			if (!same_function(fa, na, fr, nr))
				continue;
			found = true;
			break;
		}
		if (found)
			break;
	}
	/* A one-frame free site names the function that called free: it
	 * must occur once in the allocation's stack. */
	if (!found && nR == 1) {
		uint32_t hits = 0, at_k = 0;
		nr = lt_sym_resolve(c->sym, R[0], true, a->ticks, fr, CHAIN_MAX);
		for (uint32_t i = 0; i < a->n; i++) {
			na = lt_sym_resolve(c->sym, a->addr[i], true, a->ticks,
					    fa, CHAIN_MAX);
			if (fa[na - 1].function && same_function(fa, na, fr, nr)) {
				if (!hits++)
					at_k = i;
			}
		}
		if (hits == 1 && sp_ok(key, at_k, 1)) {
			k = at_k;
			j = 1;
			found = true;
		}
	}
	if (!found) {
		/* The allocating function's frame is gone when the free ran
		 * above its stack pointer, or the thread did in between. */
		if (!(key->flags & LT_FATE_NO_SP) && a->len[0] &&
		    a->s0 < a->start[0] + a->len[0] &&
		    (key->sp_cmp > 0 || (key->flags & LT_FATE_W_ABOVE_ALLOC)))
			v.kind = V_FAR;
		return v;
	}

	/* The source frame both share: inlined functions of a(k) that
	 * r(j-1) is still inside of, counted from the outermost. */
	na = lt_sym_resolve(c->sym, a->addr[k], true, a->ticks, fa, CHAIN_MAX);
	nr = lt_sym_resolve(c->sym, R[j - 1], true, a->ticks, fr, CHAIN_MAX);
	common = 0;
	while (common < na && common < nr &&
	       same_str(fa[na - 1 - common].function,
			fr[nr - 1 - common].function))
		common++;
	if (common == 0)
		common = 1;
	target = a->start[k] + a->len[k] - (size_t)common;
	if (a->len[k] == 0 || target >= a->nsf)
		return v;

	/* Freed on a line above the one that led to the allocation, in the
	 * same function: a loop's next turn, or a later call. */
	at = &a->sf[target];
	ft = &fr[nr - common];
	if (target >= a->s0 && at->line > 0 && ft->line > 0 &&
	    same_str(at->file, ft->file) && ft->line < at->line) {
		v.kind = V_AMBIGUOUS;
		return v;
	}
	v.level = level_of(a, target);
	if (v.level < 0) {
		v.kind = V_AFTER_MAIN;
	} else if (v.level == 0) {
		v.kind = V_LOCAL;
		v.by_callee = j > 1 || common < nr;
	} else {
		v.kind = V_ESCAPES;
	}
	return v;
}

/* ---- a site ------------------------------------------------------------------ */

/* The name that accounts for the most blocks in one class. */
struct vote {
	const char *name;
	double blocks;
};

static void note_vote(struct vote *best, const char *name, double blocks)
{
	if (name && blocks > best->blocks) {
		best->name = name;
		best->blocks = blocks;
	}
}

int lt_classify_site(struct lt_classifier *c, const struct lt_site *s,
		     struct lt_site_classes *out)
{
	const struct lt_model *m = c->m;
	const struct lt_site_fate *sf = c->fates ? lt_fates_site(c->fates, s)
						 : NULL;
	struct vote local = { 0 }, thread = { 0 };
	struct aview a;
	double local_callee = 0, local_self = 0;
	const struct lt_sym_frame *fn;

	memset(out, 0, sizeof(*out));
	out->site = s;
	out->fate = sf;
	out->calls = m->sampled ? s->est_calls : (double)s->calls;
	out->temporary = m->sampled ? s->est_temporary : (double)s->temporary;
	if (aview_build(c, s, &a) < 0) {
		aview_free(&a);
		return -1;
	}
	out->runtime_owned = runtime_owned(&a);
	fn = frame_at_level(&a, 0);
	frame_name(fn, out->function, sizeof(out->function));
	for (int k = 1; k <= LT_CLASS_LEVELS; k++)
		frame_name(frame_at_level(&a, k), out->level_function[k],
			   sizeof(out->level_function[k]));
	if (!sf) {
		aview_free(&a);
		return 0;
	}
	out->peak_live_blocks = sf->peak_live_blocks;
	out->overflow = sf->est_overflow;
	for (size_t i = 0; i < sf->n; i++) {
		const struct lt_fate_count *fc = &sf->v[i];
		const struct lt_fate_key *key = &fc->key;
		double b = fc->est_blocks;
		const struct lt_site *r;
		struct verdict v;

		if (key->flags & LT_FATE_CHAIN)
			out->chained += b;
		switch (key->kind) {
		case LT_FATE_LEAKED:
			out->leaked += b;
			continue;
		case LT_FATE_MOVED:
			out->moved += b;
			continue;
		case LT_FATE_THREAD:
			out->thread += b;
			r = key->stack ? stack_by_id(c, key->stack) : NULL;
			note_vote(&thread, r ? freer_of(c, r, s->first_ticks) : NULL, b);
			continue;
		default:
			break;
		}
		r = key->stack ? stack_by_id(c, key->stack) : NULL;
		if (!r || !r->frames || !r->nframes) {
			out->no_free_site += b;
			continue;
		}
		v = judge(c, &a, r, key);
		switch (v.kind) {
		case V_LOCAL:
			out->frame_local += b;
			/* A callee of the same name is recursion: itself. */
			if (v.by_callee && v.freer && out->function[0] &&
			    !strcmp(v.freer, out->function))
				v.by_callee = false;
			note_vote(&local, v.by_callee ? v.freer : NULL, b);
			if (v.by_callee)
				local_callee += b;
			else
				local_self += b;
			break;
		case V_ESCAPES:
			out->escapes[v.level < LT_CLASS_LEVELS ? v.level
						: LT_CLASS_LEVELS] += b;
			if (v.level > out->deepest_level)
				out->deepest_level = v.level;
			break;
		case V_FAR:
			out->escapes_far += b;
			break;
		case V_AFTER_MAIN:
			out->after_main += b;
			break;
		case V_AMBIGUOUS:
			out->ambiguous += b;
			break;
		case V_UNDECIDED:
			out->undecided += b;
			break;
		}
	}
	out->local_freer = local.name;
	out->local_by_callee = local_callee > local_self;
	out->thread_freer = thread.name;
	aview_free(&a);

	/* The derived classes (README "Escape classes"). */
	{
		double escaped = out->escapes_far + out->after_main;
		bool one_size = s->calls && s->min_size == s->max_size &&
				s->min_size > 0;
		for (int k = 1; k <= LT_CLASS_LEVELS; k++)
			escaped += out->escapes[k];
		out->stack_candidate = one_size &&
			s->max_size <= LT_STACK_MAX_SIZE && !s->reallocs &&
			/* A handful at a time fit local variables; many
			 * at once are a pool's business. */
			sf->peak_live_per_thread <= LT_STACK_MAX_LIVE &&
			out->frame_local > 0 &&
			out->frame_local >= LT_STACK_MIN_SHARE * out->calls &&
			escaped == 0 && out->thread == 0 && out->leaked == 0 &&
			out->moved == 0 && out->chained == 0;
		out->pool_candidate = one_size && !out->stack_candidate &&
			out->calls >= LT_POOL_MIN_CALLS && !s->reallocs &&
			out->chained == 0 &&
			out->thread + out->leaked + out->moved <=
				(1 - LT_STACK_MIN_SHARE) * out->calls &&
			(double)s->calls >= LT_POOL_MIN_REUSE *
				(double)(sf->peak_live_blocks ? sf->peak_live_blocks : 1) &&
			/* Small enough for the stack: only when the free
			 * sites showed it is not frame-local. */
			(s->min_size > LT_STACK_MAX_SIZE ||
			 out->undecided + out->no_free_site + out->overflow <=
				(1 - LT_STACK_MIN_SHARE) * out->calls) &&
			/* Handed straight back to the caller, which frees it
			 * at once: the caller's own storage is the fix. */
			!(out->temporary >= 0.5 * out->calls &&
			  out->frame_local < LT_STACK_MIN_SHARE * out->calls);
		out->additive = sf->additive_steps > 0;
	}
	return 0;
}
