/*
 * `libtrace export --format pprof`: a gzip-compressed profile.proto (the
 * format of github.com/google/pprof, proto/profile.proto), written here
 * with pb.h and zlib.  Pre-symbolized: every Location carries its Lines
 * (inlined frames first, as the format orders them), every Mapping says
 * so, so pprof never goes looking for the binaries.  Two profiles: the
 * heap (Go's four heap sample types) and threads (creation stacks like
 * Go's threadcreate profile, and the live stacks of every snapshot).
 */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hash.h"
#include "pb.h"
#include "symbols.h"

/* profile.proto field numbers. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
	MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4, MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9, MAPPING_HAS_INLINE_FRAMES = 10,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
};

#define MAX_VALUES 4
#define MAX_LABELS 4

struct str_entry {
	char *s;
	uint64_t index;
	UT_hash_handle hh;
};

/* A Location: one address and the source frames kept from it. */
struct loc_key {
	uint64_t addr;
	uint64_t first_function;   /* the Function id of its first Line */
	uint32_t nlines;
	uint32_t pad;
};

struct loc_entry {
	struct loc_key key;
	uint64_t id;
	UT_hash_handle hh;
};

struct fn_entry {
	char *key;                 /* name \x1f file */
	uint64_t id;
	UT_hash_handle hh;
};

struct label {
	const char *key, *str;     /* str NULL: a number */
	int64_t num;
};

struct pprof {
	struct lt_export *x;
	struct lt_pb body;         /* samples, locations, functions, ... */
	struct str_entry *strings;
	uint64_t nstrings;
	char **string_vec;
	size_t string_cap;
	struct loc_entry *locs;
	uint64_t nlocs;
	struct fn_entry *fns;
	uint64_t nfns;
	uint64_t *mapping_of;      /* per model module: Mapping id, 0 none */
	uint64_t *ids;             /* scratch: one sample's location ids */
	size_t ids_cap;
	bool oom;
};

static uint64_t str_index(struct pprof *p, const char *s)
{
	struct str_entry *e;

	if (!s)
		s = "";
	HASH_FIND_STR(p->strings, s, e);
	if (e)
		return e->index;
	if (p->nstrings == p->string_cap) {
		size_t ncap = p->string_cap ? p->string_cap * 2 : 256;
		void *v = realloc(p->string_vec, ncap * sizeof(char *));
		if (!v)
			goto oom;
		p->string_vec = v;
		p->string_cap = ncap;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->s = strdup(s)))
		goto oom_free;
	e->index = p->nstrings;
	if (LT_HASH_ADD(p->strings, s[0], strlen(e->s), e) < 0)
		goto oom_free;
	p->string_vec[p->nstrings++] = e->s;
	return e->index;
oom_free:
	if (e)
		free(e->s);
	free(e);
oom:
	p->oom = true;
	return 0;
}

static void value_type(struct pprof *p, uint32_t field, const char *type,
		       const char *unit)
{
	size_t mark = lt_pb_begin(&p->body, field);

	lt_pb_varint(&p->body, VALUETYPE_TYPE, str_index(p, type));
	lt_pb_varint(&p->body, VALUETYPE_UNIT, str_index(p, unit));
	lt_pb_end(&p->body, mark);
}

static uint64_t function_id(struct pprof *p, const char *name,
			    const char *file)
{
	struct fn_entry *e;
	size_t nlen = strlen(name), flen = file ? strlen(file) : 0;
	char *key = malloc(nlen + flen + 2);
	size_t mark;

	if (!key) {
		p->oom = true;
		return 0;
	}
	memcpy(key, name, nlen);
	key[nlen] = '\x1f';
	memcpy(key + nlen + 1, file ? file : "", flen);
	key[nlen + 1 + flen] = '\0';
	HASH_FIND_STR(p->fns, key, e);
	if (e) {
		free(key);
		return e->id;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(key);
		p->oom = true;
		return 0;
	}
	e->key = key;
	e->id = ++p->nfns;
	if (LT_HASH_ADD(p->fns, key[0], strlen(key), e) < 0) {
		free(key);
		free(e);
		p->oom = true;
		return 0;
	}
	mark = lt_pb_begin(&p->body, PROFILE_FUNCTION);
	lt_pb_varint(&p->body, FUNCTION_ID, e->id);
	lt_pb_varint(&p->body, FUNCTION_NAME, str_index(p, name));
	lt_pb_varint(&p->body, FUNCTION_SYSTEM_NAME, str_index(p, name));
	lt_pb_varint(&p->body, FUNCTION_FILENAME, str_index(p, file));
	lt_pb_end(&p->body, mark);
	return e->id;
}

