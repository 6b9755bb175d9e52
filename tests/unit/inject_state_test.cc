// The injector's journal, queue and rate limiter.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include "attach/procfs.h"
#include "tests/common/support.h"
#include "userspace/inject/state_store.h"
#include "userspace/inject/timed_queue.h"

namespace jvmwatch::inject {
namespace {

using test::TempDir;

JvmKey self_key() { return {getpid(), proc::read_stat("/proc", getpid())->start_time_ticks}; }

TEST(InjectState, RecordsSurviveReopenAndDeadJvmsArePruned) {
    TempDir d("jw-state");
    std::string dir = d.file("s"), err;
    {
        auto s = StateStore::open(dir, "/proc", &err);
        ASSERT_TRUE(s) << err;
        ASSERT_TRUE(s->record(self_key(), {AttachState::in_progress, "r", "/a.jar", "/a.jar", 0}, &err));
        ASSERT_TRUE(s->record(self_key(), {AttachState::done, "r", "/a.jar", "/a.jar", 0}, &err));
        ASSERT_TRUE(s->record({999999999, 1}, {AttachState::done, "r", "/a.jar", "/a.jar", 0}, &err));
        EXPECT_EQ(s->live_entries(), 2u);
        // No close_cleanly(): as after kill -9.
    }
    auto s = StateStore::open(dir, "/proc", &err);
    ASSERT_TRUE(s) << err;
    auto e = s->get(self_key());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->state, AttachState::done);
    EXPECT_FALSE(s->get({999999999, 1}));  // no such process any more
    ASSERT_TRUE(s->crashed_since_ticks());  // the previous session never stopped
    s->close_cleanly();
    auto s2 = StateStore::open(dir, "/proc", &err);
    ASSERT_TRUE(s2) << err;
    EXPECT_FALSE(s2->crashed_since_ticks());
    struct stat st;
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0711u);  // searchable: JVMs reach STATE_DIR/agents
}

TEST(InjectState, TornLastLineIsIgnored) {
    TempDir d("jw-state");
    std::string dir = d.file("s"), err;
    {
        auto s = StateStore::open(dir, "/proc", &err);
        ASSERT_TRUE(s->record(self_key(), {AttachState::in_progress, "r", "/a", "/a", 0}, &err));
    }
    std::ofstream(dir + "/inject.journal", std::ios::app) << "{\"pid\": 12, \"sta";
    auto s = StateStore::open(dir, "/proc", &err);
    ASSERT_TRUE(s) << err;
    EXPECT_EQ(s->get(self_key())->state, AttachState::in_progress);
}

TEST(InjectState, RefusesWorldWritableStateDir) {
    TempDir d("jw-state");
    std::string err;
    EXPECT_FALSE(StateStore::open(d.path(), "/proc", &err));  // TempDir is 0777
    EXPECT_NE(err.find("writable by group or others"), std::string::npos) << err;
}

TEST(InjectQueue, RunsJobsInDueOrderAndRejectsWhenFull) {
    TimedQueue q(1, 3);
    std::mutex mu;
    std::vector<int> order;
    auto now = TimedQueue::Clock::now();
    auto add = [&](int v) { return [&, v] { std::lock_guard<std::mutex> l(mu); order.push_back(v); }; };
    ASSERT_TRUE(q.post(add(2), now + std::chrono::milliseconds(80)));
    ASSERT_TRUE(q.post(add(1), now + std::chrono::milliseconds(20)));
    ASSERT_TRUE(q.post(add(3), now + std::chrono::milliseconds(140)));
    EXPECT_FALSE(q.post(add(4), now + std::chrono::seconds(100)));  // full
    ASSERT_TRUE(test::eventually([&] { std::lock_guard<std::mutex> l(mu); return order.size() == 3; }));
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(InjectQueue, RateLimiterBurstThenSpacing) {
    RateLimiter r(2);
    auto t = TimedQueue::Clock::now();
    EXPECT_EQ(r.acquire(t), t);
    EXPECT_EQ(r.acquire(t), t);
    auto next = r.acquire(t);
    EXPECT_GT(next, t);
    EXPECT_NEAR(std::chrono::duration<double>(next - t).count(), 0.5, 0.01);
    auto later = t + std::chrono::milliseconds(500);
    EXPECT_EQ(r.acquire(later), later);
}

}  // namespace
}  // namespace jvmwatch::inject
