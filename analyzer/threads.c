/*
 * `libtrace threads`: groups a replayed model's threads by creation site,
 * finds each site's peak concurrency, and groups the live stacks of every
 * snapshot like a goroutine dump.  Decides what is shown and in what order,
 * never what happened (that is the model's); never writes to stderr.
 */
#include "threads.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "hash.h"
#include "symbols.h"

/* ---- frames ------------------------------------------------------------- */

struct sframe {
	struct lt_sym_frame f;
	uint64_t addr;
};

struct sframes {
	struct sframe *v;
	size_t n, cap;
	size_t folded;      /* frames left out */
	bool more;          /* cut at the limit */
};

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path;
}

static bool module_is(const struct lt_sym_frame *f, const char *const *names,
		      size_t n)
{
	const char *mod = base_name(f->module);

	if (!mod)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strncmp(mod, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* libtrace.so's own frames (its thread trampoline, its exit path). */
static bool is_shim_frame(const struct lt_sym_frame *f)
{
	static const char *const shim[] = { "libtrace.so" };
	return module_is(f, shim, 1);
}

/* The C library, the dynamic linker and the C++ runtime: the program
 * called into them, and the call it made is what it waits in. */
static bool is_system_module(const struct lt_sym_frame *f)
{
	static const char *const sys[] = {
		"libc.so", "libc-2.", "ld-linux", "ld-2.", "libpthread.so",
		"libpthread-", "libstdc++.so", "libc++.so", "libc++abi.so",
	};
	return module_is(f, sys, sizeof(sys) / sizeof(sys[0]));
}

/* A system library's frame, or one of its header templates inlined into
 * the program (std::thread's constructor, condition_variable::wait). */
static bool is_system_frame(const struct lt_sym_frame *f)
{
	return is_system_module(f) ||
	       (f->file && strncmp(f->file, "/usr/include/", 13) == 0);
}

/* Frames at the bottom of every thread: process and thread start-up. */
static bool is_startup_frame(const struct lt_sym_frame *f)
{
	static const char *const names[] = {
		"_start", "__libc_start_main", "__libc_start_main_impl",
		"__libc_start_call_main", "start_thread", "clone", "clone3",
		"__clone", "__clone3", "__clone_internal",
	};

	if (!f->function)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(f->function, names[i]))
			return true;
	return false;
}

static int push(struct sframes *fs, const struct lt_sym_frame *f, uint64_t a)
{
	if (fs->n == fs->cap) {
		size_t ncap = fs->cap ? fs->cap * 2 : 16;
		void *p = realloc(fs->v, ncap * sizeof(*fs->v));
		if (!p)
			return -1;
		fs->v = p;
		fs->cap = ncap;
	}
	fs->v[fs->n++] = (struct sframe){ .f = *f, .addr = a };
	return 0;
}

enum fold { FOLD_CREATE, FOLD_LIVE };

/*
 * The source frames of a recorded stack, innermost first.  frames[0] is an
 * instruction address when first_is_pc (a live stack), a return address
 * otherwise.  Shim and start-up frames go wherever they are; below main
 * nothing is kept.  At the top, FOLD_CREATE drops the system frames that
 * called pthread_create on the program's behalf (std::thread), and
 * FOLD_LIVE keeps only the outermost of them: the call the program made.
 */
static int collect(struct lt_symbolizer *sym, const uint64_t *frames,
		   size_t n, bool first_is_pc, uint64_t ticks, enum fold how,
		   size_t limit, struct sframes *fs)
{
	struct lt_sym_frame tmp[32];
	size_t lead = 0, drop;

	memset(fs, 0, sizeof(*fs));
	for (size_t i = 0; i < n; i++) {
		int k = lt_sym_resolve(sym, frames[i], !(first_is_pc && i == 0),
				       ticks, tmp, 32);
		for (int j = 0; j < k; j++) {
			if (is_shim_frame(&tmp[j]) || is_startup_frame(&tmp[j])) {
				fs->folded++;
				continue;
			}
			if (push(fs, &tmp[j], frames[i]) < 0)
				return -1;
			if (tmp[j].function && !strcmp(tmp[j].function, "main"))
				goto done;
		}
	}
done:
	/* Below the program's last own frame: thread start-up machinery
	 * (std::thread's _M_run, execute_native_thread_routine). */
	for (size_t i = fs->n; i-- > 0;)
		if (!is_system_frame(&fs->v[i].f)) {
			fs->folded += fs->n - (i + 1);
			fs->n = i + 1;
			break;
		}
	while (lead < fs->n && is_system_frame(&fs->v[lead].f))
		lead++;
	if (how == FOLD_CREATE) {
		drop = lead < fs->n ? lead : 0;
	} else {
		/* The outermost library call of the run, not a header
		 * template around it: pthread_cond_wait, not wait<...>. */
		size_t keep = lead ? lead - 1 : 0;
		for (size_t i = lead; i-- > 0;)
			if (is_system_module(&fs->v[i].f)) {
				keep = i;
				break;
			}
		if (lead > 1) {
			fs->v[lead - 1] = fs->v[keep];
			drop = lead - 1;
		} else {
			drop = 0;
		}
	}
	if (drop) {
		memmove(fs->v, fs->v + drop, (fs->n - drop) * sizeof(*fs->v));
		fs->n -= drop;
		fs->folded += drop;
	}
	if (fs->n > limit) {
		fs->more = true;
		fs->n = limit;
	}
	return 0;
}

/* A function name as a person calls it: glibc's symbol versions and
 * internal aliases ("__GI___pthread_cond_wait", "___pthread_cond_wait",
 * "pthread_cond_wait@@GLIBC_2.3.2") come out as "pthread_cond_wait" for
 * system frames; the program's own names are shown as they are. */
static void clean_name(const struct lt_sym_frame *f, char *buf, size_t len)
{
	const char *s = f->function;
	size_t n;

	if (is_system_module(f)) {
		if (!strncmp(s, "__GI_", 5))
			s += 5;
		if (!strncmp(s, "__libc_", 7) && s[7])
			s += 7;
		while (s[0] == '_' && s[1])
			s++;
	}
	n = strcspn(s, "@");
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* "function (file:line)"; a system frame by its function's name alone:
 * where inside glibc it waits tells a reader nothing. */
static const char *frame_text(const struct lt_sym_frame *f, char *buf,
			      size_t len)
{
	if (f->function && (is_system_frame(f) || !f->file || f->line <= 0)) {
		clean_name(f, buf, len);
		return buf;
	}
	return lt_sym_format(f, buf, len);
}

/* The function of the outermost frame at addr (a function's own address:
 * not a return address), into buf; "" when unknown. */
static const char *function_at(struct lt_symbolizer *sym, uint64_t addr,
			       uint64_t ticks, char *buf, size_t len)
{
	struct lt_sym_frame tmp[32];
	int k;

	buf[0] = '\0';
	if (!addr)
		return buf;
	k = lt_sym_resolve(sym, addr, false, ticks, tmp, 32);
	if (k > 0 && tmp[k - 1].function)
		clean_name(&tmp[k - 1], buf, len);
	else if (k > 0)
		lt_sym_format(&tmp[k - 1], buf, len);
	return buf;
}

/* ---- building ----------------------------------------------------------- */

static struct lt_symbolizer *symbolizer_for(const struct lt_model *m)
{
	struct lt_symbolizer *sym = lt_sym_new();

	if (!sym)
		return NULL;
	for (size_t i = 0; i < m->nmodules; i++) {
		const struct lt_module *mod = &m->modules[i];
		lt_sym_add_module(sym, mod->path, mod->bias, mod->lo, mod->hi,
				  mod->build_id, mod->build_id_len, mod->ticks);
	}
	for (size_t i = 0; i < m->nunloads; i++)
		lt_sym_unload_module(sym, m->unloads[i].bias,
				     m->unloads[i].ticks);
	return sym;
}

/* Index of the thread with serial s in x->threads, or -1. */
static long thread_index(const struct lt_threads *x, uint32_t s)
{
	size_t lo = 0, hi = x->nthreads;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t v = x->threads[mid].t->serial;
		if (v == s)
			return (long)mid;
		if (v < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static struct lt_tsnapshot *snapshot_of(struct lt_threads *x, uint32_t number)
{
	struct lt_tsnapshot *s;
	void *v;

	for (size_t i = 0; i < x->nsnaps; i++)
		if (x->snaps[i].number == number)
			return &x->snaps[i];
	v = realloc(x->snaps, (x->nsnaps + 1) * sizeof(*x->snaps));
	if (!v)
		return NULL;
	x->snaps = v;
	s = &x->snaps[x->nsnaps++];
	*s = (struct lt_tsnapshot){ .number = number };
	return s;
}

static int add_stack(struct lt_threads *x, const struct lt_rec_thread_stack *r)
{
	struct lt_tsnapshot *s = snapshot_of(x, r->snapshot);
	void *v;

	if (!s)
		return -1;
	v = realloc(s->stacks, (s->nstacks + 1) * sizeof(*s->stacks));
	if (!v)
		return -1;
	s->stacks = v;
	s->stacks[s->nstacks++] = r;
	if (!s->marker && (!s->ticks || r->ticks < s->ticks))
		s->ticks = r->ticks;
	if (r->snapshot == 0) {
		long i = thread_index(x, r->thread);
		if (i >= 0)
			x->threads[i].exit_stack = r;
	}
	return 0;
}

/* As the index pass (dump.c): a whole step stays resident before it goes,
 * and 64 MiB of it had `threads` at 100 MiB where the replay before it
 * peaks at 43. */
#define RELEASE_STEP (4u << 20)

/*
 * One pass over the dump in file order: what each thread allocated (its
 * own stream), the live stacks and the snapshot markers (stream 0).
 * Order does not matter here, so no merge is needed.
 */
static int scan(struct lt_threads *x)
{
	const struct lt_model *m = x->model;
	const struct lt_dump *d = m->dump;
	uint64_t released = 0;

	for (size_t c = 0; c < d->nchunks; c++) {
		const struct lt_dump_chunk *ch = &d->chunks[c];
		uint64_t end = ch->offset + sizeof(struct lt_chunk_header) + ch->size;
		long ti = thread_index(x, ch->thread);
		struct lt_tinfo *self = ti >= 0 ? &x->threads[ti] : NULL;
		struct lt_dump_chunk_rd rd;
		const struct lt_rec_head *h;

		lt_dump_chunk_rd_init(&rd, d, ch);
		while ((h = lt_dump_chunk_rd_next(&rd, NULL))) {
			switch (h->type) {
			case LT_REC_ALLOC:
			case LT_REC_REALLOC: {
				uint64_t size = h->type == LT_REC_ALLOC ?
					((const struct lt_rec_alloc *)h)->size :
					((const struct lt_rec_realloc *)h)->size;
				double w = lt_model_weight(m, size);
				if (self) {
					self->allocations += w;
					self->bytes += w * (double)size;
				}
				break;
			}
			case LT_REC_FREE:
				if (self)
					self->frees++;
				break;
			case LT_REC_THREAD_STACK:
				if (add_stack(x, (const void *)h) < 0)
					return -1;
				break;
			case LT_REC_SNAPSHOT: {
				const struct lt_rec_snapshot *r = (const void *)h;
				struct lt_tsnapshot *s = snapshot_of(x, h->aux);
				if (!s)
					return -1;
				s->marker = true;
				s->ticks = r->ticks;
				break;
			}
			default:
				break;
			}
		}
		if (end - released >= RELEASE_STEP) {
			lt_dump_release(d, released, end);
			released = end;
		}
	}
	lt_dump_release(d, released, d->len);
	return 0;
}

/*
 * A site is keyed by what a reader sees: the start routine's name and the
 * creating stack as source lines.  Keying by stack id would split one
 * source line in two when the compiler unrolled the loop around it.
 */
struct site_entry {
	char *key;
	struct lt_tsite site;
	size_t cap;
	UT_hash_handle hh;
};

/* The model's site (stack) of an id, or NULL: x->stacks is sorted. */
static const struct lt_site *stack_of(const struct lt_threads *x, uint32_t id)
{
	size_t lo = 0, hi = x->nstacks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t v = x->stacks[mid]->stack_id;
		if (v == id)
			return x->stacks[mid]->frames ? x->stacks[mid] : NULL;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_stack_id(const void *pa, const void *pb)
{
	const struct lt_site *a = *(const struct lt_site *const *)pa;
	const struct lt_site *b = *(const struct lt_site *const *)pb;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

/* "start routine\nframe\nframe..." for thread t, malloc'd; NULL when
 * out of memory. */
static char *site_key(struct lt_threads *x, const struct lt_thread *t)
{
	const struct lt_site *st = t->created ? stack_of(x, t->create_stack) :
				   NULL;
	char buf[1024], *key = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&key, &len);
	struct sframes fs;

	if (!f)
		return NULL;
	/* A function has one address: no need to name it here. */
	if (t->created)
		fprintf(f, "0x%" PRIx64, t->start_routine);
	else
		fprintf(f, "?");
	if (t->created && !st)
		fprintf(f, "\nstack %u", t->create_stack);
	if (st && collect(x->sym, st->frames, st->nframes, false,
			  t->create_ticks, FOLD_CREATE, SIZE_MAX, &fs) == 0) {
		for (size_t i = 0; i < fs.n; i++)
			fprintf(f, "\n%s+%d", lt_sym_format(&fs.v[i].f, buf,
							    sizeof(buf)),
				fs.v[i].f.inlined);
		free(fs.v);
	}
	if (fclose(f) != 0) {
		free(key);
		return NULL;
	}
	return key;
}

static bool matches_any(const char *name, const char **pats, size_t n)
{
	if (!name || !*name)
		return false;
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pats[i], name, 0) == 0)
			return true;
	return false;
}

/* --ignore-top: the function the exit stack shows first, or any of the
 * system frames folded into it, matches. */
static bool top_ignored(struct lt_threads *x, const struct lt_tinfo *ti,
			const struct lt_threads_opts *o)
{
	const struct lt_rec_thread_stack *r = ti->exit_stack;
	struct lt_sym_frame tmp[32];
	size_t n;
	bool hit = false;
	char name[256];

	if (!o->nignore_top || !r || r->head.flags != LT_TSTACK_OK)
		return false;
	n = (r->head.size - sizeof(*r)) / 8;
	for (size_t i = 0; i < n && !hit; i++) {
		int k = lt_sym_resolve(x->sym, r->frames[i], i != 0, r->ticks,
				       tmp, 32);
		bool own = false;
		for (int j = 0; j < k && !hit; j++) {
			if (is_shim_frame(&tmp[j]))
				continue;
			/* Unsymbolized code matches as "module+0x1f64c". */
			if (tmp[j].function)
				clean_name(&tmp[j], name, sizeof(name));
			else
				lt_sym_format(&tmp[j], name, sizeof(name));
			hit = matches_any(name, o->ignore_top, o->nignore_top) ||
			      (tmp[j].function &&
			       matches_any(tmp[j].function, o->ignore_top,
					   o->nignore_top));
			own = !is_system_frame(&tmp[j]);
			if (own)
				break;
		}
		if (own)
			break;   /* past the top: the program's own frame */
	}
	return hit;
}

struct edge {
	uint64_t ticks;
	int delta;
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->ticks != y->ticks)
		return x->ticks < y->ticks ? -1 : 1;
	return x->delta - y->delta;   /* ends before starts at equal ticks */
}

/* The most threads of site s alive at once, and when that was first so. */
static int site_peak(struct lt_threads *x, struct lt_tsite *s)
{
	struct edge *e = malloc((2 * s->nthreads + 1) * sizeof(*e));
	size_t n = 0;
	uint64_t alive = 0;

	if (!e)
		return -1;
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct lt_thread *t = x->threads[s->threads[i]].t;
		uint64_t from = t->created ? t->create_ticks : t->start_ticks;
		e[n++] = (struct edge){ from, +1 };
		if (t->exited)
			e[n++] = (struct edge){ t->exit_ticks, -1 };
	}
	qsort(e, n, sizeof(*e), cmp_edge);
	for (size_t i = 0; i < n; i++) {
		alive += (uint64_t)(int64_t)e[i].delta;
		if (e[i].delta > 0 && alive > s->peak) {
			s->peak = alive;
			s->peak_ticks = e[i].ticks;
		}
	}
	free(e);
	return 0;
}

static int cmp_site(const void *pa, const void *pb)
{
	const struct lt_tsite *a = *(struct lt_tsite *const *)pa;
	const struct lt_tsite *b = *(struct lt_tsite *const *)pb;
	uint64_t pa_ = a->leaked + a->running_at_exit;
	uint64_t pb_ = b->leaked + b->running_at_exit;

	if (a->fanout != b->fanout)
		return a->fanout ? -1 : 1;
	if (pa_ != pb_)
		return pa_ > pb_ ? -1 : 1;
	if (a->created != b->created)
		return a->created > b->created ? -1 : 1;
	if (a->first_ticks != b->first_ticks)
		return a->first_ticks < b->first_ticks ? -1 : 1;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

static int cmp_snap(const void *pa, const void *pb)
{
	const struct lt_tsnapshot *a = pa, *b = pb;
	return a->number < b->number ? -1 : a->number > b->number;
}

static enum lt_tstate state_of(const struct lt_thread *t)
{
	if (t->is_main)
		return LT_TS_MAIN;
	if (t->joined)
		return LT_TS_JOINED;
	if (t->detached)
		return LT_TS_DETACHED;
	return t->exited ? LT_TS_LEAKED : LT_TS_RUNNING;
}

static int group_sites(struct lt_threads *x, const struct lt_threads_opts *o)
{
	struct site_entry *table = NULL, *e, *tmp;
	int rc = -1;
	char name[256];

	for (size_t i = 0; i < x->nthreads; i++) {
		struct lt_tinfo *ti = &x->threads[i];
		const struct lt_thread *t = ti->t;
		struct lt_tsite *s;
		char *key;

		ti->state = state_of(t);
		if (t->is_main)
			continue;
		key = site_key(x, t);
		if (!key)
			goto out;
		HASH_FIND(hh, table, key, strlen(key), e);
		if (e) {
			free(key);
		} else {
			e = calloc(1, sizeof(*e));
			if (!e) {
				free(key);
				goto out;
			}
			e->key = key;
			if (t->created) {
				e->site.stack_id = t->create_stack;
				e->site.start_routine = t->start_routine;
			}
			e->site.first_ticks = t->created ? t->create_ticks :
						t->start_ticks;
			lt_hash_oom = false;
			HASH_ADD_KEYPTR(hh, table, e->key, strlen(e->key), e);
			if (lt_hash_oom) {
				free(e->key);
				free(e);
				goto out;
			}
		}
		s = &e->site;
		if (s->nthreads == e->cap) {
			size_t ncap = e->cap ? e->cap * 2 : 8;
			void *v = realloc(s->threads, ncap * sizeof(*s->threads));
			if (!v)
				goto out;
			s->threads = v;
			e->cap = ncap;
		}
		s->threads[s->nthreads++] = i;
		ti->site = s;

		function_at(x->sym, t->start_routine, t->create_ticks, name,
			    sizeof(name));
		ti->ignored = matches_any(name, o->ignore_start,
					  o->nignore_start) ||
			      top_ignored(x, ti, o);
		s->created++;
		s->joined += t->joined;
		s->detached += t->detached;
		s->cancelled += t->cancelled;
		s->allocations += ti->allocations;
		s->bytes += ti->bytes;
		s->frees += ti->frees;
		if (t->detached && !t->exited)
			s->detached_running++;
		if (ti->ignored) {
			s->ignored++;
			x->ignored++;
		} else if (ti->state == LT_TS_LEAKED) {
			s->leaked++;
			x->leaked++;
		} else if (ti->state == LT_TS_RUNNING) {
			s->running_at_exit++;
			x->running_at_exit++;
		}
	}

	x->sites = malloc((HASH_COUNT(table) + 1) * sizeof(*x->sites));
	if (!x->sites)
		goto out;
	HASH_ITER(hh, table, e, tmp) {
		/* The site now belongs to x: the entry is freed, not it. */
		struct lt_tsite *s = malloc(sizeof(*s));
		if (!s)
			goto out;
		*s = e->site;
		e->site.threads = NULL;
		for (size_t i = 0; i < s->nthreads; i++)
			x->threads[s->threads[i]].site = s;
		x->sites[x->nsites++] = s;
		if (site_peak(x, s) < 0)
			goto out;
		s->fanout = s->peak > x->fanout_limit;
		x->fanout_sites += s->fanout;
	}
	qsort(x->sites, x->nsites, sizeof(*x->sites), cmp_site);
	for (size_t i = 0; i < x->nsites; i++)
		x->sites[i]->number = (unsigned)i + 1;
	rc = 0;
out:
	HASH_ITER(hh, table, e, tmp) {
		HASH_DEL(table, e);
		free(e->site.threads);
		free(e->key);
		free(e);
	}
	return rc;
}

int lt_threads_build(const struct lt_model *m, const struct lt_threads_opts *o,
		     struct lt_threads **out, struct lt_err *err)
{
	struct lt_threads *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		goto oom;
	x->model = m;
	x->sampled = m->sampled;
	x->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (x->cpus < 1)
		x->cpus = 1;
	x->fanout_default = o->fanout_limit == 0;
	x->fanout_limit = o->fanout_limit ? o->fanout_limit :
			  4 * (uint64_t)x->cpus;
	x->sym = symbolizer_for(m);
	x->threads = calloc(m->nthreads + 1, sizeof(*x->threads));
	if (!x->sym || !x->threads)
		goto oom;
	x->nthreads = m->nthreads;
	for (size_t i = 0; i < m->nthreads; i++)
		x->threads[i].t = m->threads[i];
	x->stacks = malloc((m->nsites + 1) * sizeof(*x->stacks));
	if (!x->stacks)
		goto oom;
	memcpy(x->stacks, m->sites, m->nsites * sizeof(*x->stacks));
	x->nstacks = m->nsites;
	qsort(x->stacks, x->nstacks, sizeof(*x->stacks), cmp_stack_id);
	if (scan(x) < 0 || group_sites(x, o) < 0)
		goto oom;
	if (x->nsnaps)   /* qsort's array may not be NULL, even empty */
		qsort(x->snaps, x->nsnaps, sizeof(*x->snaps), cmp_snap);
	*out = x;
	return 0;
oom:
	lt_threads_free(x);
	return lt_err_set(err, "%s: out of memory", m->dump->path);
}

void lt_threads_free(struct lt_threads *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nsites; i++) {
		free(x->sites[i]->threads);
		free(x->sites[i]);
	}
	for (size_t i = 0; i < x->nsnaps; i++)
		free(x->snaps[i].stacks);
	free(x->sites);
	free(x->snaps);
	free(x->threads);
	free(x->stacks);
	lt_sym_free(x->sym);
	free(x);
}

/* ---- live stack groups -------------------------------------------------- */

struct group {
	char *key;                  /* status and frames, as shown */
	uint8_t status;
	const struct lt_rec_thread_stack *first;
	size_t n, cap;
	const struct lt_rec_thread_stack **members;
};

struct groups {
	struct group *v;
	size_t n;
	size_t hidden;              /* ignored threads left out */
};

static size_t stack_frames(const struct lt_rec_thread_stack *r)
{
	return (r->head.size - sizeof(*r)) / 8;
}

const char *lt_threads_stack_line(struct lt_threads *x,
				  const struct lt_rec_thread_stack *r,
				  unsigned max, char *buf, size_t len)
{
	struct sframes fs;
	size_t at = 0;
	char f[1024];

	buf[0] = '\0';
	if (r->head.flags == LT_TSTACK_UNAVAILABLE) {
		snprintf(buf, len, "stack unavailable (the thread did not "
			 "answer in time: it blocks signals or is stopped)");
		return buf;
	}
	if (r->head.flags == LT_TSTACK_BUSY) {
		snprintf(buf, len, "stack unavailable (the thread was inside "
			 "libtrace)");
		return buf;
	}
	if (r->head.flags != LT_TSTACK_OK) {
		snprintf(buf, len, "stack unavailable (status %u)",
			 r->head.flags);
		return buf;
	}
	if (collect(x->sym, r->frames, stack_frames(r), true, r->ticks,
		    FOLD_LIVE, max ? max : SIZE_MAX, &fs) < 0) {
		snprintf(buf, len, "(out of memory symbolizing)");
		return buf;
	}
	if (fs.n == 0)
		snprintf(buf, len, "(no frames recorded)");
	for (size_t i = 0; i < fs.n && at < len; i++) {
		int w = snprintf(buf + at, len - at, "%s%s%s", i ? " \u2190 " : "",
				 frame_text(&fs.v[i].f, f, sizeof(f)),
				 fs.v[i].f.inlined ? " [inlined]" : "");
		if (w > 0)
			at += (size_t)w;
	}
	if (fs.more && at < len)
		snprintf(buf + at, len - at, " \u2190 ...");
	free(fs.v);
	return buf;
}

static void free_groups(struct groups *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].key);
		free(g->v[i].members);
	}
	free(g->v);
	memset(g, 0, sizeof(*g));
}

