// The Java programs the JVM-side tests drive (tests/java/src/jw/test): SelfAttach loads an
// agent into its own JVM through the attach API, and JmxAgentLoad loads one into another
// JVM over JMX (DiagnosticCommand jvmtiAgentLoad), on JDK 17 and, where present, 25.  No
// daemon: this proves the programs do what the audit tests then expect to see.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>

#include "tests/common/support.h"

namespace jvmwatch::test {
namespace {

const char* const kJdks[] = {"/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/temurin-25-jdk-amd64"};

Child::Spec java(const std::string& jdk, std::vector<std::string> args) {
    Child::Spec s;
    s.argv = {jdk + "/bin/java", "-Xmx64m", "-cp", java_classes()};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    return s;
}

TEST(JvmSidePrograms, SelfAttachLoadsTheAgentIntoItself) {
    for (const char* jdk : kJdks) {
        if (!std::filesystem::exists(std::string(jdk) + "/bin/java")) continue;
        SCOPED_TRACE(jdk);
        TempDir dir("jvmwatch-self");
        std::string marker = dir.file("marker");
        Child self(java(jdk, {"-Djdk.attach.allowAttachSelf=true", "jw.test.SelfAttach", java_jar("marker"),
                              marker + ",self"}));
        ASSERT_TRUE(self.wait_for_output("self-attach loaded", std::chrono::seconds(60))) << self.output();
        EXPECT_EQ(read_text(marker), marker + ",self");
        EXPECT_TRUE(self.alive()) << "it sleeps until killed";
    }
}

TEST(JvmSidePrograms, JmxAgentLoadLoadsTheAgentOverJmx) {
    for (const char* jdk : kJdks) {
        if (!std::filesystem::exists(std::string(jdk) + "/bin/java")) continue;
        SCOPED_TRACE(jdk);
        TempDir dir("jvmwatch-jmx");
        std::string marker = dir.file("marker");
        Child target(java(jdk, {"jw.test.Sleeper"}));
        ASSERT_TRUE(target.wait_for_output("ready", std::chrono::seconds(60))) << target.output();
        std::string pid = std::to_string(target.pid());
        std::string out;
        ASSERT_EQ(run_command({std::string(jdk) + "/bin/jcmd", pid, "ManagementAgent.start_local"}, &out), 0) << out;
        Child client(java(jdk, {"jw.test.JmxAgentLoad", pid, java_jar("marker"), marker + ",jmx"}));
        auto st = client.wait_exit(std::chrono::seconds(60));
        ASSERT_TRUE(st && WIFEXITED(*st)) << client.output();
        EXPECT_EQ(WEXITSTATUS(*st), 0) << client.output();
        EXPECT_EQ(client.output(), "jvmtiAgentLoad: return code: 0\n");
        EXPECT_EQ(read_text(marker), marker + ",jmx");

        // A jar that is not there: the JVM's error code, exit 1.
        Child bad(java(jdk, {"jw.test.JmxAgentLoad", pid, dir.file("missing.jar")}));
        st = bad.wait_exit(std::chrono::seconds(60));
        ASSERT_TRUE(st && WIFEXITED(*st)) << bad.output();
        EXPECT_EQ(WEXITSTATUS(*st), 1) << bad.output();
        EXPECT_NE(bad.output().find("jvmtiAgentLoad: return code: "), std::string::npos) << bad.output();
    }
}

}  // namespace
}  // namespace jvmwatch::test
