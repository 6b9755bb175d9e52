// The eBPF observer: owns the BPF programs (bpf/jvmwatch.bpf.c), their links and the
// ring buffer, and hands every raw event to one callback on its own consumer thread.
//
//   std::string err;
//   auto obs = jvmwatch::observer::Observer::create({}, &err);   // probe, load, attach
//   if (!obs) { spdlog::error("observer: {}", err); return 13; }
//   spdlog::info("{}", obs->hooks_line());
//   obs->start([](const jw_event_hdr* h, size_t size) {
//       if (auto* e = jvmwatch::observer::event_cast<jw_exec_event>(h, size)) { ... }
//   });
//   ...
//   obs->stop();   // also done by the destructor
//
// The callback runs on the consumer thread: it must not block (copy what it needs and
// hand slow work elsewhere).  Events are in kernel order per CPU, not globally.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jvmwatch/events.h"
#include "userspace/observer/deny_maps.h"
#include "userspace/observer/features.h"
#include "userspace/observer/jdk_probe_symbols.h"

namespace jvmwatch::observer {

// What the caller may tune before load.
struct Options {
    // Deep mode: syscall tracepoints for trigger files and the request/reply bytes.  They
    // slow every syscall on the host, so this is opt-in (jvmwatchd --deep).
    bool deep = false;
    // Use the classic fallbacks even where better hooks exist (tests/benchmarks: exercise
    // the path older kernels take): tracepoint/sched/* instead of tp_btf/*, and
    // tracepoint/syscalls/sys_enter_connect instead of cgroup/connect_unix.
    bool force_fallback = false;
    // Ring buffer size in bytes (power of two, >= page size).
    uint32_t ringbuf_bytes = 8u << 20;
    // Capacity of the kernel's tracked-tgid map (JVMs and attachers whose exit we want).
    uint32_t max_tracked = 16384;
    // Capacity of the kernel's per-tgid exec identities (every exec is stored there; a
    // process that signals or connects is sent as a JW_EV_IDENTITY event).  ~900 bytes of
    // kernel memory each.  The daemon sizes it like its process table.
    uint32_t max_identities = 16384;
    // Capacity of the per-tgid "milestones already reported" map (JVMs and processes that
    // took a JVM thread name).
    uint32_t max_milestone_procs = 16384;
    // 0 (the daemon): exec events only for java launchers and tracked processes; every
    // other exec is only stored in the kernel.  Non-zero (tests, benchmarks): exec events
    // for every exec of this tgid's children, and no others.
    uint32_t exec_parent_filter = 0;
    // Load the JVM-side uprobe programs (bpf/jvm_probes.bpf.c).  They run only once
    // attach_jvm_probes() places them on a JDK's libraries.
    bool jvm_probes = true;
    // Deny rules at connect (cgroup/connect_unix only): this tgid and its direct children
    // always pass (the daemon and its attach helpers); 0 = none.
    uint32_t deny_exempt_tgid = 0;
    // Capacity of the covered-JVM map of the deny rules (a JVM takes up to 4 keys, in both
    // halves of the map while a reload fills one).
    uint32_t max_deny_targets = 16384;
    // Where the cgroup-v2 root is; empty = probe /proc/self/mounts.
    std::string cgroup_root;
    // Where tracefs is (mounted there if missing and a syscall tracepoint is needed).
    std::string tracefs_dir = "/sys/kernel/tracing";
    // One log line per notable loader step, without prefix (mounting tracefs, a failed poll,
    // and last the hooks line that hooks_line() also returns); nullptr = quiet.
    std::function<void(std::string_view)> on_log;
};

// Counters summed over CPUs (kernel side) plus what the consumer thread saw.
struct Stats {
    uint64_t ringbuf_drops = 0;   // JW_STAT_RINGBUF_DROPS: reserve failed, event lost
    uint64_t events = 0;          // JW_STAT_EVENTS: submitted by the kernel
    uint64_t tracked_full = 0;    // JW_STAT_TRACKED_FULL: tracked map full
    uint64_t exec_drops = 0;      // JW_STAT_EXEC_DROPS: the exec events among ringbuf_drops
    uint64_t execs = 0;           // JW_STAT_EXECS: every exec the kernel saw
    uint64_t identity_full = 0;   // JW_STAT_IDENTITY_FULL: an exec's identity not stored
    uint64_t identity_sent = 0;   // JW_STAT_IDENTITY_SENT: identity events submitted
    uint64_t identity_miss = 0;   // JW_STAT_IDENTITY_MISS: no stored exec for a reported process
    uint64_t milestone_repeats = 0; // JW_STAT_MILESTONE_REPEATS: repeated milestones suppressed
    uint64_t milestone_full = 0;  // JW_STAT_MILESTONE_FULL: milestone map update failed
    uint64_t deep_map_full = 0;   // JW_STAT_DEEP_MAP_FULL: a deep-mode map update failed
    uint64_t jvm_pending_miss = 0;// JW_STAT_JVM_PENDING_MISS: a JVM-side request lost
    uint64_t denied = 0;          // JW_STAT_DENIED: connects refused by an enforcing deny rule
    uint64_t would_deny = 0;      // JW_STAT_WOULD_DENY: connects a monitoring rule would refuse
    uint64_t received = 0;        // events the consumer passed to the callback
    uint64_t malformed = 0;       // records too short / unknown type (skipped, counted)
};

// The uprobes placed on one library file; detached when destroyed.
class JvmProbeLinks {
public:
    struct Impl;
    explicit JvmProbeLinks(std::unique_ptr<Impl> impl);
    ~JvmProbeLinks();
    JvmProbeLinks(const JvmProbeLinks&) = delete;
    JvmProbeLinks& operator=(const JvmProbeLinks&) = delete;
    // The probe ids (ProbeSpec::id) that are live.
    const std::vector<std::string>& live() const;
private:
    std::unique_ptr<Impl> impl_;
};

// One raw event: the header and the record's full size (>= sizeof(jw_event_hdr)).
using EventCallback = std::function<void(const jw_event_hdr* hdr, size_t size)>;

class Observer {
public:
    // Probes features, chooses hooks, opens the skeleton, sets rodata, loads and
    // attaches.  Returns nullptr and sets *error (one line naming the cause) on failure,
    // e.g. "BPF unavailable: bpf() failed: Operation not permitted (run as root)".
    static std::unique_ptr<Observer> create(const Options& opts, std::string* error);
    // As create(), with a given feature set (hook choice from synthetic features is
    // unit-tested via choose_hooks()).
    static std::unique_ptr<Observer> create(const Options& opts, const Features& features,
                                            std::string* error);
    ~Observer();   // stop(), then detach links, free ring buffer and skeleton
    Observer(const Observer&) = delete;
    Observer& operator=(const Observer&) = delete;