static int cmp_group(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;

	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return a->first->thread < b->first->thread ? -1 :
	       a->first->thread > b->first->thread;
}

static int cmp_member(const void *pa, const void *pb)
{
	const struct lt_rec_thread_stack *a = *(const void *const *)pa;
	const struct lt_rec_thread_stack *b = *(const void *const *)pb;
	return a->thread < b->thread ? -1 : a->thread > b->thread;
}

/* Threads whose stacks read the same, biggest group first.  Each key is
 * the whole folded stack, so groups never merge on a cut line. */
static int group_stacks(struct lt_threads *x, const struct lt_tsnapshot *s,
			struct groups *g)
{
	static char line[16384];

	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < s->nstacks; i++) {
		const struct lt_rec_thread_stack *r = s->stacks[i];
		long ti = thread_index(x, r->thread);
		struct group *grp = NULL;

		if (ti >= 0 && x->threads[ti].ignored) {
			g->hidden++;
			continue;
		}
		lt_threads_stack_line(x, r, 0, line, sizeof(line));
		for (size_t k = 0; k < g->n; k++)
			if (g->v[k].status == r->head.flags &&
			    !strcmp(g->v[k].key, line)) {
				grp = &g->v[k];
				break;
			}
		if (!grp) {
			void *v = realloc(g->v, (g->n + 1) * sizeof(*g->v));
			if (!v)
				goto oom;
			g->v = v;
			grp = &g->v[g->n];
			*grp = (struct group){ .status = r->head.flags,
					       .first = r };
			grp->key = strdup(line);
			if (!grp->key)
				goto oom;
			g->n++;
		}
		if (grp->n == grp->cap) {
			size_t ncap = grp->cap ? grp->cap * 2 : 4;
			void *v = realloc(grp->members,
					  ncap * sizeof(*grp->members));
			if (!v)
				goto oom;
			grp->members = v;
			grp->cap = ncap;
		}
		grp->members[grp->n++] = r;
		if (r->thread < grp->first->thread)
			grp->first = r;
	}
	for (size_t k = 0; k < g->n; k++)
		qsort(g->v[k].members, g->v[k].n, sizeof(*g->v[k].members),
		      cmp_member);
	if (g->n)
		qsort(g->v, g->n, sizeof(*g->v), cmp_group);
	return 0;
