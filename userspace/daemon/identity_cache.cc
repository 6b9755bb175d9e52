#include "userspace/daemon/identity_cache.h"

#include <pwd.h>

#include <vector>

#include "attach/procfs.h"

namespace jvmwatch::daemon {

std::string CgroupPathCache::resolve(uint64_t cgroup_id, pid_t pid) {
    if (cgroup_id != 0)
        if (const std::string* p = paths_.get(cgroup_id)) return *p;
    std::string path = pid > 0 ? proc::read_cgroup(proc_root_, pid) : "";
    if (!path.empty() && cgroup_id != 0) paths_.put(cgroup_id, path);
    return path;
}

void CgroupPathCache::remember(uint64_t cgroup_id, const std::string& path) {
    if (cgroup_id != 0 && !path.empty()) paths_.put(cgroup_id, path);
}

std::string UserNameCache::name(uid_t uid) {
    if (const std::string* n = names_.get(uid)) return *n;
    struct passwd pw, *res = nullptr;
    std::vector<char> buf(4096);
    std::string n = std::to_string(uid);
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res && res->pw_name)
        n = res->pw_name;
    names_.put(uid, n);
    return n;
}

}  // namespace jvmwatch::daemon
