// Raw observer events as JSON lines and back: `jvmwatchd --record-raw FILE` writes what
// the kernel sent, and the unit tests replay such recordings (tests/fixtures/events/)
// through the same decoder and correlator.  One object per event: "kind" (exec, exit,
// thread_name, sigquit, connect, trigger, sock_write, sock_read, sock_close, identity), the
// header fields, then the kind's own fields; strings as JSON strings (request bytes
// with their NULs escaped as \u0000).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jvmwatch/events.h"

namespace jvmwatch::daemon {

// nullopt if the decoder refuses the record (too short, unknown type, bad field).
std::optional<nlohmann::json> raw_event_to_json(const void* data, size_t size);
// The raw bytes of the event (sizeof its struct); nullopt and *error if a field is
// missing or of the wrong type.
std::optional<std::vector<uint8_t>> raw_event_from_json(const nlohmann::json& j, std::string* error);

}  // namespace jvmwatch::daemon
