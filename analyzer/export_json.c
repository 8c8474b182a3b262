/*
 * `libtrace export --format json`: every site with its numbers and its
 * symbolized stack, who held the peak, the heap over time and every
 * thread's lifetime, as one JSON object (described in the README).  Also
 * the JSON pieces the HTML page embeds, so both say the same.
 */
#include "export.h"

#include <inttypes.h>

#include "symbols.h"

void lt_export_json_totals(FILE *out, const struct lt_export *x)
{
	const struct lt_totals *t = &x->m->totals;

	fprintf(out, "{\"allocations\": %" PRIu64 ", \"frees\": %" PRIu64
		", \"reallocs\": %" PRIu64 ", \"bytes_allocated\": %" PRIu64
		", \"peak_bytes\": %" PRIu64 ", \"leaked_blocks\": %" PRIu64
		", \"leaked_bytes\": %" PRIu64 ", \"temporary\": %" PRIu64
		", \"threads_created\": %" PRIu64 ", \"threads_joined\": %" PRIu64
		", \"threads_detached\": %" PRIu64 ", \"threads_leaked\": %" PRIu64
		", \"threads_running_at_exit\": %" PRIu64
		", \"peak_threads\": %" PRIu64 "}",
		t->allocations, t->frees, t->reallocs, t->bytes_allocated,
		t->peak_bytes, t->leaked_blocks, t->leaked_bytes, t->temporary,
		t->threads_created, t->threads_joined, t->threads_detached,
		t->threads_leaked, t->threads_running_at_exit, t->peak_threads);
}

/* An estimate summed up and down can end a hair below zero. */
static double bytes_shown(double b)
{
	return b > 0 ? b : 0;
}

void lt_export_json_heap(FILE *out, const struct lt_export *x)
{
	const struct lt_series *s = x->series;
	double w = x->m->ns_per_tick * 1e-9 * (double)s->width;

	fprintf(out, "{\"peak_bytes\": %.0f, \"peak_seconds\": %.9f, "
		"\"bucket_seconds\": %.9g, \"estimated\": %s,\n   \"t\": [",
		s->peak, lt_export_seconds(x, s->peak_ticks), w,
		s->sampled ? "true" : "false");
	for (size_t i = 0; i < s->n; i++)
		fprintf(out, "%s%.9g", i ? "," : "",
			lt_export_seconds(x, lt_series_ticks(s, i)));
	fprintf(out, "],\n   \"lo\": [");
	for (size_t i = 0; i < s->n; i++)
		fprintf(out, "%s%.0f", i ? "," : "",
			bytes_shown(s->b[i].lo));
	fprintf(out, "],\n   \"hi\": [");
	for (size_t i = 0; i < s->n; i++)
		fprintf(out, "%s%.0f", i ? "," : "",
			bytes_shown(s->b[i].hi));
	fprintf(out, "],\n   \"last\": [");
	for (size_t i = 0; i < s->n; i++)
		fprintf(out, "%s%.0f", i ? "," : "",
			bytes_shown(s->b[i].last));
	fprintf(out, "]}");
}

const char *lt_export_thread_state(const struct lt_thread *t)
{
	if (t->is_main)
		return "main";
	if (t->joined)
		return "joined";
	if (t->detached)
		return "detached";
	return t->exited ? "leaked" : "running at exit";
}

void lt_export_json_thread(FILE *out, struct lt_export *x,
			   const struct lt_thread *t)
{
	uint64_t born = t->created ? t->create_ticks : t->start_ticks;
	struct lt_sym_frame f;

	fprintf(out, "{\"serial\": %u, \"tid\": %u, \"creator\": %u, "
		"\"name\": ", t->serial, t->tid, t->creator);
	lt_json_cstr(out, t->name);
	fprintf(out, ", \"start_routine\": ");
	if (t->is_main)
		fprintf(out, "\"main\"");
	else if (t->start_routine &&
		 lt_sym_resolve(x->sym, t->start_routine, false, born, &f, 1) > 0)
		lt_json_cstr(out, f.function);
	else
		fprintf(out, "null");
	fprintf(out, ", \"create_stack\": %u, \"born_seconds\": %.9f, "
		"\"exit_seconds\": ", t->create_stack,
		lt_export_seconds(x, born));
	if (t->exited)
		fprintf(out, "%.9f", lt_export_seconds(x, t->exit_ticks));
	else
		fprintf(out, "null");
	fprintf(out, ", \"allocations\": %" PRIu64 ", \"state\": \"%s\"}",
		t->allocs, lt_export_thread_state(t));
}