oom:
	free_groups(g);
	return -1;
}

/* Threads alive at the snapshot that have no stack in it: they ended
 * while it was taken, or the dump lost the record. */
static size_t missing_at(const struct lt_threads *x,
			 const struct lt_tsnapshot *s, size_t *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < x->nthreads; i++) {
		const struct lt_thread *t = x->threads[i].t;
		uint64_t from = t->created ? t->create_ticks : t->start_ticks;
		bool alive, has = false;

		if (x->threads[i].ignored)
			continue;
		if (s->number == 0)
			alive = !t->exited;
		else
			alive = (t->is_main || from <= s->ticks) &&
				(!t->exited || t->exit_ticks > s->ticks) &&
				t->started;
		if (!alive)
			continue;
		for (size_t k = 0; k < s->nstacks && !has; k++)
			has = s->stacks[k]->thread == t->serial;
		if (has)
			continue;
		if (n < max)
			out[n] = i;
		n++;
	}
	return n;
}

/* ---- text ----------------------------------------------------------------- */

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static const char *state_word(enum lt_tstate s)
{
	switch (s) {
	case LT_TS_MAIN:     return "main";
	case LT_TS_JOINED:   return "joined";
	case LT_TS_DETACHED: return "detached";
	case LT_TS_LEAKED:   return "leaked";
	case LT_TS_RUNNING:  return "running at exit";
	}
	return "?";
}

