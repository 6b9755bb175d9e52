#include "userspace/metrics/jvm_census.h"

#include "userspace/metrics/metric_labels.h"

namespace jvmwatch::metrics {

namespace {
// Until the daemon says otherwise (on_jvm_visibility), a JVM is seen from the client side.
constexpr const char* kVisibilityClient = "client";
}  // namespace

JvmCensus::JvmCensus(size_t capacity) : capacity_(capacity ? capacity : 1) {}

void JvmCensus::erase(std::unordered_map<pid_t, Entry>::iterator it) {
    --it->second.count->second;
    order_.erase(it->second.age);
    jvms_.erase(it);
}

void JvmCensus::on_jvm_started(const jvm::JvmProcess& jvm, uint64_t, bool) {
    std::lock_guard<std::mutex> g(mu_);
    if (auto it = jvms_.find(jvm.pid); it != jvms_.end()) erase(it);   // pid reused
    if (jvms_.size() >= capacity_) erase(jvms_.find(order_.front()));
    auto count = counts_.try_emplace({jdk_major_label(jvm.jdk_version), kVisibilityClient}, 0).first;
    ++count->second;
    order_.push_back(jvm.pid);
    jvms_.emplace(jvm.pid, Entry{jvm.start_time_ticks, count, std::prev(order_.end())});
}

void JvmCensus::on_jvm_visibility(pid_t pid, uint64_t start_time_ticks, std::string_view visibility) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = jvms_.find(pid);
    if (it == jvms_.end() || (start_time_ticks && it->second.start_ticks != start_time_ticks)) return;
    // A fixed label set: anything but "jvm" counts as client.
    std::string v = visibility == "jvm" ? "jvm" : kVisibilityClient;
    if (it->second.count->first.second == v) return;
    --it->second.count->second;
    it->second.count = counts_.try_emplace({it->second.count->first.first, v}, 0).first;
    ++it->second.count->second;
}

void JvmCensus::on_jvm_exited(pid_t pid, uint64_t start_time_ticks) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = jvms_.find(pid);
    if (it == jvms_.end()) return;   // exited before it was reported, or evicted
    if (start_time_ticks && it->second.start_ticks && start_time_ticks != it->second.start_ticks)
        return;                      // an older process with this pid
    erase(it);
}

JvmCensus::Counts JvmCensus::snapshot() const {
    std::lock_guard<std::mutex> g(mu_);
    return counts_;
}

size_t JvmCensus::size() const {
    std::lock_guard<std::mutex> g(mu_);
    return jvms_.size();
}

}  // namespace jvmwatch::metrics