    // Starts the consumer thread, which polls the ring buffer and calls `cb` for every
    // event until stop().  Call once.  Returns false (and *error) if the thread could not
    // start.
    bool start(EventCallback cb, std::string* error = nullptr);
    // Stops the consumer (drains what is already in the buffer first) and detaches the
    // programs.  Idempotent.  Must not be called from the callback.
    void stop();

    Stats stats() const;
    // Advances on every pass of the consumer loop (at least every 100 ms while it runs):
    // a value that stops moving means the event path is stuck.
    uint64_t heartbeat() const;

    // The kernel reports the exit of tracked thread groups only.  The kernel tracks JVMs
    // itself (a "VM Thread" rename, an exec of .../java); userspace adds attachers and
    // JVMs found by other means.  false if the map is full or the pid invalid.
    bool add_tracked(pid_t tgid);
    bool remove_tracked(pid_t tgid);   // false if it was not tracked
    bool is_tracked(pid_t tgid) const;

    // Places the JVM-side uprobes on the library open on `lib_fd` (opened by the caller
    // with safefs: the probes go on exactly that inode), at the sites `lib` resolved.
    // Sites without a program for their signature are skipped.  Thread-safe.  nullptr
    // and *error when no probe could be placed (or jvm_probes is off).
    std::unique_ptr<JvmProbeLinks> attach_jvm_probes(int lib_fd, const LibraryProbes& lib,
                                                     std::string* error);
    bool jvm_probes_loaded() const;

    // The deny-rule maps, or nullptr where the connect hook cannot refuse a connect (the
    // syscall tracepoint fallback).  Owned by the observer; thread-safe.
    DenyMaps* deny_maps();

