// What the local API serves (docs/api.md), derived one way from the daemon's event
// stream: a bounded ring of recent events, a bounded per-JVM view (agents, injection,
// last attach, visibility) and the daemon's status.  Fed and read on the API's own
// thread only (api_server.h): no locks, and nothing here is on the event path.
// Every string comes from events, i.e. from other users' processes: each is capped in
// size here and escaped by whoever prints it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace jvmwatch::api {

struct StateLimits {
    size_t events_ring = 10000;     // recent events kept
    size_t max_jvms = 4096;         // JVMs in the view; beyond, new ones are not shown (counted)
    size_t max_agents = 16;         // agents per JVM (static + dynamic); beyond, counted
    size_t max_string = 512;        // bytes of any one string kept (cut at a UTF-8 boundary)
};

struct AgentView {
    std::string kind;       // java | native
    std::string path;       // jar or library (a -agentlib name)
    std::string options;
    std::string source;     // static (command line) | attach | jmx | internal | in_process | inject
    std::string sha256;     // first 12 hex digits, when the event carried a hash
    std::string time;       // dynamic: when loaded
    std::optional<int64_t> result_code;   // attach: the JVM's result code, if it replied
};

struct JvmView {
    pid_t pid = 0;
    uint64_t start_time_ticks = 0;
    std::string started;    // event time of jvm.start (exec_time when known)
    std::string user, main, jdk, container_id, exe;
    uint32_t uid = 0;
    std::vector<AgentView> agents;
    uint64_t agents_dropped = 0;
    std::optional<nlohmann::json> injection;    // {rule, outcome, time}
    std::optional<nlohmann::json> last_attach;  // {attacher: {pid, comm, exe, user}, op, args, time, outcome, result_code}
    std::string visibility = "client";          // "jvm": its JDK's libraries are probed (jvm.start)
};

// One event kept in the ring, with what the filters need.
struct RingEntry {
    uint64_t index = 0;      // 1, 2, 3, ... in arrival order (a follow cursor)
    int64_t time_ns = 0;     // the event's "time"
    std::string type;
    std::vector<pid_t> pids; // jvm.pid, target.pid, attacher.pid
    std::string line;        // the event as one JSON line (no newline)
};

struct EventFilter {
    std::string type;                  // "" = any; "inject." = every inject.* type
    std::optional<pid_t> pid;          // the JVM, target or attacher
    std::optional<int64_t> since_ns;   // events at or after
    bool matches(const RingEntry& e) const;
};

class ApiState {
public:
    explicit ApiState(StateLimits limits = {}, int64_t started_mono_ns = 0);

    void consume(const nlohmann::json& event);

    // `ps`: JVMs by pid.
    nlohmann::json ps_json() const;
    // `status`: uptime from the monotonic clock `now_mono_ns`.
    nlohmann::json status_json(int64_t now_mono_ns) const;

    const std::deque<RingEntry>& ring() const { return ring_; }
    uint64_t next_index() const { return next_index_; }
    // First ring position whose index >= `index`.
    size_t position_of(uint64_t index) const;

    const std::map<pid_t, JvmView>& jvms() const { return jvms_; }
    uint64_t ring_evicted() const { return ring_evicted_; }
    uint64_t jvms_dropped() const { return jvms_dropped_; }
    // Events the hand-off dropped before they reached this state (api_feed.h).
    void set_feed_dropped(uint64_t n) { feed_dropped_ = n; }
    void set_clients(size_t now, uint64_t refused, uint64_t dropped) {
        clients_ = now; clients_refused_ = refused; clients_dropped_ = dropped;
    }

private:
    std::string cap(const nlohmann::json& v) const;   // a string field, capped ("" if absent)
    void on_jvm_start(const nlohmann::json& ev);
    void on_attach(const nlohmann::json& ev);
    void on_agent_load(const nlohmann::json& ev);
    void on_inject(const nlohmann::json& ev, const std::string& type);
    void add_agent(JvmView& j, AgentView a);
    void add_static_agents(JvmView& j, const nlohmann::json& cmdline);

    StateLimits limits_;
    int64_t started_mono_ns_;
    std::deque<RingEntry> ring_;
    uint64_t next_index_ = 1;
    uint64_t ring_evicted_ = 0, jvms_dropped_ = 0, feed_dropped_ = 0;
    size_t clients_ = 0;
    uint64_t clients_refused_ = 0, clients_dropped_ = 0;
    std::map<pid_t, JvmView> jvms_;
    nlohmann::json daemon_ = nlohmann::json::object();   // from daemon.start / daemon.reload
    nlohmann::json stats_;                                // the latest stats event
};

}  // namespace jvmwatch::api
