#include "attach/conversation.h"

#include <algorithm>
#include <cstring>

#include "attach/protocol.h"

namespace jvmwatch::attach {

Outcome Conversation::map_status(const io::Exchanged& x, const std::string& what,
                                 Result* r) const {
    using io::XStatus;
    std::string err = x.err ? std::string(": ") + strerror(x.err) : "";
    switch (x.status) {
        case XStatus::ok:
        case XStatus::stopped:  // we stopped reading: the kept reply is complete enough
        case XStatus::no_socket:
        case XStatus::refused: return Outcome::ok;  // the caller looks at these
        case XStatus::denied:
            r->detail = "permission denied connecting to " + route_.socket_path;
            return Outcome::permission_denied;
        case XStatus::policy_denied:
            r->detail = "denied: connect to " + route_.socket_path +
                        " refused by a policy (EPERM: a jvmwatchd deny rule or another eBPF/LSM hook)";
            return Outcome::denied;
        case XStatus::untrusted_peer:
            if (x.peer.known && x.peer.pid == route_.peer.pid &&
                (x.peer.uid == route_.peer.uid || x.peer.uid == 0)) {
                r->detail = route_.socket_path + " was replaced after it was checked; nothing sent";
                return Outcome::untrusted_socket;
            }
            r->detail = "the listener on " + route_.socket_path + " is not the JVM: it runs as uid " +
                        (x.peer.known ? std::to_string(x.peer.uid) : std::string("?")) +
                        " in pid " + (x.peer.known ? std::to_string(x.peer.pid) : std::string("?")) +
                        ", the JVM is uid " + std::to_string(route_.peer.uid) + " in pid " +
                        std::to_string(route_.peer.pid) + " (SO_PEERCRED); nothing sent";
            return Outcome::untrusted_socket;
        case XStatus::setid_failed:
            r->detail = "cannot switch to the JVM's uid " + std::to_string(route_.euid) +
                        "/gid " + std::to_string(route_.egid);
            return Outcome::permission_denied;
        case XStatus::timed_out:
            r->detail = "the JVM did not answer " + what + " within " +
                        std::to_string(p_.timeout_ms) + " ms";
            return Outcome::timed_out;
        case XStatus::watch_fired:
            r->detail = "the JVM exited during " + what;
            return Outcome::target_exited;
        case XStatus::io_error:
        case XStatus::child_failed:
            r->detail = std::string(io::describe(x.status)) + err;
            return Outcome::system_error;
    }
    return Outcome::system_error;
}

// One exchange.  With `raw`, the reply bytes are returned unparsed (negotiation);
// otherwise they are parsed into *r and output streams to on_output.
Conversation::Sent Conversation::send(const Request& req, int version, std::string* raw,
                                      Result* r) {
    Sent s;
    std::string bytes = version == 2 ? protocol::encode_v2(req) : protocol::encode_v1(req);
    // Streaming: keep only what classifying the reply needs (its first lines); else keep
    // the caller's cap and stop reading there.
    constexpr size_t kKeepWhileStreaming = 4096;
    constexpr size_t kMaxRawReply = 4096;  // getversion answers in a few bytes
    protocol::ReplyParser parser(req.op, p_.on_output ? std::min(p_.max_output, kKeepWhileStreaming)
                                                      : p_.max_output);
    auto on_data = [&](std::string_view d) {
        if (raw) {
            raw->append(d.substr(0, kMaxRawReply - std::min(kMaxRawReply, raw->size())));
            return raw->size() < kMaxRawReply;
        }
        std::string_view out = parser.feed(d);
        if (p_.on_output) {
            if (!out.empty()) p_.on_output(out);
            return true;  // streamed, not kept: read on until EOF or the deadline
        }
        return !parser.truncated();
    };
    auto x = io::exchange(route_, bytes, p_.deadline_ns, p_.watch_fd, on_data);
    if (x.forked && p_.log) p_.log("exchange ran in a forked child (namespaces/credentials)");
    if (x.status == io::XStatus::no_socket || x.status == io::XStatus::refused) {
        s.missing = true;
        s.stale = x.status == io::XStatus::refused;
        return s;
    }
    s.outcome = map_status(x, req.op, r);
    if (s.outcome != Outcome::ok || raw) return s;
    parser.finish(r);
    if (p_.on_output) {
        r->output.clear();
        r->output_truncated = false;  // nothing was held back from the stream
    }
    s.outcome = r->outcome;
    if (s.outcome == Outcome::protocol_error && !r->jvm_code)
        r->detail += " (the JVM rejects oversize requests and peers without its uid/gid)";
    return s;
}

bool Conversation::talk(const Request& req, Result* r, bool* stale) {
    *stale = false;
    std::string v1err = protocol::v1_limit_error(req);
    int version = p_.protocol_option == 2 || !v1err.empty() ? 2 : 1;
    r->protocol = version;
    if (p_.protocol_option == 1 && !v1err.empty()) {
        r->outcome = Outcome::invalid_request;
        r->detail = v1err;
        return true;
    }
    if (version == 2) {
        if (auto v2err = protocol::v2_limit_error(req); !v2err.empty()) {
            r->outcome = Outcome::invalid_request;
            r->detail = v2err;
            return true;
        }
    }
    if (version == 2 && p_.protocol_option == 0) {
        std::string raw;
        Sent s = send(protocol::getversion_request(), 1, &raw, r);
        if (s.missing) {
            *stale = s.stale;
            return false;
        }
        if (s.outcome != Outcome::ok) {
            r->outcome = s.outcome;
            return true;
        }
        bool streaming = false;
        auto v = protocol::parse_getversion(raw, &streaming);
        if (!v) {
            r->outcome = Outcome::protocol_error;
            r->detail = "malformed reply to getversion: '" + raw.substr(0, 40) + "'";
            return true;
        }
        if (p_.log) p_.log("getversion: protocol " + std::to_string(*v) + (streaming ? " streaming" : ""));
        if (*v < 2) {
            r->outcome = Outcome::invalid_request;
            r->detail = v1err + ", and this JVM supports only protocol v1 (v2 needs JDK 24+)";
            return true;
        }
    }
    Sent s = send(req, version, nullptr, r);
    if (s.missing) {
        *stale = s.stale;
        return false;
    }
    r->outcome = s.outcome;
    return true;
}

}  // namespace jvmwatch::attach
