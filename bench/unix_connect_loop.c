/*
 * The connect path of a host that is not attaching: ITER rounds of socket(AF_UNIX),
 * connect() to a listening socket of our own (not a .java_pid name), accept() and two
 * close()s.  jvmwatchd's cgroup/connect_unix program runs on every one of these
 * connects.  Prints the CPU time (user + system, this thread) per round in ns.
 *
 *   unix_connect_loop DIR [ITER]      (DIR: where the listening socket is made)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: unix_connect_loop DIR [ITER]\n");
		return 2;
	}
	long iter = argc > 2 ? atol(argv[2]) : 200000;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/bench.sock", argv[1]) >= (int)sizeof(sa.sun_path)) {
		fprintf(stderr, "unix_connect_loop: %s: path too long\n", argv[1]);
		return 2;
	}
	unlink(sa.sun_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 16)) {
		perror("unix_connect_loop: listen");
		return 1;
	}
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (long i = 0; i < iter; i++) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa))) {
			perror("unix_connect_loop: connect");
			return 1;
		}
		int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0) {
			perror("unix_connect_loop: accept");
			return 1;
		}
		close(s);
		close(c);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	printf("%.2f\n", ns / (double)iter);
	unlink(sa.sun_path);
	return 0;
}
