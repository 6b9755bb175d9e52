// Matching rules against a JVM.  The facts that need extra /proc reads (environment,
// cgroup) are read lazily, only when a rule asks for them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attach/jvm_process.h"
#include "userspace/daemon/container_id.h"
#include "userspace/policy/policy.h"

namespace jvmwatch::policy {

class Subject {
public:
    Subject(const jvm::JvmProcess& jvm, std::string proc_root)
        : jvm_(jvm), proc_root_(std::move(proc_root)) {}
    const jvm::JvmProcess& jvm() const { return jvm_; }
    const std::vector<std::string>& environ() const;
    const std::string& cgroup() const;
    // The same id the audit stream reports for this JVM, so rules and records agree.
    std::string container_id() const { return daemon::container_id_from_cgroup(cgroup()); }

private:
    const jvm::JvmProcess& jvm_;
    std::string proc_root_;
    mutable std::optional<std::vector<std::string>> environ_;
    mutable std::optional<std::string> cgroup_;
};

bool matches(const Matcher& m, const Subject& s);

struct Decision {
    const Rule* rule = nullptr;     // the first rule whose `match` held; nullptr = none
    bool excluded = false;          // ...but one of its `exclude` matchers held too
};
// First match wins: an excluded first match ends the search (the rule claimed the JVM).
Decision decide(const Policy& p, const Subject& s);

}  // namespace jvmwatch::policy
