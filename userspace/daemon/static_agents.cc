#include "userspace/daemon/static_agents.h"

#include <string_view>

#include "attach/jvm_process.h"

namespace jvmwatch::daemon {

namespace {

// Launcher options whose value is the next argument (it does not start the program).
bool takes_value(std::string_view a) {
    for (std::string_view o : {"-cp", "-classpath", "--class-path", "-p", "--module-path",
                               "--add-modules", "--upgrade-module-path", "--limit-modules",
                               "--add-opens", "--add-exports", "--add-reads", "--patch-module",
                               "--enable-native-access"})
        if (a == o) return true;
    return false;
}

// Cut at `max` bytes, not inside a UTF-8 sequence.
std::string cut(std::string_view s, size_t max) {
    if (s.size() <= max) return std::string(s);
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n));
}

// Adds `a` if it is an agent option.
void add_if_agent(std::string_view a, const char* source, StaticAgents& out) {
    static constexpr struct { std::string_view prefix; const char* kind; } kinds[] = {
        {"-javaagent:", "java"}, {"-agentpath:", "native"}, {"-agentlib:", "lib"}};
    for (const auto& k : kinds) {
        if (!a.starts_with(k.prefix)) continue;
        if (out.agents.size() >= kMaxStaticAgents) {
            ++out.dropped;
            return;
        }
        std::string_view spec = a.substr(k.prefix.size());
        StaticAgent s;
        s.kind = k.kind;
        s.source = source;
        size_t eq = spec.find('=');
        std::string_view path = spec.substr(0, eq);
        s.path = cut(path, kMaxAgentPath);
        if (path.size() > kMaxAgentPath) s.why = "path too long";
        if (eq != std::string_view::npos) {
            s.has_options = true;
            s.options = cut(spec.substr(eq + 1), kMaxAgentOptions);
        }
        if (s.path.empty()) s.why = "no path";
        out.agents.push_back(std::move(s));
        return;
    }
}

void add_from_env(const std::vector<std::string>& environ, const char* name, StaticAgents& out) {
    if (auto v = jvm::env_value(environ, std::string(name) + "="))
        for (const auto& a : jvm::split_java_options(*v)) add_if_agent(a, name, out);
}

void add_from_cmdline(const std::vector<std::string>& cmdline, StaticAgents& out) {
    for (size_t i = 1; i < cmdline.size(); ++i) {
        std::string_view a = cmdline[i];
        if (a.empty() || a[0] != '-' || a == "-jar" || a == "-m" || a == "--module" ||
            a.starts_with("--module="))
            break;   // the main class, jar or module: the program's own arguments follow
        if (takes_value(a)) {
            ++i;
            continue;
        }
        add_if_agent(a, "cmdline", out);
    }
}

}  // namespace

StaticAgents parse_static_agents(const std::vector<std::string>& cmdline) {
    StaticAgents out;
    add_from_cmdline(cmdline, out);
    return out;
}

StaticAgents parse_static_agents(const std::vector<std::string>& cmdline,
                                 const std::vector<std::string>& environ) {
    StaticAgents out;
    add_from_env(environ, "JAVA_TOOL_OPTIONS", out);
    // The launcher puts JDK_JAVA_OPTIONS ahead of its own arguments (not shown in cmdline).
    if (!cmdline.empty()) {
        std::string_view exe = cmdline[0];
        if (exe.substr(exe.rfind('/') + 1) == "java") add_from_env(environ, "JDK_JAVA_OPTIONS", out);
    }
    add_from_cmdline(cmdline, out);
    add_from_env(environ, "_JAVA_OPTIONS", out);
    return out;
}

void inspect_static_agents(const std::string& proc_root, pid_t pid, StaticAgents& agents,
                           const artifacts::ArtifactLimits& limits,
                           artifacts::EvidenceStore* evidence) {
    artifacts::ProcessFiles files(proc_root, pid);
    uint64_t budget = limits.max_hash_bytes;
    for (auto& a : agents.agents) {
        if (a.kind == "lib" || !a.why.empty()) continue;   // a name, or already refused
        artifacts::ArtifactLimits l = limits;
        l.max_hash_bytes = budget;
        a.file = artifacts::inspect_agent(files, a.path, l, evidence);
        if (a.file->why == "too large to hash" && budget < limits.max_hash_bytes)
            a.file->why = "hash budget spent";
        if (!a.file->sha256.empty()) budget -= std::min(budget, a.file->size);
    }
}

nlohmann::json static_agents_json(const StaticAgents& a) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : a.agents) {
        nlohmann::json o = s.file ? artifacts::artifact_json(*s.file) : nlohmann::json::object();
        o["kind"] = s.kind;
        o["path"] = s.path;
        o["source"] = s.source;
        if (s.has_options) o["options"] = s.options;
        if (!s.why.empty()) o["why"] = s.why;
        out.push_back(std::move(o));
    }
    return out;
}

}  // namespace jvmwatch::daemon
