/*
 * The dump reader: read-only mapping, header and record validation, the
 * chunk index and per-thread cursors.  It must never read a byte beyond
 * the file's real length, whatever a size field claims, and never keep
 * per-event state.
 */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lz4.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the reader maps little-endian dumps directly; port it first"
#endif

static const char *const rec_names[] = {
	[LT_REC_ALLOC]         = "alloc",
	[LT_REC_FREE]          = "free",
	[LT_REC_REALLOC]       = "realloc",
	[LT_REC_STACK]         = "stack",
	[LT_REC_MODULE]        = "module",
	[LT_REC_MODULE_UNLOAD] = "module_unload",
	[LT_REC_THREAD_CREATE] = "thread_create",
	[LT_REC_THREAD_START]  = "thread_start",
	[LT_REC_THREAD_EXIT]   = "thread_exit",
	[LT_REC_THREAD_JOIN]   = "thread_join",
	[LT_REC_THREAD_DETACH] = "thread_detach",
	[LT_REC_THREAD_CANCEL] = "thread_cancel",
	[LT_REC_THREAD_NAME]   = "thread_name",
	[LT_REC_FORK]          = "fork",
	[LT_REC_EXEC]          = "exec",
	[LT_REC_TRAILER]       = "trailer",
	[LT_REC_LOST]          = "lost",
	[LT_REC_SNAPSHOT]      = "snapshot",
	[LT_REC_THREAD_STACK]  = "thread_stack",
};

/* Fixed layout size of each known type; 0 = unknown, skipped by size. */
static const uint16_t rec_min_size[] = {
	[LT_REC_ALLOC]         = sizeof(struct lt_rec_alloc),
	[LT_REC_FREE]          = sizeof(struct lt_rec_free),
	[LT_REC_REALLOC]       = sizeof(struct lt_rec_realloc),
	[LT_REC_STACK]         = sizeof(struct lt_rec_stack),
	[LT_REC_MODULE]        = sizeof(struct lt_rec_module),
	[LT_REC_MODULE_UNLOAD] = sizeof(struct lt_rec_module_unload),
	[LT_REC_THREAD_CREATE] = sizeof(struct lt_rec_thread_create),
	[LT_REC_THREAD_START]  = sizeof(struct lt_rec_thread_start),
	[LT_REC_THREAD_EXIT]   = sizeof(struct lt_rec_thread_exit),
	[LT_REC_THREAD_JOIN]   = sizeof(struct lt_rec_thread_op),
	[LT_REC_THREAD_DETACH] = sizeof(struct lt_rec_thread_op),
	[LT_REC_THREAD_CANCEL] = sizeof(struct lt_rec_thread_op),
	[LT_REC_THREAD_NAME]   = sizeof(struct lt_rec_thread_name),
	[LT_REC_FORK]          = sizeof(struct lt_rec_fork),
	[LT_REC_EXEC]          = sizeof(struct lt_rec_exec),
	[LT_REC_TRAILER]       = sizeof(struct lt_rec_trailer),
	[LT_REC_LOST]          = sizeof(struct lt_rec_lost),
	[LT_REC_SNAPSHOT]      = sizeof(struct lt_rec_snapshot),
	[LT_REC_THREAD_STACK]  = sizeof(struct lt_rec_thread_stack),
};

#define NTYPES (sizeof(rec_min_size) / sizeof(rec_min_size[0]))

const char *lt_dump_rec_name(unsigned type)
{
	if (type < NTYPES && rec_names[type])
		return rec_names[type];
	return "unknown";
}

/*
 * Check the record at byte off of the mapping, where the chunk payload
 * holding it ends at byte end: size at least 8, a multiple of 8, within
 * the chunk, and at least as large as its type's fixed layout.  Returns 0,
 * or -1 with a message.
 */
static int check_record(const struct lt_dump *d, uint64_t off, uint64_t end,
			struct lt_err *err)
{
	const struct lt_rec_head *h;
	unsigned long long have = end > off ? end - off : 0;
	unsigned need;

	if (have < sizeof(*h))
		return lt_err_set(err, "%s: record at byte %llu is truncated "
				  "(need 8 bytes, have %llu)", d->path,
				  (unsigned long long)off, have);
	h = (const struct lt_rec_head *)(d->base + off);
	if (h->size < sizeof(*h) || h->size % 8 != 0)
		return lt_err_set(err, "%s: record at byte %llu has size %u "
				  "(expected a multiple of 8, at least 8)",
				  d->path, (unsigned long long)off, h->size);
	if (h->size > have)
		return lt_err_set(err, "%s: record at byte %llu is truncated "
				  "(need %u bytes, have %llu)", d->path,
				  (unsigned long long)off, h->size, have);
	need = h->type < NTYPES ? rec_min_size[h->type] : 0;
	if (h->size < need)
		return lt_err_set(err, "%s: %s record at byte %llu is truncated "
				  "(need %u bytes, have %u)", d->path,
				  lt_dump_rec_name(h->type),
				  (unsigned long long)off, need, h->size);
	if (h->type == LT_REC_MODULE) {
		const struct lt_rec_module *m = (const void *)h;
		unsigned strings = (unsigned)m->path_len + m->build_id_len;
		if (sizeof(*m) + strings > h->size)
			return lt_err_set(err, "%s: module record at byte %llu "
					  "is truncated (need %zu bytes for "
					  "path and build-id, have %u)",
					  d->path, (unsigned long long)off,
					  sizeof(*m) + strings, h->size);
	}
	return 0;
}

