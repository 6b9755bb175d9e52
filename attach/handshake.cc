#include "attach/handshake.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

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

PidFd::PidFd(pid_t pid) {
    fd_ = int(syscall(SYS_pidfd_open, pid, 0));
    if (fd_ < 0) err_ = errno;
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
    if (fd_ < 0) return EBADF;
    return syscall(SYS_pidfd_send_signal, fd_, sig, nullptr, 0) == 0 ? 0 : errno;
}

TriggerFile::~TriggerFile() {
    // The same directory fd it was created in: no path is resolved again.
    if (created_) unlinkat(dir_.get(), name_.c_str(), 0);
}

namespace {

bool owned_by_target_or_root(const struct stat& st, const jvm::JvmProcess& t) {
    return st.st_uid == t.euid || st.st_uid == 0;
}

safefs::Expect expect(unsigned kinds, std::optional<uid_t> owner = std::nullopt,
                      bool or_root = false) {
    safefs::Expect e;
    e.kinds = kinds;
    e.owner = owner;
    e.owner_or_root = or_root;
    return e;
}

}  // namespace

std::string TriggerFile::create(const std::string& proc_root, int root_fd,
                                const jvm::JvmProcess& t) {
    name_ = ".attach_pid" + std::to_string(t.nspid);
    const std::string base = proc_root + "/" + std::to_string(t.pid);
    // HotSpot (JDK 17 AttachListener::is_init_trigger) stat()s ".attach_pid<pid>" in its
    // cwd first and only if that is absent "<tmp>/.attach_pid<pid>"; a file found owned
    // by neither its euid nor root is ignored (no attach: the SIGQUIT dumps threads).
    // The kernel's own cwd link (not a path the user controls) gives the directory.
    safefs::UniqueFd cwd(open((base + "/cwd").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat cwd_st{};
    bool have_cwd = cwd && fstat(cwd.get(), &cwd_st) == 0;
    if (have_cwd) {
        struct stat st;
        if (fstatat(cwd.get(), name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISREG(st.st_mode) && owned_by_target_or_root(st, t)) return "";  // in use
            return "the JVM's cwd holds a " + name_ + " owned by uid " +
                   std::to_string(st.st_uid) + (S_ISREG(st.st_mode) ? "" : " that is no file") +
                   " (planted?): the JVM would look no further";
        }
    }
    // Our file goes to its /tmp first: at startup HotSpot briefly chdirs into
    // /tmp/hsperfdata_<user>, and a trigger put into "the cwd" then is never seen
    // (measured: the SIGQUIT then prints a thread dump).  /tmp is resolved inside the
    // JVM's root (an absolute link stays in it) and must be a directory owned by root or
    // by the JVM's user: a directory another user owns could be swapped under us.
    safefs::Expect dir_owner = expect(safefs::Kind::directory, t.euid, /*or_root=*/true);
    safefs::Failure tmp_fail;
    safefs::UniqueFd tmp = safefs::open_path(root_fd, "/tmp", safefs::Resolve::in_root, dir_owner,
                                             nullptr, &tmp_fail);
    std::string why_tmp = tmp ? "" : "its /tmp: " + tmp_fail.why;
    struct Place {
        safefs::UniqueFd* dir;
        std::string shown;
    };
    std::vector<Place> places;
    if (tmp) places.push_back({&tmp, base + "/root/tmp/" + name_});
    // The cwd only when the JVM's own user owns it (root for a root JVM): never a
    // directory of someone else the JVM merely can enter.
    std::string why_cwd;
    if (!have_cwd) why_cwd = "its cwd is unreadable";
    else if (cwd_st.st_uid != t.euid)
        why_cwd = "its cwd is owned by uid " + std::to_string(cwd_st.st_uid) + ", not the JVM's";
    else places.push_back({&cwd, base + "/cwd/" + name_});
    std::string why;
    for (auto& place : places) {
        int dirfd = place.dir->get();
        int fd = openat(dirfd, name_.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
        if (fd < 0) {
            int e = errno;
            struct stat st;
            if (e == EEXIST && fstatat(dirfd, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
                // Another attach in progress, or a planted file: usable only if well owned.
                if (S_ISREG(st.st_mode) && owned_by_target_or_root(st, t)) return "";
                return place.shown + " exists and is not a file of the JVM's user (planted?)";
            }
            why = place.shown + ": " + strerror(e);
            continue;
        }
        safefs::UniqueFd file(fd);
        // The JVM honours a trigger owned by its euid or by root; in a user namespace
        // our root is not its root, so hand the file to the target's ids.
        if (fchown(fd, t.euid, t.egid) != 0 && geteuid() == 0) {
            why = place.shown + ": chown: " + strerror(errno);
            unlinkat(dirfd, name_.c_str(), 0);
            continue;
        }
        dir_ = std::move(*place.dir);
        shown_ = place.shown;
        created_ = true;
        return "";
    }
    if (!why.empty()) return "cannot create the trigger file (" + why + ")";
    return "no safe place for the trigger file: " + why_tmp + "; " + why_cwd;
}

std::string host_socket_path(const std::string& proc_root, const jvm::JvmProcess& t) {
    return proc_root + "/" + std::to_string(t.pid) + "/root/tmp/.java_pid" + std::to_string(t.nspid);
}

SocketCheck check_socket(int root_fd, const jvm::JvmProcess& t, const std::string& shown) {
    SocketCheck c;
    // /tmp as the JVM sees it (inside its root), then the name itself without following
    // a link: HotSpot binds the socket there, it never makes a link.
    safefs::UniqueFd tmp = safefs::open_path(root_fd, "/tmp", safefs::Resolve::in_root,
                                             expect(safefs::Kind::directory));
    if (!tmp) return c;  // no /tmp: no socket (the trigger step says why)
    std::string name = ".java_pid" + std::to_string(t.nspid);
    int fd = openat(tmp.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return c;  // absent
    safefs::UniqueFd sock(fd);
    struct stat st;
    if (fstat(fd, &st) != 0) return c;
    std::string why = safefs::check(st, expect(safefs::Kind::socket, t.euid));
    if (!why.empty()) {
        c.state = SocketState::untrusted;
        c.detail = shown + " " + why + ", the JVM's uid being " + std::to_string(t.euid) +
                   " (planted?); refusing to use it";
        return c;
    }
    c.state = SocketState::present;
    c.ino = st.st_ino;
    c.fd = std::move(sock);
    c.dir = std::move(tmp);
    c.name = name;
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

Outcome wait_for_socket(int root_fd, const jvm::JvmProcess& t, const std::string& shown,
                        ino_t stale_ino, const PidFd& pidfd, int64_t deadline_ns,
                        SocketCheck* found, std::string* detail) {
    // Polling with a short backoff, not inotify: closing an inotify instance waits for
    // an SRCU grace period (measured 6-15 ms in close()), more than the whole wait.  An
    // openat costs microseconds; the socket typically appears 1.4-5 ms after SIGQUIT.
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
        auto c = check_socket(root_fd, t, shown);
        if (c.state == SocketState::present && (stale_ino == 0 || c.ino != stale_ino)) {
            *found = std::move(c);
            return Outcome::ok;
        }
        if (c.state == SocketState::untrusted) {
            *detail = c.detail;
            return Outcome::untrusted_socket;
        }
        if (pidfd.exited()) {
            *detail = "the JVM exited while we waited for its attach socket";
            return Outcome::target_exited;
        }
        if (io::now_ns() >= deadline_ns) {
            *detail = "the attach socket " + shown + " did not appear before the timeout";
            return Outcome::timed_out;
        }
        int64_t cap = io::now_ns() - start < 100 * 1000000LL ? 1000000 : 10 * 1000000;
        backoff = std::min<int64_t>(backoff * 3 / 2, cap);
    }
}

}  // namespace jvmwatch::attach
