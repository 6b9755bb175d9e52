#include "attach/route.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace jvmwatch::attach {

int jdk_major(const std::string& v) {
    if (v.empty()) return 0;
    int major = std::atoi(v.c_str());
    if (major == 1) {  // 1.8.0_x
        auto dot = v.find('.');
        if (dot != std::string::npos) major = std::atoi(v.c_str() + dot + 1);
    }
    return major;
}

bool need_credential_switch(uid_t our_euid, gid_t our_egid, uid_t t_euid, gid_t t_egid,
                            bool same_userns, int major) {
    if (our_euid == t_euid && our_egid == t_egid) return false;
    if (our_euid == 0 && same_userns && major >= 11) return false;
    return true;
}

RouteBuilder::~RouteBuilder() {
    for (int fd : route_.ns_fds)
        if (fd >= 0) close(fd);
}

std::string RouteBuilder::build(const std::string& proc_root, const jvm::JvmProcess& t,
                                const std::string& host_path) {
    static constexpr const char* kNs[3] = {"net", "ipc", "mnt"};  // mnt last: it moves root
    pid_t self = getpid();
    for (int i = 0; i < 3; ++i) {
        auto theirs = proc::read_ns_inode(proc_root, t.pid, kNs[i]);
        auto ours = proc::read_ns_inode(proc_root, self, kNs[i]);
        if (!theirs || !ours || *theirs == *ours) continue;
        std::string p = proc_root + "/" + std::to_string(t.pid) + "/ns/" + kNs[i];
        int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return "cannot open " + p + ": " + strerror(errno);
        route_.ns_fds[i] = fd;
    }
    // Inside the target's mount namespace its /tmp is plain /tmp; otherwise reach it
    // through /proc/<pid>/root.
    route_.socket_path = route_.ns_fds[2] >= 0 ? "/tmp/.java_pid" + std::to_string(t.nspid)
                                               : host_path;
    auto their_user = proc::read_ns_inode(proc_root, t.pid, "user");
    auto our_user = proc::read_ns_inode(proc_root, self, "user");
    bool same_userns = their_user && our_user && *their_user == *our_user;
    route_.switch_creds = need_credential_switch(geteuid(), getegid(), t.euid, t.egid, same_userns,
                                                 jdk_major(t.jdk_version));
    route_.euid = t.euid;
    route_.egid = t.egid;
    return "";
}

}  // namespace jvmwatch::attach
