/*
 * test_threads's cases again, with every ALLOC, FREE and REALLOC the
 * generator writes coded as the shim writes them (version 3): the decoder
 * must give back what the fixed records said.
 */
#include "test_threads.c"

__attribute__((constructor)) static void coded_dumps(void)
{
	lt_gen_coded_default = true;
}
