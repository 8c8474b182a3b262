/*
 * The libtrace command line: parses arguments, dispatches to report and
 * run, and owns the process's exit code and stderr.  The only file that
 * exits or writes to stderr; everything it calls returns errors instead.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cmd_sites.h"
#include "diff.h"
#include "export.h"
#include "report.h"
#include "run.h"
#include "threads.h"

enum { EXIT_OK = 0, EXIT_CHECK = 1, EXIT_USAGE = 2 };

/* Dumps smaller than this replay too fast for a progress line. */
#define PROGRESS_MIN_BYTES (64u << 20)

static const char usage_main[] =
	"usage: libtrace COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  run [--output T] [--sample N] -- CMD ARGS\n"
	"                    trace CMD with libtrace.so, then print its report\n"
	"  report [--json] [--top N] DUMP...\n"
	"                    summary, top allocation sites and leaks of dumps\n"
	"  top [--by calls|bytes|temporary] [--json] DUMP\n"
	"                    hot allocation sites with their escape classes\n"
	"                    (frame-local, stack/pool candidate, escapes...)\n"
	"  peak [--json] DUMP  the moment of the heap's maximum and who held it\n"
	"  leaks [--suppressions F] [--json] DUMP\n"
	"                    blocks never freed, by stack; LSan leak: suppressions\n"
	"  threads [--json] [--fanout-limit N] [--ignore-start F] [--ignore-top F] DUMP\n"
	"                    thread lifecycle per creation site, leaked threads,\n"
	"                    unbounded fan-out, live stacks at exit and snapshots\n"
	"  export --format pprof|collapsed|speedscope|massif|chrome|json DUMP [-o F]\n"
	"                    the dump for other viewers (go tool pprof, Pyroscope,\n"
	"                    flamegraph.pl, speedscope, ms_print, Perfetto)\n"
	"  html DUMP -o report.html\n"
	"                    one self-contained page: flame graph, heap over time,\n"
	"                    thread timeline, tables\n"
	"  check --budget F [--baseline OLD] [--junit OUT.xml] DUMP...\n"
	"                    fail (exit 1) when a budget limit is exceeded or the\n"
	"                    run grew past a baseline; JUnit XML for CI\n"
	"  diff [--json] OLD NEW\n"
	"                    what changed between two runs, per site and in totals\n"
	"\n"
	"`libtrace COMMAND --help` describes one command.\n"
	"Exit codes: 0 ok, 1 a check failed, 2 usage error or unreadable input.\n";

static const char usage_top[] =
	"usage: libtrace top [--by calls|bytes|temporary] [--top N] [--frames N]\n"
	"                    [--json] DUMP\n"
	"\n"
	"Allocation sites ranked by calls (default), bytes, or temporary blocks,\n"
	"each with calls, bytes, calls per second, share of all calls, size\n"
	"range, its stack, and its classes with the evidence for each:\n"
	"  temporary          freed before the thread allocated twice more\n"
	"  frame-local        freed on its thread while the allocating function's\n"
	"                     frame was live (by it or a callee): does not escape\n"
	"  stack candidate    frame-local, one size of at most 1 KiB\n"
	"  pool candidate     one size, 1,000+ calls, 16+ calls per block live at\n"
	"                     once, freed on its thread, not handed straight back\n"
	"  escapes to caller  freed k frames up (level k), or after the frame\n"
	"                     returned at a level the free site does not show\n"
	"  escapes to another thread, leaked\n"
	"  realloc growth     a realloc chain growing by steps of at most 1/8 of\n"
	"                     its size, 8+ times: additive, quadratic copying\n"
	"and one suggestion.  Blocks the stacks cannot place are counted as\n"
	"undecided, with the reason.  Free sites come from LIBTRACE_FREE_DEPTH.\n"
	"\n"
	"  --by K       calls, bytes or temporary\n"
	"  --top N      sites shown (default 10)\n"
	"  --frames N   frames shown per stack in text (default 8)\n"
	"  --json       one JSON object (schema in README.md)\n"
	"  --help       this text\n"
	"\n"
	"Exit codes: 0 ok; 2 usage error or a dump that cannot be read.\n";

static const char usage_peak[] =
	"usage: libtrace peak [--top N] [--frames N] [--json] DUMP\n"
	"\n"
	"The moment the live heap was largest (bytes, blocks, time into the\n"
	"run) and the stacks holding it then, largest first, with their share.\n"
	"\n"
	"  --top N      stacks shown (default 10)\n"
	"  --frames N   frames shown per stack in text (default 8)\n"
	"  --json       one JSON object (schema in README.md)\n"
	"  --help       this text\n"
	"\n"
	"Exit codes: 0 ok; 2 usage error or a dump that cannot be read.\n";

