// The auto-attach injector: the daemon's JvmListener that decides, per the policy, which
// agent goes into each new JVM, and attaches it through the engine as early as is safe
// (once the JVM's "Signal Dispatch" thread exists: its SIGQUIT handler and dispatcher are
// up), exactly once per JVM (pid + start time; persisted in the StateStore, also across a
// crash), reporting every decision as an audit event.
//
// Threads: the listener calls only update a bounded table and post jobs (never block).
// One decider thread matches rules (reads /proc), `max_in_flight` workers attach; both
// queues are bounded and every drop is counted and reported (inject.skipped overloaded).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "jvmwatch/attach.h"
#include "userspace/audit/event_sink.h"
#include "userspace/daemon/jvm_listener.h"
#include "userspace/daemon/jvm_table.h"
#include "userspace/inject/agent_store.h"
#include "userspace/inject/inject_events.h"
#include "userspace/inject/state_store.h"
#include "userspace/inject/timed_queue.h"
#include "userspace/policy/policy.h"

namespace jvmwatch::inject {

using AttachFn =
    std::function<attach::Result(pid_t, const attach::Request&, const attach::Options&)>;

struct InjectorDeps {
    audit::EventSink* sink = nullptr;               // required
    daemon::OwnAttachRegistry* registry = nullptr;  // optional
    AttachFn attach;                                // default: attach::run
    std::string proc_root = "/proc";
    size_t max_tracked = 8192;                      // JVMs followed at once
    size_t queue_capacity = 4096;                   // per queue
    // The thread whose presence says VM initialisation is over (a java agent load
    // before that fails on JDK 17); "" = don't wait (tests with fake JVMs).
    std::string vm_initialized_thread = "VM Periodic Tas";
    // Who must own agent files and their directories (root; tests running unprivileged
    // use their own uid), checked again at every attach.
    uid_t agent_owner = 0;
    // The agents a JVM carries (the daemon's inventory); unset or nullopt: unknown, the
    // JVM is injected without the already_present/conflict checks (inject.ok says so).
    std::function<std::optional<daemon::AgentInventory>(pid_t, uint64_t start_ticks)> agents_of;
};

struct InjectorStats {
    uint64_t matched = 0, ok = 0, failed = 0, skipped = 0, dropped = 0, retries = 0;
    uint64_t journal_lines_skipped = 0;  // malformed journal lines ignored at start
};

class Injector : public daemon::JvmListener {
public:
    // Opens the state store in policy->state_dir and starts the threads.
    static std::unique_ptr<Injector> create(std::shared_ptr<const policy::Policy> policy,
                                            InjectorDeps deps, std::string* error);
    ~Injector() override;
    Injector(const Injector&) = delete;
    Injector& operator=(const Injector&) = delete;

    void on_jvm_started(const jvm::JvmProcess& jvm, uint64_t exec_ts_ns, bool existing) override;
    void on_jvm_milestone(pid_t pid, uint64_t start_time_ticks, int milestone,
                          uint64_t ts_ns) override;
    void on_jvm_exited(pid_t pid, uint64_t start_time_ticks) override;

    // A reloaded policy: rules, dry_run, rate_limit and include_existing apply to JVMs
    // decided from now on; max_in_flight and state_dir only at the next start (returns
    // a note saying so, or "").
    std::string set_policy(std::shared_ptr<const policy::Policy> policy);
    std::shared_ptr<const policy::Policy> policy() const;

    // Where the agent store keeps its copies (STATE_DIR/agents).
    const AgentStore& agent_store() const { return *agents_; }

    // Waits for running attaches, drops pending ones, marks a clean stop.  Idempotent.
    void shutdown();
    InjectorStats stats() const;

private:
    // waiting: for the rule's milestone; init_wait: Signal Dispatch is up but the VM is
    // still initialising (a load now fails), re-checked at the JVM's next thread event.
    enum class Phase { unknown, deciding, waiting, scheduled, init_wait, attaching, finished };
    struct Tracked {
        JvmKey key;
        std::optional<jvm::JvmProcess> jvm;
        uint64_t exec_ts_ns = 0;
        bool existing = false;
        bool milestones[8] = {};
        Phase phase = Phase::unknown;
        std::shared_ptr<const policy::Policy> policy;  // keeps `rule` alive across reloads
        const policy::Rule* rule = nullptr;
        uint32_t attempts = 0;
        std::optional<TimedQueue::Clock::time_point> rate_wait_since;
        std::optional<TimedQueue::Clock::time_point> init_wait_since;
        bool agents_known = false;     // the already_present/conflict checks ran
    };

    Injector(std::shared_ptr<const policy::Policy> policy, InjectorDeps deps,
             std::unique_ptr<StateStore> store, std::unique_ptr<AgentStore> agents);
    Tracked* find(const JvmKey& k);        // mu_ held
    Tracked* track(const JvmKey& k);       // mu_ held; nullptr when the table is full
    void maybe_schedule(Tracked& t);       // mu_ held
    void finish(const JvmKey& k);
    void decide(JvmKey k, bool again = false);  // again: re-run after a wait, no new "matched"
    void attach_job(JvmKey k);
    bool confirm_loaded(const jvm::JvmProcess& j, const policy::Rule& r,
                        const std::optional<StateEntry>& persisted, std::string* host_path);
    void skipped(const jvm::JvmProcess& j, const policy::Rule* r, SkipReason why,
                 const std::string& detail = "");
    void emit(nlohmann::json ev);

    InjectorDeps deps_;
    std::unique_ptr<StateStore> store_;
    std::unique_ptr<AgentStore> agents_;
    mutable std::mutex mu_;
    std::shared_ptr<const policy::Policy> policy_;
    std::unordered_map<pid_t, Tracked> table_;
    RateLimiter limiter_;
    mutable std::mutex stats_mu_;
    InjectorStats stats_;
    std::atomic<bool> stopping_{false};
    bool shut_down_ = false;
    // Last members: their threads stop before the state above is destroyed.
    TimedQueue decider_;
    TimedQueue workers_;
};

}  // namespace jvmwatch::inject