static int check_header(struct lt_dump *d, struct lt_err *err)
{
	const struct lt_file_header *h = (const void *)d->base;
	uint64_t strings;

	if (d->len < sizeof(*h))
		return lt_err_set(err, "%s: file is %zu bytes, too short for a "
				  "libtrace dump header (need %zu)", d->path,
				  d->len, sizeof(*h));
	if (memcmp(h->magic, LT_DUMP_MAGIC, LT_DUMP_MAGIC_LEN) != 0)
		return lt_err_set(err, "%s: not a libtrace dump (bad magic at "
				  "byte 0, expected \"LTDUMP\\x1a\\n\")", d->path);
	if (h->version < LT_DUMP_VERSION_FIXED || h->version > LT_DUMP_VERSION)
		return lt_err_set(err, "%s: dump format version %u at byte 8 "
				  "(this libtrace reads versions %u to %u)",
				  d->path, h->version, LT_DUMP_VERSION_FIXED,
				  LT_DUMP_VERSION);
	d->coded = h->version >= LT_DUMP_VERSION_CODED;
	d->compressed = h->version >= 4;
	if (h->header_size < sizeof(*h) || h->header_size % 8 != 0)
		return lt_err_set(err, "%s: header_size %u at byte 12 (expected "
				  "a multiple of 8, at least %zu)", d->path,
				  h->header_size, sizeof(*h));
	if (h->header_size > d->len)
		return lt_err_set(err, "%s: header is truncated (need %u bytes, "
				  "have %zu)", d->path, h->header_size, d->len);
	strings = (uint64_t)h->exe_len + h->cmdline_len + h->parent_dump_len;
	if (strings > h->header_size - sizeof(*h))
		return lt_err_set(err, "%s: header strings need %llu bytes but "
				  "header_size %u leaves %zu", d->path,
				  (unsigned long long)strings, h->header_size,
				  h->header_size - sizeof(*h));
	if (h->clock != LT_CLOCK_MONOTONIC && h->clock != LT_CLOCK_TSC)
		return lt_err_set(err, "%s: unknown clock %u at byte 24 "
				  "(expected 1 or 2)", d->path, h->clock);
	d->hdr = h;
	d->exe = (const char *)d->base + sizeof(*h);
	d->exe_len = h->exe_len;
	d->cmdline = d->exe + h->exe_len;
	d->cmdline_len = h->cmdline_len;
	d->parent_dump = d->cmdline + h->cmdline_len;
	d->parent_dump_len = h->parent_dump_len;
	return 0;
}

static int add_chunk(struct lt_dump *d, size_t *cap,
		     const struct lt_dump_chunk *c, struct lt_err *err)
{
	if (d->nchunks == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		void *p = realloc(d->chunks, ncap * sizeof(*d->chunks));
		if (!p)
			return lt_err_set(err, "%s: out of memory indexing "
					  "chunk %zu", d->path, d->nchunks);
		d->chunks = p;
		*cap = ncap;
	}
	d->chunks[d->nchunks++] = *c;
	return 0;
}

/*
 * The records of chunks [lo, hi), checked by one thread: what it finds
 * goes here, and into those chunks' net and rise, nowhere else.
 */
struct index_part {
	struct lt_dump *d;
	size_t lo, hi;
	uint64_t records, unknown;
	struct lt_dump_thread_rec *recs;     /* in file order */
	size_t nrecs, cap;
	const struct lt_rec_head *last;      /* the last chunk's last record */
	bool failed;                         /* err says why */
	struct lt_err err;
	uint8_t *scratch;                    /* version 4: a chunk, decompressed */
};

static int add_thread_rec(struct index_part *ip, const struct lt_rec_head *h,
			  uint32_t thread)
{
	if (ip->nrecs == ip->cap) {
		size_t ncap = ip->cap ? ip->cap * 2 : 64;
		void *p = realloc(ip->recs, ncap * sizeof(*ip->recs));
		if (!p)
			return lt_err_set(&ip->err, "%s: out of memory indexing "
					  "thread records", ip->d->path);
		ip->recs = p;
		ip->cap = ncap;
	}
	ip->recs[ip->nrecs++] = (struct lt_dump_thread_rec){
		.rec = h, .thread = thread, .type = h->type,
		.ticks = ((const uint64_t *)h)[1],   /* check_record saw room */
		.value = h->type == LT_REC_THREAD_CREATE ?
			 ((const struct lt_rec_thread_create *)h)->child :
			 ((const struct lt_rec_thread_start *)h)->pthread,
	};
	return 0;
}

