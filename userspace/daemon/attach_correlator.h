// Turns the evidence of one attach (trigger file, SIGQUIT, connect to .java_pid<N>,
// request bytes, reply, close or exit) by one attacher on one JVM into ONE `attach`
// record; a SIGQUIT that no connect follows within a window becomes a
// `thread_dump_request`.  Open correlations are bounded; the oldest is finalised early
// (and counted) when full.  Not thread-safe except for the OwnAttachRegistry methods:
// the caller serialises the on_*() and tick() calls.
//
// Nothing here reads /proc: identities come from the tables.  What they lack (a new
// attacher's exe and cmdline, whether an unknown target is a JVM) is asked of the
// enrichment workers, and a record whose identities are still being learnt is held
// back briefly when it is due (`closing`) and finalised when the answers arrive.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <vector>

#include "userspace/audit/event_sink.h"
#include "userspace/audit/wall_clock.h"
#include "userspace/daemon/attach_request.h"
#include "userspace/daemon/event_decoder.h"
#include "userspace/daemon/identity_cache.h"
#include "userspace/daemon/jvm_listener.h"
#include "userspace/daemon/jvm_table.h"
#include "userspace/daemon/process_table.h"
#include "userspace/policy/alert_rules.h"

namespace jvmwatch::daemon {

struct CorrelatorConfig {
    uint64_t sigquit_window_ns = 2'000'000'000;   // SIGQUIT/trigger with no connect after
    uint64_t attach_timeout_ns = 10'000'000'000;  // connected, attacher alive, silent
    size_t max_open = 1024;
    pid_t self_pid = 0;                           // attaches by it or its children are "self"
    uint32_t host_pidns = 0;                      // pid namespace of the host (0: unknown)
    uint32_t host_mntns = 0;                      // mount namespace of the host (0: unknown)
    uint64_t own_expect_ttl_ns = 120'000'000'000; // forget an announced own attach after
    size_t max_own_expected = 1024;
};

struct CorrelatorStats {
    uint64_t attach_records = 0;
    uint64_t thread_dump_records = 0;
    uint64_t evicted = 0;              // finalised early because max_open was reached
    uint64_t orphan_socket_events = 0; // data/close with no open correlation
    uint64_t sigquit_not_jvm = 0;      // SIGQUITs to processes that are not JVMs
    uint64_t jvm_requests = 0;         // requests the JVM side reported
    uint64_t alias_attaches = 0;       // ... whose peer made no .java_pid connect seen
    uint64_t self_attaches = 0;        // ... whose peer was the JVM or a descendant
    uint64_t jvm_requests_unknown_peer = 0; // ... whose socket named no peer
};

class AttachCorrelator : public OwnAttachRegistry {
public:
    struct Deps {
        ProcessTable* procs;
        JvmTable* jvms;
        UserNameCache* users;
        audit::EventSink* sink;
        audit::WallClock clock;
        // Ask enrichment workers about a pid (want_jvm: also whether it is a JVM).
        std::function<void(pid_t, bool want_jvm)> enrich;
        // Whether enrichment of a pid is under way.
        std::function<bool(pid_t)> pending;
        // What enrichment concluded about a pid that is not in the JVM table: true when
        // it is not a JVM or is gone (a SIGQUIT to it is no thread-dump request).
        std::function<bool(pid_t)> not_jvm;
        // Ask the kernel to report this pid's exit (attachers).
        std::function<void(pid_t)> track;
        // CLOCK_MONOTONIC now (tests pass their own).
        std::function<uint64_t()> now;
        // Whether the process (pid, start ticks; 0 = any) still runs.  The kernel reports
        // exits of tracked processes only, and an attacher may exit before userspace
        // asked to track it: the timer then notices it is gone.  May be empty.
        std::function<bool(pid_t, uint64_t)> alive;
        // Deny rules (DenyTable): the rule a connect event's (generation, index) names,
        // and the first rule covering a JVM.  May be empty.
        std::function<std::optional<policy::DenyRuleRef>(uint8_t, uint16_t)> deny_rule;
        std::function<std::optional<policy::DenyRuleRef>(pid_t)> deny_covering;
    };
    AttachCorrelator(CorrelatorConfig cfg, Deps deps);

    void on_trigger(const TriggerRecord& e);
    void on_sigquit(const SigquitRecord& e);
    void on_connect(const ConnectRecord& e);
    void on_sock_data(const SockDataRecord& e);
    void on_close(const SockCloseRecord& e);
    // JVM side: a request the JVM's attach listener read, with its real peer.  Joins the
    // peer's open record on that JVM; a peer with no record there reached the socket by
    // another name (symlink, hard link, renamed socket, passed fd): a record is opened,
    // flagged "alias".
    void on_jvm_attach(const JvmAttachRecord& e);
    // JVM side: a diagnostic command run for an attach joins that attach's record.
    void on_jvm_dcmd(const JvmDcmdRecord& e);
    // JVM side: the result code of the operation that thread just ran.
    void on_jvm_result(const JvmResultRecord& e);
    // The attacher whose request JVM `target` is serving on thread `tid` now (an agent
    // load on the attach listener thread), 0 if none; `agent` is added to its record.
    pid_t attach_on_thread(pid_t target, pid_t tid, const nlohmann::json& agent);
    void on_exit(pid_t pid, uint64_t ts_ns);
    // Enrichment of pid finished: finalises the records that waited for it.
    void on_enriched(pid_t pid);
    // Finalises what timed out (and own attaches announced done).
    void tick(uint64_t now_ns);
    // Finalises everything (daemon stop).
    void finish_all(uint64_t now_ns);

