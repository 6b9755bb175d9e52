// `--version` on both binaries, and jvmwatchd's `--output text` end to end (root): a real
// daemon writing one line per event on stdout, a real JVM, a real `jvmwatch attach`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"

using namespace jvmwatch::test;

namespace {

std::string version_file() {
    std::ifstream in(source_dir() + "/VERSION");
    std::string v;
    std::getline(in, v);
    return v;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// The first line of `text` containing every needle.
std::string line_with(const std::string& text, const std::vector<std::string>& needles) {
    for (const auto& l : lines_of(text)) {
        bool all = true;
        for (const auto& n : needles) all = all && l.find(n) != std::string::npos;
        if (all) return l;
    }
    return "";
}

}  // namespace

TEST(TextOutput, VersionOnBothBinaries) {
    std::string version = version_file();
    ASSERT_FALSE(version.empty()) << "no VERSION file in " << source_dir();
    for (const std::string bin : {"jvmwatchd", "jvmwatch"}) {
        std::string out;
        EXPECT_EQ(run_command({bin_path(bin), "--version"}, &out), 0) << out;
        // "<bin> <version>", then " (git <commit>)" when built from a checkout.
        std::regex form("^" + bin + " " + std::regex_replace(version, std::regex(R"([.+])"), R"(\$&)") +
                        R"(( \(git [0-9A-Za-z._+~-]+\))?\n$)");
        EXPECT_TRUE(std::regex_match(out, form)) << bin << " printed: " << out;
    }
}

TEST(TextOutput, BogusOutputIsOneLineAndUsageExit) {
    std::string out;
    EXPECT_EQ(run_command({bin_path("jvmwatchd"), "--output", "bogus"}, &out), 2) << out;
    EXPECT_EQ(out, "jvmwatchd: --output: expected json or text, not 'bogus' (see --help)\n");
    EXPECT_EQ(run_command({bin_path("jvmwatchd"), "--help"}, &out), 0);
    EXPECT_NE(out.find("--output"), std::string::npos) << out;
    EXPECT_NE(out.find("--version"), std::string::npos) << out;
}

TEST(TextOutput, DaemonPrintsOneLinePerEventOnStdout) {
    JW_REQUIRE_ROOT();
    Child::Spec spec;
    spec.argv = {bin_path("jvmwatchd"), "--output", "text", "--metrics-listen", "127.0.0.1:0"};
    Child d(spec);
    ASSERT_TRUE(d.wait_for_output(" daemon.start ", std::chrono::seconds(60))) << d.output();
    std::string start = line_with(d.output(), {" daemon.start "});
    EXPECT_NE(start.find("jvmwatchd[" + std::to_string(d.pid()) + "] " + version_file()), std::string::npos)
        << start;

    Child jvm(java_spec({}, "jw.daemon.Idle", {"300"}));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    std::string pid = std::to_string(jvm.pid());
    const std::string as_target = "java[" + pid + "] root jw.daemon.Idle";

    ASSERT_TRUE(d.wait_for_output(" jvm.start      " + as_target, std::chrono::seconds(30))) << d.output();
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", pid, "properties"}, &out), 0) << out;
    // The attacher (our jvmwatch, a root process) -> the JVM; the JVM side (Debian's JDK 17
    // keeps its symbols) gives the op and the reply's code.
    ASSERT_TRUE(d.wait_for_output("] root -> " + as_target, std::chrono::seconds(30))) << d.output();
    std::string attach = line_with(d.output(), {" attach ", "-> " + as_target});
    EXPECT_NE(attach.find(" attach         jvmwatch["), std::string::npos) << attach;
    EXPECT_NE(attach.find(" properties  => replied rc=0"), std::string::npos) << attach;

    d.kill(SIGTERM);
    auto st = d.wait_exit(std::chrono::seconds(30));
    ASSERT_TRUE(st);
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << d.output();

    // stdout holds only text lines (stderr, in the same capture, only the daemon's log).
    std::regex text_line(R"(^\d\d:\d\d:\d\d\.\d\d\d [a-z_.]+ +\S.*$)");
    size_t events = 0;
    for (const auto& l : lines_of(d.output())) {
        if (l.rfind("jvmwatchd: ", 0) == 0) continue;
        EXPECT_TRUE(std::regex_match(l, text_line)) << "not a text event line: " << l;
        ++events;
    }
    EXPECT_GE(events, 5u) << "daemon.start, jvm.start, attach, stats, daemon.stop";
    EXPECT_FALSE(line_with(d.output(), {" stats          final, "}).empty()) << d.output();
    EXPECT_FALSE(line_with(d.output(), {" daemon.stop    ", "=> stopped by SIGTERM"}).empty()) << d.output();
}

TEST(TextOutput, AuditLogFileStaysJson) {
    JW_REQUIRE_ROOT();
    // The harness parses every line of the file as JSON and checks it against the schema.
    Jvmwatchd d({"--output", "text"});
    ASSERT_TRUE(d.wait_ready()) << d.output();
    auto st = d.stop();
    ASSERT_TRUE(st);
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << d.output();
    auto evs = d.events();
    ASSERT_GE(evs.size(), 3u);
    EXPECT_EQ(evs.front()["type"], "daemon.start");
    EXPECT_EQ(evs.front()["version"], version_file());
    EXPECT_EQ(evs.back()["type"], "daemon.stop");
    EXPECT_NE(d.output().find("--output text applies to stdout; the audit log " + d.log_path() +
                              " stays JSON Lines"),
              std::string::npos)
        << d.output();
}
