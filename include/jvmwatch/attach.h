// The attach engine's public API: jvmwatch's own implementation of the HotSpot
// dynamic attach mechanism (see docs/attach.md and ../shared/reference/hotspot-attach.md).
//
//   auto result = jvmwatch::attach::run(pid, {"properties", {}}, {});
//   if (result.outcome == jvmwatch::attach::Outcome::ok) std::cout << result.output;
//
// run() is safe to call from any thread of a multithreaded daemon: namespace entry and
// credential switches happen in a forked child, never in the caller's threads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jvmwatch::attach {

// One operation as the JVM sees it: op name plus arguments.
struct Request {
    std::string op;
    std::vector<std::string> args;
};

// Every way an attach can end.  Names are stable: they appear in JSON output and the
// audit stream.
enum class Outcome {
    ok,                        // JVM result 0 (and for load: agent returned 0)
    jvm_error,                 // JVM answered with a non-zero result code
    agent_error,               // load: Agent_OnAttach / agentmain returned N != 0
    dynamic_loading_disabled,  // JDK 21+: -XX:-EnableDynamicAgentLoading
    attach_disabled,           // -XX:+DisableAttachMechanism (never signalled)
    not_a_jvm,                 // target is not a HotSpot JVM (includes OpenJ9)
    no_such_process,           // pid does not exist
    permission_denied,         // we may not signal / connect to this target
    timed_out,                 // socket never appeared or the JVM never answered
    target_exited,             // the target died or became a zombie meanwhile
    protocol_error,            // malformed or truncated reply
    unsafe_target,             // signalling would kill the JVM or make it dump threads
    untrusted_socket,          // .java_pid<pid> is not a socket owned by the target's euid
    invalid_request,           // unknown op, v1 limits exceeded, bad arguments
    system_error,              // a local syscall failed unexpectedly
    denied,                    // connect() refused with EPERM by a policy (a jvmwatch deny
                               // rule, or another eBPF/LSM hook); nothing was sent
};

std::string_view to_string(Outcome);

struct Result {
    Outcome outcome = Outcome::system_error;
    std::optional<int> jvm_code;    // first line of the reply, when one was read
    std::optional<int> agent_code;  // load: "return code: N"
    std::string output;             // the JVM's output after the result line
    std::string detail;             // one human line explaining a failure
    int protocol = 1;               // protocol version used
    bool output_truncated = false;  // the reply had more than Options::max_output bytes
    bool signalled = false;         // we sent SIGQUIT (the listener was not up)
    double elapsed_ms = 0;
};

struct Options {
    std::chrono::milliseconds timeout{10000};  // the whole attach, including the handshake
    std::string proc_root = "/proc";           // for tests; host /proc otherwise
    int protocol = 0;                          // 0 = auto (v1, v2 when the request needs it)
    // The process the caller decided on: its start time (/proc/PID/stat field 22, clock
    // ticks).  When nonzero and PID names another process by now (pid reuse), run()
    // signals and connects nothing and reports target_exited.
    uint64_t expect_start_ticks = 0;
    // At most this many output bytes are kept in Result::output; the rest of the reply is
    // not read (output_truncated).  Does not apply to on_output, which streams.
    size_t max_output = 1 << 20;
    // Called with output as it streams in (may be empty); run() still fills Result::output
    // unless this is set.
    std::function<void(std::string_view)> on_output;
    // Log lines for -v (one event per call); nullptr = quiet.
    std::function<void(std::string_view)> on_log;
};

// Builds a request from jattach's command-line conventions: `load <lib> [abs] [opts]`,
// `jcmd <words...>` (joined with spaces), `dumpheap <file>`, etc.
// Returns nullopt and sets *error for an unknown operation or bad arguments.
std::optional<Request> make_request(const std::string& op, const std::vector<std::string>& args,
                                    std::string* error);

// Convenience for agents: `load instrument false "<jar>=<options>"`.
Request load_java_agent(const std::string& jar_path, const std::string& options);
// `load <path> true <options>` for a native agent (agentpath).
Request load_native_agent(const std::string& lib_path, const std::string& options);

// Attach to `pid` (host pid namespace), send `request`, wait for the reply.
Result run(pid_t pid, const Request& request, const Options& options = {});

}  // namespace jvmwatch::attach
