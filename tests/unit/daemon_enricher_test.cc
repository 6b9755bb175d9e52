// Enrichment off the event path: the event thread never waits for a slow or stuck
// /proc or JDK read; the negative cache, queue bounds, abandoned workers and the order
// of jvm.start / jvm.exit when enrichment is slow.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "tests/unit/daemon_test_support.h"
#include "userspace/daemon/enricher.h"
#include "userspace/daemon/event_processor.h"

using namespace jvmwatch;
using namespace jvmwatch::daemon;
using jvmwatch::test::CollectingSink;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

namespace {

// A read that does not return until the test says so (a FIFO, a FUSE mount).
struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    int entered = 0;
    void pass() {
        std::unique_lock<std::mutex> l(m);
        ++entered;
        cv.notify_all();
        cv.wait(l, [&] { return open; });
    }
    void release() {
        std::lock_guard<std::mutex> l(m);
        open = true;
        cv.notify_all();
    }
    bool wait_entered(int n, milliseconds t = milliseconds(5000)) {
        std::unique_lock<std::mutex> l(m);
        return cv.wait_for(l, t, [&] { return entered >= n; });
    }
};

jvm::JvmProcess a_jvm(pid_t pid, uint64_t start) {
    jvm::JvmProcess p;
    p.pid = p.nspid = pid;
    p.start_time_ticks = start;
    p.kind = jvm::Kind::hotspot;
    p.libjvm_loaded = true;
    p.user = "duke";
    p.exe = "/usr/lib/jvm/x/bin/java";
    p.cmdline = {"java", "Main"};
    p.main = "Main";
    p.java_home = "/usr/lib/jvm/x";
    p.jdk_version = "17.0.15";
    return p;
}

ExecRecord java_exec(pid_t pid, uint64_t start, uint64_t ts = 1000) {
    ExecRecord e;
    e.who.pid = e.who.nspid = pid;
    e.who.ppid = 1;
    e.who.uid = 1000;
    e.who.comm = "java";
    e.who.ts_ns = ts;
    e.start_ticks = start;
    e.filename = "/usr/lib/jvm/x/bin/java";
    e.args = {"java", "Main"};
    return e;
}

ExitRecord exit_of(pid_t pid, uint64_t start, uint64_t ts = 2000) {
    ExitRecord e;
    e.who.pid = pid;
    e.who.ts_ns = ts;
    e.start_ticks = start;
    return e;
}

ThreadNameRecord rename_of(pid_t pid, uint32_t milestone = JW_MS_VM_THREAD) {
    ThreadNameRecord r;
    r.who.pid = pid;
    r.who.comm = "VM Thread";
    r.milestone = milestone;
    r.name = "VM Thread";
    return r;
}

struct Fixture {
    explicit Fixture(EnrichConfig ec, JvmInspector inspect,
                     std::function<std::optional<ProcessInfo>(pid_t)> read_process = nullptr) {
        ProcessorConfig pc;
        pc.proc_root = "/nonexistent-proc-for-tests";
        pc.enrichment = ec;
        ProcessorDeps d;
        d.sink = &sink;
        d.clock = audit::WallClock(1'700'000'000'000'000'000);
        d.inspect = std::move(inspect);
        d.read_process = read_process ? std::move(read_process)
                                      : [](pid_t) { return std::optional<ProcessInfo>(); };
        d.user_name = [](uid_t u) { return "u" + std::to_string(u); };
        d.now = [] { return uint64_t{5000}; };
        proc = std::make_unique<EventProcessor>(pc, d);
    }
    // Times one handle(): the event thread's cost.
    template <class R> milliseconds timed(const R& r) {
        auto t0 = Steady::now();
        proc->handle(Record(r));
        return std::chrono::duration_cast<milliseconds>(Steady::now() - t0);
    }
    std::vector<std::string> types() {
        std::vector<std::string> out;
        for (auto& e : sink.all()) out.push_back(e["type"]);
        return out;
    }
    CollectingSink sink;
    std::unique_ptr<EventProcessor> proc;
};

