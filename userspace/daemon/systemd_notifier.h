// What the daemon tells its service manager (sd_notify): READY, STATUS lines, RELOADING,
// STOPPING, and WATCHDOG pings sent only while the event path is alive.  Outside systemd
// (no NOTIFY_SOCKET) every call is a no-op.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace jvmwatch::daemon {

class SystemdNotifier {
public:
    using Clock = std::chrono::steady_clock;
    // Sends one notification ("READY=1", ...); the default is sd_notify(0, ...).
    using Send = std::function<void(const std::string&)>;

    // Reads the watchdog interval the manager asked for (WATCHDOG_USEC; 0: none).
    SystemdNotifier();
    // For tests: a given sender and watchdog interval.
    SystemdNotifier(Send send, std::chrono::microseconds watchdog);

    void ready(const std::string& status);
    void status(const std::string& status);
    void reloading();
    void reloaded(const std::string& status);
    void stopping(const std::string& status);

    // Called from the daemon's main loop with a counter the event thread advances on
    // every pass (Observer::heartbeat()).  Pings at half the watchdog interval, and only
    // if the counter moved since the last ping: a stuck event thread stops the pings and
    // the manager restarts the service.
    void tick(uint64_t heartbeat, Clock::time_point now);

    std::chrono::microseconds watchdog_interval() const { return watchdog_; }
    uint64_t pings() const { return pings_; }
    uint64_t missed() const { return missed_; }   // ticks due but held back (no progress)

private:
    Send send_;
    std::chrono::microseconds watchdog_{0};
    Clock::time_point next_ping_{};
    uint64_t last_heartbeat_ = 0;
    bool have_heartbeat_ = false;
    uint64_t pings_ = 0;
    uint64_t missed_ = 0;
};

}  // namespace jvmwatch::daemon