    // OwnAttachRegistry (thread-safe).
    void expect_own_attach(pid_t target_pid, const std::string& rule_name) override;
    void own_attach_done(pid_t target_pid) override;

    size_t open_count() const { return open_.size(); }
    const CorrelatorStats& stats() const { return stats_; }
    // Announced own attaches forgotten because max_own_expected was reached.
    uint64_t own_expect_dropped() const { return own_expect_dropped_.load(); }

private:
    struct Evidence {
        bool trigger = false, sigquit = false, connect = false, request = false, reply = false,
             close = false, jvm_request = false;
    };
    // One request as the JVM read it.
    struct JvmRequest {
        uint64_t ts = 0;
        pid_t tid = 0;                   // the JVM thread serving it
        std::string thread;
        std::string op;
        std::vector<std::string> args;
        uint32_t arg_count = 0;
        uint32_t layout = 0;
        bool op_read = false;
        uid_t peer_uid = 0;
        gid_t peer_gid = 0;
        std::string dcmd_source;         // a jcmd's diagnostic command, as run
        std::string dcmd;
        std::optional<int32_t> result;   // the handler's result code
    };
    static constexpr size_t kMaxJvmRequests = 8;
    static constexpr size_t kMaxRecordAgents = 8;
    struct Correlation {
        pid_t attacher = 0;
        ProcessInfo who;                 // snapshot at first evidence
        pid_t target_pid = 0;            // host pid, 0 if unresolved
        pid_t target_nspid = 0;
        std::string target_resolved_by;
        Evidence ev;
        uint64_t first_ts = 0, last_ts = 0;
        int32_t fd = -1;
        unsigned connects = 0;           // connections merged into this record
        bool conn_open = false;          // a connection is open now
        std::string socket_path, trigger_path;
        int32_t signal_result = 0;
        RequestAssembler request;
        ReplyAssembler reply;
        bool attacher_exited = false;
        bool target_unverified = false;  // target pid not known to be a JVM yet
        bool closing = false;            // due, waiting for enrichment (close_why/close_ts)
        std::vector<JvmRequest> jvm_requests;   // JVM side, oldest first (bounded)
        uint32_t jvm_requests_dropped = 0;
        bool alias = false;              // the JVM read its request, no .java_pid connect seen
        const char* alias_via = "";      // "other_name", or "passed_fd" (the peer had exited)
        bool self_attach = false;        // the peer is the target JVM or its descendant
        uint8_t deny_verdict = 0;        // the strongest verdict of its connects (jw_deny_verdict)
        uint8_t deny_gen = 0;
        uint16_t deny_rule = 0;
        nlohmann::json agents = nlohmann::json::array();   // agent loads it caused
        const char* close_why = "";
        uint64_t close_ts = 0, closing_since = 0;
    };
    using Iter = std::list<Correlation>::iterator;

    Iter open_for(const Actor& who, pid_t target_pid, pid_t target_nspid, bool want_unconnected);
    Iter create(const Actor& who, uint64_t ts);
    Iter connected_of(pid_t attacher, int32_t fd);
    struct Resolved { pid_t pid = 0; std::string how; bool unverified = false; };
    Resolved resolve_target(const Actor& caller, pid_t nspid, const std::string& path);
    // Finalises now, or marks the record closing while its identities are being learnt.
    void finalize(Iter it, const char* why, uint64_t end_ts);
    void finalize_now(Iter it, const char* why, uint64_t end_ts);
    bool waiting(const Correlation& c) const;
    // Connected: a connect was seen on either side.
    static bool connected(const Correlation& c) { return c.ev.connect || c.ev.jvm_request; }
    nlohmann::json jvm_side_json(const Correlation& c) const;
    void refresh_identities(Correlation& c);
    nlohmann::json target_json(const Correlation& c);
    nlohmann::json attacher_json(const Correlation& c);
    std::string own_rule(const Correlation& c, bool* is_self);
    void policy_json(const Correlation& c, nlohmann::json& ev);

    CorrelatorConfig cfg_;
    Deps d_;
    std::list<Correlation> open_;        // oldest first
    CorrelatorStats stats_;

    struct OwnExpect { std::string rule; uint64_t since_ns = 0; uint64_t done_ns = 0; };
    std::mutex own_mu_;
    std::map<pid_t, OwnExpect> own_;     // guarded by own_mu_
    std::atomic<uint64_t> own_expect_dropped_{0};
};

}  // namespace jvmwatch::daemon
