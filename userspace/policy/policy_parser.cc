#include "userspace/policy/policy_parser.h"

#include <pwd.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "userspace/artifacts/jar_manifest.h"
#include "userspace/policy/agent_file_check.h"
#include "userspace/policy/yaml_reader.h"

namespace jvmwatch::policy {

namespace {

class Parser : YamlReader {
public:
    Parser(std::string file, std::vector<std::string>* errors, const ParseOptions& o)
        : YamlReader(std::move(file), errors), opts_(o) {}

    std::optional<Policy> policy(const YAML::Node& n);
    std::optional<Matcher> matcher(const YAML::Node& n, const std::string& what);

private:
    std::optional<Agent> agent(const YAML::Node& n, const std::string& what);
    std::optional<When> when(const YAML::Node& n, const std::string& what);
    bool conflicts(const YAML::Node& n, const std::string& what, std::vector<Conflict>* out);
    std::optional<Rule> rule(const YAML::Node& n, size_t index, bool default_existing);

    ParseOptions opts_;
    std::string state_dir_ = Policy{}.state_dir;  // known before the rules are parsed
};

std::optional<Matcher> Parser::matcher(const YAML::Node& n, const std::string& what) {
    if (!is_map(n, what)) return std::nullopt;
    bool ok = known_keys(n, what, {"main", "args", "exe", "user", "uid", "cgroup", "container",
                                   "env", "jdk", "flags"});
    Matcher m;
    m.line = n.Mark().line + 1;
    for (auto it = n.begin(); it != n.end(); ++it) {
        const auto key = it->first.Scalar();
        const YAML::Node v = it->second;
        const std::string w = what + "." + key;
        if (key == "main") ok &= patterns(v, w, &m.main);
        else if (key == "args") ok &= patterns(v, w, &m.args);
        else if (key == "exe") ok &= patterns(v, w, &m.exe);
        else if (key == "cgroup") ok &= patterns(v, w, &m.cgroup);
        else if (key == "container") ok &= patterns(v, w, &m.container);
        else if (key == "user" || key == "uid" || key == "flags") {
            std::vector<YAML::Node> items;
            if (v.IsSequence()) for (auto x : v) items.push_back(x); else items.push_back(v);
            if (items.empty()) { fail(v, w + ": empty list"); ok = false; }
            for (auto& x : items) {
                if (key == "uid") {
                    auto u = uint(x, w, 0, 0xfffffffe);
                    if (u) m.uids.push_back(*u); else ok = false;
                } else if (auto s = str(x, w)) {
                    (key == "user" ? m.users : m.flags).push_back(*s);
                    if (key == "flags" && (s->empty() || (*s)[0] != '-')) {
                        fail(x, w + ": \"" + *s + "\" is not a JVM option (must start with -)");
                        ok = false;
                    }
                } else {
                    ok = false;
                }
            }
        } else if (key == "env") {
            std::vector<YAML::Node> items;
            if (v.IsSequence()) for (auto x : v) items.push_back(x); else items.push_back(v);
            for (auto& x : items) {
                EnvMatch e;
                if (x.IsScalar()) {
                    e.name = x.Scalar();
                } else if (is_map(x, w) && known_keys(x, w, {"name", "value"})) {
                    if (!x["name"]) { fail(x, w + ": missing \"name\""); ok = false; continue; }
                    auto name = str(x["name"], w + ".name");
                    if (!name) { ok = false; continue; }
                    e.name = *name;
                    if (x["value"]) {
                        e.value = pattern(x["value"], w + ".value");
                        if (!e.value) { ok = false; continue; }
                    }
                } else {
                    ok = false;
                    continue;
                }
                if (e.name.empty() || e.name.find('=') != std::string::npos) {
                    fail(x, w + ": bad variable name \"" + e.name + "\"");
                    ok = false;
                    continue;
                }
                m.env.push_back(std::move(e));
            }
        } else if (key == "jdk") {
            auto s = str(v, w);
            if (!s) { ok = false; continue; }
            std::string e;
            m.jdk = VersionRange::parse(*s, &e);
            if (!m.jdk) { fail(v, w + ": " + e); ok = false; }
        }
    }
    if (!ok) return std::nullopt;
    return m;
}

std::optional<Agent> Parser::agent(const YAML::Node& n, const std::string& what) {
    if (!is_map(n, what) || !known_keys(n, what, {"jar", "native", "options", "sha256"}))
        return std::nullopt;
    Agent a;
    if (n["jar"] && n["native"]) { fail(n, what + ": give either jar or native, not both"); return std::nullopt; }
    if (!n["jar"] && !n["native"]) { fail(n, what + ": missing \"jar\" or \"native\""); return std::nullopt; }
    a.kind = n["jar"] ? AgentKind::java : AgentKind::native;
    const YAML::Node pn = n["jar"] ? n["jar"] : n["native"];
    auto path = str(pn, what + (n["jar"] ? ".jar" : ".native"));
    if (!path) return std::nullopt;
    a.path = *path;
    if (n["options"]) {
        auto o = str(n["options"], what + ".options");
        if (!o) return std::nullopt;
        a.options = *o;
        // The v1 protocol carries "<jar>=<options>" in one 1024-byte argument, and the
        // JVM is given the agent store's copy (STATE_DIR/agents/<sha256>.jar) or a staged
        // one (/tmp/.jvmwatch-agent-<32 hex>.jar), never this path.
        const size_t ext = a.kind == AgentKind::java ? 4 : 3;
        size_t given = std::max(state_dir_.size() + 8 + 64 + ext, size_t{21 + 32} + ext);
        if (given + 1 + a.options.size() > 1024) {
            fail(n["options"], what + ".options: the agent path given to the JVM (" +
                                   std::to_string(given) + " bytes) and options exceed 1024 bytes");
            return std::nullopt;
        }
    }
    if (n["sha256"]) {
        auto s = str(n["sha256"], what + ".sha256");
        if (!s) return std::nullopt;
        std::string lower;
        for (char c : *s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.size() != 64 || lower.find_first_not_of("0123456789abcdef") != std::string::npos) {
            fail(n["sha256"], what + ".sha256: expected 64 hex digits");
            return std::nullopt;
        }
        a.sha256 = lower;
    }
    if (opts_.check_agent_files) {
        std::string e;
        auto src = open_agent_source(a.path, a.sha256, opts_.trusted_uid, &e);
        if (!src) {
            fail(pn, what + ": " + e);
            return std::nullopt;
        }
        a.content_sha256 = src->sha256;
        // The classes it names, from the fd that was checked and hashed.  A jar without
        // a readable manifest is still loadable to the parser; the JVM will say.
        if (a.kind == AgentKind::java) {
            if (auto m = artifacts::read_jar_manifest(src->fd.get(), src->size, {}, &e)) {
                for (const auto* c : {&m->agent_class, &m->premain_class})
                    if (*c && !(*c)->empty() &&
                        std::find(a.manifest_classes.begin(), a.manifest_classes.end(), **c) ==
                            a.manifest_classes.end())
                        a.manifest_classes.push_back(**c);
            }
        }
    }
    return a;
}

std::optional<When> Parser::when(const YAML::Node& n, const std::string& what) {
    When w;
    if (n.IsScalar()) {
        if (n.Scalar() == "early") return w;
        fail(n, what + ": expected early, {delay_ms: N} or {milestone: NAME}");
        return std::nullopt;
    }
    if (!is_map(n, what) || !known_keys(n, what, {"delay_ms", "milestone"})) return std::nullopt;
    if (n.size() != 1) { fail(n, what + ": give one of delay_ms or milestone"); return std::nullopt; }
    if (n["delay_ms"]) {
        auto d = uint(n["delay_ms"], what + ".delay_ms", 0, 3600 * 1000);
        if (!d) return std::nullopt;
        w.kind = When::Kind::delay;
        w.delay_ms = *d;
        return w;
    }
    auto m = str(n["milestone"], what + ".milestone");
    if (!m) return std::nullopt;
    w.kind = When::Kind::milestone;
    if (*m == "main") w.milestone = Milestone::main;
    else if (*m == "attach_listener") w.milestone = Milestone::attach_listener;
    else if (*m == "signal_dispatch") w.milestone = Milestone::signal_dispatch;
    else {
        fail(n["milestone"], what + ".milestone: unknown milestone \"" + *m +
                                 "\" (expected main, attach_listener or signal_dispatch)");
        return std::nullopt;
    }
    return w;
}

// A list of "GLOB" (the agent's path) and "class:GLOB" (its Agent-Class or Premain-Class).
bool Parser::conflicts(const YAML::Node& n, const std::string& what, std::vector<Conflict>* out) {
    std::vector<YAML::Node> items;
    if (n.IsSequence()) for (auto x : n) items.push_back(x); else items.push_back(n);
    if (items.empty()) { fail(n, what + ": empty list"); return false; }
    bool ok = true;
    for (auto& x : items) {
        auto s = str(x, what);
        if (!s) { ok = false; continue; }
        Conflict::On on = Conflict::On::path;
        std::string text = *s;
        if (text.rfind("class:", 0) == 0) {
            on = Conflict::On::agent_class;
            text = text.substr(6);
        } else if (text.empty() || (text[0] != '/' && text[0] != '*')) {
            fail(x, what + ": \"" + *s + "\" is neither a path glob (starting with / or *) nor "
                                          "class:GLOB");
            ok = false;
            continue;
        }
        if (text.empty()) { fail(x, what + ": \"" + *s + "\": empty pattern"); ok = false; continue; }
        std::string e;
        auto p = Pattern::glob(text, &e);
        if (!p) { fail(x, what + ": " + e); ok = false; continue; }
        out->push_back(Conflict{on, std::move(*p), *s});
    }
    return ok;
}

std::optional<Rule> Parser::rule(const YAML::Node& n, size_t index, bool default_existing) {
    std::string what = "inject.rules[" + std::to_string(index) + "]";
    if (!is_map(n, what)) return std::nullopt;
    bool ok = known_keys(n, what, {"name", "match", "exclude", "agent", "when", "retries",
                                   "backoff_ms", "timeout_ms", "include_existing", "conflicts",
                                   "on_dynamic_load_warning"});
    Rule r;
    r.line = n.Mark().line + 1;
    r.include_existing = default_existing;
    if (!n["name"]) { fail(n, what + ": missing \"name\""); ok = false; }
    else if (auto s = str(n["name"], what + ".name")) {
        r.name = *s;
        if (r.name.empty()) { fail(n["name"], what + ".name: empty"); ok = false; }
        what = "rule \"" + r.name + "\"";
    } else ok = false;
    if (n["match"]) {
        auto m = matcher(n["match"], what + ".match");
        if (m) r.match = std::move(*m); else ok = false;
    }
    if (n["exclude"]) {
        const YAML::Node ex = n["exclude"];
        std::vector<YAML::Node> items;
        if (ex.IsSequence()) for (auto x : ex) items.push_back(x); else items.push_back(ex);
        for (auto& x : items) {
            auto m = matcher(x, what + ".exclude");
            if (m && m->empty()) {
                fail(x, what + ".exclude: an empty matcher would exclude every JVM");
                ok = false;
            } else if (m) {
                r.exclude.push_back(std::move(*m));
            } else {
                ok = false;
            }
        }
    }
    if (!n["agent"]) { fail(n, what + ": missing \"agent\""); ok = false; }
    else if (auto a = agent(n["agent"], what + ".agent")) r.agent = std::move(*a);
    else ok = false;
    if (n["when"]) {
        auto w = when(n["when"], what + ".when");
        if (w) r.when = *w; else ok = false;
    }
    auto set_uint = [&](const char* k, uint32_t* dst, uint64_t lo, uint64_t hi) {
        if (!n[k]) return;
        auto v = uint(n[k], what + "." + k, lo, hi);
        if (v) *dst = *v; else ok = false;
    };
    set_uint("retries", &r.retries, 0, 100);
    set_uint("backoff_ms", &r.backoff_ms, 0, 600000);
    set_uint("timeout_ms", &r.timeout_ms, 100, 600000);
    if (n["include_existing"]) {
        auto b = boolean(n["include_existing"], what + ".include_existing");
        if (b) r.include_existing = *b; else ok = false;
    }
    if (n["conflicts"]) ok &= conflicts(n["conflicts"], what + ".conflicts", &r.conflicts);
    if (n["on_dynamic_load_warning"]) {
        auto s = str(n["on_dynamic_load_warning"], what + ".on_dynamic_load_warning");
        if (s && *s == "load") r.on_dynamic_load_warning = OnDynamicLoadWarning::load;
        else if (s && *s == "skip") r.on_dynamic_load_warning = OnDynamicLoadWarning::skip;
        else {
            if (s) fail(n["on_dynamic_load_warning"], what + ".on_dynamic_load_warning: \"" + *s +
                                                          "\" (expected load or skip)");
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return r;
}

std::optional<Policy> Parser::policy(const YAML::Node& n) {
    Policy p;
    p.file = file_;
    if (!n || n.IsNull()) return p;
    if (!is_map(n, "inject")) return std::nullopt;
    bool ok = known_keys(n, "inject", {"dry_run", "max_in_flight", "rate_limit",
                                       "include_existing", "state_dir", "rules"});
    if (n["dry_run"]) {
        auto b = boolean(n["dry_run"], "inject.dry_run");
        if (b) p.dry_run = *b; else ok = false;
    }
    if (n["max_in_flight"]) {
        auto v = uint(n["max_in_flight"], "inject.max_in_flight", 1, 64);
        if (v) p.max_in_flight = *v; else ok = false;
    }
    if (n["rate_limit"]) {
        auto v = number(n["rate_limit"], "inject.rate_limit");
        if (v && *v <= 0) { fail(n["rate_limit"], "inject.rate_limit: must be > 0 (attaches per second)"); ok = false; }
        else if (v) p.rate_limit = *v; else ok = false;
    }
    if (n["include_existing"]) {
        auto b = boolean(n["include_existing"], "inject.include_existing");
        if (b) p.include_existing = *b; else ok = false;
    }
    if (n["state_dir"]) {
        auto s = str(n["state_dir"], "inject.state_dir");
        if (s && (s->empty() || (*s)[0] != '/')) { fail(n["state_dir"], "inject.state_dir: must be an absolute path"); ok = false; }
        else if (s) p.state_dir = state_dir_ = *s; else ok = false;
    }
    if (n["rules"]) {
        const YAML::Node rules = n["rules"];
        if (!rules.IsSequence() && !rules.IsNull()) {
            fail(rules, "inject.rules: expected a list");
            ok = false;
        } else {
            std::set<std::string> names;
            for (size_t i = 0; i < rules.size(); ++i) {
                auto r = rule(rules[i], i, p.include_existing);
                if (!r) { ok = false; continue; }
                if (!names.insert(r->name).second) {
                    fail(rules[i]["name"], "rule \"" + r->name + "\": duplicate rule name");
                    ok = false;
                    continue;
                }
                p.rules.push_back(std::move(*r));
            }
        }
    }
    if (!ok) return std::nullopt;
    return p;
}

}  // namespace

std::optional<Policy> parse_policy(const YAML::Node& inject, const std::string& file,
                                   std::vector<std::string>* errors, const ParseOptions& opts) {
    size_t before = errors->size();
    auto p = Parser(file, errors, opts).policy(inject);
    if (p && errors->size() != before) return std::nullopt;
    if (!p && errors->size() == before) errors->push_back(file + ": invalid inject section");
    return p;
}

std::optional<Matcher> parse_matcher(const YAML::Node& n, const std::string& what,
                                     const std::string& file, std::vector<std::string>* errors) {
    return Parser(file, errors, ParseOptions{}).matcher(n, what);
}

std::optional<Policy> load_policy_file(const std::string& file, std::vector<std::string>* errors,
                                       const ParseOptions& opts) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(file);
    } catch (const YAML::BadFile&) {
        errors->push_back(file + ": cannot read the file");
        return std::nullopt;
    } catch (const YAML::ParserException& e) {
        errors->push_back(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
        return std::nullopt;
    }
    if (root && !root.IsNull() && !root.IsMap()) {
        errors->push_back(file + ":" + std::to_string(root.Mark().line + 1) +
                          ": expected a mapping at the top level");
        return std::nullopt;
    }
    return parse_policy(root ? root["inject"] : YAML::Node(), file, errors, opts);
}

}  // namespace jvmwatch::policy
