// jvmwatchd's metrics (docs/daemon.md, "Metrics"), built at scrape time from counters
// others keep: the audit events counted by EventCounters (sink writer thread), the JVMs
// counted by JvmCensus, and a copy of the `stats` counters and queue fills that the
// daemon's main loop refreshes (update(), once a second).  A scrape takes only these
// objects' own locks, each for a copy: never the event processor's, however often a
// local client scrapes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "userspace/metrics/event_counters.h"
#include "userspace/metrics/jvm_census.h"

namespace jvmwatch::metrics {

// What does not change while the daemon runs.
struct StaticInfo {
    std::string version, commit;
    std::vector<std::pair<std::string, std::string>> hooks;   // event kind -> BPF hook
    double start_time_s = 0;                                  // Unix time
    uint64_t ringbuf_bytes = 0;
    uint64_t sink_queue_capacity = 0, enrichment_queue_capacity = 0;
    uint64_t max_processes = 0, max_jvms = 0, max_open_correlations = 0;
};

// The main loop's periodic copy.
struct LiveCounters {
    nlohmann::json stats = nlohmann::json::object();   // a `stats` event body
    uint64_t sink_queue_length = 0;
};

class DaemonCollector : public prometheus::Collectable {
public:
    DaemonCollector(const EventCounters* events, const JvmCensus* jvms, StaticInfo info);
    void set_hooks(std::vector<std::pair<std::string, std::string>> hooks);
    void update(LiveCounters live);
    std::vector<prometheus::MetricFamily> Collect() const override;

    // The `stats` event's counters that have no metric of their own, because a metric
    // already shows them ("section.key"): for the test that every counter is exported.
    static const std::vector<std::string>& derived_stats_keys();

private:
    const EventCounters* events_;
    const JvmCensus* jvms_;
    mutable std::mutex mu_;
    StaticInfo info_;
    LiveCounters live_;
};

}  // namespace jvmwatch::metrics