/* The record type of each coded kind (lt_dump_coded_len refuses kind 3). */
static const uint8_t coded_type[4] = {
	[LT_CODED_ALLOC] = LT_REC_ALLOC, [LT_CODED_FREE] = LT_REC_FREE,
	[LT_CODED_REALLOC] = LT_REC_REALLOC,
};

static int check_chunk_records(struct index_part *ip, struct lt_dump_chunk *c)
{
	const struct lt_dump *d = ip->d;
	uint64_t off = c->offset + sizeof(struct lt_chunk_header);
	uint64_t end = off + c->size;
	union lt_rec_event ev;

	/* Coded records are only measured here, but for the first with a
	 * time; a chunk that goes on from the last is decoded from zero, and
	 * build_streams adds the state it really starts from. */
	ip->last = NULL;
	c->net = c->rise = 0;
	c->first_ticks = UINT64_MAX;
	while (off < end) {
		const struct lt_rec_head *h;
		uint64_t ticks;
		uint8_t first = d->base[off];

		if (d->coded && first == 0) {
			off++;   /* padding */
			continue;
		}
		if (d->coded && (first & LT_CODED_BIT)) {
			struct lt_code_state zero = { 0 };
			uint32_t lens;
			size_t len = lt_dump_coded_len(d->base + off, d->base + end, &lens);

			if (!len)
				return lt_err_set(&ip->err, "%s: coded record at "
						  "byte %llu is bad or truncated "
						  "(tag 0x%02x)", d->path,
						  (unsigned long long)off, first);
			if (c->first_ticks == UINT64_MAX) {
				lt_dump_decode(d->base + off, d->base + end, &zero, &ev);
				lt_dump_rec_ticks(&ev.head, &c->first_ticks);
				c->first_coded = true;
			}
			ev.head.type = coded_type[first >> LT_CODED_KIND_SHIFT & 3];
			h = &ev.head;
			ip->last = NULL;   /* never a trailer */
			off += len;
		} else {
			if (d->coded && off % 8 != 0)
				return lt_err_set(&ip->err, "%s: record at byte %llu "
						  "is not at a multiple of 8",
						  d->path, (unsigned long long)off);
			if (check_record(d, off, end, &ip->err) < 0)
				return -1;
			h = (const void *)(d->base + off);
			if (c->first_ticks == UINT64_MAX && lt_dump_rec_ticks(h, &ticks))
				c->first_ticks = ticks;
			if (h->type >= NTYPES || rec_min_size[h->type] == 0)
				ip->unknown++;
			if ((h->type == LT_REC_THREAD_CREATE ||
			     h->type == LT_REC_THREAD_START) &&
			    add_thread_rec(ip, h, c->thread) < 0)
				return -1;
			ip->last = h;
			off += h->size;
		}
		/* A realloc record releases one block and acquires one. */
		if (h->type == LT_REC_ALLOC) {
			if (++c->net > c->rise)
				c->rise = c->net;
		} else if (h->type == LT_REC_FREE) {
			c->net--;
		}
		ip->records++;
	}
	return 0;
}

/*
 * Chunk c of a version 4 dump into the image, as an LTCK or LTCC chunk: a
 * compressed one is its LZ4 block's raw_size bytes, then zeros to c->size.
 * Into the memfd with pwrite from a buffer of our own: pages a write(2)
 * fills whole the kernel need not clear first, nor fault in one by one
 * (opening the sqlite3 bench job's dump: 50 ms through the mapping, 43).
 */
static int inflate_chunk(struct index_part *ip, const struct lt_dump_chunk *c)
{
	const struct lt_dump *d = ip->d;
	const uint8_t *src = d->file + c->file_offset + sizeof(struct lt_chunk_header);
	size_t n = sizeof(struct lt_chunk_header) + c->size;
	unsigned long long at = c->file_offset;
	struct lt_chunk_header ch;
	struct lt_chunk_lz4 z;
	uint8_t *dst;
	int got;

	if (d->image_fd < 0) {
		dst = (uint8_t *)d->base + c->offset;
	} else {
		if (!ip->scratch &&
		    !(ip->scratch = malloc(sizeof(ch) + LT_CHUNK_MAX)))
			return lt_err_set(&ip->err, "%s: out of memory "
					  "decompressing the chunk at byte %llu",
					  d->path, at);
		dst = ip->scratch;
	}
	memcpy(&ch, d->file + c->file_offset, sizeof(ch));
	ch.magic = c->cont ? LT_CHUNK_MAGIC_CONT : LT_CHUNK_MAGIC;
	ch.size = c->size;
	memcpy(dst, &ch, sizeof(ch));
	if (!c->lz4) {
		memcpy(dst + sizeof(ch), src, c->size);
		goto out;
	}
	memcpy(&z, src, sizeof(z));   /* checked by lz4_raw_size */
	src += sizeof(z);
	for (uint32_t i = z.block_size; i < c->file_size - sizeof(z); i++)
		if (src[i])
			return lt_err_set(&ip->err, "%s: compressed chunk at byte "
					  "%llu has data after its LZ4 block "
					  "(byte %llu)", d->path, at,
					  at + sizeof(ch) + sizeof(z) + i);
	got = LZ4_decompress_safe((const char *)src, (char *)dst + sizeof(ch),
				  (int)z.block_size, (int)c->size);
	if (got < 0)
		return lt_err_set(&ip->err, "%s: compressed chunk at byte %llu: "
				  "its LZ4 block is bad", d->path, at);
	if ((uint32_t)got != z.raw_size)
		return lt_err_set(&ip->err, "%s: compressed chunk at byte %llu "
				  "holds %d bytes, not the %u it says", d->path,
				  at, got, z.raw_size);
	/* Zeros to the end: the buffer holds the last chunk's bytes, and the
	 * decoder may have used the room past its output. */
	memset(dst + sizeof(ch) + got, 0, c->size - (uint32_t)got);
out:
	if (d->image_fd >= 0 &&
	    pwrite(d->image_fd, dst, n, (off_t)c->offset) != (ssize_t)n)
		return lt_err_set(&ip->err, "%s: cannot write the decompressed "
				  "chunk at byte %llu into memory: %s", d->path,
				  at, strerror(errno));
	return 0;
}

