// The daemon in its default mode (no syscall tracepoints) with the JVM-side probes, on
// real JVMs of JDK 17 and, where present, the JDK 25 in /usr/lib/jvm: every way of
// attaching is one record with the operation, its arguments and the real peer, however
// the attacher reached the socket; agent loads carry their file's facts; a JDK without
// symbols is seen from the client side and says so.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/common/jdk_copy.h"
#include "tests/common/raw_attach.h"
#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"
#include "tests/integration/shared_jvm_fixture.h"

namespace jvmwatch::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kJdk17 = "/usr/lib/jvm/java-17-openjdk-amd64";

Child::Spec java(const std::string& home, std::vector<std::string> args) {
    Child::Spec s;
    s.argv = {home + "/bin/java", "-Xmx64m", "-XX:+EnableDynamicAgentLoading", "-cp", java_classes()};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    return s;
}

// Runs `fn` in a forked child that exits when it returns (the attacher a record names).
pid_t in_child(const std::function<int()>& fn, int* status) {
    pid_t c = fork();
    if (c == 0) _exit(fn());
    if (c > 0) waitpid(c, status, 0);
    return c;
}

std::vector<std::string> strs(const json& j) { return j.get<std::vector<std::string>>(); }

// One daemon and one target JVM per JDK, the JVM started BEFORE the daemon (found by the
// start-up scan); the tests attach to it one way each.
class JvmSideDaemon : public ::testing::TestWithParam<std::string> {
protected:
    static void SetUpTestSuite() {}
    void SetUp() override {
        JW_REQUIRE_ROOT();
        home_ = GetParam() == "17" ? kJdk17 : other_jdk(kJdk17);
        if (home_.empty()) GTEST_SKIP() << "no second JDK in /usr/lib/jvm";
        auto& s = suites()[home_];
        if (!s.jvm) {
            s.jvm = std::make_unique<Child>(java(home_, {"jw.test.Sleeper"}));
            ASSERT_TRUE(s.jvm->wait_for_output("ready", std::chrono::seconds(60))) << s.jvm->output();
            // The default alert rules, and one deny-listing the marker agent's hash.
            std::string sha;
            ASSERT_EQ(run_command({"sha256sum", java_jar("marker")}, &sha), 0);
            s.config = std::make_unique<TempDir>("jvmwatch-jside-cfg");
            std::ofstream(s.config->file("jvmwatchd.yaml"))
                << "alerts:\n  rules:\n    - name: marker-denied\n      severity: critical\n"
                   "      on: agent_load\n      agent: {sha256: [" << sha.substr(0, 64) << "]}\n"
                   // Every alias attach, none held back (the default rule's are, per finding).
                   "    - name: every-alias\n      severity: high\n      when: {alias: true}\n"
                   "      dedup_s: 0\n";
            s.daemon = std::make_unique<Jvmwatchd>(
                std::vector<std::string>{"--config", s.config->file("jvmwatchd.yaml")});
            ASSERT_TRUE(s.daemon->wait_ready()) << s.daemon->output();
        }
        jvm_ = s.jvm.get();
        daemon_ = s.daemon.get();
        ASSERT_TRUE(jvm_->alive()) << jvm_->output();
    }
    void TearDown() override {
        if (jvm_) expect_no_thread_dump(*jvm_);
    }
    static void TearDownTestSuite() { suites().clear(); }

    std::string pid() const { return std::to_string(jvm_->pid()); }
    std::string socket() const { return "/tmp/.java_pid" + pid(); }

    // The attach record of `attacher` on the shared JVM.
    std::optional<json> record_of(pid_t attacher, std::chrono::seconds timeout = std::chrono::seconds(30)) {
        return daemon_->wait_for([&](const json& e) {
            return e["type"] == "attach" && e["attacher"]["pid"] == attacher &&
                   e["target"].value("pid", 0) == jvm_->pid();
        }, timeout);
    }
    std::optional<json> record_with(const std::function<bool(const json&)>& pred) {
        return daemon_->wait_for([&](const json& e) {
            return e["type"] == "attach" && e["target"].value("pid", 0) == jvm_->pid() && pred(e);
        });
    }
    // Brings the attach listener up (trigger + SIGQUIT) through our own client.
    void ensure_listener() {
        std::string out;
        ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", pid(), "properties"}, &out), 0) << out;
    }

