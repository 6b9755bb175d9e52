// Small bounded caches for names that are costly to look up per event: the cgroup
// path of a cgroup id and the user name of a uid.  Lookups here never read a file or
// ask NSS: the event path uses what they hold, and enrichment workers (enricher.h)
// fill them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "userspace/daemon/lru_map.h"

namespace jvmwatch::daemon {

class CgroupPathCache {
public:
    explicit CgroupPathCache(size_t capacity) : paths_(capacity) {}
    // The cgroup-v2 path of `cgroup_id`; "" if not learnt yet.
    std::string lookup(uint64_t cgroup_id);
    void remember(uint64_t cgroup_id, const std::string& path);
    uint64_t evictions() const { return paths_.evictions(); }
private:
    LruMap<uint64_t, std::string> paths_;
};

class UserNameCache {
public:
    explicit UserNameCache(size_t capacity) : names_(capacity) {}
    // The passwd name of `uid` if learnt, else its number as text.
    std::string name(uid_t uid);
    bool known(uid_t uid) const { return names_.peek(uid) != nullptr; }
    void remember(uid_t uid, const std::string& name);
private:
    LruMap<uid_t, std::string> names_;
};

}  // namespace jvmwatch::daemon
