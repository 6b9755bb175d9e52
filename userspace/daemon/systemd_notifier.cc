#include "userspace/daemon/systemd_notifier.h"

#include <systemd/sd-daemon.h>

namespace jvmwatch::daemon {

namespace {
std::chrono::microseconds watchdog_from_env() {
    uint64_t usec = 0;
    // > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is us).
    if (sd_watchdog_enabled(0, &usec) > 0) return std::chrono::microseconds(usec);
    return std::chrono::microseconds(0);
}

// STATUS= is one line: a newline would end the assignment early.
std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}
}  // namespace

SystemdNotifier::SystemdNotifier()
    : SystemdNotifier([](const std::string& m) { sd_notify(0, m.c_str()); }, watchdog_from_env()) {}

SystemdNotifier::SystemdNotifier(Send send, std::chrono::microseconds watchdog)
    : send_(std::move(send)), watchdog_(watchdog) {}

void SystemdNotifier::ready(const std::string& status) {
    send_("READY=1\nSTATUS=" + one_line(status));
}

void SystemdNotifier::status(const std::string& status) { send_("STATUS=" + one_line(status)); }

void SystemdNotifier::reloading() { send_("RELOADING=1\nSTATUS=reloading the configuration"); }

void SystemdNotifier::reloaded(const std::string& status) {
    send_("READY=1\nSTATUS=" + one_line(status));
}

void SystemdNotifier::stopping(const std::string& status) {
    send_("STOPPING=1\nSTATUS=" + one_line(status));
}

void SystemdNotifier::tick(uint64_t heartbeat, Clock::time_point now) {
    if (watchdog_.count() <= 0) return;
    if (!have_heartbeat_) {
        // The first tick only takes the reference: progress is measured from here.
        have_heartbeat_ = true;
        last_heartbeat_ = heartbeat;
        next_ping_ = now;
    }
    if (now < next_ping_) return;
    if (heartbeat == last_heartbeat_ && pings_ > 0) {
        ++missed_;
        return;
    }
    last_heartbeat_ = heartbeat;
    send_("WATCHDOG=1");
    ++pings_;
    next_ping_ = now + std::chrono::duration_cast<Clock::duration>(watchdog_) / 2;
}

}  // namespace jvmwatch::daemon
