// `jvmwatch doctor`: features, hook per event kind, and a real load; a clear failure
// without privileges.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/common/jdk_copy.h"
#include "tests/common/support.h"

namespace jvmwatch::test {
namespace {

TEST(ObserverDoctor, ReportsHooksAndLoadsAsRoot) {
    JW_REQUIRE_ROOT();
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "doctor"}, &out), 0) << out;
    for (const char* s : {"kernel BTF", "tp_btf/sched_process_exec", "cgroup/connect_unix",
                          "Hooks, default mode", "Hooks, deep mode", "sock_data",
                          "Load test: default-mode observer loaded and attached: OK"})
        EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
    EXPECT_EQ(out.find("NONE"), std::string::npos) << out;
}

TEST(ObserverDoctor, WithoutPrivilegesExitsSystemErrorWithTheCause) {
    JW_REQUIRE_ROOT();   // to drop to nobody
    Child::Spec spec{{bin_path("jvmwatch"), "doctor"}, {}, 65534, 65534, ""};
    Child doctor(spec);
    auto st = doctor.wait_exit(std::chrono::seconds(60));
    ASSERT_TRUE(st);
    ASSERT_TRUE(WIFEXITED(*st));
    EXPECT_EQ(WEXITSTATUS(*st), 13) << doctor.output();
    EXPECT_NE(doctor.output().find("jvmwatch doctor: BPF unavailable: "), std::string::npos)
        << doctor.output();
    EXPECT_NE(doctor.output().find("run as root"), std::string::npos);
}

constexpr const char* kJdk17 = "/usr/lib/jvm/java-17-openjdk-amd64";
constexpr const char* kJdk25 = "/usr/lib/jvm/temurin-25-jdk-amd64";

// The doctor line of one JDK home ("" if none).
std::string jdk_line(const std::string& out, const std::string& home) {
    auto at = out.find("\n  " + home + "  ");
    if (at == std::string::npos) return "";
    at += 3;
    return out.substr(at, out.find('\n', at) - at);
}

// The installed JDKs (17 always, 25 where present) support the JVM-side probes: the
// attach listener's read_request and the agent and diagnostic-command probes are found.
TEST(ObserverDoctor, InstalledJdksSupportJvmSideProbes) {
    JW_REQUIRE_ROOT();
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "doctor", "--no-load"}, &out), 0) << out;
    EXPECT_NE(out.find("\nJVM side (uprobes on libjvm.so / libinstrument.so):\n  uprobes: yes (uprobe PMU type "),
              std::string::npos) << out;
    std::string l17 = jdk_line(out, kJdk17);
    EXPECT_EQ(l17.rfind(std::string(kJdk17) + "  17.", 0), 0u) << out;
    EXPECT_NE(l17.find("  JVM-side probes: supported ("), std::string::npos) << l17;
    for (const char* probe : {"read_request", "op_load_agent", "load_agent_library", "dcmd", "agent_on_attach"})
        EXPECT_NE(l17.find(probe), std::string::npos) << probe << ": " << l17;
    if (!std::filesystem::exists(std::string(kJdk25) + "/lib/server/libjvm.so")) return;
    std::string l25 = jdk_line(out, kJdk25);
    EXPECT_EQ(l25.rfind(std::string(kJdk25) + "  25.", 0), 0u) << out;
    EXPECT_NE(l25.find("  JVM-side probes: supported ("), std::string::npos) << l25;
    for (const char* probe : {"read_request", "agent_list_load_agent", "jvmti_agent_load", "dcmd"})
        EXPECT_NE(l25.find(probe), std::string::npos) << probe << ": " << l25;
}

// A JDK whose libjvm.so was stripped gives no JVM-side view, and the line says why.
TEST(ObserverDoctor, StrippedJdkIsClientSideOnlyAndSaysWhy) {
    JW_REQUIRE_ROOT();
    for (const char* jdk : {kJdk17, kJdk25}) {
        if (!std::filesystem::exists(std::string(jdk) + "/lib/server/libjvm.so")) continue;
        SCOPED_TRACE(jdk);
        StrippedJdk copy(jdk);
        std::string out;
        ASSERT_EQ(run_command({bin_path("jvmwatch"), "doctor", "--no-load", "--jdk", copy.java_home()}, &out), 0)
            << out;
        std::string line = jdk_line(out, copy.java_home());
        EXPECT_NE(line.find("client-side only: libjvm.so has no symbol table (stripped)"), std::string::npos)
            << out;
        // Its release file is the original's: same version.
        EXPECT_EQ(line.substr(0, line.find("client-side")).substr(copy.java_home().size() + 2, 3),
                  jdk == std::string(kJdk17) ? "17." : "25.")
            << line;
        EXPECT_NE(jdk_line(out, jdk).find("supported"), std::string::npos) << out;
    }
}

TEST(ObserverDoctor, JsonReportsEachJdksVisibilityAndProbes) {
    JW_REQUIRE_ROOT();
    StrippedJdk copy(kJdk17);
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "doctor", "--no-load", "--json", "--jdk", copy.java_home()}, &out),
              0) << out;
    auto doc = nlohmann::json::parse(out);
    EXPECT_EQ(doc["load_test"], "skipped");
    EXPECT_FALSE(doc["hooks"]["default"].empty());
    const auto& side = doc["jvm_side"];
    EXPECT_EQ(side["uprobes"]["available"], true);
    bool saw17 = false, saw_copy = false;
    for (const auto& j : side["jdks"]) {
        if (j["home"] == kJdk17) {
            saw17 = true;
            EXPECT_EQ(j["visibility"], "jvm") << j;
            EXPECT_EQ(j["version"].get<std::string>().rfind("17.", 0), 0u) << j;
            EXPECT_EQ(j["probes_found"].size() + j["probes_missing"].size(), j["probes_total"].get<size_t>());
            EXPECT_EQ(j["probes_found"][0], "read_request") << j;
        } else if (j["home"] == copy.java_home()) {
            saw_copy = true;
            EXPECT_EQ(j["visibility"], "client") << j;
            EXPECT_NE(j["why"].get<std::string>().find("stripped"), std::string::npos) << j;
            EXPECT_EQ(j["libjvm"]["has_symtab"], false) << j;
            // libinstrument.so is the original's hard link: its symbols are all there.
            EXPECT_EQ(j["libinstrument"]["has_symtab"], true) << j;
            EXPECT_EQ(j["probes_found"], nlohmann::json::array({"agent_on_attach"})) << j;
        }
    }
    EXPECT_TRUE(saw17 && saw_copy) << out;
}

TEST(ObserverDoctor, JdkDirWithoutLibjvmIsAUsageError) {
    TempDir dir("jvmwatch-notjdk");
    std::string out;
    EXPECT_EQ(run_command({bin_path("jvmwatch"), "doctor", "--jdk", dir.path()}, &out), 2) << out;
    EXPECT_EQ(out, "jvmwatch doctor: --jdk: not a JDK: " + dir.path() +
                       "/lib/server/libjvm.so: No such file or directory\n");
    EXPECT_EQ(run_command({bin_path("jvmwatch"), "doctor", "--jdk"}, &out), 2) << out;
    EXPECT_EQ(out, "jvmwatch doctor: --jdk needs a directory\n");
}

}  // namespace
}  // namespace jvmwatch::test
