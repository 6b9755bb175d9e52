#include "userspace/daemon/daemon_config.h"

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

namespace jvmwatch::daemon {

const char* const kDefaultConfigName = "<embedded default>";

const char* const kDefaultConfigYaml = R"(# jvmwatchd default configuration (embedded; see docs/daemon.md)
audit:
  log: ""                    # "" = stdout; else an append-only file (mode 0640)
  fsync_interval_ms: 1000    # fsync at most this long after an event is written
  fsync_every_events: 1000   # ... or after this many events; and always at stop
  rotate_bytes: 104857600    # rotate the file at 100 MiB (0 = never)
  rotate_keep: 5             # keep PATH.1 .. PATH.5
  stats_interval_s: 60       # periodic stats event (0 = only at stop)
  queue_capacity: 65536      # events waiting for the writer; beyond, dropped and counted
observer:
  deep: false                # trigger files + request/reply bytes (syscall tracepoints)
  force_fallback: false      # use the classic tracepoints even where better hooks exist
  jvm_probes: true           # uprobes in each JDK's libjvm/libinstrument (docs/observer.md)
  max_probed_libraries: 64   # JDK library files probed at once; beyond, client-side only
  ringbuf_bytes: 8388608
  max_tracked: 16384
correlation:
  sigquit_window_ms: 2000    # SIGQUIT with no connect within this => thread_dump_request
  attach_timeout_ms: 10000   # a connected attach with no close/exit is reported after this
  max_open: 1024
tables:
  max_processes: 16384
  max_jvms: 4096
enrichment:                  # /proc and JDK reads, off the event path (docs/daemon.md)
  workers: 2                 # worker threads (1..64)
  queue_size: 1024           # jobs waiting; beyond, dropped and counted
  budget_ms: 2000            # per process; a worker stuck longer is abandoned
  max_abandoned: 16          # stuck workers replaced, in all; then the pool shrinks
api:                         # the local API for `jvmwatch ps/events/status` (docs/api.md)
  enabled: true
  socket: /run/jvmwatch/api.sock   # root-only: mode 0600 in a 0700 directory
  events_ring: 10000         # recent events kept for `jvmwatch events` (1..1000000)
  max_clients: 16            # clients at once (1..256)
metrics:                     # Prometheus endpoint: GET /metrics (docs/daemon.md, "Metrics")
  enabled: true
  listen: "127.0.0.1:9469"   # IPV4:PORT; loopback only unless you say otherwise
artifacts:                   # agent files a JVM loads (docs/daemon.md, "Agent artifacts")
  max_hash_bytes: 67108864   # sha256 of at most 64 MiB of agent files per JVM
  evidence: false            # keep a copy of each agent file (root-only, by sha256)
  evidence_dir: /var/lib/jvmwatch/evidence
  evidence_max_bytes: 268435456   # 256 MiB in all; the oldest copies are evicted
  evidence_max_files: 1024   # (1..100000)
alerts:                      # alert rules (docs/policy.md, "Alert rules"); every match alerts
  defaults: true             # the embedded set: self-attach-agent-load, attach-through-alias,
                             # agent-across-boundary, anonymous-first-agent
  disable: []                # default rules turned off by name
  rules: []
  deny: []                   # deny rules, refused at connect (docs/policy.md, "Deny rules")
)";

namespace {

struct ConfigError {
    std::string msg;
};

std::string where(const std::string& file, const YAML::Node& n) {
    return file + ":" + std::to_string(n.Mark().line + 1);
}

[[noreturn]] void bad(const std::string& file, const YAML::Node& n, const std::string& reason) {
    throw ConfigError{where(file, n) + ": " + reason};
}

template <class T>
void read_scalar(const std::string& file, const std::string& key, const YAML::Node& n, T* out) {
    if (!n.IsScalar()) bad(file, n, key + ": expected a scalar");
    try {
        if constexpr (std::is_same_v<T, bool>) {
            *out = n.as<bool>();
        } else if constexpr (std::is_same_v<T, std::string>) {
            *out = n.as<std::string>();
        } else {
            std::string s = n.as<std::string>();
            if (s.empty() || s[0] == '-') throw YAML::Exception(n.Mark(), "negative");
            *out = n.as<T>();
        }
    } catch (const YAML::Exception&) {
        if constexpr (std::is_same_v<T, bool>) bad(file, n, key + ": expected true or false");
        else bad(file, n, key + ": expected a non-negative integer");
    }
}

// A section: a map whose keys must all be known.
void section(const std::string& file, const std::string& name, const YAML::Node& n,
             const std::map<std::string, std::function<void(const std::string&, const YAML::Node&)>>& keys) {
    if (n.IsNull()) return;
    if (!n.IsMap()) bad(file, n, name + ": expected a mapping");
    for (auto it = n.begin(); it != n.end(); ++it) {
        YAML::Node key = it->first, val = it->second;
        std::string k = key.as<std::string>();
        auto f = keys.find(k);
        if (f == keys.end()) bad(file, key, "unknown key \"" + name + "." + k + "\"");
        f->second(name + "." + k, val);
    }
}

}  // namespace

