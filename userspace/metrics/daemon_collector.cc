#include "userspace/metrics/daemon_collector.h"

#include <map>

namespace jvmwatch::metrics {

namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<std::pair<std::string, std::string>>;

// Families in the order first added; samples appended to them.
class Families {
public:
    void add(const std::string& name, const std::string& help, MetricType type, Labels labels,
             double value) {
        auto [it, fresh] = index_.try_emplace(name, out_.size());
        if (fresh) out_.push_back(MetricFamily{name, help, type, {}});
        prometheus::ClientMetric m;
        for (auto& [k, v] : labels) m.label.push_back({k, v});
        if (type == MetricType::Counter) m.counter.value = value;
        else m.gauge.value = value;
        out_[it->second].metric.push_back(std::move(m));
    }
    void counter(const std::string& name, const std::string& help, Labels labels, double v) {
        add(name, help, MetricType::Counter, std::move(labels), v);
    }
    void gauge(const std::string& name, const std::string& help, Labels labels, double v) {
        add(name, help, MetricType::Gauge, std::move(labels), v);
    }
    std::vector<MetricFamily> take() { return std::move(out_); }

private:
    std::vector<MetricFamily> out_;
    std::map<std::string, size_t> index_;
};

// One `stats` counter and the series that shows it.
struct StatSeries {
    const char* section;
    const char* key;
    const char* name;
    const char* help;
    const char* label = nullptr;        // one label, or none
    const char* label_value = nullptr;
    bool gauge = false;
};

const StatSeries kStats[] = {
    {"kernel", "events", "jvmwatch_kernel_events_total",
     "Events the BPF programs submitted to the ring buffer."},
    {"kernel", "received", "jvmwatch_kernel_events_received_total",
     "Ring-buffer events the daemon consumed."},
    {"kernel", "execs", "jvmwatch_kernel_execs_total", "Execs seen on the host (every process)."},
    {"kernel", "identity_sent", "jvmwatch_kernel_identities_sent_total",
     "Exec identities sent for processes the daemon reported."},
    {"kernel", "identity_miss", "jvmwatch_kernel_identity_misses_total",
     "Reported processes with no stored exec identity (described from /proc instead)."},
    {"kernel", "milestone_repeats", "jvmwatch_kernel_milestone_repeats_total",
     "Repeated JVM thread-name milestones suppressed in the kernel."},
    {"kernel", "tracked_full", "jvmwatch_kernel_map_full_total",
     "Kernel map updates that failed because the map was full, by map.", "map", "tracked"},
    {"kernel", "identity_full", "jvmwatch_kernel_map_full_total", "", "map", "identity"},
    {"kernel", "milestone_full", "jvmwatch_kernel_map_full_total", "", "map", "milestone"},
    {"kernel", "deep_map_full", "jvmwatch_kernel_map_full_total", "", "map", "deep_socket"},
    {"kernel", "jvm_pending_miss", "jvmwatch_kernel_map_full_total", "", "map", "jvm_request"},
    {"userspace", "jvm_starts", "jvmwatch_jvm_starts_total", "jvm.start events emitted."},
    {"userspace", "jvm_exits", "jvmwatch_jvm_exits_total", "jvm.exit events emitted."},
    {"userspace", "jvm_exits_found_by_sweep", "jvmwatch_jvm_exits_found_by_sweep_total",
     "JVM exits the kernel could not report, found by the periodic sweep."},
    {"userspace", "thread_dump_records", "jvmwatch_thread_dump_requests_total",
     "thread_dump_request records (SIGQUIT to a JVM with no attach following)."},
    {"userspace", "sigquit_not_jvm", "jvmwatch_sigquits_not_jvm_total",
     "SIGQUITs to processes that turned out not to be JVMs (not reported)."},
    {"userspace", "orphan_socket_events", "jvmwatch_orphan_socket_events_total",
     "Socket events with no open attach to belong to."},
    {"userspace", "proc_reads", "jvmwatch_proc_reads_total",
     "Process facts applied from /proc by the enrichment workers."},
    {"userspace", "track_failed", "jvmwatch_track_failures_total",
     "JVMs the kernel could not be told to follow (tracked map full)."},
    {"userspace", "jvm_requests", "jvmwatch_jvm_side_requests_total",
     "Attach requests the JVM-side probes saw a JVM read."},
    {"userspace", "alias_attaches", "jvmwatch_alias_attaches_total",
     "Attaches whose peer reached the JVM's socket by another name (no .java_pid connect seen)."},
    {"userspace", "self_attaches", "jvmwatch_self_attaches_total",
     "Attaches by the target JVM itself or one of its descendants."},
    {"userspace", "jvm_requests_unknown_peer", "jvmwatch_jvm_side_requests_unknown_peer_total",
     "JVM-side requests whose socket named no peer."},
    {"userspace", "agent_loads", "jvmwatch_agent_loads_total",
     "Agent loads the JVM-side probes saw (agent.load events)."},
    {"userspace", "agent_loads_uninspected", "jvmwatch_agent_loads_uninspected_total",
     "Agent loads reported without their file's facts (enrichment queue full)."},
    {"userspace", "dcmds", "jvmwatch_jvm_diagnostic_commands_total",
     "Diagnostic commands the JVM-side probes saw run (any source)."},
    {"enrichment", "queued", "jvmwatch_enrichment_requests_total",
     "Enrichment requests accepted into the queue."},
    {"enrichment", "done", "jvmwatch_enrichment_answered_total", "Enrichment requests answered."},
    {"enrichment", "failed", "jvmwatch_enrichment_failed_total",
     "Answered enrichment requests that failed or found the process gone."},
    {"enrichment", "timed_out", "jvmwatch_enrichment_timed_out_total",
     "Enrichment requests past their budget or that waited too long for a worker."},
    {"enrichment", "deduplicated", "jvmwatch_enrichment_deduplicated_total",
     "Enrichment requests already queued or running."},
    {"enrichment", "abandoned_workers", "jvmwatch_enrichment_abandoned_workers_total",
     "Enrichment workers stuck past the budget and left behind."},
    {"enrichment", "late_results_discarded", "jvmwatch_enrichment_late_results_discarded_total",
     "Results of abandoned enrichment workers that came back late."},
    {"enrichment", "negative_cache_hits", "jvmwatch_enrichment_negative_cache_hits_total",
     "Enrichment requests answered by \"known not to be a JVM\"."},
    {"enrichment", "workers", "jvmwatch_enrichment_workers", "Enrichment worker threads now.",
     nullptr, nullptr, true},
    {"enrichment", "queue", "jvmwatch_queue_length",
     "Items waiting in a bounded queue now, by queue.", "queue", "enrichment", true},
};

// Shown by another series (or not a counter).
const std::vector<std::string> kDerived = {
    "kernel.ringbuf_drops",        // jvmwatch_dropped_events_total{cause="ringbuf"}
    "kernel.malformed",            // ... {cause="malformed"} (kernel + userspace)
    "userspace.malformed",
    "userspace.decoded",           // sum of jvmwatch_observed_events_total
    "userspace.attach_records",    // sum of jvmwatch_attaches_total
    "enrichment.dropped",          // jvmwatch_dropped_events_total{cause="enrichment_queue"}
    "drops.jvm_requests",          // = kernel.jvm_pending_miss
};

double number(const nlohmann::json& section, const char* key) {
    auto it = section.find(key);
    return it != section.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

const std::vector<std::string>& DaemonCollector::derived_stats_keys() { return kDerived; }

DaemonCollector::DaemonCollector(const EventCounters* events, const JvmCensus* jvms, StaticInfo info)
    : events_(events), jvms_(jvms), info_(std::move(info)) {}

void DaemonCollector::set_hooks(std::vector<std::pair<std::string, std::string>> hooks) {
    std::lock_guard<std::mutex> g(mu_);
    info_.hooks = std::move(hooks);
}

void DaemonCollector::update(LiveCounters live) {
    std::lock_guard<std::mutex> g(mu_);
    live_ = std::move(live);
}

std::vector<MetricFamily> DaemonCollector::Collect() const {
    StaticInfo info;
    LiveCounters live;
    {
        std::lock_guard<std::mutex> g(mu_);
        info = info_;
        live = live_;
    }
    EventCounts ev = events_ ? events_->snapshot() : EventCounts{};
    JvmCensus::Counts census = jvms_ ? jvms_->snapshot() : JvmCensus::Counts{};
    Families f;

    f.gauge("jvmwatch_build_info", "The running jvmwatchd's version and git commit.",
            {{"version", info.version}, {"commit", info.commit}}, 1);
    for (auto& [kind, hook] : info.hooks)
        f.gauge("jvmwatch_hook_info", "The kernel hook that serves each kind of event.",
                {{"kind", kind}, {"hook", hook}}, 1);
    f.gauge("jvmwatch_start_time_seconds", "When jvmwatchd started, in seconds since the Unix epoch.",
            {}, info.start_time_s);

    // The audit stream.
    for (auto& [type, n] : ev.by_type)
        f.counter("jvmwatch_events_total", "Audit events written, by type.", {{"type", type}},
                  static_cast<double>(n));
    const char* attach_help =
        "Attach records (one attach by one process to one JVM), by operation (unknown: not seen "
        "in default mode), outcome and whether the daemon made it.";
    if (ev.attaches.empty())
        f.counter("jvmwatch_attaches_total", attach_help,
                  {{"op", "unknown"}, {"outcome", "connected"}, {"self", "false"}}, 0);
    for (auto& [k, n] : ev.attaches)
        f.counter("jvmwatch_attaches_total", attach_help,
                  {{"op", std::get<0>(k)}, {"outcome", std::get<1>(k)},
                   {"self", std::get<2>(k) ? "true" : "false"}},
                  static_cast<double>(n));
    for (auto& [rule, n] : ev.inject_matched)
        f.counter("jvmwatch_injection_matches_total", "JVMs an injection rule matched, by rule.",
                  {{"rule", rule}}, static_cast<double>(n));
    for (auto& [k, n] : ev.injections)
        f.counter("jvmwatch_injections_total",
                  "Injection decisions, by rule and outcome (ok, failed, skipped).",
                  {{"rule", k.first}, {"outcome", k.second}}, static_cast<double>(n));
    for (auto& [k, n] : ev.inject_failed)
        f.counter("jvmwatch_injection_failures_total", "Failed injections, by rule and the attach's outcome.",
                  {{"rule", k.first}, {"reason", k.second}}, static_cast<double>(n));
    for (auto& [k, n] : ev.inject_skipped)
        f.counter("jvmwatch_injection_skips_total", "Skipped injections, by rule and reason.",
                  {{"rule", k.first}, {"reason", k.second}}, static_cast<double>(n));
    for (auto& [k, n] : ev.denials)
        f.counter("jvmwatch_denials_total",
                  "Attaches the deny rules refused (denied), would refuse in monitor mode "
                  "(would_deny), or could not decide (unchecked: reached by another name), by rule.",
                  {{"rule", k.first}, {"verdict", k.second}}, static_cast<double>(n));
    for (auto& [k, n] : ev.alerts)
        f.counter("jvmwatch_alerts_total", "Alerts sent, by rule and severity.",
                  {{"rule", k.first}, {"severity", k.second}}, static_cast<double>(n));

    // JVMs tracked now.
    if (census.empty())
        f.gauge("jvmwatch_jvms", "JVMs tracked now, by JDK major version and visibility.",
                {{"jdk_major", "unknown"}, {"visibility", "client"}}, 0);
    for (auto& [k, n] : census)
        f.gauge("jvmwatch_jvms", "JVMs tracked now, by JDK major version and visibility.",
                {{"jdk_major", k.first}, {"visibility", k.second}}, static_cast<double>(n));

    // The `stats` counters, as of the main loop's last copy.
    const nlohmann::json& s = live.stats;
    static const nlohmann::json empty = nlohmann::json::object();
    auto section = [&](const char* name) -> const nlohmann::json& {
        auto it = s.find(name);
        return it != s.end() && it->is_object() ? *it : empty;
    };
    for (const auto& m : kStats) {
        Labels labels;
        if (m.label) labels.push_back({m.label, m.label_value});
        f.add(m.name, m.help, m.gauge ? MetricType::Gauge : MetricType::Counter, std::move(labels),
              number(section(m.section), m.key));
    }
    for (auto& [k, v] : section("userspace").items())
        if (k.rfind("events_", 0) == 0 && v.is_number())
            f.counter("jvmwatch_observed_events_total", "Kernel events decoded, by kind.",
                      {{"kind", k.substr(7)}}, v.get<double>());
    for (auto& [k, v] : section("drops").items())
        if (v.is_number())
            f.counter("jvmwatch_dropped_events_total",
                      "Events or requests lost, by cause (the stats event's drops).", {{"cause", k}},
                      v.get<double>());
    for (auto& [k, v] : section("evictions").items())
        if (v.is_number())
            f.counter("jvmwatch_evictions_total",
                      "Entries pushed out of a full bounded table, by table.", {{"table", k}},
                      v.get<double>());
    for (auto& [k, v] : section("tables").items())
        if (v.is_number())
            f.gauge("jvmwatch_table_entries", "Entries in a bounded table now, by table.", {{"table", k}},
                    v.get<double>());
    f.gauge("jvmwatch_table_capacity", "Capacity of a bounded table, by table.", {{"table", "processes"}},
            static_cast<double>(info.max_processes));
    f.gauge("jvmwatch_table_capacity", "", {{"table", "jvms"}}, static_cast<double>(info.max_jvms));
    f.gauge("jvmwatch_table_capacity", "", {{"table", "open_correlations"}},
            static_cast<double>(info.max_open_correlations));

    // Queues and the ring buffer.
    f.gauge("jvmwatch_queue_length", "", {{"queue", "sink"}}, static_cast<double>(live.sink_queue_length));
    f.gauge("jvmwatch_queue_capacity", "Capacity of a bounded queue, by queue.", {{"queue", "enrichment"}},
            static_cast<double>(info.enrichment_queue_capacity));
    f.gauge("jvmwatch_queue_capacity", "", {{"queue", "sink"}}, static_cast<double>(info.sink_queue_capacity));
    double submitted = number(section("kernel"), "events"), received = number(section("kernel"), "received");
    f.gauge("jvmwatch_ringbuf_backlog_events",
            "Events submitted by the kernel and not yet consumed (submitted minus received).", {},
            submitted > received ? submitted - received : 0);
    f.gauge("jvmwatch_ringbuf_size_bytes", "Size of the BPF ring buffer.", {},
            static_cast<double>(info.ringbuf_bytes));
    return f.take();
}

}  // namespace jvmwatch::metrics