bool eventually(const std::function<bool()>& f, milliseconds t = milliseconds(10000)) {
    auto end = Steady::now() + t;
    while (Steady::now() < end) {
        if (f()) return true;
        std::this_thread::sleep_for(milliseconds(5));
    }
    return f();
}

}  // namespace

TEST(DaemonEnricher, EventThreadNeverWaitsForAStuckInspection) {
    auto gate = std::make_shared<Gate>();
    EnrichConfig ec;
    ec.workers = 1;
    ec.budget_ms = 60000;   // not abandoned during this test
    Fixture f(ec, [gate](pid_t pid) -> std::optional<jvm::JvmProcess> {
        if (pid == 100) gate->pass();   // stuck until released
        if (pid == 5000) {
            jvm::JvmProcess p;
            p.pid = pid;
            p.kind = jvm::Kind::not_jvm;
            return p;
        }
        return a_jvm(pid, 7);
    });
    EXPECT_LT(f.timed(java_exec(100, 7)), milliseconds(1000));
    ASSERT_TRUE(gate->wait_entered(1));
    // While the only worker is stuck: more events, renames, a stats event, all at once.
    for (pid_t p = 101; p < 110; ++p) EXPECT_LT(f.timed(java_exec(p, 7)), milliseconds(1000));
    for (int i = 0; i < 100; ++i) EXPECT_LT(f.timed(rename_of(5000)), milliseconds(1000));
    EXPECT_LT(f.timed(exit_of(109, 7)), milliseconds(1000));
    auto t0 = Steady::now();
    f.proc->stats_event({}, 0, false, 1.0);
    EXPECT_LT(Steady::now() - t0, milliseconds(1000));
    // Only the exited JVM has been reported so far (jvm.start before its jvm.exit).
    EXPECT_EQ(f.types(), (std::vector<std::string>{"jvm.start", "jvm.exit"}));
    gate->release();
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    EXPECT_EQ(f.sink.of_type("jvm.start").size(), 10u);
    for (auto& e : f.sink.of_type("jvm.start")) {
        if (e["jvm"]["pid"] == 109) continue;
        EXPECT_FALSE(e.contains("enrichment")) << e.dump();
        EXPECT_EQ(e["jvm"]["jdk_version"], "17.0.15");
    }
}

TEST(DaemonEnricher, NonJvmRenamesAreAnsweredByTheNegativeCache) {
    std::atomic<int> inspections{0};
    Fixture f(EnrichConfig{}, [&](pid_t pid) -> std::optional<jvm::JvmProcess> {
        ++inspections;
        jvm::JvmProcess p;   // a process that is not a JVM
        p.pid = pid;
        p.start_time_ticks = 42;
        p.kind = jvm::Kind::not_jvm;
        return p;
    });
    for (int i = 0; i < 2000; ++i) f.proc->handle(Record(rename_of(777)));
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    for (int i = 0; i < 2000; ++i) f.proc->handle(Record(rename_of(777)));
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    EXPECT_EQ(inspections.load(), 1);
    EnrichStats st = f.proc->enrichment_stats();
    EXPECT_EQ(st.queued, 1u);
    EXPECT_GE(st.negative_hits, 2000u);
    EXPECT_EQ(st.negative_hits + st.deduplicated, 3999u);
    EXPECT_TRUE(f.sink.of_type("jvm.start").empty());
    auto stats = f.proc->stats_event({}, 0, false, 1.0);
    EXPECT_EQ(stats["enrichment"]["negative_cache_hits"], st.negative_hits);
    // A new program in that process (exec of java) is looked at afresh.
    f.proc->handle(Record(java_exec(777, 42)));
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    EXPECT_EQ(inspections.load(), 2);
    EXPECT_EQ(f.sink.of_type("jvm.start").size(), 1u);
}

