// Deny rules decided at connect (docs/policy.md, "Deny rules"), end to end: the daemon
// with a deny rule covering one real JDK 17 JVM (by a tag only this test uses, so other
// JVMs on the host are left alone), the JDK's own jcmd allowed, everything else refused
// with EPERM by cgroup/connect_unix.  The JVM must survive every refusal and never print
// a thread dump; monitor mode lets the same attach through with a would_deny alert; a
// reload with a bad rule keeps the rule in force.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/common/raw_attach.h"
#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"
#include "tests/integration/shared_jvm_fixture.h"

namespace jvmwatch::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kJdk17 = "/usr/lib/jvm/java-17-openjdk-amd64";
const std::string kJcmd = kJdk17 + "/bin/jcmd";

class DenyRules : public ::testing::Test {
protected:
    void SetUp() override {
        JW_REQUIRE_ROOT();
        if (!fs::exists("/usr/bin/jattach")) GTEST_SKIP() << "jattach not installed";
        tag_ = "-Djw.deny.tag=" + fs::path(dir_.path()).filename().string();
        cfg_ = dir_.file("jvmwatchd.yaml");
    }

    std::string rule(const std::string& mode) const {
        return "alerts:\n  deny:\n    - name: only-jcmd\n      mode: " + mode +
               "\n      severity: high\n      target:\n        args: \"" + tag_ +
               "\"\n      allow:\n        exe: [\"" + kJdk17 + "/bin/jcmd\"]\n";
    }
    void write(const std::string& text) { std::ofstream(cfg_, std::ios::trunc) << text; }