static const char usage_leaks[] =
	"usage: libtrace leaks [--suppressions FILE] [--top N] [--frames N]\n"
	"                      [--json] DUMP\n"
	"\n"
	"Blocks never freed, grouped by the stack that allocated them, largest\n"
	"first.  Allocator frames (malloc wrappers, operator new, strdup, libc)\n"
	"are folded so each stack starts in your code; inlined frames are shown\n"
	"and C++ names demangled.\n"
	"\n"
	"  --suppressions FILE   LeakSanitizer's format: one \"leak:PATTERN\" a\n"
	"               line, # comments; a leak is suppressed when PATTERN\n"
	"               matches a function, source file or module of any frame\n"
	"               of its stack (* any characters, ^ and $ anchors,\n"
	"               otherwise a substring)\n"
	"  --top N      stacks shown (default all)\n"
	"  --frames N   frames shown per stack in text (default 8)\n"
	"  --json       one JSON object (schema in README.md)\n"
	"  --help       this text\n"
	"\n"
	"Exit codes: 0 ok (leaks are reported, not a failure: see `check`);\n"
	"2 usage error, or a dump or suppressions file that cannot be read.\n";

static const char usage_report[] =
	"usage: libtrace report [--json] [--top N] [--frames N] DUMP...\n"
	"\n"
	"Summary of each dump (allocations, bytes, peak heap, leaks, threads,\n"
	"with units), then the top allocation sites by calls and by bytes and\n"
	"the leaks grouped by stack, largest first.  Allocator frames (malloc,\n"
	"operator new, libc) are folded so each stack starts in your code.\n"
	"\n"
	"  --json       one JSON object per dump (an array for several); its\n"
	"               \"totals\" hold the counts of the machine-readable\n"
	"               summary, plus \"truncated\" and \"sampled\"\n"
	"  --top N      entries per section (default 10)\n"
	"  --frames N   frames shown per stack in text (default 8)\n"
	"  --help       this text\n"
	"\n"
	"A dump cut short (the program was killed) is reported up to its last\n"
	"complete chunk, with a warning.  Exit codes: 0 ok; 2 usage error or a\n"
	"dump that cannot be read (the others are still reported).\n";

static const char usage_run[] =
	"usage: libtrace run [--output T] [--sample N] [--top N] [--budget F]\n"
	"                    [--baseline OLD.lt]... [--max-increase P%] [--junit OUT.xml]\n"
	"                    [--per-dump] [--] CMD ARGS\n"
	"\n"
	"Runs CMD with libtrace.so preloaded (found through $LIBTRACE_SO, next\n"
	"to this program, or in ../lib), then prints the report of its dump and\n"
	"a line for each dump of its forked or exec'd children.  With --budget\n"
	"or --baseline it then checks every dump of the run, as `libtrace check`\n"
	"does with the same options (see `libtrace check --help`).\n"
	"\n"
	"  --output T   dump path template: %p pid, %e executable, %h host\n"
	"               (LIBTRACE_OUTPUT; default ./%e.%p.lt)\n"
	"  --sample N   sample allocations every N bytes on average (N, Nk,\n"
	"               Nm; LIBTRACE_SAMPLE); reports are then estimates\n"
	"  --top N      entries per report section (default 10)\n"
	"  --help       this text\n"
	"\n"
	"Exit code: CMD's own (128 + N when signal N killed it); 127 when CMD\n"
	"is not found, 126 when it cannot be executed, 2 for a usage error.\n"
	"With --budget or --baseline, when CMD exited 0: the check's (0 every\n"
	"limit held, 1 one failed, 2 a bad budget file, checked before CMD\n"
	"runs, or no dump to check); when CMD failed, still CMD's own.\n";