/* The pages of [from, upto) of a mapping of len bytes at base go. */
static void release_pages(const uint8_t *base, size_t len, uint64_t from,
			  uint64_t upto)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t mask, start, end;

	if (page <= 0)
		return;
	mask = (uint64_t)page - 1;
	if (upto > len)
		upto = len;
	start = (from + mask) & ~mask;
	end = upto == len ? len : upto & ~mask;
	if (end > start)
		madvise((uint8_t *)base + start, end - start, MADV_DONTNEED);
}

/* Stops at the first bad record; keeps the resident set small on a
 * multi-gigabyte dump. */
static void *check_part(void *arg)
{
	struct index_part *ip = arg;
	struct lt_dump *d = ip->d;
	const struct lt_dump_chunk *released = ip->lo < ip->hi ? &d->chunks[ip->lo] : NULL;

	for (size_t i = ip->lo; i < ip->hi; i++) {
		const struct lt_dump_chunk *c = &d->chunks[i];

		if ((d->file && inflate_chunk(ip, c) < 0) ||
		    check_chunk_records(ip, &d->chunks[i]) < 0) {
			ip->failed = true;
			break;
		}
		if (c->offset - released->offset >= (4u << 20)) {
			lt_dump_release(d, released->offset, c->offset);
			if (d->file)
				release_pages(d->file, d->file_len,
					      released->file_offset, c->file_offset);
			released = c;
		}
	}
	free(ip->scratch);
	return NULL;
}

/*
 * A second thread pays only on a CPU nobody else wants: with a busy loop
 * on the other CPU, the CPython report took 0.15 s on two threads against
 * 0.13-0.14 s on one (and 0.10-0.11 s on two idle CPUs).  So: two CPUs
 * this process may use, and fewer tasks running now than CPUs besides
 * the caller ("R" of "R/T" in /proc/loadavg, the caller counted).  One
 * other task is let pass: the count is the whole kernel's, and on this
 * machine something outside the container shows running at most samples
 * of an idle system.  Unreadable: no.
 */
bool lt_dump_spare_cpu_in(int cpus, const char *loadavg)
{
	const char *p = loadavg;
	long running;

	for (int field = 0; field < 3; p++) {
		if (!*p)
			return false;
		field += *p == ' ';
	}
	running = strtol(p, NULL, 10);
	return cpus >= 2 && running >= 1 && running - 1 < cpus;
}

bool lt_dump_spare_cpu(void)
{
	cpu_set_t cpus;
	char buf[128];
	ssize_t n;
	int fd;

	if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0 || CPU_COUNT(&cpus) < 2)
		return false;
	fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return lt_dump_spare_cpu_in(CPU_COUNT(&cpus), buf);
}

/*
 * Worth checking the records on two threads: a dump this big takes tens of
 * milliseconds to check, the thread's start about 50 us.
 */
#define INDEX_SPLIT_BYTES (16u << 20)
int lt_dump_threads = -1;

static bool split_index(const struct lt_dump *d)
{
	if (d->nchunks < 2 || lt_dump_threads == 0)
		return false;
	if (lt_dump_threads > 0)
		return true;
	return d->len >= INDEX_SPLIT_BYTES && lt_dump_spare_cpu();
}

/*
 * Every record of the chunks found: the second half (by bytes) on a
 * thread of its own where that pays, the first half here.  What the two
 * find is put together in file order, so that the first bad record in
 * the file is the one reported, whoever met it.
 */
static int check_chunks(struct lt_dump *d, const struct lt_rec_head **last,
			struct lt_err *err)
{
	struct index_part part[2] = {
		{ .d = d, .lo = 0, .hi = d->nchunks },
		{ .d = d, .lo = d->nchunks, .hi = d->nchunks },
	};
	pthread_t helper;
	bool threaded = false;
	size_t n = 0;

