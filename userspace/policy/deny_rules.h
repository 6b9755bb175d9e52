// Deny rules: the `alerts.deny:` list of jvmwatchd's config (docs/policy.md, "Deny
// rules").  A rule covers the JVMs its `target:` matches (the inject matchers) and lets
// only what `allow:` names connect to their attach socket; everything else is refused at
// connect() (mode: enforce) or reported as would_deny (mode: monitor, the default).
// The kernel decides (bpf/connect.bpf.c) from bit masks compiled here: one bit per rule.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "jvmwatch/deny_maps.h"
#include "jvmwatch/events.h"
#include "userspace/policy/policy.h"

namespace jvmwatch::policy {

enum class Severity;

enum class DenyMode { monitor, enforce };
std::string_view to_string(DenyMode m);

// What may connect to a covered JVM: any entry of any list.
struct DenyAllow {
    std::vector<std::string> exe;      // absolute globs, resolved to inodes at load (glob(3))
    std::vector<uid_t> uids;           // effective uid of the caller (names resolved at load)
    std::vector<std::string> cgroup;   // cgroup v2 path globs under the root, resolved at load
};

struct DenyRule {
    std::string name;
    int line = 0;
    DenyMode mode = DenyMode::monitor;
    Severity severity{};               // the parser sets its default (high)
    Matcher target;                    // empty: every JVM
    DenyAllow allow;
};

// A deny rule as records name it.
struct DenyRuleRef {
    std::string name;
    DenyMode mode = DenyMode::monitor;
    Severity severity{};
};

// Parses an `alerts.deny` list.  false with "file:line: reason" lines in *errors.
bool parse_deny_rules(const YAML::Node& deny, const std::string& file, std::vector<DenyRule>* out,
                      std::vector<std::string>* errors);

// The kernel's view of a set of rules: what each rule allows, as bits.
struct CompiledDeny {
    jw_deny_mask enforce{};
    std::map<std::pair<uint64_t, uint64_t>, jw_deny_mask> exe;   // (kernel dev, ino)
    std::map<uint32_t, jw_deny_mask> uid;
    std::map<uint64_t, jw_deny_mask> cgroup;                     // cgroup v2 id
    std::vector<std::string> notes;    // "rule R: exe glob G matches no file" (logged)
};
// Resolves the allow lists through the host filesystem (`host_root`, normally "" for /)
// and the cgroup v2 root.  false with one line in *err if a rule cannot be compiled
// (more files than the kernel map holds, a cgroup root that cannot be read).
bool compile_deny(const std::vector<DenyRule>& rules, const std::string& host_root,
                  const std::string& cgroup_root, CompiledDeny* out, std::string* err);

// st_dev (glibc encoding) as the kernel's sb->s_dev (MAJOR << 20 | MINOR).
uint64_t kernel_dev(dev_t dev);
inline bool mask_empty(const jw_deny_mask& m) { return !m.w[0] && !m.w[1]; }
inline void mask_set(jw_deny_mask* m, size_t bit) { m->w[bit / 64] |= 1ull << (bit % 64); }
inline bool mask_test(const jw_deny_mask& m, size_t bit) { return m.w[bit / 64] >> (bit % 64) & 1; }

}  // namespace jvmwatch::policy
