// Timestamps for the audit stream: kernel events carry CLOCK_MONOTONIC; the stream
// shows RFC 3339 UTC with nanoseconds.  The offset between the clocks is taken once at
// start (a later wall-clock step shows up as skew between "time" and event times).
#pragma once

#include <cstdint>
#include <string>

namespace jvmwatch::audit {

// "2026-11-21T14:18:13.123456789Z"
std::string format_rfc3339_ns(int64_t realtime_ns);
int64_t realtime_now_ns();
int64_t monotonic_now_ns();

class WallClock {
public:
    WallClock() : offset_ns_(realtime_now_ns() - monotonic_now_ns()) {}
    explicit WallClock(int64_t offset_ns) : offset_ns_(offset_ns) {}
    int64_t to_realtime(uint64_t mono_ns) const { return static_cast<int64_t>(mono_ns) + offset_ns_; }
    std::string format(uint64_t mono_ns) const { return format_rfc3339_ns(to_realtime(mono_ns)); }
private:
    int64_t offset_ns_;
};

}  // namespace jvmwatch::audit