TEST(DaemonEnricher, RealJvmFoundByItsVmThreadIsReportedOnce) {
    Fixture f(EnrichConfig{}, [](pid_t pid) -> std::optional<jvm::JvmProcess> { return a_jvm(pid, 9); });
    for (int i = 0; i < 50; ++i) f.proc->handle(Record(rename_of(321)));
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    auto starts = f.sink.of_type("jvm.start");
    ASSERT_EQ(starts.size(), 1u);
    EXPECT_EQ(starts[0]["detected_by"], "vm_thread");
    EXPECT_EQ(starts[0]["jvm"]["jdk_version"], "17.0.15");
}

TEST(DaemonEnricher, FullQueueDropsAreCountedAndTheJvmStillReported) {
    auto gate = std::make_shared<Gate>();
    EnrichConfig ec;
    ec.workers = 1;
    ec.queue_size = 2;
    ec.budget_ms = 60000;
    Fixture f(ec, [gate](pid_t pid) -> std::optional<jvm::JvmProcess> {
        gate->pass();
        return a_jvm(pid, 7);
    });
    f.proc->handle(Record(java_exec(200, 7)));
    ASSERT_TRUE(gate->wait_entered(1));   // the worker holds 200
    for (pid_t p = 201; p < 206; ++p) f.proc->handle(Record(java_exec(p, 7)));
    EnrichStats st = f.proc->enrichment_stats();
    EXPECT_EQ(st.queued, 3u);             // 200 running, 201 and 202 waiting
    EXPECT_EQ(st.dropped, 3u);            // 203..205
    auto starts = f.sink.of_type("jvm.start");
    ASSERT_EQ(starts.size(), 3u);
    for (auto& s : starts) {
        EXPECT_EQ(s["enrichment"]["reason"], "queue_full");
        EXPECT_EQ(s["jvm"]["main"], "Main");   // what the exec record said
    }
    auto stats = f.proc->stats_event({}, 0, false, 1.0);
    EXPECT_EQ(stats["drops"]["enrichment_queue"], 3);
    gate->release();
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    EXPECT_EQ(f.sink.of_type("jvm.start").size(), 6u);
}

TEST(DaemonEnricher, StuckWorkerIsAbandonedReplacedAndItsLateResultDiscarded) {
    auto gate = std::make_shared<Gate>();
    EnrichConfig ec;
    ec.workers = 1;
    ec.budget_ms = 100;
    ec.max_abandoned = 1;
    Fixture f(ec, [gate](pid_t pid) -> std::optional<jvm::JvmProcess> {
        if (pid == 300) gate->pass();
        return a_jvm(pid, 7);
    });
    f.proc->handle(Record(java_exec(300, 7)));
    ASSERT_TRUE(gate->wait_entered(1));
    f.proc->handle(Record(java_exec(301, 7)));   // waits behind the stuck one
    ASSERT_TRUE(eventually([&] { return f.sink.of_type("jvm.start").size() == 2; }));
    auto starts = f.sink.of_type("jvm.start");
    EXPECT_EQ(starts[0]["jvm"]["pid"], 300);
    EXPECT_EQ(starts[0]["enrichment"]["reason"], "timeout");
    EXPECT_EQ(starts[0]["jvm"]["exe"], "/usr/lib/jvm/x/bin/java");
    EXPECT_EQ(starts[1]["jvm"]["pid"], 301);
    EXPECT_FALSE(starts[1].contains("enrichment"));   // the replacement worker did it
    EnrichStats st = f.proc->enrichment_stats();
    EXPECT_EQ(st.abandoned_workers, 1u);
    EXPECT_EQ(st.timed_out, 1u);
    EXPECT_EQ(st.workers, 1u);
    gate->release();
    ASSERT_TRUE(eventually([&] { return f.proc->enrichment_stats().late_results_discarded == 1; }));
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    EXPECT_EQ(f.sink.of_type("jvm.start").size(), 2u) << "a late result reports nothing";
}