/* The function name of a frame: its symbol, else where its code is. */
static const char *fn_name(const struct lt_sym_frame *f, char *buf,
			   size_t len)
{
	struct lt_sym_frame bare = *f;

	if (f->function)
		return f->function;
	bare.file = NULL;
	bare.line = 0;
	return lt_sym_format(&bare, buf, len);
}

/* The Mapping of the module that held addr at ticks, written on first
 * use; 0 when no module did. */
static uint64_t mapping_id(struct pprof *p, uint64_t addr, uint64_t ticks)
{
	const struct lt_model *m = p->x->m;
	long best = -1;
	uint64_t id = 0;
	size_t mark;

	for (size_t i = 0; i < m->nmodules; i++) {
		const struct lt_module *mod = &m->modules[i];
		if (addr < mod->lo || addr >= mod->hi)
			continue;
		/* The latest one loaded by then; any, if none was. */
		if (best < 0 || (mod->ticks <= ticks &&
				 mod->ticks >= m->modules[best].ticks))
			best = (long)i;
	}
	if (best < 0)
		return 0;
	if (p->mapping_of[best])
		return p->mapping_of[best];
	for (size_t i = 0; i < m->nmodules; i++)
		if (p->mapping_of[i] > id)
			id = p->mapping_of[i];
	id++;
	p->mapping_of[best] = id;

	const struct lt_module *mod = &m->modules[best];
	char hex[2 * 64 + 1] = "";
	for (size_t i = 0; i < mod->build_id_len && i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", mod->build_id[i]);
	mark = lt_pb_begin(&p->body, PROFILE_MAPPING);
	lt_pb_varint(&p->body, MAPPING_ID, id);
	lt_pb_varint(&p->body, MAPPING_MEMORY_START, mod->lo);
	lt_pb_varint(&p->body, MAPPING_MEMORY_LIMIT, mod->hi);
	lt_pb_varint(&p->body, MAPPING_FILE_OFFSET, 0);
	lt_pb_varint(&p->body, MAPPING_FILENAME, str_index(p, mod->path));
	lt_pb_varint(&p->body, MAPPING_BUILD_ID, str_index(p, hex));
	lt_pb_varint(&p->body, MAPPING_HAS_FUNCTIONS, 1);
	lt_pb_varint(&p->body, MAPPING_HAS_FILENAMES, 1);
	lt_pb_varint(&p->body, MAPPING_HAS_LINE_NUMBERS, 1);
	lt_pb_varint(&p->body, MAPPING_HAS_INLINE_FRAMES, 1);
	lt_pb_end(&p->body, mark);
	return id;
}

/* The Location of frames [0, n) that all came from one address (inlined
 * first, the containing function last), written on first use. */
static uint64_t location_id(struct pprof *p, const struct lt_report_frame *f,
			    size_t n, uint64_t ticks)
{
	struct loc_entry *e;
	struct loc_key key = { .addr = f[0].addr, .nlines = (uint32_t)n };
	uint64_t fids[32];
	char buf[512];
	size_t mark;

	if (n > 32)
		n = 32;
	for (size_t i = 0; i < n; i++)
		fids[i] = function_id(p, fn_name(&f[i].f, buf, sizeof(buf)),
				      f[i].f.file);
	key.first_function = fids[0];
	HASH_FIND(hh, p->locs, &key, sizeof(key), e);
	if (e)
		return e->id;
	e = calloc(1, sizeof(*e));
	if (!e) {
		p->oom = true;
		return 0;
	}
	e->key = key;
	e->id = ++p->nlocs;
	if (LT_HASH_ADD(p->locs, key, sizeof(key), e) < 0) {
		free(e);
		p->oom = true;
		return 0;
	}
	uint64_t map = key.addr ? mapping_id(p, key.addr, ticks) : 0;
	mark = lt_pb_begin(&p->body, PROFILE_LOCATION);
	lt_pb_varint(&p->body, LOCATION_ID, e->id);
	if (map)
		lt_pb_varint(&p->body, LOCATION_MAPPING_ID, map);
	lt_pb_varint(&p->body, LOCATION_ADDRESS, key.addr);
	for (size_t i = 0; i < n; i++) {
		size_t lm = lt_pb_begin(&p->body, LOCATION_LINE);
		lt_pb_varint(&p->body, LINE_FUNCTION_ID, fids[i]);
		if (f[i].f.line > 0)
			lt_pb_varint(&p->body, LINE_LINE, (uint64_t)f[i].f.line);
		lt_pb_end(&p->body, lm);
	}
	lt_pb_end(&p->body, mark);
	return e->id;
}

/* A Sample of the stack f[0, n) (innermost first) with values and
 * labels; a stack with no frames is charged to a frame named what. */
static void sample(struct pprof *p, const struct lt_report_frame *f, size_t n,
		   uint64_t ticks, const char *what, const int64_t *values,
		   size_t nvalues, const struct label *labels, size_t nlabels)
{
	struct lt_report_frame none = { .f = { .function = what } };
	uint64_t v[MAX_VALUES];
	size_t nids = 0, mark;

	if (n == 0) {
		f = &none;
		n = 1;
	}
	if (n > p->ids_cap) {
		void *q = realloc(p->ids, n * sizeof(*p->ids));
		if (!q) {
			p->oom = true;
			return;
		}
		p->ids = q;
		p->ids_cap = n;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		/* Frames inlined at one address make one Location. */
		while (j < n && f[j].addr == f[i].addr && f[j - 1].f.inlined)
			j++;
		p->ids[nids++] = location_id(p, f + i, j - i, ticks);
		i = j;
	}
	for (size_t i = 0; i < nvalues; i++)
		v[i] = (uint64_t)values[i];
	mark = lt_pb_begin(&p->body, PROFILE_SAMPLE);
	lt_pb_packed(&p->body, SAMPLE_LOCATION_ID, p->ids, nids);
	lt_pb_packed(&p->body, SAMPLE_VALUE, v, nvalues);
	for (size_t i = 0; i < nlabels; i++) {
		size_t lm = lt_pb_begin(&p->body, SAMPLE_LABEL);
		lt_pb_varint(&p->body, LABEL_KEY, str_index(p, labels[i].key));
		if (labels[i].str)
			lt_pb_varint(&p->body, LABEL_STR,
				     str_index(p, labels[i].str));
		else
			lt_pb_int64(&p->body, LABEL_NUM, labels[i].num);
		lt_pb_end(&p->body, lm);
	}
	lt_pb_end(&p->body, mark);
}

static void common_fields(struct pprof *p, const char *what)
{
	struct lt_export *x = p->x;
	const struct lt_model *m = x->m;
	const struct lt_dump *d = x->dump;
	char note[512];

	lt_pb_int64(&p->body, PROFILE_TIME_NANOS,
		    (int64_t)d->hdr->start_realtime_ns);
	double ns = lt_export_duration(x) * 1e9;

	lt_pb_int64(&p->body, PROFILE_DURATION_NANOS,
		    /* A hostile clock gives any double: converting one beyond
		     * int64 is undefined. */
		    ns > 0 && ns < 9.2e18 ? (int64_t)ns : 0);
	snprintf(note, sizeof(note), "libtrace %s profile of %.*s, pid %u",
		 what, (int)d->exe_len, d->exe, d->hdr->pid);
	lt_pb_varint(&p->body, PROFILE_COMMENT, str_index(p, note));
	if (m->sampled) {
		snprintf(note, sizeof(note), LT_EXPORT_SAMPLED_NOTE ": one "
			 "sample per %" PRIu64 " bytes allocated on average; "
			 "values are estimates", m->sample_interval);
		lt_pb_varint(&p->body, PROFILE_COMMENT, str_index(p, note));
	}
	if (d->truncated) {
		snprintf(note, sizeof(note), "truncated dump (%s): the run "
			 "up to where it ends", d->truncation);
		lt_pb_varint(&p->body, PROFILE_COMMENT, str_index(p, note));
	}
}

static void heap_profile(struct pprof *p)
{
	struct lt_export *x = p->x;
	const struct lt_model *m = x->m;

	value_type(p, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
	value_type(p, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
	value_type(p, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	value_type(p, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
	/* What is in use at the end of the run is what leaked. */
	lt_pb_int64(&p->body, PROFILE_DEFAULT_SAMPLE_TYPE,
		    (int64_t)str_index(p, "inuse_space"));
	value_type(p, PROFILE_PERIOD_TYPE, "space", "bytes");
	lt_pb_int64(&p->body, PROFILE_PERIOD,
		    m->sampled ? (int64_t)m->sample_interval : 1);
	common_fields(p, "heap");
	for (size_t i = 0; i < x->nsites && !p->oom; i++) {
		const struct lt_xsite *s = &x->sites[i];
		int64_t v[4] = {
			(int64_t)s->v[LT_VALUE_CALLS],
			(int64_t)s->v[LT_VALUE_BYTES],
			(int64_t)s->leaked_blocks,
			(int64_t)s->v[LT_VALUE_LEAKED],
		};
		sample(p, s->rf, s->nrf, s->site->first_ticks,
		       s->site->stack_id == LT_STACK_NONE ?
		       "(no stack recorded)" : "(stack not in the dump)",
		       v, 4, NULL, 0);
	}
}

static const struct lt_site *site_by_id(const struct lt_model *m, uint32_t id)
{
	for (size_t i = 0; i < m->nsites; i++)
		if (m->sites[i]->stack_id == id)
			return m->sites[i];
	return NULL;
}

/*
 * The frames of a live stack as `libtrace threads` shows them: frames[0]
 * is the interrupted instruction, libtrace's and start-up frames go,
 * nothing below main, and of the system frames on top only the outermost
 * (the call the program made: pthread_cond_wait, not its futex helpers).
 */
static int live_frames(struct lt_export *x, const struct lt_rec_thread_stack *r,
		       struct lt_report_frame **out, size_t *n)
{
	size_t nf = (r->head.size - sizeof(*r)) / 8, cap = 0, k = 0, lead = 0;
	struct lt_report_frame *v = NULL;
	struct lt_sym_frame tmp[32];

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < nf; i++) {
		int got = lt_sym_resolve(x->sym, r->frames[i], i > 0, r->ticks,
					 tmp, 32);
		for (int j = 0; j < got; j++) {
			if (lt_report_hidden_frame(&tmp[j]))
				continue;
			if (k == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				void *q = realloc(v, ncap * sizeof(*v));
				if (!q) {
					free(v);
					return -1;
				}
				v = q;
				cap = ncap;
			}
			v[k++] = (struct lt_report_frame){
				.f = tmp[j], .addr = r->frames[i],
			};
			if (tmp[j].function && !strcmp(tmp[j].function, "main"))
				goto done;
		}
	}
done:
	while (lead < k && lt_sym_is_allocator_frame(&v[lead].f))
		lead++;
	if (lead > 1) {
		memmove(v, v + lead - 1, (k - lead + 1) * sizeof(*v));
		k -= lead - 1;
	}
	*out = v;
	*n = k;
	return 0;
}

static const char *thread_label(const struct lt_thread *t, char *buf,
				size_t len)
{
	if (t && t->name[0])
		snprintf(buf, len, "%s (#%u)", t->name, t->serial);
	else if (t)
		snprintf(buf, len, "#%u%s", t->serial, t->is_main ? " main" : "");
	else
		snprintf(buf, len, "?");
	return buf;
}

static const struct lt_thread *thread_by_serial(const struct lt_model *m,
						uint32_t serial)
{
	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i]->serial == serial)
			return m->threads[i];
	return NULL;
}

/*
 * Sample types: created (one per thread, at its creation stack, like Go's
 * threadcreate), leaked and running_at_exit (the same stacks, counted
 * when the thread ended so), and live (one per thread per snapshot, at its
 * current stack, like Go's goroutine profile).
 */
static int threads_profile(struct pprof *p)
{
	struct lt_export *x = p->x;
	const struct lt_model *m = x->m;
	struct lt_threads *th = lt_export_threads(x);
	char tname[64], routine[512], snap[32];

	if (!th)
		return -1;
	value_type(p, PROFILE_SAMPLE_TYPE, "created", "count");
	value_type(p, PROFILE_SAMPLE_TYPE, "leaked", "count");
	value_type(p, PROFILE_SAMPLE_TYPE, "running_at_exit", "count");
	value_type(p, PROFILE_SAMPLE_TYPE, "live", "count");
	lt_pb_int64(&p->body, PROFILE_DEFAULT_SAMPLE_TYPE,
		    (int64_t)str_index(p, "created"));
	value_type(p, PROFILE_PERIOD_TYPE, "threads", "count");
	lt_pb_int64(&p->body, PROFILE_PERIOD, 1);
	common_fields(p, "threads");

	for (size_t i = 0; i < m->nthreads && !p->oom; i++) {
		const struct lt_thread *t = m->threads[i];
		const struct lt_site *s;
		struct lt_report_frame *f = NULL;
		struct lt_sym_frame sf;
		size_t n = 0;
		bool open = !t->joined && !t->detached;
		int64_t v[4] = { 1, open && t->exited, open && !t->exited, 0 };
		struct label l[3] = {
			{ "thread", thread_label(t, tname, sizeof(tname)), 0 },
			{ "start_routine", "?", 0 },
			{ "state", t->joined ? "joined" : t->detached ?
			  "detached" : t->exited ? "leaked" : "running at exit",
			  0 },
		};

		if (t->is_main || !t->created)
			continue;
		if (t->start_routine &&
		    lt_sym_resolve(x->sym, t->start_routine, false,
				   t->create_ticks, &sf, 1) > 0)
			l[1].str = fn_name(&sf, routine, sizeof(routine));
		s = site_by_id(m, t->create_stack);
		if (s && lt_report_site_frames(x->sym, s, &f, &n) < 0)
			return -1;
		sample(p, f, n, t->create_ticks, "(creation stack unknown)",
		       v, 4, l, 3);
		free(f);
	}
	for (size_t i = 0; i < th->nsnaps && !p->oom; i++) {
		const struct lt_tsnapshot *sn = &th->snaps[i];
		if (sn->number)
			snprintf(snap, sizeof(snap), "%u", sn->number);
		else
			snprintf(snap, sizeof(snap), "exit");
		for (size_t j = 0; j < sn->nstacks && !p->oom; j++) {
			const struct lt_rec_thread_stack *r = sn->stacks[j];
			struct lt_report_frame *f = NULL;
			size_t n = 0;
			int64_t v[4] = { 0, 0, 0, 1 };
			struct label l[2] = {
				{ "thread", thread_label(thread_by_serial(m,
				  r->thread), tname, sizeof(tname)), 0 },
				{ "snapshot", snap, 0 },
			};
			if (r->head.flags == LT_TSTACK_OK &&
			    live_frames(x, r, &f, &n) < 0)
				return -1;
			sample(p, f, n, r->ticks, r->head.flags == LT_TSTACK_OK ?
			       "(no frames recorded)" : "(stack unavailable)",
			       v, 4, l, 2);
			free(f);
		}
	}
	return 0;
}

/* gzip (zlib's deflate with a gzip wrapper: windowBits 16 + 15) to out. */
static int write_gzip(FILE *out, const uint8_t *data, size_t len)
{
	z_stream z = { 0 };
	uint8_t buf[65536];
	int zr;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (Bytef *)data;
	do {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;
		int flush = chunk == len ? Z_FINISH : Z_NO_FLUSH;
		z.avail_in = (uInt)chunk;
		len -= chunk;
		do {
			z.next_out = buf;
			z.avail_out = sizeof(buf);
			zr = deflate(&z, flush);
			if (zr == Z_STREAM_ERROR ||
			    fwrite(buf, 1, sizeof(buf) - z.avail_out, out) !=
			    sizeof(buf) - z.avail_out) {
				deflateEnd(&z);
				return -1;
			}
		} while (z.avail_out == 0);
	} while (len > 0);
	deflateEnd(&z);
	return zr == Z_STREAM_END ? 0 : -1;
}

int lt_export_pprof(FILE *out, struct lt_export *x,
		    const struct lt_export_opts *o, struct lt_err *err)
{
	struct pprof p = { .x = x };
	struct lt_pb file = { 0 };
	struct str_entry *s, *stmp;
	struct loc_entry *l, *ltmp;
	struct fn_entry *f, *ftmp;
	int rc = 0;

	p.mapping_of = calloc(x->m->nmodules + 1, sizeof(*p.mapping_of));
	if (!p.mapping_of)
		return lt_err_set(err, "%s: out of memory", x->path);
	str_index(&p, "");   /* string_table[0] must be "" */
	if (o->profile == LT_PROFILE_THREADS)
		rc = threads_profile(&p);
	else
		heap_profile(&p);

	/* The string table goes last: every message above added to it. */
	file = p.body;
	p.body = (struct lt_pb){ 0 };
	for (uint64_t i = 0; i < p.nstrings; i++)
		lt_pb_bytes(&file, PROFILE_STRING_TABLE, p.string_vec[i],
			    strlen(p.string_vec[i]));
	if (rc < 0 || p.oom || file.oom)
		rc = lt_err_set(err, "%s: out of memory writing the profile",
				x->path);
	else if (write_gzip(out, file.buf, file.len) < 0)
		rc = lt_err_set(err, "cannot write the profile: output error");

	lt_pb_free(&file);
	HASH_ITER(hh, p.strings, s, stmp) {
		HASH_DEL(p.strings, s);
		free(s->s);
		free(s);
	}
	HASH_ITER(hh, p.locs, l, ltmp) {
		HASH_DEL(p.locs, l);
		free(l);
	}
	HASH_ITER(hh, p.fns, f, ftmp) {
		HASH_DEL(p.fns, f);
		free(f->key);
		free(f);
	}
	free(p.string_vec);
	free(p.mapping_of);
	free(p.ids);
	return rc;
}
