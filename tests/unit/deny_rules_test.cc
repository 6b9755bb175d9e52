// Deny rules: the `alerts.deny` parser, the compiler of allow lists into the kernel's
// bit masks, the DenyTable's slot flip on a map in memory, the connect verdict's decoding
// and the alert a verdict raises.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <yaml-cpp/yaml.h>

#include "attach/procfs.h"
#include "tests/unit/daemon_test_support.h"
#include "userspace/alert/alert_engine.h"
#include "userspace/daemon/deny_table.h"
#include "userspace/daemon/event_decoder.h"
#include "userspace/policy/alert_rules.h"
#include "userspace/policy/deny_rules.h"

namespace jvmwatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using policy::AlertPolicy;
using policy::DenyMode;

std::optional<AlertPolicy> parse(const std::string& yaml, std::vector<std::string>* errors = nullptr) {
    std::vector<std::string> local;
    return policy::parse_alert_policy(YAML::Load(yaml)["alerts"], "cfg.yaml", errors ? errors : &local);
}

std::string first_error(const std::string& yaml) {
    std::vector<std::string> errors;
    auto p = parse(yaml, &errors);
    EXPECT_FALSE(p) << yaml;
    return errors.empty() ? "" : errors.front();
}

TEST(DenyRulesParser, ReadsModesTargetsAndAllowLists) {
    auto p = parse(R"(
alerts:
  deny:
    - name: only-jcmd
      target: {main: "org.example.*"}
      allow:
        exe: ["/usr/lib/jvm/*/bin/jcmd"]
        users: [root, "1000"]
    - name: strict
      mode: enforce
      severity: critical
      allow: {uids: [0], cgroup: "/system.slice/ops.service"}
)");
    ASSERT_TRUE(p);
    ASSERT_EQ(p->deny.size(), 2u);
    const auto& a = p->deny[0];
    EXPECT_EQ(a.name, "only-jcmd");
    EXPECT_EQ(a.mode, DenyMode::monitor);   // new rules watch first
    EXPECT_EQ(a.severity, policy::Severity::high);
    EXPECT_EQ(a.line, 4);
    ASSERT_EQ(a.target.main.size(), 1u);
    EXPECT_EQ(a.allow.exe, std::vector<std::string>{"/usr/lib/jvm/*/bin/jcmd"});
    EXPECT_EQ(a.allow.uids, (std::vector<uid_t>{0, 1000}));
    const auto& b = p->deny[1];
    EXPECT_EQ(b.mode, DenyMode::enforce);
    EXPECT_EQ(b.severity, policy::Severity::critical);
    EXPECT_TRUE(b.target.empty());
    EXPECT_EQ(b.allow.cgroup, std::vector<std::string>{"/system.slice/ops.service"});
    // The alert defaults are untouched by a deny list.
    EXPECT_FALSE(p->rules.empty());
}

