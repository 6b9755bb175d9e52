// The daemon's event path: decodes each raw observer event, keeps the process and JVM
// tables, emits jvm.start / jvm.exit, feeds the attach correlator, and tells JVM
// listeners (the injector) about lifecycles.  Thread-safe: the observer's consumer
// thread calls handle(), a timer thread calls tick() and stats_event(), enrichment
// workers deliver their results; one mutex.
//
// The event path never blocks and never opens a file another user controls: handle()
// decodes, updates the tables, correlates and emits from what the kernel reported.
// Everything /proc or a JDK's files would add (exe, cmdline, maps, release, environ,
// cgroup path, user names) is asked of a bounded worker pool (enricher.h).  A JVM's
// jvm.start is emitted when its enrichment answers (or fails, or times out: then with
// what is known and an `enrichment` field saying what is missing and why), and always
// before its jvm.exit.  Listeners hear on_jvm_started after enrichment.
// Nothing here blocks on output: events go to an EventSink that never waits.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "userspace/artifacts/agent_artifact.h"
#include "userspace/artifacts/evidence_store.h"
#include "userspace/audit/event_sink.h"
#include "userspace/audit/wall_clock.h"
#include "userspace/daemon/attach_correlator.h"
#include "userspace/daemon/enricher.h"
#include "userspace/daemon/event_decoder.h"
#include "userspace/daemon/identity_cache.h"
#include "userspace/daemon/jvm_listener.h"
#include "userspace/daemon/jvm_table.h"
#include "userspace/daemon/process_table.h"

namespace jvmwatch::daemon {

struct ProcessorConfig {
    std::string proc_root = "/proc";
    size_t max_processes = 16384;
    size_t max_jvms = 4096;
    size_t max_cgroups = 4096;
    size_t max_users = 1024;
    CorrelatorConfig correlation;
    EnrichConfig enrichment;
    artifacts::ArtifactLimits artifacts;        // agent files (config artifacts:)
};

struct ProcessorDeps {
    audit::EventSink* sink = nullptr;
    audit::WallClock clock;
    // Run on enrichment workers only (empty: the real /proc readers on proc_root).
    JvmInspector inspect;                       // jvm::inspect on proc_root in the daemon
    std::function<std::optional<ProcessInfo>(pid_t)> read_process;
    std::function<std::string(uid_t)> user_name;
    std::function<bool(pid_t)> track;           // Observer::add_tracked
    std::function<bool(pid_t)> untrack;         // Observer::remove_tracked
    std::function<uint64_t()> now;              // CLOCK_MONOTONIC ns
    std::function<bool(pid_t, uint64_t)> alive; // process (pid, start ticks) still runs
    // Enrichment workers: places the JVM-side probes for a JVM's JDK (JvmProbeManager).
    std::function<JvmVisibility(pid_t, const jvm::JvmProcess&)> probe_jvm;
    std::shared_ptr<artifacts::EvidenceStore> evidence;  // null: no evidence copies
    // Deny rules (DenyTable::rule_at, DenyTable::covering); may be empty.
    std::function<std::optional<policy::DenyRuleRef>(uint8_t, uint16_t)> deny_rule;
    std::function<std::optional<policy::DenyRuleRef>(pid_t)> deny_covering;
};

// What the kernel side reports (Observer::stats()), passed in for the stats event.
struct KernelCounters {
    uint64_t events = 0, ringbuf_drops = 0, tracked_full = 0, received = 0, malformed = 0;
    // Exec identities kept in the kernel (docs/observer.md): execs seen, identities sent,
    // not stored (map update failed), missing for a reported process; milestone repeats
    // suppressed, milestone map failures; deep-mode socket map failures.
    uint64_t execs = 0, identity_sent = 0, identity_full = 0, identity_miss = 0;
    uint64_t milestone_repeats = 0, milestone_full = 0, deep_map_full = 0;
    uint64_t jvm_pending_miss = 0;   // JVM side: a request lost (map full or evicted)
};

class EventProcessor {
public:
    EventProcessor(ProcessorConfig cfg, ProcessorDeps deps);
    ~EventProcessor();
    EventProcessor(const EventProcessor&) = delete;
    EventProcessor& operator=(const EventProcessor&) = delete;

