// JVM detection, attach flags, main class and JDK version, from fixtures and strings.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "attach/jvm_process.h"
#include "tests/common/support.h"

namespace jvmwatch::jvm {
namespace {

std::string fixture() { return test::source_dir() + "/tests/fixtures/proc"; }

TEST(JvmProcessInspect, HotSpotInContainer) {
    auto j = inspect(fixture(), 4242);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->kind, Kind::hotspot);
    EXPECT_TRUE(j->libjvm_loaded);
    EXPECT_EQ(j->pid, 4242);
    EXPECT_EQ(j->nspid, 7);
    EXPECT_EQ(j->euid, 1001u);
    EXPECT_EQ(j->egid, 2001u);
    EXPECT_EQ(j->start_time_ticks, 123456u);
    EXPECT_EQ(j->java_home, "/opt/jdk");
    EXPECT_EQ(j->jdk_version, "17.0.9") << "read through <proc>/<pid>/root";
    EXPECT_EQ(j->main, "com.example.Main");
    // Flags after the main class are program arguments, not JVM options.
    EXPECT_FALSE(j->flags.disable_attach_mechanism);
    EXPECT_FALSE(j->flags.reduce_signal_usage);
    EXPECT_EQ(j->flags.enable_dynamic_agent_loading, true);
    EXPECT_TRUE(j->flags.attach_compat);
}

TEST(JvmProcessInspect, NotAJvmOpenJ9AndLauncher) {
    auto bash = inspect(fixture(), 4343);
    ASSERT_TRUE(bash);
    EXPECT_EQ(bash->kind, Kind::not_jvm);
    auto j9 = inspect(fixture(), 4444);
    ASSERT_TRUE(j9);
    EXPECT_EQ(j9->kind, Kind::openj9) << "libj9vm wins over its libjvm.so shim";
    EXPECT_EQ(j9->main, "/srv/app.jar");
    auto launcher = inspect(fixture(), 4545);
    ASSERT_TRUE(launcher);
    EXPECT_EQ(launcher->kind, Kind::hotspot) << "exe java, libjvm not mapped yet";
    EXPECT_FALSE(launcher->libjvm_loaded);
    EXPECT_EQ(launcher->java_home, "/usr/lib/jvm/x");
    EXPECT_EQ(launcher->main, "app.mod/app.Main");
    EXPECT_FALSE(inspect(fixture(), 99999));
}

TEST(JvmProcessInspect, AttachFastPathSkipsMapsAndNss) {
    auto j = inspect(fixture(), 4242, /*for_attach=*/true);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->kind, Kind::hotspot);
    EXPECT_EQ(j->user, "1001");
    EXPECT_EQ(j->java_home, "/opt/jdk");
    EXPECT_EQ(j->jdk_version, "17.0.9");
    EXPECT_FALSE(j->libjvm_loaded) << "not known without maps";
    // OpenJ9 is told by its JAVA_HOME's VM library.
    auto j9 = inspect(fixture(), 4444, true);
    ASSERT_TRUE(j9);
    EXPECT_EQ(j9->kind, Kind::openj9);
    auto bash = inspect(fixture(), 4343, true);
    ASSERT_TRUE(bash);
    EXPECT_EQ(bash->kind, Kind::not_jvm);
}

TEST(JvmProcessList, ListsOnlyJvms) {
    auto all = list_jvms(fixture());
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].pid, 4242);
    EXPECT_EQ(all[1].pid, 4444);
    EXPECT_EQ(all[2].pid, 4545);
}

TEST(JvmProcessFlags, CommandLineLastWins) {
    auto f = parse_attach_flags({"java", "-XX:+DisableAttachMechanism", "-Xrs", "Main"}, {});
    EXPECT_TRUE(f.disable_attach_mechanism);
    EXPECT_TRUE(f.reduce_signal_usage);
    f = parse_attach_flags(
        {"java", "-XX:+DisableAttachMechanism", "-XX:-DisableAttachMechanism", "Main"}, {});
    EXPECT_FALSE(f.disable_attach_mechanism);
    EXPECT_FALSE(f.enable_dynamic_agent_loading.has_value());
}

