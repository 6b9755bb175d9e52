/* Renames its own thread to JVM thread names ("VM Thread", "Signal Dispatch", "Attach
 * Listener") at RATE renames per second for SECONDS (a hostile non-JVM: each rename is a
 * task_rename the observer reports).  Paced in 1 ms batches; prints how many it did.
 *   rename_flood RATE SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: rename_flood RATE SECONDS\n");
        return 2;
    }
    long rate = atol(argv[1]), secs = atol(argv[2]);
    static const char* names[] = {"VM Thread", "Signal Dispatch", "Attach Listener"};
    struct timespec next, end;
    clock_gettime(CLOCK_MONOTONIC, &next);
    end = next;
    end.tv_sec += secs;
    long per_ms = rate / 1000, extra = rate % 1000, done = 0, ms = 0;
    for (;;) {
        long n = per_ms + (ms % 1000 < extra ? 1 : 0);
        for (long i = 0; i < n; ++i) prctl(PR_SET_NAME, names[done++ % 3], 0, 0, 0);
        ++ms;
        next.tv_nsec += 1000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        if (next.tv_sec > end.tv_sec || (next.tv_sec == end.tv_sec && next.tv_nsec >= end.tv_nsec)) break;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    printf("renames %ld\n", done);
    return 0;
}
