// Correlation of recorded kernel event sequences into attach / thread_dump_request
// records (fixtures recorded with jvmwatchd --deep --record-raw, see each file's header).
#include <gtest/gtest.h>

#include "tests/unit/daemon_test_support.h"

using jvmwatch::test::load_fixture;
using jvmwatch::test::Replay;
using nlohmann::json;

namespace {

constexpr uint64_t kSec = 1'000'000'000;

std::vector<std::string> strs(const json& j) { return j.get<std::vector<std::string>>(); }

}  // namespace

TEST(DaemonCorrelation, JattachColdDeepIsOneCompleteRecord) {
    Replay r;
    r.feed_all(load_fixture("jattach_cold.jsonl"));
    r.advance(5 * kSec);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    const json& a = attaches[0];
    EXPECT_EQ(a["attacher"]["pid"], 3488);
    EXPECT_EQ(a["attacher"]["comm"], "jattach");
    EXPECT_EQ(a["attacher"]["exe"], "/usr/bin/jattach");
    EXPECT_EQ(strs(a["attacher"]["cmdline"]), (std::vector<std::string>{"jattach", "3374", "properties"}));
    EXPECT_EQ(a["attacher"]["uid"], 0);
    EXPECT_EQ(a["attacher"]["ppid"], 3349);
    EXPECT_EQ(a["target"]["pid"], 3374);
    EXPECT_EQ(a["target"]["nspid"], 3374);
    EXPECT_EQ(a["target"]["main"], "jw.daemon.Idle");
    EXPECT_EQ(a["target"]["resolved_by"], "path");   // the trigger's /proc/3374/cwd/...
    EXPECT_EQ(a["operation"], "properties");
    EXPECT_EQ(strs(a["args"]), (std::vector<std::string>{"", "", ""}));
    EXPECT_EQ(a["protocol"], 1);
    EXPECT_EQ(a["request_complete"], true);
    EXPECT_EQ(a["result_code"], 0);
    EXPECT_EQ(a["outcome"], "replied");
    EXPECT_EQ(a["finalized_by"], "close");
    EXPECT_EQ(a["self"], false);
    for (const char* k : {"trigger", "sigquit", "connect", "request", "reply", "close"})
        EXPECT_EQ(a["evidence"][k], true) << k;
    EXPECT_EQ(a["trigger_path"], "/proc/3374/cwd/.attach_pid3374");
    EXPECT_GT(a["duration_ms"].get<double>(), 0.0);
    EXPECT_TRUE(r.sink.of_type("thread_dump_request").empty());
    ASSERT_EQ(r.sink.of_type("jvm.start").size(), 1u);
    EXPECT_EQ(r.sink.of_type("jvm.start")[0]["detected_by"], "exec");
}

TEST(DaemonCorrelation, JattachColdDefaultModeEndsOnAttacherExit) {
    Replay r;
    r.feed_all(load_fixture("jattach_cold.jsonl"), /*deep=*/false);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u) << "the attacher's exit finalises the record";
    const json& a = attaches[0];
    EXPECT_EQ(a["finalized_by"], "exit");
    EXPECT_EQ(a["evidence"]["sigquit"], true);
    EXPECT_EQ(a["evidence"]["connect"], true);
    EXPECT_EQ(a["evidence"]["request"], false);
    EXPECT_FALSE(a.contains("operation"));
    EXPECT_EQ(a["outcome"], "connected");
    EXPECT_EQ(a["target"]["pid"], 3374);
    EXPECT_EQ(a["attacher"]["exited"], true);
    EXPECT_TRUE(r.sink.of_type("thread_dump_request").empty());
}

TEST(DaemonCorrelation, WarmConnectWithoutSignalRecordsLoadAndArgs) {
    Replay r;
    r.feed_all(load_fixture("jattach_warm_load.jsonl"));
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    const json& a = attaches[0];
    EXPECT_EQ(a["evidence"]["sigquit"], false);
    EXPECT_EQ(a["evidence"]["trigger"], false);
    EXPECT_EQ(a["operation"], "load");
    EXPECT_EQ(strs(a["args"]), (std::vector<std::string>{"instrument", "false", "/x.jar=a"}));
    EXPECT_EQ(a["result_code"], 0);
    EXPECT_EQ(a["reply"], "return code: 100");
    EXPECT_EQ(a["target"]["resolved_by"], "path");
    EXPECT_EQ(a["socket_path"], "/proc/3374/root/tmp/.java_pid3374");
}

