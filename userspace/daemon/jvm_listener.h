// The daemon tells listeners (the auto-attach injector) about JVM lifecycles it learns
// from the observer.  Calls come from the daemon's event thread or (on_jvm_started) an
// enrichment worker, under the processor's lock: a listener must not block (hand slow
// work, such as attaching, to its own workers).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "attach/jvm_process.h"

namespace jvmwatch::daemon {

class JvmListener {
public:
    virtual ~JvmListener() = default;
    // A JVM exec'd (exec_ts_ns: kernel CLOCK_MONOTONIC of the exec), or was already running
    // when the daemon started (existing = true, exec_ts_ns = 0).  Called once the JVM's
    // enrichment answered: `jvm` comes from jvm::inspect() (libjvm may not be loaded yet
    // for a fresh exec), or, when enrichment failed or timed out, from the exec record.
    virtual void on_jvm_started(const jvm::JvmProcess& jvm, uint64_t exec_ts_ns, bool existing) = 0;
    // Right after on_jvm_started: how the JVM is seen ("jvm": from inside, its JDK's
    // libraries probed; "client": from the attacher's side only).
    virtual void on_jvm_visibility(pid_t /*pid*/, uint64_t /*start_time_ticks*/,
                                   std::string_view /*visibility*/) {}
    // A milestone thread name (enum jw_milestone in include/jvmwatch/events.h) appeared.
    virtual void on_jvm_milestone(pid_t pid, uint64_t start_time_ticks, int milestone,
                                  uint64_t ts_ns) = 0;
    virtual void on_jvm_exited(pid_t pid, uint64_t start_time_ticks) = 0;
};

// The injector announces its own attaches so the audit stream can label them with the
// rule's name (the correlator implements this).
class OwnAttachRegistry {
public:
    virtual ~OwnAttachRegistry() = default;
    virtual void expect_own_attach(pid_t target_pid, const std::string& rule_name) = 0;
    virtual void own_attach_done(pid_t target_pid) = 0;
};

}  // namespace jvmwatch::daemon