    struct Suite {
        std::unique_ptr<Child> jvm;
        std::unique_ptr<TempDir> config;
        std::unique_ptr<Jvmwatchd> daemon;
    };
    // The alert of `rule` whose record satisfies `pred`.
    std::optional<json> alert_of(const std::string& rule, const std::function<bool(const json&)>& pred) {
        return daemon_->wait_for([&](const json& e) {
            return e["type"] == "alert" && e["rule"] == rule && pred(e["record"]);
        });
    }
    static std::map<std::string, Suite>& suites() {
        static std::map<std::string, Suite> s;
        return s;
    }
    std::string home_;
    Child* jvm_ = nullptr;
    Jvmwatchd* daemon_ = nullptr;
};

// Started before the daemon: found by the scan, seen from inside all the same.
TEST_P(JvmSideDaemon, JvmStartedBeforeTheDaemonIsSeenFromInside) {
    auto start = daemon_->wait_for([&](const json& e) {
        return e["type"] == "jvm.start" && e["jvm"]["pid"] == jvm_->pid();
    });
    ASSERT_TRUE(start);
    EXPECT_EQ((*start)["existing"], true);
    EXPECT_EQ((*start)["jvm"]["visibility"], "jvm") << start->dump();
    auto live = strs((*start)["jvm_probes"]["live"]);
    EXPECT_NE(std::find(live.begin(), live.end(), "read_request"), live.end()) << start->dump();
    EXPECT_NE(std::find(live.begin(), live.end(), "agent_on_attach"), live.end()) << start->dump();
}

TEST_P(JvmSideDaemon, JattachLoadIsOneRecordWithOpArgsPeerAndTheAgentsFacts) {
    if (!fs::exists("/usr/bin/jattach")) GTEST_SKIP() << "jattach not installed";
    TempDir dir("jvmwatch-jside");
    std::string marker = dir.file("m");
    std::string arg = java_jar("marker") + "=" + marker + ",jattach";
    int st = 0;
    pid_t c = in_child([&] {
        int null = ::open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl("/usr/bin/jattach", "jattach", pid().c_str(), "load", "instrument", "false", arg.c_str(),
              (char*)nullptr);
        return 127;
    }, &st);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
    auto rec = record_of(c);
    ASSERT_TRUE(rec);
    const json& a = *rec;
    EXPECT_EQ(a["operation"], "load");
    EXPECT_EQ(strs(a["args"]), (std::vector<std::string>{"instrument", "false", arg}));
    EXPECT_EQ(a["operation_seen_by"], "jvm");
    EXPECT_EQ(a["visibility"], "jvm");
    EXPECT_EQ(a["alias"], false);
    EXPECT_EQ(a["self_attach"], false);
    EXPECT_EQ(a["attacher"]["exe"], "/usr/bin/jattach");
    EXPECT_EQ(a["evidence"]["request"], false) << "default mode: no syscall tracepoints";
    EXPECT_EQ(a["result_code"], 0) << "the handler's return, seen in the JVM";
    EXPECT_EQ(a["outcome"], "replied");
    auto load = daemon_->wait_for([&](const json& e) {
        return e["type"] == "agent.load" && e["jvm"]["pid"] == jvm_->pid() && e.value("attacher_pid", 0) == c;
    });
    ASSERT_TRUE(load);
    EXPECT_EQ((*load)["agent"]["kind"], "java");
    EXPECT_EQ((*load)["agent"]["path"], java_jar("marker"));
    EXPECT_EQ((*load)["origin"], "attach");
    std::string want;
    ASSERT_EQ(run_command({"sha256sum", java_jar("marker")}, &want), 0);
    EXPECT_EQ((*load)["artifact"].value("sha256", ""), want.substr(0, 64)) << load->dump();
    EXPECT_EQ((*load)["artifact"]["manifest"].value("agent_class", ""), "jw.test.MarkerAgent") << load->dump();
    EXPECT_EQ((*load)["artifact"].value("content", ""), "jar");
    // The configured deny-list rule alerts on it, right after the record.
    auto denied = alert_of("marker-denied", [&](const json& r) { return r.value("attacher_pid", 0) == c; });
    ASSERT_TRUE(denied);
    EXPECT_EQ((*denied)["severity"], "critical");
    EXPECT_GT((*denied)["seq"].get<int64_t>(), (*load)["seq"].get<int64_t>());
    EXPECT_EQ(read_text(marker), marker + ",jattach");
}

