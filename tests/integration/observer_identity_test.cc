// Root tests of the kernel-kept exec identities and the once-per-image milestones: a
// non-JVM exec reaches userspace only as a counter, yet a process that signals or connects
// a few milliseconds after its exec is described exactly as its exec was; a flood of JVM
// thread names reaches userspace once per name and process image.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <map>

#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"
#include "tests/integration/observer_harness.h"

extern char** environ;

namespace jvmwatch::test {
namespace {

// n execs of /bin/true, one after the other; how many ran with status 0.
int spawn_true(int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        char arg0[] = "/bin/true";
        char* argv[] = {arg0, nullptr};
        pid_t pid;
        int st = 0;
        if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) == 0 &&
            waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ++ok;
    }
    return ok;
}

// Our own comm, as the kernel reports a parent ("integration_tes").
std::string own_comm() {
    std::ifstream in("/proc/self/comm");
    std::string s;
    std::getline(in, s);
    return s;
}

std::function<bool(const RecordedEvent&)> identity_of(uint32_t pid) {
    return [=](const RecordedEvent& e) {
        auto* i = e.as<jw_identity_event>();
        return i && i->hdr.pid == pid;
    };
}

// A process that ignores SIGQUIT (inherited across exec), as a harmless target.
Child quit_ignoring_target() {
    return Child(Child::Spec{{"sh", "-c", "trap '' QUIT; echo ready; exec sleep 60"}, {}, {}, {}, ""});
}

TEST(ObserverIdentity, NonJvmExecsAreKeptInTheKernelNotSent) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    auto before = rec.observer().stats();
    constexpr int kExecs = 2000;
    ASSERT_EQ(spawn_true(kExecs), kExecs);
    auto after = rec.observer().stats();
    // The kernel saw every one (and whatever else the host ran) and stored it.
    EXPECT_GE(after.execs - before.execs, static_cast<uint64_t>(kExecs));
    EXPECT_EQ(after.identity_full, before.identity_full);
    // None of ours reached userspace.
    const uint32_t me = static_cast<uint32_t>(getpid());
    auto ours = [&](const RecordedEvent& e) {
        auto* x = e.as<jw_exec_event>();
        return x && x->hdr.ppid == me;
    };
    // A marker that follows the storm in the ring buffer: a SIGQUIT is always sent.
    Child target = quit_ignoring_target();
    ASSERT_TRUE(target.wait_for_output("ready"));
    ASSERT_EQ(run_command({"/bin/kill", "-QUIT", std::to_string(target.pid())}), 0);
    ASSERT_TRUE(rec.wait_for([&](const RecordedEvent& e) {
        auto* q = e.as<jw_sigquit_event>();
        return q && q->target_pid == static_cast<uint32_t>(target.pid());
    }));
    EXPECT_TRUE(rec.matching(ours).empty()) << rec.matching(ours).size() << " exec events of our children";
    uint64_t sent = 0;
    for (const auto& e : rec.events()) sent += e.as<jw_exec_event>() != nullptr;
    EXPECT_LT(sent, static_cast<uint64_t>(kExecs) / 10) << "exec events sent for other processes";
}