	if (split_index(d)) {
		uint64_t half = d->chunks[0].offset +
				(d->data_end - d->chunks[0].offset) / 2;
		size_t mid = 1;
		sigset_t all, old;

		while (mid < d->nchunks - 1 && d->chunks[mid].offset < half)
			mid++;
		part[0].hi = part[1].lo = mid;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		threaded = pthread_create(&helper, NULL, check_part, &part[1]) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!threaded)
			part[0].hi = d->nchunks;
	}
	check_part(&part[0]);
	if (threaded)
		pthread_join(helper, NULL);

	for (int k = 0; k < 2; k++) {
		if (part[k].failed) {
			if (err)
				*err = part[k].err;
			free(part[0].recs);
			free(part[1].recs);
			return -1;
		}
	}
	d->records = part[0].records + part[1].records;
	d->unknown_records = part[0].unknown + part[1].unknown;
	d->nthread_recs = part[0].nrecs + part[1].nrecs;
	if (d->nthread_recs) {
		d->thread_recs = malloc(d->nthread_recs * sizeof(*d->thread_recs));
		if (!d->thread_recs) {
			free(part[0].recs);
			free(part[1].recs);
			return lt_err_set(err, "%s: out of memory indexing thread "
					  "records", d->path);
		}
		for (int k = 0; k < 2; k++)
			for (size_t i = 0; i < part[k].nrecs; i++)
				d->thread_recs[n++] = part[k].recs[i];
	}
	free(part[0].recs);
	free(part[1].recs);
	*last = part[1].lo < part[1].hi ? part[1].last : part[0].last;
	return 0;
}

/* n bytes at byte off of the file, read with pread so that the mapping's
 * pages stay untouched (see index_chunks); from the mapping where that
 * fails. */
static void read_at(const struct lt_dump *d, int fd, uint64_t off, void *buf,
		    size_t n)
{
	if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
		memcpy(buf, d->base + off, n);
}

/* A compressed chunk's magic (version 4). */
static bool lz4_magic(uint32_t magic)
{
	return magic == LT_CHUNK_MAGIC_LZ4 || magic == LT_CHUNK_MAGIC_LZ4CONT;
}

/*
 * How long the payload of the compressed chunk at byte off, of size bytes
 * in the file, is uncompressed, from its struct lt_chunk_lz4, into *raw;
 * or a message.
 */
static int lz4_raw_size(const struct lt_dump *d, int fd, uint64_t off,
			uint32_t size, uint32_t *raw, struct lt_err *err)
{
	unsigned long long at = off;
	struct lt_chunk_lz4 z;

	if (size < sizeof(z))
		return lt_err_set(err, "%s: compressed chunk at byte %llu has "
				  "size %u (need %zu bytes for its block's sizes)",
				  d->path, at, size, sizeof(z));
	off += sizeof(struct lt_chunk_header);
	read_at(d, fd, off, &z, sizeof(z));
	if (z.raw_size > LT_CHUNK_MAX)
		return lt_err_set(err, "%s: compressed chunk at byte %llu holds "
				  "%u bytes (at most %u)", d->path, at,
				  z.raw_size, LT_CHUNK_MAX);
	if (z.block_size > size - sizeof(z) || size - sizeof(z) - z.block_size >= 8)
		return lt_err_set(err, "%s: compressed chunk at byte %llu has an "
				  "LZ4 block of %u bytes in %u (expected the "
				  "chunk less up to 7 bytes of padding)", d->path,
				  at, z.block_size, size - (uint32_t)sizeof(z));
	*raw = (z.raw_size + 7) & ~7u;   /* the image's zeros pad it */
	return 0;
}

bool lt_dump_memfd = true;

/*
 * A version 4 dump is read through an image of it with every chunk as it
 * would be uncompressed: the index pass writes each chunk there before it
 * checks its records.  It lives in a memfd so that lt_dump_release can let
 * go of its pages as with a file (with none to be had, in memory of our
 * own that is kept).  The header is copied now, and points there.
 */
static int make_image(struct lt_dump *d, uint64_t len, struct lt_err *err)
{
	uint32_t hsize = d->hdr->header_size;
	void *p = MAP_FAILED;
	int fd = lt_dump_memfd ? memfd_create("libtrace-dump", MFD_CLOEXEC) : -1;

	if (fd >= 0 && ftruncate(fd, (off_t)len) == 0 &&
	    pwrite(fd, d->base, hsize, 0) == (ssize_t)hsize)
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		if (fd >= 0)
			close(fd);
		fd = -1;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return lt_err_set(err, "%s: cannot map %llu bytes to "
					  "decompress it into: %s", d->path,
					  (unsigned long long)len, strerror(errno));
		memcpy(p, d->base, hsize);
		d->image_anon = true;
	}
	d->image_fd = fd;
	d->file = d->base;
	d->file_len = d->len;
	d->base = p;
	d->len = d->map_len = len;
	d->hdr = p;
	d->exe = (const char *)d->base + sizeof(*d->hdr);
	d->cmdline = d->exe + d->exe_len;
	d->parent_dump = d->cmdline + d->cmdline_len;
	return 0;
}