static void print_thread_ref(FILE *out, struct lt_threads *x, size_t i,
			     bool with_site)
{
	const struct lt_tinfo *ti = &x->threads[i];
	const struct lt_thread *t = ti->t;

	fprintf(out, "#%u", t->serial);
	if (t->name[0])
		fprintf(out, " \"%s\"", t->name);
	if (t->tid)
		fprintf(out, " tid %u", t->tid);
	if (t->is_main)
		fprintf(out, " (main)");
	else if (with_site && ti->site)
		fprintf(out, " (site #%u, %s)", ti->site->number,
			state_word(ti->state));
}

/* The start routine as a reader knows it: a library's own trampoline
 * (std::thread starts every thread in libstdc++) says whose it is. */
static void start_name(struct lt_threads *x, const struct lt_tsite *s,
		       char *buf, size_t len)
{
	struct lt_sym_frame tmp[32];
	int k = lt_sym_resolve(x->sym, s->start_routine, false, s->first_ticks,
			       tmp, 32);

	if (k > 0 && is_system_module(&tmp[k - 1])) {
		const char *mod = base_name(tmp[k - 1].module);
		snprintf(buf, len, "%s", !strncmp(mod, "libstdc++", 9) ?
			 "std::thread" : mod);
		return;
	}
	function_at(x->sym, s->start_routine, s->first_ticks, buf, len);
}

