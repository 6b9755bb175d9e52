// `jvmwatch status [--json]`: the running daemon's health from its local API
// (docs/api.md): version, uptime, hooks, config and when it was loaded, drops and
// queue fill from the latest stats event, the API's own counters.
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "userspace/cli/api_call.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/printable.h"

namespace jvmwatch::cli {

namespace {

using json = nlohmann::json;

constexpr const char* kUsageText =
    "Usage: jvmwatch status [--json] [--socket PATH]\n"
    "The running jvmwatchd's health (its local API; root only): version, uptime, the hook\n"
    "per event kind, config file and when it was loaded, drops and queue fill.\n"
    "\n"
    "  --json         the daemon's status object\n"
    "  --socket PATH  the daemon's API socket (default $JVMWATCH_API_SOCKET or /run/jvmwatch/api.sock)\n"
    "\n"
    "Exit codes: 0 ok, 2 usage, 8 permission denied (not root), 13 system error,\n"
    "  14 no daemon answers, 15 malformed reply\n";

std::string text(const json& o, const char* k) {
    if (!o.is_object() || !o.contains(k)) return "?";
    const json& v = o[k];
    return printable(v.is_string() ? v.get<std::string>() : v.dump());
}

std::string counters(const json& o) {
    if (!o.is_object()) return "?";
    std::string out;
    for (const auto& [k, v] : o.items()) {
        if (!out.empty()) out += ", ";
        out += printable(k) + " " + (v.is_string() ? printable(v.get<std::string>()) : v.dump());
    }
    return out.empty() ? "-" : out;
}

std::string duration(double s) {
    long long t = static_cast<long long>(s);
    char buf[64];
    if (t >= 86400) std::snprintf(buf, sizeof buf, "%lldd %lldh %lldm", t / 86400, t % 86400 / 3600, t % 3600 / 60);
    else if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh %lldm %llds", t / 3600, t % 3600 / 60, t % 60);
    else if (t >= 60) std::snprintf(buf, sizeof buf, "%lldm %llds", t / 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%.1fs", s);
    return buf;
}

void print_status(const json& s) {
    double up = s.contains("uptime_s") && s["uptime_s"].is_number() ? s["uptime_s"].get<double>() : 0;
    std::printf("jvmwatchd %s (pid %s), up %s\n", text(s, "version").c_str(), text(s, "pid").c_str(),
                duration(up).c_str());
    std::printf("config:   %s, loaded %s\n", text(s, "config").c_str(), text(s, "config_loaded").c_str());
    std::printf("hooks:    %s\n", counters(s.value("hooks", json())).c_str());
    std::printf("jvms:     %s watched\n", text(s, "jvms").c_str());
    const json& st = s.contains("stats") ? s["stats"] : json();
    if (st.is_object()) {
        std::printf("stats at: %s\n", text(st, "time").c_str());
        std::printf("drops:    %s\n", counters(st.value("drops", json())).c_str());
        std::printf("evicted:  %s\n", counters(st.value("evictions", json())).c_str());
        const json& en = st.value("enrichment", json());
        std::printf("queues:   enrichment %s queued, %s workers\n", text(en, "queue").c_str(),
                    text(en, "workers").c_str());
    } else {
        std::printf("stats:    none yet (every audit.stats_interval_s)\n");
    }
    const json& api = s.value("api", json());
    std::printf("api:      ring %s/%s events (%s evicted, %s dropped), %s client(s), %s refused, %s dropped\n",
                text(api, "events_ring").c_str(), text(api, "events_ring_capacity").c_str(),
                text(api, "events_evicted").c_str(), text(api, "events_dropped").c_str(),
                text(api, "clients").c_str(), text(api, "clients_refused").c_str(),
                text(api, "clients_dropped").c_str());
}

}  // namespace

int cmd_status(int argc, char** argv) {
    bool as_json = false;
    std::string socket;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--json")) {
            as_json = true;
        } else if (!std::strcmp(argv[i], "--socket") && i + 1 < argc) {
            socket = argv[++i];
        } else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
            std::printf("%s", kUsageText);
            return kOk;
        } else {
            std::fprintf(stderr, "jvmwatch: status: unknown option '%s' (try --help)\n", printable(argv[i]).c_str());
            return kUsage;
        }
    }
    ApiCall call;
    call.command = "status";
    call.socket = socket;
    call.request = {{"request", "status"}};
    json status;
    int rc = call_api(call, [&](const json& line) {
        if (line.contains("status") && line["status"].is_object()) status = line["status"];
        return false;
    });
    if (rc != kOk) return rc;
    if (!status.is_object()) {
        std::fprintf(stderr, "jvmwatch: status: malformed reply from the daemon (no \"status\" object)\n");
        return kBadReply;
    }
    if (as_json) std::printf("%s\n", status.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    else print_status(status);
    return kOk;
}

}  // namespace jvmwatch::cli
