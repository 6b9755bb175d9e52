#include "userspace/observer/features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "userspace/observer/mounts.h"

namespace jvmwatch::observer {

namespace {

struct BtfDeleter {
    void operator()(struct btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<struct btf, BtfDeleter>;

bool has_typedef(const struct btf* btf, const std::string& name) {
    return btf && btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_TYPEDEF) >= 0;
}

bool has_enum_value(const struct btf* btf, const char* enum_name, const char* value) {
    if (!btf) return false;
    int id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
    if (id < 0) return false;
    const struct btf_type* t = btf__type_by_id(btf, id);
    const struct btf_enum* e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++e)
        if (std::strcmp(btf__name_by_offset(btf, e->name_off), value) == 0) return true;
    return false;
}

bool is_dir(const std::string& p) {
    struct stat st{};
    return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Silences libbpf's own warnings while probing (we report in our own words).
int quiet_print(enum libbpf_print_level, const char*, va_list) { return 0; }

}  // namespace

Features FeatureProbe::probe(const std::string& proc_root) {
    Features f;
    struct utsname u{};
    if (uname(&u) == 0) f.kernel_release = u.release;
    f.is_root = geteuid() == 0;

    auto old_print = libbpf_set_print(quiet_print);
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, nullptr, 4, 4, 1, nullptr);
    if (fd >= 0) {
        f.bpf_syscall = true;
        close(fd);
    } else {
        int err = fd < 0 ? -fd : errno;
        f.bpf_error = std::string("bpf(BPF_MAP_CREATE) failed: ") + std::strerror(err) +
                      (f.is_root ? "" : " (run as root)");
    }
    if (f.bpf_syscall) f.ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;

    BtfPtr btf(btf__load_vmlinux_btf());
    libbpf_set_print(old_print);
    f.btf = btf != nullptr;
    const struct btf* b = btf.get();
    f.tp_btf_sched_process_exec = has_typedef(b, "btf_trace_sched_process_exec");
    f.tp_btf_sched_process_exit = has_typedef(b, "btf_trace_sched_process_exit");
    f.tp_btf_task_rename = has_typedef(b, "btf_trace_task_rename");
    f.tp_btf_signal_generate = has_typedef(b, "btf_trace_signal_generate");
    f.cgroup2_root = find_mount(proc_root, "cgroup2", "/sys/fs/cgroup");
    // The program reads the address through the bpf_cast_to_kern_ctx kfunc.
    f.cgroup_unix_connect =
        has_enum_value(b, "bpf_attach_type", "BPF_CGROUP_UNIX_CONNECT") && b &&
        btf__find_by_name_kind(b, "bpf_cast_to_kern_ctx", BTF_KIND_FUNC) >= 0;
    // Syscall tracepoints exist iff CONFIG_FTRACE_SYSCALLS, which also brings the raw
    // sys_enter tracepoint: its BTF typedef tells us without tracefs.
    f.classic_tracepoints_known =
        b && btf__find_by_name_kind(b, "trace_event_raw_sched_process_exec", BTF_KIND_STRUCT) >= 0;
    bool syscall_tps_known = has_typedef(b, "btf_trace_sys_enter");

