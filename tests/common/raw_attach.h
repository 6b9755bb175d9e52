// A raw HotSpot attach client for tests: sends a protocol-v1 request to ANY socket path
// (a symlink, hard link or renamed `.java_pid<N>` socket the test made), with none of the
// checks of the attach engine (no owner, type or peer check, no handshake: the listener
// must be up already).  It is the attacker's tool of issue 8: what an audit must still
// see.  Plus the aliases themselves, made and undone by RAII.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace jvmwatch::test {

struct RawAttachResult {
    bool ok = false;        // connected, sent, and read a reply to EOF with a status line
    std::string error;      // when !ok: what failed (connect, write, timeout, no status)
    int code = -1;          // the reply's first line as a number
    std::string text;       // the rest of the reply
    bool truncated = false; // the reply went over the cap; the rest was not read
};

// Connects to `socket_path` (AF_UNIX, following symlinks as connect() does), writes
// "1\0op\0arg1\0arg2\0arg3\0" (args padded with "" to three; more are sent as given, for
// malformed requests) and reads the reply until EOF, at most `max_reply` bytes, all
// within `timeout`.
RawAttachResult raw_attach(const std::string& socket_path, const std::string& op,
                           std::vector<std::string> args, std::chrono::milliseconds timeout,
                           size_t max_reply = 4 << 20);

// The same over a socket already connected to the JVM (the fd is the caller's and stays
// open; the request is written on it and the reply read to EOF).
RawAttachResult raw_attach_fd(int connected_fd, const std::string& op, std::vector<std::string> args,
                              std::chrono::milliseconds timeout, size_t max_reply = 4 << 20);

// A connection made by another process and handed over: a forked child connects to
// `socket_path`, sends the connected fd back over a socketpair (SCM_RIGHTS) and exits
// (reaped here).  The JVM's peer for that connection is the child (*connector_pid),
// while the caller writes the request.  Returns the fd (caller owns it), or -1 with *error.
int connect_in_child(const std::string& socket_path, pid_t* connector_pid, std::string* error);

// Another name for a JVM's attach socket.
enum class AliasKind { symlink, hard_link, rename };
const char* to_string(AliasKind kind);

// Makes `dir`/alias-<kind> name the socket at `java_pid_path` and undoes it on
// destruction: a symlink or hard link is removed; a renamed socket is renamed back while
// its JVM lives (the pid is the number in ".java_pid<N>"), so the JVM keeps its listener
// and later attaches find it, and removed once the JVM is gone (nothing left in /tmp).
// A hard link or rename needs `dir` on the socket's file system.  Throws
// std::runtime_error naming the cause.
class SocketAlias {
public:
    SocketAlias(AliasKind kind, std::string java_pid_path, const std::string& dir);
    ~SocketAlias();
    SocketAlias(const SocketAlias&) = delete;
    SocketAlias& operator=(const SocketAlias&) = delete;

    AliasKind kind() const { return kind_; }
    const std::string& path() const { return path_; }

private:
    AliasKind kind_;
    std::string original_;
    std::string path_;
    pid_t jvm_pid_ = -1;
};

inline SocketAlias make_alias(AliasKind kind, const std::string& java_pid_path, const std::string& dir) {
    return SocketAlias(kind, java_pid_path, dir);
}

}  // namespace jvmwatch::test
