/*
 * What `top`, `peak` and `leaks` share: one replay of a dump with the
 * observers a view needs, a symbolizer as the report builds it, and the
 * JSON pieces every view prints.  Writes only to the FILE it is given.
 */
#include "cmd_sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int lt_sites_open(const char *path, bool fates, bool series,
		  const struct lt_sites_opts *o, struct lt_sites_run *r,
		  struct lt_err *err)
{
	struct lt_model_hooks hooks = {
		.progress = o->progress, .progress_ctx = o->progress_ctx,
	};

	memset(r, 0, sizeof(*r));
	if (lt_dump_open(path, &r->dump, err) < 0)
		return -1;
	if (fates && !(r->fates = lt_fates_new(r->dump)))
		goto oom;
	if (series && !(r->series = lt_series_new(r->dump)))
		goto oom;
	if (r->fates) {
		hooks.record = lt_fates_observe;
		hooks.record_ctx = r->fates;
		hooks.prefetch = lt_fates_prefetch;
	}
	if (r->series) {
		hooks.heap = lt_series_observe;
		hooks.heap_ctx = r->series;
	}
	if (lt_model_build_hooked(r->dump, &hooks, &r->m, err) < 0) {
		lt_sites_close(r);
		return -1;
	}
	if ((r->fates && lt_fates_finish(r->fates) < 0) ||
	    (r->series && r->series->oom))
		goto oom;
	r->sym = lt_report_symbolizer(r->m);
	if (!r->sym)
		goto oom;
	return 0;
oom:
	lt_err_set(err, "%s: out of memory", path);
	lt_sites_close(r);
	return -1;
}

void lt_sites_close(struct lt_sites_run *r)
{
	lt_sym_free(r->sym);
	lt_fates_free(r->fates);
	lt_series_free(r->series);
	lt_model_free(r->m);
	lt_dump_close(r->dump);
	memset(r, 0, sizeof(*r));
}

double lt_sites_seconds(const struct lt_model *m)
{
	const struct lt_dump *d = m->dump;
	uint64_t end_ns = d->trailer ? d->trailer->mono_ns : d->pair_mono_ns;

	if (end_ns > d->hdr->start_mono_ns)
		return (double)(end_ns - d->hdr->start_mono_ns) * 1e-9;
	return lt_model_seconds(m, m->end_ticks);
}

void lt_sites_json_frames(FILE *out, struct lt_symbolizer *sym,
			  const struct lt_site *s)
{
	struct lt_report_frame *v = NULL;
	size_t n = 0;

	fprintf(out, "\"frames\": [");
	if (lt_report_site_frames(sym, s, &v, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			const struct lt_sym_frame *f = &v[i].f;
			fprintf(out, "%s{\"address\": \"0x%" PRIx64 "\", "
				"\"function\": ", i ? ", " : "", v[i].addr);
			lt_json_cstr(out, f->function);
			fprintf(out, ", \"file\": ");
			lt_json_cstr(out, f->file);
			fprintf(out, ", \"line\": %d, \"module\": ", f->line);
			lt_json_cstr(out, f->module);
			fprintf(out, ", \"offset\": %" PRIu64 ", \"inlined\": %s}",
				f->offset, f->inlined ? "true" : "false");
		}
	}
	fprintf(out, "]");
	free(v);
}

void lt_sites_json_head(FILE *out, const struct lt_model *m)
{
	const struct lt_dump *d = m->dump;

	fprintf(out, "  \"dump\": ");
	lt_json_cstr(out, d->path);
	fprintf(out, ",\n  \"pid\": %u,\n  \"truncated\": %s,\n  \"sampled\": "
		"%s,\n  \"duration_seconds\": %.9f", d->hdr->pid,
		d->truncated ? "true" : "false", m->sampled ? "true" : "false",
		lt_sites_seconds(m));
}

const char *lt_sites_function(struct lt_symbolizer *sym,
			      const struct lt_site *s, char *buf, size_t len)
{
	struct lt_report_frame *v = NULL;
	size_t n = 0;

	snprintf(buf, len, "(unknown)");
	if (lt_report_site_frames(sym, s, &v, &n) == 0 && n > 0) {
		if (v[0].f.function)
			snprintf(buf, len, "%s", v[0].f.function);
		else
			lt_sym_format(&v[0].f, buf, len);
	}
	free(v);
	return buf;
}
