#include "attach/exchange.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace jvmwatch::attach::io {

const char* describe(XStatus s) {
    switch (s) {
        case XStatus::ok: return "ok";
        case XStatus::no_socket: return "attach socket not found";
        case XStatus::refused: return "connection refused (stale socket)";
        case XStatus::denied: return "permission denied connecting to the attach socket";
        case XStatus::setid_failed: return "could not switch to the target's egid/euid";
        case XStatus::timed_out: return "timed out talking to the JVM";
        case XStatus::io_error: return "socket error talking to the JVM";
        case XStatus::watch_fired: return "the target exited";
        case XStatus::child_failed: return "the attach helper process failed";
        case XStatus::untrusted_peer: return "the listener is not the JVM (SO_PEERCRED, or the socket was replaced)";
        case XStatus::stopped: return "stopped reading (reply cap)";
        case XStatus::policy_denied: return "connect refused by a policy (EPERM)";
    }
    return "?";
}

int64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {

// Milliseconds left, rounded up so we never spin with 0 while time remains.
int ms_left(int64_t deadline_ns) {
    int64_t left = deadline_ns - now_ns();
    if (left <= 0) return 0;
    return int((left + 999999) / 1000000);
}

// Waits for `events` on fd (and readability of watch_fd).  0 ready, else an XStatus.
XStatus wait_fd(int fd, short events, int64_t deadline_ns, int watch_fd) {
    for (;;) {
        int ms = ms_left(deadline_ns);
        if (ms == 0) return XStatus::timed_out;
        struct pollfd p[2] = {{fd, events, 0}, {watch_fd, POLLIN, 0}};
        int n = poll(p, watch_fd >= 0 ? 2 : 1, ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return XStatus::io_error;
        if (n == 0) continue;  // re-check the deadline
        if (p[0].revents) return XStatus::ok;
        if (watch_fd >= 0 && p[1].revents) return XStatus::watch_fired;
    }
}

struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) close(fd);
    }
};

}  // namespace

std::string Route::connect_path() const {
    if (dir_fd >= 0) return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + socket_name;
    if (socket_fd >= 0) return "/proc/self/fd/" + std::to_string(socket_fd);
    return socket_path;
}

XStatus exchange_raw(const char* path, const Peer& peer, const char* req, size_t len,
                     int64_t deadline_ns, int watch_fd, RawSink sink, void* ctx, int* err,
                     PeerSeen* seen) {
    *err = 0;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t plen = strlen(path);
    if (plen >= sizeof addr.sun_path) {
        *err = ENAMETOOLONG;
        return XStatus::io_error;
    }
    memcpy(addr.sun_path, path, plen);

    FdCloser s{socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
    if (s.fd < 0) {
        *err = errno;
        return XStatus::io_error;
    }
    // An AF_UNIX connect completes at once, or fails with EAGAIN while the listener's
    // backlog is full (it serves one connection at a time): retry until the deadline.
    for (;;) {
        if (connect(s.fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0) break;
        int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EINPROGRESS) {
            if (ms_left(deadline_ns) == 0) return XStatus::timed_out;
            struct timespec ts{0, 500 * 1000};
            nanosleep(&ts, nullptr);
            continue;
        }
        *err = e;
        if (e == ENOENT) return XStatus::no_socket;
        if (e == ECONNREFUSED) return XStatus::refused;
        if (e == EACCES) return XStatus::denied;
        // Socket files answer EACCES; EPERM is a policy hook refusing the connect.
        if (e == EPERM) return XStatus::policy_denied;
        return XStatus::io_error;
    }
    // The credentials the listener had when it called listen(): a socket file can be
    // planted or swapped, the process behind it cannot pretend to be the JVM.
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(s.fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
        *err = errno;
        return XStatus::io_error;
    }
    if (seen) {
        seen->known = true;
        seen->uid = cred.uid;
        seen->pid = cred.pid;
    }
    if (peer.check && ((cred.uid != peer.uid && cred.uid != 0) ||
                       (peer.pid > 0 && cred.pid > 0 && cred.pid != peer.pid)))
        return XStatus::untrusted_peer;
    // The name still leads to the inode that was checked (a swap would also need the
    // target's uid and its pid behind the new socket: both checked above).
    if (peer.check && peer.ino) {
        struct stat st;
        if (lstat(path, &st) != 0 || st.st_ino != peer.ino) return XStatus::untrusted_peer;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(s.fd, req + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            XStatus w = wait_fd(s.fd, POLLOUT, deadline_ns, watch_fd);
            if (w != XStatus::ok) return w;
            continue;
        }
        *err = errno;
        // EPIPE: the JVM closed early (it rejected the request); what it said, if
        // anything, is still readable, so fall through to reading.
        if (errno == EPIPE || errno == ECONNRESET) break;
        return XStatus::io_error;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = read(s.fd, buf, sizeof buf);
        if (n > 0) {
            if (!sink(ctx, buf, size_t(n))) return XStatus::stopped;
            // A listener that never stops sending never makes read() block: the
            // deadline is checked here too.
            if (now_ns() >= deadline_ns) return XStatus::timed_out;
            continue;
        }
        if (n == 0) return XStatus::ok;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            XStatus w = wait_fd(s.fd, POLLIN, deadline_ns, watch_fd);
            if (w != XStatus::ok) return w;
            continue;
        }
        if (errno == ECONNRESET) return XStatus::ok;  // treat like EOF; parser judges
        *err = errno;
        return XStatus::io_error;
    }
}

