#include "userspace/daemon/systemd_notifier.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jvmwatch::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = SystemdNotifier::Clock;

struct Sent {
    std::vector<std::string> lines;
    SystemdNotifier::Send fn() {
        return [this](const std::string& m) { lines.push_back(m); };
    }
    size_t count(const std::string& m) const {
        size_t n = 0;
        for (const auto& l : lines) n += l == m;
        return n;
    }
};

TEST(SystemdNotifier, PingsAtHalfTheIntervalWhileTheEventPathAdvances) {
    Sent s;
    SystemdNotifier n(s.fn(), 2s);
    Clock::time_point t0{};
    uint64_t beat = 10;
    for (int ms = 0; ms <= 5000; ms += 100) n.tick(beat++, t0 + std::chrono::milliseconds(ms));
    // At 0, 1, 2, 3, 4 and 5 s.
    EXPECT_EQ(s.count("WATCHDOG=1"), 6u);
    EXPECT_EQ(n.missed(), 0u);
}

TEST(SystemdNotifier, AStuckEventPathStopsThePingsAndAResumedOneRestartsThem) {
    Sent s;
    SystemdNotifier n(s.fn(), 2s);
    Clock::time_point t0{};
    n.tick(7, t0);                      // first ping
    ASSERT_EQ(s.count("WATCHDOG=1"), 1u);
    for (int ms = 100; ms <= 10000; ms += 100) n.tick(7, t0 + std::chrono::milliseconds(ms));
    EXPECT_EQ(s.count("WATCHDOG=1"), 1u) << "no progress, no ping";
    EXPECT_GT(n.missed(), 0u);
    n.tick(8, t0 + 10100ms);
    EXPECT_EQ(s.count("WATCHDOG=1"), 2u);
}

TEST(SystemdNotifier, WithoutAWatchdogNothingIsPinged) {
    Sent s;
    SystemdNotifier n(s.fn(), 0us);
    for (int i = 0; i < 100; ++i) n.tick(uint64_t(i), Clock::time_point{} + std::chrono::seconds(i));
    EXPECT_TRUE(s.lines.empty());
}

TEST(SystemdNotifier, StatusIsOneLine) {
    Sent s;
    SystemdNotifier n(s.fn(), 0us);
    n.ready("watching 3 JVM(s)\nSTATUS=forged");
    n.reloading();
    n.reloaded("config x");
    n.stopping("stopping (SIGTERM)");
    ASSERT_EQ(s.lines.size(), 4u);
    EXPECT_EQ(s.lines[0], "READY=1\nSTATUS=watching 3 JVM(s) STATUS=forged");
    EXPECT_EQ(s.lines[1], "RELOADING=1\nSTATUS=reloading the configuration");
    EXPECT_EQ(s.lines[2], "READY=1\nSTATUS=config x");
    EXPECT_EQ(s.lines[3], "STOPPING=1\nSTATUS=stopping (SIGTERM)");
}

}  // namespace
}  // namespace jvmwatch::daemon