    // The hook serving each event kind (also what doctor prints).
    const std::vector<HookChoice>& hooks() const { return hooks_; }
    // "hooks: exec=tp_btf/sched_process_exec (BTF typedef btf_trace_... found), ..."
    std::string hooks_line() const { return format_hooks_line(hooks_); }

    struct Impl;   // libbpf state (defined in observer.cc)

private:
    Observer();
    std::unique_ptr<Impl> impl_;
    std::vector<HookChoice> hooks_;
};

// Checked cast of a raw event to its struct: nullptr unless hdr->type matches T and
// `size` covers sizeof(T).
template <class T> struct EventType;
template <> struct EventType<jw_exec_event> { static constexpr uint32_t value = JW_EV_EXEC; };
template <> struct EventType<jw_exit_event> { static constexpr uint32_t value = JW_EV_EXIT; };
template <> struct EventType<jw_thread_name_event> { static constexpr uint32_t value = JW_EV_THREAD_NAME; };
template <> struct EventType<jw_sigquit_event> { static constexpr uint32_t value = JW_EV_SIGQUIT; };
template <> struct EventType<jw_connect_event> { static constexpr uint32_t value = JW_EV_CONNECT; };
template <> struct EventType<jw_trigger_event> { static constexpr uint32_t value = JW_EV_TRIGGER; };
template <> struct EventType<jw_sock_close_event> { static constexpr uint32_t value = JW_EV_SOCK_CLOSE; };
template <> struct EventType<jw_identity_event> { static constexpr uint32_t value = JW_EV_IDENTITY; };
template <> struct EventType<jw_jvm_attach_event> { static constexpr uint32_t value = JW_EV_JVM_ATTACH; };
template <> struct EventType<jw_jvm_agent_event> { static constexpr uint32_t value = JW_EV_JVM_AGENT; };
template <> struct EventType<jw_jvm_dcmd_event> { static constexpr uint32_t value = JW_EV_JVM_DCMD; };
template <> struct EventType<jw_jvm_result_event> { static constexpr uint32_t value = JW_EV_JVM_RESULT; };

template <class T>
const T* event_cast(const jw_event_hdr* hdr, size_t size) {
    if (!hdr || size < sizeof(T) || hdr->type != EventType<T>::value) return nullptr;
    return reinterpret_cast<const T*>(hdr);
}
// jw_sock_data_event serves two types (JW_EV_SOCK_WRITE, JW_EV_SOCK_READ).
const jw_sock_data_event* sock_data_cast(const jw_event_hdr* hdr, size_t size);

// Decoding helpers (userspace/observer/decode.cc).
std::string_view event_type_name(uint32_t type);    // "exec", "connect", ... or "unknown"
std::string_view milestone_name(uint32_t milestone); // "vm_thread", ... or "none"
// A fixed-size kernel char array as a string: up to the first NUL, at most `cap` bytes.
std::string fixed_string(const char* buf, size_t cap);
template <size_t N> std::string fixed_string(const char (&buf)[N]) { return fixed_string(buf, N); }
// The exec event's argv: args[0..args_len) split at NULs (a truncated last arg is kept).
std::vector<std::string> exec_args(const jw_exec_event& e);
std::vector<std::string> exec_args(const jw_exec_image& e);
// The bytes of a data event (data[0..len)).
std::string_view sock_data(const jw_sock_data_event& e);
// The file-name part of a unix socket path as the caller passed it ("" for abstract
// names: their leading NUL is shown as '@' in `path`).
std::string_view path_basename(std::string_view path);
// N from ".java_pid<N>" / ".attach_pid<N>" as the name part of `path`; 0 if the name does
// not match exactly (prefix, then 1-10 digits, nothing after, N <= INT32_MAX).
uint32_t parse_java_pid(std::string_view path);
uint32_t parse_attach_pid(std::string_view path);
// jw_exec_event/jw_exit_event start_time_ns is task->start_boottime; /proc/PID/stat
// field 22 is the same clock in clock ticks.  This converts for matching process tables.
uint64_t start_time_ticks(uint64_t start_time_ns);

}  // namespace jvmwatch::observer
