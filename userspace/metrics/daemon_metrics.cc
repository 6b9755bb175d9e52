#include "userspace/metrics/daemon_metrics.h"

#include <chrono>

#include "userspace/common/build_info.h"

namespace jvmwatch::metrics {

namespace {

StaticInfo static_info(const daemon::DaemonConfig& cfg) {
    StaticInfo i;
    i.version = std::string(build_version());
    i.commit = std::string(build_commit());
    i.start_time_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    i.ringbuf_bytes = cfg.observer.ringbuf_bytes;
    i.sink_queue_capacity = cfg.audit.queue_capacity;
    i.enrichment_queue_capacity = cfg.enrichment.queue_size;
    i.max_processes = cfg.tables.max_processes;
    i.max_jvms = cfg.tables.max_jvms;
    i.max_open_correlations = cfg.correlation.max_open;
    return i;
}

}  // namespace

DaemonMetrics::DaemonMetrics(const daemon::DaemonConfig& cfg)
    : listen_(cfg.metrics.listen),
      census_(cfg.tables.max_jvms),
      collector_(std::make_shared<DaemonCollector>(&events_, &census_, static_info(cfg))) {}

DaemonMetrics::~DaemonMetrics() { server_.reset(); }

bool DaemonMetrics::listen(std::string* error) {
    server_ = MetricsServer::start(listen_, collector_, error);
    return server_ != nullptr;
}

const std::string& DaemonMetrics::address() const {
    static const std::string none;
    return server_ ? server_->address() : none;
}

void DaemonMetrics::set_hooks(std::vector<std::pair<std::string, std::string>> hooks) {
    collector_->set_hooks(std::move(hooks));
}

void DaemonMetrics::refresh(nlohmann::json stats, uint64_t sink_queue_length) {
    collector_->update(LiveCounters{std::move(stats), sink_queue_length});
}

}  // namespace jvmwatch::metrics
