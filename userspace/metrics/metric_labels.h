// Label values of jvmwatch's metrics, mapped into small fixed sets so that no process,
// path or reply can grow the number of series: unknown values become "other".
#pragma once

#include <string>
#include <string_view>

namespace jvmwatch::metrics {

// An audit event type ("attach", "jvm.start", ...) or "other".
std::string_view event_type_label(std::string_view type);
// A HotSpot attach operation as sent ("load", "properties", ...); "unknown" when the
// operation was not seen (default mode sees no request bytes), "other" when not one of
// the JDK's operations.
std::string_view attach_op_label(const std::string* op);
// An attach record's outcome (replied, connected, no_connect) or "other".
std::string_view attach_outcome_label(std::string_view outcome);
// inject.failed's engine outcome (timed_out, agent_error, ...) or "other".
std::string_view inject_failure_label(std::string_view outcome);
// inject.skipped's reason (dry_run, excluded, ...) or "other".
std::string_view inject_skip_label(std::string_view reason);
std::string_view alert_severity_label(std::string_view severity);
// The major version of a JDK version string: "17.0.15" -> "17", "1.8.0_392" -> "8",
// "25" -> "25"; "unknown" when empty or not a version (1..999).
std::string jdk_major_label(std::string_view version);

}  // namespace jvmwatch::metrics
