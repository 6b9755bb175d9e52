// The audit stream's output: stdout, or an append-only file (O_APPEND|O_CLOEXEC, mode
// 0640, opened by open_own_file(): no symlink, FIFO, device or foreign file) rotated by
// size: PATH -> PATH.1 -> ... -> PATH.<keep>, the oldest dropped; the new PATH is
// opened under the same rules.
// Used by one thread (the sink's writer).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace jvmwatch::audit {

struct LogFileOptions {
    std::string path;             // "" or "-" = stdout
    uint64_t rotate_bytes = 0;    // 0 = never rotate
    unsigned rotate_keep = 5;     // rotated files kept (>= 1)
};

class LogFile {
public:
    explicit LogFile(LogFileOptions opts) : opts_(std::move(opts)) {}
    ~LogFile();
    LogFile(const LogFile&) = delete;
    LogFile& operator=(const LogFile&) = delete;

    // Opens (creates) the file; false and *error (one line) on failure.
    bool open(std::string* error);
    // Appends whole lines; rotates first when they would push the file past the limit.
    bool write(std::string_view lines, std::string* error);
    // fsync for a file; a no-op for stdout pipes and terminals.
    bool sync(std::string* error);
    uint64_t size() const { return size_; }
    uint64_t rotations() const { return rotations_; }
    bool is_stdout() const { return opts_.path.empty() || opts_.path == "-"; }

private:
    bool rotate(std::string* error);
    LogFileOptions opts_;
    int fd_ = -1;
    uint64_t size_ = 0;
    uint64_t rotations_ = 0;
};

}  // namespace jvmwatch::audit