/* The image done with: the file's mapping goes, the image turns read-only. */
static void drop_file(struct lt_dump *d)
{
	if (!d->file)
		return;
	munmap((void *)d->file, d->file_len);
	d->file = NULL;
	if (d->image_fd >= 0)
		close(d->image_fd);
	else
		mprotect((void *)d->base, d->map_len, PROT_READ);
	d->image_fd = -1;
}

/*
 * Walks the chunk headers, then checks every record of the chunks found.
 * A bad header ends the walk; it is reported only if no record before it
 * is bad, so the message names the first fault in the file.  The walk
 * reads the headers with pread: touching them in the mapping would map
 * the whole file (the kernel maps 64 KiB around each fault, about a
 * chunk).  Offsets in messages are the file's; in the chunks found, the
 * image's, where there is one.
 */
static int index_chunks(struct lt_dump *d, int fd, struct lt_err *err)
{
	uint64_t off = d->hdr->header_size, at = off;
	const struct lt_rec_head *last_rec = NULL;
	struct lt_err bad_header = { "" };
	bool bad = false, any_lz4 = false;
	size_t cap = 0;

	while (off < d->len) {
		struct lt_chunk_header hbuf, *ch = &hbuf;
		uint64_t avail = d->len - off;
		uint32_t raw;
		bool z;

		if (avail < sizeof(*ch)) {
			snprintf(d->truncation, sizeof(d->truncation),
				 "the last chunk, at byte %llu, is cut short "
				 "(need %zu bytes for its header, have %llu)",
				 (unsigned long long)off, sizeof(*ch),
				 (unsigned long long)avail);
			break;
		}
		read_at(d, fd, off, &hbuf, sizeof(hbuf));
		z = d->compressed && lz4_magic(ch->magic);
		if (ch->magic != LT_CHUNK_MAGIC && !z &&
		    !(d->coded && ch->magic == LT_CHUNK_MAGIC_CONT)) {
			lt_err_set(&bad_header, "%s: chunk at byte %llu has bad "
				   "magic 0x%08x (expected 0x%08x, \"LTCK\")",
				   d->path, (unsigned long long)off, ch->magic,
				   LT_CHUNK_MAGIC);
			bad = true;
			break;
		}
		if (ch->size % 8 != 0 || ch->size > LT_CHUNK_MAX) {
			lt_err_set(&bad_header, "%s: chunk at byte %llu has size "
				   "%u (expected a multiple of 8, at most %u)",
				   d->path, (unsigned long long)off, ch->size,
				   LT_CHUNK_MAX);
			bad = true;
			break;
		}
		if (ch->size > avail - sizeof(*ch)) {
			snprintf(d->truncation, sizeof(d->truncation),
				 "the last chunk, at byte %llu, is cut short "
				 "(need %llu bytes, have %llu)",
				 (unsigned long long)off,
				 (unsigned long long)ch->size + sizeof(*ch),
				 (unsigned long long)avail);
			break;
		}
		raw = ch->size;
		if (z && lz4_raw_size(d, fd, off, ch->size, &raw, &bad_header) < 0) {
			bad = true;
			break;
		}
		any_lz4 |= z;
		struct lt_dump_chunk c = {
			.offset = at, .ticks = ch->ticks, .thread = ch->thread,
			.seq = ch->seq, .size = raw,
			.cont = ch->magic == LT_CHUNK_MAGIC_CONT ||
				ch->magic == LT_CHUNK_MAGIC_LZ4CONT,
			.lz4 = z, .file_size = ch->size, .file_offset = off,
		};
		if (add_chunk(d, &cap, &c, err) < 0)
			return -1;
		if (ch->mono_ns >= d->pair_mono_ns) {
			d->pair_ticks = ch->ticks;
			d->pair_mono_ns = ch->mono_ns;
		}
		off += sizeof(*ch) + ch->size;
		at += sizeof(*ch) + raw;
	}
	bool whole = off == d->len;

	/* Without a compressed chunk the image would be the file itself. */
	d->data_end = at;
	if (any_lz4 && make_image(d, at, err) < 0)
		return -1;
	if (check_chunks(d, &last_rec, err) < 0)
		return -1;
	drop_file(d);
	if (bad) {
		if (err)
			*err = bad_header;
		return -1;
	}
	if (whole && last_rec && last_rec->type == LT_REC_TRAILER)
		d->trailer = (const struct lt_rec_trailer *)last_rec;
	if (!d->trailer) {
		d->truncated = true;
		if (!d->truncation[0])
			snprintf(d->truncation, sizeof(d->truncation),
				 "no trailer after the last chunk (byte %llu): "
				 "the program was killed or is still running",
				 (unsigned long long)off);
	}
	return 0;
}

/* Sorts chunk indices by thread, keeping file order within a thread. */
static const struct lt_dump_chunk *sort_chunks;

static int cmp_stream_order(const void *a, const void *b)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	uint32_t ta = sort_chunks[ia].thread, tb = sort_chunks[ib].thread;

	if (ta != tb)
		return ta < tb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/*
 * A chunk that goes on from prev, its thread's chunk before it, starts
 * from the state prev ends in: prev's own start (set already, in stream
 * order) moved on by its records.  The index pass took the chunk's first
 * time from zero; each coded value is a difference from the one before
 * (modulo 2^64), so it is off by that state's.  (After a lost chunk it
 * goes on from the wrong one; the gap is counted.)
 */
