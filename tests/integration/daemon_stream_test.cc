// jvmwatchd end to end (root): real BPF, real JVMs, real attach tools.  The daemon runs
// as a subprocess writing to a temp file; every line is validated against the schema.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"

using namespace jvmwatch::test;
using nlohmann::json;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool cmdline_has(const json& proc, const std::string& arg) {
    for (auto& a : proc["cmdline"]) if (a == arg) return true;
    return false;
}

// The attach record for `target` made by a process whose exe ends in `tool`.
std::function<bool(const json&)> attach_by(const std::string& tool, pid_t target) {
    return [=](const json& e) {
        return e["type"] == "attach" && e["target"].value("pid", 0) == target &&
               ends_with(e["attacher"]["exe"].get<std::string>(), tool);
    };
}

void expect_attacher_is_our_child(const json& a, pid_t target) {
    EXPECT_EQ(a["attacher"]["uid"], 0);
    EXPECT_EQ(a["attacher"]["user"], "root");
    EXPECT_EQ(a["attacher"]["ppid"], getpid()) << a.dump();
    EXPECT_TRUE(cmdline_has(a["attacher"], std::to_string(target))) << a.dump();
    EXPECT_EQ(a["target"]["pid"], target);
    EXPECT_EQ(a["target"]["nspid"], target);
    EXPECT_EQ(a["target"]["main"], "jw.daemon.Idle");
    EXPECT_EQ(a["self"], false);
}

std::unique_ptr<Child> start_idle_jvm() {
    auto jvm = std::make_unique<Child>(java_spec({}, "jw.daemon.Idle", {"300"}));
    EXPECT_TRUE(jvm->wait_for_output("ready", std::chrono::seconds(60))) << jvm->output();
    return jvm;
}

}  // namespace

TEST(DaemonStream, AttachersFromOutsideAreRecorded) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    auto jvm = start_idle_jvm();
    pid_t pid = jvm->pid();
    std::string p = std::to_string(pid);

    ASSERT_EQ(run_command({"jcmd", p, "VM.version"}), 0);
    auto a = d.wait_for(attach_by("/jcmd", pid));
    ASSERT_TRUE(a) << "no attach record for jcmd";
    expect_attacher_is_our_child(*a, pid);
    EXPECT_EQ((*a)["attacher"]["comm"], "jcmd");
    EXPECT_EQ((*a)["evidence"]["connect"], true);
    EXPECT_EQ((*a)["evidence"]["sigquit"], true) << "a cold JVM needs SIGQUIT";

    ASSERT_EQ(run_command({"jstack", p}), 0);
    a = d.wait_for(attach_by("/jstack", pid));
    ASSERT_TRUE(a) << "no attach record for jstack";
    expect_attacher_is_our_child(*a, pid);
    EXPECT_EQ((*a)["evidence"]["sigquit"], false) << "the listener runs already";

    ASSERT_EQ(run_command({"jattach", p, "properties"}), 0);
    a = d.wait_for(attach_by("/jattach", pid));
    ASSERT_TRUE(a) << "no attach record for jattach";
    expect_attacher_is_our_child(*a, pid);
    EXPECT_EQ((*a)["attacher"]["exe"], "/usr/bin/jattach");
    EXPECT_EQ((*a)["attacher"]["comm"], "jattach");
    EXPECT_EQ((*a)["finalized_by"], "exit");

    ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", p, "properties"}), 0);
    a = d.wait_for(attach_by("/jvmwatch", pid));
    ASSERT_TRUE(a) << "no attach record for jvmwatch attach";
    EXPECT_EQ((*a)["target"]["pid"], pid);
    EXPECT_EQ((*a)["attacher"]["uid"], 0);
    EXPECT_TRUE(cmdline_has((*a)["attacher"], "attach"));

    ASSERT_EQ(run_command({"kill", "-QUIT", p}), 0);
    auto t = d.wait_for([&](const json& e) {
        return e["type"] == "thread_dump_request" && e["target"].value("pid", 0) == pid;
    });
    ASSERT_TRUE(t) << "no thread_dump_request";
    EXPECT_EQ((*t)["sender"]["comm"], "kill");
    EXPECT_EQ((*t)["sender"]["ppid"], getpid());
    EXPECT_EQ((*t)["target"]["main"], "jw.daemon.Idle");
    EXPECT_EQ((*t)["self"], false);
    // The SIGQUITs of jcmd's handshake were not reported as thread dumps.
    int dumps = 0;
    for (auto& e : d.events())
        if (e["type"] == "thread_dump_request" && e["target"].value("pid", 0) == pid) ++dumps;
    EXPECT_EQ(dumps, 1);

    auto st = d.stop();
    ASSERT_TRUE(st);
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << d.output();
    auto evs = d.events();
    ASSERT_GE(evs.size(), 3u);
    EXPECT_EQ(evs.back()["type"], "daemon.stop");
    EXPECT_EQ(evs[evs.size() - 2]["type"], "stats");
    EXPECT_EQ(evs[evs.size() - 2]["final"], true);
}

