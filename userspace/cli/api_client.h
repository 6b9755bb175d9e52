// The CLI's side of the local API (docs/api.md): connect to the daemon's socket, send
// one request line, read JSON-lines replies.  Used by `ps`, `events` and `status`.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "attach/safe_fs.h"

namespace jvmwatch::cli {

constexpr const char* kDefaultApiSocket = "/run/jvmwatch/api.sock";

// Where the socket is: --socket, else $JVMWATCH_API_SOCKET, else the default.
std::string api_socket_path(const std::string& from_option);

class ApiClient {
public:
    enum class Connect { ok, no_daemon, permission_denied, error };
    // ENOENT/ECONNREFUSED (no socket, nobody listening) is no_daemon; EACCES/EPERM
    // (the 0700 directory, the 0600 socket) is permission_denied.
    Connect connect(const std::string& path, std::string* error);
    bool send_request(const nlohmann::json& request, std::string* error);
    // Calls on_line for each reply line, parsed, until it returns false, the daemon
    // closes, or nothing arrives within `timeout` (0 = wait forever).  false and *error
    // when a line is not a JSON object, too long, or on a read error / timeout.
    bool read_lines(const std::function<bool(const nlohmann::json&)>& on_line,
                    std::chrono::milliseconds timeout, std::string* error);

private:
    safefs::UniqueFd fd_;
};

}  // namespace jvmwatch::cli
