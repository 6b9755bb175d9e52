// How to reach a target's attach socket: which namespaces to enter and whether to
// assume its credentials.  The rule (docs/attach.md, "Fork rule"):
//   - enter each of mnt, net, ipc whose inode differs from ours;
//   - switch to the target's egid/euid unless ours already equal them, or we are root
//     in the target's user namespace and it runs JDK 11+ (which accepts a root peer);
//   - fork only when one of those is needed.
#pragma once

#include <string>

#include "attach/exchange.h"
#include "attach/jvm_process.h"

namespace jvmwatch::attach {

// Owns the namespace fds the route borrows.
class RouteBuilder {
public:
    RouteBuilder() = default;
    ~RouteBuilder();
    RouteBuilder(const RouteBuilder&) = delete;
    RouteBuilder& operator=(const RouteBuilder&) = delete;
    // "" on success, else why the namespaces can't be opened.
    std::string build(const std::string& proc_root, const jvm::JvmProcess& target,
                      const std::string& host_socket_path);
    const io::Route& route() const { return route_; }
private:
    io::Route route_;
};

// Pure form of the credential rule, for tests.
bool need_credential_switch(uid_t our_euid, gid_t our_egid, uid_t target_euid,
                            gid_t target_egid, bool same_userns, int jdk_major);

// 17 from "17.0.15", 8 from "1.8.0_392"; 0 if unknown.
int jdk_major(const std::string& version);

}  // namespace jvmwatch::attach
