#include "attach/handshake.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "attach/exchange.h"
#include "attach/procfs.h"

namespace jvmwatch::attach {

namespace {

constexpr uint64_t kSigQuitBit = uint64_t(1) << (SIGQUIT - 1);
// A JVM older than this that still has no SIGQUIT handler will not install one.
constexpr double kYoungSeconds = 5.0;

void sleep_ns(int64_t ns) {
    struct timespec ts{time_t(ns / 1000000000), long(ns % 1000000000)};
    nanosleep(&ts, nullptr);
}

// Seconds since the process started, from /proc/uptime and stat's start time.
double age_seconds(const std::string& proc_root, const jvm::JvmProcess& t) {
    auto up = proc::read_file(proc_root + "/uptime", 256);
    if (!up) return 0;
    double uptime = std::strtod(up->c_str(), nullptr);
    return uptime - double(t.start_time_ticks) / double(sysconf(_SC_CLK_TCK));
}


}  // namespace

PidFd::PidFd(pid_t pid) : pid_(pid) {
    fd_ = int(syscall(SYS_pidfd_open, pid, 0));
}

PidFd::~PidFd() {
    if (fd_ >= 0) close(fd_);
}

bool PidFd::exited() const {
    if (fd_ < 0) return false;
    struct pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

int PidFd::send_signal(int sig) const {
    int rc = fd_ >= 0 ? int(syscall(SYS_pidfd_send_signal, fd_, sig, nullptr, 0))
                      : kill(pid_, sig);
    return rc == 0 ? 0 : errno;
}

TriggerFile::~TriggerFile() {
    if (!path_.empty()) unlink(path_.c_str());
}

std::string TriggerFile::create(const std::string& proc_root, const jvm::JvmProcess& t) {
    std::string name = "/.attach_pid" + std::to_string(t.nspid);
    std::string base = proc_root + "/" + std::to_string(t.pid);
    // The JVM looks at <cwd>/.attach_pid<nspid> first and only if that is absent at
    // <tmp>/.attach_pid<nspid>.  We write to its /tmp: at startup HotSpot briefly chdirs
    // into /tmp/hsperfdata_<user>, and a trigger put into "the cwd" then is never seen
    // (measured: the SIGQUIT then prints a thread dump).  A file the JVM would see first
    // in its cwd must be owned by its user or root, or /tmp is never consulted.
    std::string in_cwd = base + "/cwd" + name;
    struct stat st;
    if (stat(in_cwd.c_str(), &st) == 0 && st.st_uid != t.euid && st.st_uid != 0)
        return in_cwd + " exists and is owned by uid " + std::to_string(st.st_uid) +
               " (planted?); the JVM would ignore our trigger";
    std::string why;
    for (const std::string& path : {base + "/root/tmp" + name, in_cwd}) {
        int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            // The JVM honours a trigger owned by its euid or by root; in a user namespace
            // our root is not its root, so hand the file to the target's ids.
            if (fchown(fd, t.euid, t.egid) != 0 && geteuid() == 0) {
                why = path + ": chown: " + strerror(errno);
                close(fd);
                unlink(path.c_str());
                continue;
            }
            close(fd);
            path_ = path;
            return "";
        }
        int e = errno;
        if (e == EEXIST) {
            // Another attach in progress, or a planted file: usable only if well owned.
            if (stat(path.c_str(), &st) == 0 && (st.st_uid == t.euid || st.st_uid == 0)) return "";
            return path + " exists and is not owned by the JVM's user (planted?)";
        }
        why = path + ": " + strerror(e);
    }
    return "cannot create the trigger file (" + why + ")";
}

std::string host_socket_path(const std::string& proc_root, const jvm::JvmProcess& t) {
    return proc_root + "/" + std::to_string(t.pid) + "/root/tmp/.java_pid" + std::to_string(t.nspid);
}

SocketCheck check_socket(const std::string& host_path, uid_t euid) {
    SocketCheck c;
    struct stat st;
    if (lstat(host_path.c_str(), &st) != 0) return c;  // absent
    if (!S_ISSOCK(st.st_mode)) {
        c.state = SocketState::untrusted;
        c.detail = host_path + " is not a socket (planted file?); refusing to use it";
    } else if (st.st_uid != euid) {
        c.state = SocketState::untrusted;
        c.detail = host_path + " is owned by uid " + std::to_string(st.st_uid) +
                   ", not the JVM's uid " + std::to_string(euid) + " (planted?); refusing to use it";
    } else {
        c.state = SocketState::present;
        c.ino = st.st_ino;
    }
    return c;
}

Outcome wait_until_signal_safe(const std::string& proc_root, const jvm::JvmProcess& t,
                               const PidFd& pidfd, int64_t deadline_ns, std::string* detail,
                               const LogFn& log) {
    int64_t backoff = 200 * 1000;
    bool logged = false;
    for (;;) {
        auto st = proc::read_status(proc_root, t.pid);
        if (!st || st->state == 'Z' || st->state == 'X' || pidfd.exited()) {
            *detail = "the JVM exited before the attach";
            return Outcome::target_exited;
        }
        if (st->sig_cgt & kSigQuitBit) return Outcome::ok;
        // Not caught yet: the default action of SIGQUIT would kill the JVM, and an
        // inherited "ignore" (a background job of a shell) would swallow it.  A JVM
        // exec'd a moment ago installs its handler within milliseconds; wait for that.
        if (age_seconds(proc_root, t) > kYoungSeconds) {
            *detail = (st->sig_ign & kSigQuitBit)
                          ? "SIGQUIT is ignored by the JVM (SigIgn); a signal would not start "
                            "the attach listener, so none is sent"
                          : "the JVM has no SIGQUIT handler (SigCgt); a signal would kill it";
            return Outcome::unsafe_target;
        }
        if (!logged && log) {
            log("SIGQUIT handler not installed yet (JVM just started): waiting");
            logged = true;
        }
        int64_t left = deadline_ns - io::now_ns();
        if (left <= 0) {
            *detail = "the JVM did not install its SIGQUIT handler before the timeout";
            return Outcome::timed_out;
        }
        sleep_ns(std::min(backoff, left));
        backoff = std::min<int64_t>(backoff * 2, 5 * 1000000);
    }
}

Outcome wait_for_socket(const std::string& host_path, uid_t euid, ino_t stale_ino,
                        const PidFd& pidfd, int64_t deadline_ns, std::string* detail) {
    // Polling with a short backoff, not inotify: closing an inotify instance waits for
    // an SRCU grace period (measured 6-15 ms in close()), more than the whole wait.  An
    // lstat costs microseconds; the socket typically appears 1.4-5 ms after SIGQUIT.
    // First look after 200 us, then x1.5 up to 1 ms; after 100 ms (a busy or -Xrs JVM)
    // up to 10 ms.  The pidfd in the same ppoll ends the wait when the JVM exits.
    const int64_t start = io::now_ns();
    int64_t backoff = 200 * 1000;
    for (;;) {
        int64_t left = deadline_ns - io::now_ns();
        int64_t wait = std::min(backoff, std::max<int64_t>(left, 0));
        struct pollfd p{pidfd.fd(), POLLIN, 0};
        struct timespec ts{time_t(wait / 1000000000), long(wait % 1000000000)};
        ppoll(&p, 1, &ts, nullptr);
        auto c = check_socket(host_path, euid);
        if (c.state == SocketState::present && (stale_ino == 0 || c.ino != stale_ino))
            return Outcome::ok;
        if (c.state == SocketState::untrusted) {
            *detail = c.detail;
            return Outcome::untrusted_socket;
        }
        if (pidfd.exited()) {
            *detail = "the JVM exited while we waited for its attach socket";
            return Outcome::target_exited;
        }
        if (io::now_ns() >= deadline_ns) {
            *detail = "the attach socket " + host_path + " did not appear before the timeout";
            return Outcome::timed_out;
        }
        int64_t cap = io::now_ns() - start < 100 * 1000000LL ? 1000000 : 10 * 1000000;
        backoff = std::min<int64_t>(backoff * 3 / 2, cap);
    }
}

}  // namespace jvmwatch::attach
