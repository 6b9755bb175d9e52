// The daemon's event path: decodes each raw observer event, keeps the process and JVM
// tables, emits jvm.start / jvm.exit, feeds the attach correlator, and tells JVM
// listeners (the injector) about lifecycles.  Thread-safe: the observer's consumer
// thread calls handle(), a timer thread calls tick() and stats_event(); one mutex.
// Nothing here blocks on output: events go to an EventSink that never waits.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "userspace/audit/event_sink.h"
#include "userspace/audit/wall_clock.h"
#include "userspace/daemon/attach_correlator.h"
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
};

struct ProcessorDeps {
    audit::EventSink* sink = nullptr;
    audit::WallClock clock;
    JvmInspector inspect;                       // jvm::inspect on proc_root in the daemon
    std::function<bool(pid_t)> track;           // Observer::add_tracked
    std::function<bool(pid_t)> untrack;         // Observer::remove_tracked
    std::function<uint64_t()> now;              // CLOCK_MONOTONIC ns
    std::function<bool(pid_t, uint64_t)> alive; // process (pid, start ticks) still runs
};

// What the kernel side reports (Observer::stats()), passed in for the stats event.
struct KernelCounters {
    uint64_t events = 0, ringbuf_drops = 0, tracked_full = 0, received = 0, malformed = 0;
    // Exec identities kept in the kernel (docs/observer.md): execs seen, identities sent,
    // not stored (map update failed), missing for a reported process; milestone repeats
    // suppressed, milestone map failures; deep-mode socket map failures.
    uint64_t execs = 0, identity_sent = 0, identity_full = 0, identity_miss = 0;
    uint64_t milestone_repeats = 0, milestone_full = 0, deep_map_full = 0;
};

class EventProcessor {
public:
    EventProcessor(ProcessorConfig cfg, ProcessorDeps deps);

    // One raw ring-buffer record.
    void handle(const void* data, size_t size);
    // One decoded record (fixtures feed these).
    void handle(const Record& r);
    // JVMs already running at start: jvm.start with existing=true.  Returns how many.
    size_t adopt_running(const std::vector<jvm::JvmProcess>& jvms);
    void tick(uint64_t now_ns);
    void finish(uint64_t now_ns);                // finalise open correlations (stop)

    // Listeners are called under the processor's lock: they must not block.
    void add_listener(JvmListener* l);
    OwnAttachRegistry& own_attach_registry() { return correlator_; }

    // A `stats` event body (without envelope): cumulative counters.
    // sink_dropped: writer queue full; sink_write_lost: in batches the output refused.
    nlohmann::json stats_event(const KernelCounters& k, uint64_t sink_dropped, bool final,
                               double uptime_s, uint64_t sink_write_lost = 0);

private:
    const JvmInfo* jvm_at(pid_t pid, const char* detected_by, uint64_t ts);
    JvmInfo* add_jvm(const jvm::JvmProcess& p, const char* detected_by, uint64_t exec_ts,
                     uint64_t cgroup_id, uint32_t pidns, uint32_t mntns, bool existing);
    void on_exec(const ExecRecord& e);
    void on_thread_name(const ThreadNameRecord& e);
    void on_exit(const ExitRecord& e);
    void emit_jvm_exit(const JvmInfo& j, const ExitRecord* e);
    bool track(pid_t pid);

    ProcessorConfig cfg_;
    ProcessorDeps d_;
    std::recursive_mutex mu_;
    CgroupPathCache cgroups_;
    UserNameCache users_;
    ProcessTable procs_;
    JvmTable jvms_;
    AttachCorrelator correlator_;
    std::vector<JvmListener*> listeners_;

    std::array<uint64_t, 16> by_type_{};
    uint64_t decoded_ = 0, malformed_ = 0, jvm_starts_ = 0, jvm_exits_ = 0, track_failed_ = 0;
    uint64_t jvm_exits_unreported_ = 0, last_sweep_ns_ = 0;
};

}  // namespace jvmwatch::daemon
