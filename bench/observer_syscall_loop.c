/*
 * A syscall-heavy loop for the overhead benchmark: ITER rounds of getppid() and a 1-byte
 * write to /dev/null.  Prints the CPU time (user + system, this thread) per round in ns:
 * on a shared machine wall time mostly measures the other tenants.
 *
 *   observer_syscall_loop [ITER]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long iter = argc > 1 ? atol(argv[1]) : 2000000;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct timespec a, b;

	if (fd < 0) {
		perror("open /dev/null");
		return 1;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (long i = 0; i < iter; i++) {
		getppid();
		if (write(fd, "x", 1) != 1)
			return 1;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	printf("%.2f\n", ns / (double)iter);
	return 0;
}
