#include "userspace/inject/timed_queue.h"

#include <algorithm>

namespace jvmwatch::inject {

TimedQueue::TimedQueue(size_t threads, size_t capacity) : capacity_(capacity) {
    for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) threads_.emplace_back([this] { work(); });
}

TimedQueue::~TimedQueue() { stop(); }

bool TimedQueue::post(Job job, Clock::time_point due) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ || items_.size() >= capacity_) return false;
        items_.push(Item{due, seq_++, std::move(job)});
    }
    cv_.notify_one();
    return true;
}

void TimedQueue::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ && threads_.empty()) return;
        stopping_ = true;
        while (!items_.empty()) items_.pop();
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

size_t TimedQueue::pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
}

size_t TimedQueue::running() const {
    std::lock_guard<std::mutex> lock(mu_);
    return running_;
}

void TimedQueue::work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (stopping_) return;
        if (items_.empty()) { cv_.wait(lock); continue; }
        auto due = items_.top().due;
        if (due > Clock::now()) { cv_.wait_until(lock, due); continue; }
        Job job = std::move(const_cast<Item&>(items_.top()).job);
        items_.pop();
        ++running_;
        lock.unlock();
        job();
        lock.lock();
        --running_;
    }
}

void RateLimiter::set_rate(double rate) {
    std::lock_guard<std::mutex> lock(mu_);
    rate_ = rate > 0 ? rate : 1;
    burst_ = std::max(1.0, rate_);
    tokens_ = std::min(tokens_, burst_);
}

RateLimiter::Clock::time_point RateLimiter::acquire(Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_ == Clock::time_point{}) { last_ = now; tokens_ = burst_; }
    double dt = std::chrono::duration<double>(now - last_).count();
    if (dt > 0) { tokens_ = std::min(burst_, tokens_ + dt * rate_); last_ = now; }
    if (tokens_ >= 1) { tokens_ -= 1; return now; }
    auto wait = std::chrono::duration<double>((1 - tokens_) / rate_);
    return now + std::chrono::duration_cast<Clock::duration>(wait);
}

}  // namespace jvmwatch::inject
