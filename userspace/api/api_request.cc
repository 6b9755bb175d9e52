#include "userspace/api/api_request.h"

#include <nlohmann/json.hpp>

#include "userspace/api/since.h"

namespace jvmwatch::api {

std::optional<Request> parse_request(std::string_view line, int64_t now_ns, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<Request> {
        if (error) *error = why;
        return std::nullopt;
    };
    if (line.size() > kMaxRequestBytes)
        return fail("request longer than " + std::to_string(kMaxRequestBytes) + " bytes");
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("request is not a JSON object");
    Request r;
    auto req = j.find("request");
    if (req == j.end() || !req->is_string()) return fail("request: missing \"request\" (ps, events or status)");
    const std::string& name = req->get_ref<const std::string&>();
    if (name == "ps") r.kind = Request::Kind::ps;
    else if (name == "status") r.kind = Request::Kind::status;
    else if (name == "events") r.kind = Request::Kind::events;
    else return fail("unknown request (expected ps, events or status)");
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& k = it.key();
        const auto& v = it.value();
        if (k == "request") continue;
        if (r.kind != Request::Kind::events) return fail("unknown field \"" + k.substr(0, 32) + "\" for " + name);
        if (k == "type") {
            if (!v.is_string() || v.get_ref<const std::string&>().size() > 64)
                return fail("type: expected an event type such as jvm.start");
            r.filter.type = v.get<std::string>();
        } else if (k == "pid") {
            if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > INT32_MAX)
                return fail("pid: expected a positive integer");
            r.filter.pid = static_cast<pid_t>(v.get<int64_t>());
        } else if (k == "since") {
            if (!v.is_string()) return fail("since: expected a duration (5m) or an RFC 3339 time");
            auto t = parse_since(v.get<std::string>(), now_ns);
            if (!t) return fail("since: expected a duration (30s, 5m, 2h, 1d) or an RFC 3339 time");
            r.filter.since_ns = *t;
        } else if (k == "follow") {
            if (!v.is_boolean()) return fail("follow: expected true or false");
            r.follow = v.get<bool>();
        } else {
            return fail("unknown field \"" + k.substr(0, 32) + "\" for events");
        }
    }
    return r;
}

std::string error_reply(const std::string& message) {
    return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace jvmwatch::api