    f.tracefs_dir = find_mount(proc_root, "tracefs", "/sys/kernel/tracing");
    f.tracefs_mountable = !f.tracefs_dir.empty() || filesystem_supported(proc_root, "tracefs");
    if (!f.tracefs_dir.empty()) {
        f.tracepoint_sched = is_dir(f.tracefs_dir + "/events/sched/sched_process_exec");
        f.syscall_tracepoints = is_dir(f.tracefs_dir + "/events/syscalls/sys_enter_connect");
    } else {
        f.tracepoint_sched = f.tracefs_mountable && f.classic_tracepoints_known;
        f.syscall_tracepoints = f.tracefs_mountable && syscall_tps_known;
    }
    return f;
}

std::vector<std::string> FeatureProbe::describe(const Features& f) {
    auto yn = [](bool b) { return std::string(b ? "yes" : "no"); };
    std::vector<std::string> out;
    out.push_back("kernel: " + f.kernel_release);
    out.push_back("root: " + yn(f.is_root));
    out.push_back("bpf syscall: " + yn(f.bpf_syscall) +
                  (f.bpf_syscall ? "" : " (" + f.bpf_error + ")"));
    out.push_back("BPF ring buffer: " + yn(f.ringbuf) + (f.bpf_syscall ? "" : " (not probed)"));
    out.push_back("kernel BTF (/sys/kernel/btf/vmlinux): " + yn(f.btf));
    out.push_back("tp_btf/sched_process_exec: " + yn(f.tp_btf_sched_process_exec));
    out.push_back("tp_btf/sched_process_exit: " + yn(f.tp_btf_sched_process_exit));
    out.push_back("tp_btf/task_rename: " + yn(f.tp_btf_task_rename));
    out.push_back("tp_btf/signal_generate: " + yn(f.tp_btf_signal_generate));
    out.push_back("cgroup/connect_unix (BPF_CGROUP_UNIX_CONNECT + bpf_cast_to_kern_ctx): " +
                  yn(f.cgroup_unix_connect));
    out.push_back("cgroup v2 root: " + (f.cgroup2_root.empty() ? "none" : f.cgroup2_root));
    out.push_back("tracefs: " + (f.tracefs_dir.empty()
                                     ? std::string(f.tracefs_mountable ? "not mounted (mountable)"
                                                                       : "not available")
                                     : "mounted at " + f.tracefs_dir));
    std::string how = f.tracefs_dir.empty() ? " (from BTF; needs tracefs mounted)" : "";
    out.push_back("classic sched/task/signal tracepoints: " + yn(f.tracepoint_sched) + how);
    out.push_back("syscall tracepoints: " + yn(f.syscall_tracepoints) + how);
    return out;
}

std::string_view to_string(EventKind k) {
    switch (k) {
        case EventKind::exec: return "exec";
        case EventKind::exit: return "exit";
        case EventKind::thread_name: return "thread_name";
        case EventKind::sigquit: return "sigquit";
        case EventKind::connect: return "connect";
        case EventKind::trigger: return "trigger";
        case EventKind::sock_data: return "sock_data";
    }
    return "unknown";
}

namespace {

HookChoice none(EventKind k, std::string why) { return {k, "", std::move(why), false, false}; }

// A tp_btf hook if the typedef exists, else the classic tracepoint.
HookChoice tracepoint_choice(const Features& f, bool force, EventKind kind, bool has_tp_btf,
                             const std::string& tp_btf_name, const std::string& classic) {
    if (!force && has_tp_btf)
        return {kind, "tp_btf/" + tp_btf_name, "btf_trace_" + tp_btf_name + " in kernel BTF",
                false, false};
    std::string why = force ? "fallback forced" : "no btf_trace_" + tp_btf_name + " in kernel BTF";
    if (f.tracepoint_sched)
        return {kind, "tracepoint/" + classic, why, true, false};
    return none(kind, why + "; classic tracepoint unavailable (no tracefs)");
}

}  // namespace

std::vector<HookChoice> choose_hooks(const Features& f, bool deep, bool force) {
    std::vector<HookChoice> out;
    std::vector<EventKind> kinds = {EventKind::exec, EventKind::exit, EventKind::thread_name,
                                    EventKind::sigquit, EventKind::connect};
    if (deep) {
        kinds.push_back(EventKind::trigger);
        kinds.push_back(EventKind::sock_data);
    }
    std::string blocker;
    if (!f.bpf_syscall)
        blocker = "BPF unusable: " + f.bpf_error;
    else if (!f.ringbuf)
        blocker = "no BPF ring buffer (kernel < 5.8)";
    else if (!f.btf)
        blocker = "no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)";
    if (!blocker.empty()) {
        for (auto k : kinds) out.push_back(none(k, blocker));
        return out;
    }
    for (auto k : kinds) {
        switch (k) {
            case EventKind::exec:
                out.push_back(tracepoint_choice(f, force, k, f.tp_btf_sched_process_exec,
                                                "sched_process_exec", "sched/sched_process_exec"));
                break;
            case EventKind::exit:
                out.push_back(tracepoint_choice(f, force, k, f.tp_btf_sched_process_exit,
                                                "sched_process_exit", "sched/sched_process_exit"));
                break;
            case EventKind::thread_name:
                out.push_back(tracepoint_choice(f, force, k, f.tp_btf_task_rename, "task_rename",
                                                "task/task_rename"));
                break;
            case EventKind::sigquit:
                out.push_back(tracepoint_choice(f, force, k, f.tp_btf_signal_generate,
                                                "signal_generate", "signal/signal_generate"));
                break;
            case EventKind::connect: {
                std::string why;
                if (force) why = "fallback forced";
                else if (!f.cgroup_unix_connect)
                    why = "no BPF_CGROUP_UNIX_CONNECT/bpf_cast_to_kern_ctx (kernel < 6.7)";
                else if (f.cgroup2_root.empty()) why = "no cgroup v2 mount";
                if (why.empty()) {
                    out.push_back({k, "cgroup/connect_unix",
                                   "BPF_CGROUP_UNIX_CONNECT, attached at " + f.cgroup2_root, false,
                                   false});
                } else if (f.syscall_tracepoints) {
                    out.push_back({k, "tracepoint/syscalls/sys_enter_connect", why, true, true});
                } else {
                    out.push_back(none(k, why + "; no syscall tracepoints"));
                }
                break;
            }
            case EventKind::trigger:
                if (f.syscall_tracepoints)
                    out.push_back({k, "tracepoint/syscalls/sys_enter_{openat,open,creat}",
                                   "deep mode (no non-syscall hook sees O_CREAT names)", true, true});
                else
                    out.push_back(none(k, "deep mode needs syscall tracepoints"));
                break;
            case EventKind::sock_data:
                if (f.syscall_tracepoints)
                    out.push_back({k,
                                   "tracepoint/syscalls/sys_{enter,exit}_{connect,write,writev,"
                                   "sendto,read,recvfrom,close}",
                                   "deep mode", true, true});
                else
                    out.push_back(none(k, "deep mode needs syscall tracepoints"));
                break;
        }
    }
    return out;
}

std::string format_hooks_line(const std::vector<HookChoice>& hooks) {
    std::string s = "hooks:";
    bool first = true;
    for (const auto& h : hooks) {
        s += first ? " " : "; ";
        first = false;
        s += std::string(to_string(h.kind)) + "=" + (h.hook.empty() ? "NONE" : h.hook) + " (" +
             h.reason + ")";
    }
    return s;
}

bool all_hooks_usable(const std::vector<HookChoice>& hooks) {
    for (const auto& h : hooks)
        if (h.hook.empty()) return false;
    return true;
}

}  // namespace jvmwatch::observer
