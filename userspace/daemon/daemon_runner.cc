#include "userspace/daemon/daemon_runner.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <spdlog/spdlog.h>

#include "attach/jvm_process.h"
#include "userspace/alert/alert_engine.h"
#include "userspace/api/api_server.h"
#include "userspace/artifacts/evidence_store.h"
#include "userspace/audit/async_event_sink.h"
#include "userspace/audit/own_file.h"
#include "userspace/audit/wall_clock.h"
#include "userspace/common/build_info.h"
#include "userspace/daemon/daemon_hooks.h"
#include "userspace/daemon/deny_table.h"
#include "userspace/daemon/event_processor.h"
#include "userspace/daemon/jvm_probe_manager.h"
#include "userspace/daemon/raw_event_json.h"
#include "userspace/daemon/systemd_notifier.h"
#include "userspace/metrics/daemon_metrics.h"
#include "userspace/observer/features.h"
#include "userspace/observer/mounts.h"
#include "userspace/observer/observer.h"

namespace jvmwatch::daemon {

namespace {

constexpr long kTickMs = 100;   // timer resolution for correlation timeouts and stats

uint64_t mono_now() { return static_cast<uint64_t>(audit::monotonic_now_ns()); }

audit::SinkOptions sink_options(const DaemonConfig& c, audit::OutputFormat output) {
    audit::SinkOptions o;
    o.stdout_format = output;
    o.file.path = c.audit.log;
    o.file.rotate_bytes = c.audit.rotate_bytes;
    o.file.rotate_keep = c.audit.rotate_keep;
    o.queue_capacity = c.audit.queue_capacity;
    o.fsync_every_events = c.audit.fsync_every_events;
    o.fsync_interval_ms = c.audit.fsync_interval_ms;
    return o;
}

// The service manager's STATUS= line, from a stats event.
std::string status_line(const nlohmann::json& stats) {
    uint64_t lost = 0;
    for (const auto& [k, v] : stats["drops"].items()) lost += v.get<uint64_t>();
    return "watching " + std::to_string(stats["tables"]["jvms"].get<uint64_t>()) + " JVM(s); " +
           std::to_string(stats["userspace"]["attach_records"].get<uint64_t>()) +
           " attach record(s); " + std::to_string(lost) + " event(s) lost";
}

KernelCounters kernel_counters(const observer::Observer& obs) {
    observer::Stats s = obs.stats();
    KernelCounters k{s.events, s.ringbuf_drops, s.tracked_full, s.received, s.malformed};
    k.execs = s.execs;
    k.identity_sent = s.identity_sent;
    k.identity_full = s.identity_full;
    k.identity_miss = s.identity_miss;
    k.milestone_repeats = s.milestone_repeats;
    k.milestone_full = s.milestone_full;
    k.deep_map_full = s.deep_map_full;
    k.jvm_pending_miss = s.jvm_pending_miss;
    return k;
}

// The host's namespaces are those of pid 1 (the daemon itself may run in a mount
// namespace of its own, e.g. under systemd's ProtectSystem=).
uint32_t host_ns(const std::string& proc_root, const char* ns) {
    auto ino = proc::read_ns_inode(proc_root, 1, ns);
    if (!ino) ino = proc::read_ns_inode(proc_root, getpid(), ns);
    return ino ? static_cast<uint32_t>(*ino) : 0;
}

// The evidence store's counters in a stats event (when the store is on).
void add_evidence_stats(nlohmann::json& stats, const artifacts::EvidenceStore* evidence) {
    if (!evidence) return;
    auto st = evidence->stats();
    stats["evidence"] = {{"stored", st.stored}, {"deduplicated", st.deduplicated}, {"evicted", st.evicted},
                         {"refused", st.refused}, {"files", st.files}, {"bytes", st.bytes}};
}

// The deny rules' counters in a stats event.
void add_deny_stats(nlohmann::json& stats, const DenyTable& deny, const observer::Observer& obs) {
    auto st = deny.stats();
    auto k = obs.stats();
    stats["deny"] = {{"rules", deny.rule_count()}, {"enforceable", deny.enforceable()},
                     {"jvms_covered", st.covered}, {"denied", k.denied},
                     {"would_deny", k.would_deny}, {"map_errors", st.map_errors},
                     {"jvms_dropped", st.jvms_dropped}};
}

}  // namespace

void block_daemon_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_daemon(const RunOptions& opts) {
    const DaemonConfig& cfg = opts.config;
    auto started = std::chrono::steady_clock::now();
    auto uptime = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };

