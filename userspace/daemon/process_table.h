// Recent processes, keyed by pid and checked against their start time, so that the
// identity of a short-lived attacher (jattach lives ~3 ms) outlives it.  Filled from
// exec events and event headers; what /proc adds (exe, cmdline, cgroup path) comes from
// enrichment workers through apply(): nothing here reads a file.
// Bounded (LRU); evictions are counted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "userspace/daemon/event_decoder.h"
#include "userspace/daemon/identity_cache.h"
#include "userspace/daemon/lru_map.h"

namespace jvmwatch::daemon {

struct ProcessInfo {
    pid_t pid = 0;
    uint64_t start_ticks = 0;        // 0 if unknown
    pid_t ppid = 0;
    pid_t nspid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    uint32_t pidns = 0;
    uint32_t mntns = 0;
    uint64_t cgroup_id = 0;
    std::string comm;
    std::string exe;                 // exec filename, or /proc/PID/exe
    std::vector<std::string> cmdline;
    std::string cgroup;              // v2 path
    std::string container_id;
    std::string parent_comm;         // the parent's comm at exec (kernel identity), "" if unknown
    enum class Source { exec, proc, event } source = Source::event;
    bool exited = false;
};
const char* to_string(ProcessInfo::Source s);

class ProcessTable {
public:
    ProcessTable(size_t capacity, CgroupPathCache* cgroups);

    // An exec replaces what was known of the pid.
    const ProcessInfo& on_exec(const ExecRecord& e);
    // The kernel's stored exec of a process it is about to report (an attacher): known
    // exactly as if its exec had been seen, without reading /proc.
    const ProcessInfo& on_identity(const IdentityRecord& r);
    // The entry for the actor of an event: from the table, else the event header alone
    // (source "event"; the caller asks for enrichment).
    const ProcessInfo& ensure(const Actor& who);
    // Facts an enrichment worker read from /proc: fills what the events did not say.
    // Ignored when the pid now belongs to another process (start time differs).
    void apply(const ProcessInfo& facts);
    const ProcessInfo* find(pid_t pid) const { return table_.peek(pid); }
    void mark_exited(pid_t pid);

    size_t size() const { return table_.size(); }
    size_t capacity() const { return table_.capacity(); }
    uint64_t evictions() const { return table_.evictions(); }
    uint64_t proc_reads() const { return proc_reads_; }   // enrichments applied

private:
    LruMap<pid_t, ProcessInfo> table_;
    CgroupPathCache* cgroups_;
    uint64_t proc_reads_ = 0;
};

}  // namespace jvmwatch::daemon
