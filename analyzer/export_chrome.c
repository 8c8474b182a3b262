/*
 * `libtrace export --format chrome`: the Trace Event Format (JSON object
 * form) that Perfetto and chrome://tracing open.  One complete event
 * ("ph":"X") per thread from its creation to its exit (or the end of the
 * run), counters ("ph":"C") for the heap size and the threads alive, and
 * an instant event at the heap's peak.  Times are microseconds of the run.
 */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>

#include "symbols.h"

struct edge {
	uint64_t ticks;
	int delta;
};

static int cmp_edge(const void *pa, const void *pb)
{
	const struct edge *a = pa, *b = pb;

	if (a->ticks != b->ticks)
		return a->ticks < b->ticks ? -1 : 1;
	return a->delta - b->delta;   /* exits first at equal times */
}

static uint64_t born(const struct lt_thread *t)
{
	return t->created ? t->create_ticks : t->start_ticks;
}

static void counter(FILE *out, unsigned pid, const char *name, double us,
		    const char *key, double v)
{
	fprintf(out, ",\n{\"name\": \"%s\", \"ph\": \"C\", \"ts\": %.3f, "
		"\"pid\": %u, \"tid\": 0, \"args\": {\"%s\": %.0f}}", name, us,
		pid, key, v);
}

int lt_export_chrome(FILE *out, struct lt_export *x,
		     const struct lt_export_opts *o, struct lt_err *err)
{
	const struct lt_model *m = x->m;
	const struct lt_dump *d = x->dump;
	const struct lt_series *se = x->series;
	unsigned pid = d->hdr->pid;
	double end_us = lt_export_duration(x) * 1e6;
	double peak_us = lt_export_seconds(x, se->peak_ticks) * 1e6;
	struct edge *edges = calloc(2 * m->nthreads + 1, sizeof(*edges));
	size_t nedges = 0;
	bool peak_done = se->peak <= 0;
	char name[600], routine[512];
	long alive = 0;

	(void)o;
	if (!edges)
		return lt_err_set(err, "%s: out of memory", x->path);
	fprintf(out, "{\"displayTimeUnit\": \"ms\",\n\"otherData\": {"
		"\"exporter\": \"libtrace\", \"dump\": ");
	lt_json_cstr(out, x->path);
	fprintf(out, ", \"sampled\": \"%s\", \"truncated\": \"%s\"},\n"
		"\"traceEvents\": [\n", m->sampled ? LT_EXPORT_SAMPLED_NOTE :
		"no, exact", d->truncated ? "yes" : "no");
	snprintf(name, sizeof(name), "%.*s (pid %u)%s", (int)d->exe_len, d->exe,
		 pid, m->sampled ? " " LT_EXPORT_SAMPLED_NOTE : "");
	fprintf(out, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %u, "
		"\"tid\": 0, \"args\": {\"name\": ", pid);
	lt_json_cstr(out, name);
	fprintf(out, "}}");

	for (size_t i = 0; i < m->nthreads; i++) {
		const struct lt_thread *t = m->threads[i];
		uint64_t b = born(t);
		double from = lt_export_seconds(x, b) * 1e6;
		double to = t->exited ? lt_export_seconds(x, t->exit_ticks) * 1e6 :
			    end_us;
		struct lt_sym_frame f;

		if (t->is_main)
			snprintf(routine, sizeof(routine), "main");
		else if (t->start_routine &&
			 lt_sym_resolve(x->sym, t->start_routine, false, b,
					&f, 1) > 0 && f.function)
			snprintf(routine, sizeof(routine), "%s", f.function);
		else
			snprintf(routine, sizeof(routine), "thread");
		if (t->name[0])
			snprintf(name, sizeof(name), "%s #%u", t->name, t->serial);
		else
			snprintf(name, sizeof(name), "%s #%u", routine, t->serial);
		fprintf(out, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", "
			"\"pid\": %u, \"tid\": %u, \"args\": {\"name\": ", pid,
			t->serial);
		lt_json_cstr(out, name);
		fprintf(out, "}},\n{\"name\": \"thread_sort_index\", \"ph\": "
			"\"M\", \"pid\": %u, \"tid\": %u, \"args\": "
			"{\"sort_index\": %u}}", pid, t->serial, t->serial);
		fprintf(out, ",\n{\"name\": ");
		lt_json_cstr(out, routine);
		fprintf(out, ", \"cat\": \"thread\", \"ph\": \"X\", \"ts\": %.3f, "
			"\"dur\": %.3f, \"pid\": %u, \"tid\": %u, \"args\": "
			"{\"state\": \"%s\", \"tid\": %u, \"creator\": %u}}",
			from, to > from ? to - from : 0, pid, t->serial,
			lt_export_thread_state(t), t->tid, t->creator);
		edges[nedges++] = (struct edge){ b, 1 };
		if (t->exited)
			edges[nedges++] = (struct edge){ t->exit_ticks, -1 };
	}

	/* The heap: each time bucket's level at its end, and the peak. */
	counter(out, pid, "heap", 0, "bytes", 0);
	for (size_t i = 0; i < se->n; i++) {
		double us = lt_export_seconds(x, lt_series_ticks(se, i + 1)) * 1e6;
		if (us > end_us)
			us = end_us;
		if (!peak_done && peak_us <= us) {
			counter(out, pid, "heap", peak_us, "bytes", se->peak);
			peak_done = true;
		}
		counter(out, pid, "heap", us, "bytes",
			se->b[i].last > 0 ? se->b[i].last : 0);
	}
	if (se->peak > 0)
		fprintf(out, ",\n{\"name\": \"heap peak\", \"ph\": \"i\", "
			"\"s\": \"p\", \"ts\": %.3f, \"pid\": %u, \"tid\": 0, "
			"\"args\": {\"bytes\": %.0f}}", peak_us, pid, se->peak);

	qsort(edges, nedges, sizeof(*edges), cmp_edge);
	for (size_t i = 0; i < nedges; i++) {
		alive += edges[i].delta;
		if (i + 1 < nedges && edges[i + 1].ticks == edges[i].ticks)
			continue;
		counter(out, pid, "threads alive", lt_export_seconds(x,
			edges[i].ticks) * 1e6, "threads", (double)alive);
	}
	fprintf(out, "\n]}\n");
	free(edges);
	return 0;
}
