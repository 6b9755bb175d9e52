// One request to the daemon's API for a CLI command, with the failures every command
// reports the same way: one line on stderr naming the cause and the exit code of
// commands.h (no daemon 14, permission denied 8, malformed reply 15).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace jvmwatch::cli {

struct ApiCall {
    std::string command;        // "ps", "events", "status" (for the error line)
    std::string socket;         // from --socket ("" = default)
    nlohmann::json request;
    std::chrono::milliseconds timeout{10000};   // 0 = wait forever (follow)
    bool quiet_no_daemon = false;   // ps: the caller falls back and says so itself
};

// Runs the call; on_line gets each reply line that is not an error; returns an exit
// code (kOk when the daemon answered and on_line ended it or the daemon closed).
// *no_daemon is set when nobody answers (no socket, refused).
int call_api(const ApiCall& call, const std::function<bool(const nlohmann::json&)>& on_line,
             bool* no_daemon = nullptr, std::string* why = nullptr);

}  // namespace jvmwatch::cli
