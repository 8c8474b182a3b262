/* A statically linked program: no dynamic loader, so nothing to preload
 * into.  It must run exactly as it would untraced. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	char *p = malloc(100);

	(void)argv;
	printf("static: %d argument(s), malloc %s\n", argc - 1, p ? "ok" : "failed");
	free(p);
	return 3;
}
