// Root tests of the observer in default mode (no syscall tracepoints): real BPF, real
// processes and JVMs.  Each test filters for the processes it started itself, since the
// machine is shared.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "tests/common/support.h"
#include "tests/integration/observer_harness.h"

namespace jvmwatch::test {
namespace {

constexpr auto kJvmTimeout = std::chrono::seconds(60);   // 2 shared cores: JVMs start slowly

// Field 22 of /proc/PID/stat (after the parenthesised comm, which may hold blanks).
uint64_t proc_start_ticks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    auto rp = line.rfind(')');
    if (rp == std::string::npos) return 0;
    std::istringstream rest(line.substr(rp + 2));
    std::string field;
    for (int i = 3; i <= 22 && (rest >> field); ++i) {}
    return std::stoull(field);
}

Child start_idle_jvm() { return Child(java_spec({"-Xmx64m"}, "jw.observer.Idle", {"120"})); }

TEST(ObserverEvents, DefaultModeUsesNoSyscallTracepoint) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    for (const auto& h : rec.observer().hooks()) {
        EXPECT_FALSE(h.hook.empty()) << obs::to_string(h.kind) << ": " << h.reason;
        EXPECT_FALSE(h.syscall_tracepoint) << h.hook;
        EXPECT_FALSE(h.kind == obs::EventKind::trigger || h.kind == obs::EventKind::sock_data);
    }
    EXPECT_NE(rec.observer().hooks_line().find("connect="), std::string::npos);
}

// With a parent filter (tests, benchmarks) every exec of that parent's children is sent;
// without one only java launchers and tracked processes are (ObserverIdentity.*).
TEST(ObserverEvents, ExecOfChildReportedWithArgsAndIdentity) {
    JW_REQUIRE_ROOT();
    obs::Options opts;
    opts.exec_parent_filter = static_cast<uint32_t>(getpid());
    EventRecorder rec(opts);
    ASSERT_TRUE(rec.ok()) << rec.error();
    std::string out;
    ASSERT_EQ(run_command({"/bin/echo", "jw-exec-marker", "second arg"}, &out), 0);

    auto ev = rec.wait_for([](const RecordedEvent& e) {
        auto* x = e.as<jw_exec_event>();
        if (!x || obs::fixed_string(x->filename) != "/bin/echo") return false;
        auto args = obs::exec_args(*x);
        return args.size() == 3 && args[1] == "jw-exec-marker";
    });
    ASSERT_TRUE(ev) << "no exec event for /bin/echo jw-exec-marker";
    auto* x = ev->as<jw_exec_event>();
    EXPECT_EQ(obs::exec_args(*x)[2], "second arg");
    EXPECT_EQ(x->hdr.ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(x->hdr.uid, 0u);
    EXPECT_EQ(obs::fixed_string(x->hdr.comm), "echo");
    EXPECT_EQ(x->hdr.pid, x->hdr.tid);
    EXPECT_NE(x->start_time_ns, 0u);
    EXPECT_NE(x->hdr.mntns, 0u);
    EXPECT_EQ(x->hdr.nspid, x->hdr.pid);   // we run in the initial pid namespace
}

TEST(ObserverEvents, JavaMilestonesAndExit) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    Child jvm = start_idle_jvm();
    ASSERT_TRUE(rec.wait_for(milestone_of(jvm.pid(), JW_MS_VM_THREAD), kJvmTimeout))
        << "no VM Thread milestone; output: " << jvm.output();
    auto sd = rec.wait_for(milestone_of(jvm.pid(), JW_MS_SIGNAL_DISPATCH), kJvmTimeout);
    ASSERT_TRUE(sd);
    EXPECT_EQ(obs::fixed_string(sd->as<jw_thread_name_event>()->name), "Signal Dispatch");
    EXPECT_NE(sd->hdr()->tid, sd->hdr()->pid);   // a thread of the JVM, not its main thread
    // The exec of .../java made the kernel track it: its exit is reported.
    EXPECT_TRUE(rec.observer().is_tracked(jvm.pid()));
    // (pid, start time) of the exec event match /proc/PID/stat field 22.
    auto exec = rec.wait_for([&](const RecordedEvent& e) {
        auto* x = e.as<jw_exec_event>();
        return x && x->hdr.pid == static_cast<uint32_t>(jvm.pid());
    });
    ASSERT_TRUE(exec);
    EXPECT_EQ(obs::start_time_ticks(exec->as<jw_exec_event>()->start_time_ns),
              proc_start_ticks(jvm.pid()));
    ASSERT_TRUE(jvm.wait_for_output("ready", kJvmTimeout));
    jvm.kill(SIGKILL);
    auto ex = rec.wait_for(exit_of(jvm.pid()));
    ASSERT_TRUE(ex) << "no exit event";
    auto* x = ex->as<jw_exit_event>();
    EXPECT_EQ(x->exit_code & 0x7f, static_cast<uint32_t>(SIGKILL));
    EXPECT_NE(x->start_time_ns, 0u);
    EXPECT_FALSE(rec.observer().is_tracked(jvm.pid()));
    // Exactly one exit per thread group, however many threads it had.
    EXPECT_EQ(rec.matching(exit_of(jvm.pid())).size(), 1u);
}