TEST(DaemonStream, DeepModeRecordsOperationAndArguments) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d({"--deep"});
    ASSERT_TRUE(d.wait_ready()) << d.output();
    auto jvm = start_idle_jvm();
    pid_t pid = jvm->pid();
    std::string p = std::to_string(pid);

    std::string out;
    run_command({"jattach", p, "load", "instrument", "false", "/x.jar=a"}, &out);
    auto a = d.wait_for(attach_by("/jattach", pid));
    ASSERT_TRUE(a) << "no attach record";
    expect_attacher_is_our_child(*a, pid);
    EXPECT_EQ((*a)["operation"], "load");
    EXPECT_EQ((*a)["args"], json({"instrument", "false", "/x.jar=a"}));
    EXPECT_EQ((*a)["protocol"], 1);
    EXPECT_EQ((*a)["request_complete"], true);
    EXPECT_EQ((*a)["result_code"], 0);
    EXPECT_NE((*a)["reply"].get<std::string>().find("return code:"), std::string::npos);
    for (const char* k : {"trigger", "sigquit", "connect", "request", "reply", "close"})
        EXPECT_EQ((*a)["evidence"][k], true) << k << ": " << a->dump();
    EXPECT_EQ((*a)["finalized_by"], "close");

    ASSERT_EQ(run_command({"jcmd", p, "VM.version"}), 0);
    a = d.wait_for(attach_by("/jcmd", pid));
    ASSERT_TRUE(a);
    EXPECT_EQ((*a)["operation"], "jcmd") << a->dump();
    EXPECT_EQ((*a)["args"][0], "VM.version") << a->dump();
    EXPECT_EQ((*a)["result_code"], 0) << a->dump();
}

TEST(DaemonStream, JvmStartAndExitForJavaAndEmbeddedLauncher) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    {
        Child jvm(java_spec({}, "jw.daemon.Idle", {"1"}));
        pid_t pid = jvm.pid();
        auto s = d.wait_for([&](const json& e) { return e["type"] == "jvm.start" && e["jvm"]["pid"] == pid; });
        ASSERT_TRUE(s);
        EXPECT_EQ((*s)["detected_by"], "exec");
        EXPECT_EQ((*s)["existing"], false);
        EXPECT_EQ((*s)["jvm"]["main"], "jw.daemon.Idle");
        EXPECT_EQ((*s)["jvm"]["user"], "root");
        EXPECT_FALSE((*s)["jvm"]["jdk_version"].get<std::string>().empty());
        auto x = d.wait_for([&](const json& e) { return e["type"] == "jvm.exit" && e["jvm"]["pid"] == pid; },
                            std::chrono::seconds(60));
        ASSERT_TRUE(x);
        EXPECT_EQ((*x)["exit_code"], 0);
    }
    std::string launcher = bin_path("jvm_launcher");
    if (access(launcher.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << launcher;
    Child emb(Child::Spec{{launcher, "--sleep", "2"}, {}, {}, {}, ""});
    pid_t pid = emb.pid();
    auto s = d.wait_for([&](const json& e) { return e["type"] == "jvm.start" && e["jvm"]["pid"] == pid; },
                        std::chrono::seconds(60));
    ASSERT_TRUE(s) << emb.output();
    EXPECT_EQ((*s)["detected_by"], "vm_thread");
    EXPECT_TRUE(ends_with((*s)["jvm"]["exe"].get<std::string>(), "/jvm_launcher"));
    EXPECT_FALSE((*s)["jvm"]["jdk_version"].get<std::string>().empty());
    auto x = d.wait_for([&](const json& e) { return e["type"] == "jvm.exit" && e["jvm"]["pid"] == pid; },
                        std::chrono::seconds(60));
    ASSERT_TRUE(x) << "embedded JVM exit not reported";
}

TEST(DaemonStream, JvmRunningBeforeTheDaemonIsReported) {
    JW_REQUIRE_ROOT();
    auto jvm = start_idle_jvm();
    pid_t pid = jvm->pid();
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    auto s = d.wait_for([&](const json& e) { return e["type"] == "jvm.start" && e["jvm"]["pid"] == pid; });
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)["existing"], true);
    EXPECT_EQ((*s)["detected_by"], "scan");
    EXPECT_EQ((*s)["jvm"]["main"], "jw.daemon.Idle");
    auto start = d.wait_for([](const json& e) { return e["type"] == "daemon.start"; });
    EXPECT_GE((*start)["jvms_running"].get<int>(), 1);
    // Its exit is reported too (the daemon asked the kernel to track it).
    jvm->kill(SIGKILL);
    jvm->wait_exit(std::chrono::seconds(10));
    auto x = d.wait_for([&](const json& e) { return e["type"] == "jvm.exit" && e["jvm"]["pid"] == pid; });
    ASSERT_TRUE(x);
    EXPECT_EQ((*x)["signal"], SIGKILL);
}