static void start_from(const struct lt_dump *d, struct lt_dump_chunk *c,
		       const struct lt_dump_chunk *prev)
{
	struct lt_dump_chunk_rd r;

	lt_dump_chunk_rd_init(&r, d, prev);
	while (lt_dump_chunk_rd_next(&r, NULL))
		;
	c->code = r.code;
	if (c->first_coded)
		c->first_ticks += r.code.ticks;
}

static int build_streams(struct lt_dump *d, struct lt_err *err)
{
	size_t n = d->nchunks, ns = 0;

	if (n > UINT32_MAX)
		return lt_err_set(err, "%s: too many chunks (%zu)", d->path, n);
	if (n == 0)
		return 0;
	d->stream_chunks = malloc(n * sizeof(*d->stream_chunks));
	d->streams = calloc(n, sizeof(*d->streams));
	if (!d->stream_chunks || !d->streams)
		return lt_err_set(err, "%s: out of memory indexing %zu chunks",
				  d->path, n);
	for (size_t i = 0; i < n; i++)
		d->stream_chunks[i] = (uint32_t)i;
	sort_chunks = d->chunks;
	qsort(d->stream_chunks, n, sizeof(*d->stream_chunks), cmp_stream_order);
	sort_chunks = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct lt_dump_chunk *c = &d->chunks[d->stream_chunks[i]];
		struct lt_dump_stream *s = ns ? &d->streams[ns - 1] : NULL;
		uint32_t expect;

		if (!s || s->thread != c->thread) {
			s = &d->streams[ns++];
			s->thread = c->thread;
			s->chunks = &d->stream_chunks[i];
			expect = 0;
		} else {
			expect = d->chunks[s->chunks[s->nchunks - 1]].seq + 1;
		}
		/* A later seq means chunks went missing; an earlier one is a
		 * second writer with the same serial, which we also flag. */
		if (c->seq != expect)
			d->seq_gaps += c->seq > expect ? c->seq - expect : 1;
		if (c->cont && s->nchunks)
			start_from(d, &d->chunks[d->stream_chunks[i]],
				   &d->chunks[s->chunks[s->nchunks - 1]]);
		s->nchunks++;
	}
	d->nstreams = ns;
	return 0;
}

/*
 * An upper bound on the blocks live at once, for sizing the replay's table
 * before it starts (growing it step by step costs twice its final size in
 * fresh zeroed pages, a fifth of a report's time on a big dump).  Within
 * chunk k of a stream, which holds that stream's records between the
 * headers' times of chunks k-1 and k, the stream has acquired at most its
 * net count before k plus k's rise; after its last chunk, its final net.
 * Summed over streams at every such time, that bounds the live count
 * whoever frees what.  A thread's frees of others' blocks count against it,
 * so a producer and its consumer cancel.  Only a hint: records written out
 * by another thread's flush can run a little past their chunk's time, and
 * the replay's table still grows if it must.
 */
struct live_step {
	uint64_t ticks;
	uint32_t stream;
	int64_t value;    /* the stream's bound from ticks on */
};

static int cmp_live_step(const void *a, const void *b)
{
	const struct live_step *x = a, *y = b;
	return x->ticks < y->ticks ? -1 : x->ticks > y->ticks;
}

static void live_bound(struct lt_dump *d)
{
	size_t n = 0;
	struct live_step *st = malloc((d->nchunks + d->nstreams) * sizeof(*st));
	int64_t *cur = calloc(d->nstreams, sizeof(*cur));
	int64_t sum = 0, most = 0;

	d->live_bound = 0;
	if (!st || !cur)
		goto out;
	for (size_t i = 0; i < d->nstreams; i++) {
		const struct lt_dump_stream *s = &d->streams[i];
		uint64_t since = 0;
		int64_t net = 0;

		for (uint32_t k = 0; k < s->nchunks; k++) {
			const struct lt_dump_chunk *c = &d->chunks[s->chunks[k]];

			st[n++] = (struct live_step){ since, (uint32_t)i, net + c->rise };
			net += c->net;
			since = c->ticks;
		}
		st[n++] = (struct live_step){ since, (uint32_t)i, net };
	}
	qsort(st, n, sizeof(*st), cmp_live_step);
	for (size_t i = 0; i < n; i++) {
		sum += st[i].value - cur[st[i].stream];
		cur[st[i].stream] = st[i].value;
		if (sum > most)
			most = sum;
	}
	d->live_bound = (uint64_t)most;
out:
	free(st);
	free(cur);
}

