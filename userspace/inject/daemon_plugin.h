// Plugs the injector into jvmwatchd through daemon_hooks(): validates the `inject:`
// section at load and on SIGHUP (a bad new section is refused and the old policy stays),
// creates the Injector once the daemon runs, forwards JVM lifecycles to it, applies
// reloaded policies, and stops it (marking a clean stop in the journal) at exit.
#pragma once

#include "userspace/daemon/daemon_hooks.h"

namespace jvmwatch::inject {

// Fills the hooks; call once in main() before the config is loaded.
void install_daemon_hooks(daemon::DaemonHooks& hooks);

}  // namespace jvmwatch::inject