/* "worker_main from start_pool (pool.c:80)": the start routine and the
 * innermost frame that created the site's threads. */
static void site_title(struct lt_threads *x, const struct lt_tsite *s,
		       char *buf, size_t len)
{
	const struct lt_site *st = stack_of(x, s->stack_id);
	char fn[256], where[512] = "";
	struct sframes fs;

	if (!s->start_routine) {
		snprintf(buf, len, "unknown start routine (created before "
			 "tracing, or not through pthread_create)");
		return;
	}
	start_name(x, s, fn, sizeof(fn));
	if (st && collect(x->sym, st->frames, st->nframes, false,
			  s->first_ticks, FOLD_CREATE, 1, &fs) == 0) {
		if (fs.n)
			frame_text(&fs.v[0].f, where, sizeof(where));
		free(fs.v);
	}
	snprintf(buf, len, "%s%s%s", fn[0] ? fn : "?", where[0] ? " from " : "",
		 where);
}

static void print_create_stack(FILE *out, struct lt_threads *x,
			       const struct lt_tsite *s, unsigned max)
{
	const struct lt_site *site = stack_of(x, s->stack_id);
	struct sframes fs;
	char buf[1024];

	if (s->stack_id == LT_STACK_NONE || !site) {
		fprintf(out, "        created at  (%s)\n",
			s->stack_id == LT_STACK_NONE ? "no stack recorded" :
			"stack not in the dump");
		return;
	}
	if (collect(x->sym, site->frames, site->nframes, false,
		    s->first_ticks, FOLD_CREATE, max, &fs) < 0) {
		fprintf(out, "        created at  (out of memory)\n");
		return;
	}
	for (size_t i = 0; i < fs.n; i++)
		fprintf(out, "        %s  %s%s\n", i ? "          " : "created at",
			frame_text(&fs.v[i].f, buf, sizeof(buf)),
			fs.v[i].f.inlined ? " [inlined]" : "");
	if (fs.more)
		fprintf(out, "                    ...\n");
	free(fs.v);
}

