// `jvmwatch attach` as a subprocess: output, --json, and one distinct exit code per
// kind of bad input (userspace/cli/commands.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/common/support.h"
#include "tests/integration/shared_jvm_fixture.h"
#include "userspace/cli/commands.h"

namespace jvmwatch::cli {
namespace {

using test::Child;

struct Ran {
    int code;
    std::string out;  // stdout and stderr together
};

Ran jvmwatch(std::vector<std::string> args) {
    args.insert(args.begin(), test::bin_path("jvmwatch"));
    Ran r;
    r.code = test::run_command(args, &r.out, std::chrono::seconds(60));  // exit status
    return r;
}

class AttachCli : public test::SharedJvmTest {
protected:
    static std::string pid() { return std::to_string(jvm_->pid()); }
};

TEST_F(AttachCli, PrintsJvmOutputAndJson) {
    auto r = jvmwatch({"attach", "--timeout", "30000", pid(), "jcmd", "VM.version"});
    EXPECT_EQ(r.code, kOk) << r.out;
    EXPECT_NE(r.out.find("JDK 17"), std::string::npos) << r.out;
    auto j = jvmwatch({"attach", "--json", pid(), "printflag", "MaxHeapSize"});
    EXPECT_EQ(j.code, kOk) << j.out;
    auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc["outcome"], "ok");
    EXPECT_EQ(doc["pid"], jvm_->pid());
    EXPECT_EQ(doc["op"], "printflag");
    EXPECT_EQ(doc["jvm_code"], 0);
    EXPECT_TRUE(doc["agent_code"].is_null());
    EXPECT_NE(doc["output"].get<std::string>().find("MaxHeapSize="), std::string::npos);
    EXPECT_EQ(doc["protocol"], 1);
    EXPECT_TRUE(doc.contains("elapsed_ms") && doc.contains("signalled") && doc.contains("detail"));
}

TEST_F(AttachCli, JvmAndAgentResultCodes) {
    auto bad = jvmwatch({"attach", pid(), "setflag", "MaxHeapSize", "1"});
    EXPECT_EQ(bad.code, kJvmError) << bad.out;
    EXPECT_NE(bad.out.find("jvmwatch: "), std::string::npos);
    auto agent = jvmwatch({"attach", pid(), "load", "instrument", "false", "/nonexistent.jar"});
    EXPECT_EQ(agent.code, kAgentError) << agent.out;
}

TEST_F(AttachCli, BadInputExitCodes) {
    EXPECT_EQ(jvmwatch({"attach"}).code, kUsage);
    auto nonnum = jvmwatch({"attach", "12ab", "properties"});
    EXPECT_EQ(nonnum.code, kUsage);
    EXPECT_NE(nonnum.out.find("not a process id"), std::string::npos) << nonnum.out;
    EXPECT_EQ(jvmwatch({"attach", pid()}).code, kUsage) << "missing op";
    auto unknown = jvmwatch({"attach", pid(), "frobnicate"});
    EXPECT_EQ(unknown.code, kUsage);
    EXPECT_NE(unknown.out.find("unknown operation 'frobnicate'"), std::string::npos) << unknown.out;
    auto over = jvmwatch({"attach", pid(), "jcmd", std::string(1100, 'x')});
    EXPECT_EQ(over.code, kUsage) << over.out;
    EXPECT_NE(over.out.find("1024"), std::string::npos) << over.out;
    EXPECT_EQ(jvmwatch({"attach", "--timeout", "soon", pid(), "properties"}).code, kUsage);
    EXPECT_EQ(jvmwatch({"attach", "--help"}).code, kOk);
}

TEST_F(AttachCli, ProcessExitCodes) {
    pid_t gone;
    {
        Child quick([] {
            Child::Spec s;
            s.argv = {"true"};
            return s;
        }());
        ASSERT_TRUE(quick.wait_exit(std::chrono::seconds(10)));
        gone = quick.pid();
    }
    auto none = jvmwatch({"attach", std::to_string(gone), "properties"});
    EXPECT_EQ(none.code, kNoSuchProcess) << none.out;
    auto notjvm = jvmwatch({"attach", std::to_string(getpid()), "properties"});
    EXPECT_EQ(notjvm.code, kNotAJvm) << notjvm.out;
    EXPECT_NE(notjvm.out.find("not a Java VM"), std::string::npos) << notjvm.out;
    // A non-root client may not attach to root's JVM.
    std::string out;
    int denied = test::run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                    test::bin_path("jvmwatch"), "attach", pid(), "properties"},
                                   &out);
    EXPECT_EQ(denied, kPermissionDenied) << out;
    EXPECT_NE(out.find("attaching needs root or that user"), std::string::npos) << out;
}

// The /proc scan (`--proc`; the daemon's view is tested in api_test.cc).
TEST_F(AttachCli, PsListsTheJvm) {
    auto r = jvmwatch({"ps", "--proc", "--json"});
    ASSERT_EQ(r.code, kOk) << r.out;
    bool found = false;
    for (auto& j : nlohmann::json::parse(r.out)) {
        if (j["pid"] != jvm_->pid()) continue;
        found = true;
        EXPECT_EQ(j["main"], "jw.test.Sleeper");
        EXPECT_EQ(j["user"], "root");
        EXPECT_EQ(j["kind"], "hotspot");
        EXPECT_EQ(j["jdk"].get<std::string>().rfind("17.", 0), 0u) << j.dump();
    }
    EXPECT_TRUE(found) << r.out;
    auto table = jvmwatch({"ps", "--proc"});
    EXPECT_EQ(table.code, kOk);
    EXPECT_NE(table.out.find("PID"), std::string::npos);
    EXPECT_NE(table.out.find(pid() + " "), std::string::npos) << table.out;
}

TEST(AttachCliDisabled, AttachDisabledExitCode) {
    JW_REQUIRE_ROOT();
    Child jvm(test::java_spec({"-XX:+DisableAttachMechanism"}, "jw.test.Sleeper"));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60)));
    auto r = jvmwatch({"attach", std::to_string(jvm.pid()), "properties"});
    EXPECT_EQ(r.code, kAttachDisabled) << r.out;
    EXPECT_NE(r.out.find("DisableAttachMechanism"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace jvmwatch::cli
