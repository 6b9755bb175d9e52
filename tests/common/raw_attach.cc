#include "tests/common/raw_attach.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace jvmwatch::test {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline: false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        struct pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) return true;
        if (n == 0 || errno != EINTR) return false;
    }
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// The JVM named by ".java_pid<N>" is alive (running, not a zombie).
bool jvm_alive(pid_t pid) {
    if (pid <= 0) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close_paren = line.rfind(')');
    return close_paren != std::string::npos && close_paren + 2 < line.size() && line[close_paren + 2] != 'Z' &&
           line[close_paren + 2] != 'X';
}

pid_t pid_of(const std::string& java_pid_path) {
    auto slash = java_pid_path.rfind('/');
    std::string name = java_pid_path.substr(slash == std::string::npos ? 0 : slash + 1);
    constexpr std::string_view prefix = ".java_pid";
    if (name.rfind(prefix, 0) != 0) return -1;
    try {
        return static_cast<pid_t>(std::stol(name.substr(prefix.size())));
    } catch (const std::exception&) {
        return -1;
    }
}

}  // namespace

RawAttachResult raw_attach(const std::string& socket_path, const std::string& op,
                           std::vector<std::string> args, std::chrono::milliseconds timeout,
                           size_t max_reply) {
    RawAttachResult r;
    auto deadline = Clock::now() + timeout;
    struct sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path)) {
        r.error = "socket path too long";
        return r;
    }
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        r.error = errno_text("socket");
        return r;
    }
    // A full backlog answers EAGAIN on a non-blocking unix connect: retry until the deadline.
    while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        if ((errno != EAGAIN && errno != EINTR) || remaining_ms(deadline) == 0) {
            r.error = errno_text("connect");
            return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    return raw_attach_fd(fd.get(), op, std::move(args),
                         std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                         max_reply);
}

RawAttachResult raw_attach_fd(int connected_fd, const std::string& op, std::vector<std::string> args,
                              std::chrono::milliseconds timeout, size_t max_reply) {
    RawAttachResult r;
    auto deadline = Clock::now() + timeout;
    int fl = ::fcntl(connected_fd, F_GETFL);
    if (fl < 0 || ::fcntl(connected_fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        r.error = errno_text("fcntl");
        return r;
    }
    Fd fd(::dup(connected_fd));   // closed here; the caller's stays open
    if (fd.get() < 0) {
        r.error = errno_text("dup");
        return r;
    }
    while (args.size() < 3) args.emplace_back();
    std::string request("1", 2);   // "1\0"
    request.append(op).push_back('\0');
    for (const auto& a : args) request.append(a).push_back('\0');
    for (size_t sent = 0; sent < request.size();) {
        ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
        } else if (n < 0 && errno == EAGAIN) {
            if (!wait_for(fd.get(), POLLOUT, deadline)) {
                r.error = "timed out writing the request";
                return r;
            }
        } else if (n < 0 && errno != EINTR) {
            r.error = errno_text("send");
            return r;
        }
    }

    std::string reply;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n > 0) {
            size_t keep = std::min(static_cast<size_t>(n), max_reply - reply.size());
            reply.append(buf, keep);
            if (reply.size() >= max_reply) {
                r.truncated = true;
                break;
            }
        } else if (n == 0) {
            break;
        } else if (errno == EAGAIN) {
            if (!wait_for(fd.get(), POLLIN, deadline)) {
                r.error = "timed out reading the reply (" + std::to_string(reply.size()) + " bytes so far)";
                r.text = reply;
                return r;
            }
        } else if (errno != EINTR) {
            r.error = errno_text("read");
            return r;
        }
    }
    auto nl = reply.find('\n');
    std::string status = reply.substr(0, nl);
    char* end = nullptr;
    long code = std::strtol(status.c_str(), &end, 10);
    if (status.empty() || end != status.c_str() + status.size()) {
        r.error = "no status line in the reply: '" + status.substr(0, 80) + "'";
        r.text = reply;
        return r;
    }
    r.ok = true;
    r.code = static_cast<int>(code);
    r.text = nl == std::string::npos ? "" : reply.substr(nl + 1);
    return r;
}

int connect_in_child(const std::string& socket_path, pid_t* connector_pid, std::string* error) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        *error = errno_text("socketpair");
        return -1;
    }
    Fd parent(sv[0]);
    pid_t child = ::fork();
    if (child < 0) {
        *error = errno_text("fork");
        ::close(sv[1]);
        return -1;
    }
    if (child == 0) {
        // Only async-signal-safe calls from here: the parent may have threads.
        struct sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (socket_path.size() >= sizeof(addr.sun_path)) _exit(2);
        std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
        int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) _exit(3);
        char byte = 'f';
        struct iovec iov{&byte, 1};
        alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
        struct msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl;
        msg.msg_controllen = sizeof ctl;
        struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &s, sizeof(int));
        _exit(::sendmsg(sv[1], &msg, MSG_NOSIGNAL) == 1 ? 0 : 4);
    }
    ::close(sv[1]);
    *connector_pid = child;
    char byte;
    struct iovec iov{&byte, 1};
    alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof ctl;
    ssize_t n = ::recvmsg(parent.get(), &msg, MSG_CMSG_CLOEXEC);
    int status = 0;
    ::waitpid(child, &status, 0);
    struct cmsghdr* c = n == 1 ? CMSG_FIRSTHDR(&msg) : nullptr;
    if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
        *error = "the child did not pass a connected fd (exit status " +
                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
        return -1;
    }
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

const char* to_string(AliasKind kind) {
    switch (kind) {
        case AliasKind::symlink: return "symlink";
        case AliasKind::hard_link: return "hard_link";
        case AliasKind::rename: return "rename";
    }
    return "?";
}

SocketAlias::SocketAlias(AliasKind kind, std::string java_pid_path, const std::string& dir)
    : kind_(kind), original_(std::move(java_pid_path)), path_(dir + "/alias-" + to_string(kind)),
      jvm_pid_(pid_of(original_)) {
    int rc = 0;
    switch (kind) {
        case AliasKind::symlink: rc = ::symlink(original_.c_str(), path_.c_str()); break;
        case AliasKind::hard_link: rc = ::link(original_.c_str(), path_.c_str()); break;
        case AliasKind::rename:
            if (jvm_pid_ <= 0) throw std::runtime_error("SocketAlias: rename needs a .java_pid<N> path: " + original_);
            rc = ::renameat2(AT_FDCWD, original_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
            break;
    }
    if (rc != 0)
        throw std::runtime_error(std::string("SocketAlias: ") + to_string(kind) + " " + original_ + " -> " + path_ +
                                 ": " + std::strerror(errno));
}

SocketAlias::~SocketAlias() {
    // Back to its name only if the JVM still listens on it and has not made a new one
    // (it does on a SIGQUIT that finds its socket gone): never clobber a live socket.
    if (kind_ == AliasKind::rename && jvm_alive(jvm_pid_) &&
        ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, original_.c_str(), RENAME_NOREPLACE) == 0)
        return;
    ::unlink(path_.c_str());
}

}  // namespace jvmwatch::test