static void print_site(FILE *out, struct lt_threads *x,
		       const struct lt_tsite *s, const struct lt_threads_opts *o)
{
	const struct lt_model *m = x->model;
	const char *est = x->sampled ? "~" : "";
	char title[1024], a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF];
	char e[LT_FMT_BUF];
	size_t shown = 0;

	site_title(x, s, title, sizeof(title));
	fprintf(out, "  #%u  %s: %s created, peak %s at once", s->number, title,
		lt_fmt_count(a, s->created), lt_fmt_count(b, s->peak));
	if (s->created)
		fprintf(out, " at %s", lt_fmt_duration(c,
			lt_model_seconds(m, s->peak_ticks)));
	fprintf(out, "%s\n", s->fanout ? "  [unbounded fan-out]" : "");
	fprintf(out, "        %s joined, %s detached, %s leaked, %s running "
		"at exit", lt_fmt_count(a, s->joined),
		lt_fmt_count(b, s->detached), lt_fmt_count(c, s->leaked),
		lt_fmt_count(e, s->running_at_exit));
	if (s->detached_running)
		fprintf(out, " (+%s detached still running)",
			lt_fmt_count(a, s->detached_running));
	if (s->cancelled)
		fprintf(out, ", %s cancelled", lt_fmt_count(a, s->cancelled));
	if (s->ignored)
		fprintf(out, ", %s ignored", lt_fmt_count(a, s->ignored));
	fprintf(out, "\n        allocated   %s%s call%s, %s%s", est,
		lt_fmt_count_f(a, s->allocations),
		/* Not a cast: an estimate may exceed 2^64 (UB to convert). */
		plural(s->allocations >= 0.5 && s->allocations < 1.5 ? 1 : 0), est,
		lt_fmt_bytes_f(b, s->bytes));
	if (!x->sampled)
		fprintf(out, ", %s free%s", lt_fmt_count(c, s->frees),
			plural(s->frees));
	fprintf(out, "\n");
	print_create_stack(out, x, s, o->frames ? o->frames : 8);
	fprintf(out, "        threads     ");
	for (size_t i = 0; i < s->nthreads && shown < 6; i++, shown++) {
		fprintf(out, "%s", i ? ", " : "");
		print_thread_ref(out, x, s->threads[i], false);
		if (x->threads[s->threads[i]].state != LT_TS_JOINED)
			fprintf(out, " %s", state_word(x->threads[s->threads[i]].state));
	}
	if (s->nthreads > shown)
		fprintf(out, ", ... %zu more", s->nthreads - shown);
	fprintf(out, "\n");
}

static int print_snapshot(FILE *out, struct lt_threads *x,
			  const struct lt_tsnapshot *s,
			  const struct lt_threads_opts *o)
{
	const struct lt_model *m = x->model;
	struct groups g;
	size_t missing[8], nmiss;
	char a[LT_FMT_BUF];
	static char line[16384];

	if (group_stacks(x, s, &g) < 0)
		return -1;
	if (s->number == 0)
		fprintf(out, "\nLive stacks at exit, %s (%zu thread%s)\n",
			lt_fmt_duration(a, lt_model_seconds(m, s->ticks)),
			s->nstacks - g.hidden, plural(s->nstacks - g.hidden));
	else
		fprintf(out, "\nLive stacks at snapshot %u, %s (%zu thread%s)%s\n",
			s->number,
			lt_fmt_duration(a, lt_model_seconds(m, s->ticks)),
			s->nstacks - g.hidden, plural(s->nstacks - g.hidden),
			s->marker ? "" : " [incomplete: the dump ends in it]");
	for (size_t k = 0; k < g.n; k++) {
		const struct group *grp = &g.v[k];
		size_t shown = 0;
		lt_threads_stack_line(x, grp->first, o->frames ? o->frames : 8,
				      line, sizeof(line));
		fprintf(out, "  %zu thread%s: %s\n", grp->n, plural(grp->n),
			line);
		fprintf(out, "      ");
		for (size_t i = 0; i < grp->n && shown < 8; i++, shown++) {
			long ti = thread_index(x, grp->members[i]->thread);
			fprintf(out, "%s", i ? ", " : "");
			if (ti >= 0)
				print_thread_ref(out, x, (size_t)ti, true);
			else
				fprintf(out, "#%u tid %u", grp->members[i]->thread,
					grp->members[i]->tid);
		}
		if (grp->n > shown)
			fprintf(out, ", ... %zu more", grp->n - shown);
		fprintf(out, "\n");
	}
	nmiss = missing_at(x, s, missing, 8);
	if (nmiss) {
		fprintf(out, "  %zu thread%s alive then with no stack recorded "
			"(ended while it was taken?): ", nmiss, plural(nmiss));
		for (size_t i = 0; i < nmiss && i < 8; i++) {
			fprintf(out, "%s", i ? ", " : "");
			print_thread_ref(out, x, missing[i], true);
		}
		fprintf(out, "%s\n", nmiss > 8 ? ", ..." : "");
	}
	if (g.hidden)
		fprintf(out, "  (%zu ignored thread%s not shown)\n", g.hidden,
			plural(g.hidden));
	free_groups(&g);
	return 0;
}

static void print_findings(FILE *out, struct lt_threads *x)
{
	const struct lt_model *m = x->model;
	char title[1024], a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF];
	const char *upto = m->dump->truncated ? " (where the dump ends)" : "";

	if (!x->fanout_sites && !x->leaked && !x->running_at_exit) {
		fprintf(out, "\nNo thread problems: no unbounded fan-out, no "
			"leaked thread, none running at exit%s.\n", upto);
		return;
	}
	fprintf(out, "\nProblems\n");
	for (size_t i = 0; i < x->nsites; i++) {
		const struct lt_tsite *s = x->sites[i];
		site_title(x, s, title, sizeof(title));
		if (s->fanout)
			fprintf(out, "  unbounded fan-out: %s threads of %s "
				"(site #%u) alive at once at %s, over the "
				"limit of %" PRIu64 " (%s created in all)\n",
				lt_fmt_count(a, s->peak), title, s->number,
				lt_fmt_duration(b, lt_model_seconds(m,
						s->peak_ticks)),
				x->fanout_limit, lt_fmt_count(c, s->created));
		if (s->leaked)
			fprintf(out, "  leaked: %s thread%s of %s (site #%u) "
				"finished, never joined, not detached\n",
				lt_fmt_count(a, s->leaked), plural(s->leaked),
				title, s->number);
		if (s->running_at_exit)
			fprintf(out, "  running at exit%s: %s thread%s of %s "
				"(site #%u), not detached\n", upto,
				lt_fmt_count(a, s->running_at_exit),
				plural(s->running_at_exit), title, s->number);
	}
}

