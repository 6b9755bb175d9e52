#include "userspace/inject/agent_checks.h"

#include <algorithm>

#include "userspace/policy/version_range.h"

namespace jvmwatch::inject {

namespace {

std::string flag_of(const std::string& kind) {
    if (kind == "java") return "-javaagent:";
    if (kind == "native") return "-agentpath:";
    return "-agentlib:";
}

std::string describe(const daemon::StaticAgent& a) {
    return flag_of(a.kind) + a.path + " (" + a.source + ")";
}

std::string describe(const daemon::DynamicAgent& a) {
    return "dynamically loaded " + a.kind + " agent " + a.path + " (" + a.origin + ")";
}

bool same_kind(policy::AgentKind k, const std::string& kind) {
    return k == policy::AgentKind::java ? kind == "java" : kind == "native";
}

// The classes a static agent's jar names (Agent-Class, Premain-Class).
std::vector<std::string> classes_of(const daemon::StaticAgent& a) {
    std::vector<std::string> out;
    if (!a.file || !a.file->manifest) return out;
    for (const auto* c : {&a.file->manifest->agent_class, &a.file->manifest->premain_class})
        if (*c && !(*c)->empty()) out.push_back(**c);
    return out;
}

std::optional<std::string> already_present(const policy::Rule& r, const daemon::StaticAgent& a) {
    if (!same_kind(r.agent.kind, a.kind) || !a.file) return std::nullopt;
    const auto& sha = r.agent.content_sha256;
    if (!sha.empty() && a.file->sha256 == sha)
        return describe(a) + " has the rule's agent content (sha256 " + sha + ")";
    for (const auto& c : classes_of(a))
        if (std::find(r.agent.manifest_classes.begin(), r.agent.manifest_classes.end(), c) !=
            r.agent.manifest_classes.end())
            return describe(a) + " names the rule's agent class " + c;
    return std::nullopt;
}

std::optional<std::string> conflicting(const policy::Conflict& c, const std::string& path,
                                       const std::vector<std::string>& classes) {
    if (c.on == policy::Conflict::On::path)
        return c.pattern.matches(path) ? std::optional<std::string>("path") : std::nullopt;
    for (const auto& k : classes)
        if (c.pattern.matches(k)) return "class " + k;
    return std::nullopt;
}

}  // namespace

std::optional<AgentVerdict> check_agents(const policy::Rule& rule, const daemon::AgentInventory& inv) {
    static const std::vector<daemon::StaticAgent> kNone;
    const auto& statics = inv.static_agents ? inv.static_agents->agents : kNone;
    for (const auto& a : statics)
        if (auto how = already_present(rule, a))
            return AgentVerdict{SkipReason::already_present, "statically loaded: " + *how};
    const auto& sha = rule.agent.content_sha256;
    for (const auto& d : inv.dynamic_agents)
        if (same_kind(rule.agent.kind, d.kind) && !sha.empty() && d.sha256 == sha)
            return AgentVerdict{SkipReason::already_present,
                                describe(d) + " has the rule's agent content (sha256 " + sha + ")"};
    for (const auto& c : rule.conflicts) {
        for (const auto& a : statics)
            if (auto how = conflicting(c, a.path, classes_of(a)))
                return AgentVerdict{SkipReason::conflict, describe(a) + " matches conflict \"" +
                                                              c.text + "\" (" + *how + ")"};
        for (const auto& d : inv.dynamic_agents)
            if (auto how = conflicting(c, d.path, {}))
                return AgentVerdict{SkipReason::conflict, describe(d) + " matches conflict \"" +
                                                              c.text + "\" (" + *how + ")"};
    }
    return std::nullopt;
}

bool dynamic_load_warns(const jvm::JvmProcess& j) {
    auto v = policy::parse_jdk_version(j.jdk_version);
    return !v.empty() && v[0] >= 21 && j.flags.enable_dynamic_agent_loading != true;
}

}  // namespace jvmwatch::inject