    // Metrics first: the sink's writer counts events into them, and a port in use stops
    // the start before anything is loaded.
    std::unique_ptr<metrics::DaemonMetrics> metrics;
    std::string err;
    if (cfg.metrics.enabled) {
        metrics = std::make_unique<metrics::DaemonMetrics>(cfg);
        if (!metrics->listen(&err)) {
            spdlog::error("metrics: {}", err);
            return kDaemonSystemError;
        }
    }
    // Evidence copies of agent files (docs/daemon.md, "Agent artifacts"): a directory
    // that cannot be made safe stops the start, like the audit log.
    std::shared_ptr<artifacts::EvidenceStore> evidence;
    if (cfg.artifacts.evidence) {
        artifacts::EvidenceOptions eo;
        eo.dir = cfg.artifacts.evidence_dir;
        eo.max_bytes = cfg.artifacts.evidence_max_bytes;
        eo.max_files = cfg.artifacts.evidence_max_files;
        evidence = artifacts::EvidenceStore::open(eo, geteuid(), &err);
        if (!evidence) {
            spdlog::error("{}", err);
            return kDaemonSystemError;
        }
        auto st = evidence->stats();
        spdlog::info("agent evidence copies in {} ({} kept, {} bytes)", eo.dir, st.files, st.bytes);
    }
    // The local API (docs/api.md): its thread is fed by the sink's writer, after the
    // write, through a bounded hand-off.  Declared before the sink: it outlives it.
    std::unique_ptr<api::ApiServer> api_server;
    audit::SinkOptions so = sink_options(cfg, opts.output);
    if (metrics) so.tap = metrics->tap();
    if (cfg.api.enabled) {
        api::ServerOptions ao;
        ao.socket_path = cfg.api.socket;
        ao.max_clients = cfg.api.max_clients;
        api::StateLimits al;
        al.events_ring = cfg.api.events_ring;
        al.max_jvms = cfg.tables.max_jvms;
        api_server = std::make_unique<api::ApiServer>(ao, al);
        so.batch_tap = [feed = &api_server->feed()](const std::deque<nlohmann::json>& batch) { feed->offer(batch); };
    }
    audit::AsyncEventSink sink(std::move(so));
    if (!sink.start(&err)) {
        spdlog::error("{}", err);
        return kDaemonSystemError;
    }
    if (api_server) {
        bool in_use = false;
        if (api_server->start(&err, &in_use)) {
            spdlog::info("local API on {}", cfg.api.socket);
        } else if (in_use) {
            // Another jvmwatchd answers there: audit anyway, leave its socket alone.
            spdlog::warn("{}; running without the local API", err);
            api_server->feed().close();   // the sink's tap keeps pointing at it: now a no-op
        } else {
            spdlog::error("{}", err);
            sink.stop();
            return kDaemonSystemError;
        }
    }

    observer::Options oo;
    oo.deep = cfg.observer.deep;
    oo.force_fallback = cfg.observer.force_fallback;
    oo.ringbuf_bytes = cfg.observer.ringbuf_bytes;
    oo.max_tracked = cfg.observer.max_tracked;
    oo.max_milestone_procs = cfg.observer.max_tracked;
    oo.max_identities = cfg.tables.max_processes;   // the kernel keeps what the table would
    // Deny rules never refuse jvmwatchd's own attaches (in-process or a forked helper).
    oo.deny_exempt_tgid = static_cast<uint32_t>(getpid());
    // Up to 4 keys per JVM (3 names and the fallback), in both halves during a reload.
    oo.max_deny_targets = static_cast<uint32_t>(std::min<size_t>(cfg.tables.max_jvms * 8 + 16, 1u << 20));
    // The hook line is logged below, once.
    oo.on_log = [](std::string_view line) {
        if (line.rfind("hooks:", 0) != 0) spdlog::info("observer: {}", line);
    };
    auto obs = observer::Observer::create(oo, &err);
    if (!obs) {
        spdlog::error("observer: {}", err);
        sink.stop();
        return kDaemonSystemError;
    }
    spdlog::info("{}", obs->hooks_line());
    // The JVM side: uprobes placed once per JDK library file, by the enrichment workers.
    std::shared_ptr<JvmProbeManager> jvm_probes;
    if (cfg.observer.jvm_probes && obs->jvm_probes_loaded()) {
        observer::Observer* o = obs.get();
        jvm_probes = std::make_shared<JvmProbeManager>(
            cfg.observer.max_probed_libraries,
            [o](int fd, const observer::LibraryProbes& lib, std::string* e) {
                return o->attach_jvm_probes(fd, lib, e);
            },
            [](std::string_view line) { spdlog::info("{}", line); });
        spdlog::info("JVM-side probes: on (placed per JDK library as JVMs are seen)");
    } else {
        spdlog::info("JVM-side probes: off ({}); attaches are seen from the client side only",
                     cfg.observer.jvm_probes ? "the uprobe programs did not load" : "observer.jvm_probes: false");
    }

