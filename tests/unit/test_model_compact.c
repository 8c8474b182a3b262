/*
 * test_model's cases again, against a model.c whose live table is always
 * compact (test_model_compact.mk): eight-byte slots, each with a kind of
 * block, as a dump of millions of live blocks gets.  Every result must
 * come out the same.
 */
#include "test_model.c"
