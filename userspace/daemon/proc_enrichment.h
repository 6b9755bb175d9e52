// What an enrichment worker does for one job (enricher.h): the process's facts from
// /proc (status, stat, exe, cmdline, cgroup, namespaces), its user's name, and, when
// asked, whether it is a JVM and which one (jvm::inspect).  Runs on the workers only,
// never on the event thread: these reads may block and touch files other users control.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "userspace/artifacts/agent_artifact.h"
#include "userspace/artifacts/evidence_store.h"
#include "userspace/daemon/enricher.h"
#include "userspace/daemon/jvm_table.h"
#include "userspace/daemon/process_table.h"

namespace jvmwatch::daemon {

struct ProcSources {
    std::string proc_root = "/proc";
    JvmInspector inspect;                                        // empty: jvm::inspect
    std::function<std::optional<ProcessInfo>(pid_t)> read_process;  // empty: read_process()
    std::function<std::string(uid_t)> user_name;                 // empty: passwd_name()
    artifacts::ArtifactLimits artifacts;                         // static agents' files
    std::shared_ptr<artifacts::EvidenceStore> evidence;          // null: no evidence copies
    // Places the JVM-side probes for a JVM's JDK (JvmProbeManager::ensure); empty: none.
    std::function<JvmVisibility(pid_t, const jvm::JvmProcess&)> probe_jvm;
};

// A process's facts from <proc_root>/<pid>/; nullopt if it is gone.
std::optional<ProcessInfo> read_process(const std::string& proc_root, pid_t pid);
// The passwd name of uid, or its number as text (NSS: may block, workers only).
std::string passwd_name(uid_t uid);

// The job function for the Enricher.  Holds copies of everything it uses (an abandoned
// worker may return after the daemon's objects are gone).
Enricher::Work make_proc_enrichment(ProcSources src);

}  // namespace jvmwatch::daemon