    // One raw ring-buffer record.
    void handle(const void* data, size_t size);
    // One decoded record (fixtures feed these).
    void handle(const Record& r);
    // JVMs already running at start: each pid is inspected by the enrichment workers
    // (so a hostile process stalls one worker for its budget, not the daemon) and each
    // JVM found gets jvm.start with existing=true.  Waits (not on the event thread) for
    // the answers, at most `max_wait`; later answers are still reported.  Returns how
    // many JVMs were found within it.
    size_t scan_running(const std::vector<pid_t>& pids, std::chrono::milliseconds max_wait);
    void tick(uint64_t now_ns);
    // Stops the enrichment workers (waiting at most `grace` for stuck ones).  Call
    // after the observer stopped and before finish(); never from a listener.
    void stop_enrichment(std::chrono::milliseconds grace = std::chrono::milliseconds(500));
    // Finalises open correlations and reports JVMs still waiting for enrichment (stop).
    void finish(uint64_t now_ns);
    // Tests: waits until the enrichment workers are idle.
    bool wait_enrichment_idle(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    EnrichStats enrichment_stats() const { return enricher_.stats(); }

    // Listeners are called under the processor's lock: they must not block.
    void add_listener(JvmListener* l);
    OwnAttachRegistry& own_attach_registry() { return correlator_; }
    // The agents JVM (pid, start ticks; 0 = any) carries now; nullopt if it is not known.
    // Thread-safe (takes the processor's lock briefly).
    std::optional<AgentInventory> agents_of(pid_t pid, uint64_t start_ticks = 0);

    // A `stats` event body (without envelope): cumulative counters.
    // sink_dropped: writer queue full; sink_write_lost: in batches the output refused.
    nlohmann::json stats_event(const KernelCounters& k, uint64_t sink_dropped, bool final,
                               double uptime_s, uint64_t sink_write_lost = 0);

private:
    void report_start(JvmInfo& j, const std::string& missing_reason);
    void on_enriched(EnrichResult r);
    void request(pid_t pid, uint64_t start_ticks, bool want_jvm, const char* purpose,
                 int milestone = -1);
    void on_exec(const ExecRecord& e);
    void on_thread_name(const ThreadNameRecord& e);
    void on_exit(const ExitRecord& e);
    void emit_jvm_exit(const JvmInfo& j, const ExitRecord* e);
    void on_jvm_agent(const JvmAgentRecord& e);
    void on_jvm_dcmd(const JvmDcmdRecord& e);
    void on_agent_inspected(const EnrichResult& r);
    bool track(pid_t pid);

    // agent.load events waiting for their file's facts from a worker (bounded).
    struct PendingAgent {
        pid_t pid = 0;
        std::string path;
        nlohmann::json event;
    };
    static constexpr size_t kMaxPendingAgents = 256;
    std::list<PendingAgent> pending_agents_;
    uint64_t agent_loads_ = 0, agent_loads_uninspected_ = 0, dcmds_ = 0;

    ProcessorConfig cfg_;
    ProcessorDeps d_;
    std::recursive_mutex mu_;
    CgroupPathCache cgroups_;
    UserNameCache users_;
    ProcessTable procs_;
    JvmTable jvms_;
    AttachCorrelator correlator_;
    std::vector<JvmListener*> listeners_;
    // What enrichment said of pids looked up as possible JVMs (bounded).
    LruMap<pid_t, EnrichResult::Status> verdicts_{4096};
    // Last: destroyed first, so no result arrives into destroyed tables.
    Enricher enricher_;

    std::array<uint64_t, 16> by_type_{};   // by Record index
    uint64_t decoded_ = 0, malformed_ = 0, jvm_starts_ = 0, jvm_exits_ = 0, track_failed_ = 0;
    uint64_t jvm_exits_unreported_ = 0, last_sweep_ns_ = 0;
    // The start-up scan (guarded by mu_; scan_cv_ with scan_mu_ for the waiting thread).
    size_t scan_outstanding_ = 0, scan_found_ = 0;
    std::mutex scan_mu_;
    std::condition_variable scan_cv_;
};

}  // namespace jvmwatch::daemon
