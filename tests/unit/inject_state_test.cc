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

// Lines of the wrong shape (another writer, a disk error, an old format) are skipped and
// counted, never a crash; the good records around them still count.
TEST(InjectState, AStateDirMadeTooClosedIsOpenedForSearch) {
    // systemd's StateDirectoryMode=0700 (or an admin's mkdir) must not hide the agent
    // store from the JVMs' users.
    TempDir d("jw-state");
    std::string dir = d.file("s"), err;
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    auto s = StateStore::open(dir, "/proc", &err);
    ASSERT_TRUE(s) << err;
    struct stat st;
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711u);
}

TEST(InjectState, MalformedLinesAreSkippedAndCounted) {
    TempDir d("jw-state");
    std::string dir = d.file("s"), err;
    {
        auto s = StateStore::open(dir, "/proc", &err);
        ASSERT_TRUE(s) << err;
        ASSERT_TRUE(s->record(self_key(), {AttachState::done, "r", "/a", "/a", 0}, &err));
    }
    std::string boot = *proc::read_file("/proc/sys/kernel/random/boot_id");
    boot = boot.substr(0, boot.find('\n'));
    auto k = self_key();
    std::string pid = std::to_string(k.pid), start = std::to_string(k.start_ticks);
    std::ofstream(dir + "/inject.journal", std::ios::app)
        << "not json at all\n"
        << "[1, 2, 3]\n"
        << "{\"pid\": \"" + pid + "\", \"start\": " + start + ", \"boot\": \"" + boot + "\", \"state\": \"failed\"}\n"
        << "{\"pid\": " + pid + ", \"start\": -4, \"boot\": \"" + boot + "\", \"state\": \"failed\"}\n"
        << "{\"pid\": " + pid + ", \"start\": " + start + ", \"boot\": \"" + boot + "\", \"state\": 3}\n"
        << "{\"pid\": " + pid + ", \"start\": " + start + ", \"boot\": \"" + boot + "\", \"state\": \"failed\", \"rule\": 7}\n"
        << "{\"pid\": 1e99, \"start\": " + start + ", \"boot\": \"" + boot + "\", \"state\": \"failed\"}\n"
        << "{\"session\": 1, \"boot\": \"" + boot + "\"}\n"
        << "{\"boot\": [\"" + boot + "\"], \"state\": \"failed\"}\n";
    auto s = StateStore::open(dir, "/proc", &err);
    ASSERT_TRUE(s) << err;
    EXPECT_EQ(s->skipped_lines(), 9u);
    ASSERT_TRUE(s->get(k));
    EXPECT_EQ(s->get(k)->state, AttachState::done);  // none of the bad lines overrode it
}

// The journal is the daemon's own file: never a link, a FIFO or another user's file.
TEST(InjectState, RefusesAJournalThatIsALinkAFifoOrTooOpen) {
    JW_REQUIRE_ROOT();  // chown to another user
    TempDir d("jw-state");
    std::string dir = d.file("s"), journal = dir + "/inject.journal", err;
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    std::string victim = d.file("victim");
    std::ofstream(victim) << "keep me";
    ASSERT_EQ(symlink(victim.c_str(), journal.c_str()), 0);
    EXPECT_FALSE(StateStore::open(dir, "/proc", &err));
    EXPECT_NE(err.find("symlink"), std::string::npos) << err;
    unlink(journal.c_str());
    ASSERT_EQ(mkfifo(journal.c_str(), 0600), 0);
    EXPECT_FALSE(StateStore::open(dir, "/proc", &err));  // returns: a FIFO's open() never runs
    EXPECT_NE(err.find("is a FIFO"), std::string::npos) << err;
    unlink(journal.c_str());
    std::ofstream(journal) << "";
    chmod(journal.c_str(), 0644);
    EXPECT_FALSE(StateStore::open(dir, "/proc", &err));
    EXPECT_NE(err.find("has mode 0644, must be 0600"), std::string::npos) << err;
    chmod(journal.c_str(), 0600);
    ASSERT_EQ(chown(journal.c_str(), 12345, 12345), 0);
    EXPECT_FALSE(StateStore::open(dir, "/proc", &err));
    EXPECT_NE(err.find("is owned by uid 12345"), std::string::npos) << err;
    unlink(journal.c_str());
    auto s = StateStore::open(dir, "/proc", &err);
    ASSERT_TRUE(s) << err;
    struct stat st;
    ASSERT_EQ(lstat(journal.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    std::ifstream in(victim);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "keep me");
}

TEST(InjectState, RefusesAStateDirThatIsALinkOrNotOurs) {
    JW_REQUIRE_ROOT();  // chown to another user
    TempDir d("jw-state");
    std::string real = d.file("real"), link = d.file("link"), err;
    ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
    ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
    EXPECT_FALSE(StateStore::open(link, "/proc", &err));
    EXPECT_NE(err.find("symlink"), std::string::npos) << err;
    ASSERT_EQ(chown(real.c_str(), 12345, 12345), 0);
    EXPECT_FALSE(StateStore::open(real, "/proc", &err));
    EXPECT_NE(err.find("is owned by uid 12345"), std::string::npos) << err;
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