// The JDK's own tool: the attach API of a second JVM.
TEST_P(JvmSideDaemon, JcmdToolIsRecordedWithItsCommand) {
    std::string out;
    ASSERT_EQ(run_command({home_ + "/bin/jcmd", pid(), "VM.uptime"}, &out), 0) << out;
    auto rec = record_with([](const json& e) { return e.value("operation", "") == "jcmd" &&
                                                      e["args"].size() >= 1 && e["args"][0] == "VM.uptime"; });
    ASSERT_TRUE(rec) << out;
    EXPECT_EQ((*rec)["visibility"], "jvm");
    EXPECT_EQ((*rec)["alias"], false);
    EXPECT_EQ((*rec)["attacher"]["exe"], home_ + "/bin/jcmd") << rec->dump();
    const json& reqs = (*rec)["jvm_side"]["requests"];
    EXPECT_EQ(reqs.back()["dcmd"]["command"], "VM.uptime");
    EXPECT_EQ(reqs.back()["dcmd"]["source"], "attach");
}

TEST_P(JvmSideDaemon, JvmwatchAttachIsRecorded) {
    int st = 0;
    std::string bin = bin_path("jvmwatch");
    pid_t c = in_child([&] {
        int fd = ::open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execl(bin.c_str(), "jvmwatch", "attach", pid().c_str(), "printflag", "MaxHeapSize", (char*)nullptr);
        return 127;
    }, &st);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
    auto rec = record_of(c);
    ASSERT_TRUE(rec);
    EXPECT_EQ((*rec)["operation"], "printflag");
    EXPECT_EQ(strs((*rec)["args"])[0], "MaxHeapSize");
    EXPECT_EQ((*rec)["alias"], false);
}

// A client of our own writing, through the real name and through each alias.
TEST_P(JvmSideDaemon, RawClientThroughTheRealNameAndEveryAlias) {
    ensure_listener();
    TempDir dir("jvmwatch-alias", "/tmp");   // a hard link or rename needs /tmp's file system
    for (auto kind : {std::optional<AliasKind>{}, std::optional<AliasKind>{AliasKind::symlink},
                      std::optional<AliasKind>{AliasKind::hard_link}, std::optional<AliasKind>{AliasKind::rename}}) {
        SCOPED_TRACE(kind ? to_string(*kind) : "real name");
        std::unique_ptr<SocketAlias> alias;
        if (kind) alias = std::make_unique<SocketAlias>(*kind, socket(), dir.path());
        std::string path = alias ? alias->path() : socket();
        int st = 0;
        pid_t c = in_child([&] {
            auto r = raw_attach(path, "properties", {}, std::chrono::seconds(20));
            return r.ok && r.code == 0 ? 0 : 1;
        }, &st);
        ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "the JVM answered through " << path;
        auto rec = record_of(c);
        ASSERT_TRUE(rec) << "no record for the raw client through " << path;
        EXPECT_EQ((*rec)["operation"], "properties");
        EXPECT_EQ((*rec)["result_code"], 0);
        EXPECT_EQ((*rec)["attacher"]["pid"], c);
        EXPECT_EQ((*rec)["alias"], kind.has_value()) << rec->dump();
        if (kind) {
            EXPECT_EQ((*rec)["alias_via"], "other_name");
            EXPECT_TRUE(alert_of("every-alias", [&](const json& r) { return r["attacher"]["pid"] == c; }))
                << "an alias attach alerts";
        }
        EXPECT_EQ((*rec)["evidence"]["connect"], !kind.has_value());
    }
    // The default rule says it once per finding (same JVM, attacher exe, operation): later
    // ones within dedup_s are held back and counted.
    auto al = alert_of("attach-through-alias", [&](const json& r) { return r["target"]["pid"] == jvm_->pid(); });
    ASSERT_TRUE(al) << "the default alias rule alerts";
    EXPECT_EQ((*al)["severity"], "high");
}

