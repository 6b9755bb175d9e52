// Whether an alert rule holds for one audit record (an `attach`, `agent.load` or
// `jvm.dcmd` event as docs/events.md describes them).  Only the record is read: the
// facts were gathered off the event path when it was built.
#pragma once

#include <nlohmann/json.hpp>

#include "userspace/policy/alert_rules.h"

namespace jvmwatch::policy {

// The RecordKind of an event type ("attach", "agent.load", "jvm.dcmd"), 0 for others.
unsigned record_kind(const nlohmann::json& event);

bool matches(const AlertRule& rule, const nlohmann::json& event);

}  // namespace jvmwatch::policy
