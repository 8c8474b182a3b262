/*
 * Same-size churn: each round, build_list links 64 nodes of 48 bytes made by
 * node_new, and main hands the list to free_list, which frees them all; 200
 * rounds.  The nodes escape node_new and build_list and die in main's frame
 * (level 2), never more than 64 at once, 12,800 calls of one size: a pool
 * candidate.  Beside it, checksum_block mallocs and frees a 4 KiB buffer per
 * call: frame-local, one size, too large for a stack candidate: a pool
 * candidate too.
 *
 *   escape_pool [ROUNDS]    rounds of 64 nodes (default 200)
 */
#include "escapetruth.h"

#define NODES       64
#define NODE_BYTES  48
#define BLOCK_BYTES 4096

struct node {
	struct node *next;
	long value;
	struct gt_tok tok;
	char pad[NODE_BYTES - sizeof(struct node *) - sizeof(long) -
		 sizeof(struct gt_tok)];
};

static struct node *node_new(long value)
{
	struct node *n = malloc(NODE_BYTES);

	if (!n)
		abort();
	n->tok = gt_alloc(NODE_BYTES);
	n->value = value;
	n->next = NULL;
	return n;
}

static struct node *build_list(long round)
{
	struct node *head = NULL;

	for (long i = 0; i < NODES; i++) {
		struct node *n = node_new(round * NODES + i);
		n->next = head;
		head = n;
	}
	return head;
}

static long free_list(struct node *head)
{
	long sum = 0;

	while (head) {
		struct node *next = head->next;
		struct gt_tok t = head->tok;
		sum += head->value;
		free(head);
		gt_free(NODE_BYTES, t);
		head = next;
	}
	return sum;
}

static long checksum_block(long i)
{
	unsigned char *buf = malloc(BLOCK_BYTES);
	struct gt_tok t;
	long sum = 0;

	if (!buf)
		abort();
	t = gt_alloc(BLOCK_BYTES);
	memset(buf, (int)(i & 0xff), BLOCK_BYTES);
	for (size_t k = 0; k < BLOCK_BYTES; k += 512)
		sum += buf[k];
	free(buf);
	gt_free(BLOCK_BYTES, t);
	return sum;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 200, sum = 0;
	long node_temporary;

	gt_init("escape_pool", argc, argv, 0);
	for (long r = 0; r < rounds; r++) {
		struct node *list = build_list(r);
		sum += free_list(list);
	}
	/* The last two nodes made are freed first: temporary. */
	node_temporary = gt.temporary;
	for (long i = 0; i < rounds * 10; i++)
		sum += checksum_block(i);
	gt_write(NULL);
	{
		const struct et_site sites[] = {
			{ "node_new",
			  "temporary,escapes-to-caller:2,pool-candidate",
			  rounds * NODES, node_temporary, 0, rounds * NODES, 2, 0, 0, 0,
			  "48 B nodes, 64 live at a time, freed by main's callee free_list" },
			{ "checksum_block", "temporary,frame-local,pool-candidate",
			  rounds * 10, rounds * 10, rounds * 10, 0, 0, 0, 0, 0,
			  "a 4 KiB buffer malloc'd and freed per call" },
		};
		et_write("escape_pool", sites, sizeof(sites) / sizeof(sites[0]));
	}
	say("escape_pool: %ld rounds of %d nodes, checksum %ld\n", rounds, NODES, sum);
	return 0;
}
