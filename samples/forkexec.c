/*
 * Three process images, each with its own allocations and its own dump: the
 * parent forks and waits; the child allocates, frees, tries to exec a
 * program that does not exist, allocates again, and execs a program (itself
 * by default) with the argument "exec-image"; that image allocates and leaks
 * one block.  The parent holds no block at the fork, so a child's
 * totals are its own, whatever a tool does with inherited blocks; the child
 * holds none at its exec.
 *
 *   forkexec [PROGRAM]   the child execs PROGRAM (default: argv[0]), which
 *                        must be a copy of forkexec
 * Each image writes $LT_GROUND_TRUTH.PID.ROLE, ROLE parent, child or exec.
 */
#include <sys/wait.h>

#include "groundtruth.h"

static int exec_image(void)
{
	char *keep = malloc(333), *drop = malloc(444);

	if (!keep || !drop)
		return 1;
	gt_alloc(333);
	gt_leak_from("exec_image", 333);
	struct gt_tok t = gt_alloc(444);
	free(drop);
	gt_free(444, t);
	gt_write("exec");
	say("forkexec: exec'd image: leaves 333 bytes allocated\n");
	return 0;
}

static void child(const char *program)
{
	char *argv[] = { (char *)program, (char *)"exec-image", NULL };
	char *a = malloc(111), *b = malloc(222);

	if (!a || !b)
		_exit(1);
	struct gt_tok ta = gt_alloc(111);
	struct gt_tok tb = gt_alloc(222);
	free(a);
	gt_free(111, ta);
	free(b);
	gt_free(222, tb);

	/* An exec that fails leaves the process as it was, still traced, as a
	 * PATH search does on every directory without the program. */
	execv("/nonexistent/forkexec", argv);
	char *c = malloc(55);
	if (!c)
		_exit(1);
	struct gt_tok tc = gt_alloc(55);
	free(c);
	gt_free(55, tc);

	gt_write("child");
	say("forkexec: child: allocated and freed 388 bytes, now exec\n");
	execv(program, argv);
	say("forkexec: child: exec %s failed\n", program);
	_exit(127);
}

int main(int argc, char **argv)
{
	const char *program = argc > 1 ? argv[1] : argv[0];
	char *before, *table, *kept, *gone;
	int status;
	pid_t pid;

	gt_init("forkexec", argc, argv, 0);
	if (argc > 1 && strcmp(argv[1], "exec-image") == 0)
		return exec_image();

	before = malloc(1000);
	table = calloc(10, 10);
	if (!before || !table)
		return 1;
	struct gt_tok t1 = gt_alloc(1000);
	struct gt_tok t2 = gt_alloc(100);
	free(table);
	gt_free(100, t2);
	free(before);
	gt_free(1000, t1);

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		/* The child's ground truth is what it does from here on. */
		gt_forked();
		child(program);
	}

	kept = malloc(2000);
	gone = malloc(3000);
	if (!kept || !gone)
		return 1;
	gt_alloc(2000);
	gt_leak_from("main", 2000);
	struct gt_tok t3 = gt_alloc(3000);
	free(gone);
	gt_free(3000, t3);

	if (waitpid(pid, &status, 0) != pid)
		return 1;
	gt_write("parent");
	say("forkexec: parent: child exited with %d; 2000 bytes left allocated\n",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
