/*
 * test_model's cases again, against a model.c built with the live table's
 * fields so narrow (test_model_narrow.mk) that most blocks keep their size,
 * site and thread aside: every result must come out the same.
 */
#include "test_model.c"
