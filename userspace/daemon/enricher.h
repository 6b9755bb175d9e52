// A bounded pool of workers that learns what the event path must not read itself: a
// process's exe, cmdline, cgroup path and user name, and whether it is a JVM (maps,
// JAVA_HOME/release, environ).  Those reads can block (a FUSE or NFS mount, a process's
// mmap lock) and their files belong to other users, so the event thread only asks and
// goes on; results come back through a callback.
//
// Bounded everywhere: a fixed queue (beyond it requests are dropped and counted), jobs
// deduplicated per (pid, start time, kind), a fixed number of workers.  Each job has a
// time budget: a worker stuck past it (in a read that never returns) is abandoned, its
// job reported as timed out, and a fresh worker replaces it, up to a bound; whatever the
// abandoned worker returns later is discarded.  Negative results (not a JVM) are cached
// per (pid, start time).  stop() returns within its grace period even while workers are
// stuck.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "attach/jvm_process.h"
#include "userspace/daemon/process_table.h"
#include "userspace/daemon/jvm_visibility.h"
#include "userspace/daemon/static_agents.h"

namespace jvmwatch::daemon {

struct EnrichConfig {
    unsigned workers = 2;
    size_t queue_size = 1024;
    uint64_t budget_ms = 2000;          // per job; past it the worker is abandoned
    unsigned max_abandoned = 16;        // replacements for abandoned workers, in all
    size_t negative_cache = 4096;       // (pid, start time) known not to be JVMs
    uint64_t negative_recheck_ms = 5000;// a pid whose start time is unknown: trust this long
};

// What the asker wants learnt.  Jobs with the same (pid, start_ticks, want_jvm) are one.
struct EnrichJob {
    pid_t pid = 0;
    uint64_t start_ticks = 0;           // 0: unknown (the answer carries the real one)
    bool want_jvm = false;              // also tell whether it is a JVM (jvm::inspect)
    std::string purpose;                // "exec", "vm_thread", "lookup", "libjvm", "process"
    int milestone = -1;                 // the milestone that caused a vm_thread lookup
    std::string agent_path;             // purpose "agent": the agent file to inspect
    std::string agent_kind;             // ... "java" or "native"
};

struct EnrichResult {
    enum class Status { ok, not_jvm, gone, failed, timed_out };
    EnrichJob job;
    Status status = Status::failed;
    std::optional<ProcessInfo> process; // /proc facts (exe, cmdline, cgroup, namespaces)
    std::optional<jvm::JvmProcess> jvm; // when want_jvm and it is a JVM (or not_jvm facts)
    std::optional<StaticAgents> agents; // a JVM's command-line agents, hashed (static_agents.h)
    std::optional<JvmVisibility> visibility; // a JVM's: JVM-side probes placed (jvm_probe_manager.h)
    std::optional<StaticAgent> agent;   // purpose "agent": the file's facts as the JVM sees it
    std::string user;                   // passwd name of the process's uid, if learnt
    std::string why;                    // failed / timed_out: one short reason
};
const char* to_string(EnrichResult::Status s);

struct EnrichStats {
    uint64_t queued = 0;                // accepted requests
    uint64_t done = 0;                  // jobs answered (any status but timed_out)
    uint64_t failed = 0;                // ... of which failed or gone
    uint64_t timed_out = 0;             // past the budget, or waited too long in the queue
    uint64_t dropped = 0;               // queue full
    uint64_t deduplicated = 0;          // same job already queued or running
    uint64_t abandoned_workers = 0;
    uint64_t late_results_discarded = 0;// abandoned workers that came back
    uint64_t negative_hits = 0;         // requests answered by the negative cache
    uint64_t workers = 0;               // live (not abandoned) workers now
    uint64_t queue = 0;                 // jobs waiting now
};

class Enricher {
public:
    using Work = std::function<EnrichResult(const EnrichJob&)>;
    using Deliver = std::function<void(EnrichResult)>;

    // `work` runs on the workers and must not refer to anything that may be destroyed
    // before it returns (an abandoned worker may return after the Enricher is gone).
    // `deliver` is called from a worker or the watchdog, never with the Enricher's lock
    // held, and never after stop() returned.
    Enricher(EnrichConfig cfg, Work work, Deliver deliver);
    ~Enricher();
    Enricher(const Enricher&) = delete;
    Enricher& operator=(const Enricher&) = delete;

    void start();

    enum class Submit { queued, duplicate, known_not_jvm, dropped, stopped };
    // Never blocks.
    Submit request(const EnrichJob& job);
    // Whether a job for pid is queued or running.
    bool pending(pid_t pid) const;
    // Whether (pid, start_ticks) is known not to be a JVM (start 0: recently checked).
    bool known_not_jvm(pid_t pid, uint64_t start_ticks) const;
    // Drops what the negative cache holds for pid (it exec'd: a new program).
    void forget(pid_t pid);

    // Stops taking jobs and waits up to `grace` for running ones; stuck workers are left
    // behind (detached).  No delivery happens after it returns.  Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(500));
    // Tests: waits until nothing is queued, running or being delivered.
    bool wait_idle(std::chrono::milliseconds timeout);

    EnrichStats stats() const;

    struct State;   // shared with the threads (enricher.cc)

private:
    std::shared_ptr<State> s_;
};

}  // namespace jvmwatch::daemon
