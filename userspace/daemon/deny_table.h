// Keeps the kernel's deny-rule maps (bpf/connect.bpf.c) in step with the JVMs the daemon
// tracks and the deny rules in force (docs/policy.md, "Deny rules").
//
// For each JVM it stores which rules cover it under every name a caller reaches its
// attach socket by: {the JVM's mount ns, 0, nspid} (/tmp/.java_pid<nspid> inside the
// JVM's mount namespace), {the JVM's mount ns, nspid, nspid} (/proc/<nspid>/root/... from
// inside its container) and {the host mount ns, host pid, nspid} (/proc/<pid>/root/...
// from the host, the form JDK clients use); and {0, 0, nspid}, the union of every JVM
// with that pid in its namespace, which the kernel consults for a name matching no key
// (an fd-relative path: conservative).  Uncovered JVMs keep their keys with empty masks.  A reload (set_policy) compiles the rules,
// fills the idle slot of the maps for every known JVM, then flips the active slot: the
// kernel sees the old policy or the new one, never a mix.  A policy that does not
// compile is refused whole and the old one stays.  Thread-safe.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "userspace/daemon/jvm_listener.h"
#include "userspace/observer/deny_maps.h"
#include "userspace/policy/alert_rules.h"

namespace jvmwatch::daemon {

struct DenyTableConfig {
    std::string proc_root = "/proc";
    std::string host_root;              // prefix for exe globs ("" = /)
    std::string cgroup_root;            // cgroup v2 mount ("" = none: allow.cgroup refused)
    uint32_t host_mntns = 0;            // mount namespace of the host
    size_t max_jvms = 4096;
};

using policy::DenyRuleRef;

struct DenyTableStats {
    uint64_t jvms = 0;              // JVMs known
    uint64_t covered = 0;           // ... covered by at least one rule
    uint64_t map_errors = 0;        // kernel map updates that failed (map full)
    uint64_t jvms_dropped = 0;      // JVMs not kept: max_jvms reached
    uint64_t generation = 0;
};

class DenyTable : public JvmListener {
public:
    // `maps` may be null: the connect hook cannot refuse (tracepoint fallback); rules are
    // still compiled and JVMs still matched, for alias alerts.
    DenyTable(observer::DenyMaps* maps, DenyTableConfig cfg);

    // Compiles and installs the deny rules of `p` (null: none).  false and *err (one
    // line naming the cause) if they cannot be compiled: the old rules stay in force.
    // *notes gets what is worth a log line (a glob matching nothing).
    bool set_policy(std::shared_ptr<const policy::AlertPolicy> p, std::string* err,
                    std::vector<std::string>* notes = nullptr);

    void on_jvm_started(const jvm::JvmProcess& jvm, uint64_t exec_ts_ns, bool existing) override;
    void on_jvm_milestone(pid_t, uint64_t, int, uint64_t) override {}
    void on_jvm_exited(pid_t pid, uint64_t start_time_ticks) override;

    // The rule bit `index` of policy generation `gen` (as a connect event carries them);
    // nullopt if that generation is no longer known (two reloads since).
    std::optional<DenyRuleRef> rule_at(uint8_t gen, uint16_t index) const;
    // The first rule covering JVM `pid`, if any (an alias attach to it is critical).
    std::optional<DenyRuleRef> covering(pid_t pid) const;
    bool enforceable() const { return maps_ != nullptr; }
    size_t rule_count() const;
    DenyTableStats stats() const;

private:
    using Key = std::tuple<uint32_t, uint32_t, uint32_t>;   // mntns, root pid, pid
    struct Jvm {
        uint64_t start_ticks = 0;
        jvm::JvmProcess process;            // kept to re-match on reload
        std::vector<Key> keys;
        jw_deny_mask mask{};
    };
    struct Generation {
        uint8_t gen = 0;
        std::shared_ptr<const policy::AlertPolicy> policy;
    };
    jw_deny_mask match(const jvm::JvmProcess& j) const;           // under mu_
    std::vector<Key> keys_of(const jvm::JvmProcess& j) const;
    jw_deny_mask mask_of(const Key& k) const;                     // OR over the JVMs naming k
    void write_key(uint32_t slot, const Key& k);                  // under mu_
    const std::vector<policy::DenyRule>& rules() const;          // under mu_

    observer::DenyMaps* maps_;
    DenyTableConfig cfg_;
    mutable std::mutex mu_;
    std::map<pid_t, Jvm> jvms_;
    std::map<Key, std::set<pid_t>> names_;   // which JVMs a key names (shared /tmp: several)
    std::array<Generation, 2> gens_{};       // [0] in force, [1] the one before
    uint32_t slot_ = 0;                      // the slot in force
    uint8_t next_gen_ = 1;
    DenyTableStats stats_;
};

}  // namespace jvmwatch::daemon
