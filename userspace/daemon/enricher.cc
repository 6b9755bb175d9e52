#include "userspace/daemon/enricher.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "userspace/daemon/lru_map.h"

namespace jvmwatch::daemon {

const char* to_string(EnrichResult::Status s) {
    switch (s) {
    case EnrichResult::Status::ok: return "ok";
    case EnrichResult::Status::not_jvm: return "not_jvm";
    case EnrichResult::Status::gone: return "gone";
    case EnrichResult::Status::failed: return "failed";
    case EnrichResult::Status::timed_out: return "timeout";
    }
    return "?";
}

namespace {
using Clock = std::chrono::steady_clock;
using Key = std::tuple<pid_t, uint64_t, bool, std::string>;
Key key_of(const EnrichJob& j) { return {j.pid, j.start_ticks, j.want_jvm, j.agent_path}; }
}  // namespace

// Everything the threads share.  Held by shared_ptr from each thread, so an abandoned
// worker that returns after the Enricher is gone still finds valid memory (and, seeing
// `stopping` or its own `abandoned`, leaves without delivering).
struct Enricher::State {
    EnrichConfig cfg;
    Work work;
    Deliver deliver;

    struct Queued {
        EnrichJob job;
        Clock::time_point since;
    };
    struct Slot {
        std::thread th;
        bool busy = false, abandoned = false, exited = false;
        EnrichJob job;
        Clock::time_point started;
    };
    struct Negative {
        uint64_t start_ticks = 0;
        Clock::time_point checked;
    };

    mutable std::mutex mu;
    std::condition_variable job_cv;    // workers wait for jobs
    std::condition_variable watch_cv;  // the watchdog's sleep
    std::condition_variable done_cv;   // idle / exit / delivery waits
    std::deque<Queued> queue;
    std::map<Key, unsigned> inflight;  // queued or running
    std::unordered_map<pid_t, unsigned> pending_pids;
    LruMap<pid_t, Negative> negative{1};
    std::list<std::shared_ptr<Slot>> slots;
    std::thread watchdog;
    bool started = false, stopping = false, stopped = false;
    unsigned in_delivery = 0;
    unsigned replacements = 0;
    EnrichStats st;

