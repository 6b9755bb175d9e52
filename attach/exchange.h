// One request/reply exchange on a JVM's attach socket, under a deadline.
//
// exchange_raw() is async-signal-safe (raw syscalls, no allocation) so a forked child
// may run it after entering the target's namespaces and switching credentials;
// exchange() decides whether that fork is needed and runs it either way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace jvmwatch::attach::io {

// Also the exit status of the forked child, so keep values small and stable.
enum class XStatus : int {
    ok = 0,            // request written, reply read to EOF
    no_socket = 2,     // ENOENT
    refused = 3,       // ECONNREFUSED: a stale socket, nobody listening
    denied = 4,        // EACCES/EPERM on connect
    setns_failed = 5,  // could not enter the target's namespaces
    setid_failed = 6,  // could not switch to the target's egid/euid
    timed_out = 7,     // deadline passed in connect, write or read
    io_error = 8,      // another socket error
    watch_fired = 9,   // the watched fd (a pidfd) became readable: target exited
    child_failed = 10, // fork/pipe failed or the child died abnormally
};
const char* describe(XStatus s);

// Monotonic clock in nanoseconds (async-signal-safe).
int64_t now_ns();

// Called with each chunk of the reply.  Returns false to abort (e.g. a pipe broke).
using RawSink = bool (*)(void* ctx, const char* data, size_t n);

// Connects to the AF_UNIX socket at `path`, writes `req`, reads until EOF, each step
// bounded by `deadline_ns` (now_ns() clock).  If watch_fd >= 0, it is polled too and
// its readiness ends the exchange with watch_fired.  *err receives the errno of a
// failure.  Async-signal-safe.
XStatus exchange_raw(const char* path, const char* req, size_t len, int64_t deadline_ns,
                     int watch_fd, RawSink sink, void* ctx, int* err);

// How to reach the target: namespaces to enter and credentials to assume.
struct Route {
    std::string socket_path;      // path as seen after entering the namespaces
    int ns_fds[3] = {-1, -1, -1}; // net, ipc, mnt (-1 = stay); borrowed, not closed
    bool switch_creds = false;
    uid_t euid = 0;
    gid_t egid = 0;
    bool needs_fork() const {
        return switch_creds || ns_fds[0] >= 0 || ns_fds[1] >= 0 || ns_fds[2] >= 0;
    }
};

struct Exchanged {
    XStatus status = XStatus::ok;
    int err = 0;
    bool forked = false;
};

// Runs the exchange, in a forked child when route.needs_fork() (the reply streams back
// over a pipe).  The child is killed and reaped when the deadline passes.
Exchanged exchange(const Route& route, const std::string& req, int64_t deadline_ns,
                   int watch_fd, const std::function<void(std::string_view)>& on_data);

}  // namespace jvmwatch::attach::io
