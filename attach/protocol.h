// The HotSpot attach wire protocol: request encoding (v1, v2), limits, and turning a
// reply into a typed outcome.  Pure functions; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "jvmwatch/attach.h"

namespace jvmwatch::attach::protocol {

// Limits the JVM enforces on v1 requests (it closes the connection without a reply).
constexpr size_t kV1MaxOp = 16;
constexpr size_t kV1MaxArg = 1024;
constexpr size_t kV1MaxArgs = 3;
constexpr size_t kV2MaxBody = 256 * 1024;

// "" if the request fits v1, else one line naming the limit it breaks.
std::string v1_limit_error(const Request& r);
// "" if the request fits v2.
std::string v2_limit_error(const Request& r);

// `1\0op\0a0\0a1\0a2\0` (always three args).  Precondition: v1_limit_error(r) == "".
std::string encode_v1(const Request& r);
// `2\0<size>\0op\0args...` where size counts the bytes after its own NUL.
std::string encode_v2(const Request& r);

// The negotiation request: v1 `getversion options`.
Request getversion_request();
// What a getversion reply says: 1 (error reply: v1 only), or 2; *streaming set for
// "2 streaming".  nullopt for a malformed reply.
std::optional<int> parse_getversion(std::string_view reply, bool* streaming);

// Incremental reply reader: feed bytes as they arrive; the result code line is parsed
// as soon as it is complete, and output after it is handed out as it streams in
// (except for `load`, whose short output is kept to find the agent's return code).
class ReplyParser {
public:
    // Keeps at most keep_max output bytes (Result::output; the rest is only streamed).
    explicit ReplyParser(std::string op, size_t keep_max = size_t(1) << 20)
        : op_(std::move(op)), keep_max_(keep_max) {}
    // Returns the part of `data` that is output (after the code line), possibly empty.
    std::string_view feed(std::string_view data);
    bool have_code() const { return code_.has_value(); }
    // More output arrived than keep_max (the kept output is full).
    bool truncated() const { return truncated_; }
    // Classifies the complete reply (call at EOF).  Fills outcome, jvm_code,
    // agent_code, detail; output is what was fed after the code line.
    void finish(Result* r) const;
private:
    std::string op_;
    std::string head_;          // bytes before the first '\n'
    std::optional<int> code_;
    bool bad_code_ = false;
    size_t keep_max_;
    std::string output_;        // output, up to keep_max_ bytes
    bool truncated_ = false;
};

// Convenience for tests: the whole reply at once.
Result parse_reply(const std::string& op, std::string_view reply);

}  // namespace jvmwatch::attach::protocol