TEST(DaemonStream, JvmInItsOwnPidAndMountNamespace) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    // A container-like JVM: own pid and mount namespace and a private /tmp, so its
    // .java_pid1 socket never lands in the host's /tmp.  The classes are copied out of
    // the build dir first, which may itself live under /tmp.
    TempDir cp("jw-daemon-ns", "/var/tmp");
    std::filesystem::copy(java_classes(), cp.path(),
                          std::filesystem::copy_options::recursive);
    Child::Spec spec;
    spec.argv = {"unshare", "--pid", "--mount", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
                 "mount -t tmpfs tmpfs /tmp && exec java -cp " + cp.path() + " jw.daemon.Idle 300"};
    Child ns(spec);
    ASSERT_TRUE(ns.wait_for_output("ready", std::chrono::seconds(60))) << ns.output();
    auto s = d.wait_for([&](const json& e) {
        return e["type"] == "jvm.start" && e["jvm"]["main"] == "jw.daemon.Idle" && e["jvm"]["nspid"] == 1 &&
               e["jvm"]["pid"] != 1;
    });
    ASSERT_TRUE(s) << "no jvm.start for the namespaced JVM";
    pid_t host_pid = (*s)["jvm"]["pid"];
    ASSERT_EQ(run_command({"jattach", std::to_string(host_pid), "properties"}), 0);
    auto a = d.wait_for(attach_by("/jattach", host_pid));
    ASSERT_TRUE(a);
    EXPECT_EQ((*a)["target"]["nspid"], 1);
    EXPECT_EQ((*a)["target"]["pid"], host_pid);
    EXPECT_EQ((*a)["attacher"]["ppid"], getpid());
}

// A JVM's -javaagent file is hashed as the JVM sees it: here its mount namespace has a
// tmpfs over the agent's directory, holding the real agent, while the host's directory at
// the same path holds a decoy.  jvm.start must carry the real agent's sha256.
TEST(DaemonStream, StaticAgentIsHashedInsideTheJvmsMountNamespace) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    TempDir cp("jw-daemon-agent-cp", "/var/tmp");
    std::filesystem::copy(java_classes(), cp.path(), std::filesystem::copy_options::recursive);
    TempDir agents("jw-daemon-agent", "/var/tmp");
    std::string jar = agents.file("agent.jar");
    std::ofstream(jar) << "host decoy, not the agent";
    auto sha256sum = [](const std::string& path) {
        std::string out;
        EXPECT_EQ(run_command({"sha256sum", path}, &out), 0) << out;
        return out.substr(0, out.find(' '));
    };
    std::string decoy = sha256sum(jar);
    std::string real = sha256sum(java_jar("marker"));
    ASSERT_NE(decoy, real);
    Child::Spec spec;
    spec.argv = {"unshare", "--mount", "sh", "-c",
                 "mount -t tmpfs tmpfs " + agents.path() + " && cp " + java_jar("marker") + " " + jar +
                     " && exec java -javaagent:" + jar + "=" + agents.file("m") + " -cp " + cp.path() +
                     " jw.daemon.Idle 300"};
    Child ns(spec);
    ASSERT_TRUE(ns.wait_for_output("ready", std::chrono::seconds(60))) << ns.output();
    auto s = d.wait_for([&](const json& e) {
        return e["type"] == "jvm.start" && e["jvm"]["main"] == "jw.daemon.Idle" && e["jvm"].contains("agents") &&
               !e["jvm"]["agents"].empty();
    });
    ASSERT_TRUE(s) << "no jvm.start with agents for the namespaced JVM";
    const json& a = (*s)["jvm"]["agents"][0];
    EXPECT_EQ(a["path"], jar);
    EXPECT_EQ(a["sha256"], real) << a.dump();
    EXPECT_NE(a["sha256"], decoy);
}

