// Test harness for the observer's root tests: runs a real Observer and keeps copies of
// the events it delivers so a test can wait for the one it caused.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/common/support.h"
#include "userspace/observer/observer.h"

namespace jvmwatch::test {

namespace obs = jvmwatch::observer;

// One event, copied out of the ring buffer.
struct RecordedEvent {
    std::vector<char> bytes;
    const jw_event_hdr* hdr() const { return reinterpret_cast<const jw_event_hdr*>(bytes.data()); }
    template <class T> const T* as() const { return obs::event_cast<T>(hdr(), bytes.size()); }
    const jw_sock_data_event* data() const { return obs::sock_data_cast(hdr(), bytes.size()); }
};

class EventRecorder {
public:
    static constexpr size_t kMaxEvents = 200000;   // the machine is shared: bound memory

    explicit EventRecorder(const obs::Options& opts = {}) {
        observer_ = obs::Observer::create(opts, &error_);
        if (!observer_) return;
        std::string err;
        if (!observer_->start([this](const jw_event_hdr* h, size_t size) { record(h, size); },
                              &err)) {
            error_ = err;
            observer_.reset();
        }
    }
    ~EventRecorder() {
        if (observer_) observer_->stop();
    }
    EventRecorder(const EventRecorder&) = delete;
    EventRecorder& operator=(const EventRecorder&) = delete;

    bool ok() const { return observer_ != nullptr; }
    const std::string& error() const { return error_; }
    obs::Observer& observer() { return *observer_; }

    std::vector<RecordedEvent> events() const {
        std::lock_guard<std::mutex> lk(mu_);
        return events_;
    }
    // The first event matching `pred`, waiting up to `timeout`.
    std::optional<RecordedEvent> wait_for(const std::function<bool(const RecordedEvent&)>& pred,
                                          std::chrono::milliseconds timeout =
                                              std::chrono::seconds(20)) const {
        std::optional<RecordedEvent> found;
        eventually(
            [&] {
                std::lock_guard<std::mutex> lk(mu_);
                for (const auto& e : events_)
                    if (pred(e)) {
                        found = e;
                        return true;
                    }
                return false;
            },
            timeout);
        return found;
    }
    std::vector<RecordedEvent> matching(const std::function<bool(const RecordedEvent&)>& pred) const {
        std::vector<RecordedEvent> out;
        std::lock_guard<std::mutex> lk(mu_);
        for (const auto& e : events_)
            if (pred(e)) out.push_back(e);
        return out;
    }

private:
    void record(const jw_event_hdr* h, size_t size) {
        std::lock_guard<std::mutex> lk(mu_);
        if (events_.size() >= kMaxEvents) return;
        const char* p = reinterpret_cast<const char*>(h);
        events_.push_back(RecordedEvent{std::vector<char>(p, p + size)});
    }

    std::unique_ptr<obs::Observer> observer_;
    std::string error_;
    mutable std::mutex mu_;
    std::vector<RecordedEvent> events_;
};

// Predicates used by several tests.
inline std::function<bool(const RecordedEvent&)> milestone_of(pid_t pid, uint32_t milestone) {
    return [=](const RecordedEvent& e) {
        auto* t = e.as<jw_thread_name_event>();
        return t && t->hdr.pid == static_cast<uint32_t>(pid) && t->milestone == milestone;
    };
}
inline std::function<bool(const RecordedEvent&)> exit_of(pid_t pid) {
    return [=](const RecordedEvent& e) {
        auto* x = e.as<jw_exit_event>();
        return x && x->hdr.pid == static_cast<uint32_t>(pid);
    };
}

}  // namespace jvmwatch::test
