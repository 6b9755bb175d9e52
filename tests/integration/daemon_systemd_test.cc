// The systemd contract, through a NOTIFY_SOCKET the test listens on: READY=1 with a
// STATUS= line, WATCHDOG=1 pings while the event path runs and none while it is stuck,
// RELOADING=1/READY=1 around a SIGHUP, STOPPING=1; and the unit file passes
// `systemd-analyze verify`.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"

namespace jvmwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The manager's end: a datagram socket that collects notifications.
class NotifySocket {
public:
    explicit NotifySocket(const std::string& path) : path_(path) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a {};
        a.sun_family = AF_UNIX;
        snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        ok_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~NotifySocket() {
        if (fd_ >= 0) close(fd_);
        unlink(path_.c_str());
    }
    bool ok() const { return ok_; }
    // The next message, or nullopt after `timeout`.
    std::optional<std::string> next(std::chrono::milliseconds timeout) {
        struct pollfd p {fd_, POLLIN, 0};
        if (poll(&p, 1, int(timeout.count())) <= 0) return std::nullopt;
        char buf[4096];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        return std::string(buf, size_t(n));
    }
    // Waits for a message containing `needle`; returns it.
    std::optional<std::string> wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
        auto end = Clock::now() + timeout;
        while (Clock::now() < end) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
            auto m = next(std::max(left, 1ms));
            if (m && m->find(needle) != std::string::npos) return m;
        }
        return std::nullopt;
    }
    // Counts messages equal to `msg` arriving within `window`.
    int count(const std::string& msg, std::chrono::milliseconds window) {
        int n = 0;
        auto end = Clock::now() + window;
        while (Clock::now() < end) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
            auto m = next(std::max(left, 1ms));
            if (m && *m == msg) ++n;
        }
        return n;
    }

private:
    std::string path_;
    int fd_ = -1;
    bool ok_ = false;
};

// The daemon's thread named `name` (its tid), or 0.
pid_t thread_named(pid_t pid, const std::string& name) {
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        std::ifstream in(e.path() / "comm");
        std::string comm;
        std::getline(in, comm);
        if (comm == name) return pid_t(std::stoi(e.path().filename().string()));
    }
    return 0;
}

TEST(DaemonSystemd, ReadyStatusReloadStoppingAndWatchdogOnlyWhileTheEventPathRuns) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-notify");
    NotifySocket manager(dir.file("notify"));
    ASSERT_TRUE(manager.ok());
    Jvmwatchd d({"--stats-interval", "1"},
                {"NOTIFY_SOCKET=" + dir.file("notify"), "WATCHDOG_USEC=1000000"});
    auto ready = manager.wait_for("READY=1", 60s);
    ASSERT_TRUE(ready) << d.output();
    EXPECT_NE(ready->find("STATUS=watching "), std::string::npos) << *ready;
    ASSERT_TRUE(d.wait_ready());
    // Pings every 0.5 s while the event path runs; STATUS lines with the stats.
    EXPECT_GE(manager.count("WATCHDOG=1", 2500ms), 3);
    auto status = manager.wait_for("STATUS=watching", 5s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(std::regex_search(*status, std::regex(R"(STATUS=watching \d+ JVM\(s\); \d+ attach record\(s\); \d+ event\(s\) lost)")))
        << *status;

    // Stop only the event thread (a ptrace stop is per thread): the pings stop, the
    // rest of the daemon keeps running; released, they resume.
    pid_t tid = thread_named(d.pid(), "jw-events");
    ASSERT_GT(tid, 0);
    ASSERT_EQ(ptrace(PTRACE_SEIZE, tid, nullptr, nullptr), 0) << strerror(errno);
    ASSERT_EQ(ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr), 0) << strerror(errno);
    int st = 0;
    ASSERT_EQ(waitpid(tid, &st, __WALL), tid);
    ASSERT_TRUE(WIFSTOPPED(st));
    manager.count("WATCHDOG=1", 700ms);  // one may have been due already
    EXPECT_EQ(manager.count("WATCHDOG=1", 2500ms), 0) << "pinged while the event thread was stopped";
    ASSERT_EQ(ptrace(PTRACE_DETACH, tid, nullptr, nullptr), 0) << strerror(errno);
    EXPECT_GE(manager.count("WATCHDOG=1", 2500ms), 2) << "no pings after the event thread resumed";

    ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
    EXPECT_TRUE(manager.wait_for("RELOADING=1", 10s));
    EXPECT_TRUE(manager.wait_for("READY=1", 10s));
    ASSERT_EQ(kill(d.pid(), SIGTERM), 0);
    EXPECT_TRUE(manager.wait_for("STOPPING=1", 10s));
    auto code = d.stop();
    ASSERT_TRUE(code);
    EXPECT_TRUE(WIFEXITED(*code) && WEXITSTATUS(*code) == 0) << d.output();
}

TEST(DaemonSystemd, UnitFilePassesSystemdAnalyzeVerify) {
    JW_REQUIRE_ROOT();
    ASSERT_EQ(access("/usr/bin/systemd-analyze", X_OK), 0)
        << "systemd-analyze is missing (make deps installs systemd)";
    // The unit names /usr/local/sbin/jvmwatchd; verify checks that the command exists,
    // so point a copy at the built binary.
    TempDir dir("jw-unit");
    std::ifstream in(source_dir() + "/packaging/jvmwatchd.service");
    std::stringstream unit;
    unit << in.rdbuf();
    std::string text = std::regex_replace(unit.str(), std::regex("/usr/local/sbin/jvmwatchd"),
                                          bin_path("jvmwatchd"));
    std::string path = dir.file("jvmwatchd.service");
    std::ofstream(path) << text;
    Child::Spec s;
    s.argv = {"/usr/bin/systemd-analyze", "verify", "--man=no", path};
    Child v(s);
    auto code = v.wait_exit(60s);
    ASSERT_TRUE(code);
    EXPECT_TRUE(WIFEXITED(*code) && WEXITSTATUS(*code) == 0) << v.output();
    EXPECT_EQ(v.output().find("jvmwatchd.service:"), std::string::npos)
        << "warnings about the unit:\n" << v.output();
}

}  // namespace
}  // namespace jvmwatch::test
