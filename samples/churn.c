/*
 * Hot-path churn: a parse loop that mallocs a 64-byte line buffer and a
 * 16-byte token per record and frees both before the next record.  Every
 * block is temporary and never leaves its function's frame: each is a stack
 * candidate.  The demo sample (`make demo`).
 *
 *   churn [RECORDS]     parse RECORDS records (default 10000)
 *   churn forever       parse until killed (the SIGKILL test)
 */
#include "groundtruth.h"

#define LINE_BYTES  64
#define TOKEN_BYTES 16

/* Returns the key of "key=value" in a fresh 16-byte block the caller frees. */
static char *next_token(const char *line, struct gt_tok *tok)
{
	char *token = malloc(TOKEN_BYTES);
	size_t n = 0;

	if (!token)
		return NULL;
	*tok = gt_alloc(TOKEN_BYTES);
	while (line[n] && line[n] != '=' && n < TOKEN_BYTES - 1) {
		token[n] = line[n];
		n++;
	}
	token[n] = '\0';
	return token;
}

/* Formats record i into a heap line, as a reader would, and sums its value. */
static long parse_record(long i)
{
	char *line = malloc(LINE_BYTES);
	struct gt_tok line_tok, token_tok;
	char *token;
	long value = 0;

	if (!line)
		return 0;
	line_tok = gt_alloc(LINE_BYTES);
	snprintf(line, LINE_BYTES, "item%ld=%ld", i % 100, i * 3);

	token = next_token(line, &token_tok);
	if (token) {
		value = strtol(line + strlen(token) + 1, NULL, 10);
		free(token);
		gt_free(TOKEN_BYTES, token_tok);
	}
	free(line);
	gt_free(LINE_BYTES, line_tok);
	return value;
}

/* 20000 as "20,000", into buf. */
static const char *with_commas(char *buf, size_t cap, long long v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%lld", v), lead = n % 3 ? n % 3 : 3;
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < cap; i++) {
		if (i == lead || (i > lead && (i - lead) % 3 == 0))
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	long records = 10000, sum = 0;
	char n1[32], n2[32];

	gt_init("churn", argc, argv, 0);
	if (argc > 1 && strcmp(argv[1], "forever") == 0) {
		for (long i = 0;; i++)
			sum += parse_record(i);
	}
	if (argc > 1)
		records = strtol(argv[1], NULL, 10);

	say("churn: parsing %s records \"itemN=V\"\n", with_commas(n1, sizeof(n1), records));
	for (long i = 0; i < records; i++)
		sum += parse_record(i);
	gt_write(NULL);

	say("churn: checksum %ld\n", sum);
	say("churn: parse_record mallocs a %d-byte line and next_token a %d-byte token,\n",
	    LINE_BYTES, TOKEN_BYTES);
	say("churn: both freed before the next record: %s allocations, all temporary,\n",
	    with_commas(n2, sizeof(n2), gt.allocations));
	say("churn: none outlives its frame; a char[%d] on the stack would do.\n",
	    LINE_BYTES);
	return 0;
}
