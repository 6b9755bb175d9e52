// Reassembles what an attach client wrote on a .java_pid socket (possibly split over
// many writes) into the request: protocol v1 `1\0op\0a\0b\0c\0`, or v2
// `2\0<size>\0op[ opts]\0(arg\0)*`.  And the reply's first line, the result code.
// Buffers are bounded; anything beyond is counted as truncated.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jvmwatch::daemon {

struct AttachRequest {
    int protocol = 0;                 // 1 or 2; 0 if not recognised
    std::string operation;
    std::string options;              // v2 "opt=val,..." after the op name
    std::vector<std::string> args;
    bool complete = false;            // every byte the protocol announces was seen
};

class RequestAssembler {
public:
    static constexpr size_t kMaxBytes = 8192;
    // Appends one chunk; `moved` is how many bytes the syscall transferred (a chunk
    // shorter than that was cut by the kernel's capture limit).
    void add(std::string_view chunk, size_t moved);
    bool empty() const { return buf_.empty(); }
    bool truncated() const { return truncated_; }
    AttachRequest parse() const { return parse_request(buf_); }
    static AttachRequest parse_request(std::string_view bytes);
private:
    std::string buf_;
    bool truncated_ = false;
};

class ReplyAssembler {
public:
    static constexpr size_t kMaxBytes = 1024;
    void add(std::string_view chunk);
    bool empty() const { return buf_.empty(); }
    // The decimal result code of the first line, once the line is complete (or, at
    // close, whatever digits arrived).
    std::optional<int> result_code(bool at_end) const;
    // Text after the first line, cut to `max` bytes (e.g. "return code: 0").
    std::string detail(size_t max = 256) const;
private:
    std::string buf_;
};

}  // namespace jvmwatch::daemon
