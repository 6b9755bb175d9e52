#include "userspace/api/api_feed.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace jvmwatch::api {

ApiFeed::ApiFeed(size_t capacity)
    : capacity_(capacity ? capacity : 1), wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

void ApiFeed::offer(const std::deque<nlohmann::json>& batch) {
    if (batch.empty()) return;
    {
        std::lock_guard<std::mutex> g(mu_);
        if (closed_) return;
        for (const auto& ev : batch) {
            if (inbox_.size() >= capacity_) { ++dropped_; continue; }
            inbox_.push_back(ev);
        }
    }
    uint64_t one = 1;
    if (wake_) (void)!::write(wake_.get(), &one, sizeof one);   // EAGAIN: already signalled
}

void ApiFeed::close() {
    std::lock_guard<std::mutex> g(mu_);
    closed_ = true;
    inbox_.clear();
}

std::vector<nlohmann::json> ApiFeed::take() {
    uint64_t n;
    if (wake_) (void)!::read(wake_.get(), &n, sizeof n);
    std::vector<nlohmann::json> out;
    std::lock_guard<std::mutex> g(mu_);
    out.swap(inbox_);
    return out;
}

uint64_t ApiFeed::dropped() const { std::lock_guard<std::mutex> g(mu_); return dropped_; }
size_t ApiFeed::waiting() const { std::lock_guard<std::mutex> g(mu_); return inbox_.size(); }

}  // namespace jvmwatch::api