static const char usage_threads[] =
	"usage: libtrace threads [--json] [--fanout-limit N] [--ignore-start FUNC]\n"
	"                        [--ignore-top FUNC] [--frames N] DUMP...\n"
	"\n"
	"Per creation site (the stack that called pthread_create, and the start\n"
	"routine): threads created, most alive at once and when, joined,\n"
	"detached, leaked (finished, never joined, not detached: what\n"
	"ThreadSanitizer calls a thread leak), running at exit (not detached,\n"
	"never finished), and what its threads allocated.  Then the live stack\n"
	"of every thread at exit and at each LIBTRACE_SNAPSHOT_SIGNAL snapshot,\n"
	"threads with the same stack grouped, like a goroutine dump:\n"
	"  12 threads: pthread_cond_wait \u2190 queue_pop (queue.c:41) \u2190 worker (pool.c:88)\n"
	"A thread that did not answer (it blocks signals) shows \"stack unavailable\".\n"
	"\n"
	"  --json              one JSON object per dump (an array for several)\n"
	"  --fanout-limit N    flag a site as unbounded fan-out when more than N\n"
	"                      of its threads were alive at once (default: 4 x the\n"
	"                      online CPUs of the machine running this command)\n"
	"  --ignore-start FUNC threads whose start routine is FUNC (a glob) are\n"
	"                      not counted as leaked or running at exit and are\n"
	"                      not shown in live stacks (goleak's filters)\n"
	"  --ignore-top FUNC   the same for threads whose stack at exit has FUNC\n"
	"                      on top (pthread_cond_wait, or the program's own\n"
	"                      function under it); both may be repeated, and\n"
	"                      code without symbols matches as module+0x1234\n"
	"                      (--ignore-start 'libgomp*' for OpenMP's pool)\n"
	"  --frames N          frames shown per stack (default 8)\n"
	"  --help              this text\n"
	"\n"
	"Exit codes: 0 ok (thread problems are reported, not failed on; see\n"
	"`libtrace check`); 2 usage error or a dump that cannot be read.\n";

static const char usage_export[] =
	"usage: libtrace export --format FORMAT [--profile heap|threads]\n"
	"                       [--value V] [-o FILE] DUMP\n"
	"\n"
	"Writes the dump in a format other tools read, with the numbers and\n"
	"stacks `libtrace report` shows (estimates in a sampled dump, marked\n"
	"\"sampled, estimated\" in the file, or on stderr for collapsed).\n"
	"\n"
	"  --format pprof       gzipped profile.proto for `go tool pprof`, Grafana\n"
	"                       Pyroscope, Parca: alloc_objects, alloc_space,\n"
	"                       inuse_objects, inuse_space (in use at exit =\n"
	"                       leaked), symbolized, inlined frames, mappings\n"
	"           collapsed   flamegraph.pl folded stacks, one value (--value)\n"
	"           speedscope  speedscope's JSON file format, one profile per value\n"
	"           massif      valgrind massif.out (ms_print): heap over time, the\n"
	"                       peak and the end as detailed trees\n"
	"           chrome      trace-event JSON (Perfetto, chrome://tracing): a bar\n"
	"                       per thread lifetime, a counter for the heap size\n"
	"           json        sites, stacks, heap over time and threads as JSON\n"
	"  --profile threads    pprof only: thread creation stacks (like Go's\n"
	"                       threadcreate; sample types created, leaked,\n"
	"                       running_at_exit) and live stacks (live)\n"
	"  --value V            collapsed: calls (default), bytes, leaked (bytes\n"
	"                       never freed) or temporary (calls)\n"
	"  -o, --output FILE    write to FILE (default: standard output, unless\n"
	"                       it is a terminal)\n"
	"  --help               this text\n"
	"\n"
	"Exit codes: 0 ok; 2 usage error, a dump that cannot be read, or a file\n"
	"that cannot be written.\n";

static const char usage_html[] =
	"usage: libtrace html DUMP -o report.html\n"
	"\n"
	"One self-contained HTML page (no network): a flame graph (click to\n"
	"zoom, search, by calls, bytes, leaked or temporary), the heap size over\n"
	"time with its peak, a thread timeline, and the tables of the report.\n"
	"Large dumps are summarized (time series downsampled, small flame graph\n"
	"nodes merged) so the page stays fast.\n"
	"\n"
	"  -o, --output FILE    write to FILE (default: standard output, unless\n"
	"                       it is a terminal)\n"
	"  --help               this text\n"
	"\n"
	"Exit codes: 0 ok; 2 usage error, a dump that cannot be read, or a file\n"
	"that cannot be written.\n";

