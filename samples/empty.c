/*
 * The baseline: a program that allocates nothing and starts no thread.  What
 * a trace of it shows is what the dynamic loader, libc and the shim add on
 * their own; the integration tests expect all of it to be zero.
 */
#include "groundtruth.h"

int main(int argc, char **argv)
{
	gt_init("empty", argc, argv, 0);
	gt_write(NULL);
	return 0;
}
