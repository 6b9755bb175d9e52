// What a process is, as far as attaching to it goes: a HotSpot JVM or not, which JDK,
// which flags matter for the attach mechanism, its main class or jar.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attach/procfs.h"

namespace jvmwatch::jvm {

// Tri-state flags as the JVM would resolve them from its command line and the
// JAVA_TOOL_OPTIONS / JDK_JAVA_OPTIONS / _JAVA_OPTIONS environment variables.
struct AttachFlags {
    bool disable_attach_mechanism = false;            // -XX:+DisableAttachMechanism
    bool reduce_signal_usage = false;                 // -Xrs
    std::optional<bool> enable_dynamic_agent_loading; // -XX:[+-]EnableDynamicAgentLoading
    bool attach_compat = false;                       // -Djdk.attach.compat=true (no v2)
};
AttachFlags parse_attach_flags(const std::vector<std::string>& cmdline,
                               const std::vector<std::string>& environ);

// An options environment variable (JAVA_TOOL_OPTIONS, ...) split the way the JVM does: on
// whitespace, with single or double quotes grouping.
std::vector<std::string> split_java_options(std::string_view s);
// The value of `key` ("NAME=") in a process environment, if set.
std::optional<std::string> env_value(const std::vector<std::string>& environ, std::string_view key);

enum class Kind { not_jvm, hotspot, openj9 };

struct JvmProcess {
    pid_t pid = 0;                   // host pid
    pid_t nspid = 0;                 // pid inside its own pid namespace
    uint64_t start_time_ticks = 0;
    Kind kind = Kind::not_jvm;
    bool libjvm_loaded = false;      // libjvm.so mapped (false: launcher still starting)
    uid_t euid = 0;
    gid_t egid = 0;
    std::string user;                // name of euid, or the number
    std::string exe;
    std::vector<std::string> cmdline;
    std::string main;                // main class, "-jar x.jar", or module/class
    std::string java_home;           // from the exe / libjvm path
    std::string jdk_version;         // JAVA_VERSION from $JAVA_HOME/release
    AttachFlags flags;
    proc::Status status;
};

// Inspects PID.  nullopt if the process does not exist (or vanished while reading).
// for_attach=true is the attach engine's fast path: `user` stays the uid number (no
// NSS), and for a `java` launcher maps is not read (OpenJ9 is told by files in its
// JAVA_HOME instead), so libjvm_loaded is not filled.
std::optional<JvmProcess> inspect(const std::string& proc_root, pid_t pid,
                                  bool for_attach = false);

// The part of inspect() that needs only /proc/PID/status and stat: pid, nspid, start
// time, euid/egid and status (kind stays not_jvm).  Enough for a warm attach.
std::optional<JvmProcess> inspect_basic(const std::string& proc_root, pid_t pid);

// Main class or jar from a java command line ("" if it can't be told).
std::string main_from_cmdline(const std::vector<std::string>& cmdline);

// JAVA_VERSION="17.0.15" from a JDK's release file text.
std::string parse_release_version(const std::string& release_text);

// All JVMs on the host (HotSpot and OpenJ9), sorted by pid.
std::vector<JvmProcess> list_jvms(const std::string& proc_root);

}  // namespace jvmwatch::jvm
