// A bounded queue of jobs, each due at a time, run by a fixed set of worker threads.
// post() never blocks: when the queue is full it returns false and the caller counts
// the drop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace jvmwatch::inject {

class TimedQueue {
public:
    using Clock = std::chrono::steady_clock;
    using Job = std::function<void()>;

    TimedQueue(size_t threads, size_t capacity);
    ~TimedQueue();  // stop()
    TimedQueue(const TimedQueue&) = delete;
    TimedQueue& operator=(const TimedQueue&) = delete;

    bool post(Job job, Clock::time_point due = Clock::now());
    // Discards jobs not yet started, waits for running ones, joins.  Idempotent.
    void stop();
    size_t pending() const;
    size_t running() const;

private:
    void work();
    struct Item {
        Clock::time_point due;
        uint64_t seq;   // FIFO among equal due times
        Job job;
        bool operator>(const Item& o) const { return due != o.due ? due > o.due : seq > o.seq; }
    };
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> items_;
    size_t capacity_;
    uint64_t seq_ = 0;
    size_t running_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// Token bucket: `rate` tokens per second, bursts up to max(1, rate).
class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;
    explicit RateLimiter(double rate) { set_rate(rate); }
    void set_rate(double rate);
    // Takes a token and returns now, or returns the time the next token is due (taking
    // nothing).
    Clock::time_point acquire(Clock::time_point now = Clock::now());

private:
    std::mutex mu_;
    double rate_ = 1, burst_ = 1, tokens_ = 1;
    Clock::time_point last_{};
};

}  // namespace jvmwatch::inject
