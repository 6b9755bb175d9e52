// Requests from jattach's command-line conventions, and outcome names.
#include <array>

#include "jvmwatch/attach.h"

namespace jvmwatch::attach {

std::string_view to_string(Outcome o) {
    switch (o) {
        case Outcome::ok: return "ok";
        case Outcome::jvm_error: return "jvm_error";
        case Outcome::agent_error: return "agent_error";
        case Outcome::dynamic_loading_disabled: return "dynamic_loading_disabled";
        case Outcome::attach_disabled: return "attach_disabled";
        case Outcome::not_a_jvm: return "not_a_jvm";
        case Outcome::no_such_process: return "no_such_process";
        case Outcome::permission_denied: return "permission_denied";
        case Outcome::timed_out: return "timed_out";
        case Outcome::target_exited: return "target_exited";
        case Outcome::protocol_error: return "protocol_error";
        case Outcome::unsafe_target: return "unsafe_target";
        case Outcome::untrusted_socket: return "untrusted_socket";
        case Outcome::invalid_request: return "invalid_request";
        case Outcome::system_error: return "system_error";
        case Outcome::denied: return "denied";
    }
    return "unknown";
}

namespace {

struct OpSpec {
    std::string_view name;
    size_t min_args, max_args;
    std::string_view usage;
};

constexpr std::array<OpSpec, 10> kOps = {{
    {"load", 1, 3, "load <lib> [true|false] [options]"},
    {"properties", 0, 0, "properties"},
    {"agentProperties", 0, 0, "agentProperties"},
    {"datadump", 0, 0, "datadump"},
    {"threaddump", 0, 1, "threaddump [-l]"},
    {"dumpheap", 1, 3, "dumpheap <file> [-live|-all] [gz-level]"},
    {"inspectheap", 0, 3, "inspectheap [-live|-all] [file]"},
    {"setflag", 2, 2, "setflag <name> <value>"},
    {"printflag", 1, 1, "printflag <name>"},
    {"jcmd", 1, SIZE_MAX, "jcmd <command> [args...]"},
}};

}  // namespace

std::optional<Request> make_request(const std::string& op, const std::vector<std::string>& args,
                                    std::string* error) {
    const OpSpec* spec = nullptr;
    for (auto& s : kOps)
        if (s.name == op) spec = &s;
    if (!spec) {
        std::string known;
        for (auto& s : kOps) known += (known.empty() ? "" : ", ") + std::string(s.name);
        *error = "unknown operation '" + op + "' (known: " + known + ")";
        return std::nullopt;
    }
    if (args.size() < spec->min_args || args.size() > spec->max_args) {
        *error = "wrong number of arguments for " + op + "; usage: " + std::string(spec->usage);
        return std::nullopt;
    }
    if (op == "load" && args.size() >= 2 && args[1] != "true" && args[1] != "false") {
        *error = "load: second argument must be true (absolute path) or false, not '" + args[1] + "'";
        return std::nullopt;
    }
    if (op == "jcmd") {
        std::string line;
        for (auto& a : args) line += (line.empty() ? "" : " ") + a;
        return Request{op, {line}};
    }
    return Request{op, args};
}

Request load_java_agent(const std::string& jar_path, const std::string& options) {
    return {"load", {"instrument", "false", options.empty() ? jar_path : jar_path + "=" + options}};
}

Request load_native_agent(const std::string& lib_path, const std::string& options) {
    return {"load", {lib_path, "true", options}};
}

}  // namespace jvmwatch::attach
