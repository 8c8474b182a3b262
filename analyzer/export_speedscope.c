/*
 * `libtrace export --format speedscope`: speedscope's JSON file format
 * (https://www.speedscope.app/file-format-schema.json), one "sampled"
 * profile per value (calls, bytes, leaked bytes, temporary), each sample a
 * site's stack from the root to the leaf with its value as weight.  Empty
 * profiles are left out; a sampled dump says so in every profile's name.
 */
#include "export.h"

#include <inttypes.h>

static const char *const profile_names[LT_VALUE_COUNT] = {
	[LT_VALUE_CALLS] = "allocations (calls)",
	[LT_VALUE_BYTES] = "bytes allocated",
	[LT_VALUE_LEAKED] = "bytes leaked",
	[LT_VALUE_TEMPORARY] = "temporary allocations (calls)",
};

static void profile(FILE *out, struct lt_export *x, enum lt_export_value v,
		    bool first)
{
	const struct lt_dump *d = x->dump;
	bool any = false;
	char name[512];

	snprintf(name, sizeof(name), "%.*s pid %u: %s%s", (int)d->exe_len,
		 d->exe, d->hdr->pid, profile_names[v],
		 x->m->sampled ? " (" LT_EXPORT_SAMPLED_NOTE ")" : "");
	fprintf(out, "%s\n  {\"type\": \"sampled\", \"name\": ", first ? "" : ",");
	lt_json_cstr(out, name);
	fprintf(out, ", \"unit\": \"%s\", \"startValue\": 0, \"endValue\": %"
		PRIu64 ",\n   \"samples\": [",
		v == LT_VALUE_BYTES || v == LT_VALUE_LEAKED ? "bytes" : "none",
		x->total[v]);
	for (size_t i = 0; i < x->nsites; i++) {
		const struct lt_xsite *s = &x->sites[i];
		if (!s->v[v])
			continue;
		fprintf(out, "%s[", any ? ", " : "");
		for (size_t k = s->nfid; k-- > 0;)
			fprintf(out, "%" PRIu32 "%s", s->fid[k], k ? "," : "");
		fprintf(out, "]");
		any = true;
	}
	fprintf(out, "],\n   \"weights\": [");
	any = false;
	for (size_t i = 0; i < x->nsites; i++) {
		if (!x->sites[i].v[v])
			continue;
		fprintf(out, "%s%" PRIu64, any ? ", " : "", x->sites[i].v[v]);
		any = true;
	}
	fprintf(out, "]}");
}

int lt_export_speedscope(FILE *out, struct lt_export *x,
			 const struct lt_export_opts *o, struct lt_err *err)
{
	const struct lt_dump *d = x->dump;
	bool first = true;
	char name[512];

	(void)o;
	(void)err;
	fprintf(out, "{\"$schema\": \"https://www.speedscope.app/"
		"file-format-schema.json\",\n \"exporter\": \"libtrace\",\n"
		" \"name\": ");
	snprintf(name, sizeof(name), "%.*s pid %u%s", (int)d->exe_len, d->exe,
		 d->hdr->pid, x->m->sampled ? " (" LT_EXPORT_SAMPLED_NOTE ")" : "");
	lt_json_cstr(out, name);
	fprintf(out, ",\n \"activeProfileIndex\": 0,\n \"shared\": {\"frames\": [");
	for (size_t i = 0; i < x->nframes; i++) {
		const struct lt_xframe *f = &x->frames[i];
		fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
		lt_json_cstr(out, f->name);
		if (f->file) {
			fprintf(out, ", \"file\": ");
			lt_json_cstr(out, f->file);
		}
		fprintf(out, "}");
	}
	fprintf(out, "]},\n \"profiles\": [");
	for (int v = 0; v < LT_VALUE_COUNT; v++) {
		/* Always one profile, even of a run that allocated nothing. */
		if (!x->total[v] && !(v == LT_VALUE_CALLS))
			continue;
		profile(out, x, (enum lt_export_value)v, first);
		first = false;
	}
	fprintf(out, "]}\n");
	return 0;
}