// kill(1) lives about a millisecond: its exec is not sent, its identity is, once and
// before its first SIGQUIT event.
void kill_quit_sender_is_described(const obs::Options& opts) {
    EventRecorder rec(opts);
    ASSERT_TRUE(rec.ok()) << rec.error();
    Child target = quit_ignoring_target();
    ASSERT_TRUE(target.wait_for_output("ready"));
    const std::string tp = std::to_string(target.pid());
    std::string out;
    // Two signals from one process image.
    ASSERT_EQ(run_command({"/bin/kill", "-QUIT", tp, tp}, &out), 0) << out;
    auto sig = rec.wait_for([&](const RecordedEvent& e) {
        auto* q = e.as<jw_sigquit_event>();
        return q && q->target_pid == static_cast<uint32_t>(target.pid()) &&
               obs::fixed_string(q->hdr.comm) == "kill";
    });
    ASSERT_TRUE(sig) << "no sigquit event";
    const uint32_t sender = sig->hdr()->pid;
    auto ids = rec.matching(identity_of(sender));
    ASSERT_EQ(ids.size(), 1u) << "one identity per process image";
    auto* id = ids[0].as<jw_identity_event>();
    EXPECT_EQ(id->trigger, uint32_t{JW_ID_SIGQUIT});
    EXPECT_EQ(obs::fixed_string(id->exec.filename), "/bin/kill");
    EXPECT_EQ(obs::exec_args(id->exec), (std::vector<std::string>{"/bin/kill", "-QUIT", tp, tp}));
    EXPECT_EQ(id->exec.ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(obs::fixed_string(id->exec.comm), "kill");
    EXPECT_EQ(obs::fixed_string(id->exec.parent_comm), own_comm());
    EXPECT_EQ(id->exec.uid, 0u);
    EXPECT_NE(id->exec.start_time_ns, 0u);
    EXPECT_LE(id->exec.exec_ts_ns, sig->hdr()->ts_ns);
    // Ahead of the sender's first sigquit event in the stream.
    auto all = rec.events();
    size_t id_at = all.size(), sig_at = all.size();
    for (size_t i = 0; i < all.size(); ++i) {
        if (id_at == all.size() && identity_of(sender)(all[i])) id_at = i;
        auto* q = all[i].as<jw_sigquit_event>();
        if (sig_at == all.size() && q && q->hdr.pid == sender) sig_at = i;
    }
    EXPECT_LT(id_at, sig_at);
    EXPECT_EQ(rec.matching([&](const RecordedEvent& e) {
                  auto* q = e.as<jw_sigquit_event>();
                  return q && q->hdr.pid == sender;
              }).size(),
              2u);
    // Its exec was never sent; its exit is (the kernel tracked the sender).
    EXPECT_TRUE(rec.matching([&](const RecordedEvent& e) {
                       auto* x = e.as<jw_exec_event>();
                       return x && x->hdr.pid == sender;
                   }).empty());
    EXPECT_TRUE(rec.wait_for(exit_of(static_cast<pid_t>(sender))));
    EXPECT_GE(rec.observer().stats().identity_sent, 1u);
}

TEST(ObserverIdentity, ShortLivedSignalSenderIsDescribedByItsExec) {
    JW_REQUIRE_ROOT();
    kill_quit_sender_is_described({});
}

TEST(ObserverIdentity, ShortLivedSignalSenderIsDescribedOnTheFallbackHooks) {
    JW_REQUIRE_ROOT();
    obs::Options opts;
    opts.force_fallback = true;   // tracepoint/sched, tracepoint/signal
    kill_quit_sender_is_described(opts);
}

TEST(ObserverIdentity, ConnectCallerIsDescribedByItsExec) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    TempDir dir;
    std::string script =
        "import socket,os,sys\n"
        "p=os.path.join(sys.argv[1],'.java_pid4246')\n"
        "s=socket.socket(socket.AF_UNIX); s.bind(p); s.listen(1)\n"
        "c=socket.socket(socket.AF_UNIX); c.connect(p); c.close(); s.close()\n";
    std::string out;
    ASSERT_EQ(run_command({"/usr/bin/python3", "-c", script, dir.path()}, &out), 0) << out;
    auto conn = rec.wait_for([&](const RecordedEvent& e) {
        auto* c = e.as<jw_connect_event>();
        return c && c->target_pid == 4246 && c->hdr.ppid == static_cast<uint32_t>(getpid());
    });
    ASSERT_TRUE(conn);
    auto ids = rec.matching(identity_of(conn->hdr()->pid));
    ASSERT_EQ(ids.size(), 1u);
    auto* id = ids[0].as<jw_identity_event>();
    EXPECT_EQ(id->trigger, uint32_t{JW_ID_CONNECT});
    EXPECT_EQ(obs::fixed_string(id->exec.filename), "/usr/bin/python3");
    auto args = obs::exec_args(id->exec);
    ASSERT_EQ(args.size(), 4u);
    EXPECT_EQ(args[1], "-c");
    EXPECT_EQ(args[3], dir.path());
}