TEST(DaemonCorrelation, WarmConnectDefaultMode) {
    Replay r;
    r.feed_all(load_fixture("jattach_warm_load.jsonl"), false);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["evidence"]["connect"], true);
    EXPECT_EQ(attaches[0]["evidence"]["sigquit"], false);
    EXPECT_EQ(attaches[0]["attacher"]["cmdline"][2], "load");
}

TEST(DaemonCorrelation, JcmdProbeAndRealConnectionAreOneRecord) {
    Replay r;
    jvmwatch::jvm::JvmProcess jcmd;
    jcmd.pid = jcmd.nspid = 3493;
    jcmd.kind = jvmwatch::jvm::Kind::hotspot;
    jcmd.exe = "/usr/lib/jvm/java-17-openjdk-amd64/bin/jcmd";
    jcmd.user = "root";
    r.known_jvms[3493] = jcmd;
    r.feed_all(load_fixture("jcmd_cold.jsonl"));
    r.advance(5 * kSec);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    const json& a = attaches[0];
    EXPECT_EQ(a["connects"], 2);
    EXPECT_EQ(a["attacher"]["pid"], 3493);
    EXPECT_EQ(a["attacher"]["comm"], "jcmd");
    EXPECT_EQ(strs(a["attacher"]["cmdline"]), (std::vector<std::string>{"jcmd", "3375", "VM.version"}));
    EXPECT_EQ(a["target"]["pid"], 3375);
    EXPECT_EQ(a["operation"], "jcmd");
    EXPECT_EQ(strs(a["args"]), (std::vector<std::string>{"VM.version", "", ""}));
    EXPECT_EQ(a["result_code"], 0);
    EXPECT_NE(a["reply"].get<std::string>().find("OpenJDK 64-Bit Server VM"), std::string::npos);
    EXPECT_EQ(a["evidence"]["trigger"], true);
    EXPECT_EQ(a["evidence"]["sigquit"], true);
    EXPECT_EQ(a["finalized_by"], "close");
    // jcmd runs a JVM of its own: seen through its VM Thread.
    bool jcmd_jvm = false;
    for (auto& s : r.sink.of_type("jvm.start"))
        if (s["jvm"]["pid"] == 3493) jcmd_jvm = s["detected_by"] == "vm_thread";
    EXPECT_TRUE(jcmd_jvm);
}

TEST(DaemonCorrelation, JcmdDefaultModeMergesConnectsUntilExit) {
    Replay r;
    r.feed_all(load_fixture("jcmd_cold.jsonl"), false);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["connects"], 2);
    EXPECT_EQ(attaches[0]["finalized_by"], "exit");
    EXPECT_EQ(attaches[0]["target"]["pid"], 3375);
}

TEST(DaemonCorrelation, LoneSigquitBecomesThreadDumpRequestAfterWindow) {
    Replay r;
    auto evs = load_fixture("lone_sigquit.jsonl");
    // Everything up to and including the signal; the JVM's exit comes later.
    size_t i = 0;
    for (; i < evs.size() && evs[i]["kind"] != "sigquit"; ++i) r.feed(evs[i]);
    ASSERT_LT(i, evs.size());
    r.feed(evs[i]);
    r.advance(kSec);
    EXPECT_TRUE(r.sink.of_type("thread_dump_request").empty()) << "a connect may still follow";
    r.advance(2 * kSec);
    auto dumps = r.sink.of_type("thread_dump_request");
    ASSERT_EQ(dumps.size(), 1u);
    EXPECT_EQ(dumps[0]["sender"]["pid"], 3349);
    EXPECT_EQ(dumps[0]["sender"]["comm"], "bash");
    EXPECT_EQ(dumps[0]["target"]["pid"], 3376);
    EXPECT_EQ(dumps[0]["target"]["main"], "jw.daemon.Idle");
    EXPECT_TRUE(r.sink.of_type("attach").empty());
    for (++i; i < evs.size(); ++i) r.feed(evs[i]);
    auto exits = r.sink.of_type("jvm.exit");
    ASSERT_EQ(exits.size(), 1u);
    EXPECT_EQ(exits[0]["jvm"]["pid"], 3376);
    EXPECT_EQ(exits[0]["exit_code"], 143);
}

