#include "userspace/audit/own_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace jvmwatch::audit {

namespace {

const char* kind_of(mode_t m) {
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISLNK(m)) return "a symlink";
    return "not a regular file";
}

// Whether what fd refers to may be written by the daemon; "" if so.
std::string refuse_reason(const struct stat& st) {
    if (!S_ISREG(st.st_mode)) return std::string("is ") + kind_of(st.st_mode);
    if (st.st_uid != geteuid())
        return "is owned by uid " + std::to_string(st.st_uid) + ", not by the daemon's user";
    if (st.st_nlink != 1) return "has " + std::to_string(st.st_nlink) + " hard links";
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return "is writable by group or others";
    return "";
}

}  // namespace

safefs::UniqueFd open_own_file(const std::string& path, mode_t mode, const std::string& what,
                               std::string* error) {
    auto fail = [&](const std::string& why) {
        if (error) *error = what + " " + path + ": " + why + "; refusing it";
        return safefs::UniqueFd();
    };
    for (int attempt = 0; attempt < 3; ++attempt) {
        // Look first, without opening it for anything (a FIFO's or device's open has
        // effects; O_PATH has none).
        safefs::UniqueFd probe(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!probe && errno != ENOENT) {
            if (errno == ELOOP) return fail("is a symlink");
            return fail(std::strerror(errno));
        }
        if (!probe) {
            safefs::UniqueFd fd(::open(path.c_str(),
                                       O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
                                           O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                                       mode));
            if (!fd && errno == EEXIST) continue;   // appeared meanwhile: look again
            if (!fd) return fail(std::strerror(errno));
            if (fchmod(fd.get(), mode) != 0) return fail(std::strerror(errno));   // umask
            return fd;
        }
        struct stat st;
        if (fstat(probe.get(), &st) != 0) return fail(std::strerror(errno));
        if (std::string why = refuse_reason(st); !why.empty()) return fail(why);
        // The same inode, re-opened through the checked fd (no second path lookup).
        std::string self = "/proc/self/fd/" + std::to_string(probe.get());
        safefs::UniqueFd fd(::open(self.c_str(), O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (!fd) return fail(std::strerror(errno));
        if (fchmod(fd.get(), mode) != 0) return fail(std::strerror(errno));
        return fd;
    }
    return fail("keeps changing while being opened");
}

}  // namespace jvmwatch::audit
