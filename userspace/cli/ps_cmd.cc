// `jvmwatch ps [--json]`: the JVMs on this host with pid, user, JDK and main class or jar.
// Names come from other users' processes: plain output escapes control characters and
// shows invalid UTF-8 as U+FFFD; JSON output replaces invalid UTF-8 the same way (as
// the event stream does) instead of failing.
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "attach/jvm_process.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/printable.h"

namespace jvmwatch::cli {

namespace {

const char* kind_name(jvm::Kind k) {
    switch (k) {
        case jvm::Kind::hotspot: return "hotspot";
        case jvm::Kind::openj9: return "openj9";
        case jvm::Kind::not_jvm: break;
    }
    return "none";
}

}  // namespace

int cmd_ps(int argc, char** argv) {
    bool json = false;
    std::string proc_root = "/proc";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--json")) {
            json = true;
        } else if (!std::strcmp(argv[i], "--proc-root") && i + 1 < argc) {
            proc_root = argv[++i];  // for tests against a fixture tree
        } else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
            std::printf("Usage: jvmwatch ps [--json]\n"
                        "Lists the JVMs on this host: PID, USER, JDK, MAIN (main class or jar).\n");
            return kOk;
        } else {
            std::fprintf(stderr, "jvmwatch: ps: unknown option '%s' (try --help)\n", argv[i]);
            return kUsage;
        }
    }
    auto jvms = jvm::list_jvms(proc_root);
    if (json) {
        auto arr = nlohmann::json::array();
        for (auto& j : jvms)
            arr.push_back({{"pid", j.pid}, {"nspid", j.nspid}, {"user", j.user},
                           {"uid", j.euid}, {"kind", kind_name(j.kind)},
                           {"jdk", j.jdk_version}, {"java_home", j.java_home},
                           {"main", j.main}, {"exe", j.exe}});
        std::printf("%s\n",
                    arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
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

}  // namespace jvmwatch::cli