TEST(DaemonCorrelation, OwnAttachByDaemonChildCarriesRule) {
    jvmwatch::daemon::CorrelatorConfig cfg;
    cfg.self_pid = 3349;   // the fixture's attacher is a child of this pid
    Replay r(cfg);
    r.proc->own_attach_registry().expect_own_attach(3374, "apm-everywhere");
    r.feed_all(load_fixture("jattach_warm_load.jsonl"));
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["self"], true);
    EXPECT_EQ(attaches[0]["rule"], "apm-everywhere");
}

TEST(DaemonCorrelation, OwnAttachDoneFinalisesInProcessAttach) {
    jvmwatch::daemon::CorrelatorConfig cfg;
    cfg.self_pid = 3491;   // the attacher itself is "the daemon"
    Replay r(cfg);
    auto evs = load_fixture("jattach_warm_load.jsonl");
    r.feed(evs[0]);
    r.proc->own_attach_registry().expect_own_attach(3374, "rule-a");
    // No close and no exit: only the injector's own_attach_done ends it.
    for (size_t i = 1; i < evs.size(); ++i)
        if (evs[i]["kind"] != "sock_close" && evs[i]["kind"] != "exit") r.feed(evs[i]);
    r.advance(kSec / 10);
    EXPECT_TRUE(r.sink.of_type("attach").empty());
    r.proc->own_attach_registry().own_attach_done(3374);
    r.advance(kSec);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["finalized_by"], "own_done");
    EXPECT_EQ(attaches[0]["self"], true);
    EXPECT_EQ(attaches[0]["rule"], "rule-a");
}

TEST(DaemonCorrelation, ForeignAttachIsNotSelf) {
    jvmwatch::daemon::CorrelatorConfig cfg;
    cfg.self_pid = 999999;
    Replay r(cfg);
    r.proc->own_attach_registry().expect_own_attach(3374, "rule-a");
    r.feed_all(load_fixture("jattach_warm_load.jsonl"));
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["self"], false);
    EXPECT_FALSE(attaches[0].contains("rule"));
}

namespace {
json exec_ev(int pid, int ppid, const std::string& file, const std::string& args, uint64_t ts,
             uint32_t pidns = 100, uint32_t mntns = 200, int nspid = 0) {
    return {{"kind", "exec"}, {"pid", pid}, {"ppid", ppid}, {"nspid", nspid ? nspid : pid},
            {"pidns", pidns}, {"mntns", mntns}, {"comm", file.substr(file.rfind('/') + 1)},
            {"filename", file}, {"args", args}, {"ts_ns", ts}, {"start_time_ns", ts}};
}
}  // namespace

TEST(DaemonCorrelation, ConnectInsideNamespaceResolvesThroughJvmTable) {
    jvmwatch::daemon::CorrelatorConfig cfg;
    cfg.host_pidns = 100;
    Replay r(cfg);
    using namespace std::string_literals;
    // A JVM that is pid 7 in container pid namespace 300 / mount namespace 400.
    r.feed(exec_ev(5007, 5000, "/usr/bin/java", "java\0-jar\0app.jar\0"s, 1 * kSec, 300, 400, 7));
    // A tool inside the same container connects to /tmp/.java_pid7.
    r.feed(exec_ev(5010, 5000, "/usr/bin/jattach", "jattach\0" "7\0threaddump\0"s, 2 * kSec, 300, 400, 9));
    r.feed({{"kind", "connect"}, {"pid", 5010}, {"nspid", 9}, {"pidns", 300}, {"mntns", 400},
            {"comm", "jattach"}, {"ppid", 5000}, {"target_pid", 7}, {"path", "/tmp/.java_pid7"},
            {"ts_ns", 2 * kSec + 1000}});
    r.feed({{"kind", "exit"}, {"pid", 5010}, {"ts_ns", 2 * kSec + 2000}, {"start_time_ns", 2 * kSec}});
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["target"]["pid"], 5007);
    EXPECT_EQ(attaches[0]["target"]["nspid"], 7);
    EXPECT_EQ(attaches[0]["target"]["resolved_by"], "jvm_table_mntns");
    EXPECT_EQ(attaches[0]["target"]["main"], "app.jar");
    EXPECT_EQ(attaches[0]["attacher"]["nspid"], 9);
}