TEST(JvmProcessFlags, EnvironmentOrder) {
    // JAVA_TOOL_OPTIONS < JDK_JAVA_OPTIONS < command line < _JAVA_OPTIONS.
    std::vector<std::string> env = {"JAVA_TOOL_OPTIONS=-XX:+DisableAttachMechanism"};
    EXPECT_TRUE(parse_attach_flags({"java", "Main"}, env).disable_attach_mechanism);
    EXPECT_FALSE(parse_attach_flags({"java", "-XX:-DisableAttachMechanism", "Main"}, env)
                     .disable_attach_mechanism);
    env.push_back("_JAVA_OPTIONS=-Xmx1g  -XX:+DisableAttachMechanism");
    EXPECT_TRUE(parse_attach_flags({"java", "-XX:-DisableAttachMechanism", "Main"}, env)
                    .disable_attach_mechanism);
    EXPECT_TRUE(parse_attach_flags({"java", "Main"}, {"JDK_JAVA_OPTIONS=-Xrs"}).reduce_signal_usage);
    EXPECT_FALSE(parse_attach_flags({"java", "-XX:-ReduceSignalUsage", "Main"},
                                    {"JDK_JAVA_OPTIONS=-Xrs"})
                     .reduce_signal_usage);
    // JDK_JAVA_OPTIONS belongs to the java launcher only.
    EXPECT_FALSE(parse_attach_flags({"/opt/app/bin/server"}, {"JDK_JAVA_OPTIONS=-Xrs"})
                     .reduce_signal_usage);
    EXPECT_EQ(parse_attach_flags({"java", "Main"},
                                 {"JAVA_TOOL_OPTIONS='-XX:-EnableDynamicAgentLoading'"})
                  .enable_dynamic_agent_loading,
              false);
    EXPECT_FALSE(parse_attach_flags({"java", "Main"}, {"XJAVA_TOOL_OPTIONS=-Xrs"}).reduce_signal_usage);
}

TEST(JvmProcessMain, SkipsOptionsWithValues) {
    EXPECT_EQ(main_from_cmdline({"java", "-cp", "a:b", "-Xmx1g", "com.x.Main", "arg"}), "com.x.Main");
    EXPECT_EQ(main_from_cmdline({"java", "--class-path", "a", "-p", "m", "--add-opens",
                                 "java.base/java.lang=ALL-UNNAMED", "Main"}),
              "Main");
    EXPECT_EQ(main_from_cmdline({"java", "-Dx=y", "-jar", "/srv/app.jar", "x"}), "/srv/app.jar");
    EXPECT_EQ(main_from_cmdline({"java", "-m", "mod/cls"}), "mod/cls");
    EXPECT_EQ(main_from_cmdline({"java", "--module=mod/cls"}), "mod/cls");
    EXPECT_EQ(main_from_cmdline({"java", "-version"}), "");
    EXPECT_EQ(main_from_cmdline({"java", "-jar"}), "");
    EXPECT_EQ(main_from_cmdline({}), "");
}

TEST(JvmProcessRelease, ParsesJavaVersion) {
    EXPECT_EQ(parse_release_version("IMPLEMENTOR=\"X\"\nJAVA_VERSION=\"21.0.2\"\n"), "21.0.2");
    EXPECT_EQ(parse_release_version("JAVA_VERSION=\"1.8.0_392\"\r\n"), "1.8.0_392");
    EXPECT_EQ(parse_release_version("JAVA_VERSION_DATE=\"2023\"\n"), "");
}

// A copy of fixture 4242 whose JAVA_HOME (/opt/jdk in its root) holds a hostile `release`.
class JvmProcessHostileRelease : public ::testing::Test {
protected:
    void SetUp() override {
        std::filesystem::copy(fixture() + "/4242", tree.file("4242"),
                              std::filesystem::copy_options::recursive |
                                  std::filesystem::copy_options::copy_symlinks);
        std::filesystem::remove(release());
    }
    std::string release() const { return tree.file("4242/root/opt/jdk/release"); }
    // inspect() must return promptly and without a version.
    void expect_no_version() {
        auto t0 = std::chrono::steady_clock::now();
        for (bool fast : {false, true}) {
            auto j = inspect(tree.path(), 4242, fast);
            ASSERT_TRUE(j);
            EXPECT_EQ(j->kind, Kind::hotspot);
            EXPECT_EQ(j->jdk_version, "");
        }
        EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    }
    test::TempDir tree{"jw-hostile-release"};
};

TEST_F(JvmProcessHostileRelease, FifoIsNotOpened) {
    ASSERT_EQ(mkfifo(release().c_str(), 0644), 0);
    expect_no_version();  // an open() for reading would block here forever
}

TEST_F(JvmProcessHostileRelease, SymlinkToADeviceIsNotOpened) {
    // Absolute: resolved inside the process's root, where there is no /dev/zero; and
    // the host's device is never reached.
    ASSERT_EQ(symlink("/dev/zero", release().c_str()), 0);
    expect_no_version();
    std::filesystem::remove(release());
    ASSERT_EQ(symlink("../../../../../../../dev/zero", release().c_str()), 0);
    expect_no_version();
}

TEST_F(JvmProcessHostileRelease, HugeSparseFileIsCapped) {
    {
        std::ofstream(release()) << "";
    }
    ASSERT_EQ(truncate(release().c_str(), off_t(200) << 30), 0);  // 200 GiB of zeros
    std::ofstream(release(), std::ios::app) << "\nJAVA_VERSION=\"99\"\n";
    expect_no_version();  // the version line lies beyond the cap
}

TEST_F(JvmProcessHostileRelease, SymlinkLoopFailsCleanly) {
    ASSERT_EQ(symlink("release", release().c_str()), 0);
    expect_no_version();
}

}  // namespace
}  // namespace jvmwatch::jvm