    ProcessorConfig pc;
    pc.proc_root = opts.proc_root;
    pc.max_processes = cfg.tables.max_processes;
    pc.max_jvms = cfg.tables.max_jvms;
    pc.correlation.sigquit_window_ns = uint64_t(cfg.correlation.sigquit_window_ms) * 1'000'000;
    pc.correlation.attach_timeout_ns = uint64_t(cfg.correlation.attach_timeout_ms) * 1'000'000;
    pc.correlation.max_open = cfg.correlation.max_open;
    pc.correlation.self_pid = getpid();
    pc.correlation.host_pidns = host_ns(opts.proc_root, "pid");
    pc.correlation.host_mntns = host_ns(opts.proc_root, "mnt");
    pc.enrichment.workers = cfg.enrichment.workers;
    pc.enrichment.queue_size = cfg.enrichment.queue_size;
    pc.enrichment.budget_ms = cfg.enrichment.budget_ms;
    pc.enrichment.max_abandoned = cfg.enrichment.max_abandoned;
    pc.artifacts.max_hash_bytes = cfg.artifacts.max_hash_bytes;
    // Deny rules (docs/policy.md, "Deny rules"): decided by the kernel at connect where
    // the connect hook is cgroup/connect_unix; the table keeps its maps in step.
    DenyTableConfig dc;
    dc.proc_root = opts.proc_root;
    dc.cgroup_root = observer::find_mount(opts.proc_root, "cgroup2", "/sys/fs/cgroup");
    dc.host_mntns = pc.correlation.host_mntns;
    dc.max_jvms = cfg.tables.max_jvms;
    DenyTable deny(obs->deny_maps(), dc);
    {
        std::vector<std::string> notes;
        if (!deny.set_policy(cfg.alerts, &err, &notes)) {
            spdlog::error("{}", err);
            sink.stop();
            return kDaemonSystemError;
        }
        for (const auto& n : notes) spdlog::warn("{}", n);
        if (deny.rule_count())
            spdlog::info("deny rules: {} in force, {}", deny.rule_count(),
                         deny.enforceable() ? "decided at connect (cgroup/connect_unix)"
                                            : "NOT enforceable: the connect hook is a tracepoint "
                                              "(monitor only through alias alerts)");
    }
    // Alerts sit between the producers and the audit sink: a record, then its alerts.
    alert::AlertEngine alerts(&sink, cfg.alerts, mono_now);
    spdlog::info("alert rules: {} in force", cfg.alerts ? cfg.alerts->rules.size() : 0);
    ProcessorDeps pd;
    pd.sink = &alerts;
    pd.evidence = evidence;
    observer::Observer* o = obs.get();
    pd.track = [o](pid_t pid) { return o->add_tracked(pid); };
    pd.untrack = [o](pid_t pid) { return o->remove_tracked(pid); };
    pd.now = mono_now;
    pd.deny_rule = [&deny](uint8_t gen, uint16_t rule) { return deny.rule_at(gen, rule); };
    pd.deny_covering = [&deny](pid_t pid) { return deny.covering(pid); };
    pd.alive = [root = opts.proc_root](pid_t pid, uint64_t start_ticks) {
        auto st = proc::read_stat(root, pid);
        if (!st || st->state == 'Z' || st->state == 'X') return false;
        return start_ticks == 0 || st->start_time_ticks == start_ticks;
    };
    pd.probe_jvm = [jvm_probes, root = opts.proc_root,
                    off = std::string(cfg.observer.jvm_probes ? "the uprobe programs did not load"
                                                              : "observer.jvm_probes is false")](
                       pid_t pid, const jvm::JvmProcess& j) {
        if (!jvm_probes) {
            JvmVisibility v;
            v.why = "JVM-side probes are off: " + off;
            return v;
        }
        return jvm_probes->ensure(root, pid, j);
    };
    EventProcessor proc(pc, pd);
    if (metrics) proc.add_listener(metrics->census());
    proc.add_listener(&deny);

