/*
 * The shim's half of include/libtrace/libtrace.h: lt_stats_read() sums the
 * per-thread counters the wrappers keep.  It adds nothing to their path
 * (no lock, no atomic, no syscall per event), never allocates, and never
 * touches recording state.
 */
#include <string.h>

#include "libtrace/libtrace.h"
#include "shim.h"

LT_EXPORT int lt_stats_read(lt_stats_t *out, size_t size)
{
	lt_stats_t s;
	struct lt_counts sum;
	const struct lt_counts *mine;

	memset(&s, 0, sizeof(s));
	/* Asked before any allocation started the shim (a test's first line). */
	if (lt_unlikely(lt_real.free == NULL) && atomic_load(&lt_state) == LT_UNINIT)
		lt_init();
	if (atomic_load(&lt_state) != LT_ACTIVE) {
		s.status = LT_DISABLED;
		goto out;
	}
	s.status = LT_OK;
	lt_writer_sum(&sum);
	s.allocations = sum.allocs;
	s.frees = sum.frees;
	s.reallocs = sum.reallocs;
	s.bytes_allocated = sum.bytes;
	s.threads_created = sum.threads;
	s.live_bytes = sum.live > 0 ? (uint64_t)sum.live : 0;
	s.peak_bytes = sum.live_peak > 0 ? (uint64_t)sum.live_peak : 0;
	if (s.peak_bytes < s.live_bytes)
		s.peak_bytes = s.live_bytes;
	for (struct lt_buf *b = lt_writer_buffers(); b; b = b->next_all)
		s.threads_alive += atomic_load(&b->owned) != 0;
	mine = lt_counts_of(&lt_self);
	s.thread_allocations = mine->allocs;
	s.thread_frees = mine->frees;
	s.thread_bytes_allocated = mine->bytes;
out:
	if (out)
		memcpy(out, &s, size < sizeof(s) ? size : sizeof(s));
	return s.status;
}
