#include "attach/safe_fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace jvmwatch::safefs {

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

namespace {

constexpr int kMaxLinks = 40;  // as the kernel's own path walk (ELOOP beyond)

void set_fail(Failure* f, int err, std::string why) {
    if (!f) return;
    f->err = err;
    f->why = std::move(why);
}

std::string errno_line(const std::string& path, int err) {
    return path + ": " + std::strerror(err);
}

int sys_openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
    struct open_how how {};
    how.flags = flags;
    how.resolve = resolve;
    return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        if (j > i) parts.emplace_back(path, i, j - i);
        i = j + 1;
    }
    return parts;
}

// The walk openat2 does, for kernels without it: one component at a time, each opened
// O_PATH|O_NOFOLLOW, so a symlink is found as itself and never followed by the kernel.
// `in_root`: ".." never climbs above `root`, and a link's target is walked from `root`
// (absolute) or from where the link was (relative).  No magic link is ever followed.
int walk(int root, const std::string& path, Resolve how, bool follow_last) {
    UniqueFd own_root;
    bool absolute = !path.empty() && path[0] == '/';
    if (root == AT_FDCWD || (absolute && how == Resolve::no_symlinks)) {
        own_root.reset(::open(absolute ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!own_root) return -1;
        root = own_root.get();
    }
    std::vector<UniqueFd> stack;  // directories below root
    auto top = [&] { return stack.empty() ? root : stack.back().get(); };
    std::vector<std::string> todo = split_path(path);
    std::reverse(todo.begin(), todo.end());  // pop_back() = next component
    int links = 0;
    while (!todo.empty()) {
        std::string comp = std::move(todo.back());
        todo.pop_back();
        if (comp == ".") continue;
        if (comp == ".." && how == Resolve::in_root) {
            if (!stack.empty()) stack.pop_back();
            continue;
        }
        int fd = ::openat(top(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return -1;
        UniqueFd next(fd);
        struct stat st;
        if (::fstat(fd, &st) != 0) return -1;
        bool last = todo.empty();
        if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
            if (how == Resolve::no_symlinks || ++links > kMaxLinks) {
                errno = ELOOP;
                return -1;
            }
            char target[4096];
            ssize_t n = ::readlinkat(fd, "", target, sizeof target - 1);
            if (n < 0) return -1;
            target[n] = 0;
            std::vector<std::string> more = split_path(target);
            for (auto it = more.rbegin(); it != more.rend(); ++it) todo.push_back(*it);
            if (target[0] == '/') stack.clear();
            continue;
        }
        if (!last && !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
        stack.push_back(std::move(next));
    }
    if (stack.empty()) return ::fcntl(root, F_DUPFD_CLOEXEC, 0);
    return stack.back().release();
}

}  // namespace

namespace {
std::atomic<bool> g_force_walk{false};
}

void force_component_walk(bool on) { g_force_walk = on; }

bool have_openat2() {
    if (g_force_walk) return false;
    static const bool ok = [] {
        int fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd < 0) return false;
        ::close(fd);
        return true;
    }();
    return ok;
}

std::string check(const struct stat& st, const Expect& e) {
    unsigned kind = S_ISREG(st.st_mode) ? Kind::regular
                    : S_ISDIR(st.st_mode) ? Kind::directory
                    : S_ISSOCK(st.st_mode) ? Kind::socket
                                           : 0u;
    if (!(kind & e.kinds)) {
        const char* what = S_ISFIFO(st.st_mode)  ? "a FIFO"
                           : S_ISCHR(st.st_mode) ? "a character device"
                           : S_ISBLK(st.st_mode) ? "a block device"
                           : S_ISLNK(st.st_mode) ? "a symlink"
                           : S_ISREG(st.st_mode) ? "a regular file"
                           : S_ISDIR(st.st_mode) ? "a directory"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "of an unknown type";
        const char* want = (e.kinds & Kind::regular)     ? "a regular file"
                           : (e.kinds & Kind::directory) ? "a directory"
                                                         : "a socket";
        return std::string("is ") + what + ", not " + want;
    }
    if (e.owner && st.st_uid != *e.owner && !(e.owner_or_root && st.st_uid == 0))
        return "is owned by uid " + std::to_string(st.st_uid) + ", not " +
               std::to_string(*e.owner) + (e.owner_or_root ? " or root" : "");
    if (e.not_writable_by_others && (st.st_mode & (S_IWGRP | S_IWOTH)))
        return "is writable by group or others";
    return "";
}

UniqueFd open_path(int dirfd, const std::string& path, Resolve how, const Expect& expect,
                   struct stat* st_out, Failure* fail) {
    int fd;
    std::string rel = how == Resolve::in_root ? relative_to_root(path) : path;
    if (have_openat2()) {
        uint64_t resolve = RESOLVE_NO_MAGICLINKS |
                           (how == Resolve::in_root ? RESOLVE_IN_ROOT : RESOLVE_NO_SYMLINKS);
        // in_root follows a last-component link too (inside the root, as the process
        // would); no_symlinks gets the link itself, which check() then refuses.
        uint64_t flags = O_PATH | O_CLOEXEC | (how == Resolve::in_root ? 0 : O_NOFOLLOW);
        do fd = sys_openat2(dirfd, rel.c_str(), flags, resolve);
        while (fd < 0 && errno == EAGAIN);
    } else {
        fd = walk(dirfd, rel, how, how == Resolve::in_root);
    }
    if (fd < 0) {
        int e = errno;
        set_fail(fail, e, e == ELOOP ? path + ": a symlink on the path (not followed)"
                                     : errno_line(path, e));
        return UniqueFd();
    }
    UniqueFd out(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        set_fail(fail, errno, errno_line(path, errno));
        return UniqueFd();
    }
    if (std::string why = check(st, expect); !why.empty()) {
        set_fail(fail, 0, path + " " + why);
        return UniqueFd();
    }
    if (st_out) *st_out = st;
    return out;
}

UniqueFd reopen_for_read(int opath_fd, Failure* fail) {
    // The magic link names the very inode we checked: nothing is resolved again.
    std::string self = "/proc/self/fd/" + std::to_string(opath_fd);
    int fd = ::open(self.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        set_fail(fail, errno, errno_line(self, errno));
        return UniqueFd();
    }
    return UniqueFd(fd);
}

std::optional<std::string> read_capped(int fd, size_t max, bool* truncated, Failure* fail) {
    std::string out;
    char buf[16384];
    if (truncated) *truncated = false;
    for (;;) {
        size_t want = std::min(sizeof buf, max - out.size() + 1);  // one more: tells truncation
        ssize_t n = ::read(fd, buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            set_fail(fail, errno, std::strerror(errno));
            return std::nullopt;
        }
        if (n == 0) break;
        size_t keep = std::min(static_cast<size_t>(n), max - out.size());
        out.append(buf, keep);
        if (keep < static_cast<size_t>(n) || out.size() >= max) {
            if (keep < static_cast<size_t>(n) && truncated) *truncated = true;
            if (out.size() >= max) {
                // At the cap: one byte more means the file is larger.
                char c;
                ssize_t more;
                do more = ::read(fd, &c, 1);
                while (more < 0 && errno == EINTR);
                if (more > 0 && truncated) *truncated = true;
            }
            break;
        }
    }
    return out;
}

std::optional<std::string> read_file(int dirfd, const std::string& path, Resolve how, size_t max,
                                     const Expect& expect, Failure* fail, bool* truncated) {
    Expect e = expect;
    e.kinds = Kind::regular;
    UniqueFd p = open_path(dirfd, path, how, e, nullptr, fail);
    if (!p) return std::nullopt;
    UniqueFd r = reopen_for_read(p.get(), fail);
    if (!r) return std::nullopt;
    Failure f;
    auto text = read_capped(r.get(), max, truncated, &f);
    if (!text) set_fail(fail, f.err, path + ": " + f.why);
    return text;
}

UniqueFd open_proc_root(const std::string& proc_root, pid_t pid, Failure* fail) {
    std::string p = proc_root + "/" + std::to_string(pid) + "/root";
    int fd = ::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        set_fail(fail, errno, errno_line(p, errno));
        return UniqueFd();
    }
    return UniqueFd(fd);
}

std::string relative_to_root(const std::string& path) {
    size_t i = path.find_first_not_of('/');
    return i == std::string::npos ? "." : path.substr(i);
}

}  // namespace jvmwatch::safefs