    void start(const std::string& mode) {
        write(rule(mode));
        Child::Spec s;
        s.argv = {kJdk17 + "/bin/java", "-Xmx64m", tag_, "-cp", java_classes(), "jw.test.Sleeper"};
        jvm_ = std::make_unique<Child>(s);
        ASSERT_TRUE(jvm_->wait_for_output("ready", std::chrono::seconds(60))) << jvm_->output();
        daemon_ = std::make_unique<Jvmwatchd>(std::vector<std::string>{"--config", cfg_});
        ASSERT_TRUE(daemon_->wait_ready()) << daemon_->output();
        ASSERT_TRUE(daemon_->wait_for([&](const json& e) {
            return e["type"] == "jvm.start" && e["jvm"]["pid"] == jvm_->pid();
        })) << daemon_->output();
        // The table is filled right after jvm.start is queued: leave it a moment.
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    std::string pid() const { return std::to_string(jvm_->pid()); }

    // Runs an attacher; its exit status and output.
    int run(const std::vector<std::string>& argv, std::string* out) {
        return run_command(argv, out, std::chrono::seconds(60));
    }
    std::optional<json> record_by_exe(const std::string& exe, size_t nth = 0) {
        std::optional<json> found;
        eventually([&] {
            size_t seen = 0;
            for (auto& e : daemon_->events())
                if (e["type"] == "attach" && e["target"].value("pid", 0) == jvm_->pid() &&
                    e["attacher"].value("exe", "") == exe && seen++ == nth) {
                    found = e;
                    return true;
                }
            return false;
        }, std::chrono::seconds(30));
        return found;
    }
    std::optional<json> alert_for(const json& record) {
        return daemon_->wait_for([&](const json& e) {
            return e["type"] == "alert" && e["record"]["attacher"]["pid"] == record["attacher"]["pid"];
        }, std::chrono::seconds(10));
    }

    TempDir dir_{"jvmwatch-deny"};
    std::string tag_, cfg_;
    std::unique_ptr<Child> jvm_;
    std::unique_ptr<Jvmwatchd> daemon_;
};

TEST_F(DenyRules, EnforceRefusesJattachAndItsCopyAllowsJcmdAndTheJvmSurvives) {
    start("enforce");
    // Cold: jattach signals the JVM (the listener starts), then its connect is refused.
    std::string out;
    EXPECT_NE(run({"/usr/bin/jattach", pid(), "properties"}, &out), 0) << out;
    auto rec = record_by_exe("/usr/bin/jattach");
    ASSERT_TRUE(rec) << daemon_->output();
    EXPECT_EQ((*rec)["policy"]["verdict"], "denied") << rec->dump();
    EXPECT_EQ((*rec)["policy"]["rule"], "only-jcmd");
    EXPECT_EQ((*rec)["policy"]["mode"], "enforce");
    EXPECT_EQ((*rec)["outcome"], "denied");
    auto alert = alert_for(*rec);
    ASSERT_TRUE(alert);
    EXPECT_EQ((*alert)["rule"], "only-jcmd");
    EXPECT_EQ((*alert)["severity"], "high");
    EXPECT_EQ((*alert)["deny"]["verdict"], "denied");

    // The allowed client gets through (and the JVM answers it).
    EXPECT_EQ(run({kJcmd, pid(), "VM.version"}, &out), 0) << out;
    EXPECT_NE(out.find("OpenJDK"), std::string::npos) << out;
    auto ok = record_by_exe(kJcmd);
    ASSERT_TRUE(ok);
    EXPECT_FALSE(ok->contains("policy")) << ok->dump();

    // The same jattach bytes elsewhere: another inode, still refused.
    const std::string copy = dir_.file("jattach");
    fs::copy_file("/usr/bin/jattach", copy);
    chmod(copy.c_str(), 0755);
    EXPECT_NE(run({copy, pid(), "properties"}, &out), 0) << out;
    EXPECT_NE(out.find("not permitted"), std::string::npos) << out;
    auto rec2 = record_by_exe(copy);
    ASSERT_TRUE(rec2);
    EXPECT_EQ((*rec2)["policy"]["verdict"], "denied");

    // Our own CLI is an attacher like any other: its own outcome, one line, exit 16.
    EXPECT_EQ(run({bin_path("jvmwatch"), "attach", pid(), "properties"}, &out), 16) << out;
    EXPECT_NE(out.find("denied"), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;

    EXPECT_TRUE(jvm_->alive());
    expect_no_thread_dump(*jvm_);
    // Counted: kernel and metrics agree on at least the three refusals.
    daemon_->stop();
    uint64_t denied = 0;
    for (auto& e : daemon_->events())
        if (e["type"] == "stats" && e.contains("deny")) denied = e["deny"]["denied"].get<uint64_t>();
    EXPECT_GE(denied, 3u);
}

TEST_F(DenyRules, MonitorLetsJattachThroughAndAlertsWouldDeny) {
    start("monitor");
    std::string out;
    EXPECT_EQ(run({"/usr/bin/jattach", pid(), "properties"}, &out), 0) << out;
    EXPECT_NE(out.find("java.version"), std::string::npos) << out;
    auto rec = record_by_exe("/usr/bin/jattach");
    ASSERT_TRUE(rec);
    EXPECT_EQ((*rec)["policy"]["verdict"], "would_deny") << rec->dump();
    EXPECT_EQ((*rec)["policy"]["mode"], "monitor");
    EXPECT_NE((*rec)["outcome"], "denied");
    auto alert = alert_for(*rec);
    ASSERT_TRUE(alert);
    EXPECT_EQ((*alert)["deny"]["verdict"], "would_deny");
    EXPECT_EQ((*alert)["rule"], "only-jcmd");
    EXPECT_TRUE(jvm_->alive());
    expect_no_thread_dump(*jvm_);
}

// SIGHUP: a bad deny rule keeps the running one (file:line said); a good file that
// switches the rule to monitor lets the next jattach through.
TEST_F(DenyRules, ReloadWithABadRuleKeepsTheOldPolicy) {
    start("enforce");
    std::string out;
    EXPECT_NE(run({"/usr/bin/jattach", pid(), "properties"}, &out), 0) << out;

    write(rule("enforce") + "    - name: broken\n      mode: sometimes\n      allow: {uids: [0]}\n");
    ::kill(daemon_->pid(), SIGHUP);
    auto refused = daemon_->wait_for([](const json& e) { return e["type"] == "daemon.reload" && e["ok"] == false; });
    ASSERT_TRUE(refused);
    EXPECT_NE((*refused)["error"].get<std::string>().find("jvmwatchd.yaml:11: alerts.deny[1].mode"),
              std::string::npos) << refused->dump();
    EXPECT_NE(run({"/usr/bin/jattach", pid(), "properties"}, &out), 0) << "the old rule holds: " << out;
    auto second = record_by_exe("/usr/bin/jattach", 1);
    ASSERT_TRUE(second);
    EXPECT_EQ((*second)["policy"]["verdict"], "denied");

    write(rule("monitor"));
    ::kill(daemon_->pid(), SIGHUP);
    ASSERT_TRUE(daemon_->wait_for([](const json& e) { return e["type"] == "daemon.reload" && e["ok"] == true; }));
    EXPECT_EQ(run({"/usr/bin/jattach", pid(), "properties"}, &out), 0) << out;
    auto third = record_by_exe("/usr/bin/jattach", 2);
    ASSERT_TRUE(third);
    EXPECT_EQ((*third)["policy"]["verdict"], "would_deny");
    EXPECT_TRUE(jvm_->alive());
    expect_no_thread_dump(*jvm_);
}

// A name proves nothing: a symlink to the socket is not a .java_pid name, so the kernel
// cannot decide; the JVM side sees the attach, and a covered JVM makes it critical.
TEST_F(DenyRules, AliasToACoveredJvmIsUncheckedAndCritical) {
    start("enforce");
    std::string out;
    ASSERT_EQ(run({kJcmd, pid(), "VM.version"}, &out), 0) << out;   // the listener is up
    SocketAlias alias(AliasKind::symlink, "/tmp/.java_pid" + pid(), dir_.path());
    int st = 0;
    pid_t c = fork();
    if (c == 0) _exit(raw_attach(alias.path(), "properties", {}, std::chrono::seconds(20)).ok ? 0 : 1);
    ASSERT_GT(c, 0);
    waitpid(c, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "the kernel let the alias through";
    auto rec = daemon_->wait_for([&](const json& e) { return e["type"] == "attach" && e["attacher"]["pid"] == c; });
    ASSERT_TRUE(rec) << daemon_->output();
    EXPECT_EQ((*rec)["alias"], true);
    EXPECT_EQ((*rec)["policy"]["verdict"], "unchecked") << rec->dump();
    EXPECT_EQ((*rec)["policy"]["rule"], "only-jcmd");
    auto alert = daemon_->wait_for([&](const json& e) {
        return e["type"] == "alert" && e["rule"] == "only-jcmd" && e["record"]["attacher"]["pid"] == c;
    });
    ASSERT_TRUE(alert);
    EXPECT_EQ((*alert)["severity"], "critical");
    EXPECT_EQ((*alert)["deny"]["verdict"], "unchecked");
    EXPECT_TRUE(jvm_->alive());
    expect_no_thread_dump(*jvm_);
}

// A JVM in a mount and pid namespace of its own (pid 1 there, its own /tmp): jcmd names it
// /proc/<host pid>/root/tmp/.java_pid1 (allowed), jattach enters its mount namespace and
// names it /tmp/.java_pid1 (refused), `jvmwatch attach` names it through a directory fd,
// /proc/self/fd/<n>/.java_pid1: no key names that, so the fallback {pid 1 anywhere}
// decides (refused).
TEST_F(DenyRules, JvmInItsOwnNamespacesIsCoveredUnderEveryName) {
    write(rule("enforce"));
    daemon_ = std::make_unique<Jvmwatchd>(std::vector<std::string>{"--config", cfg_});
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->output();
    // The classes are copied out of the build dir first: it may itself live under /tmp,
    // which the JVM's private /tmp hides (a CI clone does).
    TempDir cp("jw-deny-ns", "/var/tmp");
    std::filesystem::copy(java_classes(), cp.path(), std::filesystem::copy_options::recursive);
    Child::Spec s;
    s.argv = {"unshare", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
              "mount -t tmpfs tmpfs /tmp && exec " + kJdk17 + "/bin/java -Xmx64m " + tag_ + " -cp " +
                  cp.path() + " jw.test.Sleeper"};
    auto ns = std::make_unique<Child>(s);
    ASSERT_TRUE(ns->wait_for_output("ready", std::chrono::seconds(60))) << ns->output();
    auto start = daemon_->wait_for([&](const json& e) {
        return e["type"] == "jvm.start" && e["jvm"].value("nspid", 0) == 1 &&
               e["jvm"].value("main", "") == "jw.test.Sleeper";
    });
    ASSERT_TRUE(start) << daemon_->output();
    const std::string host_pid = std::to_string((*start)["jvm"]["pid"].get<int>());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::string out;
    EXPECT_EQ(run({kJcmd, host_pid, "VM.version"}, &out), 0) << out;
    EXPECT_NE(run({"/usr/bin/jattach", host_pid, "properties"}, &out), 0) << out;
    EXPECT_NE(out.find("not permitted"), std::string::npos) << out;
    EXPECT_EQ(run({bin_path("jvmwatch"), "attach", host_pid, "properties"}, &out), 16) << out;
    EXPECT_TRUE(ns->alive());
    EXPECT_EQ(ns->output().find("Full thread dump"), std::string::npos) << ns->output();
    // The records say which was refused.
    auto verdict_of = [&](const std::string& exe) -> std::string {
        std::string v = "none";
        eventually([&] {
            for (auto& e : daemon_->events())
                if (e["type"] == "attach" && e["attacher"].value("exe", "") == exe) {
                    v = e.contains("policy") ? e["policy"]["verdict"].get<std::string>() : "none";
                    return true;
                }
            return false;
        }, std::chrono::seconds(20));
        return v;
    };
    EXPECT_EQ(verdict_of(kJcmd), "none");
    EXPECT_EQ(verdict_of("/usr/bin/jattach"), "denied");
    EXPECT_EQ(verdict_of(fs::canonical(bin_path("jvmwatch")).string()), "denied");
}

// The daemon's own injector (in-process, or its forked helper) always passes, even where
// an enforcing rule allows nothing else: the same JVM refuses jattach meanwhile.
TEST_F(DenyRules, OwnInjectionIsNeverDenied) {
    TempDir state("jvmwatch-deny-state", "/var/tmp");
    const std::string marker = state.file("marker");
    const std::string jar = fs::canonical(java_jar("inject_marker")).string();
    write("inject:\n  state_dir: " + state.file("state") + "\n  rules:\n    - name: own\n"
          "      match: {args: \"" + tag_ + "\"}\n      agent: {jar: " + jar +
          ", options: \"marker=" + marker + "\"}\n" +
          "alerts:\n  deny:\n    - name: nobody\n      mode: enforce\n      target: {args: \"" + tag_ +
          "\"}\n      allow: {exe: /nonexistent/jw-none}\n");
    daemon_ = std::make_unique<Jvmwatchd>(std::vector<std::string>{"--config", cfg_});
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->output();
    Child::Spec s;
    s.argv = {kJdk17 + "/bin/java", "-Xmx64m", tag_, "-cp", java_classes(), "jw.test.Sleeper"};
    s.cwd = state.path();
    jvm_ = std::make_unique<Child>(s);
    auto ok = daemon_->wait_for([&](const json& e) {
        return (e["type"] == "inject.ok" || e["type"] == "inject.failed") && e["jvm"]["pid"] == jvm_->pid();
    }, std::chrono::seconds(90));
    ASSERT_TRUE(ok) << daemon_->output();
    EXPECT_EQ((*ok)["type"], "inject.ok") << ok->dump();
    EXPECT_TRUE(eventually([&] { return read_text(marker).find("AGENT") != std::string::npos; },
                           std::chrono::seconds(10)));
    // The own attach record carries no verdict; a foreign client is refused.
    auto own = daemon_->wait_for([&](const json& e) {
        return e["type"] == "attach" && e["self"] == true && e["target"].value("pid", 0) == jvm_->pid();
    });
    ASSERT_TRUE(own);
    EXPECT_FALSE(own->contains("policy")) << own->dump();
    std::string out;
    EXPECT_NE(run({"/usr/bin/jattach", pid(), "properties"}, &out), 0) << out;
    auto rec = record_by_exe("/usr/bin/jattach");
    ASSERT_TRUE(rec);
    EXPECT_EQ((*rec)["policy"]["verdict"], "denied");
    EXPECT_TRUE(jvm_->alive());
    expect_no_thread_dump(*jvm_);
}

}  // namespace
}  // namespace jvmwatch::test
