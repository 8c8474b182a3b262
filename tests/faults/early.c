/*
 * A library whose constructor runs before libtrace.so's own: the dynamic
 * loader runs the initializers of a program's libraries before those of
 * LD_PRELOADed ones.  It allocates, reallocates, frees, asks for aligned
 * memory, loads a library and registers signal handlers there, before the
 * shim has started; the program must see all of it work as untraced.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *early_report(void);

static char report[256];
static void *kept;

__attribute__((constructor(101))) static void early_init(void)
{
	void *h = dlopen("libm.so.6", RTLD_NOW);
	char *a = malloc(40);
	char *b = calloc(3, 100);
	void *c = NULL;
	int rc = posix_memalign(&c, 64, 200);
	void *d = aligned_alloc(128, 256);
	void *e = memalign(32, 48);

	if (a)
		strcpy(a, "constructor");
	a = realloc(a, 4000);
	b = realloc(b, 0);
	kept = malloc(77);
	snprintf(report, sizeof(report),
		 "early: dlopen %s, malloc %s, calloc+realloc(p,0) %s, "
		 "posix_memalign %d, aligned_alloc %s, memalign %s, signal %s",
		 h ? "ok" : "failed", a && !strcmp(a, "constructor") ? "ok" : "failed",
		 b ? "block" : "NULL", rc, d ? "ok" : "failed", e ? "ok" : "failed",
		 signal(SIGUSR2, SIG_IGN) == SIG_DFL ? "SIG_DFL before" : "changed");
	free(a);
	free(c);
	free(d);
	free(e);
	if (h)
		dlclose(h);
}

const char *early_report(void)
{
	return report;
}
