// Where other parts of jvmwatchd (the auto-attach injector, issue 4) plug into the
// daemon without the daemon knowing them: they fill daemon_hooks() before the daemon
// starts (e.g. from main.cc).  All hooks are optional.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "userspace/audit/event_sink.h"
#include "userspace/daemon/daemon_config.h"
#include "userspace/daemon/jvm_listener.h"
#include "userspace/daemon/jvm_table.h"

namespace jvmwatch::daemon {

// What a plug-in gets once the daemon runs.
struct DaemonServices {
    audit::EventSink* sink = nullptr;          // emit inject.* events here
    OwnAttachRegistry* own_attaches = nullptr; // announce own attaches
    std::function<void(JvmListener*)> add_listener;
    // The agents a JVM carries now (static and dynamic); nullopt if it is not known.
    std::function<std::optional<AgentInventory>(pid_t, uint64_t start_ticks)> agents_of;
    const DaemonConfig* config = nullptr;
    bool deep = false;
};

struct DaemonHooks {
    // Validates and applies the `inject:` node, at start and on each SIGHUP reload.
    // Must validate fully before applying: on false the old configuration stays.
    InjectConfigHook parse_inject;
    // After the observer is loaded and before JVMs already running are reported:
    // register listeners, start workers.
    std::function<void(const DaemonServices&)> on_start;
    // After the config file was re-read and accepted on SIGHUP (parse_inject has run).
    std::function<void(const DaemonConfig&)> on_reload;
    // Before the daemon's final stats: stop workers (the event path is stopped already).
    std::function<void()> on_stop;
};

DaemonHooks& daemon_hooks();

}  // namespace jvmwatch::daemon
