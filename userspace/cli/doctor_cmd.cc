// `jvmwatch doctor`: the kernel features found and the BPF hook chosen for each event
// kind (or why none), whether each JDK supports the JVM-side probes (doctor_jdk.h), then
// a real load of the observer to prove the choice works.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "userspace/cli/commands.h"
#include "userspace/cli/doctor_jdk.h"
#include "userspace/observer/observer.h"

namespace jvmwatch::cli {

namespace {

using json = nlohmann::json;

constexpr const char* kUsageText =
    "Usage: jvmwatch doctor [--no-load] [--json] [--jdk DIR]...\n"
    "Prints the kernel features jvmwatchd uses and the BPF hook chosen for each event\n"
    "kind; whether the kernel has uprobes and, for each JDK (every directory of\n"
    "/usr/lib/jvm holding lib/server/libjvm.so, or jre/lib/ARCH/server/libjvm.so for a\n"
    "JDK 8, and each --jdk DIR), whether its libjvm.so carries the symbols of the\n"
    "JVM-side probes (\"JVM-side probes: supported\") or its JVMs are seen from the\n"
    "attacher's side only, and why; then loads and attaches the observer once to prove\n"
    "it works.\n"
    "  --no-load   skip the load test\n"
    "  --json      one JSON object instead of text\n"
    "  --jdk DIR   also inspect the JDK in DIR (any number of times)\n"
    "Exit 0 if the default mode works (a JDK without JVM-side probes is reported, not an\n"
    "error), 2 for a bad option or a --jdk DIR without a readable libjvm.so, 13 if BPF\n"
    "is unusable.\n";

void print_hooks(const char* title, const std::vector<observer::HookChoice>& hooks) {
    std::printf("\n%s:\n", title);
    for (const auto& h : hooks) {
        std::string kind(observer::to_string(h.kind));
        std::printf("  %-12s %s\n", kind.c_str(), h.hook.empty() ? "NONE" : h.hook.c_str());
        std::printf("  %-12s   why: %s%s\n", "", h.reason.c_str(),
                    h.syscall_tracepoint ? " [syscall tracepoint: slows every syscall]" : "");
    }
}

json hooks_json(const std::vector<observer::HookChoice>& hooks) {
    json a = json::array();
    for (const auto& h : hooks)
        a.push_back({{"kind", std::string(observer::to_string(h.kind))},
                     {"hook", h.hook.empty() ? json() : json(h.hook)},
                     {"reason", h.reason},
                     {"syscall_tracepoint", h.syscall_tracepoint}});
    return a;
}

// The JVM-side part of the report.
json jdks_section(const std::vector<std::string>& homes, bool as_json) {
    UprobeSupport kernel = probe_uprobes();
    json reports = json::array();
    if (!as_json) std::printf("\nJVM side (uprobes on libjvm.so / libinstrument.so):\n  %s\n",
                              describe(kernel).c_str());
    for (const auto& home : homes) {
        JdkReport r = inspect_jdk(home, kernel);
        if (as_json) reports.push_back(to_json(r));
        else std::printf("  %s\n", describe(r).c_str());
    }
    if (!as_json && homes.empty()) std::printf("  no JDK found in /usr/lib/jvm (add --jdk DIR)\n");
    return {{"uprobes", to_json(kernel)}, {"jdks", reports}};
}

}  // namespace

int cmd_doctor(int argc, char** argv) {
    bool load = true, as_json = false;
    std::vector<std::string> extra_jdks;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--no-load")) {
            load = false;
        } else if (!std::strcmp(argv[i], "--json")) {
            as_json = true;
        } else if (!std::strcmp(argv[i], "--jdk")) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "jvmwatch doctor: --jdk needs a directory\n");
                return kUsage;
            }
            extra_jdks.push_back(argv[++i]);
        } else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
            std::fputs(kUsageText, stdout);
            return kOk;
        } else {
            std::fprintf(stderr, "jvmwatch doctor: unknown option '%s'\n", argv[i]);
            return kUsage;
        }
    }
    for (const auto& dir : extra_jdks) {
        std::string why = check_jdk_home(dir);
        if (!why.empty()) {
            std::fprintf(stderr, "jvmwatch doctor: --jdk: not a JDK: %s\n", why.c_str());
            return kUsage;
        }
    }
    std::vector<std::string> homes = find_jdks();
    homes.insert(homes.end(), extra_jdks.begin(), extra_jdks.end());

    observer::Features f = observer::FeatureProbe::probe();
    auto def = observer::choose_hooks(f, false, false);
    auto deep = observer::choose_hooks(f, true, false);
    json report;
    if (as_json) {
        report["kernel_features"] = observer::FeatureProbe::describe(f);
        report["hooks"] = {{"default", hooks_json(def)}, {"deep", hooks_json(deep)}};
    } else {
        std::printf("Kernel features:\n");
        for (const auto& line : observer::FeatureProbe::describe(f)) std::printf("  %s\n", line.c_str());
        print_hooks("Hooks, default mode", def);
        print_hooks("Hooks, deep mode (--deep)", deep);
    }
    report["jvm_side"] = jdks_section(homes, as_json);
    std::fflush(stdout);

    // Prints the JSON report (with what went wrong, if anything) and returns `rc`.
    auto finish = [&](int rc, const std::string& error) {
        if (!error.empty()) std::fprintf(stderr, "jvmwatch doctor: %s\n", error.c_str());
        if (as_json) {
            if (!error.empty()) report["error"] = error;
            std::printf("%s\n", report.dump(2, ' ', false, json::error_handler_t::replace).c_str());
        }
        return rc;
    };
    if (!f.bpf_syscall) return finish(kSystemError, "BPF unavailable: " + f.bpf_error);
    if (def.empty() || def.front().hook.empty())
        return finish(kSystemError, "BPF unusable: " + def.front().reason);
    report["load_test"] = "skipped";
    if (load) {
        std::string err;
        auto obs = observer::Observer::create({}, f, &err);
        if (!obs) return finish(kSystemError, "loading the observer failed: " + err);
        obs->stop();
        report["load_test"] = "ok";
        if (!as_json) std::printf("\nLoad test: default-mode observer loaded and attached: OK\n");
    }
    if (!as_json && !observer::all_hooks_usable(def))
        std::printf("Some event kinds have no hook (see NONE above); jvmwatchd runs without them.\n");
    return finish(kOk, "");
}

}  // namespace jvmwatch::cli
