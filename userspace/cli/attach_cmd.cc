// `jvmwatch attach [OPTIONS] PID OP [ARGS...]`: jattach-compatible client.
// The JVM's output goes to stdout as it streams in; a failure is one line on stderr;
// the exit code tells a local failure from what the JVM said (commands.h).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attach/protocol.h"
#include "jvmwatch/attach.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/printable.h"

namespace jvmwatch::cli {

namespace {

using attach::Outcome;

constexpr const char* kUsageText =
    "Usage: jvmwatch attach [--timeout MS] [--json] [-v] [--protocol 1|2] PID OP [ARGS...]\n"
    "\n"
    "Operations (as jattach): load <lib> [true|false] [options], properties,\n"
    "  agentProperties, datadump, threaddump [-l], dumpheap <file>, inspectheap [opts],\n"
    "  setflag <name> <value>, printflag <name>, jcmd <command...>\n"
    "A java agent: load instrument false /path/agent.jar=options\n"
    "\n"
    "  --timeout MS   give up after MS milliseconds (default 10000)\n"
    "  --json         print the typed outcome as one JSON object\n"
    "  -v             log the steps to stderr\n"
    "\n"
    "Exit codes: 0 ok, 1 JVM error, 2 usage, 3 agent error, 4 dynamic loading disabled,\n"
    "  5 attach disabled, 6 no such process, 7 not a JVM, 8 permission denied,\n"
    "  9 timed out, 10 target exited, 11 protocol error, 12 unsafe/untrusted, 13 system error,\n"
    "  16 denied by a policy at connect (a jvmwatchd deny rule: EPERM)\n";

int exit_code(Outcome o) {
    switch (o) {
        case Outcome::ok: return kOk;
        case Outcome::jvm_error: return kJvmError;
        case Outcome::agent_error: return kAgentError;
        case Outcome::dynamic_loading_disabled: return kDynamicLoadingDisabled;
        case Outcome::attach_disabled: return kAttachDisabled;
        case Outcome::not_a_jvm: return kNotAJvm;
        case Outcome::no_such_process: return kNoSuchProcess;
        case Outcome::permission_denied: return kPermissionDenied;
        case Outcome::timed_out: return kTimedOut;
        case Outcome::target_exited: return kTargetExited;
        case Outcome::protocol_error: return kProtocolError;
        case Outcome::unsafe_target: return kUnsafe;
        case Outcome::untrusted_socket: return kUnsafe;
        case Outcome::invalid_request: return kUsage;
        case Outcome::system_error: return kSystemError;
        case Outcome::denied: return kDenied;
    }
    return kSystemError;
}

bool parse_uint(const char* s, long long max, long long* out) {
    if (!*s) return false;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s, &end, 10);
    if (*end || errno || v < 0 || v > max) return false;
    *out = v;
    return true;
}

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "jvmwatch: attach: %s\n", msg.c_str());
    return kUsage;
}

}  // namespace

int cmd_attach(int argc, char** argv) {
    attach::Options opt;
    bool json = false, verbose = false;
    std::vector<std::string> pos;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (!pos.empty()) {
            pos.push_back(a);  // after PID everything belongs to the operation
        } else if (a == "-h" || a == "--help") {
            std::fputs(kUsageText, stdout);
            return kOk;
        } else if (a == "--json") {
            json = true;
        } else if (a == "-v" || a == "--verbose") {
            verbose = true;
        } else if (a == "--timeout" || a == "--protocol" || a.starts_with("--timeout=") ||
                   a.starts_with("--protocol=")) {
            std::string name = a.substr(0, a.find('='));
            std::string val;
            if (a.find('=') != std::string::npos) val = a.substr(a.find('=') + 1);
            else if (i + 1 < argc) val = argv[++i];
            else return usage_error(name + " needs a value");
            long long v = 0;
            if (name == "--timeout") {
                if (!parse_uint(val.c_str(), 3600 * 1000, &v) || v == 0)
                    return usage_error("--timeout wants milliseconds (1..3600000), not '" + val + "'");
                opt.timeout = std::chrono::milliseconds(v);
            } else {
                if (!parse_uint(val.c_str(), 2, &v) || v == 0)
                    return usage_error("--protocol wants 1 or 2, not '" + val + "'");
                opt.protocol = int(v);
            }
        } else if (a.size() > 1 && a[0] == '-' && pos.empty()) {
            return usage_error("unknown option '" + a + "' (try --help)");
        } else {
            pos.push_back(a);
        }
    }
    if (pos.empty()) return usage_error("missing PID (usage: jvmwatch attach PID OP [ARGS...])");
    long long pid = 0;
    if (!parse_uint(pos[0].c_str(), 0x7fffffff, &pid) || pid == 0)
        return usage_error("'" + pos[0] + "' is not a process id");
    if (pos.size() < 2) return usage_error("missing operation (try --help)");
    std::string op = pos[1];
    std::vector<std::string> args(pos.begin() + 2, pos.end());
    std::string err;
    auto req = attach::make_request(op, args, &err);
    if (!req) return usage_error(err);

    if (verbose)
        opt.on_log = [](std::string_view s) {
            std::fprintf(stderr, "jvmwatch: %s\n", printable(s).c_str());
        };
    if (!json)
        opt.on_output = [](std::string_view s) {
            std::fwrite(s.data(), 1, s.size(), stdout);
            std::fflush(stdout);
        };
    auto r = attach::run(pid_t(pid), *req, opt);
    if (json) {
        nlohmann::json j = {{"pid", pid},
                            {"op", req->op},
                            {"args", req->args},
                            {"outcome", std::string(attach::to_string(r.outcome))},
                            {"jvm_code", r.jvm_code ? nlohmann::json(*r.jvm_code) : nlohmann::json()},
                            {"agent_code", r.agent_code ? nlohmann::json(*r.agent_code) : nlohmann::json()},
                            {"output", r.output},
                            {"output_truncated", r.output_truncated},
                            {"detail", r.detail},
                            {"protocol", r.protocol},
                            {"signalled", r.signalled},
                            {"elapsed_ms", r.elapsed_ms}};
        // Replace invalid UTF-8 rather than throw on odd JVM output.
        std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        std::printf("%s\n", s.c_str());
    }
    if (r.outcome != Outcome::ok && !r.detail.empty())
        std::fprintf(stderr, "jvmwatch: %s\n", printable(r.detail).c_str());  // names a process
    return exit_code(r.outcome);
}

}  // namespace jvmwatch::cli
