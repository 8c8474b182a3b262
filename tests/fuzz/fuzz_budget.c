/*
 * libFuzzer target over the budget-file parser: lt_budget_parse on any
 * text, each accepted site limit matched against a few frames, and the
 * value parser on the text itself.  Asserts that a rejected budget comes
 * with a message naming the file.  Never touches the filesystem.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char path[] = "fuzz.budget";
	struct lt_budget *b;
	struct lt_err err = { "" };
	uint64_t v;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (lt_budget_parse(path, text, size, &b, &err) == 0) {
		for (size_t i = 0; i < b->nlimits; i++) {
			const struct lt_limit *l = &b->limits[i];
			(void)lt_limit_name(l->kind);
			(void)lt_limit_measure(l->kind);
			(void)lt_limit_is_bytes(l->kind);
			if (!l->site)
				continue;
			lt_limit_matches(l, "parse_header", "src/parse.c", 42);
			lt_limit_matches(l, NULL, "/abs/dir/json_value.c", 7);
			lt_limit_matches(l, "json_parse", NULL, 0);
		}
		lt_budget_free(b);
	} else if (!strstr(err.msg, path)) {
		abort();
	}
	/* The value grammar alone, on the whole input as one string. */
	lt_budget_parse_value(text, true, &v, &err);
	lt_budget_parse_value(text, false, &v, &err);
	free(text);
	return 0;
}