TEST(DaemonStream, ExecStormIsSeenOrLossIsCounted) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    constexpr int kRuns = 20000;
    int failed = 0;
    for (int i = 0; i < kRuns; ++i) {
        pid_t c = -1;
        char* argv[] = {const_cast<char*>("true"), nullptr};
        int st = 0;
        if (posix_spawn(&c, "/bin/true", nullptr, nullptr, argv, environ) != 0 ||
            waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            ++failed;
    }
    ASSERT_EQ(failed, 0);
    auto st = d.stop();
    ASSERT_TRUE(st);
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << d.output();
    auto evs = d.events();
    ASSERT_FALSE(evs.empty());
    json stats;
    for (auto& e : evs) if (e["type"] == "stats" && e["final"] == true) stats = e;
    ASSERT_FALSE(stats.is_null()) << "no final stats";
    // Every exec (ours plus whatever else ran) was seen and kept by the kernel, and its
    // identity stored; only JVM launchers reach userspace as exec events.
    uint64_t seen = stats["kernel"]["execs"];
    uint64_t lost = stats["kernel"]["identity_full"];
    uint64_t sent = stats["userspace"]["events_exec"];
    EXPECT_GE(seen, static_cast<uint64_t>(kRuns)) << stats.dump();
    EXPECT_EQ(lost, 0u) << stats.dump();
    EXPECT_LT(sent, static_cast<uint64_t>(kRuns) / 10) << stats.dump();
    // No gap in the stream's sequence numbers unless the writer's drops say so.
    uint64_t prev = 0, gaps = 0;
    for (auto& e : evs) {
        uint64_t s = e["seq"];
        if (prev && s != prev + 1) gaps += s - prev - 1;
        prev = s;
    }
    EXPECT_EQ(gaps, stats["drops"]["sink_queue"].get<uint64_t>());
    std::printf("exec storm: %d runs, %llu execs seen by the kernel, %llu exec events sent, %llu process evictions\n",
                kRuns, (unsigned long long)seen, (unsigned long long)sent,
                (unsigned long long)stats["evictions"]["processes"].get<uint64_t>());
}

TEST(DaemonStream, BadConfigIsRefusedWithFileAndLine) {
    TempDir dir;
    std::string cfg = dir.file("bad.yaml");
    {
        std::ofstream f(cfg);
        f << "audit:\n  log: \"\"\n  rotate_everything: 1\n";
    }
    std::string out;
    int rc = run_command({bin_path("jvmwatchd"), "--config", cfg}, &out);
    EXPECT_EQ(rc, 13) << out;
    EXPECT_NE(out.find(cfg + ":3: unknown key \"audit.rotate_everything\""), std::string::npos) << out;
    EXPECT_EQ(run_command({bin_path("jvmwatchd"), "--no-such-flag"}, &out), 2) << out;
}

TEST(DaemonStream, SighupReloadsOrKeepsTheRunningConfig) {
    JW_REQUIRE_ROOT();
    TempDir dir;
    std::string cfg = dir.file("jvmwatchd.yaml");
    { std::ofstream f(cfg); f << "audit:\n  stats_interval_s: 0\n"; }
    Jvmwatchd d({"--config", cfg});
    ASSERT_TRUE(d.wait_ready()) << d.output();
    auto start = d.wait_for([](const json& e) { return e["type"] == "daemon.start"; });
    EXPECT_EQ((*start)["config"], cfg);
    ::kill(d.pid(), SIGHUP);
    auto ok = d.wait_for([](const json& e) { return e["type"] == "daemon.reload"; });
    ASSERT_TRUE(ok);
    EXPECT_EQ((*ok)["ok"], true);
    { std::ofstream f(cfg); f << "audit:\n  stats_interval_s: 0\n\nbogus: 1\n"; }
    ::kill(d.pid(), SIGHUP);
    auto bad = d.wait_for([](const json& e) { return e["type"] == "daemon.reload" && e["ok"] == false; });
    ASSERT_TRUE(bad);
    EXPECT_EQ((*bad)["error"], cfg + ":4: unknown key \"bogus\"");
    // Still running and still watching.
    auto jvm = start_idle_jvm();
    pid_t pid = jvm->pid();
    EXPECT_TRUE(d.wait_for([&](const json& e) { return e["type"] == "jvm.start" && e["jvm"]["pid"] == pid; }));
    auto st = d.stop();
    ASSERT_TRUE(st);
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
}
