// The JVMs the daemon knows, keyed by host pid (checked against start time): identity
// from the exec event, completed by enrichment (jvm::inspect() on a worker) with JDK,
// cgroup and user name.  Bounded; evictions counted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attach/jvm_process.h"
#include "userspace/daemon/jvm_visibility.h"
#include "userspace/daemon/lru_map.h"
#include "userspace/daemon/static_agents.h"

namespace jvmwatch::daemon {

// An agent loaded into a running JVM, as the JVM-side probes saw it.
struct DynamicAgent {
    uint64_t ts_ns = 0;
    pid_t tid = 0;                   // the JVM thread that loaded it
    std::string kind;                // "java" (a jar through libinstrument), "native" or "lib"
    std::string path;                // jar or library as the JVM was asked to load it
    std::string options;
    std::string origin;              // "attach", "jmx", "internal" or "in_process"
    pid_t attacher = 0;              // origin "attach": the connecting process
    std::string sha256;              // once the file was inspected ("" before / failed)
};
constexpr size_t kMaxDynamicAgents = 32;

// What one JVM carries: its command-line/environment agents (with their files' facts)
// and what was loaded into it since (JVM side).  The injector and later consumers ask
// for it (EventProcessor::agents_of).
struct AgentInventory {
    std::optional<StaticAgents> static_agents;   // unknown until enrichment answered
    std::vector<DynamicAgent> dynamic_agents;
    std::string visibility;                      // "jvm": dynamic loads are seen
};

struct JvmInfo {
    jvm::JvmProcess proc;            // pid, nspid, start time, exe, cmdline, main, jdk, user
    std::string cgroup;
    std::string container_id;
    uint32_t pidns = 0;
    uint32_t mntns = 0;
    std::optional<StaticAgents> agents;  // from enrichment; unknown without it
    JvmVisibility visibility;        // from enrichment: JVM-side probes placed or why not
    std::vector<DynamicAgent> dynamic_agents;   // loaded while it ran, oldest first
    uint64_t dynamic_agents_dropped = 0;        // beyond kMaxDynamicAgents
    // The last diagnostic command not run for an attach (JMX, internal), per thread: an
    // agent load that follows on that thread came from it.
    pid_t last_dcmd_tid = 0;
    uint32_t last_dcmd_source = 0;
    std::string last_dcmd;
    std::string detected_by;         // "exec", "vm_thread", "scan"
    uint64_t exec_ts_ns = 0;         // kernel time of the exec, 0 if not seen
    uint32_t milestones = 0;         // bit per enum jw_milestone seen
    bool reported = false;           // jvm.start emitted
    bool enriched = false;           // jvm::inspect() result merged
};

// How the table learns what a pid is (jvm::inspect in the daemon, fixtures in tests).
using JvmInspector = std::function<std::optional<jvm::JvmProcess>(pid_t)>;

class JvmTable {
public:
    explicit JvmTable(size_t capacity) : table_(capacity) {}

    JvmInfo& put(JvmInfo info) { return table_.put(info.proc.pid, std::move(info)); }
    JvmInfo* find(pid_t pid) { return table_.get(pid); }
    const JvmInfo* peek(pid_t pid) const { return table_.peek(pid); }
    // The JVM whose pid inside pid namespace `pidns` is `nspid` (pidns 0: any namespace).
    const JvmInfo* find_by_nspid(uint32_t pidns, pid_t nspid) const;
    bool erase(pid_t pid) { return table_.erase(pid); }
    std::vector<pid_t> pids() const;

    size_t size() const { return table_.size(); }
    uint64_t evictions() const { return table_.evictions(); }

private:
    LruMap<pid_t, JvmInfo> table_;
};

// True if an exec of `filename` starts a java launcher (.../bin/java).
bool is_java_launcher(const std::string& filename);

}  // namespace jvmwatch::daemon