TEST(DaemonEnricher, StopReturnsPromptlyWhileAWorkerIsStuck) {
    auto gate = std::make_shared<Gate>();
    EnrichConfig ec;
    ec.budget_ms = 600000;
    Fixture f(ec, [gate](pid_t pid) -> std::optional<jvm::JvmProcess> {
        gate->pass();
        return a_jvm(pid, 7);
    });
    f.proc->handle(Record(java_exec(400, 7)));
    ASSERT_TRUE(gate->wait_entered(1));
    auto t0 = Steady::now();
    f.proc->stop_enrichment(milliseconds(200));
    f.proc->finish(6000);
    EXPECT_LT(Steady::now() - t0, milliseconds(1500));
    auto starts = f.sink.of_type("jvm.start");
    ASSERT_EQ(starts.size(), 1u);
    EXPECT_EQ(starts[0]["enrichment"]["reason"], "stopping");
    gate->release();   // the left-behind worker returns into a stopped pool: nothing happens
    f.proc.reset();
    EXPECT_EQ(f.sink.of_type("jvm.start").size(), 1u);
}

TEST(DaemonEnricher, JvmStartPrecedesExitWhenEnrichmentIsSlow) {
    auto gate = std::make_shared<Gate>();
    EnrichConfig ec;
    ec.budget_ms = 60000;
    Fixture f(ec, [gate](pid_t pid) -> std::optional<jvm::JvmProcess> {
        gate->pass();
        return a_jvm(pid, 7);
    });
    f.proc->handle(Record(java_exec(500, 7)));
    ASSERT_TRUE(gate->wait_entered(1));
    f.proc->handle(Record(exit_of(500, 7)));
    EXPECT_EQ(f.types(), (std::vector<std::string>{"jvm.start", "jvm.exit"}));
    auto start = f.sink.of_type("jvm.start")[0];
    EXPECT_EQ(start["enrichment"]["reason"], "exited");
    EXPECT_EQ(start["jvm"]["pid"], 500);
    EXPECT_EQ(start["jvm"]["cmdline"], (nlohmann::json{"java", "Main"}));
    gate->release();
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    EXPECT_EQ(f.types(), (std::vector<std::string>{"jvm.start", "jvm.exit"})) << "nothing after the exit";
}

TEST(DaemonEnricher, AttachRecordWaitsForTheAttachersIdentity) {
    auto gate = std::make_shared<Gate>();
    EnrichConfig ec;
    ec.budget_ms = 60000;
    Fixture f(
        ec, [](pid_t pid) -> std::optional<jvm::JvmProcess> { return a_jvm(pid, 7); },
        [gate](pid_t pid) -> std::optional<ProcessInfo> {
            if (pid != 600) return std::nullopt;
            gate->pass();
            ProcessInfo p;
            p.pid = 600;
            p.ppid = 1;
            p.start_ticks = 99;
            p.exe = "/usr/bin/jattach";
            p.cmdline = {"jattach", "500", "properties"};
            p.source = ProcessInfo::Source::proc;
            return p;
        });
    f.proc->handle(Record(java_exec(500, 7)));
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    ConnectRecord c;
    c.who.pid = 600;
    c.who.ppid = 1;
    c.who.comm = "jattach";
    c.who.ts_ns = 3000;
    c.target_nspid = 500;
    c.fd = 3;
    c.path = "/proc/500/root/tmp/.java_pid500";
    f.proc->handle(Record(c));
    ASSERT_TRUE(gate->wait_entered(1));
    // The attacher exits: the record is due, but its identity is still being read.
    f.proc->handle(Record(exit_of(600, 0, 3500)));
    EXPECT_TRUE(f.sink.of_type("attach").empty());
    gate->release();
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    auto attaches = f.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    EXPECT_EQ(attaches[0]["attacher"]["exe"], "/usr/bin/jattach");
    EXPECT_EQ(attaches[0]["attacher"]["identity_from"], "proc");
    EXPECT_EQ(attaches[0]["target"]["pid"], 500);
    EXPECT_EQ(attaches[0]["finalized_by"], "exit");
}

