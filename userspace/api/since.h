// `--since` for `jvmwatch events` and the API's `events` request: a duration back from
// now ("30s", "5m", "2h", "1d", "250ms") or an RFC 3339 time ("2026-12-02T22:00:00Z",
// "2026-12-02T22:00:00.5+01:00").  Also parses the stream's own "time" field.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace jvmwatch::api {

// Nanoseconds since the epoch; nullopt when malformed or out of range.
std::optional<int64_t> parse_rfc3339_ns(std::string_view text);
// A duration in nanoseconds ("30s", "5m", "2h", "1d", "250ms"); nullopt when malformed.
std::optional<int64_t> parse_duration_ns(std::string_view text);
// A point in time: now - duration, or an RFC 3339 time.
std::optional<int64_t> parse_since(std::string_view text, int64_t now_ns);

}  // namespace jvmwatch::api