static const char usage_check[] =
	"usage: libtrace check [--budget FILE] [--baseline OLD.lt]... [--max-increase P%]\n"
	"                      [--junit OUT.xml] [--per-dump] [--top N] [--frames N]\n"
	"                      DUMP...\n"
	"\n"
	"Checks the dumps against every limit of a budget file and prints each\n"
	"limit, passed or failed; a failure says which limit, the actual value,\n"
	"the limit and the top stacks responsible.  A budget file has one limit\n"
	"a line ('#' starts a comment):\n"
	"  max_allocs = 20000        max_reallocs = 100     max_bytes = 64 MiB\n"
	"  max_peak = 8 MiB          max_leaked_bytes = 0   max_leaked_blocks = 0\n"
	"  max_threads = 16          max_thread_leaks = 0   max_running_at_exit = 0\n"
	"  site parse_header max_allocs = 100    (a function,\n"
	"  site src/json.c:42 max_bytes = 1 MiB   FILE:LINE,\n"
	"  site \"json_*\" max_leaked_bytes = 0    or a glob, on any frame)\n"
	"Sizes take B, KiB, MiB, GiB (or KB, MB, GB: powers of 1000); counts may\n"
	"be written 20,000 or 20k.\n"
	"\n"
	"  --budget FILE        the limits\n"
	"  --baseline OLD.lt    also fail when a total, or a site present in both\n"
	"                       runs, grew past --max-increase (a ratchet); may be\n"
	"                       repeated, for runs of several dumps\n"
	"  --max-increase P%    allowed growth against the baseline (default 0%)\n"
	"  --junit OUT.xml      also write the results as JUnit XML, one test case\n"
	"                       per limit\n"
	"  --per-dump           check each dump on its own (default: together,\n"
	"                       counts added up, peaks the largest of any dump)\n"
	"  --top N              stacks shown per failure (default 3)\n"
	"  --frames N           frames shown per stack (default 8)\n"
	"  --help               this text\n"
	"\n"
	"Exit codes: 0 every limit held; 1 a limit failed; 2 usage error, a budget\n"
	"file with a mistake (its line is named), or a dump that cannot be read.\n";

static const char usage_diff[] =
	"usage: libtrace diff [--json] [--by calls|bytes] [--top N] [--frames N] OLD NEW\n"
	"\n"
	"What changed from the run that wrote OLD to the one that wrote NEW: the\n"
	"totals side by side, then the sites that grew and that shrank, largest\n"
	"change first.  Sites are matched by their chain of functions, so a\n"
	"rebuild (new addresses) or an edit elsewhere in a file (new line\n"
	"numbers) does not split them.\n"
	"\n"
	"  --json        one JSON object: totals with old, new, change and growth,\n"
	"                and every site that changed\n"
	"  --by WHAT     order sites by the change in calls (default) or bytes\n"
	"  --top N       sites per section (default 10)\n"
	"  --frames N    frames shown per stack (default 6)\n"
	"  --help        this text\n"
	"\n"
	"Exit codes: 0 ok; 2 usage error or a dump that cannot be read.\n";

static void complain(const char *msg)
{
	fprintf(stderr, "libtrace: %s\n", msg);
}

static void complain_hook(void *ctx, const char *msg)
{
	(void)ctx;
	complain(msg);
}

static int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "libtrace: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", usage);
	return EXIT_USAGE;
}

static bool parse_count(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 100000 || s[0] == '-')
		return false;
	*out = (unsigned)v;
	return true;
}

/* optarg of the count option opt into *out, or says what is wrong with it
 * (with the command's usage) and returns false. */
static bool count_arg(const char *usage, const char *opt, unsigned *out)
{
	if (parse_count(optarg, out))
		return true;
	usage_error(usage, "%s wants a positive count, not '%s'", opt, optarg);
	return false;
}

struct progress {
	const char *path;
	int last_pct;
};

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	if (done >= total)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "\rlibtrace: reading %s %d%%", p->path, pct);
	fflush(stderr);
}

static int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 't' },
		{ "frames", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lt_report_opts opts = { .mode = LT_REPORT_FULL };
	bool stderr_tty = isatty(STDERR_FILENO);
	int c, rc = EXIT_OK, ndumps;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts.mode = LT_REPORT_JSON;
			break;
		case 't':
			if (!count_arg(usage_report, "--top", &opts.top))
				return EXIT_USAGE;
			break;
		case 'f':
			if (!count_arg(usage_report, "--frames", &opts.frames))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(usage_report, stdout);
			return EXIT_OK;
		default:
			return usage_error(usage_report, "report: unknown "
					   "option '%s'", argv[optind - 1]);
		}
	}
	ndumps = argc - optind;
	if (ndumps == 0)
		return usage_error(usage_report, "report: no dump given");

	if (opts.mode == LT_REPORT_JSON && ndumps > 1)
		fputs("[\n", stdout);
	for (int i = optind; i < argc; i++) {
		struct progress prog = { argv[i], -1 };
		struct lt_report_opts o = opts;
		struct lt_err err;
		struct stat st;

		if (stderr_tty && stat(argv[i], &st) == 0 &&
		    st.st_size >= (off_t)PROGRESS_MIN_BYTES) {
			o.progress = show_progress;
			o.progress_ctx = &prog;
		}
		if (i > optind)
			fputs(opts.mode == LT_REPORT_JSON ? ",\n" : "\n", stdout);
		if (lt_report_path(stdout, argv[i], &o, &err) < 0) {
			fflush(stdout);
			complain(err.msg);
			rc = EXIT_USAGE;
			if (opts.mode == LT_REPORT_JSON && ndumps > 1)
				fputs("null\n", stdout);
		}
	}
	if (opts.mode == LT_REPORT_JSON && ndumps > 1)
		fputs("]\n", stdout);
	if (fflush(stdout) != 0) {
		complain("cannot write the report to standard output");
		rc = EXIT_USAGE;
	}
	return rc;
}

