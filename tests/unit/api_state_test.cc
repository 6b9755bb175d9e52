// The local API's state: events in -> ps rows, ring, status out (userspace/api/api_state.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <optional>

#include "userspace/api/api_state.h"

namespace jvmwatch::api {
namespace {

using json = nlohmann::json;

json jvm_start(int pid, std::vector<std::string> cmdline, uint64_t ticks = 100, const std::string& time = "2026-12-02T10:00:00.000000000Z") {
    return {{"type", "jvm.start"}, {"seq", 1}, {"time", time},
            {"jvm", {{"pid", pid}, {"nspid", pid}, {"start_time_ticks", ticks}, {"uid", 1000}, {"user", "alice"},
                     {"exe", "/usr/bin/java"}, {"cmdline", cmdline}, {"main", "com.example.App"},
                     {"jdk_version", "17.0.9"}, {"cgroup", "/"}, {"container_id", "abc"}}},
            {"detected_by", "exec"}, {"existing", false}};
}

json attach(int target, const std::string& op, std::vector<std::string> args, int rc = 0) {
    return {{"type", "attach"}, {"time", "2026-12-02T10:00:05.000000000Z"},
            {"attacher", {{"pid", 777}, {"uid", 0}, {"gid", 0}, {"user", "root"}, {"comm", "jattach"},
                          {"exe", "/usr/bin/jattach"}, {"cmdline", json::array()}, {"ppid", 1},
                          {"cgroup", "/"}, {"container_id", ""}}},
            {"target", {{"pid", target}, {"nspid", target}, {"resolved_by", "path"}}},
            {"start_time", "2026-12-02T10:00:05.000000000Z"}, {"operation", op}, {"args", args},
            {"outcome", "replied"}, {"result_code", rc}};
}

// A copy: ps_json() returns a fresh array each time.
std::optional<json> row_for(const json& rows, int pid) {
    for (const auto& r : rows)
        if (r["pid"] == pid) return r;
    return std::nullopt;
}

TEST(ApiState, JvmStartGivesARowWithStaticAgents) {
    ApiState st;
    st.consume(jvm_start(42, {"java", "-Xmx16m", "-javaagent:/opt/a/agent.jar=opt1", "-cp", "-javaagent:/not/an/agent.jar",
                              "-agentpath:/lib/libprof.so", "-agentlib:jdwp=transport=dt_socket",
                              "com.example.App", "-javaagent:/program/arg.jar"}));
    json rows = st.ps_json();
    ASSERT_EQ(rows.size(), 1u);
    const json& r = rows[0];
    EXPECT_EQ(r["pid"], 42);
    EXPECT_EQ(r["user"], "alice");
    EXPECT_EQ(r["jdk"], "17.0.9");
    EXPECT_EQ(r["main"], "com.example.App");
    EXPECT_EQ(r["container_id"], "abc");
    EXPECT_EQ(r["visibility"], "client");
    ASSERT_EQ(r["agents"].size(), 3u) << r.dump();
    EXPECT_EQ(r["agents"][0]["path"], "/opt/a/agent.jar");
    EXPECT_EQ(r["agents"][0]["options"], "opt1");
    EXPECT_EQ(r["agents"][0]["kind"], "java");
    EXPECT_EQ(r["agents"][0]["source"], "static");
    EXPECT_EQ(r["agents"][1]["path"], "/lib/libprof.so");
    EXPECT_EQ(r["agents"][2]["path"], "jdwp");
    EXPECT_EQ(r["agents"][2]["kind"], "native");
    EXPECT_TRUE(r["injection"].is_null());
    EXPECT_TRUE(r["last_attach"].is_null());
}

TEST(ApiState, JvmAgentsOfJvmStartGiveTheStaticAgentsWithShortHash) {
    ApiState st;
    json ev = jvm_start(42, {"java", "-javaagent:/from/cmdline.jar", "App"});
    std::string hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    ev["jvm"]["agents"] = {{{"kind", "java"}, {"path", "/opt/a.jar"}, {"options", "o=1"}, {"sha256", hash}, {"size", 10}},
                           {{"kind", "lib"}, {"path", "jdwp"}},
                           {{"kind", "native"}, {"path", "/x.so"}, {"size", 1}, {"why", "too large to hash"}},
                           {{"kind", "java"}, {"path", "/evil.jar"}, {"sha256", "not-hex-\x1b[31m"}}};
    ev["jvm"]["agents_dropped"] = 3;
    st.consume(ev);
    auto r = row_for(st.ps_json(), 42);
    ASSERT_TRUE(r);
    const json& a = (*r)["agents"];
    ASSERT_EQ(a.size(), 4u) << r->dump();   // the daemon's reading, not the command line
    EXPECT_EQ(a[0]["path"], "/opt/a.jar");
    EXPECT_EQ(a[0]["kind"], "java");
    EXPECT_EQ(a[0]["options"], "o=1");
    EXPECT_EQ(a[0]["source"], "static");
    EXPECT_EQ(a[0]["sha256"], "0123456789ab");
    EXPECT_EQ(a[1]["kind"], "native");
    EXPECT_EQ(a[1]["path"], "jdwp");
    EXPECT_FALSE(a[1].contains("sha256"));
    EXPECT_FALSE(a[2].contains("sha256"));
    EXPECT_FALSE(a[3].contains("sha256"));   // not hex: not shown
    EXPECT_EQ((*r)["agents_dropped"], 3);
}

TEST(ApiState, AttachLoadAddsADynamicAgentAndTheLastAttach) {
    ApiState st;
    st.consume(jvm_start(42, {"java", "App"}));
    st.consume(attach(42, "load", {"instrument", "false", "/tmp/marker.jar=/tmp/m,x"}));
    st.consume(attach(42, "properties", {}));
    auto r = row_for(st.ps_json(), 42);
    ASSERT_TRUE(r);
    ASSERT_EQ((*r)["agents"].size(), 1u);
    EXPECT_EQ((*r)["agents"][0]["path"], "/tmp/marker.jar");
    EXPECT_EQ((*r)["agents"][0]["options"], "/tmp/m,x");
    EXPECT_EQ((*r)["agents"][0]["source"], "attach");
    EXPECT_EQ((*r)["agents"][0]["result_code"], 0);
    EXPECT_EQ((*r)["last_attach"]["op"], "properties");
    EXPECT_EQ((*r)["last_attach"]["attacher"]["comm"], "jattach");
    EXPECT_EQ((*r)["last_attach"]["attacher"]["pid"], 777);
    // An attach to an unknown pid changes nothing.
    st.consume(attach(43, "load", {"/lib/x.so", "true", ""}));
    EXPECT_EQ(st.ps_json().size(), 1u);
}

// Seen from inside, a JVM's dynamic agents come from agent.load (any origin, with the
// file's hash); its attach records do not add them twice.
TEST(ApiState, AgentLoadsOfAJvmSeenFromInside) {
    ApiState st;
    json start = jvm_start(42, {"java", "App"});
    start["jvm"]["visibility"] = "jvm";
    st.consume(start);
    json a = attach(42, "load", {"instrument", "false", "/tmp/marker.jar=x"});
    a["visibility"] = "jvm";
    st.consume(a);
    st.consume({{"type", "agent.load"}, {"time", "2026-12-02T10:00:03.000000000Z"}, {"jvm", {{"pid", 42}}},
                {"agent", {{"kind", "java"}, {"path", "/tmp/marker.jar"}, {"options", "x"}}},
                {"origin", "jmx"},
                {"artifact", {{"sha256", "03e92f5d4f929d3490ca0a845e80a1a9b26af871f40bf16da8422eddf426ec43"}}}});
    auto r = row_for(st.ps_json(), 42);
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["visibility"], "jvm");
    ASSERT_EQ((*r)["agents"].size(), 1u) << r->dump();
    EXPECT_EQ((*r)["agents"][0]["source"], "jmx");
    EXPECT_EQ((*r)["agents"][0]["sha256"], "03e92f5d4f92");
    EXPECT_EQ((*r)["last_attach"]["op"], "load");
}

TEST(ApiState, InjectEventsSetTheInjectionStateAndAgentWithShortHash) {
    ApiState st;
    st.consume(jvm_start(42, {"java", "App"}));
    st.consume({{"type", "inject.matched"}, {"time", "2026-12-02T10:00:01.000000000Z"}, {"jvm", {{"pid", 42}}}, {"rule", "r1"}});
    EXPECT_EQ((*row_for(st.ps_json(), 42))["injection"]["outcome"], "matched");
    st.consume({{"type", "inject.ok"}, {"time", "2026-12-02T10:00:02.000000000Z"}, {"jvm", {{"pid", 42}}}, {"rule", "r1"},
                {"agent", {{"kind", "java"}, {"path", "/var/lib/jvmwatch/agents/t.jar"}, {"options", ""},
                           {"sha256", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}}});
    auto r = row_for(st.ps_json(), 42);
    EXPECT_EQ((*r)["injection"]["rule"], "r1");
    EXPECT_EQ((*r)["injection"]["outcome"], "ok");
    ASSERT_EQ((*r)["agents"].size(), 1u);
    EXPECT_EQ((*r)["agents"][0]["source"], "inject");
    EXPECT_EQ((*r)["agents"][0]["sha256"], "0123456789ab");
    // The hash of a staged agent's file name (injector.cc: agent_path).
    st.consume({{"type", "inject.ok"}, {"jvm", {{"pid", 42}}}, {"rule", "r1"},
                {"agent", {{"kind", "java"}, {"path", "/opt/t.jar"}}},
                {"agent_path", "/tmp/.jvmwatch-agent-fedcba9876543210fedcba9876543210.jar"}});
    r = row_for(st.ps_json(), 42);
    ASSERT_EQ((*r)["agents"].size(), 2u);
    EXPECT_EQ((*r)["agents"][1]["sha256"], "fedcba987654");
    EXPECT_EQ((*r)["agents"][1]["path"], "/opt/t.jar");
    st.consume({{"type", "inject.failed"}, {"jvm", {{"pid", 42}}}, {"rule", "r2"}, {"outcome", "timed_out"}});
    EXPECT_EQ((*row_for(st.ps_json(), 42))["injection"]["outcome"], "failed: timed_out");
}

TEST(ApiState, ExitedJvmIsRemovedButNotByAStaleExit) {
    ApiState st;
    st.consume(jvm_start(42, {"java", "App"}, 100));
    st.consume({{"type", "jvm.exit"}, {"jvm", {{"pid", 42}, {"start_time_ticks", 99}}}});   // an older JVM's exit
    EXPECT_EQ(st.ps_json().size(), 1u);
    st.consume({{"type", "jvm.exit"}, {"jvm", {{"pid", 42}, {"start_time_ticks", 100}}}});
    EXPECT_EQ(st.ps_json().size(), 0u);
}

TEST(ApiState, TablesAreBoundedAndDropsCounted) {
    StateLimits lim;
    lim.events_ring = 5;
    lim.max_jvms = 3;
    lim.max_agents = 2;
    ApiState st(lim);
    for (int i = 1; i <= 10; ++i) st.consume(jvm_start(i, {"java", "-javaagent:/a.jar", "-javaagent:/b.jar", "-javaagent:/c.jar", "App"}));
    EXPECT_EQ(st.ps_json().size(), 3u);
    EXPECT_EQ(st.jvms_dropped(), 7u);
    EXPECT_EQ(st.ring().size(), 5u);
    EXPECT_EQ(st.ring_evicted(), 5u);
    EXPECT_EQ(st.ring().front().index, 6u);
    EXPECT_EQ(st.position_of(8), 2u);
    EXPECT_EQ(st.position_of(1), 0u);
    EXPECT_EQ(st.position_of(100), 5u);
    const json r = st.ps_json()[0];
    EXPECT_EQ(r["agents"].size(), 2u);
    EXPECT_EQ(r["agents_dropped"], 1);
    json status = st.status_json(0);
    EXPECT_EQ(status["api"]["events_evicted"], 5);
    EXPECT_EQ(status["api"]["jvms_dropped"], 7);
}

TEST(ApiState, HostileStringsAreCappedAndKeptAsData) {
    StateLimits lim;
    lim.max_string = 64;
    ApiState st(lim);
    std::string huge(100000, 'A');
    std::string evil = "x\n\x1b[31m\xff\xfe" + std::string(100, '\xc3');
    json ev = jvm_start(42, {"java", "-javaagent:" + huge, "App"});
    ev["jvm"]["main"] = evil;
    ev["jvm"]["user"] = 12345;   // mistyped
    st.consume(ev);
    st.consume({{"type", 7}});   // a nonsense event is kept, never throws
    st.consume(json::array());
    json rows = st.ps_json();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_LE(rows[0]["main"].get<std::string>().size(), 64u);
    EXPECT_EQ(rows[0]["user"], "");
    EXPECT_LE(rows[0]["agents"][0]["path"].get<std::string>().size(), 64u);
    // The reply serialises even with invalid UTF-8 (replaced).
    std::string dumped = rows.dump(-1, ' ', false, json::error_handler_t::replace);
    EXPECT_EQ(dumped.find('\n'), std::string::npos);
    EXPECT_EQ(st.ring().size(), 2u);
}

TEST(ApiState, StatusComesFromDaemonStartReloadAndStats) {
    ApiState st({}, 1'000'000'000);
    st.consume({{"type", "daemon.start"}, {"time", "2026-12-02T10:00:00.000000000Z"}, {"version", "0.1.0"}, {"pid", 9},
                {"deep", false}, {"config", "/etc/jvmwatch/jvmwatchd.yaml"}, {"hooks", {{"exec", "tp_btf/x"}}}});
    st.consume({{"type", "stats"}, {"time", "2026-12-02T10:01:00.000000000Z"}, {"drops", {{"ringbuf", 3}}},
                {"tables", {{"jvms", 1}}}, {"enrichment", {{"queue", 2}}}});
    st.consume({{"type", "daemon.reload"}, {"time", "2026-12-02T10:02:00.000000000Z"}, {"ok", true}, {"config", "x"}});
    json s = st.status_json(3'500'000'000);
    EXPECT_DOUBLE_EQ(s["uptime_s"].get<double>(), 2.5);
    EXPECT_EQ(s["version"], "0.1.0");
    EXPECT_EQ(s["hooks"]["exec"], "tp_btf/x");
    EXPECT_EQ(s["config"], "/etc/jvmwatch/jvmwatchd.yaml");
    EXPECT_EQ(s["config_loaded"], "2026-12-02T10:02:00.000000000Z");
    EXPECT_EQ(s["stats"]["drops"]["ringbuf"], 3);
    EXPECT_EQ(s["stats"]["enrichment"]["queue"], 2);
}

TEST(ApiState, FiltersMatchTypePidAndTime) {
    ApiState st;
    st.consume(jvm_start(42, {"java", "App"}, 1, "2026-12-02T10:00:00.000000000Z"));
    st.consume(attach(42, "threaddump", {}));
    st.consume(jvm_start(43, {"java", "App"}, 1, "2026-12-02T11:00:00.000000000Z"));
    auto count = [&](const EventFilter& f) {
        size_t n = 0;
        for (const auto& e : st.ring()) n += f.matches(e);
        return n;
    };
    EventFilter by_type;
    by_type.type = "jvm.start";
    EXPECT_EQ(count(by_type), 2u);
    EventFilter by_prefix;
    by_prefix.type = "jvm.";
    EXPECT_EQ(count(by_prefix), 2u);
    EventFilter by_pid;
    by_pid.pid = 42;
    EXPECT_EQ(count(by_pid), 2u);
    EventFilter by_attacher;
    by_attacher.pid = 777;
    EXPECT_EQ(count(by_attacher), 1u);
    EventFilter by_time;
    by_time.since_ns = int64_t(1796205600 + 1800) * 1'000'000'000;   // 2026-12-02T10:30:00Z
    EXPECT_EQ(count(by_time), 1u);
}

}  // namespace
}  // namespace jvmwatch::api
