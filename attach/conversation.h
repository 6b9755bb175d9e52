// Talking to a listener whose socket exists: protocol negotiation, one request, the
// reply parsed into a Result.  Knows nothing about processes or signals, so unit tests
// drive it against a simulated listener.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "attach/exchange.h"
#include "jvmwatch/attach.h"

namespace jvmwatch::attach {

class Conversation {
public:
    struct Params {
        int protocol_option = 0;  // Options::protocol: 0 auto, 1 or 2 forced
        int64_t deadline_ns = 0;  // io::now_ns() clock
        int watch_fd = -1;        // pidfd of the target, or -1
        long timeout_ms = 0;      // for messages
        size_t max_output = size_t(1) << 20;  // Options::max_output (without on_output)
        std::function<void(std::string_view)> on_output;
        std::function<void(const std::string&)> log;
    };
    Conversation(const io::Route& route, Params p) : route_(route), p_(std::move(p)) {}

    // Sends `req`: v1 if it fits (unless forced), else v2 after `getversion options`.
    // Fills r->outcome/detail/jvm_code/agent_code/output/protocol.  Returns false when
    // there was no listener (socket missing, or stale: ECONNREFUSED); *stale tells which.
    bool talk(const Request& req, Result* r, bool* stale);

private:
    struct Sent {
        Outcome outcome = Outcome::ok;
        bool missing = false;
        bool stale = false;
    };
    Sent send(const Request& req, int version, std::string* raw, Result* r);
    Outcome map_status(const io::Exchanged& x, const std::string& what, Result* r) const;

    const io::Route& route_;
    Params p_;
};

}  // namespace jvmwatch::attach