TEST(DenyRulesParser, RefusesWhatWouldNotMeanWhatItSays) {
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - name: x\n      mode: sometimes\n      allow: {uids: [0]}\n"),
              "cfg.yaml:4: alerts.deny[0].mode: expected monitor or enforce, not \"sometimes\"");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - name: x\n      allow: {exe: bin/jcmd}\n"),
              "cfg.yaml:4: alerts.deny[0].allow.exe: \"bin/jcmd\" is not an absolute path glob");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - name: x\n      allow: {exe: /usr/../tmp/x}\n"),
              "cfg.yaml:4: alerts.deny[0].allow.exe: \"/usr/../tmp/x\" has . or .. parts");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - name: x\n      mode: enforce\n"),
              "cfg.yaml:3: alerts.deny[0]: a deny rule needs an allow list (what may still attach)");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - name: x\n      allow: {users: no-such-user-jw}\n"),
              "cfg.yaml:4: alerts.deny[0].allow.users: no user named \"no-such-user-jw\"");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - name: x\n      allow: {uids: [0], pids: [1]}\n"),
              "cfg.yaml:4: unknown key \"pids\" in alerts.deny[0].allow (expected one of: cgroup, exe, uids, users)");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - {name: x, allow: {uids: [0]}}\n    - {name: x, allow: {uids: [0]}}\n"),
              "cfg.yaml:4: alerts.deny[1]: the name \"x\" is used already");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - {name: attach-through-alias, allow: {uids: [0]}}\n"),
              "cfg.yaml:3: alerts.deny: the name \"attach-through-alias\" is an alert rule's already");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - name: x\n      target: {mian: y}\n      allow: {uids: [0]}\n"),
              "cfg.yaml:4: unknown key \"mian\" in alerts.deny[0].target (expected one of: args, cgroup, "
              "container, env, exe, flags, jdk, main, uid, user)");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - {name: \"a b\", allow: {uids: [0]}}\n"),
              "cfg.yaml:3: alerts.deny[0].name: \"a b\": 1-64 of A-Z a-z 0-9 - _ .");
    EXPECT_EQ(first_error("alerts:\n  deny:\n    - name: x\n      target: {env: APP}\n      allow: {uids: [0]}\n"),
              "cfg.yaml:4: alerts.deny[0].target.env: not available to deny rules (use main, args, exe, "
              "user, uid, cgroup, container, jdk or flags)");
    std::string many = "alerts:\n  deny:\n";
    for (int i = 0; i < 129; ++i) many += "    - {name: r" + std::to_string(i) + ", allow: {uids: [0]}}\n";
    EXPECT_EQ(first_error(many), "cfg.yaml:3: alerts.deny: 129 rules; at most 128 (one bit each in the kernel)");
}

// The allow lists become (dev, ino) / uid / cgroup keys with one bit per rule.
TEST(DenyCompiler, ResolvesExeGlobsToInodesAndSetsOneBitPerRule) {
    test::TempDir dir("jw-deny-compile");
    std::ofstream(dir.file("jcmd")) << "a";
    std::ofstream(dir.file("jstack")) << "b";
    fs::create_symlink(dir.file("jcmd"), dir.file("alias"));
    auto p = parse("alerts:\n  deny:\n"
                   "    - {name: a, mode: enforce, allow: {exe: \"" + dir.path() + "/j*\", uids: [7]}}\n"
                   "    - {name: b, allow: {exe: [\"" + dir.path() + "/alias\", \"" + dir.path() + "/none*\"], uids: [7, 8]}}\n");
    ASSERT_TRUE(p);
    policy::CompiledDeny c;
    std::string err;
    ASSERT_TRUE(policy::compile_deny(p->deny, "", "", &c, &err)) << err;
    EXPECT_EQ(c.enforce.w[0], 1u);
    EXPECT_EQ(c.enforce.w[1], 0u);
    struct stat jcmd, jstack;
    ASSERT_EQ(stat(dir.file("jcmd").c_str(), &jcmd), 0);
    ASSERT_EQ(stat(dir.file("jstack").c_str(), &jstack), 0);
    ASSERT_EQ(c.exe.size(), 2u);
    // The symlink leads to jcmd's inode: rule b allows jcmd (not jstack).
    auto key = [](const struct stat& st) { return std::make_pair(policy::kernel_dev(st.st_dev), uint64_t(st.st_ino)); };
    EXPECT_EQ(c.exe.at(key(jcmd)).w[0], 3u);
    EXPECT_EQ(c.exe.at(key(jstack)).w[0], 1u);
    EXPECT_EQ(c.uid.at(7).w[0], 3u);
    EXPECT_EQ(c.uid.at(8).w[0], 2u);
    ASSERT_EQ(c.notes.size(), 1u);
    EXPECT_NE(c.notes[0].find("matches no file"), std::string::npos);
    // allow.cgroup with no cgroup v2 root is refused, not ignored.
    auto q = parse("alerts:\n  deny:\n    - {name: c, allow: {cgroup: /x}}\n");
    ASSERT_TRUE(q);
    EXPECT_FALSE(policy::compile_deny(q->deny, "", "", &c, &err));
    EXPECT_NE(err.find("cgroup v2 root"), std::string::npos) << err;
}

