/*
 * The target of bench/jvm_side.sh's uprobe-hit measurement: ITER calls of a no-op
 * function, `probed`, that the script puts a uprobe on.  Prints the CPU time (user +
 * system, this thread: the trap is charged to it) per call in ns.
 *
 *   uprobe_hit [ITER]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) int probed(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

int main(int argc, char **argv)
{
	long iter = argc > 1 ? atol(argv[1]) : 20000;
	struct timespec a, b;
	int acc = 0;

	if (iter <= 0)
		return 2;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (long i = 0; i < iter; i++)
		acc = probed(acc);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / iter);
	return acc == iter ? 0 : 1;
}
