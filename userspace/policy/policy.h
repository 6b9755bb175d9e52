// The injection policy: the `inject:` section of jvmwatchd's config as a checked model.
// Parsing lives in policy_parser.h, matching in rule_matcher.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "userspace/policy/pattern.h"
#include "userspace/policy/version_range.h"

namespace jvmwatch::policy {

struct EnvMatch {
    std::string name;
    std::optional<Pattern> value;  // nullopt: the variable only has to be present
};

// All fields that are set must match (AND); within a list field any entry may match (OR),
// except `env` and `flags`, where every entry must hold.
struct Matcher {
    std::vector<Pattern> main;        // main class, or the jar of -jar (either form)
    std::vector<Pattern> args;        // any command-line argument
    std::vector<Pattern> exe;         // /proc/PID/exe
    std::vector<std::string> users;   // user names
    std::vector<uid_t> uids;          // matched with users as one OR list (effective uid)
    std::vector<Pattern> cgroup;      // cgroup v2 path
    std::vector<Pattern> container;   // container id (64 hex) from the cgroup path
    std::vector<EnvMatch> env;
    std::optional<VersionRange> jdk;
    std::vector<std::string> flags;   // exact JVM options present on the command line
    int line = 0;                     // where it was written (for logs)
    bool empty() const {
        return main.empty() && args.empty() && exe.empty() && users.empty() && uids.empty() &&
               cgroup.empty() && container.empty() && env.empty() && !jdk && flags.empty();
    }
};

enum class AgentKind { java, native };

struct Agent {
    AgentKind kind = AgentKind::java;
    std::string path;                  // absolute, host view
    std::string options;
    std::optional<std::string> sha256; // lower-case hex pin
    // The content accepted when the config was loaded (or reloaded): at attach time a file
    // with other content is refused until a reload accepts it.  Empty when the parser did
    // not check agent files (tests).
    std::string content_sha256;
    // Its jar manifest's Agent-Class and Premain-Class, read at load from the same checked
    // fd (empty: not a jar, no manifest, or files not checked): a JVM already carrying an
    // agent with one of these classes already has this agent.
    std::vector<std::string> manifest_classes;
};

// An agent another vendor ships that must not share a JVM with the rule's agent: a glob
// on the agent's path, or (written "class:GLOB") on its Agent-Class or Premain-Class.
struct Conflict {
    enum class On { path, agent_class } on = On::path;
    Pattern pattern;
    std::string text;                  // as written, for events
};

// JDK 21+ prints a warning into the application's stderr on a dynamic agent load unless
// it was started with -XX:+EnableDynamicAgentLoading (JEP 451).
enum class OnDynamicLoadWarning { load, skip };

enum class Milestone { signal_dispatch, attach_listener, main };
std::string_view to_string(Milestone);

// When to attach.  Default (early): as soon as the JVM serves SIGQUIT (Signal Dispatch).
struct When {
    enum class Kind { early, delay, milestone } kind = Kind::early;
    uint32_t delay_ms = 0;                        // delay after exec (still never before early)
    Milestone milestone = Milestone::signal_dispatch;
};

struct Rule {
    std::string name;
    int line = 0;
    Matcher match;                     // empty = every JVM
    std::vector<Matcher> exclude;      // any matching excludes
    Agent agent;
    When when;
    uint32_t retries = 2;              // extra attempts after the first
    uint32_t backoff_ms = 200;         // doubled after each failure
    uint32_t timeout_ms = 10000;       // one attempt, handshake included
    bool include_existing = false;     // JVMs running when the daemon starts
    std::vector<Conflict> conflicts;   // any present: the JVM is skipped ("conflict")
    OnDynamicLoadWarning on_dynamic_load_warning = OnDynamicLoadWarning::load;
};

struct Policy {
    std::string file;                  // where it came from
    bool dry_run = false;
    uint32_t max_in_flight = 2;
    double rate_limit = 20;            // attaches per second
    bool include_existing = false;     // default for rules
    std::string state_dir = "/var/lib/jvmwatch";
    std::vector<Rule> rules;
};

}  // namespace jvmwatch::policy
