/*
 * Leaks of known sizes from three distinct functions, next to blocks that are
 * freed: a config table (calloc), an interned name, and list nodes stay
 * allocated at exit; an input buffer and per-line scratch buffers do not.
 */
#include "groundtruth.h"

struct node {
	struct node *next;
	char         payload[40];
};

static struct node *list_head;

/* Leaked: 16 * 32 = 512 bytes, one block. */
static void *load_config(void)
{
	void *table = calloc(16, 32);

	if (table) {
		gt_alloc(16 * 32);
		gt_leak_from("load_config", 16 * 32);
	}
	return table;
}

/* Leaked: 24 bytes, one block. */
static char *intern_name(const char *s)
{
	char *copy = malloc(24);

	if (copy) {
		gt_alloc(24);
		gt_leak_from("intern_name", 24);
		snprintf(copy, 24, "%s", s);
	}
	return copy;
}

/* Leaked: sizeof(struct node) bytes per call. */
static void push_node(int value)
{
	struct node *n = malloc(sizeof(*n));

	if (!n)
		return;
	gt_alloc(sizeof(*n));
	gt_leak_from("push_node", sizeof(*n));
	snprintf(n->payload, sizeof(n->payload), "value %d", value);
	n->next = list_head;
	list_head = n;
}

/* Freed right away: temporary, nothing allocated in between. */
static size_t scratch_line(int i)
{
	char *line = malloc(128);
	size_t len;

	if (!line)
		return 0;
	struct gt_tok t = gt_alloc(128);
	len = (size_t)snprintf(line, 128, "line %d of the input", i);
	free(line);
	gt_free(128, t);
	return len;
}

int main(int argc, char **argv)
{
	char *input, *name;
	void *config;
	size_t total = 0;

	gt_init("leak", argc, argv, 0);

	/* Held across everything below, then freed: not temporary. */
	input = malloc(4096);
	if (!input)
		return 1;
	struct gt_tok input_tok = gt_alloc(4096);

	config = load_config();
	name = intern_name("leak-sample");
	for (int i = 0; i < 3; i++)
		push_node(i);
	for (int i = 0; i < 5; i++)
		total += scratch_line(i);

	free(input);
	gt_free(4096, input_tok);

	gt_write(NULL);
	say("leak: read %zu bytes of input in 5 lines\n", total);
	say("leak: left allocated at exit: the config table%s, the name \"%s\", 3 list nodes\n",
	    config ? "" : " (not)", name ? name : "?");
	return 0;
}