int lt_dump_open(const char *path, struct lt_dump **out, struct lt_err *err)
{
	struct lt_dump *d;
	struct stat st;
	int fd;
	void *map;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return lt_err_set(err, "%s: out of memory", path);
	}
	d->image_fd = -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lt_err_set(err, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		lt_err_set(err, "%s: not a regular file", path);
		close(fd);
		goto fail;
	}
	if (st.st_size == 0) {
		lt_err_set(err, "%s: file is empty (need at least a %zu-byte "
			   "dump header)", path, sizeof(struct lt_file_header));
		close(fd);
		goto fail;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		lt_err_set(err, "%s: cannot map: %s", path, strerror(errno));
		close(fd);
		goto fail;
	}
	d->base = map;
	d->len = (size_t)st.st_size;
	/* Sequential passes index it; the replay then reads each thread's
	 * chunks in turn. */
	madvise(map, d->len, MADV_SEQUENTIAL);
	if (check_header(d, err) < 0 || index_chunks(d, fd, err) < 0 ||
	    build_streams(d, err) < 0) {
		close(fd);
		goto fail;
	}
	close(fd);
	live_bound(d);
	madvise((void *)d->base, d->len, MADV_NORMAL);
	lt_dump_release(d, 0, d->len);
	*out = d;
	return 0;
fail:
	lt_dump_close(d);
	return -1;
}

void lt_dump_release(const struct lt_dump *d, uint64_t from, uint64_t upto)
{
	/* A read-only private file mapping, or a shared one of a memfd:
	 * MADV_DONTNEED only unmaps the pages; a later read refaults the same
	 * bytes from the file. */
	if (!d->image_anon)
		release_pages(d->base, d->len, from, upto);
}

void lt_dump_close(struct lt_dump *d)
{
	if (!d)
		return;
	if (d->file)
		munmap((void *)d->file, d->file_len);
	if (d->image_fd >= 0)
		close(d->image_fd);
	if (d->base)
		munmap((void *)d->base, d->map_len ? d->map_len : d->len);
	free(d->chunks);
	free(d->thread_recs);
	free(d->streams);
	free(d->stream_chunks);
	free(d->path);
	free(d);
}

uint64_t lt_dump_stream_first_ticks(const struct lt_dump *d,
				    const struct lt_dump_stream *s)
{
	/* A first record at UINT64_MAX reads as none: the stream then
	 * starts at a later record's time, or at 0, never after its head;
	 * joining a merge early costs it only room. */
	for (uint32_t k = 0; k < s->nchunks; k++) {
		uint64_t t = d->chunks[s->chunks[k]].first_ticks;

		if (t != UINT64_MAX)
			return t;
	}
	return 0;
}

void lt_dump_chunk_rd_init(struct lt_dump_chunk_rd *r, const struct lt_dump *d,
			   const struct lt_dump_chunk *c)
{
	r->dump = d;
	r->off = c->offset + sizeof(struct lt_chunk_header);
	r->end = r->off + c->size;
	r->code = c->code;
	r->broken = false;
}

const struct lt_rec_head *lt_dump_chunk_rd_next(struct lt_dump_chunk_rd *r,
						uint64_t *offset)
{
	const struct lt_dump *d = r->dump;
	const struct lt_rec_head *h;

	/* lt_dump_open validated every record (check_chunk_records); this
	 * keeps the reader inside its chunk against a caller that built it
	 * over something else, without redoing the per-type checks. */
	while (d->coded && r->off < r->end && d->base[r->off] == 0)
		r->off++;
	if (r->off >= r->end || r->end > d->len)
		return NULL;
	if (d->coded && (d->base[r->off] & LT_CODED_BIT)) {
		size_t len = lt_dump_decode(d->base + r->off, d->base + r->end, &r->code, &r->ev);

		if (!len)
			goto bad;
		h = &r->ev.head;
		if (offset)
			*offset = r->off;
		r->off += len;
		return h;
	}
	h = r->end - r->off >= sizeof(*h) ?
		(const struct lt_rec_head *)(d->base + r->off) : NULL;
	if (!h || h->size < sizeof(*h) || h->size > r->end - r->off)
		goto bad;
	if (offset)
		*offset = r->off;
	r->off += h->size;
	return h;
bad:
	r->off = r->end;
	r->broken = true;
	return NULL;
}

void lt_dump_cursor_init(struct lt_dump_cursor *c, const struct lt_dump *d,
			 const struct lt_dump_stream *s)
{
	*c = (struct lt_dump_cursor){ .stream = s, .rd = { .dump = d } };
}

const struct lt_rec_head *lt_dump_cursor_next_slow(struct lt_dump_cursor *c,
						   uint64_t *offset)
{
	const struct lt_dump *d = c->rd.dump;

	for (;;) {
		uint64_t from = c->rd.off;
		const struct lt_rec_head *h = lt_dump_chunk_rd_next(&c->rd, offset);

		if (h) {
			c->bytes_done += c->rd.off - from;
			return h;
		}
		/* The chunk's end, or a record that does not fit (then the
		 * stream ends: the slow path's promise). */
		c->bytes_done += c->rd.end - from;
		if (c->rd.broken || c->next_chunk >= c->stream->nchunks) {
			c->next_chunk = c->stream->nchunks;
			return NULL;
		}
		lt_dump_chunk_rd_init(&c->rd, d,
				      &d->chunks[c->stream->chunks[c->next_chunk++]]);
		c->bytes_done += sizeof(struct lt_chunk_header);
	}
}