    auto& hooks = daemon_hooks();
    if (hooks.on_start) {
        DaemonServices s;
        s.sink = &alerts;
        s.own_attaches = &proc.own_attach_registry();
        s.add_listener = [&proc](JvmListener* l) { proc.add_listener(l); };
        s.agents_of = [&proc](pid_t pid, uint64_t start) { return proc.agents_of(pid, start); };
        s.config = &cfg;
        s.deep = cfg.observer.deep;
        hooks.on_start(s);
    }

    std::unique_ptr<FILE, int (*)(FILE*)> raw(nullptr, fclose);
    if (!opts.record_raw.empty()) {
        std::string why = "cannot open";
        safefs::UniqueFd fd = audit::open_own_file(opts.record_raw, 0600, "raw event file", &why);
        if (fd) raw.reset(fdopen(fd.get(), "a"));
        if (raw) fd.release();
        if (!raw) {
            spdlog::error("{}", why);
            if (hooks.on_stop) hooks.on_stop();
            sink.stop();
            return kDaemonSystemError;
        }
    }
    FILE* rawf = raw.get();
    auto on_event = [&proc, rawf](const jw_event_hdr* h, size_t size) {
        if (rawf)
            if (auto j = raw_event_to_json(h, size))
                fprintf(rawf, "%s\n", j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        proc.handle(h, size);
    };
    if (!obs->start(on_event, &err)) {
        spdlog::error("observer: {}", err);
        if (hooks.on_stop) hooks.on_stop();
        sink.stop();
        return kDaemonSystemError;
    }
    // Scan after the observer runs, so a JVM starting in between is seen by one or both
    // (the scan skips those the events already reported).  The workers inspect them,
    // so a hostile process cannot hold the start-up.
    size_t running = proc.scan_running(proc::list_pids(opts.proc_root), std::chrono::seconds(30));

    nlohmann::json hooks_json = nlohmann::json::object();
    for (const auto& h : obs->hooks()) hooks_json[std::string(observer::to_string(h.kind))] = h.hook;
    nlohmann::json start_ev = {{"type", "daemon.start"},
                               {"version", std::string(build_version())},
                               {"pid", getpid()},
                               {"deep", cfg.observer.deep},
                               {"config", opts.config_source},
                               {"audit_log", cfg.audit.log.empty() ? "-" : cfg.audit.log},
                               {"hooks", hooks_json},
                               {"jvms_running", running}};
    // Metrics are refreshed from here on by the main loop, once a second.
    auto refresh_metrics = [&] {
        metrics->refresh(proc.stats_event(kernel_counters(*obs), sink.dropped(), false, uptime(),
                                          sink.write_lost()),
                         sink.queued());
    };
    auto next_metrics = std::chrono::steady_clock::now();
    if (metrics) {
        std::vector<std::pair<std::string, std::string>> hooks_list;
        for (const auto& [kind, hook] : hooks_json.items()) hooks_list.emplace_back(kind, hook.get<std::string>());
        metrics->set_hooks(std::move(hooks_list));
        refresh_metrics();
        start_ev["metrics"] = metrics->address();
        spdlog::info("metrics: http://{}/metrics", metrics->address());
    }
    sink.emit(std::move(start_ev));
    sink.flush();
    SystemdNotifier notifier;
    notifier.ready("watching " + std::to_string(running) + " JVM(s) found at start");
    if (notifier.watchdog_interval().count() > 0)
        spdlog::info("systemd watchdog: {} ms, pinged while the event path runs",
                     notifier.watchdog_interval().count() / 1000);
    spdlog::info("watching: {} JVM(s) already running; audit stream to {}", running,
                 cfg.audit.log.empty() ? "stdout" : cfg.audit.log);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    auto next_stats = std::chrono::steady_clock::now() + std::chrono::seconds(cfg.audit.stats_interval_s);
    std::string stop_reason;
    while (stop_reason.empty()) {
        struct timespec ts{0, kTickMs * 1'000'000};
        int sig = sigtimedwait(&set, nullptr, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            stop_reason = sig == SIGTERM ? "SIGTERM" : "SIGINT";
            break;
        }
        if (sig == SIGHUP) {
            notifier.reloading();
            if (opts.config_path.empty()) {
                spdlog::info("SIGHUP: running with the embedded default config; nothing to reload");
                sink.emit({{"type", "daemon.reload"}, {"ok", true}, {"config", opts.config_source}});
            } else {
                std::string rerr;
                auto fresh = load_daemon_config(opts.config_path, hooks.parse_inject, &rerr);
                std::vector<std::string> notes;
                // Deny rules first: the only part that can still fail (globs resolved now).
                if (fresh && !deny.set_policy(fresh->alerts, &rerr, &notes)) fresh.reset();
                for (const auto& n : notes) spdlog::warn("{}", n);
                if (!fresh) {
                    spdlog::error("reload refused, keeping the running config: {}", rerr);
                    sink.emit({{"type", "daemon.reload"}, {"ok", false}, {"config", opts.config_source},
                               {"error", rerr}});
                } else {
                    // Inject and alert rules take effect on reload; audit/observer need a restart.
                    if (hooks.on_reload) hooks.on_reload(*fresh);
                    alerts.set_policy(fresh->alerts);
                    spdlog::info("reloaded {}", opts.config_path);
                    sink.emit({{"type", "daemon.reload"}, {"ok", true}, {"config", opts.config_source}});
                }
            }
            notifier.reloaded("configuration " + opts.config_source + " in effect");
        }
        proc.tick(mono_now());
        if (metrics && std::chrono::steady_clock::now() >= next_metrics) {
            next_metrics = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            refresh_metrics();
        }
        if (cfg.audit.stats_interval_s && std::chrono::steady_clock::now() >= next_stats) {
            next_stats += std::chrono::seconds(cfg.audit.stats_interval_s);
            auto stats = proc.stats_event(kernel_counters(*obs), sink.dropped(), false, uptime(),
                                          sink.write_lost());
            add_evidence_stats(stats, evidence.get());
            stats["alerts"] = alerts.stats_json();
            add_deny_stats(stats, deny, *obs);
            notifier.status(status_line(stats));
            sink.emit(std::move(stats));
        }
        // After tick(): a main loop stuck in the processor's lock stops the pings too.
        notifier.tick(obs->heartbeat(), std::chrono::steady_clock::now());
    }

    notifier.stopping("stopping (" + stop_reason + ")");
    spdlog::info("stopping ({})", stop_reason);
    // No probe placement may be running into the observer once it goes.
    bool keep_observer = jvm_probes && !jvm_probes->close(std::chrono::seconds(2));
    obs->stop();                 // drains the ring buffer, detaches the programs
    proc.stop_enrichment();      // bounded: workers stuck in a read are left behind
    proc.finish(mono_now());
    if (hooks.on_stop) hooks.on_stop();
    auto final_stats = proc.stats_event(kernel_counters(*obs), sink.dropped(), true, uptime(), sink.write_lost());
    add_evidence_stats(final_stats, evidence.get());
    final_stats["alerts"] = alerts.stats_json();
    add_deny_stats(final_stats, deny, *obs);
    sink.emit(std::move(final_stats));
    sink.emit({{"type", "daemon.stop"}, {"pid", getpid()}, {"reason", stop_reason}, {"uptime_s", uptime()}});
    sink.stop();                 // writes what is queued, fsyncs
    if (keep_observer) {
        spdlog::warn("a JVM-side probe placement is stuck; leaving the observer to the exit");
        (void)obs.release();
    }
    obs.reset();
    return kDaemonOk;
}

}  // namespace jvmwatch::daemon
