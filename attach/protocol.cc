// Attach wire protocol.  Reply shapes observed on OpenJDK 17.0.15 and Temurin 25:
//   "0\n<output>"                       success (v1 and v2, streaming or not)
//   "-1\nOperation X not recognized!"  unknown op
//   "-1\n<text>"                        jcmd/setflag/load-of-missing-library errors
//   "0\nreturn code: N\n"               load, JDK 9-20 (JDK 21+ when loading happened)
//   "0\nN"                              load, JDK 8
//   "0\nDynamic agent loading is not enabled..."   load, JDK 21+ with the policy off
//   "101\n"                             unsupported protocol version
//   ""                                  malformed/oversize request: closed, no reply
#include "attach/protocol.h"

#include <algorithm>
#include <charconv>

namespace jvmwatch::attach::protocol {

namespace {

std::optional<int> parse_int(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\n')) s.remove_suffix(1);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// libinstrument's codes (InvocationAdapter.c) for `load instrument`.
std::string agent_code_meaning(int code) {
    switch (code) {
        case 100: return " (agent jar missing, unreadable or without Agent-Class)";
        case 101: return " (agent jar not on the class path)";
        case 102: return " (the agent's agentmain threw)";
    }
    return "";
}

std::string first_line(std::string_view s) {
    while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
    auto nl = s.find('\n');
    return std::string(s.substr(0, nl));
}

}  // namespace

std::string v1_limit_error(const Request& r) {
    if (r.op.empty()) return "empty operation name";
    if (r.op.size() > kV1MaxOp)
        return "operation name '" + r.op + "' is " + std::to_string(r.op.size()) +
               " characters; protocol v1 allows at most " + std::to_string(kV1MaxOp);
    if (r.args.size() > kV1MaxArgs)
        return std::to_string(r.args.size()) + " arguments; protocol v1 allows at most " +
               std::to_string(kV1MaxArgs);
    for (size_t i = 0; i < r.args.size(); ++i)
        if (r.args[i].size() > kV1MaxArg)
            return "argument " + std::to_string(i + 1) + " is " + std::to_string(r.args[i].size()) +
                   " characters; protocol v1 allows at most " + std::to_string(kV1MaxArg);
    return "";
}

std::string v2_limit_error(const Request& r) {
    if (r.op.empty()) return "empty operation name";
    size_t body = r.op.size() + 1;
    for (auto& a : r.args) body += a.size() + 1;
    if (body > kV2MaxBody)
        return "request is " + std::to_string(body) + " bytes; protocol v2 allows at most " +
               std::to_string(kV2MaxBody);
    return "";
}

std::string encode_v1(const Request& r) {
    std::string out = "1";
    out += '\0';
    out += r.op;
    out += '\0';
    for (size_t i = 0; i < kV1MaxArgs; ++i) {
        if (i < r.args.size()) out += r.args[i];
        out += '\0';
    }
    return out;
}

std::string encode_v2(const Request& r) {
    std::string body = r.op;
    body += '\0';
    for (auto& a : r.args) {
        body += a;
        body += '\0';
    }
    std::string out = "2";
    out += '\0';
    out += std::to_string(body.size());
    out += '\0';
    return out + body;
}

Request getversion_request() { return {"getversion", {"options"}}; }

std::optional<int> parse_getversion(std::string_view reply, bool* streaming) {
    *streaming = false;
    auto nl = reply.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    auto code = parse_int(reply.substr(0, nl));
    if (!code) return std::nullopt;
    if (*code != 0) return 1;  // "Operation getversion not recognized!": v1 only
    std::string line = first_line(reply.substr(nl + 1));
    auto sp = line.find(' ');
    auto version = parse_int(std::string_view(line).substr(0, sp));
    if (!version) return std::nullopt;
    if (sp != std::string::npos && line.find("streaming", sp) != std::string::npos) *streaming = true;
    return *version;
}

std::string_view ReplyParser::feed(std::string_view data) {
    if (!code_ && !bad_code_) {
        auto nl = data.find('\n');
        if (nl == std::string_view::npos) {
            head_.append(data);
            if (head_.size() > 32) bad_code_ = true;  // no number is that long
            return {};
        }
        head_.append(data.substr(0, nl));
        // The same bound whether the line came in one read or many.
        if (head_.size() <= 32) code_ = parse_int(head_);
        if (!code_) bad_code_ = true;
        data.remove_prefix(nl + 1);
    }
    if (bad_code_) return {};
    size_t room = keep_max_ - std::min(keep_max_, output_.size());
    if (data.size() > room) truncated_ = true;
    output_.append(data.substr(0, room));
    return data;
}

void ReplyParser::finish(Result* r) const {
    r->output = output_;
    r->output_truncated = truncated_;
    if (!code_) {
        r->outcome = Outcome::protocol_error;
        if (head_.empty())
            r->detail = "the JVM closed the connection without a reply (request rejected)";
        else if (bad_code_)
            r->detail = "malformed reply: first line is not a result code";
        else
            r->detail = "truncated reply: no complete result line";
        return;
    }
    r->jvm_code = *code_;
    if (*code_ == 101) {
        r->outcome = Outcome::protocol_error;
        r->detail = "the JVM does not support this protocol version (reply 101)";
        return;
    }
    if (*code_ != 0) {
        r->outcome = Outcome::jvm_error;
        r->detail = "the JVM returned " + std::to_string(*code_) + ": " + first_line(output_);
        return;
    }
    if (op_ != "load") {
        r->outcome = Outcome::ok;
        return;
    }
    // load: the agent's result follows the 0.
    std::string line = first_line(output_);
    constexpr std::string_view rc = "return code: ";
    std::optional<int> agent;
    if (line.rfind(rc, 0) == 0) agent = parse_int(std::string_view(line).substr(rc.size()));
    else agent = parse_int(line);  // JDK 8: bare number
    if (agent) {
        r->agent_code = *agent;
        if (*agent == 0) {
            r->outcome = Outcome::ok;
        } else {
            r->outcome = Outcome::agent_error;
            r->detail = "the agent failed to load: return code " + std::to_string(*agent) +
                        agent_code_meaning(*agent);
        }
        return;
    }
    if (line.find("Dynamic agent loading is not enabled") != std::string::npos) {
        r->outcome = Outcome::dynamic_loading_disabled;
        r->detail = line;
        return;
    }
    if (line.empty()) {
        r->outcome = Outcome::ok;  // JDK 8 loads of some natives reply with "0" alone
        return;
    }
    // JDK 21+ error text after a 0 (e.g. an exception message while streaming).
    r->outcome = Outcome::agent_error;
    r->detail = "the agent failed to load: " + line;
}

Result parse_reply(const std::string& op, std::string_view reply) {
    ReplyParser p(op);
    p.feed(reply);
    Result r;
    p.finish(&r);
    return r;
}

}  // namespace jvmwatch::attach::protocol
