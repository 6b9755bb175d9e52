// jvmwatchd's Prometheus metrics, assembled: the sink tap that counts audit events, the
// JVM census listener, the collector and the HTTP endpoint.  The daemon wires tap() into
// its sink, census() into its event processor, and calls refresh() from its main loop.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "userspace/daemon/daemon_config.h"
#include "userspace/metrics/daemon_collector.h"
#include "userspace/metrics/event_counters.h"
#include "userspace/metrics/jvm_census.h"
#include "userspace/metrics/metrics_server.h"

namespace jvmwatch::metrics {

class DaemonMetrics {
public:
    explicit DaemonMetrics(const daemon::DaemonConfig& cfg);
    ~DaemonMetrics();

    // Starts the endpoint on cfg.metrics.listen; false and *error when it cannot.
    bool listen(std::string* error);
    const std::string& address() const;   // "127.0.0.1:PORT" once listening

    audit::EventTap* tap() { return &events_; }
    daemon::JvmListener* census() { return &census_; }
    void set_hooks(std::vector<std::pair<std::string, std::string>> hooks);
    // A fresh `stats` body and the sink queue's length now (the main loop, once a second).
    void refresh(nlohmann::json stats, uint64_t sink_queue_length);

private:
    std::string listen_;
    EventCounters events_;
    JvmCensus census_;
    std::shared_ptr<DaemonCollector> collector_;
    std::unique_ptr<MetricsServer> server_;   // last: stopped before what it reads goes
};

}  // namespace jvmwatch::metrics
