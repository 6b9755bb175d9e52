// Alert rules: the `alerts:` section of jvmwatchd's config as a checked model, and the
// embedded default set (docs/policy.md, "Alert rules").  A rule names the records it
// looks at (attach records, agent loads, diagnostic commands), what must hold of the
// attacher, the target JVM, the operation and its arguments, the agent, and the
// conditions the records carry (self-attach, alias, first dynamic agent, a boundary
// crossed); every rule that matches a record alerts (all matches, not first).
// Matching is on the records themselves (alert_matcher.h): nothing is read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "userspace/policy/deny_rules.h"
#include "userspace/policy/pattern.h"
#include "userspace/policy/version_range.h"

namespace jvmwatch::policy {

enum class Severity { info, low, medium, high, critical };
std::string_view to_string(Severity s);

// The records a rule looks at.
enum RecordKind : unsigned { on_attach = 1u, on_agent_load = 2u, on_dcmd = 4u };

// A process (the attacher): any entry of a list may match; every list set must.
struct ProcessMatch {
    std::vector<Pattern> exe;
    std::vector<Pattern> args;        // any argument of its command line
    std::vector<std::string> users;
    std::vector<uid_t> uids;          // one OR list with users
    std::vector<Pattern> cgroup;
    std::vector<Pattern> container;
    bool empty() const {
        return exe.empty() && args.empty() && users.empty() && uids.empty() && cgroup.empty() &&
               container.empty();
    }
};

// The target JVM, with the inject rules' names for the same facts.
struct JvmMatch {
    std::vector<Pattern> main;
    std::vector<Pattern> exe;
    std::vector<std::string> users;
    std::vector<uid_t> uids;
    std::vector<Pattern> cgroup;
    std::vector<Pattern> container;
    std::optional<VersionRange> jdk;
    bool empty() const {
        return main.empty() && exe.empty() && users.empty() && uids.empty() && cgroup.empty() &&
               container.empty() && !jdk;
    }
};

// The agent of an agent load (or of an attach's `load`: its path only).
struct AgentMatch {
    std::vector<Pattern> path;
    std::vector<std::string> sha256;          // a hash on this list matches (a deny list)
    std::vector<std::string> sha256_allow;    // a hash on this list never matches
    std::vector<Pattern> agent_class;         // Agent-Class, Premain-Class or Launcher-Agent-Class
    std::vector<Pattern> vendor;              // Implementation-Vendor or -Title
    bool no_vendor = false;                   // neither Implementation-Vendor nor -Title
    bool empty() const {
        return path.empty() && sha256.empty() && sha256_allow.empty() && agent_class.empty() &&
               vendor.empty() && !no_vendor;
    }
};

// Conditions a record carries; unset ones are not looked at.
struct Conditions {
    std::optional<bool> self_attach;          // the peer is the JVM or its descendant
    std::optional<bool> alias;                // reached the socket by another name / fd
    std::optional<bool> first_dynamic_agent;  // into a JVM that had none loaded before
    std::optional<bool> cross_boundary;       // attacher in another container or user
    std::optional<bool> own;                  // jvmwatchd's own attach
    std::vector<std::string> origin;          // agent.load's origin (attach, jmx, ...)
};

struct AlertRule {
    std::string name;
    int line = 0;                     // 0 for the embedded defaults
    bool builtin = false;
    unsigned on = on_attach;          // RecordKind bits
    Severity severity = Severity::medium;
    ProcessMatch attacher;            // attach records only: agent loads and commands name none
    std::optional<ProcessMatch> except_attacher;   // an attacher matching this is not a finding
    JvmMatch target;
    std::vector<Pattern> operation;   // attach op, or "jcmd" for a diagnostic command
    std::vector<Pattern> args;        // any argument (a command's line is its first)
    AgentMatch agent;
    Conditions when;
    uint32_t dedup_s = 300;           // the same finding again within this: counted, not sent
    uint32_t max_per_minute = 60;     // beyond: counted, not sent
};

struct AlertPolicy {
    std::vector<AlertRule> rules;     // the defaults first (unless off), then the file's
    std::vector<DenyRule> deny;       // `alerts.deny` (deny_rules.h): bit i is deny[i]
};

// The embedded default set: opinions, each one can be turned off by name.
std::vector<AlertRule> default_alert_rules();

// Parses an `alerts:` node (null: the defaults only).  nullopt with "file:line: reason"
// lines in *errors if anything is wrong.
std::optional<AlertPolicy> parse_alert_policy(const YAML::Node& alerts, const std::string& file,
                                              std::vector<std::string>* errors);

}  // namespace jvmwatch::policy
