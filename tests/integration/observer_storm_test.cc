// Exec storms: every exec the test makes is either delivered or counted as lost.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/common/support.h"
#include "userspace/observer/observer.h"

extern char** environ;

namespace jvmwatch::test {
namespace {

namespace obs = jvmwatch::observer;

// Runs /bin/true n times from `threads` threads, as fast as possible.  Returns how many
// were spawned and reaped with status 0.
int exec_storm(int n, int threads) {
    std::atomic<int> next{0}, ok{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&] {
            char arg0[] = "/bin/true";
            char* argv[] = {arg0, nullptr};
            while (next.fetch_add(1) < n) {
                pid_t pid;
                if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) continue;
                int st = 0;
                if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) ++ok;
            }
        });
    }
    for (auto& t : ts) t.join();
    return ok.load();
}

struct StormCount {
    std::atomic<uint64_t> execs{0};
};

std::unique_ptr<obs::Observer> start_counting(obs::Options opts, StormCount* count,
                                              std::chrono::microseconds delay, std::string* err) {
    opts.exec_parent_filter = static_cast<uint32_t>(getpid());
    auto o = obs::Observer::create(opts, err);
    if (!o) return nullptr;
    const uint32_t me = static_cast<uint32_t>(getpid());
    bool started = o->start(
        [count, me, delay](const jw_event_hdr* h, size_t size) {
            auto* e = obs::event_cast<jw_exec_event>(h, size);
            if (e && e->hdr.ppid == me && obs::fixed_string(e->filename) == "/bin/true")
                count->execs.fetch_add(1);
            if (delay.count()) std::this_thread::sleep_for(delay);
        },
        err);
    return started ? std::move(o) : nullptr;
}

TEST(ObserverStorm, EveryExecReceivedOrCounted) {
    JW_REQUIRE_ROOT();
    StormCount count;
    std::string err;
    auto o = start_counting({}, &count, std::chrono::microseconds(0), &err);
    ASSERT_TRUE(o) << err;
    constexpr int kExecs = 20000;
    ASSERT_EQ(exec_storm(kExecs, 2), kExecs);
    EXPECT_TRUE(eventually(
        [&] { return count.execs.load() + o->stats().exec_drops >= kExecs; },
        std::chrono::seconds(60)));
    o->stop();   // drains what is left
    auto st = o->stats();
    EXPECT_EQ(count.execs.load() + st.exec_drops, static_cast<uint64_t>(kExecs))
        << "received " << count.execs.load() << ", lost " << st.exec_drops;
    RecordProperty("exec_received", std::to_string(count.execs.load()));
    RecordProperty("exec_dropped", std::to_string(st.exec_drops));
}

// A tiny ring buffer and a slow consumer force losses: they must all be counted.
TEST(ObserverStorm, LossesUnderPressureAreCounted) {
    JW_REQUIRE_ROOT();
    StormCount count;
    std::string err;
    obs::Options opts;
    opts.ringbuf_bytes = 16 * 1024;   // ~18 exec events
    auto o = start_counting(opts, &count, std::chrono::microseconds(5000), &err);   // <= 200 events/s
    ASSERT_TRUE(o) << err;
    constexpr int kExecs = 2000;
    ASSERT_EQ(exec_storm(kExecs, 2), kExecs);
    o->stop();
    auto st = o->stats();
    EXPECT_GT(st.exec_drops, 0u) << "the buffer should have overflowed";
    EXPECT_GE(st.ringbuf_drops, st.exec_drops);
    EXPECT_EQ(count.execs.load() + st.exec_drops, static_cast<uint64_t>(kExecs))
        << "received " << count.execs.load() << ", lost " << st.exec_drops;
}

}  // namespace
}  // namespace jvmwatch::test
