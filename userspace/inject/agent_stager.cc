#include "userspace/inject/agent_stager.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "attach/procfs.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::inject {

namespace {
std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { if (fd_ >= 0) close(fd_); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    bool ok() const { return fd_ >= 0; }
private:
    int fd_;
};

std::string suffix_of(const std::string& path) {
    auto slash = path.rfind('/');
    auto dot = path.rfind('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
    std::string s = path.substr(dot);
    return s.size() <= 8 ? s : "";
}

std::string name_for(const std::string& hash, const std::string& agent_path) {
    return ".jvmwatch-agent-" + hash.substr(0, 32) + suffix_of(agent_path);
}

// Copies src to dst, hashing what was written.
std::optional<std::string> copy_hashed(int src, int dst) {
    policy::Sha256 h;
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(src, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        for (ssize_t w = 0; w < n;) {
            ssize_t m = write(dst, buf + w, static_cast<size_t>(n - w));
            if (m < 0 && errno == EINTR) continue;
            if (m <= 0) return std::nullopt;
            w += m;
        }
        h.update(buf, static_cast<size_t>(n));
        off += n;
    }
    return policy::Sha256::hex(h.finish());
}

// An existing copy is trusted only if nobody but root or the target's user could have
// put other bytes into it, and its bytes are the ones named.
bool existing_copy_ok(int dir, const std::string& name, uid_t euid, const std::string& hash) {
    Fd fd(openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.ok()) return false;
    struct stat st;
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) return false;
    if (st.st_uid != 0 && st.st_uid != euid) return false;
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return false;
    if (!(st.st_mode & S_IRUSR) && st.st_uid == euid) return false;
    auto h = policy::sha256_fd(fd.get());
    return h && *h == hash;
}
}  // namespace

std::optional<std::string> staged_name(const std::string& agent_path) {
    Fd src(open(agent_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!src.ok()) return std::nullopt;
    auto hash = policy::sha256_fd(src.get());
    if (!hash) return std::nullopt;
    return name_for(*hash, agent_path);
}

bool in_other_mount_ns(const std::string& proc_root, pid_t pid) {
    auto theirs = proc::read_ns_inode(proc_root, pid, "mnt");
    auto ours = proc::read_ns_inode(proc_root, getpid(), "mnt");
    return theirs && ours && *theirs != *ours;
}

std::optional<StagedAgent> stage_agent(const std::string& proc_root, pid_t pid, uid_t euid,
                                       gid_t egid, const std::string& agent_path,
                                       std::string* error) {
    if (!in_other_mount_ns(proc_root, pid)) return StagedAgent{agent_path, agent_path, false, false};

    Fd src(open(agent_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!src.ok()) { *error = sys_error("stage: open " + agent_path); return std::nullopt; }
    auto hash = policy::sha256_fd(src.get());
    if (!hash) { *error = sys_error("stage: read " + agent_path); return std::nullopt; }
    const std::string name = name_for(*hash, agent_path);
    const std::string root = proc_root + "/" + std::to_string(pid) + "/root";

    // /proc/PID/root is a magic link into the target's root; below it nothing is followed.
    Fd rootfd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd.ok()) { *error = sys_error("stage: open " + root); return std::nullopt; }
    Fd dir(openat(rootfd.get(), "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.ok()) {
        *error = sys_error("stage: the target's /tmp is not a plain directory");
        return std::nullopt;
    }
    StagedAgent out{"/tmp/" + name, root + "/tmp/" + name, true, false};
    if (existing_copy_ok(dir.get(), name, euid, *hash)) {
        out.reused = true;
        return out;
    }

    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd) rnd = static_cast<uint64_t>(getpid()) << 32 ^ time(nullptr);
    char tmpname[96];
    std::snprintf(tmpname, sizeof tmpname, ".jvmwatch-stage-%016llx.tmp",
                  static_cast<unsigned long long>(rnd));
    Fd dst(openat(dir.get(), tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
    if (!dst.ok()) { *error = sys_error("stage: create /tmp/" + std::string(tmpname) + " in the target"); return std::nullopt; }
    auto cleanup = [&] { unlinkat(dir.get(), tmpname, 0); };
    auto written = copy_hashed(src.get(), dst.get());
    if (!written) { *error = sys_error("stage: copy"); cleanup(); return std::nullopt; }
    if (*written != *hash) {
        *error = "stage: " + agent_path + " changed while being copied";
        cleanup();
        return std::nullopt;
    }
    if (fchown(dst.get(), euid, egid) != 0 || fchmod(dst.get(), 0444) != 0 || fsync(dst.get()) != 0) {
        *error = sys_error("stage: chown/chmod/fsync the copy");
        cleanup();
        return std::nullopt;
    }
    if (renameat(dir.get(), tmpname, dir.get(), name.c_str()) != 0) {
        *error = sys_error("stage: rename into /tmp/" + name);
        cleanup();
        return std::nullopt;
    }
    fsync(dir.get());
    return out;
}

}  // namespace jvmwatch::inject
