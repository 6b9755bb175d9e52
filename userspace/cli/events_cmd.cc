// `jvmwatch events [--follow] [--type T] [--pid N] [--since S] [--json]`: recent events
// from the daemon's ring (the local API, docs/api.md), then, with --follow, new ones as
// they happen until Ctrl-C or a closed pipe.  One text line per event by default
// (audit::to_text_line, which escapes every field), the events' JSON lines with --json.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "userspace/api/since.h"
#include "userspace/audit/text_line.h"
#include "userspace/audit/wall_clock.h"
#include "userspace/cli/api_call.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/printable.h"

namespace jvmwatch::cli {

namespace {

constexpr const char* kUsageText =
    "Usage: jvmwatch events [--follow] [--type T] [--pid N] [--since S] [--json] [--socket PATH]\n"
    "Shows recent events from the running jvmwatchd (a bounded ring in the daemon; root only),\n"
    "one line each (time, type, attacher -> target, what, outcome).\n"
    "\n"
    "  -f, --follow   then keep showing new events until Ctrl-C\n"
    "  --type T       only events of type T (jvm.start, jvm.exit, attach, thread_dump_request,\n"
    "                 stats, daemon.start, inject.ok, ...); a prefix ending in '.' (inject.) matches all\n"
    "  --pid N        only events about process N (the JVM, the target or the attacher)\n"
    "  --since S      only events at or after S: a duration back from now (30s, 5m, 2h, 1d)\n"
    "                 or an RFC 3339 time (2026-12-02T22:00:00Z)\n"
    "  --json         the events as JSON lines (docs/events.md) instead of text\n"
    "  --socket PATH  the daemon's API socket (default $JVMWATCH_API_SOCKET or /run/jvmwatch/api.sock)\n"
    "\n"
    "Exit codes: 0 ok, 2 usage, 8 permission denied (not root), 13 system error,\n"
    "  14 no daemon answers, 15 malformed reply or the daemon stopped while following\n";

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "jvmwatch: events: %s (try --help)\n", printable(msg).c_str());
    return kUsage;
}

}  // namespace

int cmd_events(int argc, char** argv) {
    nlohmann::json req = {{"request", "events"}};
    bool as_json = false, follow = false;
    std::string socket;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) return nullptr;
            (void)name;
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::printf("%s", kUsageText);
            return kOk;
        } else if (a == "--json") {
            as_json = true;
        } else if (a == "-f" || a == "--follow") {
            follow = true;
        } else if (a == "--type") {
            const char* v = value("--type");
            if (!v || !*v || std::strlen(v) > 64) return usage_error("--type: expected an event type");
            req["type"] = v;
        } else if (a == "--pid") {
            const char* v = value("--pid");
            char* end = nullptr;
            long long p = v ? std::strtoll(v, &end, 10) : 0;
            if (!v || !*v || *end || p <= 0 || p > 2147483647) return usage_error("--pid: expected a positive process id");
            req["pid"] = p;
        } else if (a == "--since") {
            const char* v = value("--since");
            if (!v || !api::parse_since(v, audit::realtime_now_ns()))
                return usage_error("--since: expected a duration (30s, 5m, 2h, 1d) or an RFC 3339 time");
            req["since"] = v;
        } else if (a == "--socket") {
            const char* v = value("--socket");
            if (!v) return usage_error("--socket: expected a path");
            socket = v;
        } else {
            return usage_error("unknown option '" + a + "'");
        }
    }
    if (follow) req["follow"] = true;
    ApiCall call;
    call.command = "events";
    call.socket = socket;
    call.request = req;
    if (follow) call.timeout = std::chrono::milliseconds(0);
    return call_api(call, [&](const nlohmann::json& line) {
        if (line.contains("end")) return false;
        if (!line.contains("type")) return true;   // a control line of a later protocol
        if (as_json) std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        else std::printf("%s\n", audit::to_text_line(line).c_str());
        if (follow) std::fflush(stdout);
        return true;
    });
}

}  // namespace jvmwatch::cli
