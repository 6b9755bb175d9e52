#include "userspace/policy/agent_file_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "userspace/policy/sha256.h"

namespace jvmwatch::policy {

namespace {
std::string err(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string mode_str(mode_t m) {
    char b[8];
    std::snprintf(b, sizeof b, "%04o", m & 07777);
    return b;
}

// Walks the path component by component with O_NOFOLLOW, so no symlink is trusted and the
// checks apply to the very inodes the final open goes through.
std::optional<std::string> check_dirs_and_open(const std::string& path, uid_t trusted,
                                               int* out_fd) {
    int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return err("open /");
    size_t pos = 1;
    std::string so_far;
    for (;;) {
        struct stat st;
        if (fstat(dir, &st) != 0) { close(dir); return err("stat " + (so_far.empty() ? "/" : so_far)); }
        std::string shown = so_far.empty() ? "/" : so_far;
        if (st.st_uid != trusted && st.st_uid != 0) {
            close(dir);
            return "directory " + shown + " is owned by uid " + std::to_string(st.st_uid) +
                   ", not root";
        }
        bool sticky = st.st_mode & S_ISVTX;
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky) {
            close(dir);
            return "directory " + shown + " is writable by group or others (mode " +
                   mode_str(st.st_mode) + ")";
        }
        size_t slash = path.find('/', pos);
        std::string name = path.substr(pos, slash == std::string::npos ? std::string::npos
                                                                       : slash - pos);
        if (name.empty() || name == "." || name == "..") {
            close(dir);
            return "path must be absolute and normalized";
        }
        so_far += "/" + name;
        if (slash == std::string::npos) {
            // O_PATH first: a device's open() must not run, a FIFO must not block.
            safefs::Failure f;
            safefs::Expect any;
            any.kinds = safefs::Kind::regular | safefs::Kind::directory | safefs::Kind::socket;
            struct stat st;
            safefs::UniqueFd p = safefs::open_path(dir, name, safefs::Resolve::no_symlinks, any, &st, &f);
            close(dir);
            if (!p) {
                // A last component that is a link comes back as the link itself (O_NOFOLLOW).
                if (f.err == ELOOP || (f.err == 0 && f.why.find(" is a symlink") != std::string::npos))
                    return "agent file " + path + " is a symlink";
                if (f.err == ENOENT) return "agent file " + path + " does not exist";
                if (f.err == 0) return "agent file " + path + " is not a regular file";
                errno = f.err;
                return err("open agent file " + path);
            }
            if (!S_ISREG(st.st_mode)) return "agent file " + path + " is not a regular file";
            *out_fd = p.release();
            return std::nullopt;
        }
        int next = openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(dir);
        errno = e;
        if (next < 0) {
            if (errno == ENOENT) return "agent file " + path + " does not exist (no " + so_far + ")";
            if (errno == ELOOP || errno == ENOTDIR)
                return "path component " + so_far + " is a symlink or not a directory";
            return err("open " + so_far);
        }
        dir = next;
        pos = slash + 1;
    }
}
}  // namespace

std::optional<AgentSource> open_agent_source(const std::string& path,
                                             const std::optional<std::string>& pin,
                                             uid_t trusted, std::string* problem,
                                             uint64_t max_bytes) {
    if (path.empty() || path[0] != '/') {
        *problem = "agent path \"" + path + "\" is not absolute";
        return std::nullopt;
    }
    int raw = -1;
    if (auto e = check_dirs_and_open(path, trusted, &raw)) { *problem = *e; return std::nullopt; }
    safefs::UniqueFd opath(raw);
    struct stat st;
    if (fstat(opath.get(), &st) != 0) { *problem = err("stat " + path); return std::nullopt; }
    if (st.st_uid != trusted) {
        *problem = "agent file " + path + " is owned by uid " + std::to_string(st.st_uid) +
                   ", not " + std::to_string(trusted);
        return std::nullopt;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        *problem = "agent file " + path + " is writable by group or others (mode " +
                   mode_str(st.st_mode) + ")";
        return std::nullopt;
    }
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
        *problem = "agent file " + path + " is larger than " + std::to_string(max_bytes) + " bytes";
        return std::nullopt;
    }
    safefs::Failure f;
    AgentSource src;
    src.fd = safefs::reopen_for_read(opath.get(), &f);
    if (!src.fd) { *problem = "open agent file " + path + ": " + f.why; return std::nullopt; }
    bool too_big = false;
    auto h = sha256_fd(src.fd.get(), max_bytes, &too_big);
    if (!h) {
        *problem = too_big ? "agent file " + path + " is larger than " + std::to_string(max_bytes) + " bytes"
                           : err("read " + path);
        return std::nullopt;
    }
    if (pin && *h != *pin) {
        *problem = "agent file " + path + " has sha256 " + *h + ", the rule pins " + *pin;
        return std::nullopt;
    }
    struct stat after;
    if (fstat(src.fd.get(), &after) != 0) { *problem = err("stat " + path); return std::nullopt; }
    src.size = static_cast<uint64_t>(after.st_size);
    src.sha256 = *h;
    return src;
}

std::optional<std::string> check_agent_file(const std::string& path,
                                            const std::optional<std::string>& pin,
                                            uid_t trusted, std::string* sha256) {
    std::string problem;
    auto src = open_agent_source(path, pin, trusted, &problem);
    if (!src) return problem;
    if (sha256) *sha256 = src->sha256;
    return std::nullopt;
}

}  // namespace jvmwatch::policy
