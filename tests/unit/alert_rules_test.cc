// Alert rules: the `alerts:` parser, matching on audit records, and the engine's
// deduplication, rate limit and reload.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "tests/common/support.h"
#include "tests/unit/daemon_test_support.h"
#include "userspace/alert/alert_engine.h"
#include "userspace/policy/alert_matcher.h"
#include "userspace/policy/alert_rules.h"

namespace jvmwatch {
namespace {

using nlohmann::json;
using policy::AlertPolicy;

std::optional<AlertPolicy> parse(const std::string& yaml, std::vector<std::string>* errors = nullptr) {
    std::vector<std::string> local;
    return policy::parse_alert_policy(YAML::Load(yaml)["alerts"], "cfg.yaml", errors ? errors : &local);
}

std::vector<std::string> names(const AlertPolicy& p) {
    std::vector<std::string> v;
    for (const auto& r : p.rules) v.push_back(r.name);
    return v;
}

json attach_record(json extra = json::object()) {
    json a = {{"type", "attach"},
              {"attacher", {{"pid", 77}, {"comm", "jattach"}, {"exe", "/usr/bin/jattach"}, {"uid", 0},
                            {"user", "root"}, {"cmdline", {"jattach", "42", "load"}}, {"container_id", ""}}},
              {"target", {{"pid", 42}, {"start_time_ticks", 9}, {"uid", 1000}, {"user", "app"},
                          {"main", "org.apache.catalina.startup.Bootstrap"}, {"container_id", ""},
                          {"jdk_version", "17.0.15"}}},
              {"self", false}, {"alias", false}, {"self_attach", false},
              {"operation", "load"}, {"args", {"instrument", "false", "/tmp/shell.jar=x"}}};
    a.update(extra);
    return a;
}

json agent_load(json extra = json::object()) {
    json a = {{"type", "agent.load"},
              {"jvm", {{"pid", 42}, {"start_time_ticks", 9}, {"uid", 1000}, {"user", "app"}, {"main", "App"}}},
              {"agent", {{"kind", "java"}, {"path", "/tmp/shell.jar"}, {"options", "x"}}},
              {"origin", "attach"}, {"first_dynamic_agent", true},
              {"artifact", {{"sha256", std::string(64, 'a')}, {"content", "jar"},
                            {"manifest", {{"agent_class", "mem.Shell"}}}}}};
    a.update(extra);
    return a;
}

// What the engine passes on (records here are partial: not schema-checked).
class Collect : public audit::EventSink {
public:
    void emit(json ev) override { events_.push_back(std::move(ev)); }
    const std::vector<json>& events() const { return events_; }
    std::vector<json> of_type(const std::string& t) const {
        std::vector<json> out;
        for (const auto& e : events_)
            if (e["type"] == t) out.push_back(e);
        return out;
    }
private:
    std::vector<json> events_;
};

// An alert with the envelope the audit sink adds, against docs/events.schema.json.
void expect_valid_alert(json a) {
    a["v"] = 1;
    a["seq"] = 1;
    a["time"] = "2026-12-03T06:00:00.000000000Z";
    a["host"] = "h";
    test::expect_valid_event(a);
}

const policy::AlertRule& rule(const AlertPolicy& p, const std::string& name) {
    for (const auto& r : p.rules)
        if (r.name == name) return r;
    throw std::runtime_error("no rule " + name);
}

TEST(AlertRules, DefaultsAreOnAndEachCanBeTurnedOff) {
    auto p = parse("x: 1");
    ASSERT_TRUE(p);
    EXPECT_EQ(names(*p), (std::vector<std::string>{"self-attach-agent-load", "attach-through-alias",
                                                   "agent-across-boundary", "anonymous-first-agent"}));
    p = parse("alerts:\n  disable: [attach-through-alias]\n");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->rules.size(), 3u);
    p = parse("alerts:\n  defaults: false\n");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->rules.empty());
}