TEST(DaemonCorrelation, UnresolvableTargetKeepsNamespacePid) {
    jvmwatch::daemon::CorrelatorConfig cfg;
    cfg.host_pidns = 100;
    Replay r(cfg);
    r.feed({{"kind", "connect"}, {"pid", 6010}, {"nspid", 3}, {"pidns", 301}, {"mntns", 401},
            {"comm", "tool"}, {"target_pid", 1}, {"path", "/tmp/.java_pid1"}, {"ts_ns", kSec}});
    r.feed({{"kind", "exit"}, {"pid", 6010}, {"ts_ns", kSec + 10}});
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_FALSE(attaches[0]["target"].contains("pid"));
    EXPECT_EQ(attaches[0]["target"]["nspid"], 1);
    EXPECT_EQ(attaches[0]["target"]["resolved_by"], "unresolved");
}

TEST(DaemonCorrelation, OpenCorrelationsAreBoundedAndEvictionsCounted) {
    jvmwatch::daemon::CorrelatorConfig cfg;
    cfg.max_open = 2;
    Replay r(cfg);
    using namespace std::string_literals;
    r.feed(exec_ev(4000, 1, "/usr/bin/java", "java\0Main\0"s, kSec));
    for (int i = 0; i < 5; ++i)
        r.feed({{"kind", "sigquit"}, {"pid", 4100 + i}, {"comm", "kill"}, {"target_pid", 4000},
                {"ts_ns", 2 * kSec + i}});
    // Three were pushed out early (as thread dump requests), two remain open.
    EXPECT_EQ(r.sink.of_type("thread_dump_request").size(), 3u);
    auto st = r.proc->stats_event({}, 0, false, 1.0);
    EXPECT_EQ(st["evictions"]["correlations"], 3);
    EXPECT_EQ(st["tables"]["open_correlations"], 2);
    r.advance(10 * kSec);
    EXPECT_EQ(r.sink.of_type("thread_dump_request").size(), 5u);
}

TEST(DaemonCorrelation, SigquitToNonJvmIsIgnored) {
    Replay r;
    r.feed({{"kind", "sigquit"}, {"pid", 10}, {"comm", "kill"}, {"target_pid", 11}, {"ts_ns", kSec}});
    r.advance(10 * kSec);
    EXPECT_TRUE(r.sink.of_type("thread_dump_request").empty());
    EXPECT_EQ(r.proc->stats_event({}, 0, false, 1.0)["userspace"]["sigquit_not_jvm"], 1);
}

TEST(DaemonCorrelation, StopFinalisesOpenCorrelations) {
    Replay r;
    auto evs = load_fixture("jattach_cold.jsonl");
    for (auto& e : evs)
        if (e["kind"] != "sock_close" && e["kind"] != "exit") r.feed(e);
    EXPECT_TRUE(r.sink.of_type("attach").empty());
    r.proc->finish(r.now);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["finalized_by"], "stop");
    EXPECT_EQ(attaches[0]["operation"], "properties");
}