// A connection made by one process and handed to another over SCM_RIGHTS: the JVM's
// peer is the connecting process, which had exited when the request came.
TEST_P(JvmSideDaemon, PassedConnectionIsRecordedWithItsRealPeer) {
    ensure_listener();
    pid_t connector = 0;
    std::string err;
    int fd = connect_in_child(socket(), &connector, &err);
    ASSERT_GE(fd, 0) << err;
    auto r = raw_attach_fd(fd, "jcmd", {"VM.version"}, std::chrono::seconds(20));
    ::close(fd);
    ASSERT_TRUE(r.ok) << r.error;
    auto rec = record_with([&](const json& e) {
        return e["attacher"]["pid"] == connector && e.value("operation", "") == "jcmd";
    });
    ASSERT_TRUE(rec);
    EXPECT_EQ((*rec)["alias"], true);
    EXPECT_EQ((*rec)["alias_via"], "passed_fd");
    EXPECT_EQ(strs((*rec)["args"])[0], "VM.version");
}

// -Djdk.attach.allowAttachSelf=true and an agent loaded into itself.
TEST_P(JvmSideDaemon, SelfAttachAgentLoadIsFlagged) {
    TempDir dir("jvmwatch-self");
    std::string marker = dir.file("m");
    Child self(java(home_, {"-Djdk.attach.allowAttachSelf=true", "jw.test.SelfAttach", java_jar("marker"),
                            marker + ",self"}));
    ASSERT_TRUE(self.wait_for_output("self-attach loaded", std::chrono::seconds(60))) << self.output();
    auto rec = daemon_->wait_for([&](const json& e) {
        return e["type"] == "attach" && e["target"].value("pid", 0) == self.pid() &&
               e.value("operation", "") == "load";
    }, std::chrono::seconds(40));
    ASSERT_TRUE(rec) << "the self-attach's record (finalised when its connection is idle)";
    EXPECT_EQ((*rec)["self_attach"], true) << rec->dump();
    EXPECT_EQ((*rec)["attacher"]["pid"], self.pid());
    auto load = daemon_->wait_for([&](const json& e) {
        return e["type"] == "agent.load" && e["jvm"]["pid"] == self.pid();
    });
    ASSERT_TRUE(load);
    EXPECT_EQ((*load)["origin"], "attach");
    EXPECT_EQ((*load)["first_dynamic_agent"], true);
    EXPECT_TRUE(alert_of("self-attach-agent-load", [&](const json& r) { return r["attacher"]["pid"] == self.pid(); }));
    // Its jar names no vendor, and it is the JVM's first agent.
    EXPECT_TRUE(alert_of("anonymous-first-agent", [&](const json& r) { return r["jvm"]["pid"] == self.pid(); }));
}

// JVMTI.agent_load through the DiagnosticCommand MBean: no attach socket at all.
TEST_P(JvmSideDaemon, JmxAgentLoadIsSeen) {
    std::string out;
    ASSERT_EQ(run_command({home_ + "/bin/jcmd", pid(), "ManagementAgent.start_local"}, &out), 0) << out;
    TempDir dir("jvmwatch-jmx");
    std::string marker = dir.file("m");
    Child client(java(home_, {"jw.test.JmxAgentLoad", pid(), java_jar("marker"), marker + ",jmx"}));
    auto st = client.wait_exit(std::chrono::seconds(60));
    ASSERT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << client.output();
    auto dcmd = daemon_->wait_for([&](const json& e) {
        return e["type"] == "jvm.dcmd" && e["jvm"]["pid"] == jvm_->pid() && e["source"] == "jmx" &&
               e["command"].get<std::string>().find(java_jar("marker")) != std::string::npos;
    });
    ASSERT_TRUE(dcmd);
    EXPECT_NE((*dcmd)["thread"].get<std::string>().find("RMI"), std::string::npos) << dcmd->dump();
    // Starting the JMX agent runs `help <command>` internally for the MBean's metadata:
    // bookkeeping, not reported.
    for (const auto& e : daemon_->events())
        if (e["type"] == "jvm.dcmd") {
            EXPECT_NE(e["command"].get<std::string>().rfind("help", 0), 0u) << e.dump();
        }
    auto load = daemon_->wait_for([&](const json& e) {
        return e["type"] == "agent.load" && e["jvm"]["pid"] == jvm_->pid() && e["origin"] == "jmx";
    });
    ASSERT_TRUE(load);
    EXPECT_EQ((*load)["agent"]["path"], java_jar("marker"));
    EXPECT_TRUE((*load)["artifact"].contains("sha256")) << load->dump();
}