static void print_text(FILE *out, struct lt_threads *x,
		       const struct lt_threads_opts *o)
{
	const struct lt_model *m = x->model;
	const struct lt_dump *d = m->dump;
	const struct lt_totals *t = &m->totals;
	char a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF], e[LT_FMT_BUF];
	const char *w;
	size_t i = 0;

	fprintf(out, "libtrace threads: %s\n  program     ", d->path);
	while (i < d->cmdline_len) {
		size_t n = strnlen(d->cmdline + i, d->cmdline_len - i);
		fprintf(out, "%s%.*s", i ? " " : "", (int)n, d->cmdline + i);
		i += n + 1;
	}
	fprintf(out, "\n  process     pid %u\n", d->hdr->pid);
	fprintf(out, "  threads     %s created, peak %s running (main "
		"included), %s joined, %s detached\n",
		lt_fmt_count(a, t->threads_created),
		lt_fmt_count(b, t->peak_threads),
		lt_fmt_count(c, t->threads_joined),
		lt_fmt_count(e, t->threads_detached));
	fprintf(out, "              %s leaked (finished, never joined or "
		"detached), %s running at exit", lt_fmt_count(a, x->leaked),
		lt_fmt_count(b, x->running_at_exit));
	if (x->ignored)
		fprintf(out, ", %s ignored", lt_fmt_count(c, x->ignored));
	fprintf(out, "\n  fan-out     flagged above %" PRIu64 " threads of one "
		"site at once", x->fanout_limit);
	if (x->fanout_default)
		fprintf(out, " (4 x %ld online CPU%s here; --fanout-limit)",
			x->cpus, plural((uint64_t)x->cpus));
	fprintf(out, "\n");
	if (d->truncated)
		fprintf(out, "  warning: the dump is truncated (%s); threads "
			"still running where it ends count as running at "
			"exit\n", d->truncation);
	for (size_t k = 0; k < m->nwarnings; k++)
		fprintf(out, "  warning: %s\n", m->warnings[k]);

	print_findings(out, x);

	if (x->nsites) {
		fprintf(out, "\nCreation sites (%zu), problems first\n",
			x->nsites);
		for (size_t k = 0; k < x->nsites; k++)
			print_site(out, x, x->sites[k], o);
	}

	if (x->nsnaps == 0 || x->snaps[0].number != 0)
		fprintf(out, "\nNo live stacks at exit%s.\n", d->truncated ?
			" (the dump is truncated)" : " in this dump");
	for (size_t k = 0; k < x->nsnaps; k++)
		if (print_snapshot(out, x, &x->snaps[k], o) < 0)
			return;
	w = lt_sym_warnings(x->sym);
	if (*w) {
		fprintf(out, "\nSymbol notes:\n");
		for (const char *p = w; *p;) {
			size_t n = strcspn(p, "\n");
			fprintf(out, "  %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
}

/* ---- JSON ------------------------------------------------------------------ */

static uint64_t est_u64(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= 18446744073709549568.0)
		return UINT64_MAX;
	return (uint64_t)(v + 0.5);
}

static void json_frames(FILE *out, const struct sframes *fs)
{
	char name[256];

	fprintf(out, "[");
	for (size_t i = 0; i < fs->n; i++) {
		const struct lt_sym_frame *f = &fs->v[i].f;
		fprintf(out, "%s{\"address\": \"0x%" PRIx64 "\", \"function\": ",
			i ? ", " : "", fs->v[i].addr);
		if (f->function) {
			clean_name(f, name, sizeof(name));
			lt_json_cstr(out, name);
		} else {
			fprintf(out, "null");
		}
		fprintf(out, ", \"file\": ");
		lt_json_cstr(out, f->file);
		fprintf(out, ", \"line\": %d, \"module\": ", f->line);
		lt_json_cstr(out, f->module);
		fprintf(out, ", \"inlined\": %s}", f->inlined ? "true" : "false");
	}
	fprintf(out, "]");
}

static void json_seconds(FILE *out, const struct lt_model *m, uint64_t ticks)
{
	double s = lt_model_seconds(m, ticks);

	if (s < 0)
		fprintf(out, "null");
	else
		fprintf(out, "%.9f", s);
}

static void json_site(FILE *out, struct lt_threads *x, const struct lt_tsite *s)
{
	const struct lt_site *site = stack_of(x, s->stack_id);
	struct sframes fs;
	char fn[256];

	fprintf(out, "    {\"site\": %u, \"stack_id\": %u, \"start_routine\": "
		"{\"address\": \"0x%" PRIx64 "\", \"function\": ", s->number,
		s->stack_id, s->start_routine);
	function_at(x->sym, s->start_routine, s->first_ticks, fn, sizeof(fn));
	if (fn[0])
		lt_json_cstr(out, fn);
	else
		fprintf(out, "null");
	fprintf(out, "}, \"created_at\": ");
	if (s->stack_id != LT_STACK_NONE && site &&
	    collect(x->sym, site->frames, site->nframes, false, s->first_ticks,
		    FOLD_CREATE, SIZE_MAX, &fs) == 0) {
		json_frames(out, &fs);
		free(fs.v);
	} else {
		fprintf(out, "[]");
	}
	fprintf(out, ", \"created\": %" PRIu64 ", \"peak_concurrent\": %"
		PRIu64 ", \"peak_seconds\": ", s->created, s->peak);
	json_seconds(out, x->model, s->peak_ticks);
	fprintf(out, ", \"joined\": %" PRIu64 ", \"detached\": %" PRIu64
		", \"leaked\": %" PRIu64 ", \"running_at_exit\": %" PRIu64
		", \"detached_running_at_exit\": %" PRIu64
		", \"cancelled\": %" PRIu64 ", \"ignored\": %" PRIu64
		", \"unbounded_fanout\": %s, \"allocations\": %" PRIu64
		", \"bytes_allocated\": %" PRIu64 ", \"frees\": ",
		s->joined, s->detached, s->leaked, s->running_at_exit,
		s->detached_running, s->cancelled, s->ignored,
		s->fanout ? "true" : "false", est_u64(s->allocations),
		est_u64(s->bytes));
	if (x->sampled)
		fprintf(out, "null");
	else
		fprintf(out, "%" PRIu64, s->frees);
	fprintf(out, ", \"threads\": [");
	for (size_t i = 0; i < s->nthreads; i++)
		fprintf(out, "%s%u", i ? ", " : "",
			x->threads[s->threads[i]].t->serial);
	fprintf(out, "]}");
}

static void json_thread(FILE *out, struct lt_threads *x, size_t i)
{
	const struct lt_tinfo *ti = &x->threads[i];
	const struct lt_thread *t = ti->t;
	static const char *const how[] = { "unknown", "return", "pthread_exit",
					   "cancel" };

	fprintf(out, "    {\"thread\": %u, \"tid\": %u, \"name\": ", t->serial,
		t->tid);
	if (t->name[0])
		lt_json_cstr(out, t->name);
	else
		fprintf(out, "null");
	fprintf(out, ", \"site\": ");
	if (ti->site)
		fprintf(out, "%u", ti->site->number);
	else
		fprintf(out, "null");
	fprintf(out, ", \"creator\": %u, \"state\": \"%s\", \"main\": %s, "
		"\"joined\": %s, \"detached\": %s, \"cancelled\": %s, "
		"\"ignored\": %s, \"created_seconds\": ", t->creator,
		state_word(ti->state), t->is_main ? "true" : "false",
		t->joined ? "true" : "false", t->detached ? "true" : "false",
		t->cancelled ? "true" : "false", ti->ignored ? "true" : "false");
	if (t->created)
		json_seconds(out, x->model, t->create_ticks);
	else
		fprintf(out, "null");
	fprintf(out, ", \"exited_seconds\": ");
	if (t->exited)
		json_seconds(out, x->model, t->exit_ticks);
	else
		fprintf(out, "null");
	fprintf(out, ", \"exit\": ");
	if (t->exited)
		fprintf(out, "\"%s\"", how[t->exit_how < 4 ? t->exit_how : 0]);
	else
		fprintf(out, "null");
	fprintf(out, ", \"allocations\": %" PRIu64 ", \"bytes_allocated\": %"
		PRIu64 ", \"frees\": ", est_u64(ti->allocations),
		est_u64(ti->bytes));
	if (x->sampled)
		fprintf(out, "null}");
	else
		fprintf(out, "%" PRIu64 "}", ti->frees);
}

static int json_snapshot(FILE *out, struct lt_threads *x,
			 const struct lt_tsnapshot *s)
{
	static const char *const status[] = { "ok", "unavailable", "busy" };
	static char line[16384];
	size_t missing[64], nmiss;
	struct groups g;

	if (group_stacks(x, s, &g) < 0)
		return -1;
	fprintf(out, "    {\"snapshot\": %u, \"at\": \"%s\", \"seconds\": ",
		s->number, s->number ? "snapshot" : "exit");
	json_seconds(out, x->model, s->ticks);
	fprintf(out, ", \"complete\": %s, \"threads\": %zu, \"ignored\": %zu, "
		"\"groups\": [", s->marker || s->number == 0 ? "true" : "false",
		s->nstacks - g.hidden, g.hidden);
	for (size_t k = 0; k < g.n; k++) {
		const struct group *grp = &g.v[k];
		const struct lt_rec_thread_stack *r = grp->first;
		struct sframes fs = { 0 };

		lt_threads_stack_line(x, r, 0, line, sizeof(line));
		fprintf(out, "%s\n      {\"count\": %zu, \"status\": \"%s\", "
			"\"summary\": ", k ? "," : "", grp->n,
			r->head.flags < 3 ? status[r->head.flags] : "unknown");
		lt_json_cstr(out, line);
		fprintf(out, ", \"frames\": ");
		if (r->head.flags == LT_TSTACK_OK &&
		    collect(x->sym, r->frames, stack_frames(r), true, r->ticks,
			    FOLD_LIVE, SIZE_MAX, &fs) == 0) {
			json_frames(out, &fs);
			free(fs.v);
		} else {
			fprintf(out, "[]");
		}
		fprintf(out, ", \"threads\": [");
		for (size_t i = 0; i < grp->n; i++)
			fprintf(out, "%s%u", i ? ", " : "",
				grp->members[i]->thread);
		fprintf(out, "]}");
	}
	fprintf(out, "%s], \"missing\": [", g.n ? "\n    " : "");
	nmiss = missing_at(x, s, missing, 64);
	for (size_t i = 0; i < nmiss && i < 64; i++)
		fprintf(out, "%s%u", i ? ", " : "",
			x->threads[missing[i]].t->serial);
	fprintf(out, "]}");
	free_groups(&g);
	return 0;
}

static int print_json(FILE *out, struct lt_threads *x)
{
	const struct lt_model *m = x->model;
	const struct lt_dump *d = m->dump;
	const struct lt_totals *t = &m->totals;

	fprintf(out, "{\n  \"dump\": {\"path\": ");
	lt_json_cstr(out, d->path);
	fprintf(out, ", \"pid\": %u, \"exe\": ", d->hdr->pid);
	lt_json_string(out, d->exe, d->exe_len);
	fprintf(out, "},\n  \"truncated\": %s,\n  \"sampled\": %s,\n",
		d->truncated ? "true" : "false", m->sampled ? "true" : "false");
	fprintf(out, "  \"fanout_limit\": %" PRIu64 ", \"fanout_limit_from\": "
		"\"%s\", \"online_cpus\": %ld,\n", x->fanout_limit,
		x->fanout_default ? "cpus" : "option", x->cpus);
	fprintf(out, "  \"totals\": {\"threads_created\": %" PRIu64
		", \"threads_joined\": %" PRIu64 ", \"threads_detached\": %"
		PRIu64 ", \"threads_leaked\": %" PRIu64
		", \"threads_running_at_exit\": %" PRIu64
		", \"peak_threads\": %" PRIu64 ", \"threads_ignored\": %" PRIu64
		", \"unbounded_fanout_sites\": %" PRIu64 ", \"snapshots\": %"
		PRIu64 "},\n", t->threads_created, t->threads_joined,
		t->threads_detached, x->leaked, x->running_at_exit,
		t->peak_threads, x->ignored, x->fanout_sites, m->snapshots);
	fprintf(out, "  \"warnings\": [");
	for (size_t k = 0; k < m->nwarnings; k++) {
		fprintf(out, "%s", k ? ", " : "");
		lt_json_cstr(out, m->warnings[k]);
	}
	fprintf(out, "],\n  \"sites\": [");
	for (size_t k = 0; k < x->nsites; k++) {
		fprintf(out, "%s\n", k ? "," : "");
		json_site(out, x, x->sites[k]);
	}
	fprintf(out, "%s],\n  \"threads\": [", x->nsites ? "\n  " : "");
	for (size_t k = 0; k < x->nthreads; k++) {
		fprintf(out, "%s\n", k ? "," : "");
		json_thread(out, x, k);
	}
	fprintf(out, "%s],\n  \"live_stacks\": [", x->nthreads ? "\n  " : "");
	for (size_t k = 0; k < x->nsnaps; k++) {
		fprintf(out, "%s\n", k ? "," : "");
		if (json_snapshot(out, x, &x->snaps[k]) < 0)
			return -1;
	}
	fprintf(out, "%s]\n}\n", x->nsnaps ? "\n  " : "");
	return 0;
}

/* ---- entry points ---------------------------------------------------------- */

int lt_threads_print(FILE *out, struct lt_threads *x,
		     const struct lt_threads_opts *o, struct lt_err *err)
{
	int rc = 0;

	if (o->json) {
		if (print_json(out, x) < 0)
			rc = lt_err_set(err, "%s: out of memory",
					x->model->dump->path);
	} else {
		print_text(out, x, o);
	}
	if (fflush(out) != 0 || ferror(out))
		rc = lt_err_set(err, "cannot write the report: output error");
	return rc;
}

int lt_threads_path(FILE *out, const char *path,
		    const struct lt_threads_opts *o, struct lt_err *err)
{
	struct lt_dump *d;
	struct lt_model *m;
	struct lt_threads *x;
	int rc;

	if (lt_dump_open(path, &d, err) < 0)
		return -1;
	if (lt_model_build(d, o->progress, o->progress_ctx, &m, err) < 0) {
		lt_dump_close(d);
		return -1;
	}
	rc = lt_threads_build(m, o, &x, err);
	if (rc == 0) {
		rc = lt_threads_print(out, x, o, err);
		lt_threads_free(x);
	}
	lt_model_free(m);
	lt_dump_close(d);
	return rc;
}