TEST(DaemonCorrelation, ProcPathInsideTargetMountNamespaceIsNotAHostPid) {
    // jattach enters the JVM's mount namespace before it connects, so /proc/1/root/...
    // names the JVM as pid 1 of its own namespace, not host pid 1.
    jvmwatch::daemon::CorrelatorConfig cfg;
    cfg.host_pidns = 100;
    cfg.host_mntns = 200;
    Replay r(cfg);
    using namespace std::string_literals;
    r.feed(exec_ev(19829, 19827, "/usr/bin/java", "java\0Main\0"s, kSec, 300, 400, 1));
    r.feed(exec_ev(19852, 1000, "/usr/bin/jattach", "jattach\0" "19829\0properties\0"s, 2 * kSec));
    r.feed({{"kind", "sigquit"}, {"pid", 19852}, {"pidns", 100}, {"mntns", 200}, {"comm", "jattach"},
            {"target_pid", 19829}, {"target_nspid", 1}, {"ts_ns", 2 * kSec + 100}});
    r.feed({{"kind", "connect"}, {"pid", 19852}, {"pidns", 100}, {"mntns", 400}, {"comm", "jattach"},
            {"target_pid", 1}, {"path", "/proc/1/root/tmp/.java_pid1"}, {"ts_ns", 2 * kSec + 200}});
    r.feed({{"kind", "exit"}, {"pid", 19852}, {"ts_ns", 2 * kSec + 300}});
    r.advance(5 * kSec);
    EXPECT_TRUE(r.sink.of_type("thread_dump_request").empty());
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["target"]["pid"], 19829);
    EXPECT_EQ(attaches[0]["target"]["nspid"], 1);
    EXPECT_EQ(attaches[0]["evidence"]["sigquit"], true);
}

TEST(DaemonCorrelation, OwnAttachThroughAHelpersChild) {
    jvmwatch::daemon::CorrelatorConfig cfg;
    cfg.self_pid = 77;   // the daemon forked 3349 (a helper), which forked the attacher
    Replay r(cfg);
    using namespace std::string_literals;
    r.feed(exec_ev(3349, 77, "/usr/sbin/jvmwatchd", "jvmwatchd\0"s, kSec));
    auto evs = load_fixture("jattach_warm_load.jsonl");
    r.feed(evs[0]);
    r.proc->own_attach_registry().expect_own_attach(3374, "via-helper");
    for (size_t i = 1; i < evs.size(); ++i) r.feed(evs[i]);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["self"], true);
    EXPECT_EQ(attaches[0]["rule"], "via-helper");
    EXPECT_EQ(attaches[0]["attacher"]["parent_comm"], "jvmwatchd");
}

TEST(DaemonCorrelation, JvmReplacedByExecIsAnExitButLauncherReexecIsNot) {
    Replay r;
    using namespace std::string_literals;
    r.feed(exec_ev(500, 1, "/usr/bin/java", "java\0A\0"s, kSec));
    r.feed(exec_ev(500, 1, "/usr/lib/jvm/x/bin/java", "java\0A\0"s, kSec + 10));
    EXPECT_EQ(r.sink.of_type("jvm.start").size(), 1u);
    EXPECT_TRUE(r.sink.of_type("jvm.exit").empty());
    r.feed(exec_ev(500, 1, "/bin/sh", "sh\0"s, 2 * kSec));
    ASSERT_EQ(r.sink.of_type("jvm.exit").size(), 1u);
    EXPECT_EQ(r.sink.of_type("jvm.exit")[0]["jvm"]["exe"], "/usr/lib/jvm/x/bin/java");
}

TEST(DaemonCorrelation, AttacherGoneWithoutExitEventIsNoticed) {
    // The kernel reports exits of tracked processes only; jattach may exit before the
    // daemon asked to track it.  The timer then finds it gone.
    Replay r;
    for (auto& e : load_fixture("jattach_warm_load.jsonl"))
        if (e["kind"] != "exit" && !jvmwatch::test::is_deep_kind(e)) r.feed(e);
    r.advance(kSec);
    EXPECT_TRUE(r.sink.of_type("attach").empty()) << "still running: keep collecting";
    r.gone.insert(3491);
    r.advance(kSec / 10);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["finalized_by"], "exit");
    EXPECT_EQ(attaches[0]["attacher"]["exited"], true);
}

