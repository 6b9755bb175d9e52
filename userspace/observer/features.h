// Kernel feature probing and the choice of a BPF hook for each event kind.  Decided by
// what the running kernel offers (BTF types, mounted filesystems, tracepoints), never
// by its version number.  `jvmwatch doctor` prints both.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace jvmwatch::observer {

// What the kernel offers.  Each probe leaves a one-line note on failure.
struct Features {
    bool is_root = false;             // euid 0 (CAP_BPF/CAP_SYS_ADMIN assumed with it)
    bool bpf_syscall = false;         // a trivial BPF map could be created
    std::string bpf_error;            // why not, when !bpf_syscall
    bool btf = false;                 // vmlinux BTF loaded (/sys/kernel/btf/vmlinux)
    bool ringbuf = false;             // BPF_MAP_TYPE_RINGBUF supported
    // tp_btf/<name>: the BTF typedef btf_trace_<name> exists.
    bool tp_btf_sched_process_exec = false;
    bool tp_btf_sched_process_exit = false;
    bool tp_btf_task_rename = false;
    bool tp_btf_signal_generate = false;
    // cgroup/connect_unix: BPF_CGROUP_UNIX_CONNECT in enum bpf_attach_type (kernel BTF),
    // and a cgroup-v2 mount to attach it to.
    bool cgroup_unix_connect = false;
    std::string cgroup2_root;         // "" if no cgroup2 mount
    // tracefs and the tracepoints the fallbacks / deep mode use.
    std::string tracefs_dir;          // where tracefs is mounted, "" if not mounted
    bool tracefs_mountable = false;   // tracefs is in /proc/filesystems
    bool tracepoint_sched = false;    // events/sched/sched_process_exec exists (needs tracefs)
    bool syscall_tracepoints = false; // events/syscalls/sys_enter_connect exists (needs tracefs)
    // The kernel has these classic tracepoints (BTF typedefs of their trace_event_raw_*
    // structs); usable once tracefs is mounted.
    bool classic_tracepoints_known = false;
    std::string kernel_release;       // uname -r, for display only
};

class FeatureProbe {
public:
    // Probes the running kernel.  proc_root for /proc/self/mounts and /proc/filesystems.
    static Features probe(const std::string& proc_root = "/proc");
    // Human lines "name: yes|no (detail)" for doctor.
    static std::vector<std::string> describe(const Features& f);
};

enum class EventKind { exec, exit, thread_name, sigquit, connect, trigger, sock_data };
std::string_view to_string(EventKind);

struct HookChoice {
    EventKind kind;
    std::string hook;       // e.g. "tp_btf/sched_process_exec"; "" when none is usable
    std::string reason;     // why this one (or why none)
    bool needs_tracefs = false;
    bool syscall_tracepoint = false;   // slows every syscall on the host
};

// The hook per event kind for the given features.  Deep-mode kinds (trigger, sock_data)
// are included only when deep is set.  force_fallback picks the fallbacks even where
// the better hook exists.
std::vector<HookChoice> choose_hooks(const Features& f, bool deep, bool force_fallback);
// One line: "hooks: exec=tp_btf/sched_process_exec (btf_trace_sched_process_exec in
// kernel BTF); ...".
std::string format_hooks_line(const std::vector<HookChoice>& hooks);
// True if every chosen hook is usable (no empty hook).
bool all_hooks_usable(const std::vector<HookChoice>& hooks);

}  // namespace jvmwatch::observer