// One process renames its thread 10,000 times through the three names that mark a JVM:
// each reaches userspace once, the rest are counted.  After an exec the new image's
// milestones are new.
TEST(ObserverIdentity, RenameFloodYieldsOneMilestoneEachAndCountsTheRest) {
    JW_REQUIRE_ROOT();
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    auto before = rec.observer().stats();
    std::string script =
        "import ctypes,os,sys\n"
        "libc=ctypes.CDLL(None)\n"
        "names=[b'VM Thread',b'Signal Dispatch',b'Attach Listener']\n"
        "n=int(sys.argv[1])\n"
        "for i in range(n): libc.prctl(15, names[i % 3] if n > 1 else names[0], 0, 0, 0)\n"
        "if n > 1: os.execv(sys.executable, [sys.executable, '-c', sys.argv[2], '1', sys.argv[2]])\n";
    std::string out;
    ASSERT_EQ(run_command({"/usr/bin/python3", "-c", script, "10000", script}, &out), 0) << out;
    auto mine = [&](const RecordedEvent& e) {
        auto* t = e.as<jw_thread_name_event>();
        return t && t->hdr.ppid == static_cast<uint32_t>(getpid());
    };
    // The second image's one rename, then the exit, close the sequence.
    ASSERT_TRUE(rec.wait_for([&](const RecordedEvent& e) {
        auto* x = e.as<jw_exit_event>();
        return x && x->hdr.ppid == static_cast<uint32_t>(getpid());
    })) << "the renamer was not tracked";
    std::map<uint32_t, int> per_milestone;
    uint32_t pid = 0;
    for (const auto& e : rec.matching(mine)) {
        auto* t = e.as<jw_thread_name_event>();
        ++per_milestone[t->milestone];
        pid = t->hdr.pid;
    }
    EXPECT_EQ(per_milestone[JW_MS_VM_THREAD], 2) << "once per image (two images)";
    EXPECT_EQ(per_milestone[JW_MS_SIGNAL_DISPATCH], 1);
    EXPECT_EQ(per_milestone[JW_MS_ATTACH_LISTENER], 1);
    EXPECT_EQ(per_milestone.size(), 3u);
    auto after = rec.observer().stats();
    EXPECT_GE(after.milestone_repeats - before.milestone_repeats, 10000u - 3u);
    EXPECT_EQ(after.milestone_full, before.milestone_full);
    EXPECT_EQ(after.ringbuf_drops, before.ringbuf_drops);
    // The renamer's identity came first (it exec'd as python3, not as a java launcher).
    auto ids = rec.matching(identity_of(pid));
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_EQ(ids[0].as<jw_identity_event>()->trigger, uint32_t{JW_ID_MILESTONE});
    EXPECT_EQ(obs::fixed_string(ids[0].as<jw_identity_event>()->exec.filename), "/usr/bin/python3");
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The daemon end to end: an exec burst costs it no exec event, and millisecond attachers
// are still reported with their exe and arguments.
TEST(ObserverIdentity, DaemonReportsAttachersFullyWithoutExecEvents) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d({"--stats-interval", "3600"});
    ASSERT_TRUE(d.wait_ready()) << d.output();
    Child jvm(java_spec({}, "jw.daemon.Idle", {"300"}));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    const pid_t pid = jvm.pid();
    const std::string p = std::to_string(pid);
    constexpr int kExecs = 2000;
    ASSERT_EQ(spawn_true(kExecs), kExecs);

    ASSERT_EQ(run_command({"jattach", p, "properties"}), 0);
    auto a = d.wait_for([&](const nlohmann::json& e) {
        return e["type"] == "attach" && e["target"].value("pid", 0) == pid &&
               ends_with(e["attacher"]["exe"].get<std::string>(), "/jattach");
    });
    ASSERT_TRUE(a) << "no attach record for jattach";
    EXPECT_EQ((*a)["attacher"]["exe"], "/usr/bin/jattach");
    EXPECT_EQ((*a)["attacher"]["cmdline"], nlohmann::json({"jattach", p, "properties"}));
    EXPECT_EQ((*a)["attacher"]["identity_from"], "exec");
    EXPECT_EQ((*a)["attacher"]["ppid"], getpid());

    ASSERT_EQ(run_command({"/bin/kill", "-QUIT", p}), 0);
    auto t = d.wait_for([&](const nlohmann::json& e) {
        return e["type"] == "thread_dump_request" && e["target"].value("pid", 0) == pid;
    });
    ASSERT_TRUE(t) << "no thread_dump_request";
    EXPECT_EQ((*t)["sender"]["exe"], "/bin/kill");
    EXPECT_EQ((*t)["sender"]["cmdline"], nlohmann::json({"/bin/kill", "-QUIT", p}));
    EXPECT_EQ((*t)["sender"]["identity_from"], "exec");

    auto st = d.stop();
    ASSERT_TRUE(st);
    nlohmann::json stats;
    for (auto& e : d.events()) if (e["type"] == "stats" && e["final"] == true) stats = e;
    ASSERT_FALSE(stats.is_null());
    EXPECT_GE(stats["kernel"]["execs"].get<uint64_t>(), static_cast<uint64_t>(kExecs)) << stats.dump();
    EXPECT_LT(stats["userspace"]["events_exec"].get<uint64_t>(), static_cast<uint64_t>(kExecs) / 10)
        << stats.dump();
    EXPECT_GE(stats["userspace"]["events_identity"].get<uint64_t>(), 2u) << stats.dump();
    EXPECT_EQ(stats["kernel"]["identity_full"], 0) << stats.dump();
}

}  // namespace
}  // namespace jvmwatch::test
