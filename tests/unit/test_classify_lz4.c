/*
 * test_classify's cases again on version 4 dumps, as the shim writes them:
 * coded records, and every chunk an LZ4 block that the reader must
 * decompress before it reads a record.
 */
#include "test_classify.c"

__attribute__((constructor)) static void lz4_dumps(void)
{
	lt_gen_coded_default = true;
	lt_gen_lz4_default = true;
}
