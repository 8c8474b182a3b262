/*
 * The library the dlopen/dlclose churn test loads and unloads: it allocates
 * when loaded, when called and when unloaded, so events land in a module
 * that comes and goes.
 */
#include <stdlib.h>
#include <string.h>

long plugin_work(int n);

static char *state;

__attribute__((constructor)) static void plugin_load(void)
{
	state = malloc(64);
	if (state)
		strcpy(state, "loaded");
}

__attribute__((destructor)) static void plugin_unload(void)
{
	free(state);
	state = NULL;
}

long plugin_work(int n)
{
	long sum = 0;

	for (int i = 0; i < 8; i++) {
		int *p = malloc(sizeof(int) * (size_t)(i + n % 5 + 1));
		if (!p)
			abort();
		p[0] = n + i;
		sum += p[0];
		free(p);
	}
	return sum + (long)strlen(state ? state : "");
}