TEST(DaemonEnricher, SigquitToAProcessFoundNotAJvmIsNoRecord) {
    Fixture f(EnrichConfig{}, [](pid_t pid) -> std::optional<jvm::JvmProcess> {
        jvm::JvmProcess p;
        p.pid = pid;
        p.kind = jvm::Kind::not_jvm;
        return p;
    });
    SigquitRecord s;
    s.who.pid = 700;
    s.who.comm = "kill";
    s.target_pid = 701;
    f.proc->handle(Record(s));
    ASSERT_TRUE(f.proc->wait_enrichment_idle());
    f.proc->tick(10'000'000'000ull);
    EXPECT_TRUE(f.sink.of_type("thread_dump_request").empty());
    EXPECT_EQ(f.proc->stats_event({}, 0, false, 1.0)["userspace"]["sigquit_not_jvm"], 1);
}

TEST(DaemonEnricher, DuplicateJobsAreOneAndStatsCountThem) {
    auto gate = std::make_shared<Gate>();
    std::atomic<int> calls{0};
    std::vector<EnrichResult> got;
    std::mutex got_mu;
    EnrichConfig ec;
    ec.workers = 1;
    Enricher e(ec,
               [gate, &calls](const EnrichJob& j) {
                   ++calls;
                   gate->pass();
                   EnrichResult r;
                   r.job = j;
                   r.status = EnrichResult::Status::ok;
                   return r;
               },
               [&](EnrichResult r) {
                   std::lock_guard<std::mutex> g(got_mu);
                   got.push_back(std::move(r));
               });
    e.start();
    EnrichJob j;
    j.pid = 1;
    j.start_ticks = 5;
    EXPECT_EQ(e.request(j), Enricher::Submit::queued);
    EXPECT_EQ(e.request(j), Enricher::Submit::duplicate);
    EXPECT_TRUE(e.pending(1));
    j.start_ticks = 6;   // another process with that pid is another job
    EXPECT_EQ(e.request(j), Enricher::Submit::queued);
    gate->release();
    ASSERT_TRUE(e.wait_idle(milliseconds(5000)));
    EXPECT_FALSE(e.pending(1));
    EXPECT_EQ(calls.load(), 2);
    EXPECT_EQ(e.stats().deduplicated, 1u);
    EXPECT_EQ(e.stats().done, 2u);
    e.stop();
    EXPECT_EQ(e.request(j), Enricher::Submit::stopped);
    EXPECT_EQ(got.size(), 2u);
}

TEST(DaemonEnricher, StartupScanGoesThroughTheWorkersAndSurvivesAStuckProcess) {
    auto gate = std::make_shared<Gate>();
    EnrichConfig ec;
    ec.workers = 1;
    ec.queue_size = 2;      // the scanner waits for room, it does not drop
    ec.budget_ms = 100;
    Fixture f(ec, [gate](pid_t pid) -> std::optional<jvm::JvmProcess> {
        if (pid == 903) gate->pass();   // a process whose files hang
        if (pid == 900 || pid == 905) return a_jvm(pid, 7);
        jvm::JvmProcess p;
        p.pid = pid;
        p.kind = jvm::Kind::not_jvm;
        return p;
    });
    auto t0 = Steady::now();
    size_t found = f.proc->scan_running({900, 901, 902, 903, 904, 905}, milliseconds(20000));
    EXPECT_LT(Steady::now() - t0, milliseconds(10000));
    EXPECT_EQ(found, 2u);
    auto starts = f.sink.of_type("jvm.start");
    ASSERT_EQ(starts.size(), 2u);
    for (auto& s : starts) {
        EXPECT_EQ(s["detected_by"], "scan");
        EXPECT_EQ(s["existing"], true);
        EXPECT_FALSE(s.contains("enrichment"));
    }
    EXPECT_EQ(f.proc->enrichment_stats().abandoned_workers, 1u);
    gate->release();
}
