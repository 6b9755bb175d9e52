// `jvmwatch ps [--json] [--proc] [--socket PATH]`: the JVMs on this host.  The daemon's
// view first (the local API, docs/api.md: agents, injection, last attach, visibility);
// when no daemon answers, the /proc scan (pid, user, JDK, main) with one line on stderr
// saying so.  Names come from other users' processes: plain output escapes control
// characters and shows invalid UTF-8 as U+FFFD; JSON output replaces invalid UTF-8 the
// same way (as the event stream does) instead of failing.
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "attach/jvm_process.h"
#include "userspace/cli/api_call.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/printable.h"

namespace jvmwatch::cli {

namespace {

using json = nlohmann::json;

constexpr const char* kUsageText =
    "Usage: jvmwatch ps [--json] [--proc] [--socket PATH]\n"
    "Lists the JVMs on this host.  Asks the running jvmwatchd first (its local API, root only):\n"
    "  PID USER JDK MAIN AGENTS INJECTED LAST-ATTACH VISIBILITY\n"
    "  AGENTS: each agent's file name; +name was loaded while running (by an attach, or\n"
    "    @inject by jvmwatchd's injector, with #hash, the first digits of its sha256)\n"
    "  INJECTED: rule:outcome of jvmwatchd's injector, or -\n"
    "  LAST-ATTACH: who (comm[pid]) did what (operation) and when (UTC time), or -\n"
    "When no daemon answers, lists from /proc (PID USER JDK MAIN) and says so on stderr.\n"
    "\n"
    "  --json         one JSON array (the daemon's rows, or the /proc scan's)\n"
    "  --proc         skip the daemon: scan /proc\n"
    "  --socket PATH  the daemon's API socket (default $JVMWATCH_API_SOCKET or /run/jvmwatch/api.sock)\n"
    "\n"
    "Exit codes: 0 ok, 2 usage, 8 permission denied (not root), 15 malformed reply from the daemon\n";

const char* kind_name(jvm::Kind k) {
    switch (k) {
        case jvm::Kind::hotspot: return "hotspot";
        case jvm::Kind::openj9: return "openj9";
        case jvm::Kind::not_jvm: break;
    }
    return "none";
}

std::string str(const json& o, const char* k, const char* dflt = "?") {
    if (!o.is_object()) return dflt;
    auto it = o.find(k);
    if (it == o.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return dflt;
    return it->get<std::string>();
}

std::string basename_of(const std::string& p) {
    auto s = p.rfind('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

// At most `max` bytes, cut at a character boundary, "…" when cut.
std::string clip(std::string s, size_t max) {
    if (s.size() <= max) return s;
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
    return s + "\xE2\x80\xA6";
}

// "14:31:58" from an RFC 3339 UTC time.
std::string time_of_day(const std::string& t) {
    auto T = t.find('T');
    return T == std::string::npos || t.size() < T + 9 ? "?" : t.substr(T + 1, 8);
}

std::string agents_cell(const json& row) {
    std::string out;
    const json& agents = row.contains("agents") ? row["agents"] : json();
    if (!agents.is_array()) return "-";
    for (const auto& a : agents) {
        if (!out.empty()) out += ",";
        std::string src = str(a, "source", "");
        if (src != "static") out += "+";
        out += clip(basename_of(str(a, "path")), 40);
        if (src == "inject") out += "@inject";
        std::string h = str(a, "sha256", "");
        if (!h.empty()) out += "#" + h.substr(0, 12);
    }
    if (row.contains("agents_dropped")) out += ",…";
    return out.empty() ? "-" : out;
}

std::string injection_cell(const json& row) {
    const json& inj = row.contains("injection") ? row["injection"] : json();
    if (!inj.is_object()) return "-";
    return clip(str(inj, "rule", "") + ":" + str(inj, "outcome"), 40);
}

std::string attach_cell(const json& row) {
    const json& a = row.contains("last_attach") ? row["last_attach"] : json();
    if (!a.is_object()) return "-";
    const json& who = a.contains("attacher") ? a["attacher"] : json();
    std::string pid = who.is_object() && who.contains("pid") && who["pid"].is_number() ? who["pid"].dump() : "?";
    return clip(str(who, "comm"), 16) + "[" + pid + "] " + clip(str(a, "op"), 16) + " " +
           time_of_day(str(a, "time", ""));
}

int ps_from_daemon(const json& jvms, bool as_json) {
    if (as_json) {
        std::printf("%s\n", jvms.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
        return kOk;
    }
    std::printf("%-8s %-12s %-8s %-30s %-28s %-20s %-32s %s\n", "PID", "USER", "JDK", "MAIN", "AGENTS",
                "INJECTED", "LAST-ATTACH", "VISIBILITY");
    for (const auto& r : jvms) {
        std::string pid = r.contains("pid") && r["pid"].is_number() ? r["pid"].dump() : "?";
        std::printf("%-8s %-12s %-8s %-30s %-28s %-20s %-32s %s\n", pid.c_str(),
                    printable(clip(str(r, "user"), 12)).c_str(), printable(clip(str(r, "jdk"), 8)).c_str(),
                    printable(clip(str(r, "main"), 60)).c_str(), printable(agents_cell(r)).c_str(),
                    printable(injection_cell(r)).c_str(), printable(attach_cell(r)).c_str(),
                    printable(str(r, "visibility")).c_str());
    }
    return kOk;
}

int ps_from_proc(const std::string& proc_root, bool as_json) {
    auto jvms = jvm::list_jvms(proc_root);
    if (as_json) {
        auto arr = json::array();
        for (auto& j : jvms)
            arr.push_back({{"pid", j.pid}, {"nspid", j.nspid}, {"user", j.user},
                           {"uid", j.euid}, {"kind", kind_name(j.kind)},
                           {"jdk", j.jdk_version}, {"java_home", j.java_home},
                           {"main", j.main}, {"exe", j.exe}});
        std::printf("%s\n", arr.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
        return kOk;
    }
    std::printf("%-8s %-12s %-10s %s\n", "PID", "USER", "JDK", "MAIN");
    for (auto& j : jvms) {
        std::string jdk = j.jdk_version.empty() ? "?" : j.jdk_version;
        if (j.kind == jvm::Kind::openj9) jdk += " (openj9)";
        std::printf("%-8d %-12s %-10s %s\n", j.pid, printable(j.user).c_str(),
                    printable(jdk).c_str(), j.main.empty() ? "?" : printable(j.main).c_str());
    }
    return kOk;
}

}  // namespace

int cmd_ps(int argc, char** argv) {
    bool as_json = false, proc_only = false;
    std::string proc_root = "/proc", socket;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--json")) {
            as_json = true;
        } else if (!std::strcmp(argv[i], "--proc")) {
            proc_only = true;
        } else if (!std::strcmp(argv[i], "--proc-root") && i + 1 < argc) {
            proc_root = argv[++i];  // for tests against a fixture tree (implies --proc)
            proc_only = true;
        } else if (!std::strcmp(argv[i], "--socket") && i + 1 < argc) {
            socket = argv[++i];
        } else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
            std::printf("%s", kUsageText);
            return kOk;
        } else {
            std::fprintf(stderr, "jvmwatch: ps: unknown option '%s' (try --help)\n", printable(argv[i]).c_str());
            return kUsage;
        }
    }
    if (proc_only) return ps_from_proc(proc_root, as_json);

    ApiCall call;
    call.command = "ps";
    call.socket = socket;
    call.request = {{"request", "ps"}};
    call.quiet_no_daemon = true;
    json jvms;
    bool no_daemon = false;
    std::string why;
    int rc = call_api(call, [&](const json& line) {
        auto it = line.find("jvms");
        if (it == line.end() || !it->is_array()) {
            std::fprintf(stderr, "jvmwatch: ps: malformed reply from the daemon (no \"jvms\" array)\n");
            return false;
        }
        jvms = *it;
        return false;
    }, &no_daemon, &why);
    if (no_daemon) {
        std::fprintf(stderr, "jvmwatch: ps: %s; listing from /proc (no agents, injection or attaches)\n",
                     printable(why).c_str());
        return ps_from_proc(proc_root, as_json);
    }
    if (rc != kOk) return rc;
    if (!jvms.is_array()) return kBadReply;
    return ps_from_daemon(jvms, as_json);
}

}  // namespace jvmwatch::cli