TEST(DaemonCorrelation, VanishedJvmWithoutExitEventIsSweptOut) {
    Replay r;
    using namespace std::string_literals;
    r.feed(exec_ev(600, 1, "/usr/bin/java", "java\0A\0"s, 10 * kSec));
    r.advance(6 * kSec);
    EXPECT_TRUE(r.sink.of_type("jvm.exit").empty());
    r.gone.insert(600);
    r.advance(6 * kSec);
    auto exits = r.sink.of_type("jvm.exit");
    ASSERT_EQ(exits.size(), 1u);
    EXPECT_EQ(exits[0]["jvm"]["pid"], 600);
    EXPECT_FALSE(exits[0].contains("exit_code"));
    EXPECT_EQ(r.proc->stats_event({}, 0, false, 1)["userspace"]["jvm_exits_found_by_sweep"], 1);
}

// ---- JVM side (uprobes in the JDK): the request as the JVM read it -----------------

namespace {

// What the attach listener of JVM 3374 reports reading from `peer` (fixture pids).
json jvm_request(uint64_t ts, uint32_t peer, const std::string& op, std::vector<std::string> args,
                 uint32_t flags = JW_JA_PEER_KNOWN | JW_JA_OP_READ) {
    return {{"kind", "jvm_attach"}, {"ts_ns", ts}, {"pid", 3374}, {"tid", 3490},
            {"comm", "Attach Listener"}, {"uid", 0}, {"peer_pid", peer}, {"peer_uid", 0},
            {"flags", flags}, {"layout", 1}, {"arg_count", 3}, {"name", op}, {"args", args}};
}

// jattach_warm_load in the default mode, with the JVM side's view inserted after the
// connect (or instead of it: `drop_connect`).
std::vector<json> warm_load_with_jvm_side(bool drop_connect, uint32_t flags) {
    std::vector<json> out;
    for (const auto& e : load_fixture("jattach_warm_load.jsonl")) {
        if (jvmwatch::test::is_deep_kind(e)) continue;
        if (e["kind"] == "connect") {
            if (!drop_connect) out.push_back(e);
            out.push_back(jvm_request(e["ts_ns"].get<uint64_t>() + 100000, 3491, "load",
                                      {"instrument", "false", "/x.jar=a"}, flags));
            out.push_back({{"kind", "jvm_result"}, {"ts_ns", e["ts_ns"].get<uint64_t>() + 200000},
                           {"pid", 3374}, {"tid", 3490}, {"comm", "Attach Listener"}, {"result", 0}});
            continue;
        }
        out.push_back(e);
    }
    return out;
}

}  // namespace

TEST(DaemonCorrelation, JvmSideGivesTheDefaultModeItsOperation) {
    Replay r;
    r.feed_all(warm_load_with_jvm_side(false, JW_JA_PEER_KNOWN | JW_JA_OP_READ), false);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    const json& a = attaches[0];
    EXPECT_EQ(a["operation"], "load");
    EXPECT_EQ(strs(a["args"]), (std::vector<std::string>{"instrument", "false", "/x.jar=a"}));
    EXPECT_EQ(a["operation_seen_by"], "jvm");
    EXPECT_EQ(a["visibility"], "jvm");
    EXPECT_EQ(a["alias"], false);
    EXPECT_EQ(a["self_attach"], false);
    EXPECT_EQ(a["evidence"]["jvm_request"], true);
    EXPECT_EQ(a["evidence"]["connect"], true);
    EXPECT_EQ(a["attacher"]["pid"], 3491);
    EXPECT_EQ(a["attacher"]["exe"], "/usr/bin/jattach");
    ASSERT_EQ(a["jvm_side"]["requests"].size(), 1u);
    EXPECT_EQ(a["jvm_side"]["requests"][0]["thread"], "Attach Listener");
    EXPECT_EQ(a["jvm_side"]["requests"][0]["request_layout"], "v1");
    EXPECT_EQ(a["result_code"], 0);
    EXPECT_EQ(a["outcome"], "replied");
}

