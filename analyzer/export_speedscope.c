/* `libtrace export --format speedscope`: not written yet (issue 6). */
#include "export.h"

int lt_export_speedscope(FILE *out, struct lt_export *x,
		 const struct lt_export_opts *o, struct lt_err *err)
{
	(void)out;
	(void)o;
	return lt_err_set(err, "%s: --format speedscope is not written yet", x->path);
}
