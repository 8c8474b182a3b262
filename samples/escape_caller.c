/*
 * Blocks that escape to a caller: make_name returns a 32-byte block that its
 * caller print_names frees (level 1); make_label's 24-byte block goes up
 * through label_for to collect_labels, which frees it (level 2).  Each is
 * freed right after it is made, so every block is also temporary.
 *
 *   escape_caller [N]     N names and N labels (default 2000)
 */
#include "escapetruth.h"

#define NAME_BYTES  32
#define LABEL_BYTES 24

static char *make_name(long i, struct gt_tok *t)
{
	char *s = malloc(NAME_BYTES);

	if (!s)
		return NULL;
	*t = gt_alloc(NAME_BYTES);
	snprintf(s, NAME_BYTES, "name-%ld", i);
	return s;
}

static long print_names(long n)
{
	long total = 0;

	for (long i = 0; i < n; i++) {
		struct gt_tok t;
		char *s = make_name(i, &t);
		if (!s)
			continue;
		total += (long)strlen(s);
		free(s);
		gt_free(NAME_BYTES, t);
	}
	return total;
}

static char *make_label(long i, struct gt_tok *t)
{
	char *s = malloc(LABEL_BYTES);

	if (!s)
		return NULL;
	*t = gt_alloc(LABEL_BYTES);
	snprintf(s, LABEL_BYTES, "L%ld", i);
	return s;
}

/* Passes the label up without freeing it. */
static char *label_for(long i, struct gt_tok *t)
{
	char *s = make_label(i, t);

	if (s)
		s[0] = 'l';
	return s;
}

static long collect_labels(long n)
{
	long total = 0;

	for (long i = 0; i < n; i++) {
		struct gt_tok t;
		char *s = label_for(i, &t);
		if (!s)
			continue;
		total += s[1];
		free(s);
		gt_free(LABEL_BYTES, t);
	}
	return total;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000, sum;

	gt_init("escape_caller", argc, argv, 0);
	sum = print_names(n) + collect_labels(n);
	gt_write(NULL);
	{
		const struct et_site sites[] = {
			{ "make_name", "temporary,escapes-to-caller:1",
			  n, n, 0, n, 1, 0, 0, 0,
			  "returned to print_names, which frees it" },
			{ "make_label", "temporary,escapes-to-caller:2",
			  n, n, 0, n, 2, 0, 0, 0,
			  "returned through label_for to collect_labels, which frees it" },
		};
		et_write("escape_caller", sites, sizeof(sites) / sizeof(sites[0]));
	}
	say("escape_caller: %ld names and labels, checksum %ld\n", n, sum);
	return 0;
}