// No connect to .java_pid3374 was seen from the peer: it came by another name.
TEST(DaemonCorrelation, JvmSideRequestWithoutAConnectIsAnAlias) {
    Replay r;
    r.feed_all(warm_load_with_jvm_side(true, JW_JA_PEER_KNOWN | JW_JA_OP_READ), false);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    const json& a = attaches[0];
    EXPECT_EQ(a["alias"], true);
    EXPECT_EQ(a["evidence"]["connect"], false);
    EXPECT_EQ(a["operation"], "load");
    EXPECT_EQ(a["attacher"]["pid"], 3491);
    EXPECT_EQ(a["target"]["pid"], 3374);
    EXPECT_EQ(a["target"]["resolved_by"], "jvm_side");
    EXPECT_EQ(a["finalized_by"], "exit");
    EXPECT_EQ(r.proc->stats_event({}, 0, false, 1.0)["userspace"]["alias_attaches"], 1);
}

TEST(DaemonCorrelation, JvmSideSelfFlagMarksASelfAttach) {
    Replay r;
    r.feed_all(warm_load_with_jvm_side(false, JW_JA_PEER_KNOWN | JW_JA_OP_READ | JW_JA_SELF), false);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["self_attach"], true);
    EXPECT_EQ(attaches[0]["alias"], false);
}

// JDK 24+ clients negotiate on a connection of their own: one record for both.
TEST(DaemonCorrelation, JvmSideGetversionAndTheOperationAreOneRecord) {
    Replay r;
    std::vector<json> evs;
    for (const auto& e : load_fixture("jattach_warm_load.jsonl")) {
        if (jvmwatch::test::is_deep_kind(e)) continue;
        if (e["kind"] == "connect") {
            uint64_t ts = e["ts_ns"];
            evs.push_back(e);
            evs.push_back(jvm_request(ts + 1000, 3491, "getversion", {}));
            json second = e;
            second["ts_ns"] = ts + 2000;
            evs.push_back(second);
            evs.push_back(jvm_request(ts + 3000, 3491, "jcmd", {"VM.version"}));
            continue;
        }
        evs.push_back(e);
    }
    r.feed_all(evs, false);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["operation"], "jcmd");
    EXPECT_EQ(strs(attaches[0]["args"]), (std::vector<std::string>{"VM.version"}));
    EXPECT_EQ(attaches[0]["connects"], 2);
    EXPECT_EQ(attaches[0]["jvm_side"]["requests"].size(), 2u);
}

// An agent load on the attach listener's thread belongs to that attach; the event waits
// for the file's facts, then says where it came from.
TEST(DaemonCorrelation, AgentLoadDuringAnAttachNamesItsAttacher) {
    Replay r;
    std::vector<json> evs;
    for (const auto& e : warm_load_with_jvm_side(false, JW_JA_PEER_KNOWN | JW_JA_OP_READ)) {
        evs.push_back(e);
        if (e["kind"] == "jvm_attach")
            evs.push_back({{"kind", "jvm_agent"}, {"ts_ns", e["ts_ns"].get<uint64_t>() + 10}, {"pid", 3374},
                           {"tid", 3490}, {"comm", "Attach Listener"}, {"via", JW_AGENT_VIA_LOAD_LIBRARY},
                           {"absolute", 0}, {"agent", "instrument"}, {"options", "/x.jar=a"}});
    }
    r.feed_all(evs, false);
    auto loads = r.sink.of_type("agent.load");
    ASSERT_EQ(loads.size(), 1u);
    const json& l = loads[0];
    EXPECT_EQ(l["agent"]["kind"], "java");
    EXPECT_EQ(l["agent"]["path"], "/x.jar");
    EXPECT_EQ(l["agent"]["options"], "a");
    EXPECT_EQ(l["origin"], "attach");
    EXPECT_EQ(l["attacher_pid"], 3491);
    EXPECT_EQ(l["first_dynamic_agent"], true);
    EXPECT_TRUE(l["artifact"].contains("why")) << "no /proc here: the file cannot be looked at";
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    ASSERT_EQ(attaches[0]["agents"].size(), 1u);
    EXPECT_EQ(attaches[0]["agents"][0]["path"], "/x.jar");
}

