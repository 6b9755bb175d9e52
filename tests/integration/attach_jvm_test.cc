// The attach engine against real JDK 17 JVMs (root): operations, agents, cold, warm
// and 0 ms attaches, -Xrs, and protocol v2 on a JDK 25 when one is installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "attach/procfs.h"
#include "jvmwatch/attach.h"
#include "tests/common/support.h"
#include "tests/integration/shared_jvm_fixture.h"

namespace jvmwatch::attach {
namespace {

using test::Child;
using test::java_spec;

constexpr auto kTimeout = std::chrono::seconds(30);  // generous: the machine is shared

Result attach(pid_t pid, const Request& req) {
    Options o;
    o.timeout = kTimeout;
    return run(pid, req, o);
}

std::string read_all(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

using test::expect_no_thread_dump;

// The warm tests share one idle JVM.
class AttachJvm : public test::SharedJvmTest {
protected:
    static pid_t pid() { return jvm_->pid(); }
};

TEST_F(AttachJvm, PropertiesThenWarm) {
    auto r = attach(pid(), {"properties", {}});
    ASSERT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_EQ(r.jvm_code, 0);
    EXPECT_NE(r.output.find("java.specification.version=17"), std::string::npos) << r.output;
    // The listener is up now: a second attach connects without a signal.
    auto warm = attach(pid(), {"agentProperties", {}});
    ASSERT_EQ(warm.outcome, Outcome::ok) << warm.detail;
    EXPECT_FALSE(warm.signalled);
    EXPECT_EQ(warm.protocol, 1);
}

TEST_F(AttachJvm, ThreaddumpGoesToTheClient) {
    auto r = attach(pid(), {"threaddump", {}});
    ASSERT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_NE(r.output.find("Full thread dump"), std::string::npos);
    EXPECT_NE(r.output.find("\"main\""), std::string::npos);
}

TEST_F(AttachJvm, JcmdVersionStreams) {
    std::string streamed;
    Options o;
    o.timeout = kTimeout;
    o.on_output = [&](std::string_view s) { streamed.append(s); };
    std::string err;
    auto req = make_request("jcmd", {"VM.version"}, &err);
    ASSERT_TRUE(req) << err;
    auto r = run(pid(), *req, o);
    ASSERT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_NE(streamed.find("JDK 17"), std::string::npos) << streamed;
    EXPECT_TRUE(r.output.empty()) << "streamed output is not also buffered";
}

TEST_F(AttachJvm, SetflagThenPrintflag) {
    auto before = attach(pid(), {"printflag", {"HeapDumpOnOutOfMemoryError"}});
    ASSERT_EQ(before.outcome, Outcome::ok) << before.detail;
    EXPECT_NE(before.output.find("-XX:-HeapDumpOnOutOfMemoryError"), std::string::npos);
    auto set = attach(pid(), {"setflag", {"HeapDumpOnOutOfMemoryError", "1"}});
    ASSERT_EQ(set.outcome, Outcome::ok) << set.detail;
    auto after = attach(pid(), {"printflag", {"HeapDumpOnOutOfMemoryError"}});
    EXPECT_NE(after.output.find("-XX:+HeapDumpOnOutOfMemoryError"), std::string::npos) << after.output;
    // Observed on JDK 17: a non-manageable flag is a JVM error with its message.
    auto bad = attach(pid(), {"setflag", {"MaxHeapSize", "1"}});
    EXPECT_EQ(bad.outcome, Outcome::jvm_error);
    EXPECT_EQ(bad.jvm_code, -1);
    EXPECT_NE(bad.detail.find("cannot be changed"), std::string::npos) << bad.detail;
}

TEST_F(AttachJvm, UnknownOperationIsJvmError) {
    auto r = attach(pid(), {"bogusop", {}});
    EXPECT_EQ(r.outcome, Outcome::jvm_error);
    EXPECT_EQ(r.jvm_code, -1);
    EXPECT_NE(r.detail.find("Operation bogusop not recognized"), std::string::npos) << r.detail;
}

TEST_F(AttachJvm, LoadJavaAgentWritesMarker) {
    test::TempDir dir("jw-attach-agent");
    std::string marker = dir.file("marker");
    std::string options = marker + ",hello world=1";
    auto r = attach(pid(), load_java_agent(test::java_jar("marker"), options));
    ASSERT_EQ(r.outcome, Outcome::ok) << r.detail << r.output;
    EXPECT_EQ(r.agent_code, 0);
    EXPECT_EQ(read_all(marker), options);
}

TEST_F(AttachJvm, ThrowingAndMissingAgents) {
    auto r = attach(pid(), load_java_agent(test::java_jar("throwing"), "x"));
    EXPECT_EQ(r.outcome, Outcome::agent_error) << r.detail;
    EXPECT_EQ(r.agent_code, 102);  // JDK 17: agentmain threw
    auto missing = attach(pid(), load_java_agent("/nonexistent/agent.jar", ""));
    EXPECT_EQ(missing.outcome, Outcome::agent_error);
    EXPECT_EQ(missing.agent_code, 100);
    auto native = attach(pid(), load_native_agent("/nonexistent/libagent.so", ""));
    EXPECT_EQ(native.outcome, Outcome::jvm_error);  // "-1\n... was not loaded."
    EXPECT_NE(native.detail.find("was not loaded"), std::string::npos) << native.detail;
}

TEST_F(AttachJvm, OverV1LimitOnJdk17IsInvalidRequest) {
    auto r = attach(pid(), {"jcmd", {std::string(2000, 'x')}});
    EXPECT_EQ(r.outcome, Outcome::invalid_request);
    EXPECT_NE(r.detail.find("1024"), std::string::npos) << r.detail;
    EXPECT_EQ(r.protocol, 2);
    Options o;
    o.protocol = 1;
    auto forced = run(pid(), {"jcmd", {std::string(2000, 'x')}}, o);
    EXPECT_EQ(forced.outcome, Outcome::invalid_request);
}

TEST(AttachJvmCold, FirstAttachToFreshJvm) {
    JW_REQUIRE_ROOT();
    Child jvm(java_spec({"-Xmx64m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    auto r = attach(jvm.pid(), {"jcmd", {"VM.version"}});
    ASSERT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_TRUE(r.signalled);
    EXPECT_NE(r.output.find("JDK 17"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(jvm.pid()) + "/cwd/.attach_pid" +
                                         std::to_string(jvm.pid())))
        << "trigger file removed";
    expect_no_thread_dump(jvm);
}

TEST(AttachJvmCold, ZeroMsAfterExec) {
    JW_REQUIRE_ROOT();
    std::string java = std::filesystem::canonical("/usr/bin/java").string();
    for (int round = 0; round < 2; ++round) {
        Child jvm(java_spec({"-Xmx64m"}, "jw.test.Sleeper"));
        // Attach the instant the exec has happened (before it is the JVM, it is us).
        std::string exe;
        ASSERT_TRUE(test::eventually(
            [&] { return (exe = proc::read_exe("/proc", jvm.pid())) == java; },
            std::chrono::seconds(10)))
            << exe;
        auto r = attach(jvm.pid(), {"jcmd", {"VM.version"}});
        EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
        EXPECT_TRUE(jvm.alive()) << "SIGQUIT before the handler would have killed it";
        EXPECT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
        expect_no_thread_dump(jvm);
    }
}

TEST(AttachJvmCold, ReduceSignalUsageListenerNeedsNoSignal) {
    JW_REQUIRE_ROOT();
    Child jvm(java_spec({"-Xrs", "-Xmx64m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    auto r = attach(jvm.pid(), {"properties", {}});
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_FALSE(r.signalled) << "-Xrs: never signalled";
    EXPECT_TRUE(jvm.alive());
    expect_no_thread_dump(jvm);
}

// Protocol v2 and the JDK 21+ agent policy need a newer JDK; the tests use one if the
// machine has it (Temurin 25 under /usr/lib/jvm).
std::string find_jdk25_java() {
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator("/usr/lib/jvm", ec)) {
        std::string name = e.path().filename().string();
        if (name.find("25") != std::string::npos && std::filesystem::exists(e.path() / "bin/java"))
            return (e.path() / "bin/java").string();
    }
    return "";
}

TEST(AttachJvmNewer, Jdk25ProtocolV2AndAgentPolicy) {
    JW_REQUIRE_ROOT();
    std::string java = find_jdk25_java();
    if (java.empty()) GTEST_SKIP() << "no JDK 25 installed";
    auto spec = java_spec({"-XX:-EnableDynamicAgentLoading", "-Xmx64m"}, "jw.test.Sleeper");
    spec.argv[0] = java;
    Child jvm(spec);
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    // Four jcmd words joined fit v1; four separate args do not: v2 after negotiation.
    auto r = attach(jvm.pid(), {"jcmd", {"VM.version", "", "", ""}});
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_EQ(r.protocol, 2);
    EXPECT_NE(r.output.find("JDK 25"), std::string::npos) << r.output;
    auto load = attach(jvm.pid(), load_java_agent(test::java_jar("marker"), "/nonexistent/m"));
    EXPECT_EQ(load.outcome, Outcome::dynamic_loading_disabled) << load.detail << load.output;
    expect_no_thread_dump(jvm);
}

}  // namespace
}  // namespace jvmwatch::attach
