// The JSON shapes of a process (attacher, signal sender) and of a JVM in audit events
// (docs/events.md, "process" and "jvm").
#pragma once

#include <nlohmann/json.hpp>

#include "userspace/daemon/jvm_table.h"
#include "userspace/daemon/process_table.h"

namespace jvmwatch::daemon {

nlohmann::json process_json(const ProcessInfo& p, const std::string& user,
                            const ProcessInfo* parent);
nlohmann::json jvm_json(const JvmInfo& j);
// A JVM's agents loaded while it ran (jvm.exit's jvm.dynamic_agents).
nlohmann::json dynamic_agents_json(const JvmInfo& j);

}  // namespace jvmwatch::daemon
