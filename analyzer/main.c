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
	"  threads [--json] [--fanout-limit N] [--ignore-start F] [--ignore-top F] DUMP\n"
	"                    thread lifecycle per creation site, leaked threads,\n"
	"                    unbounded fan-out, live stacks at exit and snapshots\n"
	"\n"
	"`libtrace COMMAND --help` describes one command.\n"
	"Exit codes: 0 ok, 1 a check failed, 2 usage error or unreadable input.\n";

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
	"usage: libtrace run [--output T] [--sample N] [--top N] [--] CMD ARGS\n"
	"\n"
	"Runs CMD with libtrace.so preloaded (found through $LIBTRACE_SO, next\n"
	"to this program, or in ../lib), then prints the report of its dump and\n"
	"a line for each dump of its forked or exec'd children.\n"
	"\n"
	"  --output T   dump path template: %p pid, %e executable, %h host\n"
	"               (LIBTRACE_OUTPUT; default ./%e.%p.lt)\n"
	"  --sample N   sample allocations every N bytes on average (N, Nk,\n"
	"               Nm; LIBTRACE_SAMPLE); reports are then estimates\n"
	"  --top N      entries per report section (default 10)\n"
	"  --help       this text\n"
	"\n"
	"Exit code: CMD's own (128 + N when signal N killed it); 127 when CMD\n"
	"is not found, 126 when it cannot be executed, 2 for a usage error.\n";

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
	"                      function under it); both may be repeated\n"
	"  --frames N          frames shown per stack (default 8)\n"
	"  --help              this text\n"
	"\n"
	"Exit codes: 0 ok (thread problems are reported, not failed on; see\n"
	"`libtrace check`); 2 usage error or a dump that cannot be read.\n";

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
			if (!parse_count(optarg, &opts.top))
				return usage_error(usage_report, "--top wants a "
						   "positive count, not '%s'",
						   optarg);
			break;
		case 'f':
			if (!parse_count(optarg, &opts.frames))
				return usage_error(usage_report, "--frames wants "
						   "a positive count, not '%s'",
						   optarg);
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
			if (!parse_count(optarg, &opts.fanout_limit)) {
				rc = usage_error(usage_threads, "--fanout-limit "
						 "wants a positive count, not "
						 "'%s'", optarg);
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
			if (!parse_count(optarg, &opts.frames)) {
				rc = usage_error(usage_threads, "--frames wants "
						 "a positive count, not '%s'",
						 optarg);
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

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sample", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lt_run_opts opts = {
		.report = { .mode = LT_REPORT_FULL },
		.complain = complain_hook,
	};
	struct lt_err err;
	int c, status;

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
			if (!parse_count(optarg, &opts.report.top))
				return usage_error(usage_run, "--top wants a "
						   "positive count, not '%s'",
						   optarg);
			break;
		case 'h':
			fputs(usage_run, stdout);
			return EXIT_OK;
		default:
			return usage_error(usage_run, "run: unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(usage_run, "run: no command given");
	opts.argv = &argv[optind];
	if (lt_run(&opts, stdout, &status, &err) < 0)
		complain(err.msg);
	fflush(stdout);
	return status;
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
	(void)EXIT_CHECK;   /* returned by `check`, which is not here yet */
	return usage_error(usage_main, "unknown command '%s'", cmd);
}
