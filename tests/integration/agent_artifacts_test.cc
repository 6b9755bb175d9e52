// Static agents end to end (root): real JVMs started with -javaagent: on the command line
// and in JAVA_TOOL_OPTIONS; jvm.start carries each agent's source, sha256, owner, mode and
// its jar's manifest, and with artifacts.evidence on, a root-only copy that outlives the
// agent file.  Every event is validated against the schema by the harness.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"

using namespace jvmwatch::test;
using nlohmann::json;

namespace {

std::string sha256sum(const std::string& path) {
    std::string out;
    EXPECT_EQ(run_command({"sha256sum", path}, &out), 0) << out;
    return out.substr(0, out.find(' '));
}

// The jvm.start of `pid` once it lists agents.
std::optional<json> start_with_agents(Jvmwatchd& d, pid_t pid) {
    return d.wait_for([&](const json& e) {
        return e["type"] == "jvm.start" && e["jvm"]["pid"] == pid && e["jvm"].contains("agents");
    }, std::chrono::seconds(60));
}

void expect_marker_agent(const json& a, const std::string& jar, const std::string& sha) {
    EXPECT_EQ(a["kind"], "java") << a.dump();
    EXPECT_EQ(a["path"], jar);
    EXPECT_EQ(a["sha256"], sha) << a.dump();
    EXPECT_EQ(a["resolved_in"], "root");
    EXPECT_EQ(a["content"], "jar");
    EXPECT_EQ(a["uid"], 0);
    EXPECT_EQ(a["mode"], "0640");
    EXPECT_TRUE(a["mtime"].is_string());
    EXPECT_EQ(a["manifest"]["premain_class"], "jw.test.MarkerAgent") << a.dump();
    EXPECT_EQ(a["manifest"]["agent_class"], "jw.test.MarkerAgent");
    EXPECT_FALSE(a.contains("why")) << a.dump();
}

}  // namespace

