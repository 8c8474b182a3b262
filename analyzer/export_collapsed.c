/*
 * `libtrace export --format collapsed`: one line per stack, frames from
 * the outermost to the innermost joined by ';', a space and the value:
 * the input of flamegraph.pl, inferno and Pyroscope's folded ingestion.
 * The format has no room for a note, so main() says "sampled, estimated"
 * on stderr.  Names never contain ';' or a newline here.
 */
#include "export.h"

#include <inttypes.h>

static void put_name(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' || *s == '\n' || *s == '\r' ? '_' : *s, out);
}

int lt_export_collapsed(FILE *out, struct lt_export *x,
			const struct lt_export_opts *o, struct lt_err *err)
{
	(void)err;
	for (size_t i = 0; i < x->nsites; i++) {
		const struct lt_xsite *s = &x->sites[i];
		uint64_t v = s->v[o->value];

		if (v == 0)
			continue;
		for (size_t k = s->nfid; k-- > 0;) {
			put_name(out, x->frames[s->fid[k]].name);
			if (k)
				fputc(';', out);
		}
		fprintf(out, " %" PRIu64 "\n", v);
	}
	return 0;
}
