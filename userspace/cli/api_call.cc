#include "userspace/cli/api_call.h"

#include <cstdio>

#include "userspace/cli/api_client.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/printable.h"

namespace jvmwatch::cli {

int call_api(const ApiCall& call, const std::function<bool(const nlohmann::json&)>& on_line,
             bool* no_daemon, std::string* why) {
    const std::string path = api_socket_path(call.socket);
    auto say = [&](const std::string& msg) {
        std::fprintf(stderr, "jvmwatch: %s: %s\n", call.command.c_str(), printable(msg).c_str());
    };
    ApiClient client;
    std::string err;
    switch (client.connect(path, &err)) {
        case ApiClient::Connect::ok: break;
        case ApiClient::Connect::no_daemon:
            if (no_daemon) *no_daemon = true;
            if (why) *why = "no daemon answers on " + path + " (" + err + ")";
            if (!call.quiet_no_daemon) say("no daemon answers on " + path + " (" + err + "); is jvmwatchd running?");
            return kNoDaemon;
        case ApiClient::Connect::permission_denied:
            say("permission denied on " + path + ": the jvmwatch API serves root only");
            return kPermissionDenied;
        case ApiClient::Connect::error:
            say(path + ": " + err);
            return kSystemError;
    }
    // A refused peer is sent one error line and closed: read it even if the send failed.
    std::string send_err;
    bool sent = client.send_request(call.request, &send_err);
    int rc = kOk;
    bool ended = false;
    bool ok = client.read_lines([&](const nlohmann::json& line) {
        if (auto e = line.find("error"); e != line.end()) {
            std::string msg = e->is_string() ? e->get<std::string>() : e->dump();
            say("the daemon says: " + msg);
            rc = msg.rfind("permission denied", 0) == 0 ? kPermissionDenied : kBadReply;
            ended = true;
            return false;
        }
        if (!on_line(line)) { ended = true; return false; }
        return true;
    }, call.timeout, &err);
    if (!ok && !ended) {
        say(sent ? err : send_err);
        return kBadReply;
    }
    if (!ended) {   // the daemon closed before the reply's end (stopping)
        say("the daemon closed the connection before the end of its reply");
        return kBadReply;
    }
    return rc;
}

}  // namespace jvmwatch::cli
