// The local API's socket and thread (docs/api.md).  A unix stream socket, mode 0600,
// in a directory the daemon owns (created 0700; refused if it is a symlink, owned by
// another user or writable by group/others).  Only uid 0 is served (SO_PEERCRED): any
// other peer gets one error line and is closed.  One thread polls everything: the
// listening socket, the clients and the feed from the sink (api_feed.h), which it
// applies to the state (api_state.h).  Bounded: at most `max_clients` at once, a
// request line of at most kMaxRequestBytes, a client that sends no request within
// `request_timeout_ms` or does not read what it is sent for `write_timeout_ms` is
// dropped; replies are produced as the client reads, so a slow reader holds at most
// ~256 KiB here and never blocks the daemon.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "attach/safe_fs.h"
#include "userspace/api/api_feed.h"
#include "userspace/api/api_state.h"

namespace jvmwatch::api {

struct ServerOptions {
    std::string socket_path = "/run/jvmwatch/api.sock";
    size_t max_clients = 16;
    unsigned request_timeout_ms = 5000;
    unsigned write_timeout_ms = 5000;
};

class ApiServer {
public:
    ApiServer(ServerOptions opts, StateLimits limits);
    ~ApiServer();   // stop()

    // The feed the sink's writer offers its batches to (valid for the server's life).
    ApiFeed& feed() { return feed_; }
    // Creates the directory and socket and starts the thread; false and *error (one line).
    // *in_use is set when another live process already serves the path (left alone).
    bool start(std::string* error, bool* in_use = nullptr);
    // Stops the thread, closes every client, removes the socket.  Idempotent.
    void stop();

private:
    void run();
    ServerOptions opts_;
    StateLimits limits_;
    ApiFeed feed_;
    safefs::UniqueFd listen_, stop_;
    std::thread thread_;
    bool bound_ = false;
};

// Makes `dir` (mode 0700) or checks an existing one; "" when usable, else why not.
std::string prepare_socket_dir(const std::string& dir);

}  // namespace jvmwatch::api