namespace {

bool pipe_sink(void* ctx, const char* data, size_t n) {
    int fd = *static_cast<int*>(ctx);
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        data += w;
        n -= size_t(w);
    }
    return true;
}

struct FnCtx {
    const std::function<bool(std::string_view)>* fn;
};

bool fn_sink(void* ctx, const char* data, size_t n) {
    return (*static_cast<FnCtx*>(ctx)->fn)(std::string_view(data, n));
}

// The forked child: assume credentials, exchange, exit with the status.  Only raw
// syscalls on buffers built before the fork.  No namespace is entered: the socket
// directory's O_PATH fd is inherited and /proc/self/fd/N/<name> (the host's /proc: we
// stay in its mount namespace) leads into the target's /tmp whatever its mounts are; a pathname
// AF_UNIX socket needs no network namespace.  The magic link stays usable after the
// euid switch: a process may always follow its own fd links.
[[noreturn]] void child_main(const Route& route, const char* path, const char* req, size_t len,
                             int64_t deadline_ns, int out_fd, PeerSeen* seen) {
    if (route.switch_creds) {
        // Group first: after dropping the euid we could no longer change it.  Only this
        // (single-threaded) child's credentials change.
        if (syscall(SYS_setresgid, -1, route.egid, -1) != 0 ||
            syscall(SYS_setresuid, -1, route.euid, -1) != 0)
            _exit(int(XStatus::setid_failed));
    }
    int err = 0;
    int fd = out_fd;
    XStatus st = exchange_raw(path, route.peer, req, len, deadline_ns, -1, pipe_sink, &fd, &err,
                              seen);
    _exit(int(st));
}

}  // namespace

// A page shared with the forked child, for what SO_PEERCRED told it.
class SharedPeer {
public:
    SharedPeer() {
        void* m = mmap(nullptr, sizeof(PeerSeen), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) p_ = new (m) PeerSeen();
    }
    ~SharedPeer() {
        if (p_) munmap(p_, sizeof(PeerSeen));
    }
    SharedPeer(const SharedPeer&) = delete;
    SharedPeer& operator=(const SharedPeer&) = delete;
    PeerSeen* get() const { return p_; }
private:
    PeerSeen* p_ = nullptr;
};

Exchanged exchange(const Route& route, const std::string& req, int64_t deadline_ns, int watch_fd,
                   const std::function<bool(std::string_view)>& on_data) {
    Exchanged x;
    const std::string path = route.connect_path();
    if (!route.needs_fork()) {
        FnCtx ctx{&on_data};
        x.status = exchange_raw(path.c_str(), route.peer, req.data(), req.size(), deadline_ns,
                                watch_fd, fn_sink, &ctx, &x.err, &x.peer);
        return x;
    }
    x.forked = true;
    SharedPeer seen;
    int p[2];
    if (!seen.get() || pipe2(p, O_CLOEXEC) != 0) {
        x.err = errno;
        x.status = XStatus::child_failed;
        return x;
    }
    pid_t child = fork();
    if (child < 0) {
        x.err = errno;
        close(p[0]);
        close(p[1]);
        x.status = XStatus::child_failed;
        return x;
    }
    if (child == 0) {
        close(p[0]);
        child_main(route, path.c_str(), req.data(), req.size(), deadline_ns, p[1], seen.get());
    }
    close(p[1]);
    FdCloser rd{p[0]};
    fcntl(rd.fd, F_SETFL, O_NONBLOCK);
    bool timed_out = false, exited = false, stopped = false;
    char buf[16384];
    // The child has its own deadline; ours adds a little slack so its exit status, not
    // our kill, reports a timeout when it can.
    const int64_t our_deadline = deadline_ns + 50 * 1000000LL;
    for (;;) {
        ssize_t n = read(rd.fd, buf, sizeof buf);
        if (n > 0) {
            if (!on_data(std::string_view(buf, size_t(n)))) {
                stopped = true;
                break;
            }
            if (now_ns() >= our_deadline) {
                timed_out = true;
                break;
            }
            continue;
        }
        if (n == 0) break;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) break;
        XStatus w = wait_fd(rd.fd, POLLIN, our_deadline, watch_fd);
        if (w == XStatus::timed_out) {
            timed_out = true;
            break;
        }
        if (w == XStatus::watch_fired) {
            exited = true;
            break;
        }
        if (w != XStatus::ok) break;
    }
    if (timed_out || exited || stopped) kill(child, SIGKILL);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    x.peer = *seen.get();
    if (timed_out) x.status = XStatus::timed_out;
    else if (exited) x.status = XStatus::watch_fired;
    else if (stopped) x.status = XStatus::stopped;
    else if (WIFEXITED(status) && WEXITSTATUS(status) <= int(XStatus::policy_denied))
        x.status = XStatus(WEXITSTATUS(status));
    else
        x.status = XStatus::child_failed;
    return x;
}

}  // namespace jvmwatch::attach::io
