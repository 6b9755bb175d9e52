// One audit event as one short line for a person (`jvmwatchd --output text`, later
// `jvmwatch events`):
//
//   14:31:58.481 attach         jattach[3491] root -> java[3374] root jw.daemon.Idle  load instrument false /x.jar  => replied rc=0 (close, 0.95 ms)
//
// time of day (local, milliseconds), type, then who -> which JVM, what, and the outcome.
// Every string in the event may come from another user's process (comm, args, paths,
// replies): each goes through cli::printable (control characters escaped, invalid UTF-8
// replaced), so no field can end the line or send a terminal escape.  Each field has a
// cap and the whole line a bound; whatever is cut ends in "…".  The JSON form stays the
// complete record; this one is for reading.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace jvmwatch::audit {

struct TextLineOptions {
    size_t max_bytes = 400;   // the whole line without its newline (at least 64)
    bool utc = false;         // time of day in UTC instead of the local time zone
};

// The line without a trailing newline.  Never throws: missing or mistyped fields show
// as "?", an unknown event type as its name and field count.
std::string to_text_line(const nlohmann::json& event, const TextLineOptions& opts = {});

}  // namespace jvmwatch::audit
