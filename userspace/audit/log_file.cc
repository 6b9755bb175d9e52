#include "userspace/audit/log_file.h"
#include "userspace/audit/own_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace jvmwatch::audit {

namespace {
std::string err_line(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}
}  // namespace

LogFile::~LogFile() {
    if (fd_ >= 0 && !is_stdout()) close(fd_);
}

bool LogFile::open(std::string* error) {
    if (is_stdout()) {
        fd_ = STDOUT_FILENO;
        return true;
    }
    std::string why;
    fd_ = open_own_file(opts_.path, 0640, "audit log", &why).release();
    if (fd_ < 0) {
        if (error) *error = why;
        return false;
    }
    struct stat st;
    size_ = fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    return true;
}

bool LogFile::rotate(std::string* error) {
    sync(nullptr);
    close(fd_);
    fd_ = -1;
    unsigned keep = opts_.rotate_keep ? opts_.rotate_keep : 1;
    // The oldest falls off; each other moves up one.
    std::string oldest = opts_.path + "." + std::to_string(keep);
    unlink(oldest.c_str());
    for (unsigned i = keep; i > 1; --i) {
        std::string from = opts_.path + "." + std::to_string(i - 1);
        std::string to = opts_.path + "." + std::to_string(i);
        rename(from.c_str(), to.c_str());
    }
    std::string first = opts_.path + ".1";
    if (rename(opts_.path.c_str(), first.c_str()) != 0 && errno != ENOENT) {
        if (error) *error = err_line("cannot rotate audit log", opts_.path);
    }
    ++rotations_;
    size_ = 0;
    return open(error);
}

bool LogFile::write(std::string_view lines, std::string* error) {
    if (fd_ < 0 && !open(error)) return false;
    if (!is_stdout() && opts_.rotate_bytes && size_ > 0 && size_ + lines.size() > opts_.rotate_bytes)
        if (!rotate(error)) return false;
    const char* p = lines.data();
    size_t left = lines.size();
    while (left) {
        ssize_t n = ::write(fd_, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (error) *error = err_line("cannot write audit log", is_stdout() ? "stdout" : opts_.path);
            return false;
        }
        p += n;
        left -= static_cast<size_t>(n);
        size_ += static_cast<uint64_t>(n);
    }
    return true;
}

bool LogFile::sync(std::string* error) {
    if (fd_ < 0) return true;
    if (fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
        if (error) *error = err_line("cannot fsync audit log", opts_.path);
        return false;
    }
    return true;
}

}  // namespace jvmwatch::audit