TEST(ObserverEvents, EmbeddedLibjvmLauncherMilestonesAndExit) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    Child jvm(Child::Spec{{bin_path("jvm_launcher"), "--sleep", "120"}, {}, {}, {}, ""});
    ASSERT_TRUE(rec.wait_for(milestone_of(jvm.pid(), JW_MS_VM_THREAD), kJvmTimeout))
        << "no VM Thread milestone; output: " << jvm.output();
    ASSERT_TRUE(rec.wait_for(milestone_of(jvm.pid(), JW_MS_SIGNAL_DISPATCH), kJvmTimeout));
    ASSERT_TRUE(jvm.wait_for_output("ready", kJvmTimeout)) << jvm.output();
    // Not exec'd as .../java: tracked because of its "VM Thread".
    EXPECT_TRUE(rec.observer().is_tracked(jvm.pid()));
    jvm.kill(SIGTERM);
    ASSERT_TRUE(rec.wait_for(exit_of(jvm.pid()))) << "no exit event for the launcher";
}

TEST(ObserverEvents, KillQuitShowsSenderAndTarget) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    Child jvm = start_idle_jvm();
    // SIGQUIT is only safe once the JVM serves it.
    ASSERT_TRUE(rec.wait_for(milestone_of(jvm.pid(), JW_MS_SIGNAL_DISPATCH), kJvmTimeout));
    ASSERT_TRUE(jvm.wait_for_output("ready", kJvmTimeout));
    ASSERT_EQ(run_command({"kill", "-QUIT", std::to_string(jvm.pid())}), 0);

    auto ev = rec.wait_for([&](const RecordedEvent& e) {
        auto* q = e.as<jw_sigquit_event>();
        return q && q->target_pid == static_cast<uint32_t>(jvm.pid());
    });
    ASSERT_TRUE(ev) << "no sigquit event";
    auto* q = ev->as<jw_sigquit_event>();
    EXPECT_EQ(obs::fixed_string(q->hdr.comm), "kill");
    EXPECT_EQ(q->hdr.ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(q->target_nspid, static_cast<uint32_t>(jvm.pid()));
    EXPECT_EQ(obs::fixed_string(q->target_comm), "java");
    EXPECT_EQ(q->target_uid, 0u);
    EXPECT_EQ(q->si_code, 0u);   // SI_USER: kill(2)
    EXPECT_EQ(q->result, 0);     // TRACE_SIGNAL_DELIVERED
    EXPECT_TRUE(jvm.wait_for_output("Full thread dump", kJvmTimeout));
}

TEST(ObserverEvents, JcmdConnectShowsPathAndCaller) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    Child jvm = start_idle_jvm();
    ASSERT_TRUE(jvm.wait_for_output("ready", kJvmTimeout));
    std::string out;
    ASSERT_EQ(run_command({"jcmd", std::to_string(jvm.pid()), "VM.version"}, &out), 0) << out;

    auto ev = rec.wait_for([&](const RecordedEvent& e) {
        auto* c = e.as<jw_connect_event>();
        return c && c->target_pid == static_cast<uint32_t>(jvm.pid());
    });
    ASSERT_TRUE(ev) << "no connect event";
    auto* c = ev->as<jw_connect_event>();
    std::string path = obs::fixed_string(c->path);
    EXPECT_EQ(obs::path_basename(path), ".java_pid" + std::to_string(jvm.pid())) << path;
    EXPECT_EQ(obs::parse_java_pid(path), static_cast<uint32_t>(jvm.pid()));
    EXPECT_EQ(obs::fixed_string(c->hdr.comm), "jcmd");
    EXPECT_EQ(c->hdr.ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(c->fd, -1);   // the cgroup hook does not know the fd
    // jcmd also signalled the fresh JVM (no listener yet), and the listener came up.
    EXPECT_TRUE(rec.wait_for(milestone_of(jvm.pid(), JW_MS_ATTACH_LISTENER)));
    EXPECT_TRUE(rec.wait_for([&](const RecordedEvent& e) {
        auto* q = e.as<jw_sigquit_event>();
        return q && q->target_pid == static_cast<uint32_t>(jvm.pid()) &&
               obs::fixed_string(q->hdr.comm) == "jcmd";
    }));
}

