/*
 * `libtrace peak`: the moment the live heap was largest and the stacks that
 * held it then, largest first.  Found during the one replay by series.c
 * (each site's value saved lazily at its first change after a peak), so
 * memory is bounded by the sites, never by events.  Writes only to the FILE
 * it is given.
 */
#include "cmd_sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static uint64_t round_u64(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 18446744073709549568.0)
		return UINT64_MAX;
	return (uint64_t)(x + 0.5);
}

static const char *plural(const char *shown)
{
	return strcmp(shown, "1") == 0 ? "" : "s";
}

int lt_peak_path(FILE *out, const char *path, const struct lt_sites_opts *opts,
		 struct lt_err *err)
{
	struct lt_sites_opts o = *opts;
	struct lt_sites_run r;
	const struct lt_series_site **v;
	size_t n, shown;
	double peak, blocks = 0, secs, at;
	const char *est;
	char a[LT_FMT_BUF], b[LT_FMT_BUF], c[LT_FMT_BUF], fn[256];
	int rc = 0;

	if (!o.top)
		o.top = 10;
	if (!o.frames)
		o.frames = 8;
	if (lt_sites_open(path, false, true, &o, &r, err) < 0)
		return -1;
	if (lt_series_peak_sites(r.series, &v, &n) < 0) {
		lt_sites_close(&r);
		return lt_err_set(err, "%s: out of memory", path);
	}
	est = r.m->sampled ? "~" : "";
	peak = (double)r.m->totals.peak_bytes;
	for (size_t i = 0; i < n; i++)
		blocks += v[i]->blocks;
	secs = lt_sites_seconds(r.m);
	at = r.series->peak > 0 ? lt_model_seconds(r.m, r.series->peak_ticks) : -1;
	shown = n < o.top ? n : o.top;

	if (o.json) {
		fprintf(out, "{\n");
		lt_sites_json_head(out, r.m);
		fprintf(out, ",\n  \"peak_bytes\": %" PRIu64 ",\n  "
			"\"peak_blocks\": %" PRIu64 ",\n  \"peak_seconds\": ",
			r.m->totals.peak_bytes, round_u64(blocks));
		if (at >= 0)
			fprintf(out, "%.9f", at);
		else
			fprintf(out, "null");
		fprintf(out, ",\n  \"sites_total\": %zu,\n  \"sites\": [", n);
		for (size_t i = 0; i < shown; i++) {
			fprintf(out, "%s\n    {\"rank\": %zu, \"stack_id\": %u, "
				"\"function\": ", i ? "," : "", i + 1,
				v[i]->site->stack_id);
			lt_json_cstr(out, lt_sites_function(r.sym, v[i]->site,
							    fn, sizeof(fn)));
			fprintf(out, ", \"bytes\": %" PRIu64 ", \"blocks\": %"
				PRIu64 ", \"share\": %.6f, ",
				round_u64(v[i]->bytes), round_u64(v[i]->blocks),
				peak > 0 ? v[i]->bytes / peak : 0.0);
			lt_sites_json_frames(out, r.sym, v[i]->site);
			fprintf(out, "}");
		}
		fprintf(out, "%s]\n}\n", shown ? "\n  " : "");
	} else {
		fprintf(out, "libtrace peak: %s\n", r.m->dump->path);
		if (peak <= 0 || n == 0) {
			fprintf(out, "  The heap never held a block.\n");
		} else {
			char d[LT_FMT_BUF];
			lt_fmt_count_f(d, blocks);
			fprintf(out, "  peak heap %s%s in %s%s block%s at %s of a "
				"%s run, held by %zu stack%s%s\n", est,
				lt_fmt_bytes_f(a, peak), est, d, plural(d),
				lt_fmt_duration(b, at), lt_fmt_duration(c, secs),
				n, n == 1 ? "" : "s",
				r.m->sampled ? " (sampled: ~ are estimates)" : "");
		}
		if (r.m->dump->truncated)
			fprintf(out, "  warning: the dump is truncated (%s): the "
				"peak is the largest up to where it ends\n",
				r.m->dump->truncation);
		for (size_t i = 0; i < shown; i++) {
			lt_fmt_count_f(b, v[i]->blocks);
			fprintf(out, "\n#%zu  %s%s (%s of the peak) in %s%s "
				"block%s\n", i + 1, est,
				lt_fmt_bytes_f(a, v[i]->bytes),
				lt_fmt_percent(c, v[i]->bytes, peak), est, b,
				plural(b));
			lt_print_stack(out, r.sym, v[i]->site, o.frames, "      ");
		}
		if (n > shown)
			fprintf(out, "\n... and %zu more stack%s (--top)\n",
				n - shown, n - shown == 1 ? "" : "s");
	}
	if (fflush(out) != 0 || ferror(out))
		rc = lt_err_set(err, "cannot write the report: output error");
	lt_sites_close(&r);
	return rc;
}
