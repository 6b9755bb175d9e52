#include "userspace/metrics/metric_labels.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace jvmwatch::metrics {

namespace {

template <size_t N>
std::string_view pick(const std::array<std::string_view, N>& known, std::string_view v) {
    auto it = std::find(known.begin(), known.end(), v);
    return it == known.end() ? std::string_view("other") : *it;
}

constexpr std::array<std::string_view, 15> kEventTypes = {
    "daemon.start", "daemon.stop",    "daemon.reload",  "stats",
    "jvm.start",    "jvm.exit",       "attach",         "thread_dump_request",
    "inject.matched", "inject.ok",    "inject.failed",  "inject.skipped",
    "agent.load",   "jvm.dcmd",       "alert"};

// attach/request.cc's operations (what a JDK client sends).
constexpr std::array<std::string_view, 10> kAttachOps = {
    "load",        "properties", "agentProperties", "datadump",  "threaddump",
    "dumpheap",    "inspectheap", "setflag",        "printflag", "jcmd"};

constexpr std::array<std::string_view, 4> kAttachOutcomes = {"replied", "connected", "no_connect", "denied"};

// attach::Outcome's names (attach/request.cc), except ok.
constexpr std::array<std::string_view, 15> kInjectFailures = {
    "jvm_error",     "agent_error",   "dynamic_loading_disabled", "attach_disabled",
    "not_a_jvm",     "no_such_process", "permission_denied",      "timed_out",
    "target_exited", "protocol_error", "unsafe_target",           "untrusted_socket",
    "invalid_request", "system_error", "denied"};

// inject::SkipReason's names (userspace/inject/inject_events.h).
constexpr std::array<std::string_view, 12> kInjectSkips = {
    "dry_run",           "excluded", "attach_disabled", "dynamic_loading_disabled",
    "not_hotspot",       "already_injected", "previously_failed", "existing",
    "rate_limited",      "overloaded", "exited",        "agent_changed"};

}  // namespace

std::string_view event_type_label(std::string_view type) { return pick(kEventTypes, type); }

std::string_view attach_op_label(const std::string* op) {
    if (!op) return "unknown";
    return pick(kAttachOps, *op);
}

std::string_view attach_outcome_label(std::string_view outcome) { return pick(kAttachOutcomes, outcome); }
std::string_view inject_failure_label(std::string_view outcome) { return pick(kInjectFailures, outcome); }
std::string_view inject_skip_label(std::string_view reason) { return pick(kInjectSkips, reason); }

constexpr std::array<std::string_view, 5> kSeverities = {"info", "low", "medium", "high", "critical"};
std::string_view alert_severity_label(std::string_view s) { return pick(kSeverities, s); }

std::string jdk_major_label(std::string_view v) {
    // Legacy "1.8.0_392": the major is the second number.
    if (v.size() > 2 && v.substr(0, 2) == "1.") v.remove_prefix(2);
    unsigned major = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), major);
    if (ec != std::errc() || end == v.data() || major < 1 || major > 999) return "unknown";
    // Only a version-like tail: "17", "17.0.2", "21-ea", "25+36".
    if (end != v.data() + v.size() && *end != '.' && *end != '-' && *end != '+' && *end != '_')
        return "unknown";
    return std::to_string(major);
}

}  // namespace jvmwatch::metrics