TEST(DenyCompiler, KernelDevIsMajorShiftedTwentyOrMinor) {
    EXPECT_EQ(policy::kernel_dev(makedev(8, 1)), (8u << 20) | 1u);
    EXPECT_EQ(policy::kernel_dev(makedev(259, 70000)), (259ull << 20) | 70000u);
}

// A DenyMaps in memory, keyed by the raw key bytes.
class FakeMaps : public observer::DenyMaps {
public:
    bool set_active(uint32_t a) override { active = a; return true; }
    bool set_slot(uint32_t s, const jw_deny_slot& c) override { slots[s] = c; return true; }
    bool put(Map m, const void* key, const jw_deny_mask& v) override {
        maps[m][bytes(m, key)] = v;
        return true;
    }
    bool remove(Map m, const void* key) override { return maps[m].erase(bytes(m, key)) > 0; }
    void clear_slot(uint32_t slot) override {
        for (auto& [m, entries] : maps)
            for (auto it = entries.begin(); it != entries.end();) {
                uint32_t s;
                std::memcpy(&s, it->first.data(), 4);
                it = s == slot ? entries.erase(it) : std::next(it);
            }
    }
    std::map<std::vector<uint32_t>, uint64_t> targets(uint32_t slot) {
        std::map<std::vector<uint32_t>, uint64_t> out;
        for (auto& [k, v] : maps[Map::targets]) {
            jw_deny_target_key t;
            std::memcpy(&t, k.data(), sizeof t);
            if (t.slot == slot) out[{t.mntns, t.root_pid, t.pid}] = v.w[0];
        }
        return out;
    }
    size_t count(Map m, uint32_t slot) {
        size_t n = 0;
        for (auto& [k, v] : maps[m]) {
            uint32_t s;
            std::memcpy(&s, k.data(), 4);
            n += s == slot;
        }
        return n;
    }
    uint32_t active = 99;
    std::map<uint32_t, jw_deny_slot> slots;
    std::map<Map, std::map<std::string, jw_deny_mask>> maps;

private:
    static std::string bytes(Map m, const void* key) {
        size_t n = m == Map::targets ? sizeof(jw_deny_target_key)
                 : m == Map::allow_exe ? sizeof(jw_deny_exe_key) : sizeof(jw_deny_id_key);
        return std::string(static_cast<const char*>(key), n);
    }
};

jvm::JvmProcess self_as_jvm(const std::string& main) {
    jvm::JvmProcess j;
    j.pid = getpid();
    j.nspid = 4242;   // as if in a container: the name inside differs from the host pid
    j.start_time_ticks = 5;
    j.main = main;
    j.cmdline = {"java", main};
    return j;
}

