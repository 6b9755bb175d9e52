// The injector's audit events (docs/policy.md, "Audit events"): inject.matched,
// inject.ok, inject.failed, inject.skipped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "attach/jvm_process.h"
#include "userspace/policy/policy.h"

namespace jvmwatch::inject {

// Why a JVM got no agent (the "reason" of inject.skipped).
enum class SkipReason {
    dry_run,                   // the policy only reports
    excluded,                  // the first matching rule's exclude: matched
    attach_disabled,           // -XX:+DisableAttachMechanism
    dynamic_loading_disabled,  // -XX:-EnableDynamicAgentLoading
    not_hotspot,               // OpenJ9 or unknown: no HotSpot attach
    already_injected,          // journal says done, or the agent is found loaded
    previously_failed,         // journal says the attach failed for good
    existing,                  // running before the daemon; rule has include_existing: false
    rate_limited,              // waited too long for the rate limit
    overloaded,                // queue or table full (counted as a drop)
    exited,                    // the JVM was gone before the attach
    agent_changed,             // the agent file is not what the loaded config accepted
    already_present,           // the JVM carries the rule's agent (same sha256 or class)
    conflict,                  // the JVM carries an agent the rule's conflicts: names
    dynamic_load_warning,      // JEP 451 would warn; on_dynamic_load_warning: skip
};
std::string_view to_string(SkipReason);

nlohmann::json jvm_summary(const jvm::JvmProcess& j);
nlohmann::json agent_summary(const policy::Agent& a);

// Events carry at most this much of a JVM's reply or other detail.
constexpr size_t kMaxDetailBytes = 4096;
// `s` cut to kMaxDetailBytes (at a UTF-8 character boundary), marked when cut.
std::string bounded_detail(std::string s);

}  // namespace jvmwatch::inject
