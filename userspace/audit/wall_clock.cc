#include "userspace/audit/wall_clock.h"

#include <time.h>

#include <cstdio>

namespace jvmwatch::audit {

std::string format_rfc3339_ns(int64_t ns) {
    time_t secs = static_cast<time_t>(ns / 1000000000);
    long frac = static_cast<long>(ns % 1000000000);
    if (frac < 0) { frac += 1000000000; --secs; }
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

static int64_t now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
int64_t realtime_now_ns() { return now_ns(CLOCK_REALTIME); }
int64_t monotonic_now_ns() { return now_ns(CLOCK_MONOTONIC); }

}  // namespace jvmwatch::audit