TEST(AgentArtifacts, CommandLineAndJavaToolOptionsAgentsCarryHashManifestAndEvidence) {
    JW_REQUIRE_ROOT();
    TempDir work("jw-artifacts", "/var/tmp");
    std::string priv = work.file("private");
    ASSERT_EQ(::mkdir(priv.c_str(), 0700), 0);
    std::string evidence_dir = priv + "/evidence";
    std::string cfg = work.file("jvmwatchd.yaml");
    std::ofstream(cfg) << "artifacts:\n  evidence: true\n  evidence_dir: " << evidence_dir
                       << "\n  evidence_max_files: 8\n";
    Jvmwatchd d({"--config", cfg, "--stats-interval", "1"});
    ASSERT_TRUE(d.wait_ready()) << d.output();

    // Two copies of the marker agent under different names; the JVMs write their marker
    // files here.
    std::string cmd_jar = work.file("cmdline-agent.jar"), env_jar = work.file("env-agent.jar");
    for (const auto& j : {cmd_jar, env_jar}) {
        std::filesystem::copy_file(java_jar("marker"), j);
        ASSERT_EQ(::chmod(j.c_str(), 0640), 0);
    }
    std::string sha = sha256sum(cmd_jar);

    Child by_cmdline(java_spec({"-javaagent:" + cmd_jar + "=" + work.file("m1")}, "jw.daemon.Idle", {"300"}));
    Child::Spec env_spec = java_spec({}, "jw.daemon.Idle", {"300"});
    env_spec.env_extra = {"JAVA_TOOL_OPTIONS=-Xss2m '-javaagent:" + env_jar + "=" + work.file("m2") + "'"};
    Child by_env(env_spec);
    ASSERT_TRUE(by_cmdline.wait_for_output("ready", std::chrono::seconds(60))) << by_cmdline.output();
    ASSERT_TRUE(by_env.wait_for_output("ready", std::chrono::seconds(60))) << by_env.output();
    // The agents really ran (premain wrote its marker).
    EXPECT_TRUE(std::filesystem::exists(work.file("m1")));
    EXPECT_TRUE(std::filesystem::exists(work.file("m2")));

    auto s1 = start_with_agents(d, by_cmdline.pid());
    ASSERT_TRUE(s1) << "no jvm.start with agents for the -javaagent JVM";
    ASSERT_EQ((*s1)["jvm"]["agents"].size(), 1u) << (*s1).dump();
    const json& a1 = (*s1)["jvm"]["agents"][0];
    expect_marker_agent(a1, cmd_jar, sha);
    EXPECT_EQ(a1["source"], "cmdline");
    EXPECT_EQ(a1["options"], work.file("m1"));

    auto s2 = start_with_agents(d, by_env.pid());
    ASSERT_TRUE(s2) << "no jvm.start with agents for the JAVA_TOOL_OPTIONS JVM";
    ASSERT_EQ((*s2)["jvm"]["agents"].size(), 1u) << (*s2).dump();
    const json& a2 = (*s2)["jvm"]["agents"][0];
    expect_marker_agent(a2, env_jar, sha);
    EXPECT_EQ(a2["source"], "JAVA_TOOL_OPTIONS");

    // One evidence copy for the one content, root-only, and it outlives the agent files.
    std::string copy = evidence_dir + "/" + sha;
    EXPECT_EQ(a1["evidence"], copy) << a1.dump();
    EXPECT_EQ(a2["evidence"], copy) << a2.dump();
    ASSERT_EQ(::unlink(cmd_jar.c_str()), 0);
    ASSERT_EQ(::unlink(env_jar.c_str()), 0);
    EXPECT_EQ(sha256sum(copy), sha);
    struct stat st;
    ASSERT_EQ(::lstat(copy.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0400u);
    EXPECT_EQ(st.st_uid, 0u);
    ASSERT_EQ(::lstat(evidence_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    // The stats event counts them: at least ours (other JVMs on the host may have agents).
    auto stats = d.wait_for([](const json& e) {
        return e["type"] == "stats" && e.contains("evidence") && e["evidence"]["deduplicated"] >= 1;
    });
    ASSERT_TRUE(stats) << "no stats event with the evidence counters";
    EXPECT_GE((*stats)["evidence"]["stored"], 1);
    EXPECT_GE((*stats)["evidence"]["files"], 1);
    EXPECT_LE((*stats)["evidence"]["files"], 8);
    EXPECT_GE((*stats)["evidence"]["bytes"], std::filesystem::file_size(copy));
}

TEST(AgentArtifacts, AnUnsafeEvidenceDirectoryStopsTheStart) {
    JW_REQUIRE_ROOT();
    TempDir work("jw-artifacts-bad", "/var/tmp");
    std::string open_dir = work.file("open");
    ASSERT_EQ(::mkdir(open_dir.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);   // others could swap the store out
    std::string cfg = work.file("jvmwatchd.yaml");
    std::ofstream(cfg) << "artifacts:\n  evidence: true\n  evidence_dir: " << open_dir << "/ev\n";
    std::string out;
    int rc = run_command({bin_path("jvmwatchd"), "--config", cfg, "--no-api", "--metrics-listen", "127.0.0.1:0"},
                         &out, std::chrono::seconds(60));
    EXPECT_EQ(rc, 13) << out;
    EXPECT_NE(out.find("evidence store " + open_dir + "/ev: " + open_dir + " is writable by group or others"),
              std::string::npos) << out;
}

// The launcher's JDK_JAVA_OPTIONS and _JAVA_OPTIONS, on the Temurin 25 in /usr/lib/jvm when
// present: listed in the order the JVM reads them, each with its source.
TEST(AgentArtifacts, LauncherAndUnderscoreOptionsOnJdk25) {
    JW_REQUIRE_ROOT();
    const std::string java25 = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java";
    if (access(java25.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << java25;
    TempDir work("jw-artifacts-25", "/var/tmp");
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    std::string jar = work.file("agent.jar");
    std::filesystem::copy_file(java_jar("marker"), jar);
    ASSERT_EQ(::chmod(jar.c_str(), 0640), 0);
    Child::Spec spec;
    spec.argv = {java25, "-cp", java_classes(), "jw.daemon.Idle", "300"};
    spec.env_extra = {"JDK_JAVA_OPTIONS=-javaagent:" + jar + "=" + work.file("m1"),
                      "_JAVA_OPTIONS=-javaagent:" + jar + "=" + work.file("m2")};
    Child jvm(spec);
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    EXPECT_TRUE(std::filesystem::exists(work.file("m1"))) << jvm.output();
    EXPECT_TRUE(std::filesystem::exists(work.file("m2"))) << jvm.output();
    auto s = start_with_agents(d, jvm.pid());
    ASSERT_TRUE(s);
    const json& agents = (*s)["jvm"]["agents"];
    ASSERT_EQ(agents.size(), 2u) << s->dump();
    EXPECT_EQ(agents[0]["source"], "JDK_JAVA_OPTIONS");
    EXPECT_EQ(agents[0]["options"], work.file("m1"));
    EXPECT_EQ(agents[1]["source"], "_JAVA_OPTIONS");
    EXPECT_EQ(agents[1]["options"], work.file("m2"));
    for (const auto& a : agents) expect_marker_agent(a, jar, sha256sum(jar));
    EXPECT_FALSE(agents[0].contains("evidence"));   // off by default
}
