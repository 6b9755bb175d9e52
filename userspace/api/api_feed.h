// The one-way hand-off from the audit sink's writer thread to the API thread: the
// writer offers each written batch; at most `capacity` events wait, the rest are
// dropped and counted (the API shows the count), so the API never slows the writer.
// The writer wakes the API through an eventfd (a write to it never blocks).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "attach/safe_fs.h"

namespace jvmwatch::api {

class ApiFeed {
public:
    explicit ApiFeed(size_t capacity = 8192);
    bool ok() const { return static_cast<bool>(wake_); }

    // Writer thread.
    void offer(const std::deque<nlohmann::json>& batch);
    // No API after all: offer() keeps nothing from now on.
    void close();
    // API thread: what waits, in order.
    std::vector<nlohmann::json> take();
    int wake_fd() const { return wake_.get(); }
    uint64_t dropped() const;
    size_t waiting() const;

private:
    size_t capacity_;
    mutable std::mutex mu_;
    std::vector<nlohmann::json> inbox_;
    uint64_t dropped_ = 0;
    bool closed_ = false;
    safefs::UniqueFd wake_;
};

}  // namespace jvmwatch::api
