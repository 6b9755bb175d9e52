// Places the JVM-side uprobes (bpf/jvm_probes.bpf.c) once per distinct JDK library file:
// a JVM's libjvm.so and libinstrument.so are found inside its own root (safefs), told
// apart by inode, parsed for the probe symbols (jdk_probe_symbols.h) and probed; every
// later JVM of the same JDK, in any mount namespace, is then seen from inside.  What a
// JVM gets is its visibility: "jvm" (attach requests and agent loads seen in the JVM) or
// "client" (only the attacher's side: trigger, SIGQUIT, connect), with the reason.
//
// Runs on enrichment workers (file reads, ELF parsing: never the event path).  No lock
// is held across a read, so a library on a hung filesystem stalls only its own worker.
// Bounded: at most max_libraries files stay probed; beyond that a new JDK is
// client-side only (counted).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "attach/jvm_process.h"
#include "userspace/daemon/jvm_visibility.h"
#include "userspace/observer/jdk_probe_symbols.h"
#include "userspace/observer/observer.h"

namespace jvmwatch::daemon {

struct ProbeManagerStats {
    uint64_t libraries = 0;           // library files probed now
    uint64_t parses = 0;              // library files parsed
    uint64_t attach_failures = 0;     // files whose probes could not be placed
    uint64_t table_full = 0;          // JVMs left client-side: max_libraries reached
};

class JvmProbeManager {
public:
    // Places the probes on the library open on fd (Observer::attach_jvm_probes).
    using Attach = std::function<std::unique_ptr<observer::JvmProbeLinks>(
        int fd, const observer::LibraryProbes&, std::string* error)>;
    using Log = std::function<void(std::string_view)>;

    JvmProbeManager(size_t max_libraries, Attach attach, Log log);

    // Makes sure the libraries of JVM `pid` (as it sees them: <proc_root>/<pid>/root) are
    // probed, and says what that JVM is seen with.
    JvmVisibility ensure(const std::string& proc_root, pid_t pid, const jvm::JvmProcess& jvm);

    ProbeManagerStats stats() const;

    // Stop: waits up to `grace` for a placement in progress, then places no more and
    // detaches every probe.  false if a placement was still running (the caller must
    // then keep the observer alive: that worker is inside it).
    bool close(std::chrono::milliseconds grace);

private:
    struct Library {
        std::shared_ptr<const observer::LibraryProbes> probes;
        std::unique_ptr<observer::JvmProbeLinks> links;   // null: nothing could be placed
        std::string why;                                  // when links is null
    };
    // The library `rel` (relative to the JVM's root), probed once: nullptr if absent.
    std::shared_ptr<Library> library(int root_fd, const std::string& rel,
                                     observer::JdkLibrary kind, const std::string& label,
                                     std::string* why);

    const size_t max_;
    Attach attach_;
    Log log_;
    // Held shared while a placement runs; close() takes it exclusively.
    std::shared_timed_mutex attach_mu_;
    bool closed_ = false;                                                       // attach_mu_
    mutable std::mutex mu_;
    std::unordered_map<observer::LibraryKey, std::shared_ptr<Library>> libs_;   // guarded
    ProbeManagerStats stats_;                                                   // guarded
};

// Where a JDK keeps libjvm.so and libinstrument.so below its JAVA_HOME (9+, then 8).
std::vector<std::string> libjvm_candidates(const std::string& java_home);
std::vector<std::string> libinstrument_candidates(const std::string& java_home);

}  // namespace jvmwatch::daemon
