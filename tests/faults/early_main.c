/* Links libearly.so, whose constructor ran before the shim's; prints what
 * it saw and allocates a little itself. */
#include <stdio.h>
#include <stdlib.h>

const char *early_report(void);

int main(void)
{
	char *p = malloc(123);

	printf("%s\n", early_report());
	free(p);
	return 0;
}
