// One request of the local API (docs/api.md): a JSON object on one line.
//   {"request":"ps"}
//   {"request":"status"}
//   {"request":"events","type":"jvm.start","pid":1234,"since":"5m","follow":true}
// Anything else gets one error reply ({"error":"..."}) and the connection is closed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "userspace/api/api_state.h"

namespace jvmwatch::api {

constexpr size_t kMaxRequestBytes = 4096;   // one request line, without its newline

struct Request {
    enum class Kind { ps, status, events } kind = Kind::ps;
    EventFilter filter;      // events
    bool follow = false;     // events: keep streaming new ones
};

// Parses one request line (no newline).  nullopt and *error (one line) when malformed.
std::optional<Request> parse_request(std::string_view line, int64_t now_realtime_ns, std::string* error);

// The reply line for an error, without its newline.
std::string error_reply(const std::string& message);

}  // namespace jvmwatch::api