std::optional<ListenAddress> parse_metrics_listen(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return std::nullopt;
    ListenAddress a;
    a.host = text.substr(0, colon);
    in_addr ip{};
    if (inet_pton(AF_INET, a.host.c_str(), &ip) != 1) return std::nullopt;
    const char* p = text.data() + colon + 1;
    const char* end = text.data() + text.size();
    unsigned port = 0;
    auto [stop, ec] = std::from_chars(p, end, port);
    if (ec != std::errc() || stop != end || port > 65535 || end - p > 5) return std::nullopt;
    a.port = static_cast<uint16_t>(port);
    return a;
}

std::optional<DaemonConfig> parse_daemon_config(const std::string& text, const std::string& file,
                                                const InjectConfigHook& inject_hook,
                                                std::string* error) {
    DaemonConfig c;
    c.file = file;
    try {
        YAML::Node root = YAML::Load(text);
        if (root.IsNull()) {
            c.alerts = std::make_shared<const policy::AlertPolicy>(
                *policy::parse_alert_policy(YAML::Node(), file, nullptr));
            return c;
        }
        if (!root.IsMap()) bad(file, root, "expected a mapping at the top level");
        for (auto it = root.begin(); it != root.end(); ++it) {
            YAML::Node key = it->first, v = it->second;
            std::string k = key.as<std::string>();
            auto u = [&](auto* field) {
                return [&file, field](const std::string& key, const YAML::Node& n) { read_scalar(file, key, n, field); };
            };
            if (k == "audit") {
                section(file, k, v, {{"log", u(&c.audit.log)},
                                     {"fsync_interval_ms", u(&c.audit.fsync_interval_ms)},
                                     {"fsync_every_events", u(&c.audit.fsync_every_events)},
                                     {"rotate_bytes", u(&c.audit.rotate_bytes)},
                                     {"rotate_keep", u(&c.audit.rotate_keep)},
                                     {"stats_interval_s", u(&c.audit.stats_interval_s)},
                                     {"queue_capacity", u(&c.audit.queue_capacity)}});
                if (c.audit.rotate_keep == 0) bad(file, v, "audit.rotate_keep: must be at least 1");
                if (c.audit.queue_capacity == 0) bad(file, v, "audit.queue_capacity: must be at least 1");
            } else if (k == "observer") {
                section(file, k, v, {{"deep", u(&c.observer.deep)},
                                     {"force_fallback", u(&c.observer.force_fallback)},
                                     {"jvm_probes", u(&c.observer.jvm_probes)},
                                     {"max_probed_libraries", u(&c.observer.max_probed_libraries)},
                                     {"ringbuf_bytes", u(&c.observer.ringbuf_bytes)},
                                     {"max_tracked", u(&c.observer.max_tracked)}});
                uint32_t rb = c.observer.ringbuf_bytes;
                if (rb < 4096 || (rb & (rb - 1)) != 0)
                    bad(file, v, "observer.ringbuf_bytes: must be a power of two >= 4096");
                if (c.observer.max_probed_libraries == 0)
                    bad(file, v, "observer.max_probed_libraries: must be at least 1");
            } else if (k == "correlation") {
                section(file, k, v, {{"sigquit_window_ms", u(&c.correlation.sigquit_window_ms)},
                                     {"attach_timeout_ms", u(&c.correlation.attach_timeout_ms)},
                                     {"max_open", u(&c.correlation.max_open)}});
            } else if (k == "tables") {
                section(file, k, v, {{"max_processes", u(&c.tables.max_processes)},
                                     {"max_jvms", u(&c.tables.max_jvms)}});
            } else if (k == "enrichment") {
                section(file, k, v, {{"workers", u(&c.enrichment.workers)},
                                     {"queue_size", u(&c.enrichment.queue_size)},
                                     {"budget_ms", u(&c.enrichment.budget_ms)},
                                     {"max_abandoned", u(&c.enrichment.max_abandoned)}});
                if (c.enrichment.workers < 1 || c.enrichment.workers > 64)
                    bad(file, v["workers"], "enrichment.workers: must be between 1 and 64");
                if (c.enrichment.queue_size < 1)
                    bad(file, v["queue_size"], "enrichment.queue_size: must be at least 1");
                if (c.enrichment.budget_ms < 10 || c.enrichment.budget_ms > 600000)
                    bad(file, v["budget_ms"], "enrichment.budget_ms: must be between 10 and 600000");
            } else if (k == "api") {
                section(file, k, v, {{"enabled", u(&c.api.enabled)},
                                     {"socket", u(&c.api.socket)},
                                     {"events_ring", u(&c.api.events_ring)},
                                     {"max_clients", u(&c.api.max_clients)}});
                if (c.api.socket.empty() || c.api.socket[0] != '/' || c.api.socket.size() > 107)
                    bad(file, v["socket"], "api.socket: must be an absolute path of at most 107 bytes");
                if (c.api.events_ring < 1 || c.api.events_ring > 1000000)
                    bad(file, v["events_ring"], "api.events_ring: must be between 1 and 1000000");
                if (c.api.max_clients < 1 || c.api.max_clients > 256)
                    bad(file, v["max_clients"], "api.max_clients: must be between 1 and 256");
            } else if (k == "metrics") {
                section(file, k, v, {{"enabled", u(&c.metrics.enabled)},
                                     {"listen", u(&c.metrics.listen)}});
                if (!parse_metrics_listen(c.metrics.listen))
                    bad(file, v["listen"], "metrics.listen: expected IPV4:PORT such as 127.0.0.1:9469");
            } else if (k == "artifacts") {
                section(file, k, v, {{"max_hash_bytes", u(&c.artifacts.max_hash_bytes)},
                                     {"evidence", u(&c.artifacts.evidence)},
                                     {"evidence_dir", u(&c.artifacts.evidence_dir)},
                                     {"evidence_max_bytes", u(&c.artifacts.evidence_max_bytes)},
                                     {"evidence_max_files", u(&c.artifacts.evidence_max_files)}});
                if (c.artifacts.max_hash_bytes < 1 || c.artifacts.max_hash_bytes > (4ull << 30))
                    bad(file, v["max_hash_bytes"], "artifacts.max_hash_bytes: must be between 1 and 4294967296");
                const std::string& d = c.artifacts.evidence_dir;
                if (d.size() < 2 || d[0] != '/' || d.back() == '/' || d.size() > 4095)
                    bad(file, v["evidence_dir"], "artifacts.evidence_dir: must be an absolute path (not /) of at most 4095 bytes");
                if (c.artifacts.evidence_max_bytes < 1)
                    bad(file, v["evidence_max_bytes"], "artifacts.evidence_max_bytes: must be at least 1");
                if (c.artifacts.evidence_max_files < 1 || c.artifacts.evidence_max_files > 100000)
                    bad(file, v["evidence_max_files"], "artifacts.evidence_max_files: must be between 1 and 100000");
            } else if (k == "alerts") {
                std::vector<std::string> errs;
                auto a = policy::parse_alert_policy(v, file, &errs);
                if (!a) throw ConfigError{errs.empty() ? where(file, v) + ": alerts: refused" : errs.front()};
                c.alerts = std::make_shared<const policy::AlertPolicy>(std::move(*a));
            } else if (k == "inject") {
                c.inject = v;
                if (inject_hook) {
                    std::string err;
                    if (!inject_hook(v, file, &err)) throw ConfigError{err.empty() ? where(file, v) + ": inject: refused" : err};
                }
            } else {
                bad(file, key, "unknown key \"" + k + "\"");
            }
        }
        if (!c.alerts)
            c.alerts = std::make_shared<const policy::AlertPolicy>(
                *policy::parse_alert_policy(YAML::Node(), file, nullptr));
    } catch (const ConfigError& e) {
        if (error) *error = e.msg;
        return std::nullopt;
    } catch (const YAML::Exception& e) {
        if (error) *error = file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg;
        return std::nullopt;
    }
    return c;
}

std::optional<DaemonConfig> load_daemon_config(const std::string& path,
                                               const InjectConfigHook& inject_hook,
                                               std::string* error) {
    std::ifstream in(path);
    if (!in) {
        if (error) *error = path + ": cannot read config file";
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_daemon_config(ss.str(), path, inject_hook, error);
}

}  // namespace jvmwatch::daemon