TEST(ObserverEvents, KernelMatchesJavaPidNamesInEveryFormAndNeverBlocks) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    TempDir dir;
    // Real listening sockets; each connect must succeed (observe, never block).  Names
    // 4242-4245 match (absolute, relative, abstract, via /proc/self/root); the others are
    // near misses the kernel must not report.
    std::string script =
        "import socket,os,sys\n"
        "d=sys.argv[1]; os.chdir(d)\n"
        "def conn(bind_to, connect_to):\n"
        "  s=socket.socket(socket.AF_UNIX); s.bind(bind_to); s.listen(1)\n"
        "  c=socket.socket(socket.AF_UNIX); c.connect(connect_to); c.close(); s.close()\n"
        "for n in ['.java_pidx1','.java_pid12.tmp','x.java_pid5','.java_pid','.java_pid4242']:\n"
        "  conn(os.path.join(d,n), os.path.join(d,n))\n"
        "conn('.java_pid4243', '.java_pid4243')\n"
        "conn('\\0.java_pid4244', '\\0.java_pid4244')\n"
        "conn(os.path.join(d,'.java_pid4245'), '/proc/self/root'+os.path.join(d,'.java_pid4245'))\n"
        "print('ok')\n";
    std::string out;
    ASSERT_EQ(run_command({"python3", "-c", script, dir.path()}, &out), 0) << out;
    EXPECT_NE(out.find("ok"), std::string::npos);
    auto mine = [&](const RecordedEvent& e) {
        auto* c = e.as<jw_connect_event>();
        return c && c->hdr.ppid == static_cast<uint32_t>(getpid());
    };
    ASSERT_TRUE(rec.wait_for([&](const RecordedEvent& e) {
        return mine(e) && e.as<jw_connect_event>()->target_pid == 4245;
    }));
    std::map<uint32_t, std::string> got;
    for (const auto& e : rec.matching(mine)) {
        auto* c = e.as<jw_connect_event>();
        got[c->target_pid] = obs::fixed_string(c->path);
    }
    std::map<uint32_t, std::string> want = {
        {4242, dir.path() + "/.java_pid4242"},
        {4243, ".java_pid4243"},
        {4244, "@.java_pid4244"},
        {4245, "/proc/self/root" + dir.path() + "/.java_pid4245"},
    };
    EXPECT_EQ(got, want);
    EXPECT_EQ(rec.matching(mine).size(), 4u);
}

TEST(ObserverEvents, AddTrackedReportsExitOfAnyProcess) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    Child sleeper(Child::Spec{{"sleep", "60"}, {}, {}, {}, ""});
    Child untracked(Child::Spec{{"sleep", "60"}, {}, {}, {}, ""});
    ASSERT_TRUE(rec.observer().add_tracked(sleeper.pid()));
    EXPECT_TRUE(rec.observer().is_tracked(sleeper.pid()));
    untracked.kill(SIGKILL);
    untracked.wait_exit(std::chrono::seconds(10));
    sleeper.kill(SIGTERM);
    ASSERT_TRUE(rec.wait_for(exit_of(sleeper.pid())));
    EXPECT_TRUE(rec.matching(exit_of(untracked.pid())).empty());
    EXPECT_FALSE(rec.observer().remove_tracked(sleeper.pid()));   // the kernel removed it
    auto st = rec.observer().stats();
    EXPECT_GE(st.received, 1u);
    EXPECT_GE(st.events, 1u);
    EXPECT_EQ(st.ringbuf_drops, 0u);
}

}  // namespace
}  // namespace jvmwatch::test
