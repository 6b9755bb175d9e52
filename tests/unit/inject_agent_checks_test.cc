// The injector's view of the agents a JVM already carries: already_present (same content
// or same agent class, static or dynamic), conflicts (path and class globs), JEP 451.
#include <gtest/gtest.h>

#include "userspace/inject/agent_checks.h"

namespace jvmwatch::inject {
namespace {

policy::Conflict conflict(const std::string& text) {
    std::string e;
    bool cls = text.rfind("class:", 0) == 0;
    auto p = policy::Pattern::glob(cls ? text.substr(6) : text, &e);
    EXPECT_TRUE(p) << e;
    return {cls ? policy::Conflict::On::agent_class : policy::Conflict::On::path, *p, text};
}

policy::Rule rule_for(const std::string& sha, std::vector<std::string> classes) {
    policy::Rule r;
    r.name = "apm";
    r.agent.path = "/opt/apm/agent.jar";
    r.agent.content_sha256 = sha;
    r.agent.manifest_classes = std::move(classes);
    return r;
}

daemon::StaticAgent static_agent(const std::string& path, const std::string& sha,
                                 std::optional<std::string> agent_class = std::nullopt) {
    daemon::StaticAgent a;
    a.kind = "java";
    a.path = path;
    a.source = "cmdline";
    artifacts::AgentArtifact f;
    f.path = path;
    f.found = true;
    f.sha256 = sha;
    if (agent_class) {
        artifacts::JarManifest m;
        m.premain_class = agent_class;
        f.manifest = m;
    }
    a.file = f;
    return a;
}

daemon::AgentInventory with_static(std::vector<daemon::StaticAgent> agents) {
    daemon::AgentInventory inv;
    inv.static_agents = daemon::StaticAgents{std::move(agents), 0};
    return inv;
}

const std::string kSha(64, 'a'), kOther(64, 'b');

TEST(InjectAgentChecks, NothingInTheWayOfAJvmWithoutAgents) {
    EXPECT_FALSE(check_agents(rule_for(kSha, {"a.Agent"}), with_static({})));
    EXPECT_FALSE(check_agents(rule_for(kSha, {"a.Agent"}), daemon::AgentInventory{}));
}

TEST(InjectAgentChecks, SameContentStaticallyIsAlreadyPresent) {
    auto v = check_agents(rule_for(kSha, {}), with_static({static_agent("/srv/x.jar", kSha)}));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reason, SkipReason::already_present);
    EXPECT_EQ(v->detail, "statically loaded: -javaagent:/srv/x.jar (cmdline) has the rule's agent "
                         "content (sha256 " + kSha + ")");
}

TEST(InjectAgentChecks, SameClassOtherContentIsAlreadyPresent) {
    // Another build of the same agent: a second copy would run it twice.
    auto v = check_agents(rule_for(kSha, {"a.Agent", "a.Premain"}),
                          with_static({static_agent("/srv/old.jar", kOther, "a.Premain")}));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reason, SkipReason::already_present);
    EXPECT_NE(v->detail.find("names the rule's agent class a.Premain"), std::string::npos) << v->detail;
}

TEST(InjectAgentChecks, OtherContentAndClassIsNotPresent) {
    EXPECT_FALSE(check_agents(rule_for(kSha, {"a.Agent"}),
                              with_static({static_agent("/srv/y.jar", kOther, "b.Agent")})));
    // A native agent with the same bytes is not the rule's java agent.
    auto n = static_agent("/srv/x.so", kSha);
    n.kind = "native";
    EXPECT_FALSE(check_agents(rule_for(kSha, {}), with_static({n})));
    // Files not checked at load (empty content hash): no match on an empty hash.
    EXPECT_FALSE(check_agents(rule_for("", {}), with_static({static_agent("/srv/x.jar", "")})));
}

TEST(InjectAgentChecks, SameContentDynamicallyIsAlreadyPresent) {
    daemon::AgentInventory inv = with_static({});
    inv.dynamic_agents.push_back({0, 1, "java", "/tmp/copy.jar", "", "attach", 77, kSha});
    auto v = check_agents(rule_for(kSha, {}), inv);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reason, SkipReason::already_present);
    EXPECT_EQ(v->detail, "dynamically loaded java agent /tmp/copy.jar (attach) has the rule's agent "
                         "content (sha256 " + kSha + ")");
}

TEST(InjectAgentChecks, ConflictByPathStaticOrDynamic) {
    auto r = rule_for(kSha, {});
    r.conflicts = {conflict("*/dd-java-agent*.jar"), conflict("*/newrelic.jar")};
    auto v = check_agents(r, with_static({static_agent("/opt/dd/dd-java-agent-1.2.jar", kOther)}));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reason, SkipReason::conflict);
    EXPECT_EQ(v->detail, "-javaagent:/opt/dd/dd-java-agent-1.2.jar (cmdline) matches conflict "
                         "\"*/dd-java-agent*.jar\" (path)");
    daemon::AgentInventory inv = with_static({});
    inv.dynamic_agents.push_back({0, 1, "java", "/opt/newrelic/newrelic.jar", "", "attach", 9, ""});
    v = check_agents(r, inv);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reason, SkipReason::conflict);
    EXPECT_NE(v->detail.find("/opt/newrelic/newrelic.jar"), std::string::npos);
    // A static agent whose file was never inspected still has its path.
    auto bare = static_agent("/x/dd-java-agent.jar", "");
    bare.file.reset();
    EXPECT_TRUE(check_agents(r, with_static({bare})));
}

TEST(InjectAgentChecks, ConflictByClass) {
    auto r = rule_for(kSha, {});
    r.conflicts = {conflict("class:io.opentelemetry.javaagent.*")};
    auto v = check_agents(r, with_static({static_agent("/renamed/agent.jar", kOther,
                                                       "io.opentelemetry.javaagent.OpenTelemetryAgent")}));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reason, SkipReason::conflict);
    EXPECT_EQ(v->detail, "-javaagent:/renamed/agent.jar (cmdline) matches conflict "
                         "\"class:io.opentelemetry.javaagent.*\" (class "
                         "io.opentelemetry.javaagent.OpenTelemetryAgent)");
    EXPECT_FALSE(check_agents(r, with_static({static_agent("/renamed/agent.jar", kOther, "co.elastic.Agent")})));
}

TEST(InjectAgentChecks, AlreadyPresentWinsOverConflict) {
    auto r = rule_for(kSha, {});
    r.conflicts = {conflict("/*")};
    auto v = check_agents(r, with_static({static_agent("/srv/x.jar", kSha)}));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reason, SkipReason::already_present);
}

TEST(InjectAgentChecks, DynamicLoadWarnsFromJdk21WithoutTheFlag) {
    jvm::JvmProcess j;
    j.jdk_version = "17.0.15";
    EXPECT_FALSE(dynamic_load_warns(j));
    j.jdk_version = "21.0.2";
    EXPECT_TRUE(dynamic_load_warns(j));
    j.jdk_version = "25";
    EXPECT_TRUE(dynamic_load_warns(j));
    j.flags.enable_dynamic_agent_loading = true;
    EXPECT_FALSE(dynamic_load_warns(j));
    j.flags.enable_dynamic_agent_loading.reset();
    j.jdk_version = "";
    EXPECT_FALSE(dynamic_load_warns(j));  // unknown: not claimed
}

}  // namespace
}  // namespace jvmwatch::inject
