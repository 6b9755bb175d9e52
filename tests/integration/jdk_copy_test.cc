// The StrippedJdk fixture (tests/common/jdk_copy.h): the copy's launcher runs the copy's
// stripped libjvm.so, not the original's, whether the tree is hard-linked or symlinked.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/common/jdk_copy.h"
#include "tests/common/support.h"

namespace jvmwatch::test {
namespace {

std::string read_all(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

class JdkCopy : public ::testing::TestWithParam<StrippedJdk::Links> {};

TEST_P(JdkCopy, LauncherRunsTheCopysStrippedLibjvm) {
    auto jdks = installed_jdks();
    ASSERT_FALSE(jdks.empty()) << "no JDK in /usr/lib/jvm";
    for (const auto& jdk : jdks) {
        SCOPED_TRACE(jdk);
        StrippedJdk copy(jdk, GetParam());
        EXPECT_EQ(copy.hard_linked(), GetParam() == StrippedJdk::Links::hard_if_possible && have_root());

        std::string out;
        ASSERT_EQ(run_command({copy.java(), "-XshowSettings:properties", "-version"}, &out), 0) << out;
        EXPECT_NE(out.find("java.home = " + copy.java_home() + "\n"), std::string::npos) << out;

        // The copy's libjvm.so has no .symtab: `strip` ran on it, and on it alone.
        std::string sections;
        ASSERT_EQ(run_command({"readelf", "-S", "-W", copy.libjvm()}, &sections), 0);
        EXPECT_EQ(sections.find(" .symtab "), std::string::npos);
        ASSERT_EQ(run_command({"readelf", "-S", "-W", jdk + "/lib/server/libjvm.so"}, &sections), 0);
        EXPECT_NE(sections.find(" .symtab "), std::string::npos);

        // A running JVM of the copy maps the copy's libjvm.so and no other.
        Child jvm({{copy.java(), "-cp", java_classes(), "jw.test.Sleeper"}, {}, {}, {}, ""});
        ASSERT_TRUE(jvm.wait_for_output("ready")) << jvm.output();
        std::string maps = read_all("/proc/" + std::to_string(jvm.pid()) + "/maps");
        EXPECT_NE(maps.find(copy.libjvm()), std::string::npos) << maps;
        EXPECT_EQ(maps.find(jdk + "/lib/server/libjvm.so"), std::string::npos);
    }
}

INSTANTIATE_TEST_SUITE_P(Links, JdkCopy,
                         ::testing::Values(StrippedJdk::Links::hard_if_possible,
                                           StrippedJdk::Links::symlinks),
                         [](const auto& info) {
                             return info.param == StrippedJdk::Links::symlinks ? "Symlinks" : "HardLinks";
                         });

}  // namespace
}  // namespace jvmwatch::test
