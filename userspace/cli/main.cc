// jvmwatch: the command-line client.  Dispatches to one subcommand.
#include <cstdio>
#include <cstring>
#include <string>

#include "userspace/cli/commands.h"
#include "userspace/common/build_info.h"

namespace {

void usage(FILE* out) {
    std::fprintf(out,
                 "Usage: jvmwatch COMMAND [ARGS...]\n"
                 "\n"
                 "Commands:\n"
                 "  attach PID OP [ARGS...]   attach to a HotSpot JVM and run OP (jattach-compatible)\n"
                 "  ps                        list the JVMs on this host (the daemon's view: agents,\n"
                 "                            injection, last attach; /proc when no daemon answers)\n"
                 "  events                    recent events from the daemon (--follow for new ones)\n"
                 "  status                    the daemon's health: uptime, hooks, drops, config\n"
                 "  doctor                    kernel features, the BPF hook chosen per event kind, and\n"
                 "                            whether each JDK supports the JVM-side probes\n"
                 "\n"
                 "Options:\n"
                 "  -h, --help                this help\n"
                 "  --version                 print `jvmwatch VERSION` (and the git commit it was built from)\n"
                 "\n"
                 "Run `jvmwatch COMMAND --help` for a command's options.  Exit codes: README.md.\n");
}

}  // namespace

int main(int argc, char** argv) {
    using namespace jvmwatch::cli;
    if (argc < 2) {
        usage(stderr);
        return kUsage;
    }
    std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        usage(stdout);
        return kOk;
    }
    if (cmd == "--version") {
        std::printf("%s\n", jvmwatch::version_line("jvmwatch").c_str());
        return kOk;
    }
    // Subcommands see argv starting at their own name.
    if (cmd == "attach") return cmd_attach(argc - 1, argv + 1);
    if (cmd == "ps") return cmd_ps(argc - 1, argv + 1);
    if (cmd == "events") return cmd_events(argc - 1, argv + 1);
    if (cmd == "status") return cmd_status(argc - 1, argv + 1);
    if (cmd == "doctor") return cmd_doctor(argc - 1, argv + 1);
    std::fprintf(stderr, "jvmwatch: unknown command '%s' (try --help)\n", cmd.c_str());
    return kUsage;
}