    std::chrono::milliseconds budget() const {
        return std::chrono::milliseconds(cfg.budget_ms ? cfg.budget_ms : 1);
    }
    void finish_job(const EnrichJob& j) {
        auto it = inflight.find(key_of(j));
        if (it != inflight.end() && --it->second == 0) inflight.erase(it);
        auto p = pending_pids.find(j.pid);
        if (p != pending_pids.end() && --p->second == 0) pending_pids.erase(p);
    }
    void account(const EnrichResult& r) {
        using S = EnrichResult::Status;
        if (r.status == S::timed_out) {
            ++st.timed_out;
            return;
        }
        ++st.done;
        if (r.status == S::failed || r.status == S::gone) ++st.failed;
        if (r.status == S::not_jvm && r.job.want_jvm) {
            uint64_t start = r.jvm && r.jvm->start_time_ticks ? r.jvm->start_time_ticks
                           : r.process && r.process->start_ticks ? r.process->start_ticks
                           : r.job.start_ticks;
            negative.put(r.job.pid, Negative{start, Clock::now()});
        }
    }
    bool not_jvm_locked(pid_t pid, uint64_t start) const {
        const Negative* n = negative.peek(pid);
        if (!n) return false;
        if (start) return n->start_ticks == start;
        return Clock::now() - n->checked < std::chrono::milliseconds(cfg.negative_recheck_ms);
    }
    // Delivers outside the lock; `lk` is held on entry and on return.
    void deliver_all(std::unique_lock<std::mutex>& lk, std::vector<EnrichResult>& rs) {
        if (rs.empty() || stopping) return;
        in_delivery += static_cast<unsigned>(rs.size());
        lk.unlock();
        for (auto& r : rs) {
            try {
                deliver(std::move(r));
            } catch (...) {
            }
        }
        lk.lock();
        in_delivery -= static_cast<unsigned>(rs.size());
        done_cv.notify_all();
    }
};

namespace {

void worker_main(std::shared_ptr<Enricher::State> s, std::shared_ptr<Enricher::State::Slot> slot);

void spawn_worker(const std::shared_ptr<Enricher::State>& s) {
    auto slot = std::make_shared<Enricher::State::Slot>();
    slot->th = std::thread(worker_main, s, slot);
    s->slots.push_back(slot);
}

void worker_main(std::shared_ptr<Enricher::State> s, std::shared_ptr<Enricher::State::Slot> slot) {
    std::unique_lock<std::mutex> lk(s->mu);
    for (;;) {
        s->job_cv.wait(lk, [&] { return s->stopping || slot->abandoned || !s->queue.empty(); });
        if (s->stopping || slot->abandoned) break;
        EnrichJob job = std::move(s->queue.front().job);
        s->queue.pop_front();
        slot->busy = true;
        slot->job = job;
        slot->started = Clock::now();
        lk.unlock();
        EnrichResult r;
        try {
            r = s->work(job);
        } catch (const std::exception& e) {
            r.status = EnrichResult::Status::failed;
            r.why = e.what();
        } catch (...) {
            r.status = EnrichResult::Status::failed;
            r.why = "exception";
        }
        r.job = job;
        lk.lock();
        if (slot->abandoned) {
            // The watchdog reported this job as timed out and replaced us.
            ++s->st.late_results_discarded;
            break;
        }
        slot->busy = false;
        s->finish_job(job);
        s->account(r);
        std::vector<EnrichResult> one;
        one.push_back(std::move(r));
        s->deliver_all(lk, one);
        s->done_cv.notify_all();
    }
    slot->exited = true;
    s->done_cv.notify_all();
}

void watchdog_main(std::shared_ptr<Enricher::State> s) {
    std::unique_lock<std::mutex> lk(s->mu);
    auto period = std::clamp(s->budget() / 4, std::chrono::milliseconds(5),
                             std::chrono::milliseconds(250));
    while (!s->stopping) {
        s->watch_cv.wait_for(lk, period, [&] { return s->stopping; });
        if (s->stopping) break;
        auto now = Clock::now();
        std::vector<EnrichResult> late;
        for (auto it = s->slots.begin(); it != s->slots.end();) {
            auto sl = *it;
            if (!sl->busy || now - sl->started <= s->budget()) {
                ++it;
                continue;
            }
            // Stuck (a read that does not return): leave it; it exits when it comes back.
            sl->abandoned = true;
            sl->th.detach();
            it = s->slots.erase(it);
            ++s->st.abandoned_workers;
            ++s->st.timed_out;
            s->finish_job(sl->job);
            EnrichResult r;
            r.job = sl->job;
            r.status = EnrichResult::Status::timed_out;
            r.why = "budget";
            late.push_back(std::move(r));
            if (s->replacements < s->cfg.max_abandoned) {
                ++s->replacements;
                spawn_worker(s);
            }
        }
        // With every worker stuck and no replacement left, the queue would wait for ever.
        while (!s->queue.empty() && now - s->queue.front().since > 2 * s->budget()) {
            EnrichResult r;
            r.job = std::move(s->queue.front().job);
            s->queue.pop_front();
            s->finish_job(r.job);
            ++s->st.timed_out;
            r.status = EnrichResult::Status::timed_out;
            r.why = "queue_wait";
            late.push_back(std::move(r));
        }
        s->deliver_all(lk, late);
    }
}

}  // namespace

Enricher::Enricher(EnrichConfig cfg, Work work, Deliver deliver) : s_(std::make_shared<State>()) {
    if (cfg.workers == 0) cfg.workers = 1;
    if (cfg.queue_size == 0) cfg.queue_size = 1;
    s_->negative = LruMap<pid_t, State::Negative>(cfg.negative_cache ? cfg.negative_cache : 1);
    s_->cfg = cfg;
    s_->work = std::move(work);
    s_->deliver = std::move(deliver);
}

Enricher::~Enricher() { stop(); }

void Enricher::start() {
    std::lock_guard<std::mutex> g(s_->mu);
    if (s_->started || s_->stopping) return;
    s_->started = true;
    for (unsigned i = 0; i < s_->cfg.workers; ++i) spawn_worker(s_);
    s_->watchdog = std::thread(watchdog_main, s_);
}

Enricher::Submit Enricher::request(const EnrichJob& job) {
    std::lock_guard<std::mutex> g(s_->mu);
    if (s_->stopping) return Submit::stopped;
    if (job.want_jvm && s_->not_jvm_locked(job.pid, job.start_ticks)) {
        ++s_->st.negative_hits;
        return Submit::known_not_jvm;
    }
    Key k = key_of(job);
    if (s_->inflight.count(k)) {
        ++s_->st.deduplicated;
        return Submit::duplicate;
    }
    if (s_->queue.size() >= s_->cfg.queue_size) {
        ++s_->st.dropped;
        return Submit::dropped;
    }
    s_->queue.push_back({job, Clock::now()});
    ++s_->inflight[k];
    ++s_->pending_pids[job.pid];
    ++s_->st.queued;
    s_->job_cv.notify_one();
    return Submit::queued;
}

bool Enricher::pending(pid_t pid) const {
    std::lock_guard<std::mutex> g(s_->mu);
    return s_->pending_pids.count(pid) != 0;
}

bool Enricher::known_not_jvm(pid_t pid, uint64_t start_ticks) const {
    std::lock_guard<std::mutex> g(s_->mu);
    return s_->not_jvm_locked(pid, start_ticks);
}

void Enricher::forget(pid_t pid) {
    std::lock_guard<std::mutex> g(s_->mu);
    s_->negative.erase(pid);
}

void Enricher::stop(std::chrono::milliseconds grace) {
    std::unique_lock<std::mutex> lk(s_->mu);
    if (s_->stopped) return;
    s_->stopping = true;
    s_->job_cv.notify_all();
    s_->watch_cv.notify_all();
    for (auto& q : s_->queue) s_->finish_job(q.job);
    s_->queue.clear();
    auto deadline = Clock::now() + grace;
    // A delivery in progress finishes (it takes the processor's lock only briefly).
    s_->done_cv.wait_until(lk, deadline, [&] { return s_->in_delivery == 0; });
    std::thread watchdog = std::move(s_->watchdog);
    lk.unlock();
    if (watchdog.joinable()) watchdog.join();
    lk.lock();
    s_->done_cv.wait_until(lk, deadline, [&] {
        for (auto& sl : s_->slots)
            if (!sl->exited) return false;
        return true;
    });
    for (auto& sl : s_->slots) {
        if (!sl->th.joinable()) continue;
        if (sl->exited) {
            lk.unlock();
            sl->th.join();
            lk.lock();
        } else {
            sl->th.detach();   // stuck in a read: it leaves when (if) the read returns
        }
    }
    s_->slots.clear();
    s_->stopped = true;
}

bool Enricher::wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(s_->mu);
    return s_->done_cv.wait_for(lk, timeout, [&] {
        if (!s_->queue.empty() || s_->in_delivery) return false;
        for (auto& sl : s_->slots)
            if (sl->busy) return false;
        return true;
    });
}

EnrichStats Enricher::stats() const {
    std::lock_guard<std::mutex> g(s_->mu);
    EnrichStats st = s_->st;
    st.workers = s_->slots.size();
    st.queue = s_->queue.size();
    return st;
}

}  // namespace jvmwatch::daemon
