#include "userspace/daemon/daemon_hooks.h"

namespace jvmwatch::daemon {

DaemonHooks& daemon_hooks() {
    static DaemonHooks hooks;
    return hooks;
}

}  // namespace jvmwatch::daemon
