// Bringing up a JVM's attach listener safely: find and vet its socket, decide whether a
// SIGQUIT is safe, create the trigger file, signal, and wait for the socket.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "attach/jvm_process.h"
#include "jvmwatch/attach.h"

namespace jvmwatch::attach {

using LogFn = std::function<void(std::string_view)>;

// A pidfd for the target: notices exit (also as a zombie) and signals without pid-reuse
// races.  Closed on destruction.
class PidFd {
public:
    explicit PidFd(pid_t pid);
    ~PidFd();
    PidFd(const PidFd&) = delete;
    PidFd& operator=(const PidFd&) = delete;
    int fd() const { return fd_; }
    bool exited() const;             // readable pidfd = the process has exited
    int send_signal(int sig) const;  // 0 or errno
private:
    pid_t pid_;
    int fd_ = -1;
};

// The trigger file `.attach_pid<nspid>`, removed on destruction if we created it.
class TriggerFile {
public:
    TriggerFile() = default;
    ~TriggerFile();
    TriggerFile(const TriggerFile&) = delete;
    TriggerFile& operator=(const TriggerFile&) = delete;
    // Creates it in the target's cwd, else its /tmp; owned by the target's euid/egid.
    // "" on success, else why not.
    std::string create(const std::string& proc_root, const jvm::JvmProcess& target);
    const std::string& path() const { return path_; }
private:
    std::string path_;
};

enum class SocketState { absent, present, untrusted };
struct SocketCheck {
    SocketState state = SocketState::absent;
    std::string detail;
    ino_t ino = 0;  // of the socket, when present
};
// lstat()s the socket path (host view): must be a socket owned by `euid`.
SocketCheck check_socket(const std::string& host_path, uid_t euid);

// <proc_root>/<pid>/root/tmp/.java_pid<nspid>
std::string host_socket_path(const std::string& proc_root, const jvm::JvmProcess& target);

// Decides if SIGQUIT is safe now, waiting (bounded by deadline) for a JVM exec'd a
// moment ago to install its handler.  Returns Outcome::ok when it is safe; otherwise
// the outcome to report and *detail.
Outcome wait_until_signal_safe(const std::string& proc_root, const jvm::JvmProcess& target,
                               const PidFd& pidfd, int64_t deadline_ns, std::string* detail,
                               const LogFn& log);

// Waits for the socket to appear (first check after 200 us, then backoff capped at
// 1 ms, 10 ms after the first 100 ms).  Returns ok, timed_out, target_exited or untrusted_socket.
// A socket with inode `stale_ino` (nonzero) is one that refused us: ignored until replaced.
Outcome wait_for_socket(const std::string& host_path, uid_t euid, ino_t stale_ino,
                        const PidFd& pidfd, int64_t deadline_ns, std::string* detail);

}  // namespace jvmwatch::attach