// A native agent (-agentpath style: an absolute library path).
TEST_P(JvmSideDaemon, NativeAgentLoadIsHashed) {
    TempDir dir("jvmwatch-native");
    std::string marker = dir.file("m");
    std::string lib = build_dir() + "/lib/libjw_native_agent.so";
    lib = fs::absolute(lib).string();
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", pid(), "load", lib, "true", marker + ",native"}, &out), 0)
        << out;
    auto load = daemon_->wait_for([&](const json& e) {
        return e["type"] == "agent.load" && e["jvm"]["pid"] == jvm_->pid() && e["agent"]["kind"] == "native";
    });
    ASSERT_TRUE(load);
    EXPECT_EQ((*load)["agent"]["path"], lib);
    EXPECT_EQ((*load)["agent"]["options"], marker + ",native");
    std::string want;
    ASSERT_EQ(run_command({"sha256sum", lib}, &want), 0);
    EXPECT_EQ((*load)["artifact"].value("sha256", ""), want.substr(0, 64)) << load->dump();
    EXPECT_EQ(read_text(marker), marker + ",native");
}

// The agent jar is gone right after the load: the load is still on record.
TEST_P(JvmSideDaemon, AgentDeletedRightAfterLoadIsStillReported) {
    TempDir dir("jvmwatch-deleted");
    std::string jar = dir.file("gone.jar");
    fs::copy_file(java_jar("marker"), jar);
    std::string marker = dir.file("m");
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", pid(), "load", "instrument", "false",
                           jar + "=" + marker + ",gone"}, &out), 0) << out;
    fs::remove(jar);
    auto load = daemon_->wait_for([&](const json& e) {
        return e["type"] == "agent.load" && e["jvm"]["pid"] == jvm_->pid() && e["agent"]["path"] == jar;
    });
    ASSERT_TRUE(load);
    EXPECT_EQ((*load)["origin"], "attach");
    // Hashed before it went, or read through the JVM's own open file (the class loader
    // keeps the jar open).
    const json& art = (*load)["artifact"];
    std::string want;
    ASSERT_EQ(run_command({"sha256sum", java_jar("marker")}, &want), 0);
    EXPECT_EQ(art.value("sha256", ""), want.substr(0, 64)) << load->dump();
    EXPECT_TRUE(art.value("resolved_in", "") == "root" || art.value("resolved_in", "") == "open_fd") << load->dump();
    EXPECT_EQ(art.value("manifest", json::object()).value("agent_class", ""), "jw.test.MarkerAgent")
        << load->dump();
}

INSTANTIATE_TEST_SUITE_P(Jdks, JvmSideDaemon, ::testing::Values("17", "other"));

