/*
 * test_model's cases again, against a model.c whose live table is always
 * compact and has four kinds of block (test_model_compact_narrow.mk):
 * most blocks are kept aside, and kinds are swept and reused all the
 * time.  Every result must come out the same.
 */
#include "test_model.c"
