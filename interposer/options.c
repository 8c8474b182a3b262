/*
 * Every LIBTRACE_* variable, read once at start from one table of defaults.
 * Set-uid programs are never traced: secure_getenv hides the environment.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shim.h"

struct lt_options lt_opt;

enum opt_kind { OPT_STRING, OPT_UINT, OPT_BOOL, OPT_SIZE, OPT_SIGNAL };

static const struct opt_desc {
	const char   *name;
	enum opt_kind kind;
	const char   *dflt;
	void         *dst;
	size_t        cap;   /* string capacity */
} opt_table[] = {
	{ "LIBTRACE_OUTPUT",          OPT_STRING, "./%e.%p.lt", lt_opt.output,  sizeof(lt_opt.output) },
	{ "LIBTRACE_DEPTH",           OPT_UINT,   "64",         &lt_opt.depth,  0 },
	{ "LIBTRACE_FREE_DEPTH",      OPT_UINT,   "4",          &lt_opt.free_depth, 0 },
	{ "LIBTRACE_SAMPLE",          OPT_SIZE,   "0",          &lt_opt.sample, 0 },
	{ "LIBTRACE_FOLLOW",          OPT_BOOL,   "1",          &lt_opt.follow, 0 },
	{ "LIBTRACE_SNAPSHOT_SIGNAL", OPT_SIGNAL, "",           &lt_opt.snapshot_signal, 0 },
	{ "LIBTRACE_QUIET",           OPT_BOOL,   "0",          &lt_opt.quiet,  0 },
	{ "LIBTRACE_COMPRESS",        OPT_BOOL,   "0",          &lt_opt.compress, 0 },
	{ "LIBTRACE_RUN_LOG",         OPT_STRING, "",           lt_opt.run_log, sizeof(lt_opt.run_log) },
};

static int parse_u64(const char *s, uint64_t *out, bool size_suffix)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (size_suffix && *s) {
		uint64_t mul = 0;

		switch (*s++) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		}
		if (!mul || v > UINT64_MAX / mul)
			return -EINVAL;
		v *= mul;
		if (*s == 'b' || *s == 'B' || ((*s == 'i') && (s[1] == 'b' || s[1] == 'B')))
			s += *s == 'i' ? 2 : 1;
	}
	if (*s)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_signal(const char *s, int *out)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },
		{ "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "URG", SIGURG },
		{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	};
	uint64_t num;

	if (!*s) {
		*out = 0;
		return 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (!strcasecmp(s, sigs[i].name)) {
			*out = sigs[i].sig;
			return 0;
		}
	}
	if (!strncasecmp(s, "RTMIN+", 6) && !parse_u64(s + 6, &num, false) &&
	    SIGRTMIN + (int)num <= SIGRTMAX) {
		*out = SIGRTMIN + (int)num;
		return 0;
	}
	if (!parse_u64(s, &num, false) && num > 0 && num < (uint64_t)NSIG &&
	    num != SIGKILL && num != SIGSTOP) {
		*out = (int)num;
		return 0;
	}
	return -EINVAL;
}

int lt_options_load(void)
{
	int rc = 0;

	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
		const struct opt_desc *d = &opt_table[i];
		const char *v = secure_getenv(d->name);
		uint64_t num = 0;
		int err = 0;

		if (!v || !*v)
			v = d->dflt;
		switch (d->kind) {
		case OPT_STRING:
			if (strlen(v) >= d->cap)
				err = -EINVAL;
			else
				memcpy(d->dst, v, strlen(v) + 1);
			break;
		case OPT_UINT:
		case OPT_SIZE:
			err = parse_u64(v, &num, d->kind == OPT_SIZE);
			if (!err && d->kind == OPT_UINT) {
				uint64_t max = d->dst == &lt_opt.free_depth ? LT_FREE_DEPTH : LT_MAX_DEPTH;

				*(uint32_t *)d->dst = (uint32_t)(num > max ? max : num);
			}
			else if (!err)
				*(uint64_t *)d->dst = num;
			break;
		case OPT_BOOL:
			if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on"))
				*(bool *)d->dst = true;
			else if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off"))
				*(bool *)d->dst = false;
			else
				err = -EINVAL;
			break;
		case OPT_SIGNAL:
			err = parse_signal(v, (int *)d->dst);
			break;
		}
		if (err) {
			lt_log("ignoring ", d->name, ": not a valid value; using the default");
			rc = -EINVAL;
			/* Re-read the default, which always parses. */
			if (d->kind == OPT_STRING)
				memcpy(d->dst, d->dflt, strlen(d->dflt) + 1);
			else if (d->kind == OPT_UINT)
				*(uint32_t *)d->dst = (uint32_t)strtoul(d->dflt, NULL, 10);
			else if (d->kind == OPT_SIZE)
				*(uint64_t *)d->dst = 0;
			else if (d->kind == OPT_BOOL)
				*(bool *)d->dst = d->dflt[0] == '1';
			else
				*(int *)d->dst = 0;
		}
	}
	if (lt_opt.depth == 0)
		lt_opt.depth = 1;
	/* Sampling is for production: free sites then cost only their caller,
	 * unless asked for explicitly. */
	if (lt_opt.sample && !secure_getenv("LIBTRACE_FREE_DEPTH"))
		lt_opt.free_depth = 1;
	return rc;
}