TEST(DenyTable, FillsTheIdleSlotFlipsAndFollowsJvmExits) {
    FakeMaps maps;
    daemon::DenyTableConfig cfg;
    cfg.host_mntns = 111;
    daemon::DenyTable t(&maps, cfg);
    std::string err;
    ASSERT_TRUE(t.set_policy(std::make_shared<const AlertPolicy>(*parse("x: 1")), &err)) << err;
    EXPECT_EQ(maps.active, 0u);   // no deny rules: the kernel returns at the first lookup
    t.on_jvm_started(self_as_jvm("org.example.App"), 0, false);
    t.on_jvm_started(self_as_jvm("org.other.Main"), 0, false);   // same pid: replaces
    jvm::JvmProcess parent = self_as_jvm("uncovered.Main");       // another JVM, no rule
    parent.pid = getppid();
    parent.nspid = 77;
    t.on_jvm_started(parent, 0, false);

    auto p1 = std::make_shared<const AlertPolicy>(*parse(
        "alerts:\n  deny:\n    - {name: other, target: {main: nothing.*}, allow: {uids: [1]}}\n"
        "    - {name: app, mode: enforce, target: {main: \"org.other.*\"}, allow: {uids: [0, 5]}}\n"));
    ASSERT_TRUE(t.set_policy(p1, &err)) << err;
    ASSERT_TRUE(maps.active == 1 || maps.active == 2);
    uint32_t slot = maps.active - 1;
    EXPECT_EQ(maps.slots[slot].enforce.w[0], 2u);
    auto mnt = proc::read_ns_inode("/proc", getpid(), "mnt");
    ASSERT_TRUE(mnt);
    uint32_t m = static_cast<uint32_t>(*mnt), hp = static_cast<uint32_t>(getpid());
    auto pmnt = proc::read_ns_inode("/proc", getppid(), "mnt");
    ASSERT_TRUE(pmnt);
    uint32_t pm = static_cast<uint32_t>(*pmnt), pp = static_cast<uint32_t>(getppid());
    auto keys = maps.targets(slot);
    // Its names, and {0, 0, nspid} for names matching none; the uncovered JVM's keys stay,
    // empty, so that its names never fall back to another JVM with the same pid.
    EXPECT_EQ(keys, (std::map<std::vector<uint32_t>, uint64_t>{
                        {{m, 0, 4242}, 2}, {{m, 4242, 4242}, 2}, {{111, hp, 4242}, 2}, {{0, 0, 4242}, 2},
                        {{pm, 0, 77}, 0}, {{pm, 77, 77}, 0}, {{111, pp, 77}, 0}, {{0, 0, 77}, 0}}));
    EXPECT_EQ(maps.count(observer::DenyMaps::Map::allow_uid, slot), 3u);
    auto r = t.rule_at(static_cast<uint8_t>(maps.slots[slot].gen), 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "app");
    EXPECT_EQ(r->mode, DenyMode::enforce);
    ASSERT_TRUE(t.covering(getpid()));
    EXPECT_EQ(t.covering(getpid())->name, "app");

    // A reload goes to the other slot; the old one is emptied after the flip.
    auto p2 = std::make_shared<const AlertPolicy>(*parse(
        "alerts:\n  deny:\n    - {name: all, allow: {uids: [0]}}\n"));
    ASSERT_TRUE(t.set_policy(p2, &err)) << err;
    ASSERT_EQ(maps.active - 1, slot ^ 1);
    EXPECT_TRUE(maps.targets(slot).empty());
    EXPECT_EQ(maps.count(observer::DenyMaps::Map::allow_uid, slot), 0u);
    EXPECT_EQ(maps.targets(slot ^ 1).size(), 8u);
    EXPECT_EQ(maps.targets(slot ^ 1)[(std::vector<uint32_t>{0, 0, 77})], 1u) << "rule all covers it now";
    EXPECT_EQ(maps.slots[slot ^ 1].enforce.w[0], 0u);
    // The previous generation still names its rules (events in flight); older ones do not.
    EXPECT_TRUE(t.rule_at(static_cast<uint8_t>(maps.slots[slot].gen), 1));

    // A policy that does not compile changes nothing.
    auto bad = std::make_shared<const AlertPolicy>(*parse(
        "alerts:\n  deny:\n    - {name: cg, allow: {cgroup: /x}}\n"));
    EXPECT_FALSE(t.set_policy(bad, &err));
    EXPECT_EQ(maps.active - 1, slot ^ 1);
    EXPECT_EQ(maps.targets(slot ^ 1).size(), 8u);

    // The JVM exits (another start time first: not this one).
    t.on_jvm_exited(getpid(), 6);
    EXPECT_EQ(maps.targets(slot ^ 1).size(), 8u);
    t.on_jvm_exited(getpid(), 5);
    EXPECT_EQ(maps.targets(slot ^ 1).size(), 4u);
    t.on_jvm_exited(getppid(), 0);
    EXPECT_TRUE(maps.targets(slot ^ 1).empty());
    EXPECT_FALSE(t.covering(getpid()));
}