void lt_export_json_frame(FILE *out, const struct lt_xframe *f)
{
	fprintf(out, "{\"name\": ");
	lt_json_cstr(out, f->name);
	fprintf(out, ", \"file\": ");
	lt_json_cstr(out, f->file);
	fprintf(out, ", \"module\": ");
	lt_json_cstr(out, f->module);
	fprintf(out, "}");
}

void lt_export_json_head(FILE *out, const struct lt_export *x)
{
	const struct lt_dump *d = x->dump;

	fprintf(out, "\"dump\": ");
	lt_json_cstr(out, x->path);
	fprintf(out, ", \"pid\": %u, \"exe\": ", d->hdr->pid);
	lt_json_string(out, d->exe, d->exe_len);
	fprintf(out, ", \"start_realtime_ns\": %" PRIu64 ", \"duration_seconds\": "
		"%.9f,\n \"sampled\": %s, \"sample_interval\": %" PRIu64
		", \"note\": %s, \"truncated\": %s,\n \"totals\": ",
		d->hdr->start_realtime_ns, lt_export_duration(x),
		x->m->sampled ? "true" : "false", x->m->sample_interval,
		x->m->sampled ? "\"" LT_EXPORT_SAMPLED_NOTE "\"" : "null",
		d->truncated ? "true" : "false");
	lt_export_json_totals(out, x);
}

int lt_export_json(FILE *out, struct lt_export *x,
		   const struct lt_export_opts *o, struct lt_err *err)
{
	const struct lt_model *m = x->m;

	(void)o;
	(void)err;
	fprintf(out, "{\"format\": \"libtrace-export\", \"version\": 1,\n ");
	lt_export_json_head(out, x);
	fprintf(out, ",\n \"frames\": [");
	for (size_t i = 0; i < x->nframes; i++) {
		fprintf(out, "%s\n  ", i ? "," : "");
		lt_export_json_frame(out, &x->frames[i]);
	}
	fprintf(out, "],\n \"sites\": [");
	for (size_t i = 0; i < x->nsites; i++) {
		const struct lt_xsite *s = &x->sites[i];
		fprintf(out, "%s\n  {\"stack_id\": %u, \"calls\": %" PRIu64
			", \"bytes\": %" PRIu64 ", \"temporary\": %" PRIu64
			", \"leaked_blocks\": %" PRIu64 ", \"leaked_bytes\": %"
			PRIu64 ", \"min_size\": %" PRIu64 ", \"max_size\": %"
			PRIu64 ", \"reallocs\": %" PRIu64 ", \"peak_bytes\": %"
			PRIu64 ", \"peak_blocks\": %" PRIu64 ",\n   \"stack\": [",
			i ? "," : "", s->site->stack_id, s->v[LT_VALUE_CALLS],
			s->v[LT_VALUE_BYTES], s->v[LT_VALUE_TEMPORARY],
			s->leaked_blocks, s->v[LT_VALUE_LEAKED],
			s->site->min_size, s->site->max_size, s->site->reallocs,
			s->peak_bytes, s->peak_blocks);
		for (size_t k = 0; k < s->nfid; k++)
			fprintf(out, "%s%u", k ? "," : "", s->fid[k]);
		fprintf(out, "],\n   \"frames\": [");
		for (size_t k = 0; k < s->nrf; k++) {
			const struct lt_sym_frame *f = &s->rf[k].f;
			fprintf(out, "%s{\"address\": \"0x%" PRIx64 "\", "
				"\"function\": ", k ? ", " : "", s->rf[k].addr);
			lt_json_cstr(out, f->function);
			fprintf(out, ", \"file\": ");
			lt_json_cstr(out, f->file);
			fprintf(out, ", \"line\": %d, \"inlined\": %s}", f->line,
				f->inlined ? "true" : "false");
		}
		fprintf(out, "]}");
	}
	fprintf(out, "],\n \"heap\": ");
	lt_export_json_heap(out, x);
	fprintf(out, ",\n \"threads\": [");
	for (size_t i = 0; i < m->nthreads; i++) {
		fprintf(out, "%s\n  ", i ? "," : "");
		lt_export_json_thread(out, x, m->threads[i]);
	}
	fprintf(out, "]}\n");
	return 0;
}
