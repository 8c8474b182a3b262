/*
 * Frame-local blocks: a 64-byte line buffer malloc'd and freed in a loop by
 * one function (its own free), and a 48-byte record freed through a helper
 * the allocating function calls (a callee frees it while the frame is
 * live).  Neither outlives its frame and both have one small size: each is
 * a stack candidate.  Every block is also temporary.
 *
 *   escape_local [N]     N records (default 10000)
 */
#include "escapetruth.h"

#define LINE_BYTES   64
#define RECORD_BYTES 48

/* Formats record i into a heap buffer and sums its digits. */
static long checksum_line(long i)
{
	char *buf = malloc(LINE_BYTES);
	struct gt_tok t;
	long sum = 0;

	if (!buf)
		return 0;
	t = gt_alloc(LINE_BYTES);
	snprintf(buf, LINE_BYTES, "record %ld of the run", i);
	for (size_t k = 0; buf[k]; k++)
		sum += buf[k] - '0';
	free(buf);
	gt_free(LINE_BYTES, t);
	return sum;
}

struct record {
	long key, value;
	char name[32];
};

/* Frees a record: the caller's frame is still live when this runs. */
static void drop_record(struct record *r, struct gt_tok t)
{
	free(r);
	gt_free(RECORD_BYTES, t);
}

static long weigh_record(long i)
{
	struct record *r = malloc(RECORD_BYTES);
	struct gt_tok t;
	long w;

	if (!r)
		return 0;
	t = gt_alloc(RECORD_BYTES);
	r->key = i;
	r->value = i * 7;
	snprintf(r->name, sizeof(r->name), "r%ld", i);
	w = r->key + r->value + (long)strlen(r->name);
	drop_record(r, t);
	return w;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000, sum = 0;

	gt_init("escape_local", argc, argv, 0);
	for (long i = 0; i < n; i++) {
		sum += checksum_line(i);
		sum += weigh_record(i);
	}
	gt_write(NULL);
	{
		const struct et_site sites[] = {
			{ "checksum_line", "temporary,frame-local,stack-candidate",
			  n, n, n, 0, 0, 0, 0, 0,
			  "malloc(64) and free in one function, every call" },
			{ "weigh_record", "temporary,frame-local,stack-candidate",
			  n, n, n, 0, 0, 0, 0, 0,
			  "malloc(48), freed by the callee drop_record" },
		};
		et_write("escape_local", sites, sizeof(sites) / sizeof(sites[0]));
	}
	say("escape_local: %ld records, checksum %ld\n", n, sum);
	say("escape_local: checksum_line's 64 B buffer and weigh_record's 48 B record never leave their frames\n");
	return 0;
}
