#include "userspace/audit/async_event_sink.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "userspace/audit/json_line.h"
#include "userspace/audit/text_line.h"
#include "userspace/audit/wall_clock.h"

namespace jvmwatch::audit {

namespace {
constexpr size_t kControlReserve = 64;

bool is_control(const nlohmann::json& ev) {
    auto it = ev.find("type");
    if (it == ev.end() || !it->is_string()) return false;
    const auto& t = it->get_ref<const std::string&>();
    return t == "stats" || t.rfind("daemon.", 0) == 0;
}

std::string local_host() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}
}  // namespace

AsyncEventSink::AsyncEventSink(SinkOptions opts)
    : opts_(std::move(opts)), host_(opts_.host.empty() ? local_host() : opts_.host),
      file_(opts_.file) {}

AsyncEventSink::~AsyncEventSink() { stop(); }

bool AsyncEventSink::start(std::string* error) {
    if (!file_.open(error)) return false;
    started_ = true;
    writer_ = std::thread([this] { run(); });
    return true;
}

void AsyncEventSink::emit(nlohmann::json event) {
    bool control = is_control(event);
    std::lock_guard<std::mutex> g(mu_);
    ++seq_;
    size_t cap = opts_.queue_capacity + (control ? kControlReserve : 0);
    if (stopping_ || queue_.size() >= cap) {
        ++dropped_;
        return;
    }
    event["v"] = kSchemaVersion;
    event["seq"] = seq_;
    event["time"] = format_rfc3339_ns(realtime_now_ns());
    event["host"] = host_;
    queue_.push_back(std::move(event));
    cv_.notify_one();
}

void AsyncEventSink::run() {
    using clock = std::chrono::steady_clock;
    unsigned unsynced = 0;
    clock::time_point first_unsynced{};
    // Formatting happens here, off the producers' path, like the JSON serialisation.
    const bool text = opts_.stdout_format == OutputFormat::text && file_.is_stdout();
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        auto interval = std::chrono::milliseconds(opts_.fsync_interval_ms ? opts_.fsync_interval_ms : 1000);
        if (queue_.empty() && !stopping_) {
            if (unsynced) cv_.wait_until(lk, first_unsynced + interval);
            else cv_.wait(lk);
        }
        std::deque<nlohmann::json> batch;
        batch.swap(queue_);
        bool stop = stopping_ && batch.empty();
        in_flight_ = batch.size();
        lk.unlock();

        std::string out;
        for (auto& ev : batch) {
            if (opts_.tap) opts_.tap->on_event(ev);
            out += text ? to_text_line(ev) : to_json_line(ev);
            out += '\n';
        }
        std::string err;
        bool ok = out.empty() || file_.write(out, &err);
        // Say it on the 1st, 2nd, 4th, 8th, ... failure: a full disk must not flood stderr.
        if (!ok && ((write_errors_ + 1) & write_errors_) == 0)
            std::fprintf(stderr, "jvmwatchd: %s (failure %llu; events of the batch lost)\n", err.c_str(),
                         static_cast<unsigned long long>(write_errors_ + 1));
        if (!batch.empty()) {
            if (!unsynced) first_unsynced = clock::now();
            unsynced += static_cast<unsigned>(batch.size());
        }
        bool due = unsynced && ((opts_.fsync_every_events && unsynced >= opts_.fsync_every_events) ||
                                clock::now() >= first_unsynced + interval || stop);
        if (opts_.batch_tap) opts_.batch_tap(batch);
        if (due) {
            if (!file_.sync(&err)) std::fprintf(stderr, "jvmwatchd: %s\n", err.c_str());
            unsynced = 0;
        }

        lk.lock();
        if (ok) written_ += batch.size();
        else { ++write_errors_; write_lost_ += batch.size(); }
        rotations_ = file_.rotations();
        in_flight_ = 0;
        if (queue_.empty()) drained_.notify_all();
        if (stop) return;
    }
}

void AsyncEventSink::flush() {
    std::unique_lock<std::mutex> lk(mu_);
    if (!started_) return;
    drained_.wait(lk, [&] { return (queue_.empty() && in_flight_ == 0) || !writer_.joinable(); });
}

void AsyncEventSink::stop() {
    {
        std::lock_guard<std::mutex> g(mu_);
        if (!started_) return;
        stopping_ = true;
        cv_.notify_one();
    }
    if (writer_.joinable()) writer_.join();
    std::lock_guard<std::mutex> g(mu_);
    started_ = false;
    drained_.notify_all();
}

uint64_t AsyncEventSink::emitted() const { std::lock_guard<std::mutex> g(mu_); return seq_; }
uint64_t AsyncEventSink::dropped() const { std::lock_guard<std::mutex> g(mu_); return dropped_; }
uint64_t AsyncEventSink::written() const { std::lock_guard<std::mutex> g(mu_); return written_; }
uint64_t AsyncEventSink::write_errors() const { std::lock_guard<std::mutex> g(mu_); return write_errors_; }
uint64_t AsyncEventSink::write_lost() const { std::lock_guard<std::mutex> g(mu_); return write_lost_; }
uint64_t AsyncEventSink::rotations() const { std::lock_guard<std::mutex> g(mu_); return rotations_; }
size_t AsyncEventSink::queued() const { std::lock_guard<std::mutex> g(mu_); return queue_.size(); }

}  // namespace jvmwatch::audit
