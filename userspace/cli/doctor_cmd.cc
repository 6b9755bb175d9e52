// `jvmwatch doctor`: the kernel features found and the BPF hook chosen for each event
// kind (or why none), then a real load of the observer to prove the choice works.
#include <cstdio>
#include <cstring>
#include <string>

#include "userspace/cli/commands.h"
#include "userspace/observer/observer.h"

namespace jvmwatch::cli {

namespace {

void print_hooks(const char* title, const std::vector<observer::HookChoice>& hooks) {
    std::printf("\n%s:\n", title);
    for (const auto& h : hooks) {
        std::string kind(observer::to_string(h.kind));
        std::printf("  %-12s %s\n", kind.c_str(), h.hook.empty() ? "NONE" : h.hook.c_str());
        std::printf("  %-12s   why: %s%s\n", "", h.reason.c_str(),
                    h.syscall_tracepoint ? " [syscall tracepoint: slows every syscall]" : "");
    }
}

}  // namespace

int cmd_doctor(int argc, char** argv) {
    bool load = true;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--no-load")) {
            load = false;
        } else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
            std::printf("Usage: jvmwatch doctor [--no-load]\n"
                        "Prints the kernel features jvmwatchd uses and the BPF hook chosen for\n"
                        "each event kind, then loads and attaches the observer once to prove it\n"
                        "works (--no-load: skip that).  Exit 0 if the default mode works, 13 if\n"
                        "BPF is unusable.\n");
            return kOk;
        } else {
            std::fprintf(stderr, "jvmwatch doctor: unknown option '%s'\n", argv[i]);
            return kUsage;
        }
    }

    observer::Features f = observer::FeatureProbe::probe();
    std::printf("Kernel features:\n");
    for (const auto& line : observer::FeatureProbe::describe(f)) std::printf("  %s\n", line.c_str());
    auto def = observer::choose_hooks(f, false, false);
    auto deep = observer::choose_hooks(f, true, false);
    print_hooks("Hooks, default mode", def);
    print_hooks("Hooks, deep mode (--deep)", deep);
    std::fflush(stdout);

    if (!f.bpf_syscall) {
        std::fprintf(stderr, "jvmwatch doctor: BPF unavailable: %s\n", f.bpf_error.c_str());
        return kSystemError;
    }
    if (def.empty() || def.front().hook.empty()) {
        std::fprintf(stderr, "jvmwatch doctor: BPF unusable: %s\n", def.front().reason.c_str());
        return kSystemError;
    }
    if (load) {
        std::string err;
        auto obs = observer::Observer::create({}, f, &err);
        if (!obs) {
            std::fprintf(stderr, "jvmwatch doctor: loading the observer failed: %s\n", err.c_str());
            return kSystemError;
        }
        obs->stop();
        std::printf("\nLoad test: default-mode observer loaded and attached: OK\n");
    }
    if (!observer::all_hooks_usable(def)) {
        std::printf("Some event kinds have no hook (see NONE above); jvmwatchd runs without them.\n");
    }
    return kOk;
}

}  // namespace jvmwatch::cli
