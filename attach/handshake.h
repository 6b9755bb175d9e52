// Bringing up a JVM's attach listener safely: find and vet its socket, decide whether a
// SIGQUIT is safe, create the trigger file, signal, and wait for the socket.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "attach/jvm_process.h"
#include "attach/safe_fs.h"
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
    int error() const { return err_; }  // errno of pidfd_open when fd() < 0
    bool exited() const;             // readable pidfd = the process has exited
    int send_signal(int sig) const;  // 0 or errno; never by pid (reuse)
private:
    int fd_ = -1;
    int err_ = 0;
};

// The trigger file `.attach_pid<nspid>`: created in the target's /tmp (resolved inside
// its root) or, failing that, in its cwd when the target's user owns it; removed on
// destruction through the same directory fd, if we created it.
class TriggerFile {
public:
    TriggerFile() = default;
    ~TriggerFile();
    TriggerFile(const TriggerFile&) = delete;
    TriggerFile& operator=(const TriggerFile&) = delete;
    // root_fd: open_proc_root() of the target.  Owned by the target's euid/egid.
    // "" on success, else why no safe place exists (then nothing was created).
    std::string create(const std::string& proc_root, int root_fd, const jvm::JvmProcess& target);
    // Where it is, for messages ("" if an existing trigger is used).
    const std::string& shown_path() const { return shown_; }
private:
    safefs::UniqueFd dir_;
    std::string name_;
    std::string shown_;
    bool created_ = false;
};

enum class SocketState { absent, present, untrusted };
struct SocketCheck {
    SocketState state = SocketState::absent;
    std::string detail;
    safefs::UniqueFd fd;   // O_PATH fd of the socket, when present
    safefs::UniqueFd dir;  // O_PATH fd of its directory (the target's /tmp), when present
    std::string name;      // .java_pid<nspid>
    ino_t ino = 0;
};
// Opens the target's `/tmp/.java_pid<nspid>` inside its root (root_fd) as O_PATH: it
// must be a socket (not a link to one) owned by the target's euid.  `shown` names it.
SocketCheck check_socket(int root_fd, const jvm::JvmProcess& target, const std::string& shown);

// <proc_root>/<pid>/root/tmp/.java_pid<nspid>: the socket's name in messages.
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
// On ok, *found holds the socket.
Outcome wait_for_socket(int root_fd, const jvm::JvmProcess& target, const std::string& shown,
                        ino_t stale_ino, const PidFd& pidfd, int64_t deadline_ns,
                        SocketCheck* found, std::string* detail);

}  // namespace jvmwatch::attach
