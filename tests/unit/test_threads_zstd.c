/*
 * test_threads's cases again on version 4 dumps, as the shim writes them:
 * coded records, and every chunk a zstd frame that the reader must
 * decompress before it reads a record.
 */
#include "test_threads.c"

__attribute__((constructor)) static void zstd_dumps(void)
{
	lt_gen_coded_default = true;
	lt_gen_zstd_default = true;
}
