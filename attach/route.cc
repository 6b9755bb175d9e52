#include "attach/route.h"

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

void RouteBuilder::build(const std::string& proc_root, const jvm::JvmProcess& t) {
    pid_t self = getpid();
    auto their_user = proc::read_ns_inode(proc_root, t.pid, "user");
    auto our_user = proc::read_ns_inode(proc_root, self, "user");
    bool same_userns = their_user && our_user && *their_user == *our_user;
    route_.switch_creds = need_credential_switch(geteuid(), getegid(), t.euid, t.egid, same_userns,
                                                 jdk_major(t.jdk_version));
    route_.euid = t.euid;
    route_.egid = t.egid;
    route_.peer.check = true;
    route_.peer.uid = t.euid;
    route_.peer.pid = t.pid;
}

void RouteBuilder::set_socket(int dir_fd, const std::string& name, ino_t ino,
                              const std::string& shown_path) {
    route_.dir_fd = dir_fd;
    route_.peer.ino = ino;
    route_.socket_name = name;
    route_.socket_path = shown_path;
}

}  // namespace jvmwatch::attach
