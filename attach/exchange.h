// One request/reply exchange on a JVM's attach socket, under a deadline.
//
// The socket is reached through an O_PATH fd of the very inode that was checked
// (connect() to /proc/self/fd/N), never by a path that could be swapped meanwhile, and
// after connect the listener's SO_PEERCRED must be the target's.
//
// exchange_raw() is async-signal-safe (raw syscalls, no allocation) so a forked child
// may run it after switching credentials; exchange() decides whether that fork is
// needed and runs it either way.
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
    denied = 4,        // EACCES on connect
    // 5: unused (namespaces are no longer entered)
    setid_failed = 6,  // could not switch to the target's egid/euid
    timed_out = 7,     // deadline passed in connect, write or read
    io_error = 8,      // another socket error
    watch_fired = 9,   // the watched fd (a pidfd) became readable: target exited
    child_failed = 10, // fork/pipe failed or the child died abnormally
    untrusted_peer = 11, // SO_PEERCRED of the listener is not the target's uid/pid
    stopped = 12,      // the sink wanted no more (reply cap reached)
    policy_denied = 13, // EPERM on connect: a policy hook (eBPF deny rule, LSM) refused it
};
const char* describe(XStatus s);

// Monotonic clock in nanoseconds (async-signal-safe).
int64_t now_ns();

// Called with each chunk of the reply.  Returns false to stop reading (XStatus::stopped).
using RawSink = bool (*)(void* ctx, const char* data, size_t n);

// Who must be listening: SO_PEERCRED of the connected socket is checked against it.
struct Peer {
    bool check = false;
    uid_t uid = 0;    // the listener must run as this uid, or as root
    pid_t pid = 0;    // ... in this process (host pid; 0 = not checked)
    ino_t ino = 0;    // the name connected to is still this checked inode (0 = not checked)
};

// What the listener turned out to be (filled once connected).
struct PeerSeen {
    bool known = false;
    uid_t uid = 0;
    pid_t pid = 0;
};

// Connects to the AF_UNIX socket at `path` (for a checked socket: /proc/self/fd/N/name,
// N its directory's O_PATH fd), checks `peer`, writes `req`, reads until EOF or the sink stops it,
// each step bounded by `deadline_ns` (now_ns() clock, checked after every read too, so
// a listener that never stops sending still ends at the deadline).  If watch_fd >= 0,
// it is polled too and its readiness ends the exchange with watch_fired.  *err
// receives the errno of a failure.  Async-signal-safe.
XStatus exchange_raw(const char* path, const Peer& peer, const char* req, size_t len,
                     int64_t deadline_ns, int watch_fd, RawSink sink, void* ctx, int* err,
                     PeerSeen* seen);

// How to reach the target: the socket and the credentials to assume.
struct Route {
    std::string socket_path;  // for messages; also connected to when no fd is set (tests)
    // The checked socket's directory (O_PATH, borrowed) and the name in it: connected to
    // as /proc/self/fd/<dir_fd>/<socket_name>, so the name stays .java_pid<N> for
    // observers that recognise attaches by it, and no path outside the target's root is
    // walked.  SO_PEERCRED then proves the listener is the target.
    int dir_fd = -1;
    std::string socket_name;
    int socket_fd = -1;       // else: O_PATH fd of the socket inode itself; borrowed
    Peer peer;                // who must be listening
    bool switch_creds = false;
    uid_t euid = 0;
    gid_t egid = 0;
    bool needs_fork() const { return switch_creds; }
    // The path connect() uses: through dir_fd, else socket_fd's magic link, else socket_path.
    std::string connect_path() const;
};

struct Exchanged {
    XStatus status = XStatus::ok;
    int err = 0;
    bool forked = false;
    PeerSeen peer;
};

// Runs the exchange, in a forked child when route.needs_fork() (the reply streams back
// over a pipe).  The child is killed and reaped when the deadline passes or on_data
// returns false (stop reading: XStatus::stopped).
Exchanged exchange(const Route& route, const std::string& req, int64_t deadline_ns,
                   int watch_fd, const std::function<bool(std::string_view)>& on_data);

}  // namespace jvmwatch::attach::io
