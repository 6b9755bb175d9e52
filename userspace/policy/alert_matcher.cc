#include "userspace/policy/alert_matcher.h"

#include <algorithm>

namespace jvmwatch::policy {

namespace {

using nlohmann::json;

const json& field(const json& o, const char* k) {
    static const json kNull;
    if (!o.is_object()) return kNull;
    auto it = o.find(k);
    return it == o.end() ? kNull : *it;
}

std::string text(const json& o, const char* k) {
    const json& v = field(o, k);
    return v.is_string() ? v.get<std::string>() : "";
}

std::optional<int64_t> integer(const json& o, const char* k) {
    const json& v = field(o, k);
    if (v.is_number_integer()) return v.get<int64_t>();
    return std::nullopt;
}

bool flag(const json& o, const char* k) {
    const json& v = field(o, k);
    return v.is_boolean() && v.get<bool>();
}

// An empty list does not constrain; a set one needs a match.
bool any_of(const std::vector<Pattern>& ps, const std::string& s) {
    if (ps.empty()) return true;
    return std::any_of(ps.begin(), ps.end(), [&](const Pattern& p) { return p.matches(s); });
}

bool any_of(const std::vector<Pattern>& ps, const std::vector<std::string>& values) {
    if (ps.empty()) return true;
    for (const auto& v : values)
        for (const auto& p : ps)
            if (p.matches(v)) return true;
    return false;
}

std::vector<std::string> strings(const json& a) {
    std::vector<std::string> out;
    if (a.is_array())
        for (const auto& s : a)
            if (s.is_string()) out.push_back(s.get<std::string>());
    return out;
}

bool user_matches(const std::vector<std::string>& names, const std::vector<uid_t>& uids, const json& who) {
    if (names.empty() && uids.empty()) return true;
    std::string user = text(who, "user");
    if (std::find(names.begin(), names.end(), user) != names.end() && !user.empty()) return true;
    auto uid = integer(who, "uid");
    return uid && std::find(uids.begin(), uids.end(), static_cast<uid_t>(*uid)) != uids.end();
}

bool process_matches(const ProcessMatch& m, const json& p) {
    return any_of(m.exe, text(p, "exe")) && any_of(m.args, strings(field(p, "cmdline"))) &&
           user_matches(m.users, m.uids, p) && any_of(m.cgroup, text(p, "cgroup")) &&
           any_of(m.container, text(p, "container_id"));
}

bool jvm_matches(const JvmMatch& m, const json& j) {
    if (m.jdk && !m.jdk->contains(text(j, "jdk_version"))) return false;
    return any_of(m.main, text(j, "main")) && any_of(m.exe, text(j, "exe")) &&
           user_matches(m.users, m.uids, j) && any_of(m.cgroup, text(j, "cgroup")) &&
           any_of(m.container, text(j, "container_id"));
}

// What a record says of the agent it concerns.
struct AgentFacts {
    bool present = false;
    std::string path;
    std::string sha256;                   // "" when not known
    const json* manifest = nullptr;
    bool jar = false;
};

AgentFacts agent_of(const json& ev, unsigned kind) {
    AgentFacts a;
    if (kind == on_agent_load) {
        a.present = true;
        a.path = text(field(ev, "agent"), "path");
        const json& art = field(ev, "artifact");
        a.sha256 = text(art, "sha256");
        a.jar = text(art, "content") == "jar";   // a file not read tells nothing
        if (field(art, "manifest").is_object()) a.manifest = &field(art, "manifest");
    } else if (kind == on_attach && text(ev, "operation") == "load") {
        // load instrument false <jar>[=<options>], or load <library> <absolute> <options>
        auto args = strings(field(ev, "args"));
        a.present = !args.empty();
        if (a.present && args[0] == "instrument" && args.size() >= 3) {
            a.path = args[2].substr(0, args[2].find('='));
            a.jar = true;
        } else if (a.present) {
            a.path = args[0];
        }
    }
    return a;
}

bool agent_matches(const AgentMatch& m, const json& ev, unsigned kind) {
    if (m.empty()) return true;
    AgentFacts a = agent_of(ev, kind);
    if (!a.present || !any_of(m.path, a.path)) return false;
    if (!m.sha256_allow.empty() && !a.sha256.empty() &&
        std::find(m.sha256_allow.begin(), m.sha256_allow.end(), a.sha256) != m.sha256_allow.end())
        return false;
    if (!m.sha256.empty() &&
        std::find(m.sha256.begin(), m.sha256.end(), a.sha256) == m.sha256.end())
        return false;
    if (!m.agent_class.empty()) {
        if (!a.manifest) return false;
        std::vector<std::string> classes;
        for (const char* k : {"agent_class", "premain_class", "launcher_agent_class"})
            if (auto c = text(*a.manifest, k); !c.empty()) classes.push_back(c);
        if (!any_of(m.agent_class, classes)) return false;
    }
    std::vector<std::string> vendor;
    if (a.manifest)
        for (const char* k : {"implementation_vendor", "implementation_title"})
            if (auto v = text(*a.manifest, k); !v.empty()) vendor.push_back(v);
    if (!m.vendor.empty() && !any_of(m.vendor, vendor)) return false;
    if (m.no_vendor && !(a.jar && vendor.empty())) return false;
    return true;
}

bool holds(const std::optional<bool>& want, bool have) { return !want || *want == have; }

}  // namespace

unsigned record_kind(const json& event) {
    std::string t = text(event, "type");
    if (t == "attach") return on_attach;
    if (t == "agent.load") return on_agent_load;
    if (t == "jvm.dcmd") return on_dcmd;
    return 0;
}

bool matches(const AlertRule& r, const json& ev) {
    const unsigned kind = record_kind(ev);
    if (!(kind & r.on)) return false;
    const json& target = field(ev, kind == on_attach ? "target" : "jvm");
    const json& attacher = field(ev, "attacher");
    if (!r.attacher.empty() && (kind != on_attach || !process_matches(r.attacher, attacher))) return false;
    if (r.except_attacher && kind == on_attach && process_matches(*r.except_attacher, attacher)) return false;
    if (!jvm_matches(r.target, target)) return false;

    std::string op;
    std::vector<std::string> args;
    if (kind == on_attach) {
        op = text(ev, "operation");   // "" when not seen (client side only, no deep mode)
        args = strings(field(ev, "args"));
    } else if (kind == on_dcmd) {
        op = "jcmd";
        args = {text(ev, "command")};
    } else {
        op = "load";
        args = {text(field(ev, "agent"), "path"), text(field(ev, "agent"), "options")};
    }
    if (!r.operation.empty() && (op.empty() || !any_of(r.operation, op))) return false;
    if (!any_of(r.args, args)) return false;
    if (!agent_matches(r.agent, ev, kind)) return false;

    const Conditions& c = r.when;
    if (!holds(c.self_attach, flag(ev, "self_attach"))) return false;
    if (!holds(c.alias, flag(ev, "alias"))) return false;
    if (!holds(c.first_dynamic_agent, flag(ev, "first_dynamic_agent"))) return false;
    if (!holds(c.own, flag(ev, "self"))) return false;
    if (c.cross_boundary) {
        bool crossed = kind == on_attach &&
                       (text(attacher, "container_id") != text(target, "container_id") ||
                        integer(attacher, "uid") != integer(target, "uid"));
        if (*c.cross_boundary != crossed) return false;
    }
    if (!c.origin.empty() &&
        std::find(c.origin.begin(), c.origin.end(), text(ev, "origin")) == c.origin.end())
        return false;
    return true;
}

}  // namespace jvmwatch::policy
