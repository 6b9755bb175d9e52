// Small bounded caches for names that are costly to look up per event: the cgroup
// path of a cgroup id (read once from /proc/PID/cgroup of the first process seen in it)
// and the user name of a uid.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "userspace/daemon/lru_map.h"

namespace jvmwatch::daemon {

class CgroupPathCache {
public:
    CgroupPathCache(std::string proc_root, size_t capacity)
        : proc_root_(std::move(proc_root)), paths_(capacity) {}
    // The cgroup-v2 path of `cgroup_id`, learning it from /proc/<pid>/cgroup if new.
    // "" if unknown (the process is gone and the id was never seen).
    std::string resolve(uint64_t cgroup_id, pid_t pid);
    void remember(uint64_t cgroup_id, const std::string& path);
    uint64_t evictions() const { return paths_.evictions(); }
private:
    std::string proc_root_;
    LruMap<uint64_t, std::string> paths_;
};

class UserNameCache {
public:
    explicit UserNameCache(size_t capacity) : names_(capacity) {}
    // The passwd name of `uid`, or its number as text.
    std::string name(uid_t uid);
private:
    LruMap<uid_t, std::string> names_;
};

}  // namespace jvmwatch::daemon
