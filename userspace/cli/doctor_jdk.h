// `jvmwatch doctor`, the JVM side: whether this kernel has uprobes and, for each JDK,
// whether its libjvm.so / libinstrument.so carry the symbols jvmwatch's JVM-side probes
// attach to (userspace/observer/jdk_probe_symbols.h), or why its JVMs can only be seen
// from the attacher's side.  Files are opened through attach/safe_fs.h: a JDK directory
// may belong to anyone.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "userspace/observer/jdk_probe_symbols.h"

namespace jvmwatch::cli {

// The kernel's uprobe PMU (/sys/bus/event_source/devices/uprobe/type): libbpf attaches
// uprobes through it.
struct UprobeSupport {
    bool available = false;
    int pmu_type = -1;
    std::string why;   // when !available
};
UprobeSupport probe_uprobes(const std::string& sysfs_root = "/sys");

// A JDK's libraries are found where JDK 9+ (and a JRE 8) keep them, lib/server/libjvm.so
// and lib/libinstrument.so, or where a JDK 8 does, jre/lib/<arch>/server/libjvm.so and
// jre/lib/<arch>/libinstrument.so (<arch>: amd64 on x86_64, else the machine name).

// The JDK homes in `jvm_dir`: each directory (a symlink to one is skipped: its target is
// listed itself) holding a libjvm.so, sorted.
std::vector<std::string> find_jdks(const std::string& jvm_dir = "/usr/lib/jvm");

// Why `home` cannot be inspected at all, naming the path ("" when it has a libjvm.so to
// read): for --jdk, checked before anything else runs.
std::string check_jdk_home(const std::string& home);

struct JdkReport {
    std::string home;
    std::string version;       // JAVA_VERSION of <home>/release, "" if unknown
    observer::LibraryProbes libjvm;
    observer::LibraryProbes libinstrument;
    std::string libinstrument_error;   // lib/libinstrument.so could not be opened
    bool supported = false;    // JVM-side probes would see this JDK's attaches
    std::string why;           // when !supported: one line
    size_t found = 0;          // probes found in both libraries
    size_t total = 0;          // probes jvmwatch knows
};

// Reads <home>/release and resolves the probes of both libraries.  Never throws.
// JVM-side probes are supported when libjvm.so has the attach listener's read_request
// (every attach operation is seen) and the kernel has uprobes; the other probes add
// detail (agent loads, diagnostic commands) and are listed found or missing.
JdkReport inspect_jdk(const std::string& home, const UprobeSupport& kernel);

// `HOME  VERSION  JVM-side probes: supported (N of M: a, b, ...)` or
// `HOME  VERSION  client-side only: <why>` (text from the files made printable).
std::string describe(const JdkReport& r);
std::string describe(const UprobeSupport& u);

nlohmann::json to_json(const JdkReport& r);
nlohmann::json to_json(const UprobeSupport& u);

}  // namespace jvmwatch::cli
