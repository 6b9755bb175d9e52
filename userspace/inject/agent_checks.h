// What the agents a JVM already carries say about injecting a rule's agent into it:
// the rule's agent is already there (same content or same agent class), or an agent the
// rule names as a conflict is; and whether the JDK will print JEP 451's warning into the
// application's stderr when an agent is loaded dynamically.
#pragma once

#include <optional>
#include <string>

#include "attach/jvm_process.h"
#include "userspace/daemon/jvm_table.h"
#include "userspace/inject/inject_events.h"
#include "userspace/policy/policy.h"

namespace jvmwatch::inject {

struct AgentVerdict {
    SkipReason reason;    // already_present or conflict
    std::string detail;   // names the agent found and how it matched
};

// nullopt: nothing in `inv` stands in the way of loading `rule`'s agent.  Static agents
// whose file could not be inspected are matched on their path only.
std::optional<AgentVerdict> check_agents(const policy::Rule& rule,
                                         const daemon::AgentInventory& inv);

// JDK 21 or later (JEP 451) without -XX:+EnableDynamicAgentLoading: a dynamic load
// prints warnings into the application's stderr.  False for an unknown JDK version.
bool dynamic_load_warns(const jvm::JvmProcess& j);

}  // namespace jvmwatch::inject
