#include "userspace/daemon/identity_cache.h"

namespace jvmwatch::daemon {

std::string CgroupPathCache::lookup(uint64_t cgroup_id) {
    if (cgroup_id == 0) return "";
    const std::string* p = paths_.get(cgroup_id);
    return p ? *p : "";
}

void CgroupPathCache::remember(uint64_t cgroup_id, const std::string& path) {
    if (cgroup_id != 0 && !path.empty()) paths_.put(cgroup_id, path);
}

std::string UserNameCache::name(uid_t uid) {
    if (const std::string* n = names_.get(uid)) return *n;
    return std::to_string(uid);
}

void UserNameCache::remember(uid_t uid, const std::string& name) {
    if (!name.empty()) names_.put(uid, name);
}

}  // namespace jvmwatch::daemon