// A command through JMX is its own event; an agent load that follows on that thread
// came from it.  libinstrument's own report of the same jar is not a second load.
TEST(DaemonCorrelation, JmxCommandAndItsAgentLoad) {
    Replay r;
    std::vector<json> evs;
    for (const auto& e : load_fixture("jattach_warm_load.jsonl"))
        if (e["kind"] == "exec" && e["pid"] == 3374) evs.push_back(e);
    const uint64_t t = evs.at(0)["ts_ns"].get<uint64_t>() + 1'000'000'000;
    evs.push_back({{"kind", "jvm_dcmd"}, {"ts_ns", t}, {"pid", 3374}, {"tid", 3600},
                   {"comm", "RMI TCP Connection(2)"}, {"source", JW_DCMD_MBEAN},
                   {"cmdline", "JVMTI.agent_load /x.jar"}});
    evs.push_back({{"kind", "jvm_agent"}, {"ts_ns", t + 10}, {"pid", 3374}, {"tid", 3600},
                   {"comm", "RMI TCP Connection(2)"}, {"via", JW_AGENT_VIA_LOAD_LIBRARY},
                   {"absolute", 0}, {"agent", "instrument"}, {"options", "/x.jar"}});
    evs.push_back({{"kind", "jvm_agent"}, {"ts_ns", t + 20}, {"pid", 3374}, {"tid", 3600},
                   {"comm", "RMI TCP Connection(2)"}, {"via", JW_AGENT_VIA_ON_ATTACH},
                   {"absolute", 2}, {"agent", ""}, {"options", "/x.jar"}});
    r.feed_all(evs, false);
    auto dcmds = r.sink.of_type("jvm.dcmd");
    ASSERT_EQ(dcmds.size(), 1u);
    EXPECT_EQ(dcmds[0]["source"], "jmx");
    EXPECT_EQ(dcmds[0]["command"], "JVMTI.agent_load /x.jar");
    auto loads = r.sink.of_type("agent.load");
    ASSERT_EQ(loads.size(), 1u);
    EXPECT_EQ(loads[0]["origin"], "jmx");
    EXPECT_EQ(loads[0]["dcmd"], "JVMTI.agent_load /x.jar");
    // The inventory the injector asks for.
    auto inv = r.proc->agents_of(3374);
    ASSERT_TRUE(inv);
    ASSERT_EQ(inv->dynamic_agents.size(), 1u);
    EXPECT_EQ(inv->dynamic_agents[0].path, "/x.jar");
    EXPECT_EQ(inv->dynamic_agents[0].origin, "jmx");
    EXPECT_FALSE(r.proc->agents_of(3375));
}

// Recorded on JDK 17 in the default mode: jattach's load (one record, from both sides) and
// a client through a symlink (an alias record, from the JVM side alone).
TEST(DaemonCorrelation, RecordedJvmSideSessionGivesBothRecordsAndTheLoad) {
    Replay r;
    r.feed_all(load_fixture("jvm_side.jsonl"), false);
    r.advance(15 * kSec);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 2u);
    const json& load = attaches[0];
    EXPECT_EQ(load["attacher"]["comm"], "jattach");
    EXPECT_EQ(load["operation"], "load");
    EXPECT_EQ(strs(load["args"]), (std::vector<std::string>{"instrument", "false", "/tmp/x.jar=a"}));
    EXPECT_EQ(load["result_code"], 0);
    EXPECT_EQ(load["alias"], false);
    EXPECT_EQ(load["evidence"]["sigquit"], true);
    ASSERT_EQ(load["agents"].size(), 1u) << "libinstrument's report of the same jar is the same load";
    const json& alias = attaches[1];
    EXPECT_EQ(alias["attacher"]["comm"], "python3");
    EXPECT_EQ(alias["alias"], true);
    EXPECT_EQ(alias["alias_via"], "other_name");
    EXPECT_EQ(alias["operation"], "jcmd");
    EXPECT_EQ(alias["jvm_side"]["requests"][0]["dcmd"]["command"], "VM.version");
    auto loads = r.sink.of_type("agent.load");
    ASSERT_EQ(loads.size(), 1u);
    EXPECT_EQ(loads[0]["agent"]["path"], "/tmp/x.jar");
    EXPECT_EQ(loads[0]["origin"], "attach");
}
