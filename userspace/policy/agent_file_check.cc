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
            int fd = openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            int e = errno;
            close(dir);
            errno = e;
            if (fd < 0) {
                if (errno == ELOOP) return "agent file " + path + " is a symlink";
                if (errno == ENOENT) return "agent file " + path + " does not exist";
                return err("open agent file " + path);
            }
            *out_fd = fd;
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

std::optional<std::string> check_agent_file(const std::string& path,
                                            const std::optional<std::string>& pin,
                                            uid_t trusted) {
    if (path.empty() || path[0] != '/') return "agent path \"" + path + "\" is not absolute";
    int fd = -1;
    if (auto e = check_dirs_and_open(path, trusted, &fd)) return e;
    struct stat st;
    std::optional<std::string> problem;
    if (fstat(fd, &st) != 0) {
        problem = err("stat " + path);
    } else if (!S_ISREG(st.st_mode)) {
        problem = "agent file " + path + " is not a regular file";
    } else if (st.st_uid != trusted) {
        problem = "agent file " + path + " is owned by uid " + std::to_string(st.st_uid) +
                  ", not " + std::to_string(trusted);
    } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        problem = "agent file " + path + " is writable by group or others (mode " +
                  mode_str(st.st_mode) + ")";
    } else if (pin) {
        auto h = sha256_fd(fd);
        if (!h) problem = err("read " + path);
        else if (*h != *pin)
            problem = "agent file " + path + " has sha256 " + *h + ", the rule pins " + *pin;
    }
    close(fd);
    return problem;
}

}  // namespace jvmwatch::policy
