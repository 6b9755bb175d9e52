#include "userspace/policy/alert_rules.h"

#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "userspace/policy/rule_reader.h"

namespace jvmwatch::policy {

std::string_view to_string(Severity s) {
    switch (s) {
    case Severity::info: return "info";
    case Severity::low: return "low";
    case Severity::medium: return "medium";
    case Severity::high: return "high";
    case Severity::critical: return "critical";
    }
    return "?";
}

namespace {

Pattern glob(const char* text) {
    std::string err;
    return *Pattern::glob(text, &err);
}

class AlertParser : RuleReader {
public:
    using RuleReader::RuleReader;
    std::optional<AlertPolicy> policy(const YAML::Node& n);

private:
    std::optional<AlertRule> rule(const YAML::Node& n, size_t index);
    bool process(const YAML::Node& n, const std::string& what, ProcessMatch* m);
    bool jvm(const YAML::Node& n, const std::string& what, JvmMatch* m);
    bool agent(const YAML::Node& n, const std::string& what, AgentMatch* m);
    bool conditions(const YAML::Node& n, const std::string& what, Conditions* c);
    bool users(const YAML::Node& n, const std::string& what, std::vector<std::string>* names,
               std::vector<uid_t>* uids);
    bool strings(const YAML::Node& n, const std::string& what, std::vector<std::string>* out);
    bool hashes(const YAML::Node& n, const std::string& what, std::vector<std::string>* out);
    void flag(const YAML::Node& n, const std::string& what, std::optional<bool>* out) {
        if (auto b = boolean(n, what)) *out = *b;
    }
};

bool AlertParser::strings(const YAML::Node& n, const std::string& what, std::vector<std::string>* out) {
    if (n.IsScalar()) {
        out->push_back(n.Scalar());
        return true;
    }
    if (!n.IsSequence() || n.size() == 0) {
        fail(n, what + ": expected a string or a non-empty list of strings");
        return false;
    }
    bool ok = true;
    for (const auto& e : n) {
        auto s = str(e, what);
        if (s) out->push_back(*s); else ok = false;
    }
    return ok;
}

bool AlertParser::hashes(const YAML::Node& n, const std::string& what, std::vector<std::string>* out) {
    std::vector<std::string> v;
    if (!strings(n, what, &v)) return false;
    for (auto& h : v) {
        std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
        if (h.size() != 64 || h.find_first_not_of("0123456789abcdef") != std::string::npos) {
            fail(n, what + ": \"" + h + "\" is not a sha256 (64 hex digits)");
            return false;
        }
        out->push_back(h);
    }
    return true;
}

// Names stay names (matched against the record's user); numbers are uids.
bool AlertParser::users(const YAML::Node& n, const std::string& what, std::vector<std::string>* names,
                        std::vector<uid_t>* uids) {
    std::vector<std::string> v;
    if (!strings(n, what, &v)) return false;
    for (const auto& s : v) {
        if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 10)
            uids->push_back(static_cast<uid_t>(std::stoul(s)));
        else
            names->push_back(s);
    }
    return true;
}

bool AlertParser::process(const YAML::Node& n, const std::string& what, ProcessMatch* m) {
    if (!is_map(n, what) ||
        !known_keys(n, what, {"exe", "args", "users", "uids", "cgroup", "container"}))
        return false;
    bool ok = true;
    if (n["exe"]) ok &= patterns(n["exe"], what + ".exe", &m->exe);
    if (n["args"]) ok &= patterns(n["args"], what + ".args", &m->args);
    if (n["users"]) ok &= users(n["users"], what + ".users", &m->users, &m->uids);
    if (n["uids"]) ok &= users(n["uids"], what + ".uids", &m->users, &m->uids);
    if (n["cgroup"]) ok &= patterns(n["cgroup"], what + ".cgroup", &m->cgroup);
    if (n["container"]) ok &= patterns(n["container"], what + ".container", &m->container);
    return ok;
}

bool AlertParser::jvm(const YAML::Node& n, const std::string& what, JvmMatch* m) {
    if (!is_map(n, what) ||
        !known_keys(n, what, {"main", "exe", "users", "uids", "cgroup", "container", "jdk"}))
        return false;
    bool ok = true;
    if (n["main"]) ok &= patterns(n["main"], what + ".main", &m->main);
    if (n["exe"]) ok &= patterns(n["exe"], what + ".exe", &m->exe);
    if (n["users"]) ok &= users(n["users"], what + ".users", &m->users, &m->uids);
    if (n["uids"]) ok &= users(n["uids"], what + ".uids", &m->users, &m->uids);
    if (n["cgroup"]) ok &= patterns(n["cgroup"], what + ".cgroup", &m->cgroup);
    if (n["container"]) ok &= patterns(n["container"], what + ".container", &m->container);
    if (n["jdk"]) {
        auto s = str(n["jdk"], what + ".jdk");
        std::string err;
        if (s) m->jdk = VersionRange::parse(*s, &err);
        if (!s || !m->jdk) {
            if (s) fail(n["jdk"], what + ".jdk: " + err);
            ok = false;
        }
    }
    return ok;
}

bool AlertParser::agent(const YAML::Node& n, const std::string& what, AgentMatch* m) {
    if (!is_map(n, what) ||
        !known_keys(n, what, {"path", "sha256", "sha256_allow", "agent_class", "vendor", "no_vendor"}))
        return false;
    bool ok = true;
    if (n["path"]) ok &= patterns(n["path"], what + ".path", &m->path);
    if (n["sha256"]) ok &= hashes(n["sha256"], what + ".sha256", &m->sha256);
    if (n["sha256_allow"]) ok &= hashes(n["sha256_allow"], what + ".sha256_allow", &m->sha256_allow);
    if (n["agent_class"]) ok &= patterns(n["agent_class"], what + ".agent_class", &m->agent_class);
    if (n["vendor"]) ok &= patterns(n["vendor"], what + ".vendor", &m->vendor);
    if (n["no_vendor"]) {
        auto b = boolean(n["no_vendor"], what + ".no_vendor");
        if (b) m->no_vendor = *b; else ok = false;
    }
    return ok;
}

bool AlertParser::conditions(const YAML::Node& n, const std::string& what, Conditions* c) {
    if (!is_map(n, what) ||
        !known_keys(n, what, {"self_attach", "alias", "first_dynamic_agent", "cross_boundary", "own",
                              "origin"}))
        return false;
    size_t before = errors_->size();
    if (n["self_attach"]) flag(n["self_attach"], what + ".self_attach", &c->self_attach);
    if (n["alias"]) flag(n["alias"], what + ".alias", &c->alias);
    if (n["first_dynamic_agent"])
        flag(n["first_dynamic_agent"], what + ".first_dynamic_agent", &c->first_dynamic_agent);
    if (n["cross_boundary"]) flag(n["cross_boundary"], what + ".cross_boundary", &c->cross_boundary);
    if (n["own"]) flag(n["own"], what + ".own", &c->own);
    if (n["origin"] && strings(n["origin"], what + ".origin", &c->origin)) {
        static const std::set<std::string> kOrigins = {"attach", "jmx", "internal", "in_process"};
        for (const auto& o : c->origin)
            if (!kOrigins.count(o)) fail(n["origin"], what + ".origin: unknown origin \"" + o + "\"");
    }
    return errors_->size() == before;
}

std::optional<AlertRule> AlertParser::rule(const YAML::Node& n, size_t index) {
    const std::string what = "alerts.rules[" + std::to_string(index) + "]";
    if (!is_map(n, what) ||
        !known_keys(n, what, {"name", "severity", "on", "attacher", "except_attacher", "target",
                              "operation", "args", "agent", "when", "dedup_s", "max_per_minute"}))
        return std::nullopt;
    size_t before = errors_->size();
    AlertRule r;
    r.line = n.Mark().line + 1;
    rule_name(n, what, &r.name);
    rule_severity(n, what, &r.severity);
    if (n["on"]) {
        std::vector<std::string> kinds;
        r.on = 0;
        if (strings(n["on"], what + ".on", &kinds))
            for (const auto& k : kinds) {
                if (k == "attach") r.on |= on_attach;
                else if (k == "agent_load") r.on |= on_agent_load;
                else if (k == "dcmd") r.on |= on_dcmd;
                else fail(n["on"], what + ".on: expected attach, agent_load or dcmd, not \"" + k + "\"");
            }
    }
    if (n["attacher"]) process(n["attacher"], what + ".attacher", &r.attacher);
    if (n["except_attacher"]) {
        ProcessMatch m;
        if (process(n["except_attacher"], what + ".except_attacher", &m)) r.except_attacher = std::move(m);
    }
    if (n["target"]) jvm(n["target"], what + ".target", &r.target);
    if (n["operation"]) patterns(n["operation"], what + ".operation", &r.operation);
    if (n["args"]) patterns(n["args"], what + ".args", &r.args);
    if (n["agent"]) agent(n["agent"], what + ".agent", &r.agent);
    if (n["when"]) conditions(n["when"], what + ".when", &r.when);
    if (n["dedup_s"]) if (auto v = uint(n["dedup_s"], what + ".dedup_s", 0, 86400)) r.dedup_s = *v;
    if (n["max_per_minute"])
        if (auto v = uint(n["max_per_minute"], what + ".max_per_minute", 1, 100000)) r.max_per_minute = *v;
    if (!r.attacher.empty() && r.on != on_attach)
        fail(n["attacher"], what + ".attacher: only attach records name an attacher (on: attach)");
    if (r.except_attacher && r.on != on_attach)
        fail(n["except_attacher"], what + ".except_attacher: only attach records name an attacher (on: attach)");
    if (errors_->size() != before) return std::nullopt;
    return r;
}

std::optional<AlertPolicy> AlertParser::policy(const YAML::Node& n) {
    AlertPolicy p;
    bool defaults = true;
    std::vector<std::string> disabled;
    if (n && !n.IsNull()) {
        if (!is_map(n, "alerts") || !known_keys(n, "alerts", {"defaults", "disable", "rules", "deny"}))
            return std::nullopt;
        if (n["defaults"])
            if (auto b = boolean(n["defaults"], "alerts.defaults")) defaults = *b;
        const YAML::Node& off = n["disable"];
        if (off && !(off.IsSequence() && off.size() == 0)) strings(off, "alerts.disable", &disabled);
        std::set<std::string> builtin;
        for (const auto& r : default_alert_rules()) builtin.insert(r.name);
        for (const auto& d : disabled)
            if (!builtin.count(d)) fail(n["disable"], "alerts.disable: no default rule named \"" + d + "\"");
    }
    if (defaults)
        for (auto& r : default_alert_rules())
            if (std::find(disabled.begin(), disabled.end(), r.name) == disabled.end())
                p.rules.push_back(std::move(r));
    std::set<std::string> names;
    for (const auto& r : p.rules) names.insert(r.name);
    if (n && !n.IsNull() && n["rules"]) {
        const YAML::Node& rules = n["rules"];
        if (!rules.IsSequence()) {
            fail(rules, "alerts.rules: expected a list");
        } else {
            for (size_t i = 0; i < rules.size(); ++i) {
                auto r = rule(rules[i], i);
                if (!r) continue;
                if (!names.insert(r->name).second)
                    fail(rules[i], "alerts.rules[" + std::to_string(i) + "]: the name \"" + r->name +
                                       "\" is used already");
                else
                    p.rules.push_back(std::move(*r));
            }
        }
    }
    if (n && !n.IsNull() && n["deny"]) {
        parse_deny_rules(n["deny"], file_, &p.deny, errors_);
        for (const auto& d : p.deny)
            if (names.count(d.name))
                fail(n["deny"], "alerts.deny: the name \"" + d.name + "\" is an alert rule's already");
    }
    if (!errors_->empty()) return std::nullopt;
    return p;
}

}  // namespace

