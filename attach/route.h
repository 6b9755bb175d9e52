// How to reach a target's attach socket: the checked socket fd, who must listen on it,
// and whether to assume the target's credentials.  The rule (docs/attach.md, "Fork rule"):
//   - switch to the target's egid/euid unless ours already equal them, or we are root
//     in the target's user namespace and it runs JDK 11+ (which accepts a root peer);
//   - fork only when that is needed.  No namespace is entered: the socket is reached
//     through its O_PATH fd, which works from any mount or network namespace.
#pragma once

#include <string>

#include "attach/exchange.h"
#include "attach/jvm_process.h"

namespace jvmwatch::attach {

class RouteBuilder {
public:
    // Credentials and the expected listener (the target's euid or root, its pid).
    void build(const std::string& proc_root, const jvm::JvmProcess& target);
    // The socket to connect to: its directory's O_PATH fd (borrowed), its name there,
    // and its name for messages.
    void set_socket(int dir_fd, const std::string& name, ino_t ino, const std::string& shown_path);
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