TEST(DenyVerdict, ConnectEventCarriesItAndABadOneIsRefused) {
    jw_connect_event e{};
    e.hdr.type = JW_EV_CONNECT;
    std::strcpy(e.path, "/proc/9/root/tmp/.java_pid77");
    e.verdict = JW_DENY_DENIED;
    e.policy_gen = 3;
    e.rule = 5;
    auto r = daemon::decode_event(&e, sizeof e);
    ASSERT_TRUE(r);
    auto& c = std::get<daemon::ConnectRecord>(*r);
    EXPECT_EQ(c.deny_verdict, JW_DENY_DENIED);
    EXPECT_EQ(c.policy_gen, 3);
    EXPECT_EQ(c.deny_rule, 5);
    e.verdict = 7;
    daemon::DecodeError err;
    EXPECT_FALSE(daemon::decode_event(&e, sizeof e, &err));
    e.verdict = JW_DENY_WOULD;
    e.rule = JW_DENY_MAX_RULES;
    EXPECT_FALSE(daemon::decode_event(&e, sizeof e, &err));
}

json denied_record(const std::string& verdict) {
    return {{"type", "attach"},
            {"attacher", {{"pid", 77}, {"comm", "jattach"}, {"exe", "/usr/bin/jattach"}}},
            {"target", {{"pid", 42}}},
            {"self", false}, {"alias", verdict == "unchecked"}, {"self_attach", false},
            {"start_time", "2026-01-01T00:00:00.000000000Z"}, {"end_time", "2026-01-01T00:00:00.000000000Z"},
            {"duration_ms", 1.0},
            {"evidence", {{"trigger", false}, {"sigquit", false}, {"connect", true}, {"request", false},
                          {"reply", false}, {"close", false}, {"jvm_request", false}}},
            {"finalized_by", "attacher_exit"}, {"connects", 1}, {"outcome", "denied"},
            {"policy", {{"verdict", verdict}, {"rule", "only-jcmd"}, {"rule_index", 0},
                        {"mode", "enforce"}, {"severity", "medium"}}}};
}

// Keeps what is emitted; alerts are checked against the schema (the records here carry
// only the fields the engine reads).
class AlertSink : public audit::EventSink {
public:
    void emit(json ev) override {
        if (ev["type"] == "alert") {
            json full = ev;
            full.update({{"v", 1}, {"seq", 1}, {"time", "2026-01-01T00:00:00.000000000Z"}, {"host", "t"}});
            test::expect_valid_event(full);
        }
        events.push_back(std::move(ev));
    }
    std::vector<json> of_type(const std::string& t) const {
        std::vector<json> out;
        for (const auto& e : events) if (e["type"] == t) out.push_back(e);
        return out;
    }
    std::vector<json> events;
};

TEST(DenyAlerts, EveryVerdictAlertsWithItsRuleAndAnAliasIsCritical) {
    AlertSink out;
    auto p = std::make_shared<const AlertPolicy>(*parse("alerts:\n  defaults: false\n"));
    alert::AlertEngine e(&out, p, [] { return 1; });
    e.emit(denied_record("denied"));
    e.emit(denied_record("denied"));   // every denial: no dedup
    e.emit(denied_record("unchecked"));
    auto alerts = out.of_type("alert");
    ASSERT_EQ(alerts.size(), 3u);
    EXPECT_EQ(alerts[0]["rule"], "only-jcmd");
    EXPECT_EQ(alerts[0]["severity"], "medium");
    EXPECT_EQ(alerts[0]["deny"]["verdict"], "denied");
    EXPECT_EQ(alerts[0]["deny"]["mode"], "enforce");
    EXPECT_EQ(alerts[2]["severity"], "critical");
    EXPECT_EQ(alerts[2]["deny"]["verdict"], "unchecked");
    EXPECT_EQ(e.counts()["only-jcmd"].alerts, 3u);
    // A record without a verdict raises nothing.
    json plain = denied_record("denied");
    plain.erase("policy");
    plain["outcome"] = "replied";
    e.emit(plain);
    EXPECT_EQ(out.of_type("alert").size(), 3u);
}

}  // namespace
}  // namespace jvmwatch
