// One audit event as one line of JSON.  Strings come from other users' processes (args,
// thread names, request bytes): invalid UTF-8 is replaced by U+FFFD instead of throwing,
// and control characters are escaped, so the line never holds a raw newline.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace jvmwatch::audit {

// The event without a trailing newline.
std::string to_json_line(const nlohmann::json& event);

}  // namespace jvmwatch::audit
