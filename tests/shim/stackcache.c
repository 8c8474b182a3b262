/*
 * Two call paths that reach the same malloc call site with the same stack
 * pointer: via_a() and via_b() have identical frames, so only the return
 * addresses saved on the stack tell them apart.  The shim's stack cache must
 * see the difference.  Prints how many blocks each path allocated.
 */
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 5000

__attribute__((noinline)) static void *leaf(size_t n)
{
	return malloc(n);
}

__attribute__((noinline)) static void *via_a(size_t n)
{
	void *p = leaf(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) static void *via_b(size_t n)
{
	void *p = leaf(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

int main(void)
{
	int a = 0, b = 0;

	for (int i = 0; i < ROUNDS; i++) {
		/* An irregular pattern, so neither path always follows the other. */
		if ((i * 7919) % 3) {
			free(via_a(24));
			a++;
		} else {
			free(via_b(24));
			b++;
		}
	}
	printf("via_a %d\nvia_b %d\n", a, b);
	return 0;
}