// A JDK whose libjvm.so was stripped: no JVM side, said so, and attaches still recorded
// from the client side.
TEST(JvmSideDaemonStripped, StrippedLibjvmFallsBackToTheClientSide) {
    JW_REQUIRE_ROOT();
    StrippedJdk jdk(kJdk17);
    Jvmwatchd daemon;
    ASSERT_TRUE(daemon.wait_ready()) << daemon.output();
    Child jvm(java(jdk.java_home(), {"jw.test.Sleeper"}));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    auto start = daemon.wait_for([&](const json& e) {
        return e["type"] == "jvm.start" && e["jvm"]["pid"] == jvm.pid();
    });
    ASSERT_TRUE(start);
    EXPECT_EQ((*start)["jvm"]["visibility"], "client") << start->dump();
    EXPECT_NE((*start)["jvm_probes"].value("why", "").find("stripped"), std::string::npos) << start->dump();
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", std::to_string(jvm.pid()), "properties"}, &out), 0)
        << out;
    auto rec = daemon.wait_for([&](const json& e) {
        return e["type"] == "attach" && e["target"].value("pid", 0) == jvm.pid();
    });
    ASSERT_TRUE(rec);
    EXPECT_EQ((*rec)["visibility"], "client");
    EXPECT_EQ((*rec)["evidence"]["connect"], true);
    EXPECT_FALSE(rec->contains("operation")) << "default mode, no JVM side: the op is not seen";
    EXPECT_NE(daemon.output().find("no symbol table (stripped)"), std::string::npos) << daemon.output();
}

}  // namespace
}  // namespace jvmwatch::test

namespace jvmwatch::test {
namespace {

// SIGHUP applies alert rules whole: a bad rule keeps the running ones (file:line said),
// a good file takes effect for the next record.
TEST(JvmSideAlertsReload, BadRuleKeepsTheOldPolicyGoodOneApplies) {
    JW_REQUIRE_ROOT();
    TempDir dir("jvmwatch-alert-reload", "/tmp");
    const std::string cfg = dir.file("jvmwatchd.yaml");
    // A rule of its own that holds nothing back (the default alias rule dedups per finding).
    const std::string rule = "alerts:\n  defaults: false\n  rules:\n    - name: alias-seen\n"
                             "      severity: high\n      when: {alias: true}\n      dedup_s: 0\n";
    std::ofstream(cfg) << rule;
    Child jvm(java(kJdk17, {"jw.test.Sleeper"}));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    Jvmwatchd daemon({"--config", cfg});
    ASSERT_TRUE(daemon.wait_ready()) << daemon.output();
    const std::string sock = "/tmp/.java_pid" + std::to_string(jvm.pid());
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", std::to_string(jvm.pid()), "properties"}, &out), 0) << out;
    SocketAlias alias(AliasKind::symlink, sock, dir.path());
    auto attach_through_alias = [&] {
        int st = 0;
        pid_t c = in_child([&] { return raw_attach(alias.path(), "properties", {}, std::chrono::seconds(20)).ok ? 0 : 1; }, &st);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        auto rec = daemon.wait_for([&](const json& e) { return e["type"] == "attach" && e["attacher"]["pid"] == c; });
        EXPECT_TRUE(rec);
        return c;
    };
    auto alerted = [&](pid_t c) {
        for (const auto& e : daemon.events())
            if (e["type"] == "alert" && e["rule"] == "alias-seen" && e["record"]["attacher"]["pid"] == c)
                return true;
        return false;
    };
    pid_t first = attach_through_alias();
    EXPECT_TRUE(eventually([&] { return alerted(first); }, std::chrono::seconds(5)));

    std::ofstream(cfg, std::ios::trunc) << "alerts:\n  defaults: false\n  rules:\n    - name: x\n      severity: loud\n";
    ::kill(daemon.pid(), SIGHUP);
    auto refused = daemon.wait_for([](const json& e) { return e["type"] == "daemon.reload" && e["ok"] == false; });
    ASSERT_TRUE(refused);
    EXPECT_NE((*refused)["error"].get<std::string>().find("jvmwatchd.yaml:5: alerts.rules[0].severity"),
              std::string::npos) << refused->dump();
    pid_t second = attach_through_alias();
    EXPECT_TRUE(eventually([&] { return alerted(second); }, std::chrono::seconds(5))) << "the old rules still hold";

    std::ofstream(cfg, std::ios::trunc) << "alerts:\n  defaults: false\n";
    ::kill(daemon.pid(), SIGHUP);
    ASSERT_TRUE(daemon.wait_for([](const json& e) { return e["type"] == "daemon.reload" && e["ok"] == true; }));
    pid_t third = attach_through_alias();
    // The record is there (waited for above); no alert follows it.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE(alerted(third));
    expect_no_thread_dump(jvm);
}

}  // namespace
}  // namespace jvmwatch::test