static int cmd_threads(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "fanout-limit", required_argument, NULL, 'l' },
		{ "ignore-start", required_argument, NULL, 's' },
		{ "ignore-top", required_argument, NULL, 't' },
		{ "frames", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lt_threads_opts opts = { 0 };
	const char **starts = calloc((size_t)argc + 1, sizeof(*starts));
	const char **tops = calloc((size_t)argc + 1, sizeof(*tops));
	int c, rc = EXIT_OK, ndumps;

	if (!starts || !tops) {
		complain("out of memory");
		rc = EXIT_USAGE;
		goto out;
	}
	opts.ignore_start = starts;
	opts.ignore_top = tops;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts.json = true;
			break;
		case 'l':
			if (!count_arg(usage_threads, "--fanout-limit",
				       &opts.fanout_limit)) {
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 's':
			starts[opts.nignore_start++] = optarg;
			break;
		case 't':
			tops[opts.nignore_top++] = optarg;
			break;
		case 'f':
			if (!count_arg(usage_threads, "--frames", &opts.frames)) {
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'h':
			fputs(usage_threads, stdout);
			goto out;
		default:
			rc = usage_error(usage_threads, "threads: unknown "
					 "option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	ndumps = argc - optind;
	if (ndumps == 0) {
		rc = usage_error(usage_threads, "threads: no dump given");
		goto out;
	}
	if (opts.json && ndumps > 1)
		fputs("[\n", stdout);
	for (int i = optind; i < argc; i++) {
		struct progress prog = { argv[i], -1 };
		struct lt_threads_opts o = opts;
		struct lt_err err;
		struct stat st;

		if (isatty(STDERR_FILENO) && stat(argv[i], &st) == 0 &&
		    st.st_size >= (off_t)PROGRESS_MIN_BYTES) {
			o.progress = show_progress;
			o.progress_ctx = &prog;
		}
		if (i > optind)
			fputs(opts.json ? ",\n" : "\n", stdout);
		if (lt_threads_path(stdout, argv[i], &o, &err) < 0) {
			fflush(stdout);
			complain(err.msg);
			rc = EXIT_USAGE;
			if (opts.json && ndumps > 1)
				fputs("null\n", stdout);
		}
	}
	if (opts.json && ndumps > 1)
		fputs("]\n", stdout);
	if (fflush(stdout) != 0) {
		complain("cannot write the report to standard output");
		rc = EXIT_USAGE;
	}
out:
	free(starts);
	free(tops);
	return rc;
}

/* `libtrace export` and `libtrace html` (html: format fixed). */
static int cmd_export(int argc, char **argv, bool html)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "profile", required_argument, NULL, 'P' },
		{ "value", required_argument, NULL, 'V' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = html ? usage_html : usage_export;
	struct lt_export_opts opts = { .format = LT_EXPORT_HTML };
	struct progress prog = { NULL, -1 };
	const char *output = NULL;
	bool have_format = html, sampled, regular;
	struct lt_err err;
	struct stat st;
	FILE *out = stdout;
	int c, v;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			v = html ? -1 : lt_export_format_parse(optarg);
			if (v < 0)
				return usage_error(usage, "unknown format '%s'",
						   optarg);
			opts.format = (enum lt_export_format)v;
			have_format = true;
			break;
		case 'P':
			if (html || (strcmp(optarg, "heap") &&
				     strcmp(optarg, "threads")))
				return usage_error(usage, "--profile is heap "
						   "or threads, not '%s'", optarg);
			opts.profile = strcmp(optarg, "heap") ?
				       LT_PROFILE_THREADS : LT_PROFILE_HEAP;
			break;
		case 'V':
			v = html ? -1 : lt_export_value_parse(optarg);
			if (v < 0)
				return usage_error(usage, "--value is calls, "
						   "bytes, leaked or temporary, "
						   "not '%s'", optarg);
			opts.value = (enum lt_export_value)v;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		default:
			return usage_error(usage, "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (!have_format)
		return usage_error(usage, "export: --format is required");
	if (optind != argc - 1)
		return usage_error(usage, optind == argc ? "no dump given" :
				   "one dump at a time");
	if (opts.profile == LT_PROFILE_THREADS && opts.format != LT_EXPORT_PPROF)
		return usage_error(usage, "--profile threads is for --format "
				   "pprof");
	if (!output && isatty(STDOUT_FILENO))
		return usage_error(usage, "will not write %s to a terminal: "
				   "give -o FILE", html ? "a page" : "an export");
	if (output && !(out = fopen(output, "wb"))) {
		fprintf(stderr, "libtrace: cannot create %s: %s\n", output,
			strerror(errno));
		return EXIT_USAGE;
	}
	/* Only a regular file is ours to delete when the export fails:
	 * never a device such as /dev/stdout or /dev/full. */
	regular = output && fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode);
	prog.path = argv[optind];
	if (isatty(STDERR_FILENO) && stat(argv[optind], &st) == 0 &&
	    st.st_size >= (off_t)PROGRESS_MIN_BYTES) {
		opts.progress = show_progress;
		opts.progress_ctx = &prog;
	}
	if (lt_export_path(out, argv[optind], &opts, &sampled, &err) < 0) {
		complain(err.msg);
		if (output)
			fclose(out);
		if (regular)
			remove(output);
		return EXIT_USAGE;
	}
	if (output && fclose(out) != 0) {
		fprintf(stderr, "libtrace: cannot write %s: %s\n", output,
			strerror(errno));
		if (regular)
			remove(output);
		return EXIT_USAGE;
	}
	if (sampled && opts.format == LT_EXPORT_COLLAPSED)
		fprintf(stderr, "libtrace: %s is sampled: the values are "
			"estimates (" LT_EXPORT_SAMPLED_NOTE ")\n",
			argv[optind]);
	return EXIT_OK;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sample", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 't' },
		{ "budget", required_argument, NULL, 'b' },
		{ "baseline", required_argument, NULL, 'B' },
		{ "max-increase", required_argument, NULL, 'm' },
		{ "junit", required_argument, NULL, 'j' },
		{ "per-dump", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char **dumps = NULL;
	size_t ndumps = 0, failed = 0;
	struct lt_run_opts opts = {
		.report = { .mode = LT_REPORT_FULL },
		.complain = complain_hook,
		.dumps = &dumps,
		.ndumps = &ndumps,
	};
	const char **baselines = calloc((size_t)argc + 1, sizeof(*baselines));
	struct lt_check_opts check = { .baselines = baselines };
	struct lt_budget *budget = NULL;
	const char *budget_path = NULL, *increase = NULL;
	struct lt_err err;
	int c, status = EXIT_USAGE;

	if (!baselines) {
		complain("out of memory");
		return EXIT_USAGE;
	}
	opterr = 0;
	/* "+": the first non-option is the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			opts.output = optarg;
			break;
		case 's':
			opts.sample = optarg;
			break;
		case 't':
			if (!count_arg(usage_run, "--top", &opts.report.top)) {
				status = EXIT_USAGE;
				goto out;
			}
			break;
		case 'b':
			budget_path = optarg;
			break;
		case 'B':
			baselines[check.nbaselines++] = optarg;
			break;
		case 'm':
			increase = optarg;
			check.max_increase = lt_check_parse_percent(optarg);
			if (check.max_increase < 0) {
				status = usage_error(usage_run, "--max-increase "
						     "wants a percentage like 5%%, "
						     "not '%s'", optarg);
				goto out;
			}
			break;
		case 'j':
			check.junit = optarg;
			break;
		case 'p':
			check.per_dump = true;
			break;
		case 'h':
			fputs(usage_run, stdout);
			status = EXIT_OK;
			goto out;
		default:
			status = usage_error(usage_run, "run: unknown option '%s'",
					     argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		status = usage_error(usage_run, "run: no command given");
		goto out;
	}
	if ((increase || check.junit || check.per_dump) && !budget_path &&
	    !check.nbaselines) {
		status = usage_error(usage_run, "run: --max-increase, --junit "
				     "and --per-dump need --budget or --baseline");
		goto out;
	}
	/* A bad budget is found before the command runs, not after. */
	if (budget_path && lt_budget_load(budget_path, &budget, &err) < 0) {
		complain(err.msg);
		status = EXIT_USAGE;
		goto out;
	}
	check.budget = budget;
	opts.argv = &argv[optind];
	if (lt_run(&opts, stdout, &status, &err) < 0) {
		complain(err.msg);
		goto out;
	}
	if (!budget && !check.nbaselines)
		goto out;
	if (ndumps == 0) {
		complain("no dump to check");
		status = status ? status : EXIT_USAGE;
		goto out;
	}
	fputc('\n', stdout);
	if (lt_check_paths(stdout, (const char *const *)dumps, ndumps, &check,
			   &failed, &err) < 0) {
		fflush(stdout);
		complain(err.msg);
		status = status ? status : EXIT_USAGE;
		goto out;
	}
	if (status == 0)
		status = failed ? EXIT_CHECK : EXIT_OK;
	else
		fprintf(stdout, "libtrace run: the command itself failed "
			"(exit status %d): that is the exit status\n", status);
out:
	fflush(stdout);
	for (size_t i = 0; i < ndumps; i++)
		free(dumps[i]);
	free(dumps);
	lt_budget_free(budget);
	free(baselines);
	return status;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "budget", required_argument, NULL, 'b' },
		{ "baseline", required_argument, NULL, 'B' },
		{ "max-increase", required_argument, NULL, 'm' },
		{ "junit", required_argument, NULL, 'j' },
		{ "per-dump", no_argument, NULL, 'p' },
		{ "top", required_argument, NULL, 't' },
		{ "frames", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **baselines = calloc((size_t)argc + 1, sizeof(*baselines));
	struct lt_check_opts opts = { .baselines = baselines };
	struct lt_budget *budget = NULL;
	const char *budget_path = NULL, *increase = NULL;
	struct lt_err err;
	size_t failed = 0;
	int c, rc = EXIT_OK;

	if (!baselines) {
		complain("out of memory");
		return EXIT_USAGE;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			budget_path = optarg;
			break;
		case 'B':
			baselines[opts.nbaselines++] = optarg;
			break;
		case 'm':
			increase = optarg;
			opts.max_increase = lt_check_parse_percent(optarg);
			if (opts.max_increase < 0) {
				rc = usage_error(usage_check, "--max-increase wants "
						 "a percentage like 5%%, not '%s'",
						 optarg);
				goto out;
			}
			break;
		case 'j':
			opts.junit = optarg;
			break;
		case 'p':
			opts.per_dump = true;
			break;
		case 't':
			if (!count_arg(usage_check, "--top", &opts.top)) {
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'f':
			if (!count_arg(usage_check, "--frames", &opts.frames)) {
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'h':
			fputs(usage_check, stdout);
			goto out;
		default:
			rc = usage_error(usage_check, "check: unknown option '%s'",
					 argv[optind - 1]);
			goto out;
		}
	}
	if (!budget_path && !opts.nbaselines) {
		rc = usage_error(usage_check, "check: give --budget FILE, "
				 "--baseline OLD.lt, or both");
		goto out;
	}
	if (increase && !opts.nbaselines) {
		rc = usage_error(usage_check, "check: --max-increase needs "
				 "--baseline");
		goto out;
	}
	if (optind >= argc) {
		rc = usage_error(usage_check, "check: no dump given");
		goto out;
	}
	if (budget_path && lt_budget_load(budget_path, &budget, &err) < 0) {
		complain(err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	opts.budget = budget;
	if (lt_check_paths(stdout, (const char *const *)&argv[optind],
			   (size_t)(argc - optind), &opts, &failed, &err) < 0) {
		fflush(stdout);
		complain(err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = failed ? EXIT_CHECK : EXIT_OK;
out:
	lt_budget_free(budget);
	free(baselines);
	return rc;
}

static int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "by", required_argument, NULL, 'b' },
		{ "top", required_argument, NULL, 't' },
		{ "frames", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lt_diff_opts opts = { .order = LT_DIFF_BY_CALLS };
	struct lt_err err;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts.json = true;
			break;
		case 'b':
			if (!strcmp(optarg, "calls"))
				opts.order = LT_DIFF_BY_CALLS;
			else if (!strcmp(optarg, "bytes"))
				opts.order = LT_DIFF_BY_BYTES;
			else
				return usage_error(usage_diff, "--by wants calls "
						   "or bytes, not '%s'", optarg);
			break;
		case 't':
			if (!count_arg(usage_diff, "--top", &opts.top))
				return EXIT_USAGE;
			break;
		case 'f':
			if (!count_arg(usage_diff, "--frames", &opts.frames))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(usage_diff, stdout);
			return EXIT_OK;
		default:
			return usage_error(usage_diff, "diff: unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return usage_error(usage_diff, "diff: give two dumps, OLD and "
				   "NEW");
	if (lt_diff_paths(stdout, argv[optind], argv[optind + 1], &opts,
			  &err) < 0) {
		fflush(stdout);
		complain(err.msg);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

enum sites_view { VIEW_TOP, VIEW_PEAK, VIEW_LEAKS };

/* libtrace top, peak and leaks: one dump each. */
static int cmd_sites(int argc, char **argv, enum sites_view view)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "by", required_argument, NULL, 'b' },
		{ "top", required_argument, NULL, 't' },
		{ "frames", required_argument, NULL, 'f' },
		{ "suppressions", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = view == VIEW_TOP ? usage_top :
			    view == VIEW_PEAK ? usage_peak : usage_leaks;
	const char *name = view == VIEW_TOP ? "top" :
			   view == VIEW_PEAK ? "peak" : "leaks";
	struct lt_sites_opts opts = { .order = LT_TOP_BY_CALLS };
	struct progress prog;
	struct lt_err err;
	struct stat st;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts.json = true;
			break;
		case 'b':
			if (view != VIEW_TOP)
				goto unknown;
			if (!strcmp(optarg, "calls"))
				opts.order = LT_TOP_BY_CALLS;
			else if (!strcmp(optarg, "bytes"))
				opts.order = LT_TOP_BY_BYTES;
			else if (!strcmp(optarg, "temporary"))
				opts.order = LT_TOP_BY_TEMPORARY;
			else
				return usage_error(usage, "--by wants calls, "
						   "bytes or temporary, not "
						   "'%s'", optarg);
			break;
		case 't':
			if (!count_arg(usage, "--top", &opts.top))
				return EXIT_USAGE;
			break;
		case 'f':
			if (!count_arg(usage, "--frames", &opts.frames))
				return EXIT_USAGE;
			break;
		case 's':
			if (view != VIEW_LEAKS)
				goto unknown;
			opts.suppressions = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		default:
		unknown:
			return usage_error(usage, "%s: unknown option '%s'",
					   name, argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return usage_error(usage, "%s: give one dump", name);
	prog = (struct progress){ argv[optind], -1 };
	if (isatty(STDERR_FILENO) && stat(argv[optind], &st) == 0 &&
	    st.st_size >= (off_t)PROGRESS_MIN_BYTES) {
		opts.progress = show_progress;
		opts.progress_ctx = &prog;
	}
	rc = view == VIEW_TOP ? lt_top_path(stdout, argv[optind], &opts, &err) :
	     view == VIEW_PEAK ? lt_peak_path(stdout, argv[optind], &opts, &err) :
	     lt_leaks_path(stdout, argv[optind], &opts, &err);
	if (rc < 0) {
		fflush(stdout);
		complain(err.msg);
		return EXIT_USAGE;
	}
	if (fflush(stdout) != 0) {
		complain("cannot write the report to standard output");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		if (argc > 2 && !strcmp(argv[2], "report"))
			fputs(usage_report, stdout);
		else if (argc > 2 && !strcmp(argv[2], "run"))
			fputs(usage_run, stdout);
		else if (argc > 2 && !strcmp(argv[2], "threads"))
			fputs(usage_threads, stdout);
		else if (argc > 2 && !strcmp(argv[2], "export"))
			fputs(usage_export, stdout);
		else if (argc > 2 && !strcmp(argv[2], "html"))
			fputs(usage_html, stdout);
		else if (argc > 2 && !strcmp(argv[2], "check"))
			fputs(usage_check, stdout);
		else if (argc > 2 && !strcmp(argv[2], "diff"))
			fputs(usage_diff, stdout);
		else if (argc > 2 && !strcmp(argv[2], "top"))
			fputs(usage_top, stdout);
		else if (argc > 2 && !strcmp(argv[2], "peak"))
			fputs(usage_peak, stdout);
		else if (argc > 2 && !strcmp(argv[2], "leaks"))
			fputs(usage_leaks, stdout);
		else
			fputs(usage_main, stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "threads"))
		return cmd_threads(argc - 1, argv + 1);
	if (!strcmp(cmd, "export"))
		return cmd_export(argc - 1, argv + 1, false);
	if (!strcmp(cmd, "html"))
		return cmd_export(argc - 1, argv + 1, true);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "diff"))
		return cmd_diff(argc - 1, argv + 1);
	if (!strcmp(cmd, "top"))
		return cmd_sites(argc - 1, argv + 1, VIEW_TOP);
	if (!strcmp(cmd, "peak"))
		return cmd_sites(argc - 1, argv + 1, VIEW_PEAK);
	if (!strcmp(cmd, "leaks"))
		return cmd_sites(argc - 1, argv + 1, VIEW_LEAKS);
	return usage_error(usage_main, "unknown command '%s'", cmd);
}