std::vector<AlertRule> default_alert_rules() {
    std::vector<AlertRule> v;
    auto add = [&](const char* name, unsigned on, Severity sev) -> AlertRule& {
        AlertRule r;
        r.name = name;
        r.builtin = true;
        r.on = on;
        r.severity = sev;
        v.push_back(std::move(r));
        return v.back();
    };
    // A JVM that loads an agent into itself (-Djdk.attach.allowAttachSelf, or a child it
    // started): the pattern of in-memory webshell loaders.
    add("self-attach-agent-load", on_attach, Severity::high).operation = {glob("load")};
    v.back().when.self_attach = true;
    // The JVM read a request from a process that never connected to its .java_pid name.
    add("attach-through-alias", on_attach, Severity::high).when.alias = true;
    // An agent loaded by anything but jvmwatchd into a JVM of another container or user.
    AlertRule& cross = add("agent-across-boundary", on_attach, Severity::high);
    cross.operation = {glob("load")};
    cross.when.cross_boundary = true;
    cross.when.own = false;
    // The first agent of a JVM that had none, from a jar naming no vendor.
    AlertRule& anon = add("anonymous-first-agent", on_agent_load, Severity::medium);
    anon.agent.no_vendor = true;
    anon.when.first_dynamic_agent = true;
    return v;
}

std::optional<AlertPolicy> parse_alert_policy(const YAML::Node& alerts, const std::string& file,
                                              std::vector<std::string>* errors) {
    std::vector<std::string> local;
    return AlertParser(file, errors ? errors : &local).policy(alerts);
}

}  // namespace jvmwatch::policy
