// Raw ring-buffer records (include/jvmwatch/events.h) -> typed C++ records.  Every
// record is size-checked against its struct before a byte of it is read, and strings
// are cut at their fixed capacity, so a short or corrupt record is rejected and counted
// instead of decoded as garbage.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "jvmwatch/events.h"

namespace jvmwatch::daemon {

// The common header: the task that caused the event.
struct Actor {
    uint64_t ts_ns = 0;     // CLOCK_MONOTONIC
    uint32_t cpu = 0;
    pid_t pid = 0;          // tgid, host namespace
    pid_t tid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    uint64_t cgroup_id = 0;
    uint32_t mntns = 0;
    uint32_t pidns = 0;
    pid_t nspid = 0;
    pid_t ppid = 0;
    std::string comm;
};

struct ExecRecord {
    Actor who;
    pid_t old_pid = 0;
    uint64_t start_ticks = 0;   // /proc/PID/stat field 22 units
    std::string filename;
    std::vector<std::string> args;
    bool args_truncated = false;
};
struct ExitRecord {
    Actor who;
    uint32_t exit_code = 0;     // wait(2) status encoding
    uint64_t start_ticks = 0;
};
struct ThreadNameRecord {
    Actor who;
    uint32_t milestone = 0;     // enum jw_milestone
    std::string name;
};
struct SigquitRecord {
    Actor who;                  // the sender
    pid_t target_pid = 0;
    pid_t target_tid = 0;
    pid_t target_nspid = 0;
    int32_t result = 0;
    uid_t target_uid = 0;
    uint32_t si_code = 0;
    std::string target_comm;
};
struct ConnectRecord {
    Actor who;
    pid_t target_nspid = 0;     // N of .java_pid<N>, 0 if unparsable
    int32_t fd = -1;
    std::string path;
    uint8_t deny_verdict = 0;   // enum jw_deny_verdict
    uint8_t policy_gen = 0;     // deny policy generation of deny_rule
    uint16_t deny_rule = 0;     // index of the deciding deny rule
};
struct TriggerRecord {
    Actor who;
    pid_t target_nspid = 0;     // N of .attach_pid<N>
    std::string path;
};
struct SockDataRecord {
    Actor who;
    bool is_write = true;       // JW_EV_SOCK_WRITE (request) or JW_EV_SOCK_READ (reply)
    int32_t fd = -1;
    std::string data;
    uint32_t total_len = 0;     // bytes the syscall moved; > data.size() means truncated
};
struct SockCloseRecord {
    Actor who;
    int32_t fd = -1;
};

// The stored exec of a process the kernel is about to report (JW_EV_IDENTITY): sent once
// per process image, before its first sigquit/connect/trigger/milestone event, instead of
// an exec event for every process on the host.
struct IdentityRecord {
    Actor who;                  // the process now (credentials, cgroup, namespaces)
    uint32_t trigger = 0;       // enum jw_identity_trigger
    uint64_t exec_ts_ns = 0;    // CLOCK_MONOTONIC, when it exec'd
    uint64_t start_ticks = 0;   // /proc/PID/stat field 22 units
    pid_t exec_ppid = 0;        // real parent at exec
    uid_t exec_uid = 0;
    gid_t exec_gid = 0;
    std::string exec_comm;      // comm right after exec
    std::string parent_comm;    // the parent's comm at exec
    std::string filename;
    std::vector<std::string> args;
    bool args_truncated = false;

    // The exec record the kernel would have sent at exec time (ts, ppid, comm and
    // credentials as they were then; cgroup and namespaces as now).
    ExecRecord as_exec() const;
};

// JVM side (uprobes in the JDK's libraries): `who` is the JVM thread.
struct JvmAttachRecord {
    Actor who;                  // the JVM's attach listener thread
    pid_t peer_pid = 0;         // the connecting process (host pid); 0 unknown
    uid_t peer_uid = 0;
    gid_t peer_gid = 0;
    uint64_t peer_start_ticks = 0;
    int32_t fd = -1;
    bool peer_known = false;
    bool self = false;          // the peer is the JVM or one of its descendants
    bool op_read = false;       // false: the JVM rejected the request
    uint32_t layout = 0;        // enum jw_jvm_layout (1: JDK <= 23, 2: JDK 24+)
    uint32_t arg_count = 0;     // as the JVM holds them (args keeps JW_JVM_ARGS)
    std::string op;
    std::vector<std::string> args;   // trailing empty arguments dropped
};
struct JvmAgentRecord {
    Actor who;                  // the JVM thread loading it
    uint32_t via = 0;           // enum jw_jvm_agent_probe
    int absolute = 2;           // 1 path, 0 library name, 2 unknown
    std::string agent;          // "instrument", a library name or path ("" via libinstrument)
    std::string options;
};
struct JvmDcmdRecord {
    Actor who;                  // the JVM thread executing it
    uint32_t source = 0;        // enum jw_dcmd_source
    std::string cmdline;
};

struct JvmResultRecord {
    Actor who;                  // the JVM thread that ran the operation
    int32_t result = 0;         // the handler's return: the JVM's result code
};

// New kinds go last: the index is the stats counter slot.
using Record = std::variant<ExecRecord, ExitRecord, ThreadNameRecord, SigquitRecord,
                            ConnectRecord, TriggerRecord, SockDataRecord, SockCloseRecord,
                            IdentityRecord, JvmAttachRecord, JvmAgentRecord, JvmDcmdRecord,
                            JvmResultRecord>;

enum class DecodeError { none, too_short, unknown_type, bad_length };
const char* to_string(DecodeError e);
const char* identity_trigger_name(uint32_t trigger);   // "sigquit", ... or "unknown"
const char* dcmd_source_name(uint32_t source);         // "attach", "jmx", "internal", "unknown"
const char* agent_via_name(uint32_t via);              // "load_agent_library", ...

// Decodes one raw record of `size` bytes.  nullopt (and *err) if it is malformed.
std::optional<Record> decode_event(const void* data, size_t size, DecodeError* err = nullptr);

const Actor& actor_of(const Record& r);

// Kernel start_boottime (ns) -> clock ticks, the unit of /proc/PID/stat field 22.
uint64_t ns_to_clock_ticks(uint64_t ns);
// A fixed-size kernel char array as a string: up to the first NUL, at most `cap` bytes.
std::string bounded_string(const char* buf, size_t cap);
// N of ".java_pid<N>" or ".attach_pid<N>" as the last path component; 0 if no match.
pid_t pid_from_socket_name(const std::string& path, const std::string& prefix);

}  // namespace jvmwatch::daemon