TEST(AlertRules, BadRulesSayFileLineAndWhy) {
    struct Case { const char* yaml; const char* says; };
    const Case cases[] = {
        {"alerts:\n  rules:\n    - name: a\n      severity: urgent\n", "cfg.yaml:4: alerts.rules[0].severity"},
        {"alerts:\n  rules:\n    - name: a\n      agent: {sha256: [abc]}\n", "is not a sha256"},
        {"alerts:\n  rules:\n    - name: a\n      on: agent_load\n      attacher: {exe: x}\n", "only attach records"},
        {"alerts:\n  rules:\n    - name: a\n      colour: red\n", "unknown key \"colour\""},
        {"alerts:\n  rules:\n    - severity: high\n", "needs a name"},
        {"alerts:\n  rules:\n    - name: a\n    - name: a\n", "used already"},
        {"alerts:\n  rules:\n    - name: !!str\n", "cfg.yaml:3: alerts.rules[0].name: \"\": 1-64 of"},
        {"alerts:\n  rules:\n    - name: \"a b\\n\"\n", "alerts.rules[0].name"},
        {"alerts:\n  disable: [no-such-rule]\n", "no default rule named"},
        {"alerts:\n  rules:\n    - name: a\n      when: {origin: [ftp]}\n", "unknown origin"},
        {"alerts:\n  rules:\n    - name: a\n      target: {jdk: \"banana\"}\n", "alerts.rules[0].target.jdk"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> errors;
        EXPECT_FALSE(parse(c.yaml, &errors)) << c.yaml;
        ASSERT_FALSE(errors.empty()) << c.yaml;
        EXPECT_NE(errors.front().find(c.says), std::string::npos) << errors.front();
    }
}

TEST(AlertRules, DefaultRulesHoldForWhatTheySay) {
    auto p = parse("x: 1");
    ASSERT_TRUE(p);
    // Self-attach load.
    EXPECT_TRUE(matches(rule(*p, "self-attach-agent-load"), attach_record({{"self_attach", true}})));
    EXPECT_FALSE(matches(rule(*p, "self-attach-agent-load"), attach_record()));
    EXPECT_FALSE(matches(rule(*p, "self-attach-agent-load"),
                         attach_record({{"self_attach", true}, {"operation", "properties"}})));
    // Alias, whatever the operation (or none seen).
    EXPECT_TRUE(matches(rule(*p, "attach-through-alias"), attach_record({{"alias", true}, {"operation", "jcmd"}})));
    EXPECT_FALSE(matches(rule(*p, "attach-through-alias"), attach_record()));
    // Root's jattach loading into uid 1000's JVM crosses a boundary; jvmwatchd's own does not count.
    EXPECT_TRUE(matches(rule(*p, "agent-across-boundary"), attach_record()));
    EXPECT_FALSE(matches(rule(*p, "agent-across-boundary"), attach_record({{"self", true}})));
    json same = attach_record();
    same["attacher"]["uid"] = 1000;
    EXPECT_FALSE(matches(rule(*p, "agent-across-boundary"), same));
    same["attacher"]["container_id"] = "0123456789ab";
    EXPECT_TRUE(matches(rule(*p, "agent-across-boundary"), same)) << "another container";
    // A first agent from a jar naming no vendor.
    EXPECT_TRUE(matches(rule(*p, "anonymous-first-agent"), agent_load()));
    json vendor = agent_load();
    vendor["artifact"]["manifest"]["implementation_vendor"] = "Datadog";
    EXPECT_FALSE(matches(rule(*p, "anonymous-first-agent"), vendor));
    EXPECT_FALSE(matches(rule(*p, "anonymous-first-agent"), agent_load({{"first_dynamic_agent", false}})));
    json native = agent_load({{"agent", {{"kind", "native"}, {"path", "/x.so"}, {"options", ""}}}});
    native["artifact"] = {{"content", "native"}};
    EXPECT_FALSE(matches(rule(*p, "anonymous-first-agent"), native)) << "not a jar";
    // A rule for attach records ignores agent loads.
    EXPECT_FALSE(matches(rule(*p, "self-attach-agent-load"), agent_load()));
}

TEST(AlertRules, UserRulesMatchAttacherTargetOperationArgsAndAgent) {
    auto p = parse(R"(alerts:
  defaults: false
  rules:
    - name: jattach-dumpheap
      severity: critical
      attacher: {exe: "*/jattach", users: [root]}
      target: {main: "org.apache.*", users: [app], jdk: ">=11"}
      operation: [dumpheap]
      args: ["/tmp/*"]
    - name: denied-hash
      on: [agent_load]
      agent: {sha256: [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]}
    - name: not-approved
      on: agent_load
      agent: {sha256_allow: [bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb]}
    - name: memshell-class
      on: [agent_load]
      agent: {agent_class: {regex: "(?i)shell"}}
    - name: jmx-loads
      on: [agent_load, dcmd]
      when: {origin: [jmx]}
    - name: unapproved-attacher
      except_attacher: {exe: "/usr/lib/jvm/*/bin/jcmd"}
      when: {own: false}
    - name: agent-load-command
      on: [attach, dcmd]
      operation: jcmd
      args: ["JVMTI.agent_load*"]
)");
    ASSERT_TRUE(p);
    json dump = attach_record({{"operation", "dumpheap"}, {"args", {"/tmp/h.hprof", "-live"}}});
    EXPECT_TRUE(matches(rule(*p, "jattach-dumpheap"), dump));
    json other = dump;
    other["target"]["jdk_version"] = "1.8.0_392";
    EXPECT_FALSE(matches(rule(*p, "jattach-dumpheap"), other)) << "jdk 8 is outside >=11";
    other = dump;
    other["attacher"]["exe"] = "/usr/bin/jcmd";
    EXPECT_FALSE(matches(rule(*p, "jattach-dumpheap"), other));
    EXPECT_FALSE(matches(rule(*p, "jattach-dumpheap"), attach_record({{"operation", "dumpheap"}, {"args", {"/var/h"}}})));

    EXPECT_TRUE(matches(rule(*p, "denied-hash"), agent_load())) << "hashes compare in lower case";
    json b = agent_load();
    b["artifact"]["sha256"] = std::string(64, 'b');
    EXPECT_FALSE(matches(rule(*p, "denied-hash"), b));
    EXPECT_TRUE(matches(rule(*p, "not-approved"), agent_load()));
    EXPECT_FALSE(matches(rule(*p, "not-approved"), b));
    EXPECT_TRUE(matches(rule(*p, "memshell-class"), agent_load()));
    EXPECT_FALSE(matches(rule(*p, "jmx-loads"), agent_load()));
    EXPECT_TRUE(matches(rule(*p, "jmx-loads"), agent_load({{"origin", "jmx"}})));
    json dcmd = {{"type", "jvm.dcmd"}, {"jvm", {{"pid", 42}}}, {"source", "jmx"},
                 {"command", "JVMTI.agent_load /tmp/a.jar"}, {"thread", "RMI"}};
    EXPECT_TRUE(matches(rule(*p, "agent-load-command"), dcmd));
    EXPECT_TRUE(matches(rule(*p, "agent-load-command"),
                        attach_record({{"operation", "jcmd"}, {"args", {"JVMTI.agent_load /x.jar"}}})));
    EXPECT_FALSE(matches(rule(*p, "agent-load-command"), attach_record()));
    EXPECT_TRUE(matches(rule(*p, "unapproved-attacher"), attach_record()));
    json jcmd = attach_record();
    jcmd["attacher"]["exe"] = "/usr/lib/jvm/java-17-openjdk-amd64/bin/jcmd";
    EXPECT_FALSE(matches(rule(*p, "unapproved-attacher"), jcmd));
    EXPECT_FALSE(matches(rule(*p, "unapproved-attacher"), attach_record({{"self", true}})));
}

TEST(AlertEngine, AlertsFollowTheirRecordAndAreDeduplicatedAndRateLimited) {
    auto p = parse(R"(alerts:
  defaults: false
  rules:
    - name: any-load
      severity: low
      operation: load
      dedup_s: 10
      max_per_minute: 3
)");
    ASSERT_TRUE(p);
    Collect out;
    uint64_t now = 1'000'000'000;
    alert::AlertEngine e(&out, std::make_shared<const AlertPolicy>(*p), [&] { return now; });
    e.emit(attach_record());
    ASSERT_EQ(out.events().size(), 2u);
    EXPECT_EQ(out.events()[0]["type"], "attach");
    const json& a = out.events()[1];
    EXPECT_EQ(a["type"], "alert");
    EXPECT_EQ(a["rule"], "any-load");
    EXPECT_EQ(a["severity"], "low");
    EXPECT_EQ(a["record"]["operation"], "load");
    EXPECT_NE(a["summary"].get<std::string>().find("jattach[77] -> 42: load"), std::string::npos) << a.dump();
    expect_valid_alert(a);
    // The same finding again within dedup_s: held back, and said on the next one.
    e.emit(attach_record());
    e.emit(attach_record());
    EXPECT_EQ(out.of_type("alert").size(), 1u);
    now += 11'000'000'000ull;
    e.emit(attach_record());
    ASSERT_EQ(out.of_type("alert").size(), 2u);
    EXPECT_EQ(out.of_type("alert")[1]["held_back"], 2);
    // Other findings: the minute's limit (3) holds.
    for (int pid = 100; pid < 105; ++pid) e.emit(attach_record({{"target", {{"pid", pid}}}}));
    EXPECT_EQ(out.of_type("alert").size(), 3u);
    auto c = e.counts().at("any-load");
    EXPECT_EQ(c.alerts, 3u);
    EXPECT_EQ(c.deduplicated, 2u);
    EXPECT_EQ(c.rate_limited, 4u);
    // Events that are not records pass untouched.
    e.emit({{"type", "stats"}});
    EXPECT_EQ(out.of_type("stats").size(), 1u);
    EXPECT_EQ(e.stats_json()["alerts"], 3);
}

// A reload swaps the rules whole: the new ones apply to the next record.
TEST(AlertEngine, ReloadSwapsTheRules) {
    Collect out;
    alert::AlertEngine e(&out, std::make_shared<const AlertPolicy>(*parse("x: 1")), [] { return 1; });
    e.emit(attach_record({{"alias", true}, {"operation", "properties"}}));
    ASSERT_EQ(out.of_type("alert").size(), 1u);
    EXPECT_EQ(out.of_type("alert")[0]["rule"], "attach-through-alias");
    e.set_policy(std::make_shared<const AlertPolicy>(*parse("alerts:\n  defaults: false\n")));
    e.emit(attach_record({{"alias", true}, {"operation", "properties"}, {"target", {{"pid", 43}}}}));
    EXPECT_EQ(out.of_type("alert").size(), 1u);
    EXPECT_EQ(e.stats_json()["rules"], 0);
}

// The daemon's records, recorded on a real JDK 17: the symlink client's record alerts.
TEST(AlertEngine, RecordedAliasAttachAlerts) {
    test::Replay r;
    r.feed_all(test::load_fixture("jvm_side.jsonl"), false);
    r.advance(15'000'000'000ull);
    Collect out;
    alert::AlertEngine e(&out, std::make_shared<const AlertPolicy>(*parse("x: 1")), [] { return 1; });
    for (const auto& ev : r.sink.all()) e.emit(ev);
    auto alerts = out.of_type("alert");
    ASSERT_EQ(alerts.size(), 1u) << out.events().size();
    EXPECT_EQ(alerts[0]["rule"], "attach-through-alias");
    EXPECT_EQ(alerts[0]["record"]["attacher"]["comm"], "python3");
}

// The docs' examples are configs a user copies: every `alerts:` block in docs/policy.md parses.
TEST(AlertRules, EveryExampleInTheDocsParses) {
    std::ifstream in(test::source_dir() + "/docs/policy.md");
    ASSERT_TRUE(in) << "docs/policy.md";
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string doc = ss.str();
    int examples = 0;
    for (size_t at = doc.find("```yaml\n"); at != std::string::npos; at = doc.find("```yaml\n", at + 1)) {
        size_t begin = at + 8, end = doc.find("```", begin);
        ASSERT_NE(end, std::string::npos);
        std::string block = doc.substr(begin, end - begin);
        if (block.rfind("alerts:", 0) != 0) continue;
        ++examples;
        std::vector<std::string> errors;
        EXPECT_TRUE(parse(block, &errors)) << block << "\n" << (errors.empty() ? "" : errors[0]);
    }
    EXPECT_GE(examples, 4);
}

}  // namespace
}  // namespace jvmwatch
