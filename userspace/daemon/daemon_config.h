// jvmwatchd's configuration (YAML): `audit:`, `observer:`, `correlation:`, `tables:`,
// `enrichment:`, `api:`, `metrics:`, `artifacts:`, `alerts:` (the alert rules),
// and `inject:`, which belongs to the injector and is handed to a parse hook with the
// file name.  Unknown keys are refused with "file:line: reason".  An embedded default
// is used when no --config is given (docs/daemon.md shows it).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "userspace/policy/alert_rules.h"

namespace jvmwatch::daemon {

extern const char* const kDefaultConfigYaml;
extern const char* const kDefaultConfigName;   // "<embedded default>"

struct DaemonConfig {
    std::string file;                  // where it came from
    struct Audit {
        std::string log;               // "" = stdout
        uint32_t fsync_interval_ms = 1000;
        uint32_t fsync_every_events = 1000;
        uint64_t rotate_bytes = 100ull << 20;
        uint32_t rotate_keep = 5;
        uint32_t stats_interval_s = 60;
        uint32_t queue_capacity = 65536;
    } audit;
    struct Observer {
        bool deep = false;
        bool force_fallback = false;
        bool jvm_probes = true;             // JVM-side uprobes per JDK library file
        uint32_t max_probed_libraries = 64;
        uint32_t ringbuf_bytes = 8u << 20;
        uint32_t max_tracked = 16384;
    } observer;
    struct Correlation {
        uint32_t sigquit_window_ms = 2000;
        uint32_t attach_timeout_ms = 10000;
        uint32_t max_open = 1024;
    } correlation;
    struct Tables {
        uint32_t max_processes = 16384;
        uint32_t max_jvms = 4096;
    } tables;
    struct Enrichment {
        uint32_t workers = 2;
        uint32_t queue_size = 1024;
        uint32_t budget_ms = 2000;
        uint32_t max_abandoned = 16;
    } enrichment;
    struct Api {                       // the local API (docs/api.md)
        bool enabled = true;
        std::string socket = "/run/jvmwatch/api.sock";
        uint32_t events_ring = 10000;
        uint32_t max_clients = 16;
    } api;
    struct Metrics {
        bool enabled = true;           // the Prometheus endpoint (docs/daemon.md, "Metrics")
        std::string listen = "127.0.0.1:9469";
    } metrics;
    struct Artifacts {                 // agent files (docs/daemon.md, "Agent artifacts")
        uint64_t max_hash_bytes = 64ull << 20;   // hashed per JVM, in all
        bool evidence = false;         // keep a copy of each agent file
        std::string evidence_dir = "/var/lib/jvmwatch/evidence";
        uint64_t evidence_max_bytes = 256ull << 20;
        uint32_t evidence_max_files = 1024;
    } artifacts;
    YAML::Node inject;                 // null if absent
    // The alert rules in force (the embedded defaults unless `alerts:` says otherwise).
    std::shared_ptr<const policy::AlertPolicy> alerts;
};

// A metrics listen address: an IPv4 address and a port ("127.0.0.1:9469"; port 0 = any
// free port).  No host names, no lists: exactly one socket.
struct ListenAddress {
    std::string host;
    uint16_t port = 0;
};
std::optional<ListenAddress> parse_metrics_listen(const std::string& text);

// Validates (and may apply) the `inject:` section; false with "file:line: reason".
using InjectConfigHook =
    std::function<bool(const YAML::Node& inject, const std::string& file, std::string* error)>;

// Parses config text.  nullopt and *error ("file:line: reason") when malformed.
// `inject_hook` (may be empty) gets the inject: node when one is present.
std::optional<DaemonConfig> parse_daemon_config(const std::string& text, const std::string& file,
                                                const InjectConfigHook& inject_hook,
                                                std::string* error);
std::optional<DaemonConfig> load_daemon_config(const std::string& path,
                                               const InjectConfigHook& inject_hook,
                                               std::string* error);

}  // namespace jvmwatch::daemon
